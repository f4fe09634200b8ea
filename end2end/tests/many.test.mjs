// A hundred and twenty configurations in the browser: the HSMs page shows
// 50 at a time; the search form and the pager work, the page never scrolls
// sideways, and the dashboard lists those in trouble first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, newContext, signIn, hydrated, cli, slotOf } from './helpers.mjs';

const shots = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-output', 'screenshots');

let server;
let browser;

before(async () => {
  server = await startServer({}, { hsm: true });
  browser = await launchBrowser();
  // Imported as an operator would: a CSV and its passwords on stdin.
  const slot = slotOf(server, server.token.serial);
  const rows = ['name,partition,slot'];
  const pwds = ['name,password'];
  for (let i = 0; i < 120; i++) {
    const name = `P${String(i).padStart(3, '0')}`;
    rows.push(`${name},part-${i},${slot}`);
    pwds.push(`${name},${server.token.userPin}`);
  }
  const csv = join(server.dataDir, 'configs.csv');
  await writeFile(csv, rows.join('\n') + '\n');
  const out = cli(server, ['hsm-conf-import', `--file=${csv}`, '--passwords=-'], pwds.join('\n') + '\n');
  assert.match(out, /120 configurations imported successfully/);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the HSMs page searches and pages 120 configurations', async () => {
  const context = await newContext(browser, { viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/hsms`);
  await hydrated(page).catch((e) => { throw new Error(`${e.message}\n${context.problems.join('\n')}`); });
  assert.equal(await page.locator('tr[data-hsm]').count(), 50);
  assert.match(await page.textContent('[data-testid=hsm-pager]'), /1–50 of 120 · page 1 of 3/);

  // The pager: the next page, without a reload of the document.
  await page.click('[data-testid=hsm-pager] a[rel=next]');
  await page.waitForSelector('tr[data-hsm=P050]');
  assert.match(page.url(), /\/hsms\?page=2$/);
  assert.match(await page.textContent('[data-testid=hsm-pager]'), /51–100 of 120/);

  // The search form: by partition name.
  await page.fill('#s-text', 'PART-11');
  await Promise.all([page.waitForURL(/q=PART-11/), page.click('[data-testid=hsm-search] button[type=submit]')]);
  await page.waitForSelector('tr[data-hsm=P110]');
  const names = await page.$$eval('tr[data-hsm]', (rows) => rows.map((r) => r.dataset.hsm));
  assert.deepEqual(names, ['P011', 'P110', 'P111', 'P112', 'P113', 'P114', 'P115', 'P116', 'P117', 'P118', 'P119']);
  assert.equal(await page.inputValue('#s-text'), 'PART-11');

  // By state: none failing yet.
  await page.goto(`${server.url}/hsms?state=failing`);
  await hydrated(page);
  assert.match(await page.textContent('[data-testid=no-configs]'), /No configuration matches the search/);

  for (const width of [1024, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(`${server.url}/hsms`);
    await hydrated(page);
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `HSMs page scrolls sideways at ${width} px: ${scroll} > ${client}`);
    await mkdir(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `hsms-many-${width}.png`) });
  }

  // The dashboard: 25 rows and the way to the others.
  await page.goto(`${server.url}/`);
  await hydrated(page);
  assert.equal(await page.locator('tr[data-config]').count(), 25);
  assert.match(await page.textContent('[data-testid=config-health-more]'), /The first 25 of 120/);
  assert.deepEqual(context.problems, []);
  await context.close();
});
