import { QueryEditorProps } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, Stack, Text } from '@grafana/ui';
import { useState } from 'react';

import { FleetscopeOptions, FleetscopeQuery, FleetscopeVariableQuery } from '../../types';
import type { FleetscopeDataSource } from '../datasource';
import { VARIABLE_FUNCTION_EXAMPLES, normaliseVariableQuery, parseVariableQuery } from '../variableQuery';
import { ClusterPicker } from './ClusterPicker';

type Props = QueryEditorProps<FleetscopeDataSource, FleetscopeQuery, FleetscopeOptions, FleetscopeVariableQuery>;

function problem(text: string): string | undefined {
  if (!text.trim()) {
    return undefined;
  }
  try {
    parseVariableQuery(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Variable query: one function call, plus the clusters to ask. */
export function VariableQueryEditor({ datasource, query: stored, onChange }: Props) {
  const query = normaliseVariableQuery(stored as FleetscopeVariableQuery | string);
  const [text, setText] = useState(query.query);
  const error = problem(text);
  const commit = (next: string) => {
    if (!problem(next)) {
      onChange({ ...query, query: next });
    }
  };
  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField label="Query" labelWidth={14} grow invalid={!!error} error={error}>
          <Input
            aria-label="Variable query"
            placeholder="label_values(up, job)"
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            onBlur={() => commit(text)}
            onKeyDown={(e) => e.key === 'Enter' && commit(text)}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <ClusterPicker
          datasource={datasource}
          value={query.clusters}
          onChange={(clusters) => onChange({ ...query, query: text, clusters })}
        />
      </InlineFieldRow>
      <Text color="secondary" variant="bodySmall">
        Functions: {VARIABLE_FUNCTION_EXAMPLES.join(' · ')}
      </Text>
      <Text color="secondary" variant="bodySmall">
        label_names, label_values and gpu_nodes take a last argument clusters(&lt;selector&gt;), e.g.{' '}
        {'label_values(job, clusters(env="prod",region=~"eu-.*"))'}: only the clusters the selector matches are asked
        (with clusters picked below, those it matches).
      </Text>
    </Stack>
  );
}
