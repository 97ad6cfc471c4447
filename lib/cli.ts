#!/usr/bin/env node
// `blockbuster [options] -- node app.js [args]` or `blockbuster [options] app.js [args]`: runs the
// program with the preload, passes its stdio, signals and exit code through, and prints a summary.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { SUMMARY_DIR_VARIABLE, formatSummary, readSummaries, summaryRecord } from './summary';

const USAGE = `Usage: blockbuster [options] -- <command> [args...]
       blockbuster [options] <script.js> [args...]

Runs the program with blockbuster's preload (every Node process and worker it starts is watched),
then prints a summary of the blocks by culprit and the event-loop delay percentiles to stderr.

Options:
  --threshold <ms>     report blocks longer than this (default 20)
  --mode <mode>        diagnostics (log, default) or strict (a block fails the program)
  --rules              also activate the rule set (known sync APIs: a BlockingError thrown in
                       strict mode, reported in diagnostics mode)
  --fail-on-startup    strict mode: blocks before the event loop starts fail too
  --output <target>    stderr (default), a file descriptor or a file path (appended)
  --format <format>    text (default) or json: the format of each block's report and of the summary
  --hang <ms>          strict mode: abort the program when one block lasts this long
  --no-summary         do not print the summary at exit
  -h, --help           this help
  -v, --version        blockbuster's version

Each option is also an environment variable for \`node --require blockbuster/register\`:
BLOCKBUSTER_THRESHOLD_MS, BLOCKBUSTER_MODE, BLOCKBUSTER_RULES, BLOCKBUSTER_FAIL_ON_STARTUP,
BLOCKBUSTER_OUTPUT, BLOCKBUSTER_FORMAT, BLOCKBUSTER_HANG_MS.
Exit code: the program's own; 2 for a bad option.`;

const OPTIONS = {
  threshold: { type: 'string' },
  mode: { type: 'string' },
  rules: { type: 'boolean' },
  'fail-on-startup': { type: 'boolean' },
  output: { type: 'string' },
  format: { type: 'string' },
  hang: { type: 'string' },
  'no-summary': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

class UsageError extends Error {}

/** Splits argv into blockbuster's options and the command: at `--` or at the first non-option. */
function splitArgv(argv: readonly string[]): { own: string[]; command: string[]; explicit: boolean } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { own: argv.slice(0, i), command: argv.slice(i + 1), explicit: true };
    if (!arg.startsWith('-') || arg === '-') return { own: argv.slice(0, i), command: argv.slice(i), explicit: false };
    const name = arg.replace(/^--?/, '').split('=')[0];
    const spec = (OPTIONS as Record<string, { type: string; short?: string } | undefined>)[name];
    // An option's value is the next argument unless given as --name=value.
    if (spec?.type === 'string' && !arg.includes('=')) i++;
  }
  return { own: [...argv], command: [], explicit: false };
}

function positiveMs(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) {
    throw new UsageError(`option --${flag} must be a number of milliseconds > 0, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

interface Plan {
  env: Record<string, string>;
  command: string[];
  summary: boolean;
}

function plan(argv: readonly string[]): Plan | 'help' | 'version' {
  const { own, command, explicit } = splitArgv(argv);
  let values;
  try {
    ({ values } = parseArgs({ args: own, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--x'", "Option '--mode <value>' argument missing".
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const env: Record<string, string> = {};
  const threshold = positiveMs('threshold', values.threshold);
  if (threshold !== undefined) env.BLOCKBUSTER_THRESHOLD_MS = threshold;
  if (values.mode !== undefined) {
    if (values.mode !== 'diagnostics' && values.mode !== 'strict') {
      throw new UsageError(`option --mode must be 'diagnostics' or 'strict', got ${JSON.stringify(values.mode)}`);
    }
    env.BLOCKBUSTER_MODE = values.mode;
  }
  if (values.rules) env.BLOCKBUSTER_RULES = '1';
  if (values['fail-on-startup']) env.BLOCKBUSTER_FAIL_ON_STARTUP = '1';
  if (values.output !== undefined) {
    if (values.output === '')
      throw new UsageError('option --output must be stderr, a file descriptor or a file path, got ""');
    if (values.output !== 'stderr' && !/^\d+$/.test(values.output)) {
      // Said here, naming the flag, rather than by the program's preload naming a variable.
      try {
        fs.closeSync(fs.openSync(values.output, 'a'));
      } catch (error) {
        throw new UsageError(
          `option --output: cannot open ${JSON.stringify(values.output)} for appending: ${(error as Error).message}`,
        );
      }
    }
    env.BLOCKBUSTER_OUTPUT = values.output;
  }
  if (values.format !== undefined) {
    if (values.format !== 'text' && values.format !== 'json') {
      throw new UsageError(`option --format must be 'text' or 'json', got ${JSON.stringify(values.format)}`);
    }
    env.BLOCKBUSTER_FORMAT = values.format;
  }
  const hang = positiveMs('hang', values.hang);
  if (hang !== undefined) {
    if (values.mode !== 'strict') throw new UsageError('option --hang needs --mode strict');
    if (Number(hang) <= Number(threshold ?? 20))
      throw new UsageError(`option --hang must be greater than the threshold (${threshold ?? 20} ms), got ${hang}`);
    env.BLOCKBUSTER_HANG_MS = hang;
  }
  if (command.length === 0)
    throw new UsageError('no program to run: blockbuster [options] -- node app.js, or blockbuster app.js');
  // `node` means the Node running blockbuster; a bare script (short form) runs with it too.
  const resolved = explicit
    ? command[0] === 'node'
      ? [process.execPath, ...command.slice(1)]
      : command
    : [process.execPath, ...command];
  return { env, command: resolved, summary: !values['no-summary'] };
}

/** NODE_OPTIONS with the preload added; quoted, since the path may contain spaces. */
function withPreload(nodeOptions: string | undefined): string {
  const preload = path.join(__dirname, 'register.js');
  return `${nodeOptions ?? ''} --require ${JSON.stringify(preload)}`.trim();
}

function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
    .version;
}

function main(): void {
  let planned: ReturnType<typeof plan>;
  try {
    planned = plan(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`blockbuster: ${error.message}\nRun blockbuster --help for usage.\n`);
    process.exitCode = 2;
    return;
  }
  if (planned === 'help') return void process.stdout.write(`${USAGE}\n`);
  if (planned === 'version') return void process.stdout.write(`${version()}\n`);
  const { env, command, summary } = planned;
  const summaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-summary-'));
  const child = spawn(command[0], command.slice(1), {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...env,
      NODE_OPTIONS: withPreload(process.env.NODE_OPTIONS),
      [SUMMARY_DIR_VARIABLE]: summaryDir,
    },
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, forward);
  child.on('error', (error) => {
    process.stderr.write(`blockbuster: cannot run ${JSON.stringify(command[0])}: ${error.message}\n`);
    fs.rmSync(summaryDir, { recursive: true, force: true });
    process.exitCode = 127;
  });
  child.on('exit', (code, signal) => {
    for (const name of signals) process.removeListener(name, forward);
    if (summary) {
      const summaries = readSummaries(summaryDir);
      // --format json: the summary is one more JSON line of the schema (kind 'summary').
      const text =
        env.BLOCKBUSTER_FORMAT === 'json' ? JSON.stringify(summaryRecord(summaries)) : formatSummary(summaries);
      process.stderr.write(`${text}\n`);
    }
    fs.rmSync(summaryDir, { recursive: true, force: true });
    // Die of the child's signal, so that a shell or CI sees what the program saw.
    if (signal !== null) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
}

main();
