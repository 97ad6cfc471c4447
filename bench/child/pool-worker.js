'use strict';
// A pool of one, written by hand the way piscina's workers wait: parked in Atomics.wait between
// tasks, each task taken with receiveMessageOnPort and run without returning to the event loop.
// The tool watches this thread as its preload or integration would: blockbuster's watch() in the
// worker; Sentry's registerThread() and a threadPoll() interval in the worker (its
// eventLoopBlockIntegration does this in every worker under --import).
// workerData: { tool: 'bb' | 'sentry', signal: Int32Array (0 idle, 1 work), port, thresholdMs }
// Posts on parentPort: { ready }, { parkedAt }, { report }, { finished }; on port: { task, taskStart, taskEnd }.
const { workerData, parentPort, receiveMessageOnPort, threadId } = require('node:worker_threads');
const { resizeImage } = require('./workloads');
const { now } = require('../tools');

const { tool, signal, port, thresholdMs } = workerData;
let stop;
if (tool === 'bb') {
  const { watch } = require('../..');
  const w = watch({ thresholdMs, liveReportAfterMs: false, onBlock: (err) => parentPort.postMessage({ report: { firedAt: now(), ...err.toJSON() } }) });
  stop = () => w.stop();
} else {
  const { registerThread, threadPoll } = require('@sentry-internal/node-native-stacktrace');
  registerThread();
  const poll = () => threadPoll(true, { session: undefined, debugImages: {} });
  poll();
  const timer = setInterval(poll, thresholdMs / 2);
  stop = () => clearInterval(timer);
}

function serve() {
  for (;;) {
    Atomics.wait(signal, 0, 0);
    Atomics.store(signal, 0, 0);
    const msg = receiveMessageOnPort(port)?.message;
    if (!msg || msg.stop) return;
    const taskStart = now();
    resizeImage(msg.ms);
    port.postMessage({ task: msg.task, taskStart, taskEnd: now() });
  }
}

parentPort.postMessage({ ready: threadId });
// Let the loop turn (and each tool see it) before parking for work.
setTimeout(() => {
  // Reports that reached onBlock before this are of the worker's start-up, not of a park.
  parentPort.postMessage({ parkedAt: now() });
  serve();
  setTimeout(async () => {
    await stop();
    parentPort.postMessage({ finished: true });
  }, 50);
}, 50);
