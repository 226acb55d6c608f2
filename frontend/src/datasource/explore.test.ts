import {
  CoreApp,
  DataFrame,
  DataQueryRequest,
  DataQueryResponse,
  FieldType,
  LoadingState,
  LogsVolumeType,
  LogRowContextQueryDirection,
  LogRowModel,
  SupplementaryQueryType,
  createDataFrame,
  dateTime,
} from '@grafana/data';
import { lastValueFrom, of, tap, toArray } from 'rxjs';

import { fakeDataSource, fakeTemplateSrv } from '../test/fakes';
import { FleetscopeQuery } from '../types';
import { applyAdHocFilters } from './datasource';
import { addLogqlLabelFilter, isLogsQuery } from './modifyQuery';

const request = (targets: FleetscopeQuery[]): DataQueryRequest<FleetscopeQuery> =>
  ({
    requestId: 'r1',
    app: CoreApp.Explore,
    targets,
    range: { from: dateTime(0), to: dateTime(3_600_000), raw: { from: 'now-1h', to: 'now' } },
    interval: '15s',
    intervalMs: 15_000,
    scopedVars: {},
    timezone: 'UTC',
    startTime: 0,
  }) as DataQueryRequest<FleetscopeQuery>;

describe('logs volume (supplementary queries)', () => {
  it('counts the lines of each log query by level as Grafana’s Loki does, summed across its clusters', () => {
    const { ds } = fakeDataSource();
    expect(ds.getSupportedSupplementaryQueryTypes()).toEqual([SupplementaryQueryType.LogsVolume]);
    const logs: FleetscopeQuery = { refId: 'A', queryType: 'logs', clusters: ['east', 'west'], expr: '{app="gateway"} |= "error" | json' };
    const req = ds.getSupplementaryRequest(SupplementaryQueryType.LogsVolume, request([logs, { refId: 'B', queryType: 'metrics', expr: 'up' }]));
    expect(req?.targets).toEqual([
      {
        refId: 'log-volume-A',
        datasource: undefined,
        queryType: 'logs',
        supportingQueryType: 'logsVolume',
        clusters: ['east', 'west'],
        expr: 'sum by (level, detected_level) (count_over_time({app="gateway"} |= "error" | json | drop __error__ [$__auto]))',
        instant: false,
        range: true,
        aggregate: 'sum',
      },
    ]);
    expect(req?.range).toEqual(request([]).range);
  });

  it('keeps the clusters apart on demand: the query’s volumeByCluster, or the field `cluster`', () => {
    const { ds } = fakeDataSource();
    const type = SupplementaryQueryType.LogsVolume as const;
    const logs: FleetscopeQuery = { refId: 'A', queryType: 'logs', expr: '{app="gateway"}' };
    const perCluster = ds.getSupplementaryQuery({ type }, { ...logs, volumeByCluster: true });
    expect(perCluster).toMatchObject({ aggregate: 'merge', volumeByCluster: true, expr: 'sum by (level, detected_level) (count_over_time({app="gateway"} | drop __error__ [$__auto]))' });
    expect(ds.getSupplementaryQuery({ type, field: 'cluster' }, logs)).toMatchObject({ aggregate: 'merge', volumeByCluster: true });
    // Another field counts by that label (Loki's `field` option), still across clusters.
    expect(ds.getSupplementaryQuery({ type, field: 'app' }, logs)).toMatchObject({
      aggregate: 'sum',
      expr: 'sum by (app) (count_over_time({app="gateway"} | drop __error__ [$__auto]))',
    });
    expect(ds.getSupplementaryRequest(type, request([logs]), { type, field: 'cluster_id' })?.targets[0]).toMatchObject({ aggregate: 'merge' });
  });

  it('has nothing to count for metric LogQL, other kinds or hidden queries', () => {
    const { ds } = fakeDataSource();
    const type = { type: SupplementaryQueryType.LogsVolume as const };
    expect(ds.getSupplementaryQuery(type, { refId: 'A', queryType: 'logs', expr: 'sum(rate({app="x"}[5m]))' })).toBeUndefined();
    expect(ds.getSupplementaryQuery(type, { refId: 'A', queryType: 'logs', expr: '{app="x"}', hide: true })).toBeUndefined();
    expect(ds.getSupplementaryQuery(type, { refId: 'A', queryType: 'metrics', expr: 'up' })).toBeUndefined();
    expect(ds.getSupplementaryQuery({ type: SupplementaryQueryType.LogsSample }, { refId: 'A', queryType: 'logs', expr: '{app="x"}' })).toBeUndefined();
    expect(ds.getSupplementaryRequest(SupplementaryQueryType.LogsVolume, request([{ refId: 'A', queryType: 'metrics', expr: 'up' }]))).toBeUndefined();
    expect(ds.getDataProvider(SupplementaryQueryType.LogsVolume, request([{ refId: 'A', queryType: 'metrics', expr: 'up' }]))).toBeUndefined();
  });
});

