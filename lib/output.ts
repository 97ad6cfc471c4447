// Where diagnostics go: a rate-limited, synchronous line writer (stderr, an fd or a file).
import * as fs from 'node:fs';
import type { BlockingError } from './blocking-error';
import { codeFrame } from './source-map';

const writeSync = fs.writeSync;
const openSync = fs.openSync;
const closeSync = fs.closeSync;

export type OutputFormat = 'text' | 'json';

export interface ReportSinkOptions {
  output: 'stderr' | number | string;
  format: OutputFormat;
  maxReportsPerMinute: number;
}

const WINDOW_MS = 60_000;

/**
 * Writes one line per block (text: message + top frames; json: one object), at most
 * `maxReportsPerMinute` per rolling minute; the rest are counted, never stored, and the count is
 * written with the next report that goes out (or at stop).
 */
export class ReportSink {
  readonly fd: number;
  private readonly ownsFd: boolean;
  private readonly format: OutputFormat;
  private readonly limit: number;
  private readonly sentAt: number[] = [];
  private suppressed = 0;

  constructor(options: ReportSinkOptions) {
    this.format = options.format;
    this.limit = options.maxReportsPerMinute;
    if (typeof options.output === 'string' && options.output !== 'stderr') {
      this.fd = openSync(options.output, 'a');
      this.ownsFd = true;
    } else {
      this.fd = options.output === 'stderr' ? 2 : options.output;
      this.ownsFd = false;
    }
  }

  write(error: BlockingError, now = Date.now()): boolean {
    while (this.sentAt.length > 0 && now - this.sentAt[0] >= WINDOW_MS) this.sentAt.shift();
    if (this.sentAt.length >= this.limit) {
      this.suppressed++;
      return false;
    }
    this.sentAt.push(now);
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.writeLine(this.format === 'json' ? this.json(error, suppressed) : this.text(error, suppressed));
    return true;
  }

  /** A start-up block: one line (text) or one object (json), no code frame nor stack. */
  writeStartup(error: BlockingError): void {
    this.writeLine(
      this.format === 'json'
        ? this.json(error, 0)
        : `blockbuster: ${threadTag(error)}${error.message} [state=${error.state}, threshold=${error.thresholdMs} ms]`,
    );
  }

  /** Writes the count of suppressed reports, if any; closes a file it opened. */
  close(): void {
    if (this.suppressed > 0) {
      const line =
        this.format === 'json'
          ? JSON.stringify({ name: 'BlockingError', suppressed: this.suppressed })
          : `blockbuster: ${this.suppressed} more blocks not reported (rate limit ${this.limit}/min)`;
      this.writeLine(line);
      this.suppressed = 0;
    }
    if (this.ownsFd) closeSync(this.fd);
  }

  /** Blocks the native queue could not keep; the same line the native side writes at exit. */
  writeDropped(dropped: number): void {
    this.writeLine(
      this.format === 'json'
        ? JSON.stringify({ name: 'BlockingError', source: 'watchdog', status: 'dropped', dropped, time: new Date().toISOString() })
        : `blockbuster: ${dropped} blocks were not reported (report queue full)`,
    );
  }

  writeLine(line: string): void {
    try {
      writeSync(this.fd, `${line}\n`);
    } catch {
      // Diagnostics never throw into the host: a closed or full output loses the line, not the app.
    }
  }

  private text(error: BlockingError, suppressed: number): string {
    // The rule set's errors (report mode) have no watchdog state or threshold to show.
    const context = error.state === undefined ? '' : ` [state=${error.state}, threshold=${error.thresholdMs} ms]`;
    const lines = [`blockbuster: ${threadTag(error)}${error.message}${context}`];
    if (suppressed > 0) lines[0] += ` (${suppressed} earlier blocks not reported: rate limit)`;
    // Read only for lines a human will see: onBlock and JSON output never pay for it.
    const code = error.culprit && codeFrame(error.culprit);
    if (code) lines.push(code);
    lines.push(...(error.stack ?? '').split('\n').slice(1, 9));
    return lines.join('\n');
  }

  private json(error: BlockingError, suppressed: number): string {
    return JSON.stringify({ ...error.toJSON(), suppressedBefore: suppressed, time: new Date().toISOString() });
  }
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
