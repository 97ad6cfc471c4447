// diagnostics_channel: every report on `blockbuster:block`; for a block that outlasted the live-line
// delay, `blockbuster:ongoing` first, when JS runs again (it cannot run during the block).
import { nativeConstants } from './binding';
import type { BlockingError } from './blocking-error';
import { BLOCK_CHANNEL, ONGOING_CHANNEL, envelope } from './schema';
import { stillBlockedMessage } from './lines';
import type { LineEnvelope } from './schema';

export { BLOCK_CHANNEL, ONGOING_CHANNEL };

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

/** Publishes a report; builds nothing unless someone subscribed. */
export function publishReport(error: BlockingError, liveReportAfterMs: number): void {
  const { block: blockChannel, ongoing: ongoingChannel } = getChannels();
  if (liveReportAfterMs > 0 && ongoingChannel.hasSubscribers) {
    // A start-up block's live line is due later by the watchdog's factor (src/contract.h).
    const dueMs =
      error.phase === 'startup' ? liveReportAfterMs * nativeConstants().startupLiveLineFactor : liveReportAfterMs;
    if ((error.durationMs ?? 0) >= dueMs) ongoingChannel.publish(ongoingMessage(error, dueMs));
  }
  if (blockChannel.hasSubscribers) blockChannel.publish(error);
}

function ongoingMessage(error: BlockingError, atMs: number): OngoingMessage {
  // The live line was due atMs after the block began, which ended durationMs after it began.
  const time = new Date(Date.parse(error.time) - Math.max(0, (error.durationMs ?? atMs) - atMs));

  return {
    ...envelope('ongoing', error.threadId, time),
    kind: 'ongoing',
    name: 'BlockingError',
    message: stillBlockedMessage(atMs, error.culprit),
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
