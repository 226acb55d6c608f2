import { css } from '@emotion/css';
import { GrafanaTheme2, PanelData, QueryEditorProps } from '@grafana/data';
import { Alert, InlineField, InlineFieldRow, RadioButtonGroup, Stack, useStyles2 } from '@grafana/ui';
import { ComponentType, useMemo } from 'react';

import { FleetscopeOptions, FleetscopeQuery, QueryType } from '../../types';
import type { FleetscopeDataSource } from '../datasource';
import { AlertsEditor } from './AlertsEditor';
import { ClusterPicker } from './ClusterPicker';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';
import { LogsEditor } from './LogsEditor';
import { MetricsEditor } from './MetricsEditor';
import { CnfEditor, GpuEditor, MacosEditor } from './ProbeEditors';
import { TracesEditor } from './TracesEditor';

export type Props = QueryEditorProps<FleetscopeDataSource, FleetscopeQuery, FleetscopeOptions>;

interface Kind {
  label: string;
  value: QueryType;
  description: string;
  editor: ComponentType<KindEditorProps>;
  /** Fields a fresh query of this kind starts with. */
  defaults: Partial<FleetscopeQuery>;
}

export const KINDS: Kind[] = [
  { label: 'Metrics', value: 'metrics', description: 'PromQL across clusters', editor: MetricsEditor, defaults: { expr: '', aggregate: 'merge' } },
  { label: 'Logs', value: 'logs', description: 'LogQL across clusters', editor: LogsEditor, defaults: { expr: '', direction: 'backward' } },
  { label: 'Traces', value: 'traces', description: 'TraceQL, trace by ID, analysis, service graph', editor: TracesEditor, defaults: { tracesView: 'search' } },
  { label: 'Alerts', value: 'alerts', description: 'Alertmanager alerts of every cluster', editor: AlertsEditor, defaults: { state: ['FIRING'] } },
  { label: 'GPU', value: 'gpu', description: 'nvidia-smi / DCGM GPU telemetry', editor: GpuEditor, defaults: { view: 'nodes', source: 'auto' } },
  { label: 'CNF', value: 'cnf', description: 'PTP, SR-IOV, DPDK, CNF workloads', editor: CnfEditor, defaults: { cnfView: 'workloads' } },
  { label: 'macOS', value: 'macos', description: 'Apple-Silicon power', editor: MacosEditor, defaults: { view: 'power' } },
];

/** Errors for this query, and warnings (per-cluster failures) the backend put on its frames. */
export function queryProblems(data: PanelData | undefined, refId: string): { errors: string[]; warnings: string[] } {
  if (!data) {
    return { errors: [], warnings: [] };
  }
  const errs = data.errors ?? [];
  const errors = errs
    .filter((e) => !e.refId || e.refId === refId)
    .map((e) => e.message || e.data?.message || 'query failed');
  const warnings = data.series
    .filter((f) => f.refId === refId)
    .flatMap((f) => f.meta?.notices ?? [])
    .filter((n) => n.severity === 'warning' || n.severity === 'error')
    .map((n) => n.text);
  return { errors: Array.from(new Set(errors)), warnings: Array.from(new Set(warnings)) };
}

export function QueryEditor({ datasource, query, onChange, onRunQuery, data, range }: Props) {
  const styles = useStyles2(getStyles);
  const queryType = query.queryType ?? 'metrics';
  const kind = KINDS.find((k) => k.value === queryType) ?? KINDS[0];
  const Editor = kind.editor;
  const { errors, warnings } = useMemo(() => queryProblems(data, query.refId), [data, query.refId]);

  const patch = (p: Partial<FleetscopeQuery>) => onChange({ ...query, ...p });
  const patchAndRun = (p: Partial<FleetscopeQuery>) => {
    onChange({ ...query, ...p });
    onRunQuery();
  };
  const switchKind = (value: QueryType) => {
    const next = KINDS.find((k) => k.value === value)!;
    // Keep what every kind shares (refId, datasource, clusters, hide); start the rest fresh.
    const { refId, datasource: ds, clusters, hide, key } = query;
    onChange({ refId, datasource: ds, clusters, hide, key, queryType: value, ...next.defaults });
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<QueryType>
            options={KINDS.map(({ label, value, description }) => ({ label, value, description }))}
            value={queryType}
            onChange={switchKind}
            size="sm"
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <ClusterPicker
          datasource={datasource}
          value={query.clusters}
          labelWidth={LABEL_WIDTH}
          onChange={(clusters) => patchAndRun({ clusters })}
        />
      </InlineFieldRow>
      <Editor
        datasource={datasource}
        query={query}
        onChange={patch}
        onChangeAndRun={patchAndRun}
        onRunQuery={onRunQuery}
        range={range}
      />
      {errors.map((e) => (
        <Alert key={e} severity="error" title="Query failed" className={styles.alert} data-testid="fleetscope-query-error">
          {e}
        </Alert>
      ))}
      {warnings.length > 0 && (
        <Alert severity="warning" title="Partial results" className={styles.alert} data-testid="fleetscope-query-warning">
          <ul className={styles.list}>
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Alert>
      )}
    </Stack>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  alert: css({ marginBottom: 0, marginTop: theme.spacing(0.5) }),
  list: css({ margin: 0, paddingLeft: theme.spacing(2) }),
});
