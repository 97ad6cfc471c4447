import type { HelperExports } from '../dist/testing/entry.js';
export declare const allowBlocking: HelperExports['allowBlocking'];
export declare const allowBlockingIn: HelperExports['allowBlockingIn'];
