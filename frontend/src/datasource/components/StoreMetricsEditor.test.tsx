import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';

import { FakeModel, completeAt, fakeMonacoState } from '../../test/fakeMonaco';
import { CLUSTERS_RESPONSE, defaultResources, fakeDataSource, fakeTemplateSrv } from '../../test/fakes';
import { FleetscopeOptions, FleetscopeQuery } from '../../types';
import { KINDS } from '../kinds';
import { formatMatchers, parseMatchers } from '../storeMatchers';
import { QueryEditor } from './QueryEditor';
import { sqlTemplate } from './StoreMetricsEditor';

jest.mock('@grafana/ui', () => ({
  ...jest.requireActual('@grafana/ui'),
  CodeEditor: jest.requireActual('../../test/fakeMonaco').FakeCodeEditor,
}));

describe('ClickHouse store filters', () => {
  it('reads and writes selector text', () => {
    expect(parseMatchers('')).toEqual([]);
    expect(parseMatchers('{gpu="0", modelName=~"H100.*"}')).toEqual([
      { key: 'gpu', op: '=', value: '0' },
      { key: 'modelName', op: '=~', value: 'H100.*' },
    ]);
    expect(parseMatchers('{k8s.pod.name!="a\\"b"}')).toEqual([{ key: 'k8s.pod.name', op: '!=', value: 'a"b' }]);
    // Escapes as the backend reads them; attribute keys with dots, slashes and letters beyond ASCII.
    expect(parseMatchers('{msg="a\\nb", service.namespace/x="y", größe="1"}')).toEqual([
      { key: 'msg', op: '=', value: 'a\nb' },
      { key: 'service.namespace/x', op: '=', value: 'y' },
      { key: 'größe', op: '=', value: '1' },
    ]);
    // Not a selector the rows can show: edited as text.
    expect(parseMatchers('{gpu="0" foo}')).toBeUndefined();
    expect(parseMatchers('gpu="0"')).toBeUndefined();
    expect(formatMatchers([{ key: 'gpu', op: '!~', value: '1|2' }, { key: '', op: '=', value: 'x' }, { key: 'm', op: '=', value: 'a"b' }])).toBe('{gpu!~"1|2", m="a\\"b"}');
    expect(formatMatchers([])).toBe('');
  });

  it('writes one history line per store query', () => {
    const q = { refId: 'A', queryType: 'metrics' as const, source: 'clickhouse' as const, metric: 'gpu_util', matchers: '{gpu="0"}', function: 'histogram_quantile' as const, quantile: 0.99, groupBy: ['Hostname'], aggregate: 'max' as const };
    expect(KINDS.metrics.summary(q)).toBe('ClickHouse: histogram_quantile(0.99, gpu_util{gpu="0"}) sum by (Hostname) (max across clusters)');
    expect(KINDS.metrics.runnable(q)).toBe(true);
    expect(KINDS.metrics.runnable({ ...q, metric: ' ' })).toBe(false);
  });
});

const storeResources = (path: string, params?: Record<string, string>) => {
  if (path === 'api/v1/clusters' && params?.selector) {
    // env="prod" matches east and west; anything else matches nothing.
    return { clusters: params.selector === 'env="prod"' ? CLUSTERS_RESPONSE.clusters.slice(0, 2) : [], total: 3 };
  }
  switch (path) {
    case 'api/v1/cluster-metrics/metrics':
      return { data: [{ name: 'DCGM_FI_DEV_GPU_UTIL', type: 'gauge', help: '', unit: '' }, { name: 'DCGM_FI_DEV_FB_USED', type: 'gauge' }], clusters: [] };
    case 'api/v1/cluster-metrics/attributes':
      return { data: ['gpu', 'Hostname'], clusters: [] };
    case 'api/v1/cluster-metrics/attributes/gpu/values':
      return { data: ['1', '0'], clusters: [] };
    default:
      return defaultResources(path);
  }
};

