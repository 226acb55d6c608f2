import { InlineField, InlineFieldRow, InlineSwitch, Input, MultiCombobox, Stack } from '@grafana/ui';

import { useId } from 'react';

import { AlertState } from '../../types';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';

const STATES: Array<{ label: string; value: AlertState }> = [
  { label: 'Firing', value: 'FIRING' },
  { label: 'Pending', value: 'PENDING' },
  { label: 'Resolved', value: 'RESOLVED' },
  { label: 'Suppressed', value: 'SUPPRESSED' },
];

const SEVERITIES = ['CRITICAL', 'WARNING', 'INFO'].map((s) => ({ label: s.toLowerCase(), value: s }));

export function AlertsEditor({ query, onChange, onChangeAndRun, onRunQuery }: KindEditorProps) {
  const stateId = useId();
  const severityId = useId();
  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField label="State" htmlFor={stateId} labelWidth={LABEL_WIDTH} tooltip="None selected = every state.">
          <MultiCombobox<string>
            id={stateId}
            placeholder="Any state"
            options={STATES}
            value={query.state ?? []}
            width="auto"
            minWidth={20}
            onChange={(opts) => onChangeAndRun({ state: opts.map((o) => o.value as AlertState) })}
          />
        </InlineField>
        <InlineField label="Severity" htmlFor={severityId} tooltip="None selected = every severity. Other values can be typed.">
          <MultiCombobox<string>
            id={severityId}
            placeholder="Any severity"
            options={SEVERITIES}
            value={query.severity ?? []}
            createCustomValue
            width="auto"
            minWidth={20}
            onChange={(opts) => onChangeAndRun({ severity: opts.map((o) => o.value.toUpperCase()) })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Matchers"
          labelWidth={LABEL_WIDTH}
          grow
          tooltip='Alertmanager matchers, e.g. alertname=~"GPU.*", namespace="llm"'
        >
          <Input
            aria-label="Alert matchers"
            placeholder='alertname=~"GPU.*", team="quant"'
            value={query.matchers ?? ''}
            onChange={(e) => onChange({ matchers: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="History" tooltip="Every fired/resolved transition in the time range, not only current alerts.">
          <InlineSwitch
            aria-label="Alert history"
            value={!!query.history}
            onChange={(e) => onChangeAndRun({ history: e.currentTarget.checked })}
          />
        </InlineField>
      </InlineFieldRow>
    </Stack>
  );
}
