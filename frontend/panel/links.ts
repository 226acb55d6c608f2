import { DataQueryRequest, TimeRange, locationUtil, urlUtil } from '@grafana/data';

export const FLEETSCOPE_DS_TYPE = 'fleetscope-federation-datasource';

/** The Fleetscope datasource the panel's own queries use, if any. */
export function fleetscopeUid(request?: DataQueryRequest): string | undefined {
  const fromTargets = request?.targets?.find((t) => t.datasource?.type === FLEETSCOPE_DS_TYPE)?.datasource?.uid;
  return fromTargets ?? undefined;
}

/** Explore, one pane: a trace search of `service` (on the given clusters) over the panel's time range. */
export function exploreTracesUrl(dsUid: string, service: string, clusterIds: string[], range: TimeRange): string {
  const pane = {
    datasource: dsUid,
    queries: [
      {
        refId: 'A',
        datasource: { type: FLEETSCOPE_DS_TYPE, uid: dsUid },
        queryType: 'traces',
        tracesView: 'search',
        service,
        clusters: clusterIds,
        limit: 20,
      },
    ],
    range: { from: String(range.from.valueOf()), to: String(range.to.valueOf()) },
  };
  return locationUtil.assureBaseUrl(urlUtil.renderUrl('/explore', { schemaVersion: 1, panes: JSON.stringify({ traces: pane }) }));
}
