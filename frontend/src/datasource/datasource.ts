import {
  AdHocVariableFilter,
  CoreApp,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceGetTagKeysOptions,
  DataSourceGetTagValuesOptions,
  DataSourceInstanceSettings,
  DataSourceWithLogsContextSupport,
  DataSourceWithSupplementaryQueriesSupport,
  LogRowContextOptions,
  LogRowContextQueryDirection,
  LogRowModel,
  MetricFindValue,
  QueryFixAction,
  ScopedVars,
  SupplementaryQueryOptions,
  SupplementaryQueryType,
  TestDataSourceResponse,
  dateTime,
} from '@grafana/data';
import { DataSourceWithBackend, HealthCheckError, HealthStatus, getTemplateSrv } from '@grafana/runtime';
import { Observable, lastValueFrom } from 'rxjs';

import { ClickhouseStoreSettings, FleetscopeOptions, FleetscopeQuery } from '../types';
import { annotationSupport } from './annotations';
import { MatchOp, addLabelMatcher, addLogqlLabelFilter, isLogsQuery, streamSelector } from './modifyQuery';
import { interpolateClusters, interpolateQuery, interpolateSelector } from './interpolate';
import { DEFAULT_QUERY, kindOf, labelsOf } from './kinds';
import { LOGS_VOLUME_REF_PREFIX, logsVolumeProvider } from './logsVolume';
import { formatClusterHealth } from './health';
import { ResourceClient } from './resources';
import { addStoreMatcher } from './storeMatchers';
import { FleetscopeVariableSupport } from './variables';

/**
 * The Fleetscope datasource. Every query goes to the Rust backend (QueryData),
 * so dashboards, Explore and alert rules see the same frames; the frontend only
 * interpolates template variables and asks the resource API for editor hints.
 */
/** Labels the backend adds to every row and series; not upstream labels. */
export const CLUSTER_LABELS = ['cluster', 'cluster_id'];
/** Labels Loki adds that are not part of a stream selector. */
const NON_STREAM_LABELS = new Set([...CLUSTER_LABELS, 'exported_cluster', 'detected_level', '__error__', '__error_details__']);

/** refId prefix of the log context queries. */
export const LOG_CONTEXT_REF_PREFIX = 'log-context-';
/** How far log context looks before/after the line. */
const CONTEXT_WINDOW_MS = 2 * 60 * 60 * 1000;