describe('logs volume frames for Explore’s histogram (getDataProvider)', () => {
  // What the backend answers for the volume query: one series per level (and cluster when merged).
  const series = (refId: string, labels: Record<string, string>, values: number[]) =>
    createDataFrame({
      refId,
      fields: [
        { name: 'Time', type: FieldType.time, values: values.map((_, i) => i * 60_000) },
        { name: 'Value', type: FieldType.number, values, labels },
      ],
    });

  async function provide(ds: ReturnType<typeof fakeDataSource>['ds'], q: FleetscopeQuery, frames: Array<ReturnType<typeof series>>) {
    const query = jest.spyOn(ds, 'query').mockReturnValue(of({ data: frames }));
    const responses = await lastValueFrom(ds.getDataProvider(SupplementaryQueryType.LogsVolume, request([q]))!.pipe(toArray()));
    return { responses, sent: query.mock.calls[0][0] };
  }

  it('stacks one bar series per level, coloured and named by level, over the full range, in one histogram', async () => {
    const { ds } = fakeDataSource();
    const q: FleetscopeQuery = { refId: 'A', queryType: 'logs', expr: '{app="gateway"}' };
    const { responses, sent } = await provide(ds, q, [
      series('log-volume-A', { level: 'error' }, [1, 2]),
      series('log-volume-A', { detected_level: 'WARN' }, [3, 4]),
      series('log-volume-A', { level: '7' }, [5, 6]),
      series('log-volume-A', { app: 'gateway' }, [7, 8]),
    ]);
    expect(sent.targets[0]).toMatchObject({ refId: 'log-volume-A', aggregate: 'sum' });
    expect(sent.hideFromInspector).toBe(true);
    expect(responses[0].state).toBe(LoadingState.Loading);
    const done = responses[responses.length - 1];
    expect(done.state).toBe(LoadingState.Done);
    const frames = done.data as DataFrame[];
    const valueField = (f: DataFrame) => f.fields.find((x) => x.type === FieldType.number)!;
    expect(frames.map((f) => valueField(f).config.displayNameFromDS)).toEqual(['error', 'warning', 'debug', 'unknown']);
    expect(valueField(frames[0]).config.custom).toMatchObject({ drawStyle: 'bars', stacking: { mode: 'normal', group: 'A' } });
    expect(valueField(frames[0]).config.color).toEqual({ mode: 'fixed', fixedColor: expect.any(String) });
    expect(valueField(frames[0]).config.color?.fixedColor).not.toBe(valueField(frames[1]).config.color?.fixedColor);
    for (const f of frames) {
      expect(f.meta?.custom).toEqual({
        logsVolumeType: LogsVolumeType.FullRange,
        absoluteRange: { from: 0, to: 3_600_000 },
        datasourceName: 'Fleetscope',
        sourceQuery: q,
      });
    }
  });

  it('per cluster: one histogram per cluster (Explore groups by datasourceName), each stacked by level', async () => {
    const { ds } = fakeDataSource();
    const q: FleetscopeQuery = { refId: 'A', queryType: 'logs', expr: '{app="gateway"}', volumeByCluster: true };
    const { responses, sent } = await provide(ds, q, [
      series('log-volume-A', { level: 'error', cluster: 'prod-east-1', cluster_id: 'east' }, [1]),
      series('log-volume-A', { level: 'info', cluster: 'prod-east-1', cluster_id: 'east' }, [2]),
      series('log-volume-A', { app: 'gateway', cluster: 'prod-west-1', cluster_id: 'west' }, [3]),
    ]);
    expect(sent.targets[0]).toMatchObject({ aggregate: 'merge', volumeByCluster: true });
    const frames = responses[responses.length - 1].data as DataFrame[];
    expect(frames.map((f) => f.meta?.custom?.datasourceName)).toEqual(['Fleetscope · prod-east-1', 'Fleetscope · prod-east-1', 'Fleetscope · prod-west-1']);
    // A cluster whose only series has no level is "logs", as Grafana names a level-less volume.
    expect(frames.map((f) => f.fields[1].config.displayNameFromDS)).toEqual(['error', 'info', 'logs']);
  });

  it('passes the backend’s error on as the volume’s error', async () => {
    const { ds } = fakeDataSource();
    jest.spyOn(ds, 'query').mockReturnValue(of({ data: [], errors: [{ message: 'INVALID_LOGQL', refId: 'log-volume-A' }] }));
    const seen: DataQueryResponse[] = [];
    await expect(
      lastValueFrom(ds.getDataProvider(SupplementaryQueryType.LogsVolume, request([{ refId: 'A', queryType: 'logs', expr: '{app="x"}' }]))!.pipe(tap((r) => seen.push(r))))
    ).rejects.toEqual({ message: 'INVALID_LOGQL', refId: 'log-volume-A' });
    expect(seen[seen.length - 1]).toMatchObject({ state: LoadingState.Error, errors: [{ message: 'INVALID_LOGQL' }], data: [] });
  });
});

