'use strict';
// One validator for every source of a setting: the same bad value gets the same code whether it came
// from watch()'s options, a BLOCKBUSTER_* variable (the preload, a real child process) or a CLI flag
// (the CLI, a real child process), and the message names the setting as that source spells it.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { ROOT, linkSelf, run } = require('../helpers');
const { watch } = require('../..');

const APP = path.join(__dirname, '..', 'fixtures', 'watchdog', 'app.js');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const MISSING = '/nonexistent-dir/blocks.log';

test.before(linkSelf);

// [what, watch() options, variables, flags, code, [option, variable, flag] as each source names it, message after the name]
const CASES = [
  ['a bad mode', { mode: 'loud' }, { BLOCKBUSTER_MODE: 'loud' }, ['--mode', 'loud'], 'ERR_BLOCKBUSTER_INVALID_OPTION', ['mode', 'BLOCKBUSTER_MODE', '--mode'], / must be 'diagnostics' or 'strict', got (the string )?"loud"/],
  ['a bad format', { format: 'xml' }, { BLOCKBUSTER_FORMAT: 'xml' }, ['--format', 'xml'], 'ERR_BLOCKBUSTER_INVALID_OPTION', ['format', 'BLOCKBUSTER_FORMAT', '--format'], / must be 'text' or 'json', got (the string )?"xml"/],
  ['a threshold below 1 ms', { thresholdMs: 0.5 }, { BLOCKBUSTER_THRESHOLD_MS: '0.5' }, ['--threshold', '0.5'], 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', ['thresholdMs', 'BLOCKBUSTER_THRESHOLD_MS', '--threshold'], / must be at least 1 \(ms\), got 0\.5/],
  ['an abort outside strict mode', { abortAfterMs: 1000 }, { BLOCKBUSTER_ABORT_AFTER_MS: '1000' }, ['--abort-after', '1000'], 'ERR_BLOCKBUSTER_INVALID_OPTION', ['abortAfterMs', 'BLOCKBUSTER_ABORT_AFTER_MS', '--abort-after'], / only applies to (mode: 'strict'|BLOCKBUSTER_MODE=strict|--mode strict)/],
  ['an abort not above the threshold', { mode: 'strict', thresholdMs: 50, abortAfterMs: 10 }, { BLOCKBUSTER_MODE: 'strict', BLOCKBUSTER_THRESHOLD_MS: '50', BLOCKBUSTER_ABORT_AFTER_MS: '10' }, ['--mode', 'strict', '--threshold', '50', '--abort-after', '10'], 'ERR_BLOCKBUSTER_OPTION_OUT_OF_RANGE', ['abortAfterMs', 'BLOCKBUSTER_ABORT_AFTER_MS', '--abort-after'], / must be greater than (thresholdMs|BLOCKBUSTER_THRESHOLD_MS|--threshold) \(50\), got 10/],
  ['an output file that cannot be opened', { output: MISSING }, { BLOCKBUSTER_OUTPUT: MISSING }, ['--output', MISSING], 'ERR_BLOCKBUSTER_OUTPUT_UNAVAILABLE', ['output', 'BLOCKBUSTER_OUTPUT', '--output'], /: cannot open "\/nonexistent-dir\/blocks\.log" for appending: ENOENT/],
];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const [what, options, env, flags, code, [option, variable, flag], problem] of CASES) {
  test(`${what}: ${code} from watch(), naming the option`, () => {
    assert.throws(() => watch(options), (error) => {
      assert.equal(error.code, code);
      assert.deepEqual(error.source, { kind: 'option', name: option });
      assert.match(error.message, new RegExp(`^watch\\(\\): option ${option}${problem.source}`));
      return true;
    });
  });

  test(`${what}: ${code} from the preload, naming ${variable}; the program never runs`, async () => {
    const { code: exitCode, stdout, stderr } = await run(['--require', 'blockbuster/register', APP, 'loop'], { cwd: ROOT, env });
    assert.equal(exitCode, 9, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`^blockbuster: ${escape(variable)}${problem.source}.* \\[${code}\\]$`, 'm'));
  });

  test(`${what}: ${code} from the CLI, naming ${flag} and no variable; the program never runs`, async () => {
    const { code: exitCode, stdout, stderr } = await run([CLI, ...flags, APP, 'loop'], { cwd: ROOT });
    assert.equal(exitCode, 2, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`^blockbuster: option ${escape(flag)}${problem.source}.* \\[${code}\\]$`, 'm'));
    assert.doesNotMatch(stderr, /\bBLOCKBUSTER_/, 'the flag, not the variable the CLI passes on');
  });
}

test('the settings of the environment and of the flags are one object: the same values, checked by the same code', () => {
  const { readEnv } = require('../../dist/config');
  const { CLI_FLAGS, readSettings } = require('../../dist/options');
  const defaults = { mode: 'diagnostics', rules: false };
  const text = { thresholdMs: '50', mode: 'strict', format: 'json', abortAfterMs: '500', failOnStartup: '1', rules: '1' };
  const fromEnv = readEnv(
    {
      BLOCKBUSTER_THRESHOLD_MS: ' 50 ',
      BLOCKBUSTER_MODE: 'strict',
      BLOCKBUSTER_FORMAT: 'json',
      BLOCKBUSTER_ABORT_AFTER_MS: '500',
      BLOCKBUSTER_FAIL_ON_STARTUP: '1',
      BLOCKBUSTER_RULES: '1',
      BLOCKBUSTER_OUTPUT: '',
    },
    defaults,
  );
  assert.deepEqual(fromEnv, readSettings(text, CLI_FLAGS, defaults));
  assert.deepEqual(fromEnv.watch, { thresholdMs: 50, mode: 'strict', output: 'stderr', format: 'json', failOnStartup: true, abortAfterMs: 500 });
  assert.throws(() => readEnv({ BLOCKBUSTER_RULES: 'yes' }, defaults), { code: 'ERR_BLOCKBUSTER_INVALID_OPTION', source: { kind: 'env', name: 'BLOCKBUSTER_RULES' } });
  assert.throws(() => readSettings({ rules: 'yes' }, CLI_FLAGS, defaults), { code: 'ERR_BLOCKBUSTER_INVALID_OPTION', source: { kind: 'flag', name: '--rules' } });
});

test('an empty --output is said with what a flag can give (no stream, no logger)', async () => {
  const { code, stderr } = await run([CLI, '--output=', APP, 'loop'], { cwd: ROOT });
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^blockbuster: option --output must be stderr, a file descriptor or a file path, got "" \[ERR_BLOCKBUSTER_INVALID_OPTION\]$/m);
});

test('the old names are gone: hangMs and hangReportMs are unknown options, --hang an unknown flag', async () => {
  for (const old of ['hangMs', 'hangReportMs']) {
    assert.throws(() => watch({ mode: 'strict', [old]: 500 }), { code: 'ERR_BLOCKBUSTER_UNKNOWN_OPTION', source: { kind: 'option', name: old } });
  }
  const { code, stderr } = await run([CLI, '--mode', 'strict', '--hang', '500', APP, 'loop'], { cwd: ROOT });
  assert.equal(code, 2, stderr);
  assert.match(stderr, /Unknown option '--hang'/);
});
