import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { useState } from 'react';
import { Button, Divider, Field, FieldSet, InlineField, InlineFieldRow, Input, Stack, Text } from '@grafana/ui';

import { CacheSettings, ClusterConfig, DerivedField, FleetscopeOptions, QuerySettings } from '../../types';
import { ClusterEditor } from './config/ClusterEditor';
import { ClustersLoader, DiscoveredClusters } from './config/DiscoveredClusters';
import { DiscoverySourcesEditor } from './config/DiscoverySourcesEditor';
import { useRowKeys } from './config/rowKeys';
import { MetricsSettingsEditor } from './config/MetricsSettingsEditor';
import { TraceLinksEditor } from './config/TraceLinksEditor';
import { Settings, clusterSecretKeys, renameClusterSecrets, resetSecrets } from './config/secrets';
import { regexError, urlError } from './config/validation';

export type Props = DataSourcePluginOptionsEditorProps<FleetscopeOptions, Record<string, string>> & {
  /** Tests: how "Discovered clusters" asks the saved datasource (default: Grafana's resource proxy). */
  loadClusters?: ClustersLoader;
};

const W = 26;

interface NumberSpec<T> {
  key: keyof T & string;
  label: string;
  placeholder: string;
  tooltip?: string;
}

const QUERY_FIELDS: Array<NumberSpec<QuerySettings>> = [
  { key: 'timeoutSeconds', label: 'Timeout (s)', placeholder: '30', tooltip: 'Per cluster, whole request including retries' },
  { key: 'maxTimeoutSeconds', label: 'Max timeout (s)', placeholder: '300' },
  { key: 'maxParallel', label: 'Max parallel clusters', placeholder: '10', tooltip: 'Clusters queried at once' },
  { key: 'retryAttempts', label: 'Retry attempts', placeholder: '3', tooltip: 'Attempts in total, idempotent reads only' },
  { key: 'retryDelaySeconds', label: 'Retry delay (s)', placeholder: '1', tooltip: 'First backoff; doubles, with jitter' },
  { key: 'maxResponseBytes', label: 'Max response bytes', placeholder: '67108864', tooltip: 'Upstream body cap per request' },
];

const CACHE_FIELDS: Array<NumberSpec<CacheSettings>> = [
  { key: 'instantTtlSeconds', label: 'Instant query TTL (s)', placeholder: '30' },
  { key: 'rangeTtlSeconds', label: 'Range query TTL (s)', placeholder: '300' },
  { key: 'labelsTtlSeconds', label: 'Labels TTL (s)', placeholder: '300' },
];

function NumberInputs<T extends object>({ specs, value, onChange }: { specs: Array<NumberSpec<T>>; value: T | undefined; onChange: (v: T) => void }) {
  return (
    <>
      {specs.map((s) => (
        <InlineFieldRow key={s.key}>
          <InlineField label={s.label} labelWidth={W} tooltip={s.tooltip}>
            <Input
              aria-label={s.label}
              type="number"
              min={0}
              width={16}
              placeholder={s.placeholder}
              value={(value?.[s.key] as number | undefined) ?? ''}
              onChange={(e) => {
                const n = Number(e.currentTarget.value);
                const next = { ...(value ?? {}) } as Record<string, unknown>;
                if (e.currentTarget.value === '' || !Number.isFinite(n)) {
                  delete next[s.key];
                } else {
                  next[s.key] = n;
                }
                onChange(next as T);
              }}
            />
          </InlineField>
        </InlineFieldRow>
      ))}
    </>
  );
}

function newClusterId(clusters: ClusterConfig[]): string {
  for (let i = clusters.length + 1; ; i++) {
    const id = `cluster-${i}`;
    if (!clusters.some((c) => c.id === id)) {
      return id;
    }
  }
}

/** What decides the cluster set: when it differs from the settings the editor opened with, the live list is of the saved ones. */
const clusterSettings = (o: Settings) => JSON.stringify([o.jsonData?.clusters ?? [], o.jsonData?.discovery ?? []]);

/**
 * The datasource settings: the cluster registry and discovery sources (with the
 * live cluster set, read-only), scrape interval and exemplar links, query
 * limits, cache, derived fields, trace links.
 */
