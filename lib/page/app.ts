/// <reference lib="dom" />
// The report page's script (inlined by lib/report-page.ts): draws the timeline, the culprit table and
// the flame graph from the embedded JSON. Every string from a report is set as text, never as markup.
// A module (export {}), so that its names stay out of the other files' scope.
export {};

interface Thread {
  host: number;
  pid: number;
  threadId: number;
  name: number;
  thresholdMs: number;
  delayMs?: { p50: number; p99: number; max: number };
}
interface Culprit {
  label: number;
  api: number;
  frame: number;
}
interface Model {
  files: string[];
  strings: string[];
  t0: number;
  threads: Thread[];
  culprits: Culprit[];
  stacks: number[][];
  blocks: [number, number, number, number, number, number, number, number, number][];
  skipped: { notJson: number; otherKinds: number; rules: number };
  notWritten: { suppressed: number; dropped: number };
}
interface FlameNode {
  name: number;
  ms: number;
  children: Map<number, FlameNode>;
}

// Block columns.
const START = 0;
const DUR = 1;
const THREAD = 2;
const CULPRIT = 3;
const STATE = 4;
const PHASE = 5;
const STACK = 6;
const SHARE = 7;
const CONTEXT = 8;

const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 1200;
const LABEL = 230;
const PLOT = WIDTH - LABEL - 10;
const OTHER_SAMPLES = -1;

const model = JSON.parse(document.getElementById('blockbuster-data')?.textContent ?? '{}') as Model;
const s = model.strings;
const filter = { thread: -1, culprit: -1, phase: '' };
const tip = document.getElementById('tip') as HTMLDivElement;
/** What each flame frame stands for, by index in its data-tip attribute (a block's is made on hover). */
let tips: string[] = [];

/** An entry of the model by index: an index the page itself did not make is a broken page, said at once. */
function at<T>(list: readonly T[], index: number): T {
  const value = list[index];
  if (value === undefined) throw new RangeError(`report page: no entry ${index} of ${list.length}`);
  return value;
}