describe('log context', () => {
  const row = (labels: Record<string, string>) =>
    ({
      uid: 'A_east_1',
      rowIndex: 0,
      timeEpochMs: 1_700_000_000_000,
      timeEpochNs: '1700000000000000000',
      labels,
      dataFrame: createDataFrame({ refId: 'A', fields: [{ name: 'timestamp', type: FieldType.time, values: [1_700_000_000_000] }] }),
    }) as unknown as LogRowModel;

  it('asks only the line’s cluster, for its stream (stream labels of that cluster’s Loki), before and after the line', async () => {
    const { ds, getResource } = fakeDataSource((path, params) =>
      path === 'api/v1/logs/labels' ? { data: ['app', 'namespace', 'pod'] } : { data: [] }
    );
    const query = jest.spyOn(ds, 'query').mockReturnValue(of({ data: [] }));
    const r = row({ app: 'gateway', namespace: 'llm', pod: 'gw-0', cluster: 'prod-west-1', cluster_id: 'west', user_id: '7', detected_level: 'info' });
    const orig: FleetscopeQuery = { refId: 'A', queryType: 'logs', clusters: [], expr: '{app="gateway"} | json' };

    await ds.getLogRowContext(r, { direction: LogRowContextQueryDirection.Backward, limit: 20 }, orig);
    expect(getResource).toHaveBeenCalledWith('api/v1/logs/labels', { cluster_ids: 'west' });
    let req = query.mock.calls[0][0];
    expect(req.targets).toEqual([
      expect.objectContaining({
        refId: 'log-context-A',
        queryType: 'logs',
        clusters: ['west'],
        expr: '{app="gateway", namespace="llm", pod="gw-0"}',
        limit: 20,
        direction: 'backward',
      }),
    ]);
    expect(req.range.to.valueOf()).toBe(1_700_000_000_001);
    expect(req.range.from.valueOf()).toBe(1_700_000_000_000 - 2 * 3600_000);

    await ds.getLogRowContext(r, { direction: LogRowContextQueryDirection.Forward }, orig);
    req = query.mock.calls[1][0];
    expect(req.targets[0]).toMatchObject({ direction: 'forward', limit: 50 });
    expect(req.range.from.valueOf()).toBe(1_700_000_000_000);
  });

  it('falls back to the row’s labels (less cluster and Loki’s own) when the label list fails', async () => {
    const { ds } = fakeDataSource(() => new Error('loki down'));
    const q = await ds.getLogRowContextQuery(row({ app: 'gateway', cluster: 'prod-east-1', cluster_id: 'east', __error__: 'JSONParserErr' }));
    expect(q).toMatchObject({ clusters: ['east'], expr: '{app="gateway"}' });
  });
});

