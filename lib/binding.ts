// The only file that loads the native addon, and only when watch() first asks for it: the rule
// set and `require('blockbuster')` work with no addon at all.
import * as fs from 'node:fs';
import * as path from 'node:path';

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
  vmState: 'js' | 'gc' | 'compiler' | 'other' | 'external' | 'atomics-wait' | 'idle' | 'unknown';
  /** A Node API the recorder tracks was running. */
  inTrackedCall: boolean;
  /** The native addon on the thread's native stack, if any (`/path/x.node` or `…!symbol`). */
  nativeModule?: string;
  /** Empty unless this sample asked for the interrupt (stackKey === key). */
  frames: RawFrame[];
}

/** One block as measured by the watchdog thread. */
export interface RawReport {
  id: number;
  durationMs: number;
  detectionDelayMs: number;
  gcMs: number;
  /** The block began before the loop's first iteration under this watcher: start-up code. */
  startup: boolean;
  /** At the threshold crossing, then every sampleIntervalMs (bounded by maxSamples). */
  samples: RawSample[];
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
  maxSamples: number;
  /** A worker waiting for work in Atomics.wait is idle, not blocked. */
  atomicsWaitIsIdle: boolean;
  /** Written after `blockbuster: ` in native text lines, as lib/output.ts does (`threadTag`). */
  threadTag: string;
  /** The envelope of every native JSON line (lib/schema.ts): the same keys as the JS lines. */
  threadId: number;
  pid: number;
  hostname: string;
  schemaVersion: number;
  /** Memory shared with the call-site recorder (lib/call-sites.ts), kept alive by the addon. */
  sharedFlags: ArrayBuffer;
  json: boolean;
  /** The internal-frame rule of lib/blocking-error.ts, for the native lines. */
  internalFilePrefixes: readonly string[];
  internalFileParts: readonly string[];
}

export interface NativeBinding {
  /** The Node ABI (process.versions.modules) this binary was built for. */
  readonly abi: number;
  start(options: NativeStartOptions, onReports: () => void): void;
  stop(): void;
  takeReports(finishActive: boolean): { reports: RawReport[]; dropped: number };
  isWatching(): boolean;
  /** Brackets blockbuster's own work on this thread: it is never reported as a block. */
  ownWork(on: boolean): void;
}

const ROOT = path.join(__dirname, '..');
const FIX = 'npm rebuild blockbuster';

let loaded: NativeBinding | undefined;
let failure: string | undefined;

/** Loads the addon once per thread; throws an Error saying what was tried and how to fix it. */
export function loadBinding(): NativeBinding {
  if (loaded) return loaded;
  // A failed search is not retried: the files will not change under a running process.
  if (failure === undefined) {
    try {
      loaded = findBinding();
      return loaded;
    } catch (error) {
      failure = (error as Error).message;
    }
  }
  throw new Error(failure);
}

function libcTag(): string {
  // prebuildify tags every build that is not Alpine's "glibc", macOS and Windows included.
  if (process.platform !== 'linux') return 'glibc';
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
    const config = fs.readFileSync(path.join(buildDir, 'config.gypi'), 'utf8');
    const match = /"node_module_version":\s*(\d+)/.exec(config);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function shippedPrebuilds(): { platform: string; abi: number; libc: string }[] {
  const found = [];
  const dir = path.join(ROOT, 'prebuilds');
  for (const platform of safeReaddir(dir)) {
    for (const name of safeReaddir(path.join(dir, platform))) {
      const match = /^blockbuster\.abi(\d+)\.(\w+)\.node$/.exec(name);
      if (match) found.push({ platform, abi: Number(match[1]), libc: match[2] });
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

function findBinding(): NativeBinding {
  const abi = Number(process.versions.modules);
  const platform = `${process.platform}-${process.arch}`;
  const tried: string[] = [];
  const builtFor = new Set<number>();

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
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const binding = require(file) as NativeBinding;
      if (typeof binding.abi === 'number' && binding.abi !== abi) {
        builtFor.add(binding.abi);
        tried.push(`${file}: built for Node ABI ${binding.abi}`);
        return undefined;
      }
      return binding;
    } catch (error) {
      const message = String((error as Error).message).split('\n')[0];
      const match = /built for Node ABI (\d+)/.exec(message);
      if (match) builtFor.add(Number(match[1]));
      tried.push(`${file}: ${message}`);
      return undefined;
    }
  };

  const buildDir = path.join(ROOT, 'build');
  const built = attempt(
    path.join(buildDir, 'Release', 'blockbuster.node'),
    configuredAbi(buildDir),
    'build/config.gypi',
  );
  if (built) return built;
  // Only now: the libc tag takes a process report, a few milliseconds.
  const libc = libcTag();
  const prebuilt = attempt(
    path.join(ROOT, 'prebuilds', platform, `blockbuster.abi${abi}.${libc}.node`),
    abi,
    'file name',
  );
  if (prebuilt) return prebuilt;

  const shipped = shippedPrebuilds();
  const here = shipped.filter((p) => p.platform === platform && p.libc === libc).map((p) => p.abi);
  const lines = [
    `blockbuster: watch() cannot load its native addon in Node ${process.version} (ABI ${abi}) on ${platform} (${libc}).`,
  ];
  if (builtFor.size > 0) {
    lines.push(
      `The binary found was built for Node ABI ${[...builtFor].join(', ')}, not ${abi}: it cannot run in this Node.`,
    );
  } else if (here.length > 0) {
    lines.push(`The ${platform} prebuilds in this package are built for Node ABI ${here.join(', ')}, not ${abi}.`);
  } else {
    lines.push(`No prebuilt binary ships for ${platform} (${libc}) and none was compiled at install.`);
  }
  lines.push('Tried:', ...tried.map((t) => `  - ${t}`));
  const list = shipped.map((p) => `${p.platform} ABI ${p.abi} ${p.libc}`).join(', ');
  lines.push(`Prebuilt binaries in this package: ${list || 'none'}.`);
  lines.push(
    `Fix: run \`${FIX}\` to compile it for this Node (needs python3, make and a C++ compiler). The rule set (BlockBuster) works without it.`,
  );
  throw new Error(lines.join('\n'));
}
