import { Field, InlineField, InlineFieldRow, Input, RadioButtonGroup, Stack, Text } from '@grafana/ui';
import { ChangeEvent } from 'react';

import { FleetscopeQuery, TracesView } from '../../types';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';
import { LimitField, QueryTextRow } from './fields';

const VIEWS: Array<{ label: string; value: TracesView; description: string }> = [
  { label: 'Search', value: 'search', description: 'TraceQL or criteria across every cluster’s Tempo' },
  { label: 'Trace ID', value: 'trace', description: 'One trace, its spans merged from every cluster' },
  { label: 'Analysis', value: 'analysis', description: 'Critical path and self time of one trace' },
  { label: 'Service graph', value: 'serviceGraph', description: 'Services and calls seen in the search window' },
];

type TextField = 'service' | 'operation' | 'minDuration' | 'maxDuration' | 'tags' | 'traceId';

export function TracesEditor(props: KindEditorProps) {
  const { query, onChange, onChangeAndRun, onRunQuery } = props;
  const view = query.tracesView ?? 'search';
  const text = (field: TextField) => ({
    value: query[field] ?? '',
    onChange: (e: ChangeEvent<HTMLInputElement>) => onChange({ [field]: e.currentTarget.value } as Partial<FleetscopeQuery>),
    onBlur: onRunQuery,
  });
  const usesCriteria = view === 'search' && !query.query?.trim();

  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField label="View" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<TracesView>
            options={VIEWS}
            value={view}
            onChange={(tracesView) => onChangeAndRun({ tracesView })}
            size="sm"
          />
        </InlineField>
      </InlineFieldRow>

      {(view === 'trace' || view === 'analysis') && (
        <InlineFieldRow>
          <InlineField label="Trace ID" labelWidth={LABEL_WIDTH} required>
            <Input aria-label="Trace ID" width={48} placeholder="2f3e0cee77ae5dc9c17ade3689eb2e54" {...text('traceId')} />
          </InlineField>
        </InlineFieldRow>
      )}

      {(view === 'search' || view === 'serviceGraph') && (
        <>
          <QueryTextRow
            editor={props}
            language="traceql"
            placeholder='{ resource.service.name = "gateway" && duration > 2s }'
            tooltip="When set, the criteria below are ignored."
          />
          {view === 'search' && (
            <Field
              label={<Text color="secondary" variant="bodySmall">{usesCriteria ? 'Search criteria' : 'Search criteria (ignored: TraceQL is set)'}</Text>}
            >
              <Stack direction="column" gap={0}>
                <InlineFieldRow>
                  <InlineField label="Service" labelWidth={LABEL_WIDTH} disabled={!usesCriteria}>
                    <Input aria-label="Service" width={24} placeholder="order-service" {...text('service')} />
                  </InlineField>
                  <InlineField label="Operation" disabled={!usesCriteria}>
                    <Input aria-label="Operation" width={24} placeholder="POST /orders" {...text('operation')} />
                  </InlineField>
                </InlineFieldRow>
                <InlineFieldRow>
                  <InlineField label="Min duration" labelWidth={LABEL_WIDTH} disabled={!usesCriteria}>
                    <Input aria-label="Min duration" width={12} placeholder="100ms" {...text('minDuration')} />
                  </InlineField>
                  <InlineField label="Max duration" disabled={!usesCriteria}>
                    <Input aria-label="Max duration" width={12} placeholder="5s" {...text('maxDuration')} />
                  </InlineField>
                  <InlineField label="Tags" grow disabled={!usesCriteria} tooltip="logfmt: http.status_code=500 team=quant">
                    <Input aria-label="Tags" placeholder="http.status_code=500" {...text('tags')} />
                  </InlineField>
                </InlineFieldRow>
              </Stack>
            </Field>
          )}
          <InlineFieldRow>
            <LimitField editor={props} ariaLabel="Trace limit" placeholder="20" tooltip="Traces across all clusters." />
          </InlineFieldRow>
        </>
      )}
    </Stack>
  );
}
