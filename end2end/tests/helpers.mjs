// Starts a real hsmseed server (HTTPS on a free port, a fresh data directory)
// and a headless Debian Chromium for the end-to-end tests.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');

export const ADMIN_PASSWORD = 'e2e correct horse battery';

const SOFTHSM = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'];

// The demo token `make run` creates, made the same way (scripts/demo-token.sh)
// in the test's data directory; returns what the operator would read from
// data/demo-token.txt.
async function demoToken(dataDir) {
  execFileSync(join(root, 'scripts', 'demo-token.sh'), [dataDir], { stdio: 'ignore' });
  const text = await readFile(join(dataDir, 'demo-token.txt'), 'utf8');
  const get = (k) => text.match(new RegExp(`^${k}=(.*)$`, 'm'))[1];
  return { serial: get('serial'), userPin: get('user_pin'), label: get('label') };
}

// HSMSEED_E2E_POSTGRES: the socket directory of a PostgreSQL cluster
// (scripts/pg-cluster.sh). Each server then keeps its data in a database of
// its own there, as an appliance of a fleet does; otherwise in SQLite.
const POSTGRES = process.env.HSMSEED_E2E_POSTGRES;
let databases = 0;

function newDatabase() {
  const name = `e2e_${process.pid}_${databases++}`;
  execFileSync('createdb', ['-h', POSTGRES, '-U', 'postgres', name], { stdio: 'ignore' });
  return `postgres://postgres@localhost/${name}?host=${POSTGRES}`;
}

export async function startServer(extraEnv = {}, { hsm = false } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'hsmseed-e2e-'));
  const databaseUrl = POSTGRES ? newDatabase() : undefined;
  let token = null;
  if (hsm) {
    token = await demoToken(dataDir);
    extraEnv = {
      SOFTHSM2_CONF: join(dataDir, 'softhsm2.conf'),
      HSMSEED_PKCS11_MODULE: SOFTHSM.find((p) => existsSync(p)),
      ...extraEnv,
    };
  }
  const bin = process.env.HSMSEED_BIN || join(targetDir, 'debug', 'hsmseed');
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      HSMSEED_DATA_DIR: dataDir,
      HSMSEED_LISTEN: '127.0.0.1:0',
      HSMSEED_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HSMSEED_SITE_DIR: join(targetDir, 'site'),
      HSMSEED_LOG: 'warn',
      ...(databaseUrl ? { HSMSEED_DATABASE_URL: databaseUrl } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${stderr}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving (https?:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${out}\n${stderr}`)); });
  });
  return {
    url,
    dataDir,
    databaseUrl,
    token,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

// A browser context that accepts the appliance's self-signed certificate and
// records every page error and console error (CSP violations among them).
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, ...options });
  const problems = [];
  context.on('page', (page) => watch(page, problems));
  context.problems = problems;
  return context;
}

function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
}

export async function signIn(page, url, user = 'admin', password = ADMIN_PASSWORD) {
  await page.goto(`${url}/login`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20000 });
}

// A console command on a test server's data directory, as an operator runs
// it (the same PKCS#11 module and SoftHSM2 tokens); returns its output.
export function cli(server, args, input) {
  const bin = process.env.HSMSEED_BIN || join(targetDir, 'debug', 'hsmseed');
  return execFileSync(bin, args, {
    env: {
      ...process.env,
      HSMSEED_DATA_DIR: server.dataDir,
      SOFTHSM2_CONF: join(server.dataDir, 'softhsm2.conf'),
      HSMSEED_PKCS11_MODULE: SOFTHSM.find((p) => existsSync(p)),
      HSMSEED_LOG: 'error',
      ...(server.databaseUrl ? { HSMSEED_DATABASE_URL: server.databaseUrl } : {}),
    },
    input,
    encoding: 'utf8',
  });
}

// The slot that holds the token with this serial, as `ntl-verify` lists it.
export function slotOf(server, serial) {
  const out = cli(server, ['ntl-verify']);
  const line = out.split('\n').find((l) => l.includes(serial));
  if (!line) throw new Error(`the token ${serial} is not listed:\n${out}`);
  return line.trim().split(/\s+/)[0];
}
