// Raw frames from the watchdog -> a BlockingError that names the culprit and the API.
import * as path from 'node:path';
import { BlockingError, formatFrame, isUserFrame } from './blocking-error';
import type { BlockPhase, BlockState, StackFrame } from './blocking-error';
import type { RawReport } from './binding';
import { linesOf, mapFrame, toPath } from './source-map';

// The interrupt runs within microseconds while JS executes; later means the thread sat in C++.
const NATIVE_CAPTURE_DELAY_MS = 3;

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
  if (!isUserFrame(frame)) return false;
  const file = toPath(frame.file) ?? frame.file;
  return !OWN_DIRS.some((dir) => file.startsWith(dir));
}

function decideState(raw: RawReport, blockingCall: string | undefined): BlockState {
  if (raw.vmState === 'atomics-wait') return 'atomics-wait';
  if (raw.gcMs >= raw.durationMs / 2) return 'gc';
  if (raw.captureDelayMs === undefined || raw.captureDelayMs - raw.captureGcMs >= NATIVE_CAPTURE_DELAY_MS) {
    return 'native';
  }
  const moduleName = blockingCall?.split('.')[0];
  return moduleName !== undefined && NATIVE_MODULES.has(moduleName) ? 'native' : 'js';
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
  blockingCall: string | undefined,
  culprit: StackFrame | undefined,
  state: BlockState,
  phase: BlockPhase,
): string {
  let text = `Event loop blocked for ${Math.round(durationMs)} ms`;
  if (blockingCall) text += ` by ${blockingCall}`;
  if (culprit) text += ` in ${where(culprit)}`;
  else if (state === 'native') text += ' in native code (no JavaScript was on the stack)';
  if (culprit && state === 'native' && !blockingCall) text += ' (sampled after a native call returned: this is its caller)';
  if (state === 'gc') text += ' (mostly garbage collection)';
  if (phase === 'startup') text += ' during start-up (before the event loop first turned)';
  return text;
}

export function buildReport(raw: RawReport, thresholdMs: number, phase: BlockPhase = 'loop'): BlockingError {
  const frames = raw.frames.map(mapFrame);
  const culpritIndex = frames.findIndex(isCulpritCandidate);
  const culprit = culpritIndex >= 0 ? frames[culpritIndex] : undefined;
  let blockingCall = culprit ? findBlockingCall(frames, culpritIndex) : undefined;
  if (raw.vmState === 'atomics-wait') blockingCall = 'Atomics.wait';
  const state = decideState(raw, blockingCall);
  return new BlockingError({
    source: 'watchdog',
    message: describe(raw.durationMs, blockingCall, culprit, state, phase),
    frames,
    culprit,
    blockingCall,
    durationMs: raw.durationMs,
    thresholdMs,
    state,
    captureDelayMs: raw.captureDelayMs,
    gcMs: raw.gcMs,
    phase,
  });
}
