// Where diagnostics go: a rate-limited, synchronous line writer (stderr, an fd or a file).
import * as fs from 'node:fs';
import type { BlockingError } from './blocking-error';
import { isatty } from './rules/builtins';
import { codeFrame } from './source-map';
import { culpritName, groupKey, humanReport, palette, wantsColor } from './human';
import type { Palette } from './human';
import { envelope } from './schema';

const writeSync = fs.writeSync;
const openSync = fs.openSync;
const closeSync = fs.closeSync;

export type OutputFormat = 'text' | 'json';

/** A writable stream or anything with its `write` (process.stdout, fs.WriteStream). */
export interface WritableOutput {
  write(chunk: string, callback?: (error?: Error | null) => void): unknown;
  readonly destroyed?: boolean;
  readonly writableEnded?: boolean;
}

/** A logger taking `(object, message)` at `warn` and `info`, as pino does. */
export interface LoggerOutput {
  warn(object: Record<string, unknown>, message: string): unknown;
  info(object: Record<string, unknown>, message: string): unknown;
}

export type OutputTarget = 'stderr' | number | string | WritableOutput | LoggerOutput;

export interface ReportSinkOptions {
  output: OutputTarget;
  format: OutputFormat;
  maxReportsPerMinute: number;
}

const WINDOW_MS = 60_000;
/** Culprits remembered for grouping; the oldest is forgotten (its count written) beyond this. */
export const MAX_GROUPS = 100;

interface Group {
  name: string;
  since: number;
  repeats: number;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

// The logger adds its own time, pid and hostname: ours would be written twice.
const LOGGER_OWN_KEYS = new Set(['time', 'pid', 'hostname']);

function forLogger(object: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !LOGGER_OWN_KEYS.has(key)));
}

/**
 * Writes one line per block (text: message + top frames; json: one object), at most
 * `maxReportsPerMinute` per rolling minute; the rest are counted, never stored, and the count is
 * written with the next report that goes out (or at stop). A logger gets each report as a
 * structured object at `warn`, whatever the format.
 */
export class ReportSink {
  /** The fd lines go to, or undefined for a stream or a logger. */
  readonly fd: number | undefined;
  /** Where the native side writes its own lines: the fd, or stderr for a stream or a logger (it has no fd). */
  readonly nativeFd: number;
  private readonly ownsFd: boolean;
  private readonly stream: WritableOutput | undefined;
  private readonly logger: LoggerOutput | undefined;
  private readonly format: OutputFormat;
  private readonly limit: number;
  private readonly sentAt: number[] = [];
  private suppressed = 0;
  private failed = false;
  private readonly colors: Palette;
  // Text only: the same culprit within the window is counted, not repeated (bounded: MAX_GROUPS).
  private readonly groups = new Map<string, Group>();

  constructor(options: ReportSinkOptions) {
    this.format = options.format;
    this.limit = options.maxReportsPerMinute;
    const { output } = options;
    this.ownsFd = false;
    if (isLogger(output)) {
      this.logger = output;
    } else if (isWritable(output)) {
      this.stream = output;
    } else if (typeof output === 'string' && output !== 'stderr') {
      this.fd = openSync(output, 'a');
      this.ownsFd = true;
    } else {
      this.fd = output === 'stderr' ? 2 : (output as number);
    }
    this.nativeFd = this.fd ?? 2;
    const tty = this.stream
      ? (this.stream as { isTTY?: boolean }).isTTY === true
      : this.fd !== undefined && isatty(this.fd);
    this.colors = palette(this.format === 'text' && !this.logger && wantsColor(tty));
  }

  /** @internal Culprits kept for grouping (tests: memory stays bounded). */
  get groupsKept(): number {
    return this.groups.size;
  }

  write(error: BlockingError, now = Date.now()): boolean {
    // The watchdog's text reports (diagnostics mode); the rule set's report mode lists every call.
    const grouped = this.logger === undefined && this.format === 'text' && error.source === 'watchdog';
    const key = grouped ? groupKey(error) : '';
    const group = grouped ? this.groups.get(key) : undefined;
    if (group !== undefined && now - group.since < WINDOW_MS) {
      group.repeats++;
      return false;
    }
    while (this.sentAt.length > 0 && now - this.sentAt[0] >= WINDOW_MS) this.sentAt.shift();
    if (this.sentAt.length >= this.limit) {
      this.suppressed++;
      return false;
    }
    this.sentAt.push(now);
    const suppressed = this.suppressed;
    this.suppressed = 0;
    if (this.logger || this.format === 'json') {
      if (suppressed > 0) this.writeSuppressed(suppressed, error.threadId);
      this.writeReport(error, this.logger ? error.message : JSON.stringify(error));
    } else {
      let repeats = '';
      if (group !== undefined && group.repeats > 0)
        repeats = ` (and ${group.repeats} more blocks in ${group.name} since ${clock(group.since)})`;
      this.remember(key, { name: culpritName(error), since: now, repeats: 0 });
      this.writeReport(error, this.text(error, suppressed, repeats));
    }
    return true;
  }

  /** A start-up block: one line (text) or one object (json), no code frame nor stack. */
  writeStartup(error: BlockingError): void {
    this.writeReport(
      error,
      this.logger
        ? error.message
        : this.format === 'json'
          ? JSON.stringify(error)
          : `blockbuster: ${threadTag(error)}${error.message} [state=${error.state}, threshold=${error.thresholdMs} ms]`,
    );
  }

