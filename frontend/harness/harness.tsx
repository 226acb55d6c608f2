/**
 * Browser harness: loads the *built* plugin modules (dist/datasource/module.js,
 * dist/panel/module.js) the way Grafana does (AMD, shared packages provided by
 * the host), mounts the query editor (Monaco, through @grafana/ui's CodeEditor),
 * the query help, the config editor and the LLM ops panel inside Grafana's
 * theme. Queries run through the plugin's own `DataSourceWithBackend.query`:
 * the harness's BackendSrv sends `/api/ds/query` to the backend's
 * `POST api/v1/ds/query` (the same parse/execute as QueryData), and resource
 * calls to the backend's resource API, both through the harness server's
 * `/fsapi` proxy. What Explore adds — logs volume, log context, opening a
 * trace from a search — is driven here through the datasource's methods.
 *
 * URL parameters: `theme=dark|light`, `end=<unix ms>` (end of the data),
 * `stores=<JSON>` (the datasource's `jsonData.clickhouse`, the backend's store
 * settings, for the SQL editor's table completion).
 *
 * `window.__harnessApi` lets the test reach what Grafana itself would call —
 * ad-hoc filter keys/values and requests carrying `filters`, Explore's
 * filter-for/out (`modifyQuery`), `interpolateVariablesInQueries` with
 * dashboard variables, following a field's data link — always through the
 * plugin's own code.
 */
import * as emotionCss from '@emotion/css';
import * as grafanaData from '@grafana/data';
import {
  AdHocVariableFilter,
  CoreApp,
  DataFrame,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  DataSourceInstanceSettings,
  DataSourcePlugin,
  FieldType,
  LoadingState,
  LogRowContextQueryDirection,
  LogRowModel,
  PanelData,
  PanelPlugin,
  PluginType,
  QueryFixAction,
  SupplementaryQueryType,
  createTheme,
  dateTime,
} from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import { DataSourceSrv, TemplateSrv, setBackendSrv, setDataSourceSrv, setTemplateSrv } from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import { createRoot } from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';

import dashboard from '../../dashboards/llm-platform.json';
import type { ClusterConfig, ClusterInfo, FleetscopeOptions, FleetscopeQuery } from '../src/types';
import { loadAmdModule } from './amd';
import { API, harnessBackendSrv, sentQueries } from './backend';

const params = new URLSearchParams(window.location.search);
const mode = params.get('theme') === 'light' ? 'light' : 'dark';
const end = Number(params.get('end')) || Date.now();
const theme = createTheme({ colors: { mode } });
const stores = params.get('stores') ? (JSON.parse(params.get('stores')!) as FleetscopeOptions['clickhouse']) : undefined;
const HOUR = 3_600_000;

/** A frame as the test reads it. */
interface FrameSummary {
  refId?: string;
  name?: string;
  type?: string;
  rows: number;
  fields: string[];
  clusters: string[];
  /** Trace search results: the trace IDs found. */
  traceIds?: string[];
  /** Per series (number field): its labels. */
  series?: Array<Record<string, string>>;
  /** Log frames: the distinct values of each row label (`labels` field), up to 50 per key. */
  logLabels?: Record<string, string[]>;
  /** Fields with data links: the links as the frame carries them. */
  links?: Array<{ field: string; title: string; url: string; internal?: { query: unknown; datasourceUid: string; datasourceName?: string } }>;
}

interface VolumeHistogram {
  name: string;
  /** Per series: its display name (the level), colour and line count. */
  series: Array<{ name: string; color?: string; lines: number; values: number[] }>;
  times: number[];
}

