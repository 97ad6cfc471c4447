// The fields every JSON line carries (schema/report.schema.json): what it is, when, and where from.
import { isBuiltinLoaded } from './rules/builtins';

/** Bumped on a breaking change of any line; also in the schema's `$id`. */
export const SCHEMA_VERSION = 1;
export const SCHEMA_ID = `https://github.com/blockbuster/blockbuster/schema/report-v${SCHEMA_VERSION}.schema.json`;

/** What a line is: a block report, a rule report, the native live line, or a count. */
export type LineKind = 'block' | 'rule' | 'ongoing' | 'suppressed' | 'dropped' | 'summary';

export interface LineEnvelope {
  schemaVersion: number;
  kind: LineKind;
  /** ISO 8601, UTC, milliseconds. */
  time: string;
  pid: number;
  hostname: string;
  /** worker_threads.threadId: 0 is the main thread. */
  threadId: number;
}

let cachedHostname: string | undefined;

/** os.hostname() once: it is a system call and does not change under a running process. */
export function hostname(): string {
  // Loaded here, not at require('blockbuster'): the rule set alone never writes a JSON line.
  return (cachedHostname ??= (require('node:os') as typeof import('node:os')).hostname());
}

export function currentThreadId(): number {
  // As in watch.ts: a worker has loaded worker_threads already; the main thread is 0 without it.
  if (!isBuiltinLoaded('worker_threads')) return 0;
  return (require('node:worker_threads') as typeof import('node:worker_threads')).threadId;
}

export function envelope(kind: LineKind, threadId: number = currentThreadId(), time: Date = new Date()): LineEnvelope {
  return {
    schemaVersion: SCHEMA_VERSION,
    kind,
    time: time.toISOString(),
    pid: process.pid,
    hostname: hostname(),
    threadId,
  };
}
