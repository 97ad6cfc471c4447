// Which copy of blockbuster this is: its directory and its package.json version, read once.
import path = require('node:path');
import { pathToFileURL } from 'node:url';
import { ownFs } from './apis/own-fs';

/** The package's root: dist/.. in the repository and in an installed copy. */
export const PACKAGE_DIR = path.join(__dirname, '..');

const OWN_DIRS = ['dist', 'lib', 'esm'].map((dir) => path.join(PACKAGE_DIR, dir) + path.sep);
/**
 * blockbuster's own files (compiled, the ES module forms, and sources via source maps) as stack
 * frames name them, by path and by file:// URL: never a culprit, in a report or a live line.
 */
export const OWN_FILE_PREFIXES: readonly string[] = [...OWN_DIRS, ...OWN_DIRS.map((dir) => pathToFileURL(dir).href)];

let version: string | undefined;

/** The version in this copy's package.json; 'unknown' for a bundled copy without it. */
export function packageVersion(): string {
  if (version === undefined) {
    try {
      // Through ownFs: an active rule set never checks blockbuster's own read.
      const manifest = JSON.parse(ownFs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
        version?: unknown;
      };
      version = typeof manifest.version === 'string' ? manifest.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
