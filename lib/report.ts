// Raw frames from the watchdog -> a BlockingError that names the culprit and the API.
import { BlockingError, formatFrame, isUserFrame } from './blocking-error';
import type { BlockPhase, BlockState, CpuUse, StackFrame } from './blocking-error';
import type { RawReport, RawSample } from './binding';
import { linesOf, mapFrame, toPath } from './source-map';
import { displayPath } from './frame';
import { OWN_FILE_PREFIXES } from './package-info';
import type { ThreadInfo } from './schema';
export type { ThreadInfo } from './schema';

// The interrupt runs within microseconds while JS executes; much later means the thread sat in
// C++. An overloaded machine delays it by up to ~20 ms too (measured with two test suites running
// on 2 cores), so "late" is a threshold's worth, within 5-50 ms.
function lateAfterMs(thresholdMs: number): number {
  return Math.min(50, Math.max(5, thresholdMs));
}

const ATOMICS_WAIT = 'Atomics.wait';

// Modules whose synchronous APIs spend their time in C++ (file system, processes, zlib, crypto).
const NATIVE_MODULES = new Set(['fs', 'child_process', 'zlib', 'crypto']);

/** `node:internal/crypto/pbkdf2` -> `crypto`, `node:fs` -> `fs`. */
function builtinModule(file: string): string | undefined {
  if (!file.startsWith('node:')) return undefined;
  const parts = file.slice('node:'.length).split('/');
  const name = parts[0] === 'internal' ? parts[1] : parts[0];
  return name?.replace(/\.js$/, '');
}

const IDENTIFIER_AT = /^[A-Za-z_$][\w$]*/;

/** The identifier a call site's column points at (`zlib.gzipSync(...)` -> `gzipSync`). */
function calleeAt(frame: StackFrame | undefined): string | undefined {
  if (frame === undefined) return undefined;
  const line = linesOf(frame)?.[frame.line - 1] ?? '';
  return IDENTIFIER_AT.exec(line.slice(frame.column - 1))?.[0];
}

/**
 * The Node API the user's code called: the outermost `node:` frame right above the first user
 * frame. Its function name is used when it is the public one; otherwise (wrappers such as zlib's
 * `syncBufferWrapper`) the name at the user's call site.
 */
export function findBlockingCall(frames: readonly StackFrame[], culpritIndex: number): string | undefined {
  const apiFrame = culpritIndex > 0 ? frames[culpritIndex - 1] : undefined;
  if (!apiFrame) return undefined;
  const moduleName = builtinModule(apiFrame.file);
  if (!moduleName) return undefined;
  let name = apiFrame.functionName.replace(/^.*\./, '');
  const exported = safeExports(moduleName);
  if (exported && typeof exported[name] !== 'function') {
    const callee = calleeAt(frames[culpritIndex]);
    if (callee && typeof exported[callee] === 'function') name = callee;
  }
  // Only synchronous APIs block; a late sample may sit in any other call made after the block.
  return name.endsWith('Sync') ? `${moduleName}.${name}` : undefined;
}

function safeExports(moduleName: string): Record<string, unknown> | undefined {
  try {
    return process.getBuiltinModule?.(moduleName) ?? require(`node:${moduleName}`);
  } catch {
    return undefined;
  }
}

function isCulpritCandidate(frame: StackFrame): boolean {
  return isUserFrame(frame) && !isOwnFrame(frame);
}

/** Where each sample's culprit and API came from, for the reader and for tests. */
export type SampleSource = 'interrupt' | 'call-site' | 'none';

/** The syscall a thread was in, and the file behind its descriptor when it had one. */
export interface SyscallEvidence {
  name: string;
  file?: string;
}

