// `mocha --require blockbuster/mocha`
export { mochaHooks, allowBlocking, allowBlockingIn } from '../dist/mocha.js';