/** The query editor in a host that keeps its query; `latest` is the query as last changed, `runs` what each run sent. */
function mount(initial: FleetscopeQuery, jsonData: FleetscopeOptions = {}) {
  fakeTemplateSrv();
  const { ds, getResource } = fakeDataSource(storeResources, jsonData);
  const state = { latest: initial, runs: [] as FleetscopeQuery[] };
  function Host() {
    const [query, setQuery] = useState(initial);
    return (
      <QueryEditor
        datasource={ds}
        query={query}
        onRunQuery={() => state.runs.push(state.latest)}
        onChange={(q) => {
          state.latest = q;
          setQuery(q);
        }}
      />
    );
  }
  const user = userEvent.setup();
  const view = render(<Host />);
  return { state, getResource, user, view };
}

describe('Metrics editor, ClickHouse source', () => {
  it('completes metric names, attribute keys and values from the store', async () => {
    const { state, getResource, user } = mount({ refId: 'A', queryType: 'metrics', expr: 'up', aggregate: 'merge', clusters: ['east'] });
    await user.click(screen.getByRole('radio', { name: 'ClickHouse' }));
    expect(state.latest.source).toBe('clickhouse');
    // PromQL-only controls are gone.
    expect(screen.queryByRole('textbox', { name: 'PromQL query' })).not.toBeInTheDocument();
    expect(screen.queryByRole('switch', { name: 'Exemplars' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('combobox', { name: 'Store metric' }));
    await user.keyboard('DCGM_FI_DEV_G');
    await user.click(await screen.findByRole('option', { name: /DCGM_FI_DEV_GPU_UTIL/ }));
    expect(state.latest.metric).toBe('DCGM_FI_DEV_GPU_UTIL');
    expect(getResource).toHaveBeenCalledWith('api/v1/cluster-metrics/metrics', expect.objectContaining({ cluster_ids: 'east', prefix: 'DCGM_FI_DEV_G' }));

    await user.click(screen.getByRole('button', { name: 'Add filter' }));
    await user.click(screen.getByRole('combobox', { name: 'Filter 1 attribute' }));
    await user.click(await screen.findByRole('option', { name: 'gpu' }));
    expect(getResource).toHaveBeenCalledWith('api/v1/cluster-metrics/attributes', expect.objectContaining({ cluster_ids: 'east', metric: 'DCGM_FI_DEV_GPU_UTIL' }));
    await user.click(screen.getByRole('combobox', { name: 'Filter 1 value' }));
    await user.click(await screen.findByRole('option', { name: '0' }));
    expect(state.latest.matchers).toBe('{gpu="0"}');
    expect(getResource).toHaveBeenCalledWith('api/v1/cluster-metrics/attributes/gpu/values', expect.objectContaining({ cluster_ids: 'east', metric: 'DCGM_FI_DEV_GPU_UTIL' }));
    // The last run sent the metric with its filter.
    expect(state.runs[state.runs.length - 1]).toMatchObject({ source: 'clickhouse', metric: 'DCGM_FI_DEV_GPU_UTIL', matchers: '{gpu="0"}' });
  });

  it('Combine writes the grouping (none chosen: all series into one), Each drops it', async () => {
    const { state, user } = mount({ refId: 'A', queryType: 'metrics', aggregate: 'merge', clusters: ['east'], source: 'clickhouse', metric: 'DCGM_FI_DEV_GPU_UTIL' });
    expect(screen.queryByRole('combobox', { name: 'Group by' })).not.toBeInTheDocument();
    await user.click(screen.getByRole('radio', { name: 'Combine' }));
    expect(state.latest.groupBy).toEqual([]);
    await user.click(screen.getByRole('combobox', { name: 'Group by' }));
    await user.click(await screen.findByRole('option', { name: 'Hostname' }));
    await waitFor(() => expect(state.latest.groupBy).toEqual(['Hostname']));
    await user.keyboard('{Escape}');
    await user.click(screen.getByRole('radio', { name: 'Each' }));
    expect(state.latest.groupBy).toBeUndefined();
    expect(screen.queryByRole('radio', { name: 'Count' })).not.toBeInTheDocument();
  });

  it('writes function, φ and reduce; Prometheus again keeps the PromQL', async () => {
    const { state, user } = mount({
      refId: 'A',
      queryType: 'metrics',
      expr: 'up',
      aggregate: 'merge',
      clusters: ['east'],
      source: 'clickhouse',
      metric: 'DCGM_FI_DEV_GPU_UTIL',
      matchers: '{gpu="0"}',
      groupBy: ['Hostname'],
    });
    // "Max" thrice, in page order: the function, the group-by reduce, the cross-cluster aggregate.
    await user.click(screen.getAllByRole('radio', { name: 'Max' })[1]);
    await user.click(screen.getByRole('radio', { name: 'Quantile' }));
    fireEvent.change(screen.getByRole('spinbutton', { name: 'Quantile' }), { target: { value: '0.99' } });
    expect(state.latest).toMatchObject({
      source: 'clickhouse',
      metric: 'DCGM_FI_DEV_GPU_UTIL',
      matchers: '{gpu="0"}',
      groupBy: ['Hostname'],
      reduce: 'max',
      function: 'histogram_quantile',
      quantile: 0.99,
      clusters: ['east'],
    });
    await user.click(screen.getByRole('radio', { name: 'Prometheus' }));
    expect(state.latest.source).toBeUndefined();
    expect(screen.getByRole('textbox', { name: 'PromQL query' })).toBeInTheDocument();
  });

  it('SQL mode: starts from the metric with the macros, blur runs the edited statement, Builder drops it', async () => {
    const { state, user } = mount({ refId: 'A', queryType: 'metrics', source: 'clickhouse', metric: 'DCGM_FI_DEV_GPU_UTIL', aggregate: 'merge' });
    await user.click(screen.getByRole('radio', { name: 'SQL' }));
    expect(state.latest.sql).toBe(sqlTemplate('DCGM_FI_DEV_GPU_UTIL'));
    expect(state.latest.sql).toContain("MetricName = 'DCGM_FI_DEV_GPU_UTIL' AND $__timeFilter(TimeUnix) AND cluster IN $__clusters");
    expect(screen.queryByRole('combobox', { name: 'Store metric' })).not.toBeInTheDocument();
    const sql = screen.getByRole('textbox', { name: 'Store SQL' });
    await user.clear(sql);
    await user.type(sql, "SELECT 'east' AS cluster, now() AS t, 1 AS value");
    await user.tab();
    expect(state.latest.sql).toBe("SELECT 'east' AS cluster, now() AS t, 1 AS value");
    expect(KINDS.metrics.summary(state.latest)).toBe("ClickHouse: SQL SELECT 'east' AS cluster, now() AS t, 1 AS value");
    // Leaving SQL mode unmounts the editor: its suggest widget is closed first (a Monaco dispose with the docs pane open throws).
    const sqlModel = sql.getAttribute('data-model-id');
    fakeMonacoState.triggers.length = 0;
    await user.click(screen.getByRole('radio', { name: 'Builder' }));
    expect(fakeMonacoState.triggers).toContainEqual({ model: sqlModel, handler: 'hideSuggestWidget' });
    expect(state.latest.sql).toBeUndefined();
    expect(state.latest.metric).toBe('DCGM_FI_DEV_GPU_UTIL');
    expect(state.runs.map((q) => q.sql)).toEqual([sqlTemplate('DCGM_FI_DEV_GPU_UTIL'), "SELECT 'east' AS cluster, now() AS t, 1 AS value", undefined]);
  });
});

describe('ClickHouse store editor, cluster selector', () => {
  it('completes metric names from the clusters the selector matches, picked ones intersected', async () => {
    const { getResource, user } = mount({ refId: 'A', queryType: 'metrics', source: 'clickhouse', clusterSelector: 'env="prod"', clusters: ['west', 'lab'] });
    await user.click(screen.getByRole('combobox', { name: 'Store metric' }));
    await user.keyboard('DCGM');
    await screen.findByRole('option', { name: /DCGM_FI_DEV_GPU_UTIL/ });
    const asked = getResource.mock.calls.filter((c) => c[0] === 'api/v1/cluster-metrics/metrics').map((c) => c[1]?.cluster_ids);
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked)).toEqual(new Set(['west']));
  });

  it('a selector matching no cluster asks the store nothing', async () => {
    const { getResource, user } = mount({ refId: 'A', queryType: 'metrics', source: 'clickhouse', clusterSelector: 'region=~"eu-.*"' });
    await user.click(screen.getByRole('combobox', { name: 'Store metric' }));
    await user.keyboard('DCGM');
    await waitFor(() => expect(getResource.mock.calls.some((c) => c[1]?.selector === 'region=~"eu-.*"')).toBe(true));
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByRole('option', { name: /DCGM_FI_DEV_GPU_UTIL/ })).not.toBeInTheDocument();
    expect(getResource.mock.calls.filter((c) => c[0] === 'api/v1/cluster-metrics/metrics')).toEqual([]);
  });
});