/** One sample as the report reads it: what blocked at that moment. */
export interface SampleView {
  atMs: number;
  /** The part of the block this sample stands for (the half-way points to its neighbours). */
  weightMs: number;
  syscall: SyscallEvidence | undefined;
  state: BlockState;
  culprit: StackFrame | undefined;
  blockingCall: string | undefined;
  nativeModule: string | undefined;
  source: SampleSource;
  frames: StackFrame[];
  /** A late, untracked sample's first user frame: named only if a prompt sample saw it too. */
  lateCulprit?: StackFrame | undefined;
  /** Its stack was captured a threshold or more after the request (GC time included). */
  lateCapture?: boolean | undefined;
}

/** The recorder's answer for a sample: the tracked API call that was running under it. */
export type CallSiteLookup = (key: number) => { api: string; frames: readonly StackFrame[] } | undefined;

function culpritOf(frames: readonly StackFrame[]): { culprit: StackFrame | undefined; index: number } {
  const index = frames.findIndex(isCulpritCandidate);
  return { culprit: index >= 0 ? frames[index] : undefined, index };
}

// The frames a reader sees: the user's and Node's, not blockbuster's own wrappers.
function mapFrames(frames: readonly StackFrame[]): StackFrame[] {
  return frames.map(mapFrame).filter((frame) => !isOwnFrame(frame));
}

function isOwnFrame(frame: StackFrame): boolean {
  const file = toPath(frame.file) ?? frame.file;
  return OWN_FILE_PREFIXES.some((prefix) => file.startsWith(prefix));
}

/** A sleep, a wait or I/O the thread was in (not `running`): evidence no signal could give. */
function syscallOf(raw: RawSample): SyscallEvidence | undefined {
  if (raw.syscall === undefined || raw.syscall === 'running') return undefined;
  return raw.syscallFile === undefined ? { name: raw.syscall } : { name: raw.syscall, file: raw.syscallFile };
}

function viewSample(
  raw: RawSample,
  weightMs: number,
  ownerOf: (key: number) => RawSample | undefined,
  lateMs: number,
  lookup: CallSiteLookup | undefined,
): SampleView {
  const record = raw.inTrackedCall ? lookup?.(raw.key) : undefined;
  // The stack comes from the sample that asked for the interrupt: if that one waited long, the
  // thread sat in C++ all along, whenever this sample was taken.
  const owner = ownerOf(raw.stackKey);
  const late = owner?.captureDelayMs === undefined || owner.captureDelayMs - owner.captureGcMs >= lateMs;
  // A stack captured after the thread moved on is not evidence for this sample.
  const stack = raw.movedOn ? [] : (owner?.frames ?? []);
  const base = { atMs: raw.atMs, weightMs, nativeModule: raw.nativeModule, syscall: syscallOf(raw) };
  // A late interrupt shows whatever ran after the native call; the wrapper saw who made it.
  if (record && (late || stack.length === 0)) {
    const frames = mapFrames(record.frames);
    return {
      ...base,
      state: record.api === ATOMICS_WAIT ? 'atomics-wait' : 'native',
      culprit: culpritOf(frames).culprit,
      blockingCall: record.api,
      source: 'call-site',
      frames,
    };
  }
  const frames = mapFrames(stack);
  if (frames.length === 0)
    return {
      ...base,
      state: stateOf(raw, undefined, true),
      culprit: undefined,
      blockingCall: record?.api,
      source: 'none',
      frames,
    };
  const { culprit, index } = culpritOf(frames);
  // GC stops JS where it allocated and hands back to it: its late stack is still the right one.
  if (late && raw.vmState !== 'atomics-wait' && raw.vmState !== 'gc') {
    // An untracked native call (an addon, a builtin we don't wrap): its caller may have returned.
    return {
      ...base,
      state: 'native',
      culprit: undefined,
      blockingCall: undefined,
      source: 'none',
      frames,
      lateCulprit: culprit,
    };
  }
  let blockingCall = culprit ? findBlockingCall(frames, index) : undefined;
  if (raw.vmState === 'atomics-wait') blockingCall = ATOMICS_WAIT;
  // Many short tracked calls in a loop: the sample fell between two, the recorder saw the next.
  if (
    !blockingCall &&
    record &&
    culprit &&
    culpritOf(mapFrames(record.frames)).culprit?.functionName === culprit.functionName
  ) {
    blockingCall = record.api;
  }
  const lateCapture = owner?.captureDelayMs !== undefined && owner.captureDelayMs >= lateMs;
  return {
    ...base,
    state: stateOf(raw, blockingCall, late),
    culprit,
    blockingCall,
    source: 'interrupt',
    frames,
    lateCapture,
  };
}

