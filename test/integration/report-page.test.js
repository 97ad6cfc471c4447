'use strict';
// The report page: real children write JSON lines, `blockbuster report` makes the page, and a real
// headless chromium loads it, draws it, shows hover details, filters, and runs nothing from the data.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { FIXTURES } = require('../helpers');
const { findChromium, openPage } = require('../browser');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const REGISTER = path.join(__dirname, '..', '..', 'dist', 'register.js');
const chromium = findChromium();
const skip = chromium ? false : 'chromium is not installed (apt-get install chromium; .ci/run installs it)';
const EVIL = '</script><script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">';

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-page-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fixture run under the preload, its reports as JSON lines in `file`. */
async function jsonLines(file, mode) {
  const result = await run(['--require', REGISTER, path.join(FIXTURES, 'picture.js'), mode], {
    BLOCKBUSTER_THRESHOLD_MS: '30',
    BLOCKBUSTER_FORMAT: 'json',
    BLOCKBUSTER_OUTPUT: file,
  });
  assert.ok(result.code === 0 || result.code === 3, result.stderr);
}

test(
  'a page from two processes: blocks drawn per thread, culprits, flame graph, hover, filters; nothing from the data runs',
  { skip },
  async (t) => {
    const dir = tmpdir(t);
    const blocks = path.join(dir, 'blocks.jsonl');
    const named = path.join(dir, 'named.jsonl');
    // Two processes at once, as a fleet would write them.
    await Promise.all([jsonLines(blocks, 'blocks'), jsonLines(named, 'named')]);
    // A report from somewhere else whose function, file and context are markup, and a line that is not JSON.
    const line = JSON.parse(
      fs
        .readFileSync(named, 'utf8')
        .split('\n')
        .find((l) => l.includes('"kind":"block"')),
    );
    const evilFrame = { functionName: EVIL, file: `/srv/${EVIL}.js`, line: 1, column: 2 };
    const handMade = { ...line, pid: 424242, state: 'js', phase: 'loop', culprit: evilFrame, frames: [evilFrame] };
    fs.appendFileSync(
      named,
      `${JSON.stringify({ ...handMade, context: { user: EVIL, note: '<!-- -->' } })}\nnot json <b>at all</b>\n`,
    );
    // What the lines say, named as the page names culprits (a thread the shared machine starved has
    // none): 2 busyLoop, 1 workerSpin, 1 evil, the hand-made one, and any block the machine added.
    const expected = [blocks, named]
      .flatMap((file) => fs.readFileSync(file, 'utf8').split('\n'))
      .filter((l) => l.includes('"kind":"block"'))
      .map((l) => JSON.parse(l))
      .map((r) => {
        const fn = r.culprit ? r.culprit.functionName || '(anonymous)' : '';
        return fn && r.blockingCall
          ? `${r.blockingCall} in ${fn}`
          : r.blockingCall || fn || '(no JavaScript on the stack)';
      });
    assert.ok(
      expected.length >= 5 && expected.includes('busyLoop') && expected.includes(EVIL),
      JSON.stringify(expected),
    );
    const busyCount = expected.filter((c) => c === 'busyLoop').length;
    const page = path.join(dir, 'report.html');
    const made = await run([CLI, 'report', blocks, named, '-o', page]);
    assert.strictEqual(made.code, 0, made.stderr);
    assert.match(made.stderr, new RegExp(`wrote .*report\\.html \\(${expected.length} blocks\\)`));

    // Escaping, in the file itself: the data cannot close its script element.
    const html = fs.readFileSync(page, 'utf8');
    assert.strictEqual((html.match(/<script/gi) ?? []).length, 2, 'the data block and the page script, nothing else');
    assert.strictEqual((html.match(/<\/script/gi) ?? []).length, 2);
    assert.doesNotMatch(html, /<img|<!--/i);
    const withoutData = html.replace(/<script type="application\/json"[^>]*>[^<]*<\/script>/, '');
    assert.doesNotMatch(
      withoutData,
      /\s(src|href)=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i,
      'no network: nothing loads from anywhere',
    );
    assert.match(html, /Content-Security-Policy" content="default-src 'none';/);

    const browser = await openPage(chromium, pathToFileURL(page).href);
    t.after(() => browser.close());
    assert.deepStrictEqual(browser.console, [], 'no console output, no exception, no CSP violation');
    assert.strictEqual(await browser.evaluate('document.title'), 'blockbuster report');
    assert.strictEqual(await browser.evaluate('document.querySelectorAll("img").length'), 0);
    assert.strictEqual(await browser.evaluate('document.querySelectorAll("script").length'), 2);

    // The timeline: one lane per thread (main and worker of one process, main of two others), a rect per block.
    const drawn = await browser.evaluate(`[...document.querySelectorAll('#timeline rect.block')].map((r) => ({
    culprit: document.querySelector('#filter-culprit').options[Number(r.dataset.culprit) + 1].textContent,
    width: Number(r.getAttribute('width')),
  }))`);
    assert.strictEqual(drawn.length, expected.length, JSON.stringify(drawn));
    assert.deepStrictEqual(
      drawn.map((d) => d.culprit).sort(),
      expected.sort(),
      'the evil name is a culprit like any other, as text',
    );
    const lanes = await browser.evaluate(
      `[...document.querySelectorAll('#filter-thread option')].map((o) => o.textContent)`,
    );
    assert.strictEqual(lanes.length, 1 + 4, JSON.stringify(lanes));
    assert.ok(lanes.some((l) => /pid \d+ worker \d+/.test(l)));
    assert.strictEqual(await browser.evaluate(`document.querySelectorAll('#timeline polyline.delay-line').length`), 4);

    // The culprit table: busyLoop (twice, unless the machine starved one), 400 ms each; the code frame names the fixture's line.
    const rows = await browser.evaluate(
      `[...document.querySelectorAll('#culprits tr.row')].map((r) => [...r.cells].map((c) => c.textContent))`,
    );
    const busy = rows.find((r) => r[0].endsWith('busyLoop'));
    assert.ok(busy, JSON.stringify(rows));
    assert.strictEqual(busy[2], String(busyCount));
    assert.ok(parseFloat(busy[3]) >= 300 * busyCount, `total of ${busyCount} 400 ms blocks: ${busy[3]}`);
    assert.match(busy[6], /^busyLoop \(.*picture\.js:\d+:\d+\)$/);
    assert.ok(
      rows.some((r) => r[0].endsWith(EVIL) && r[6].includes(`/srv/${EVIL}.js`)),
      'markup shown as text',
    );

    // The flame graph holds the fixture's frames under "all blocks".
    const frames = await browser.evaluate(
      `[...document.querySelectorAll('#flame g.frame text')].map((t) => t.textContent)`,
    );
    assert.strictEqual(frames[0], 'all blocks');
    assert.ok(
      frames.some((f) => f.startsWith('busyLoop (picture.js:')),
      JSON.stringify(frames),
    );

    // Hover: the details of the block under the mouse, the context as text.
    const tip = await browser.evaluate(`(() => {
    const options = document.querySelector('#filter-culprit').options;
    const rects = [...document.querySelectorAll('#timeline rect.block')];
    // The block of the line written by hand: the one of the third process, with a context.
    const lane = [...document.querySelector('#filter-thread').options].findIndex((o) => o.textContent.includes('pid 424242')) - 1;
    const rect = rects.find((r) => options[Number(r.dataset.culprit) + 1].textContent === ${JSON.stringify(EVIL)} &&
      r.getBoundingClientRect().y > document.querySelectorAll('#timeline polyline.delay-line')[lane].getBoundingClientRect().y);
    const box = rect.getBoundingClientRect();
    rect.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, clientX: box.x + 1, clientY: box.y + 1 }));
    return { shown: getComputedStyle(document.getElementById('tip')).display, text: document.getElementById('tip').textContent };
  })()`);
    assert.strictEqual(tip.shown, 'block');
    assert.match(tip.text, /ms\nat \d{4}-/);
    assert.ok(tip.text.includes('state: js, phase: loop'), tip.text);
    assert.match(tip.text, /thread: .* pid 424242 main/);
    assert.ok(tip.text.includes(`context: ${JSON.stringify({ user: EVIL, note: '<!-- -->' })}`), tip.text);

    // Filters: one culprit leaves its blocks, its row and its flame graph.
    const filtered = await browser.evaluate(`(() => {
    const select = document.getElementById('filter-culprit');
    select.value = [...select.options].find((o) => o.textContent === 'busyLoop').value;
    select.dispatchEvent(new Event('change'));
    return {
      blocks: document.querySelectorAll('#timeline rect.block').length,
      rows: [...document.querySelectorAll('#culprits tr.row')].map((r) => r.cells[0].textContent),
      title: document.getElementById('flame-title').textContent,
    };
  })()`);
    assert.deepStrictEqual(filtered, { blocks: busyCount, rows: ['■ busyLoop'], title: 'Flame graph: busyLoop' });
    const phase = await browser.evaluate(`(() => {
    const select = document.getElementById('filter-phase');
    select.value = 'startup';
    select.dispatchEvent(new Event('change'));
    return document.getElementById('timeline').textContent;
  })()`);
    assert.strictEqual(phase, 'No block matches the filters.');
    assert.deepStrictEqual(browser.console, [], 'still no console output after the interactions');
    assert.strictEqual(await browser.evaluate('document.title'), 'blockbuster report');

    const png = path.join(dir, 'report.png');
    await browser.screenshot(png);
    const bytes = fs.readFileSync(png);
    assert.strictEqual(bytes.subarray(1, 4).toString(), 'PNG');
    assert.ok(bytes.length > 10_000, `a screenshot with something on it: ${bytes.length} bytes`);
  },
);

