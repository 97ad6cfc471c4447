// `setupFilesAfterEnv: ['blockbuster/jest']` with jest's ES module support.
export { allowBlocking, allowBlockingIn } from '../dist/jest.js';