function stateOf(raw: RawSample, blockingCall: string | undefined, late: boolean): BlockState {
  // The wrapper around Atomics.wait says so even when no signal sample answered.
  if (raw.vmState === 'atomics-wait' || blockingCall === ATOMICS_WAIT) return 'atomics-wait';
  if (syscallOf(raw)) return 'native';
  if (raw.vmState === 'gc') return 'gc';
  if (late || raw.vmState === 'external') return 'native';
  const moduleName = blockingCall?.split('.')[0];
  return moduleName !== undefined && NATIVE_MODULES.has(moduleName) ? 'native' : 'js';
}

/**
 * "gc" is a claim about time: GC took half the block or more (V8's own pause time, prologue to
 * epilogue). A sample that happened to land in a scavenge says only where the code allocated.
 */
function blockState(view: SampleView, mostlyGc: boolean): BlockState {
  if (view.state === 'atomics-wait') return 'atomics-wait';
  if (mostlyGc) return 'gc';
  if (view.state === 'gc') return view.culprit ? 'js' : 'native';
  return view.state;
}

/** Samples that name the same function (and API) are one group; the largest group is the answer. */
function groupKey(view: SampleView): string {
  const where = view.culprit
    ? `${view.culprit.functionName}@${view.culprit.file}`
    : `native:${view.nativeModule ?? ''}:${view.syscall?.name ?? ''}:${view.syscall?.file ?? ''}`;
  return `${where}|${view.blockingCall ?? ''}`;
}

/**
 * A late interrupt on a starved machine looks like an untracked native call. Where a prompt sample
 * of the same block saw the same function, the late one was that function too (JS the scheduler
 * held back); otherwise it stays unnamed.
 */
function confirmLateCulprits(views: readonly SampleView[]): SampleView[] {
  const key = (frame: StackFrame): string => `${frame.functionName}@${frame.file}`;
  const seen = new Set(
    views.filter((view) => view.source === 'interrupt' && view.culprit).map((view) => key(view.culprit as StackFrame)),
  );
  return views.map((view) =>
    view.lateCulprit && seen.has(key(view.lateCulprit))
      ? { ...view, culprit: view.lateCulprit, state: 'js', source: 'interrupt' }
      : view,
  );
}

/**
 * A stack captured late that holds only the callers of a function another capture of the block saw
 * on top of them was taken after that function returned: it is no evidence of where its samples were.
 */
function withoutStaleCallers(views: readonly SampleView[]): readonly SampleView[] {
  const same = (a: StackFrame, b: StackFrame | undefined): boolean =>
    b !== undefined && a.functionName === b.functionName && a.file === b.file;
  const seenInside = views.filter((view) => view.source === 'interrupt');
  const leftBehind = (view: SampleView): boolean => {
    // From its culprit down: what it called since (a node: frame on top) does not matter.
    const at = view.culprit ? view.frames.indexOf(view.culprit) : 0;
    const callers = view.frames.slice(Math.max(at, 0));
    return seenInside.some(
      (seen) =>
        seen.frames.length > callers.length &&
        callers.every((frame, i) => same(frame, seen.frames[seen.frames.length - callers.length + i])),
    );
  };
  const kept = views.filter(
    (view) => !(view.source === 'interrupt' && view.lateCapture && view.frames.length > 0 && leftBehind(view)),
  );
  return kept.length > 0 ? kept : views;
}

interface Group {
  view: SampleView;
  count: number;
  weightMs: number;
  states: Map<BlockState, number>;
  /** Time per culprit line: the group speaks for its heaviest line, not its first sample's. */
  lines: Map<string, { view: SampleView; weightMs: number }>;
  /** Time per syscall seen: the one the group spent most time in is its evidence. */
  syscalls: Map<string, { syscall: SyscallEvidence; weightMs: number }>;
}

