export { BlockingError, isUserFrame, formatFrame } from './blocking-error';
export type {
  StackFrame,
  BlockState,
  BlockPhase,
  BlockingErrorSource,
  BlockingErrorInit,
  BlockingErrorJSON,
} from './blocking-error';
export type { OutputFormat, OutputTarget, WritableOutput, LoggerOutput } from './output';
export type { OngoingMessage } from './channels';
export type { LineKind, LineEnvelope } from './schema';
export { SCHEMA_VERSION } from './schema';
export { BLOCK_CHANNEL, ONGOING_CHANNEL } from './channels';
export { watch } from './watch';
export type { WatchOptions, Watcher, WatchMode } from './watch';
export * from './rules';
