// Configuration from BLOCKBUSTER_* environment variables, shared by the preload and the runner helpers;
// the CLI passes its flags on as the same variables (envFor). lib/options.ts checks them.
import { ENV_VARIABLES, SETTINGS, readSettings } from './options';
import type { RawSettings, Setting, SettingDefaults, Settings } from './options';

type Env = Readonly<Record<string, string | undefined>>;

/** Names the directory the CLI reads summaries from; set by the CLI for its child (lib/summary.ts). */
export const SUMMARY_DIR_VARIABLE = 'BLOCKBUSTER_SUMMARY_DIR';

/** The settings the variables give, as text; an empty variable (FOO= in a shell or a CI file) is unset, as for NODE_OPTIONS. */
function rawFromEnv(env: Env): RawSettings {
  const raw: RawSettings = {};
  for (const setting of Object.keys(SETTINGS) as Setting[]) {
    const value = env[SETTINGS[setting].env]?.trim();
    if (value !== undefined && value !== '') raw[setting] = value;
  }
  return raw;
}

/** Reads every BLOCKBUSTER_* variable; throws a coded error (source: env) naming the first bad one. */
export function readEnv(env: Env, defaults: SettingDefaults): Settings {
  return readSettings(rawFromEnv(env), ENV_VARIABLES, defaults);
}

/** The variables that give these settings to a child process (the CLI's program). */
export function envFor(raw: RawSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const setting of Object.keys(raw) as Setting[]) {
    const value = raw[setting];
    if (value !== undefined) env[SETTINGS[setting].env] = value;
  }
  return env;
}
