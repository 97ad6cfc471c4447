'use strict';
// The tools under comparison, each installed the way its users (or its vendor's own integration)
// install it, all at a 20 ms threshold. Every tool reports blocks through one normalised shape:
//   { tool, firedAt, frames: [{ functionName, file, line, column }] | null, extra }
// where firedAt is an absolute time (performance.timeOrigin + performance.now(), in ms) at which the
// report reached the caller, comparable across threads of the same process.
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const THRESHOLD_MS = 20;
const ROOT = path.join(__dirname, '..');

const now = () => performance.timeOrigin + performance.now();

/** watch() at the bench threshold, its reports normalised for the bench. */
function startWatch(watch, tool, onReport) {
  return watch({
    thresholdMs: THRESHOLD_MS,
    mode: 'diagnostics',
    onBlock(err) {
      onReport({ tool, firedAt: now(), frames: err.frames ? [...err.frames] : null, extra: bbExtra(err) });
    },
  });
}

function loadBlockbuster() {
  // Resolved lazily: teammates rebuild dist/ while the bench is being written.
  return require(path.join(ROOT, 'dist'));
}

/** Activates the rule set with its default rules; returns its deactivation. */
function activateRules(bb) {
  bb.activate();
  return () => bb.deactivate();
}

const TOOLS = {
  none: {
    label: 'no tool',
    install() {
      return { stop() {} };
    },
  },

  'bb-watch': {
    label: 'blockbuster watch()',
    available() {
      return typeof loadBlockbuster().watch === 'function';
    },
    install(onReport) {
      const { watch } = loadBlockbuster();
      const w = startWatch(watch, 'bb-watch', onReport);
      return { stop: () => w.stop() };
    },
  },

  // Diagnostic only: watch() loaded from dist/watch.js, without the package entry (which also loads
  // the rule set's modules; the builtins they wrap load on first use).
  'bb-watch-direct': {
    label: 'blockbuster watch() loaded from dist/watch.js, without the rule set (diagnostic)',
    install(onReport) {
      const { watch } = require(path.join(ROOT, 'dist', 'watch.js'));
      const w = startWatch(watch, 'bb-watch-direct', onReport);
      return { stop: () => w.stop() };
    },
  },

  'bb-watch+rules': {
    label: 'blockbuster watch() + rule set',
    available() {
      const b = loadBlockbuster();
      return typeof b.watch === 'function' && typeof b.BlockBuster === 'function';
    },
    install(onReport) {
      const { watch, BlockBuster } = loadBlockbuster();
      // Either order works: both detectors hook one wrapper per API (lib/wrap.ts).
      const w = startWatch(watch, 'bb-watch+rules', onReport);
      const deactivate = activateRules(new BlockBuster());
      return {
        stop() {
          w.stop();
          deactivate();
        },
      };
    },
  },

  // A/A control: a second "no tool" server. Its ratio to "no tool" shows how precise the
  // comparison is on this machine at this time.
  'none-aa': {
    label: 'no tool, second copy (A/A control)',
    install() {
      return { stop() {} };
    },
  },

  'eld-histogram': {
    label: 'perf_hooks.monitorEventLoopDelay',
    install() {
      // A histogram, not a detector: nothing fires per block and no stack is taken. Users read
      // h.max / h.percentile() when they export metrics.
      const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: THRESHOLD_MS });
      h.enable();
      return { stop: () => h.disable(), histogram: h };
    },
  },

  blocked: {
    label: 'npm blocked (setInterval)',
    install(onReport) {
      const blocked = require('blocked');
      // Default interval (100 ms); a block is reported when a tick arrives > threshold late.
      const timer = blocked((ms) => onReport({ tool: 'blocked', firedAt: now(), frames: null, extra: { reportedMs: ms } }), {
        threshold: THRESHOLD_MS,
      });
      return { stop: () => clearInterval(timer) };
    },
  },

  'blocked-at': {
    label: 'npm blocked-at (async_hooks)',
    install(onReport) {
      const blockedAt = require('blocked-at');
      const h = blockedAt(
        (ms, stack, resource) =>
          onReport({
            tool: 'blocked-at',
            firedAt: now(),
            frames: parseStackLines(stack),
            extra: { reportedMs: ms, resourceType: resource && resource.type },
          }),
        { threshold: THRESHOLD_MS },
      );
      return { stop: () => h.stop() };
    },
  },

  'sentry-native': {
    label: '@sentry-internal/node-native-stacktrace',
    available() {
      require('@sentry-internal/node-native-stacktrace');
      return true;
    },
    install(onReport) {
      // Driven as @sentry/node-native's eventLoopBlockIntegration drives it: registerThread() on the
      // main thread, threadPoll() every threshold/POLL_RATIO (POLL_RATIO = 2) ms on an unref'd
      // interval, and a watchdog worker that every threshold/2 ms reads getThreadsLastSeen() and calls
      // captureStackTrace() once per block when a thread's age exceeds the threshold.
      const { registerThread, threadPoll } = require('@sentry-internal/node-native-stacktrace');
      const { Worker } = require('node:worker_threads');
      registerThread();
      const poll = () => threadPoll(true, { session: undefined, debugImages: {} });
      poll();
      const timer = setInterval(poll, THRESHOLD_MS / 2).unref();
      const worker = new Worker(path.join(__dirname, 'child', 'sentry-watchdog.js'), {
        workerData: { threshold: THRESHOLD_MS },
        execArgv: [],
        env: { ...process.env, NODE_OPTIONS: undefined },
      });
      worker.on('message', (m) => {
        const frames = m.frames
          ? m.frames.map((f) => ({ functionName: f.function, file: f.filename, line: f.lineno, column: f.colno }))
          : null;
        // The native module returns frames innermost-first, like Error.stack (Sentry's watchdog
        // reverses them for its event format; we keep them as they come).
        onReport({
          tool: 'sentry-native',
          firedAt: m.capturedAt,
          frames,
          extra: { threadId: m.threadId, detectedAt: m.detectedAt, capturedAt: m.capturedAt, lastSeenMs: m.lastSeenMs, mainReceivedAt: now() },
        });
      });
      worker.unref();
      return {
        stop() {
          clearInterval(timer);
          return worker.terminate();
        },
      };
    },
  },
};

