// Alerts: set up on the Settings page, a webhook receiver (HTTPS on
// 127.0.0.1, its certificate from a private CA given on the page) gets the
// test alert, then a `failing` and a `recovered` alert when a
// configuration breaks and is fixed; the log has one line per change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, newContext, signIn, hydrated, cli, slotOf } from './helpers.mjs';

// The server looks every 5 s (engine/src/alerts/mod.rs CHECK_EVERY) and at every change.
const WITHIN_MS = 5000 + 5000;

let server;
let browser;
let receiver;
let pki;

// A private CA and a certificate for 127.0.0.1 it signed, made with openssl.
async function privateCa() {
  const dir = await mkdtemp(join(tmpdir(), 'hsmseed-e2e-ca-'));
  const ssl = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=e2e alert receiver CA']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
  await writeFile(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext']);
  const read = (f) => readFile(join(dir, f), 'utf8');
  return { dir, ca: await read('ca.pem'), cert: await read('leaf.pem'), key: await read('leaf.key') };
}

// An HTTPS webhook receiver: keeps every JSON body, wakes whoever waits.
async function webhookReceiver({ cert, key }) {
  const got = [];
  const waiting = [];
  const srv = createServer({ cert, key }, (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ method: req.method, url: req.url, type: req.headers['content-type'], json: JSON.parse(body) });
      res.writeHead(200).end();
      for (const w of waiting.splice(0)) w();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${srv.address().port}/hooks/e2e`,
    got,
    // The first alert of `event` (waits for it at most `ms`).
    async next(event, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = got.find((a) => a.json.event === event);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${event} alert in ${ms} ms; got ${JSON.stringify(got.map((a) => a.json.event))}`);
        await new Promise((r) => { waiting.push(r); setTimeout(r, left); });
      }
    },
    close: () => new Promise((r) => srv.close(r)),
  };
}

before(async () => {
  pki = await privateCa();
  receiver = await webhookReceiver(pki);
  server = await startServer({}, { hsm: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await receiver?.close();
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});

test('the webhook gets a test alert, then a failing and a recovered alert', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/settings`);
  await hydrated(page);

  // A plain http:// URL is refused and nothing is saved.
  await page.fill('#a-url', receiver.url.replace('https:', 'http:'));
  await page.click('[data-testid=alerts-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("must start with https://")');
  assert.equal(cli(server, ['alert-conf-show']).match(/^Webhook +: (.*)$/m)[1], 'none');

  await page.fill('#a-url', receiver.url);
  await page.fill('#a-ca', pki.ca);
  await page.click('[data-testid=alerts-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("Alert settings saved.")');
  await page.waitForSelector('text=Trusted now: CN=e2e alert receiver CA.');
  assert.match(cli(server, ['alert-conf-show']), new RegExp(`^Webhook +: ${receiver.url}$`, 'm'));

  await page.click('[data-testid=test-alert-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("Test alert sent: webhook delivered (HTTP 200 after 1 attempt)")');
  const t = await receiver.next('test', 1000);
  assert.equal(t.method, 'POST');
  assert.equal(t.url, '/hooks/e2e');
  assert.equal(t.type, 'application/json');
  assert.equal(t.json.message, 'test alert sent by admin');
  await page.waitForSelector('[data-testid=alert-deliveries] tr[data-channel=webhook][data-ok=true]');

  // A configuration whose slot holds no token: failing, twice; one alert.
  cli(server, ['hsm-conf-new', '--name=BAD']);
  cli(server, ['hsm-conf-edit', '--name=BAD', '--partitionName=Partition1', '--slot=99999', '--partitionPwd=-'],
    server.token.userPin + '\n');
  assert.throws(() => cli(server, ['hsm-seed', '--name=BAD']));
  const failing = await receiver.next('configuration.failing', WITHIN_MS);
  assert.equal(failing.json.subject, 'configuration BAD');
  assert.equal(failing.json.severity, 'error');
  assert.equal(failing.json.previous, 'ok');
  assert.match(failing.json.message, /^configuration BAD failing: 1 failed reseed in a row, last: /);
  assert.ok(failing.json.appliance);
  assert.throws(() => cli(server, ['hsm-seed', '--name=BAD']));

  // Fixed: the right slot. The next reseed works: recovered.
  cli(server, ['hsm-conf-edit', '--name=BAD', '--slot=' + slotOf(server, server.token.serial)]);
  cli(server, ['hsm-seed', '--name=BAD']);
  const recovered = await receiver.next('configuration.recovered', WITHIN_MS);
  assert.equal(recovered.json.subject, 'configuration BAD');
  assert.equal(recovered.json.previous, 'failing');
  assert.equal(recovered.json.state, 'ok');
  assert.equal(receiver.got.filter((a) => a.json.event === 'configuration.failing').length, 1,
    'two failed reseeds, one alert');

  // The log: one line per change, not per attempt (warnings are logged in these tests).
  const lines = server.stderr().split('\n').filter((l) => l.includes('alert: configuration BAD failing'));
  assert.equal(lines.length, 1, server.stderr());

  // The audit log has the change of settings, without the URL's path.
  const audit = cli(server, ['audit-show', '--limit=50']);
  assert.match(audit, /alerts\.settings.*webhook=https:\/\/127\.0\.0\.1:\d+\/… \(CA: CN=e2e alert receiver CA\)/);
  assert.doesNotMatch(audit, /hooks\/e2e/);
  assert.match(audit, /alerts\.test/);

  // Not even the refused URL is an error the browser reports: the form's
  // answer is the page, with the message.
  assert.deepEqual(context.problems, [], 'no page errors');
  await context.close();
});
