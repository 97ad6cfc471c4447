#!/usr/bin/env node
// `blockbuster [options] -- node app.js [args]` or `blockbuster [options] app.js [args]`: runs the
// program with the preload, passes its stdio, signals and exit code through, and prints a summary.
import { spawn } from 'node:child_process';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { parseArgs } from 'node:util';
import { formatSummary, readSummaries, summaryRecord } from './summary';
import { packageVersion } from './package-info';
import { SUMMARY_DIR_VARIABLE, envFor } from './config';
import { isOptionError, withCode } from './errors';
import { CLI_FLAGS, outputUnavailable, readSettings } from './options';
import type { RawSettings } from './options';

const USAGE = `Usage: blockbuster [options] -- <command> [args...]
       blockbuster [options] <script.js> [args...]

Runs the program with blockbuster's preload (every Node process and worker it starts is watched),
then prints a summary of the blocks by culprit and the event-loop delay percentiles to stderr.

       blockbuster report <blocks.jsonl>... -o <report.html>

       blockbuster report <blocks.jsonl>... -o <report.html>

Options:
  --threshold <ms>     report blocks longer than this (default 20)
  --mode <mode>        diagnostics (log, default) or strict (a block fails the program)
  --rules              also activate the rule set (known sync APIs: a BlockingError thrown in
                       strict mode, reported in diagnostics mode)
  --fail-on-startup    strict mode: blocks before the event loop starts fail too
  --output <target>    stderr (default), a file descriptor or a file path (appended)
  --format <format>    text (default) or json: the format of each block's report and of the summary
  --abort-after <ms>   strict mode: abort the program when one block lasts this long
  --trace <file>       write the blocks as a Chrome trace (Perfetto, chrome://tracing, speedscope)
  --no-summary         do not print the summary at exit
  -h, --help           this help
  -v, --version        blockbuster's version

Each option is also an environment variable for \`node --require blockbuster/register\`:
BLOCKBUSTER_THRESHOLD_MS, BLOCKBUSTER_MODE, BLOCKBUSTER_RULES, BLOCKBUSTER_FAIL_ON_STARTUP,
BLOCKBUSTER_OUTPUT, BLOCKBUSTER_FORMAT, BLOCKBUSTER_ABORT_AFTER_MS, BLOCKBUSTER_TRACE. Where the watchdog cannot load here,
the program runs with one warning (BLOCKBUSTER_REQUIRE_WATCHDOG=1, or strict mode: it does not run, exit 1).
Exit code: the program's own; 2 for a bad option.`;

const OPTIONS = {
  threshold: { type: 'string' },
  mode: { type: 'string' },
  rules: { type: 'boolean' },
  'fail-on-startup': { type: 'boolean' },
  output: { type: 'string' },
  format: { type: 'string' },
  'abort-after': { type: 'string' },
  trace: { type: 'string' },
  'no-summary': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

class UsageError extends Error {}

/** Splits argv into blockbuster's options and the command: at `--` or at the first non-option. */
function splitArgv(argv: readonly string[]): { own: string[]; command: string[]; explicit: boolean } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') return { own: argv.slice(0, i), command: argv.slice(i + 1), explicit: true };
    if (!arg.startsWith('-') || arg === '-') return { own: argv.slice(0, i), command: argv.slice(i), explicit: false };
    const name = arg.replace(/^--?/, '').split('=')[0] ?? '';
    const spec = (OPTIONS as Record<string, { type: string; short?: string } | undefined>)[name];
    // An option's value is the next argument unless given as --name=value.
    if (spec?.type === 'string' && !arg.includes('=')) i++;
  }
  return { own: [...argv], command: [], explicit: false };
}

