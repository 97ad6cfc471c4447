// The CLI's summary: each watched thread aggregates its blocks and loop delay, written at its exit.
import path = require('node:path');
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import workerThreads = require('node:worker_threads');
import type { BlockPhase, BlockingError } from './blocking-error';
import { envelope } from './schema';
import type { LineEnvelope } from './schema';
import { ownFs } from './apis/own-fs';

// blockbuster's own fs calls: taken before anyone wraps fs (lib/apis/own-fs.ts).
const { writeFileSync, readFileSync, readdirSync } = ownFs;

// Captured at load: the rule set may wrap fs later, and the summary is blockbuster's own I/O.

export interface CulpritSummary {
  culprit: string;
  blockingCall: string | undefined;
  phase: BlockPhase;
  count: number;
  totalMs: number;
  worstMs: number;
}

export interface DelaySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ThreadSummary {
  pid: number;
  threadId: number;
  /** The worker's `threadName`, where Node has one. */
  threadName?: string | undefined;
  argv: string[];
  thresholdMs: number;
  culprits: CulpritSummary[];
  delayMs: DelaySummary | undefined;
  /** Blocks under allowBlocking() or pause(): counted, not reported (absent from older files). */
  allowed?: AllowedSummary | undefined;
}

export interface AllowedSummary {
  count: number;
  totalMs: number;
}

const STARTUP_SUFFIX = ' during start-up (before the event loop first turned)';

/**
 * What blocked, in the report's own words: its message without the duration, the share and the
 * phase (`fs.readFileSync in loadConfig (src/config.js:12:7)`, `native addon … (its JavaScript
 * caller is not known)`), so the summary never says something its reports did not.
 */
