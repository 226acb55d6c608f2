export type Role = 'requests' | 'errors' | 'latency' | 'gpuUtil' | 'gpuMemory' | 'alerts';
export const ROLES: Role[] = ['requests', 'errors', 'latency', 'gpuUtil', 'gpuMemory', 'alerts'];

export type GroupBy = 'auto' | 'team' | 'service' | 'team+service';
export type ErrorMode = 'ratio' | 'rate';
export type LatencyUnit = 'auto' | 's' | 'ms';
export type MemoryUnit = 'auto' | 'percent' | 'percentunit' | 'decmbytes' | 'bytes';

export interface LLMOpsOptions {
  groupBy: GroupBy;
  /** `ratio`: the errors query returns a fraction; `rate`: errors per second, divided by the request rate here. */
  errorMode: ErrorMode;
  latencyUnit: LatencyUnit;
  gpuMemoryUnit: MemoryUnit;
  errorWarn: number;
  errorCrit: number;
  latencyWarnMs: number;
  latencyCritMs: number;
  gpuUtilWarn: number;
  showSparklines: boolean;
  showGpu: boolean;
  showAlerts: boolean;
  maxAlerts: number;
  /** Query refIds per role; empty = recognise frames by their refId, name or metric. */
  requestsRefId: string;
  errorsRefId: string;
  latencyRefId: string;
  gpuUtilRefId: string;
  gpuMemoryRefId: string;
  alertsRefId: string;
  /** Datasource for "Traces" links; empty = the Fleetscope datasource the panel queries. */
  tracesDatasourceUid: string;
}

export const DEFAULT_OPTIONS: LLMOpsOptions = {
  groupBy: 'auto',
  errorMode: 'ratio',
  latencyUnit: 'auto',
  gpuMemoryUnit: 'auto',
  errorWarn: 0.01,
  errorCrit: 0.05,
  latencyWarnMs: 1000,
  latencyCritMs: 2500,
  gpuUtilWarn: 90,
  showSparklines: true,
  showGpu: true,
  showAlerts: true,
  maxAlerts: 8,
  requestsRefId: '',
  errorsRefId: '',
  latencyRefId: '',
  gpuUtilRefId: '',
  gpuMemoryRefId: '',
  alertsRefId: '',
  tracesDatasourceUid: '',
};
