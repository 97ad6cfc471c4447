'use strict';
// Watchdog worker for the @sentry-internal/node-native-stacktrace driver: the loop of
// @sentry/node-native's event-loop-block-watchdog (poll every threshold / POLL_RATIO ms, capture
// once per block), minus building and sending the Sentry envelope. Timestamps are absolute
// (timeOrigin + now) so the main thread can compare them with the block start.
const { workerData, parentPort } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { captureStackTrace, getThreadsLastSeen } = require('@sentry-internal/node-native-stacktrace');

const POLL_RATIO = 2;
const { threshold } = workerData;
const triggered = new Set();
const now = () => performance.timeOrigin + performance.now();

setInterval(() => {
  for (const [threadId, lastSeenMs] of Object.entries(getThreadsLastSeen())) {
    if (lastSeenMs > threshold) {
      if (triggered.has(threadId)) continue;
      triggered.add(threadId);
      const detectedAt = now();
      const threads = captureStackTrace();
      const capturedAt = now();
      const t = threads[threadId];
      parentPort.postMessage({ threadId, detectedAt, capturedAt, lastSeenMs, frames: t ? t.frames : null });
    } else {
      triggered.delete(threadId);
    }
  }
}, threshold / POLL_RATIO);
