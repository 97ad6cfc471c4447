// The helper loaded with require(): needs vitest's globals (see vitest.require.config.mjs).
require('blockbuster/vitest');
