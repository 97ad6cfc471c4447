'use strict';
// package.json exports: every entry has an ES module and a CommonJS form, each with types.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT, linkSelf, run } = require('../helpers');

const ENTRIES = ['.', './register', './vitest', './jest', './mocha', './node-test'];
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test.before(linkSelf);

const specifier = (entry) => (entry === '.' ? 'blockbuster' : `blockbuster/${entry.slice(2)}`);

test('every entry resolves to an ES module for import and a CommonJS file for require, both with types', async () => {
  const { stdout, stderr, code } = await run(
    [
      '--input-type=module',
      '-e',
      `console.log(JSON.stringify(${JSON.stringify(ENTRIES.map(specifier))}.map((s) => import.meta.resolve(s))))`,
    ],
    { cwd: ROOT },
  );
  assert.equal(code, 0, stderr);
  const imported = JSON.parse(stdout).map((url) => new URL(url).pathname);
  ENTRIES.forEach((entry, i) => {
    const required = require.resolve(specifier(entry), { paths: [ROOT] });
    assert.match(required, /[\\/]dist[\\/][\w-]+\.js$/, entry);
    assert.match(imported[i], /[\\/]esm[\\/][\w-]+\.mjs$/, entry);
    const { import: esm, require: cjs } = pkg.exports[entry];
    for (const file of [esm.types, esm.default, cjs.types, cjs.default])
      assert.ok(fs.existsSync(path.join(ROOT, file)), `${entry}: ${file}`);
  });
});

test("'blockbuster': import and require give the same functions (one copy of the code)", async () => {
  const script = `
    const { createRequire } = await import('node:module');
    const esm = await import('blockbuster');
    const cjs = createRequire(process.cwd() + '/x.js')('blockbuster');
    const names = ['watch', 'BlockingError', 'BlockBuster', 'allowBlocking', 'isUserFrame', 'formatFrame'];
    console.log(JSON.stringify(names.map((n) => typeof esm[n] === 'function' && esm[n] === cjs[n])));`;
  const { stdout, stderr, code } = await run(['--input-type=module', '-e', script], { cwd: ROOT });
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), [true, true, true, true, true, true]);
});

test("'blockbuster' exports its public list and nothing else: no rule table, allowances or aliases", () => {
  const exported = Object.keys(require(ROOT)).sort();
  assert.deepEqual(exported, [
    'BLOCK_CHANNEL',
    'BlockBuster',
    'BlockingError',
    'ONGOING_CHANNEL',
    'SCHEMA_VERSION',
    'allowBlocking',
    'formatFrame',
    'isBlockbusterError',
    'isUserFrame',
    'watch',
  ]);
});

test("'blockbuster/mocha' and 'blockbuster/node-test': import and require give the helper's exports", async () => {
  for (const entry of ['mocha', 'node-test']) {
    const script = `
      const { createRequire } = await import('node:module');
      const esm = await import('blockbuster/${entry}');
      const cjs = createRequire(process.cwd() + '/x.js')('blockbuster/${entry}');
      const shape = (m) => [typeof m.allowBlocking, typeof m.allowBlockingIn, typeof m.mochaHooks?.beforeAll, typeof m.mochaHooks?.afterAll];
      console.log(JSON.stringify({ esm: shape(esm), cjs: shape(cjs), same: esm.allowBlocking === cjs.allowBlocking }));`;
    // Shapes only: a slow module load in this plain process must not fail it (strict is the helpers' default).
    const { stdout, stderr, code } = await run(['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { BLOCKBUSTER_MODE: 'diagnostics' },
    });
    assert.equal(code, 0, `${entry}: ${stderr}`);
    const hooks = entry === 'mocha' ? ['function', 'function'] : ['undefined', 'undefined'];
    // Loaded outside --test, node:test reports its (empty) root test after our line.
    assert.deepEqual(JSON.parse(stdout.split('\n')[0]), {
      esm: ['function', 'function', ...hooks],
      cjs: ['function', 'function', ...hooks],
      same: true,
    });
  }
});

test("'blockbuster/vitest' required outside vitest says how to load it", async () => {
  const { code, stderr } = await run(['-e', "require('blockbuster/vitest')"], { cwd: ROOT });
  assert.notEqual(code, 0);
  assert.match(
    stderr,
    /blockbuster\/vitest: require\(\) needs vitest's globals \(test\.globals: true\); otherwise load it as setupFiles: \['blockbuster\/vitest'\]/,
  );
});

