// Real-browser test: Debian's chromium (through playwright-core) loads the
// harness page, which mounts the built plugins against the real backend
// (FLEETSCOPE_API_URL, e.g. `gpx_fleetscope serve`): queries go through the
// plugin's own DataSourceWithBackend.query to the backend's `api/v1/ds/query`
// (QueryData's path), hints through the resource API. Drives the Monaco
// editors with completion from the backend for PromQL, LogQL, TraceQL and the
// ClickHouse store's SQL mode, every query kind (metrics with exemplars — the
// exemplar frame's trace link followed to the trace —, metrics from the
// ClickHouse store with completion from it, logs with volume and context,
// traces search → trace, alerts, GPU, CNF, macOS), ad-hoc filters (keys and
// values from the backend, answers narrowed), Explore's filter for/out
// (modifyQuery) on stream and parsed labels, interpolateVariablesInQueries
// with dashboard variables, the query help, the LLM ops panel on the LLM
// dashboard's own targets, and the config editor, in the dark and the light
// theme. Screenshots go to artifacts/.
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

/**
 * The stack's store settings (`jsonData.clickhouse` of settings-demo.json), which
 * Grafana would hand the frontend with the datasource: the SQL editor completes their tables.
 */
function demoStores() {
  const file = path.join(process.env.FLEETSCOPE_STACK_DIR ?? path.join(frontend, '..', '.stack'), 'settings-demo.json');
  if (!fs.existsSync(file)) {
    return undefined;
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')).jsonData?.clickhouse;
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
const stores = demoStores();
const enabled = backendClusters.filter((c) => c.enabled !== false);
const nameOf = Object.fromEntries(backendClusters.map((c) => [c.id, c.name ?? c.id]));
console.log(`backend ${api}: ${backendClusters.length} clusters (${enabled.map((c) => c.id).join(', ')}); data end ${new Date(end).toISOString()}`);

const server = await startServer(api);
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const harness = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__harness)));

/** The Monaco editor of a query field (`promql`, `logql`, `traceql`). */
const field = (page, lang) => page.locator(`[data-testid=fleetscope-query-field-${lang}] .monaco-editor[role=code]`);

/** Focus a Monaco field and replace its text by typing (Monaco auto-closes brackets and quotes as you type). */
async function focusEmpty(page, lang) {
  await field(page, lang).waitFor({ timeout: 30_000 });
  await field(page, lang).locator('.view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
}

/** The visible suggestion rows of Monaco's suggest widget. */
const suggestions = (page) => page.locator('.suggest-widget.visible .monaco-list-row');

/** The focused suggestion's detail pane shows `re` (Ctrl+Space opens it where it is closed). */
async function showDetails(page, re) {
  const details = page.locator('.suggest-details').filter({ hasText: re }).first();
  try {
    await details.waitFor({ timeout: 3_000 });
  } catch {
    await page.keyboard.press('Control+Space');
    await details.waitFor({ timeout: 10_000 });
  }
}

async function waitForSuggestion(page, re) {
  const row = suggestions(page).filter({ hasText: re }).first();
  await row.waitFor({ timeout: 15_000 });
  return row;
}

/** Run with Shift+Enter (Escape first closes the suggest widget) and wait for the answer. */
async function runAndWait(page) {
  const runs = (await harness(page)).runs;
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 30_000 });
  return harness(page);
}

/** Click a radio (query type, view), and wait for the run it starts. */
async function pickAndWait(page, scope, name) {
  const runs = (await harness(page)).runs;
  await scope.getByRole('radio', { name, exact: true }).click();
  await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 30_000 });
  return harness(page);
}

function noErrors(state, what) {
  assert(state.lastResult.errors.length === 0, `${what}: errors ${JSON.stringify(state.lastResult.errors)}`);
}

/** Call a method of the page's `window.__harnessApi` (the plugin's own code runs in the page). */
async function callApi(page, method, ...args) {
  await page.waitForFunction(() => !!window.__harnessApi, null, { timeout: 10_000 });
  return page.evaluate(([m, a]) => window.__harnessApi[m](...a), [method, args]);
}

/** The text of a Monaco field, with Monaco's non-breaking spaces as spaces. */
const fieldText = async (page, lang) => ((await field(page, lang).locator('.view-lines').textContent()) ?? '').replace(/\u00a0/g, ' ');

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
const canonical = (v) => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
const same = (a, b) => canonical(a) === canonical(b);
const sorted = (xs) => [...xs].sort();
/** Every series' value of `label` in a frame summary list. */
const seriesValues = (frames, label) => [...new Set(frames.flatMap((f) => (f.series ?? []).map((l) => l[label])).filter((v) => v !== undefined))].sort();
/** The distinct values of a row label over log frames. */
const logValues = (frames, label) => [...new Set(frames.flatMap((f) => f.logLabels?.[label] ?? []))].sort();
/** A value escaped as the datasource formats one value of a multi-value variable inside a regex matcher. */
const regexEscaped = (v) => v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}\[\]'+?.()|]/g, '\\\\$&');

const rowsOf = (state) => state.lastResult.frames.reduce((n, f) => n + f.rows, 0);
const clustersOf = (state) => [...new Set(state.lastResult.frames.flatMap((f) => f.clusters))].sort();

