import { PanelPlugin } from '@grafana/data';

import { LLMOpsPanel } from './LLMOpsPanel';
import { DEFAULT_OPTIONS, LLMOpsOptions } from './types';

const d = DEFAULT_OPTIONS;

export const plugin = new PanelPlugin<LLMOpsOptions>(LLMOpsPanel).setNoPadding().setPanelOptions((builder) =>
  builder
    .addRadio({
      path: 'groupBy',
      name: 'Group rows by',
      defaultValue: d.groupBy,
      settings: {
        options: [
          { value: 'auto', label: 'Auto' },
          { value: 'team', label: 'Team' },
          { value: 'service', label: 'Service' },
          { value: 'team+service', label: 'Team + service' },
        ],
      },
    })
    .addRadio({
      path: 'errorMode',
      name: 'Error query returns',
      description: 'A ratio (errors / requests), or errors per second divided by the request rate here',
      defaultValue: d.errorMode,
      settings: { options: [{ value: 'ratio', label: 'Ratio' }, { value: 'rate', label: 'Errors/s' }] },
    })
    .addRadio({
      path: 'latencyUnit',
      name: 'Latency query unit',
      description: 'Auto: milliseconds when the metric name says _ms, seconds otherwise',
      defaultValue: d.latencyUnit,
      settings: { options: [{ value: 'auto', label: 'Auto' }, { value: 's', label: 'Seconds' }, { value: 'ms', label: 'Milliseconds' }] },
    })
    .addSelect({
      path: 'gpuMemoryUnit',
      name: 'GPU memory unit',
      defaultValue: d.gpuMemoryUnit,
      settings: {
        options: [
          { value: 'auto', label: 'Auto' },
          { value: 'percent', label: 'Percent (0–100)' },
          { value: 'percentunit', label: 'Ratio (0–1)' },
          { value: 'decmbytes', label: 'MiB (DCGM FB_USED)' },
          { value: 'bytes', label: 'Bytes' },
        ],
      },
    })
    .addNumberInput({ path: 'errorWarn', name: 'Error rate warning', category: ['Thresholds'], defaultValue: d.errorWarn })
    .addNumberInput({ path: 'errorCrit', name: 'Error rate critical', category: ['Thresholds'], defaultValue: d.errorCrit })
    .addNumberInput({ path: 'latencyWarnMs', name: 'p95 warning (ms)', category: ['Thresholds'], defaultValue: d.latencyWarnMs })
    .addNumberInput({ path: 'latencyCritMs', name: 'p95 critical (ms)', category: ['Thresholds'], defaultValue: d.latencyCritMs })
    .addNumberInput({ path: 'gpuUtilWarn', name: 'GPU utilisation warning (%)', category: ['Thresholds'], defaultValue: d.gpuUtilWarn })
    .addBooleanSwitch({ path: 'showSparklines', name: 'Request sparklines', category: ['Display'], defaultValue: d.showSparklines })
    .addBooleanSwitch({ path: 'showGpu', name: 'GPU serving nodes', category: ['Display'], defaultValue: d.showGpu })
    .addBooleanSwitch({ path: 'showAlerts', name: 'Active alerts', category: ['Display'], defaultValue: d.showAlerts })
    .addNumberInput({ path: 'maxAlerts', name: 'Alerts listed', category: ['Display'], defaultValue: d.maxAlerts, settings: { min: 1, integer: true } })
    .addTextInput({
      path: 'requestsRefId',
      name: 'Request rate query',
      description: 'refId; empty = recognised by refId, name or metric (request, rps, rate)',
      category: ['Query mapping'],
      defaultValue: '',
    })
    .addTextInput({ path: 'errorsRefId', name: 'Error rate query', category: ['Query mapping'], defaultValue: '' })
    .addTextInput({ path: 'latencyRefId', name: 'p95 latency query', category: ['Query mapping'], defaultValue: '' })
    .addTextInput({ path: 'gpuUtilRefId', name: 'GPU utilisation query', category: ['Query mapping'], defaultValue: '' })
    .addTextInput({ path: 'gpuMemoryRefId', name: 'GPU memory query', category: ['Query mapping'], defaultValue: '' })
    .addTextInput({ path: 'alertsRefId', name: 'Alerts query', category: ['Query mapping'], defaultValue: '' })
    .addTextInput({
      path: 'tracesDatasourceUid',
      name: 'Traces datasource uid',
      description: 'Where "Traces" links open in Explore; empty = the Fleetscope datasource this panel queries',
      category: ['Links'],
      defaultValue: '',
    })
);
