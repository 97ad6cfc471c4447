'use strict';
// Every report reaches its output, whole; nothing aborts the process; nothing user-controlled
// reaches a terminal raw (issue 14, parts 2, 5 and 6). Each case is a real child process.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const Ajv2020 = require('ajv/dist/2020').default;
const { runFixture, FIXTURES } = require('../helpers');

const POLICY = ['--force-node-api-uncaught-exceptions-policy=true'];

function jsonLines(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

test('hundreds of worker.terminate() calls while reports are delivered never abort the process', async () => {
  // 300 terminations, 20 workers at a time, each blocking 3 ms back to back at threshold 1 and
  // terminated within 3 ms of its first report; at most 14 s of it on a slow machine.
  const { code, signal, stdout, stderr } = await runFixture('terminate-storm.js', [300, 20, 1, 3, 14_000], {
    timeoutMs: 60_000,
  });
  assert.doesNotMatch(stderr, /FATAL ERROR/);
  assert.equal(signal, null, stderr.slice(-2000));
  assert.equal(code, 0, stderr.slice(-2000));
  const { terminated } = JSON.parse(stdout);
  assert.ok(terminated >= 20, `only ${terminated} workers were terminated`);
});

test('an onBlock that throws a null-prototype object or a throwing toString neither aborts nor loses the report', async () => {
  const { code, stdout, stderr } = await runFixture('delivery.js', ['throwing-on-block'], { nodeArgs: POLICY });
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()), { uncaught: [] });
  // Two blocks in busyLoop, and a start-up block or two (the first watch() loads the addon).
  const notices = stderr.split('\n').filter((line) => line.startsWith('blockbuster: onBlock threw'));
  assert.ok(notices.length >= 2, stderr);
  for (const notice of notices) assert.match(notice, /^blockbuster: onBlock threw: a value that cannot be shown as text/);
  // The reports onBlock could not take are written all the same.
  const blocks = stderr.split('\n').filter((line) => /^blockbuster: Event loop blocked for \d+ ms/.test(line));
  assert.ok(blocks.length >= 2, stderr);
});

test('strict mode: what onBlock threw (a null-prototype object) still surfaces as an uncaught exception, never an abort', async () => {
  const { code, signal, stderr } = await runFixture('delivery.js', ['strict-throwing-on-block'], { nodeArgs: POLICY });
  assert.equal(signal, null, stderr);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /strict onBlock/);
  assert.doesNotMatch(stderr, /FATAL ERROR/);
});

const major = Number(process.versions.node.split('.')[0]);

test('format json: a context holding a BigInt, a cycle, a throwing getter and 200 kB is written, marked and cut', async (t) => {
  if (major < 22) return t.skip(`Node ${process.version} keeps no async context frame (the unit test covers safeJson)`);
  const nodeArgs = major === 22 ? [...POLICY, '--experimental-async-context-frame'] : POLICY;
  const { code, stdout, stderr } = await runFixture('delivery.js', ['unserialisable-context'], { nodeArgs });
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()), { uncaught: [] });
  // Start-up blocks (loading the addon on a busy machine) carry no context.
  const blocks = jsonLines(stderr).filter((line) => line.kind === 'block' && line.context !== undefined);
  assert.equal(blocks.length, 1, stderr);
  const { context } = blocks[0];
  assert.equal(context.request.id, '10n');
  assert.equal(context.request.self, '[Circular]');
  assert.equal(context.request.socket.request, '[Circular]');
  assert.equal(context.request.secret, '[Throws]');
  assert.ok(context.huge.length < 5000 && context.huge.endsWith('more characters'), context.huge.slice(-40));
});

async function slowPipe(scenario, readerDelayMs) {
  // The reader's end of the pipe is this process's libuv pipe: non-blocking, as an app's would be.
  const reader = spawn(process.execPath, [path.join(FIXTURES, 'slow-reader.js'), readerDelayMs], { stdio: ['pipe', 'pipe', 'inherit'] });
  const child = spawn(process.execPath, [path.join(FIXTURES, 'delivery.js'), scenario], {
    stdio: ['ignore', 'pipe', reader.stdin],
  });
  reader.stdin.destroy();
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const chunks = [];
  reader.stdout.on('data', (chunk) => chunks.push(chunk));
  const [code] = await Promise.all([
    new Promise((resolve) => child.on('close', resolve)),
    new Promise((resolve) => reader.on('close', resolve)),
  ]);
  const text = Buffer.concat(chunks).toString('utf8');
  assert.equal(code, 0, text.slice(-2000));
  const lines = text.split('\n').filter((line) => line !== '');
  const parsed = lines.map((line, index) => {
    try {
      return JSON.parse(line);
    } catch {
      assert.fail(`line ${index} of ${lines.length} is not whole JSON: ${line.slice(0, 200)}…${line.slice(-100)}`);
    }
  });
  const { expected } = JSON.parse(stdout.trim().split('\n')[0]);
  const written = parsed.filter((line) => line.kind === 'block').length;
  const dropped = parsed
    .filter((line) => line.kind === 'dropped' && line.source === 'writer')
    .reduce((sum, line) => sum + line.dropped, 0);
  assert.equal(written + dropped, expected, `written ${written}, dropped ${dropped}`);
  return { parsed, written, dropped };
}

