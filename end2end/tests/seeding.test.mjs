// The guide's "Configure access to HSM partitions" and "Reseed the HSM",
// done in the browser against the demo SoftHSM2 token of `make run`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newContext, signIn, hydrated } from './helpers.mjs';

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

async function demoSlot(page) {
  const row = page.locator('[data-testid=slot-table] tr', { hasText: server.token.label });
  return (await row.locator('td').first().textContent()).trim();
}

test('create HSM1 with the guide values, set the period to 1, reseed now, see it in History', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, server.url);

  await page.goto(`${server.url}/hsms`);
  await hydrated(page);
  assert.equal(await page.textContent('[data-testid=no-configs]'), 'No configuration yet. Create one below for each partition you want to seed.');
  const slot = await demoSlot(page);
  assert.match(slot, /^\d+$/);

  // hsm-conf-new + hsm-conf-edit, in one form.
  const form = page.locator('[data-testid=create-form]');
  await form.locator('[name=name]').fill('HSM1');
  await form.locator('[name=partition_name]').fill('Partition1');
  await form.locator('[name=partition_pwd]').fill(server.token.userPin);
  await form.locator('[name=slot]').fill(slot);
  await form.locator('[name=user_type]').selectOption('CKU_USER');
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('[data-testid=notice]:has-text("New HSM1 configuration created successfully.")');
  const row = page.locator('tr[data-hsm=HSM1]');
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`Partition1.*${slot}.*${server.token.serial}`));
  assert.ok(!(await page.content()).includes(server.token.userPin), 'the password is never shown back');

  // hsm-conf-seed --period 1
  await page.click('nav >> text=Schedule');
  await page.waitForSelector('[data-testid=period-form]');
  await page.selectOption('#period', '1');
  await page.click('[data-testid=period-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("Seed period configured successfully.")');
  await page.waitForSelector('[data-testid=period]:has-text("every 1 minute")');
  assert.match(await page.textContent('[data-testid=next-run]'), /UTC$/);

  // Reseed now.
  await page.click('nav >> text=HSMs');
  await page.locator('tr[data-hsm=HSM1] [data-testid=reseed]').click();
  await page.waitForSelector('[data-testid=notice]:has-text("HSM1 reseeded with 256 bits")');
  await page.waitForSelector('tr[data-hsm=HSM1] [data-testid=last] .badge.ok');

  // Test login.
  await page.locator('tr[data-hsm=HSM1] [data-testid=test-login]').click();
  await page.waitForSelector('[data-testid=notice]:has-text("HSM1: login succeeded")');

  // History shows the reseed from the page.
  await page.click('nav >> text=History');
  const uiRow = page.locator('[data-testid=history-table] tr[data-trigger=ui][data-outcome=ok]');
  await uiRow.first().waitFor();
  assert.match(await uiRow.first().textContent(), /HSM1/);
  assert.match(await uiRow.first().textContent(), /256/);

  // Off again, so that the scheduler does not run during other tests.
  await page.goto(`${server.url}/schedule`);
  await hydrated(page);
  await page.selectOption('#period', '0');
  await page.click('[data-testid=period-form] button[type=submit]');
  await page.waitForSelector('[data-testid=period]:has-text("off")');

  assert.deepEqual(context.problems, [], 'no page errors and no CSP violations');
  await context.close();
});

