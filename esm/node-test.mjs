// `node --test --import blockbuster/node-test`
export { allowBlocking, allowBlockingIn } from '../dist/node-test.js';
