'use strict';
// What the samples are worth: a long block is covered to its end and shared by time, a stack
// captured after the thread moved on is not credited, and a starved thread is not a code block.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { runFixture, FIXTURES, ROOT } = require('../helpers');

const FIXTURE = 'sampling.js';

test('a block of 800 ms warmUp() then 3,000 ms realWork() names realWork, with shares by time', { timeout: 60_000 }, async () => {
  const { reports, code, stderr } = await runFixture(FIXTURE, ['longBlock', 20]);
  assert.equal(code, 0, stderr);
  const block = reports.find((report) => report.durationMs >= 3000);
  assert.ok(block, JSON.stringify(reports));
  assert.equal(block.culprit?.functionName, 'realWork', block.message);
  // 3,000 of 3,800 ms is 79 %; a count of the first 50 samples said 1,000 ms of warmUp.
  assert.ok(block.samples.share > 0.6 && block.samples.share < 0.95, JSON.stringify(block.samples));
  assert.match(block.message, /in realWork \(.*\) \[\d+ % of the time\]/);
  // Sampling went on past the first 50 intervals (1,000 ms), or realWork would not be named.
  assert.ok(block.samples.total >= 10, JSON.stringify(block.samples));
  // The cost bound: at most 1 % of the block's own time.
  assert.ok(block.samples.costMs <= block.durationMs / 100, JSON.stringify(block.samples));
});

test('a JSON.stringify after a heavy load, in the same function, is not blamed on the require line', { timeout: 90_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-load-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Dependencies (not the user's code): their own frames are never the culprit.
  const plugins = path.join(dir, 'node_modules', 'plugins');
  fs.mkdirSync(plugins, { recursive: true });
  for (let m = 0; m < 60; m++) {
    let source = '';
    for (let i = 0; i < 300; i++) source += `exports.f${i} = function (a, b) { const c = a * ${i} + b; return c > ${i} ? [c, a, b] : { c, a, b }; };\n`;
    fs.writeFileSync(path.join(plugins, `p${m}.js`), source);
  }
  // startServer is the bench's (bench/child/workloads.js), shared with the fixture.
  const source = fs.readFileSync(path.join(ROOT, 'bench', 'child', 'workloads.js'), 'utf8').split('\n');
  const requireLine = source.findIndex((line) => line.includes('plugins.push(require(')) + 1;
  const stringifyLine = source.findIndex((line) => line.includes('= serialize(rows)')) + 1;
  assert.ok(requireLine > 0 && stringifyLine > requireLine, 'the lines of startServer are found');
  const { lines, reports } = await runFixture(FIXTURE, ['staleAfterLoad', 20, plugins]);
  const { phases } = lines.find((line) => line.phases);
  const block = reports.reduce((a, b) => (b.durationMs > (a?.durationMs ?? 0) ? b : a), undefined);
  assert.ok(block && block.durationMs >= phases.stringifyMs, JSON.stringify(reports));
  // Before: "in startServer (sampling.js:<require line>)" with the loader's frames, for a block
  // mostly spent in JSON.stringify. Now the stringify line, or (where V8's fast stringify takes no
  // interrupt: Node 24+) a caller said to be unknown.
  const where = `${block.message} (${JSON.stringify(phases)})`;
  // On a loaded machine the load can take longer than the stringify: then the require line is right.
  // Between 1.5 and 2.5 times, at load 10-17, samples taken in the stringify's GC were credited to
  // the require line (issue 15's note): the check is made where the stringify clearly dominates.
  if (phases.stringifyMs > phases.loadMs * 2.5) {
    if (block.culprit) assert.equal(block.culprit.line, stringifyLine, where);
    assert.notEqual(block.culprit?.line, requireLine, where);
    assert.ok(!block.frames.some((frame) => /Module\._load|Module\._compile/.test(frame.functionName)), JSON.stringify(block.frames));
  }
});

// Runs the fixture under `launcher` (taskset, nice, a cgroup); resolves with its reports.
function runUnder(launcher, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher[0], [...launcher.slice(1), process.execPath, path.join(FIXTURES, FIXTURE), ...args.map(String)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const reports = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line).report)
        .filter(Boolean);
      resolve({ code, stderr, reports });
    });
  });
}

