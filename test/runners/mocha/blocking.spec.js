const assert = require('node:assert/strict');
const fs = require('node:fs');
const { setTimeout: delay } = require('node:timers/promises');
const { allowBlocking } = require('blockbuster/mocha');

const blockMs = Number(process.env.FIXTURE_BLOCK_MS);

function blockTheLoop() {
  const end = Date.now() + blockMs;
  while (Date.now() < end);
}

function readFixtureSync() {
  return fs.readFileSync(__filename);
}

describe('fixture', () => {
  it('blocks the loop', () => {
    blockTheLoop();
  });

  it('reads a file synchronously after an await', async () => {
    await delay(5);
    readFixtureSync();
  });

  it('stays clean', async () => {
    await delay(5);
    assert.equal(1 + 1, 2);
  });

  it('may block when allowed', allowBlocking(async () => {
    await delay(5);
    blockTheLoop();
    readFixtureSync();
  }));
});
