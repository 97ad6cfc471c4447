'use strict';
// Detection of the hard classes of block: each tool in its own child process per run, every class
// once per run, in order; a run's report for a class is the one fired inside that class's window.
// Scores whether the report names the right function and the right API (or addon).
// Issue 15's classes (laterBuiltin … pool) are scored the same way, except two: `starved` (right =
// the report says the thread was starved and blames no code) runs in a process of its own, pinned to
// one CPU with busy competitors; `pool` is scored on the reports of the pool's worker thread.
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { runNode, log } = require('../proc');
const { rotate } = require('../stats');

/** The function a report should name, and the API it went into (null: plain JS). */
const CLASSES = {
  json: { label: 'JSON.parse of 15 MB in `loadUsers`, from an HTTP handler', fn: 'loadUsers', api: 'JSON.parse', frame: /^(JSON\.)?parse$/ },
  readSync: { label: '`fs.readSync` of 64 MB in `readChunk`', fn: 'readChunk', api: 'fs.readSync', frame: /^readSync$/ },
  spawnSync: { label: '`child_process.spawnSync` (sleep 0.15) in `runSlow`', fn: 'runSlow', api: 'child_process.spawnSync', frame: /^spawnSync$/ },
  // The addon named by its file (`nativeModule`), or by export since lib/addons.ts tracks addon calls.
  addon: { label: 'Node-API addon `spin(200)` in `queryUsers`', fn: 'queryUsers', api: 'slow_addon.node', apiAlso: ['slow_addon spin'], frame: null },
  twoPhases: { label: '`warmUp` (60 ms) then `hotLoop` (200 ms)', fn: 'hotLoop', api: null },
  statStorm: { label: 'storm of `fs.statSync` in `statStorm` (160 ms)', fn: 'statStorm', api: 'fs.statSync', frame: /^statSync$/ },
  busyLoop: { label: 'busy loop in `busyLoop` (160 ms)', fn: 'busyLoop', api: null },
  // Issue 15 (sizes: SIZES in bench/child/classes.js).
  laterBuiltin: { label: '`zlib.gzipSync` of 3.6 MB in `compressLog`, `node:zlib` first required after the tool started', fn: 'compressLog', api: 'zlib.gzipSync', frame: /^(gzipSync|syncBufferWrapper|zlibBufferSync|processChunkSync)$/ },
  sqliteQuery: { label: 'better-sqlite3 query (recursive CTE) by `Statement.get` in `queryReport`', fn: 'queryReport', api: 'better_sqlite3 Statement.get', frame: /^get$/, needs: 'better-sqlite3' },
  longTwoPhases: { label: '`warmUp` (800 ms) then `realWork` (3,000 ms) in one block', fn: 'realWork', api: null },
  staleAfterRequire: { label: '`require` of 60 fresh modules then `JSON.stringify` of 300,000 rows in `startServer`', fn: 'startServer', api: 'JSON.stringify', frame: /^(JSON\.)?stringify$/ },
  starved: { label: '2 ms ticks pinned to one CPU with 3 busy competitors (`taskset`, `nice`): right = starved, no code blamed', fn: null, api: null, kind: 'starved', needs: 'taskset' },
  pool: { label: 'pool worker parked in `Atomics.wait`, one 400 ms `resizeImage` task: right = named on the worker, no idle report', fn: 'resizeImage', api: null, kind: 'pool' },
};
const TOOLS = { bb: 'blockbuster', sentry: 'Sentry native stacktrace' };

const userFrame = (f) => f.file && !f.file.startsWith('node:') && !f.file.includes('/node_modules/') && f.file !== '<anonymous>';

const fnName = (x) => (!x || x === '?' ? '(anonymous)' : x);

/** What a report names: { fn, api } as strings. */
function named(tool, report) {
  if (!report) return null;
  if (tool === 'bb') {
    const api = report.blockingCall || (report.nativeModule ? report.nativeModule.split('/').pop() : null);
    return { fn: report.culprit ? fnName(report.culprit.functionName) : null, api };
  }
  const frames = report.frames || [];
  const i = frames.findIndex(userFrame);
  const inner = i < 0 ? frames : frames.slice(0, i);
  return { fn: i < 0 ? null : fnName(frames[i].functionName), api: inner.length ? fnName(inner[0].functionName) : null, innerNames: inner.map((f) => fnName(f.functionName)) };
}

