// When no watchdog binary loads here: the preload, the CLI and the runner helpers go on with the rule
// set and say so once, unless the user asked for the watchdog (then it is an error).
import fs = require('node:fs');
import path = require('node:path');
import { isNoWatchdogError } from './binding';
import type { NoWatchdogError } from './binding';

/** Set once the warning is written: workers and child processes started afterwards inherit it and stay quiet. */
const WARNED_VARIABLE = 'BLOCKBUSTER_NO_WATCHDOG_WARNED';

export interface WatchdogPolicy {
  /** Why the watchdog is required (`BLOCKBUSTER_REQUIRE_WATCHDOG=1`), or undefined when it is not. */
  requiredBy: string | undefined;
  /** Whether the rule set runs anyway: the warning says what is left. */
  rules: boolean;
  /** A test-runner helper: the runner's workers say it once between them. */
  siblings?: boolean;
}

/**
 * Runs `start` (it creates the watcher). When no binary loads: undefined after one warning line, or,
 * when the watchdog is required, the NoWatchdogError restated to lead with why it was required.
 */
export function watcherOrWarning<T>(start: () => T, policy: WatchdogPolicy): T | undefined {
  try {
    return start();
  } catch (error) {
    if (!isNoWatchdogError(error)) throw error;
    if (policy.requiredBy !== undefined) throw requiredError(error, policy.requiredBy);
    warnOnce(error, policy.rules, policy.siblings === true);
    return undefined;
  }
}

function requiredError(error: NoWatchdogError, requiredBy: string): NoWatchdogError {
  const message =
    `blockbuster: the watchdog is required (${requiredBy}) but cannot run on ${error.platform}: ${error.reason}.\n` +
    `${error.message.replace(/^blockbuster: /, '')}\n` +
    'BLOCKBUSTER_REQUIRE_WATCHDOG=0 goes on without it (rule set only), with a warning.';
  // The runners print the stack: blockbuster's own frames would only hide the message.
  return Object.assign(error, { message, stack: message });
}

function warnOnce(error: NoWatchdogError, rules: boolean, siblings: boolean): void {
  if (process.env[WARNED_VARIABLE] === '1') return;
  process.env[WARNED_VARIABLE] = '1';
  if (siblings && !firstSibling()) return;
  const left = rules ? 'going on with the rule set only' : 'going on without it (the rule set is off)';
  const line =
    `blockbuster: warning: the watchdog cannot run on ${error.platform} (Node ${process.version}, ABI ${process.versions.modules}): ` +
    `${error.reason}; ${left}. To get it: ${error.fix}. BLOCKBUSTER_REQUIRE_WATCHDOG=1 makes this an error.\n`;
  try {
    fs.writeSync(2, line);
  } catch {
    // stderr closed: nothing else to tell.
  }
}

// Test runners start a worker (process or thread) per file or per slot, all owned by one runner
// process: the first worker to create the runner's marker file says it for the run.
function firstSibling(): boolean {
  const env = process.env;
  if (env.JEST_WORKER_ID === undefined && env.VITEST_WORKER_ID === undefined && env.NODE_TEST_CONTEXT === undefined)
    return true;
  const { isMainThread } = require('node:worker_threads') as typeof import('node:worker_threads');
  const runner = isMainThread ? process.ppid : process.pid;
  let started = '';
  try {
    // The runner's start time (Linux) tells a reused pid apart.
    const startTime = fs.readFileSync(`/proc/${runner}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
    if (startTime !== undefined) started = `-${startTime}`;
  } catch {
    // Not Linux: the pid alone.
  }
  const marker = path.join(
    (require('node:os') as typeof import('node:os')).tmpdir(),
    `blockbuster-no-watchdog-${runner}${started}`,
  );
  try {
    fs.closeSync(fs.openSync(marker, 'wx'));
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EEXIST';
  }
}
