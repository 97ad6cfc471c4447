// The only file that loads the native addon, and only when watch() first asks for it: the rule
// set and `require('blockbuster')` work with no addon at all.
// blockbuster's own reads, taken before any wrapper: never checked by the rule set nor tracked.
import { ownFs as fs } from './apis/own-fs';
import path = require('node:path');

/** A frame as the native side copied it out of V8. */
export interface RawFrame {
  functionName: string;
  file: string;
  line: number;
  column: number;
}

/** One look at the thread during a block. */
export interface RawSample {
  /** Shared with the call-site recorder: its record for this sample has the same key. */
  key: number;
  /** The sample whose interrupt brings this one's JS stack (itself, or an earlier one still
   * outstanding: the thread has not run JS since). */
  stackKey: number;
  /** When it was taken, from the block's start. */
  atMs: number;
  /** From the request to V8 running the interrupt; undefined when it never ran during the block. */
  captureDelayMs: number | undefined;
  /** GC time between the request and the capture: GC holds interrupts back too. */
  captureGcMs: number;
  /** What V8 said the thread was doing (sampled from a signal). */
  vmState: VmStateName;
  /** A Node API the recorder tracks was running. */
  inTrackedCall: boolean;
  /** The native addon on the thread's native stack, if any (`/path/x.node` or `…!symbol`). */
  nativeModule?: string;
  /** The signal was sent: the thread was not sleeping or waiting in a syscall (see `syscall`). */
  signalled: boolean;
  /** A later sample saw the thread elsewhere before this one's stack was captured: it is stale. */
  movedOn: boolean;
  /** The syscall the thread was in (`clock_nanosleep`, `pread64`, …), or `running`; absent when
   * /proc could not say. */
  syscall?: string;
  /** The file behind the syscall's file descriptor (read, write, fsync, flock, …). */
  syscallFile?: string;
  /** The thread's CPU time from the start of the `watchedMs` window to this sample. */
  cpuMs?: number;
  /** Empty unless this sample asked for the interrupt (stackKey === key). */
  frames: RawFrame[];
}

/** One block as measured by the watchdog thread. */
export interface RawReport {
  id: number;
  /** When the block began, on uv_hrtime's clock in ms (process.hrtime's); absent from older binaries. */
  startMs?: number;
  durationMs: number;
  detectionDelayMs: number;
  gcMs: number;
  /** The block began before the loop's first iteration under this watcher: start-up code. */
  startup: boolean;
  /** At the threshold crossing, then every sampleIntervalMs; the interval doubles after each
   * maxSamples samples, and sampling never costs more than 1 % of the block so far. */
  samples: RawSample[];
  /** Wall time from the watchdog's last look before the crossing (or the block's start, if
   * later) to the end: the window `ranMs` covers. */
  watchedMs: number;
  /** The thread's CPU time from that look to the end (its CPU clock); absent where it cannot be
   * read. */
  ranMs?: number;
  /** Time it waited on a run queue in that window (schedstat), where the kernel keeps it. */
  waitedForCpuMs?: number;
  /** The cgroup's CPU limit throttled the process in that window (cpu.stat). */
  throttled?: { periods: number; ms: number };
  /** The watchdog's CPU for sampling, the signal handler's and the interrupts' time. */
  samplingCostMs: number;
}

/** Every option is required: the defaults live in lib/watch.ts only. */
export interface NativeStartOptions {
  thresholdMs: number;
  /** 0 = no native "still blocked" line. */
  liveReportAfterMs: number;
  /** 0 = never abort. */
  abortAfterMs: number;
  outputFd: number;
  maxFrames: number;
  /** Reports kept for JS before the rest are only counted. */
  maxQueued: number;
  sampleIntervalMs: number;
  /** Samples at each interval before it doubles. */
  maxSamples: number;
  /** A worker waiting for work in Atomics.wait is idle, not blocked. */
  atomicsWaitIsIdle: boolean;
  /** Written after `blockbuster: ` in native text lines, as lib/output.ts does (`threadTag`). */
  threadTag: string;
  /** The envelope of every native JSON line (lib/schema.ts): the same keys as the JS lines. */
  threadId: number;
  pid: number;
  schemaVersion: number;
  /** Memory shared with the call-site recorder (lib/call-sites.ts), kept alive by the addon. */
  sharedFlags: ArrayBuffer;
  json: boolean;
  /** The internal-frame rule of lib/blocking-error.ts, for the native lines. */
  internalFilePrefixes: readonly string[];
  internalFileParts: readonly string[];
  /** The budget the native live lines share with the JS report lines. */
  maxReportsPerMinute: number;
}

