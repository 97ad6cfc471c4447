// diagnostics_channel: every report on `blockbuster:block`; for a block that outlasted the live-line
// delay, `blockbuster:ongoing` first, when JS runs again (it cannot run during the block).
import type { BlockingError } from './blocking-error';
import { envelope } from './schema';
import type { LineEnvelope } from './schema';

export const BLOCK_CHANNEL = 'blockbuster:block';
export const ONGOING_CHANNEL = 'blockbuster:ongoing';

type Channel = import('node:diagnostics_channel').Channel;
let channels: { block: Channel; ongoing: Channel } | undefined;

// Created at the first report, not at require('blockbuster'): the module is not loaded before.
function getChannels(): { block: Channel; ongoing: Channel } {
  if (channels === undefined) {
    const dc = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
    channels = { block: dc.channel(BLOCK_CHANNEL), ongoing: dc.channel(ONGOING_CHANNEL) };
  }
  return channels;
}

/** What `blockbuster:ongoing` carries: the live line's keys (schema kind `ongoing`) and the report. */
export interface OngoingMessage extends LineEnvelope {
  kind: 'ongoing';
  name: 'BlockingError';
  message: string;
  source: 'watchdog';
  status: 'ongoing';
  /** The moment the live line was due: liveReportAfterMs into the block. */
  durationMs: number;
  thresholdMs: number | undefined;
  state: BlockingError['state'];
  phase: BlockingError['phase'];
  culprit: BlockingError['culprit'];
  frames: BlockingError['frames'];
  /** The block's report, published on `blockbuster:block` right after. */
  error: BlockingError;
}

// A start-up block's live line is due this many times later (kStartupLiveLineFactor, src/watchdog.cc).
const STARTUP_LIVE_LINE_FACTOR = 10;

/** Publishes a report; builds nothing unless someone subscribed. */
export function publishReport(error: BlockingError, liveReportAfterMs: number): void {
  const { block: blockChannel, ongoing: ongoingChannel } = getChannels();
  if (liveReportAfterMs > 0 && ongoingChannel.hasSubscribers) {
    const dueMs = error.phase === 'startup' ? liveReportAfterMs * STARTUP_LIVE_LINE_FACTOR : liveReportAfterMs;
    if ((error.durationMs ?? 0) >= dueMs) ongoingChannel.publish(ongoingMessage(error, dueMs));
  }
  if (blockChannel.hasSubscribers) blockChannel.publish(error);
}

function ongoingMessage(error: BlockingError, atMs: number): OngoingMessage {
  // The live line was due atMs after the block began, which ended durationMs after it began.
  const time = new Date(Date.parse(error.time) - Math.max(0, (error.durationMs ?? atMs) - atMs));
  const where = error.culprit
    ? ` in ${error.culprit.functionName || '<anonymous>'} (${error.culprit.file}:${error.culprit.line}:${error.culprit.column})`
    : '';
  return {
    ...envelope('ongoing', error.threadId, time),
    kind: 'ongoing',
    name: 'BlockingError',
    message: `Event loop still blocked after ${Math.round(atMs)} ms${where}`,
    source: 'watchdog',
    status: 'ongoing',
    durationMs: atMs,
    thresholdMs: error.thresholdMs,
    state: error.state,
    phase: error.phase,
    culprit: error.culprit,
    frames: error.frames,
    error,
  };
}
