'use strict';
// Known, accepted blocks in production (issue 15 section 7): allowBlocking(fn) from the main entry and
// watcher.pause()/resume(). Allowed blocks are counted, never reported, never said live or aborted;
// the block after them is reported as usual. Each case is a real child process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('../helpers');

const FIXTURE = 'allowed.js';

async function run(scenario) {
  const result = await runFixture(FIXTURE, [scenario]);
  // Who blocked: the functions on each report's stack (the culprit is spin, their callee).
  const culprits = result.reports.flatMap((r) => r.frames.map((f) => f.functionName));
  const allowed = result.lines.find((l) => 'allowedBlocks' in l)?.allowedBlocks;
  return { ...result, culprits, allowed };
}

for (const [scenario, allowedBlocks] of [['sync', 1], ['async', 2], ['pause', 1], ['throws', 1]]) {
  test(`${scenario}: the allowed blocks are counted (${allowedBlocks}), not reported or said live; the next block is`, async () => {
    const { code, stderr, culprits, allowed, lines } = await run(scenario);
    assert.equal(code, 0, stderr);
    assert.ok(!culprits.includes('migrate'), JSON.stringify(culprits));
    // The live line (at 150 ms) is said for the reported block only.
    assert.doesNotMatch(stderr, /at migrate \(/);
    assert.match(stderr, /still blocked after \d+ ms[^]*at handleRequest \(/);
    assert.ok(culprits.includes('handleRequest'), JSON.stringify(culprits));
    assert.equal(allowed, allowedBlocks);
    if (scenario === 'throws') assert.ok(lines.some((l) => l.caught === 'boom'));
  });
}

test('a paused block longer than abortAfterMs does not abort the process', async () => {
  const { code, signal, stderr, allowed } = await run('abort');
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.equal(allowed, 1);
});

test('allowBlocking(fn) checks its argument and keeps the function\'s shape', () => {
  const { allowBlocking } = require('../..');
  assert.throws(() => allowBlocking(42), { name: 'TypeError', message: /allowBlocking\(fn\): fn must be a function, got number/ });
  function named(a, b) {
    return a + b;
  }
  const wrapped = allowBlocking(named);
  assert.equal(wrapped.name, 'named');
  assert.equal(wrapped.length, 2);
  assert.equal(wrapped(2, 3), 5);
});

test('the CLI summary counts an allowed block apart and reports only the other', async (t) => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { ROOT, run } = require('../helpers');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-allowed-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(
    app,
    `const { allowBlocking } = require(${JSON.stringify(ROOT)});
function spin(ms) { const end = Date.now() + ms; while (Date.now() < end); }
function migrate() { spin(400); }
function handleRequest() { spin(400); }
setTimeout(() => {
  allowBlocking(migrate)();
  setTimeout(handleRequest, 100);
}, 100);
`,
  );
  const { code, stderr } = await run([path.join(ROOT, 'dist', 'cli.js'), '--threshold', '40', app], { cwd: dir });
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^ {2}allowed: 1 block \(\d+ ms\) under allowBlocking\(\) or pause\(\), counted, not reported$/m);
  assert.match(stderr, /handleRequest|spin \(/);
  assert.doesNotMatch(stderr, /at migrate \(|in migrate \(/);
});
