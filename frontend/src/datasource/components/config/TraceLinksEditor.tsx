import { Button, Field, FieldSet, InlineField, InlineFieldRow, InlineSwitch, Input, Stack, Text } from '@grafana/ui';

import { TagMapping, TraceMetricQuery, TracesToLogsSettings, TracesToMetricsSettings } from '../../../types';

const W = 22;

/** A signed duration like `-1m`, `30s`, `1h` (empty allowed). */
export function shiftError(v?: string): string | undefined {
  if (!v) {
    return undefined;
  }
  return /^[-+]?\d+(\.\d+)?(ms|s|m|h|d)$/.test(v.trim()) ? undefined : 'A duration such as -1m, 30s or 1h';
}

function TagsEditor({ label, tags, onChange }: { label: string; tags: TagMapping[]; onChange: (t: TagMapping[]) => void }) {
  const set = (i: number, patch: Partial<TagMapping>) => onChange(tags.map((t, j) => (j === i ? { ...t, ...patch } : t)));
  return (
    <Field label={label} description="Span or resource attribute → label name (empty = the attribute, dots become _)">
      <Stack direction="column" gap={0.5}>
        {tags.map((t, i) => (
          <InlineFieldRow key={i}>
            <InlineField label="Attribute" labelWidth={12}>
              <Input aria-label={`${label} attribute ${i + 1}`} width={28} placeholder="k8s.pod.name" value={t.key} onChange={(e) => set(i, { key: e.currentTarget.value })} />
            </InlineField>
            <InlineField label="as label">
              <Input
                aria-label={`${label} label ${i + 1}`}
                width={18}
                placeholder="pod"
                value={t.value ?? ''}
                onChange={(e) => set(i, { value: e.currentTarget.value || undefined })}
              />
            </InlineField>
            <Button variant="secondary" icon="trash-alt" aria-label={`Remove ${label} ${i + 1}`} onClick={() => onChange(tags.filter((_, j) => j !== i))} />
          </InlineFieldRow>
        ))}
        <div>
          <Button size="sm" variant="secondary" icon="plus" aria-label={`Add ${label} tag`} onClick={() => onChange([...tags, { key: '' }])}>
            Add tag
          </Button>
        </div>
      </Stack>
    </Field>
  );
}

function Shifts({ prefix, start, end, onChange }: { prefix: string; start?: string; end?: string; onChange: (p: { spanStartTimeShift?: string; spanEndTimeShift?: string }) => void }) {
  return (
    <InlineFieldRow>
      <InlineField label="Span start shift" labelWidth={W} tooltip="Window before the span, e.g. -1m" invalid={!!shiftError(start)} error={shiftError(start)}>
        <Input aria-label={`${prefix} span start shift`} width={12} placeholder="-1m" value={start ?? ''} onChange={(e) => onChange({ spanStartTimeShift: e.currentTarget.value || undefined })} />
      </InlineField>
      <InlineField label="Span end shift" tooltip="Window after the span, e.g. 1m" invalid={!!shiftError(end)} error={shiftError(end)}>
        <Input aria-label={`${prefix} span end shift`} width={12} placeholder="1m" value={end ?? ''} onChange={(e) => onChange({ spanEndTimeShift: e.currentTarget.value || undefined })} />
      </InlineField>
    </InlineFieldRow>
  );
}

/**
 * `jsonData.tracesToLogs` / `tracesToMetrics`: the span → logs and span →
 * metrics links of the trace view (docs/configuration.md). Empty target uid =
 * this datasource; links stay on the span's own cluster.
 */
