import type { StackFrame } from '../frame';
import { frameFile } from '../frame';

/** The parts of V8's CallSite that blockbuster reads. */
export interface CallSite {
  getFunctionName(): string | null;
  getFileName(): string | undefined | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

const returnCallSites = (_error: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] => sites;

// False once Error.prepareStackTrace or stackTraceLimit could not be set (--frozen-intrinsics, or
// an app that froze Error): from then on the formatted stack is parsed instead.
let structured = true;

/**
 * V8's call sites of the current stack, starting at the caller of `below`. Never throws: where the
 * structured API is unavailable it parses the formatted stack (at most V8's current frame limit).
 */
export function captureCallSites(below: (...args: never[]) => unknown, limit: number): CallSite[] {
  if (structured) {
    const previousPrepare = Error.prepareStackTrace;
    const previousLimit = Error.stackTraceLimit;
    try {
      Error.prepareStackTrace = returnCallSites;
      Error.stackTraceLimit = limit;
    } catch {
      structured = false;
      restore(previousPrepare, previousLimit);
      return parsedCallSites(below);
    }
    try {
      const holder: { stack?: unknown } = {};
      Error.captureStackTrace(holder, below);
      // Reading `stack` runs prepareStackTrace, so it must happen before the override is undone.
      const sites = holder.stack;
      return Array.isArray(sites) ? (sites as CallSite[]) : [];
    } catch {
      return [];
    } finally {
      restore(previousPrepare, previousLimit);
    }
  }
  return parsedCallSites(below);
}

function restore(prepare: typeof Error.prepareStackTrace, limit: number): void {
  try {
    if (Error.prepareStackTrace !== prepare) Error.prepareStackTrace = prepare;
    if (Error.stackTraceLimit !== limit) Error.stackTraceLimit = limit;
  } catch {
    // Could not be set either way: nothing was changed.
  }
}

// "    at Type.fn [as alias] (file:line:column)" or "    at file:line:column".
const FRAME_LINE = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;

function parsedCallSites(below: (...args: never[]) => unknown): CallSite[] {
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, below);
    const text = typeof holder.stack === 'string' ? holder.stack : '';
    const sites: CallSite[] = [];
    for (const line of text.split('\n')) {
      const match = FRAME_LINE.exec(line);
      if (match === null) continue;
      const [, name = '', file = '', lineNumber = '0', column = '0'] = match;
      sites.push(parsedSite(functionNameOf(name), file, Number(lineNumber), Number(column)));
    }
    return sites;
  } catch {
    return [];
  }
}

// The formatted name is `Type.name [as alias]`, `new Name` or `async name`; getFunctionName() is `name`.
function functionNameOf(formatted: string): string {
  const name = formatted
    .replace(/^(?:async |new )/, '')
    .replace(/ \[as [^\]]*\]$/, '')
    .trim();
  const dot = name.indexOf('.');
  return dot > 0 && dot < name.length - 1 && /^[A-Za-z_$][\w$]*$/.test(name.slice(0, dot)) ? name.slice(dot + 1) : name;
}

function parsedSite(name: string, file: string, line: number, column: number): CallSite {
  return {
    getFunctionName: () => (name === '' ? null : name),
    getFileName: () => file,
    getLineNumber: () => line,
    getColumnNumber: () => column,
  };
}

export function toStackFrame(site: CallSite): StackFrame {
  return {
    functionName: site.getFunctionName() ?? '',
    file: frameFile(site.getFileName() ?? ''),
    line: site.getLineNumber() ?? 0,
    column: site.getColumnNumber() ?? 0,
  };
}
