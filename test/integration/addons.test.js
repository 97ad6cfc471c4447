'use strict';
// Issue 15.2: while watching, native addon calls are named by addon, method and caller, for addons
// loaded before and after watch(). The fixture addon (Node-API C, built here with node-gyp against
// this line's headers) covers every line; better-sqlite3 runs where its binary loads (Node 20 here).
const test = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('../helpers');
const { buildSpinAddon } = require('../fixtures/watchdog/spin-addon/build');

let addon;
test.before(() => {
  addon = buildSpinAddon();
});

function sqliteLoads() {
  try {
    new (require('better-sqlite3'))(':memory:').close();
    return true;
  } catch {
    return false;
  }
}

for (const when of ['before', 'after']) {
  test(`an addon required ${when} watch(): function and class method named by addon, method and caller`, async () => {
    const { code, stdout, stderr } = await runFixture('addons.js', [`spin-${when}`], { env: { FIXTURE_ADDON: addon } });
    assert.equal(code, 0, stderr);
    const { messages, checks } = JSON.parse(stdout);
    // Found by content: on a starved machine even the 1 ms calls of the checks can become blocks.
    const named = (pattern) => messages.filter((message) => pattern.test(message));
    assert.equal(named(/ by spin_addon spin in runSpin \(test\/fixtures\/watchdog\/addons\.js:\d+:\d+\)/).length, 1, stdout);
    assert.equal(named(/ by spin_addon Spinner\.run in runJob \(test\/fixtures\/watchdog\/addons\.js:\d+:\d+\)/).length, 1, stdout);
    // Read-only and non-configurable: not wrapped, so never named as a tracked call.
    assert.equal(named(/spinReadOnly|in runReadOnly/).length, 0, stdout);
    assert.deepEqual(checks, {
      instanceOf: true,
      name: 'Spinner/spin/run',
      length: 0,
      returns: true,
      withoutNew: 'Spinner must be called with new',
      badArgument: 'TypeError: spin(ms): ms must be a number',
      restored: true,
    });
    // The live line (written natively while JS cannot run) names the tracked addon call too.
    assert.match(stderr, /still blocked after \d+ ms by spin_addon (spin|Spinner\.run) \(its caller is named when the block ends\)/);
    assert.equal(stderr.match(/BLOCKBUSTER_UNWRAPPABLE/g)?.length, 1, stderr);
    assert.match(stderr, /cannot wrap spin_addon spinReadOnly \(frozen or non-configurable\)/);
  });

  test(`better-sqlite3 required ${when} watch(): a slow query is named by better_sqlite3 Statement.get in runReport`, { skip: !sqliteLoads() && 'better-sqlite3 is not built for this line' }, async () => {
    const { code, stdout, stderr } = await runFixture('addons.js', [`sqlite-${when}`]);
    assert.equal(code, 0, stderr);
    const { messages, checks } = JSON.parse(stdout);
    assert.equal(checks.rows, 3_000_000);
    const query = messages.filter((message) => message.includes('Statement.get'));
    assert.equal(query.length, 1, stdout);
    assert.match(query[0], /^Event loop blocked for \d+ ms by better_sqlite3 Statement\.get in runReport \(test\/fixtures\/watchdog\/addons\.js:\d+:\d+\)/);
    assert.match(stderr, /still blocked after \d+ ms by better_sqlite3 Statement\.get \(its caller is named when the block ends\)/);
  });
}
