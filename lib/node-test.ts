// node:test helper: `node --test --import blockbuster/node-test`. Root hooks of the preload apply to
// every test of the file's process, so a block fails the test it happened in.
import { afterEach, beforeEach } from 'node:test';
import { readableReport } from './output';
import { helperExports, startSession } from './testing/entry';

const current = startSession({ runner: 'node:test' });
// One process per test file: the rule set stays active until it exits.
current.fileStarted();

beforeEach(() => current.begin());
afterEach(() => {
  const error = current.end();
  if (error === undefined) return;
  // node:test prints the stack as is: make it the readable report (message, code frame, frames).
  error.stack = readableReport(error);
  throw error;
});

export const { allowBlocking, allowBlockingIn } = helperExports(current);
