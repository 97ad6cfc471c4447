'use strict';
// Makes docs/report.png: two real processes (test/fixtures/watchdog/picture.js demo and blocks) under the
// preload, their JSON lines through `blockbuster report`, the page in headless chromium.
// node scripts/report-screenshot.js [out.png]
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL, promisify } = { ...require('node:url'), ...require('node:util') };
const { findChromium, openPage } = require('../test/browser');

const root = path.join(__dirname, '..');
const run = promisify(execFile);

async function main() {
  const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'report.png'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-screenshot-'));
  try {
    const fixture = path.join(root, 'test', 'fixtures', 'watchdog', 'picture.js');
    const lines = ['demo', 'blocks'].map((mode) => path.join(dir, `${mode}.jsonl`));
    await Promise.all(
      ['demo', 'blocks'].map((mode, i) =>
        run(process.execPath, ['--require', path.join(root, 'dist', 'register.js'), fixture, mode], {
          env: {
            ...process.env,
            BLOCKBUSTER_FORMAT: 'json',
            BLOCKBUSTER_OUTPUT: lines[i],
            BLOCKBUSTER_THRESHOLD_MS: '30',
          },
        }).catch((error) => (error.code === 3 ? undefined : Promise.reject(error))),
      ),
    );
    const page = path.join(dir, 'report.html');
    await run(process.execPath, [path.join(root, 'dist', 'cli.js'), 'report', ...lines, '-o', page]);
    const browser = await openPage(findChromium(), pathToFileURL(page).href, { width: 1300, height: 860 });
    try {
      // Hover the longest block, so that the picture shows the details too.
      await browser.evaluate(`(() => {
        const rects = [...document.querySelectorAll('#timeline rect.block')];
        const rect = rects.reduce((a, b) => (Number(b.getAttribute('width')) > Number(a.getAttribute('width')) ? b : a));
        const box = rect.getBoundingClientRect();
        rect.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, clientX: box.x + box.width / 2, clientY: box.y + box.height / 2 }));
      })()`);
      await browser.screenshot(out);
    } finally {
      await browser.close();
    }
    console.log(`wrote ${out}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
