import {
  ClusterInfo,
  ClustersResponse,
  GpuNodesResponse,
  LabelsResponse,
} from '../types';

/** Request options passed through to Grafana's fetch (`showErrorAlert: false`: the caller shows the error itself). */
export interface ResourceOptions {
  showErrorAlert?: boolean;
}

/** The one function the client needs: Grafana's `DataSourceWithBackend.getResource`. */
export type GetResource = <T>(path: string, params?: Record<string, string>, options?: ResourceOptions) => Promise<T>;

/** Label names/values come from Prometheus (`metrics`) or Loki (`logs`). */
export type LabelSource = 'metrics' | 'logs';

/** Resource paths, relative to the datasource (`/api/datasources/uid/<uid>/resources/`). */
export const RESOURCE_PATHS = {
  clusters: 'api/v1/clusters',
  labels: (source: LabelSource) => `api/v1/${source}/labels`,
  labelValues: (source: LabelSource, name: string) => `api/v1/${source}/label/${encodeURIComponent(name)}/values`,
  gpuNodes: 'api/v1/gpu/nodes',
  logsQueryRange: 'api/v1/logs/query_range',
  traceTags: 'api/v1/traces/tags',
  traceTagValues: (tag: string) => `api/v1/traces/tag/${encodeURIComponent(tag)}/values`,
  storeMetrics: 'api/v1/cluster-metrics/metrics',
  storeAttributes: 'api/v1/cluster-metrics/attributes',
  storeAttributeValues: (key: string) => `api/v1/cluster-metrics/attributes/${encodeURIComponent(key)}/values`,
} as const;

/** A metric of the ClickHouse store (`GET api/v1/cluster-metrics/metrics`). */
export interface StoreMetric {
  name: string;
  /** gauge, sum (counters) or histogram. */
  type?: string;
  help?: string;
  unit?: string;
}

/** A time window for hints, in Unix ms (the editor's range; default: the backend's last hour). */
export interface HintRange {
  from: number;
  to: number;
}

function rangeParams(range?: HintRange, names: [string, string] = ['start_time', 'end_time']): Record<string, string> {
  return range ? { [names[0]]: String(Math.floor(range.from / 1000)), [names[1]]: String(Math.ceil(range.to / 1000)) } : {};
}

/** `GET api/v1/logs/query_range`: the merged lines (`entries`). */
interface LogsSampleResponse {
  entries?: Array<{ line?: string; labels?: Record<string, string> }>;
}

/** `GET api/v1/traces/tags`: federated tag names by scope. */
interface TraceTagsResponse {
  scopes?: Array<{ name: string; tags: string[] }>;
}

/** `GET api/v1/traces/tag/{tag}/values`: typed values (Tempo v2). */
interface TraceTagValuesResponse {
  tagValues?: Array<{ type?: string; value: string }>;
}

function clusterParams(clusters: string[] | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const params: Record<string, string> = { ...extra };
  if (clusters && clusters.length > 0) {
    params.cluster_ids = clusters.join(',');
  }
  return params;
}

const uniqueSorted = (values: Iterable<string>) => Array.from(new Set(values)).sort((a, b) => a.localeCompare(b));

/** How long a cluster selector's matches are reused for hints (typing asks the same selector many times). */
export const SELECTOR_TTL_MS = 30_000;

/** Typed access to the backend's HTTP resource API (the same router `gpx_fleetscope serve` serves). */
export class ResourceClient {
  private readonly selectorCache = new Map<string, { at: number; ids: Promise<string[]> }>();

  constructor(
    private readonly getResource: GetResource,
    private readonly now: () => number = Date.now
  ) {}

  /**
   * Ids of the enabled clusters an (interpolated) cluster selector matches,
   * cached per selector text for `SELECTOR_TTL_MS`. Rejects, uncached and
   * without a Grafana alert, when the backend rejects the selector.
   */
  clusterIdsMatching(selector: string): Promise<string[]> {
    const key = selector.trim();
    const hit = this.selectorCache.get(key);
    if (hit && this.now() - hit.at < SELECTOR_TTL_MS) {
      return hit.ids;
    }
    const ids = this.clusters(key).then((list) => list.filter((c) => c.enabled !== false).map((c) => c.id));
    this.selectorCache.set(key, { at: this.now(), ids });
    ids.catch(() => this.selectorCache.delete(key));
    return ids;
  }

  /**
   * The clusters editor hints (completion, ad-hoc filters) should ask for a
   * query's interpolated `clusters` and `clusterSelector`: `undefined` = every
   * cluster (the resource API's default), `[]` = none (ask nobody). With both
   * set, the clusters picked that the selector matches, as the backend runs it.
   */
  async hintScope(clusters: string[] | undefined, selector?: string): Promise<string[] | undefined> {
    const picked = (clusters ?? []).filter(Boolean);
    if (!selector?.trim()) {
      return picked.length ? picked : undefined;
    }
    const matched = await this.clusterIdsMatching(selector);
    return picked.length ? matched.filter((id) => picked.includes(id)) : matched;
  }

  /** Registered clusters; with a `clusterSelector`, only those it matches. */
  async clusters(selector?: string): Promise<ClusterInfo[]> {
    return (await this.clusterList(selector)).clusters;
  }

