// `node --import blockbuster/register app.mjs`: the same preload as --require.
import '../dist/register.js';
