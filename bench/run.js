'use strict';
// npm run bench: blockbuster side by side with its peers, in one run, measurements alternated.
//   1. Hard classes of block, on every Node line: does blockbuster, does Sentry's native stack
//      trace module, name the right function and API? (phases/classes.js)
//   2. watch()'s costs on every Node line: per loop iteration, idle CPU, per wrapped call, during a
//      long block (phases/costs.js, phases/idle.js).
//   3. What watch() allocates as it starts and the GCs an idle server then runs, on every Node line
//      (phases/startup.js). Idle cost and memory of watch() against no tool, per thread, in the system Node (phases/quiet.js,
//      with the RSS and HTTP figures of 4).
//      HTTP throughput of watch() against no tool: two servers side by side on one CPU, watch()
//      started in one then the other, requests per CPU second, a median over pairs of rounds with
//      A/A pairs between them (phases/http.js, phase http).
//   4. The peers in the system Node: HTTP throughput, p99, CPU per request, RSS, idle CPU, when each
//      takes its stack (phases/http.js, phases/idle.js, phases/capture.js), and the rule set's cost.
// Writes bench/results.json (not committed) and bench/results.md; node bench/readme.js copies the
// tables into README.md.
//
// Knobs (environment): BENCH_LINES (20,22,24,26), BENCH_CLASSES (all), BENCH_RUNS (runs per class
// and tool, 10), BENCH_SKIP (phases: classes,costs,idle,startup,quiet,http,load,rss,capture,rules), BENCH_TOOLS (peers),
// BENCH_ROUNDS (idle, RSS and capture rounds, 3), BENCH_LOAD_CYCLES (6), BENCH_LOAD_GROUPS (2),
// BENCH_LOAD_BUDGET (s, 90), BENCH_SLICE (s, 0.5), BENCH_WARMUP (s, 1), BENCH_CONNECTIONS (32),
// BENCH_RSS_REQUESTS (20000), BENCH_HTTP_ROUNDS (side-by-side pairs of rounds of watch() against no tool, and as many A/A pairs, 30), BENCH_HTTP_SLICE (s of load per round, 1), BENCH_LONG_BLOCK_LINES (lines for the long-block figure, 20).
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { TOOLS, THRESHOLD_MS, unavailableReason } = require('./tools');
const { log, loadavg, elapsedS, machine, runNode, pinSelf } = require('./proc');
const { benchLines } = require('./lines');
const { makeFixtures } = require('./fixtures');
const { CLASSES, classesPhase, aggregateClasses } = require('./phases/classes');
const { costsPhase } = require('./phases/costs');
const { idlePhase } = require('./phases/idle');
const { loadPhase, sideBySidePhase, rssPhase } = require('./phases/http');
const { capturePhase } = require('./phases/capture');
const { quietPhase } = require('./phases/quiet');
const { startupPhase } = require('./phases/startup');
const { markdown } = require('./report');

const env = (name, fallback) => process.env[name] || fallback;
const config = {
  runs: Number(env('BENCH_RUNS', 10)),
  classes: env('BENCH_CLASSES', Object.keys(CLASSES).join(',')).split(','),
  rounds: Number(env('BENCH_ROUNDS', 3)),
  loadCycles: Number(env('BENCH_LOAD_CYCLES', 6)),
  loadGroups: Number(env('BENCH_LOAD_GROUPS', 2)),
  loadBudgetS: Number(env('BENCH_LOAD_BUDGET', 90)),
  sliceS: Number(env('BENCH_SLICE', 0.5)),
  warmupS: Number(env('BENCH_WARMUP', 1)),
  connections: Number(env('BENCH_CONNECTIONS', 32)),
  rssRequests: Number(env('BENCH_RSS_REQUESTS', 20000)),
  httpRounds: Number(env('BENCH_HTTP_ROUNDS', 30)),
  sideBySideS: Number(env('BENCH_HTTP_SLICE', 1)),
  longBlockLines: env('BENCH_LONG_BLOCK_LINES', '20').split(','),
  thresholdMs: THRESHOLD_MS,
};
const SKIP = new Set(env('BENCH_SKIP', '').split(',').filter(Boolean));
const unknownClasses = config.classes.filter((c) => !CLASSES[c]);
if (unknownClasses.length) throw new Error(`BENCH_CLASSES: unknown ${unknownClasses.join(', ')}; known: ${Object.keys(CLASSES).join(', ')}`);
const OUT_DIR = env('BENCH_OUT', __dirname);