export function ConfigEditor({ options, onOptionsChange, loadClusters }: Props) {
  const [opened] = useState(() => clusterSettings(options));
  const jsonData = options.jsonData ?? {};
  const clusters = jsonData.clusters ?? [];
  const rows = useRowKeys(clusters.length);
  const derived = jsonData.derivedFields ?? [];
  const setJson = (patch: Partial<FleetscopeOptions>, base: Settings = options) =>
    onOptionsChange({ ...base, jsonData: { ...base.jsonData, ...patch } });

  const updateCluster = (index: number, cluster: ClusterConfig, renamedFrom?: string) => {
    const base = renamedFrom ? renameClusterSecrets(options, renamedFrom, cluster.id) : options;
    setJson({ clusters: clusters.map((c, i) => (i === index ? cluster : c)) }, base);
  };
  const removeCluster = (index: number) => {
    const base = resetSecrets(options, clusterSecretKeys(options, clusters[index].id));
    rows.removed(index);
    setJson({ clusters: clusters.filter((_, i) => i !== index) }, base);
  };
  const addCluster = () => {
    const id = newClusterId(clusters);
    rows.added();
    setJson({ clusters: [...clusters, { id, name: id, enabled: true, prometheus: { url: '', kind: 'prometheus' } }] });
  };
  const setDerived = (index: number, patch: Partial<DerivedField>) =>
    setJson({ derivedFields: derived.map((d, i) => (i === index ? { ...d, ...patch } : d)) });

  return (
    <Stack direction="column" gap={2}>
      <FieldSet label={`Clusters (${clusters.length})`}>
        <Text color="secondary" variant="bodySmall">
          Every query fans out to the enabled clusters below. Save &amp; test checks each one and lists the result per
          cluster.
        </Text>
        <div style={{ marginTop: 8 }}>
          {clusters.map((c, i) => (
            <ClusterEditor
              // A key of the row, not of the id (being edited) nor of the index (shifted by a removal).
              key={rows.keys[i]}
              options={options}
              onOptionsChange={onOptionsChange}
              cluster={c}
              index={i}
              all={clusters}
              defaultOpen={clusters.length === 1}
              onChange={(next, renamedFrom) => updateCluster(i, next, renamedFrom)}
              onRemove={() => removeCluster(i)}
            />
          ))}
        </div>
        <Button icon="plus" variant="secondary" onClick={addCluster}>
          Add cluster
        </Button>
      </FieldSet>

      <DiscoverySourcesEditor options={options} onOptionsChange={onOptionsChange} />
      <DiscoveredClusters uid={options.uid || undefined} unsaved={clusterSettings(options) !== opened} load={loadClusters} />

      <Divider />
      <MetricsSettingsEditor jsonData={jsonData} ownUid={options.uid} onChange={(patch) => setJson(patch)} />

      <FieldSet label="Query limits">
        <NumberInputs<QuerySettings> specs={QUERY_FIELDS} value={jsonData.query} onChange={(query) => setJson({ query })} />
      </FieldSet>

      <FieldSet label="Cache">
        <InlineFieldRow>
          <InlineField
            label="Redis URL"
            labelWidth={W}
            tooltip="Optional. Shared cache (and alert state) for several Grafana replicas; the embedded cache is used otherwise."
            invalid={!!redisError(jsonData.cache?.redisUrl)}
            error={redisError(jsonData.cache?.redisUrl)}
          >
            <Input
              aria-label="Redis URL"
              width={40}
              placeholder="redis://127.0.0.1:6379/0"
              value={jsonData.cache?.redisUrl ?? ''}
              onChange={(e) => setJson({ cache: { ...jsonData.cache, redisUrl: e.currentTarget.value || undefined } })}
            />
          </InlineField>
        </InlineFieldRow>
        <NumberInputs<CacheSettings> specs={CACHE_FIELDS} value={jsonData.cache} onChange={(cache) => setJson({ cache })} />
      </FieldSet>

      <FieldSet label="Derived fields">
        <Text color="secondary" variant="bodySmall">
          Regexes that find trace ids in log lines. Without a URL the match links to a trace query of this datasource (or
          of the datasource uid given).
        </Text>
        {derived.map((d, i) => {
          const reErr = regexError(d.matcherRegex);
          const uErr = d.url && !d.url.includes('${__value') ? urlError(d.url) : undefined;
          return (
            <Field key={i} label={`Derived field ${i + 1}`} style={{ marginTop: 8 }}>
              <InlineFieldRow>
                <InlineField label="Name" labelWidth={10}>
                  <Input aria-label="Derived field name" width={16} value={d.name} onChange={(e) => setDerived(i, { name: e.currentTarget.value })} />
                </InlineField>
                <InlineField label="Regex" invalid={!!reErr} error={reErr}>
                  <Input
                    aria-label="Derived field regex"
                    width={30}
                    placeholder="traceID=(\w+)"
                    value={d.matcherRegex}
                    onChange={(e) => setDerived(i, { matcherRegex: e.currentTarget.value })}
                  />
                </InlineField>
                <InlineField label="URL" invalid={!!uErr} error={uErr}>
                  <Input
                    aria-label="Derived field URL"
                    width={30}
                    placeholder="${__value.raw}"
                    value={d.url ?? ''}
                    onChange={(e) => setDerived(i, { url: e.currentTarget.value || undefined })}
                  />
                </InlineField>
                <InlineField label="Datasource uid" tooltip="Empty = this datasource">
                  <Input
                    aria-label="Derived field datasource uid"
                    width={20}
                    value={d.datasourceUid ?? ''}
                    onChange={(e) => setDerived(i, { datasourceUid: e.currentTarget.value || undefined })}
                  />
                </InlineField>
                <Button
                  variant="secondary"
                  icon="trash-alt"
                  aria-label={`Remove derived field ${i + 1}`}
                  onClick={() => setJson({ derivedFields: derived.filter((_, j) => j !== i) })}
                />
              </InlineFieldRow>
            </Field>
          );
        })}
        <Button
          icon="plus"
          variant="secondary"
          onClick={() => setJson({ derivedFields: [...derived, { name: 'TraceID', matcherRegex: 'trace_?[iI][dD]=(\\w+)' }] })}
        >
          Add derived field
        </Button>
      </FieldSet>

      <Divider />
      <TraceLinksEditor
        logs={jsonData.tracesToLogs}
        metrics={jsonData.tracesToMetrics}
        onChange={(patch) => setJson(patch)}
      />
    </Stack>
  );
}

function redisError(url?: string): string | undefined {
  if (!url) {
    return undefined;
  }
  return /^rediss?:\/\//.test(url) ? undefined : 'Use redis:// or rediss://';
}
