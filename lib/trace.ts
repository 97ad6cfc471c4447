// The blocks of a process as a Chrome Trace Event Format file (Perfetto, chrome://tracing, speedscope,
// DevTools): a slice per block on its thread's track, its stack nested inside, loop delay as counters.
// Loaded by the preload only when BLOCKBUSTER_TRACE is set.
import fs = require('node:fs');
import path = require('node:path');
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import type { BlockingError, StackFrame } from './blocking-error';
import { safeJson } from './schema';
import { ownFs } from './apis/own-fs';

// blockbuster's own fs calls: taken before anyone wraps fs (lib/apis/own-fs.ts).
const { writeFileSync, renameSync } = ownFs;

// Captured at load, before a watcher wraps JSON.stringify or the rule set wraps fs.
const stringify = JSON.stringify;

export const TRACE_VARIABLE = 'BLOCKBUSTER_TRACE';
/** Loop-delay counters: one event per thread per interval with blocks or delay to show. */
const DELAY_INTERVAL_MS = 1000;
/** Stack slices per block: the outermost frames are dropped beyond this. */
const MAX_DEPTH = 32;
const MAX_ARG = 2000;
const CHANNEL = 'blockbuster.trace';
/** The thread's track: worker_threads' threadId + 1, as viewers treat tid 0 as special (Perfetto
 * merged tid 0 into tid 1 before its 2025 fix; pid/tid 0 is the kernel's swapper there). */
const TID = threadId + 1;

/** One event of the Trace Event Format (JSON object form, `traceEvents`). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'C' | 'M' | 'i';
  /** Microseconds since the Unix epoch, so that threads and processes share one time axis. */
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  cat?: string;
  s?: 'p' | 'g' | 't';
  args?: Record<string, unknown>;
}

function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function frameName(frame: StackFrame): string {
  const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return frame.file === '' ? fn : `${fn} (${frame.file}:${frame.line}:${frame.column})`;
}

/** The slice's name: what the report's message leads with, the API and the function. */
export function blockName(error: BlockingError): string {
  const fn = error.culprit
    ? error.culprit.functionName || `${path.basename(error.culprit.file)}:${error.culprit.line}`
    : undefined;
  if (error.blockingCall && fn) return `${error.blockingCall} in ${fn}`;
  return error.blockingCall ?? fn ?? `(no JavaScript on the stack, ${error.state ?? 'unknown'})`;
}

function bounded(value: unknown): unknown {
  if (value === undefined) return undefined;
  const json = safeJson(value);
  return json.length <= MAX_ARG ? (JSON.parse(json) as unknown) : `${json.slice(0, MAX_ARG)}… (cut)`;
}

/** One thread's side: turns each report into events and samples the loop delay. */
export class TraceRecorder {
  private lastEndUs = 0;
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private readonly delayName: string;

  constructor(
    private readonly emit: (events: TraceEvent[]) => void,
    threadName: string,
  ) {
    this.delayName = `loop delay ms (${threadName})`;
    this.emit([
      { name: 'thread_name', ph: 'M', ts: 0, pid: process.pid, tid: TID, args: { name: threadName } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, pid: process.pid, tid: TID, args: { sort_index: TID } },
    ]);
    this.histogram.enable();
    this.timer = setInterval(() => this.delay(), DELAY_INTERVAL_MS);
    this.timer.unref();
  }

  record(error: BlockingError): void {
    const endUs = nowUs();
    const durUs = Math.max(1, Math.round((error.durationMs ?? 0) * 1000));
    // Reports of one thread never overlap; a batch delivered at once is laid end to end.
    const ts = Math.max(endUs - durUs, this.lastEndUs);
    this.lastEndUs = ts + durUs;
    const pid = process.pid;
    const events: TraceEvent[] = [
      {
        name: blockName(error),
        cat: 'block',
        ph: 'X',
        ts,
        dur: durUs,
        pid,
        tid: TID,
        args: {
          durationMs: error.durationMs,
          state: error.state,
          phase: error.phase,
          blockingCall: error.blockingCall,
          culprit: error.culprit ? frameName(error.culprit) : undefined,
          nativeModule: error.nativeModule,
          syscall: error.syscall,
          samples: error.samples,
          cpu: error.cpu,
          context: bounded(error.context),
          message: error.message,
        },
      },
    ];
    // The stack the answer's samples saw, outermost first, over their share of the block; each
    // level 1 µs shorter than its parent, so that every viewer nests it the same way.
    const frames = error.frames.slice(0, MAX_DEPTH).reverse();
    const shareUs = Math.round(durUs * Math.min(1, Math.max(0, error.samples?.share ?? 1)));
    frames.forEach((frame, depth) => {
      const dur = shareUs - depth - 1;
      if (dur <= 0) return;
      events.push({ name: frameName(frame), cat: 'stack', ph: 'X', ts, dur, pid, tid: TID });
    });
    this.emit(events);
  }