function score(tool, cls, report, blockMs, entry) {
  const c = CLASSES[cls];
  if (c.kind === 'starved') return scoreStarved(tool, report || [], blockMs);
  if (c.kind === 'pool') return scorePool(tool, report || [], blockMs, entry);
  const n = named(tool, report);
  if (!n) return { reported: false, fnRight: false, apiRight: c.api ? false : null, named: `no report (block ${Math.round(blockMs)} ms)` };
  const fnRight = n.fn === c.fn;
  let apiRight = null;
  if (c.api) {
    if (tool === 'bb') apiRight = n.api === c.api || (c.apiAlso || []).includes(n.api);
    else apiRight = c.frame ? (n.innerNames || []).some((x) => c.frame.test(x)) : false;
  }
  // blockbuster: culprit / API; Sentry: its captured frames innermost first, down to the first user frame.
  const label = tool === 'bb' ? `${n.fn ?? `no function (state ${report.state})`} / ${n.api ?? 'no API'}` : [...(n.innerNames || []), n.fn ?? 'no user frame'].join(' < ');
  const right = fnRight && apiRight !== false;
  // A wrong blockbuster report keeps its message and sample counts: why it said what it said.
  const why = tool === 'bb' && !right ? { message: report.message, samples: report.samples, state: report.state, durationMs: report.durationMs } : undefined;
  return { reported: true, fnRight, apiRight, named: label, firstSample: tool === 'bb' ? report.firstSample?.culprit?.functionName ?? null : undefined, why };
}

const ran = (r) => `ran ${r.cpu.ranMs.toFixed(0)} of ${r.cpu.ofMs.toFixed(0)} ms`;
const bbLabel = (r) => {
  if (!r.culprit) return r.cpu?.starved ? 'starved, no code blamed' : `no function (state ${r.state})`;
  return `${fnName(r.culprit.functionName)} / ${r.blockingCall ?? 'no API'}${r.cpu?.starved ? ` (cpu.starved, ${ran(r)})` : ''}`;
};
const sentryLabel = (r) => {
  const n = named('sentry', r);
  return [...(n.innerNames || []), n.fn ?? 'no user frame'].join(' < ');
};
const tally = (labels) => Object.entries(labels.reduce((a, k) => ((a[k] = (a[k] || 0) + 1), a), {})).map(([k, v]) => (v > 1 ? `${k} ×${v}` : k)).join(', ');
const whyOf = (r) => ({ message: r.message, samples: r.samples, state: r.state, durationMs: r.durationMs, cpu: r.cpu });

/**
 * A starved loop: every report in the window must say the thread was starved and blame no code
 * (blockbuster's `cpu.starved`, no culprit), and there must be one. Sentry has no such notion: a
 * capture names the frames it found, which is naming code for a block that was the machine's.
 */
function scoreStarved(tool, reports, blockMs) {
  if (reports.length === 0) return { reported: false, fnRight: false, apiRight: null, named: `no report (ticks took ${Math.round(blockMs)} ms)` };
  const rightOne = (r) => tool === 'bb' && r.cpu?.starved && !r.culprit;
  const ok = reports.every(rightOne);
  const labels = reports.map(tool === 'bb' ? bbLabel : sentryLabel);
  return { reported: true, fnRight: ok, apiRight: null, named: tally(labels), reports: reports.length, reportsRight: reports.filter(rightOne).length, why: tool === 'bb' && !ok ? reports.filter((r) => !(r.cpu?.starved && !r.culprit)).map(whyOf) : undefined };
}

/**
 * A pool worker: the reports of the worker's thread in the window. Right: one names resizeImage,
 * and none is of the idle parked time (every one after the worker first parked names resizeImage;
 * blockbuster's lasts less than the task plus half the park before it). A report that reached the
 * worker's onBlock before it first parked is of its start-up: listed, not scored.
 */
