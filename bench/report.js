'use strict';
// results.json → the markdown of bench/results.md (and of the README's Benchmarks section).
const { TOOLS, THRESHOLD_MS } = require('./tools');
const { CLASSES, TOOLS: CLASS_TOOLS } = require('./phases/classes');
const { median, medianCi, summary } = require('./stats');

const f = (x, d = 2) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
const sg = (x, d = 2) => (x == null || !Number.isFinite(x) ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(d)}`);
const range = (s, d = 2) => (s && s.median != null ? `${f(s.median, d)} (${f(s.min, d)}…${f(s.max, d)})` : '–');
const aaResolved = (aa) => aa != null && Math.abs(aa - 1) <= 0.01;

function markdown(r) {
  const m = r.machine;
  const L = [];
  L.push(
    `Machine: ${m.nproc} × ${m.cpuModel}, ${m.platform}, shared with other engineers' builds and tests; load average ${r.loadavgStart.join(' / ')} at start, ${r.loadavgEnd.join(' / ')} at end. Commit ${m.commit}; Nodes ${r.lines.map((l) => l.version).join(', ')} (peers: system Node ${m.node}). Threshold ${THRESHOLD_MS} ms for every tool. Total ${f(r.elapsedS, 0)} s. Cells: median (min…max) unless said.`,
  );
  if (r.classesAgg) L.push('', ...classesTables(r));
  if (r.costs || r.idle) L.push('', ...costsTable(r));
  if (r.load || r.idle || r.rss || r.capture) L.push('', ...peersTable(r));
  if (r.startup) L.push('', ...startupTable(r.startup));
  if (r.quiet) L.push('', ...quietTable(r));
  if (r.rules) L.push('', ...rulesTable(r.rules));
  L.push('', ...findings(r));
  return L.join('\n') + '\n';
}

// --- hard classes --------------------------------------------------------------------------------
function classesTables(r) {
  const lines = Object.keys(r.classesAgg);
  const first = lines[0];
  const n = r.config.runs;
  const L = [];
  L.push(
    `**Hard classes of block** (${n} runs per class, tool and Node line, each run a fresh process blocking once per class; right = the report names the function and the API, read from blockbuster's \`culprit\`/\`blockingCall\` and from the innermost frames of Sentry's captured stack; the starved class: every report says starved and blames no code, which Sentry cannot say; the pool: the worker's reports name the task and none covers the idle parked time, Sentry watching the worker with its \`registerThread()\` there):`,
  );
  L.push('');
  const head = lines.map((l) => `blockbuster ${l}`).concat(lines.map((l) => `Sentry ${l}`));
  L.push(`| class | ${head.join(' | ')} |`);
  L.push(`| --- | ${head.map(() => '---').join(' | ')} |`);
  for (const cls of r.classes[first].classes) {
    const cell = (l, tool) => {
      const a = r.classesAgg[l][tool]?.[cls];
      if (r.classes[l].unavailable?.[cls]) return CLASSES[cls].needs === 'taskset' ? 'skipped' : 'does not load';
      if (!a) return tool === 'sentry' && r.classes[l].sentryUnavailable ? 'does not load' : '–';
      if (cls === 'addon' && tool === 'bb') return `addon ${a.apiRight}/${a.n}, function ${a.fnRight}/${a.n}`;
      if (a.reports !== undefined) return `${a.bothRight}/${a.n} (reports ${a.reportsRight}/${a.reports})`;
      return `${a.bothRight}/${a.n}`;
    };
    L.push(
      `| ${CLASSES[cls].label} | ${lines
        .map((l) => cell(l, 'bb'))
        .concat(lines.map((l) => cell(l, 'sentry')))
        .join(' | ')} |`,
    );
  }
  L.push('');
  L.push(
    `What each tool named when it was not right (count of runs over all lines; blockbuster: culprit / API; Sentry: captured frames innermost first, down to the first user frame):`,
  );
  L.push('');
  L.push('| class | blockbuster | Sentry |');
  L.push('| --- | --- | --- |');
  for (const cls of r.classes[first].classes) {
    const wrong = (tool) => {
      const all = {};
      for (const l of lines)
        for (const [k, v] of Object.entries(r.classesAgg[l][tool]?.[cls]?.wrong || {})) {
          // Sentry is wrong the same way on every line: summed; blockbuster's rare misses keep their line.
          const key = tool === 'bb' ? `${k} (Node ${l})` : k;
          all[key] = (all[key] || 0) + v;
        }
      const e = Object.entries(all).sort((a, b) => b[1] - a[1]);
      return e.length ? e.map(([k, v]) => `\`${k}\` ×${v}`).join(', ') : '—';
    };
    L.push(`| ${cls} | ${wrong('bb')} | ${wrong('sentry')} |`);
  }
  const notRun = new Map();
  for (const l of lines) for (const why of Object.values(r.classes[l].unavailable || {})) notRun.set(why, true);
  if (notRun.size) L.push('', ...[...notRun.keys()].map((why) => `Not run: ${why}.`));
  const unloaded = lines.filter((l) => r.classes[l].sentryUnavailable);
  if (unloaded.length)
    L.push(
      '',
      ...unloaded.map(
        (l) => `Sentry's module does not load in Node ${r.classes[l].version}: ${r.classes[l].sentryUnavailable}.`,
      ),
    );
  return L;
}