// The names a sample's vmState can take, as TypeScript must know them to type the comparisons in
// lib/report.ts; src/contract.h defines them, and a binary that says otherwise is not loaded.
const VM_STATES = ['unknown', 'js', 'gc', 'compiler', 'other', 'external', 'atomics-wait', 'idle'] as const;
export type VmStateName = (typeof VM_STATES)[number];
// The slots' names, as lib/call-sites.ts reads them; their positions come from the binary.
const FLAG_SLOTS = ['depth', 'trackedKey', 'inAtomicsWait', 'pending', 'api'] as const;

/**
 * The JS<->native contract: every value lib/ and src/ must agree on, defined once in src/contract.h
 * and read here from the addon (frozen). A binary whose contract does not fit this file is not loaded.
 */
export interface NativeConstants {
  /** The Int32 slots of the memory shared with the call-site recorder (lib/call-sites.ts). */
  readonly flagSlots: Readonly<Record<(typeof FLAG_SLOTS)[number], number>>;
  /** That memory's size in bytes. */
  readonly flagsBytes: number;
  /** Sample keys run from 1 to this, then wrap back to 1 (they fit an Int32 slot). */
  readonly maxSampleKey: number;
  /** A start-up block's live line is due this many times later than a loop block's. */
  readonly startupLiveLineFactor: number;
  /** Every name RawSample.vmState takes. */
  readonly vmStates: readonly VmStateName[];
  /** watch({ context }): lib/async-context.ts leaves { [storage], [slots] } under Symbol.for(symbol). */
  readonly contextHolder: Readonly<{ symbol: string; storage: string; slots: string }>;
  /** The keys start() reads: START_OPTIONS, in a binary built from the same sources. */
  readonly startOptions: readonly string[];
}

// Every key of NativeStartOptions, as a value to check a binary's startOptions against: a binary
// built from other sources would reject the options at watch() with a raw TypeError.
const START_OPTIONS = Object.keys({
  thresholdMs: 0,
  liveReportAfterMs: 0,
  abortAfterMs: 0,
  outputFd: 0,
  maxFrames: 0,
  maxQueued: 0,
  sampleIntervalMs: 0,
  maxSamples: 0,
  atomicsWaitIsIdle: 0,
  threadTag: 0,
  threadId: 0,
  pid: 0,
  schemaVersion: 0,
  sharedFlags: 0,
  json: 0,
  internalFilePrefixes: 0,
  internalFileParts: 0,
  maxReportsPerMinute: 0,
} satisfies Record<keyof NativeStartOptions, 0>);

export interface NativeBinding {
  /** The Node ABI (process.versions.modules) this binary was built for. */
  readonly abi: number;
  readonly constants: NativeConstants;
  start(options: NativeStartOptions, onReports: () => void): void;
  stop(): void;
  /** Undefined while the thread's environment is torn down (the native side wrote them). */
  takeReports(finishActive: boolean): { reports: RawReport[]; dropped: number } | undefined;
  isWatching(): boolean;
  /** Brackets blockbuster's own work on this thread: it is never reported as a block. */
  ownWork(on: boolean): void;
  /** The id the recorder writes into the shared flags for API `name` (absent from older binaries). */
  apiId?(name: string): number;
  /** A line-level copy of a file's source map for the native lines (absent from older binaries). */
  mapLines?(file: string, sources: readonly string[], lines: Int32Array): boolean;
  /** The thread runs code allowed to block: no live line, no abort (absent from older binaries). */
  setAllowed?(on: boolean): void;
  /** The process's one line writer: 0 written, 1 dropped (the output stayed full), else -errno. */
  writeLine(fd: number, json: boolean, threadId: number, schemaVersion: number, line: string): number;
  /** Says a count of dropped lines still unsaid, waiting for room as a line would. */
  flushLines(fd: number, json: boolean, threadId: number, schemaVersion: number): void;
  /** Spends one report of this thread's watcher's minute budget; false when it is spent. */
  takeReportSlot(): boolean;
  /** How native text lines show `text` (control characters escaped). */
  visibleText(text: string): string;
}

