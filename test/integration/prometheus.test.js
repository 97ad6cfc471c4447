'use strict';
// blockbuster's OpenTelemetry metrics in a real Prometheus (Debian's 2.42): a child app serves them with
// @opentelemetry/exporter-prometheus, Prometheus scrapes it every second, and the test reads them back
// through Prometheus's HTTP query API, with the PromQL that docs/outputs.md shows.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { FIXTURES, getJson } = require('../helpers');

function findPrometheus() {
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const prometheus = findPrometheus();
const skip = prometheus ? false : 'prometheus is not installed (apt-get install prometheus; .ci/run installs it)';

/** The two queries of docs/outputs.md, run as written there. */
const P99 = 'histogram_quantile(0.99, sum by (le) (rate(blockbuster_block_duration_bucket[5m])))';
const PER_MINUTE = 'sum by (blockbuster_culprit) (rate(blockbuster_blocks_total[5m])) * 60';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a child and kills it by its pid when the test ends, waiting for it to exit. */
function start(t, command, args, options) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  return { child, output: () => output };
}

async function query(port, promql) {
  const answer = await getJson(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  if (answer.status !== 'success') throw new Error(`${promql}: ${JSON.stringify(answer)}`);
  return answer.data.result;
}

/** Polls `promql` until `ready(result)` holds; a generous deadline, as the machine is shared. */
async function poll(port, promql, ready, deadlineMs = 90_000) {
  const until = Date.now() + deadlineMs;
  let last;
  while (Date.now() < until) {
    try {
      last = await query(port, promql);
      if (ready(last)) return last;
    } catch (error) {
      last = error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`${promql} not ready after ${deadlineMs} ms; last answer: ${JSON.stringify(last)}`);
}

test(
  "a real Prometheus scrapes the block histogram, the counter by culprit and the loop-delay gauges; the docs' PromQL runs",
  { skip },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-prometheus-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const appPort = await freePort();
    const app = start(t, process.execPath, [path.join(FIXTURES, 'prometheus-app.js'), String(appPort)]);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the app did not listen:\n${app.output()}`)), 30_000);
      app.child.stdout.on('data', () => {
        if (app.output().includes('"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      app.child.on('exit', (code) => reject(new Error(`the app exited (${code}):\n${app.output()}`)));
    });

    const promPort = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: app',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${appPort}']`,
        '',
      ].join('\n'),
    );
    const server = start(t, prometheus, [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ]);
    t.after(() => {
      if (server.child.exitCode !== null) t.diagnostic(`prometheus exited early:\n${server.output()}`);
    });

    // The counter by culprit: both functions of the app, with the API for the native one.
    const counters = await poll(promPort, 'blockbuster_blocks_total', (r) => {
      const culprits = r.map((s) => s.metric.blockbuster_culprit ?? '');
      return culprits.some((c) => c.startsWith('busyLoop ')) && culprits.some((c) => c.startsWith('hashPassword '));
    });
    // A loaded machine may add a series of hashPassword's (a sample in its JS, state js): ours is there.
    const hash = counters.find(
      (s) =>
        s.metric.blockbuster_culprit.startsWith('hashPassword ') &&
        s.metric.blockbuster_blocking_call === 'crypto.pbkdf2Sync' &&
        s.metric.blockbuster_state === 'native',
    );
    assert.ok(
      hash,
      `hashPassword by crypto.pbkdf2Sync, state native: ${JSON.stringify(counters.map((s) => s.metric))}`,
    );
    assert.match(hash.metric.blockbuster_culprit, /^hashPassword \(test\/fixtures\/watchdog\/prometheus-app\.js:\d+\)$/);
    assert.strictEqual(hash.metric.job, 'app');

    // The histogram: its buckets, its count, its sum (the app's blocks last 400-600 ms).
    // A loaded machine may add short blocks of its own at the 30 ms threshold: they fall in the low
    // buckets, so the app's blocks are counted above 250 ms, not by the mean.
    const buckets = await query(promPort, 'blockbuster_block_duration_bucket{le="250"}');
    assert.ok(buckets.length >= 1, 'bucket series are scraped');
    // One query, one instant: a scrape between two queries cannot skew the difference.
    const [over250] = await query(
      promPort,
      'sum(blockbuster_block_duration_count) - sum(blockbuster_block_duration_bucket{le="250"})',
    );
    const [sum] = await query(promPort, 'sum(blockbuster_block_duration_sum)');
    const long = Number(over250.value[1]);
    assert.ok(long >= 2, `blocks over 250 ms: ${long}`);
    assert.ok(Number(sum.value[1]) >= 250 * long, `sum ${sum.value[1]} ms for ${long} blocks over 250 ms`);

    // The loop-delay gauges, one per percentile.
    const delays = await poll(promPort, 'blockbuster_event_loop_delay', (r) => r.length >= 4);
    assert.deepStrictEqual(delays.map((s) => s.metric.blockbuster_percentile).sort(), ['max', 'p50', 'p90', 'p99']);
    for (const s of delays) assert.ok(Number(s.value[1]) > 0, JSON.stringify(s));

    // The two dashboard queries, once Prometheus has two scrapes of each series to take a rate of.
    const [p99] = await poll(promPort, P99, (r) => r.length === 1 && Number.isFinite(Number(r[0].value[1])));
    const p99ms = Number(p99.value[1]);
    // rate() counts only the blocks between the window's first and last scrape: early on, and with
    // short blocks a loaded machine adds, those may all be short (seen: 248.5 ms on Node 26). The
    // 400 ms blocks are checked above, cumulatively; here the query runs and says milliseconds: no
    // block under the 30 ms threshold is recorded, and none of 10 s happened.
    assert.ok(p99ms >= 30 && p99ms <= 10_000, `p99 ${p99ms} ms`);
    // A shared machine can add a block of its own (a starved thread: culprit "(unknown)"); ours must be there.
    const ours = (r) => r.filter((s) => /^(busyLoop|hashPassword) /.test(s.metric.blockbuster_culprit ?? ''));
    const perMinute = ours(
      await poll(promPort, PER_MINUTE, (r) => ours(r).length === 2 && ours(r).every((s) => Number(s.value[1]) > 0)),
    );
    for (const s of perMinute) {
      // Each culprit blocks every 3 s (20 a minute); over a 5-minute window that began a few seconds
      // ago, Prometheus divides by the whole window, so the rate only grows towards 20 as time passes.
      const rate = Number(s.value[1]);
      assert.ok(rate > 0 && rate <= 40, `${s.metric.blockbuster_culprit}: ${rate} blocks a minute`);
    }
    t.diagnostic(
      `p99 ${p99ms.toFixed(0)} ms; per minute ${perMinute.map((s) => `${s.metric.blockbuster_culprit.split(' ')[0]} ${Number(s.value[1]).toFixed(1)}`).join(', ')}`,
    );
  },
);
