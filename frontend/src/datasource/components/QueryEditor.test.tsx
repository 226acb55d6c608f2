import { LoadingState, PanelData, getDefaultTimeRange } from '@grafana/data';
import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';

import { FakeModel, completeAt, fakeMonacoState } from '../../test/fakeMonaco';
import { CLUSTERS_RESPONSE, defaultResources, fakeDataSource, fakeTemplateSrv } from '../../test/fakes';
import { FleetscopeQuery } from '../../types';
import { QueryEditor } from './QueryEditor';

// Monaco is not available in jest: CodeEditor becomes a textarea driving the same providers.
jest.mock('@grafana/ui', () => ({
  ...jest.requireActual('@grafana/ui'),
  CodeEditor: jest.requireActual('../../test/fakeMonaco').FakeCodeEditor,
}));

/** The fake Monaco model behind a query field. */
function modelOf(field: HTMLElement): FakeModel {
  return fakeMonacoState.models.get(field.getAttribute('data-model-id')!)!;
}

function setup(initial: Partial<FleetscopeQuery> = {}, data?: PanelData, handler?: Parameters<typeof fakeDataSource>[0]) {
  fakeTemplateSrv({ cluster: { value: ['east'], multi: true } });
  const { ds, getResource } = fakeDataSource(handler);
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  let latest: FleetscopeQuery = { refId: 'A', queryType: 'metrics', expr: '', aggregate: 'merge', ...initial };
  function Host() {
    const [query, setQuery] = useState(latest);
    return (
      <QueryEditor
        datasource={ds}
        query={query}
        data={data}
        onRunQuery={onRunQuery}
        onChange={(q) => {
          latest = q;
          setQuery(q);
          onChange(q);
        }}
      />
    );
  }
  const user = userEvent.setup();
  render(<Host />);
  return { user, onChange, onRunQuery, getResource, current: () => latest };
}

