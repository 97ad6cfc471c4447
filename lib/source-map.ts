// Maps compiled frames back to their sources (`.ts`) when a source map exists.
import path = require('node:path');
import { findSourceMap, SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StackFrame } from './blocking-error';
import { frameFile } from './frame';
import { loadedBinding } from './binding';
import { ownFs } from './apis/own-fs';

// blockbuster's own fs calls: taken before anyone wraps fs (lib/apis/own-fs.ts).
const { readFileSync, existsSync } = ownFs;

const cache = new Map<string, SourceMap | null>();
const MAPPING_URL = /\/\/[#@]\s*sourceMappingURL=(\S+)\s*$/;

export function toPath(file: string): string | undefined {
  const filePath = frameFile(file);
  return path.isAbsolute(filePath) ? filePath : undefined;
}

function loadMap(filePath: string): SourceMap | null {
  const registered = findSourceMap(filePath) ?? findSourceMap(pathToFileURL(filePath).href);
  if (registered) return registered;
  if (!existsSync(filePath)) return null;
  const tail = readFileSync(filePath, 'utf8').trimEnd().split('\n').pop() ?? '';
  const url = MAPPING_URL.exec(tail)?.[1];
  if (url === undefined) return null;
  const inline = /^data:application\/json[^,]*;base64,(.*)$/.exec(url)?.[1];
  const json =
    inline !== undefined
      ? Buffer.from(inline, 'base64').toString('utf8')
      : readFileSync(path.resolve(path.dirname(filePath), decodeURIComponent(url)), 'utf8');
  return new SourceMap(JSON.parse(json));
}

function mapFor(filePath: string): SourceMap | null {
  let map = cache.get(filePath);
  if (map === undefined) {
    try {
      map = loadMap(filePath);
    } catch {
      map = null;
    }
    cache.set(filePath, map);
    if (map) shareWithWatchdog(filePath, map);
  }
  return map;
}

// The original source a map entry names, as a path.
function originalPath(filePath: string, originalSource: string): string {
  return originalSource.startsWith('file://')
    ? fileURLToPath(originalSource)
    : path.resolve(path.dirname(filePath), originalSource);
}

/**
 * Gives the watchdog a line-level copy of the map (src/line_maps.h): the live line it writes while
 * JS cannot run then names the original file and line too. Under both names V8 may give the file.
 */
function shareWithWatchdog(filePath: string, map: SourceMap): void {
  try {
    const binding = loadedBinding();
    if (typeof binding?.mapLines !== 'function') return;
    const lineCount = linesOf({ functionName: '', file: filePath, line: 1, column: 1 })?.length ?? 0;
    const sources: string[] = [];
    const index = new Map<string, number>();
    const table = new Int32Array(3 * lineCount).fill(-1);
    for (let line = 0; line < lineCount; line++) {
      // The line's first mapped segment, else its last; an entry of another line is not this line's.
      let entry = map.findEntry(line, 0);
      if (!('generatedLine' in entry) || entry.generatedLine !== line) entry = map.findEntry(line, 1e9);
      if (!('generatedLine' in entry) || entry.generatedLine !== line || !entry.originalSource) continue;
      const source = originalPath(filePath, entry.originalSource);
      let at = index.get(source);
      if (at === undefined) index.set(source, (at = sources.push(source) - 1));
      table.set([at, entry.originalLine + 1, entry.originalColumn + 1], 3 * line);
    }
    binding.mapLines(filePath, sources, table);
    binding.mapLines(pathToFileURL(filePath).href, sources, table);
  } catch {
    // The live lines stay in generated coordinates; the reports are mapped all the same.
  }
}

/** The frame in original source coordinates, or the frame itself when no map applies. */
export function mapFrame(frame: StackFrame): StackFrame {
  const filePath = toPath(frame.file);
  if (filePath === undefined) return frame;
  const onDisk = filePath === frame.file ? frame : { ...frame, file: filePath };
  if (frame.line < 1) return onDisk;
  const map = mapFor(filePath);
  if (!map) return onDisk;
  const entry = map.findEntry(frame.line - 1, Math.max(0, frame.column - 1));
  if (!entry || !('originalSource' in entry) || !entry.originalSource) return onDisk;
  const source = originalPath(filePath, entry.originalSource);
  return { ...frame, file: source, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
}

const sourceLines = new Map<string, readonly string[] | null>();
const MAX_CACHED_SOURCES = 64;

/** The source lines of the file a frame points at (cached: reports tend to repeat files). */
export function linesOf(frame: StackFrame): readonly string[] | undefined {
  const filePath = toPath(frame.file);
  if (filePath === undefined || frame.line < 1) return undefined;
  let lines = sourceLines.get(filePath);
  if (lines === undefined) {
    try {
      lines = readFileSync(filePath, 'utf8').split('\n');
    } catch {
      lines = null;
    }
    if (sourceLines.size >= MAX_CACHED_SOURCES) sourceLines.delete(sourceLines.keys().next().value as string);
    sourceLines.set(filePath, lines);
  }
  return lines ?? undefined;
}

/** A few lines of source around `frame` with a caret under the column, for humans. */
export function codeFrame(frame: StackFrame, before = 2, after = 1): string | undefined {
  const lines = linesOf(frame);
  if (lines === undefined || frame.line > lines.length) return undefined;
  const first = Math.max(1, frame.line - before);
  const last = Math.min(lines.length, frame.line + after);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    out.push(`${n === frame.line ? '>' : ' '} ${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === frame.line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, frame.column - 1))}^`);
  }
  return out.join('\n');
}