test('10,000 blocks: all drawn, and the page says how long it took', { skip }, async (t) => {
  const dir = tmpdir(t);
  const source = path.join(dir, 'one.jsonl');
  await jsonLines(source, 'blocks');
  const many = path.join(dir, 'many.jsonl');
  fs.writeFileSync(many, require('../../bench/report-page').manyBlocks(fs.readFileSync(source, 'utf8'), 10_000));
  const page = path.join(dir, 'many.html');
  const made = await run([CLI, 'report', many, '-o', page]);
  assert.strictEqual(made.code, 0, made.stderr);
  const browser = await openPage(chromium, pathToFileURL(page).href);
  t.after(() => browser.close());
  assert.deepStrictEqual(browser.console, []);
  assert.strictEqual(await browser.evaluate(`document.querySelectorAll('#timeline rect.block').length`), 10_000);
  const rendered = Number(await browser.evaluate('document.body.dataset.renderedMs'));
  assert.ok(rendered > 0, 'the page measured itself');
  t.diagnostic(`10,000 blocks: ${browser.loadMs} ms to the load event, rendered at ${rendered} ms (performance.now)`);
});

test('blockbuster report: bad arguments name the option or the file', async (t) => {
  const dir = tmpdir(t);
  const noOut = await run([CLI, 'report', path.join(dir, 'x.jsonl')]);
  assert.strictEqual(noOut.code, 2);
  assert.match(noOut.stderr, /report: option -o <report\.html> is required/);
  const missing = await run([CLI, 'report', path.join(dir, 'missing.jsonl'), '-o', path.join(dir, 'r.html')]);
  assert.strictEqual(missing.code, 2);
  assert.match(missing.stderr, /report: cannot read ".*missing\.jsonl": ENOENT/);
  fs.writeFileSync(path.join(dir, 'x.jsonl'), '');
  const badOut = await run([CLI, 'report', path.join(dir, 'x.jsonl'), '-o', path.join(dir, 'no', 'r.html')]);
  assert.strictEqual(badOut.code, 2);
  assert.match(badOut.stderr, /report: option -o: cannot write ".*r\.html"/);
  const noInput = await run([CLI, 'report', '-o', path.join(dir, 'r.html')]);
  assert.strictEqual(noInput.code, 2);
  assert.match(noInput.stderr, /report: no input/);
});