export function TraceLinksEditor(props: {
  logs?: TracesToLogsSettings;
  metrics?: TracesToMetricsSettings;
  onChange: (patch: { tracesToLogs?: TracesToLogsSettings; tracesToMetrics?: TracesToMetricsSettings }) => void;
}) {
  const logs = props.logs ?? {};
  const metrics = props.metrics ?? {};
  const setLogs = (p: Partial<TracesToLogsSettings>) => props.onChange({ tracesToLogs: { ...logs, ...p } });
  const setMetrics = (p: Partial<TracesToMetricsSettings>) => props.onChange({ tracesToMetrics: { ...metrics, ...p } });
  const queries = metrics.queries ?? [];
  const setQuery = (i: number, p: Partial<TraceMetricQuery>) => setMetrics({ queries: queries.map((q, j) => (j === i ? { ...q, ...p } : q)) });

  return (
    <>
      <FieldSet label="Trace to logs">
        <Text color="secondary" variant="bodySmall">
          Each span of the trace view links to a logs query on the span&apos;s own cluster: a stream selector from the tags
          below (default k8s.namespace.name → namespace) and a line filter on the trace id.
        </Text>
        <InlineFieldRow>
          <InlineField label="Datasource uid" labelWidth={W} tooltip="Empty = this datasource (a logs query)">
            <Input aria-label="Trace to logs datasource uid" width={28} value={logs.datasourceUid ?? ''} onChange={(e) => setLogs({ datasourceUid: e.currentTarget.value || undefined })} />
          </InlineField>
        </InlineFieldRow>
        <TagsEditor label="Trace to logs tags" tags={logs.tags ?? []} onChange={(tags) => setLogs({ tags })} />
        <InlineFieldRow>
          <InlineField label="Filter by trace ID" labelWidth={W}>
            <InlineSwitch aria-label="Filter by trace ID" value={logs.filterByTraceId ?? true} onChange={(e) => setLogs({ filterByTraceId: e.currentTarget.checked })} />
          </InlineField>
          <InlineField label="Filter by span ID">
            <InlineSwitch aria-label="Filter by span ID" value={!!logs.filterBySpanId} onChange={(e) => setLogs({ filterBySpanId: e.currentTarget.checked })} />
          </InlineField>
        </InlineFieldRow>
        <Shifts prefix="Trace to logs" start={logs.spanStartTimeShift} end={logs.spanEndTimeShift} onChange={setLogs} />
        <InlineFieldRow>
          <InlineField label="Custom query" labelWidth={W} grow tooltip='Whole LogQL instead: ${__span.traceId}, ${__span.spanId}, ${__span.tags["k8s.pod.name"]}'>
            <Input
              aria-label="Trace to logs custom query"
              placeholder='{namespace="${__span.tags.namespace}"} |= "${__span.traceId}"'
              value={logs.customQuery ?? ''}
              onChange={(e) => setLogs({ customQuery: e.currentTarget.value || undefined })}
            />
          </InlineField>
        </InlineFieldRow>
      </FieldSet>

      <FieldSet label="Trace to metrics">
        <Text color="secondary" variant="bodySmall">
          PromQL queries a span links to; <code>$__tags</code> becomes the matchers from the tags below.
        </Text>
        <InlineFieldRow>
          <InlineField label="Datasource uid" labelWidth={W} tooltip="Empty = this datasource (a metrics query)">
            <Input
              aria-label="Trace to metrics datasource uid"
              width={28}
              value={metrics.datasourceUid ?? ''}
              onChange={(e) => setMetrics({ datasourceUid: e.currentTarget.value || undefined })}
            />
          </InlineField>
        </InlineFieldRow>
        <TagsEditor label="Trace to metrics tags" tags={metrics.tags ?? []} onChange={(tags) => setMetrics({ tags })} />
        <Shifts prefix="Trace to metrics" start={metrics.spanStartTimeShift} end={metrics.spanEndTimeShift} onChange={setMetrics} />
        {queries.map((q, i) => (
          <InlineFieldRow key={i}>
            <InlineField label="Link name" labelWidth={W}>
              <Input aria-label={`Trace to metrics query ${i + 1} name`} width={20} value={q.name} onChange={(e) => setQuery(i, { name: e.currentTarget.value })} />
            </InlineField>
            <InlineField label="Query" grow>
              <Input
                aria-label={`Trace to metrics query ${i + 1}`}
                placeholder="avg(DCGM_FI_DEV_GPU_UTIL{$__tags})"
                value={q.query}
                onChange={(e) => setQuery(i, { query: e.currentTarget.value })}
              />
            </InlineField>
            <InlineField label="Service" tooltip="Only spans of this service (empty = every span)">
              <Input aria-label={`Trace to metrics query ${i + 1} service`} width={18} value={q.service ?? ''} onChange={(e) => setQuery(i, { service: e.currentTarget.value || undefined })} />
            </InlineField>
            <Button variant="secondary" icon="trash-alt" aria-label={`Remove trace to metrics query ${i + 1}`} onClick={() => setMetrics({ queries: queries.filter((_, j) => j !== i) })} />
          </InlineFieldRow>
        ))}
        <Button icon="plus" variant="secondary" onClick={() => setMetrics({ queries: [...queries, { name: 'Request rate', query: 'sum(rate(http_server_request_count_total{$__tags}[5m]))' }] })}>
          Add query
        </Button>
      </FieldSet>
    </>
  );
}
