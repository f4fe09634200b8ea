// Every page at 1024 and 1280 px: nothing scrolls sideways, and a
// screenshot of each is written to end2end/test-output/screenshots/ for a
// person to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, newContext, signIn, hydrated, cli, slotOf } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, '..', 'test-output', 'screenshots');

let server;
let browser;

before(async () => {
  server = await startServer({}, { hsm: true });
  browser = await launchBrowser();
  await mkdir(shots, { recursive: true });
  // Pages with something in them: long names, and a failing
  // configuration, history rows, audit rows with long details.
  const slot = slotOf(server, server.token.serial);
  cli(server, ['hsm-conf-new', '--name=HSM1']);
  cli(server, ['hsm-conf-edit', '--name=HSM1', '--partitionName=Partition1', `--slot=${slot}`, '--partitionPwd=-'],
    server.token.userPin + '\n');
  cli(server, ['hsm-seed', '--name=HSM1']);
  const long = 'long-configuration-name-for-the-datacenter.rack-12.partition-007';
  cli(server, ['hsm-conf-new', `--name=${long}`]);
  cli(server, ['hsm-conf-edit', `--name=${long}`, '--partitionName=PartitionWithAVeryLongNameIndeed0123456789',
    '--slot=1234567890', '--partitionPwd=-'], 'wrong\n');
  try { cli(server, ['hsm-seed', `--name=${long}`]); } catch { /* fails: no such slot */ }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const PAGES = ['/', '/hsms', '/hsms/HSM1', '/history', '/schedule', '/trust', '/audit', '/settings'];

for (const width of [1024, 1280]) {
  test(`no page scrolls sideways at ${width} px`, async () => {
    const context = await newContext(browser, { viewport: { width, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    await page.screenshot({ path: join(shots, `login-${width}.png`), fullPage: true });
    await signIn(page, server.url);
    const wide = [];
    for (const path of PAGES) {
      await page.goto(`${server.url}${path}`);
      await hydrated(page);
      const name = path === '/' ? 'dashboard' : path.slice(1).replaceAll('/', '-');
      await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      if (scroll > client) wide.push(`${path}: ${scroll} px in ${client}`);
    }
    assert.deepEqual(wide, [], 'pages wider than the window');
    assert.deepEqual(context.problems, [], 'no page errors');
    await context.close();
  });
}