  /** The loop delay since the last counter (p50, p99 and max, ms), then a fresh interval. */
  delay(): void {
    const h = this.histogram;
    if (h.count === 0) return;
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    this.emit([
      {
        name: this.delayName,
        ph: 'C',
        ts: nowUs(),
        pid: process.pid,
        tid: TID,
        args: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) },
      },
    ]);
    h.reset();
  }

  stop(): void {
    this.delay();
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

/** The process's file: every thread's events, at most `maxEvents`, written at exit. */
export class TraceFile {
  private readonly events: string[] = [];
  private dropped = 0;

  constructor(
    readonly file: string,
    private readonly maxEvents: number,
  ) {
    this.add([
      {
        name: 'process_name',
        ph: 'M',
        ts: 0,
        pid: process.pid,
        tid: TID,
        args: { name: `${path.basename(process.argv[1] ?? process.argv0)} (pid ${process.pid})` },
      },
    ]);
  }

  add(events: readonly TraceEvent[]): void {
    // All or nothing per batch: a block never loses its stack slices and keeps its slice.
    if (this.events.length + events.length > this.maxEvents) {
      this.dropped += events.length;
      return;
    }
    for (const event of events) this.events.push(stringify(event));
  }

  /** Writes the whole file (a temporary file renamed over it: a reader never sees half). */
  write(): void {
    const note =
      this.dropped > 0
        ? `${this.dropped} events were dropped: the trace holds at most ${this.maxEvents} events per process (BLOCKBUSTER_TRACE_MAX_EVENTS)`
        : undefined;
    const events = note
      ? [
          ...this.events,
          stringify({ name: note, ph: 'i', s: 'g', ts: nowUs(), pid: process.pid, tid: TID } satisfies TraceEvent),
        ]
      : this.events;
    const otherData = { producer: 'blockbuster', maxEvents: this.maxEvents, droppedEvents: this.dropped, note };
    const text = `{"traceEvents":[\n${events.join(',\n')}\n],\n"displayTimeUnit":"ms",\n"otherData":${stringify(otherData)}}\n`;
    try {
      const temporary = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temporary, text);
      renameSync(temporary, this.file);
    } catch {
      // The directory went away: the trace is lost, the program's exit is not changed.
    }
  }
}

/** `%p` in the path is the pid: several processes with one variable write one file each. */
export function tracePath(template: string, pid = process.pid): string {
  return path.resolve(template.replaceAll('%p', String(pid)));
}

/** The thread's recorder: the main thread owns the file, a worker sends its events to it. */
export function startTrace(template: string, maxEvents: number): { recorder: TraceRecorder; write: () => void } {
  const threads = require('node:worker_threads') as { threadName?: string; isMainThread: boolean };
  const channel = new BroadcastChannel(CHANNEL);
  // Never keeps a thread alive: a worker's last events may be lost when the process ends first.
  channel.unref();
  if (!isMainThread) {
    const recorder = new TraceRecorder(
      (events) => channel.postMessage(events),
      threads.threadName ? `worker ${threadId} (${threads.threadName})` : `worker ${threadId}`,
    );
    return { recorder, write: () => recorder.stop() };
  }
  const file = new TraceFile(tracePath(template), maxEvents);
  channel.onmessage = (message) => {
    try {
      const events = (message as { data?: unknown }).data;
      if (Array.isArray(events)) file.add(events as TraceEvent[]);
    } catch {
      // A message that is not ours: ignored.
    }
  };
  const recorder = new TraceRecorder((events) => file.add(events), 'main');
  return {
    recorder,
    write: () => {
      recorder.stop();
      file.write();
    },
  };
}

/** The CLI's side: the files of every process of the run merged into one (each keeps its own bound). */
export function mergeTraces(files: readonly string[], target: string): void {
  const events: string[] = [];
  let dropped = 0;
  let maxEvents = 0;
  for (const file of files) {
    try {
      const trace = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        traceEvents: unknown[];
        otherData?: { droppedEvents?: number; maxEvents?: number };
      };
      for (const event of trace.traceEvents) events.push(stringify(event));
      dropped += trace.otherData?.droppedEvents ?? 0;
      maxEvents = Math.max(maxEvents, trace.otherData?.maxEvents ?? 0);
    } catch {
      // A process killed while writing: its rename never happened, so there is no half file to read.
    }
  }
  const otherData = { producer: 'blockbuster', processes: files.length, maxEvents, droppedEvents: dropped };
  writeFileSync(
    target,
    `{"traceEvents":[\n${events.join(',\n')}\n],\n"displayTimeUnit":"ms",\n"otherData":${stringify(otherData)}}\n`,
  );
}
