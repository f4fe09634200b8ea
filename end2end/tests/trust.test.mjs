// The guide's "Create the Network Trusted Link" steps in the browser: the
// HSM's server.pem uploaded, the appliance certificate created, shown and
// downloaded; openssl accepts what was downloaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, newContext, signIn, hydrated } from './helpers.mjs';

let server;
let browser;
let dir;

before(async () => {
  server = await startServer({}, { hsm: true });
  browser = await launchBrowser();
  dir = await mkdtemp(join(tmpdir(), 'hsmseed-ntl-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30',
    '-subj', '/C=CA/O=Gemalto/CN=192.168.1.31', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.pem')],
  { stdio: 'ignore' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const openssl = (...args) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('import the HSM certificate, create, show and download the appliance certificate', async () => {
  const context = await newContext(browser, { acceptDownloads: true });
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/trust`);
  await hydrated(page);
  assert.equal(await page.textContent('[data-testid=no-servers]'), 'No HSM in the list yet.');

  // ntl-hsm-cert-import --hsmCert=server.pem --hsmIp=192.168.1.31
  await page.fill('#s-address', '192.168.1.31');
  await page.setInputFiles('#s-file', join(dir, 'server.pem'));
  await Promise.all([page.waitForNavigation(), page.click('[data-testid=upload-form] button[type=submit]')]);
  const notice = await page.textContent('[data-testid=notice] p');
  assert.ok(notice.startsWith('New server 192.168.1.31 added to the list successfully.'), notice);
  const card = page.locator('article[data-server="192.168.1.31"]');
  assert.match(await card.textContent(), /C=CA, O=Gemalto, CN=192\.168\.1\.31/);
  // A 30-day certificate: its end is near, and said so at once, on its card
  // and on the dashboard.
  assert.match(notice, /Warning: the certificate expires in 29 days/);
  assert.equal(await card.locator('[data-testid=cert-expiry]').textContent(), 'expires in 29 days');
  await page.goto(`${server.url}/`);
  await hydrated(page);
  const expiry = page.locator('[data-cert="HSM 192.168.1.31"]');
  assert.equal(await expiry.getAttribute('data-soon'), 'true');
  assert.match(await expiry.textContent(), /expires in 29 days/);
  await page.goto(`${server.url}/trust`);

  // A private key instead of a certificate is refused, and nothing is added.
  await hydrated(page);
  await page.fill('#s-address', '192.168.1.32');
  await page.setInputFiles('#s-file', join(dir, 'server.key'));
  await Promise.all([page.waitForNavigation(), page.click('[data-testid=upload-form] button[type=submit]')]);
  assert.match(await page.textContent('[data-testid=notice] p'), /this is a private key, not a certificate/);
  assert.equal(await page.locator('article[data-server="192.168.1.32"]').count(), 0);

  // The subject, then ntl-qa-cert-new.
  await hydrated(page);
  const subject = page.locator('[data-testid=qa-subject-form]');
  await subject.locator('[name=country]').fill('CA');
  await subject.locator('[name=state]').fill('Ontario');
  await subject.locator('[name=locality]').fill('Ottawa');
  await subject.locator('[name=organization]').fill('My company');
  await subject.locator('[name=address]').fill('192.168.1.21');
  await subject.locator('button[type=submit]').click();
  await page.waitForSelector('[data-testid=notice]:has-text("QA certificate subject saved")');
  await page.click('[data-testid=qa-create-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("New QA certificate created successfully for the NTL.")');

  // ntl-qa-cert-show
  await page.click('details summary');
  const text = await page.textContent('[data-testid=qa-text]');
  assert.match(text, /Subject: C = CA, ST = Ontario, L = Ottawa, O = My company, CN = 192\.168\.1\.21/);

  // ntl-qa-cert-export: the download link saves 192.168.1.21.pem.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=qa-download]')]);
  assert.equal(download.suggestedFilename(), '192.168.1.21.pem');
  const saved = join(dir, '192.168.1.21.pem');
  await download.saveAs(saved);
  const pem = await readFile(saved, 'utf8');
  assert.ok(pem.startsWith('-----BEGIN CERTIFICATE-----') && !pem.includes('PRIVATE KEY'), 'the certificate only');
  const info = openssl('x509', '-in', saved, '-text', '-noout');
  assert.match(info, /Public-Key: \(2048 bit\)/);
  assert.match(info, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.equal(info, text, 'the page shows what openssl prints');
  assert.match(openssl('verify', '-CAfile', saved, saved), /: OK/);

  // Re-creating needs the confirmation that every HSM must register again.
  await page.click('[data-testid=qa-create-form] button[type=submit]');
  assert.equal(await page.locator('[data-testid=notice]:has-text("New QA certificate created successfully")').count(), 1);
  assert.ok(await page.$eval('[data-testid=qa-create-form] [name=confirm]', (e) => !e.checkValidity()), 'the confirmation is required');

  // ntl-verify: the slots, with model and firmware.
  assert.match(await page.textContent('[data-testid=slot-table]'), /hsmseed-demo.*SoftHSM v2/s);

  // The dashboard lists the appliance certificate too, far from its end.
  await page.goto(`${server.url}/`);
  await hydrated(page);
  const qa = page.locator('[data-cert="appliance 192.168.1.21"]');
  assert.equal(await qa.getAttribute('data-soon'), 'false');
  assert.match(await qa.textContent(), /expires in \d+ days/);

  assert.deepEqual(context.problems, [], 'no page errors and no CSP violations');
  await context.close();
});

test('the audit page shows the trust-link actions', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/audit?action=ntl.`);
  const rows = page.locator('[data-testid=audit-table] tbody tr');
  assert.ok(await rows.count() >= 3);
  assert.match(await page.textContent('[data-testid=audit-table]'), /ntl\.server\.import.*192\.168\.1\.31/s);
  assert.match(await page.textContent('[data-testid=audit-table]'), /ntl\.qa\.export/);
  await context.close();
});