/** The peers asked for that load here (always with "no tool"), and why the others do not. */
function peers() {
  const wanted = env('BENCH_TOOLS', Object.keys(TOOLS).filter((t) => !TOOLS[t].hidden).join(',')).split(',');
  const tools = [];
  const unavailable = {};
  for (const t of Object.keys(TOOLS)) {
    if (!wanted.includes(t) && t !== 'none') continue;
    const why = unavailableReason(t);
    if (why) unavailable[t] = why;
    else tools.push(t);
  }
  return { tools, unavailable };
}

async function main() {
  const lines = benchLines();
  const { tools, unavailable } = peers();
  const results = { machine: { ...machine(), node: process.version }, config, startedAt: new Date().toISOString(), loadavgStart: loadavg(), lines, tools, unavailable };
  log(`lines ${lines.map((l) => l.version).join(', ')}; peers ${tools.join(', ')}`);
  const fixtures = makeFixtures({ nodedir: lines[0]?.nodedir });
  results.addon = fixtures.addon;
  try {
    if (!SKIP.has('classes')) {
      results.classes = await classesPhase(lines, fixtures, config);
      results.classesAgg = aggregateClasses(results.classes);
    }
    if (!SKIP.has('costs')) results.costs = await costsPhase(lines, config);
    if (!SKIP.has('idle')) {
      const servers = [...tools.map((t) => ({ key: t, tool: t, node: process.execPath })), ...lines.flatMap((l) => ['none', 'bb-watch'].map((t) => ({ key: `${t}@${l.major}`, tool: t, node: l.bin })))];
      results.idle = await idlePhase(servers, config);
    }
    if (!SKIP.has('startup')) results.startup = await startupPhase(lines, config);
    if (!SKIP.has('quiet')) results.quiet = await quietPhase(['none', 'none-aa', 'bb-watch'].filter((t) => tools.includes(t)), config);
    if (!SKIP.has('http') && tools.includes('bb-watch')) {
      // The servers pinned to the last CPU and the load generator (this process) to the others: the
      // two servers of a round then share one CPU, not a CPU and whatever autocannon leaves.
      const cpus = os.cpus().length;
      const pinned = cpus >= 2 && pinSelf(`0-${cpus - 2}`);
      const serverCpu = pinned ? cpus - 1 : undefined;
      try {
        results.http = await sideBySidePhase({ ...config, serverCpu });
        results.http.pinned = pinned ? { servers: cpus - 1, loadGenerator: `0-${cpus - 2}` } : null;
      } finally {
        if (pinned) pinSelf(`0-${cpus - 1}`);
      }
    }
    if (!SKIP.has('load')) results.load = await loadPhase(tools, config);
    if (!SKIP.has('rss')) results.rss = await rssPhase(tools, config);
    if (!SKIP.has('capture')) results.capture = await capturePhase(tools, fixtures.phaseClock, config);
    if (!SKIP.has('rules')) {
      results.rules = await runNode(process.execPath, 'child/rules.js').catch((e) => ({ error: e.message.split('\n')[0] }));
      log('rules:', (results.rules.cases || []).map((c) => `${c.deltaNs.toFixed(0)} ns`).join(' ') || results.rules.error);
    }
  } finally {
    fixtures.remove();
  }
  results.loadavgEnd = loadavg();
  results.elapsedS = elapsedS();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  const md = markdown(results);
  fs.writeFileSync(path.join(OUT_DIR, 'results.md'), '# blockbuster benchmark results\n\n' + md);
  process.stdout.write(md);
  log(`done in ${results.elapsedS.toFixed(0)} s; wrote results.json and results.md in ${OUT_DIR}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
