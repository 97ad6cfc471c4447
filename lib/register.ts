// Preload: `node --require blockbuster/register app.js` or `node --import blockbuster/register app.mjs`.
// Configured by BLOCKBUSTER_* variables; watches every thread that loads it (workers inherit it).
import fs = require('node:fs');
import path = require('node:path');
import { isMainThread } from './apis/builtins';
import { isNoWatchdogError } from './binding';
import { SUMMARY_DIR_VARIABLE, readEnv } from './config';
import { isOptionError, withCode } from './errors';
import { ENV_VARIABLES } from './options';
import { watcherOrWarning } from './no-watchdog';
import type { SummaryRecorder } from './summary';
import { createWatcher } from './watch';

const REGISTERED = Symbol.for('blockbuster.register');

// 9: Node's own exit code for an invalid argument.
function fail(message: string, exitCode = 9): never {
  fs.writeSync(2, `blockbuster: ${message}\n`);
  process.exit(exitCode);
}

function start(): void {
  let config;
  try {
    config = readEnv(process.env, { mode: 'diagnostics', rules: false });
  } catch (error) {
    if (isOptionError(error)) fail(withCode(error));
    throw error;
  }
  const summaryDir = process.env[SUMMARY_DIR_VARIABLE];
  let recorder: SummaryRecorder | undefined;
  // Loaded only when asked for: an untraced process pays nothing for it.
  const trace = config.trace && (require('./trace') as typeof import('./trace'));
  if (config.trace && trace && isMainThread()) {
    const dir = path.dirname(trace.tracePath(config.trace.path));
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (error) {
      fail(`BLOCKBUSTER_TRACE: cannot write a file in ${JSON.stringify(dir)}: ${(error as Error).message}`);
    }
  }
  const tracing = config.trace && trace?.startTrace(config.trace.path, config.trace.maxEvents);
  // Strict mode asked for enforcement: without the watchdog that is an error, unless said otherwise.
  const required = config.requireWatchdog ?? config.watch.mode === 'strict';
  const requiredBy =
    config.requireWatchdog === true ? 'BLOCKBUSTER_REQUIRE_WATCHDOG=1' : 'strict mode: BLOCKBUSTER_MODE=strict';
  let watcher;
  try {
    watcher = watcherOrWarning(
      () =>
        createWatcher(config.watch, {
          observe:
            summaryDir || tracing
              ? (error) => {
                  recorder?.record(error);
                  tracing?.recorder.record(error);
                }
              : undefined,
          allowed: summaryDir ? (durationMs) => recorder?.allow(durationMs) : undefined,
          yieldToWatch: true,
          naming: ENV_VARIABLES,
        }),
      { requiredBy: required ? requiredBy : undefined, rules: config.rules },
    );
  } catch (error) {
    if (isOptionError(error)) fail(withCode(error));
    if (isNoWatchdogError(error)) fail(error.message.replace(/^blockbuster: /, ''), 1);
    throw error;
  }
  // Diagnostics never throws into the program: the rule set reports its calls instead of raising.
  // The rule set and the summary load only when asked for, as in the main entry.
  if (config.rules) {
    const { BlockBuster } = require('./rules') as typeof import('./rules');
    new BlockBuster(
      config.watch.mode === 'strict'
        ? {}
        : { mode: 'report', output: config.watch.output, format: config.watch.format },
    ).activate();
  }
  if (tracing && watcher === undefined) tracing.recorder.stop();
  else if (tracing) {
    // After the watcher's own exit listener, so blocks delivered at exit are in the file.
    process.on('exit', () => tracing.write());
    if (isMainThread()) onTerminatingSignal(() => tracing.write());
  }
  // No watched thread here: the CLI's summary counts none rather than a clean one.
  if (!summaryDir || watcher === undefined) return;
  const { SummaryRecorder: Recorder } = require('./summary') as typeof import('./summary');
  const summary = new Recorder(summaryDir, config.watch.thresholdMs);
  recorder = summary;
  // After the watcher's own exit listener, so blocks delivered at exit are counted.
  process.on('exit', () => summary.write());
  if (isMainThread()) onTerminatingSignal(() => summary.write());
}

/** Runs `write` on SIGINT/SIGTERM, then dies of the signal as the program would have without us. */
function onTerminatingSignal(write: () => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const listener = (): void => {
      write();
      // Only ours (summary and trace are both ours): the program has no listener of its own.
      if (process.listeners(signal).every((l) => OUR_LISTENERS.has(l))) {
        for (const l of process.listeners(signal)) {
          if (l !== listener) (l as () => void)();
          process.removeListener(signal, l as () => void);
        }
        process.kill(process.pid, signal);
      }
    };
    OUR_LISTENERS.add(listener);
    process.on(signal, listener);
  }
}

const OUR_LISTENERS = new Set<unknown>();

const scope = globalThis as { [REGISTERED]?: true };
// --require and --import together, or a second copy: one watcher per thread.
if (scope[REGISTERED] === undefined) {
  scope[REGISTERED] = true;
  start();
}
