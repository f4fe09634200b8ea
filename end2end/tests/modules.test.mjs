// Two PKCS#11 modules in the browser: SoftHSM2 as the default and kryoptic
// by name (settings `pkcs11_modules`). A click on a slot of kryoptic's list
// fills the form's slot and module; the configuration made from it names
// the module and reseeds through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, newContext, signIn, hydrated } from './helpers.mjs';

// Where scripts/deps.sh test builds it (engine/src/hsm/testing/kryoptic.rs).
const KRYOPTIC = process.env.HSMSEED_KRYOPTIC_MODULE
  || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hsmseed', 'kryoptic', 'libkryoptic_pkcs11.so');
const SLOT = '42';
const shots = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-output', 'screenshots');

let server;
let browser;
let kryDir;
const kry = { label: 'e2e-kry', soPin: 'so-pin-e2e-0123', userPin: 'user-pin-e2e-4567' };

// A kryoptic token in a private configuration, as an operator would make one.
async function kryopticToken() {
  assert.ok(existsSync(KRYOPTIC), `${KRYOPTIC} not found: run scripts/deps.sh test`);
  kryDir = await mkdtemp(join(tmpdir(), 'hsmseed-e2e-kry-'));
  const conf = join(kryDir, 'kryoptic.conf');
  await writeFile(conf, `[[slots]]\nslot = ${SLOT}\ndbtype = "sqlite"\ndbargs = "${join(kryDir, 'token.sql')}"\n`);
  const tool = (args) => execFileSync('pkcs11-tool', ['--module', KRYOPTIC, '--slot', SLOT, ...args],
    { env: { ...process.env, KRYOPTIC_CONF: conf }, stdio: 'pipe' }).toString();
  tool(['--init-token', '--label', kry.label, '--so-pin', kry.soPin]);
  tool(['--login', '--login-type', 'so', '--so-pin', kry.soPin, '--init-pin', '--pin', kry.userPin]);
  return conf;
}

before(async () => {
  const conf = await kryopticToken();
  server = await startServer({ KRYOPTIC_CONF: conf, HSMSEED_PKCS11_MODULES: `kry=${KRYOPTIC}` }, { hsm: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (kryDir) await rm(kryDir, { recursive: true, force: true });
});

test('a slot of a named module fills the form, and its configuration seeds through it', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, server.url);
  await page.goto(`${server.url}/hsms`);
  await hydrated(page);

  // Each module's slots in a list of its own.
  const kryList = page.locator('section[data-module=kry]');
  await kryList.locator(`tr[data-slot="${SLOT}"]`).click();
  assert.equal(await page.inputValue('#new-slot'), SLOT);
  assert.equal(await page.inputValue('#new-module'), 'kry');
  // A slot of the default module puts the select back.
  await page.locator('section[data-module=""] tr[data-slot]').first().click();
  assert.equal(await page.inputValue('#new-module'), 'default');
  await kryList.locator(`tr[data-slot="${SLOT}"]`).click();

  await page.fill('#new-name', 'KRY');
  await page.fill('#new-partition', kry.label);
  await page.fill('#new-pwd', kry.userPin);
  await page.click('[data-testid=create-form] button[type=submit]');
  await page.waitForSelector('[data-testid=notice]:has-text("New KRY configuration created successfully.")');
  const row = page.locator('tr[data-hsm=KRY]');
  await row.waitFor();
  assert.equal(await page.inputValue('#new-module'), 'default', 'the form starts over');
  assert.equal(await page.inputValue('#new-slot'), '');
  assert.match(await row.textContent(), new RegExp(`slot ${SLOT} · module kry`));
  assert.match(await row.textContent(), new RegExp(kry.label));

  // A module chosen in the select survives the list's refresh (a reseed
  // reloads it, as the 10 s refresh does).
  await page.selectOption('#new-module', 'kry');
  await row.locator('[data-testid=reseed]').click();
  await page.locator('[data-testid=row-notice] [data-testid=notice]:has-text("KRY reseeded with 256 bits")').waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.inputValue('#new-module'), 'kry', 'the choice outlives the refresh');
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: join(shots, 'hsms-modules-1280.png'), fullPage: true });

  // Its page shows the module chosen.
  await page.goto(`${server.url}/hsms/KRY`);
  await hydrated(page);
  assert.equal(await page.inputValue('#module'), 'kry');

  assert.deepEqual(context.problems, [], 'no page errors');
  await context.close();
});
