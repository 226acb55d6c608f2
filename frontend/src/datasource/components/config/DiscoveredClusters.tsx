import { css } from '@emotion/css';
import { GrafanaTheme2, dateTimeFormat } from '@grafana/data';
import { getBackendSrv } from '@grafana/runtime';
import { Alert, Badge, BadgeColor, Button, FieldSet, FilterInput, Pagination, Stack, Text, useStyles2 } from '@grafana/ui';
import { useEffect, useMemo, useState } from 'react';
import { lastValueFrom } from 'rxjs';

import { ClusterInfo, ClustersResponse, DiscoverySourceReport } from '../../../types';
import { RESOURCE_PATHS } from '../../resources';
import { errorMessage } from '../useClusters';

/** Rows of the cluster table shown at once: 500 clusters stay usable. */
export const PAGE_SIZE = 50;

export type ClustersLoader = (uid: string) => Promise<ClustersResponse>;

/** `GET api/v1/clusters` of a saved datasource, through Grafana's resource proxy; errors are shown inline, not as alerts. */
export const loadFromGrafana: ClustersLoader = async (uid) => {
  const res = await lastValueFrom(
    getBackendSrv().fetch<ClustersResponse>({
      method: 'GET',
      url: `/api/datasources/uid/${encodeURIComponent(uid)}/resources/${RESOURCE_PATHS.clusters}`,
      showErrorAlert: false,
    })
  );
  return res.data;
};

/** One text per cluster the search box looks through: id, name, source, status and `key=value` labels. */
function searchText(c: ClusterInfo): string {
  const labels = Object.entries(c.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return [c.id, c.name, c.source ?? '', c.status ?? '', ...labels].join(' ').toLowerCase();
}

/** Clusters whose id, name, source, status or labels contain every word of `query`. */
export function filterClusters(clusters: ClusterInfo[], query: string): ClusterInfo[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    return clusters;
  }
  return clusters.filter((c) => {
    const text = searchText(c);
    return words.every((w) => text.includes(w));
  });
}

const when = (t?: string | null) => (t ? dateTimeFormat(t) : '—');

function statusColor(status: string | undefined): BadgeColor {
  switch (status) {
    case 'online':
    case 'ok':
      return 'green';
    case 'error':
    case 'offline':
      return 'red';
    default:
      return 'orange';
  }
}

interface Props {
  /** The datasource's uid; without one (never saved) there is no resource API to ask. */
  uid?: string;
  /** The settings in the editor differ from the saved ones the list comes from. */
  unsaved?: boolean;
  load?: ClustersLoader;
}

/**
 * "Discovered clusters": the live cluster set of the saved datasource, read-only
 * — discovery sources with their state and per-cluster errors, and every cluster
 * (static and discovered) with a search box and pages of {@link PAGE_SIZE} rows.
 */
