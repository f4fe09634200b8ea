// Several entropy sources, one of them a remote that does not answer: the
// dashboard shows each source's state in a table of its own, at 1024 px
// without sideways scrolling, and the mix keeps the appliance ready.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newContext, signIn, hydrated } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({
    // Port 9 on loopback: nothing listens, the connection is refused.
    HSMSEED_ENTROPY_SOURCE: `os,qrng:https://127.0.0.1:9/ pin=${'0'.repeat(64)} timeout_ms=300`,
    HSMSEED_ENTROPY_MIX: 'any',
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the dashboard shows every source with its state, the remote one failing', async () => {
  const ctx = await newContext(browser, { viewport: { width: 1024, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/`);
  await hydrated(page);
  const rows = page.locator('[data-testid=entropy-source-row]');
  assert.equal(await rows.count(), 2);
  const os = await rows.nth(0).innerText();
  const remote = await rows.nth(1).innerText();
  assert.match(os, /^os\s+ok\s+local/);
  assert.match(remote, /qrng:https:\/\/127\.0\.0\.1:9\/\s+failed\s+backoff/);
  assert.match(remote, /Connection refused/);
  // With `any`, the healthy one keeps the appliance ready.
  assert.equal(await page.locator('[data-testid=entropy-state]').innerText(), 'ok');
  assert.equal(await page.locator('[data-testid=ready]').innerText(), 'ready');
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= inner, `no sideways scroll: ${scroll} > ${inner}`);
  await ctx.close();
});
