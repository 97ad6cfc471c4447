import type { StackFrame } from '../blocking-error';

export type CallSite = NodeJS.CallSite;

const returnCallSites = (_error: Error, sites: CallSite[]): CallSite[] => sites;

/** V8's structured call sites of the current stack, starting at the caller of `below`. */
export function captureCallSites(below: (...args: never[]) => unknown, limit: number): CallSite[] {
  const previousPrepare = Error.prepareStackTrace;
  const previousLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = returnCallSites;
  Error.stackTraceLimit = limit;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, below);
    // Reading `stack` runs prepareStackTrace, so it must happen before the override is undone.
    const sites = holder.stack;
    return Array.isArray(sites) ? (sites as CallSite[]) : [];
  } finally {
    Error.prepareStackTrace = previousPrepare;
    Error.stackTraceLimit = previousLimit;
  }
}

export function toStackFrame(site: CallSite): StackFrame {
  return {
    functionName: site.getFunctionName() ?? '',
    file: site.getFileName() ?? '',
    line: site.getLineNumber() ?? 0,
    column: site.getColumnNumber() ?? 0,
  };
}
