/**
 * The query kinds, one entry each: everything the frontend knows about a
 * `queryType` — its place in the query-type picker, its editor, the fields a
 * fresh query starts with, when it is worth sending, its line in query
 * history, how Explore's label filters apply to it, and its cheat sheet.
 * `QueryType` is this table's keys, so a new kind is one entry here (and its
 * editor); the backend's table is `query::KINDS` (docs/query-model.md).
 */
import { ComponentType } from 'react';

import { AlertsEditor } from './components/AlertsEditor';
import { KindEditorProps } from './components/editorProps';
import { LogsEditor } from './components/LogsEditor';
import { MetricsEditor } from './components/MetricsEditor';
import { CnfEditor, GpuEditor, MacosEditor } from './components/ProbeEditors';
import { TracesEditor } from './components/TracesEditor';
import type { FleetscopeQuery } from '../types';

/** A cheat-sheet example: opens as a query of its kind on the current clusters. */
export interface Example {
  title: string;
  query: Partial<FleetscopeQuery>;
}

export interface Kind {
  /** The query-type picker's label and tooltip. */
  label: string;
  description: string;
  editor: ComponentType<KindEditorProps>;
  /** Fields a fresh query of this kind starts with. */
  defaults: Partial<FleetscopeQuery>;
  /** False when the query cannot return anything: Grafana then does not send it. */
  runnable: (q: FleetscopeQuery) => boolean;
  /** One readable line without the clusters: query history and the cheat sheet's examples. */
  summary: (q: FleetscopeQuery) => string;
  /**
   * The labels its `expr` selects on (Prometheus' or Loki's): Explore's filter
   * for/out and dashboard ad-hoc filters become matchers there. None: they do not apply.
   */
  labels?: 'metrics' | 'logs';
  help: { intro: string; examples: Example[] };
}

/** `a b c` of the parts that are set. */
const words = (...parts: Array<string | false | undefined>) => parts.filter(Boolean).join(' ');

/** A ClickHouse-store query as one line: `rate(m{gpu="0"}) sum by (Hostname)`; `groupBy: []` is `sum of all series`. */
function storeExpression(q: FleetscopeQuery): string {
  if (q.sql !== undefined) {
    const sql = q.sql.replace(/\s+/g, ' ').trim();
    return `SQL ${sql.length > 120 ? `${sql.slice(0, 119)}…` : sql}`;
  }
  const fn = q.function ?? 'raw';
  const selector = `${q.metric ?? ''}${q.matchers ?? ''}`;
  const call = fn === 'raw' ? selector : fn === 'histogram_quantile' ? `histogram_quantile(${q.quantile ?? 0.95}, ${selector})` : `${fn}(${selector})`;
  const reduce = q.reduce ?? 'sum';
  return words(call, q.groupBy && (q.groupBy.length ? `${reduce} by (${q.groupBy.join(', ')})` : `${reduce} of all series`));
}