// --- costs per line ------------------------------------------------------------------------------
function idleCell(r, key) {
  if (!r.idle) return {};
  const get = (w, k) => r.idle.map((x) => x[w][key]?.[k]);
  const base = (w) => r.idle.map((x) => x[w][key.replace(/^[^@]+/, 'none')]?.cpuMs);
  const delta = (w) => median(get(w, 'cpuMs').map((c, i) => c - base(w)[i]));
  return {
    fresh: delta('fresh'),
    after: delta('afterTraffic'),
    wdFresh: median(get('fresh', 'watchdogMs')),
    wdAfter: median(get('afterTraffic', 'watchdogMs')),
    ctx: median(get('fresh', 'ctxSwitches')),
  };
}

function costsTable(r) {
  const L = [];
  L.push(
    `**Costs of watch() per Node line.** (a) and (c): median over 41 triplets of batches in one process (without, with, without watch(); Δ = with − mean of the two without; A/A = the second without − the first, the resolution). (b): /proc schedstat of idle servers (${r.config.rounds} rounds). (d): ${r.costs?.[r.lines[0].major]?.longBlock?.runs?.length ?? 5} triplets of 1 s CPU-bound blocks (without, with, without), iterations per ms of the main thread's own CPU time, so that other processes taking the core do not count.`,
  );
  L.push('');
  L.push(
    '| Node | (a) ns per loop iteration: without → with, Δ | (b) idle CPU Δ ms / 3 s vs no tool: fresh · after 20 requests (watchdog thread) | (c) ns per call of `JSON.parse(\'{"a":1}\')`: unwrapped → watching, Δ | (c) … of `fs.statSync`, and with the rule set (call allowed by canBlockIn) and both detectors | (d) 1 s block, 20 ms threshold: watchdog thread CPU ms · samples · throughput ratio per CPU ms (A/A) |',
  );
  L.push('| --- | --- | --- | --- | --- | --- |');
  for (const line of r.lines) {
    const c = r.costs?.[line.major] || {};
    const li = c.loopIteration;
    const a =
      li && !li.error
        ? `${f(li.withoutNs, 0)} → ${f(li.withNs, 0)}, Δ ${f(li.deltaNs, 0)} (A/A ${f(li.aaDeltaNs, 0)})`
        : li?.error || '–';
    const idle = idleCell(r, `bb-watch@${line.major}`);
    const b = r.idle ? `${sg(idle.fresh)} (${f(idle.wdFresh)}) · ${sg(idle.after)} (${f(idle.wdAfter)})` : '–';
    const rec = (api) => {
      const x = c.recorder?.cases?.find((k) => k.api === api);
      if (!x) return c.recorder?.error || '–';
      const both =
        x.bothNs === undefined
          ? ''
          : `; rule set ${f(x.rulesNs, 0)} (Δ ${f(x.rulesDeltaNs, 0)}), both on one wrapper ${f(x.bothNs, 0)} (Δ ${f(x.bothDeltaNs, 0)}; watching over the rule set Δ ${f(x.watchOverRulesNs, 0)})`;
      return `${f(x.notWatchingNs, 0)} → ${f(x.watchingNs, 0)}, Δ ${f(x.deltaNs, 0)} (A/A ${f(x.aaDeltaNs, 0)})${both}`;
    };
    let d = 'not run on this line';
    if (c.longBlock?.runs) {
      const runs = c.longBlock.runs;
      d = `${range(summary(runs.map((x) => x.watchdogCpuMs)), 1)} · ${f(median(runs.map((x) => x.samples)), 0)} · ${range(summary(runs.map((x) => x.ratioPerCpu)), 3)} (A/A ${range(summary(runs.map((x) => x.aaRatioPerCpu)), 3)})`;
    } else if (c.longBlock?.error) d = c.longBlock.error;
    L.push(`| ${line.version} | ${a} | ${b} | ${rec('JSON.parse')} | ${rec('fs.statSync')} | ${d} |`);
  }
  return L;
}

