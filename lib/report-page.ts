// `blockbuster report blocks.jsonl… -o report.html`: the JSON lines of one or more processes as one
// self-contained page (timeline, culprits, flame graph). The page's script is lib/page/app.ts, inlined.
import { createHash } from 'node:crypto';
import fs = require('node:fs');
import path = require('node:path');

/** What the page draws; every string from a report sits in `strings` and is shown as text only. */
export interface PageModel {
  files: string[];
  strings: string[];
  /** Time of the earliest block start, ms since the epoch; block starts are relative to it. */
  t0: number;
  threads: PageThread[];
  culprits: PageCulprit[];
  /** Stacks as string indices, outermost frame first. */
  stacks: number[][];
  /** [start ms from t0, duration ms, thread, culprit, state, phase, stack, share 0-1, context or -1] */
  blocks: [number, number, number, number, number, number, number, number, number][];
  skipped: { notJson: number; otherKinds: number; rules: number };
  /** Blocks the writers' rate limit kept back (`suppressed` lines) and lines they dropped (`dropped`). */
  notWritten: { suppressed: number; dropped: number };
}

export interface PageThread {
  host: number;
  pid: number;
  threadId: number;
  name: number;
  thresholdMs: number;
  /** From a `summary` line (the CLI's --format json), where one names this thread. */
  delayMs?: { p50: number; p99: number; max: number } | undefined;
}

export interface PageCulprit {
  /** `API in function`, the function, or "(no JavaScript on the stack)". */
  label: number;
  api: number;
  /** `function (file:line:column)`, or -1. */
  frame: number;
}

interface Frame {
  functionName?: unknown;
  file?: unknown;
  line?: unknown;
  column?: unknown;
}

/** A bad argument of `blockbuster report`: the message names it. */
export class ReportInputError extends Error {}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

function frameText(frame: Frame): string {
  const fn = text(frame.functionName) || '(anonymous)';
  const file = text(frame.file);
  return file === '' ? fn : `${fn} (${file}:${num(frame.line)}:${num(frame.column)})`;
}

class Builder {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly threadIndex = new Map<string, number>();
  private readonly culpritIndex = new Map<string, number>();
  private readonly stackIndex = new Map<string, number>();
  readonly threads: PageThread[] = [];
  readonly culprits: PageCulprit[] = [];
  readonly stacks: number[][] = [];
  readonly raw: { end: number; dur: number; rest: number[] }[] = [];
  readonly delays: { host: string; pid: number; threadId: number; delay: PageThread['delayMs'] }[] = [];
  readonly skipped = { notJson: 0, otherKinds: 0, rules: 0 };
  readonly notWritten = { suppressed: 0, dropped: 0 };

  str(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.strings.push(value) - 1;
      this.index.set(value, i);
    }
    return i;
  }

  line(line: string): void {
    const trimmed = line.trim();
    if (trimmed === '') return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('not an object');
    } catch {
      // Text lines (stderr holds the program's own output too) are not ours to draw.
      this.skipped.notJson++;
      return;
    }
    if (record.kind === 'summary' && Array.isArray(record.threads)) {
      for (const t of record.threads as Record<string, unknown>[]) {
        const d = t?.delayMs as Record<string, unknown> | undefined;
        if (d)
          this.delays.push({
            host: text(record.hostname),
            pid: num(t.pid),
            threadId: num(t.threadId),
            delay: { p50: num(d.p50), p99: num(d.p99), max: num(d.max) },
          });
      }
      return;
    }
    if (record.kind === 'suppressed') return void (this.notWritten.suppressed += num(record.suppressed));
    if (record.kind === 'dropped') return void (this.notWritten.dropped += num(record.dropped));
    if (record.kind === 'rule') return void this.skipped.rules++;
    if (record.kind !== 'block') return void this.skipped.otherKinds++;
    const end = Date.parse(text(record.time));
    const dur = num(record.durationMs);
    if (!Number.isFinite(end) || dur <= 0) return void this.skipped.otherKinds++;
    const host = text(record.hostname);
    const pid = num(record.pid);
    const threadId = num(record.threadId);
    const threadKey = `${host}\0${pid}\0${threadId}`;
    let thread = this.threadIndex.get(threadKey);
    if (thread === undefined) {
      const name =
        threadId === 0 ? 'main' : `worker ${threadId}${record.threadName ? ` (${text(record.threadName)})` : ''}`;
      thread =
        this.threads.push({
          host: this.str(host),
          pid,
          threadId,
          name: this.str(name),
          thresholdMs: num(record.thresholdMs),
        }) - 1;
      this.threadIndex.set(threadKey, thread);
    }
    const culpritFrame = record.culprit as Frame | undefined;
    const api = text(record.blockingCall);
    const fn = culpritFrame ? text(culpritFrame.functionName) || '(anonymous)' : '';
    const label = fn && api ? `${api} in ${fn}` : api || fn || '(no JavaScript on the stack)';
    const frame = culpritFrame ? frameText(culpritFrame) : '';
    const culpritKey = `${label}\0${frame}`;
    let culprit = this.culpritIndex.get(culpritKey);
    if (culprit === undefined) {
      culprit =
        this.culprits.push({ label: this.str(label), api: this.str(api), frame: frame ? this.str(frame) : -1 }) - 1;
      this.culpritIndex.set(culpritKey, culprit);
    }
    const frames = Array.isArray(record.frames) ? (record.frames as Frame[]) : [];
    const stackIds = frames
      .slice(0, 64)
      .map((f) => this.str(frameText(f ?? {})))
      .reverse();
    const stackKey = stackIds.join(',');
    let stack = this.stackIndex.get(stackKey);
    if (stack === undefined) {
      stack = this.stacks.push(stackIds) - 1;
      this.stackIndex.set(stackKey, stack);
    }
    const samples = record.samples as { share?: unknown } | undefined;
    const share = typeof samples?.share === 'number' ? Math.min(1, Math.max(0, samples.share)) : 1;
    let context = -1;
    if (record.context !== undefined && record.context !== null) {
      const json = JSON.stringify(record.context);
      context = this.str(json.length > 500 ? `${json.slice(0, 500)}…` : json);
    }
    this.raw.push({
      end,
      dur,
      rest: [
        thread,
        culprit,
        this.str(text(record.state) || 'unknown'),
        this.str(text(record.phase) || 'loop'),
        stack,
        share,
        context,
      ],
    });
  }

  model(files: string[]): PageModel {
    for (const d of this.delays) {
      const t = this.threads.find(
        (x) => this.strings[x.host] === d.host && x.pid === d.pid && x.threadId === d.threadId,
      );
      if (t) t.delayMs = d.delay;
    }
    const t0 = this.raw.reduce((min, b) => Math.min(min, b.end - b.dur), Infinity);
    const round = (n: number): number => Math.round(n * 1000) / 1000;
    const blocks = this.raw
      .sort((a, b) => a.end - b.end)
      .map(
        (b) =>
          [
            round(b.end - b.dur - t0),
            round(b.dur),
            ...b.rest.map((n, i) => (i === 5 ? round(n) : n)),
          ] as PageModel['blocks'][number],
      );
    return {
      files,
      strings: this.strings,
      t0: Number.isFinite(t0) ? t0 : 0,
      threads: this.threads,
      culprits: this.culprits,
      stacks: this.stacks,
      blocks,
      skipped: this.skipped,
      notWritten: this.notWritten,
    };
  }
}

