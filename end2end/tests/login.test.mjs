import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newContext, signIn, hydrated, ADMIN_PASSWORD } from './helpers.mjs';

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

test('sign in, see the dashboard, use it once its island runs, sign out', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();

  // A protected page sends us to the sign-in form, the page it asked for
  // in the address (no session is made for an anonymous visit).
  await page.goto(`${server.url}/history`);
  assert.match(page.url(), /\/login\?m=required&next=%2Fhistory$/);
  assert.equal(await page.textContent('[data-testid=login-message]'), 'Please sign in to continue.');

  // The form is live once hydrated: "Show password" reveals what was typed.
  await hydrated(page);
  await page.fill('#password', 'typed secret');
  assert.equal(await page.getAttribute('#password', 'type'), 'password');
  await page.check('[data-testid=show-password]');
  assert.equal(await page.getAttribute('#password', 'type'), 'text');

  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  // Back to the page first asked for.
  assert.match(page.url(), /\/history$/);
  assert.equal(await page.textContent('h1'), 'History');
  assert.equal(await page.textContent('[data-testid=user-name]'), 'admin');

  // The dashboard, through the navigation (a plain link: the pages are
  // drawn on the server).
  await hydrated(page);
  await page.click('nav >> text=Dashboard');
  await page.waitForSelector('h1:text("Dashboard")');
  assert.equal(await page.textContent('[data-testid=ready]'), 'ready');
  assert.equal(await page.textContent('[data-testid=appliance-state]'), 'ok');
  // Nothing reseeded yet: the chart says so instead of drawing nothing.
  assert.match(await page.textContent('[data-testid=chart-empty]'), /No reseed in the last 24 hours/);

  // "Refresh" updates the status card in place, without reloading the page.
  await page.evaluate(() => { window.__sameDocument = true; });
  const before = await page.textContent('[data-testid=checked-at]');
  await page.waitForTimeout(1100);
  await page.click('[data-testid=refresh-status]');
  await page.waitForFunction(
    (old) => document.querySelector('[data-testid=checked-at]')?.textContent !== old,
    before,
  );
  assert.equal(await page.evaluate(() => window.__sameDocument), true);

  // Sign out ends the session.
  await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
  assert.match(page.url(), /\/login\?m=signed_out$/);
  assert.equal(await page.textContent('[data-testid=login-message]'), 'You have been signed out.');
  await page.goto(`${server.url}/`);
  assert.match(page.url(), /\/login\?m=required$/);

  assert.deepEqual(context.problems, [], 'no page errors and no CSP violations');
  await context.close();
});

test('a wrong password is refused with a clear message', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, server.url, 'admin', 'not the password');
  assert.match(page.url(), /\/login\?m=invalid&user=admin$/);
  assert.equal(await page.textContent('[data-testid=login-message]'), 'Invalid user name or password.');
  // The user name stays; the password does not.
  assert.equal(await page.inputValue('#username'), 'admin');
  assert.equal(await page.inputValue('#password'), '');
  await context.close();
});

test('the same sign-in works with JavaScript disabled', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, server.url);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(await page.textContent('h1'), 'Dashboard');
  assert.equal(await page.textContent('[data-testid=user-name]'), 'admin');
  assert.equal(await page.getAttribute('body', 'data-hydrated'), null, 'no script ran');
  // Navigation is plain links.
  await Promise.all([page.waitForNavigation(), page.click('nav >> text=Settings')]);
  assert.equal(await page.textContent('h1'), 'Settings');
  await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
  assert.equal(await page.textContent('[data-testid=login-message]'), 'You have been signed out.');
  await context.close();
});