export class FleetscopeDataSource
  extends DataSourceWithBackend<FleetscopeQuery, FleetscopeOptions>
  implements DataSourceWithSupplementaryQueriesSupport<FleetscopeQuery>, DataSourceWithLogsContextSupport<FleetscopeQuery>
{
  readonly resources: ResourceClient;
  /** Enabled cluster ids, once any editor or filter has listed them (for `cluster != x` filters). */
  knownClusters?: string[];
  /** `jsonData.clickhouse`: the store tables the SQL editor completes. */
  readonly clickhouseStores: ClickhouseStoreSettings[];

  constructor(instanceSettings: DataSourceInstanceSettings<FleetscopeOptions>) {
    super(instanceSettings);
    this.clickhouseStores = instanceSettings.jsonData?.clickhouse ?? [];
    this.resources = new ResourceClient((path, params, options) =>
      options ? this.getResource(path, params, options) : this.getResource(path, params)
    );
    this.variables = new FleetscopeVariableSupport(this, getTemplateSrv);
    this.annotations = annotationSupport;
  }

  getDefaultQuery(app: CoreApp): Partial<FleetscopeQuery> {
    return DEFAULT_QUERY;
  }

  /** Skip queries that cannot return anything rather than sending an error round trip. */
  filterQuery(query: FleetscopeQuery): boolean {
    return !query.hide && kindOf(query).runnable(query);
  }

  applyTemplateVariables(query: FleetscopeQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): FleetscopeQuery {
    return applyAdHocFilters(interpolateQuery(query, getTemplateSrv(), scopedVars), filters ?? [], this.knownClusters);
  }

  /** Explore (opening a panel) and query library: every field interpolated, this datasource's ref kept. */
  interpolateVariablesInQueries(queries: FleetscopeQuery[], scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): FleetscopeQuery[] {
    return queries.map((q) => ({ ...this.applyTemplateVariables(q, scopedVars, filters), datasource: this.getRef() }));
  }

  // ---- ad-hoc filters ------------------------------------------------------

  /**
   * Label names for ad-hoc filters: Loki's when the dashboard's queries are
   * logs, the ClickHouse store's attributes when they are store metrics, else
   * Prometheus'; plus `cluster`. Asked of the clusters the queries ask (their
   * clusters and cluster selectors); none when those match no cluster or a
   * selector is invalid.
   */
  async getTagKeys(options?: DataSourceGetTagKeysOptions<FleetscopeQuery>): Promise<MetricFindValue[]> {
    const source = labelSourceOf(options?.queries);
    const scope = await this.hintScopeOf(options?.queries);
    if (scope === null) {
      return [];
    }
    const names = source === 'store' ? await this.resources.storeAttributes(scope) : await this.resources.labelNames(scope, undefined, source);
    return ['cluster', ...names.filter((n) => n !== '__name__' && !CLUSTER_LABELS.includes(n))].map((text) => ({ text }));
  }

  async getTagValues(options: DataSourceGetTagValuesOptions<FleetscopeQuery>): Promise<MetricFindValue[]> {
    const scope = await this.hintScopeOf(options.queries);
    if (options.key === 'cluster' || options.key === 'cluster_id') {
      const clusters = (await this.resources.clusters()).filter((c) => c.enabled !== false);
      this.knownClusters = clusters.map((c) => c.id);
      return clusters.filter((c) => scope === undefined || (scope !== null && scope.includes(c.id))).map((c) => ({ text: c.id }));
    }
    if (scope === null) {
      return [];
    }
    const source = labelSourceOf(options.queries);
    const values =
      source === 'store' ? await this.resources.storeAttributeValues(options.key, scope) : await this.resources.labelValues(options.key, scope, undefined, source);
    return values.map((text) => ({ text }));
  }

  /**
   * The clusters the given queries ask, from their interpolated clusters and
   * cluster selectors: `undefined` = all, `null` = none (nothing matched, or a
   * selector the backend rejects: no hints rather than an error).
   */
  private async hintScopeOf(queries?: FleetscopeQuery[]): Promise<string[] | undefined | null> {
    const templateSrv = getTemplateSrv();
    let scopes: Array<string[] | undefined>;
    try {
      scopes = await Promise.all(
        (queries ?? []).map((q) =>
          this.resources.hintScope(interpolateClusters(q.clusters, templateSrv), interpolateSelector(q.clusterSelector, templateSrv))
        )
      );
    } catch {
      return null;
    }
    if (scopes.length === 0 || scopes.some((s) => s === undefined)) {
      return undefined;
    }
    const ids = Array.from(new Set(scopes.flatMap((s) => s ?? [])));
    return ids.length ? ids : null;
  }

  // ---- logs volume (Explore's histogram) -------------------------------------

  getSupportedSupplementaryQueryTypes(): SupplementaryQueryType[] {
    return [SupplementaryQueryType.LogsVolume];
  }

  /**
   * Logs volume, as Grafana's Loki builds it: `sum by (level, detected_level)
   * (count_over_time(<query> | drop __error__ [$__auto]))` on the same clusters,
   * added across clusters (`aggregate: sum`) so Explore stacks one series per
   * level — or kept per cluster (`aggregate: merge`, every series labelled with
   * its cluster) when the query asks `volumeByCluster` or the caller asks the
   * field `cluster`. Another `field` counts by that label instead of the level.
   * Only for log queries (a metric query has no lines to count).
   */
  getSupplementaryQuery(options: SupplementaryQueryOptions, query: FleetscopeQuery): FleetscopeQuery | undefined {
    if (options.type !== SupplementaryQueryType.LogsVolume || query.queryType !== 'logs' || query.hide) {
      return undefined;
    }
    const expr = query.expr?.trim();
    if (!expr || !isLogsQuery(expr)) {
      return undefined;
    }
    const field = options.field?.trim();
    const byCluster = !!query.volumeByCluster || (!!field && CLUSTER_LABELS.includes(field));
    const by = field && !CLUSTER_LABELS.includes(field) ? field : 'level, detected_level';
    return {
      refId: `${LOGS_VOLUME_REF_PREFIX}${query.refId}`,
      datasource: query.datasource,
      queryType: 'logs',
      supportingQueryType: 'logsVolume',
      clusters: query.clusters,
      ...(query.clusterSelector ? { clusterSelector: query.clusterSelector } : {}),
      expr: `sum by (${by}) (count_over_time(${expr} | drop __error__ [$__auto]))`,
      instant: false,
      range: true,
      aggregate: byCluster ? 'merge' : 'sum',
      ...(byCluster ? { volumeByCluster: true } : {}),
    };
  }

  getSupplementaryRequest(
    type: SupplementaryQueryType,
    request: DataQueryRequest<FleetscopeQuery>,
    options?: SupplementaryQueryOptions
  ): DataQueryRequest<FleetscopeQuery> | undefined {
    if (type !== SupplementaryQueryType.LogsVolume) {
      return undefined;
    }
    const volumeOptions = { type, ...(options?.type === type ? options : {}) } as SupplementaryQueryOptions;
    const targets = request.targets
      .map((q) => this.getSupplementaryQuery(volumeOptions, q))
      .filter((q): q is FleetscopeQuery => q !== undefined);
    return targets.length ? { ...request, targets } : undefined;
  }

  /**
   * What Explore asks first: the volume frames already shaped for its
   * histogram (level colours, full-range meta), one histogram per cluster for
   * `volumeByCluster` (see logsVolume.ts for why this is not left to Grafana).
   */
  getDataProvider(type: SupplementaryQueryType, request: DataQueryRequest<FleetscopeQuery>): Observable<DataQueryResponse> | undefined {
    const volumeRequest = this.getSupplementaryRequest(type, request);
    if (!volumeRequest) {
      return undefined;
    }
    return logsVolumeProvider((r) => this.query(r), volumeRequest, { datasourceName: this.name, sourceQueries: request.targets });
  }

  // ---- log context -----------------------------------------------------------

  /**
   * The query for the lines around `row`: its own cluster only, its stream (the
   * row's labels that are stream labels of that cluster's Loki), and the window
   * before (backward) or after (forward) the line.
   */
  async getLogRowContextQuery(row: LogRowModel, options?: LogRowContextOptions, origQuery?: FleetscopeQuery): Promise<FleetscopeQuery> {
    const labels = row.labels ?? {};
    const clusterId = labels.cluster_id;
    let streamNames: Set<string> | undefined;
    try {
      const names = await this.resources.labelNames(clusterId ? [clusterId] : undefined, undefined, 'logs');
      streamNames = names.length ? new Set(names) : undefined;
    } catch {
      streamNames = undefined; // fall back to every label of the row
    }
    const stream: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) {
      if (!NON_STREAM_LABELS.has(k) && (!streamNames || streamNames.has(k))) {
        stream[k] = v;
      }
    }
    const backward = (options?.direction ?? LogRowContextQueryDirection.Backward) === LogRowContextQueryDirection.Backward;
    return {
      refId: `${LOG_CONTEXT_REF_PREFIX}${origQuery?.refId ?? row.dataFrame.refId ?? 'A'}`,
      datasource: origQuery?.datasource ?? this.getRef(),
      queryType: 'logs',
      clusters: clusterId ? [clusterId] : origQuery?.clusters,
      // The row's own cluster is enough; without one, the original query's selector still applies.
      ...(!clusterId && origQuery?.clusterSelector ? { clusterSelector: origQuery.clusterSelector } : {}),
      expr: streamSelector(stream),
      limit: options?.limit ?? 50,
      direction: backward ? 'backward' : 'forward',
    };
  }

  async getLogRowContext(row: LogRowModel, options?: LogRowContextOptions, origQuery?: FleetscopeQuery): Promise<DataQueryResponse> {
    const query = await this.getLogRowContextQuery(row, options, origQuery);
    const t = row.timeEpochMs;
    const window = options?.timeWindowMs ?? CONTEXT_WINDOW_MS;
    // Include the line's own millisecond on both sides; Explore marks the line itself.
    const [from, to] = query.direction === 'backward' ? [t - window, t + 1] : [t, t + window];
    const range = { from: dateTime(from), to: dateTime(to), raw: { from: dateTime(from), to: dateTime(to) } };
    const request: DataQueryRequest<FleetscopeQuery> = {
      requestId: `${query.refId}-${row.uid}`,
      app: CoreApp.Explore,
      targets: [query],
      range,
      interval: '1s',
      intervalMs: 1000,
      scopedVars: options?.scopedVars ?? {},
      timezone: 'UTC',
      startTime: Date.now(),
    };
    return lastValueFrom(this.query(request));
  }

  /** Query history and the query library: one readable line per kind, with its clusters. */
  getQueryDisplayText(query: FleetscopeQuery): string {
    const where = query.clusters?.length ? query.clusters.join(', ') : 'all clusters';
    const selector = query.clusterSelector?.trim();
    return `${kindOf(query).summary(query)} @ ${where}${selector ? ` matching {${selector.replace(/^\{|\}$/g, '')}}` : ''}`;
  }

  /** Explore's "filter for value" / "filter out value" on log and metric labels. */
  modifyQuery(query: FleetscopeQuery, action: QueryFixAction): FleetscopeQuery {
    const key = action.options?.key;
    const value = action.options?.value;
    if (!key || value === undefined || !filterable(query)) {
      return query;
    }
    if (key === 'cluster' || key === 'cluster_id') {
      // The cluster is not a label upstream: narrow the cluster list instead.
      if (action.type === 'ADD_FILTER' && key === 'cluster_id') {
        return { ...query, clusters: [value] };
      }
      return query;
    }
    switch (action.type) {
      case 'ADD_FILTER':
        return addFilter(query, key, '=', value);
      case 'ADD_FILTER_OUT':
        return addFilter(query, key, '!=', value);
      default:
        return query;
    }
  }

  getSupportedQueryModifications(): string[] {
    return ['ADD_FILTER', 'ADD_FILTER_OUT'];
  }

  /** Save & test: Grafana's health call, with the per-cluster results spelled out. */
  async testDatasource(): Promise<TestDataSourceResponse> {
    const res = await this.callHealthCheck();
    const verboseMessage = formatClusterHealth(res?.details);
    if (res?.status === HealthStatus.OK) {
      return { status: 'success', message: res.message, details: verboseMessage ? { verboseMessage } : undefined };
    }
    const message = res?.message ?? 'health check failed';
    return Promise.reject({
      status: 'error',
      message,
      details: { message, verboseMessage },
      error: new HealthCheckError(message, { ...(res?.details ?? {}), message, verboseMessage }),
    });
  }
}

