'use strict';
// The blocks of issue 15's hard classes, each in its own named function (the name is what a report
// must say), kept apart from the bench's driver so that test fixtures can require the same code
// (issue 17). Nothing here installs a tool, loads a builtin the caller did not pass, or writes output.
const fs = require('node:fs');
const path = require('node:path');

/** A later-loaded builtin: `zlib` is the module the caller required after the tool was installed. */
function compressLog(zlib, log) {
  return zlib.gzipSync(log).length;
}

/** An addon query: a recursive CTE counting to `n` in SQLite (better-sqlite3's `Statement.get`). */
function queryReport(db, n) {
  return db.prepare(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT sum(x) AS s FROM c`).get().s;
}

// A two-phase block: each phase spins in its own body, so each is the innermost user function.
function warmUp(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

function realWork(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

/**
 * Dependencies loaded in one go (the loader's frames), then one long JSON.stringify, in one function.
 * `serialize`: a stringify the caller took before any tool wrapped it, as serializers do.
 */
function startServer(dir, rows, serialize = JSON.stringify) {
  const plugins = [];
  for (const file of fs.readdirSync(dir)) plugins.push(require(path.join(dir, file)));
  const loaded = performance.now();
  const body = serialize(rows);
  return { plugins: plugins.length, bytes: body.length, loaded };
}

/** A little work now and then: 2 ms of the process's CPU every 10 ms; slow only when the CPU is taken from it. */
function tick(rounds, done) {
  let x = 0;
  const end = process.cpuUsage().user + 2000;
  while (process.cpuUsage().user < end) x += Math.sqrt(x + 1);
  if (rounds > 0) setTimeout(() => tick(rounds - 1, done), 10);
  else if (done) setImmediate(done);
  return x;
}

/** A pool task: `ms` of CPU-bound work on a worker's thread. */
function resizeImage(ms) {
  let x = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x * 31 + i) | 0;
  return x;
}

// --- inputs, made before any tool is installed --------------------------------------------------

/** A text log of `lines` lines (about 90 bytes each) to compress. */
function makeLog(lines) {
  const out = [];
  for (let i = 0; i < lines; i++) out.push(`${new Date(1e12 + i * 997).toISOString()} INFO req ${i} user=${(i * 7919) % 100003} path=/api/items/${i % 977} ms=${(i * 31) % 400}`);
  return Buffer.from(out.join('\n'));
}

/** `n` rows to serialise. */
function makeRows(n) {
  const rows = [];
  for (let i = 0; i < n; i++) rows.push({ id: i, name: `user ${i}`, tags: ['a', 'b', String(i % 7)], score: i / 3 });
  return rows;
}

/** Writes `modules` dependency files of `fns` small functions each under dir/node_modules/plugins; returns that folder. */
function writePlugins(dir, modules = 60, fns = 300) {
  const plugins = path.join(dir, 'node_modules', 'plugins');
  fs.mkdirSync(plugins, { recursive: true });
  for (let m = 0; m < modules; m++) {
    let source = '';
    for (let i = 0; i < fns; i++) source += `exports.f${i} = function (a, b) { const c = a * ${i} + b; return c > ${i} ? [c, a, b] : { c, a, b }; };\n`;
    fs.writeFileSync(path.join(plugins, `p${m}.js`), source);
  }
  return plugins;
}

module.exports = { compressLog, queryReport, warmUp, realWork, startServer, tick, resizeImage, makeLog, makeRows, writePlugins };