// --- peers ---------------------------------------------------------------------------------------
function peerAgg(r, t) {
  const a = {};
  if (r.load) {
    const C = r.load.cycles;
    for (const k of ['rpsRatio', 'p99Ratio', 'cpuPerReqRatio']) a[k] = summary(C.map((c) => c.tools[t]?.[k]));
  }
  if (r.idle) a.idle = idleCell(r, t);
  if (r.rss) {
    a.rssDelta = summary(r.rss.map((x) => x[t].rssMB - x.none.rssMB));
    a.anonDelta = summary(r.rss.map((x) => x[t].anonMB - x.none.anonMB));
  }
  if (r.capture) {
    const first = r.capture.map((x) => x[t]?.reports?.[0]);
    a.reported = `${first.filter(Boolean).length}/${first.length}`;
    a.phase = summary(first.map((x) => x?.capturedInPhaseMs ?? null));
    a.fired = summary(first.map((x) => x?.firedAfterThresholdMs ?? null));
    a.namesBurn = `${first.filter((x) => x?.namesBurnCpu).length}/${first.length}`;
  }
  return a;
}

function peersTable(r) {
  const L = [];
  const c = r.config;
  L.push(
    `**Peers in Node ${r.machine.node}**: HTTP load in ${r.load?.cycles.length ?? 0} cycles over ${c.loadGroups} sets of servers, each tool in ABBA blocks of ≈${c.sliceS} s autocannon slices against "no tool" (${c.connections} connections, loopback); RSS after ${c.rssRequests} requests (${c.rounds} rounds); idle CPU over 3 s (${c.rounds} rounds); stack capture during a 200 ms CPU-bound block, read off the stack (${c.rounds} runs; the threshold is crossed in ms ${THRESHOLD_MS}). "no tool, second copy" is the A/A control: its distance from 1.000 is the resolution of the HTTP ratios in this run.`,
  );
  L.push('');
  L.push(
    '| tool | throughput ratio | p99 ratio | CPU per request ratio | idle CPU Δ ms / 3 s: fresh · after traffic | RSS Δ MB (private) | stack taken in block ms | names `burnCpu` | report after crossing, ms |',
  );
  L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const t of r.tools) {
    if (t === 'none') continue;
    const a = peerAgg(r, t);
    L.push(
      `| ${TOOLS[t].label} | ${range(a.rpsRatio, 3)} | ${range(a.p99Ratio, 3)} | ${range(a.cpuPerReqRatio, 3)} | ${a.idle ? `${sg(a.idle.fresh)} · ${sg(a.idle.after)}` : '–'} | ${a.rssDelta ? `${sg(a.rssDelta.median, 1)} (${sg(a.anonDelta.median, 1)})` : '–'} | ${a.phase?.median != null ? range(a.phase, 0) : '–'} | ${a.namesBurn ?? '–'} | ${range(a.fired, 1)} |`,
    );
  }
  for (const [t, why] of Object.entries(r.unavailable)) L.push(`| ${TOOLS[t].label} | ${why} | | | | | | | |`);
  return L;
}

