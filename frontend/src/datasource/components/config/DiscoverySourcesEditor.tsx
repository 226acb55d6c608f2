import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import {
  Button,
  Collapse,
  FieldSet,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  RadioButtonGroup,
  SecretInput,
  SecretTextArea,
  Stack,
  Text,
  useStyles2,
} from '@grafana/ui';
import { ChangeEvent, useState } from 'react';

import { DiscoverySecret, DiscoverySourceConfig, DiscoveryType, FleetscopeOptions, discoverySecretKey } from '../../../types';
import { useRowKeys } from './rowKeys';
import { Settings, discoverySecretKeys, renameDiscoverySecrets, resetSecrets, secretBinding } from './secrets';
import { discoverySourceErrors, formatLabels, parseLabels, sourceHasField } from './validation';

const W = 22;

const TYPE_OPTIONS: Array<{ label: string; value: DiscoveryType; description: string }> = [
  { label: 'File', value: 'file', description: 'A YAML/JSON file of clusters (a mounted ConfigMap, a GitOps checkout), re-read when it changes' },
  { label: 'Registry', value: 'registry', description: 'An HTTP cluster registry answering the documented JSON list, polled' },
  { label: 'Kubernetes', value: 'kubernetes', description: 'Cluster Secrets (Argo CD format) in a management cluster, watched' },
];

/** The fields that depend on the type, in the order a type change checks them. */
const TYPED_FIELDS: Array<keyof DiscoverySourceConfig> = ['path', 'url', 'server', 'namespace', 'labelSelector', 'refreshSeconds', 'tlsSkipVerify'];

/** Types whose source reaches a server with its own credentials (`discoverySources.<name>.*`). */
const HAS_SECRETS: DiscoveryType[] = ['registry', 'kubernetes'];

const DEFAULT_REFRESH: Partial<Record<DiscoveryType, string>> = { file: '10', registry: '60' };

function newSourceName(sources: DiscoverySourceConfig[], type: DiscoveryType): string {
  const taken = (name: string) => sources.some((s) => s.name === name);
  if (!taken(type)) {
    return type;
  }
  for (let i = 2; ; i++) {
    if (!taken(`${type}-${i}`)) {
      return `${type}-${i}`;
    }
  }
}

/** The same source as another type: fields the new type does not have are dropped (the backend rejects them). */
export function changeSourceType(source: DiscoverySourceConfig, type: DiscoveryType): DiscoverySourceConfig {
  const next: DiscoverySourceConfig = { ...source, type };
  for (const field of TYPED_FIELDS) {
    if (!sourceHasField(type, field)) {
      delete next[field];
    }
  }
  return next;
}

/**
 * `jsonData.discovery`: add, edit and remove file, registry and Kubernetes
 * sources. A source's bearer token and TLS material are secure fields under
 * `discoverySources.<name>.<secret>`; renaming a source moves typed secrets and
 * deletes stored ones (they cannot be read back), removing it deletes them.
 */
export function DiscoverySourcesEditor({ options, onOptionsChange }: { options: Settings; onOptionsChange: (o: Settings) => void }) {
  const styles = useStyles2(getStyles);
  const sources = options.jsonData?.discovery ?? [];
  const rows = useRowKeys(sources.length);
  const setSources = (discovery: DiscoverySourceConfig[], base: Settings = options) =>
    onOptionsChange({ ...base, jsonData: { ...base.jsonData, discovery } as FleetscopeOptions });

  const update = (index: number, next: DiscoverySourceConfig, base: Settings = options) =>
    setSources(sources.map((s, i) => (i === index ? next : s)), base);
  const rename = (index: number, to: string) => update(index, { ...sources[index], name: to }, renameDiscoverySecrets(options, sources[index].name, to));
  const retype = (index: number, type: DiscoveryType) => {
    const source = sources[index];
    // A file source has no credentials of its own: its secrets go.
    const base = HAS_SECRETS.includes(type) ? options : resetSecrets(options, discoverySecretKeys(options, source.name));
    update(index, changeSourceType(source, type), base);
  };
  const remove = (index: number) => {
    rows.removed(index);
    setSources(
      sources.filter((_, i) => i !== index),
      resetSecrets(options, discoverySecretKeys(options, sources[index].name))
    );
  };
  const add = (type: DiscoveryType) => {
    rows.added();
    setSources([...sources, { type, name: newSourceName(sources, type) }]);
  };

  return (
    <FieldSet label={`Cluster discovery sources (${sources.length})`}>
      <Text color="secondary" variant="bodySmall">
        Sources that find clusters at run time, merged with the clusters above (jsonData.discovery). A discovered
        cluster whose id is already taken is skipped, with an error on its source; a failing source keeps its last good
        list. Changes apply when saved.
      </Text>
      <div className={styles.list}>
        {sources.map((s, i) => (
          <SourceEditor
            // A key of the row, not of the name (being edited) nor of the index (shifted by a removal).
            key={rows.keys[i]}
            index={i}
            source={s}
            all={sources}
            options={options}
            onOptionsChange={onOptionsChange}
            onChange={(next) => update(i, next)}
            onRename={(to) => rename(i, to)}
            onRetype={(type) => retype(i, type)}
            onRemove={() => remove(i)}
          />
        ))}
      </div>
      <Stack direction="row" gap={1}>
        <Button icon="plus" variant="secondary" onClick={() => add('file')}>
          Add file source
        </Button>
        <Button icon="plus" variant="secondary" onClick={() => add('registry')}>
          Add registry source
        </Button>
        <Button icon="plus" variant="secondary" onClick={() => add('kubernetes')}>
          Add Kubernetes source
        </Button>
      </Stack>
    </FieldSet>
  );
}

