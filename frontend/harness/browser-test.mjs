// Real-browser test: Debian's chromium (through playwright-core) loads the
// harness page, which mounts the built plugins against the real backend
// (FLEETSCOPE_API_URL, e.g. `gpx_fleetscope serve`). Selects clusters, types a
// query with label completion from the backend, runs it, checks the results,
// an inline backend error, the LLM ops panel and the config editor, in the dark
// and the light theme. Screenshots go to artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServer } from './server.mjs';

const frontend = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(frontend, 'artifacts');
const results = { passed: 0, failed: 0 };

function die(message) {
  console.error(`browser-test: ${message}`);
  console.log(`0 passed, 1 failed`);
  process.exit(1);
}

async function check(name, fn) {
  try {
    await fn();
    results.passed++;
    console.log(`  ok    ${name}`);
  } catch (e) {
    results.failed++;
    console.log(`  FAIL  ${name}\n        ${String(e?.message ?? e).split('\n').join('\n        ')}`);
  }
}

function assert(cond, message) {
  if (!cond) {
    throw new Error(message);
  }
}

/** End of the stack's backfilled data (its instant queries go empty shortly after). */
function dataEnd() {
  if (process.env.FLEETSCOPE_DATA_END_MS) {
    return Number(process.env.FLEETSCOPE_DATA_END_MS);
  }
  const envFile = path.join(process.env.FLEETSCOPE_STACK_DIR ?? path.join(frontend, '..', '.stack'), 'env');
  if (fs.existsSync(envFile)) {
    const m = /^STACK_DATA_END_MS=(\d+)/m.exec(fs.readFileSync(envFile, 'utf8'));
    if (m) {
      return Number(m[1]);
    }
  }
  return Date.now();
}

const api = process.env.FLEETSCOPE_API_URL;
if (!api) {
  die(
    'FLEETSCOPE_API_URL is not set. Start the backend, e.g.\n' +
      '  target/release/gpx_fleetscope serve --config .stack/fleetscope-demo.yaml --listen 127.0.0.1:8080\n' +
      'and run again with FLEETSCOPE_API_URL=http://127.0.0.1:8080'
  );
}
let backendClusters;
try {
  const res = await fetch(new URL('api/v1/clusters', api.endsWith('/') ? api : api + '/'));
  assert(res.ok, `HTTP ${res.status}`);
  backendClusters = (await res.json()).clusters;
  assert(Array.isArray(backendClusters) && backendClusters.length > 0, 'no clusters registered');
} catch (e) {
  die(`the backend at ${api} does not answer GET api/v1/clusters: ${e.message}`);
}
for (const f of ['dist/datasource/module.js', 'dist/panel/module.js', 'harness/build/harness.js']) {
  if (!fs.existsSync(path.join(frontend, f))) {
    die(`${f} is missing: run npm run build and the harness build first (scripts/browser-test.sh does both)`);
  }
}
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  die(`${executablePath} is missing (apt-get install chromium)`);
}

fs.mkdirSync(artifacts, { recursive: true });
const end = dataEnd();
const enabled = backendClusters.filter((c) => c.enabled !== false);
console.log(`backend ${api}: ${backendClusters.length} clusters (${enabled.map((c) => c.id).join(', ')}); data end ${new Date(end).toISOString()}`);

