'use strict';
// Child process: installs one tool, lets it settle, then blocks the loop with a 200 ms CPU-bound
// busy loop (`burnCpu`, the phase clock of bench/gen-phase-clock.js) and reports what the tool saw
// and when its stack was taken, as one JSON line.
//   node bench/child/capture.js <tool> <blockMs> <phase-clock.js>
const { TOOLS, THRESHOLD_MS, now } = require('../tools');
const { performance } = require('node:perf_hooks');
const toolName = process.argv[2];
const blockMs = Number(process.argv[3] || 200);
const { burnCpu, ENTERED } = require(process.argv[4]);
const reports = [];
let phaseStart = [];
const handle = TOOLS[toolName].install((r) => reports.push(r));

function scheduleBlock() {
  setTimeout(function runBlock() {
    const blockStart = now();
    const perfStart = performance.now();
    burnCpu(blockMs);
    phaseStart = Array.from(ENTERED.subarray(0, blockMs + 1), (t) => t - perfStart);
    const blockEnd = now();
    // Main-thread callbacks (blocked, blocked-at, watch's onBlock) can only fire after the block.
    setTimeout(() => finish(blockStart, blockEnd), 400);
  }, 0);
}

function finish(blockStart, blockEnd) {
  const thresholdAt = blockStart + THRESHOLD_MS;
  const out = {
    tool: toolName,
    blockMs,
    actualBlockMs: blockEnd - blockStart,
    reports: reports.map((r) => {
      const frames = r.frames || null;
      const names = frames ? frames.map((f) => f.functionName) : [];
      // blockbuster samples all along the block: its first sample is the one taken at the crossing.
      const firstNames = (r.extra?.firstSampleFrames || frames || []).map((f) => f.functionName);
      const phase = firstNames.map((n) => /^burn_(\d+)ms$/.exec(n)).find(Boolean);
      return {
        firedAfterThresholdMs: r.firedAt - thresholdAt,
        // The phase function on the captured stack: the stack was taken during ms [phase, phase+1)
        // of the block.
        capturedInPhaseMs: phase ? Number(phase[1]) : null,
        // Wall-clock window (ms after the threshold crossing) in which that phase ran.
        captureWindowAfterThresholdMs: phase
          ? [phaseStart[Number(phase[1])] - THRESHOLD_MS, phaseStart[Number(phase[1]) + 1] - THRESHOLD_MS]
          : null,
        namesBurnCpu: names.includes('burnCpu'),
        // blocked-at reports where the blocking callback was *scheduled*, not where it blocked.
        namesScheduler: names.some((n) => /\bscheduleBlock\b/.test(n)),
        topFrames: frames ? frames.slice(0, 6) : null,
        frameCount: frames ? frames.length : 0,
        extra: normaliseExtra(r.extra, thresholdAt),
      };
    }),
  };
  if (handle.histogram) out.histogramMaxMs = handle.histogram.max / 1e6;
  Promise.resolve(handle.stop()).finally(() => {
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  });
}

function normaliseExtra(extra, thresholdAt) {
  if (!extra) return extra;
  const e = { ...extra };
  for (const k of ['detectedAt', 'capturedAt', 'mainReceivedAt']) {
    if (typeof e[k] === 'number') {
      e[k + 'AfterThresholdMs'] = e[k] - thresholdAt;
      delete e[k];
    }
  }
  return e;
}

// Let the tools' timers, workers and threads start; then block.
setTimeout(scheduleBlock, 500);
