'use strict';
// Child process: what require('blockbuster') + watch() allocate as they start, in a bare net server
// (issue 14 §8: an idle app must run no GC because of watch()). Run with a 64 MB young generation so
// that no GC hides a part: the heap's used size before and after is then all that was allocated.
//   node --min-semi-space-size=64 --max-semi-space-size=64 bench/child/startup.js <package dir>
const v8 = require('node:v8');
const net = require('node:net');

const used = () => {
  let young = 0;
  let all = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    all += space.space_used_size;
    if (space.space_name.startsWith('new')) young += space.space_used_size;
  }
  return { young, all };
};

const server = net.createServer((socket) => socket.end());
server.listen(0, '127.0.0.1', () => {
  const builtins = process.moduleLoadList.length;
  const a = used();
  const blockbuster = require(process.argv[2]);
  const b = used();
  blockbuster.watch({ onBlock() {} });
  const c = used();
  const kb = (n) => Math.round(n / 1024);
  const modules = Object.keys(require.cache).filter((file) => file.startsWith(require('node:path').join(process.argv[2], 'dist'))).length;
  process.stdout.write(
    `${JSON.stringify({ requireKB: kb(b.all - a.all), watchKB: kb(c.all - b.all), totalKB: kb(c.all - a.all), youngKB: kb(c.young - a.young), modules, builtins: process.moduleLoadList.length - builtins })}\n`,
  );
  process.exit(0);
});
