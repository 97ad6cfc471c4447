// The CLI's summary: each watched thread aggregates its blocks and loop delay, written at its exit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { formatFrame } from './blocking-error';
import type { BlockPhase, BlockingError } from './blocking-error';
import { envelope } from './schema';
import type { LineEnvelope } from './schema';

// Captured at load: the rule set may wrap fs later, and the summary is blockbuster's own I/O.
const writeFileSync = fs.writeFileSync;
const readFileSync = fs.readFileSync;
const readdirSync = fs.readdirSync;

/** Names the directory the CLI reads summaries from; set by the CLI for its child. */
export const SUMMARY_DIR_VARIABLE = 'BLOCKBUSTER_SUMMARY_DIR';

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
  argv: string[];
  thresholdMs: number;
  culprits: CulpritSummary[];
  delayMs: DelaySummary | undefined;
}

/** One thread's side: records blocks and loop delay, writes `<dir>/<pid>-<threadId>.json`. */
export class SummaryRecorder {
  private readonly byCulprit = new Map<string, CulpritSummary>();
  private readonly histogram: IntervalHistogram;

  constructor(
    private readonly dir: string,
    private readonly thresholdMs: number,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
  }

  record(error: BlockingError): void {
    const culprit = error.culprit ? formatFrame(error.culprit) : '(no JavaScript on the stack)';
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
  }

  /** Overwrites this thread's file with what is known now (called at exit and on a signal). */
  write(): void {
    const h = this.histogram;
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    const summary: ThreadSummary = {
      pid: process.pid,
      threadId,
      argv: process.argv.slice(1),
      thresholdMs: this.thresholdMs,
      culprits: [...this.byCulprit.values()],
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
  threads: { pid: number; threadId: number; delayMs: DelaySummary | undefined }[];
}

export function summaryRecord(summaries: readonly ThreadSummary[]): SummaryRecord {
  const culprits = mergeCulprits(summaries);
  return {
    ...envelope('summary', 0),
    blocks: culprits.reduce((sum, row) => sum + row.count, 0),
    thresholdMs: summaries[0]?.thresholdMs ?? null,
    culprits,
    threads: summaries.map((t) => ({ pid: t.pid, threadId: t.threadId, delayMs: t.delayMs })),
  };
}

/** The text the CLI prints at exit: blocks by culprit (count, total, worst) and loop-delay percentiles. */
export function formatSummary(summaries: readonly ThreadSummary[]): string {
  const rows = mergeCulprits(summaries);
  const blocks = rows.reduce((sum, row) => sum + row.count, 0);
  const threshold = summaries[0]?.thresholdMs;
  const lines = [
    `blockbuster summary: ${blocks} block${blocks === 1 ? '' : 's'} over ${threshold ?? '?'} ms in ${summaries.length} watched thread${summaries.length === 1 ? '' : 's'}`,
  ];
  if (rows.length > 0) {
    lines.push(`  ${pad('count', 5)}  ${pad('total ms', 9)}  ${pad('worst ms', 9)}  culprit`);
    for (const row of rows) {
      const what = `${row.blockingCall ? `${row.blockingCall} in ` : ''}${row.culprit}${row.phase === 'startup' ? ' [start-up]' : ''}`;
      lines.push(
        `  ${pad(String(row.count), 5)}  ${pad(String(Math.round(row.totalMs)), 9)}  ${pad(String(Math.round(row.worstMs)), 9)}  ${what}`,
      );
    }
  }
  for (const thread of summaries) {
    if (thread.delayMs === undefined) continue;
    const d = thread.delayMs;
    const who = thread.threadId === 0 ? `pid ${thread.pid}` : `pid ${thread.pid} worker ${thread.threadId}`;
    lines.push(
      `  loop delay (${who}, ${d.count} samples at 10 ms): p50 ${d.p50} ms, p90 ${d.p90} ms, p99 ${d.p99} ms, max ${d.max} ms`,
    );
  }
  return lines.join('\n');
}