test('JSON lines longer than PIPE_BUF from several threads reach a slowly drained non-blocking stderr whole', async () => {
  const { parsed } = await slowPipe('slow-pipe', 0);
  assert.ok(parsed.some((line) => line.culprit?.functionName.startsWith('longBlock')));
});

test('an output that stays full for 1 s: lines are dropped whole, counted, and the count is said in one line', async () => {
  // The reader stops for 3 s after the first data: the pipe (64 kB) takes three lines, the next waits 1 s and goes.
  const { parsed, dropped } = await slowPipe('slow-pipe-stall', 3000);
  assert.ok(dropped > 0, 'nothing was dropped: the output never stayed full');
  const notice = parsed.find((line) => line.kind === 'dropped' && line.source === 'writer');
  const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
  const ajv = new Ajv2020({ strict: true, strictRequired: false, formats: { 'date-time': ISO_TIME } });
  const validate = ajv.compile(require('../../schema/report.schema.json'));
  assert.ok(validate(notice), JSON.stringify(validate.errors));
});

test('live "still blocked" lines spend the same budget as report lines (maxReportsPerMinute 10)', async () => {
  // Threshold 1 ms, 5 ms blocks for 3 s: hundreds of blocks, each long enough for a live line.
  const { code, stderr } = await runFixture('delivery.js', ['live-flood'], { timeoutMs: 60_000 });
  assert.equal(code, 0, stderr);
  // A start-up block is one line of its own, outside the budget.
  const headlines = stderr
    .split('\n')
    .filter((line) => /^blockbuster: .*Event loop (still )?blocked/.test(line) && !line.includes('during start-up'));
  const live = headlines.filter((line) => line.includes('still blocked'));
  assert.ok(headlines.length <= 10, `${headlines.length} report lines, ${live.length} of them live:\n${headlines.join('\n')}`);
  assert.match(stderr, /more blocks/);
});

const FORGED = /^blockbuster: FAKE/m;
// Raw controls a terminal acts on: C0 but tab and newline, DEL, C1, bidi overrides.
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test('text lines, native and JS, show control characters of names and vm filenames escaped', async () => {
  const { code, stderr } = await runFixture('delivery.js', ['hostile-names-text']);
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, FORGED);
  assert.doesNotMatch(stderr, RAW_CONTROL, JSON.stringify(stderr));
  const live = stderr.split('\n').find((line) => line.includes('still blocked') && line.includes('evil'));
  const block = stderr.split('\n').find((line) => /Event loop blocked for/.test(line) && line.includes('evil'));
  const shown = 'evil\\nblockbuster: FAKE\\r\\x1b[2J\\x00\\u009b\\u202e';
  assert.ok(live?.includes(shown), `native live line: ${JSON.stringify(live)}`);
  assert.ok(block?.includes(shown), `JS block line: ${JSON.stringify(block)}`);
  assert.ok(stderr.includes('app\\x1b]8;;http://x.example\\x07link\\x1b]8;;\\x07.js'), JSON.stringify(stderr));
});

test('JSON lines, native and JS, are valid UTF-8 and keep the names whole, lone surrogate included', async () => {
  const { code, stderr } = await runFixture('delivery.js', ['hostile-names-json']);
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, RAW_CONTROL);
  const lines = jsonLines(stderr);
  const live = lines.find((line) => line.kind === 'ongoing' && line.culprit?.functionName.startsWith('evil'));
  const block = lines.find((line) => line.kind === 'block' && line.culprit?.functionName.startsWith('evil'));
  const name = 'evil\nblockbuster: FAKE\r\u001b[2J\u0000\u009b\u202e\ud800';
  // V8 13+ (Node 24) hands the native side U+FFFD for the lone surrogate itself; invalid UTF-8
  // (the surrogate's three CESU bytes) would decode as three U+FFFD.
  const names = [name, name.replace('\ud800', '\ufffd')];
  assert.ok(names.includes(live?.culprit?.functionName), `native: ${JSON.stringify(live?.culprit)}`);
  assert.ok(names.includes(block?.culprit?.functionName), `JS: ${JSON.stringify(block?.culprit)}`);
});
