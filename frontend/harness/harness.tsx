/**
 * Browser harness: loads the *built* plugin modules (dist/datasource/module.js,
 * dist/panel/module.js) the way Grafana does (AMD, shared packages provided by
 * the host), mounts the query editor, the config editor and the LLM ops panel
 * inside Grafana's theme, and talks to the real backend's resource API through
 * the harness server's `/fsapi` proxy.
 *
 * URL parameters: `theme=dark|light`, `end=<unix ms>` (end of the data).
 */
import * as emotionCss from '@emotion/css';
import * as grafanaData from '@grafana/data';
import {
  DataFrame,
  DataQueryError,
  DataSourceApi,
  DataSourceInstanceSettings,
  DataSourcePlugin,
  LoadingState,
  PanelData,
  PanelPlugin,
  PluginType,
  createTheme,
  dateTime,
} from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import { TemplateSrv, setBackendSrv, setTemplateSrv } from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import { createRoot } from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';

import type { ClusterConfig, ClusterInfo, FleetscopeOptions, FleetscopeQuery } from '../src/types';
import { loadAmdModule } from './amd';
import { API, MetricsRequest, harnessBackendSrv, runMetrics } from './backend';

const params = new URLSearchParams(window.location.search);
const mode = params.get('theme') === 'light' ? 'light' : 'dark';
const end = Number(params.get('end')) || Date.now();
const theme = createTheme({ colors: { mode } });

/** What the Playwright test reads. */
interface HarnessState {
  ready: boolean;
  error?: string;
  runs: number;
  lastQuery?: FleetscopeQuery;
  lastResult?: { series: number; clusters: Array<{ cluster_id: string; status: string }>; errors: string[] };
  panelSeries?: number;
  /** Why panel queries came back empty: query errors and failed clusters. */
  panelProblems?: string[];
}
const state: HarnessState = { ready: false, runs: 0 };
Object.assign(window, { __harness: state });

const provided: Record<string, unknown> = {
  react: React,
  'react-dom': ReactDOM,
  'react/jsx-runtime': jsxRuntime,
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
  '@emotion/css': emotionCss,
  rxjs,
  'rxjs/operators': rxjsOperators,
};

const templateSrv = {
  getVariables: () => [],
  replace: (target?: string) => target ?? '',
  containsTemplate: () => false,
  updateTimeRange: () => {},
} as unknown as TemplateSrv;

/** The LLM ops panel's queries, against the test stack's generated platform metrics. */
const PANEL_QUERIES: Array<Omit<MetricsRequest, 'end'>> = [
  { refId: 'requests', expr: 'sum by (team) (rate(gateway_requests_total[5m]))' },
  { refId: 'requests_svc', expr: 'sum by (service_name) (rate(http_server_request_count_total[5m]))' },
  {
    refId: 'errors',
    expr: 'sum by (team) (rate(gateway_requests_total{status=~"5.."}[5m])) / sum by (team) (rate(gateway_requests_total[5m]))',
  },
  { refId: 'latency_ms', expr: 'histogram_quantile(0.95, sum by (le, team) (rate(gateway_latency_ms_bucket[5m])))' },
  {
    refId: 'latency_svc',
    expr: 'histogram_quantile(0.95, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket[5m])))',
  },
  { refId: 'gpu_util', expr: 'avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)' },
  { refId: 'gpu_mem', expr: 'sum by (Hostname) (DCGM_FI_DEV_FB_USED)' },
];

function Section({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section id={id} style={{ padding: 16, marginBottom: 16, background: theme.colors.background.primary, border: `1px solid ${theme.colors.border.weak}`, borderRadius: 4 }}>
      <h3 style={{ marginTop: 0 }}>{title}</h3>
      {children}
    </section>
  );
}

function QueryResult({ data }: { data?: PanelData }) {
  if (!data) {
    return <p data-testid="result-summary">Not run yet — Shift+Enter runs the query.</p>;
  }
  const names = data.series.slice(0, 6).map((f) => {
    const v = f.fields.find((x) => x.type === 'number');
    return v ? grafanaData.getFieldDisplayName(v, f) : f.name ?? '';
  });
  return (
    <div data-testid="result-summary">
      <p>
        {data.series.length} series · state {data.state}
      </p>
      <ul style={{ fontFamily: theme.typography.fontFamilyMonospace, fontSize: 12 }}>
        {names.map((n, i) => (
          <li key={i}>{n}</li>
        ))}
        {data.series.length > names.length && <li>…</li>}
      </ul>
    </div>
  );
}

