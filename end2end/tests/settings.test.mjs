// The Settings page's API example works as written: curl with --cacert
// and the certificate the page offers reaches the appliance; the new
// token's Copy button puts exactly the token on the clipboard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, newContext, signIn, hydrated } from './helpers.mjs';

let server;
let browser;
let dir;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  dir = await mkdtemp(join(tmpdir(), 'hsmseed-e2e-curl-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the curl example works with the downloaded certificate, and Copy copies the token', async () => {
  const context = await newContext(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/settings`);
  await hydrated(page);

  const example = await page.textContent('[data-testid=curl-example]');
  assert.equal(example,
    `curl --cacert hsmseed-appliance.pem -H 'Authorization: Bearer TOKEN' -X POST '${server.url}/api/2.0/hsmseed?name=HSM1'`);
  assert.equal(await page.getAttribute('[data-testid=served-cert]', 'href'), '/tls/appliance.pem');
  const pem = await page.evaluate(async () => (await fetch('/tls/appliance.pem')).text());
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
  await writeFile(join(dir, 'hsmseed-appliance.pem'), pem);

  await page.fill('#t-name', 'curl-example');
  await page.selectOption('#t-scope', 'seed');
  await page.click('[data-testid=token-form] button[type=submit]');
  const secret = (await page.textContent('[data-testid=secret]', { timeout: 10000 })).trim();
  assert.equal(await page.inputValue('#t-name'), '', 'the token form is empty again');
  await page.click('[data-testid=notice] [data-testid=copy]');
  await page.waitForSelector('[data-testid=notice] [data-testid=copy]:has-text("Copied")');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

  // The example, as written, with the token and the downloaded certificate
  // (curl verifies the server against it; no -k). No HSM1 here: a clean 404.
  const cmd = example.replace('TOKEN', secret);
  const out = execFileSync('sh', ['-c', `${cmd} --silent --show-error --write-out ' %{http_code}'`], { cwd: dir, encoding: 'utf8' });
  assert.match(out, /"error":"not_found".* 404$/s);

  assert.deepEqual(context.problems, [], 'no page errors');
  await context.close();
});
