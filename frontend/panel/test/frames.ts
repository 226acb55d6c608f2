import { DataFrame, DataFrameType, FieldType, createDataFrame } from '@grafana/data';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
export const times = [0, 1, 2, 3, 4].map((i) => T0 + i * 60_000);

/** One `timeseries-multi` frame per series, as the Fleetscope backend returns them. */
export function fsSeries(refId: string, labels: Record<string, string>, values: number[], name = 'Value'): DataFrame {
  return createDataFrame({
    refId,
    meta: { type: DataFrameType.TimeSeriesMulti, typeVersion: [0, 1] },
    fields: [
      { name: 'Time', type: FieldType.time, values: times },
      { name, type: FieldType.number, values, labels, config: { interval: 60_000 } },
    ],
  });
}

const east = { cluster: 'prod-east-1', cluster_id: 'east' };
const west = { cluster: 'prod-west-1', cluster_id: 'west' };

/** Request rate, error ratio, p95 (seconds), GPU util and memory, and the alerts table. */
export function fleetscopeFrames(): DataFrame[] {
  return [
    fsSeries('requests', { team: 'quant', service: 'quant-api', ...east }, [10, 11, 12, 13, 14]),
    fsSeries('requests', { team: 'quant', service: 'quant-api', ...west }, [5, 5, 6, 6, 6]),
    fsSeries('requests', { team: 'eval', service: 'eval-api', ...east }, [2, 2, 2, 3, 3]),
    fsSeries('errors', { team: 'quant', service: 'quant-api', ...east }, [0, 0, 0.01, 0.02, 0.02]),
    fsSeries('errors', { team: 'quant', service: 'quant-api', ...west }, [0, 0, 0, 0.1, 0.1]),
    fsSeries('errors', { team: 'eval', service: 'eval-api', ...east }, [0, 0, 0, 0, 0]),
    fsSeries('latency', { team: 'quant', service: 'quant-api', ...east }, [0.4, 0.5, 0.6, 0.7, 0.8]),
    fsSeries('latency', { team: 'quant', service: 'quant-api', ...west }, [1.9, 2.0, 2.1, 2.6, 3.0]),
    fsSeries('latency', { team: 'eval', service: 'eval-api', ...east }, [0.2, 0.2, 0.2, 0.2, 0.2]),
    fsSeries('gpu_util', { node: 'gpu-node-1', gpu: '0', ...east }, [80, 85, 90, 95, 96]),
    fsSeries('gpu_util', { node: 'gpu-node-1', gpu: '1', ...east }, [60, 60, 60, 60, 64]),
    fsSeries('gpu_util', { node: 'gpu-node-2', gpu: '0', ...west }, [10, 10, 20, 20, 30]),
    fsSeries('gpu_mem', { node: 'gpu-node-1', gpu: '0', ...east }, [40000, 40000, 40000, 40000, 45000], 'DCGM_FI_DEV_FB_USED'),
    fsSeries('gpu_mem', { node: 'gpu-node-1', gpu: '1', ...east }, [1000, 1000, 1000, 1000, 1000], 'DCGM_FI_DEV_FB_USED'),
    fsSeries('gpu_mem', { node: 'gpu-node-2', gpu: '0', ...west }, [2000, 2000, 2000, 2000, 2000], 'DCGM_FI_DEV_FB_USED'),
    createDataFrame({
      refId: 'alerts',
      fields: [
        { name: 'alertname', type: FieldType.string, values: ['HighErrorRate', 'GPUHot', 'OldThing'] },
        { name: 'severity', type: FieldType.string, values: ['WARNING', 'CRITICAL', 'INFO'] },
        { name: 'state', type: FieldType.string, values: ['FIRING', 'FIRING', 'RESOLVED'] },
        { name: 'cluster_name', type: FieldType.string, values: ['prod-west-1', 'prod-east-1', 'prod-east-1'] },
        { name: 'labels', type: FieldType.other, values: [{ service: 'quant-api', team: 'quant' }, { node: 'gpu-node-1' }, {}] },
        { name: 'starts_at', type: FieldType.string, values: ['2026-11-20T10:01:00Z', '2026-11-20T10:02:00Z', '2026-11-20T09:00:00Z'] },
      ],
    }),
  ];
}

/** Grafana's own Prometheus datasource: wide frames, `__name__` only when not aggregated away, refIds A–E. */
export function prometheusFrames(): DataFrame[] {
  const prom = (refId: string, labels: Record<string, string>, values: number[]) =>
    createDataFrame({
      refId,
      fields: [
        { name: 'Time', type: FieldType.time, values: times },
        { name: 'Value', type: FieldType.number, values, labels, config: { displayNameFromDS: undefined } },
      ],
    });
  return [
    prom('A', { service_name: 'gateway' }, [100, 110, 120, 130, 140]),
    prom('B', { service_name: 'gateway' }, [0.001, 0.001, 0.002, 0.002, 0.003]),
    prom('C', { service_name: 'gateway' }, [0.12, 0.13, 0.14, 0.15, 0.16]),
    prom('D', { __name__: 'ALERTS', alertname: 'GatewaySlow', alertstate: 'firing', severity: 'warning' }, [1, 1, 1, 1, 1]),
  ];
}