  /**
   * `GET api/v1/clusters[?selector=…]`: clusters, total and the discovery
   * sources' states. A selector the backend rejects is a 400 whose message says
   * why; it is not shown as a Grafana alert (the editors show it inline).
   */
  async clusterList(selector?: string): Promise<ClustersResponse> {
    const s = selector?.trim();
    const res = s
      ? await this.getResource<ClustersResponse>(RESOURCE_PATHS.clusters, { selector: s }, { showErrorAlert: false })
      : await this.getResource<ClustersResponse>(RESOURCE_PATHS.clusters);
    const clusters = res?.clusters ?? [];
    return { clusters, total: res?.total ?? clusters.length, sources: res?.sources ?? [] };
  }

  /** Label names across the given clusters (empty = all); `data` is the federated union. */
  async labelNames(clusters?: string[], match?: string, source: LabelSource = 'metrics'): Promise<string[]> {
    const res = await this.getResource<LabelsResponse>(
      RESOURCE_PATHS.labels(source),
      clusterParams(clusters, match ? { [source === 'logs' ? 'query' : 'match[]']: match } : {})
    );
    return uniqueSorted(res?.data ?? []);
  }

  async labelValues(
    label: string,
    clusters?: string[],
    match?: string,
    source: LabelSource = 'metrics'
  ): Promise<string[]> {
    const res = await this.getResource<LabelsResponse>(
      RESOURCE_PATHS.labelValues(source, label),
      clusterParams(clusters, match ? { [source === 'logs' ? 'query' : 'match[]']: match } : {})
    );
    return uniqueSorted(res?.data ?? []);
  }

  /** Up to `limit` recent lines of a LogQL selector, with their labels (for parsed-label hints). */
  async logSample(
    selector: string,
    clusters?: string[],
    limit = 50,
    range?: HintRange
  ): Promise<Array<{ line: string; labels: Record<string, string> }>> {
    const res = await this.getResource<LogsSampleResponse>(
      RESOURCE_PATHS.logsQueryRange,
      clusterParams(clusters, { query: selector, limit: String(limit), direction: 'backward', ...rangeParams(range) })
    );
    return (res?.entries ?? []).map((e) => ({ line: e.line ?? '', labels: e.labels ?? {} }));
  }

  /** TraceQL attribute names, scoped (`resource.service.name`), of one scope or all. */
  async traceAttributes(clusters?: string[], scope?: string, range?: HintRange): Promise<string[]> {
    const res = await this.getResource<TraceTagsResponse>(
      RESOURCE_PATHS.traceTags,
      clusterParams(clusters, { ...(scope ? { scope } : {}), ...rangeParams(range, ['start', 'end']) })
    );
    const out: string[] = [];
    for (const s of res?.scopes ?? []) {
      if (s.name === 'intrinsic') {
        continue;
      }
      for (const t of s.tags ?? []) {
        out.push(s.name === 'none' ? `.${t}` : `${s.name}.${t}`);
      }
    }
    return uniqueSorted(out);
  }

  /** Values of a TraceQL attribute; strings are to be quoted, numbers, keywords and durations not. */
  async traceTagValues(tag: string, clusters?: string[], range?: HintRange): Promise<Array<{ value: string; quoted: boolean }>> {
    const res = await this.getResource<TraceTagValuesResponse>(
      RESOURCE_PATHS.traceTagValues(tag),
      clusterParams(clusters, rangeParams(range, ['start', 'end']))
    );
    const seen = new Set<string>();
    const out: Array<{ value: string; quoted: boolean }> = [];
    for (const v of res?.tagValues ?? []) {
      if (!seen.has(v.value)) {
        seen.add(v.value);
        out.push({ value: v.value, quoted: (v.type ?? 'string') === 'string' });
      }
    }
    return out.sort((a, b) => a.value.localeCompare(b.value));
  }

  /** Metric names of the ClickHouse store(s) of `clusters` starting with `prefix`, with their type. */
  async storeMetrics(clusters?: string[], prefix = '', range?: HintRange, limit = 200): Promise<StoreMetric[]> {
    const res = await this.getResource<{ data?: StoreMetric[] }>(
      RESOURCE_PATHS.storeMetrics,
      clusterParams(clusters, { ...(prefix ? { prefix } : {}), limit: String(limit), ...rangeParams(range, ['start', 'end']) })
    );
    return (res?.data ?? []).filter((m) => m?.name);
  }

  /** Attribute keys of a store metric (every metric's without one); the cluster attribute is left out. */
  async storeAttributes(clusters?: string[], metric?: string, range?: HintRange): Promise<string[]> {
    const res = await this.getResource<LabelsResponse>(
      RESOURCE_PATHS.storeAttributes,
      clusterParams(clusters, { ...(metric ? { metric } : {}), ...rangeParams(range, ['start', 'end']) })
    );
    return uniqueSorted(res?.data ?? []);
  }

  async storeAttributeValues(key: string, clusters?: string[], metric?: string, range?: HintRange): Promise<string[]> {
    const res = await this.getResource<LabelsResponse>(
      RESOURCE_PATHS.storeAttributeValues(key),
      clusterParams(clusters, { ...(metric ? { metric } : {}), ...rangeParams(range, ['start', 'end']) })
    );
    return uniqueSorted(res?.data ?? []);
  }

  async gpuNodes(clusters?: string[]): Promise<string[]> {
    const params: Record<string, string> = {};
    if (clusters && clusters.length === 1) {
      params.cluster_id = clusters[0];
    } else if (clusters && clusters.length > 1) {
      params.cluster_ids = clusters.join(',');
    }
    const res = await this.getResource<GpuNodesResponse>(RESOURCE_PATHS.gpuNodes, params);
    return uniqueSorted((res?.nodes ?? []).map((n) => n.node_name));
  }
}
