'use strict';
// The report page at scale: N blocks made from one real block line (threads, culprits and times
// varied), written as a page by `blockbuster report`, loaded in headless chromium.
// node bench/report-page.js [blocks=10000] [runs=3]
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

/** `count` block lines from the first block line of `jsonl`: 8 processes × 2 threads, 40 culprits, one hour. */
function manyBlocks(jsonl, count) {
  const template = JSON.parse(jsonl.split('\n').find((line) => line.includes('"kind":"block"')));
  const start = Date.parse('2026-12-01T10:00:00Z');
  const lines = [];
  for (let i = 0; i < count; i++) {
    const culprit = i % 40;
    const functionName = `handler${culprit}`;
    const durationMs = 25 + ((i * 7919) % 400);
    const frames = [
      { ...template.culprit, functionName, line: 10 + culprit },
      ...Array.from({ length: 8 }, (_, k) => ({
        functionName: `layer${(culprit + k) % 12}`,
        file: `/srv/app/lib/layer${k}.js`,
        line: k + 1,
        column: 3,
      })),
    ];
    lines.push(
      JSON.stringify({
        ...template,
        time: new Date(start + Math.round((i / count) * 3_600_000) + durationMs).toISOString(),
        pid: 1000 + (i % 8),
        threadId: (i >> 3) % 2,
        durationMs,
        blockingCall: culprit % 3 === 0 ? 'JSON.parse' : undefined,
        culprit: frames[0],
        frames,
        samples: { total: 10, dominant: 8, share: 0.8 },
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const count = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 3);
  const { findChromium, openPage } = require('../test/browser');
  const chromium = findChromium();
  if (!chromium) throw new Error('bench/report-page.js needs chromium (apt-get install chromium)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-bench-page-'));
  try {
    const one = path.join(dir, 'one.jsonl');
    // picture.js blocks exits 3 on purpose (the exit-code test); only its JSON lines matter here.
    spawnSync(
      process.execPath,
      [
        '--require',
        path.join(__dirname, '..', 'dist', 'register.js'),
        path.join(__dirname, '..', 'test', 'fixtures', 'watchdog', 'picture.js'),
        'blocks',
      ],
      {
        env: { ...process.env, BLOCKBUSTER_FORMAT: 'json', BLOCKBUSTER_OUTPUT: one, BLOCKBUSTER_THRESHOLD_MS: '30' },
        stdio: 'ignore',
      },
    );
    const many = path.join(dir, 'many.jsonl');
    fs.writeFileSync(many, manyBlocks(fs.readFileSync(one, 'utf8'), count));
    const page = path.join(dir, 'many.html');
    const made = Date.now();
    execFileSync(process.execPath, [path.join(__dirname, '..', 'dist', 'cli.js'), 'report', many, '-o', page], {
      stdio: 'ignore',
    });
    const writeMs = Date.now() - made;
    console.log(
      `${count} blocks: ${(fs.statSync(many).size / 1e6).toFixed(1)} MB of JSON lines -> ${(fs.statSync(page).size / 1e6).toFixed(1)} MB page in ${writeMs} ms`,
    );
    for (let run = 0; run < runs; run++) {
      const browser = await openPage(chromium, pathToFileURL(page).href);
      try {
        const rendered = Number(await browser.evaluate('document.body.dataset.renderedMs'));
        const drawn = await browser.evaluate(`document.querySelectorAll('#timeline rect.block').length`);
        const filter = await browser.evaluate(
          `(() => { const s = document.getElementById('filter-culprit'); s.value = '3'; const t = performance.now(); s.dispatchEvent(new Event('change')); return Math.round(performance.now() - t); })()`,
        );
        console.log(
          `run ${run + 1}: load event after ${browser.loadMs} ms, rendered at ${rendered} ms, ${drawn} blocks drawn, a culprit filter re-renders in ${filter} ms`,
        );
      } finally {
        await browser.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { manyBlocks };
if (require.main === module) main();
