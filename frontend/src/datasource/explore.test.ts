import {
  CoreApp,
  DataQueryRequest,
  FieldType,
  LogRowContextQueryDirection,
  LogRowModel,
  SupplementaryQueryType,
  createDataFrame,
  dateTime,
} from '@grafana/data';
import { of } from 'rxjs';

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
  it('counts the lines of each log query by level, summed across its clusters', () => {
    const { ds } = fakeDataSource();
    expect(ds.getSupportedSupplementaryQueryTypes()).toEqual([SupplementaryQueryType.LogsVolume]);
    const logs: FleetscopeQuery = { refId: 'A', queryType: 'logs', clusters: ['east', 'west'], expr: '{app="gateway"} |= "error" | json' };
    const req = ds.getSupplementaryRequest(SupplementaryQueryType.LogsVolume, request([logs, { refId: 'B', queryType: 'metrics', expr: 'up' }]));
    expect(req?.targets).toEqual([
      {
        refId: 'log-volume-A',
        datasource: undefined,
        queryType: 'logs',
        clusters: ['east', 'west'],
        expr: 'sum by (level) (count_over_time({app="gateway"} |= "error" | json[$__auto]))',
        instant: false,
        range: true,
        aggregate: 'sum',
        legendFormat: '{{level}}',
      },
    ]);
    expect(req?.range).toEqual(request([]).range);
  });

  it('has nothing to count for metric LogQL, other kinds or hidden queries', () => {
    const { ds } = fakeDataSource();
    const type = { type: SupplementaryQueryType.LogsVolume as const };
    expect(ds.getSupplementaryQuery(type, { refId: 'A', queryType: 'logs', expr: 'sum(rate({app="x"}[5m]))' })).toBeUndefined();
    expect(ds.getSupplementaryQuery(type, { refId: 'A', queryType: 'logs', expr: '{app="x"}', hide: true })).toBeUndefined();
    expect(ds.getSupplementaryQuery(type, { refId: 'A', queryType: 'metrics', expr: 'up' })).toBeUndefined();
    expect(ds.getSupplementaryQuery({ type: SupplementaryQueryType.LogsSample }, { refId: 'A', queryType: 'logs', expr: '{app="x"}' })).toBeUndefined();
    expect(ds.getSupplementaryRequest(SupplementaryQueryType.LogsVolume, request([{ refId: 'A', queryType: 'metrics', expr: 'up' }]))).toBeUndefined();
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
