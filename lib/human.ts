// The human format, like a compiler error: headline, a 3-line code frame at the culprit, then the
// frames with Node's internals and each dependency folded; colour only where a human looks.
import { formatFrame } from './blocking-error';
import type { BlockingError, StackFrame } from './blocking-error';
import { codeFrame, toPath } from './source-map';
import { displayPath } from './frame';

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

// What a terminal or a log viewer would act on rather than show: C0 (tab aside), DEL, C1, line
// and paragraph separators, bidi controls, lone surrogates. The same rule as VisibleText in
// src/line_writer.cc (test/escape.test.js feeds both the same strings).
const HIDDEN =
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// The same characters left unescaped by JSON.stringify (it escapes C0 and lone surrogates itself).
const HIDDEN_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeCode(char: string): string {
  const code = char.charCodeAt(0);
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of text as it may reach a terminal: `\n`, `\x1b`, `\u009b` instead of the characters. */
export function visible(text: string): string {
  return text.replace(HIDDEN, escapeCode);
}

/** A JSON line (from JSON.stringify) with the rest of the hidden characters escaped: the same JSON. */
export function visibleJson(line: string): string {
  return line.replace(HIDDEN_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const SHOWN_LINES = 10;

/** `node internals`, `node_modules/fastify` (`@scope/name` kept whole), or undefined for the user's frame (or none). */
function foldGroup(frame: StackFrame | undefined): string | undefined {
  if (frame === undefined) return undefined;
  const file = frame.file;
  if (file === '' || file.startsWith('node:') || file.startsWith('internal/') || file.startsWith('internal\\'))
    return 'node internals';
  const filePath = toPath(file) ?? file;
  const parts = filePath.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  const first = at < 0 ? undefined : parts[at + 1];
  if (first === undefined) return undefined;
  const name = first.startsWith('@') ? `${first}/${parts[at + 2] ?? ''}` : first;
  return `node_modules/${name}`;
}

/** `    at f (file:1:2)` lines; runs of two or more frames of one group become `    … 6 frames in node_modules/fastify`. */
export function foldedFrames(frames: readonly StackFrame[], colors: Palette = plain): string[] {
  const out: string[] = [];
  for (let i = 0, frame = frames[0]; frame !== undefined && out.length < SHOWN_LINES; frame = frames[i]) {
    const group = foldGroup(frame);
    let end = i + 1;
    while (group !== undefined && foldGroup(frames[end]) === group) end++;
    if (end - i >= 2) out.push(colors.dim(visible(`    … ${end - i} frames in ${group}`)));
    else out.push(visible(`    at ${formatFrame(displayed(frame))}`));
    i = end;
  }
  return out;
}

function displayed(frame: StackFrame): StackFrame {
  const file = displayPath(frame.file);
  return file === frame.file ? frame : { ...frame, file };
}

/** The report for a human: headline, code frame (3 lines), folded frames; each line escaped (`visible`). */
export function humanReport(error: BlockingError, headline: string, colors: Palette): string {
  const lines = [colors.headline(visible(headline))];
  // Read only for lines a human will see: onBlock and JSON output never pay for it.
  const code = error.culprit && codeFrame(error.culprit, 1, 1);
  if (code)
    lines.push(
      code
        .split('\n')
        .map((line) => (line.startsWith('>') ? colors.culprit(visible(line)) : visible(line)))
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
