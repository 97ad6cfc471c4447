'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const ts = require('typescript');

const SOURCE = `import { watch } from ${JSON.stringify(path.resolve(__dirname, '..', '..'))};

interface Config {
  name: string;
  retries: number;
}

type Loader = () => Config;

function loadConfig(): Config {
  const end: number = Date.now() + 200;
  while (Date.now() < end);
  return { name: 'x', retries: 1 };
}

const watcher = watch({ thresholdMs: 20, onBlock: (error) => console.log(JSON.stringify(error.toJSON())) });
const loader: Loader = loadConfig;
setTimeout(() => { loader(); setTimeout(() => watcher.stop(), 50); }, 20);
`;

// Writes `<name>.ts`, compiles it to `<name>.js` with a source map beside it, and runs that.
function compileAndRun(t, name, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-ts-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tsFile = path.join(dir, `${name}.ts`);
  fs.writeFileSync(tsFile, source);
  const out = ts.transpileModule(source, {
    fileName: `${name}.ts`,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, sourceMap: true },
  });
  fs.writeFileSync(path.join(dir, `${name}.js`), out.outputText);
  fs.writeFileSync(path.join(dir, `${name}.js.map`), out.sourceMapText);
  const child = spawnSync(process.execPath, [path.join(dir, `${name}.js`)], { encoding: 'utf8', timeout: 30_000 });
  return { tsFile, child };
}

test('culprit is source-mapped to the .ts file when a source map exists', (t) => {
  const { tsFile, child } = compileAndRun(t, 'config', SOURCE);
  assert.equal(child.status, 0, child.stderr);
  const reports = child.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const report = reports.find((r) => r.culprit && r.culprit.functionName === 'loadConfig');
  assert.ok(report, child.stdout);
  assert.equal(report.culprit.file, tsFile);
  // The loop is on line 12 of the .ts file; the compiled .js has the types stripped.
  assert.equal(report.culprit.line, 12);
  assert.match(report.message, /in loadConfig \(.*config\.ts:12:\d+\)/);
});

// Two blocks in loadConfig: the first one's report loads the map; the second one's live line, written
// by the watchdog thread while JS cannot run, then names the .ts line too.
const TWICE = `import { watch } from ${JSON.stringify(path.resolve(__dirname, '..', '..'))};

interface Config {
  name: string;
}

function loadConfig(ms: number): Config {
  const end: number = Date.now() + ms;
  while (Date.now() < end);
  return { name: 'x' };
}

const watcher = watch({ thresholdMs: 20, liveReportAfterMs: 300, onBlock: (error) => console.log(JSON.stringify(error.toJSON())) });
setTimeout(() => {
  loadConfig(100);
  setTimeout(() => {
    loadConfig(900);
    setTimeout(() => watcher.stop(), 50);
  }, 50);
}, 20);
`;

test('the live line is source-mapped once a report has loaded the map', (t) => {
  const { child } = compileAndRun(t, 'twice', TWICE);
  assert.equal(child.status, 0, child.stderr);
  const live = child.stderr.split('\n').filter((l) => l.includes('still blocked after'));
  assert.equal(live.length, 1, child.stderr);
  // The spin is on line 9 of the .ts file (line 5 of the compiled .js).
  assert.match(live[0], /in loadConfig \(.*twice\.ts:9:\d+\)/);
  assert.match(child.stderr, /\n {4}at loadConfig \(.*twice\.ts:9:\d+\)/);
});