function str(index: number): string {
  return at(s, index);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function svgEl(tag: string, attrs: Record<string, string | number>): SVGElement {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function ms(n: number): string {
  return n >= 100 ? `${Math.round(n)} ms` : `${Math.round(n * 10) / 10} ms`;
}

/** A time offset on the axis: ms under 10 s, seconds under 10 min, then minutes. */
function offset(t: number): string {
  if (t < 10_000) return `+${Math.round(t)} ms`;
  if (t < 600_000) return `+${Math.round(t / 100) / 10} s`;
  return `+${Math.round(t / 6000) / 10} min`;
}

function color(i: number): string {
  return `hsl(${(i * 137.508) % 360},55%,55%)`;
}

function threadLabel(t: Thread): string {
  return `${str(t.host)} pid ${t.pid} ${str(t.name)}`;
}

function tipFor(index: number): string {
  const b = at(model.blocks, index);
  const c = at(model.culprits, b[CULPRIT]);
  const lines = [
    `${str(c.label)}: ${ms(b[DUR])}`,
    `at ${new Date(model.t0 + b[START]).toISOString()}`,
    `thread: ${threadLabel(at(model.threads, b[THREAD]))}`,
    `state: ${str(b[STATE])}, phase: ${str(b[PHASE])}`,
  ];
  if (c.frame >= 0) lines.push(`code: ${str(c.frame)}`);
  if (b[CONTEXT] >= 0) lines.push(`context: ${str(b[CONTEXT])}`);
  const stack = at(model.stacks, b[STACK]);
  if (stack.length > 0)
    lines.push(
      'stack:',
      ...stack
        .slice()
        .reverse()
        .slice(0, 12)
        .map((f) => `  ${str(f)}`),
    );
  return lines.join('\n');
}

function selected(): number[] {
  const out: number[] = [];
  model.blocks.forEach((b, i) => {
    if (filter.thread >= 0 && b[THREAD] !== filter.thread) return;
    if (filter.culprit >= 0 && b[CULPRIT] !== filter.culprit) return;
    if (filter.phase !== '' && str(b[PHASE]) !== filter.phase) return;
    out.push(i);
  });
  return out;
}

function renderMeta(): void {
  const meta = document.getElementById('meta') as HTMLElement;
  const processes = new Set(model.threads.map((t) => `${t.host} ${t.pid}`)).size;
  const span = model.blocks.length > 0 ? Math.max(...model.blocks.map((b) => b[START] + b[DUR])) : 0;
  const skipped = model.skipped.notJson + model.skipped.otherKinds + model.skipped.rules;
  meta.textContent =
    `${model.blocks.length} blocks in ${model.threads.length} threads of ${processes} processes over ${ms(span)}` +
    (model.blocks.length > 0 ? ` from ${new Date(model.t0).toISOString()}` : '') +
    `; read from ${model.files.join(', ')}` +
    (skipped > 0 ? ` (${skipped} other lines skipped)` : '') +
    (model.notWritten.suppressed > 0
      ? `. ${model.notWritten.suppressed} more blocks were counted but not written (the rate limit's suppressed lines)`
      : '') +
    (model.notWritten.dropped > 0 ? `. ${model.notWritten.dropped} reports were dropped (dropped lines)` : '');
}

function option(select: HTMLSelectElement, value: string | number, label: string): void {
  const o = el('option', label);
  o.value = String(value);
  select.append(o);
}

function renderFilters(): void {
  const box = document.getElementById('filters') as HTMLElement;
  const make = (name: string, id: string): HTMLSelectElement => {
    const label = el('label', `${name} `);
    const select = el('select');
    select.id = id;
    label.append(select);
    box.append(label);
    return select;
  };
  const thread = make('Thread', 'filter-thread');
  option(thread, -1, 'all threads');
  model.threads.forEach((t, i) => option(thread, i, threadLabel(t)));
  const culprit = make('Culprit', 'filter-culprit');
  option(culprit, -1, 'all culprits');
  model.culprits.forEach((c, i) => option(culprit, i, str(c.label)));
  const phase = make('Phase', 'filter-phase');
  option(phase, '', 'all phases');
  option(phase, 'loop', 'loop');
  option(phase, 'startup', 'start-up');
  thread.onchange = () => ((filter.thread = Number(thread.value)), render());
  culprit.onchange = () => ((filter.culprit = Number(culprit.value)), render());
  phase.onchange = () => ((filter.phase = phase.value), render());
}

function renderTimeline(rows: number[]): void {
  const box = document.getElementById('timeline') as HTMLElement;
  box.replaceChildren();
  const lanes = model.threads.map((_, i) => i).filter((i) => filter.thread < 0 || i === filter.thread);
  if (rows.length === 0) return void box.append(el('p', 'No block matches the filters.', 'empty'));
  const end = Math.max(...rows.map((i) => at(model.blocks, i)[START] + at(model.blocks, i)[DUR]));
  const begin = Math.min(...rows.map((i) => at(model.blocks, i)[START]));
  const span = Math.max(end - begin, 1);
  const x = (t: number): number => LABEL + ((t - begin) / span) * PLOT;
  const laneHeight = 54;
  const height = 24 + lanes.length * laneHeight;
  const svg = svgEl('svg', { viewBox: `0 0 ${WIDTH} ${height}`, id: 'timeline-svg' });
  for (let k = 0; k <= 5; k++) {
    const t = begin + (span * k) / 5;
    const tick = svgEl('text', { x: x(t), y: 14, 'text-anchor': k === 0 ? 'start' : k === 5 ? 'end' : 'middle' });
    tick.textContent = offset(t);
    svg.append(tick, svgEl('line', { x1: x(t), x2: x(t), y1: 18, y2: height, stroke: '#e4e4e4' }));
  }
  const byLane = new Map<number, number[]>();
  for (const i of rows) {
    const lane = at(model.blocks, i)[THREAD];
    const list = byLane.get(lane);
    if (list) list.push(i);
    else byLane.set(lane, [i]);
  }
  const maxDur = Math.max(...rows.map((i) => at(model.blocks, i)[DUR]));
  lanes.forEach((lane, n) => {
    const top = 24 + n * laneHeight;
    const t = at(model.threads, lane);
    const name = svgEl('text', { x: 4, y: top + 20 });
    name.textContent = threadLabel(t);
    svg.append(name);
    if (t.delayMs) {
      const d = svgEl('text', { x: 4, y: top + 34, fill: '#666' });
      d.textContent = `loop delay p50 ${ms(t.delayMs.p50)}, p99 ${ms(t.delayMs.p99)}`;
      svg.append(d);
    }
    svg.append(svgEl('line', { x1: 0, x2: WIDTH, y1: top + laneHeight - 1, y2: top + laneHeight - 1, stroke: '#ddd' }));
    const mine = byLane.get(lane) ?? [];
    // The loop-delay line: the worst delay the blocks caused in each 4-px bucket, the threshold elsewhere.
    const buckets = new Array<number>(Math.ceil(PLOT / 4) + 1).fill(0);
    for (const i of mine) {
      const b = at(model.blocks, i);
      const from = Math.floor((x(b[START]) - LABEL) / 4);
      const to = Math.floor((x(b[START] + b[DUR]) - LABEL) / 4);
      for (let k = from; k <= to; k++) buckets[k] = Math.max(buckets[k] ?? 0, b[DUR]);
    }
    const lineTop = top + 4;
    const lineHeight = 22;
    const y = (d: number): number => lineTop + lineHeight - (Math.max(d, t.thresholdMs) / maxDur) * lineHeight;
    const points = buckets.map((d, k) => `${LABEL + k * 4},${y(d).toFixed(1)}`).join(' ');
    svg.append(svgEl('polyline', { points, fill: 'none', stroke: '#c0392b', 'stroke-width': 1, class: 'delay-line' }));
    for (const i of mine) {
      const b = at(model.blocks, i);
      const rect = svgEl('rect', {
        x: x(b[START]).toFixed(2),
        y: top + 30,
        width: Math.max(1, x(b[START] + b[DUR]) - x(b[START])).toFixed(2),
        height: 18,
        fill: color(b[CULPRIT]),
        class: 'block',
        'data-block': i,
        'data-culprit': b[CULPRIT],
      });
      svg.append(rect);
    }
  });
  box.append(svg);
  box.dataset.drawn = String(rows.length);
}

function renderTable(rows: number[]): void {
  const box = document.getElementById('culprits') as HTMLElement;
  box.replaceChildren();
  const stats = new Map<number, { count: number; total: number; worst: number; states: Set<string> }>();
  for (const i of rows) {
    const b = at(model.blocks, i);
    const e = stats.get(b[CULPRIT]) ?? { count: 0, total: 0, worst: 0, states: new Set<string>() };
    e.count++;
    e.total += b[DUR];
    e.worst = Math.max(e.worst, b[DUR]);
    e.states.add(str(b[STATE]));
    stats.set(b[CULPRIT], e);
  }
  const table = el('table');
  const head = el('tr');
  for (const h of ['culprit', 'API', 'count', 'total', 'worst', 'state', 'code frame']) head.append(el('th', h));
  table.append(head);
  for (const [c, e] of [...stats].sort((a, b) => b[1].total - a[1].total)) {
    const culprit = at(model.culprits, c);
    const row = el('tr', undefined, filter.culprit === c ? 'row selected' : 'row');
    row.dataset.culprit = String(c);
    const swatch = el('span', '■ ');
    swatch.style.color = color(c);
    const name = el('td');
    name.append(swatch, document.createTextNode(str(culprit.label)));
    const code = el('td');
    code.append(el('code', culprit.frame >= 0 ? str(culprit.frame) : '—'));
    row.append(
      name,
      el('td', str(culprit.api) || '—'),
      el('td', String(e.count), 'n'),
      el('td', ms(e.total), 'n'),
      el('td', ms(e.worst), 'n'),
      el('td', [...e.states].join(', ')),
      code,
    );
    row.onclick = () => {
      filter.culprit = filter.culprit === c ? -1 : c;
      (document.getElementById('filter-culprit') as HTMLSelectElement).value = String(filter.culprit);
      render();
    };
    table.append(row);
  }
  box.append(rows.length === 0 ? el('p', 'No culprit.', 'empty') : table);
}

function renderFlame(rows: number[]): void {
  const box = document.getElementById('flame') as HTMLElement;
  const title = document.getElementById('flame-title') as HTMLElement;
  title.textContent =
    filter.culprit >= 0 ? `Flame graph: ${str(at(model.culprits, filter.culprit).label)}` : 'Flame graph: all culprits';
  box.replaceChildren();
  const root: FlameNode = { name: -2, ms: 0, children: new Map() };
  const child = (parent: FlameNode, name: number): FlameNode => {
    let node = parent.children.get(name);
    if (!node) parent.children.set(name, (node = { name, ms: 0, children: new Map() }));
    return node;
  };
  for (const i of rows) {
    const b = at(model.blocks, i);
    root.ms += b[DUR];
    // The answer's samples stand for their share of the block; the rest saw other stacks.
    const named = b[DUR] * b[SHARE];
    let node = root;
    for (const frame of at(model.stacks, b[STACK])) {
      node = child(node, frame);
      node.ms += named;
    }
    if (b[DUR] - named > 0) child(root, OTHER_SAMPLES).ms += b[DUR] - named;
  }
  if (root.ms === 0) return void box.append(el('p', 'No samples.', 'empty'));
  const rowHeight = 18;
  const drawn: { node: FlameNode; depth: number; x: number }[] = [];
  const walk = (node: FlameNode, depth: number, x: number): void => {
    drawn.push({ node, depth, x });
    let at = x;
    for (const c of [...node.children.values()].sort((a, b) => b.ms - a.ms)) {
      if (depth < 63) walk(c, depth + 1, at);
      at += c.ms;
    }
  };
  walk(root, 0, 0);
  const depth = Math.max(...drawn.map((d) => d.depth)) + 1;
  const svg = svgEl('svg', { viewBox: `0 0 ${WIDTH} ${depth * rowHeight}`, id: 'flame-svg' });
  const scale = WIDTH / root.ms;
  for (const { node, depth: d, x } of drawn) {
    const w = node.ms * scale;
    if (w < 0.3) continue;
    const name = node.name === -2 ? 'all blocks' : node.name === OTHER_SAMPLES ? '(other samples)' : str(node.name);
    const g = svgEl('g', { class: 'frame', 'data-tip': tips.length });
    tips.push(`${name}\n${ms(node.ms)}, ${Math.round((node.ms / root.ms) * 1000) / 10} % of the blocks' time`);
    g.append(
      svgEl('rect', {
        x: (x * scale).toFixed(2),
        y: d * rowHeight,
        width: Math.max(0.5, w - 0.5).toFixed(2),
        height: rowHeight - 1,
        fill: node.name < 0 ? '#bbb' : `hsl(${20 + ((node.name * 47) % 40)},80%,${58 + ((node.name * 13) % 14)}%)`,
      }),
    );
    if (w > 40) {
      const label = svgEl('text', { x: (x * scale + 3).toFixed(2), y: d * rowHeight + 13 });
      const room = Math.floor((w - 6) / 6.2);
      // The file's base name and line on the bar; the whole path is in the hover details.
      const short = name.replace(/\((?:[^()]*[/\\])?([^/\\()]+:\d+):\d+\)$/, '($1)');
      label.textContent = short.length > room ? `${short.slice(0, Math.max(room - 1, 1))}…` : short;
      g.append(label);
    }
    svg.append(g);
  }
  box.append(svg);
}

function render(): void {
  tips = [];
  const rows = selected();
  renderTimeline(rows);
  renderTable(rows);
  renderFlame(rows);
}

document.addEventListener('mousemove', (event) => {
  const target = (event.target as Element | null)?.closest?.('[data-tip],[data-block]');
  const block = target?.getAttribute('data-block');
  const text = block ? tipFor(Number(block)) : target ? tips[Number(target.getAttribute('data-tip'))] : undefined;
  if (text === undefined) {
    tip.style.display = 'none';
    return;
  }
  tip.textContent = text;
  tip.style.display = 'block';
  tip.style.left = `${Math.min(event.clientX + 14, window.innerWidth - 580)}px`;
  tip.style.top = `${event.clientY + 14}px`;
});

renderMeta();
renderFilters();
render();
// Read by the browser test and the measurement in docs/picture.md.
document.body.dataset.renderedMs = String(Math.round(performance.now()));
