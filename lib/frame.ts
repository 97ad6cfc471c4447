// A stack frame, and one form for its file: a path for anything on disk (ESM stacks say file://
// URLs, CommonJS stacks say paths), anything else (node:fs, data:, http:) as V8 gave it.
import path = require('node:path');
import { fileURLToPath } from 'node:url';

/** One JavaScript frame, as sampled by the watchdog or walked by the rule set. */
export interface StackFrame {
  /** Function name as V8 reports it; empty for anonymous functions and top-level code. */
  functionName: string;
  /** A path for a file on disk (ES modules too), else as V8 names it (`node:fs`); empty when V8 has none. */
  file: string;
  /** 1-based line, 0 when unknown. */
  line: number;
  /** 1-based column, 0 when unknown. */
  column: number;
}

export function frameFile(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file;
  }
}

/** A frame's file as people read it: relative to the working directory when under it. */
export function displayPath(file: string): string {
  const filePath = frameFile(file);
  if (!path.isAbsolute(filePath)) return filePath;
  const relative = path.relative(process.cwd(), filePath);
  return relative.startsWith('..') || path.isAbsolute(relative) ? filePath : relative;
}
