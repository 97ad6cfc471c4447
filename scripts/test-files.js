#!/usr/bin/env node
'use strict';
// The test files of `npm test` and of every line in `npm run test:matrix`: each *.test.js and
// *.test.mjs under test/unit and test/integration, sorted. Fixtures (test/fixtures, the runner
// suites among them) are run by the tests, never directly.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIRS = ['test/unit', 'test/integration'];

function testFiles(dirs = DIRS) {
  return dirs
    .flatMap((dir) =>
      fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
        const relative = path.posix.join(dir, entry.name);
        if (entry.isDirectory()) return testFiles([relative]);
        return /\.test\.m?js$/.test(entry.name) ? [relative] : [];
      }),
    )
    .sort();
}

module.exports = { testFiles };

if (require.main === module) console.log(testFiles().join('\n'));
