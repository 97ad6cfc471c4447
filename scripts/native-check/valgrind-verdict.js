#!/usr/bin/env node
'use strict';
// Reads valgrind memcheck logs (one per process) and fails on what the addon did: a definite leak
// allocated through it, an invalid read/write/free through it, or an uninitialised value used in
// it or created in it. node's own findings (V8's JIT and conservative stack scans) are counted and
// printed, not failed on; so is V8's profiler, called by our sample handler, reading uninitialised
// slots of the interrupted thread's stack (the origin says where those were created).
//   node valgrind-verdict.js <log>...
const fs = require('node:fs');
const path = require('node:path');

// Our frames: the addon's object, its namespace and its sources (every file in src/).
const SOURCES = fs.readdirSync(path.join(__dirname, '..', '..', 'src')).map((name) => name.replace(/[.]/g, '\\.'));
const OURS = new RegExp(`blockbuster::|blockbuster\\.node|\\b(${SOURCES.join('|')}):`);
const HEAD = /^(Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|Argument .* of function|.* are definitely lost in loss record)/;
const FRAME = /^\s+(at|by) 0x/;

// Each finding: its head line and the lines up to the next blank one (stack, origin).
function findings(text) {
  const out = [];
  let current;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^==\d+==\s?/, '');
    if (HEAD.test(line)) out.push((current = [line]));
    else if (line.trim() === '') current = undefined;
    else if (current) current.push(line);
  }
  return out;
}

function verdict(lines) {
  const head = lines[0];
  const originAt = lines.findIndex((l) => /created by|was allocated/.test(l));
  const stack = (originAt === -1 ? lines.slice(1) : lines.slice(1, originAt)).filter((l) => FRAME.test(l));
  const origin = originAt === -1 ? [] : lines.slice(originAt + 1).filter((l) => FRAME.test(l));
  if (/definitely lost/.test(head) || /^(Invalid|Mismatched|Source and)/.test(head)) {
    return stack.some((l) => OURS.test(l)) ? 'ours' : 'node';
  }
  // Uninitialised values: ours when used in our code (the top frame) or created in it.
  if (OURS.test(stack[0] ?? '') || origin.some((l) => OURS.test(l))) return 'ours';
  if (origin.length === 0 && stack.some((l) => OURS.test(l))) return 'ours';
  return stack.some((l) => OURS.test(l)) ? 'through' : 'node';
}

let failures = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8');
  const command = (/Command: (.*)/.exec(text) || [])[1] || '?';
  const summary = (/ERROR SUMMARY: (\d+) errors/.exec(text) || [])[1];
  const definite = (/definitely lost: ([\d,]+) bytes/.exec(text) || [])[1] || '0';
  if (summary === undefined && /Parent PID/.test(text) && text.split('\n').length <= 8) {
    // A forked node that exec'd an untraced program (execSync's /bin/sh): nothing of ours ran.
    console.log(`${file}: forked child that exec'd an untraced program (${command.slice(0, 80)})`);
    continue;
  }
  const counts = { ours: 0, through: 0, node: 0 };
  for (const lines of findings(text)) {
    const kind = verdict(lines);
    counts[kind]++;
    if (kind === 'ours') console.log(`OURS (${file}):\n  ${lines.join('\n  ')}`);
    if (kind === 'through') console.log(`through the addon into node, origin in node (${file}): ${lines[0]} ${lines[1].trim()}`);
  }
  failures += counts.ours + (summary === undefined ? 1 : 0);
  console.log(
    `${file}: ${command.slice(0, 120)}\n  ERROR SUMMARY ${summary ?? 'missing (the process did not finish)'}; ` +
      `definitely lost ${definite} bytes in all; findings: ${counts.ours} in the addon, ${counts.through} in V8 called by it (origin in V8), ${counts.node} in node itself`,
  );
}
console.log(`valgrind: ${failures} finding(s) in the addon`);
process.exitCode = failures === 0 ? 0 : 1;
