'use strict';
// Child process: one tool (blockbuster's watch() or Sentry's native stack trace module), then each
// hard class of block once, in order, each from its own named function. Prints one JSON line:
// { tool, classes: [{ name, startedAt, blockStart, endedAt }], reports: [{ firedAt, ... }] }.
//   node bench/child/classes.js <bb|sentry> <class,class,...> <addon.node> <64 MB file>
const fs = require('node:fs');
const http = require('node:http');
const childProcess = require('node:child_process');
const { TOOLS, THRESHOLD_MS, now } = require('../tools');

const [tool, classList, addonPath, bigFile] = process.argv.slice(2);
const GAP_MS = 100;

// Built before any tool is installed, so that making it is not a block anyone sees.
const USERS_JSON = JSON.stringify(Array.from({ length: 300_000 }, (_, i) => ({ id: i, name: `user ${i}`, tags: ['a', 'b'] })));

function loadUsers(text) {
  return JSON.parse(text).length;
}
function renderPage(text) {
  return `<p>${loadUsers(text)} users</p>`;
}
function readChunk(fd, size) {
  return fs.readSync(fd, Buffer.allocUnsafe(size), 0, size, 0);
}
function runSlow() {
  return childProcess.spawnSync('sleep', ['0.15']).status;
}
function queryUsers(addon) {
  addon.spin(10 * THRESHOLD_MS);
}
function warmUp() {
  const end = Date.now() + 3 * THRESHOLD_MS;
  while (Date.now() < end);
}
function hotLoop() {
  const end = Date.now() + 10 * THRESHOLD_MS;
  while (Date.now() < end);
}
function statStorm() {
  let found = 0;
  const end = Date.now() + 8 * THRESHOLD_MS;
  while (Date.now() < end) for (let i = 0; i < 100; i++) if (fs.statSync(__filename).isFile()) found++;
  return found;
}
function busyLoop() {
  let x = 0;
  const end = Date.now() + 8 * THRESHOLD_MS;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x * 31 + i) | 0;
  return x;
}

// Each class: (timed, done) => starts its block from a callback of the running loop, inside
// timed() (which stamps the block's start), and calls done right after it.
const CLASSES = {
  json(timed, done) {
    const server = http.createServer((req, res) => res.end(timed(() => renderPage(USERS_JSON))));
    server.listen(0, '127.0.0.1', () => {
      http.get({ port: server.address().port, host: '127.0.0.1', agent: false }, (res) => {
        res.resume().on('end', () => server.close(done));
      });
    });
  },
  readSync(timed, done) {
    const fd = fs.openSync(bigFile, 'r');
    const size = fs.fstatSync(fd).size;
    setTimeout(() => {
      timed(() => readChunk(fd, size));
      fs.closeSync(fd);
      done();
    }, 10);
  },
  spawnSync: (timed, done) => setTimeout(() => (timed(runSlow), done()), 10),
  addon(timed, done) {
    const addon = require(addonPath);
    setTimeout(() => (timed(() => queryUsers(addon)), done()), 10);
  },
  twoPhases: (timed, done) => setTimeout(() => (timed(() => (warmUp(), hotLoop())), done()), 10),
  statStorm: (timed, done) => setTimeout(() => (timed(statStorm), done()), 10),
  busyLoop: (timed, done) => setTimeout(() => (timed(busyLoop), done()), 10),
};

const reports = [];
const classes = [];
let stop;
if (tool === 'bb') {
  const { watch } = require('../..');
  // toJSON() keeps what the bench scores: culprit, blockingCall, nativeModule, samples, firstSample.
  const w = watch({ thresholdMs: THRESHOLD_MS, hangReportMs: false, onBlock: (err) => reports.push({ firedAt: now(), ...err.toJSON() }) });
  stop = () => w.stop();
} else {
  const handle = TOOLS['sentry-native'].install((r) => reports.push({ firedAt: r.extra.capturedAt, detectedAt: r.extra.detectedAt, frames: r.frames }));
  stop = () => handle.stop();
}

const queue = classList.split(',');
function next() {
  const name = queue.shift();
  if (!name) return setTimeout(finish, GAP_MS);
  const entry = { name, startedAt: now(), blockStart: null, endedAt: null };
  classes.push(entry);
  // Stamps the start only: a late interrupt lands in whatever JS runs after the call, which must
  // be the program's own code, not a bench stamp.
  const timed = (fn) => {
    entry.blockStart = performance.timeOrigin + performance.now();
    return fn();
  };
  CLASSES[name](timed, () => {
    entry.endedAt = now();
    // The gap lets each tool deliver its report before the next class starts.
    setTimeout(next, GAP_MS);
  });
}
async function finish() {
  await stop();
  process.stdout.write(JSON.stringify({ tool, node: process.version, classes, reports }) + '\n');
  process.exit(0);
}
// Settle: Sentry's worker starts and polls, blockbuster's thread parks.
setTimeout(next, 300);
