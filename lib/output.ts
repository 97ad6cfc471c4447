// Where diagnostics go: a rate-limited, synchronous line writer (stderr, an fd or a file).
import type { BlockingError } from './blocking-error';
import { isatty } from './apis/builtins';
import type { Palette } from './human';
import { MAX_LINE, SCHEMA_VERSION, currentThreadId, envelope, safeJson } from './schema';
import { loadedBinding } from './binding';
import { formatFrame } from './blocking-error';
import { ownFs } from './apis/own-fs';
import { type Notice, STALL_MS, queueDropped, suppressed, writerDropped } from './lines';

// blockbuster's own fs calls: taken before anyone wraps fs (lib/apis/own-fs.ts).
const { writeSync, openSync, closeSync } = ownFs;

const wait = Atomics.wait;

// The human format (and the source maps its code frame reads) is loaded at the first line that
// needs it, not at watch(): a watched process that never blocks does not compile it.
let humanModule: typeof import('./human') | undefined;
function human(): typeof import('./human') {
  return (humanModule ??= require('./human') as typeof import('./human'));
}
const visible = (text: string): string => human().visible(text);
const visibleJson = (line: string): string => human().visibleJson(line);

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
  // The watcher's minute budget, shared with its native live lines; the sink's own window without one.
  private budget: (() => boolean) | undefined;
  private threadId: number | undefined;
  // Whether lines get colour: decided at the first text report (tty is not loaded before).
  private colors: Palette | undefined;
  private readonly streamIsTTY: boolean;
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
    this.streamIsTTY = (this.stream as { isTTY?: boolean } | undefined)?.isTTY === true;
  }

  private palette(): Palette {
    if (this.colors === undefined) {
      const tty = this.stream ? this.streamIsTTY : this.fd !== undefined && isatty(this.fd);
      const { palette, wantsColor } = human();
      this.colors = palette(this.format === 'text' && !this.logger && wantsColor(tty));
    }
    return this.colors;
  }

  /** Spend the watcher's budget (shared with the native live lines) instead of the sink's own window. */
  useBudget(take: () => boolean): void {
    this.budget = take;
  }

  /** @internal Culprits kept for grouping (tests: memory stays bounded). */
  get groupsKept(): number {
    return this.groups.size;
  }

  write(error: BlockingError, now = Date.now()): boolean {
    // The watchdog's text reports (diagnostics mode); the rule set's report mode lists every call.
    const grouped = this.logger === undefined && this.format === 'text' && error.source === 'watchdog';
    const key = grouped ? human().groupKey(error) : '';
    const group = grouped ? this.groups.get(key) : undefined;
    if (group !== undefined && now - group.since < WINDOW_MS) {
      group.repeats++;
      return false;
    }
    if (!this.spend(now)) {
      this.suppressed++;
      return false;
    }
    const suppressed = this.suppressed;
    this.suppressed = 0;
    if (this.logger || this.format === 'json') {
      if (suppressed > 0) this.writeSuppressed(suppressed, error.threadId);
      this.writeReport(error, this.logger ? error.message : reportJson(error));
    } else {
      let repeats = '';
      if (group !== undefined && group.repeats > 0)
        repeats = ` (and ${group.repeats} more blocks in ${group.name} since ${clock(group.since)})`;
      this.remember(key, { name: human().culpritName(error), since: now, repeats: 0 });
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
          ? reportJson(error)
          : visible(`blockbuster: ${threadTag(error)}${error.message}${headlineTags(error)}`),
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
    if (this.fd !== undefined) flushLines(this.fd, this.format === 'json', (this.threadId ??= currentThreadId()));
    if (this.ownsFd && this.fd !== undefined) closeSync(this.fd);
  }

  /** Blocks the native queue could not keep; the same line the native side writes at exit. */
  writeDropped(dropped: number): void {
    this.writeNotice(queueDropped(dropped));
  }

  /** A notice for a human (an onBlock that threw): text, or `info` for a logger; each line escaped. */
  writeLine(...lines: string[]): void {
    if (this.logger) this.callLogger('info', { blockbuster: 'notice' }, lines.join('\n'));
    else this.emit(lines.map(visible).join('\n'));
  }

  /** A JSON notice of the rule set (already JSON). */
  writeJsonLine(line: string): void {
    if (this.logger) this.callLogger('info', { blockbuster: 'notice' }, line);
    else this.emit(visibleJson(line));
  }

  private spend(now: number): boolean {
    if (this.budget !== undefined) return this.budget();
    while (now - (this.sentAt[0] ?? now) >= WINDOW_MS) this.sentAt.shift();
    if (this.sentAt.length >= this.limit) return false;
    this.sentAt.push(now);
    return true;
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
        visible(
          `blockbuster: and ${group.repeats} more blocks in ${group.name} since ${clock(group.since)} (the same culprit: counted, not repeated)`,
        ),
      );
  }

  private writeSuppressed(count: number, threadId?: number): void {
    this.writeNotice(suppressed(count, this.limit, threadId));
  }

  private writeNotice({ record, text }: Notice): void {
    if (this.logger) this.callLogger('warn', forLogger(record), text);
    else this.emit(this.format === 'json' ? safeJson(record) : text);
  }

  private writeReport(error: BlockingError, line: string): void {
    if (this.logger) this.callLogger('warn', forLogger(reportRecord(error)), line);
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
    const failure = writeLineToFd(
      this.fd as number,
      `${line}\n`,
      this.format === 'json',
      (this.threadId ??= currentThreadId()),
    );
    // Diagnostics never throw into the host: a closed output loses the line, not the app.
    if (failure !== undefined) this.failedOnce(failure);
  }

  // One warning on stderr, the first time: the watchdog goes on, the lines to this output are lost.
  private failedOnce(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const what = this.logger ? 'the logger' : this.stream ? 'the output stream' : `fd ${this.fd}`;
    try {
      writeSync(
        2,
        `blockbuster: cannot write reports to ${what} (${visible(error instanceof Error ? error.message : describeThrown(error))}); the watchdog keeps running, its reports to that output are lost\n`,
      );
    } catch {
      // stderr itself is gone: nothing left to tell.
    }
  }

  private text(error: BlockingError, suppressed: number, repeats = ''): string {
    let headline = `blockbuster: ${threadTag(error)}${error.message}${headlineTags(error)}${repeats}`;
    if (suppressed > 0) headline += ` (${suppressed} earlier blocks not reported: rate limit)`;
    return human().humanReport(error, headline, this.palette());
  }
}

