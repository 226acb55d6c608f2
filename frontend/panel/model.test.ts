import { buildModel, roleOf } from './model';
import { FieldType, createDataFrame } from '@grafana/data';

import { fleetscopeFrames, fsSeries, prometheusFrames } from './test/frames';

const eastL = { cluster: 'prod-east-1', cluster_id: 'east' };
const westL = { cluster: 'prod-west-1', cluster_id: 'west' };
import { DEFAULT_OPTIONS } from './types';

describe('LLM ops model from Fleetscope frames', () => {
  const model = buildModel(fleetscopeFrames());

  it('recognises each frame by its refId', () => {
    expect(fleetscopeFrames().map((f) => roleOf(f, DEFAULT_OPTIONS))).toEqual([
      ...Array(3).fill('requests'),
      ...Array(3).fill('errors'),
      ...Array(3).fill('latency'),
      ...Array(3).fill('gpuUtil'),
      ...Array(3).fill('gpuMemory'),
      'alerts',
    ]);
  });

  it('builds one row per team/service, combining clusters', () => {
    expect(model.rows.map((r) => [r.team, r.service, r.clusters, r.clusterIds])).toEqual([
      ['quant', 'quant-api', ['prod-east-1', 'prod-west-1'], ['east', 'west']],
      ['eval', 'eval-api', ['prod-east-1'], ['east']],
    ]);
    const quant = model.rows[0];
    expect(quant.requests).toBe(20);
    expect(quant.requestsSpark).toEqual([15, 16, 18, 19, 20]);
    // Error ratio weighted by each cluster's request rate: (0.02*14 + 0.1*6) / 20.
    expect(quant.errorRatio).toBeCloseTo(0.044);
    // p95 is the worst cluster, seconds → ms.
    expect(quant.p95Ms).toBeCloseTo(3000);
    expect(quant.alerts).toBe(1);
    expect(model.rows[1]).toMatchObject({ requests: 3, errorRatio: 0, alerts: 0 });
  });

  it('summarises GPU nodes: mean utilisation, summed memory in MiB', () => {
    expect(model.memoryUnit).toBe('decmbytes');
    expect(model.gpus).toEqual([
      { node: 'gpu-node-1', cluster: 'prod-east-1', util: 80, memory: 46000 },
      { node: 'gpu-node-2', cluster: 'prod-west-1', util: 30, memory: 2000 },
    ]);
  });

  it('lists active alerts, critical first, resolved ones dropped', () => {
    expect(model.alerts.map((a) => [a.name, a.severity, a.cluster, a.service])).toEqual([
      ['GPUHot', 'CRITICAL', 'prod-east-1', undefined],
      ['HighErrorRate', 'WARNING', 'prod-west-1', 'quant-api'],
    ]);
  });

  it('computes fleet totals', () => {
    expect(model.totals.requests).toBe(23);
    expect(model.totals.errorRatio).toBeCloseTo((0.044 * 20 + 0) / 23);
    expect(model.totals.worstP95Ms).toBeCloseTo(3000);
    expect(model.totals.gpuUtil).toBeCloseTo(55);
    expect(model.totals.gpuMemory).toBe(48000);
  });

  it('groups by team or service when asked, and divides error rates when the query returns errors/s', () => {
    const byTeam = buildModel(fleetscopeFrames(), { groupBy: 'team' });
    expect(byTeam.rows.map((r) => r.key)).toEqual(['quant', 'eval']);
    const rate = buildModel(fleetscopeFrames(), { errorMode: 'rate' });
    expect(rate.rows[0].errorRatio).toBeCloseTo(0.12 / 20);
  });
});

describe('LLM ops model from plain Prometheus frames', () => {
  it('uses the refId mapping from the options and service_name labels', () => {
    const m = buildModel(prometheusFrames(), { requestsRefId: 'A', errorsRefId: 'B', latencyRefId: 'C' });
    expect(m.rows).toHaveLength(1);
    expect(m.rows[0]).toMatchObject({ key: '—/gateway', team: undefined, service: 'gateway', requests: 140, errorRatio: 0.003 });
    expect(m.rows[0].p95Ms).toBeCloseTo(160);
    expect(m.alerts).toEqual([
      expect.objectContaining({ name: 'GatewaySlow', severity: 'WARNING', state: 'FIRING' }),
    ]);
    expect(m.unmatched).toEqual([]);
  });

  it('names frames it cannot place so they can be mapped, and the roles no frame was given for', () => {
    const m = buildModel(prometheusFrames());
    expect(m.unmatched).toEqual(['A', 'B', 'C']);
    expect(m.missing).toEqual(['requests', 'errors', 'latency', 'gpuUtil', 'gpuMemory']);
  });
});

