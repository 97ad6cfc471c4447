import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { expect, test } from '@jest/globals';
import { allowBlocking } from 'blockbuster/jest';

const blockMs = Number(process.env.FIXTURE_BLOCK_MS);

function blockTheLoop() {
  const end = Date.now() + blockMs;
  while (Date.now() < end);
}

function readFixtureSync() {
  return fs.readFileSync(new URL(import.meta.url));
}

test('blocks the loop', () => {
  blockTheLoop();
});

test('reads a file synchronously after an await', async () => {
  await delay(5);
  readFixtureSync();
});

test('stays clean', async () => {
  await delay(5);
  expect(1 + 1).toBe(2);
});

test('may block when allowed', allowBlocking(async () => {
  await delay(5);
  blockTheLoop();
  readFixtureSync();
}));
