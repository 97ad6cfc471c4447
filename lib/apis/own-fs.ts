// The fs functions blockbuster itself calls, taken when blockbuster loads: before the rule set or
// the call-site recorder wraps them, so blockbuster's own reads and writes are never checked,
// tracked or thrown at. Loaded with lib/output.ts at require('blockbuster'); a module loaded later
// (the report path, source maps, a trace) takes its functions from here, not from `fs` then.
import fs = require('node:fs');

export const ownFs = {
  readFileSync: fs.readFileSync,
  existsSync: fs.existsSync,
  writeSync: fs.writeSync,
  openSync: fs.openSync,
  closeSync: fs.closeSync,
  readSync: fs.readSync,
  writeFileSync: fs.writeFileSync,
  readdirSync: fs.readdirSync,
  renameSync: fs.renameSync,
} as const;
