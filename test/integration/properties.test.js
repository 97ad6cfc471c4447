'use strict';
// Property-based input checks (fast-check, 200 cases each) of watch(), new BlockBuster(),
// canBlockIn() and functions[name]: any input works or throws a TypeError/RangeError naming the
// option. Each property runs in a child process, so a crash is seen as a crash, not a test error.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runFixture } = require('../helpers');
const { BlockBuster } = require('../..');

const RUNS = 200;

for (const property of ['watch', 'BlockBuster', 'canBlockIn', 'functions']) {
  test(`property: ${property} — any input works or throws an error naming the option (${RUNS} cases)`, { timeout: 120_000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-props-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const resultFile = path.join(dir, 'result.json');
    // BLOCKBUSTER_PROPERTY_SEED replays a failure printed below.
    const seed = process.env.BLOCKBUSTER_PROPERTY_SEED;
    const { code, signal, stderr } = await runFixture('properties.js', [property, RUNS, resultFile, ...(seed ? [seed] : [])], { timeoutMs: 110_000 });
    assert.equal(signal, null, `the process died of ${signal}: ${stderr.slice(-2000)}`);
    assert.equal(code, 0, stderr.slice(-2000));
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
    assert.equal(result.failed, false, `seed ${result.seed}: ${result.counterexample}\n${result.error}`);
    assert.equal(result.runs, RUNS);
    t.diagnostic(`${property}: seed ${result.seed}, outcomes ${JSON.stringify(result.outcomes)}`);
    // Both sides were reached: some inputs work, some are rejected.
    assert.ok(Object.keys(result.outcomes).length >= 2, JSON.stringify(result.outcomes));
  });
}

test(
  'the rule set names the option for values String() cannot convert (a Symbol, a null-prototype object)',
  () => {
    const names = (option) => (error) => error instanceof TypeError && error.message.includes(option);
    assert.throws(() => new BlockBuster({ scannedModules: Object.create(null) }), names('scannedModules'));
    assert.throws(() => new BlockBuster().functions['fs.statSync'].canBlockIn('a.js', [Symbol('f')]), names('functions'));
    assert.throws(() => new BlockBuster().functions['fs.statSync'].canBlockIn(Object.create(null), 'f'), names('file'));
  },
);