describe('ClickHouse store editor, SQL completion', () => {
  const modelOf = (el: HTMLElement) => fakeMonacoState.models.get(el.getAttribute('data-model-id')!)!;
  const labels = (items: Array<{ label: string }>) => items.map((i) => i.label);
  const stores: FleetscopeOptions = {
    clickhouse: [{ id: 'lts', url: 'http://ch:8123', database: 'metrics', gaugeTable: 'gauges', clusterAttribute: 'k8s.cluster.name' }],
  };

  it('offers macros, the store tables, columns, metric names after MetricName = and the cluster attribute', async () => {
    const { getResource } = mount({ refId: 'A', queryType: 'metrics', source: 'clickhouse', clusterSelector: 'env="prod"', sql: '' }, stores);
    const model = modelOf(screen.getByRole('textbox', { name: 'Store SQL' }));

    model.setValue('SELECT avg(Value) FROM ');
    const tables = await completeAt('sql', model);
    expect(labels(tables)).toEqual(['metrics.gauges', 'metrics.otel_metrics_sum', 'metrics.otel_metrics_histogram']);

    model.setValue('SELECT avg(Value) FROM metrics.otel_metrics_histogram WHERE $__ti');
    const macros = await completeAt('sql', model);
    expect(labels(macros)).toContain('$__timeFilter(column)');
    expect(labels(macros)).toContain('$__clusters');
    expect(macros.every((m) => m.label.startsWith('$__'))).toBe(true);
    expect(macros.find((m) => m.label === '$__timeFilter(column)')!.documentation!.value).toContain('fromUnixTimestamp64Milli({__from_ms:Int64})');

    model.setValue('SELECT  FROM metrics.otel_metrics_histogram');
    const columns = await completeAt('sql', model, 'SELECT '.length);
    expect(labels(columns)).toEqual(expect.arrayContaining(['MetricName', 'Attributes', 'ResourceAttributes', 'TimeUnix', 'BucketCounts', 'ExplicitBounds']));
    // A histogram has no Value column.
    expect(labels(columns)).not.toContain('Value');

    model.setValue("SELECT 1 FROM metrics.gauges WHERE MetricName = 'DCGM_FI_DEV_G");
    const metrics = await completeAt('sql', model);
    expect(labels(metrics)).toEqual(['DCGM_FI_DEV_GPU_UTIL']);
    expect(getResource).toHaveBeenCalledWith('api/v1/cluster-metrics/metrics', expect.objectContaining({ prefix: 'DCGM_FI_DEV_G', cluster_ids: 'east,west' }));

    model.setValue('SELECT ResourceAttributes[');
    expect(labels(await completeAt('sql', model))).toEqual(['$__clusterAttribute', 'k8s.cluster.name']);

    model.setValue("SELECT 1 -- FROM ");
    expect(await completeAt('sql', model)).toEqual([]);
  });

  it('registers one provider for all SQL editors and disposes it with the last', async () => {
    const before = fakeMonacoState.completion.get('sql')?.length ?? 0;
    const a = mount({ refId: 'A', queryType: 'metrics', source: 'clickhouse', sql: 'SELECT 1' });
    const b = mount({ refId: 'B', queryType: 'metrics', source: 'clickhouse', sql: 'SELECT 2' });
    expect(fakeMonacoState.completion.get('sql')).toHaveLength(before + 1);
    const [second] = screen.getAllByRole('textbox', { name: 'Store SQL' }).slice(1);
    const model: FakeModel = modelOf(second);
    model.setValue('SELECT $__clu');
    // One provider: each macro once, not once per editor.
    const items = labels(await completeAt('sql', model));
    expect(items.filter((l) => l === '$__clusters')).toHaveLength(1);
    expect(new Set(items).size).toBe(items.length);
    a.view.unmount();
    expect(fakeMonacoState.completion.get('sql')).toHaveLength(before + 1);
    expect((await completeAt('sql', model)).length).toBeGreaterThan(0);
    b.view.unmount();
    expect(fakeMonacoState.completion.get('sql')).toHaveLength(before);
  });
});