/** What the Playwright test reads. */
interface HarnessState {
  ready: boolean;
  error?: string;
  runs: number;
  lastQuery?: FleetscopeQuery;
  lastResult?: { frames: FrameSummary[]; errors: string[]; warnings: string[] };
  /** Explore's logs volume: one histogram per `meta.custom.datasourceName`, series per level. */
  volume?: { frames: FrameSummary[]; histograms: VolumeHistogram[]; errors: string[] };
  context?: { before: string[]; after: string[]; clusters: string[]; expr?: string; errors: string[] };
  openedTrace?: string;
  panelSeries?: number;
  /** Why panel queries came back empty: query errors. */
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

/** Dashboard variables as the LLM dashboard has them: every cluster, this datasource. */
const VARIABLES: Record<string, { value: string | string[]; multi?: boolean; includeAll?: boolean }> = {
  cluster: { value: '$__all', multi: true, includeAll: true },
  datasource: { value: 'fleetscope' },
};

const templateSrv = {
  getVariables: () => Object.keys(VARIABLES).map((name) => ({ name, type: 'custom' })),
  replace: (target?: string, _scoped?: unknown, format?: unknown) =>
    (target ?? '').replace(/\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]/g, (m, a, b, c) => {
      const v = VARIABLES[a ?? b ?? c];
      if (!v) {
        return m;
      }
      if (typeof format === 'function') {
        return format(v.value, v);
      }
      if (Array.isArray(v.value)) {
        // Grafana's default for a multi-value variable is a glob `{a,b}`; `csv` joins with commas.
        return format === 'csv' ? v.value.join(',') : v.value.length === 1 ? v.value[0] : `{${v.value.join(',')}}`;
      }
      return v.value;
    }),
  containsTemplate: (t?: string) => /\$\w+/.test(t ?? ''),
  updateTimeRange: () => {},
} as unknown as TemplateSrv;

function range(toMs = end, spanMs = HOUR) {
  return { from: dateTime(toMs - spanMs), to: dateTime(toMs), raw: { from: 'now-1h', to: 'now' } };
}

function request(targets: FleetscopeQuery[], app = CoreApp.Explore, maxDataPoints = 300): DataQueryRequest<FleetscopeQuery> {
  const r = range();
  const intervalMs = Math.max(15_000, Math.round((r.to.valueOf() - r.from.valueOf()) / maxDataPoints));
  return {
    requestId: `harness-${Math.random().toString(36).slice(2)}`,
    app,
    targets,
    range: r,
    interval: `${intervalMs / 1000}s`,
    intervalMs,
    maxDataPoints,
    scopedVars: {},
    timezone: 'utc',
    startTime: Date.now(),
  };
}

async function runQuery(ds: DataSourceApi<FleetscopeQuery, FleetscopeOptions>, req: DataQueryRequest<FleetscopeQuery>): Promise<DataQueryResponse> {
  return rxjs.lastValueFrom(ds.query(req) as rxjs.Observable<DataQueryResponse>);
}

const errorsOf = (r: DataQueryResponse) => (r.errors ?? []).map((e) => e.message ?? 'query failed');

/** The clusters a frame's rows or series come from (labels, a cluster column, or JSON labels). */
function clustersOf(f: DataFrame): string[] {
  const out = new Set<string>();
  for (const field of f.fields) {
    if (field.labels?.cluster) {
      out.add(field.labels.cluster);
    }
    if (['cluster', 'cluster_name'].includes(field.name) && field.type === FieldType.string) {
      field.values.forEach((v: unknown) => v && out.add(String(v)));
    }
    if (field.name === 'labels' && field.type === FieldType.other) {
      field.values.forEach((v: unknown) => {
        const l = typeof v === 'string' ? JSON.parse(v) : (v as Record<string, string> | null);
        if (l?.cluster) {
          out.add(l.cluster);
        }
      });
    }
  }
  return Array.from(out).sort();
}