// The request context in a text line: enough to find the request, never a dump of it.
const MAX_CONTEXT_CHARS = 80;

/**
 * The bracket after a report's headline: the state, the threshold and (compact, truncated) the
 * request context. The rule set's errors (report mode) have no watchdog state or threshold.
 */
function headlineTags(error: BlockingError): string {
  if (error.state === undefined) return '';
  let tags = `state=${error.state}, threshold=${error.thresholdMs} ms`;
  if (error.context !== undefined) {
    const text = typeof error.context === 'string' ? error.context : safeJson(error.context);
    tags += `, context=${text.length > MAX_CONTEXT_CHARS ? `${text.slice(0, MAX_CONTEXT_CHARS - 3)}...` : text}`;
  }
  return ` [${tags}]`;
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
 * then the frames as a stack (usable as the error's `stack`: runners print it as is). Each line is
 * escaped (`visible`): a computed function name cannot forge a line.
 */
export function readableReport(error: BlockingError): string {
  const code = error.culprit && (require('./source-map') as typeof import('./source-map')).codeFrame(error.culprit);
  return [
    `${error.name}: ${error.message}`,
    ...(code ? code.split('\n') : []),
    ...error.frames.map((frame) => `    at ${formatFrame(frame)}`),
  ]
    .map(visible)
    .join('\n');
}

/** What was thrown, as text, whatever it is (a null-prototype object, a throwing `toString`). */
export function describeThrown(thrown: unknown, withStack = false): string {
  try {
    if (withStack && thrown instanceof Error) return thrown.stack ?? String(thrown);
    return String(thrown);
  } catch {
    try {
      return `a value that cannot be shown as text (${Object.prototype.toString.call(thrown)})`;
    } catch {
      return 'a value that cannot be shown as text';
    }
  }
}

function reportRecord(error: BlockingError): Record<string, unknown> {
  try {
    return error.toJSON() as unknown as Record<string, unknown>;
  } catch (thrown) {
    return { ...envelope('block', error.threadId), message: error.message, toJSON: describeThrown(thrown) };
  }
}

/** A report as one JSON line that never throws: the context is made safe, and cut when too long. */
export function reportJson(error: BlockingError): string {
  const record = reportRecord(error);
  let line = safeJson(record);
  if (line.length > MAX_LINE && record.context !== undefined) {
    line = safeJson({ ...record, context: `[Truncated: the context made the line ${line.length} characters]` });
  }
  return visibleJson(line);
}

// The JS writer, when the addon is not loaded (the rule set alone, or an old binary): it waits
// for a full non-blocking output the same bounded way as the native one.
let droppedLines = 0;
let stalled = false;
let pause: Int32Array | undefined;

function sleep(ms: number): void {
  wait(pause ?? (pause = new Int32Array(new SharedArrayBuffer(4))), 0, 0, ms);
}

/** Writes one whole line to `fd`; undefined when written or dropped (counted), else the error. */
export function writeLineToFd(fd: number, line: string, json: boolean, threadId: number): Error | undefined {
  const binding = loadedBinding();
  if (typeof binding?.writeLine === 'function') {
    let outcome: number;
    try {
      outcome = binding.writeLine(fd, json, threadId, SCHEMA_VERSION, line);
    } catch (error) {
      // A binary from another version of the package: the line is lost, never the app.
      return error as Error;
    }
    if (outcome >= 0) return undefined;
    const code = (require('node:util') as typeof import('node:util')).getSystemErrorName(outcome);
    return new Error(`${code}: the output failed`);
  }
  if (droppedLines > 0) {
    const outcome = writeWhole(fd, Buffer.from(droppedNotice(json, threadId)));
    if (outcome === 'full') {
      droppedLines++;
      return undefined;
    }
    if (outcome instanceof Error) return outcome;
    droppedLines = 0;
  }
  const outcome = writeWhole(fd, Buffer.from(line));
  if (outcome instanceof Error) return outcome;
  if (outcome === 'full') droppedLines++;
  return undefined;
}

function droppedNotice(json: boolean, threadId: number): string {
  const { record, text } = writerDropped(droppedLines, threadId);
  return `${json ? safeJson(record) : text}\n`;
}

/** Says a count of dropped lines still unsaid (a sink closes), waiting for room as a line would. */
function flushLines(fd: number, json: boolean, threadId: number): void {
  const binding = loadedBinding();
  if (typeof binding?.flushLines === 'function') {
    try {
      binding.flushLines(fd, json, threadId, SCHEMA_VERSION);
    } catch {
      // A binary from another version of the package: nothing to flush through it.
    }
    return;
  }
  if (droppedLines === 0) return;
  stalled = false;
  if (writeWhole(fd, Buffer.from(droppedNotice(json, threadId))) === 'written') droppedLines = 0;
}

function writeWhole(fd: number, bytes: Buffer): 'written' | 'full' | Error {
  let offset = 0;
  let waitedMs = 0;
  while (offset < bytes.length) {
    try {
      const written = writeSync(fd, bytes, offset, bytes.length - offset);
      offset += written;
      waitedMs = 0;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
        if (offset === 0) return error as Error;
        break;
      }
      // A line started is finished (the next would be spliced into it); one not started waits
      // only while the output has not already stayed full.
      const bound = offset > 0 ? 5 * STALL_MS : stalled ? 0 : STALL_MS;
      if (waitedMs >= bound) break;
      const step = Math.min(10, bound - waitedMs);
      sleep(step);
      waitedMs += step;
    }
  }
  if (offset === bytes.length) {
    stalled = false;
    return 'written';
  }
  stalled = true;
  if (offset > 0) writeWhole(fd, Buffer.from('\n'));
  return 'full';
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
