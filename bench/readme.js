'use strict';
// Puts the latest bench results into README.md, between <!-- bench:start --> and <!-- bench:end -->:
// how to run, bench/results.md (without its title) and the findings in bench/notes.md.
//   node bench/readme.js
const fs = require('node:fs');
const path = require('node:path');

const readmePath = path.join(__dirname, '..', 'README.md');
const readme = fs.readFileSync(readmePath, 'utf8');
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) throw new Error('README.md has no bench markers');

const results = fs.readFileSync(path.join(__dirname, 'results.md'), 'utf8').replace(/^# .*\n+/, '');
const notes = fs.readFileSync(path.join(__dirname, 'notes.md'), 'utf8').trim();
const section = `
## Benchmarks

\`npm run bench\` (\`node bench/run.js\`, not part of \`npm test\`) compares, in one run and on the same
machine: no tool; \`watch({ thresholdMs: 20 })\`; \`watch()\` plus the rule set (\`new BlockBuster().activate()\`,
every default rule; the server calls none of them); Node's \`perf_hooks.monitorEventLoopDelay\`; the npm
packages \`blocked\` (setInterval) and \`blocked-at\` (async_hooks); and
\`@sentry-internal/node-native-stacktrace\` driven like Sentry's \`eventLoopBlockIntegration\` (main thread:
\`registerThread()\`, \`threadPoll()\` every threshold/2 ms; a worker: \`getThreadsLastSeen()\` every threshold/2 ms
and \`captureStackTrace()\` once per block). Every tool runs at a 20 ms threshold, in its own server process
(\`bench/server.js\`, a small JSON API on 127.0.0.1); the load generator (autocannon) runs in the parent.
Two more rows are controls: a second "no tool" server (A/A: how far from 1.000 two identical servers land,
i.e. the resolution of the HTTP figures in that run) and \`watch()\` loaded from \`dist/watch.js\` without the
rule set (to separate the cost of the package entry from the watchdog's). It takes about 6–7 minutes on 2
cores (\`BENCH_LOAD_BUDGET\` caps the load phase); raw data goes to \`bench/results.json\`, the tables to
\`bench/results.md\`, and \`node bench/readme.js\` copies them here. Knobs are listed at the top of
\`bench/run.js\`.

${results.trim()}

${notes}
`;
fs.writeFileSync(readmePath, readme.slice(0, a + START.length) + '\n' + section + readme.slice(b));
console.log('README.md bench section updated');
