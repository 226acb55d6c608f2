import { InlineField, InlineFieldRow, Input, RadioButtonGroup, Text } from '@grafana/ui';

import { CnfView, GpuSource, GpuView, MacosView } from '../../types';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';

const GPU_VIEWS: Array<{ label: string; value: GpuView }> = [
  { label: 'Nodes', value: 'nodes' },
  { label: 'GPUs', value: 'gpus' },
  { label: 'Processes', value: 'processes' },
  { label: 'Summary', value: 'summary' },
];
const GPU_SOURCES: Array<{ label: string; value: GpuSource; description: string }> = [
  { label: 'Auto', value: 'auto', description: 'DCGM metrics where the cluster has them, nvidia-smi otherwise' },
  { label: 'nvidia-smi', value: 'nvidia-smi', description: 'nvidia-smi on each GPU node through Kubernetes exec' },
  { label: 'DCGM', value: 'dcgm', description: 'DCGM exporter metrics in the cluster’s Prometheus' },
];

export function GpuEditor({ query, onChangeAndRun }: KindEditorProps) {
  return (
    <InlineFieldRow>
      <InlineField label="View" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<GpuView>
          options={GPU_VIEWS}
          value={(query.view as GpuView) ?? 'nodes'}
          onChange={(view) => onChangeAndRun({ view })}
          size="sm"
        />
      </InlineField>
      <InlineField label="Source">
        <RadioButtonGroup<GpuSource>
          options={GPU_SOURCES}
          value={(query.source as GpuSource | undefined) ?? 'auto'}
          onChange={(source) => onChangeAndRun({ source })}
          size="sm"
        />
      </InlineField>
    </InlineFieldRow>
  );
}

const CNF_VIEWS: Array<{ label: string; value: CnfView }> = [
  { label: 'Workloads', value: 'workloads' },
  { label: 'PTP', value: 'ptp' },
  { label: 'SR-IOV', value: 'sriov' },
  { label: 'DPDK', value: 'dpdk' },
];

export function CnfEditor({ query, onChange, onChangeAndRun, onRunQuery }: KindEditorProps) {
  const view = query.cnfView ?? 'workloads';
  return (
    <InlineFieldRow>
      <InlineField label="View" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<CnfView>
          options={CNF_VIEWS}
          value={view}
          onChange={(cnfView) => onChangeAndRun({ cnfView })}
          size="sm"
        />
      </InlineField>
      {view === 'dpdk' && (
        <>
          <InlineField label="Pod" required tooltip="The CNF pod (namespace/name) whose DPDK telemetry to read.">
            <Input
              aria-label="DPDK pod"
              width={32}
              placeholder="cnf/upf-0"
              value={query.pod ?? ''}
              onChange={(e) => onChange({ pod: e.currentTarget.value })}
              onBlur={onRunQuery}
            />
          </InlineField>
          <InlineField label="Port" tooltip="DPDK ethdev port id; empty = every port.">
            <Input
              aria-label="DPDK port"
              type="number"
              min={0}
              width={10}
              value={query.port ?? ''}
              onChange={(e) => {
                const n = parseInt(e.currentTarget.value, 10);
                onChange({ port: Number.isFinite(n) && n >= 0 ? n : undefined });
              }}
              onBlur={onRunQuery}
            />
          </InlineField>
        </>
      )}
    </InlineFieldRow>
  );
}

export function MacosEditor({ query, onChangeAndRun }: KindEditorProps) {
  return (
    <InlineFieldRow>
      <InlineField label="View" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<MacosView>
          options={[{ label: 'Power', value: 'power' }]}
          value={(query.view as MacosView) ?? 'power'}
          onChange={(view) => onChangeAndRun({ view })}
          size="sm"
        />
      </InlineField>
      <Text color="secondary" variant="bodySmall">
        CPU, GPU and ANE power, thermal pressure per Apple-Silicon node.
      </Text>
    </InlineFieldRow>
  );
}
