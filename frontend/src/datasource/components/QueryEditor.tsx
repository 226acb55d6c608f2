import { css } from '@emotion/css';
import { GrafanaTheme2, PanelData, QueryEditorProps } from '@grafana/data';
import { Alert, InlineField, InlineFieldRow, RadioButtonGroup, Stack, Text, useStyles2 } from '@grafana/ui';
import { useMemo } from 'react';

import { FleetscopeOptions, FleetscopeQuery, QueryType } from '../../types';
import type { FleetscopeDataSource } from '../datasource';
import { KINDS, KIND_LIST, freshQuery, queryTypeOf } from '../kinds';
import { ClusterPicker } from './ClusterPicker';
import { ClusterSelectorField, useSelectorPreview } from './ClusterSelectorField';
import { LABEL_WIDTH } from './editorProps';

export type Props = QueryEditorProps<FleetscopeDataSource, FleetscopeQuery, FleetscopeOptions>;

const KIND_OPTIONS = KIND_LIST.map(({ label, value, description }) => ({ label, value, description }));

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

/** How the backend resolved the query's `clusterSelector` on its last run (`meta.custom.clusterSelector` of its frames). */
export function selectorResolution(data: PanelData | undefined, refId: string): { selector: string; matched: string[] } | undefined {
  for (const f of data?.series ?? []) {
    const note = (f.meta?.custom as { clusterSelector?: { selector?: string; matched?: string[] } } | undefined)?.clusterSelector;
    if (f.refId === refId && note && Array.isArray(note.matched)) {
      return { selector: note.selector ?? '', matched: note.matched };
    }
  }
  return undefined;
}

export function QueryEditor({ datasource, query, onChange, onRunQuery, data, range }: Props) {
  const styles = useStyles2(getStyles);
  const queryType = queryTypeOf(query);
  const Editor = KINDS[queryType].editor;
  const { errors, warnings } = useMemo(() => queryProblems(data, query.refId), [data, query.refId]);
  const preview = useSelectorPreview(datasource, query.clusterSelector);
  const matching = useMemo(() => (preview.matched ? new Set(preview.matched.map((c) => c.id)) : undefined), [preview.matched]);
  const lastRun = useMemo(() => selectorResolution(data, query.refId), [data, query.refId]);
  // Judged on the current selector's answer only, not on the last one's while a new one is on its way.
  const outside = matching && !preview.loading ? (query.clusters ?? []).filter((c) => !c.startsWith('$') && !matching.has(c)) : [];

  const patch = (p: Partial<FleetscopeQuery>) => onChange({ ...query, ...p });
  const patchAndRun = (p: Partial<FleetscopeQuery>) => {
    onChange({ ...query, ...p });
    onRunQuery();
  };
  const switchKind = (value: QueryType) => {
    onChange(freshQuery(value, query));
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<QueryType>
            options={KIND_OPTIONS}
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
          matching={matching}
          onChange={(clusters) => patchAndRun({ clusters })}
        />
        <ClusterSelectorField
          datasource={datasource}
          value={query.clusterSelector}
          preview={preview}
          onChange={(clusterSelector) => patch({ clusterSelector })}
          onCommit={onRunQuery}
        />
      </InlineFieldRow>
      {lastRun && (
        <Text color="secondary" variant="bodySmall" data-testid="fleetscope-selector-last-run">
          Last run: {lastRun.selector} matched {lastRun.matched.length} cluster{lastRun.matched.length === 1 ? '' : 's'} ({lastRun.matched.join(', ')})
        </Text>
      )}
      {outside.length > 0 && (
        <Alert severity="warning" title="Picked clusters outside the cluster selector" className={styles.alert} data-testid="fleetscope-selector-outside">
          {outside.join(', ')}: the selector does not match {outside.length === 1 ? 'it' : 'them'}, and with both set the query
          is refused. Remove {outside.length === 1 ? 'it' : 'them'} or widen the selector.
        </Alert>
      )}
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
