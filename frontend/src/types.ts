import { DataQuery } from '@grafana/schema';
import { DataSourceJsonData } from '@grafana/data';

import type { QueryType } from './datasource/kinds';

export type { QueryType };

export type Aggregate = 'merge' | 'sum' | 'avg' | 'min' | 'max';
/** metrics: each cluster's Prometheus (PromQL) or the ClickHouse long-term store. */
export type MetricsSource = 'prometheus' | 'clickhouse';
export type ClickhouseFunction = 'raw' | 'rate' | 'increase' | 'avg_over_time' | 'min_over_time' | 'max_over_time' | 'histogram_quantile';
export type ClickhouseReduce = 'sum' | 'avg' | 'min' | 'max' | 'count';
export type LogDirection = 'backward' | 'forward';
export type TracesView = 'search' | 'trace' | 'analysis' | 'serviceGraph';
export type AlertState = 'FIRING' | 'PENDING' | 'RESOLVED' | 'SUPPRESSED';
export type GpuView = 'nodes' | 'gpus' | 'processes' | 'summary';
export type GpuSource = 'auto' | 'nvidia-smi' | 'dcgm';
export type CnfView = 'workloads' | 'ptp' | 'sriov' | 'dpdk';
export type MacosView = 'power';

/**
 * The query model (`DataQuery.json`), mirrored from docs/query-model.md.
 * One flat object: `queryType` selects the kind (datasource/kinds.ts) and which other fields matter.
 */
export interface FleetscopeQuery extends DataQuery {
  queryType?: QueryType;
  /** Cluster ids; empty = every enabled cluster. Entries may be template variables. */
  clusters?: string[];
  /**
   * Clusters chosen by their labels, Prometheus matcher syntax: `env="prod",region=~"eu-.*"`
   * (`=`, `!=`, `=~`, `!~`; braces optional; also `cluster_id`, `cluster`, `source`, `status`).
   * With `clusters` both apply. Template variables are interpolated (multi-value → `(a|b)`).
   */
  clusterSelector?: string;

  /** PromQL (metrics) or LogQL (logs). */
  expr?: string;
  instant?: boolean;
  range?: boolean;
  step?: string;
  aggregate?: Aggregate;
  legendFormat?: string;
  exemplars?: boolean;

  /** clickhouse: the exporter's MetricName. */
  metric?: string;
  /** clickhouse: the function over each step. */
  function?: ClickhouseFunction;
  /** clickhouse, `histogram_quantile`: φ in 0…1. */
  quantile?: number;
  /** clickhouse: combine each cluster's series by these attributes ([] = all into one). */
  groupBy?: string[];
  reduce?: ClickhouseReduce;
  /** clickhouse, SQL mode: the user's read-only SELECT with macros (metric, matchers, function, groupBy are then unused). */
  sql?: string;

  /** logs and trace search: maximum rows across all clusters. */
  limit?: number;
  direction?: LogDirection;
  /** logs (frontend only): Explore's logs volume as one histogram per cluster instead of one over all. */
  volumeByCluster?: boolean;
  /** Set on the queries Explore runs beside the user's (Loki's convention); the backend ignores it. */
  supportingQueryType?: 'logsVolume';

  tracesView?: TracesView;
  /** TraceQL. */
  query?: string;
  service?: string;
  operation?: string;
  minDuration?: string;
  maxDuration?: string;
  /** logfmt `key=value` pairs, e.g. `http.status_code=500 team=quant`. */
  tags?: string;
  traceId?: string;

  state?: AlertState[];
  severity?: string[];
  /** alerts: Alertmanager matchers, e.g. `alertname=~"GPU.*", namespace="llm"`; metrics from ClickHouse: a selector `{gpu="0"}`. */
  matchers?: string;
  history?: boolean;

  /** gpu: nodes|gpus|processes|summary; macos: power. */
  view?: GpuView | MacosView;
  /** gpu: auto|nvidia-smi|dcgm; metrics: `prometheus` (default, `expr`) or `clickhouse` (`metric` …). */
  source?: GpuSource | MetricsSource;

  cnfView?: CnfView;
  pod?: string;
  port?: number;
}

/** Every string field of the query that template variables may appear in. */
export const STRING_FIELDS = [
  'clusterSelector',
  'expr',
  'metric',
  'step',
  'legendFormat',
  'query',
  'service',
  'operation',
  'minDuration',
  'maxDuration',
  'tags',
  'traceId',
  'matchers',
  'pod',
] as const satisfies ReadonlyArray<keyof FleetscopeQuery>;

