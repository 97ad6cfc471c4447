export { allowBlocking, allowBlockingIn } from '../dist/jest.js';
