'use strict';
// Detection of the hard classes of block: each tool in its own child process per run, every class
// once per run, in order; a run's report for a class is the one fired inside that class's window.
// Scores whether the report names the right function and the right API (or addon).
const { runNode, log } = require('../proc');
const { rotate } = require('../stats');

/** The function a report should name, and the API it went into (null: plain JS). */
const CLASSES = {
  json: { label: 'JSON.parse of 15 MB in `loadUsers`, from an HTTP handler', fn: 'loadUsers', api: 'JSON.parse', frame: /^(JSON\.)?parse$/ },
  readSync: { label: '`fs.readSync` of 64 MB in `readChunk`', fn: 'readChunk', api: 'fs.readSync', frame: /^readSync$/ },
  spawnSync: { label: '`child_process.spawnSync` (sleep 0.15) in `runSlow`', fn: 'runSlow', api: 'child_process.spawnSync', frame: /^spawnSync$/ },
  addon: { label: 'Node-API addon `spin(200)` in `queryUsers`', fn: 'queryUsers', api: 'slow_addon.node', frame: null },
  twoPhases: { label: '`warmUp` (60 ms) then `hotLoop` (200 ms)', fn: 'hotLoop', api: null },
  statStorm: { label: 'storm of `fs.statSync` in `statStorm` (160 ms)', fn: 'statStorm', api: 'fs.statSync', frame: /^statSync$/ },
  busyLoop: { label: 'busy loop in `busyLoop` (160 ms)', fn: 'busyLoop', api: null },
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

function score(tool, cls, report, blockMs) {
  const c = CLASSES[cls];
  const n = named(tool, report);
  if (!n) return { reported: false, fnRight: false, apiRight: c.api ? false : null, named: `no report (block ${Math.round(blockMs)} ms)` };
  const fnRight = n.fn === c.fn;
  let apiRight = null;
  if (c.api) {
    if (tool === 'bb') apiRight = cls === 'addon' ? n.api === c.api : n.api === c.api;
    else apiRight = c.frame ? (n.innerNames || []).some((x) => c.frame.test(x)) : false;
  }
  // blockbuster: culprit / API; Sentry: its captured frames innermost first, down to the first user frame.
  const label = tool === 'bb' ? `${n.fn ?? `no function (state ${report.state})`} / ${n.api ?? 'no API'}` : [...(n.innerNames || []), n.fn ?? 'no user frame'].join(' < ');
  const right = fnRight && apiRight !== false;
  // A wrong blockbuster report keeps its message and sample counts: why it said what it said.
  const why = tool === 'bb' && !right ? { message: report.message, samples: report.samples, state: report.state, durationMs: report.durationMs } : undefined;
  return { reported: true, fnRight, apiRight, named: label, firstSample: tool === 'bb' ? report.firstSample?.culprit?.functionName ?? null : undefined, why };
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
  if (run.tool === 'bb') return run.reports.filter((r) => r.firedAt >= start && r.firedAt < to).sort((a, b) => b.durationMs - a.durationMs)[0];
  return run.reports.find((r) => r.detectedAt >= start && r.detectedAt <= end);
}

async function classesPhase(lines, fixtures, { runs, classes }) {
  const out = {};
  const list = classes.filter((c) => c !== 'addon' || fixtures.addon.path);
  for (const line of lines) {
    const tools = line.sentry ? ['bb'] : ['bb', 'sentry'];
    const res = (out[line.major] = { version: line.version, sentryUnavailable: line.sentry, classes: list, runs: [] });
    for (let r = 0; r < runs; r++) {
      for (const tool of rotate(tools, r)) {
        try {
          const run = await runNode(line.bin, 'child/classes.js', [tool, list.join(','), fixtures.addon.path ?? '-', fixtures.bigFile], { timeoutMs: 60_000 });
          // For a class with no report, what arrived anyway (late reports land in the next window).
          const unmatched = run.reports.filter((x) => !list.some((_, i) => reportFor(run, i) === x)).map((x) => ({ firedAt: x.firedAt, durationMs: x.durationMs, message: x.message }));
          res.runs.push({ tool, unmatched, classTimes: run.classes, scores: Object.fromEntries(list.map((cls, i) => [cls, score(tool, cls, reportFor(run, i), run.classes[i].endedAt - run.classes[i].blockStart)])), blockMs: Object.fromEntries(run.classes.map((c) => [c.name, c.endedAt - c.blockStart])) });
        } catch (e) {
          res.runs.push({ tool, error: e.message.split('\n')[0] });
        }
      }
    }
    log(`classes, Node ${line.version}:`, tools.map((t) => `${t} ${list.map((c) => `${c}=${res.runs.filter((x) => x.tool === t && x.scores?.[c]?.fnRight).length}`).join(' ')}`).join(' | '));
  }
  return out;
}

/** Per line, tool and class: right k/N (function, API, both) and what was named when wrong. */
function aggregateClasses(byLine) {
  const agg = {};
  for (const [major, res] of Object.entries(byLine)) {
    agg[major] = {};
    for (const tool of Object.keys(TOOLS)) {
      const runs = res.runs.filter((r) => r.tool === tool);
      if (runs.length === 0) continue;
      agg[major][tool] = { errors: runs.filter((r) => r.error).map((r) => r.error) };
      for (const cls of res.classes) {
        const s = runs.filter((r) => r.scores).map((r) => r.scores[cls]);
        const wrong = {};
        // blockbuster's designed answer for an addon is the addon, its caller said unknown: not a miss.
        const right = (x) => (tool === 'bb' && cls === 'addon' ? x.apiRight : x.fnRight && x.apiRight !== false);
        for (const x of s) if (!right(x)) wrong[x.named] = (wrong[x.named] || 0) + 1;
        agg[major][tool][cls] = {
          n: runs.length,
          reported: s.filter((x) => x.reported).length,
          fnRight: s.filter((x) => x.fnRight).length,
          apiRight: CLASSES[cls].api ? s.filter((x) => x.apiRight).length : null,
          bothRight: s.filter((x) => x.fnRight && x.apiRight !== false).length,
          firstSampleWarmUp: tool === 'bb' && cls === 'twoPhases' ? s.filter((x) => x.firstSample === 'warmUp').length : undefined,
          wrong,
        };
      }
    }
  }
  return agg;
}

module.exports = { CLASSES, TOOLS, classesPhase, aggregateClasses };
