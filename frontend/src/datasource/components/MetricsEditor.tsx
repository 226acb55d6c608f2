import { InlineField, InlineFieldRow, InlineSwitch, Input, RadioButtonGroup, Stack } from '@grafana/ui';

import { Aggregate, FleetscopeQuery, MetricsSource } from '../../types';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';
import { QueryTextRow } from './fields';
import { StoreMetricsEditor } from './StoreMetricsEditor';

const SOURCES: Array<{ label: string; value: MetricsSource; description: string }> = [
  { label: 'Prometheus', value: 'prometheus', description: 'PromQL on each cluster’s Prometheus' },
  { label: 'ClickHouse', value: 'clickhouse', description: 'The long-term store: a metric, filters, a function, grouping' },
];

const AGGREGATES: Array<{ label: string; value: Aggregate; description: string }> = [
  { label: 'Merge', value: 'merge', description: 'Every series of every cluster, labelled with its cluster' },
  { label: 'Sum', value: 'sum', description: 'Add identical series across clusters' },
  { label: 'Avg', value: 'avg', description: 'Average identical series across clusters' },
  { label: 'Min', value: 'min', description: 'Minimum of identical series across clusters' },
  { label: 'Max', value: 'max', description: 'Maximum of identical series across clusters' },
];

type QueryKind = 'range' | 'instant' | 'both';
const QUERY_KINDS: Array<{ label: string; value: QueryKind }> = [
  { label: 'Range', value: 'range' },
  { label: 'Instant', value: 'instant' },
  { label: 'Both', value: 'both' },
];

function queryKindOf(q: FleetscopeQuery): QueryKind {
  const instant = !!q.instant;
  const range = q.range ?? !instant;
  return instant && range ? 'both' : instant ? 'instant' : 'range';
}

export function MetricsEditor(props: KindEditorProps) {
  const { query, onChange, onChangeAndRun, onRunQuery } = props;
  const store = query.source === 'clickhouse';
  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField label="Source" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<MetricsSource>
            options={SOURCES}
            value={store ? 'clickhouse' : 'prometheus'}
            onChange={(source) => onChangeAndRun({ source: source === 'clickhouse' ? source : undefined })}
            size="sm"
          />
        </InlineField>
      </InlineFieldRow>
      {store ? (
        <StoreMetricsEditor {...props} />
      ) : (
        <QueryTextRow editor={props} language="promql" placeholder="sum by (team) (rate(http_requests_total[$__rate_interval]))" />
      )}
      <InlineFieldRow>
        <InlineField
          label="Aggregate"
          labelWidth={LABEL_WIDTH}
          tooltip="How series from different clusters combine. Merge keeps them apart with a cluster label."
        >
          <RadioButtonGroup<Aggregate>
            options={AGGREGATES}
            value={query.aggregate ?? 'merge'}
            onChange={(aggregate) => onChangeAndRun({ aggregate })}
            size="sm"
          />
        </InlineField>
        {!store && (
          <InlineField label="Type" tooltip="Range → time series; instant → one value per series.">
            <RadioButtonGroup<QueryKind>
              options={QUERY_KINDS}
              value={queryKindOf(query)}
              onChange={(k) => onChangeAndRun({ instant: k !== 'range', range: k !== 'instant' })}
              size="sm"
            />
          </InlineField>
        )}
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Legend"
          labelWidth={LABEL_WIDTH}
          tooltip="{{label}} templates, e.g. {{cluster}} {{service}}. Empty = Grafana's default naming."
        >
          <Input
            aria-label="Legend format"
            width={30}
            placeholder="{{cluster}}"
            value={query.legendFormat ?? ''}
            onChange={(e) => onChange({ legendFormat: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="Min step" tooltip="30s, 1m or seconds. The effective step is never below the panel interval.">
          <Input
            aria-label="Min step"
            width={12}
            placeholder="auto"
            value={query.step ?? ''}
            onChange={(e) => onChange({ step: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
        {!store && (
          <InlineField label="Exemplars" tooltip="Ask every cluster's Prometheus for exemplars; their trace IDs open the trace in this datasource.">
            <InlineSwitch aria-label="Exemplars" value={!!query.exemplars} onChange={(e) => onChangeAndRun({ exemplars: e.currentTarget.checked })} />
          </InlineField>
        )}
      </InlineFieldRow>
    </Stack>
  );
}
