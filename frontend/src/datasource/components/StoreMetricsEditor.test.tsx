import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';

import { defaultResources, fakeDataSource, fakeTemplateSrv } from '../../test/fakes';
import { FleetscopeQuery } from '../../types';
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

const storeResources = (path: string) => {
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
function mount(initial: FleetscopeQuery) {
  fakeTemplateSrv();
  const { ds, getResource } = fakeDataSource(storeResources);
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
  render(<Host />);
  return { state, getResource, user };
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
    await user.click(screen.getByRole('radio', { name: 'Builder' }));
    expect(state.latest.sql).toBeUndefined();
    expect(state.latest.metric).toBe('DCGM_FI_DEV_GPU_UTIL');
    expect(state.runs.map((q) => q.sql)).toEqual([sqlTemplate('DCGM_FI_DEV_GPU_UTIL'), "SELECT 'east' AS cluster, now() AS t, 1 AS value", undefined]);
  });
});
