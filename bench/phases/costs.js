'use strict';
// What watch() costs, per Node line, each figure from alternated batches in one child process:
// (a) per event-loop iteration, (c) per call of a wrapped API (one wrapper: watching, rule set, both), (d) during a
// long block (multi-sampling). (b), idle CPU, is in phases/idle.js: it is read from outside.
const { runNode, log } = require('../proc');

async function costsPhase(lines, { longBlockLines }) {
  const out = {};
  for (const line of lines) {
    const res = (out[line.major] = { version: line.version });
    for (const [key, script] of [
      ['loopIteration', 'child/loop-iter.js'],
      ['recorder', 'child/recorder.js'],
      ...(longBlockLines.includes(line.major) ? [['longBlock', 'child/long-block.js']] : []),
    ]) {
      try {
        res[key] = await runNode(line.bin, script);
      } catch (e) {
        res[key] = { error: e.message.split('\n')[0] };
      }
    }
    const r = res.recorder.cases || [];
    log(`costs, Node ${line.version}: loop iteration Δ ${res.loopIteration.deltaNs?.toFixed(0)} ns; recorder Δ ${r.map((c) => `${c.api} ${c.deltaNs.toFixed(0)} ns${c.bothDeltaNs === undefined ? '' : ` (rule set ${c.rulesDeltaNs.toFixed(0)}, both ${c.bothDeltaNs.toFixed(0)})`}`).join(', ')}${res.longBlock ? `; long block: watchdog ${res.longBlock.runs?.map((x) => x.watchdogCpuMs.toFixed(1)).join('/')} ms` : ''}`);
  }
  return out;
}

module.exports = { costsPhase };