const NO_VIEW: SampleView = {
  atMs: 0,
  weightMs: 0,
  syscall: undefined,
  state: 'native',
  culprit: undefined,
  blockingCall: undefined,
  nativeModule: undefined,
  source: 'none',
  frames: [],
};

/** The group that stands for most of the block's time (not the most samples: the interval widens). */
function dominant(views: readonly SampleView[]): { view: SampleView; count: number; share: number } {
  const groups = new Map<string, Group>();
  let totalMs = 0;
  for (const view of views) {
    const key = groupKey(view);
    let group = groups.get(key);
    if (!group)
      groups.set(
        key,
        (group = { view, count: 0, weightMs: 0, states: new Map(), lines: new Map(), syscalls: new Map() }),
      );
    if (view.syscall) {
      const syscallKey = `${view.syscall.name}:${view.syscall.file ?? ''}`;
      const seen = group.syscalls.get(syscallKey) ?? { syscall: view.syscall, weightMs: 0 };
      seen.weightMs += view.weightMs;
      group.syscalls.set(syscallKey, seen);
    }
    group.count++;
    group.weightMs += view.weightMs;
    const lineKey = `${view.culprit?.line}:${view.culprit?.column}`;
    const line = group.lines.get(lineKey) ?? { view, weightMs: 0 };
    line.weightMs += view.weightMs;
    group.lines.set(lineKey, line);
    totalMs += view.weightMs;
    group.states.set(view.state, (group.states.get(view.state) ?? 0) + view.weightMs);
  }
  let best: Group | undefined;
  // A sample that names something beats one that names nothing, at equal time.
  for (const group of groups.values()) {
    if (
      !best ||
      group.weightMs > best.weightMs ||
      (group.weightMs === best.weightMs && !best.view.culprit && group.view.culprit)
    )
      best = group;
  }
  if (!best) return { view: NO_VIEW, count: 0, share: 1 };
  // The group's state is what it spent most of its time in (one sample may land in a GC).
  const state = [...best.states].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const heaviest = [...best.lines.values()].reduce((a, b) => (b.weightMs > a.weightMs ? b : a)).view;
  // A syscall speaks for the group only where the group spent at least half its time in it: one
  // sample that caught a busy loop in a futex (a GC's safepoint) says nothing of the block.
  const syscalls = [...best.syscalls.values()];
  const top = syscalls.length > 0 ? syscalls.reduce((a, b) => (b.weightMs > a.weightMs ? b : a)) : undefined;
  const syscall = top !== undefined && top.weightMs * 2 >= best.weightMs ? top.syscall : undefined;
  return {
    view: { ...heaviest, state, syscall },
    count: best.count,
    share: totalMs > 0 ? best.weightMs / totalMs : 1,
  };
}

/**
 * What each sample stands for: the time since the one before it (the first: since the block
 * began), and the last one also the rest of the block.
 */
function sampleWeights(samples: readonly RawSample[], durationMs: number): number[] {
  const weights = samples.map((sample, i) => Math.max(0, sample.atMs - (samples[i - 1]?.atMs ?? 0)));
  const last = weights.length - 1;
  if (last >= 0) weights[last] = (weights[last] ?? 0) + Math.max(0, durationMs - (samples[last]?.atMs ?? 0));
  const total = weights.reduce((a, b) => a + b, 0);
  // Samples without spread in time (all at once) count alike.
  return total > 0 ? weights : samples.map(() => 1);
}

// Below this window the CPU clock's ratio says nothing (a scheduler tick is 1-4 ms).
const MIN_CPU_WINDOW_MS = 10;