function scorePool(tool, reports, blockMs, entry) {
  const c = CLASSES.pool;
  const x = entry?.extra || {};
  const all = reports.filter((r) => (tool === 'bb' ? r.fromWorker && r.threadId === x.workerThreadId : String(r.threadId) === String(x.workerThreadId)));
  const startUp = all.filter((r) => x.parkedAt && (tool === 'bb' ? r.firedAt : r.detectedAt) < x.parkedAt);
  const worker = all.filter((r) => !startUp.includes(r));
  if (worker.length === 0) return { reported: false, fnRight: false, apiRight: null, named: 'no report from the worker' };
  const names = worker.map((r) => named(tool, r).fn);
  const taskMs = x.taskEnd - x.taskStart;
  const idle = worker.filter((r, i) => names[i] !== c.fn || (tool === 'bb' && r.durationMs > taskMs + 300));
  const ok = names.includes(c.fn) && idle.length === 0;
  const labels = worker.map((r) => (tool === 'bb' ? `${bbLabel(r)} (${Math.round(r.durationMs)} ms)` : sentryLabel(r)));
  for (const r of startUp) labels.push(`start-up, not scored: ${tool === 'bb' ? `${bbLabel(r)} (${Math.round(r.durationMs)} ms)` : sentryLabel(r)}`);
  // When blockbuster's report reached the worker's onBlock, after the task ended (ms).
  const deliveredAfterMs = tool === 'bb' ? worker.map((r) => Math.round(r.firedAt - x.taskEnd)) : undefined;
  return { reported: true, fnRight: ok, apiRight: null, named: tally(labels), deliveredAfterMs, startUp: startUp.length, why: tool === 'bb' && !ok ? worker.map(whyOf) : undefined };
}

/**
 * The report of one class's block in one run: blockbuster's longest report fired after the block
 * began and before the next class; Sentry's capture detected while the block ran (its one capture
 * per block; a capture of an earlier, smaller block in the same window does not count).
 */
function reportFor(run, i) {
  const c = run.classes[i];
  const to = run.classes[i + 1]?.startedAt ?? Infinity;
  if (!c.blockStart) return undefined;
  const [start, end] = [c.blockStart, c.endedAt];
  const kind = CLASSES[c.name].kind;
  // The pool: every report of the class's window (the worker's are picked by scorePool). Starved: every report of its ticks.
  if (kind === 'pool') return run.reports.filter((r) => (run.tool === 'bb' ? r.firedAt >= c.startedAt && r.firedAt < to : r.detectedAt >= c.startedAt && r.detectedAt <= end));
  if (kind === 'starved') return run.reports.filter((r) => (run.tool === 'bb' ? r.firedAt >= start && r.firedAt < to : r.detectedAt >= start && r.detectedAt <= end));
  if (run.tool === 'bb') return run.reports.filter((r) => r.firedAt >= start && r.firedAt < to).sort((a, b) => b.durationMs - a.durationMs)[0];
  return run.reports.find((r) => r.detectedAt >= start && r.detectedAt <= end);
}

