'use strict';
// Child process: installs one tool, then serves a small JSON API on 127.0.0.1 until killed.
// Used both for the idle-cost figure (never sent a request) and the HTTP-load figures.
//   node bench/server.js <tool>
const http = require('node:http');
const { TOOLS } = require('../tools');

const toolName = process.argv[2];
const reports = [];
let installed = TOOLS[toolName].install((r) => reports.push(r));

let n = 0;
const server = http.createServer((req, res) => {
  n++;
  const body = JSON.stringify({
    id: n,
    path: req.url,
    method: req.method,
    items: [
      { sku: 'a-1', qty: 1, price: 9.99 },
      { sku: 'b-2', qty: 3, price: 4.5 },
    ],
    ok: true,
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port, pid: process.pid });
});
process.on('message', (m) => {
  // Phase http: the tool stopped and started again between rounds, in the same process.
  if (m && (m.type === 'tool-off' || m.type === 'tool-on')) {
    if (m.type === 'tool-off' && installed !== null) {
      installed.stop();
      installed = null;
    }
    if (m.type === 'tool-on' && installed === null) installed = TOOLS[toolName].install((r) => reports.push(r));
    process.send({ type: m.type });
  }
  if (m && m.type === 'stats') {
    // Only asked after the measured windows, so it never adds a wake-up to them. The parent reads
    // VmRSS before asking; the full GC here is for a second, less noisy RSS reading after it.
    const mu = process.memoryUsage();
    const spaces = Object.fromEntries(require('node:v8').getHeapSpaceStatistics().map((x) => [x.space_name, Math.round(x.space_size / 1024)]));
    process.send({ type: 'stats', requests: n, blockReports: reports.length, rss: mu.rss, heapTotal: mu.heapTotal, heapUsed: mu.heapUsed, external: mu.external, spacesKB: spaces });
    fullGc();
  }
});
process.on('disconnect', () => process.exit(0));

function fullGc() {
  // No --expose-gc on the command line (it would change every tool's process); enable it late.
  require('node:v8').setFlagsFromString('--expose-gc');
  require('node:vm').runInNewContext('gc')();
}