try {
  for (const theme of ['dark', 'light']) {
    const full = theme === 'dark';
    console.log(`${theme} theme${full ? '' : ' (editors, panel and config; the kinds are driven in the dark theme)'}`);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    const started = Date.now();
    const storesParam = stores ? `&stores=${encodeURIComponent(JSON.stringify(stores))}` : '';
    await page.goto(`${base}/harness/index.html?theme=${theme}&end=${end}${storesParam}`);
    await page.waitForFunction(() => window.__harness?.ready || window.__harness?.error, null, { timeout: 90_000 });
    const boot = await page.evaluate(() => window.__harness.error);
    if (boot) {
      await page.screenshot({ path: path.join(artifacts, `harness-${theme}-error.png`), fullPage: true });
      throw new Error(`harness failed to start: ${boot}`);
    }
    console.log(`  page ready in ${Date.now() - started} ms`);
    const qe = page.locator('#query-editor');
    const shot = (name, locator = qe) => locator.screenshot({ path: path.join(artifacts, `${name}-${theme}.png`) });

    await check('the LLM ops panel (the LLM dashboard’s targets) joins team × service, counts active alerts, lists GPU nodes', async () => {
      const { panelSeries: series, panelProblems } = await harness(page);
      assert(series > 0, `the panel queries returned ${series} series; ${[...new Set(panelProblems)].slice(0, 5).join('; ')}`);
      assert(panelProblems.length === 0, `panel query errors: ${panelProblems.join('; ')}`);
      await page.locator('[data-testid=llmops-row]').first().waitFor({ timeout: 10_000 });
      const teams = await page.locator('[data-testid=llmops-team]').allInnerTexts();
      assert(teams.length >= 2, `team groups: ${JSON.stringify(teams)}`);
      // The first team's first row names a service: team and service are joined.
      const firstRow = page.locator('[data-testid=llmops-row]').first();
      const cells = await firstRow.locator('td').allInnerTexts();
      assert(cells[1] && cells[1] !== '—', `first row has no service: ${JSON.stringify(cells)}`);
      const alerts = await page.getByTestId('llmops-alert-count').innerText();
      const n = Number(/\d+/.exec(alerts)?.[0] ?? 0);
      assert(n > 0, `active alerts: ${alerts}`);
      const rowAlerts = (await page.getByTestId('llmops-row-alerts').allInnerTexts()).map((t) => Number(t) || 0);
      assert(rowAlerts.some((x) => x > 0), `no row counts an alert: ${rowAlerts}`);
      const gpus = await page.locator('[data-testid=llmops-gpu]').count();
      assert(gpus > 0, `gpu nodes=${gpus}`);
      assert((await page.getByTestId('llmops-missing').count()) === 0, 'the panel says a query is missing');
      await shot('panel', page.locator('#panel'));
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
    const picked = enabled.slice(0, 2).map((c) => c.id);

    await check('PromQL in Monaco: label names from the backend complete, Shift+Enter runs it on the picked clusters', async () => {
      await focusEmpty(page, 'promql');
      await page.keyboard.type('sum by (team) (rate(gateway_requests_total{sta', { delay: 15 });
      await waitForSuggestion(page, /^status/);
      await shot('completion-promql-labels');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Escape');
      await page.keyboard.type('=~"5.."}[5m]))', { delay: 15 });
      const state = await runAndWait(page);
      assert(state.lastQuery.expr === 'sum by (team) (rate(gateway_requests_total{status=~"5.."}[5m]))', `query was ${state.lastQuery.expr}`);
      assert(JSON.stringify([...state.lastQuery.clusters].sort()) === JSON.stringify([...picked].sort()), `clusters ${state.lastQuery.clusters}`);
      noErrors(state, 'metrics');
      assert(state.lastResult.frames.length > 0, 'no series came back');
      const want = picked.map((id) => nameOf[id]).sort();
      assert(JSON.stringify(clustersOf(state)) === JSON.stringify(want), `series from ${clustersOf(state)}, want ${want}`);
      await shot('query-editor-metrics');
    });

    await check('PromQL: functions complete with their docs; metric names come from the backend', async () => {
      await focusEmpty(page, 'promql');
      await page.keyboard.type('histogram_q', { delay: 15 });
      const row = await waitForSuggestion(page, /histogram_quantile/);
      // Monaco shows the signature beside the label; Ctrl+Space opens the doc pane.
      await page.keyboard.press('Control+Space');
      await page.locator('.suggest-details').filter({ hasText: /quantile/ }).first().waitFor({ timeout: 10_000 });
      await shot('completion-promql-functions', page.locator('#query-editor'));
      assert(await row.isVisible(), 'histogram_quantile row vanished');
      await page.keyboard.press('Escape');
      await focusEmpty(page, 'promql');
      await page.keyboard.type('gateway_req', { delay: 15 });
      await waitForSuggestion(page, /gateway_requests_total/);
      await page.keyboard.press('Escape');
    });

    await check('PromQL: a syntax error is marked in the editor before the backend answers, and the backend’s error shows inline', async () => {
      await focusEmpty(page, 'promql');
      await page.keyboard.type('sum(rate(up[5m])) +', { delay: 15 });
      const marker = page.getByTestId('fleetscope-syntax-error');
      await marker.waitFor({ timeout: 10_000 });
      assert(/Incomplete query/.test(await marker.innerText()), await marker.innerText());
      await field(page, 'promql').locator('.squiggly-error').first().waitFor({ timeout: 10_000 });
      await runAndWait(page);
      const alert = page.getByTestId('fleetscope-query-error');
      await alert.waitFor({ timeout: 20_000 });
      const text = await alert.innerText();
      assert(/INVALID_PROMQL|invalid|parse|unexpected/i.test(text), `error text: ${text}`);
      await shot('query-editor-error');
    });

    if (full) {
      await check('Exemplars: the toggle sends exemplars: true and the query still answers', async () => {
        await focusEmpty(page, 'promql');
        await page.keyboard.type('sum by (team) (rate(gateway_requests_total[5m]))', { delay: 5 });
        await runAndWait(page);
        const runs = (await harness(page)).runs;
        await qe.getByRole('switch', { name: 'Exemplars' }).click({ force: true });
        await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 30_000 });
        const state = await harness(page);
        assert(state.lastQuery.exemplars === true, `exemplars ${state.lastQuery.exemplars}`);
        noErrors(state, 'metrics with exemplars');
        assert(state.lastResult.frames.length > 0, 'no frames');
      });

      await check('Exemplars: the exemplar frame’s trace-ID field links to this datasource’s trace view (Grafana’s Prometheus link shape); following it opens the trace', async () => {
        // East's Prometheus holds six exemplars in the last hour of data, each naming the trace east's Tempo holds (tests/stack/README.md).
        assert(picked.includes('east'), `the picked clusters ${picked} leave out east, which holds the demo exemplars`);
        const state = await harness(page);
        assert(state.lastQuery.exemplars === true, `exemplars ${state.lastQuery.exemplars}`);
        const ex = state.lastResult.frames.find((f) => f.name === 'exemplar');
        assert(ex, `no exemplar frame among ${JSON.stringify(state.lastResult.frames.map((f) => f.name ?? f.refId))}`);
        assert(ex.rows === 6, `exemplar rows ${ex.rows}, expected the stack's 6`);
        for (const name of ['Time', 'Value', 'trace_id', 'cluster', 'cluster_id']) {
          assert(ex.fields.includes(name), `exemplar fields ${ex.fields} lack ${name}`);
        }
        assert(same(ex.clusters, [nameOf.east]), `exemplars from ${ex.clusters}`);
        // Grafana's Prometheus (result_transformer.ts getDataLinks) puts on the field named by the destination
        // {title, url: '', internal: {query: {query: '${__value.raw}', queryType: 'traceql'}, datasourceUid, datasourceName}};
        // ours has the same shape, the query being this datasource's trace view in the exemplar's own cluster.
        const links = ex.links ?? [];
        assert(links.length === 1 && links[0].field === 'trace_id', `links ${JSON.stringify(links)}`);
        const [link] = links;
        const uid = await callApi(page, 'uidOf');
        assert(link.url === '' && link.title && link.internal?.datasourceUid === uid, `link ${JSON.stringify(link)}`);
        const want = { queryType: 'traces', tracesView: 'trace', traceId: '${__value.raw}', clusters: ['${__data.fields.cluster_id}'] };
        assert(same(link.internal.query, want), `link query ${JSON.stringify(link.internal.query)}, expected ${JSON.stringify(want)}`);
        const metricsQuery = state.lastQuery;
        const followed = await callApi(page, 'followLink', 'trace_id');
        const trace = await harness(page);
        assert(followed.value === '6c48c5c2029f7c3ddb565ad52f1ac6bd', `the newest exemplar names trace ${followed.value}`);
        assert(
          trace.lastQuery.queryType === 'traces' && trace.lastQuery.tracesView === 'trace' && trace.lastQuery.traceId === followed.value && same(trace.lastQuery.clusters, ['east']),
          `followed query ${JSON.stringify(trace.lastQuery)}`
        );
        noErrors(trace, 'trace from an exemplar');
        assert(rowsOf(trace) > 1, `spans: ${rowsOf(trace)}`);
        await shot('exemplar-trace');
        await callApi(page, 'setQuery', { ...metricsQuery, exemplars: false });
      });

      await check('Ad-hoc filters (metrics): keys with `cluster` first and values from the backend; a label filter and a cluster filter narrow the answer', async () => {
        const q = { refId: 'A', queryType: 'metrics', expr: 'sum by (team) (rate(gateway_requests_total[5m]))', aggregate: 'merge', clusters: picked };
        const keys = await callApi(page, 'tagKeys', [q]);
        assert(keys[0] === 'cluster', `keys start ${keys.slice(0, 3)}`);
        assert(keys.includes('team') && keys.includes('status'), `keys ${keys}`);
        assert(!keys.includes('__name__') && !keys.includes('cluster_id'), `keys ${keys}`);
        const clusterValues = await callApi(page, 'tagValues', 'cluster', [q]);
        assert(same(sorted(clusterValues), sorted(picked)), `cluster values ${clusterValues}, picked ${picked}`);
        const teams = await callApi(page, 'tagValues', 'team', [q]);
        assert(teams.length >= 2, `team values ${teams}`);
        const all = await callApi(page, 'runWith', q, []);
        assert(all.errors.length === 0, `errors ${all.errors}`);
        const allTeams = seriesValues(all.frames, 'team');
        assert(allTeams.length >= 2, `teams answered without a filter: ${allTeams}`);
        assert(allTeams.every((t) => teams.includes(t)), `answered teams ${allTeams} missing from the filter values ${teams}`);
        const team = allTeams[0];
        const one = await callApi(page, 'runWith', q, [{ key: 'team', operator: '=', value: team }]);
        assert(one.sent?.expr === `sum by (team) (rate(gateway_requests_total{team="${team}"}[5m]))`, `sent ${one.sent?.expr}`);
        assert(one.errors.length === 0, `errors ${one.errors}`);
        assert(same(seriesValues(one.frames, 'team'), [team]), `teams with team=${team}: ${seriesValues(one.frames, 'team')}`);
        const other = await callApi(page, 'runWith', q, [{ key: 'team', operator: '!=', value: team }]);
        assert(other.frames.length > 0 && !seriesValues(other.frames, 'team').includes(team), `teams with team!=${team}: ${seriesValues(other.frames, 'team')}`);
        const second = picked[1];
        const inCluster = await callApi(page, 'runWith', q, [{ key: 'cluster', operator: '=', value: second }]);
        assert(same(inCluster.sent?.clusters, [second]), `sent clusters ${JSON.stringify(inCluster.sent?.clusters)}`);
        const fromClusters = [...new Set(inCluster.frames.flatMap((f) => f.clusters))];
        assert(inCluster.frames.length > 0 && same(fromClusters, [nameOf[second]]), `cluster=${second} answered from ${fromClusters}`);
        const notFirst = await callApi(page, 'runWith', q, [{ key: 'cluster', operator: '!=', value: picked[0] }]);
        assert(same(notFirst.sent?.clusters, picked.slice(1)), `cluster!=${picked[0]} sent clusters ${JSON.stringify(notFirst.sent?.clusters)}`);
      });

      await check('Ad-hoc filters (logs): Loki’s label keys with `cluster` first and their values; a stream-label filter narrows the lines', async () => {
        const q = { refId: 'A', queryType: 'logs', expr: '{app=~"llm-gateway|model-server"}', clusters: picked };
        const keys = await callApi(page, 'tagKeys', [q]);
        assert(keys[0] === 'cluster' && keys.includes('app'), `keys ${keys}`);
        const apps = await callApi(page, 'tagValues', 'app', [q]);
        assert(apps.includes('llm-gateway') && apps.includes('model-server'), `app values ${apps}`);
        const all = await callApi(page, 'runWith', q, []);
        assert(all.errors.length === 0, `errors ${all.errors}`);
        assert(same(logValues(all.frames, 'app'), ['llm-gateway', 'model-server']), `apps without a filter: ${logValues(all.frames, 'app')}`);
        const one = await callApi(page, 'runWith', q, [{ key: 'app', operator: '=', value: 'model-server' }]);
        assert(one.sent?.expr === '{app=~"llm-gateway|model-server", app="model-server"}', `sent ${one.sent?.expr}`);
        assert(one.errors.length === 0, `errors ${one.errors}`);
        const lines = one.frames.reduce((n, f) => n + f.rows, 0);
        assert(lines > 0 && same(logValues(one.frames, 'app'), ['model-server']), `app=model-server: ${lines} lines of ${logValues(one.frames, 'app')}`);
        const keysByCluster = await callApi(page, 'tagValues', 'cluster', [q]);
        assert(same(sorted(keysByCluster), sorted(picked)), `cluster values ${keysByCluster}`);
      });

      await check('interpolateVariablesInQueries: $cluster, a multi-value $team and $app come out interpolated, and the interpolated queries run', async () => {
        // Two teams with gateway requests on the first picked cluster.
        const base = await callApi(page, 'runWith', { refId: 'A', queryType: 'metrics', expr: 'sum by (team) (rate(gateway_requests_total[5m]))', aggregate: 'merge', clusters: [picked[0]] }, []);
        const teams = seriesValues(base.frames, 'team').slice(0, 2);
        assert(teams.length === 2, `teams on ${picked[0]}: ${teams}`);
        await callApi(page, 'setVariable', 'cluster', [picked[0]]);
        await callApi(page, 'setVariable', 'team', teams);
        await callApi(page, 'setVariable', 'app', 'llm-gateway');
        try {
          const [m, l, f] = await callApi(page, 'interpolate', [
            { refId: 'A', queryType: 'metrics', expr: 'sum by (team) (rate(gateway_requests_total{team=~"$team"}[5m]))', aggregate: 'merge', clusters: ['$cluster'] },
            { refId: 'B', queryType: 'logs', expr: '{app="$app"} | json', clusters: ['${cluster}'] },
            { refId: 'C', queryType: 'metrics', expr: 'sum by (team) (rate(gateway_requests_total[5m]))', clusters: ['$cluster'] },
          ], [{ key: 'team', operator: '=', value: teams[1] }]);
          const uid = await callApi(page, 'uidOf');
          const alternation = `(${teams.map(regexEscaped).join('|')})`;
          assert(m.expr === `sum by (team) (rate(gateway_requests_total{team=~"${alternation}", team="${teams[1]}"}[5m]))`, `metrics expr ${m.expr}`);
          assert(same(m.clusters, [picked[0]]) && m.datasource?.uid === uid, `metrics query ${JSON.stringify(m)}`);
          assert(l.expr === `{app="llm-gateway"} | json | team="${teams[1]}"` && same(l.clusters, [picked[0]]), `logs query ${JSON.stringify(l)}`);
          assert(f.expr === `sum by (team) (rate(gateway_requests_total{team="${teams[1]}"}[5m]))`, `filtered expr ${f.expr}`);
          // The interpolated queries run as they are: nothing is left for the backend to resolve.
          const [plainMetrics] = await callApi(page, 'interpolate', [{ refId: 'A', queryType: 'metrics', expr: 'sum by (team) (rate(gateway_requests_total{team=~"$team"}[5m]))', aggregate: 'merge', clusters: ['$cluster'] }]);
          const ran = await callApi(page, 'runWith', plainMetrics, []);
          assert(ran.errors.length === 0 && ran.sent?.expr === plainMetrics.expr, `ran ${ran.sent?.expr}: ${ran.errors}`);
          assert(same(seriesValues(ran.frames, 'team'), sorted(teams)), `teams answered ${seriesValues(ran.frames, 'team')}, asked ${teams}`);
          assert(same([...new Set(ran.frames.flatMap((x) => x.clusters))], [nameOf[picked[0]]]), `answered from ${ran.frames.flatMap((x) => x.clusters)}`);
          const [plainLogs] = await callApi(page, 'interpolate', [{ refId: 'B', queryType: 'logs', expr: '{app="$app"} | json', clusters: ['$cluster'] }]);
          const logs = await callApi(page, 'runWith', plainLogs, []);
          assert(logs.errors.length === 0 && logs.frames.reduce((n, x) => n + x.rows, 0) > 0, `logs: ${logs.errors}`);
          assert(same(logValues(logs.frames, 'app'), ['llm-gateway']), `log apps ${logValues(logs.frames, 'app')}`);
        } finally {
          await callApi(page, 'setVariable', 'cluster', '$__all');
        }
      });
    }

    if (full) {
      await check('ClickHouse store: metric names, attributes and values complete from the store; builder and SQL queries answer per picked cluster', async () => {
        await qe.getByRole('radio', { name: 'ClickHouse', exact: true }).click();
        // No metric yet: nothing is sent (filterQuery).
        const metric = qe.getByRole('combobox', { name: 'Store metric' });
        await metric.click();
        await page.keyboard.type('DCGM_FI_DEV_GPU_U', { delay: 15 });
        const option = page.getByRole('option', { name: /DCGM_FI_DEV_GPU_UTIL/ }).first();
        await option.waitFor({ timeout: 15_000 });
        assert(/gauge/.test(await option.innerText()), `the metric option does not say its type: ${await option.innerText()}`);
        await shot('completion-store-metrics');
        let runs = (await harness(page)).runs;
        await option.click();
        await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 30_000 });
        let state = await harness(page);
        assert(state.lastQuery.source === 'clickhouse' && state.lastQuery.metric === 'DCGM_FI_DEV_GPU_UTIL', `query ${JSON.stringify(state.lastQuery)}`);
        noErrors(state, 'store metric');
        assert(state.lastResult.frames.length > 0, 'no series from the store');

        // A filter: attribute keys of the metric, then values of the key, from the store.
        await qe.getByRole('button', { name: 'Add filter' }).click();
        await qe.getByRole('combobox', { name: 'Filter 1 attribute' }).click();
        await page.keyboard.type('Host', { delay: 15 });
        await page.getByRole('option', { name: 'Hostname', exact: true }).click();
        await qe.getByRole('combobox', { name: 'Filter 1 value' }).click();
        const value = page.getByRole('option').first();
        await value.waitFor({ timeout: 15_000 });
        const host = (await value.innerText()).trim();
        runs = (await harness(page)).runs;
        await value.click();
        await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 30_000 });
        state = await harness(page);
        assert(state.lastQuery.matchers === `{Hostname="${host}"}`, `matchers ${state.lastQuery.matchers}`);
        noErrors(state, 'store metric with a filter');

        // Combine each cluster's series into one per cluster, averaged.
        await qe.getByRole('button', { name: 'Remove filter 1' }).click();
        await pickAndWait(page, qe, 'Combine');
        // "Avg" thrice, in page order: the function, the reduce, the cross-cluster aggregate.
        runs = (await harness(page)).runs;
        await qe.getByRole('radio', { name: 'Avg', exact: true }).nth(1).click();
        await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 30_000 });
        state = await harness(page);
        assert(JSON.stringify(state.lastQuery.groupBy) === '[]' && state.lastQuery.reduce === 'avg', `grouping ${JSON.stringify(state.lastQuery)}`);
        noErrors(state, 'store metric combined');
        const want = picked.map((id) => nameOf[id]).sort();
        assert(JSON.stringify(clustersOf(state)) === JSON.stringify(want), `series from ${clustersOf(state)}, want ${want}`);
        assert(state.lastResult.frames.length === picked.length, `one series per cluster expected, got ${state.lastResult.frames.length} frames`);
        await shot('query-editor-store');

        // SQL mode: the starting statement (the metric per step and cluster, with the macros) answers per picked cluster.
        state = await pickAndWait(page, qe, 'SQL');
        assert(/\$__timeFilter\(TimeUnix\)/.test(state.lastQuery.sql ?? '') && /DCGM_FI_DEV_GPU_UTIL/.test(state.lastQuery.sql), `sql ${state.lastQuery.sql}`);
        noErrors(state, 'store SQL');
        assert(JSON.stringify(clustersOf(state)) === JSON.stringify(want), `SQL series from ${clustersOf(state)}, want ${want}`);
        await page.locator('[data-testid=fleetscope-query-field-sql] .monaco-editor[role=code]').waitFor({ timeout: 30_000 });
        await shot('query-editor-store-sql');
        await pickAndWait(page, qe, 'Builder');
        await qe.getByRole('radio', { name: 'Prometheus', exact: true }).click();
      });

      await check('ClickHouse SQL mode in Monaco: typing offers the macros, the configured store’s tables, the table’s columns and the store’s metric names; the typed statement runs', async () => {
        await qe.getByRole('radio', { name: 'ClickHouse', exact: true }).click();
        await pickAndWait(page, qe, 'SQL');
        await focusEmpty(page, 'sql');
        const type = (text) => page.keyboard.type(text, { delay: 15 });
        // The cluster attribute in a map subscript: the macro and the store's key.
        await type('SELECT ResourceAttributes[');
        await waitForSuggestion(page, /^\$__clusterAttribute/);
        await waitForSuggestion(page, /^cluster_id/);
        await page.keyboard.press('Escape');
        await type('$__clusterAttribute');
        await page.keyboard.press('Escape');
        await page.keyboard.press('End');
        // Columns of the exporter's tables.
        await type(' AS cluster, toStartOfInterval(TimeUnix, toIntervalSecond($__interval_s)) AS t, avg(Val');
        await waitForSuggestion(page, /^Value/);
        await showDetails(page, /Float64[\s\S]*The sample value/);
        await page.keyboard.press('Escape');
        await type('ue) AS value FROM otel.otel_metrics_g');
        // The tables of the configured store (jsonData.clickhouse), accepted with Enter.
        await waitForSuggestion(page, /^otel\.otel_metrics_gauge/);
        const storeDoc = stores?.length ? `ClickHouse store ${stores.map((x) => x.id).join(', ')}` : "The exporter's default table";
        await showDetails(page, new RegExp(`gauge metrics[\\s\\S]*${storeDoc}`));
        await shot('completion-sql-tables');
        await page.keyboard.press('Enter');
        // Metric names of the store inside the literal after MetricName =, accepted with Enter.
        await type(" WHERE MetricName = '");
        await type('DCGM_FI_DEV_GPU_U');
        await waitForSuggestion(page, /DCGM_FI_DEV_GPU_UTIL/);
        await shot('completion-sql-metrics');
        await page.keyboard.press('Enter');
        await page.keyboard.press('End');
        // The macros after $, then only time columns inside $__timeFilter(…).
        await type(' AND $__');
        await waitForSuggestion(page, /^\$__timeFilter\(column\)/);
        await waitForSuggestion(page, /^\$__clusters/);
        await shot('completion-sql-macros');
        await page.keyboard.press('Escape');
        await type('timeFilter(');
        await waitForSuggestion(page, /^TimeUnix/);
        const timeColumns = (await suggestions(page).allInnerTexts()).map((t) => t.split('\n')[0]);
        assert(timeColumns.every((t) => /TimeUnix/.test(t)), `columns offered inside $__timeFilter( : ${timeColumns}`);
        await page.keyboard.press('Escape');
        await type('TimeUnix');
        await page.keyboard.press('Escape');
        await page.keyboard.press('End');
        await type(' AND cluster IN $__clusters GROUP BY cluster, t ORDER BY t');
        const want =
          "SELECT ResourceAttributes[$__clusterAttribute] AS cluster, toStartOfInterval(TimeUnix, toIntervalSecond($__interval_s)) AS t, avg(Value) AS value " +
          "FROM otel.otel_metrics_gauge WHERE MetricName = 'DCGM_FI_DEV_GPU_UTIL' AND $__timeFilter(TimeUnix) AND cluster IN $__clusters GROUP BY cluster, t ORDER BY t";
        assert((await fieldText(page, 'sql')) === want, `the editor holds ${await fieldText(page, 'sql')}`);
        const state = await runAndWait(page);
        assert(state.lastQuery.sql === want, `sql ${state.lastQuery.sql}`);
        noErrors(state, 'typed store SQL');
        const wantClusters = picked.map((id) => nameOf[id]).sort();
        assert(same(clustersOf(state), wantClusters), `SQL series from ${clustersOf(state)}, want ${wantClusters}`);
        await pickAndWait(page, qe, 'Builder');
        await qe.getByRole('radio', { name: 'Prometheus', exact: true }).click();
      });
    }

    if (full) {
      await check('switching the query kind while a completion’s docs pane is open keeps the editor up (Monaco’s dispose would throw)', async () => {
        await focusEmpty(page, 'promql');
        await page.keyboard.type('histogram_q', { delay: 15 });
        await waitForSuggestion(page, /histogram_quantile/);
        await showDetails(page, /quantile/);
        const before = consoleErrors.length;
        await qe.getByRole('radio', { name: 'Logs', exact: true }).click();
        await field(page, 'logql').waitFor({ timeout: 30_000 });
        assert(consoleErrors.length === before, `page errors on the switch: ${consoleErrors.slice(before).join('; ')}`);
        assert((await page.locator('#query-editor').count()) === 1, 'the harness page unmounted');
      });
    }

    await check('LogQL in Monaco: stream labels and parsed labels complete from the backend; the logs volume and the rows say their cluster', async () => {
      await qe.getByRole('radio', { name: 'Logs', exact: true }).click();
      await focusEmpty(page, 'logql');
      await page.keyboard.type('{ap', { delay: 15 });
      await waitForSuggestion(page, /^app/);
      await page.keyboard.press('Enter');
      await page.keyboard.press('Escape');
      await page.keyboard.type('="', { delay: 15 });
      await waitForSuggestion(page, /llm-gateway/);
      await page.keyboard.press('Escape');
      await page.keyboard.type('llm-gateway"} | json | ', { delay: 15 });
      // Labels the json parser extracts from the selector's recent lines.
      await waitForSuggestion(page, /^route/);
      await shot('completion-logql-parsed');
      await page.keyboard.press('Escape');
      for (let i = 0; i < 3; i++) {
        await page.keyboard.press('Backspace');
      }
      const state = await runAndWait(page);
      assert(state.lastQuery.expr === '{app="llm-gateway"} | json', `query was ${JSON.stringify(state.lastQuery.expr)}`);
      noErrors(state, 'logs');
      assert(rowsOf(state) > 0, 'no log lines');
      assert(clustersOf(state).length > 0, 'log rows carry no cluster label');
      assert(state.volume && state.volume.frames.length > 0, `logs volume: ${JSON.stringify(state.volume)}`);
      assert(state.volume.errors.length === 0, `logs volume errors: ${state.volume.errors}`);
      // One histogram over every cluster (Explore draws one per meta.custom.datasourceName).
      assert(state.volume.histograms.length === 1 && state.volume.histograms[0].name === 'Fleetscope', `volume histograms: ${JSON.stringify(state.volume.histograms.map((h) => h.name))}`);
      await page.getByTestId('logs-volume').waitFor();
      await shot('query-editor-logs');
    });

    if (full) {
      await check('Log context: lines before and after, from the line’s own cluster and stream', async () => {
        await page.getByTestId('show-context').click();
        await page.waitForFunction(() => window.__harness.context, null, { timeout: 30_000 });
        const { context, lastResult } = await harness(page);
        assert(context.errors.length === 0, `context errors: ${context.errors}`);
        assert(context.before.length + context.after.length > 1, `context lines: ${context.before.length} before, ${context.after.length} after`);
        assert(context.clusters.length === 1, `context came from ${context.clusters}`);
        assert(/^\{.*app="llm-gateway".*\} @ [a-z0-9-]+ \(line from /.test(context.expr), `context query: ${context.expr}`);
        assert(!/trace_id|span_id|detected_level/.test(context.expr), `context selector holds non-stream labels: ${context.expr}`);
        assert(lastResult.frames.length > 0, 'the logs result vanished');
        await page.getByTestId('log-context').waitFor();
        await shot('log-context');
      });

      await check('Logs volume per cluster on demand: one level-stacked histogram per cluster, adding up to the total', async () => {
        await focusEmpty(page, 'logql');
        await page.keyboard.type('{app=~"llm-gateway|model-server"}', { delay: 15 });
        const total = await runAndWait(page);
        assert(total.lastQuery.expr === '{app=~"llm-gateway|model-server"}', `query was ${JSON.stringify(total.lastQuery.expr)}`);
        assert(total.volume?.errors.length === 0, `volume errors: ${total.volume?.errors}`);
        assert(total.volume.histograms.length === 1, `all clusters: ${total.volume.histograms.length} histograms`);
        const lines = (hs) => hs.reduce((n, h) => n + h.series.reduce((m, s) => m + s.lines, 0), 0);
        const state = await pickAndWait(page, qe, 'Per cluster');
        assert(state.lastQuery.volumeByCluster === true, `volumeByCluster ${state.lastQuery.volumeByCluster}`);
        assert(state.volume?.errors.length === 0, `volume errors: ${state.volume?.errors}`);
        const names = state.volume.histograms.map((h) => h.name).sort();
        const expected = picked.map((id) => `Fleetscope · ${nameOf[id]}`).sort();
        assert(JSON.stringify(names) === JSON.stringify(expected), `histograms ${JSON.stringify(names)}, expected one per picked cluster ${JSON.stringify(expected)}`);
        for (const h of state.volume.histograms) {
          assert(h.series.every((s) => s.name && s.color), `${h.name}: series without level name or colour ${JSON.stringify(h.series)}`);
          assert(h.series.some((s) => s.lines > 0), `${h.name}: no lines counted`);
        }
        // The same lines, split: the per-cluster histograms add up to the all-clusters one.
        assert(Math.abs(lines(state.volume.histograms) - lines(total.volume.histograms)) < 1e-6 * Math.max(1, lines(total.volume.histograms)), `per cluster ${lines(state.volume.histograms)} vs total ${lines(total.volume.histograms)}`);
        await page.getByTestId('logs-volume').waitFor();
        await page.mouse.move(0, 0); // no tooltip over the shot
        await shot('logs-volume-per-cluster');
        await pickAndWait(page, qe, 'All clusters');
      });

      await check('Explore’s filter for/out (modifyQuery): a stream label narrows the selector, a parsed label becomes a stage after | logfmt; the editor shows it and the backend answers it', async () => {
        const setExpr = async (expr) => {
          const q = (await harness(page)).lastQuery;
          await callApi(page, 'setQuery', { ...q, queryType: 'logs', expr, clusters: picked });
          return harness(page);
        };
        const shown = (expr) =>
          page.waitForFunction(
            (want) => (document.querySelector('[data-testid=fleetscope-query-field-logql] .view-lines')?.textContent ?? '').replace(/\u00a0/g, ' ') === want,
            expr,
            { timeout: 10_000 }
          );
        const base = '{app=~"llm-gateway|model-server"}';
        let state = await setExpr(base);
        assert(same(logValues(state.lastResult.frames, 'app'), ['llm-gateway', 'model-server']), `apps of ${base}: ${logValues(state.lastResult.frames, 'app')}`);

        await callApi(page, 'modify', 'ADD_FILTER', 'app', 'model-server');
        state = await harness(page);
        assert(state.lastQuery.expr === '{app=~"llm-gateway|model-server", app="model-server"}', `filter for: ${state.lastQuery.expr}`);
        noErrors(state, 'filter for a stream label');
        assert(rowsOf(state) > 0 && same(logValues(state.lastResult.frames, 'app'), ['model-server']), `filter for app: ${rowsOf(state)} lines of ${logValues(state.lastResult.frames, 'app')}`);
        await shown(state.lastQuery.expr);

        await setExpr(base);
        await callApi(page, 'modify', 'ADD_FILTER_OUT', 'app', 'model-server');
        state = await harness(page);
        assert(state.lastQuery.expr === '{app=~"llm-gateway|model-server", app!="model-server"}', `filter out: ${state.lastQuery.expr}`);
        noErrors(state, 'filter out a stream label');
        assert(rowsOf(state) > 0 && same(logValues(state.lastResult.frames, 'app'), ['llm-gateway']), `filter out app: ${rowsOf(state)} lines of ${logValues(state.lastResult.frames, 'app')}`);

        // `preempted` is a label the logfmt parser extracts from the model servers' lines: not an index
        // label Loki lists, but on the rows of a `| logfmt` query.
        const parsed = '{app="model-server"} | logfmt';
        state = await setExpr(parsed);
        noErrors(state, parsed);
        const indexLabels = await callApi(page, 'tagKeys', [state.lastQuery]);
        assert(indexLabels.includes('app') && !indexLabels.includes('preempted'), `index labels ${indexLabels}`);
        const values = logValues(state.lastResult.frames, 'preempted');
        assert(values.length > 1, `parsed preempted values on the rows of ${parsed}: ${values}`);
        const value = values[0];
        await callApi(page, 'modify', 'ADD_FILTER', 'preempted', value);
        state = await harness(page);
        assert(state.lastQuery.expr === `${parsed} | preempted="${value}"`, `filter for a parsed label: ${state.lastQuery.expr}`);
        // The backend's LogQL grammar takes the stage; the demo's replayed Loki applies only the selector and line
        // filters (tests/stack/README.md), so the rows are checked to hold the value, not to hold only it.
        noErrors(state, 'filter for a parsed label');
        assert(rowsOf(state) > 0 && logValues(state.lastResult.frames, 'preempted').includes(value), `preempted=${value}: ${rowsOf(state)} lines, values ${logValues(state.lastResult.frames, 'preempted')}`);
        await shown(state.lastQuery.expr);
        await shot('modify-query-parsed-label');

        await setExpr(parsed);
        await callApi(page, 'modify', 'ADD_FILTER_OUT', 'preempted', value);
        state = await harness(page);
        assert(state.lastQuery.expr === `${parsed} | preempted!="${value}"`, `filter out a parsed label: ${state.lastQuery.expr}`);
        noErrors(state, 'filter out a parsed label');
        assert(rowsOf(state) > 0, 'filter out a parsed label: no lines');
      });

      await check('Query help: the cheat sheet of the kind; an example becomes the query', async () => {
        const help = page.locator('#query-help');
        await help.getByText('Fleetscope logs cheat sheet').waitFor();
        await shot('query-help', help);
        await help.getByRole('button', { name: 'LogQL: {app="gateway"} |= "error"', exact: true }).click();
        const text = async () => ((await field(page, 'logql').locator('.view-lines').textContent()) ?? '').replace(/\u00a0/g, ' ');
        await page.waitForFunction(
          () => (document.querySelector('[data-testid=fleetscope-query-field-logql] .view-lines')?.textContent ?? '').replace(/\u00a0/g, ' ').includes('|= "error"'),
          null,
          { timeout: 10_000 }
        );
        assert((await text()).includes('{app="gateway"} |= "error"'), `editor shows ${await text()}`);
      });

      await check('TraceQL in Monaco: attributes and values from Tempo complete; search → open the trace, merged across clusters', async () => {
        await qe.getByRole('radio', { name: 'Traces', exact: true }).click();
        await focusEmpty(page, 'traceql');
        await page.keyboard.type('{ resource.', { delay: 15 });
        await waitForSuggestion(page, /resource\.service\.name/);
        await shot('completion-traceql-attributes');
        await page.keyboard.press('Escape');
        await page.keyboard.type('service.name = ', { delay: 15 });
        await waitForSuggestion(page, /llm-gateway/);
        await page.keyboard.press('Escape');
        await page.keyboard.type('"llm-gateway" && status = error }', { delay: 15 });
        const state = await runAndWait(page);
        assert(state.lastQuery.query === '{ resource.service.name = "llm-gateway" && status = error }', `TraceQL was ${JSON.stringify(state.lastQuery.query)}`);
        noErrors(state, 'trace search');
        assert(rowsOf(state) > 0, 'no traces found');
        await shot('query-editor-traces');
        // The demo Tempo holds one whole recorded trace (an OOM error); the search must have found it.
        const found = state.lastResult.frames.flatMap((f) => f.traceIds ?? []);
        const id = '6c48c5c2029f7c3ddb565ad52f1ac6bd';
        assert(found.includes(id), `the search did not list ${id}: ${found.join(', ')}`);
        const runs = state.runs;
        await page.getByTestId('trace-to-open').fill(id);
        await page.getByTestId('open-trace').click();
        await page.waitForFunction((n) => window.__harness.runs > n, runs, { timeout: 30_000 });
        const trace = await harness(page);
        assert(trace.lastQuery.tracesView === 'trace' && trace.lastQuery.traceId === trace.openedTrace, `trace query ${JSON.stringify(trace.lastQuery)}`);
        noErrors(trace, 'trace by id');
        assert(rowsOf(trace) > 1, `spans: ${rowsOf(trace)}`);
        await shot('query-editor-trace');
      });

      for (const [kind, minClusters] of [
        ['Alerts', 2],
        ['GPU', 1],
        ['CNF', 1],
        ['macOS', 1],
      ]) {
        await check(`${kind}: the kind runs on the picked clusters and each row says its cluster`, async () => {
          const state = await pickAndWait(page, qe, kind);
          noErrors(state, kind);
          assert(rowsOf(state) > 0, `${kind}: no rows (${JSON.stringify(state.lastResult.frames)})`);
          assert(clustersOf(state).length >= Math.min(minClusters, picked.length), `${kind}: rows from ${clustersOf(state)}`);
          await shot(`query-editor-${kind.toLowerCase()}`);
        });
      }
    }

    await check('the config editor shows the registry with a configured secret, and the trace links editor', async () => {
      const ce = page.locator('#config-editor');
      await ce.getByText(`Clusters (${backendClusters.length})`).waitFor();
      await ce.getByText(backendClusters[0].name ?? backendClusters[0].id, { exact: true }).first().click();
      await ce.getByRole('textbox', { name: 'Bearer token' }).first().waitFor();
      const value = await ce.getByRole('textbox', { name: 'Bearer token' }).first().inputValue();
      assert(value === 'configured', `bearer token field shows ${JSON.stringify(value)}`);
      assert((await ce.getByLabel('Trace to logs tags attribute 1', { exact: true }).inputValue()) === 'k8s.namespace.name', 'tracesToLogs tag not shown');
      assert((await ce.getByLabel('Trace to metrics query 1', { exact: true }).inputValue()).includes('$__tags'), 'tracesToMetrics query not shown');
      await shot('config-editor', ce);
    });

    await check('no uncaught page errors; icons loaded', async () => {
      await page.waitForLoadState('networkidle');
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
