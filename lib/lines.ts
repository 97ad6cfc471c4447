// The words of the lines that are not a block's report: the live message, the dropped and the
// suppressed notices. The native side writes the same lines itself (src/report_line.cc,
// src/line_writer.cc); test/integration/lines.test.js holds these to its bytes.
import { formatFrame } from './blocking-error';
import type { StackFrame } from './blocking-error';
import { envelope } from './schema';

/** A line both as a record (JSON, a logger's fields) and as text. */
export interface Notice {
  record: Record<string, unknown>;
  text: string;
}

/** How long the writers wait for a full output before a line is dropped (src/line_writer.cc). */
export const STALL_MS = 1000;

/** "Event loop still blocked after 412 ms in load (src/app.ts:3:9)": the live line's message. */
export function stillBlockedMessage(atMs: number, culprit: StackFrame | undefined): string {
  const where = culprit === undefined ? '' : ` in ${formatFrame(culprit)}`;
  return `Event loop still blocked after ${Math.round(atMs)} ms${where}`;
}

/** Blocks the native report queue could not keep. */
export function queueDropped(count: number, threadId?: number): Notice {
  return {
    record: { ...envelope('dropped', threadId), source: 'watchdog', dropped: count },
    text: `blockbuster: ${count} blocks were not reported (report queue full)`,
  };
}

/** Lines a writer dropped because the output stayed full. */
export function writerDropped(count: number, threadId: number): Notice {
  return {
    record: { ...envelope('dropped', threadId), source: 'writer', dropped: count },
    text: `blockbuster: ${count} lines dropped (the output stayed full for ${STALL_MS} ms)`,
  };
}

/** Reports the rate limit held back. */
export function suppressed(count: number, limitPerMinute: number, threadId?: number): Notice {
  return {
    record: { ...envelope('suppressed', threadId), suppressed: count, limitPerMinute },
    text: `blockbuster: ${count} more blocks not reported (rate limit ${limitPerMinute}/min)`,
  };
}