export function blockedBy(error: Pick<BlockingError, 'message'>): string {
  let text = error.message.replace(/^Event loop blocked for \d+ ms/, '');
  if (text.endsWith(STARTUP_SUFFIX)) text = text.slice(0, -STARTUP_SUFFIX.length);
  // Starvation and throttling carry this block's own figures: one row for all of them.
  if (text.startsWith(' while the thread was starved of CPU'))
    return '(the thread was starved of CPU, not blocked by its code)';
  text = text
    .replace(/; the thread was starved of CPU: .*$/, '')
    .replace(/; the cgroup's CPU limit throttled it .*$/, '')
    .replace(/ \[\d+ % of the time\]/, '');
  text = text.replace(/^ (by|in) /, '').trim();
  return text === '' ? '(no culprit known)' : text;
}

/** One thread's side: records blocks and loop delay, writes `<dir>/<pid>-<threadId>.json`. */
export class SummaryRecorder {
  private readonly byCulprit = new Map<string, CulpritSummary>();
  private readonly histogram: IntervalHistogram;
  private readonly allowed: AllowedSummary = { count: 0, totalMs: 0 };

  constructor(
    private readonly dir: string,
    private readonly thresholdMs: number,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    // A worker may be terminated (a pool's destroy()) without an exit event: its file is written
    // now and after each block, so the thread has its row whatever ends it.
    if (!workerThreads.isMainThread) this.write();
  }

  record(error: BlockingError): void {
    const culprit = blockedBy(error);
    const key = `${error.phase} ${culprit} ${error.blockingCall ?? ''}`;
    const durationMs = error.durationMs ?? 0;
    const entry = this.byCulprit.get(key);
    if (entry === undefined) {
      this.byCulprit.set(key, {
        culprit,
        blockingCall: error.blockingCall,
        phase: error.phase,
        count: 1,
        totalMs: durationMs,
        worstMs: durationMs,
      });
    } else {
      entry.count++;
      entry.totalMs += durationMs;
      entry.worstMs = Math.max(entry.worstMs, durationMs);
    }
    if (!workerThreads.isMainThread) this.write();
  }

  /** A block the program allowed (allowBlocking, pause): counted apart, never as a culprit. */
  allow(durationMs: number): void {
    this.allowed.count++;
    this.allowed.totalMs += durationMs;
    if (!workerThreads.isMainThread) this.write();
  }

  /** Overwrites this thread's file with what is known now (called at exit and on a signal). */
  write(): void {
    const h = this.histogram;
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    const { threadId, isMainThread } = workerThreads;
    const threadName = isMainThread ? undefined : (workerThreads as { threadName?: string }).threadName;
    const summary: ThreadSummary = {
      pid: process.pid,
      threadId,
      threadName,
      argv: process.argv.slice(1),
      thresholdMs: this.thresholdMs,
      culprits: [...this.byCulprit.values()],
      allowed: this.allowed.count > 0 ? { ...this.allowed } : undefined,
      delayMs:
        h.count === 0
          ? undefined
          : {
              count: h.count,
              p50: ms(h.percentile(50)),
              p90: ms(h.percentile(90)),
              p99: ms(h.percentile(99)),
              max: ms(h.max),
            },
    };
    try {
      writeFileSync(path.join(this.dir, `${process.pid}-${threadId}.json`), JSON.stringify(summary));
    } catch {
      // The CLI may be gone (killed): losing its summary must not fail the program.
    }
  }
}

/** CLI side: every thread's summary in `dir`. Unreadable files (a thread killed mid-write) are skipped. */
export function readSummaries(dir: string): ThreadSummary[] {
  const out: ThreadSummary[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    try {
      out.push(JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ThreadSummary);
    } catch {
      continue;
    }
  }
  return out;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** `main`, `worker 3 "resize"`; with the pid when the summary covers more than one process. */
function threadLabel(thread: ThreadSummary, manyPids: boolean): string {
  const who =
    thread.threadId === 0
      ? 'main'
      : `worker ${thread.threadId}${thread.threadName ? ` ${JSON.stringify(thread.threadName)}` : ''}`;
  return manyPids ? `pid ${thread.pid} ${who}` : who;
}

function byThread(a: ThreadSummary, b: ThreadSummary): number {
  return a.pid - b.pid || a.threadId - b.threadId;
}

function mergeCulprits(summaries: readonly ThreadSummary[]): CulpritSummary[] {
  const merged = new Map<string, CulpritSummary>();
  for (const thread of summaries) {
    for (const c of thread.culprits) {
      const key = `${c.phase} ${c.culprit} ${c.blockingCall ?? ''}`;
      const entry = merged.get(key);
      if (entry === undefined) merged.set(key, { ...c });
      else {
        entry.count += c.count;
        entry.totalMs += c.totalMs;
        entry.worstMs = Math.max(entry.worstMs, c.worstMs);
      }
    }
  }
  return [...merged.values()].sort((a, b) => b.totalMs - a.totalMs);
}

/** The summary as one JSON line (schema kind `summary`), written by the CLI, whose pid it carries. */
export interface SummaryRecord extends LineEnvelope {
  blocks: number;
  thresholdMs: number | null;
  culprits: CulpritSummary[];
  threads: {
    pid: number;
    threadId: number;
    threadName?: string | undefined;
    blocks: number;
    delayMs: DelaySummary | undefined;
  }[];
  /** Blocks the program allowed (allowBlocking, pause), over all threads: not in `blocks`. */
  allowed: AllowedSummary;
}

function allowedOf(summaries: readonly ThreadSummary[]): AllowedSummary {
  return summaries.reduce(
    (sum, t) => ({ count: sum.count + (t.allowed?.count ?? 0), totalMs: sum.totalMs + (t.allowed?.totalMs ?? 0) }),
    { count: 0, totalMs: 0 },
  );
}

export function summaryRecord(summaries: readonly ThreadSummary[]): SummaryRecord {
  const culprits = mergeCulprits(summaries);
  return {
    ...envelope('summary', 0),
    blocks: culprits.reduce((sum, row) => sum + row.count, 0),
    thresholdMs: summaries[0]?.thresholdMs ?? null,
    culprits,
    threads: [...summaries].sort(byThread).map((t) => ({
      pid: t.pid,
      threadId: t.threadId,
      threadName: t.threadName,
      blocks: t.culprits.reduce((sum, c) => sum + c.count, 0),
      delayMs: t.delayMs,
    })),
    allowed: allowedOf(summaries),
  };
}

/** The text the CLI prints at exit: a row per thread and culprit (count, total, worst), then loop-delay percentiles. */
export function formatSummary(summaries: readonly ThreadSummary[]): string {
  const threads = [...summaries].sort(byThread);
  const blocks = threads.reduce((sum, t) => sum + t.culprits.reduce((n, c) => n + c.count, 0), 0);
  const threshold = summaries[0]?.thresholdMs;
  const lines = [
    `blockbuster summary: ${blocks} block${blocks === 1 ? '' : 's'} over ${threshold ?? '?'} ms in ${summaries.length} watched thread${summaries.length === 1 ? '' : 's'}`,
  ];
  const manyPids = new Set(threads.map((t) => t.pid)).size > 1;
  const labels = threads.map((t) => threadLabel(t, manyPids));
  const width = Math.max('thread'.length, ...labels.map((label) => label.length));
  if (threads.length > 0) {
    lines.push(
      `  ${pad('count', 5)}  ${pad('total ms', 9)}  ${pad('worst ms', 9)}  ${'thread'.padEnd(width)}  culprit`,
    );
  }
  threads.forEach((thread, i) => {
    const label = (labels[i] ?? '').padEnd(width);
    const rows = [...thread.culprits].sort((a, b) => b.totalMs - a.totalMs);
    // A thread that never blocked still has its row: it was watched.
    if (rows.length === 0) lines.push(`  ${pad('0', 5)}  ${pad('0', 9)}  ${pad('0', 9)}  ${label}  (no blocks)`);
    for (const row of rows) {
      const what = `${row.culprit}${row.phase === 'startup' ? ' [start-up]' : ''}`;
      lines.push(
        `  ${pad(String(row.count), 5)}  ${pad(String(Math.round(row.totalMs)), 9)}  ${pad(String(Math.round(row.worstMs)), 9)}  ${label}  ${what}`,
      );
    }
  });
  const allowed = allowedOf(summaries);
  if (allowed.count > 0) {
    lines.push(
      `  allowed: ${allowed.count} block${allowed.count === 1 ? '' : 's'} (${Math.round(allowed.totalMs)} ms) under allowBlocking() or pause(), counted, not reported`,
    );
  }
  for (const thread of threads) {
    if (thread.delayMs === undefined) continue;
    const d = thread.delayMs;
    const who = thread.threadId === 0 ? `pid ${thread.pid}` : `pid ${thread.pid} ${threadLabel(thread, false)}`;
    lines.push(
      `  loop delay (${who}, ${d.count} samples at 10 ms): p50 ${d.p50} ms, p90 ${d.p90} ms, p99 ${d.p99} ms, max ${d.max} ms`,
    );
  }
  return lines.join('\n');
}