function summarise(f: DataFrame): FrameSummary {
  const numbers = f.fields.filter((x) => x.type === FieldType.number && x.labels);
  const labelsField = f.fields.find((x) => x.name === 'labels' && x.type === FieldType.other);
  let logLabels: Record<string, string[]> | undefined;
  if (labelsField) {
    const seen = new Map<string, Set<string>>();
    labelsField.values.forEach((v: unknown) => {
      const l = (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, string> | null;
      for (const [k, val] of Object.entries(l ?? {})) {
        const set = seen.get(k) ?? new Set<string>();
        seen.set(k, set);
        if (set.size < 50) {
          set.add(String(val));
        }
      }
    });
    logLabels = Object.fromEntries(Array.from(seen, ([k, set]) => [k, Array.from(set).sort()]));
  }
  const links = f.fields.flatMap((x) =>
    (x.config.links ?? []).map((l) => ({ field: x.name, title: l.title, url: l.url, internal: l.internal as NonNullable<FrameSummary['links']>[number]['internal'] }))
  );
  return {
    refId: f.refId,
    name: f.name,
    type: f.meta?.type ?? f.meta?.preferredVisualisationType,
    rows: f.length,
    fields: f.fields.map((x) => x.name),
    clusters: clustersOf(f),
    traceIds: f.fields.find((x) => x.name === 'traceID')?.values.map(String),
    ...(numbers.length ? { series: numbers.map((x) => ({ ...x.labels })) } : {}),
    ...(logLabels ? { logLabels } : {}),
    ...(links.length ? { links } : {}),
  };
}

/** getTagKeys/getTagValues answer a list or `{data}`. */
function tagTexts(r: grafanaData.MetricFindValue[] | { data: grafanaData.MetricFindValue[] }): string[] {
  return (Array.isArray(r) ? r : r.data).map((v) => String(v.text));
}

/**
 * A data link's internal query with the field variables Grafana fills for a
 * clicked value: `${__value.raw}` and `${__data.fields.<name>}` of that row.
 */
function linkQuery(frame: DataFrame, fieldName: string, row: number, query: unknown): unknown {
  const valueOf = (name: string) => String(frame.fields.find((x) => x.name === name)?.values[row] ?? '');
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(/\$\{__value\.raw\}/g, valueOf(fieldName)).replace(/\$\{__data\.fields\.([\w.]+)\}/g, (_, n: string) => valueOf(n));
    }
    if (Array.isArray(v)) {
      return v.map(fill);
    }
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    }
    return v;
  };
  return fill(query);
}

/**
 * The volume as Explore's histogram list groups it: by `meta.custom.datasourceName`,
 * same-level series added inside a group (Grafana's mergeLogsVolumeDataFrames).
 */
function volumeHistograms(frames: DataFrame[]): VolumeHistogram[] {
  const groups = new Map<string, { series: Map<string, { color?: string; byTime: Map<number, number> }> }>();
  for (const f of frames) {
    const name = String(f.meta?.custom?.datasourceName ?? '(no datasourceName)');
    const time = f.fields.find((x) => x.type === FieldType.time);
    const value = f.fields.find((x) => x.type === FieldType.number);
    if (!time || !value) {
      continue;
    }
    const level = value.config.displayNameFromDS ?? f.name ?? 'logs';
    const g = groups.get(name) ?? { series: new Map() };
    groups.set(name, g);
    const s = g.series.get(level) ?? { color: value.config.color?.fixedColor, byTime: new Map<number, number>() };
    g.series.set(level, s);
    time.values.forEach((t: number, i: number) => s.byTime.set(t, (s.byTime.get(t) ?? 0) + (Number(value.values[i]) || 0)));
  }
  return Array.from(groups, ([name, g]) => {
    const times = Array.from(new Set(Array.from(g.series.values()).flatMap((s) => Array.from(s.byTime.keys())))).sort((a, b) => a - b);
    const series = Array.from(g.series, ([level, s]) => ({
      name: level,
      color: s.color,
      lines: Array.from(s.byTime.values()).reduce((a, b) => a + b, 0),
      values: times.map((t) => s.byTime.get(t) ?? 0),
    }));
    return { name, series, times };
  });
}