/** Reads the JSON-lines files (block, summary; other lines are counted and skipped). */
export function readReports(files: readonly string[]): PageModel {
  const builder = new Builder();
  for (const file of files) {
    let content: string;
    try {
      content = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new ReportInputError(`cannot read ${JSON.stringify(file)}: ${(error as Error).message}`);
    }
    for (const line of content.split('\n')) builder.line(line);
  }
  return builder.model(files.map((f) => path.basename(f)));
}

/**
 * JSON that cannot end its `<script>` element or start a comment there: `<`, `>`, `&` and the
 * line separators are escaped (still the same JSON).
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
#meta{color:#555}#filters{margin:10px 0;display:flex;gap:14px;flex-wrap:wrap}
select{max-width:420px}
svg{display:block;width:100%;background:#fafafa;border:1px solid #ddd}
svg text{font:11px system-ui,sans-serif;fill:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.row{cursor:pointer}tr.row:hover{background:#eef5ff}
tr.selected{background:#dde9ff}code{font-size:12px;word-break:break-all}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:6px 8px;border-radius:4px;
white-space:pre-wrap;max-width:560px;font:12px/1.35 ui-monospace,monospace;display:none;z-index:2}
.empty{color:#777;font-style:italic}
`;

/** The page's script (dist/page/app.js, compiled from lib/page/app.ts), as one inline script. */
function appScript(): string {
  const compiled = fs
    .readFileSync(path.join(__dirname, 'page', 'app.js'), 'utf8')
    .replace(/^\/\/# sourceMappingURL=.*$/m, '');
  if (/<\/script|<!--/i.test(compiled)) throw new Error('lib/page/app.ts must not contain "</script" or "<!--"');
  return `(function(){var exports={};\n${compiled}\n})();`;
}

/** One HTML file: the data as inert JSON, the script allowed by its hash alone, no network. */
export function renderPage(model: PageModel): string {
  const script = appScript();
  const hash = createHash('sha256').update(script).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${hash}'`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>blockbuster report</title>
<style>${STYLE}</style></head>
<body>
<h1>blockbuster: event-loop blocks</h1>
<div id="meta"></div>
<div id="filters"></div>
<h2>Timeline</h2><div id="timeline"></div>
<h2>Culprits</h2><div id="culprits"></div>
<h2 id="flame-title">Flame graph</h2><div id="flame"></div>
<div id="tip"></div>
<script type="application/json" id="blockbuster-data">${scriptSafeJson(model)}</script>
<script>${script}</script>
</body></html>
`;
}

/** `blockbuster report <files…> -o <out>`: returns the number of blocks drawn. */
export function writeReportPage(files: readonly string[], out: string): number {
  if (files.length === 0) throw new ReportInputError('no input: blockbuster report <blocks.jsonl>... -o report.html');
  const model = readReports(files);
  try {
    fs.writeFileSync(out, renderPage(model));
  } catch (error) {
    throw new ReportInputError(`option -o: cannot write ${JSON.stringify(out)}: ${(error as Error).message}`);
  }
  return model.blocks.length;
}
