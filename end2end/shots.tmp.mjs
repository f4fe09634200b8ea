import { startServer, launchBrowser, newContext, signIn, hydrated } from './tests/helpers.mjs';
const server = await startServer({}, { hsm: true });
const browser = await launchBrowser();
const ctx = await newContext(browser);
const page = await ctx.newPage();
await signIn(page, server.url);
// A good config and a held one.
await page.goto(`${server.url}/hsms`);
await hydrated(page);
const slot = (await page.textContent('[data-testid=slot-table] tbody tr td')).trim();
for (const [name, pw] of [['HSM1', server.token.userPin], ['HSM2', 'wrong-password']]) {
  await page.fill('#new-name', name);
  await page.fill('#new-pwd', pw);
  await page.fill('#new-slot', slot);
  await page.click('[data-testid=create-form] button[type=submit]');
  await page.waitForSelector(`tr[data-hsm=${name}]`);
}
await page.locator('tr[data-hsm=HSM1] [data-testid=reseed]').click();
await page.waitForSelector('[data-testid=notice]:has-text("HSM1 reseeded")');
await page.locator('tr[data-hsm=HSM2] [data-testid=reseed]').click();
await page.waitForSelector('[data-testid=notice]:has-text("CKR_PIN_INCORRECT")');
for (const w of [1024, 1280]) {
  await page.setViewportSize({ width: w, height: 900 });
  for (const [p, n] of [['/hsms', 'hsms'], ['/hsms/HSM2', 'edit'], ['/', 'dashboard'], ['/settings', 'settings']]) {
    await page.goto(`${server.url}${p}`);
    await hydrated(page);
    await page.screenshot({ path: `/tmp/shots/${n}-${w}.png`, fullPage: true });
  }
}
console.log('problems', ctx.problems);
await browser.close();
await server.stop();
