// Blocks outside a test body: while the file loads, in the test's own beforeEach hook, in a timer a
// test left behind, and in an after hook once every test is over.
import * as fs from 'node:fs';
import { after, beforeEach, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { allowBlockingIn } from 'blockbuster/node-test';

const blockMs = Number(process.env.FIXTURE_BLOCK_MS);

function slowHook() {
  const end = Date.now() + blockMs;
  while (Date.now() < end);
}

function loadingWork() {
  const end = Date.now() + blockMs;
  while (Date.now() < end);
}

function afterAllWork() {
  const end = Date.now() + blockMs;
  while (Date.now() < end);
}

function lateWork() {
  const end = Date.now() + blockMs;
  while (Date.now() < end);
}

// A test helper that may block, for both detectors.
function seedSync() {
  const end = Date.now() + blockMs;
  while (Date.now() < end);
  return fs.readFileSync(new URL(import.meta.url)).length;
}

allowBlockingIn('attribution.test.mjs', 'seedSync');

loadingWork();

after(afterAllWork);

beforeEach((t) => {
  if (t.name === 'has a slow beforeEach') slowHook();
});

test('has a slow beforeEach', () => {});

test('leaves a timer behind', () => {
  setTimeout(lateWork, 20);
});

test('is running when the timer fires', async () => {
  await delay(2 * blockMs);
});

test('runs after all that', async () => {
  await delay(5);
});

test('calls an allowed helper', async () => {
  await delay(5);
  seedSync();
});
