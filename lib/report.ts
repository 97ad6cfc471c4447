// Raw frames from the watchdog -> a BlockingError that names the culprit and the API.
import * as path from 'node:path';
import { BlockingError, formatFrame, isUserFrame } from './blocking-error';
import type { BlockPhase, BlockState, StackFrame } from './blocking-error';
import type { RawReport, RawSample } from './binding';
import { linesOf, mapFrame, toPath } from './source-map';

// The interrupt runs within microseconds while JS executes; much later means the thread sat in
// C++. An overloaded machine delays it by up to ~20 ms too (measured with two test suites running
// on 2 cores), so "late" is a threshold's worth, within 5-50 ms.
function lateAfterMs(thresholdMs: number): number {
  return Math.min(50, Math.max(5, thresholdMs));
}

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
function calleeAt(frame: StackFrame): string | undefined {
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

// blockbuster's own files (compiled, and their sources via source maps) are never the culprit.
const OWN_DIRS = ['dist', 'lib'].map((dir) => path.join(__dirname, '..', dir) + path.sep);

function isCulpritCandidate(frame: StackFrame): boolean {
  return isUserFrame(frame) && !isOwnFrame(frame);
}

/** The thread the report is about. */
export interface ThreadInfo {
  threadId: number;
  threadName: string | undefined;
}

/** Where each sample's culprit and API came from, for the reader and for tests. */
export type SampleSource = 'interrupt' | 'call-site' | 'none';

/** One sample as the report reads it: what blocked at that moment. */
export interface SampleView {
  atMs: number;
  state: BlockState;
  culprit: StackFrame | undefined;
  blockingCall: string | undefined;
  nativeModule: string | undefined;
  source: SampleSource;
  frames: StackFrame[];
  /** A late, untracked sample's first user frame: named only if a prompt sample saw it too. */
  lateCulprit?: StackFrame;
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
  return OWN_DIRS.some((dir) => file.startsWith(dir));
}

function viewSample(
  raw: RawSample,
  ownerOf: (key: number) => RawSample | undefined,
  lateMs: number,
  lookup: CallSiteLookup | undefined,
): SampleView {
  const record = raw.inTrackedCall ? lookup?.(raw.key) : undefined;
  // The stack comes from the sample that asked for the interrupt: if that one waited long, the
  // thread sat in C++ all along, whenever this sample was taken.
  const owner = ownerOf(raw.stackKey);
  const late = owner?.captureDelayMs === undefined || owner.captureDelayMs - owner.captureGcMs >= lateMs;
  const stack = owner?.frames ?? [];
  const base = { atMs: raw.atMs, nativeModule: raw.nativeModule };
  // A late interrupt shows whatever ran after the native call; the wrapper saw who made it.
  if (record && (late || stack.length === 0)) {
    const frames = mapFrames(record.frames);
    return {
      ...base,
      state: 'native',
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
  if (raw.vmState === 'atomics-wait') blockingCall = 'Atomics.wait';
  // Many short tracked calls in a loop: the sample fell between two, the recorder saw the next.
  if (
    !blockingCall &&
    record &&
    culprit &&
    culpritOf(mapFrames(record.frames)).culprit?.functionName === culprit.functionName
  ) {
    blockingCall = record.api;
  }
  return { ...base, state: stateOf(raw, blockingCall, late), culprit, blockingCall, source: 'interrupt', frames };
}

function stateOf(raw: RawSample, blockingCall: string | undefined, late: boolean): BlockState {
  if (raw.vmState === 'atomics-wait') return 'atomics-wait';
  if (raw.vmState === 'gc') return 'gc';
  if (late || raw.vmState === 'external') return 'native';
  const moduleName = blockingCall?.split('.')[0];
  return moduleName !== undefined && NATIVE_MODULES.has(moduleName) ? 'native' : 'js';
}

/** Samples that name the same function (and API) are one group; the largest group is the answer. */
function groupKey(view: SampleView): string {
  const where = view.culprit
    ? `${view.culprit.functionName}@${view.culprit.file}`
    : `native:${view.nativeModule ?? ''}`;
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

interface Group {
  view: SampleView;
  count: number;
  states: Map<BlockState, number>;
}

function dominant(views: readonly SampleView[]): { view: SampleView; count: number } {
  const groups = new Map<string, Group>();
  for (const view of views) {
    const key = groupKey(view);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { view, count: 0, states: new Map() }));
    group.count++;
    group.states.set(view.state, (group.states.get(view.state) ?? 0) + 1);
  }
  let best: Group | undefined;
  // A sample that names something beats one that names nothing, at equal counts.
  for (const group of groups.values()) {
    if (!best || group.count > best.count || (group.count === best.count && !best.view.culprit && group.view.culprit))
      best = group;
  }
  if (!best)
    return {
      view: {
        atMs: 0,
        state: 'native',
        culprit: undefined,
        blockingCall: undefined,
        nativeModule: undefined,
        source: 'none',
        frames: [],
      },
      count: 0,
    };
  // The group's state is what most of its samples saw (one sample may land in a GC).
  const state = [...best.states].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  return { view: { ...best.view, state }, count: best.count };
}

function displayPath(file: string): string {
  const filePath = toPath(file);
  if (filePath === undefined) return file;
  const relative = path.relative(process.cwd(), filePath);
  return relative.startsWith('..') || path.isAbsolute(relative) ? filePath : relative;
}

function where(frame: StackFrame): string {
  return formatFrame({ ...frame, file: displayPath(frame.file) });
}

/** Error message: "Event loop blocked for 152 ms by fs.readFileSync in loadConfig (src/config.js:12:7)". */
function describe(
  durationMs: number,
  view: SampleView,
  count: number,
  total: number,
  state: BlockState,
  phase: BlockPhase,
): string {
  let text = `Event loop blocked for ${Math.round(durationMs)} ms`;
  if (view.blockingCall) text += ` by ${view.blockingCall}`;
  if (view.culprit) text += ` in ${where(view.culprit)}`;
  else if (view.nativeModule) text += ` in native addon ${view.nativeModule} (its JavaScript caller is not known)`;
  else if (view.frames.length > 0)
    text +=
      ' in native code; the JavaScript function that called it is not known (V8 sampled the stack after it returned)';
  else if (total === 0) text += ' (it ended as the watchdog looked: no sample was taken)';
  else if (state === 'native') text += ' in native code (no JavaScript was on the stack)';
  // The share is news only when the samples disagree.
  if (count < total) text += ` [${count} of ${total} samples]`;
  if (state === 'gc') text += ' (mostly garbage collection)';
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
  const all = raw.samples.map((sample) => viewSample(sample, (key) => byKey.get(key), lateMs, lookup));
  // A sample that saw nothing (its interrupt never ran, no tracked call, no addon) casts no vote.
  const informative = all.filter(
    (view) => view.culprit || view.blockingCall || view.nativeModule || view.frames.length > 0,
  );
  const views = confirmLateCulprits(informative.length > 0 ? informative : all);
  const { view, count } = dominant(views);
  const state: BlockState = raw.gcMs >= raw.durationMs / 2 && view.state !== 'atomics-wait' ? 'gc' : view.state;
  const first = raw.samples[0];
  // The native side knows whether the block began before the loop's first iteration after start.
  const phase: BlockPhase = raw.startup ? 'startup' : 'loop';
  return new BlockingError({
    source: 'watchdog',
    message: describe(raw.durationMs, view, count, views.length, state, phase),
    frames: view.frames,
    culprit: view.culprit,
    blockingCall: view.blockingCall,
    durationMs: raw.durationMs,
    thresholdMs,
    state,
    captureDelayMs: first?.captureDelayMs,
    gcMs: raw.gcMs,
    threadId: thread.threadId,
    threadName: thread.threadName,
    nativeModule: view.nativeModule,
    samples: { total: views.length, dominant: count },
    context,
    firstSample: all[0] && { culprit: all[0].culprit, blockingCall: all[0].blockingCall, frames: all[0].frames },
    phase,
  });
}
