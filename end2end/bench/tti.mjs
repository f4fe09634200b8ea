// `make bench`, in Chromium: each page's time to interactive, from the
// start of the navigation to the moment the page's island runs (it sets
// body[data-hydrated]), median of 5 loads after one to warm
// the cache. Adds `time_to_interactive_ms` to bench/results.json and prints
// a table. Uses the server binary in HSMSEED_BIN (the release build).
import { readFile, writeFile } from 'node:fs/promises';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, newContext, signIn } from '../tests/helpers.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const results = join(root, 'bench', 'results.json');
const PAGES = ['/login', '/', '/hsms', '/trust', '/schedule', '/history', '/audit', '/settings'];
const RUNS = 5;
const TARGET_MS = 150;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const server = await startServer();
const browser = await launchBrowser();
const out = {};
try {
  const context = await newContext(browser, { viewport: { width: 1280, height: 900 } });
  // Records when body[data-hydrated] appears, on every page load.
  await context.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.body?.dataset.hydrated === 'true') {
        window.__interactiveAt = performance.now();
        obs.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
  });
  const page = await context.newPage();
  await signIn(page, server.url);
  for (const path of PAGES) {
    const times = [];
    for (let i = 0; i <= RUNS; i++) {
      if (path === '/login') await context.clearCookies();
      await page.goto(`${server.url}${path}`);
      await page.waitForFunction(() => window.__interactiveAt !== undefined, null, { timeout: 20000 });
      const t = await page.evaluate(() => window.__interactiveAt);
      if (i > 0) times.push(t);
    }
    if (path === '/login') await signIn(page, server.url);
    out[path] = { median_ms: Number(median(times).toFixed(1)), runs_ms: times.map((t) => Number(t.toFixed(1))) };
  }
  await context.close();
} finally {
  await browser.close();
  await server.stop();
}

let all = {};
try { all = JSON.parse(await readFile(results, 'utf8')); } catch { /* first run */ }
all.time_to_interactive_ms = out;
await writeFile(results, JSON.stringify(all, null, 2) + '\n');
console.log(`\n${'page (time to interactive, median of 5)'.padEnd(44)} ${'ms'.padStart(8)}   target < ${TARGET_MS} ms`);
for (const [path, r] of Object.entries(out)) {
  console.log(`${path.padEnd(44)} ${r.median_ms.toFixed(1).padStart(8)}   ${r.median_ms < TARGET_MS ? 'met' : 'NOT met'}`);
}