/** docs/configuration.md — `jsonData.clusters[]`. */
export interface ClusterConfig {
  id: string;
  name: string;
  labels?: Record<string, string>;
  enabled?: boolean;
  prometheus?: {
    url?: string;
    kind?: 'prometheus' | 'thanos' | 'mimir';
    tenant?: string;
    basicAuthUser?: string;
    tlsSkipVerify?: boolean;
    /** This cluster's scrape interval (`30s`), overriding `jsonData.timeInterval`. */
    timeInterval?: string;
  };
  loki?: { url?: string; tenant?: string };
  tempo?: { url?: string; tenant?: string };
  alertmanager?: { url?: string };
  kubernetes?: {
    server?: string;
    gpuNamespace?: string;
    gpuDaemonSet?: string;
    ptpNamespace?: string;
    sriovNamespace?: string;
  };
}

export interface QuerySettings {
  timeoutSeconds?: number;
  maxTimeoutSeconds?: number;
  maxParallel?: number;
  retryAttempts?: number;
  retryDelaySeconds?: number;
  maxResponseBytes?: number;
}

export interface CacheSettings {
  redisUrl?: string;
  instantTtlSeconds?: number;
  rangeTtlSeconds?: number;
  labelsTtlSeconds?: number;
}

export interface DerivedField {
  name: string;
  matcherRegex: string;
  url?: string;
  datasourceUid?: string;
}

/** A span/resource attribute used as a label; `value` renames it. */
export interface TagMapping {
  key: string;
  value?: string;
}

/** docs/configuration.md — `jsonData.tracesToLogs` (like Tempo's `tracesToLogsV2`). */
export interface TracesToLogsSettings {
  datasourceUid?: string;
  tags?: TagMapping[];
  filterByTraceId?: boolean;
  filterBySpanId?: boolean;
  spanStartTimeShift?: string;
  spanEndTimeShift?: string;
  customQuery?: string;
}

export interface TraceMetricQuery {
  name: string;
  query: string;
  service?: string;
}

/** docs/configuration.md — `jsonData.tracesToMetrics`. */
export interface TracesToMetricsSettings {
  datasourceUid?: string;
  tags?: TagMapping[];
  queries?: TraceMetricQuery[];
  spanStartTimeShift?: string;
  spanEndTimeShift?: string;
}

/**
 * docs/configuration.md — one `jsonData.exemplarTraceIdDestinations` entry
 * (Grafana's Prometheus setting): the exemplar label `name` holding the trace
 * ID links to `datasourceUid` (this datasource's own uid opens its trace view)
 * or, without one, to `url` (`${__value.raw}` is the trace ID).
 */
export interface ExemplarTraceIdDestination {
  name: string;
  datasourceUid?: string;
  url?: string;
  urlDisplayLabel?: string;
}

export interface FleetscopeOptions extends DataSourceJsonData {
  clusters?: ClusterConfig[];
  /** Scrape interval of the clusters' Prometheus (`15s`; a bare number is seconds): min step and `$__rate_interval` base. */
  timeInterval?: string;
  exemplarTraceIdDestinations?: ExemplarTraceIdDestination[];
  query?: QuerySettings;
  cache?: CacheSettings;
  derivedFields?: DerivedField[];
  tracesToLogs?: TracesToLogsSettings;
  tracesToMetrics?: TracesToMetricsSettings;
  /** Cluster discovery sources, merged with `clusters` into the live set (docs/configuration.md "Cluster discovery"). */
  discovery?: DiscoverySourceConfig[];
  /** ClickHouse long-term metric stores (docs/configuration.md). */
  clickhouse?: ClickhouseStoreSettings[];
}

/**
 * docs/configuration.md — one `jsonData.clickhouse[]` store (src/registry/settings.rs
 * `ClickhouseStoreSettings`); the frontend reads only what the SQL editor completes.
 */
export interface ClickhouseStoreSettings {
  id: string;
  url?: string;
  /** Default `otel`. */
  database?: string;
  /** Defaults `otel_metrics_gauge`, `otel_metrics_sum`, `otel_metrics_histogram`. */
  gaugeTable?: string;
  sumTable?: string;
  histogramTable?: string;
  /** Default `cluster_id`. */
  clusterAttribute?: string;
}

