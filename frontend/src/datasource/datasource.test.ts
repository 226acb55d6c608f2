import { CoreApp, DataQueryRequest, FieldType, SupplementaryQueryType, createDataFrame, dateTime } from '@grafana/data';
import { lastValueFrom } from 'rxjs';

import { CLUSTERS_RESPONSE, defaultResources, fakeDataSource, fakeTemplateSrv } from '../test/fakes';
import { FleetscopeQuery, FleetscopeVariableQuery } from '../types';
import { framesToAnnotations } from './annotations';
import { interpolateClusters } from './interpolate';
import { freshQuery } from './kinds';
import { addLabelMatcher } from './modifyQuery';
import { VARIABLE_FUNCTION_EXAMPLES, parseVariableQuery, splitArgs } from './variableQuery';
import { errorMessage } from './components/useClusters';

describe('template variables', () => {
  const vars = {
    cluster: { value: ['east', 'west'], multi: true },
    one: { value: 'east' },
    all: { value: '$__all', includeAll: true },
    pod: { value: ['api-0', 'api.1'], multi: true },
    svc: { value: 'gateway' },
    port: { value: '3' },
  };
  let srv = fakeTemplateSrv(vars);
  beforeEach(() => {
    srv = fakeTemplateSrv(vars);
  });

  it('expands multi-value cluster variables to a list of ids, de-duplicated', () => {
    expect(interpolateClusters(['$cluster'], srv)).toEqual(['east', 'west']);
    expect(interpolateClusters(['${one}', 'west', '[[cluster]]'], srv)).toEqual(['east', 'west']);
    expect(interpolateClusters(['lab'], srv)).toEqual(['lab']);
  });

  it('treats All as the empty list (every enabled cluster)', () => {
    expect(interpolateClusters(['$all'], srv)).toEqual([]);
    expect(interpolateClusters(['*'], srv)).toEqual([]);
    expect(interpolateClusters(undefined, srv)).toEqual([]);
  });

  it('interpolates every field of every query kind', () => {
    const { ds } = fakeDataSource();
    const q = ds.applyTemplateVariables(
      {
        refId: 'A',
        queryType: 'metrics',
        clusters: ['$cluster'],
        expr: 'rate(http_requests_total{pod=~"$pod", service="$svc"}[5m])',
        legendFormat: '{{pod}} $svc',
        step: '$one',
      },
      {}
    );
    expect(q.clusters).toEqual(['east', 'west']);
    expect(q.expr).toBe('rate(http_requests_total{pod=~"(api-0|api\\\\.1)", service="gateway"}[5m])');
    expect(q.legendFormat).toBe('{{pod}} gateway');
    expect(q.step).toBe('east');

    const t = ds.applyTemplateVariables(
      { refId: 'B', queryType: 'traces', service: '$svc', query: '{ resource.service.name = "$svc" }', tags: 'team=$one', traceId: '$one' },
      {}
    );
    expect(t).toMatchObject({ service: 'gateway', query: '{ resource.service.name = "gateway" }', tags: 'team=east', traceId: 'east' });

    const c = ds.applyTemplateVariables({ refId: 'C', queryType: 'cnf', cnfView: 'dpdk', pod: '$svc', port: '$port' as unknown as number }, {});
    expect(c).toMatchObject({ pod: 'gateway', port: 3 });

    const scoped = ds.applyTemplateVariables({ refId: 'D', queryType: 'alerts', matchers: 'team="$team"' }, { team: { text: 'q', value: 'quant' } });
    expect(scoped.matchers).toBe('team="quant"');
  });

  it('interpolates clusterSelector with PromQL-style regex formatting for multi-value variables', () => {
    const { ds } = fakeDataSource();
    const q = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'metrics', expr: 'up', clusters: ['$one'], clusterSelector: 'env=~"$pod",svc="$svc",region=~"$one"' },
      {}
    );
    // Multi-value: an escaped alternation; single value: as typed; clusters stay their own list.
    expect(q.clusterSelector).toBe('env=~"(api-0|api\\\\.1)",svc="gateway",region=~"east"');
    expect(q.clusters).toEqual(['east']);
    const quoted = ds.applyTemplateVariables({ refId: 'B', queryType: 'logs', expr: '{a="b"}', clusterSelector: 'team="$team"' }, {
      team: { text: 'q', value: 'a"b' },
    });
    expect(quoted.clusterSelector).toBe('team="a\\"b"');
    // Explore / query library get the same, with the datasource ref.
    const [e] = ds.interpolateVariablesInQueries([{ refId: 'C', queryType: 'gpu', view: 'summary', clusterSelector: 'env=~"$cluster"' }], {});
    expect(e).toMatchObject({ clusterSelector: 'env=~"(east|west)"', datasource: { uid: 'fleetscope-uid' } });
    // No selector stays no selector.
    expect(ds.applyTemplateVariables({ refId: 'D', queryType: 'metrics', expr: 'up' }, {}).clusterSelector).toBeUndefined();
  });

  it('keeps the selector on kind switches, logs volume and the history line', () => {
    const { ds } = fakeDataSource();
    const logs: FleetscopeQuery = { refId: 'A', queryType: 'logs', expr: '{app="api"}', clusterSelector: 'env="prod"' };
    expect(ds.getSupplementaryQuery({ type: SupplementaryQueryType.LogsVolume }, logs)).toMatchObject({ clusterSelector: 'env="prod"' });
    expect(freshQuery('metrics', logs)).toMatchObject({ queryType: 'metrics', clusterSelector: 'env="prod"' });
    expect(ds.getQueryDisplayText({ ...logs, clusterSelector: '{env="prod"}' })).toMatch(/@ all clusters matching \{env="prod"\}$/);
  });
});

