// The HSMs page as an administrator works it: a slot clicked fills the
// form, the form is empty again after Create, a row's answer names its
// configuration, links to Edit and replaces the one before without moving
// the table; the detail page reseeds and shows its own history; the
// History page shows a new reseed without a reload; a deletion leads to
// the list with its message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newContext, signIn, hydrated, cli, slotOf } from './helpers.mjs';

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

test('HSM forms and answers: pick a slot, reset after create, one named answer at a time', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/hsms`);
  await hydrated(page);
  const slot = slotOf(server, server.token.serial);

  await page.click(`[data-testid=slot-table] tr[data-slot="${slot}"]`);
  assert.equal(await page.inputValue('#new-slot'), slot);
  await page.fill('#new-name', 'GOOD');
  await page.fill('#new-partition', 'Partition1');
  await page.fill('#new-pwd', server.token.userPin);
  await page.click('[data-testid=create-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("New GOOD configuration created successfully.")');
  await page.waitForSelector('tr[data-hsm=GOOD]');
  assert.equal(await page.inputValue('#new-name'), '', 'the form is empty again');
  assert.equal(await page.inputValue('#new-pwd'), '');
  assert.equal(await page.inputValue('#new-partition'), '');

  // A second one that fails: a wrong password.
  await page.fill('#new-name', 'WRONG');
  await page.fill('#new-pwd', 'not the password');
  await page.fill('#new-slot', slot);
  await page.click('[data-testid=create-form] button[type=submit]');
  await page.waitForSelector('tr[data-hsm=WRONG]');

  // Where the row sits in the page (not the viewport: a click may scroll).
  const rowBox = () => page.locator('tr[data-hsm=WRONG]').evaluate((tr) => tr.getBoundingClientRect().top + window.scrollY);
  const before = await rowBox();
  await page.click('tr[data-hsm=WRONG] [data-testid=test-login]');
  const toast = page.locator('[data-testid=row-notice]');
  await toast.locator('[data-testid=notice]:has-text("WRONG: HSM error: CKR_PIN_INCORRECT")').waitFor();
  assert.match(await toast.textContent(), /incorrect partition password/);
  assert.doesNotMatch(await toast.textContent(), /\bPIN\b(?!_)/, 'the form\'s words, not "PIN"');
  assert.equal(await toast.locator('[data-testid=notice-edit]').getAttribute('href'), '/hsms/WRONG');
  assert.equal(await rowBox(), before, 'the table did not move');

  await page.click('tr[data-hsm=GOOD] [data-testid=reseed]');
  await toast.locator('[data-testid=notice]:has-text("GOOD reseeded with 256 bits")').waitFor();
  assert.equal(await toast.locator('[data-testid=notice]').count(), 1, 'the answer replaced the one before');
  assert.equal(await toast.locator('[data-testid=notice-edit]').count(), 0);

  // The detail page: Reseed now, and its own history.
  await page.goto(`${server.url}/hsms/GOOD`);
  await hydrated(page);
  assert.equal(await page.locator('#own-history-title ~ * tr[data-outcome=ok]').count(), 1);
  await page.click('[data-testid=hsm-actions] [data-testid=reseed]');
  await page.waitForSelector('[data-testid=notice]:has-text("GOOD reseeded with 256 bits")');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=history-table] tr[data-outcome=ok]').length === 2);
  await page.click('[data-testid=hsm-actions] [data-testid=test-login]');
  await page.waitForSelector('[data-testid=notice]:has-text("GOOD: login succeeded")');
  assert.equal(await page.locator('[data-testid=notice]').count(), 1, 'one answer at a time');

  // The History page: a reseed from the console appears without a reload.
  await page.goto(`${server.url}/history`);
  await hydrated(page);
  const total = await page.textContent('[data-testid=history-total]');
  assert.equal(total, '2 reseeds');
  cli(server, ['hsm-seed', '--name=GOOD']);
  await page.waitForSelector('[data-testid=history-total]:has-text("3 reseeds")', { timeout: 10000 + 3000 });

  // Deleting on the detail page leads to the list, with the message
  // (shown once: the page the post led to is shown as it came), and the
  // page still answers clicks.
  cli(server, ['hsm-conf-new', '--name=GONE']);
  await page.goto(`${server.url}/hsms/GONE`);
  await hydrated(page);
  await page.check('[data-testid=delete-form] [name=confirm]');
  await page.click('[data-testid=delete-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("Configuration GONE deleted successfully.")');
  assert.equal(new URL(page.url()).pathname, '/hsms');
  assert.equal(await page.locator('tr[data-hsm=GONE]').count(), 0);
  await page.click(`[data-testid=slot-table] tr[data-slot="${slot}"]`);
  assert.equal(await page.inputValue('#new-slot'), slot);

  // A form the server cannot read (its one field gone): refused, and said so.
  await page.goto(`${server.url}/schedule`);
  await hydrated(page);
  await page.evaluate(() => document.querySelector('[data-testid=period-form] [name=period]').removeAttribute('name'));
  await page.click('[data-testid=period-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("The appliance could not read this form: nothing was changed.")');
  assert.match(await page.textContent('[data-testid=period]'), /^off/);

  assert.deepEqual(context.problems.filter((p) => !/status of 502/.test(p)), [], 'no page errors');
  await context.close();
});
