#!/usr/bin/env node
'use strict';
// Reads valgrind memcheck logs (one per process) and fails on any error or definite leak whose
// stack goes through the addon. node itself is not ours to judge here: its own errors (V8's JIT,
// allocations kept until exit) are counted and printed, not failed on.
//   node valgrind-verdict.js <log>...
const fs = require('node:fs');

// Our frames: the addon's object, its namespace, its sources, and node-addon-api compiled into it.
const OURS = /blockbuster::|blockbuster\.node|\b(addon|loop_probe|report_line|stack_capture|thread_sampler|waker|watchdog)\.cc:|\bnapi(-inl)?\.h:/;

function blocks(text) {
  const out = [];
  let current = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^==\d+==\s?/, '');
    if (line.trim() === '') {
      if (current.length > 0) out.push(current);
      current = [];
    } else {
      current.push(line);
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

const ERROR_HEAD = /^(Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|Argument .* of function)/;
let ours = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8');
  const command = (/Command: (.*)/.exec(text) || [])[1] || '?';
  const summary = (/ERROR SUMMARY: (\d+) errors/.exec(text) || [])[1];
  const definite = (/definitely lost: ([\d,]+) bytes/.exec(text) || [])[1] || '0';
  let mine = 0;
  let theirs = 0;
  for (const block of blocks(text)) {
    const head = block[0];
    const isLeak = /are definitely lost in loss record/.test(head);
    if (!isLeak && !ERROR_HEAD.test(head)) continue;
    if (block.some((l) => OURS.test(l))) {
      mine++;
      console.log(`OURS (${file}):\n  ${block.join('\n  ')}`);
    } else {
      theirs++;
    }
  }
  ours += mine;
  console.log(`${file}: ${command.slice(0, 120)}\n  ERROR SUMMARY ${summary ?? 'missing (process did not finish?)'}; definitely lost ${definite} bytes in all; errors or definite leaks through the addon: ${mine}; elsewhere (node itself): ${theirs}`);
  if (summary === undefined) ours++;
}
console.log(`valgrind: ${ours} finding(s) in the addon`);
process.exitCode = ours === 0 ? 0 : 1;