test('the types of every entry compile for import (.mts) and require (.cts) under node16 resolution', (t) => {
  const dir = fs.mkdtempSync(path.join(ROOT, 'test', '.types-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        lib: ['ES2022', 'ESNext.Disposable'],
      },
      include: ['*.mts', '*.cts'],
    }),
  );
  const uses = `
    const w = watch({ thresholdMs: 20, failOnStartup: true }); w.stop();
    const phase: 'startup' | 'loop' | undefined = (undefined as unknown as BlockingError | undefined)?.phase;
    const wrapped: () => Promise<void> = vitestAllow(async () => {}); jestAllow(() => 1); mochaAllow(() => 1); nodeAllow(() => 1);
    nodeAllowIn('a.js', ['f']); void mochaHooks.beforeAll; void phase; void wrapped;`;
  fs.writeFileSync(
    path.join(dir, 'esm.mts'),
    `import { watch, BlockingError } from 'blockbuster';
import 'blockbuster/register';
import { allowBlocking as vitestAllow } from 'blockbuster/vitest';
import { allowBlocking as jestAllow } from 'blockbuster/jest';
import { allowBlocking as mochaAllow, mochaHooks } from 'blockbuster/mocha';
import { allowBlocking as nodeAllow, allowBlockingIn as nodeAllowIn } from 'blockbuster/node-test';
${uses}
`,
  );
  fs.writeFileSync(
    path.join(dir, 'cjs.cts'),
    `import { watch, BlockingError } from 'blockbuster';
import 'blockbuster/register';
import vitest = require('blockbuster/vitest');
import jest = require('blockbuster/jest');
import mocha = require('blockbuster/mocha');
import nodeTest = require('blockbuster/node-test');
const vitestAllow = vitest.allowBlocking, jestAllow = jest.allowBlocking, mochaAllow = mocha.allowBlocking, mochaHooks = mocha.mochaHooks;
const nodeAllow = nodeTest.allowBlocking, nodeAllowIn = nodeTest.allowBlockingIn;
${uses}
`,
  );
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [ROOT] })), 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
  } catch (error) {
    assert.fail(`tsc failed:\n${error.stdout}${error.stderr}`);
  }
});

// dist/eager.js (scripts/bundle-dist.js) runs the main entry's modules from one file; each must stay
// the one instance Node would have made, whichever way it is reached first: a later require by its
// own file name (the report path requires blocking-error.js at the first block), or a file loaded
// before the main entry (dist/register.js loads watch.js itself).
test('the main entry and its files by name share one instance of each module, in either load order', async () => {
  const dist = JSON.stringify(path.join(ROOT, 'dist'));
  const script = (first) => `
    const path = require('node:path');
    const loader = require('node:module');
    const compiled = [];
    const compile = loader._extensions['.js'];
    loader._extensions['.js'] = function (module, filename) {
      if (filename.startsWith(${dist})) compiled.push(path.basename(filename));
      return compile.apply(this, arguments);
    };
    const byName = (file) => require(path.join(${dist}, file));
    const ownCached = () => Object.entries(require.cache).filter(([f]) => f.startsWith(${dist}));
    ${first === 'file' ? "byName('watch.js');" : ''}
    const before = new Map(ownCached());
    const main = require(${JSON.stringify(ROOT)});
    const same = main.BlockingError === byName('blocking-error.js').BlockingError && main.watch === byName('watch.js').watch
      && main.allowBlocking === byName('allowed.js').allowBlocking;
    const replaced = [...before].filter(([f, m]) => require.cache[f] !== m).map(([f]) => path.basename(f));
    console.log(JSON.stringify({ same, compiled, replaced, files: ownCached().length }));`;
  for (const first of ['main', 'file']) {
    const { stdout, stderr, code } = await run(['-e', script(first)], { cwd: ROOT });
    assert.equal(code, 0, stderr);
    const { same, compiled, replaced, files } = JSON.parse(stdout);
    assert.equal(same, true, `${first} first: a module had two instances`);
    assert.deepEqual(replaced, [], `${first} first: modules loaded before the main entry were loaded again`);
    assert.ok(files > 20, `${first} first: ${files} files of dist/ in require.cache`);
    // Node compiled only the entry and eager.js itself (plus, when a file came first, what it loaded).
    if (first === 'main') assert.deepEqual(compiled, ['index.js', 'eager.js']);
    else assert.ok(compiled.includes('eager.js') && compiled.includes('watch.js'), compiled.join(', '));
  }
});