describe('QueryEditor', () => {
  it('closes the query field’s suggest widget before the field unmounts on a kind switch', async () => {
    const { user } = setup({ expr: 'up' });
    const model = modelOf(screen.getByRole('textbox', { name: 'PromQL query' })).id;
    fakeMonacoState.triggers.length = 0;
    await user.click(screen.getByRole('radio', { name: 'Logs' }));
    expect(screen.queryByRole('textbox', { name: 'PromQL query' })).not.toBeInTheDocument();
    expect(fakeMonacoState.triggers).toContainEqual({ model, handler: 'hideSuggestWidget' });
  });

  it('fills the cluster picker from api/v1/clusters and runs the query when clusters are chosen', async () => {
    const { user, onRunQuery, getResource, current } = setup({ expr: 'up' });
    expect(getResource).toHaveBeenCalledWith('api/v1/clusters', undefined);
    const picker = screen.getByRole('combobox', { name: 'Clusters' });
    await user.click(picker);
    const east = await screen.findByRole('option', { name: /prod-east-1 \(east\)/ });
    expect(screen.getByRole('option', { name: /gpu-lab \(lab\)/ })).toHaveTextContent('disabled');
    // Dashboard variables are offered too.
    expect(screen.getByRole('option', { name: /\$cluster/ })).toBeInTheDocument();
    await user.click(east);
    await user.click(await screen.findByRole('option', { name: /prod-west-1 \(west\)/ }));
    expect(current().clusters).toEqual(['east', 'west']);
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('types PromQL in the Monaco field, marks syntax errors, runs it with Shift+Enter', async () => {
    const { user, onRunQuery, current } = setup();
    const field = screen.getByRole('textbox', { name: 'PromQL query' });
    await user.click(field);
    await user.keyboard('sum(rate(gateway_requests_total[[5m]))');
    expect(current().expr).toBe('sum(rate(gateway_requests_total[5m]))');
    onRunQuery.mockClear();
    await user.keyboard('{Shift>}{Enter}{/Shift}');
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(current().expr).toBe('sum(rate(gateway_requests_total[5m]))');
    expect(fakeMonacoState.languages.has('fleetscope-promql')).toBe(true);
    expect(fakeMonacoState.markers.get(modelOf(field).id)).toEqual([]);
    await user.keyboard('{Backspace}');
    expect(fakeMonacoState.markers.get(modelOf(field).id)).toEqual([expect.objectContaining({ message: expect.stringMatching(/Incomplete query/) })]);
    expect(screen.getByTestId('fleetscope-syntax-error')).toHaveTextContent('Syntax error at 1:');
  });

  it('runs the query on blur', async () => {
    const { user, onRunQuery } = setup({ expr: 'up' });
    await user.click(screen.getByRole('textbox', { name: 'PromQL query' }));
    onRunQuery.mockClear();
    await user.tab();
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('completes label names and values from the federated label resources, on the selected clusters', async () => {
    const { user, getResource } = setup({ clusters: ['$cluster'] });
    const field = screen.getByRole('textbox', { name: 'PromQL query' });
    await user.click(field);
    await user.keyboard('up{{j');
    const names = await completeAt('fleetscope-promql', modelOf(field));
    expect(names.map((s) => s.label)).toEqual(expect.arrayContaining(['job', 'team']));
    expect(getResource).toHaveBeenCalledWith('api/v1/metrics/labels', { 'match[]': 'up', cluster_ids: 'east' });
    await user.keyboard('ob="');
    const values = await completeAt('fleetscope-promql', modelOf(field));
    expect(values.map((s) => s.insertText)).toEqual(['gateway', 'quant-api']);
    expect(getResource).toHaveBeenCalledWith('api/v1/metrics/label/job/values', { 'match[]': 'up', cluster_ids: 'east' });
    // Functions come with their docs.
    await user.keyboard('"}) + hist');
    const fns = await completeAt('fleetscope-promql', modelOf(field));
    const hq = fns.find((s) => s.label === 'histogram_quantile');
    expect(hq?.detail).toBe('histogram_quantile(φ scalar, b instant-vector)');
    expect(hq?.documentation?.value).toMatch(/quantile/);
  });

  it('completion follows the cluster selector: its matched clusters, or nobody when it matches none', async () => {
    const handler = (path: string, params?: Record<string, string>) =>
      path === 'api/v1/clusters' && params?.selector
        ? { clusters: params.selector === 'region="us-west-2"' ? [CLUSTERS_RESPONSE.clusters[1]] : [], total: 3 }
        : defaultResources(path);
    const { user, getResource } = setup({ clusterSelector: 'region="us-west-2"' }, undefined, handler);
    const field = screen.getByRole('textbox', { name: 'PromQL query' });
    await user.click(field);
    await user.keyboard('up{{');
    const names = await completeAt('fleetscope-promql', modelOf(field));
    expect(names.map((s) => s.label)).toEqual(expect.arrayContaining(['job', 'team']));
    expect(getResource).toHaveBeenCalledWith('api/v1/metrics/labels', { 'match[]': 'up', cluster_ids: 'west' });
    getResource.mockClear();
    await user.clear(screen.getByRole('textbox', { name: 'Cluster selector' }));
    await user.type(screen.getByRole('textbox', { name: 'Cluster selector' }), 'region="eu-west-1"');
    await user.tab();
    expect(await completeAt('fleetscope-promql', modelOf(field))).toEqual([]);
    expect(getResource.mock.calls.filter((c) => c[0] !== 'api/v1/clusters')).toEqual([]);
  });

  it('sets aggregation, legend, instant and step', async () => {
    const { user, current, onRunQuery } = setup({ expr: 'up' });
    await user.click(screen.getByRole('radio', { name: 'Sum' }));
    expect(current().aggregate).toBe('sum');
    await user.click(screen.getByRole('radio', { name: 'Instant' }));
    expect(current()).toMatchObject({ instant: true, range: false });
    await user.type(screen.getByRole('textbox', { name: 'Legend format' }), '{{{{cluster}}');
    await user.type(screen.getByRole('textbox', { name: 'Min step' }), '30s');
    await user.tab();
    expect(current()).toMatchObject({ legendFormat: '{{cluster}}', step: '30s' });
    expect(onRunQuery).toHaveBeenCalled();
    // The exemplars toggle sends `exemplars: true` (the backend then asks each cluster's query_exemplars).
    await user.click(screen.getByRole('switch', { name: 'Exemplars' }));
    expect(current().exemplars).toBe(true);
  });

  it('switches query type, keeping the clusters and starting the kind fresh', async () => {
    const { user, current, onRunQuery } = setup({ expr: 'up', clusters: ['east'], aggregate: 'sum' });
    await user.click(screen.getByRole('radio', { name: 'Logs' }));
    expect(current()).toEqual({ refId: 'A', queryType: 'logs', clusters: ['east'], expr: '', direction: 'backward' });
    expect(onRunQuery).toHaveBeenCalled();
    const logql = screen.getByRole('textbox', { name: 'LogQL query' });
    await user.click(logql);
    await user.keyboard('{{app="gateway"} |= "error"');
    await user.click(screen.getByRole('radio', { name: 'Oldest first' }));
    await user.type(screen.getByRole('spinbutton', { name: 'Line limit' }), '500');
    expect(current()).toMatchObject({ expr: '{app="gateway"} |= "error"', direction: 'forward', limit: 500 });
    // Explore's logs volume, one histogram per cluster on demand (and back: the key is dropped).
    onRunQuery.mockClear();
    await user.click(screen.getByRole('radio', { name: 'Per cluster' }));
    expect(current().volumeByCluster).toBe(true);
    expect(onRunQuery).toHaveBeenCalled();
    await user.click(screen.getByRole('radio', { name: 'All clusters' }));
    expect(current().volumeByCluster).toBeUndefined();
  });

  it('edits trace search criteria, trace id and TraceQL', async () => {
    const { user, current } = setup({ queryType: 'traces', tracesView: 'search' });
    await user.type(screen.getByRole('textbox', { name: 'Service' }), 'gateway');
    await user.type(screen.getByRole('textbox', { name: 'Min duration' }), '2s');
    await user.type(screen.getByRole('textbox', { name: 'Tags' }), 'team=quant');
    expect(current()).toMatchObject({ service: 'gateway', minDuration: '2s', tags: 'team=quant' });
    await user.click(screen.getByRole('textbox', { name: 'TraceQL query' }));
    await user.keyboard('{{ status = error }');
    expect(current().query).toBe('{ status = error }');
    expect(screen.getByText('Search criteria (ignored: TraceQL is set)')).toBeInTheDocument();
    await user.click(screen.getByRole('radio', { name: 'Trace ID' }));
    await user.type(screen.getByRole('textbox', { name: 'Trace ID' }), 'abc123');
    expect(current()).toMatchObject({ tracesView: 'trace', traceId: 'abc123' });
  });

  it('edits alert filters', async () => {
    const { user, current } = setup({ queryType: 'alerts', state: ['FIRING'] });
    await user.click(screen.getByRole('combobox', { name: 'Severity' }));
    await user.click(await screen.findByRole('option', { name: 'critical' }));
    expect(current().severity).toEqual(['CRITICAL']);
    await user.type(screen.getByRole('textbox', { name: 'Alert matchers' }), 'team="quant"');
    await user.click(screen.getByRole('switch', { name: 'Alert history' }));
    expect(current()).toMatchObject({ matchers: 'team="quant"', history: true, state: ['FIRING'] });
  });

  it('picks GPU, CNF and macOS views', async () => {
    const { user, current } = setup({ queryType: 'gpu', view: 'nodes', source: 'auto' });
    await user.click(screen.getByRole('radio', { name: 'Processes' }));
    await user.click(screen.getByRole('radio', { name: 'DCGM' }));
    expect(current()).toMatchObject({ view: 'processes', source: 'dcgm' });
    await user.click(screen.getByRole('radio', { name: 'CNF' }));
    await user.click(screen.getByRole('radio', { name: 'DPDK' }));
    await user.type(screen.getByRole('textbox', { name: 'DPDK pod' }), 'cnf/upf-0');
    await user.type(screen.getByRole('spinbutton', { name: 'DPDK port' }), '1');
    expect(current()).toMatchObject({ queryType: 'cnf', cnfView: 'dpdk', pod: 'cnf/upf-0', port: 1 });
    await user.click(screen.getByRole('radio', { name: 'macOS' }));
    expect(current()).toMatchObject({ queryType: 'macos', view: 'power' });
  });

  it('shows backend errors and per-cluster warnings inline', async () => {
    const data: PanelData = {
      state: LoadingState.Error,
      timeRange: getDefaultTimeRange(),
      series: [
        {
          refId: 'A',
          length: 0,
          fields: [],
          meta: { notices: [{ severity: 'warning', text: 'prod-west-1: CLUSTER_UNREACHABLE: connection refused' }] },
        },
        { refId: 'B', length: 0, fields: [], meta: { custom: { clusterSelector: { selector: 'env="dev"', matched: ['lab'] } } } },
      ],
      errors: [
        { refId: 'A', message: 'INVALID_PROMQL: unexpected end of input' },
        { refId: 'B', message: 'not mine' },
      ],
    };
    setup({ expr: 'sum(' }, data);
    // The grammar flags the syntax error before the backend does.
    expect(screen.getByTestId('fleetscope-syntax-error')).toHaveTextContent(/Incomplete query/);
    expect(screen.getByTestId('fleetscope-query-error')).toHaveTextContent('INVALID_PROMQL: unexpected end of input');
    expect(screen.queryByText('not mine')).not.toBeInTheDocument();
    expect(screen.getByTestId('fleetscope-query-warning')).toHaveTextContent('prod-west-1: CLUSTER_UNREACHABLE');
    // Another query's selector resolution is not this one's.
    expect(screen.queryByTestId('fleetscope-selector-last-run')).not.toBeInTheDocument();
  });

  it('says how the backend resolved the selector on the last run (meta.custom.clusterSelector)', async () => {
    const data: PanelData = {
      state: LoadingState.Done,
      timeRange: getDefaultTimeRange(),
      series: [{ refId: 'A', length: 0, fields: [], meta: { custom: { clusterSelector: { selector: 'env="prod"', matched: ['east', 'west'] } } } }],
    };
    setup({ expr: 'up', clusterSelector: 'env="prod"' }, data);
    expect(screen.getByTestId('fleetscope-selector-last-run')).toHaveTextContent('Last run: env="prod" matched 2 clusters (east, west)');
    // The live preview of the same selector (the fake answers every selector with the default cluster list).
    expect(await screen.findByText('matches 3 of 3 clusters: east, west, lab (1 disabled or not online: not queried unless picked)')).toBeInTheDocument();
  });

  it('previews what the cluster selector matches, shows the backend rejection inline and narrows the picker', async () => {
    const answers: Record<string, unknown> = {
      'region=~"us-.*"': { clusters: CLUSTERS_RESPONSE.clusters.slice(0, 2), total: 2 },
      'region="us-west-2"': { clusters: [CLUSTERS_RESPONSE.clusters[1]], total: 1 },
      'cluster_id=~"east"': { clusters: [CLUSTERS_RESPONSE.clusters[0]], total: 1 },
      env: Object.assign(new Error('Bad Request'), {
        status: 400,
        data: { error: { code: 'INVALID_QUERY', message: 'selector: expected one of =, !=, =~, !~ after "env"' } },
      }),
    };
    const { user, current, getResource, onRunQuery } = setup({ expr: 'up', clusters: ['east'] }, undefined, (path, params) =>
      path === 'api/v1/clusters' && params?.selector ? answers[params.selector] ?? { clusters: [], total: 0 } : defaultResources(path)
    );
    const field = screen.getByRole('textbox', { name: 'Cluster selector' });
    await user.click(field);
    await user.paste('region=~"us-.*"');
    expect(current().clusterSelector).toBe('region=~"us-.*"');
    expect(await screen.findByText('matches 2 of 3 clusters: east, west')).toBeInTheDocument();
    expect(getResource).toHaveBeenCalledWith('api/v1/clusters', { selector: 'region=~"us-.*"' }, { showErrorAlert: false });
    expect(screen.queryByTestId('fleetscope-selector-outside')).not.toBeInTheDocument();

    // A selector the backend rejects: its message, inline, and no stale count.
    await user.clear(field);
    await user.paste('env');
    expect(await screen.findByText('Cluster selector rejected: selector: expected one of =, !=, =~, !~ after "env"')).toBeInTheDocument();
    expect(screen.queryByTestId('fleetscope-selector-preview')).not.toBeInTheDocument();

    // A selector that leaves out a picked cluster: the picker offers only the matches and says why east is odd.
    await user.clear(field);
    await user.paste('region="us-west-2"');
    expect(await screen.findByText('matches 1 of 3 clusters: west')).toBeInTheDocument();
    expect(screen.queryByText(/Cluster selector rejected/)).not.toBeInTheDocument();
    expect(screen.getByTestId('fleetscope-selector-outside')).toHaveTextContent('east: the selector does not match it');
    await user.click(screen.getByRole('combobox', { name: 'Clusters' }));
    expect(await screen.findByRole('option', { name: /prod-west-1 \(west\)/ })).toBeInTheDocument();
    expect(screen.queryByRole('option', { name: /prod-east-1/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('option', { name: /gpu-lab/ })).not.toBeInTheDocument();
    expect(screen.getByRole('option', { name: /^east/ })).toHaveTextContent('not matched by the cluster selector');
    await user.keyboard('{Escape}');

    // Dashboard variables in the selector are replaced before asking; leaving the field runs the query.
    await user.clear(field);
    await user.paste('cluster_id=~"$cluster"');
    expect(await screen.findByText('matches 1 of 3 clusters: east')).toBeInTheDocument();
    expect(getResource).toHaveBeenCalledWith('api/v1/clusters', { selector: 'cluster_id=~"east"' }, { showErrorAlert: false });
    expect(current().clusterSelector).toBe('cluster_id=~"$cluster"');
    onRunQuery.mockClear();
    await user.tab();
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('says so when the cluster list cannot be loaded', async () => {
    setup({}, undefined, (path) => (path === 'api/v1/clusters' ? Object.assign(new Error('x'), { data: { message: 'backend down' } }) : { data: [] }));
    await waitFor(() => expect(screen.getByText('Could not load clusters: backend down')).toBeInTheDocument());
    await act(async () => {});
  });
});
