'use strict';
// What a prebuild's ELF header says: the machine it runs on, and whether its symbol table was stripped.
const fs = require('node:fs');

const MACHINES = Object.freeze({ 62: 'x64', 183: 'arm64' });
const SHT_SYMTAB = 2;

/** { arch, stripped } of a 64-bit little-endian ELF file; throws for anything else. */
function elfInfo(file) {
  const data = fs.readFileSync(file);
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46 || data[4] !== 2 || data[5] !== 1) {
    throw new Error(`elf: ${file} is not a 64-bit little-endian ELF file`);
  }
  const machine = data.readUInt16LE(18);
  const sectionsAt = Number(data.readBigUInt64LE(0x28));
  const entrySize = data.readUInt16LE(0x3a);
  const count = data.readUInt16LE(0x3c);
  let stripped = true;
  for (let i = 0; i < count; i++) {
    if (data.readUInt32LE(sectionsAt + i * entrySize + 4) === SHT_SYMTAB) stripped = false;
  }
  return { arch: MACHINES[machine] ?? `machine ${machine}`, stripped };
}

module.exports = { elfInfo };
