'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const ts = require('typescript');

const SOURCE = `import { watch } from ${JSON.stringify(path.resolve(__dirname, '..'))};

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

test('culprit is source-mapped to the .ts file when a source map exists', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-ts-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tsFile = path.join(dir, 'config.ts');
  fs.writeFileSync(tsFile, SOURCE);
  const out = ts.transpileModule(SOURCE, {
    fileName: 'config.ts',
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, sourceMap: true },
  });
  fs.writeFileSync(path.join(dir, 'config.js'), out.outputText);
  fs.writeFileSync(path.join(dir, 'config.js.map'), out.sourceMapText);

  const child = spawnSync(process.execPath, [path.join(dir, 'config.js')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.status, 0, child.stderr);
  const reports = child.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const report = reports.find((r) => r.culprit && r.culprit.functionName === 'loadConfig');
  assert.ok(report, child.stdout);
  assert.equal(report.culprit.file, tsFile);
  // The loop is on line 12 of the .ts file; the compiled .js has the types stripped.
  assert.equal(report.culprit.line, 12);
  assert.match(report.message, /in loadConfig \(.*config\.ts:12:\d+\)/);
});
