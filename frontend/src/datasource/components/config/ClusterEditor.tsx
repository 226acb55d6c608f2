import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import {
  Alert,
  Button,
  Collapse,
  Field,
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

import { ClusterConfig, SecretSuffix, secretKey } from '../../../types';
import { Settings, clusterSecretKeys, secretBinding } from './secrets';
import { ScrapeIntervalField } from './MetricsSettingsEditor';
import { clusterIdError, formatLabels, parseLabels, urlError } from './validation';

interface Props {
  options: Settings;
  onOptionsChange: (o: Settings) => void;
  cluster: ClusterConfig;
  index: number;
  all: ClusterConfig[];
  /** Replace this cluster; `renamedFrom` is set when the id changed. */
  onChange: (cluster: ClusterConfig, renamedFrom?: string) => void;
  onRemove: () => void;
  defaultOpen?: boolean;
}

const W = 22;
type PromKind = NonNullable<NonNullable<ClusterConfig['prometheus']>['kind']>;
type Backend = 'prometheus' | 'loki' | 'tempo' | 'alertmanager' | 'kubernetes';

/** One cluster of the registry: identity, endpoints per backend, and its secrets. */
export function ClusterEditor({ options, onOptionsChange, cluster, index, all, onChange, onRemove, defaultOpen }: Props) {
  const styles = useStyles2(getStyles);
  const [open, setOpen] = useState(!!defaultOpen);
  const [idDraft, setIdDraft] = useState(cluster.id);
  const [labelsDraft, setLabelsDraft] = useState(formatLabels(cluster.labels));
  const idError = clusterIdError(idDraft, all, index);
  const storedSecrets = clusterSecretKeys(options, cluster.id).filter((k) => options.secureJsonFields?.[k]);

  const set = (patch: Partial<ClusterConfig>) => onChange({ ...cluster, ...patch });
  const setBackend = <B extends Backend>(backend: B, patch: Partial<NonNullable<ClusterConfig[B]>>) =>
    onChange({ ...cluster, [backend]: { ...(cluster[backend] ?? {}), ...patch } });
  const text = <B extends Backend>(backend: B, field: keyof NonNullable<ClusterConfig[B]> & string) => ({
    value: String((cluster[backend] as Record<string, unknown> | undefined)?.[field] ?? ''),
    onChange: (e: ChangeEvent<HTMLInputElement>) =>
      setBackend(backend, { [field]: e.currentTarget.value } as Partial<NonNullable<ClusterConfig[B]>>),
  });
  const secret = (suffix: SecretSuffix) => secretBinding(options, onOptionsChange, secretKey(cluster.id, suffix));
  const url = <B extends Backend>(backend: B, field: string, label: string, placeholder: string) => {
    const value = (cluster[backend] as Record<string, string> | undefined)?.[field];
    const err = urlError(value);
    return (
      <InlineField label={label} labelWidth={W} invalid={!!err} error={err} grow>
        <Input aria-label={`${cluster.id} ${backend} ${field}`} placeholder={placeholder} {...text(backend, field as never)} />
      </InlineField>
    );
  };

  const backends = (['prometheus', 'loki', 'tempo', 'alertmanager', 'kubernetes'] as const).filter((b) =>
    b === 'kubernetes' ? cluster.kubernetes?.server : cluster[b]?.url
  );
  const header = (
    <Stack direction="row" gap={1} alignItems="center">
      <Text weight="medium">{cluster.name || cluster.id || 'New cluster'}</Text>
      <Text color="secondary" variant="bodySmall">
        {cluster.id} · {backends.length ? backends.join(', ') : 'no endpoints'}
        {cluster.enabled === false ? ' · disabled' : ''}
      </Text>
    </Stack>
  );

  return (
    <Collapse label={header} isOpen={open} onToggle={() => setOpen(!open)} className={styles.card}>
      <Stack direction="column" gap={0.5}>
        <InlineFieldRow>
          <InlineField
            label="Id"
            labelWidth={W}
            tooltip="Stable id used in queries and secret keys"
            invalid={!!idError}
            error={idError}
          >
            <Input
              aria-label="Cluster id"
              width={30}
              value={idDraft}
              onChange={(e) => setIdDraft(e.currentTarget.value)}
              onBlur={() => !idError && idDraft !== cluster.id && onChange({ ...cluster, id: idDraft }, cluster.id)}
            />
          </InlineField>
          <InlineField label="Name" tooltip="Display name; the cluster label on every series">
            <Input aria-label="Cluster name" width={30} value={cluster.name} onChange={(e) => set({ name: e.currentTarget.value })} />
          </InlineField>
          <InlineField label="Enabled">
            <InlineSwitch
              aria-label="Cluster enabled"
              value={cluster.enabled !== false}
              onChange={(e) => set({ enabled: e.currentTarget.checked })}
            />
          </InlineField>
        </InlineFieldRow>
        {storedSecrets.length > 0 && idDraft !== cluster.id && !idError && (
          <Alert severity="warning" title="Changing the id deletes this cluster's saved secrets">
            Secrets are stored under the cluster id and cannot be read back; enter them again after renaming.
          </Alert>
        )}
        <InlineFieldRow>
          <InlineField label="Labels" labelWidth={W} grow tooltip="key=value, comma-separated">
            <Input
              aria-label="Cluster labels"
              placeholder="region=us-east-1, tier=gpu"
              value={labelsDraft}
              onChange={(e) => setLabelsDraft(e.currentTarget.value)}
              onBlur={() => set({ labels: parseLabels(labelsDraft) })}
            />
          </InlineField>
        </InlineFieldRow>

        <Field label="Prometheus" className={styles.section}>
          <Stack direction="column" gap={0}>
            <InlineFieldRow>
              {url('prometheus', 'url', 'URL', 'http://prometheus.east:9090')}
              <InlineField label="Kind">
                <RadioButtonGroup<PromKind>
                  size="sm"
                  options={[
                    { label: 'Prometheus', value: 'prometheus' },
                    { label: 'Thanos', value: 'thanos' },
                    { label: 'Mimir', value: 'mimir' },
                  ]}
                  value={cluster.prometheus?.kind ?? 'prometheus'}
                  onChange={(kind) => setBackend('prometheus', { kind })}
                />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Tenant (X-Scope-OrgID)" labelWidth={W}>
                <Input aria-label={`${cluster.id} prometheus tenant`} width={24} {...text('prometheus', 'tenant')} />
              </InlineField>
              <ScrapeIntervalField
                label={`${cluster.id} prometheus scrape interval`}
                tooltip="This cluster's Prometheus scrape interval, when it differs from the datasource's (Metrics → Scrape interval)"
                placeholder={options.jsonData?.timeInterval || '15s'}
                value={cluster.prometheus?.timeInterval}
                onChange={(timeInterval) => setBackend('prometheus', { timeInterval })}
              />
              <InlineField label="Skip TLS verify" tooltip="TLS verification is on by default">
                <InlineSwitch
                  aria-label="Skip TLS verify"
                  value={!!cluster.prometheus?.tlsSkipVerify}
                  onChange={(e) => setBackend('prometheus', { tlsSkipVerify: e.currentTarget.checked })}
                />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Basic auth user" labelWidth={W}>
                <Input aria-label={`${cluster.id} prometheus basic auth user`} width={24} {...text('prometheus', 'basicAuthUser')} />
              </InlineField>
              <InlineField label="Password">
                <SecretInput aria-label="Prometheus basic auth password" width={24} {...secret('prometheus.basicAuthPassword')} />
              </InlineField>
            </InlineFieldRow>
          </Stack>
        </Field>

        <Field label="Loki · Tempo · Alertmanager" className={styles.section}>
          <Stack direction="column" gap={0}>
            <InlineFieldRow>
              {url('loki', 'url', 'Loki URL', 'http://loki.east:3100')}
              <InlineField label="Tenant">
                <Input aria-label={`${cluster.id} loki tenant`} width={16} {...text('loki', 'tenant')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              {url('tempo', 'url', 'Tempo URL', 'http://tempo.east:3200')}
              <InlineField label="Tenant">
                <Input aria-label={`${cluster.id} tempo tenant`} width={16} {...text('tempo', 'tenant')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>{url('alertmanager', 'url', 'Alertmanager URL', 'http://alertmanager.east:9093')}</InlineFieldRow>
          </Stack>
        </Field>

        <Field label="Kubernetes (GPU and CNF probes)" className={styles.section}>
          <Stack direction="column" gap={0}>
            <InlineFieldRow>{url('kubernetes', 'server', 'API server', 'https://api.east.example:6443')}</InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="GPU namespace" labelWidth={W}>
                <Input aria-label="GPU namespace" width={30} placeholder="nvidia-gpu-operator" {...text('kubernetes', 'gpuNamespace')} />
              </InlineField>
              <InlineField label="GPU DaemonSet">
                <Input aria-label="GPU DaemonSet" width={30} placeholder="nvidia-driver-daemonset" {...text('kubernetes', 'gpuDaemonSet')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="PTP namespace" labelWidth={W}>
                <Input aria-label="PTP namespace" width={30} placeholder="openshift-ptp" {...text('kubernetes', 'ptpNamespace')} />
              </InlineField>
              <InlineField label="SR-IOV namespace">
                <Input
                  aria-label="SR-IOV namespace"
                  width={30}
                  placeholder="openshift-sriov-network-operator"
                  {...text('kubernetes', 'sriovNamespace')}
                />
              </InlineField>
            </InlineFieldRow>
          </Stack>
        </Field>

        <Field
          label="Credentials and TLS"
          description="Stored encrypted by Grafana, never shown again. The bearer token applies to every backend of this cluster."
          className={styles.section}
        >
          <Stack direction="column" gap={0}>
            <InlineFieldRow>
              <InlineField label="Bearer token" labelWidth={W}>
                <SecretInput aria-label="Bearer token" width={40} {...secret('bearerToken')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Webhook secret" labelWidth={W} tooltip="Shared secret Alertmanager sends to /api/v1/alerts/webhook/<id>">
                <SecretInput aria-label="Webhook secret" width={40} {...secret('webhookSecret')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="CA certificate" labelWidth={W} grow>
                <SecretTextArea aria-label="CA certificate" rows={3} cols={60} placeholder="-----BEGIN CERTIFICATE-----" {...secret('tlsCACert')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Client certificate" labelWidth={W} grow>
                <SecretTextArea aria-label="Client certificate" rows={3} cols={60} placeholder="-----BEGIN CERTIFICATE-----" {...secret('tlsClientCert')} />
              </InlineField>
            </InlineFieldRow>
            <InlineFieldRow>
              <InlineField label="Client key" labelWidth={W} grow>
                <SecretTextArea aria-label="Client key" rows={3} cols={60} placeholder="-----BEGIN PRIVATE KEY-----" {...secret('tlsClientKey')} />
              </InlineField>
            </InlineFieldRow>
          </Stack>
        </Field>

        <div>
          <Button variant="destructive" fill="outline" icon="trash-alt" size="sm" onClick={onRemove} aria-label={`Remove cluster ${cluster.id}`}>
            Remove cluster
          </Button>
        </div>
      </Stack>
    </Collapse>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  card: css({ marginBottom: theme.spacing(1) }),
  section: css({ marginBottom: theme.spacing(1) }),
});