// The loop does 2 ms of CPU every 10 ms: it never blocks on a free CPU. `starvedOnly`: at least one
// report must blame no code at all. Under a cgroup limit that is not asked: how much of a block the
// window saw, and how the limit's periods fell in it, decide between "starved, not by its code" and
// a report that names the code and then the starvation (CI had runs of each).
function checkStarved(reports, threshold, { starvedOnly = true } = {}) {
  const messages = JSON.stringify(reports.map((report) => report.message));
  const starved = reports.filter((report) => /starved of CPU, not by its code/.test(report.message));
  if (starvedOnly) assert.ok(starved.length > 0, messages);
  for (const report of starved) {
    assert.equal(report.culprit, undefined, report.message);
    assert.deepEqual(report.frames, []);
    assert.ok(report.cpu.starved && report.cpu.ranMs < report.cpu.ofMs / 2, JSON.stringify(report.cpu));
    assert.match(report.message, /it ran [\d.]+ of the last \d+ ms/);
  }
  // tick() is blamed only where the CPU it got (or the time nobody measured) reached half the threshold.
  for (const report of reports) {
    if (report.culprit?.functionName !== 'tick' || !report.cpu) continue;
    assert.ok(report.cpu.ranMs + Math.max(0, report.durationMs - report.cpu.ofMs) >= threshold / 2, `${report.message} ${JSON.stringify(report.cpu)}`);
  }
  return starved;
}

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

test('a starved thread is said to be starved, by how much, and no code is blamed', { skip: !hasTaskset && 'no taskset', timeout: 180_000 }, async (t) => {
  // Three busy processes on CPU 0, and the watched one there too at a lower priority.
  // Each ends by itself after 3 minutes, should this process die before killing it.
  const spin = 'const end = Date.now() + 180000; while (Date.now() < end);';
  const busy = Array.from({ length: 3 }, () => spawn('taskset', ['-c', '0', process.execPath, '-e', spin], { stdio: 'ignore' }));
  t.after(() => busy.forEach((child) => child.kill('SIGKILL')));
  const { reports, code, stderr } = await runUnder(['taskset', '-c', '0', 'nice', '-n', '5'], ['starved', 20]);
  assert.equal(code, 0, stderr);
  const starved = checkStarved(reports, 20);
  assert.match(starved[0].message, /other threads or processes had the CPU/);
});

// A cgroup with a CPU limit of 10 ms per 100 ms (v1 cpu controller or v2 cpu.max), where we may make one.
const CGROUP_V2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
const CGROUP_PARENT = CGROUP_V2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/cpu';

function cgroupsWritable() {
  try {
    fs.accessSync(CGROUP_PARENT, fs.constants.W_OK);
    return process.platform === 'linux';
  } catch {
    return false;
  }
}

function makeThrottledCgroup(t) {
  const dir = path.join(CGROUP_PARENT, `blockbuster-test-${process.pid}`);
  fs.mkdirSync(dir);
  // Removed once its last process has exited (rmdir fails while one is left).
  t.after(() => {
    for (let i = 0; i < 50; i++) {
      try {
        return fs.rmdirSync(dir);
      } catch {
        spawnSync('sleep', ['0.1']);
      }
    }
  });
  try {
    if (CGROUP_V2) fs.writeFileSync(path.join(dir, 'cpu.max'), '10000 100000');
    else fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), '10000');
  } catch {
    return undefined; // no cpu controller in this subtree
  }
  return dir;
}

test("a thread held back by its cgroup's CPU limit names the throttling", { skip: !cgroupsWritable() && 'cannot make a cgroup here', timeout: 60_000 }, async (t) => {
  const cgroup = makeThrottledCgroup(t);
  if (!cgroup) return t.skip('no CPU limit can be set here');
  const enter = `echo $$ > ${path.join(cgroup, 'cgroup.procs')} && exec "$@"`;
  const { reports, code, stderr } = await runUnder(['sh', '-c', enter, 'sh'], ['starved', 20]);
  assert.equal(code, 0, stderr);
  const throttled = reports.filter((report) => report.cpu?.throttled);
  assert.ok(throttled.length > 0, JSON.stringify(reports.map((report) => report.message)));
  assert.match(throttled[0].message, /the cgroup's CPU limit throttled it \(\d+ periods, [\d.]+ ms\)/);
  checkStarved(reports, 20, { starvedOnly: false });
});
