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
export { BLOCK_CHANNEL, ONGOING_CHANNEL } from './schema';
export type { OngoingMessage } from './channels';

// The rule set: loaded when first used, so that an app that only calls watch() never loads its four
// modules (less start-up allocation: on a small app that is the difference between V8's memory
// reducer running or not; docs/architecture.md, the idle path).
import type { BlockBuster as RuleSet } from './rules';
export type BlockBuster = RuleSet;
export declare const BlockBuster: typeof RuleSet;
const ruleSet = {
  get BlockBuster(): typeof RuleSet {
    return (require('./rules') as typeof import('./rules')).BlockBuster;
  },
};
// The form TypeScript gives a re-export: Node's CommonJS lexer reads it, so ES importers see the name.
Object.defineProperty(exports, 'BlockBuster', {
  enumerable: true,
  get: function () {
    return ruleSet.BlockBuster;
  },
});
export type { BlockBusterFunction, BlockBusterMode, BlockBusterOptions, CanBlockIn, UnusedAllowance } from './rules';

// Errors of bad options and set-up: a stable `code` and where the value came from
export { isBlockbusterError } from './errors';
export type { BlockbusterError, ErrorCode, OptionSource, SourceKind } from './errors';