describe('LLM ops model on the demo dashboard shapes (team × service)', () => {
  // dashboards/llm-platform.json: gateway series by (team, service_name), service series by
  // service_name only, the alerts table of the demo Alertmanagers.
  const frames = () => [
    fsSeries('requests', { team: 'search-ranking', service_name: 'llm-gateway', ...eastL }, [5, 5, 5, 5, 5]),
    fsSeries('requests', { team: 'search-ranking', service_name: 'llm-gateway', ...westL }, [4, 4, 4, 4, 4]),
    fsSeries('requests', { team: 'code-review', service_name: 'llm-gateway', ...eastL }, [1, 1, 1, 1, 1]),
    fsSeries('requests', { team: 'code-review', service_name: 'code-assist', ...eastL }, [2, 2, 2, 2, 2]),
    // Service-level only: joins its single team; a service nobody owns stays team-less.
    fsSeries('requests_svc', { service_name: 'code-assist', ...eastL }, [0.5, 0.5, 0.5, 0.5, 0.5]),
    fsSeries('requests_svc', { service_name: 'memory-engine', ...eastL }, [3, 3, 3, 3, 3]),
    // Team-level only: search-ranking has one service, so it joins that row.
    fsSeries('latency', { team: 'search-ranking', ...eastL }, [250, 260, 270, 280, 300]),
    createDataFrame({
      refId: 'alerts',
      fields: [
        { name: 'cluster', type: FieldType.string, values: ['prod-east-1', 'prod-east-1', 'prod-west-1', 'prod-east-1'] },
        { name: 'alertname', type: FieldType.string, values: ['GatewayErrors', 'TeamBudget', 'GatewayErrors', 'GPUHot'] },
        { name: 'severity', type: FieldType.string, values: ['critical', 'warning', 'critical', 'critical'] },
        { name: 'state', type: FieldType.string, values: ['FIRING', 'FIRING', 'SUPPRESSED', 'FIRING'] },
        {
          name: 'labels',
          type: FieldType.other,
          values: [{ service_name: 'llm-gateway', team: 'code-review' }, { team: 'search-ranking' }, { service_name: 'llm-gateway' }, { node: 'gpu-node-a3' }],
        },
      ],
    }),
  ];

  it('has one row per team × service, grouped by team', () => {
    const m = buildModel(frames(), { groupBy: 'auto', latencyUnit: 'ms' });
    expect(m.rows.map((r) => [r.team, r.service, r.requests])).toEqual([
      ['search-ranking', 'llm-gateway', 9],
      ['code-review', 'code-assist', 2.5],
      ['code-review', 'llm-gateway', 1],
      [undefined, 'memory-engine', 3],
    ]);
    expect(m.rows[0].p95Ms).toBe(300);
    expect(m.rows[0].clusters).toEqual(['prod-east-1', 'prod-west-1']);
  });

  it('reads the latency unit from the query of the refId, even when only its first frame carries it', () => {
    const lat = (labels: Record<string, string>, v: number, query?: string) => {
      const f = fsSeries('latency', labels, [v, v, v, v, v]);
      return query ? { ...f, meta: { ...f.meta, executedQueryString: query } } : f;
    };
    const m = buildModel(
      [
        lat({ team: 'a', service_name: 's', ...eastL }, 250, 'histogram_quantile(0.95, sum by (le, team) (rate(gateway_latency_ms_bucket[5m])))'),
        lat({ team: 'b', service_name: 's', ...eastL }, 400),
      ],
      { latencyUnit: 'auto' }
    );
    expect(m.rows.map((r) => [r.team, r.p95Ms])).toEqual([
      ['a', 250],
      ['b', 400],
    ]);
  });

  it('counts every active alert it is given, and per row by service (and team) on the row’s clusters', () => {
    const m = buildModel(frames(), { groupBy: 'auto' });
    expect(m.alerts).toHaveLength(4);
    const alerts = Object.fromEntries(m.rows.map((r) => [r.key, r.alerts]));
    // code-review/llm-gateway: its own alert; search-ranking/llm-gateway: the team alert and west's service alert.
    expect(alerts).toEqual({ 'search-ranking/llm-gateway': 2, 'code-review/code-assist': 0, 'code-review/llm-gateway': 1, '—/memory-engine': 0 });
    expect(m.missing).toEqual(['errors', 'gpuUtil', 'gpuMemory']);
  });
});