interface SourceProps {
  index: number;
  source: DiscoverySourceConfig;
  all: DiscoverySourceConfig[];
  options: Settings;
  onOptionsChange: (o: Settings) => void;
  onChange: (next: DiscoverySourceConfig) => void;
  onRename: (to: string) => void;
  onRetype: (type: DiscoveryType) => void;
  onRemove: () => void;
}

function SourceEditor({ index, source, all, options, onOptionsChange, onChange, onRename, onRetype, onRemove }: SourceProps) {
  const styles = useStyles2(getStyles);
  const [open, setOpen] = useState(true);
  const [nameDraft, setNameDraft] = useState(source.name);
  const [labelsDraft, setLabelsDraft] = useState(formatLabels(source.labels));
  const [refreshDraft, setRefreshDraft] = useState(source.refreshSeconds === undefined ? '' : String(source.refreshSeconds));
  // Another type keeps or drops the refresh interval (changeSourceType): its draft starts again from the source.
  const [seenType, setSeenType] = useState(source.type);
  if (seenType !== source.type) {
    setSeenType(source.type);
    setRefreshDraft(source.refreshSeconds === undefined ? '' : String(source.refreshSeconds));
  }
  const n = index + 1;
  const errors = discoverySourceErrors({ ...source, name: nameDraft }, all, index);
  const has = (field: keyof DiscoverySourceConfig) => sourceHasField(source.type, field);
  const text = (field: 'path' | 'url' | 'server' | 'namespace' | 'labelSelector') => ({
    value: source[field] ?? '',
    onChange: (e: ChangeEvent<HTMLInputElement>) => {
      const next: DiscoverySourceConfig = { ...source, [field]: e.currentTarget.value };
      if (!e.currentTarget.value) {
        delete next[field];
      }
      onChange(next);
    },
  });
  const secret = (name: DiscoverySecret) => secretBinding(options, onOptionsChange, discoverySecretKey(source.name, name));
  const where = source.path || source.url || source.server || (source.type === 'kubernetes' ? 'in-cluster' : '');

  const header = (
    <Stack direction="row" gap={1} alignItems="center">
      <Text weight="medium">{source.name || `Source ${n}`}</Text>
      <Text color="secondary" variant="bodySmall">
        {source.type}
        {where ? ` · ${where}` : ''}
      </Text>
    </Stack>
  );

  return (
    <Collapse label={header} isOpen={open} onToggle={() => setOpen(!open)} className={styles.card}>
      <Stack direction="column" gap={0.5}>
        <InlineFieldRow>
          <InlineField label="Type" labelWidth={W} invalid={!!errors.type} error={errors.type}>
            <RadioButtonGroup<DiscoveryType> size="sm" options={TYPE_OPTIONS} value={source.type} onChange={onRetype} />
          </InlineField>
        </InlineFieldRow>
        <InlineFieldRow>
          <InlineField
            label="Name"
            labelWidth={W}
            tooltip="Names the source in statuses, in the clusters' source label and in its secret keys"
            invalid={!!errors.name}
            error={errors.name}
          >
            <Input
              aria-label={`Discovery source ${n} name`}
              width={30}
              value={nameDraft}
              onChange={(e) => setNameDraft(e.currentTarget.value)}
              onBlur={() => !errors.name && nameDraft !== source.name && onRename(nameDraft)}
            />
          </InlineField>
        </InlineFieldRow>

        {has('path') && (
          <InlineFieldRow>
            <InlineField label="Path" labelWidth={W} grow tooltip="The YAML or JSON file: a list of clusters, or {clusters: [...]}" invalid={!!errors.path} error={errors.path}>
              <Input aria-label={`Discovery source ${n} path`} placeholder="/etc/fleetscope/clusters.yaml" {...text('path')} />
            </InlineField>
          </InlineFieldRow>
        )}
        {has('url') && (
          <InlineFieldRow>
            <InlineField label="URL" labelWidth={W} grow tooltip="GET answers the cluster list (docs/configuration.md)" invalid={!!errors.url} error={errors.url}>
              <Input aria-label={`Discovery source ${n} URL`} placeholder="https://registry.example.internal/api/v1/clusters" {...text('url')} />
            </InlineField>
          </InlineFieldRow>
        )}
        {has('server') && (
          <>
            <InlineFieldRow>
              <InlineField label="API server" labelWidth={W} grow tooltip="The management cluster; empty = the in-cluster service account" invalid={!!errors.server} error={errors.server}>
                <Input aria-label={`Discovery source ${n} API server`} placeholder="https://mgmt.example.internal:6443 (empty: in-cluster)" {...text('server')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Namespace" labelWidth={W} tooltip="Where the cluster Secrets are">
                <Input aria-label={`Discovery source ${n} namespace`} width={24} placeholder="argocd" {...text('namespace')} />
              </InlineField>
              <InlineField label="Label selector" tooltip="Which Secrets are clusters" grow>
                <Input aria-label={`Discovery source ${n} label selector`} placeholder="argocd.argoproj.io/secret-type=cluster" {...text('labelSelector')} />
              </InlineField>
            </InlineFieldRow>
          </>
        )}
        {(has('refreshSeconds') || has('tlsSkipVerify')) && (
          <InlineFieldRow>
            {has('refreshSeconds') && (
              <InlineField
                label="Refresh (s)"
                labelWidth={W}
                tooltip="Seconds between polls"
                invalid={!!errors.refreshSeconds}
                error={errors.refreshSeconds}
              >
                <Input
                  aria-label={`Discovery source ${n} refresh seconds`}
                  type="number"
                  width={12}
                  placeholder={DEFAULT_REFRESH[source.type]}
                  value={refreshDraft}
                  onChange={(e) => {
                    const v = e.currentTarget.value;
                    setRefreshDraft(v);
                    const next: DiscoverySourceConfig = { ...source, refreshSeconds: Number(v) };
                    if (v.trim() === '' || !Number.isFinite(Number(v))) {
                      delete next.refreshSeconds;
                    }
                    onChange(next);
                  }}
                />
              </InlineField>
            )}
            {has('tlsSkipVerify') && (
              <InlineField label="Skip TLS verify" labelWidth={has('refreshSeconds') ? undefined : W} tooltip="Lab setups only; TLS verification is on by default">
                <InlineSwitch
                  aria-label={`Discovery source ${n} skip TLS verify`}
                  value={!!source.tlsSkipVerify}
                  onChange={(e) => {
                    const next: DiscoverySourceConfig = { ...source, tlsSkipVerify: e.currentTarget.checked };
                    if (!e.currentTarget.checked) {
                      delete next.tlsSkipVerify;
                    }
                    onChange(next);
                  }}
                />
              </InlineField>
            )}
          </InlineFieldRow>
        )}
        <InlineFieldRow>
          <InlineField label="Labels" labelWidth={W} grow tooltip="key=value, comma-separated; added to every cluster of this source (a cluster's own labels win)">
            <Input
              aria-label={`Discovery source ${n} labels`}
              placeholder="managed-by=gitops"
              value={labelsDraft}
              onChange={(e) => setLabelsDraft(e.currentTarget.value)}
              onBlur={() => {
                const labels = parseLabels(labelsDraft);
                const next: DiscoverySourceConfig = { ...source, labels };
                if (Object.keys(labels).length === 0) {
                  delete next.labels;
                }
                onChange(next);
              }}
            />
          </InlineField>
        </InlineFieldRow>

        {HAS_SECRETS.includes(source.type) && (
          <div className={styles.secrets}>
            <Text color="secondary" variant="bodySmall">
              {source.type === 'registry' ? 'Credentials for the registry' : 'Credentials for the management cluster'} (secureJsonData
              discoverySources.{source.name}.*): stored encrypted, never shown again.
            </Text>
            <InlineFieldRow>
              <InlineField label="Bearer token" labelWidth={W}>
                <SecretInput aria-label={`Discovery source ${n} bearer token`} width={40} {...secret('bearerToken')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="CA certificate" labelWidth={W} grow>
                <SecretTextArea aria-label={`Discovery source ${n} CA certificate`} rows={3} cols={60} placeholder="-----BEGIN CERTIFICATE-----" {...secret('tlsCACert')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Client certificate" labelWidth={W} grow>
                <SecretTextArea aria-label={`Discovery source ${n} client certificate`} rows={3} cols={60} placeholder="-----BEGIN CERTIFICATE-----" {...secret('tlsClientCert')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Client key" labelWidth={W} grow>
                <SecretTextArea aria-label={`Discovery source ${n} client key`} rows={3} cols={60} placeholder="-----BEGIN PRIVATE KEY-----" {...secret('tlsClientKey')} />
              </InlineField>
            </InlineFieldRow>
          </div>
        )}

        <div>
          <Button variant="destructive" fill="outline" icon="trash-alt" size="sm" onClick={onRemove} aria-label={`Remove discovery source ${n}`}>
            Remove source
          </Button>
        </div>
      </Stack>
    </Collapse>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  list: css({ marginTop: theme.spacing(1) }),
  card: css({ marginBottom: theme.spacing(1) }),
  secrets: css({ marginTop: theme.spacing(0.5) }),
});