export function DiscoveredClusters({ uid, unsaved, load = loadFromGrafana }: Props) {
  const styles = useStyles2(getStyles);
  // Each load is keyed by the uid and the Refresh count; it is loading until the answer for the current key is in.
  const [refreshes, setRefreshes] = useState(0);
  const key = `${uid ?? ''}|${refreshes}`;
  const [result, setResult] = useState<{ key: string; data?: ClustersResponse; error?: string }>();
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);

  useEffect(() => {
    if (!uid) {
      return;
    }
    let live = true;
    load(uid).then(
      (data) => live && setResult({ key, data }),
      (err) => live && setResult({ key, error: errorMessage(err) })
    );
    return () => {
      live = false;
    };
  }, [uid, load, key]);
  const state = { loading: !!uid && result?.key !== key, data: result?.data, error: result?.error };

  const clusters = useMemo(() => [...(state.data?.clusters ?? [])].sort((a, b) => a.id.localeCompare(b.id)), [state.data]);
  const shown = useMemo(() => filterClusters(clusters, search), [clusters, search]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages);
  const rows = shown.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE);
  const sources = state.data?.sources ?? [];

  if (!uid) {
    return (
      <FieldSet label="Discovered clusters">
        <Text color="secondary" variant="bodySmall">
          Save the datasource first: the live cluster list comes from its resource API, which works once it is saved.
        </Text>
      </FieldSet>
    );
  }

  return (
    <FieldSet label="Discovered clusters">
      <Stack direction="column" gap={1}>
        <Stack direction="row" gap={1} alignItems="center">
          <Text color="secondary" variant="bodySmall">
            The live cluster set of the saved settings (static and discovered), read-only.
            {unsaved ? ' The settings above have unsaved changes: save to see their effect here.' : ''}
          </Text>
          <Button size="sm" variant="secondary" icon="sync" onClick={() => setRefreshes((n) => n + 1)} disabled={state.loading} aria-label="Refresh discovered clusters">
            Refresh
          </Button>
        </Stack>
        {state.error && (
          <Alert severity="error" title="Could not list the clusters">
            {state.error}
          </Alert>
        )}

        {sources.length > 0 && (
          <table className={styles.table} aria-label="Discovery sources">
            <thead>
              <tr>
                <th>Source</th>
                <th>Type</th>
                <th>Status</th>
                <th>Clusters</th>
                <th>Last refresh</th>
                <th>Last attempt</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {sources.map((s) => (
                <SourceRow key={s.name} source={s} />
              ))}
            </tbody>
          </table>
        )}

        {state.data && (
          <>
            <Stack direction="row" gap={1} alignItems="center">
              <FilterInput
                aria-label="Search clusters"
                placeholder="Search id, name, source, status or label (env=prod)"
                escapeRegex={false}
                width={50}
                value={search}
                onChange={(v) => {
                  setSearch(v);
                  setPage(1);
                }}
              />
              <Text color="secondary" variant="bodySmall" data-testid="fleetscope-discovered-count">
                {shown.length === clusters.length ? `${clusters.length} clusters` : `${shown.length} of ${clusters.length} clusters`}
              </Text>
            </Stack>
            <table className={styles.table} aria-label="Clusters">
              <thead>
                <tr>
                  <th>Id</th>
                  <th>Name</th>
                  <th>Source</th>
                  <th>Status</th>
                  <th>Labels</th>
                  <th>Last refresh</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((c) => (
                  <tr key={c.id}>
                    <td>{c.id}</td>
                    <td>{c.name}</td>
                    <td>{c.source ?? 'static'}</td>
                    <td>
                      <Badge color={statusColor(c.status)} text={c.enabled === false ? `${c.status ?? 'online'}, disabled` : c.status ?? 'online'} />
                    </td>
                    <td className={styles.labels}>
                      {Object.entries(c.labels ?? {})
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ')}
                    </td>
                    <td>{when(c.lastRefresh)}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={6}>
                      <Text color="secondary">{clusters.length ? 'No cluster matches the search.' : 'No clusters.'}</Text>
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
            <Pagination currentPage={current} numberOfPages={pages} onNavigate={setPage} hideWhenSinglePage />
          </>
        )}
      </Stack>
    </FieldSet>
  );
}

function SourceRow({ source: s }: { source: DiscoverySourceReport }) {
  const styles = useStyles2(getStyles);
  const skipped = s.clusterErrors ?? [];
  return (
    <>
      <tr>
        <td>{s.name}</td>
        <td>{s.type}</td>
        <td>
          <Badge color={statusColor(s.status)} text={s.status} />
        </td>
        <td>{s.clusters}</td>
        <td>{when(s.lastRefresh)}</td>
        <td>{when(s.lastAttempt)}</td>
        <td className={styles.error}>{s.error ?? ''}</td>
      </tr>
      {skipped.length > 0 && (
        <tr>
          <td colSpan={7}>
            <Text variant="bodySmall" color="warning">
              Skipped clusters of {s.name}:
            </Text>
            <ul className={styles.skipped} aria-label={`Skipped clusters of ${s.name}`}>
              {skipped.map((e) => (
                <li key={`${e.id}:${e.error}`}>
                  <code>{e.id}</code>: {e.error}
                </li>
              ))}
            </ul>
          </td>
        </tr>
      )}
    </>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    fontSize: theme.typography.bodySmall.fontSize,
    'th, td': {
      padding: theme.spacing(0.5, 1),
      borderBottom: `1px solid ${theme.colors.border.weak}`,
      textAlign: 'left',
      verticalAlign: 'top',
    },
    th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium },
  }),
  labels: css({ wordBreak: 'break-word' }),
  error: css({ color: theme.colors.error.text, wordBreak: 'break-word' }),
  skipped: css({ margin: 0, paddingLeft: theme.spacing(2) }),
});