// --- idle cost and memory against no tool (issue 14 §8) ----------------------------------------------
const IDLE_TARGET_MS_PER_S = 0.1;
const LOOK_TARGET_US = 20;

/** The idle figures of phase quiet, per second, medians over rounds; null without that phase. */
function quietFigures(r) {
  const q = r.quiet;
  const rounds = q?.rounds ?? [];
  if (!rounds.length || !rounds.every((x) => x['bb-watch'] && x.none)) return null;
  const S = q.windowMs / 1000;
  const med = (fn) => median(rounds.map(fn));
  const sum = (w) => w.threads.main.ms + w.threads.watchdog.ms + w.threads.others.ms;
  const delta = (t, win) => med((x) => (sum(x[t][win]) - sum(x.none[win])) / S);
  const perWake = (w, g) =>
    (w.afterWatch.threads[g].ms + w.steady.threads[g].ms) /
    Math.max(1, w.afterWatch.threads[g].wakes + w.steady.threads[g].wakes);
  const gcs = (t) => rounds.map((x) => x[t].afterWatch.gcEvents.length);
  return {
    S,
    steady: delta('bb-watch', 'steady'),
    after: delta('bb-watch', 'afterWatch'),
    steadyAa: rounds.every((x) => x['none-aa']) ? delta('none-aa', 'steady') : null,
    lookUs: med((x) => perWake(x['bb-watch'], 'watchdog') * 1000),
    bareUs: rounds.every((x) => x.reference) ? med((x) => perWake(x.reference, 'main') * 1000) : null,
    gcs,
    gcWatch: median(gcs('bb-watch')),
    gcNone: median(gcs('none')),
    life: lifeGcs(q),
  };
}

/**
 * GC events over a quiet server's whole run (start, the idle windows, its first requests and the
 * wait after them), per round; null when the phase did not serve requests. `added`: watch()'s
 * mark-compacts over no tool's, the largest over rounds.
 */
function lifeGcs(q) {
  const rounds = q?.rounds ?? [];
  if (!rounds.length || !rounds.every((x) => x['bb-watch']?.served && x.none?.served)) return null;
  const all = (t) => rounds.map((x) => x[t].served.all);
  const majors = (events) => events.filter((e) => e.startsWith('Mark-Compact')).length;
  return {
    requests: q.servedRequests,
    waitS: q.servedWaitMs / 1000,
    none: all('none'),
    watch: all('bb-watch'),
    added: Math.max(...rounds.map((x) => majors(x['bb-watch'].served.all) - majors(x.none.served.all))),
  };
}

