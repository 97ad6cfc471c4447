'use strict';
// Headless chromium driven over the DevTools protocol, with a minimal WebSocket client (Node 20 has
// no global WebSocket without a flag): load a page, collect its console, evaluate, screenshot.
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { getJson } = require('./helpers');

/** The chromium binary, or undefined where none is installed. */
function findChromium() {
  for (const name of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!name) continue;
    try {
      return execFileSync('sh', ['-c', `command -v ${JSON.stringify(name)}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** A WebSocket over the upgraded socket: text frames out (masked, as a client must), JSON in. */
function connect(url, onMessage) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const request = http.request(url.replace(/^ws:/, 'http:'), {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
    });
    request.on('error', reject);
    request.on('response', (response) => reject(new Error(`no WebSocket upgrade: HTTP ${response.statusCode}`)));
    request.on('upgrade', (_response, socket, head) => {
      let buffer = head;
      let fragments = [];
      socket.on('data', (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          if (buffer.length < 2) return;
          const fin = (buffer[0] & 0x80) !== 0;
          const opcode = buffer[0] & 0x0f;
          let length = buffer[1] & 0x7f;
          let offset = 2;
          if (length === 126) {
            if (buffer.length < 4) return;
            length = buffer.readUInt16BE(2);
            offset = 4;
          } else if (length === 127) {
            if (buffer.length < 10) return;
            length = Number(buffer.readBigUInt64BE(2));
            offset = 10;
          }
          if (buffer.length < offset + length) return;
          const payload = buffer.subarray(offset, offset + length);
          buffer = buffer.subarray(offset + length);
          if (opcode === 0x8) return void socket.end();
          if (opcode !== 0x1 && opcode !== 0x0) continue;
          fragments.push(payload);
          if (!fin) continue;
          const text = Buffer.concat(fragments).toString('utf8');
          fragments = [];
          onMessage(JSON.parse(text));
        }
      });
      socket.on('error', () => {});
      resolve({
        send(object) {
          const payload = Buffer.from(JSON.stringify(object));
          const mask = crypto.randomBytes(4);
          const size = payload.length;
          const header =
            size < 126
              ? Buffer.from([0x81, 0x80 | size])
              : size < 65536
                ? Buffer.from([0x81, 0x80 | 126, size >> 8, size & 0xff])
                : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), Buffer.alloc(8)]);
          if (size >= 65536) header.writeBigUInt64BE(BigInt(size), 2);
          for (let i = 0; i < size; i++) payload[i] ^= mask[i % 4];
          socket.write(Buffer.concat([header, mask, payload]));
        },
        close() {
          socket.destroy();
        },
      });
    });
    request.end();
  });
}

/**
 * Starts chromium on about:blank, opens `url` with the console recorded from the first script on,
 * and returns { evaluate, screenshot, console, loadMs, close }. `console` holds every console call,
 * exception and log entry (CSP violations are log entries).
 */
async function openPage(chromium, url, { width = 1300, height = 1000, timeoutMs = 60_000 } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'blockbuster-chromium-'));
  const child = spawn(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    // Its own process group: chromium's helper processes (zygote, renderer) go with it.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // The profile is removed once chromium and its helpers (the whole group) are gone. A helper still
  // finishing a write (ENOTEMPTY seen in CI) gets retries; the test's result never depends on it.
  const close = async () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch {
      // A temporary directory left behind: the OS cleans /tmp.
    }
  };
  try {
    const port = await new Promise((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(
        () => reject(new Error(`chromium did not start in ${timeoutMs} ms:\n${stderr}`)),
        timeoutMs,
      );
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.on('exit', (code) => reject(new Error(`chromium exited (${code}):\n${stderr}`)));
    });
    const targets = await getJson(`http://127.0.0.1:${port}/json/list`);
    const target = targets.find((t) => t.type === 'page');
    const pending = new Map();
    const listeners = [];
    const console = [];
    let nextId = 1;
    const ws = await connect(target.webSocketDebuggerUrl, (message) => {
      if (message.id !== undefined) {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(`${message.error.message} (${message.error.code})`));
        else waiter?.resolve(message.result);
        return;
      }
      if (message.method === 'Runtime.consoleAPICalled')
        console.push(
          `console.${message.params.type}: ${message.params.args.map((a) => a.value ?? a.description).join(' ')}`,
        );
      if (message.method === 'Runtime.exceptionThrown')
        console.push(
          `exception: ${message.params.exceptionDetails.exception?.description ?? message.params.exceptionDetails.text}`,
        );
      if (message.method === 'Log.entryAdded')
        console.push(`log ${message.params.entry.level}: ${message.params.entry.text}`);
      for (const listener of listeners) listener(message);
    });
    const send = (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        ws.send({ id, method, params });
      });
    await send('Runtime.enable');
    await send('Log.enable');
    await send('Page.enable');
    const loaded = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${url} did not load in ${timeoutMs} ms`)), timeoutMs);
      listeners.push((message) => {
        if (message.method === 'Page.loadEventFired') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const started = Date.now();
    await send('Page.navigate', { url });
    await loaded;
    const loadMs = Date.now() - started;
    return {
      console,
      loadMs,
      /** The value of `expression` in the page (awaited when it is a promise). */
      async evaluate(expression) {
        const result = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
        if (result.exceptionDetails) throw new Error(`in the page: ${result.exceptionDetails.exception?.description}`);
        return result.result.value;
      },
      async screenshot(file) {
        const { data } = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
        fs.writeFileSync(file, Buffer.from(data, 'base64'));
      },
      close() {
        ws.close();
        return close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

module.exports = { findChromium, openPage };