const ROOT = path.join(__dirname, '..');

/** What a binary must fit: the platform, CPU, C library and Node ABI. */
export interface BindingTarget {
  platform: NodeJS.Platform;
  arch: string;
  /** Linux only: glibc or musl (Alpine). */
  libc: 'glibc' | 'musl' | undefined;
  /** process.versions.modules. */
  abi: number;
  /** process.version. */
  nodeVersion: string;
}

/** The stable `code` of the error watch() throws when no binary loads. */
export const NO_WATCHDOG = 'ERR_BLOCKBUSTER_NO_WATCHDOG';

/** watch() cannot run in this process: no binary fits it. The message says what was tried and what to do. */
export interface NoWatchdogError extends Error {
  code: typeof NO_WATCHDOG;
  /** `linux-arm64 musl`, `win32-x64`. */
  platform: string;
  /** One line: why (`the linux-x64 prebuilds are for Node ABI 127, not 137`). */
  reason: string;
  /** One line: how to get the watchdog here, or where it runs. */
  fix: string;
}

export function isNoWatchdogError(error: unknown): error is NoWatchdogError {
  return error instanceof Error && (error as { code?: unknown }).code === NO_WATCHDOG;
}

// The source compiles on Linux and macOS (POSIX threads and signals); the install script builds only there.
const SOURCE_BUILD_PLATFORMS: readonly string[] = ['linux', 'darwin'];

let loaded: NativeBinding | undefined;
let failure: Omit<NoWatchdogError, 'name' | 'stack'> | undefined;

/** The addon if this thread has loaded it already (never loads it). */
export function loadedBinding(): NativeBinding | undefined {
  return loaded;
}

/** The contract's values (src/contract.h), from the addon; loads it if this thread has not yet. */
export function nativeConstants(): NativeConstants {
  return loadBinding().constants;
}

/** Loads the addon once per thread; throws a NoWatchdogError saying what was tried and how to fix it. */
export function loadBinding(): NativeBinding {
  if (loaded) return loaded;
  // A failed search is not retried: the files will not change under a running process.
  if (failure === undefined) {
    try {
      loaded = findBinding(currentTarget(), ROOT);
      return loaded;
    } catch (error) {
      if (!isNoWatchdogError(error)) throw error;
      const { message, code, platform, reason, fix } = error;
      failure = { message, code, platform, reason, fix };
    }
  }
  // A new error each time: its stack is the caller's.
  const { message, ...fields } = failure;
  throw Object.assign(new Error(message), fields);
}

/** This process's platform, CPU, C library and Node ABI. */
function currentTarget(): BindingTarget {
  let libc: BindingTarget['libc'] | null = null;
  return {
    platform: process.platform,
    arch: process.arch,
    // Read only when build/ does not fit: it takes a process report, a few milliseconds.
    get libc() {
      if (libc === null) libc = process.platform === 'linux' ? linuxLibc() : undefined;
      return libc;
    },
    abi: Number(process.versions.modules),
    nodeVersion: process.version,
  };
}

/** `linux-x64 glibc`, `win32-x64`: how messages name a target. */
function targetLabel(target: BindingTarget): string {
  return `${target.platform}-${target.arch}${target.libc === undefined ? '' : ` ${target.libc}`}`;
}

