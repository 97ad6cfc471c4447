'use strict';
// Puts the latest bench results into docs/benchmarks.md, between <!-- bench:start --> and <!-- bench:end -->:
// what is compared and how, bench/results.md (without its title), and the findings of bench/notes.md.
//   node bench/readme.js
const fs = require('node:fs');
const path = require('node:path');

const readmePath = path.join(__dirname, '..', 'docs', 'benchmarks.md');
const readme = fs.readFileSync(readmePath, 'utf8');
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) throw new Error('docs/benchmarks.md has no bench markers');

const { CLASSES } = require('./phases/classes');
const results = fs.readFileSync(path.join(__dirname, 'results.md'), 'utf8').replace(/^# .*\n+/, '');
const notes = fs.readFileSync(path.join(__dirname, 'notes.md'), 'utf8').replace(/^# .*\n+/, '').trim();
const section = `
## Latest run

\`npm run bench\` (not part of \`npm test\`; about 33 minutes on 2 cores; knobs at the top of
\`bench/run.js\`) runs every figure in one run, alternating what it compares so that the machine's
load hits both sides alike. On every supported Node line: ${Object.keys(CLASSES).length} hard classes of block, each run in
fresh processes under \`watch()\` and under \`@sentry-internal/node-native-stacktrace\` (driven like
Sentry's \`eventLoopBlockIntegration\`), scored on whether the report names the right function and
API; and \`watch()\`'s costs. In the system Node: the peers (\`perf_hooks.monitorEventLoopDelay\`,
npm \`blocked\` and \`blocked-at\`, Sentry's module) under HTTP load, idle, and during a CPU-bound
block. Raw data: \`bench/results.json\` (not committed); tables: \`bench/results.md\`;
\`node bench/readme.js\` copies them here.

${results.trim()}

${notes}
`;
fs.writeFileSync(readmePath, readme.slice(0, a + START.length) + '\n' + section + readme.slice(b));
console.log('docs/benchmarks.md bench section updated');
