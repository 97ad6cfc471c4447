// What every runner helper exports, bound to the process's session.
import { configProblem, session } from './session';
import type { SessionOptions, TestSession } from './session';

export interface HelperExports {
  /** Wraps a test body (or any function): its blocks and blocking calls are allowed. */
  allowBlocking<F extends (...args: never[]) => unknown>(fn: F): F;
  /** Allows blocking while a frame of `functions` in a file ending with `file` is on the stack (both detectors). */
  allowBlockingIn(file: string, functions: string | readonly string[]): void;
}

/** The session for a helper; a bad BLOCKBUSTER_* variable becomes an error naming only the variable. */
export function startSession(options: SessionOptions): TestSession {
  try {
    return session(options);
  } catch (error) {
    // The runner prints this where the setup file failed; the stack would only point at blockbuster.
    const problem = configProblem(error);
    if (problem !== undefined) throw Object.assign(new Error(problem), { stack: problem });
    throw error;
  }
}

export function helperExports(current: TestSession): HelperExports {
  return {
    allowBlocking: (fn) => current.allowBlocking(fn),
    allowBlockingIn: (file, functions) => current.allowBlockingIn(file, functions),
  };
}
