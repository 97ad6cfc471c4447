// The human format, like a compiler error: headline, a 3-line code frame at the culprit, then the
// frames with Node's internals and each dependency folded; colour only where a human looks.
import { formatFrame } from './blocking-error';
import type { BlockingError, StackFrame } from './blocking-error';
import { codeFrame, toPath } from './source-map';
import * as path from 'node:path';

export interface Palette {
  headline(text: string): string;
  culprit(text: string): string;
  dim(text: string): string;
}

const plain: Palette = { headline: (t) => t, culprit: (t) => t, dim: (t) => t };
const ansi: Palette = {
  headline: (t) => `\u001b[1;31m${t}\u001b[0m`,
  culprit: (t) => `\u001b[36m${t}\u001b[0m`,
  dim: (t) => `\u001b[2m${t}\u001b[0m`,
};

/** NO_COLOR (any value) wins, then FORCE_COLOR (0/false = off), then whether the output is a terminal. */
export function wantsColor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return isTTY;
}

export function palette(color: boolean): Palette {
  return color ? ansi : plain;
}

const SHOWN_LINES = 10;

/** `node internals`, `node_modules/fastify` (`@scope/name` kept whole), or undefined for the user's frame. */
function foldGroup(frame: StackFrame): string | undefined {
  const file = frame.file;
  if (file === '' || file.startsWith('node:') || file.startsWith('internal/') || file.startsWith('internal\\'))
    return 'node internals';
  const filePath = toPath(file) ?? file;
  const parts = filePath.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const name = parts[at + 1].startsWith('@') ? `${parts[at + 1]}/${parts[at + 2] ?? ''}` : parts[at + 1];
  return `node_modules/${name}`;
}

/** `    at f (file:1:2)` lines; runs of two or more frames of one group become `    … 6 frames in node_modules/fastify`. */
export function foldedFrames(frames: readonly StackFrame[], colors: Palette = plain): string[] {
  const out: string[] = [];
  for (let i = 0; i < frames.length && out.length < SHOWN_LINES;) {
    const group = foldGroup(frames[i]);
    let end = i + 1;
    while (group !== undefined && end < frames.length && foldGroup(frames[end]) === group) end++;
    if (end - i >= 2) out.push(colors.dim(`    … ${end - i} frames in ${group}`));
    else out.push(`    at ${formatFrame(displayed(frames[i]))}`);
    i = end;
  }
  return out;
}

function displayed(frame: StackFrame): StackFrame {
  const filePath = toPath(frame.file);
  if (filePath === undefined) return frame;
  const relative = path.relative(process.cwd(), filePath);
  return relative.startsWith('..') || path.isAbsolute(relative) ? frame : { ...frame, file: relative };
}

/** The report for a human: headline, code frame (3 lines), folded frames. */
export function humanReport(error: BlockingError, headline: string, colors: Palette): string {
  const lines = [colors.headline(headline)];
  // Read only for lines a human will see: onBlock and JSON output never pay for it.
  const code = error.culprit && codeFrame(error.culprit, 1, 1);
  if (code)
    lines.push(
      code
        .split('\n')
        .map((line) => (line.startsWith('>') ? colors.culprit(line) : line))
        .join('\n'),
    );
  lines.push(...foldedFrames(error.frames, colors));
  return lines.join('\n');
}

/** The same culprit within the window is counted, not repeated: the key a repeat shares. */
export function groupKey(error: BlockingError): string {
  const c = error.culprit;
  return c ? `${c.functionName}@${c.file}:${c.line}|${error.blockingCall ?? ''}` : `${error.source}|${error.message}`;
}

/** `loadUsers` for the grouping line; the message when no culprit was found. */
export function culpritName(error: BlockingError): string {
  return error.culprit ? error.culprit.functionName || formatFrame(displayed(error.culprit)) : 'the same place';
}