/** One histogram: bars per time bucket, stacked by level in the colours the datasource gave. */
function VolumeView({ histogram }: { histogram: VolumeHistogram }) {
  const h = histogram;
  const shown = h.times.map((_, i) => i).slice(-160);
  const max = Math.max(1, ...shown.map((i) => h.series.reduce((n, s) => n + s.values[i], 0)));
  return (
    <div data-testid="logs-volume-histogram" style={{ marginBottom: 8 }}>
      <div style={{ ...mono, color: theme.colors.text.secondary }}>
        {h.name}: {h.series.map((s) => `${s.name} ${Math.round(s.lines * 100) / 100} lines`).join(' · ')}
      </div>
      <div style={{ display: 'flex', gap: 12, ...mono }}>
        {h.series.map((s) => (
          <span key={s.name}>
            <span style={{ display: 'inline-block', width: 10, height: 10, background: s.color ?? '#888', marginRight: 4 }} />
            {s.name}
          </span>
        ))}
      </div>
      <div style={{ display: 'flex', alignItems: 'flex-end', height: 48, gap: 1, borderBottom: `1px solid ${theme.colors.border.medium}` }}>
        {shown.map((i) => (
          <div key={h.times[i]} style={{ display: 'flex', flexDirection: 'column-reverse', width: 5 }}>
            {h.series.map((s) => (
              <div key={s.name} style={{ background: s.color ?? '#888', height: (s.values[i] / max) * 48 }} />
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section id={id} style={{ padding: 16, marginBottom: 16, background: theme.colors.background.primary, border: `1px solid ${theme.colors.border.weak}`, borderRadius: 4 }}>
      <h3 style={{ marginTop: 0 }}>{title}</h3>
      {children}
    </section>
  );
}

const mono = { fontFamily: theme.typography.fontFamilyMonospace, fontSize: 12 };

/** A few rows of a frame, with the cluster each came from. */
function FrameTable({ frame, max = 5 }: { frame: DataFrame; max?: number }) {
  const fields = frame.fields.filter((f) => !['id', 'fingerprint', 'annotations', 'generator_url', 'Time', 'tsNs'].includes(f.name)).slice(0, 7);
  const rows = Math.min(frame.length, max);
  const cell = (v: unknown) => {
    if (v === null || v === undefined) {
      return '';
    }
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return s.length > 80 ? `${s.slice(0, 80)}…` : s;
  };
  return (
    <table style={{ ...mono, borderCollapse: 'collapse', marginBottom: 8 }}>
      <thead>
        <tr>
          {fields.map((f) => (
            <th key={f.name} style={{ textAlign: 'left', padding: '2px 8px', color: theme.colors.text.secondary }}>
              {f.name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {Array.from({ length: rows }, (_, i) => (
          <tr key={i}>
            {fields.map((f) => (
              <td key={f.name} style={{ padding: '2px 8px', borderTop: `1px solid ${theme.colors.border.weak}` }}>
                {f.type === FieldType.time ? new Date(Number(f.values[i])).toISOString().slice(11, 19) : cell(f.values[i])}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ResultView({ data }: { data?: PanelData }) {
  if (!data) {
    return <p data-testid="result-summary">Not run yet — Shift+Enter runs the query.</p>;
  }
  const series = data.series;
  return (
    <div data-testid="result-summary">
      <p>
        {series.length} frames · {series.reduce((n, f) => n + f.length, 0)} rows · state {data.state} · clusters{' '}
        {Array.from(new Set(series.flatMap(clustersOf))).join(', ') || '—'}
      </p>
      {series.slice(0, 3).map((f, i) => (
        <div key={i}>
          <div style={{ ...mono, color: theme.colors.text.secondary }}>
            {f.refId} {f.name ?? ''} {f.meta?.type ?? f.meta?.preferredVisualisationType ?? ''} — {f.length} rows
          </div>
          <FrameTable frame={f} />
        </div>
      ))}
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
    jsonData: {
      clusters: jsonClusters,
      query: { timeoutSeconds: 30, maxParallel: 10 },
      derivedFields: [{ name: 'TraceID', matcherRegex: 'trace_id=(\\w+)' }],
      tracesToLogs: { tags: [{ key: 'k8s.namespace.name', value: 'namespace' }], filterByTraceId: true, spanStartTimeShift: '-1m', spanEndTimeShift: '1m' },
      tracesToMetrics: { queries: [{ name: 'Request rate', query: 'sum(rate(http_server_request_count_total{$__tags}[5m]))' }] },
    },
    secureJsonFields: jsonClusters.length ? { [`${jsonClusters[0].id}.bearerToken`]: true } : {},
    secureJsonData: {},
  };
}

/** A LogRowModel for row `i` of a logs frame, as Explore builds it. */
function logRow(frame: DataFrame, i: number): LogRowModel {
  const field = (n: string) => frame.fields.find((f) => f.name === n);
  const raw = field('labels')?.values[i];
  const labels = (typeof raw === 'string' ? JSON.parse(raw) : raw) ?? {};
  const t = Number(field('timestamp')?.values[i]);
  return {
    uid: String(field('id')?.values[i] ?? i),
    rowIndex: i,
    dataFrame: frame,
    entryFieldIndex: 1,
    labels,
    timeEpochMs: t,
    timeEpochNs: String(t * 1e6),
    timeFromNow: '',
    timeLocal: '',
    timeUtc: '',
    entry: String(field('body')?.values[i] ?? ''),
    raw: String(field('body')?.values[i] ?? ''),
    hasAnsi: false,
    hasUnescapedContent: false,
    logLevel: grafanaData.LogLevel.unknown,
    searchWords: [],
  } as unknown as LogRowModel;
}

function lines(r: DataQueryResponse): { lines: string[]; clusters: string[] } {
  const f = (r.data as DataFrame[]).find((x) => x.fields.some((y) => y.name === 'body'));
  if (!f) {
    return { lines: [], clusters: [] };
  }
  return { lines: Array.from(f.fields.find((y) => y.name === 'body')!.values as string[]), clusters: clustersOf(f) };
}

function App(props: {
  ds: DataSourceApi<FleetscopeQuery, FleetscopeOptions>;
  dsPlugin: DataSourcePlugin<DataSourceApi<FleetscopeQuery, FleetscopeOptions>, FleetscopeQuery, FleetscopeOptions>;
  panelPlugin: PanelPlugin;
  clusters: ClusterInfo[];
  panelData: PanelData;
  panelOptions: Record<string, unknown>;
}) {
  const { ds, dsPlugin, panelPlugin, clusters, panelData, panelOptions } = props;
  const QueryEditor = dsPlugin.components.QueryEditor!;
  const QueryHelp = dsPlugin.components.QueryEditorHelp;
  const ConfigEditor = dsPlugin.components.ConfigEditor!;
  const Panel = panelPlugin.panel!;
  const [query, setQuery] = React.useState<FleetscopeQuery>({ refId: 'A', ...(ds.getDefaultQuery?.(CoreApp.Explore) ?? {}) } as FleetscopeQuery);
  const latest = React.useRef(query);
  const [result, setResult] = React.useState<PanelData>();
  const [volume, setVolume] = React.useState<VolumeHistogram[]>();
  const [context, setContext] = React.useState<HarnessState['context']>();
  const [settings, setSettings] = React.useState(() => toSettings(clusters));
  const [traceToOpen, setTraceToOpen] = React.useState('');
  const supplementary = ds as unknown as {
    getDataProvider?: (t: SupplementaryQueryType, r: DataQueryRequest<FleetscopeQuery>) => rxjs.Observable<DataQueryResponse> | undefined;
    getSupplementaryRequest: (t: SupplementaryQueryType, r: DataQueryRequest<FleetscopeQuery>) => DataQueryRequest<FleetscopeQuery> | undefined;
    getLogRowContext: (row: LogRowModel, o: { direction: LogRowContextQueryDirection; limit: number }, q: FleetscopeQuery) => Promise<DataQueryResponse>;
    getLogRowContextQuery: (row: LogRowModel, o: { direction: LogRowContextQueryDirection; limit: number }, q: FleetscopeQuery) => Promise<FleetscopeQuery>;
  };

  const seq = React.useRef(0);
  /** The frames of the latest run, as the plugin returned them (data links included). */
  const lastFrames = React.useRef<DataFrame[]>([]);
  const run = async (q: FleetscopeQuery = latest.current) => {
    // As Grafana does: a query the datasource filters out is not sent.
    if (ds.filterQuery && !ds.filterQuery(q)) {
      return;
    }
    const mine = ++seq.current;
    const req = request([q]);
    const [res, vol] = await Promise.all([
      runQuery(ds, req).catch((e: Error) => ({ data: [], errors: [{ message: e.message, refId: q.refId }] }) as DataQueryResponse),
      // Explore runs the logs volume beside a logs query: the datasource's provider first, as Explore asks.
      (async () => {
        if (supplementary.getDataProvider) {
          const provider = supplementary.getDataProvider(SupplementaryQueryType.LogsVolume, req);
          return provider ? rxjs.lastValueFrom(provider) : undefined;
        }
        const vreq = supplementary.getSupplementaryRequest(SupplementaryQueryType.LogsVolume, req);
        return vreq ? runQuery(ds, vreq) : undefined;
      })().catch((e: Error) => ({ data: [], errors: [{ message: e.message }] }) as DataQueryResponse),
    ]);
    if (mine !== seq.current) {
      return; // a newer run has started; its answer wins
    }
    const frames = res.data as DataFrame[];
    lastFrames.current = frames;
    state.runs++;
    state.lastQuery = q;
    state.lastResult = {
      frames: frames.map(summarise),
      errors: errorsOf(res),
      warnings: frames.flatMap((f) => f.meta?.notices ?? []).map((n) => n.text),
    };
    const histograms = vol ? volumeHistograms(vol.data as DataFrame[]) : undefined;
    state.volume = vol && histograms ? { frames: (vol.data as DataFrame[]).map(summarise), histograms, errors: errorsOf(vol) } : undefined;
    setVolume(histograms);
    setContext(undefined);
    state.context = undefined;
    setResult({
      state: res.errors?.length ? LoadingState.Error : LoadingState.Done,
      series: frames,
      errors: res.errors,
      timeRange: req.range,
    });
  };

  const showContext = async () => {
    const frame = result?.series.find((f) => f.fields.some((x) => x.name === 'body') && f.length > 2);
    if (!frame) {
      return;
    }
    // A line from the middle, so there are lines on both sides.
    const row = logRow(frame, Math.floor(frame.length / 2));
    const q = latest.current;
    const [before, after, ctxQuery] = await Promise.all([
      supplementary.getLogRowContext(row, { direction: LogRowContextQueryDirection.Backward, limit: 10 }, q),
      supplementary.getLogRowContext(row, { direction: LogRowContextQueryDirection.Forward, limit: 10 }, q),
      supplementary.getLogRowContextQuery(row, { direction: LogRowContextQueryDirection.Backward, limit: 10 }, q),
    ]);
    const b = lines(before);
    const a = lines(after);
    const ctx = {
      before: b.lines,
      after: a.lines,
      clusters: Array.from(new Set([...b.clusters, ...a.clusters])),
      expr: `${ctxQuery.expr} @ ${(ctxQuery.clusters ?? []).join(',')} (line from ${row.labels.cluster})`,
      errors: [...errorsOf(before), ...errorsOf(after)],
    };
    state.context = ctx;
    setContext(ctx);
  };

  /** Put a query into the editor and run it, as Explore does after a change made outside the editor. */
  const setAndRun = async (next: FleetscopeQuery) => {
    latest.current = next;
    setQuery(next);
    await run(next);
  };
  const adhocSeq = React.useRef(0);
  const api = {
    uidOf: () => ds.uid,
    /** Ad-hoc filter keys and values, as a dashboard's filter variable asks them for its panels' queries. */
    tagKeys: async (queries: FleetscopeQuery[]) => tagTexts(await ds.getTagKeys!({ queries, filters: [] } as never)),
    tagValues: async (key: string, queries: FleetscopeQuery[]) => tagTexts(await ds.getTagValues!({ key, queries, filters: [] } as never)),
    /** A dashboard run with ad-hoc filters (`request.filters`): what the backend received and answered. */
    runWith: async (q: FleetscopeQuery, filters: AdHocVariableFilter[] = []) => {
      const refId = `adhoc-${++adhocSeq.current}`;
      const req = { ...request([{ ...q, refId }], CoreApp.Dashboard), filters };
      const res = await runQuery(ds, req).catch((e: Error) => ({ data: [], errors: [{ message: e.message, refId }] }) as DataQueryResponse);
      return {
        sent: sentQueries.filter((x) => x.refId === refId).pop(),
        frames: (res.data as DataFrame[]).map(summarise),
        errors: errorsOf(res),
      };
    },
    /** Set the editor's query and run it. */
    setQuery: (q: Partial<FleetscopeQuery>) => setAndRun({ refId: 'A', ...q } as FleetscopeQuery),
    /** Explore's "filter for value" / "filter out value" on a label of a row: modifyQuery, then run. */
    modify: (type: 'ADD_FILTER' | 'ADD_FILTER_OUT', key: string, value: string) =>
      setAndRun(ds.modifyQuery!(latest.current, { type, options: { key, value } } as QueryFixAction)),
    /** A dashboard variable's current value (an array for a multi-value one). */
    setVariable: (name: string, value: string | string[]) => {
      VARIABLES[name] = { ...VARIABLES[name], value, multi: Array.isArray(value) || !!VARIABLES[name]?.multi };
    },
    /** Opening a panel's queries in Explore: every variable interpolated, ad-hoc filters applied. */
    interpolate: (queries: FleetscopeQuery[], filters?: AdHocVariableFilter[]) => ds.interpolateVariablesInQueries!(queries, {}, filters),
    /**
     * Click the newest value of `fieldName` in the last answer: its first data
     * link, internal to this datasource, opened in the editor and run.
     */
    followLink: async (fieldName: string) => {
      const frame = lastFrames.current.find((f) => f.length > 0 && f.fields.some((x) => x.name === fieldName && x.config.links?.length));
      const field = frame?.fields.find((x) => x.name === fieldName);
      const link = field?.config.links?.[0];
      if (!frame || !field || !link?.internal) {
        throw new Error(`the last answer has no field ${fieldName} with an internal link`);
      }
      if (link.internal.datasourceUid !== ds.uid) {
        throw new Error(`the link opens datasource ${link.internal.datasourceUid}, not this one (${ds.uid})`);
      }
      const row = frame.length - 1;
      const next = { refId: 'A', ...(linkQuery(frame, fieldName, row, link.internal.query) as object) } as FleetscopeQuery;
      await setAndRun(next);
      return { value: String(field.values[row]), query: next };
    },
  };
  React.useEffect(() => {
    Object.assign(window, { __harnessApi: api });
  });

  // As clicking a trace ID in the search table does (the test picks one the demo Tempo holds whole).
  const openTrace = async (id: string) => {
    state.openedTrace = String(id);
    const next: FleetscopeQuery = { ...latest.current, tracesView: 'trace', traceId: String(id) };
    latest.current = next;
    setQuery(next);
    await run(next);
  };

  const kind = query.queryType ?? 'metrics';
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
            range={range()}
            app={CoreApp.Explore}
            onChange={(q: FleetscopeQuery) => {
              latest.current = q;
              setQuery(q);
            }}
            onRunQuery={() => void run()}
          />
          <div style={{ display: 'flex', gap: 8, margin: '8px 0' }}>
            {kind === 'logs' && (
              <grafanaUi.Button size="sm" variant="secondary" onClick={() => void showContext()} data-testid="show-context">
                Show context of a line
              </grafanaUi.Button>
            )}
            {kind === 'traces' && (query.tracesView ?? 'search') === 'search' && (
              <>
                <grafanaUi.Input width={40} placeholder="trace ID" aria-label="Trace to open" data-testid="trace-to-open" value={traceToOpen} onChange={(e) => setTraceToOpen(e.currentTarget.value)} />
                <grafanaUi.Button size="sm" variant="secondary" onClick={() => void openTrace(traceToOpen)} data-testid="open-trace">
                  Open trace
                </grafanaUi.Button>
              </>
            )}
          </div>
          <ResultView data={result} />
          {volume && (
            <div data-testid="logs-volume">
              <h5>Logs volume ({query.volumeByCluster ? 'one histogram per cluster' : 'all clusters'}, stacked by level)</h5>
              {volume.map((h) => (
                <VolumeView key={h.name} histogram={h} />
              ))}
            </div>
          )}
          {context && (
            <div data-testid="log-context" style={mono}>
              <h5>Log context: {context.expr}</h5>
              {context.before.slice(0, 4).map((l, i) => (
                <div key={`b${i}`} style={{ color: theme.colors.text.secondary }}>
                  ↑ {l.slice(0, 140)}
                </div>
              ))}
              {context.after.slice(0, 4).map((l, i) => (
                <div key={`a${i}`}>↓ {l.slice(0, 140)}</div>
              ))}
            </div>
          )}
        </Section>
        {QueryHelp && (
          <Section id="query-help" title="Query help (QueryEditorHelp)">
            <QueryHelp
              datasource={ds}
              query={query}
              onClickExample={(q: FleetscopeQuery) => {
                latest.current = q;
                setQuery(q);
              }}
            />
          </Section>
        )}
        <Section id="panel" title="LLM Platform Operations (dist/panel/module.js, dashboards/llm-platform.json targets)">
          <div style={{ height: 560 }}>
            <Panel
              id={2}
              data={panelData}
              timeRange={panelData.timeRange}
              timeZone="utc"
              options={panelOptions as never}
              transparent={false}
              width={1180}
              height={560}
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

interface DashboardPanel {
  type: string;
  options?: Record<string, unknown>;
  targets?: FleetscopeQuery[];
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
    const instance: DataSourceInstanceSettings<FleetscopeOptions> = {
      id: 1,
      uid: 'fleetscope',
      type: 'fleetscope-federation-datasource',
      name: 'Fleetscope',
      access: 'proxy',
      readOnly: false,
      // What Grafana hands the frontend of the provisioned settings: here the store list, for SQL completion.
      jsonData: stores ? { clickhouse: stores } : {},
      meta: { id: 'fleetscope-federation-datasource', type: PluginType.datasource, name: 'Fleetscope', module: '', baseUrl: '', info: {} as never },
    };
    const ds = new dsModule.plugin.DataSourceClass(instance);
    // The one datasource of this "Grafana": dashboard targets name it through `${datasource}`.
    setDataSourceSrv({
      getInstanceSettings: () => instance,
      get: async () => ds,
      getList: () => [instance],
      reload: async () => {},
      registerRuntimeDataSource: () => {},
    } as unknown as DataSourceSrv);
    const clustersRes = await fetch(`${API}/api/v1/clusters`).then((r) => r.json());
    const clusters: ClusterInfo[] = clustersRes.clusters ?? [];

    // The LLM panel: the dashboard's own targets and options, run through the plugin's query path.
    const panel = (dashboard.panels as unknown as DashboardPanel[]).find((p) => p.type === 'fleetscope-llmops-panel');
    if (!panel?.targets) {
      throw new Error('dashboards/llm-platform.json has no fleetscope-llmops-panel with targets');
    }
    const res = await runQuery(ds, request(panel.targets, CoreApp.Dashboard, 100));
    const series = res.data as DataFrame[];
    state.panelSeries = series.length;
    state.panelProblems = errorsOf(res);
    const panelData: PanelData = {
      state: LoadingState.Done,
      series,
      errors: res.errors,
      timeRange: range(),
      request: { targets: panel.targets } as never,
    };
    const panelOptions = { ...collectDefaults(panelModule.plugin), ...(panel.options ?? {}) };
    root.render(<App ds={ds} dsPlugin={dsModule.plugin} panelPlugin={panelModule.plugin} clusters={clusters} panelData={panelData} panelOptions={panelOptions} />);
    state.ready = true;
  } catch (e) {
    state.error = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
    root.render(<pre style={{ color: 'red' }}>{state.error}</pre>);
  }
}

void main();