export const KINDS = {
  metrics: {
    label: 'Metrics',
    description: 'PromQL across clusters, or the ClickHouse long-term store',
    editor: MetricsEditor,
    defaults: { expr: '', aggregate: 'merge' },
    runnable: (q) => (q.source === 'clickhouse' ? !!(q.sql ?? q.metric)?.trim() : !!q.expr?.trim()),
    summary: (q) =>
      words(
        q.source === 'clickhouse' ? `ClickHouse: ${storeExpression(q)}` : `PromQL: ${q.expr ?? ''}`,
        q.aggregate && q.aggregate !== 'merge' && `(${q.aggregate} across clusters)`
      ),
    labels: 'metrics',
    help: {
      intro:
        'PromQL sent to every selected cluster’s Prometheus — or, with Source ClickHouse, a metric of the long-term store with filters, a function over each step and grouping (one SQL statement per store). Merge keeps series apart with a cluster label; Sum/Avg/Min/Max combine identical series across clusters.',
      examples: [
        { title: 'Request rate per team, every cluster', query: { expr: 'sum by (team) (rate(gateway_requests_total[$__rate_interval]))', aggregate: 'merge' } },
        { title: 'Fleet-wide total (added across clusters)', query: { expr: 'sum(rate(gateway_requests_total[$__rate_interval]))', aggregate: 'sum' } },
        { title: 'p95 latency from histograms', query: { expr: 'histogram_quantile(0.95, sum by (le) (rate(gateway_latency_ms_bucket[$__rate_interval])))' } },
        { title: 'GPU utilisation, worst cluster', query: { expr: 'avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)', aggregate: 'max' } },
        {
          title: 'GPU utilisation per host, from the long-term store',
          query: { source: 'clickhouse', metric: 'DCGM_FI_DEV_GPU_UTIL', function: 'avg_over_time', groupBy: ['Hostname'], reduce: 'avg' },
        },
        {
          title: 'Request rate per team, from the long-term store',
          query: { source: 'clickhouse', metric: 'gateway_requests_total', function: 'rate', groupBy: ['team'], reduce: 'sum' },
        },
        {
          title: 'p99 latency, from the long-term store (histogram)',
          query: { source: 'clickhouse', metric: 'gateway_latency_ms', function: 'histogram_quantile', quantile: 0.99, groupBy: [] },
        },
      ],
    },
  },
  logs: {
    label: 'Logs',
    description: 'LogQL across clusters',
    editor: LogsEditor,
    defaults: { expr: '', direction: 'backward' },
    runnable: (q) => !!q.expr?.trim(),
    summary: (q) => words('LogQL:', q.expr ?? '', q.direction === 'forward' && '(oldest first)'),
    labels: 'logs',
    help: {
      intro:
        'LogQL sent to every selected cluster’s Loki; lines are merged by time with one limit, each labelled with its cluster. Logs volume (over all clusters or per cluster) and log context work in Explore.',
      examples: [
        { title: 'Lines of a stream containing “error”', query: { expr: '{app="gateway"} |= "error"' } },
        { title: 'Parse JSON and filter on a parsed label', query: { expr: '{app="gateway"} | json | status >= 500' } },
        { title: 'Parse logfmt, reformat the line', query: { expr: '{app="model-server"} | logfmt | line_format "{{.msg}}"' } },
        { title: 'Error lines per second, per cluster', query: { expr: 'sum(rate({app="gateway"} |= "error" [$__auto]))', aggregate: 'merge' } },
      ],
    },
  },
  traces: {
    label: 'Traces',
    description: 'TraceQL, trace by ID, analysis, service graph',
    editor: TracesEditor,
    defaults: { tracesView: 'search' },
    runnable: (q) => (q.tracesView === 'trace' || q.tracesView === 'analysis' ? !!q.traceId?.trim() : true),
    summary: (q) => {
      const view = q.tracesView ?? 'search';
      if (view === 'trace' || view === 'analysis') {
        return `${view === 'trace' ? 'Trace' : 'Trace analysis'}: ${q.traceId ?? ''}`;
      }
      const criteria =
        q.query?.trim() ||
        words(
          q.service && `service=${q.service}`,
          q.operation && `operation=${q.operation}`,
          q.minDuration && `duration>=${q.minDuration}`,
          q.maxDuration && `duration<=${q.maxDuration}`,
          q.tags
        ) ||
        'all traces';
      return `${view === 'serviceGraph' ? 'Service graph' : 'TraceQL'}: ${criteria}`;
    },
    help: {
      intro: 'TraceQL searches every selected cluster’s Tempo; a trace ID opens the trace merged from every cluster that holds spans of it.',
      examples: [
        { title: 'Failing requests of a service', query: { tracesView: 'search', query: '{ resource.service.name = "gateway" && status = error }' } },
        { title: 'Slow spans', query: { tracesView: 'search', query: '{ duration > 2s }' } },
        { title: 'Calls from the gateway into a model server', query: { tracesView: 'search', query: '{ resource.service.name = "gateway" } >> { resource.service.name =~ "model.*" }' } },
        { title: 'Service graph of the window', query: { tracesView: 'serviceGraph' } },
      ],
    },
  },
  alerts: {
    label: 'Alerts',
    description: 'Alertmanager alerts of every cluster',
    editor: AlertsEditor,
    defaults: { state: ['FIRING'] },
    runnable: () => true,
    summary: (q) =>
      words(
        q.history ? 'Alert history:' : 'Alerts:',
        (q.state ?? []).join('|') || 'any state',
        !!q.severity?.length && `severity ${q.severity.join('|')}`,
        q.matchers && `{${q.matchers}}`
      ),
    help: {
      intro: 'Alerts of every selected cluster’s Alertmanager, de-duplicated across HA pairs; history comes from the webhook receiver.',
      examples: [
        { title: 'Firing critical alerts', query: { state: ['FIRING'], severity: ['CRITICAL'] } },
        { title: 'GPU alerts by name', query: { state: ['FIRING', 'PENDING'], matchers: 'alertname=~"GPU.*"' } },
        { title: 'Alert history', query: { history: true, state: [] } },
      ],
    },
  },
  gpu: {
    label: 'GPU',
    description: 'nvidia-smi / DCGM GPU telemetry',
    editor: GpuEditor,
    defaults: { view: 'nodes', source: 'auto' },
    runnable: () => true,
    summary: (q) => `GPU ${q.view ?? 'nodes'} (${q.source ?? 'auto'})`,
    help: {
      intro: 'GPU telemetry per node: DCGM exporter metrics, or nvidia-smi run in the GPU driver pods through Kubernetes exec.',
      examples: [
        { title: 'GPU nodes', query: { view: 'nodes', source: 'auto' } },
        { title: 'Every GPU', query: { view: 'gpus', source: 'auto' } },
        { title: 'Processes on the GPUs (nvidia-smi)', query: { view: 'processes', source: 'nvidia-smi' } },
        { title: 'Fleet summary', query: { view: 'summary' } },
      ],
    },
  },
  cnf: {
    label: 'CNF',
    description: 'PTP, SR-IOV, DPDK, CNF workloads',
    editor: CnfEditor,
    defaults: { cnfView: 'workloads' },
    runnable: (q) => q.cnfView !== 'dpdk' || !!q.pod?.trim(),
    summary: (q) => words(`CNF ${q.cnfView ?? 'workloads'}`, q.pod && `pod ${q.pod}`, q.port !== undefined && `port ${q.port}`),
    help: {
      intro: 'Telco CNF probes through Kubernetes: PTP sync, SR-IOV VFs, DPDK port statistics, CNF workloads.',
      examples: [
        { title: 'CNF workloads', query: { cnfView: 'workloads' } },
        { title: 'PTP offset and state', query: { cnfView: 'ptp' } },
        { title: 'SR-IOV virtual functions', query: { cnfView: 'sriov' } },
      ],
    },
  },
  macos: {
    label: 'macOS',
    description: 'Apple-Silicon power',
    editor: MacosEditor,
    defaults: { view: 'power' },
    runnable: () => true,
    summary: () => 'macOS power',
    help: {
      intro: 'Apple-Silicon power from `gpx_fleetscope macos-exporter` on each Mac, scraped by the cluster’s Prometheus.',
      examples: [{ title: 'CPU, GPU and ANE power', query: { view: 'power' } }],
    },
  },
} satisfies Record<string, Kind>;