describe('filter for / filter out (modifyQuery)', () => {
  it('puts a parsed label’s filter after the parser stage, not into the stream selector', () => {
    const { ds } = fakeDataSource();
    const logs: FleetscopeQuery = { refId: 'A', queryType: 'logs', expr: '{app="gateway"} |= "error" | json | line_format "{{.msg}}"' };
    expect(ds.modifyQuery(logs, { type: 'ADD_FILTER', options: { key: 'user_id', value: '7' } }).expr).toBe(
      '{app="gateway"} |= "error" | json | user_id="7" | line_format "{{.msg}}"'
    );
    expect(ds.modifyQuery(logs, { type: 'ADD_FILTER_OUT', options: { key: 'status', value: '200' } }).expr).toBe(
      '{app="gateway"} |= "error" | json | status!="200" | line_format "{{.msg}}"'
    );
  });

  it('uses the stream selector when there is no parser; escapes values; applies to every selector of a metric query', () => {
    const { ds } = fakeDataSource();
    expect(ds.modifyQuery({ refId: 'A', queryType: 'logs', expr: '{app="gateway"} |= "x"' }, { type: 'ADD_FILTER', options: { key: 'pod', value: 'a"b' } }).expr).toBe(
      '{app="gateway", pod="a\\"b"} |= "x"'
    );
    expect(addLogqlLabelFilter('sum(count_over_time({app="a"} | logfmt [5m])) / sum(count_over_time({app="b"}[5m]))', 'level', '=', 'error')).toBe(
      'sum(count_over_time({app="a"} | logfmt | level="error" [5m])) / sum(count_over_time({app="b", level="error"}[5m]))'
    );
    // Already there: unchanged. Unreadable: unchanged.
    expect(addLogqlLabelFilter('{app="a"} | json | level="error"', 'level', '=', 'error')).toBe('{app="a"} | json | level="error"');
    expect(addLogqlLabelFilter('{app="a" |', 'level', '=', 'error')).toBe('{app="a" |');
    expect(isLogsQuery('{app="a"} | json')).toBe(true);
    expect(isLogsQuery('rate({app="a"}[1m])')).toBe(false);
  });

  it('narrows the clusters for the cluster label; PromQL gets the matcher in every selector', () => {
    const { ds } = fakeDataSource();
    expect(ds.modifyQuery({ refId: 'A', queryType: 'logs', expr: '{app="x"}' }, { type: 'ADD_FILTER', options: { key: 'cluster_id', value: 'west' } }).clusters).toEqual(['west']);
    expect(ds.modifyQuery({ refId: 'A', queryType: 'metrics', expr: 'sum(rate(x{a="1"}[5m])) / sum(rate(y[5m]))' }, { type: 'ADD_FILTER', options: { key: 'job', value: 'api' } }).expr).toBe(
      'sum(rate(x{a="1", job="api"}[5m])) / sum(rate(y{job="api"}[5m]))'
    );
  });
});

