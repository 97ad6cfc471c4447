'use strict';
// One source of line text (issue 17): the lines both sides write, built by the addon
// (src/report_line.cc, src/line_writer.cc) and by lib/lines.ts from the same input, compared byte
// for byte (the time stamp aside: each side takes its own clock).
const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const { loadBinding } = require('../../dist/binding');
const { SCHEMA_VERSION, safeJson } = require('../../dist/schema');
const lines = require('../../dist/lines');

const binding = loadBinding();
const sameClock = (line) => line.replace(/"time":"[^"]*"/, '"time":"T"');

const FRAMES = [
  { functionName: 'loadUsers', file: '/srv/app/users.js', line: 17, column: 3 },
  // No name: both say the place alone.
  { functionName: '', file: '/srv/app/index.js', line: 4, column: 11 },
  { functionName: 'Parser.parse', file: '/srv/app/a b/parse.js', line: 1, column: 1 },
];

for (const json of [false, true]) {
  for (const threadId of [0, 3]) {
    test(`the dropped notices, ${json ? 'JSON' : 'text'}, thread ${threadId}: native and JS bytes are the same`, () => {
      for (const count of [1, 7, 123456]) {
        const native = binding.formatLines({ count, json, threadId, schemaVersion: SCHEMA_VERSION, hostname: os.hostname(), atMs: 0, thresholdMs: 20, frame: FRAMES[0] });
        const queue = lines.queueDropped(count, threadId);
        const writer = lines.writerDropped(count, threadId);
        const asLine = ({ record, text }) => `${json ? safeJson(record) : text}\n`;
        assert.equal(sameClock(asLine(queue)), sameClock(native.queueDropped), `queue, ${count}`);
        assert.equal(sameClock(asLine(writer)), sameClock(native.writerDropped), `writer, ${count}`);
      }
    });
  }
}

test('the live message: native and JS words are the same, named or anonymous culprit', () => {
  for (const frame of FRAMES) {
    for (const atMs of [40, 2000]) {
      const native = binding.formatLines({ count: 0, json: false, threadId: 0, schemaVersion: SCHEMA_VERSION, hostname: '', atMs, thresholdMs: 20, frame });
      assert.equal(lines.stillBlockedMessage(atMs, frame), native.stillBlocked);
    }
  }
});
