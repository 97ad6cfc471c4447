'use strict';
// Child process: one tool (blockbuster's watch() or Sentry's native stack trace module), then each
// hard class of block once, in order, each from its own named function. Prints one JSON line:
// { tool, classes: [{ name, startedAt, blockStart, endedAt, extra }], reports: [{ firedAt, ... }] }.
//   node bench/child/classes.js <bb|sentry> <class,class,...> <addon.node> <64 MB file> [plugins dir]
// Issue 15's classes (laterBuiltin … pool) run the functions of ./workloads.js.
const fs = require('node:fs');
const http = require('node:http');
const childProcess = require('node:child_process');
const { Worker, MessageChannel } = require('node:worker_threads');
const { TOOLS, THRESHOLD_MS, now } = require('../tools');
const W = require('./workloads');

const [tool, classList, addonPath, bigFile, pluginsDir] = process.argv.slice(2);
const GAP_MS = 100;
const wanted = new Set(classList.split(','));

// Built before any tool is installed, so that making it is not a block anyone sees.
const USERS_JSON = JSON.stringify(Array.from({ length: 300_000 }, (_, i) => ({ id: i, name: `user ${i}`, tags: ['a', 'b'] })));
// Sizes of issue 15's blocks (a few hundred ms each on a free core of this machine; see bench/notes.md).
const SIZES = { logLines: 40_000, sqliteRows: 600_000, warmUpMs: 800, realWorkMs: 3000, rows: 300_000, ticks: 60, taskMs: 400, idleBeforeMs: 600, idleAfterMs: 1200 };
const LOG = wanted.has('laterBuiltin') ? W.makeLog(SIZES.logLines) : null;
const ROWS = wanted.has('staleAfterRequire') ? W.makeRows(SIZES.rows) : null;
// Whether the builtin was loaded before the class requires it (then the class would not test a late load).
const zlibLoadedAtStart = process.moduleLoadList.includes('NativeModule zlib');

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

  // --- issue 15 --------------------------------------------------------------------------------
  laterBuiltin(timed, done, entry) {
    entry.extra = { zlibLoadedAtStart, zlibLoadedAtClass: process.moduleLoadList.includes('NativeModule zlib') };
    const zlib = require('node:zlib');
    setTimeout(() => (timed(() => W.compressLog(zlib, LOG)), done()), 10);
  },
  sqliteQuery(timed, done) {
    // Loaded after the tool is installed, as an app loads it under a preload.
    const Database = require('better-sqlite3');
    const db = new Database(':memory:');
    setTimeout(() => {
      timed(() => W.queryReport(db, SIZES.sqliteRows));
      db.close();
      done();
    }, 10);
  },
  longTwoPhases: (timed, done) => setTimeout(() => (timed(() => (W.warmUp(SIZES.warmUpMs), W.realWork(SIZES.realWorkMs))), done()), 10),
  staleAfterRequire(timed, done, entry) {
    setTimeout(() => {
      const { loaded } = timed(() => W.startServer(pluginsDir, ROWS));
      const loadedAt = performance.timeOrigin + loaded;
      entry.extra = { loadMs: loadedAt - entry.blockStart, stringifyMs: now() - loadedAt };
      done();
    }, 10);
  },
  // The parent pins this process to one CPU with busy competitors; the loop only ticks.
  starved: (timed, done) => setTimeout(() => timed(() => W.tick(SIZES.ticks, done)), 10),
  pool(timed, done, entry) {
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(require.resolve('./pool-worker'), { name: 'resize', workerData: { tool, signal, port: port2, thresholdMs: THRESHOLD_MS }, transferList: [port2] });
    const wake = (message) => {
      port1.postMessage(message);
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    };
    entry.extra = {};
    worker.on('message', (m) => {
      if (m.report) reports.push({ ...m.report, fromWorker: true });
      if (m.parkedAt) entry.extra.parkedAt = m.parkedAt;
      if (m.ready !== undefined) {
        entry.extra.workerThreadId = m.ready;
        // Parked for idleBeforeMs, one task, parked again for idleAfterMs.
        setTimeout(() => timed(() => wake({ task: 1, ms: SIZES.taskMs })), SIZES.idleBeforeMs);
      }
      if (m.finished) {
        port1.close();
        worker.terminate().then(() => done());
      }
    });
    port1.on('message', (m) => {
      Object.assign(entry.extra, { taskStart: m.taskStart, taskEnd: m.taskEnd });
      setTimeout(() => wake({ stop: true }), SIZES.idleAfterMs);
    });
  },
};

const reports = [];
const classes = [];
let stop;
if (tool === 'bb') {
  const { watch } = require('../..');
  // toJSON() keeps what the bench scores: culprit, blockingCall, nativeModule, samples, firstSample.
  const w = watch({ thresholdMs: THRESHOLD_MS, liveReportAfterMs: false, onBlock: (err) => reports.push({ firedAt: now(), ...err.toJSON() }) });
  stop = () => w.stop();
} else {
  const handle = TOOLS['sentry-native'].install((r) => reports.push({ firedAt: r.extra.capturedAt, detectedAt: r.extra.detectedAt, lastSeenMs: r.extra.lastSeenMs, threadId: r.extra.threadId, frames: r.frames }));
  stop = () => handle.stop();
}

const queue = classList.split(',');
function next() {
  const name = queue.shift();
  if (!name) return setTimeout(finish, GAP_MS);
  const entry = { name, startedAt: now(), blockStart: null, endedAt: null, extra: undefined };
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
  }, entry);
}
async function finish() {
  await stop();
  process.stdout.write(JSON.stringify({ tool, node: process.version, classes, reports }) + '\n');
  process.exit(0);
}
// Settle: Sentry's worker starts and polls, blockbuster's thread parks.
setTimeout(next, 300);
