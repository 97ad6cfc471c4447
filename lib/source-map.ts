// Maps compiled frames back to their sources (`.ts`) when a source map exists.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findSourceMap, SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StackFrame } from './blocking-error';

// Bound at load time, so the rule set never sees (or blocks) blockbuster's own reads.
const readFileSync = fs.readFileSync;
const existsSync = fs.existsSync;

const cache = new Map<string, SourceMap | null>();
const MAPPING_URL = /\/\/[#@]\s*sourceMappingURL=(\S+)\s*$/;

export function toPath(file: string): string | undefined {
  if (file.startsWith('file://')) return fileURLToPath(file);
  return path.isAbsolute(file) ? file : undefined;
}

function loadMap(filePath: string): SourceMap | null {
  const registered = findSourceMap(filePath) ?? findSourceMap(pathToFileURL(filePath).href);
  if (registered) return registered;
  if (!existsSync(filePath)) return null;
  const tail = readFileSync(filePath, 'utf8').trimEnd().split('\n').pop() ?? '';
  const match = MAPPING_URL.exec(tail);
  if (!match) return null;
  const url = match[1];
  const inline = /^data:application\/json[^,]*;base64,(.*)$/.exec(url);
  const json = inline
    ? Buffer.from(inline[1], 'base64').toString('utf8')
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
  }
  return map;
}

/** The frame in original source coordinates, or the frame itself when no map applies. */
export function mapFrame(frame: StackFrame): StackFrame {
  const filePath = toPath(frame.file);
  if (filePath === undefined || frame.line < 1) return frame;
  const map = mapFor(filePath);
  if (!map) return frame;
  const entry = map.findEntry(frame.line - 1, Math.max(0, frame.column - 1));
  if (!entry || !('originalSource' in entry) || !entry.originalSource) return frame;
  const source = entry.originalSource.startsWith('file://')
    ? fileURLToPath(entry.originalSource)
    : path.resolve(path.dirname(filePath), entry.originalSource);
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
