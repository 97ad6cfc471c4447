export { allowBlocking, allowBlockingIn } from '../dist/node-test.js';
