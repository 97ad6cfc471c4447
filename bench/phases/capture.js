'use strict';
// When each tool takes its stack during a 200 ms CPU-bound block, read off the stack itself (the
// phase clock names the millisecond it was taken in), and when its report reaches the program.
const { runNode, log } = require('../proc');
const { rotate } = require('../stats');

async function capturePhase(tools, phaseClock, { rounds }) {
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const round = {};
    for (const t of rotate(tools, r)) {
      try {
        round[t] = await runNode(process.execPath, 'child/capture.js', [t, 200, phaseClock]);
      } catch (e) {
        round[t] = { error: e.message.split('\n')[0], reports: [] };
      }
    }
    out.push(round);
    log(`capture round ${r + 1}/${rounds}:`, Object.entries(round).map(([t, v]) => `${t}=${v.reports[0]?.capturedInPhaseMs ?? '–'}`).join(' '));
  }
  return out;
}

module.exports = { capturePhase };
