export { BlockingError, isUserFrame, formatFrame } from './blocking-error';
export type { StackFrame, BlockState, BlockingErrorSource, BlockingErrorInit } from './blocking-error';