function quietTable(r) {
  const q = r.quiet;
  const S = q.windowMs / 1000;
  const rounds = q.rounds;
  const med = (fn) => median(rounds.map(fn));
  const sum = (w) => w.threads.main.ms + w.threads.watchdog.ms + w.threads.others.ms;
  const mark = (ok) => (ok === true ? '✅ met' : ok === false ? '❌ not met' : '⚠️ not resolved');
  const has = (t) => rounds.every((x) => x[t]);
  const L = [];
  L.push(
    `**Idle cost and memory of watch() against no tool** (Node ${r.machine.node}; ${rounds.length} rounds of fresh servers side by side under \`--trace-gc\`, never sent a request; /proc per thread; "after watch()": the ${S} s from the moment watch() returned; "steady": the ${S} s after those. Δ = tool − no tool, median over rounds; the A/A row is a second "no tool". RSS and throughput come from the peers' table above.)`,
  );
  L.push('');
  L.push('| figure | no tool | watch() | Δ (A/A) | target |');
  L.push('| --- | --- | --- | --- | --- |');
  if (has('bb-watch')) {
    const perS = (t, win, g) => med((x) => (g ? x[t][win].threads[g].ms : sum(x[t][win])) / S);
    const delta = (win, g) =>
      med(
        (x) =>
          (g
            ? x['bb-watch'][win].threads[g].ms - x.none[win].threads[g].ms
            : sum(x['bb-watch'][win]) - sum(x.none[win])) / S,
      );
    const aa = (win, g) =>
      has('none-aa')
        ? med(
            (x) =>
              (g
                ? x['none-aa'][win].threads[g].ms - x.none[win].threads[g].ms
                : sum(x['none-aa'][win]) - sum(x.none[win])) / S,
          )
        : null;
    const steady = delta('steady');
    L.push(
      `| idle CPU, steady, ms per second (all threads) | ${f(perS('none', 'steady'), 3)} | ${f(perS('bb-watch', 'steady'), 3)} | ${sg(steady, 3)} (${sg(aa('steady'), 3)}) | ≤ +${IDLE_TARGET_MS_PER_S} ms/s: ${mark(steady <= IDLE_TARGET_MS_PER_S)} |`,
    );
    for (const [g, label] of [
      ['main', 'main thread'],
      ['watchdog', 'watchdog thread'],
      ['others', "V8's platform workers and libuv's threads"],
    ]) {
      L.push(
        `| … ${label}: steady · after watch(), ms per second | ${f(perS('none', 'steady', g), 3)} · ${f(perS('none', 'afterWatch', g), 3)} | ${f(perS('bb-watch', 'steady', g), 3)} · ${f(perS('bb-watch', 'afterWatch', g), 3)} | ${sg(delta('steady', g), 3)} · ${sg(delta('afterWatch', g), 3)} | |`,
      );
    }
    const after = delta('afterWatch');
    L.push(
      `| idle CPU in the ${S} s after watch(), ms per second (all threads) | ${f(perS('none', 'afterWatch'), 3)} | ${f(perS('bb-watch', 'afterWatch'), 3)} | ${sg(after, 3)} (${sg(aa('afterWatch'), 3)}) | ≤ +${IDLE_TARGET_MS_PER_S} ms/s: ${mark(after <= IDLE_TARGET_MS_PER_S)} |`,
    );
    const wakes = (t, g) => med((x) => x[t].afterWatch.threads[g].wakes + x[t].steady.threads[g].wakes);
    L.push(
      `| wake-ups in ${2 * S} s: main · watchdog · others | ${f(wakes('none', 'main'), 0)} · – · ${f(wakes('none', 'others'), 0)} | ${f(wakes('bb-watch', 'main'), 0)} · ${f(wakes('bb-watch', 'watchdog'), 0)} · ${f(wakes('bb-watch', 'others'), 0)} | | |`,
    );
    const gcs = (t) => rounds.map((x) => x[t].afterWatch.gcEvents.length);
    const gcNames = [...new Set(rounds.flatMap((x) => x['bb-watch'].afterWatch.gcEvents))].join(', ');
    const noChurn = median(gcs('bb-watch')) <= median(gcs('none'));
    L.push(
      `| GC events in the ${S} s after watch(), per round | ${gcs('none').join(' · ')} | ${gcs('bb-watch').join(' · ')}${gcNames ? ` (${gcNames})` : ''} | | none caused by watch(): ${mark(noChurn)} |`,
    );
    const life = lifeGcs(q);
    if (life) {
      const counts = (runs) =>
        runs
          .map((events) => `${events.length} (${events.filter((e) => e.startsWith('Mark-Compact')).length} MC)`)
          .join(' · ');
      L.push(
        `| GC events over the whole run: start, the ${2 * S} s idle, the first ${life.requests} requests and ${life.waitS} s after them, per round | ${counts(life.none)} | ${counts(life.watch)} | | no mark-compact added by watch(): ${mark(life.added <= 0)} |`,
      );
    }
    // One look = the watchdog's CPU per wake-up; a bare timer wake-up of a node process is the machine's floor.
    const lookUs = med(
      (x) =>
        ((x['bb-watch'].afterWatch.threads.watchdog.ms + x['bb-watch'].steady.threads.watchdog.ms) /
          Math.max(1, x['bb-watch'].afterWatch.threads.watchdog.wakes + x['bb-watch'].steady.threads.watchdog.wakes)) *
        1000,
    );
    const bareUs = has('reference')
      ? med(
          (x) =>
            ((x.reference.afterWatch.threads.main.ms + x.reference.steady.threads.main.ms) /
              Math.max(1, x.reference.afterWatch.threads.main.wakes + x.reference.steady.threads.main.wakes)) *
            1000,
        )
      : null;
    L.push(
      `| one look: the watchdog thread's CPU per wake-up, µs (a 1 s \`setInterval\` process's wake-up on this machine) | | ${f(lookUs, 0)} (${f(bareUs, 0)}) | ${bareUs == null ? '' : sg(lookUs - bareUs, 0)} | ≤ ${LOOK_TARGET_US} µs above a bare wake-up: ${mark(bareUs == null ? null : lookUs - bareUs <= LOOK_TARGET_US)} |`,
    );
  }
  if (r.rss) {
    const a = peerAgg(r, 'bb-watch');
    const aa = peerAgg(r, 'none-aa').rssDelta?.median;
    L.push(
      `| RSS after ${r.config.rssRequests} requests, Δ MB (private) | | | ${sg(a.rssDelta.median, 2)} (${sg(a.anonDelta.median, 2)}); A/A ${sg(aa, 2)} | ≤ +1 MB: ${mark(a.rssDelta.median <= 1)} |`,
    );
  }
  const h = httpSideBySide(r);
  if (h) {
    const pin = r.http.pinned ? `, both pinned to CPU ${r.http.pinned.servers} and autocannon to ${r.http.pinned.loadGenerator}` : '';
    L.push(
      `| HTTP throughput ratio: requests per CPU second, two servers side by side on one CPU, watch() started in one and then the other, median of ${h.bb.n} such pairs of ${r.http.sliceS} s rounds (95 % CI)${pin} | 1 | ${ci(h.bb)} | A/A ${ci(h.aa)} | ≥ 0.99: ${mark(h.verdict)} |`,
    );
    L.push(`| share of the requests served in the same second, same rounds | 1 | ${ci(h.served)} | A/A ${ci(h.servedAa)} | |`);
  }
  return L;
}