/** Why a class cannot run with this Node line here, or null. */
function classUnavailable(cls, line) {
  const needs = CLASSES[cls].needs;
  if (needs === 'better-sqlite3') {
    const r = spawnSync(line.bin, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' });
    if (r.status === 0) return null;
    const abi = /NODE_MODULE_VERSION \d+\. This version of Node\.js requires\s+NODE_MODULE_VERSION \d+/.exec(r.stderr);
    const first = abi ? `built for ${abi[0].replace(/\s+/g, ' ')}` : r.stderr.split('\n').find((l) => /Error|error:/.test(l));
    return `better-sqlite3 does not load in Node ${line.version}: ${(first || `exit ${r.status}`).trim().slice(0, 160)}`;
  }
  if (needs === 'taskset' && spawnSync('taskset', ['-c', '0', 'true']).status !== 0) return 'no taskset here: the starved class is skipped';
  return null;
}

// A starved thread: 3 busy processes on CPU 0 (each ends by itself after a minute, should the bench
// die first), the child there too at a lower priority.
const COMPETITORS = 3;
async function runStarved(line, tool, args) {
  const spin = 'const end = Date.now() + 60000; while (Date.now() < end);';
  const busy = Array.from({ length: COMPETITORS }, () => spawn('taskset', ['-c', '0', process.execPath, '-e', spin], { stdio: 'ignore' }));
  try {
    return await runNode(line.bin, 'child/classes.js', [tool, 'starved', ...args], { timeoutMs: 60_000, launcher: ['taskset', '-c', '0', 'nice', '-n', '5'] });
  } finally {
    for (const child of busy) child.kill('SIGKILL');
  }
}

async function classesPhase(lines, fixtures, { runs, classes }) {
  const out = {};
  for (const line of lines) {
    const tools = line.sentry ? ['bb'] : ['bb', 'sentry'];
    const unavailable = {};
    for (const c of classes) {
      const why = c === 'addon' && !fixtures.addon.path ? `no addon: ${fixtures.addon.error}` : classUnavailable(c, line);
      if (why) unavailable[c] = why;
    }
    const list = classes.filter((c) => !unavailable[c]);
    // Classes that share one process per run, and those that need a process of their own.
    const groups = [list.filter((c) => CLASSES[c].kind !== 'starved'), ...list.filter((c) => CLASSES[c].kind === 'starved').map((c) => [c])].filter((g) => g.length);
    const res = (out[line.major] = { version: line.version, sentryUnavailable: line.sentry, classes: classes.filter((c) => list.includes(c) || (c !== 'addon' && unavailable[c])), unavailable, runs: [] });
    const args = [fixtures.addon.path ?? '-', fixtures.bigFile, fixtures.plugins ?? '-'];
    for (let r = 0; r < runs; r++) {
      for (const tool of rotate(tools, r)) {
        for (const group of groups) {
          try {
            const run = group[0] === 'starved' ? await runStarved(line, tool, args) : await runNode(line.bin, 'child/classes.js', [tool, group.join(','), ...args], { timeoutMs: 90_000 });
            // For a class with no report, what arrived anyway (late reports land in the next window).
            const matched = new Set(group.flatMap((_, i) => [reportFor(run, i)].flat()));
            const unmatched = run.reports.filter((x) => !matched.has(x)).map((x) => ({ firedAt: x.firedAt, durationMs: x.durationMs, threadId: x.threadId, message: x.message }));
            res.runs.push({ tool, group, unmatched, classTimes: run.classes, scores: Object.fromEntries(group.map((cls, i) => [cls, score(tool, cls, reportFor(run, i), run.classes[i].endedAt - run.classes[i].blockStart, run.classes[i])])), blockMs: Object.fromEntries(run.classes.map((c) => [c.name, c.endedAt - c.blockStart])) });
          } catch (e) {
            res.runs.push({ tool, group, error: e.message.split('\n')[0] });
          }
        }
      }
    }
    log(`classes, Node ${line.version}:`, tools.map((t) => `${t} ${list.map((c) => `${c}=${res.runs.filter((x) => x.tool === t && x.scores?.[c]?.fnRight).length}`).join(' ')}`).join(' | '), Object.keys(unavailable).length ? `(not run: ${Object.keys(unavailable).join(', ')})` : '');
  }
  return out;
}

/** Per line, tool and class: right k/N (function, API, both) and what was named when wrong. */
function aggregateClasses(byLine) {
  const agg = {};
  for (const [major, res] of Object.entries(byLine)) {
    agg[major] = {};
    for (const tool of Object.keys(TOOLS)) {
      const all = res.runs.filter((r) => r.tool === tool);
      if (all.length === 0) continue;
      agg[major][tool] = { errors: all.filter((r) => r.error).map((r) => r.error) };
      for (const cls of res.classes) {
        if (res.unavailable?.[cls]) continue;
        // Runs before groups were kept (older results.json) had every class in one process.
        const runs = all.filter((r) => !r.group || r.group.includes(cls));
        const s = runs.filter((r) => r.scores).map((r) => r.scores[cls]);
        const wrong = {};
        // Right: the function and (where there is one) the API or addon call, for every class.
        const right = (x) => x.fnRight && x.apiRight !== false;
        for (const x of s) if (!right(x)) wrong[x.named] = (wrong[x.named] || 0) + 1;
        agg[major][tool][cls] = {
          n: runs.length,
          reported: s.filter((x) => x.reported).length,
          fnRight: s.filter((x) => x.fnRight).length,
          apiRight: CLASSES[cls].api ? s.filter((x) => x.apiRight).length : null,
          bothRight: s.filter((x) => x.fnRight && x.apiRight !== false).length,
          // The pool: when blockbuster's worker report reached onBlock, ms after the task ended.
          deliveredAfterMs: cls === 'pool' && tool === 'bb' ? s.flatMap((x) => x.deliveredAfterMs || []) : undefined,
          reports: CLASSES[cls].kind === 'starved' ? s.reduce((a, x) => a + (x.reports || 0), 0) : undefined,
          reportsRight: CLASSES[cls].kind === 'starved' ? s.reduce((a, x) => a + (x.reportsRight || 0), 0) : undefined,
          firstSampleWarmUp: tool === 'bb' && (cls === 'twoPhases' || cls === 'longTwoPhases') ? s.filter((x) => x.firstSample === 'warmUp').length : undefined,
          wrong,
        };
      }
    }
  }
  return agg;
}

module.exports = { CLASSES, TOOLS, classesPhase, aggregateClasses, classUnavailable };