describe('ad-hoc filters', () => {
  it('offers label names (Loki’s for logs dashboards, Prometheus’ otherwise) and their values, with cluster', async () => {
    fakeTemplateSrv({});
    const { ds, getResource } = fakeDataSource((path) => {
      switch (path) {
        case 'api/v1/metrics/labels':
          return { data: ['__name__', 'job', 'cluster'] };
        case 'api/v1/logs/labels':
          return { data: ['app'] };
        case 'api/v1/logs/label/app/values':
          return { data: ['gateway'] };
        case 'api/v1/clusters':
          return { clusters: [{ id: 'east', name: 'e', enabled: true }, { id: 'lab', name: 'l', enabled: false }], total: 2 };
        default:
          return { data: [] };
      }
    });
    expect(await ds.getTagKeys({ filters: [], queries: [{ refId: 'A', queryType: 'metrics', clusters: ['east'] }] })).toEqual([{ text: 'cluster' }, { text: 'job' }]);
    expect(getResource).toHaveBeenLastCalledWith('api/v1/metrics/labels', { cluster_ids: 'east' });
    expect(await ds.getTagKeys({ filters: [], queries: [{ refId: 'A', queryType: 'logs' }] })).toEqual([{ text: 'cluster' }, { text: 'app' }]);
    expect(await ds.getTagValues({ key: 'app', filters: [], queries: [{ refId: 'A', queryType: 'logs' }] })).toEqual([{ text: 'gateway' }]);
    expect(await ds.getTagValues({ key: 'cluster', filters: [] })).toEqual([{ text: 'east' }]);
    expect(ds.knownClusters).toEqual(['east']);
  });

  it('applies filters as matchers (metrics), label filters after the parser (logs), and cluster filters to the cluster list', () => {
    const filters = [
      { key: 'team', operator: '=', value: 'quant' },
      { key: 'status', operator: '=~', value: '5..' },
    ];
    expect(applyAdHocFilters({ refId: 'A', queryType: 'metrics', expr: 'sum(rate(x[5m]))' }, filters).expr).toBe('sum(rate(x{team="quant", status=~"5.."}[5m]))');
    expect(applyAdHocFilters({ refId: 'A', queryType: 'logs', expr: '{app="a"} | json' }, filters).expr).toBe('{app="a"} | json | status=~"5.." | team="quant"');
    expect(applyAdHocFilters({ refId: 'A', queryType: 'metrics', expr: 'up', clusters: [] }, [{ key: 'cluster', operator: '=', value: 'east' }]).clusters).toEqual(['east']);
    expect(applyAdHocFilters({ refId: 'A', queryType: 'metrics', expr: 'up', clusters: ['west'] }, [{ key: 'cluster', operator: '=', value: 'east' }]).hide).toBe(true);
    expect(applyAdHocFilters({ refId: 'A', queryType: 'metrics', expr: 'up' }, [{ key: 'cluster', operator: '!=', value: 'east' }], ['east', 'west']).clusters).toEqual(['west']);
    // Other kinds and unknown operators are left alone.
    expect(applyAdHocFilters({ refId: 'A', queryType: 'gpu' }, filters)).toEqual({ refId: 'A', queryType: 'gpu' });
    expect(applyAdHocFilters({ refId: 'A', queryType: 'metrics', expr: 'up' }, [{ key: 'a', operator: '<', value: '1' }]).expr).toBe('up');
  });
});