/** Whether label filters apply: a kind with labels, and the text they go into is there. */
function filterable(query: FleetscopeQuery): boolean {
  const labels = labelsOf(query);
  return labels === 'store' ? !!query.metric?.trim() : !!labels && !!query.expr;
}

/**
 * A label filter in the query's own language: LogQL through the grammar
 * (parsed labels), PromQL in every selector, an attribute matcher of a
 * ClickHouse-store query.
 */
function addFilter(query: FleetscopeQuery, key: string, op: MatchOp, value: string): FleetscopeQuery {
  switch (labelsOf(query)) {
    case 'store':
      return { ...query, matchers: addStoreMatcher(query.matchers, key, op, value) };
    case 'logs':
      return { ...query, expr: addLogqlLabelFilter(query.expr ?? '', key, op, value) };
    default:
      return { ...query, expr: addLabelMatcher(query.expr ?? '', key, op, value) };
  }
}

const AD_HOC_OPS: Record<string, MatchOp | undefined> = { '=': '=', '!=': '!=', '=~': '=~', '!~': '!~' };

/**
 * Dashboard ad-hoc filters on metrics and logs queries: each `key op value`
 * becomes a matcher (a label filter after the parser for logs). `cluster`
 * (or `cluster_id`) narrows the cluster list instead, as it is not an upstream
 * label: `=` keeps that cluster (a query left with no cluster is hidden, not
 * widened to all), `!=` drops it (from `allClusters` when the query asks all).
 */
