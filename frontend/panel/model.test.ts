import { buildModel, roleOf } from './model';
import { fleetscopeFrames, prometheusFrames } from './test/frames';
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
    expect(m.rows[0]).toMatchObject({ key: 'gateway', service: 'gateway', requests: 140, errorRatio: 0.003 });
    expect(m.rows[0].p95Ms).toBeCloseTo(160);
    expect(m.alerts).toEqual([
      expect.objectContaining({ name: 'GatewaySlow', severity: 'WARNING', state: 'FIRING' }),
    ]);
    expect(m.unmatched).toEqual([]);
  });

  it('names frames it cannot place so they can be mapped', () => {
    const m = buildModel(prometheusFrames());
    expect(m.unmatched).toEqual(['A', 'B', 'C']);
  });
});