describe('interpolateVariablesInQueries and query history text', () => {
  it('interpolates every query (clusters included) with ad-hoc filters, and keeps the datasource ref', () => {
    fakeTemplateSrv({ cluster: { value: ['east', 'west'], multi: true }, app: { value: 'gateway' } });
    const { ds } = fakeDataSource();
    const out = ds.interpolateVariablesInQueries(
      [
        { refId: 'A', queryType: 'logs', clusters: ['$cluster'], expr: '{app="$app"}' },
        { refId: 'B', queryType: 'traces', query: '{ resource.service.name = "$app" }' },
      ],
      {},
      [{ key: 'pod', operator: '=', value: 'p1' }]
    );
    expect(out[0]).toMatchObject({ clusters: ['east', 'west'], expr: '{app="gateway", pod="p1"}', datasource: { uid: 'fleetscope-uid', type: 'fleetscope-federation-datasource' } });
    expect(out[1]).toMatchObject({ query: '{ resource.service.name = "gateway" }', clusters: [] });
  });

  it('reads every kind as one line with its clusters', () => {
    const { ds } = fakeDataSource();
    const text = (q: Partial<FleetscopeQuery>) => ds.getQueryDisplayText({ refId: 'A', ...q });
    expect(text({ queryType: 'metrics', expr: 'up', aggregate: 'sum', clusters: ['east'] })).toBe('PromQL: up (sum across clusters) @ east');
    expect(text({ queryType: 'logs', expr: '{app="x"}', direction: 'forward' })).toBe('LogQL: {app="x"} (oldest first) @ all clusters');
    expect(text({ queryType: 'traces', query: '{ status = error }' })).toBe('TraceQL: { status = error } @ all clusters');
    expect(text({ queryType: 'traces', service: 'gateway', minDuration: '2s' })).toBe('TraceQL: service=gateway duration>=2s @ all clusters');
    expect(text({ queryType: 'traces', tracesView: 'trace', traceId: 'abc' })).toBe('Trace: abc @ all clusters');
    expect(text({ queryType: 'alerts', state: ['FIRING'], severity: ['CRITICAL'], matchers: 'team="q"' })).toBe('Alerts: FIRING severity CRITICAL {team="q"} @ all clusters');
    expect(text({ queryType: 'gpu', view: 'gpus' })).toBe('GPU gpus (auto) @ all clusters');
    expect(text({ queryType: 'cnf', cnfView: 'dpdk', pod: 'upf-0', port: 1 })).toBe('CNF dpdk pod upf-0 port 1 @ all clusters');
    expect(text({ queryType: 'macos' })).toBe('macOS power @ all clusters');
  });
});