export function applyAdHocFilters(query: FleetscopeQuery, filters: AdHocVariableFilter[], allClusters?: string[]): FleetscopeQuery {
  if (filters.length === 0 || !filterable(query)) {
    return query;
  }
  let out = { ...query };
  for (const f of filters) {
    const op = AD_HOC_OPS[f.operator];
    if (!op || !f.key) {
      continue;
    }
    if (CLUSTER_LABELS.includes(f.key)) {
      const current = out.clusters?.length ? out.clusters : allClusters;
      if (op === '=') {
        if (current && !current.includes(f.value) && out.clusters?.length) {
          out = { ...out, hide: true };
        } else {
          out = { ...out, clusters: [f.value] };
        }
      } else if (op === '!=' && current) {
        const rest = current.filter((c) => c !== f.value);
        out = rest.length ? { ...out, clusters: rest } : { ...out, hide: true };
      }
      continue;
    }
    out = addFilter(out, f.key, op, f.value);
  }
  return out;
}

function labelSourceOf(queries?: FleetscopeQuery[]): 'metrics' | 'logs' | 'store' {
  for (const source of ['logs', 'store'] as const) {
    if (queries?.length && queries.every((q) => labelsOf(q) === source)) {
      return source;
    }
  }
  return 'metrics';
}