test('the same forms work without JavaScript, and refusals say why', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/hsms`);
  const slot = await demoSlot(page);

  const form = page.locator('[data-testid=create-form]');
  await form.locator('[name=name]').fill('NOJS');
  await form.locator('[name=partition_pwd]').fill(server.token.userPin);
  await form.locator('[name=slot]').fill(slot);
  await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()]);
  assert.equal(new URL(page.url()).pathname, '/hsms');
  assert.equal(await page.textContent('[data-testid=notice]'), 'New NOJS configuration created successfully.');

  // A duplicate name is refused with its reason, and nothing changes.
  await form.locator('[name=name]').fill('NOJS');
  await form.locator('[name=slot]').fill('not-a-slot');
  await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()]);
  assert.match(await page.textContent('[data-testid=notice]'), /slot `not-a-slot` is not a number/);
  assert.equal(await page.locator('tr[data-hsm=NOJS]').count(), 1);

  await Promise.all([page.waitForNavigation(), page.locator('tr[data-hsm=NOJS] [data-testid=reseed]').click()]);
  assert.match(await page.textContent('[data-testid=notice]'), /^NOJS reseeded with 256 bits/);

  // The edit page: a wrong password makes the next reseed fail with its CKR code.
  await Promise.all([page.waitForNavigation(), page.click('tr[data-hsm=NOJS] >> text=Edit')]);
  await page.fill('#pwd', 'not-the-pin');
  await Promise.all([page.waitForNavigation(), page.click('[data-testid=edit-form] button[type=submit]')]);
  assert.equal(await page.textContent('[data-testid=notice]'), 'Configuration NOJS edited successfully.');
  await page.goto(`${server.url}/hsms`);
  await Promise.all([page.waitForNavigation(), page.locator('tr[data-hsm=NOJS] [data-testid=reseed]').click()]);
  assert.match(await page.textContent('[data-testid=notice]'), /CKR_PIN_INCORRECT/);

  // One failed login holds it: shown red with the fix, never tried again.
  await page.goto(`${server.url}/hsms`);
  assert.equal(
    await page.textContent('tr[data-hsm=NOJS] [data-testid=held]'),
    'login held: CKR_PIN_INCORRECT',
  );
  assert.equal(await page.locator('tr[data-hsm=NOJS] [data-testid=reseed]').count(), 0);
  await Promise.all([page.waitForNavigation(), page.click('tr[data-hsm=NOJS] [data-testid=fix]')]);
  assert.equal(new URL(page.url()).pathname, '/hsms/NOJS');
  assert.match(await page.textContent('[data-testid=held-card]'), /zeroizes the partition/);
  await page.goto(`${server.url}/`);
  assert.match(await page.textContent('[data-testid=held-banner]'), /NOJS/);

  // Delete needs the confirmation.
  await page.goto(`${server.url}/hsms/NOJS`);
  await page.check('[data-testid=delete-form] [name=confirm]');
  await Promise.all([page.waitForNavigation(), page.click('[data-testid=delete-form] button[type=submit]')]);
  assert.equal(new URL(page.url()).pathname, '/hsms');
  assert.equal(await page.textContent('[data-testid=notice]'), 'Configuration NOJS deleted successfully.');
  assert.equal(await page.locator('tr[data-hsm=NOJS]').count(), 0);
  await context.close();
});

test('an API token is shown once on the settings page', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/settings`);
  await hydrated(page);
  await page.fill('#t-name', 'ceremony');
  await page.selectOption('#t-scope', 'seed');
  await page.click('[data-testid=token-form] button[type=submit]');
  const secret = (await (await page.waitForSelector('[data-testid=secret]')).textContent()).trim();
  assert.match(secret, /^hss_[0-9a-f]{64}$/);
  await page.waitForSelector('tr[data-token=ceremony]');
  // It works for the REST call, and it is not on the page after a reload.
  const api = await (await import('playwright-core')).request.newContext({ ignoreHTTPSErrors: true });
  const r = await api.post(`${server.url}/api/2.0/hsmseed?name=NOPE`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(r.status(), 404, 'the token is valid: the name is what is unknown');
  const bad = await api.post(`${server.url}/api/2.0/hsmseed?name=NOPE`, { headers: { authorization: 'Bearer hss_nope' } });
  assert.equal(bad.status(), 401);
  await api.dispose();
  await page.reload();
  assert.ok(!(await page.content()).includes(secret));
  assert.deepEqual(context.problems, [], 'no page errors and no CSP violations');
  await context.close();
});
