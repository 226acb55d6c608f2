import {
  ClusterInfo,
  ClustersResponse,
  GpuNodesResponse,
  LabelsResponse,
} from '../types';

/** The one function the client needs: Grafana's `DataSourceWithBackend.getResource`. */
export type GetResource = <T>(path: string, params?: Record<string, string>) => Promise<T>;

/** Label names/values come from Prometheus (`metrics`) or Loki (`logs`). */
export type LabelSource = 'metrics' | 'logs';

/** Resource paths, relative to the datasource (`/api/datasources/uid/<uid>/resources/`). */
export const RESOURCE_PATHS = {
  clusters: 'api/v1/clusters',
  labels: (source: LabelSource) => `api/v1/${source}/labels`,
  labelValues: (source: LabelSource, name: string) => `api/v1/${source}/label/${encodeURIComponent(name)}/values`,
  gpuNodes: 'api/v1/gpu/nodes',
} as const;

function clusterParams(clusters: string[] | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const params: Record<string, string> = { ...extra };
  if (clusters && clusters.length > 0) {
    params.cluster_ids = clusters.join(',');
  }
  return params;
}

const uniqueSorted = (values: Iterable<string>) => Array.from(new Set(values)).sort((a, b) => a.localeCompare(b));

/** Typed access to the backend's HTTP resource API (the same router `gpx_fleetscope serve` serves). */
export class ResourceClient {
  constructor(private readonly getResource: GetResource) {}

  async clusters(): Promise<ClusterInfo[]> {
    const res = await this.getResource<ClustersResponse>(RESOURCE_PATHS.clusters);
    return res?.clusters ?? [];
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