describe('FleetscopeDataSource', () => {
  beforeEach(() => fakeTemplateSrv());
  const { ds } = fakeDataSource();

  it('defaults to a merged metrics query', () => {
    expect(ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual({ queryType: 'metrics', expr: '', aggregate: 'merge' });
  });

  it('filters queries that cannot return anything', () => {
    const q = (x: Partial<FleetscopeQuery>) => ds.filterQuery({ refId: 'A', ...x });
    expect(q({ queryType: 'metrics', expr: '' })).toBe(false);
    expect(q({ queryType: 'metrics', expr: 'up' })).toBe(true);
    expect(q({ queryType: 'metrics', expr: 'up', hide: true })).toBe(false);
    expect(q({ queryType: 'logs', expr: '  ' })).toBe(false);
    expect(q({ queryType: 'traces', tracesView: 'trace' })).toBe(false);
    expect(q({ queryType: 'traces', tracesView: 'trace', traceId: 'abc' })).toBe(true);
    expect(q({ queryType: 'traces', tracesView: 'search' })).toBe(true);
    expect(q({ queryType: 'cnf', cnfView: 'dpdk' })).toBe(false);
    expect(q({ queryType: 'gpu', view: 'summary' })).toBe(true);
  });

  it('adds and removes label filters for Explore', () => {
    const logs: FleetscopeQuery = { refId: 'A', queryType: 'logs', expr: '{app="gateway"} |= "error"' };
    expect(ds.modifyQuery(logs, { type: 'ADD_FILTER', options: { key: 'level', value: 'error' } }).expr).toBe(
      '{app="gateway", level="error"} |= "error"'
    );
    expect(ds.modifyQuery(logs, { type: 'ADD_FILTER_OUT', options: { key: 'pod', value: 'a"b' } }).expr).toBe(
      '{app="gateway", pod!="a\\"b"} |= "error"'
    );
    expect(ds.modifyQuery({ refId: 'A', expr: 'up' }, { type: 'ADD_FILTER', options: { key: 'cluster_id', value: 'east' } }).clusters).toEqual([
      'east',
    ]);
    // The PromQL tree finds every selector, bare names inside functions too.
    expect(addLabelMatcher('sum(rate(x[5m]))', 'job', '=', 'a')).toBe('sum(rate(x{job="a"}[5m]))');
    expect(addLabelMatcher('rate(x{job="a"}[$__rate_interval])', 'job', '=', 'a')).toBe('rate(x{job="a"}[$__rate_interval])');
    expect(addLabelMatcher('sum(rate(x[5m]', 'job', '=', 'a')).toBe('sum(rate(x[5m]');
    expect(addLabelMatcher('up', 'job', '=', 'a')).toBe('up{job="a"}');
    expect(addLabelMatcher('rate(x{}[5m])', 'job', '=', 'a')).toBe('rate(x{job="a"}[5m])');
  });

  it('spells out per-cluster health on Save & test', async () => {
    (ds as unknown as { callHealthCheck: () => Promise<unknown> }).callHealthCheck = async () => ({
      status: 'ERROR',
      message: '1 of 2 clusters unhealthy',
      details: {
        clusters: [
          { cluster_id: 'east', cluster_name: 'prod-east-1', status: 'OK' },
          { cluster_id: 'west', cluster_name: 'prod-west-1', status: 'ERROR', error_code: 'CLUSTER_UNREACHABLE', error: 'connection refused' },
        ],
      },
    });
    await expect(ds.testDatasource()).rejects.toMatchObject({
      status: 'error',
      message: '1 of 2 clusters unhealthy',
      details: {
        verboseMessage: 'prod-east-1 (east): OK\nprod-west-1 (west): ERROR — CLUSTER_UNREACHABLE: connection refused',
      },
    });
    (ds as unknown as { callHealthCheck: () => Promise<unknown> }).callHealthCheck = async () => ({
      status: 'OK',
      message: '2 clusters healthy',
      details: { clusters: { east: { status: 'OK' } } },
    });
    await expect(ds.testDatasource()).resolves.toEqual({
      status: 'success',
      message: '2 clusters healthy',
      details: { verboseMessage: 'east (east): OK' },
    });
  });
});

describe('variable queries', () => {
  it('parses the function syntax', () => {
    expect(parseVariableQuery('clusters()')).toEqual({ kind: 'clusters' });
    expect(parseVariableQuery(' label_names() ')).toEqual({ kind: 'label_names', match: undefined });
    expect(parseVariableQuery('label_values(job)')).toEqual({ kind: 'label_values', label: 'job' });
    expect(parseVariableQuery('label_values(up{job="a,b"}, instance)')).toEqual({
      kind: 'label_values',
      match: 'up{job="a,b"}',
      label: 'instance',
    });
    expect(parseVariableQuery('gpu_nodes($cluster)')).toEqual({ kind: 'gpu_nodes', cluster: '$cluster' });
    expect(() => parseVariableQuery('label_values()')).toThrow('takes 1 to 2 argument(s), got 0');
    expect(() => parseVariableQuery('nodes()')).toThrow('unknown variable function nodes()');
    expect(() => parseVariableQuery('up')).toThrow('is not a variable function');
    expect(splitArgs('a, {b="1,2"}, c')).toEqual(['a', '{b="1,2"}', 'c']);
  });

  it('parses clusters(selector): the whole argument text is the selector, commas and parentheses included', () => {
    expect(parseVariableQuery('clusters(env="prod")')).toEqual({ kind: 'clusters', selector: 'env="prod"' });
    expect(parseVariableQuery(' clusters( env="prod", region=~"(eu|us)-.*" ) ')).toEqual({
      kind: 'clusters',
      selector: 'env="prod", region=~"(eu|us)-.*"',
    });
    expect(parseVariableQuery('clusters({env=~"$env"})')).toEqual({ kind: 'clusters', selector: '{env=~"$env"}' });
    expect(parseVariableQuery('clusters(  )')).toEqual({ kind: 'clusters' });
    expect(VARIABLE_FUNCTION_EXAMPLES.some((e) => /^clusters\(.+\)$/.test(e))).toBe(true);
  });

  it('parses a last clusters(<selector>) argument of label_names, label_values and gpu_nodes as their cluster selector', () => {
    expect(parseVariableQuery('label_values(job, clusters(env="prod",region=~"(eu|us)-.*"))')).toEqual({
      kind: 'label_values',
      label: 'job',
      clusterSelector: 'env="prod",region=~"(eu|us)-.*"',
    });
    expect(parseVariableQuery('label_values(up{job="a,b"}, instance, clusters( {env=~"$env"} ))')).toEqual({
      kind: 'label_values',
      match: 'up{job="a,b"}',
      label: 'instance',
      clusterSelector: '{env=~"$env"}',
    });
    expect(parseVariableQuery('label_names(clusters(env="prod"))')).toEqual({ kind: 'label_names', match: undefined, clusterSelector: 'env="prod"' });
    expect(parseVariableQuery('label_names({job="x"}, clusters(env="prod"))')).toEqual({ kind: 'label_names', match: '{job="x"}', clusterSelector: 'env="prod"' });
    expect(parseVariableQuery('gpu_nodes($cluster, clusters(gpu="true"))')).toEqual({ kind: 'gpu_nodes', cluster: '$cluster', clusterSelector: 'gpu="true"' });
    // clusters() as the argument: every cluster, no selector.
    expect(parseVariableQuery('gpu_nodes(clusters())')).toEqual({ kind: 'gpu_nodes', cluster: undefined });
    expect(() => parseVariableQuery('label_values(clusters(env="prod"), job)')).toThrow('label_values(): clusters(<selector>) must be the last argument');
    expect(() => parseVariableQuery('label_values(clusters(env="prod"))')).toThrow('label_values() takes 1 to 2 argument(s), got 0');
    expect(() => parseVariableQuery('label_names(up, job, clusters(env="prod"))')).toThrow('label_names() takes 0 to 1 argument(s), got 2');
    expect(VARIABLE_FUNCTION_EXAMPLES).toContain('label_values(job, clusters(env="prod"))');
  });

  const run = async (query: string, clusters?: string[], asString = false, handler?: Parameters<typeof fakeDataSource>[0]) => {
    fakeTemplateSrv({ cluster: { value: ['east'], multi: true }, env: { value: ['prod', 'stage'], multi: true } });
    const { ds, getResource } = fakeDataSource(handler);
    const request = { targets: [asString ? query : { refId: 'V', query, clusters }], scopedVars: {} } as unknown as DataQueryRequest<FleetscopeVariableQuery>;
    const res = await lastValueFrom((ds.variables as unknown as { query: (r: typeof request) => ReturnType<typeof lastValueFrom> }).query(request) as never);
    const frame = (res as { data: Array<{ fields: Array<{ values: string[] }> }> }).data[0];
    return { text: frame.fields[0].values, value: frame.fields[1].values, getResource };
  };

  it('clusters() lists enabled clusters: text = name, value = id', async () => {
    const r = await run('clusters()');
    expect(r.text).toEqual(['prod-east-1', 'prod-west-1']);
    expect(r.value).toEqual(['east', 'west']);
    // A provisioned dashboard may store the query as a bare string.
    expect((await run('clusters()', undefined, true)).value).toEqual(['east', 'west']);
  });

  it('clusters(selector) asks api/v1/clusters?selector= with the variables inside interpolated', async () => {
    const r = await run('clusters(env=~"$env",region="us-west-2")', undefined, false, (path, params) =>
      path === 'api/v1/clusters' && params?.selector
        ? { clusters: CLUSTERS_RESPONSE.clusters.filter((c) => c.id === 'west'), total: 1 }
        : defaultResources(path)
    );
    expect(r.getResource).toHaveBeenCalledWith('api/v1/clusters', { selector: 'env=~"(prod|stage)",region="us-west-2"' }, { showErrorAlert: false });
    expect(r.value).toEqual(['west']);
    expect(r.text).toEqual(['prod-west-1']);
  });

  it('clusters(selector) fails with the backend message when the selector is rejected', async () => {
    const rejected = Object.assign(new Error('Bad Request'), {
      status: 400,
      data: { error: { code: 'INVALID_QUERY', message: 'selector: expected one of =, !=, =~, !~ after "env"' } },
    });
    await expect(run('clusters(env)', undefined, false, () => rejected)).rejects.toBe(rejected);
    expect(errorMessage(rejected)).toBe('selector: expected one of =, !=, =~, !~ after "env"');
  });

  it('label_values(metric, label) asks the federated label values resource with the clusters', async () => {
    const r = await run('label_values(up, job)', ['$cluster']);
    expect(r.value).toEqual(['gateway', 'quant-api']);
    expect(r.getResource).toHaveBeenCalledWith('api/v1/metrics/label/job/values', { 'match[]': 'up', cluster_ids: 'east' });
  });

  /** `api/v1/clusters?selector=`: env="prod" → east and west (lab is disabled), env=~"(prod|stage)" → east, region="eu" → none, `bad` → 400. */
  const selectorHandler = (path: string, params?: Record<string, string>) => {
    if (path === 'api/v1/clusters' && params?.selector) {
      switch (params.selector) {
        case 'env="prod"':
          return CLUSTERS_RESPONSE;
        case 'env=~"(prod|stage)"':
          return { clusters: CLUSTERS_RESPONSE.clusters.filter((c) => c.id === 'east'), total: 1 };
        case 'region="eu"':
          return { clusters: [], total: 0 };
        default:
          return Object.assign(new Error('Bad Request'), { status: 400, data: { error: { code: 'INVALID_QUERY', message: 'selector: expected one of =, !=, =~, !~ after "bad"' } } });
      }
    }
    return defaultResources(path);
  };

  it('label_values(…, clusters(selector)) asks only the enabled clusters the selector matches, variables inside interpolated', async () => {
    const r = await run('label_values(up, job, clusters(env=~"$env"))', undefined, false, selectorHandler);
    expect(r.getResource).toHaveBeenCalledWith('api/v1/clusters', { selector: 'env=~"(prod|stage)"' }, { showErrorAlert: false });
    expect(r.getResource).toHaveBeenCalledWith('api/v1/metrics/label/job/values', { 'match[]': 'up', cluster_ids: 'east' });
    expect(r.value).toEqual(['gateway', 'quant-api']);
    const names = await run('label_names(clusters(env="prod"))', undefined, false, selectorHandler);
    expect(names.getResource).toHaveBeenCalledWith('api/v1/metrics/labels', { cluster_ids: 'east,west' });
  });

  it('a cluster selector argument narrows the picked clusters; matching none of them asks nobody', async () => {
    const both = await run('label_values(job, clusters(env="prod"))', ['west', 'lab'], false, selectorHandler);
    expect(both.getResource).toHaveBeenCalledWith('api/v1/metrics/label/job/values', { cluster_ids: 'west' });
    const none = await run('label_values(job, clusters(region="eu"))', undefined, false, selectorHandler);
    expect(none.value).toEqual([]);
    expect(none.getResource.mock.calls.map((c) => c[0])).toEqual(['api/v1/clusters']);
    const outside = await run('label_names(clusters(env=~"$env"))', ['west'], false, selectorHandler);
    expect(outside.value).toEqual([]);
    expect(outside.getResource.mock.calls.map((c) => c[0])).toEqual(['api/v1/clusters']);
    const gpu = await run('gpu_nodes($cluster, clusters(env="prod"))', undefined, false, selectorHandler);
    expect(gpu.getResource).toHaveBeenCalledWith('api/v1/gpu/nodes', { cluster_id: 'east' });
    expect(gpu.value).toEqual(['gpu-node-1', 'gpu-node-2']);
  });

  it('a cluster selector argument the backend rejects fails the variable with its message', async () => {
    const rejected = run('label_values(job, clusters(bad))', undefined, false, selectorHandler);
    await expect(rejected).rejects.toMatchObject({ status: 400 });
  });

  it('label_names() and gpu_nodes(cluster) use their resources', async () => {
    expect((await run('label_names()')).value).toEqual(['__name__', 'job', 'service', 'team']);
    const g = await run('gpu_nodes($cluster)');
    expect(g.value).toEqual(['gpu-node-1', 'gpu-node-2']);
    expect(g.getResource).toHaveBeenCalledWith('api/v1/gpu/nodes', { cluster_id: 'east' });
  });
});

describe('annotations', () => {
  it('turns alert rows into regions coloured by severity', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'alertname', type: FieldType.string, values: ['GPUHot', 'Down'] },
        { name: 'severity', type: FieldType.string, values: ['critical', 'WARNING'] },
        { name: 'state', type: FieldType.string, values: ['FIRING', 'RESOLVED'] },
        { name: 'cluster_name', type: FieldType.string, values: ['prod-east-1', 'prod-west-1'] },
        { name: 'starts_at', type: FieldType.string, values: ['2026-11-20T10:00:00Z', '2026-11-20T09:00:00Z'] },
        { name: 'ends_at', type: FieldType.string, values: ['0001-01-01T00:00:00Z', '2026-11-20T09:30:00Z'] },
        { name: 'summary', type: FieldType.string, values: ['GPU at 92C', 'target down'] },
      ],
    });
    const events = framesToAnnotations([frame]);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ title: 'GPUHot', text: 'GPU at 92C', color: 'red', isRegion: false, tags: ['CRITICAL', 'FIRING', 'prod-east-1'] });
    expect(events[1]).toMatchObject({ title: 'Down', isRegion: true, timeEnd: Date.parse('2026-11-20T09:30:00Z') });
  });

  it('turns a PromQL series into regions where it is non-zero', () => {
    const t0 = dateTime('2026-11-20T10:00:00Z').valueOf();
    const frame = createDataFrame({
      fields: [
        { name: 'Time', type: FieldType.time, values: [0, 1, 2, 3, 4, 5].map((i) => t0 + i * 60_000) },
        { name: 'Value', type: FieldType.number, values: [0, 1, 1, 0, 1, 0], labels: { alertname: 'Hot', cluster: 'prod-east-1' }, config: { interval: 60_000 } },
      ],
    });
    const events = framesToAnnotations([frame], '{{alertname}} on {{cluster}}');
    expect(events.map((e) => [e.time! - t0, e.timeEnd! - t0, e.title])).toEqual([
      [60_000, 120_000, 'Hot on prod-east-1'],
      [240_000, 240_000, 'Hot on prod-east-1'],
    ]);
  });
});
