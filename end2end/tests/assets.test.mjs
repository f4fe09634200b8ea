// The web assets: content-hashed names in the page, sent pre-compressed
// (brotli or gzip, as the browser asks) with a year-long cache lifetime;
// and the page works with them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startServer, launchBrowser, newContext, hydrated } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, rejectUnauthorized: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('hashed asset names, pre-compressed, cached for a year', async () => {
  const html = (await get(`${server.url}/login`)).body.toString();
  const js = html.match(/href="(\/pkg\/hsmseed\.[0-9a-f]{16}\.js)"/)?.[1];
  const wasm = html.match(/href="(\/pkg\/hsmseed\.[0-9a-f]{16}\.wasm)"/)?.[1];
  const css = html.match(/href="(\/pkg\/hsmseed\.[0-9a-f]{16}\.css)"/)?.[1];
  assert.ok(js && wasm && css, html.slice(0, 2000));

  for (const [path, type] of [[js, 'text/javascript'], [wasm, 'application/wasm'], [css, 'text/css']]) {
    const plain = await get(`${server.url}${path}`);
    assert.equal(plain.status, 200, path);
    assert.equal(plain.headers['content-encoding'], undefined, path);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable', path);
    assert.match(plain.headers['content-type'], new RegExp(`^${type}`), path);

    const br = await get(`${server.url}${path}`, { 'accept-encoding': 'br, gzip' });
    assert.equal(br.headers['content-encoding'], 'br', path);
    assert.match(br.headers['content-type'], new RegExp(`^${type}`), path);
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable', path);
    assert.ok(brotliDecompressSync(br.body).equals(plain.body), `${path}: the brotli file is the same content`);
    assert.ok(br.body.length < plain.body.length / 2, path);

    const gz = await get(`${server.url}${path}`, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip', path);
    assert.ok(gunzipSync(gz.body).equals(plain.body), `${path}: the gzip file is the same content`);
    if (path === wasm) {
      // Only the page's island is WASM (the pages are drawn on the server):
      // the bundle stays within 350 KiB gzip (about 62 KiB on 2026-12-02).
      assert.ok(gz.body.length <= 350 * 1024, `${path}: ${gz.body.length} bytes gzip`);
    }
  }
  // The page itself is never cached.
  assert.equal((await get(`${server.url}/login`)).headers['cache-control'], 'no-store');

  // And the browser hydrates with them (it asks for brotli).
  const context = await newContext(browser);
  const page = await context.newPage();
  const encodings = [];
  page.on('response', (r) => { if (r.url().includes('/pkg/')) encodings.push(r.headers()['content-encoding']); });
  await page.goto(`${server.url}/login`);
  await hydrated(page);
  assert.deepEqual([...new Set(encodings)], ['br']);
  assert.deepEqual(context.problems, [], 'no page errors');
  await context.close();
});
