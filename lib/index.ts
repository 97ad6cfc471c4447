// The package's public surface, listed name by name: what is not here is internal and may change.
// The rule table and its default allowances are not exported (the table holds live module
// objects); docs/rules.md lists both.

// The watchdog
export { watch } from './watch';
export type { WatchOptions, Watcher, WatchMode } from './watch';
export { allowBlocking } from './allowed';

// What a block is
export { BlockingError, isUserFrame, formatFrame } from './blocking-error';
export type {
  StackFrame,
  BlockState,
  BlockPhase,
  BlockingErrorSource,
  BlockingErrorInit,
  BlockingErrorJSON,
} from './blocking-error';

// Where reports go
export type { OutputFormat, OutputTarget, WritableOutput, LoggerOutput } from './output';
export { SCHEMA_VERSION } from './schema';
export type { LineKind, LineEnvelope } from './schema';
export { BLOCK_CHANNEL, ONGOING_CHANNEL } from './channels';
export type { OngoingMessage } from './channels';

// The rule set
export { BlockBuster } from './rules';
export type { BlockBusterFunction, BlockBusterMode, BlockBusterOptions, CanBlockIn, UnusedAllowance } from './rules';

// Errors of bad options and set-up: a stable `code` and where the value came from
export { isBlockbusterError } from './errors';
export type { BlockbusterError, ErrorCode, OptionSource, SourceKind } from './errors';
