// Health at a glance: a configuration that starts failing shows as failing
// on an open dashboard within one refresh period, without a reload, and the
// appliance turns `degraded` (page, /api/2.0/status, /metrics).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newContext, signIn, hydrated, cli, slotOf } from './helpers.mjs';

// The dashboard refreshes itself every 5 s (app/src/pages/dashboard.rs).
const REFRESH_MS = 5000;

let server;
let browser;

before(async () => {
  server = await startServer({}, { hsm: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});


test('a failing configuration shows on the open dashboard within one refresh, without reload', async () => {
  // One that works, seeded once: the appliance is `ok`.
  cli(server, ['hsm-conf-new', '--name=GOOD']);
  cli(server, ['hsm-conf-edit', '--name=GOOD', '--partitionName=Partition1', '--slot=' + slotOf(server, server.token.serial),
    '--partitionPwd=-'], server.token.userPin + '\n');
  cli(server, ['hsm-seed', '--name=GOOD']);

  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/`);
  await hydrated(page);
  assert.equal(await page.textContent('[data-testid=appliance-state]'), 'ok');
  assert.equal(await page.getAttribute('tr[data-config=GOOD]', 'data-state'), 'ok');
  assert.match(await page.textContent('tr[data-config=GOOD]'), /UTC \((just now|\d+ s ago)\)/);
  // One reseed: the chart has a y-axis from 0 to 1.
  const ticks = await page.$$eval('[data-testid=hour-chart] text.axis[text-anchor=end]', (ts) => ts.map((t) => t.textContent));
  assert.deepEqual(ticks, ['0', '1']);

  // Another starts failing (its slot holds no token), from the console.
  cli(server, ['hsm-conf-new', '--name=BAD']);
  cli(server, ['hsm-conf-edit', '--name=BAD', '--slot=99999', '--partitionPwd=-'], 'any password\n');
  assert.throws(() => cli(server, ['hsm-seed', '--name=BAD']));
  const seenAt = Date.now();
  await page.waitForSelector('tr[data-config=BAD][data-state=failing]', { timeout: REFRESH_MS + 2000 });
  assert.ok(Date.now() - seenAt <= REFRESH_MS + 2000);
  assert.equal(await page.textContent('[data-testid=appliance-state]'), 'degraded');
  const banner = await page.textContent('[data-testid=degraded-banner]');
  assert.match(banner, /Degraded: 1 of 2 enabled configurations not seeded/);
  assert.match(banner, /BAD.*1 failed reseed in a row/s);
  assert.match(await page.textContent('tr[data-config=BAD]'), /never.*1: .*Fix: Edit/s);
  assert.ok(await page.$('tr[data-config=BAD] a[href="/hsms/BAD"]'));

  // The API and the metrics say the same.
  const status = await page.evaluate(async () => (await fetch('/api/2.0/status')).json());
  assert.equal(status.state, 'degraded');
  assert.equal(status.configurations.failing, 1);
  assert.equal(status.configurations.ok, 1);
  const metrics = await page.evaluate(async () => (await fetch('/metrics')).text());
  assert.match(metrics, /^hsmseed_degraded 1$/m);
  assert.match(metrics, /^hsmseed_configurations\{state="failing"\} 1$/m);

  // Disabled, it no longer counts: the appliance is `ok` again, live.
  cli(server, ['hsm-conf-edit', '--name=BAD', '--enabled=false']);
  await page.waitForSelector('tr[data-config=BAD][data-state=disabled]', { timeout: REFRESH_MS + 2000 });
  assert.equal(await page.textContent('[data-testid=appliance-state]'), 'ok');
  assert.equal(await page.$('[data-testid=degraded-banner]'), null);

  assert.deepEqual(context.problems, [], 'no page errors');
  await context.close();
});