  /** Writes the counts of grouped and suppressed reports, if any; closes a file it opened. */
  close(): void {
    for (const group of this.groups.values()) this.writeRepeats(group);
    this.groups.clear();
    if (this.suppressed > 0) {
      this.writeSuppressed(this.suppressed);
      this.suppressed = 0;
    }
    if (this.ownsFd && this.fd !== undefined) closeSync(this.fd);
  }

  /** Blocks the native queue could not keep; the same line the native side writes at exit. */
  writeDropped(dropped: number): void {
    const text = `blockbuster: ${dropped} blocks were not reported (report queue full)`;
    this.writeRecord({ ...envelope('dropped'), source: 'watchdog', dropped }, text);
  }

  /** A notice for a human (an onBlock that threw): text, or `info` for a logger. */
  writeLine(line: string): void {
    if (this.logger) this.callLogger('info', { blockbuster: 'notice' }, line);
    else this.emit(line);
  }

  private remember(key: string, group: Group): void {
    this.groups.delete(key);
    if (this.groups.size >= MAX_GROUPS) {
      const [oldestKey, oldest] = this.groups.entries().next().value as [string, Group];
      this.groups.delete(oldestKey);
      this.writeRepeats(oldest);
    }
    this.groups.set(key, group);
  }

  private writeRepeats(group: Group): void {
    if (group.repeats > 0)
      this.emit(
        `blockbuster: and ${group.repeats} more blocks in ${group.name} since ${clock(group.since)} (the same culprit: counted, not repeated)`,
      );
  }

  private writeSuppressed(count: number, threadId?: number): void {
    const text = `blockbuster: ${count} more blocks not reported (rate limit ${this.limit}/min)`;
    this.writeRecord({ ...envelope('suppressed', threadId), suppressed: count, limitPerMinute: this.limit }, text);
  }

  private writeRecord(record: Record<string, unknown>, text: string): void {
    if (this.logger) this.callLogger('warn', forLogger(record), text);
    else this.emit(this.format === 'json' ? JSON.stringify(record) : text);
  }

  private writeReport(error: BlockingError, line: string): void {
    if (this.logger) this.callLogger('warn', forLogger(error.toJSON()), line);
    else this.emit(line);
  }

  private callLogger(level: 'warn' | 'info', object: Record<string, unknown>, message: string): void {
    try {
      (this.logger as LoggerOutput)[level](object, message);
    } catch (error) {
      this.failedOnce(error);
    }
  }

  private emit(line: string): void {
    if (this.stream) {
      const stream = this.stream;
      if (stream.destroyed === true || stream.writableEnded === true)
        return this.failedOnce(new Error('the stream is closed'));
      try {
        stream.write(`${line}\n`, (error) => {
          if (error) this.failedOnce(error);
        });
      } catch (error) {
        this.failedOnce(error);
      }
      return;
    }
    try {
      writeSync(this.fd as number, `${line}\n`);
    } catch (error) {
      // Diagnostics never throw into the host: a closed or full output loses the line, not the app.
      this.failedOnce(error);
    }
  }

  // One warning on stderr, the first time: the watchdog goes on, the lines to this output are lost.
  private failedOnce(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const what = this.logger ? 'the logger' : this.stream ? 'the output stream' : `fd ${this.fd}`;
    try {
      writeSync(
        2,
        `blockbuster: cannot write reports to ${what} (${error instanceof Error ? error.message : String(error)}); the watchdog keeps running, its reports to that output are lost\n`,
      );
    } catch {
      // stderr itself is gone: nothing left to tell.
    }
  }

  private text(error: BlockingError, suppressed: number, repeats = ''): string {
    // The rule set's errors (report mode) have no watchdog state or threshold to show.
    const context = error.state === undefined ? '' : ` [state=${error.state}, threshold=${error.thresholdMs} ms]`;
    let headline = `blockbuster: ${threadTag(error)}${error.message}${context}${repeats}`;
    if (suppressed > 0) headline += ` (${suppressed} earlier blocks not reported: rate limit)`;
    return humanReport(error, headline, this.colors);
  }
}

export function isLogger(value: unknown): value is LoggerOutput {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as LoggerOutput).warn === 'function' &&
    typeof (value as LoggerOutput).info === 'function'
  );
}

export function isWritable(value: unknown): value is WritableOutput {
  return typeof value === 'object' && value !== null && typeof (value as WritableOutput).write === 'function';
}

/**
 * The report a human reads when a BlockingError fails something: message, the culprit's code frame,
 * then the frames as a stack (usable as the error's `stack`: runners print it as is).
 */
export function readableReport(error: BlockingError): string {
  const [head = '', ...frames] = (error.stack ?? `${error.name}: ${error.message}`).split('\n');
  // Already readable (a second failure path for the same error): leave it.
  if (frames.length > 0 && !frames[0].startsWith('    at ')) return error.stack ?? head;
  const code = error.culprit && codeFrame(error.culprit);
  return [head, ...(code ? [code] : []), ...frames].join('\n');
}

/** `[worker 3 "resize"] ` for a worker's report; nothing for the main thread's. */
export function threadTag(thread: Pick<BlockingError, 'threadId' | 'threadName'>): string {
  if (!thread.threadId) return '';
  return `[worker ${thread.threadId}${thread.threadName ? ` ${JSON.stringify(thread.threadName)}` : ''}] `;
}

/** Convenience used by watch() to validate a writable target before the thread starts. */
export function isValidFd(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