describe('ClickHouse-store metrics queries in Explore', () => {
  const store: FleetscopeQuery = { refId: 'A', queryType: 'metrics', source: 'clickhouse', metric: 'DCGM_FI_DEV_GPU_UTIL', expr: 'up', clusters: ['east'] };

  it('filter for/out adds attribute matchers to the store filters, not to the (unused) PromQL', () => {
    const { ds } = fakeDataSource();
    const once = ds.modifyQuery(store, { type: 'ADD_FILTER', options: { key: 'Hostname', value: 'gpu-node-1' } });
    expect(once).toMatchObject({ matchers: '{Hostname="gpu-node-1"}', expr: 'up' });
    const twice = ds.modifyQuery(once, { type: 'ADD_FILTER_OUT', options: { key: 'gpu', value: '1' } });
    expect(twice.matchers).toBe('{Hostname="gpu-node-1", gpu!="1"}');
    // The same filter again is not added twice; the cluster label narrows the clusters.
    expect(ds.modifyQuery(twice, { type: 'ADD_FILTER_OUT', options: { key: 'gpu', value: '1' } }).matchers).toBe('{Hostname="gpu-node-1", gpu!="1"}');
    expect(ds.modifyQuery(store, { type: 'ADD_FILTER', options: { key: 'cluster_id', value: 'west' } }).clusters).toEqual(['west']);
    // Text the editor's rows cannot read (the backend takes single quotes, no braces) keeps its spelling.
    expect(ds.modifyQuery({ ...store, matchers: "gpu='0'," }, { type: 'ADD_FILTER', options: { key: 'k8s.pod.name', value: 'a"b' } }).matchers).toBe(
      '{gpu=\'0\', k8s.pod.name="a\\"b"}'
    );
    // No metric yet: nothing to filter.
    expect(ds.modifyQuery({ ...store, metric: '' }, { type: 'ADD_FILTER', options: { key: 'gpu', value: '0' } })).toEqual({ ...store, metric: '' });
  });

  it('ad-hoc filters: the store’s attribute names and values when the dashboard’s queries are store queries; filters become store matchers', async () => {
    fakeTemplateSrv({});
    const { ds, getResource } = fakeDataSource((path) => {
      switch (path) {
        case 'api/v1/cluster-metrics/attributes':
          return { data: ['gpu', 'Hostname'], clusters: [] };
        case 'api/v1/cluster-metrics/attributes/gpu/values':
          return { data: ['1', '0'], clusters: [] };
        case 'api/v1/metrics/labels':
          return { data: ['job'] };
        default:
          return { data: [] };
      }
    });
    expect(await ds.getTagKeys({ filters: [], queries: [store] })).toEqual([{ text: 'cluster' }, { text: 'gpu' }, { text: 'Hostname' }]);
    expect(getResource).toHaveBeenLastCalledWith('api/v1/cluster-metrics/attributes', { cluster_ids: 'east' });
    expect(await ds.getTagValues({ key: 'gpu', filters: [], queries: [store] })).toEqual([{ text: '0' }, { text: '1' }]);
    // A dashboard mixing PromQL and store queries: Prometheus' labels.
    expect(await ds.getTagKeys({ filters: [], queries: [store, { refId: 'B', queryType: 'metrics', expr: 'up' }] })).toEqual([{ text: 'cluster' }, { text: 'job' }]);

    const filtered = applyAdHocFilters({ ...store, matchers: '{gpu="0"}' }, [
      { key: 'Hostname', operator: '=~', value: 'node-.*' },
      { key: 'cluster', operator: '=', value: 'east' },
    ]);
    expect(filtered).toMatchObject({ matchers: '{gpu="0", Hostname=~"node-.*"}', expr: 'up', clusters: ['east'] });
  });

  it('interpolates metric, filters and group-by attributes', () => {
    fakeTemplateSrv({ node: { value: ['a', 'b'], multi: true }, by: { value: ['Hostname', 'gpu'], multi: true }, m: { value: 'DCGM_FI_DEV_FB_USED' } });
    const { ds } = fakeDataSource();
    const [out] = ds.interpolateVariablesInQueries([{ ...store, metric: '$m', matchers: '{Hostname=~"$node"}', groupBy: ['$by', 'modelName'] }], {});
    expect(out).toMatchObject({ metric: 'DCGM_FI_DEV_FB_USED', matchers: '{Hostname=~"(a|b)"}', groupBy: ['Hostname', 'gpu', 'modelName'] });
    expect(ds.getQueryDisplayText({ ...store, groupBy: ['Hostname'], reduce: 'avg' })).toBe('ClickHouse: DCGM_FI_DEV_GPU_UTIL avg by (Hostname) @ east');
  });

  it('interpolates the dashboards’ $source switch', () => {
    fakeTemplateSrv({ source: { value: 'clickhouse' } });
    const { ds } = fakeDataSource();
    const [metrics] = ds.interpolateVariablesInQueries([{ refId: 'A', queryType: 'metrics', source: '$source' as 'clickhouse', expr: 'up' }], {});
    expect(metrics.source).toBe('clickhouse');
    fakeTemplateSrv({ source: { value: 'prometheus' } });
    const [back] = ds.interpolateVariablesInQueries([{ refId: 'A', queryType: 'metrics', source: '$source' as 'clickhouse', expr: 'up' }], {});
    expect(back.source).toBe('prometheus');
  });

  it('raw SQL: template variables in SQL form (quotes doubled, multi-value as a list), the backend’s macros untouched; no label filters', () => {
    fakeTemplateSrv({ node: { value: ['a', "b'c"], multi: true }, team: { value: "o'neil" } });
    const { ds } = fakeDataSource();
    const sql = "SELECT 1 FROM t WHERE $__timeFilter(TimeUnix) AND h IN ($node) AND team = '$team' AND s = $__interval AND c IN $__clusters";
    const [out] = ds.interpolateVariablesInQueries([{ ...store, sql }], { __interval: { text: '15s', value: '15s' } });
    expect(out.sql).toBe("SELECT 1 FROM t WHERE $__timeFilter(TimeUnix) AND h IN ('a','b''c') AND team = 'o''neil' AND s = $__interval AND c IN $__clusters");
    // Filters have nowhere to go in the user's own statement.
    const raw = { ...store, sql: 'SELECT 1' };
    expect(ds.modifyQuery(raw, { type: 'ADD_FILTER', options: { key: 'gpu', value: '0' } })).toEqual(raw);
    expect(applyAdHocFilters(raw, [{ key: 'gpu', operator: '=', value: '0' }])).toEqual(raw);
  });
});