/**
 * watch() against no tool side by side (phase http): per-pair ratios and their A/A pairs. Met when
 * the interval lies at or above 0.99, missed when it lies below; otherwise not resolved. The A/A
 * interval must hold 1 and be within 1 % of it, or the run cannot tell 1 % apart.
 */
function httpSideBySide(r) {
  if (!r.http) return null;
  const of = (control, k) => medianCi(r.http.pairs.filter((x) => x.control === control).map((x) => x[k]));
  const bb = of(false, 'ratio');
  const aa = of(true, 'ratio');
  const resolved = aa.low != null && aa.low <= 1 && aa.high >= 1 && aa.high - aa.low <= 0.02;
  const verdict = !resolved || bb.low == null ? null : bb.low >= 0.99 ? true : bb.high < 0.99 ? false : null;
  return { bb, aa, served: of(false, 'servedRatio'), servedAa: of(true, 'servedRatio'), verdict };
}

const ci = (x) => `${f(x.median, 3)} (${f(x.low, 3)}…${f(x.high, 3)})`;


// --- start-up: what require + watch() allocate, and the GCs of a bare idle server after it ----------
function startupTable(startup) {
  const L = [
    "**Start-up of watch()** per Node line: the heap `require('blockbuster')` + `watch()` allocate in a bare `net` server (a 64 MB young generation, so that no GC hides a part), the package modules and builtins they load; then the GCs that server runs in the 12 s after `watch()`, against the same server without it, started side by side (`--trace-gc`, one pair per round).",
    '',
    '| Node | allocated KB: require + watch() = total (young) | modules · builtins loaded | GCs in the 12 s after watch(), per round (no tool) | no GC caused by watch() |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const [line, x] of Object.entries(startup)) {
    const a = x.allocation;
    const alloc = a.error ? `not measured (${a.error})` : `${a.requireKB} + ${a.watchKB} = ${a.totalKB} (${a.youngKB})`;
    const gcs = x.rounds.map((round) => round.watch.length).join(' · ');
    const none = x.rounds.map((round) => round.none.length).join(' · ');
    const ok = x.rounds.every((round) => round.watch.length <= round.none.length);
    L.push(
      `| ${line} | ${alloc} | ${a.modules ?? '–'} · ${a.builtins ?? '–'} | ${gcs} (${none}) | ${ok ? '✅' : '❌'} |`,
    );
  }
  return L;
}