interface Plan {
  env: Record<string, string>;
  command: [string, ...string[]];
  summary: boolean;
  trace: string | undefined;
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
  // The flags become the settings the environment would give, checked once by the same validator.
  const raw: RawSettings = {
    thresholdMs: values.threshold,
    mode: values.mode,
    rules: values.rules ? '1' : undefined,
    failOnStartup: values['fail-on-startup'] ? '1' : undefined,
    output: values.output,
    format: values.format,
    abortAfterMs: values['abort-after'],
  };
  try {
    readSettings(raw, CLI_FLAGS, { mode: 'diagnostics', rules: false });
  } catch (error) {
    if (isOptionError(error)) throw new UsageError(withCode(error));
    throw error;
  }
  const output = values.output;
  if (output !== undefined && output !== 'stderr' && !/^\d+$/.test(output)) {
    // Said here, naming the flag, rather than by the program's preload naming a variable.
    try {
      fs.closeSync(fs.openSync(output, 'a'));
    } catch (error) {
      throw new UsageError(withCode(outputUnavailable(CLI_FLAGS, output, error)));
    }
  }
  const env = envFor(raw);
  let trace: string | undefined;
  if (values.trace !== undefined) {
    trace = path.resolve(values.trace);
    try {
      fs.accessSync(path.dirname(trace), fs.constants.W_OK);
    } catch (error) {
      throw new UsageError(`option --trace: cannot write ${JSON.stringify(values.trace)}: ${(error as Error).message}`);
    }
  }
  const [program, ...args] = command;
  if (program === undefined)
    throw new UsageError('no program to run: blockbuster [options] -- node app.js, or blockbuster app.js');
  // `node` means the Node running blockbuster; a bare script (short form) runs with it too.
  const resolved: Plan['command'] = !explicit
    ? [process.execPath, program, ...args]
    : program === 'node'
      ? [process.execPath, ...args]
      : [program, ...args];
  return { env, command: resolved, summary: !values['no-summary'], trace };
}

/** NODE_OPTIONS with the preload added; quoted, since the path may contain spaces. */
function withPreload(nodeOptions: string | undefined): string {
  const preload = path.join(__dirname, 'register.js');
  return `${nodeOptions ?? ''} --require ${JSON.stringify(preload)}`.trim();
}

/** `blockbuster report <files…> -o <out.html>`: the page of lib/report-page.ts. */
function report(argv: readonly string[]): void {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(`report: ${(error as Error).message}`);
  }
  if (parsed.values.help) return void process.stdout.write(`${REPORT_USAGE}\n`);
  const out = parsed.values.output;
  if (out === undefined || out === '')
    throw new UsageError('report: option -o <report.html> is required (the page to write)');
  if (parsed.positionals.length === 0)
    throw new UsageError('report: no input: give the JSON-lines files (BLOCKBUSTER_FORMAT=json output) to read');
  const page = require('./report-page') as typeof import('./report-page');
  try {
    const blocks = page.writeReportPage(parsed.positionals, out);
    process.stderr.write(`blockbuster: wrote ${out} (${blocks} block${blocks === 1 ? '' : 's'})\n`);
  } catch (error) {
    if (error instanceof page.ReportInputError) throw new UsageError(`report: ${error.message}`);
    throw error;
  }
}

const REPORT_USAGE = `Usage: blockbuster report <blocks.jsonl>... -o <report.html>

Reads the JSON lines blockbuster wrote (--format json, BLOCKBUSTER_FORMAT=json, or pino; one file or
several, from several processes or hosts) and writes one self-contained HTML page: a timeline of the
blocks per thread with the loop delay, a table of culprits and a flame graph of the sampled stacks.`;

function main(): void {
  if (process.argv[2] === 'report') {
    try {
      report(process.argv.slice(3));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`blockbuster: ${error.message}\nRun blockbuster report --help for usage.\n`);
      process.exitCode = 2;
    }
    return;
  }
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
  if (planned === 'version') return void process.stdout.write(`${packageVersion()}\n`);
  const { env, command, summary, trace } = planned;
  const summaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-summary-'));
  // Each process of the run writes its own trace here; the CLI merges them into --trace at the end.
  if (trace !== undefined) env.BLOCKBUSTER_TRACE = path.join(summaryDir, 'trace-%p.trace');
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
    if (trace !== undefined) {
      const parts = fs
        .readdirSync(summaryDir)
        .filter((name) => name.startsWith('trace-') && name.endsWith('.trace'))
        .map((name) => path.join(summaryDir, name));
      try {
        (require('./trace') as typeof import('./trace')).mergeTraces(parts, trace);
      } catch (error) {
        process.stderr.write(
          `blockbuster: cannot write the trace ${JSON.stringify(trace)}: ${(error as Error).message}\n`,
        );
      }
    }
    fs.rmSync(summaryDir, { recursive: true, force: true });
    // Die of the child's signal, so that a shell or CI sees what the program saw.
    if (signal !== null) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
}

main();
