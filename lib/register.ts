// Preload: `node --require blockbuster/register app.js` or `node --import blockbuster/register app.mjs`.
// Configured by BLOCKBUSTER_* variables; watches every thread that loads it (workers inherit it).
import * as fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { ConfigError, readEnv, restateForEnv } from './config';
import { BlockBuster } from './rules';
import { SUMMARY_DIR_VARIABLE, SummaryRecorder } from './summary';
import { createWatcher } from './watch';

const REGISTERED = Symbol.for('blockbuster.register');

function fail(message: string): never {
  fs.writeSync(2, `blockbuster: ${message}\n`);
  // 9: Node's own exit code for an invalid argument.
  process.exit(9);
}

function start(): void {
  let config;
  try {
    config = readEnv(process.env, { mode: 'diagnostics', rules: false });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const summaryDir = process.env[SUMMARY_DIR_VARIABLE];
  const recorder = summaryDir ? new SummaryRecorder(summaryDir, config.watch.thresholdMs) : undefined;
  try {
    createWatcher(config.watch, { observe: recorder && ((error) => recorder.record(error)), yieldToWatch: true });
  } catch (error) {
    const restated = restateForEnv(error);
    if (restated) fail(restated.message);
    throw error;
  }
  // Diagnostics never throws into the program: the rule set reports its calls instead of raising.
  if (config.rules)
    new BlockBuster(
      config.watch.mode === 'strict'
        ? {}
        : { mode: 'report', output: config.watch.output, format: config.watch.format },
    ).activate();
  if (recorder === undefined) return;
  // After the watcher's own exit listener, so blocks delivered at exit are counted.
  process.on('exit', () => recorder.write());
  if (!isMainThread) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const listener = (): void => {
      recorder.write();
      // Only ours: die of the signal as the program would have without this listener.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, listener);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, listener);
  }
}

const scope = globalThis as { [REGISTERED]?: true };
// --require and --import together, or a second copy: one watcher per thread.
if (scope[REGISTERED] === undefined) {
  scope[REGISTERED] = true;
  start();
}