export type DiscoveryType = 'file' | 'registry' | 'kubernetes';

/**
 * docs/configuration.md — one `jsonData.discovery[]` source (src/registry/settings.rs
 * `DiscoverySourceSettings`). Which fields apply depends on `type`; the backend
 * rejects the others. Its secrets: `secureJsonData["discoverySources.<name>.<secret>"]`.
 */
export interface DiscoverySourceConfig {
  type: DiscoveryType;
  /** `[a-z0-9_-]`, at most 63, unique, not `static`: the clusters' `source` and the secret keys' middle part. */
  name: string;
  /** file: the YAML/JSON file of clusters. */
  path?: string;
  /** registry: the URL answering the cluster list. */
  url?: string;
  /** kubernetes: the management cluster's API server; empty = in-cluster. */
  server?: string;
  /** kubernetes: where the cluster Secrets are (default `argocd`). */
  namespace?: string;
  /** kubernetes: which Secrets (default `argocd.argoproj.io/secret-type=cluster`). */
  labelSelector?: string;
  /** file and registry: seconds between polls (file 10, registry 60). */
  refreshSeconds?: number;
  /** registry and kubernetes. */
  tlsSkipVerify?: boolean;
  /** Added to every cluster of the source (the cluster's own win). */
  labels?: Record<string, string>;
}

/** The secrets a discovery source may have (src/discovery/mod.rs `SOURCE_SECRET_NAMES`). */
export type DiscoverySecret = 'bearerToken' | 'tlsCACert' | 'tlsClientCert' | 'tlsClientKey';

/** `secureJsonData` prefix of discovery sources' secrets (upper-case `S`: no cluster id collides). */
export const DISCOVERY_SECRET_PREFIX = 'discoverySources.';

export const discoverySecretKey = (source: string, secret: DiscoverySecret) => `${DISCOVERY_SECRET_PREFIX}${source}.${secret}`;

/** Secret keys in secureJsonData: `<clusterId>.<suffix>`. */
export type SecretSuffix =
  | 'bearerToken'
  | 'prometheus.basicAuthPassword'
  | 'loki.basicAuthPassword'
  | 'tempo.basicAuthPassword'
  | 'alertmanager.basicAuthPassword'
  | 'tlsCACert'
  | 'tlsClientCert'
  | 'tlsClientKey'
  | 'webhookSecret';

export const secretKey = (clusterId: string, suffix: SecretSuffix) => `${clusterId}.${suffix}`;

/** `GET api/v1/clusters`. */
export interface ClusterInfo {
  id: string;
  name: string;
  labels?: Record<string, string>;
  enabled?: boolean;
  backends?: string[];
  /** `static` (`jsonData.clusters`) or the discovery source's name. */
  source?: string;
  /** `online` unless a registry source says otherwise; only online clusters are in "all". */
  status?: string;
  /** A discovered cluster: when its source last read it (RFC 3339). */
  lastRefresh?: string | null;
  endpoints?: Record<string, unknown>;
}

/** A discovery source's state in `GET api/v1/clusters` (src/discovery/mod.rs `SourceReport`). */
export interface DiscoverySourceReport {
  name: string;
  type: DiscoveryType;
  /** `pending` (not looked yet), `ok`, `error` (the last good list stays). */
  status: string;
  clusters: number;
  lastRefresh?: string | null;
  lastAttempt?: string | null;
  error?: string | null;
  /** Clusters found but skipped (id collisions, invalid settings). */
  clusterErrors?: Array<{ id: string; error: string }>;
}

export interface ClustersResponse {
  clusters: ClusterInfo[];
  total: number;
  sources?: DiscoverySourceReport[];
}

/** `GET api/v1/metrics/labels` and `.../label/{name}/values`: `data` is the union. */
export interface LabelsResponse {
  data?: string[];
  results?: unknown[];
}

/** `GET api/v1/gpu/nodes`. */
export interface GpuNodesResponse {
  nodes?: Array<{ cluster_id?: string; cluster_name?: string; node_name: string }>;
  total?: number;
}

/** Variable query: one function call, e.g. `label_values(up, job)`. */
export interface FleetscopeVariableQuery extends DataQuery {
  query: string;
  /** Clusters to ask (empty = all); entries may be variables. */
  clusters?: string[];
}