function cpuUse(raw: RawReport, thresholdMs: number): CpuUse | undefined {
  if (raw.ranMs === undefined || raw.watchedMs === undefined) return undefined;
  const ofMs = raw.watchedMs;
  // The process was short of CPU for at least half the time the thread did not run: the cgroup's
  // CPU limit held it back, or the thread itself waited that long in the run queue (a CPU shared
  // with busier processes). Its other threads were held back with it, so a futex wait (for a lock,
  // or for V8's helper threads at a GC) waited on a thread that could not run. A tracked call's
  // wait (Atomics.wait, a sync API) stays the code's own.
  const notRunMs = Math.max(0, ofMs - raw.ranMs);
  const waitedForCpuMs = raw.waitedForCpuMs === undefined ? undefined : Math.min(raw.waitedForCpuMs, notRunMs);
  const heldBack =
    ((raw.throttled?.periods ?? 0) > 0 && (raw.throttled?.ms ?? 0) >= notRunMs / 2) ||
    (waitedForCpuMs !== undefined && waitedForCpuMs > 0 && waitedForCpuMs >= notRunMs / 2);
  const ownWait = (sample: RawSample): boolean =>
    sample.vmState === 'atomics-wait' ||
    (syscallOf(sample) !== undefined && !(heldBack && sample.syscall === 'futex' && !sample.inTrackedCall));
  // Time in a sleep, a wait or Atomics.wait is the code's own waiting, not starvation.
  const waiting = raw.samples.filter(ownWait).length;
  const starved =
    ofMs >= Math.max(MIN_CPU_WINDOW_MS, thresholdMs / 2) &&
    raw.ranMs < ofMs / 2 &&
    waiting * 2 < Math.max(1, raw.samples.length);
  const use: CpuUse = { ranMs: raw.ranMs, ofMs, starved };
  // The kernel adds a wait when it ends, so the counter may hold some from before the window.
  if (waitedForCpuMs !== undefined) use.waitedForCpuMs = waitedForCpuMs;
  if (raw.throttled && raw.throttled.periods > 0) use.throttled = raw.throttled;
  return use;
}

/**
 * Whether the code may have blocked on a free CPU: the CPU it got, plus the part of the block
 * before the window (counted as running), reaches half the threshold. Below that, the block was
 * the scheduler's (a spin on the wall clock cannot be told from work held back: it errs to blame).
 */
function codeBlocked(raw: RawReport, cpu: CpuUse, thresholdMs: number): boolean {
  return cpu.ranMs + Math.max(0, raw.durationMs - cpu.ofMs) >= thresholdMs / 2;
}

function starvedText(cpu: CpuUse): string {
  let text = `it ran ${formatMs(cpu.ranMs)} of the last ${formatMs(cpu.ofMs)} ms`;
  if (cpu.waitedForCpuMs !== undefined) text += ` and waited ${formatMs(cpu.waitedForCpuMs)} ms for a CPU`;
  if (cpu.throttled) text += `; ${throttledText(cpu.throttled)}`;
  else text += ' (other threads or processes had the CPU)';
  return text;
}

function throttledText(throttled: { periods: number; ms: number }): string {
  return `the cgroup's CPU limit throttled it (${throttled.periods} periods, ${formatMs(throttled.ms)} ms)`;
}

