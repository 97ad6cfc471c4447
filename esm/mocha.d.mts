export { mochaHooks, allowBlocking, allowBlockingIn } from '../dist/mocha.js';