function toSettings(clusters: ClusterInfo[]): grafanaData.DataSourceSettings<FleetscopeOptions, Record<string, string>> {
  const jsonClusters: ClusterConfig[] = clusters.map((c) => {
    const ep = ((c as unknown as { endpoints?: Record<string, Record<string, string>> }).endpoints ?? {}) as Record<string, Record<string, string>>;
    return {
      id: c.id,
      name: c.name,
      labels: c.labels,
      enabled: c.enabled,
      prometheus: ep.prometheus ? { url: ep.prometheus.url, kind: ep.prometheus.kind as 'prometheus', tenant: ep.prometheus.tenant } : undefined,
      loki: ep.loki ? { url: ep.loki.url } : undefined,
      tempo: ep.tempo ? { url: ep.tempo.url } : undefined,
      alertmanager: ep.alertmanager ? { url: ep.alertmanager.url } : undefined,
    };
  });
  return {
    id: 1,
    uid: 'fleetscope',
    orgId: 1,
    name: 'Fleetscope',
    type: 'fleetscope-federation-datasource',
    typeName: 'Fleetscope',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: true,
    withCredentials: false,
    readOnly: false,
    version: 1,
    jsonData: { clusters: jsonClusters, query: { timeoutSeconds: 30, maxParallel: 10 }, derivedFields: [{ name: 'TraceID', matcherRegex: 'trace_id=(\\w+)' }] },
    secureJsonFields: jsonClusters.length ? { [`${jsonClusters[0].id}.bearerToken`]: true } : {},
    secureJsonData: {},
  };
}

function App(props: {
  ds: DataSourceApi<FleetscopeQuery, FleetscopeOptions>;
  dsPlugin: DataSourcePlugin<DataSourceApi<FleetscopeQuery, FleetscopeOptions>, FleetscopeQuery, FleetscopeOptions>;
  panelPlugin: PanelPlugin;
  clusters: ClusterInfo[];
  panelData: PanelData;
}) {
  const { ds, dsPlugin, panelPlugin, clusters, panelData } = props;
  const QueryEditor = dsPlugin.components.QueryEditor!;
  const ConfigEditor = dsPlugin.components.ConfigEditor!;
  const Panel = panelPlugin.panel!;
  const [query, setQuery] = React.useState<FleetscopeQuery>({ refId: 'A', ...(ds.getDefaultQuery?.(grafanaData.CoreApp.PanelEditor) ?? {}) } as FleetscopeQuery);
  const latest = React.useRef(query);
  const [result, setResult] = React.useState<PanelData>();
  const [settings, setSettings] = React.useState(() => toSettings(clusters));

  const seq = React.useRef(0);
  const run = async () => {
    const q = latest.current;
    // As Grafana does: a query the datasource filters out is not sent.
    if (ds.filterQuery && !ds.filterQuery(q)) {
      return;
    }
    const mine = ++seq.current;
    const r = await runMetrics({
      refId: q.refId,
      expr: q.expr ?? '',
      clusters: q.clusters,
      aggregate: q.aggregate,
      legendFormat: q.legendFormat,
      instant: q.instant && q.range === false,
      end,
    });
    if (mine !== seq.current) {
      return; // a newer run has started; its answer wins
    }
    state.runs++;
    state.lastQuery = q;
    const errors: DataQueryError[] = r.errors;
    state.lastResult = { series: r.frames.length, clusters: r.clusters, errors: errors.map((e) => e.message ?? '') };
    setResult({
      state: errors.length ? LoadingState.Error : LoadingState.Done,
      series: r.frames,
      errors,
      timeRange: panelData.timeRange,
    });
  };

  return (
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <div style={{ padding: 16, background: theme.colors.background.canvas, minHeight: '100vh' }}>
        <h2>
          Fleetscope harness <small style={{ color: theme.colors.text.secondary }}>({mode} theme, backend {API})</small>
        </h2>
        <Section id="query-editor" title="Query editor (dist/datasource/module.js)">
          <QueryEditor
            datasource={ds}
            query={query}
            data={result}
            onChange={(q: FleetscopeQuery) => {
              latest.current = q;
              setQuery(q);
            }}
            onRunQuery={() => void run()}
          />
          <QueryResult data={result} />
        </Section>
        <Section id="panel" title="LLM Platform Operations (dist/panel/module.js)">
          <div style={{ height: 520 }}>
            <Panel
              id={1}
              data={panelData}
              timeRange={panelData.timeRange}
              timeZone="utc"
              options={harnessPanelOptions() as never}
              transparent={false}
              width={1180}
              height={520}
              fieldConfig={{ defaults: {}, overrides: [] }}
              renderCounter={0}
              title="LLM Platform Operations"
              eventBus={{} as never}
              onOptionsChange={() => {}}
              onFieldConfigChange={() => {}}
              replaceVariables={(s: string) => s}
              onChangeTimeRange={() => {}}
            />
          </div>
        </Section>
        <Section id="config-editor" title="Config editor (cluster registry from GET api/v1/clusters)">
          <ConfigEditor options={settings} onOptionsChange={(o) => setSettings(o as typeof settings)} />
        </Section>
      </div>
    </ThemeContext.Provider>
  );
}