function bbExtra(err) {
  const out = {};
  for (const k of ['durationMs', 'thresholdMs', 'captureDelayMs', 'state', 'blockingCall', 'ongoing', 'gcMs']) out[k] = err[k];
  for (const k of Object.keys(err)) {
    if (!(k in out) && k !== 'frames' && k !== 'stack' && k !== 'message' && k !== 'culprit' && typeof err[k] !== 'object' && typeof err[k] !== 'function') out[k] = err[k];
  }
  out.culprit = err.culprit ? { ...err.culprit } : undefined;
  // The crossing's sample: the report's own frames are those of the largest group of samples.
  out.firstSampleFrames = err.firstSample?.frames ? [...err.firstSample.frames] : undefined;
  return out;
}

/** "    at fn (file:line:col)" lines -> frames. */
function parseStackLines(lines) {
  if (!lines) return null;
  const arr = Array.isArray(lines) ? lines : String(lines).split('\n');
  const frames = [];
  for (const l of arr) {
    const m = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/.exec(l);
    if (m) frames.push({ functionName: m[1] || '', file: m[2], line: +m[3], column: +m[4] });
  }
  return frames;
}

/** Why a tool can't run here, or null. */
function unavailableReason(name) {
  const t = TOOLS[name];
  if (!t.available) return null;
  try {
    return t.available() ? null : 'not exported by dist/ yet';
  } catch (e) {
    return `cannot load: ${String(e && e.message).split('\n')[0]}`;
  }
}

module.exports = { TOOLS, THRESHOLD_MS, now, unavailableReason, loadBlockbuster, activateRules };
