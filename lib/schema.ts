// The fields every JSON line carries (schema/report.schema.json): what it is, when, and where from.
import { isMainThread } from './apis/builtins';

/** Bumped on a breaking change of any line; also in the schema's `$id`. */
export const SCHEMA_VERSION = 1;
export const SCHEMA_ID = `https://github.com/blockbuster/blockbuster/schema/report-v${SCHEMA_VERSION}.schema.json`;

/**
 * The \`diagnostics_channel\` names (lib/channels.ts publishes on them). Here, not there: the main
 * entry exports them, and loading the channel code at require would be start-up allocation.
 */
export const BLOCK_CHANNEL = 'blockbuster:block';
export const ONGOING_CHANNEL = 'blockbuster:ongoing';

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

/** A thread: the one a report is about, or the current one. */
export interface ThreadInfo {
  threadId: number;
  threadName: string | undefined;
}

/**
 * This thread's id and (for a worker, where Node has it) name. The main thread is thread 0, known
 * without loading worker_threads (isMainThread() says how).
 */
export function currentThread(): ThreadInfo {
  if (isMainThread()) return { threadId: 0, threadName: undefined };
  const threads = require('node:worker_threads') as typeof import('node:worker_threads') & { threadName?: string };
  return { threadId: threads.threadId, threadName: threads.threadName };
}

export function currentThreadId(): number {
  return currentThread().threadId;
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

// Captured at load, before the call-site recorder wraps JSON.stringify while a watcher runs.
const stringify = JSON.stringify;

/** Bounds of one JSON line: a context can hold anything (a request with its socket). */
const MAX_DEPTH = 8;
const MAX_ENTRIES = 100;
const MAX_STRING = 4096;
export const MAX_LINE = 64 * 1024;

/**
 * `value` as JSON that never throws: a BigInt becomes `"12n"`, a cycle `"[Circular]"`, a getter or
 * `toJSON` that throws `"[Throws]"`; deep, wide and long values are cut (`"[Depth]"`; an ellipsis, then "12 more").
 */
export function safeJson(value: unknown): string {
  return stringify(plain(value, '', [])) ?? 'null';
}

function plain(value: unknown, key: string, ancestors: object[]): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string')
    return value.length > MAX_STRING
      ? `${value.slice(0, MAX_STRING)}\u2026 ${value.length - MAX_STRING} more characters`
      : value;
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.includes(value)) return '[Circular]';
  try {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return plain(toJSON.call(value, key), key, [...ancestors, value]);
  } catch {
    return '[Throws]';
  }
  if (ancestors.length >= MAX_DEPTH) return '[Depth]';
  const inside = [...ancestors, value];
  try {
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_ENTRIES).map((item, index) => plain(item, String(index), inside));
      if (value.length > MAX_ENTRIES) items.push(`\u2026 ${value.length - MAX_ENTRIES} more`);
      return items;
    }
    const keys = Object.keys(value);
    // No prototype: a key named __proto__ stays a key.
    const out = Object.create(null) as Record<string, unknown>;
    for (const name of keys.slice(0, MAX_ENTRIES)) {
      let entry: unknown;
      try {
        entry = (value as Record<string, unknown>)[name];
      } catch {
        entry = '[Throws]';
      }
      out[name] = plain(entry, name, inside);
    }
    if (keys.length > MAX_ENTRIES) out['\u2026'] = `${keys.length - MAX_ENTRIES} more keys`;
    return out;
  } catch {
    // A proxy whose traps throw.
    return '[Throws]';
  }
}
