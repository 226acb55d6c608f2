import { css } from '@emotion/css';
import { GrafanaTheme2, PanelData, QueryEditorProps } from '@grafana/data';
import { Alert, InlineField, InlineFieldRow, RadioButtonGroup, Stack, useStyles2 } from '@grafana/ui';
import { useMemo } from 'react';

import { FleetscopeOptions, FleetscopeQuery, QueryType } from '../../types';
import type { FleetscopeDataSource } from '../datasource';
import { KINDS, KIND_LIST, freshQuery, queryTypeOf } from '../kinds';
import { ClusterPicker } from './ClusterPicker';
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

export function QueryEditor({ datasource, query, onChange, onRunQuery, data, range }: Props) {
  const styles = useStyles2(getStyles);
  const queryType = queryTypeOf(query);
  const Editor = KINDS[queryType].editor;
  const { errors, warnings } = useMemo(() => queryProblems(data, query.refId), [data, query.refId]);

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