/** The panel's option defaults, as its options builder declares them. */
let panelDefaults: Record<string, unknown> | undefined;
function harnessPanelOptions(): Record<string, unknown> {
  return panelDefaults ?? {};
}

function collectDefaults(plugin: PanelPlugin): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const builder: Record<string, unknown> = {};
  const add = (o: { path: string; defaultValue?: unknown }) => {
    out[o.path] = o.defaultValue;
    return builder;
  };
  for (const m of ['addRadio', 'addSelect', 'addNumberInput', 'addBooleanSwitch', 'addTextInput', 'addCustomEditor', 'addSliderInput', 'addColorPicker', 'addMultiSelect', 'addStringArray', 'addUnitPicker', 'addFieldNamePicker', 'addDashboardPicker', 'addTextArea']) {
    builder[m] = add;
  }
  plugin.getPanelOptionsSupplier()(builder as never, {} as never);
  return out;
}

async function main() {
  const root = createRoot(document.getElementById('root')!);
  try {
    setBackendSrv(harnessBackendSrv());
    setTemplateSrv(templateSrv);
    const [dsModule, panelModule] = [
      await loadAmdModule<{ plugin: DataSourcePlugin<DataSourceApi<FleetscopeQuery, FleetscopeOptions>, FleetscopeQuery, FleetscopeOptions> }>('/dist/datasource/module.js', provided),
      await loadAmdModule<{ plugin: PanelPlugin }>('/dist/panel/module.js', provided),
    ];
    panelDefaults = collectDefaults(panelModule.plugin);
    const instance: DataSourceInstanceSettings<FleetscopeOptions> = {
      id: 1,
      uid: 'fleetscope',
      type: 'fleetscope-federation-datasource',
      name: 'Fleetscope',
      access: 'proxy',
      readOnly: false,
      jsonData: {},
      meta: { id: 'fleetscope-federation-datasource', type: PluginType.datasource, name: 'Fleetscope', module: '', baseUrl: '', info: {} as never },
    };
    const ds = new dsModule.plugin.DataSourceClass(instance);
    const clustersRes = await fetch(`${API}/api/v1/clusters`).then((r) => r.json());
    const clusters: ClusterInfo[] = clustersRes.clusters ?? [];
    const results = await Promise.all(PANEL_QUERIES.map((q) => runMetrics({ ...q, end })));
    const series: DataFrame[] = results.flatMap((r) => r.frames);
    state.panelSeries = series.length;
    state.panelProblems = results.flatMap((r) => [
      ...r.errors.map((e) => e.message ?? 'query failed'),
      ...r.clusters.filter((c) => c.status !== 'SUCCESS').map((c) => `${c.cluster_id}: ${c.error_code ?? ''} ${c.error ?? ''}`),
    ]);
    const timeRange = { from: dateTime(end - 3_600_000), to: dateTime(end), raw: { from: 'now-1h', to: 'now' } };
    const panelData: PanelData = {
      state: LoadingState.Done,
      series,
      errors: results.flatMap((r) => r.errors),
      timeRange,
      request: { targets: [{ refId: 'requests', datasource: { type: 'fleetscope-federation-datasource', uid: 'fleetscope' } }] } as never,
    };
    root.render(<App ds={ds} dsPlugin={dsModule.plugin} panelPlugin={panelModule.plugin} clusters={clusters} panelData={panelData} />);
    state.ready = true;
  } catch (e) {
    state.error = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
    root.render(<pre style={{ color: 'red' }}>{state.error}</pre>);
  }
}

void main();
