import { InlineField, InlineFieldRow, Input, RadioButtonGroup, Stack } from '@grafana/ui';

import { LogDirection } from '../../types';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';
import { QueryField } from './QueryField';
import { useCompletionData } from './useCompletionData';

const DIRECTIONS: Array<{ label: string; value: LogDirection }> = [
  { label: 'Newest first', value: 'backward' },
  { label: 'Oldest first', value: 'forward' },
];

export function LogsEditor(props: KindEditorProps) {
  const { query, onChange, onChangeAndRun, onRunQuery } = props;
  const data = useCompletionData(props);
  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField label="LogQL" labelWidth={LABEL_WIDTH} grow>
          <QueryField
            language="logql"
            aria-label="LogQL query"
            placeholder='{app="gateway"} |= "error"  — Shift+Enter to run'
            value={query.expr ?? ''}
            data={data}
            onChange={(expr) => onChange({ expr })}
            onRunQuery={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Limit" labelWidth={LABEL_WIDTH} tooltip="Lines across all clusters, not per cluster.">
          <Input
            aria-label="Line limit"
            type="number"
            min={1}
            width={12}
            placeholder="1000"
            value={query.limit ?? ''}
            onChange={(e) => {
              const n = parseInt(e.currentTarget.value, 10);
              onChange({ limit: Number.isFinite(n) && n > 0 ? n : undefined });
            }}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="Direction">
          <RadioButtonGroup<LogDirection>
            options={DIRECTIONS}
            value={query.direction ?? 'backward'}
            onChange={(direction) => onChangeAndRun({ direction })}
            size="sm"
          />
        </InlineField>
      </InlineFieldRow>
    </Stack>
  );
}