const server = await startServer(api);
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  for (const theme of ['dark', 'light']) {
    console.log(`${theme} theme`);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    const started = Date.now();
    await page.goto(`${base}/harness/index.html?theme=${theme}&end=${end}`);
    await page.waitForFunction(() => window.__harness?.ready || window.__harness?.error, null, { timeout: 60_000 });
    const boot = await page.evaluate(() => window.__harness.error);
    if (boot) {
      await page.screenshot({ path: path.join(artifacts, `harness-${theme}-error.png`), fullPage: true });
      throw new Error(`harness failed to start: ${boot}`);
    }
    console.log(`  page ready in ${Date.now() - started} ms`);
    const qe = page.locator('#query-editor');

    await check('the LLM ops panel renders backend frames: service rows and GPU nodes', async () => {
      const { panelSeries: series, panelProblems } = await page.evaluate(() => window.__harness);
      assert(series > 0, `the panel queries returned ${series} series; ${[...new Set(panelProblems)].slice(0, 5).join('; ')}`);
      await page.locator('[data-testid=llmops-row]').first().waitFor({ timeout: 10_000 });
      const rows = await page.locator('[data-testid=llmops-row]').count();
      const gpus = await page.locator('[data-testid=llmops-gpu]').count();
      assert(rows > 0 && gpus > 0, `rows=${rows} gpu nodes=${gpus}`);
      const total = await page.locator('[data-testid=llmops-total-requests]').innerText();
      assert(/req\/s/.test(total) && !total.includes('—'), `total requests: ${total}`);
    });

    await check('the cluster picker lists the backend clusters; two are selected', async () => {
      await qe.getByRole('combobox', { name: 'Clusters' }).click();
      const options = page.getByRole('option');
      await options.first().waitFor({ timeout: 10_000 });
      const texts = await options.allInnerTexts();
      for (const c of backendClusters) {
        assert(texts.some((t) => t.includes(c.id)), `no option for cluster ${c.id} in ${JSON.stringify(texts)}`);
      }
      for (const c of enabled.slice(0, 2)) {
        await page.getByRole('option', { name: new RegExp(`\\(${c.id}\\)|^${c.id}`) }).first().click();
      }
      await page.keyboard.press('Escape');
    });

    await check('typing PromQL completes label names from the backend, Shift+Enter runs it', async () => {
      const field = qe.getByRole('textbox', { name: 'PromQL query' });
      await field.click();
      await page.keyboard.type('sum by (team) (rate(gateway_requests_total{sta');
      const suggestion = page.getByRole('option', { name: /^status/ });
      await suggestion.waitFor({ timeout: 10_000 });
      await page.keyboard.press('Enter');
      await page.keyboard.type('=~"5.."}[5m]))');
      const runs = await page.evaluate(() => window.__harness.runs);
      await page.keyboard.press('Shift+Enter');
      await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 20_000 });
      const state = await page.evaluate(() => window.__harness);
      assert(
        state.lastQuery.expr === 'sum by (team) (rate(gateway_requests_total{status=~"5.."}[5m]))',
        `query was ${state.lastQuery.expr}`
      );
      assert(state.lastQuery.clusters.length === Math.min(2, enabled.length), `clusters ${state.lastQuery.clusters}`);
      assert(state.lastResult.errors.length === 0, `errors: ${state.lastResult.errors}`);
      assert(state.lastResult.series > 0, 'no series came back');
      const clusterIds = state.lastResult.clusters.map((c) => c.cluster_id).sort();
      assert(JSON.stringify(clusterIds) === JSON.stringify([...state.lastQuery.clusters].sort()), `queried ${clusterIds}`);
      await page.getByTestId('result-summary').getByText(`${state.lastResult.series} series`).waitFor();
      await qe.screenshot({ path: path.join(artifacts, `query-editor-${theme}.png`) });
    });

    await check('a backend error (invalid PromQL) shows inline in the editor', async () => {
      const field = qe.getByRole('textbox', { name: 'PromQL query' });
      await field.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.type('sum(rate(up[5m]');
      await page.keyboard.press('Shift+Enter');
      const alert = page.getByTestId('fleetscope-query-error');
      await alert.waitFor({ timeout: 20_000 });
      const text = await alert.innerText();
      assert(/INVALID_PROMQL|invalid|parse|unclosed|unexpected/i.test(text), `error text: ${text}`);
      await qe.screenshot({ path: path.join(artifacts, `query-editor-error-${theme}.png`) });
      // Back to a good query for the page screenshot.
      await field.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.type('sum by (team) (rate(gateway_requests_total[5m]))');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Shift+Enter');
      await alert.waitFor({ state: 'detached', timeout: 20_000 });
    });

    await check('the config editor shows the registry with a configured secret', async () => {
      const ce = page.locator('#config-editor');
      await ce.getByText(`Clusters (${backendClusters.length})`).waitFor();
      await ce.getByText(backendClusters[0].name ?? backendClusters[0].id, { exact: true }).first().click();
      await ce.getByRole('textbox', { name: 'Bearer token' }).first().waitFor();
      const value = await ce.getByRole('textbox', { name: 'Bearer token' }).first().inputValue();
      assert(value === 'configured', `bearer token field shows ${JSON.stringify(value)}`);
      await ce.screenshot({ path: path.join(artifacts, `config-editor-${theme}.png`) });
    });

    await check('no uncaught page errors; icons loaded', async () => {
      await page.waitForLoadState('networkidle');
      await page.locator('#panel').screenshot({ path: path.join(artifacts, `panel-${theme}.png`) });
      await page.screenshot({ path: path.join(artifacts, `harness-${theme}.png`), fullPage: true });
      assert(consoleErrors.length === 0, consoleErrors.join('\n'));
    });
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}

console.log(`screenshots in ${artifacts}`);
console.log(`${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed ? 1 : 0);
