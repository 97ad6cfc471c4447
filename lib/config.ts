// Configuration from BLOCKBUSTER_* environment variables, shared by the preload and the runner helpers.
import type { WatchMode, WatchOptions } from './watch';

/** A bad environment value: the message names the variable and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface EnvConfig {
  /** Options for watch(): every field is set from a variable or the given default. */
  watch: WatchOptions & { thresholdMs: number; mode: WatchMode };
  /** Whether the rule set (BlockBuster) is activated too. */
  rules: boolean;
}

export interface EnvDefaults {
  mode: WatchMode;
  rules: boolean;
}

export const ENV_VARIABLES = [
  'BLOCKBUSTER_THRESHOLD_MS',
  'BLOCKBUSTER_MODE',
  'BLOCKBUSTER_RULES',
  'BLOCKBUSTER_OUTPUT',
  'BLOCKBUSTER_FORMAT',
  'BLOCKBUSTER_HANG_MS',
  'BLOCKBUSTER_FAIL_ON_STARTUP',
] as const;

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: (typeof ENV_VARIABLES)[number]): string | undefined {
  const raw = env[name];
  // An empty variable (FOO= in a shell or a CI file) means unset, as for NODE_OPTIONS.
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function milliseconds(env: Env, name: 'BLOCKBUSTER_THRESHOLD_MS' | 'BLOCKBUSTER_HANG_MS'): number | undefined {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  const parsed = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(parsed) || parsed <= 0) {
    throw new ConfigError(`${name} must be a number of milliseconds > 0, got ${JSON.stringify(env[name])}`);
  }
  return parsed;
}

function flag(env: Env, name: 'BLOCKBUSTER_RULES' | 'BLOCKBUSTER_FAIL_ON_STARTUP'): boolean | undefined {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ConfigError(`${name} must be 1 or 0 (or true/false), got ${JSON.stringify(env[name])}`);
}

/** Reads every BLOCKBUSTER_* variable; throws a ConfigError naming the first bad one. */
export function readEnv(env: Env, defaults: EnvDefaults): EnvConfig {
  const thresholdMs = milliseconds(env, 'BLOCKBUSTER_THRESHOLD_MS') ?? 20;
  const rawMode = value(env, 'BLOCKBUSTER_MODE');
  if (rawMode !== undefined && rawMode !== 'diagnostics' && rawMode !== 'strict') {
    throw new ConfigError(
      `BLOCKBUSTER_MODE must be 'diagnostics' or 'strict', got ${JSON.stringify(env.BLOCKBUSTER_MODE)}`,
    );
  }
  const mode: WatchMode = rawMode ?? defaults.mode;
  const rules = flag(env, 'BLOCKBUSTER_RULES') ?? defaults.rules;
  const rawOutput = value(env, 'BLOCKBUSTER_OUTPUT');
  const output =
    rawOutput === undefined || rawOutput === 'stderr'
      ? 'stderr'
      : /^\d+$/.test(rawOutput)
        ? Number(rawOutput)
        : rawOutput;
  const format = value(env, 'BLOCKBUSTER_FORMAT') ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new ConfigError(`BLOCKBUSTER_FORMAT must be 'text' or 'json', got ${JSON.stringify(env.BLOCKBUSTER_FORMAT)}`);
  }
  const hangMs = milliseconds(env, 'BLOCKBUSTER_HANG_MS');
  if (hangMs !== undefined && mode !== 'strict') {
    throw new ConfigError(
      `BLOCKBUSTER_HANG_MS only applies to strict mode (BLOCKBUSTER_MODE=strict), got mode '${mode}'`,
    );
  }
  if (hangMs !== undefined && hangMs <= thresholdMs) {
    throw new ConfigError(
      `BLOCKBUSTER_HANG_MS must be greater than the threshold (${thresholdMs} ms), got ${JSON.stringify(env.BLOCKBUSTER_HANG_MS)}`,
    );
  }
  const failOnStartup = flag(env, 'BLOCKBUSTER_FAIL_ON_STARTUP') ?? false;
  return {
    watch: {
      thresholdMs,
      mode,
      output,
      format,
      failOnStartup,
      ...(hangMs === undefined ? {} : { abortAfterMs: hangMs }),
    },
    rules,
  };
}

/** watch()'s error for an option set from a variable, restated with the variable's name (output: a path that cannot be opened). */
export function restateForEnv(error: unknown): ConfigError | undefined {
  const match = error instanceof Error ? /^watch\(\): option output: (.*)$/s.exec(error.message) : null;
  return match ? new ConfigError(`BLOCKBUSTER_OUTPUT: ${match[1]}`) : undefined;
}