function linuxLibc(): 'glibc' | 'musl' {
  // The dynamic loader node was linked against, named in its ELF program interpreter (in the first
  // page): a 4 KB read, where a process report is ~100 KB of heap at watch() on every line without a
  // fitting build/. A static node has none: the report then.
  try {
    const head = Buffer.alloc(4096);
    const fd = fs.openSync(process.execPath, 'r');
    try {
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    if (head.includes('/ld-musl-')) return 'musl';
    if (head.includes('/ld-linux-')) return 'glibc';
  } catch {
    // Unreadable executable: the report below.
  }
  let header: { glibcVersionRuntime?: string } | undefined;
  try {
    header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  } catch {
    // No report available: assume the common case.
  }
  return header === undefined || header.glibcVersionRuntime ? 'glibc' : 'musl';
}

// node-gyp writes the headers' ABI next to the binary it builds; a mismatch is skipped unloaded.
function configuredAbi(buildDir: string): number | undefined {
  try {
    // Searched as bytes: the file is 16 KB, and watch() should not leave a string of it on the heap.
    const config = fs.readFileSync(path.join(buildDir, 'config.gypi'));
    const at = config.indexOf('"node_module_version":');
    const match = at < 0 ? null : /^"node_module_version":\s*(\d+)/.exec(config.toString('latin1', at, at + 40));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function shippedPrebuilds(root: string): { platform: string; abi: number; libc: string }[] {
  const found = [];
  const dir = path.join(root, 'prebuilds');
  for (const platform of safeReaddir(dir)) {
    for (const name of safeReaddir(path.join(dir, platform))) {
      const [, abi, libc] = /^blockbuster\.abi(\d+)\.(\w+)\.node$/.exec(name) ?? [];
      if (abi !== undefined && libc !== undefined) found.push({ platform, abi: Number(abi), libc });
    }
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** How to get a compiler where the source build works; the package names differ by system. */
function toolchainHint(target: BindingTarget): string {
  if (target.platform === 'darwin') return 'xcode-select --install';
  if (target.libc === 'musl') return 'Alpine: apk add python3 make g++';
  return 'Debian/Ubuntu: apt-get install python3 make g++';
}

/** Why `constants` (a binary's export) does not fit this copy's JavaScript, or undefined when it does. */
function contractMismatch(constants: unknown): string | undefined {
  if (typeof constants !== 'object' || constants === null) return 'it exports no JS/native contract (`constants`)';
  const { flagSlots, flagsBytes, maxSampleKey, startupLiveLineFactor, vmStates, contextHolder, startOptions } =
    constants as Partial<Record<keyof NativeConstants, unknown>>;
  const words = typeof flagsBytes === 'number' && flagsBytes % 4 === 0 ? flagsBytes / 4 : 0;
  const slots = FLAG_SLOTS.map((name) => (flagSlots as Record<string, unknown> | undefined)?.[name]);
  if (!slots.every((slot) => Number.isInteger(slot) && (slot as number) >= 0 && (slot as number) < words))
    return `its shared-flag slots ${JSON.stringify(flagSlots)} do not fit ${String(flagsBytes)} bytes or lack one of ${FLAG_SLOTS.join(', ')}`;
  if (new Set(slots).size !== slots.length) return `its shared-flag slots ${JSON.stringify(flagSlots)} overlap`;
  if (!Number.isInteger(maxSampleKey) || (maxSampleKey as number) < 1 || (maxSampleKey as number) > 2 ** 31 - 1)
    return `its largest sample key ${String(maxSampleKey)} does not fit an Int32 slot`;
  if (typeof startupLiveLineFactor !== 'number' || !(startupLiveLineFactor >= 1))
    return `its start-up live-line factor ${String(startupLiveLineFactor)} is not a number of at least 1`;
  const names = Array.isArray(vmStates) ? [...(vmStates as unknown[])].sort() : [];
  if (JSON.stringify(names) !== JSON.stringify([...VM_STATES].sort()))
    return `its VM states ${JSON.stringify(vmStates)} are not the ones this copy's JavaScript knows (${VM_STATES.join(', ')})`;
  const holder = contextHolder as Record<string, unknown> | undefined;
  if (!['symbol', 'storage', 'slots'].every((key) => typeof holder?.[key] === 'string' && holder[key] !== ''))
    return `its context holder ${JSON.stringify(contextHolder)} does not name a symbol, a storage key and a slots key`;
  const options = Array.isArray(startOptions) ? [...(startOptions as unknown[])].sort() : [];
  if (JSON.stringify(options) !== JSON.stringify([...START_OPTIONS].sort()))
    return `its start() options ${JSON.stringify(startOptions)} are not the ones this copy's JavaScript passes (${START_OPTIONS.join(', ')})`;
  return undefined;
}

/**
 * @internal The binding under `root` that fits `target`, or a NoWatchdogError. The target is a
 * parameter so that the messages for other platforms can be checked on this one.
 */
export function findBinding(target: BindingTarget, root: string): NativeBinding {
  const { abi } = target;
  const platform = `${target.platform}-${target.arch}`;
  const tried: string[] = [];
  const builtFor = new Set<number>();
  let contractFault: string | undefined;

  // The binding in `file`, or undefined with the reason recorded. `declaredAbi`: known before loading.
  const attempt = (file: string, declaredAbi: number | undefined, declaredBy: string): NativeBinding | undefined => {
    if (!fs.existsSync(file)) {
      tried.push(`${file}: not found`);
      return undefined;
    }
    if (declaredAbi !== undefined && declaredAbi !== abi) {
      builtFor.add(declaredAbi);
      tried.push(`${file}: built for Node ABI ${declaredAbi} (${declaredBy}), not loaded`);
      return undefined;
    }
    try {
      const binding = require(file) as NativeBinding;
      if (typeof binding.abi === 'number' && binding.abi !== abi) {
        builtFor.add(binding.abi);
        tried.push(`${file}: built for Node ABI ${binding.abi}`);
        return undefined;
      }
      const mismatch = contractMismatch(binding.constants);
      if (mismatch !== undefined) {
        contractFault = mismatch;
        tried.push(`${file}: built from other sources than this copy's JavaScript: ${mismatch}`);
        return undefined;
      }
      return binding;
    } catch (error) {
      const message = String((error as Error).message).split('\n')[0] ?? '';
      const match = /built for Node ABI (\d+)/.exec(message);
      if (match) builtFor.add(Number(match[1]));
      tried.push(`${file}: ${message}`);
      return undefined;
    }
  };

  const buildDir = path.join(root, 'build');
  const built = attempt(
    path.join(buildDir, 'Release', 'blockbuster.node'),
    configuredAbi(buildDir),
    'build/config.gypi',
  );
  if (built) return built;
  // prebuildify tags every build that is not Alpine's "glibc", macOS and Windows included.
  const libcTag = target.libc ?? 'glibc';
  const prebuilt = attempt(
    path.join(root, 'prebuilds', platform, `blockbuster.abi${abi}.${libcTag}.node`),
    abi,
    'file name',
  );
  if (prebuilt) return prebuilt;

  const label = targetLabel(target);
  const buildable = SOURCE_BUILD_PLATFORMS.includes(target.platform);
  const shipped = shippedPrebuilds(root);
  const here = shipped.filter((p) => p.platform === platform && p.libc === libcTag).map((p) => p.abi);
  const lines = [
    `blockbuster: watch() cannot load its native addon in Node ${target.nodeVersion} (ABI ${abi}) on ${label}.`,
  ];
  let reason: string;
  if (builtFor.size > 0) {
    reason = `the binary here is built for Node ABI ${[...builtFor].join(', ')}, not ${abi}`;
    lines.push(
      `The binary found was built for Node ABI ${[...builtFor].join(', ')}, not ${abi}: it cannot run in this Node.`,
    );
  } else if (contractFault !== undefined) {
    reason = `the binary here was built from other sources than this copy's JavaScript (${contractFault})`;
    lines.push(`The binary found was built from other sources than this copy's JavaScript: ${contractFault}.`);
  } else if (here.length > 0) {
    reason = `the ${platform} prebuilds are for Node ABI ${here.join(', ')}, not ${abi}`;
    lines.push(`The ${platform} prebuilds in this package are built for Node ABI ${here.join(', ')}, not ${abi}.`);
  } else if (buildable) {
    reason = `no prebuilt binary ships for ${label} and none was compiled at install`;
    lines.push(`No prebuilt binary ships for ${platform} (${libcTag}) and none was compiled at install.`);
  } else {
    reason = `the watchdog is built for Linux and macOS only`;
    lines.push(
      `The watchdog is native code for Linux and macOS (POSIX threads and signals): no binary ships for ${label}, and none is compiled there.`,
    );
  }
  lines.push('Tried:', ...tried.map((t) => `  - ${t}`));
  const list = shipped.map((p) => `${p.platform} ABI ${p.abi} ${p.libc}`).join(', ');
  lines.push(`Prebuilt binaries in this package: ${list || 'none'}.`);
  lines.push(
    "Still works: require('blockbuster') and the rule set (BlockBuster); the preload, the CLI and the test-runner helpers go on without the watchdog and say so once.",
  );
  const fix = buildable
    ? `install python3, make and a C++ compiler (${toolchainHint(target)}), then run \`npm rebuild blockbuster\` to compile it for this Node`
    : 'run the watchdog on Linux (x64 and arm64 glibc are prebuilt) or macOS, for example in WSL or a Linux container; the rule set works here';
  lines.push(`Fix: ${fix}.`);
  throw Object.assign(new Error(lines.join('\n')), { code: NO_WATCHDOG, platform: label, reason, fix });
}
