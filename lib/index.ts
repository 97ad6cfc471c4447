export { BlockingError, isUserFrame, formatFrame } from './blocking-error';
export type { StackFrame, BlockState, BlockPhase, BlockingErrorSource, BlockingErrorInit } from './blocking-error';
export { watch } from './watch';
export type { WatchOptions, Watcher, WatchMode } from './watch';
export * from './rules';