export type QueryType = keyof typeof KINDS;

/** The kind of a query without `queryType` (Grafana's default query). */
export const DEFAULT_KIND: QueryType = 'metrics';

/** The kinds in picker order. */
export const KIND_LIST = Object.entries(KINDS).map(([value, kind]) => ({ value: value as QueryType, ...(kind as Kind) }));

/** A query's `queryType`; an unknown one (a newer dashboard) reads as the default. */
export function queryTypeOf(q: Pick<FleetscopeQuery, 'queryType'>): QueryType {
  const t = q.queryType;
  return t !== undefined && Object.prototype.hasOwnProperty.call(KINDS, t) ? t : DEFAULT_KIND;
}

export function kindOf(q: Pick<FleetscopeQuery, 'queryType'>): Kind {
  return KINDS[queryTypeOf(q)];
}

/**
 * Where Explore's filter for/out and ad-hoc filters go for this query: the
 * labels of its `expr` (Prometheus' or Loki's), or `store` — the attribute
 * matchers of a ClickHouse-store metrics query. Undefined: they do not apply.
 */
export function labelsOf(q: FleetscopeQuery): 'metrics' | 'logs' | 'store' | undefined {
  const labels = kindOf(q).labels;
  if (labels === 'metrics' && q.source === 'clickhouse') {
    // Raw SQL is the user's own statement: nothing to put a filter into.
    return q.sql === undefined ? 'store' : undefined;
  }
  return labels;
}

export const DEFAULT_QUERY: Partial<FleetscopeQuery> = { queryType: DEFAULT_KIND, ...KINDS[DEFAULT_KIND].defaults };

/**
 * A fresh query of `kind` in place of `from`: what every kind shares (refId,
 * datasource, clusters, clusterSelector, hide, key) is kept, the rest starts from the kind's
 * defaults and `fields`. Switching kinds and opening a cheat-sheet example.
 */
export function freshQuery(kind: QueryType, from: FleetscopeQuery, fields: Partial<FleetscopeQuery> = {}): FleetscopeQuery {
  const { refId, datasource, clusters, clusterSelector, hide, key } = from;
  const shared = Object.fromEntries(Object.entries({ datasource, clusters, clusterSelector, hide, key }).filter(([, v]) => v !== undefined));
  return { refId, ...shared, queryType: kind, ...KINDS[kind].defaults, ...fields };
}

/** The text a cheat-sheet example shows: the history line of the query it opens. */
export function exampleText(kind: QueryType, ex: Example): string {
  return KINDS[kind].summary(freshQuery(kind, { refId: '' }, ex.query));
}