function formatMs(ms: number): string {
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

function where(frame: StackFrame): string {
  return formatFrame({ ...frame, file: displayPath(frame.file) });
}

function unknownCode(view: SampleView, total: number, state: BlockState): string {
  if (view.frames.length > 0)
    return ' in native code; the JavaScript function that called it is not known (V8 sampled the stack after it returned)';
  if (total === 0) return ' (it ended as the watchdog looked: no sample was taken)';
  return state === 'native' ? ' in native code (no JavaScript was on the stack)' : '';
}

/** Error message: "Event loop blocked for 152 ms by fs.readFileSync in loadConfig (src/config.js:12:7)". */
function describe(
  durationMs: number,
  view: SampleView,
  share: number,
  total: number,
  state: BlockState,
  phase: BlockPhase,
  cpu: CpuUse | undefined,
  starvedOnly: boolean,
): string {
  // A blamed block names the code, then says how starved or throttled the thread was.
  let text = `Event loop blocked for ${Math.round(durationMs)} ms`;
  if (starvedOnly && cpu) {
    text += ` while the thread was starved of CPU, not by its code: ${starvedText(cpu)}`;
    return phase === 'startup' ? `${text} during start-up (before the event loop first turned)` : text;
  }
  if (view.blockingCall) text += ` by ${view.blockingCall}`;
  if (view.culprit) text += ` in ${where(view.culprit)}`;
  else if (view.nativeModule) text += ` in native addon ${view.nativeModule} (its JavaScript caller is not known)`;
  else if (!view.syscall) text += unknownCode(view, total, state);
  // The kernel's word on where the thread slept or waited.
  if (view.syscall) {
    text += `${view.culprit || view.nativeModule ? ',' : ''} in ${view.syscall.name}`;
    if (view.syscall.file !== undefined) text += ` on ${view.syscall.file}`;
  }
  // The share is news only when the samples disagree.
  if (share < 1) text += ` [${Math.round(share * 100)} % of the time]`;
  if (state === 'gc') text += ' (mostly garbage collection)';
  // The code ran long enough to block on its own, but the thread was also kept off the CPU: by how much.
  if (cpu?.starved) text += `; the thread was starved of CPU: ${starvedText(cpu)}`;
  else if (cpu?.throttled) text += `; ${throttledText(cpu.throttled)}`;
  if (phase === 'startup') text += ' during start-up (before the event loop first turned)';
  return text;
}

export function buildReport(
  raw: RawReport,
  thresholdMs: number,
  thread: ThreadInfo,
  lookup?: CallSiteLookup,
  context?: unknown,
): BlockingError {
  const lateMs = lateAfterMs(thresholdMs);
  const byKey = new Map(raw.samples.map((sample) => [sample.key, sample]));
  const weights = sampleWeights(raw.samples, raw.durationMs);
  const all = raw.samples.map((sample, i) =>
    viewSample(sample, weights[i] ?? 0, (key) => byKey.get(key), lateMs, lookup),
  );
  // A sample that saw nothing (its interrupt never ran, no tracked call, no addon) casts no vote.
  const informative = all.filter(
    (view) => view.culprit || view.blockingCall || view.nativeModule || view.syscall || view.frames.length > 0,
  );
  const views = confirmLateCulprits(withoutStaleCallers(informative.length > 0 ? informative : all));
  const cpu = cpuUse(raw, thresholdMs);
  // A starved thread's block is the machine's: no code is blamed for the time it was off the CPU,
  // only when the CPU time it did get would have blocked the loop on its own.
  const unblamed = cpu?.starved === true && !codeBlocked(raw, cpu, thresholdMs);
  const found = unblamed ? { view: NO_VIEW, count: 0, share: 1 } : dominant(views);
  const { view, count } = found;
  // One number for the message and `samples.share`: rounded once, to three places.
  const share = Math.round(found.share * 1000) / 1000;
  const state = blockState(view, raw.gcMs >= raw.durationMs / 2);
  const first = raw.samples[0];
  // The native side knows whether the block began before the loop's first iteration after start.
  const phase: BlockPhase = raw.startup ? 'startup' : 'loop';
  return new BlockingError({
    source: 'watchdog',
    message: describe(raw.durationMs, view, share, views.length, state, phase, cpu, unblamed),
    frames: view.frames,
    culprit: view.culprit,
    blockingCall: view.blockingCall,
    syscall: view.syscall,
    cpu,
    durationMs: raw.durationMs,
    thresholdMs,
    state,
    captureDelayMs: first?.captureDelayMs,
    gcMs: raw.gcMs,
    threadId: thread.threadId,
    threadName: thread.threadName,
    nativeModule: view.nativeModule,
    samples: {
      total: views.length,
      dominant: count,
      share,
      costMs: raw.samplingCostMs,
    },
    context,
    firstSample: all[0] && { culprit: all[0].culprit, blockingCall: all[0].blockingCall, frames: all[0].frames },
    phase,
  });
}
