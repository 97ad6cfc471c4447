'use strict';
// output: a path, an fd, a writable stream or a logger (real pino); a failing output warns once.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runFixture } = require('../helpers');

function tempFile(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-output-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'out.log');
}

const jsonLines = (text) => text.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));

test('output: process.stdout: reports on stdout; the native live line (it needs an fd) on stderr', async () => {
  const { code, stdout, stderr } = await runFixture('fleet.js', ['stream']);
  assert.equal(code, 0, stderr);
  const blocks = jsonLines(stdout).filter((o) => o.kind === 'block');
  assert.equal(blocks.length, 1, stdout);
  assert.equal(blocks[0].culprit.functionName, 'busyLoop');
  const live = jsonLines(stderr).filter((o) => o.kind === 'ongoing');
  assert.equal(live.length, 1, stderr);
  assert.match(live[0].message, /still blocked after \d+ ms in busyLoop/);
  assert.ok(!jsonLines(stdout).some((o) => o.kind === 'ongoing'), 'no live line in the stream');
});

test('output: an fs.WriteStream gets one JSON line per report', async (t) => {
  const file = tempFile(t);
  const { code, stderr } = await runFixture('fleet.js', ['stream', file]);
  assert.equal(code, 0, stderr);
  const blocks = jsonLines(fs.readFileSync(file, 'utf8')).filter((o) => o.kind === 'block');
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0].culprit.functionName, 'busyLoop');
});

test('output: a pino logger: each report at warn, a structured object with the message', async (t) => {
  const file = tempFile(t);
  const { code, stderr } = await runFixture('fleet.js', ['pino', file]);
  assert.equal(code, 0, stderr);
  const records = jsonLines(fs.readFileSync(file, 'utf8'));
  const blocks = records.filter((r) => r.kind === 'block');
  assert.equal(blocks.length, 1, JSON.stringify(records));
  const [record] = blocks;
  assert.equal(record.level, 40, 'pino warn');
  assert.match(record.msg, /^Event loop blocked for \d+ ms in busyLoop \(/);
  assert.equal(record.culprit.functionName, 'busyLoop');
  assert.equal(record.schemaVersion, 1);
  assert.equal(record.state, 'js');
  // pino's own time (epoch ms), pid and hostname, not a second copy of ours.
  assert.equal(typeof record.time, 'number');
  assert.equal(typeof record.pid, 'number');
});

test('an fd closed after watch(): one warning on stderr, the watchdog keeps running', async (t) => {
  const file = tempFile(t);
  const { code, stdout, stderr } = await runFixture('fleet.js', ['closedFd', file]);
  assert.equal(code, 0, stderr);
  const warnings = stderr.split('\n').filter((line) => line.startsWith('blockbuster: cannot write reports to fd'));
  assert.equal(warnings.length, 1, stderr);
  assert.match(warnings[0], /EBADF.*the watchdog keeps running/);
  assert.deepEqual(jsonLines(stdout), [{ active: true, blocks: 3 }]);
});

test('a destroyed stream: one warning on stderr, the watchdog keeps running', async (t) => {
  const file = tempFile(t);
  const { code, stdout, stderr } = await runFixture('fleet.js', ['destroyedStream', file]);
  assert.equal(code, 0, stderr);
  const warnings = stderr.split('\n').filter((line) => line.startsWith('blockbuster: cannot write reports to the output stream'));
  assert.equal(warnings.length, 1, stderr);
  assert.deepEqual(jsonLines(stdout), [{ active: true }]);
});