function rulesTable(rules) {
  if (rules.error) return [`Rule set micro-benchmark: not run (${rules.error}).`];
  const L = [
    `**Rule set** (every default rule active): ns per call, alternated batches; Δ = median per-pair wrapped − unwrapped (min…max):`,
    '',
  ];
  L.push('| case | unwrapped | wrapped | Δ | target |');
  L.push('| --- | --- | --- | --- | --- |');
  for (const c of rules.cases)
    L.push(
      `| ${c.label} | ${f(c.unwrappedNs, 0)} | ${f(c.wrappedNs, 0)} | ${f(c.deltaNs, 0)} (${f(c.deltaSpreadNs[0], 0)}…${f(c.deltaSpreadNs[1], 0)}) | ${c.target} |`,
    );
  return L;
}

// --- findings: targets met or missed, from this run's figures ---------------------------------------
function findings(r) {
  const L = ['**Targets, from this run:**', ''];
  const mark = (ok) => (ok === true ? '✅' : ok === false ? '❌' : '⚠️ not resolved:');
  if (r.classesAgg) {
    const bad = [];
    for (const [l, byTool] of Object.entries(r.classesAgg)) {
      for (const [cls, a] of Object.entries(byTool.bb || {})) {
        if (cls === 'errors') continue;
        const right = cls === 'addon' ? a.apiRight : a.bothRight;
        if (right < a.n) bad.push(`${cls} on ${l}: ${right}/${a.n}`);
      }
    }
    L.push(
      `- ${mark(bad.length === 0)} blockbuster names the function and API (or addon call) of every hard class on every line${bad.length ? `: missed ${bad.join('; ')}` : ''}.`,
    );
  }
  if (r.costs) {
    const li = r.lines.map((l) => r.costs[l.major]?.loopIteration).filter((x) => x && !x.error);
    L.push(
      `- (a) per loop iteration, Node ${r.lines.map((l) => l.major).join(' / ')}: Δ ${li.map((x) => `${f(x.deltaNs, 0)} (A/A ${f(x.aaDeltaNs, 0)})`).join(' / ')} ns; 48 ns before multi-sampling (Node 20). An A/A delta far from 0 means that line's Δ is not resolved in this run.`,
    );
    const rec = r.lines.map((l) => r.costs[l.major]?.recorder?.cases).filter(Boolean);
    if (rec.length)
      L.push(
        `- (c) recorder per wrapped call while watching, same line order: JSON.parse Δ ${rec.map((c) => `${f(c[0].deltaNs, 0)} (A/A ${f(c[0].aaDeltaNs, 0)})`).join(' / ')} ns; fs.statSync Δ ${rec.map((c) => `${f(c[1].deltaNs, 0)} (A/A ${f(c[1].aaDeltaNs, 0)})`).join(' / ')} ns.`,
      );
    const lb = r.lines.map((l) => [l.major, r.costs[l.major]?.longBlock?.runs]).filter(([, x]) => x);
    for (const [l, runs] of lb) {
      const aa = median(runs.map((x) => x.aaRatioPerCpu));
      const ratio = median(runs.map((x) => x.ratioPerCpu));
      L.push(
        `- (d) Node ${l}, 1 s block at 20 ms: the watchdog thread used ${f(median(runs.map((x) => x.watchdogCpuMs)), 1)} ms CPU for ${f(median(runs.map((x) => x.samples)), 0)} samples; throughput per CPU ms ${f(ratio, 3)} of without (A/A ${f(aa, 3)}${aaResolved(aa) ? '' : ': not resolved to 1 % in this run'}).`,
      );
    }
  }
  if (r.idle) {
    const per = r.lines.map((l) => idleCell(r, `bb-watch@${l.major}`));
    L.push(
      `- ${mark(per.every((x) => Math.abs(x.fresh) <= 1))} (b) idle CPU within 1 ms / 3 s of no tool (fresh server): ${per.map((x) => sg(x.fresh)).join(' / ')} ms; the watchdog thread itself ${per.map((x) => f(x.wdFresh)).join(' / ')} ms (0.15 ms before).`,
    );
  }
  const q = quietFigures(r);
  if (q) {
    L.push(
      `- ${mark(q.steady <= IDLE_TARGET_MS_PER_S)} idle CPU ≤ +${IDLE_TARGET_MS_PER_S} ms per second over no tool (all threads, steady): ${sg(q.steady, 3)} ms/s (A/A ${sg(q.steadyAa, 3)}); in the ${q.S} s after watch() ${sg(q.after, 3)} ms/s.`,
    );
    L.push(
      `- ${mark(q.lookUs == null || q.bareUs == null ? null : q.lookUs - q.bareUs <= LOOK_TARGET_US)} one watchdog look ≤ ${LOOK_TARGET_US} µs above a bare wake-up: ${f(q.lookUs, 0)} µs per wake-up against ${f(q.bareUs, 0)} µs for a 1 s \`setInterval\` process.`,
    );
    L.push(
      `- ${mark(q.gcWatch <= q.gcNone)} no GC caused by watch() in the ${q.S} s after it, in the bench's HTTP server (\`http\`, an IPC channel): ${q.gcs('bb-watch').join(' · ')} GC events per round against ${q.gcs('none').join(' · ')} for no tool.`,
    );
    if (q.life) {
      const majors = (runs) =>
        runs.map((events) => events.filter((e) => e.startsWith('Mark-Compact')).length).join(' · ');
      L.push(
        `- ${mark(q.life.added <= 0)} no mark-compact added by watch() over the same server's whole run (through its first ${q.life.requests} requests and ${q.life.waitS} s after them): ${majors(q.life.watch)} per round against ${majors(q.life.none)} for no tool.`,
      );
    }
  }
  if (r.startup) {
    const lines = Object.entries(r.startup);
    const bad = lines
      .filter(([, x]) => x.rounds.some((round) => round.watch.length > round.none.length))
      .map(([line]) => line);
    const kb = lines.map(([line, x]) => `${line} ${x.allocation.totalKB ?? '?'} KB`).join(', ');
    L.push(
      `- ${mark(bad.length === 0)} no GC caused by watch() in a bare idle \`net\` server, in the 12 s after it, on every line${bad.length ? ` (GCs on ${bad.join(', ')})` : ''}; require + watch() allocate ${kb}.`,
    );
  }
  if (r.rss) {
    const a = peerAgg(r, 'bb-watch');
    L.push(
      `- ${mark(a.rssDelta.median <= 1)} RSS after load ≤ 1 MB above no tool for watch(): ${sg(a.rssDelta.median, 1)} MB, of which private ${sg(a.anonDelta.median, 1)} MB (A/A ${sg(peerAgg(r, 'none-aa').rssDelta?.median, 1)} MB; +0.9 MB before the recorder and multi-sampling).`,
    );
  }
  if (r.capture) {
    const a = peerAgg(r, 'bb-watch');
    L.push(
      `- ${mark(a.phase.median != null && a.phase.median - THRESHOLD_MS <= 1)} first stack taken ≤ 1 ms after the threshold crossing (read off the stack): block ms ${f(a.phase.median, 0)}; the report names \`burnCpu\` ${a.namesBurn}.`,
    );
  }
  const h = httpSideBySide(r);
  if (h) {
    L.push(
      `- ${mark(h.verdict)} HTTP throughput ≥ 0.99 of no tool for watch(), requests per CPU second side by side on one CPU: ${ci(h.bb)} (median, 95 % CI, ${h.bb.n} pairs of rounds), A/A ${ci(h.aa)}; share of the requests served in the same second ${ci(h.served)} (A/A ${ci(h.servedAa)}); block reports during the rounds: ${r.http.blockReports}.`,
    );
  }
  return L;
}

module.exports = { markdown };
