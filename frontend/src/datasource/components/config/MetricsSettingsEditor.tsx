import { Button, FieldSet, InlineField, InlineFieldRow, Input, RadioButtonGroup, Stack, Text } from '@grafana/ui';

import { ExemplarTraceIdDestination, FleetscopeOptions } from '../../../types';
import { linkUrlError, timeIntervalError } from './validation';

const W = 22;

type Patch = Pick<FleetscopeOptions, 'timeInterval' | 'exemplarTraceIdDestinations'>;
type LinkKind = 'datasource' | 'url';

/** Why an exemplar link would not work, naming the field; undefined when it does. */
export function exemplarLinkError(d: ExemplarTraceIdDestination): { name?: string; target?: string } {
  return {
    name: d.name.trim() ? undefined : 'The exemplar label holding the trace ID is required',
    target: d.datasourceUid?.trim() ? undefined : d.url?.trim() ? linkUrlError(d.url) : 'Set a datasource uid or a URL',
  };
}

/** A scrape interval (`jsonData.timeInterval` or a cluster's); empty = unset. */
export function ScrapeIntervalField(props: {
  label: string;
  labelWidth?: number;
  tooltip: string;
  placeholder: string;
  value?: string;
  onChange: (value: string | undefined) => void;
}) {
  const err = timeIntervalError(props.value);
  return (
    <InlineField label="Scrape interval" labelWidth={props.labelWidth} tooltip={props.tooltip} invalid={!!err} error={err}>
      <Input
        aria-label={props.label}
        width={12}
        placeholder={props.placeholder}
        value={props.value ?? ''}
        onChange={(e) => props.onChange(e.currentTarget.value.trim() || undefined)}
      />
    </InlineField>
  );
}

/**
 * The metrics settings of Grafana's Prometheus datasource that apply to every
 * cluster: the scrape interval (`jsonData.timeInterval`, min step and
 * `$__rate_interval` base; a cluster may override it) and where exemplar trace
 * IDs link (`jsonData.exemplarTraceIdDestinations`).
 */
export function MetricsSettingsEditor(props: { jsonData: FleetscopeOptions; ownUid: string; onChange: (patch: Patch) => void }) {
  const { jsonData, ownUid, onChange } = props;
  const links = jsonData.exemplarTraceIdDestinations ?? [];
  const setLink = (i: number, next: ExemplarTraceIdDestination) =>
    onChange({ exemplarTraceIdDestinations: links.map((d, j) => (j === i ? next : d)) });

  return (
    <>
      <FieldSet label="Metrics">
        <InlineFieldRow>
          <ScrapeIntervalField
            label="Scrape interval"
            labelWidth={W}
            tooltip="The clusters' Prometheus scrape interval: the smallest step of a metrics query and the base of $__rate_interval (Grafana's Prometheus setting). A cluster can set its own; a query over several clusters uses the largest. Default 15s."
            placeholder="15s"
            value={jsonData.timeInterval}
            onChange={(timeInterval) => onChange({ timeInterval })}
          />
        </InlineFieldRow>
      </FieldSet>

      <FieldSet label="Exemplars">
        <Text color="secondary" variant="bodySmall">
          Where the trace ID of an exemplar links. None configured: the labels trace_id, traceID and traceId open the
          trace in this datasource, on the exemplar&apos;s cluster.
        </Text>
        <Stack direction="column" gap={0.5}>
          {links.map((d, i) => {
            const kind: LinkKind = d.datasourceUid !== undefined || d.url === undefined ? 'datasource' : 'url';
            const err = exemplarLinkError(d);
            const n = i + 1;
            return (
              <InlineFieldRow key={i}>
                <InlineField label="Label name" labelWidth={W} invalid={!!err.name} error={err.name} tooltip="The exemplar label holding the trace ID">
                  <Input aria-label={`Exemplar link ${n} label name`} width={16} placeholder="trace_id" value={d.name} onChange={(e) => setLink(i, { ...d, name: e.currentTarget.value })} />
                </InlineField>
                <InlineField label="Link to">
                  <RadioButtonGroup<LinkKind>
                    size="sm"
                    options={[
                      { label: 'Datasource', value: 'datasource', description: 'Open the trace in a tracing datasource' },
                      { label: 'URL', value: 'url', description: 'An external link' },
                    ]}
                    value={kind}
                    onChange={(k) =>
                      setLink(i, k === 'datasource' ? { ...d, url: undefined, datasourceUid: ownUid } : { ...d, datasourceUid: undefined, url: d.url ?? '' })
                    }
                  />
                </InlineField>
                {kind === 'datasource' ? (
                  <InlineField label="Datasource uid" invalid={!!err.target} error={err.target} tooltip={`This datasource (${ownUid}) opens its own trace view; another uid gets a TraceQL query of the trace ID`}>
                    <Input aria-label={`Exemplar link ${n} datasource uid`} width={20} placeholder={ownUid} value={d.datasourceUid ?? ''} onChange={(e) => setLink(i, { ...d, datasourceUid: e.currentTarget.value })} />
                  </InlineField>
                ) : (
                  <InlineField label="URL" invalid={!!err.target} error={err.target} tooltip="${__value.raw} is the trace ID">
                    <Input aria-label={`Exemplar link ${n} URL`} width={36} placeholder="https://tracing.example/trace/${__value.raw}" value={d.url ?? ''} onChange={(e) => setLink(i, { ...d, url: e.currentTarget.value })} />
                  </InlineField>
                )}
                <InlineField label="Link title">
                  <Input
                    aria-label={`Exemplar link ${n} title`}
                    width={16}
                    placeholder="View trace"
                    value={d.urlDisplayLabel ?? ''}
                    onChange={(e) => setLink(i, { ...d, urlDisplayLabel: e.currentTarget.value || undefined })}
                  />
                </InlineField>
                <Button variant="secondary" icon="trash-alt" aria-label={`Remove exemplar link ${n}`} onClick={() => onChange({ exemplarTraceIdDestinations: links.filter((_, j) => j !== i) })} />
              </InlineFieldRow>
            );
          })}
          <div>
            <Button icon="plus" variant="secondary" onClick={() => onChange({ exemplarTraceIdDestinations: [...links, { name: 'trace_id', datasourceUid: ownUid }] })}>
              Add exemplar link
            </Button>
          </div>
        </Stack>
      </FieldSet>
    </>
  );
}
