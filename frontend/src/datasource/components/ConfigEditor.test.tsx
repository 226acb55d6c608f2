import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';

import { ClustersLoader } from './config/DiscoveredClusters';
import { Settings } from './config/secrets';
import { ConfigEditor } from './ConfigEditor';

const base: Settings = {
  id: 1,
  uid: 'fs',
  orgId: 1,
  name: 'Fleetscope',
  type: 'fleetscope-federation-datasource',
  typeName: 'Fleetscope',
  typeLogoUrl: '',
  access: 'proxy',
  url: '',
  user: '',
  database: '',
  basicAuth: false,
  basicAuthUser: '',
  isDefault: false,
  withCredentials: false,
  readOnly: false,
  version: 1,
  jsonData: {
    clusters: [
      {
        id: 'east',
        name: 'prod-east-1',
        labels: { region: 'us-east-1' },
        enabled: true,
        prometheus: { url: 'http://prometheus.east:9090', kind: 'prometheus' },
      },
    ],
  },
  secureJsonFields: { 'east.bearerToken': true, 'east.tlsCACert': true },
  secureJsonData: {},
};

// The whole editor re-renders per keystroke; paste long values in one change.
async function fill(user: ReturnType<typeof userEvent.setup>, el: HTMLElement, text: string) {
  await user.click(el);
  await user.paste(text);
}

function setup(initial: Settings = base, loadClusters: ClustersLoader = async () => ({ clusters: [], total: 0, sources: [] })) {
  let latest = initial;
  const onOptionsChange = jest.fn();
  function Host() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        loadClusters={loadClusters}
        options={options}
        onOptionsChange={(o) => {
          latest = o as Settings;
          setOptions(o as Settings);
          onOptionsChange(o);
        }}
      />
    );
  }
  render(<Host />);
  return { user: userEvent.setup(), current: () => latest, onOptionsChange };
}

describe('ConfigEditor', () => {
  it('edits a cluster and its endpoints', async () => {
    const { user, current } = setup();
    // A single cluster starts expanded.
    await user.clear(screen.getByRole('textbox', { name: 'Cluster name' }));
    await fill(user, screen.getByRole('textbox', { name: 'Cluster name' }), 'east-prod');
    await user.click(screen.getByRole('radio', { name: 'Mimir' }));
    await fill(user, screen.getByRole('textbox', { name: 'east prometheus tenant' }), 'team-a');
    await fill(user, screen.getByRole('textbox', { name: 'east loki url' }), 'http://loki.east:3100');
    await fill(user, screen.getByRole('textbox', { name: 'east tempo url' }), 'http://tempo.east:3200');
    await fill(user, screen.getByRole('textbox', { name: 'east alertmanager url' }), 'http://am.east:9093');
    await fill(user, screen.getByRole('textbox', { name: 'east kubernetes server' }), 'https://api.east:6443');
    await fill(user, screen.getByRole('textbox', { name: 'GPU namespace' }), 'gpu-operator');
    await user.click(screen.getByRole('switch', { name: 'Skip TLS verify' }));
    const labels = screen.getByRole('textbox', { name: 'Cluster labels' });
    await user.clear(labels);
    await user.type(labels, 'region=us-east-1, tier=gpu');
    await user.tab();
    expect(current().jsonData.clusters![0]).toEqual({
      id: 'east',
      name: 'east-prod',
      labels: { region: 'us-east-1', tier: 'gpu' },
      enabled: true,
      prometheus: { url: 'http://prometheus.east:9090', kind: 'mimir', tenant: 'team-a', tlsSkipVerify: true },
      loki: { url: 'http://loki.east:3100' },
      tempo: { url: 'http://tempo.east:3200' },
      alertmanager: { url: 'http://am.east:9093' },
      kubernetes: { server: 'https://api.east:6443', gpuNamespace: 'gpu-operator' },
    });
  });

  it('shows configured secrets without their values, resets and sets them under <clusterId>.<key>', async () => {
    const { user, current } = setup();
    const token = screen.getByRole('textbox', { name: 'Bearer token' });
    expect(token).toBeDisabled();
    expect(token).toHaveValue('configured');
    const resets = screen.getAllByRole('button', { name: 'Reset' });
    expect(resets).toHaveLength(2);
    await user.click(resets[0]);
    expect(current().secureJsonFields['east.bearerToken']).toBe(false);
    expect(current().secureJsonData!['east.bearerToken']).toBe('');
    await fill(user, screen.getByLabelText('Bearer token'), 's3cret');
    expect(current().secureJsonData!['east.bearerToken']).toBe('s3cret');
    await user.type(screen.getByLabelText('Prometheus basic auth password'), 'pw');
    expect(current().secureJsonData!['east.prometheus.basicAuthPassword']).toBe('pw');
    await user.type(screen.getByLabelText('Client key'), 'KEY');
    await fill(user, screen.getByLabelText('Webhook secret'), 'hook');
    expect(current().secureJsonData).toMatchObject({ 'east.tlsClientKey': 'KEY', 'east.webhookSecret': 'hook' });
    // Nothing secret ever lands in jsonData.
    expect(JSON.stringify(current().jsonData)).not.toMatch(/s3cret|pw|KEY|hook/);
  });

  it('validates ids and URLs', async () => {
    const { user, current } = setup();
    const id = screen.getByRole('textbox', { name: 'Cluster id' });
    await user.clear(id);
    await user.type(id, 'East!');
    await user.tab();
    expect(screen.getByText(/Lower-case letters, digits/)).toBeInTheDocument();
    expect(current().jsonData.clusters![0].id).toBe('east');
    await fill(user, screen.getByRole('textbox', { name: 'east loki url' }), 'loki:3100');
    expect(screen.getByText('Use an http:// or https:// URL')).toBeInTheDocument();
  });

  it('renaming a cluster deletes its stored secrets and warns first', async () => {
    const { user, current } = setup();
    const id = screen.getByRole('textbox', { name: 'Cluster id' });
    await user.clear(id);
    await user.type(id, 'us-east');
    expect(screen.getByText("Changing the id deletes this cluster's saved secrets")).toBeInTheDocument();
    await user.tab();
    expect(current().jsonData.clusters![0].id).toBe('us-east');
    expect(current().secureJsonFields).toMatchObject({ 'east.bearerToken': false, 'east.tlsCACert': false });
  });

  it('adds and removes clusters; removing deletes the cluster secrets', async () => {
    const { user, current } = setup();
    await user.click(screen.getByRole('button', { name: 'Add cluster' }));
    expect(current().jsonData.clusters!.map((c) => c.id)).toEqual(['east', 'cluster-2']);
    expect(screen.getByText('Clusters (2)')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Remove cluster east' }));
    expect(current().jsonData.clusters!.map((c) => c.id)).toEqual(['cluster-2']);
    expect(current().secureJsonFields['east.bearerToken']).toBe(false);
  });

  it('removing the first of two clusters leaves the other one\'s editor, id draft included, with it', async () => {
    const two: Settings = {
      ...base,
      jsonData: { clusters: [base.jsonData.clusters![0], { id: 'west', name: 'prod-west-1', enabled: true, prometheus: { url: 'http://prometheus.west:9090' } }] },
    };
    const { user, current } = setup(two);
    // Two clusters start collapsed: open both.
    await user.click(screen.getByText('prod-east-1'));
    await user.click(screen.getByText('prod-west-1'));
    expect(screen.getAllByRole('textbox', { name: 'Cluster id' }).map((e) => (e as HTMLInputElement).value)).toEqual(['east', 'west']);
    await user.click(screen.getByRole('button', { name: 'Remove cluster east' }));
    expect(current().jsonData.clusters!.map((c) => c.id)).toEqual(['west']);
    const id = screen.getByRole('textbox', { name: 'Cluster id' });
    expect(id).toHaveValue('west');
    await user.click(id);
    await user.tab();
    expect(current().jsonData.clusters!.map((c) => c.id)).toEqual(['west']);
    expect(current().secureJsonFields['east.bearerToken']).toBe(false);
  });

  it('a cluster\'s unsaved id draft stays with it when a cluster above is removed', async () => {
    const two: Settings = {
      ...base,
      jsonData: { clusters: [base.jsonData.clusters![0], { id: 'west', name: 'prod-west-1', enabled: true }] },
    };
    const { user, current } = setup(two);
    await user.click(screen.getByText('prod-east-1'));
    await user.click(screen.getByText('prod-west-1'));
    // An invalid draft is not applied on blur: it lives only in the editor.
    const westId = screen.getAllByRole('textbox', { name: 'Cluster id' })[1];
    await user.clear(westId);
    await user.type(westId, 'West!');
    await user.click(screen.getByRole('button', { name: 'Remove cluster east' }));
    expect(screen.getByRole('textbox', { name: 'Cluster id' })).toHaveValue('West!');
    expect(current().jsonData.clusters!.map((c) => c.id)).toEqual(['west']);
  });

  it('edits query limits, cache and derived fields', async () => {
    const { user, current } = setup();
    await user.type(screen.getByRole('spinbutton', { name: 'Timeout (s)' }), '45');
    await user.type(screen.getByRole('spinbutton', { name: 'Max parallel clusters' }), '4');
    await fill(user, screen.getByRole('spinbutton', { name: 'Max response bytes' }), '1048576');
    await fill(user, screen.getByRole('textbox', { name: 'Redis URL' }), 'redis://127.0.0.1:6379/0');
    await user.type(screen.getByRole('spinbutton', { name: 'Labels TTL (s)' }), '600');
    expect(current().jsonData.query).toEqual({ timeoutSeconds: 45, maxParallel: 4, maxResponseBytes: 1048576 });
    expect(current().jsonData.cache).toEqual({ redisUrl: 'redis://127.0.0.1:6379/0', labelsTtlSeconds: 600 });

    await user.click(screen.getByRole('button', { name: 'Add derived field' }));
    const regex = screen.getByRole('textbox', { name: 'Derived field regex' });
    await user.clear(regex);
    await user.type(regex, 'traceID=(\\w+');
    expect(screen.getByText(/Unterminated group/)).toBeInTheDocument();
    await user.type(regex, ')');
    await fill(user, screen.getByRole('textbox', { name: 'Derived field datasource uid' }), 'tempo-uid');
    expect(current().jsonData.derivedFields).toEqual([{ name: 'TraceID', matcherRegex: 'traceID=(\\w+)', datasourceUid: 'tempo-uid' }]);
    await user.click(screen.getByRole('button', { name: 'Remove derived field 1' }));
    expect(current().jsonData.derivedFields).toEqual([]);
  });
});

describe('ConfigEditor trace links', () => {
  it('edits tracesToLogs and tracesToMetrics and flags a bad time shift', async () => {
    const { user, current } = setup();
    await user.click(screen.getByRole('button', { name: 'Add Trace to logs tags tag' }));
    await fill(user, screen.getByLabelText('Trace to logs tags attribute 1'), 'k8s.pod.name');
    await fill(user, screen.getByLabelText('Trace to logs tags label 1'), 'pod');
    await user.click(screen.getByRole('switch', { name: 'Filter by span ID' }));
    await fill(user, screen.getByLabelText('Trace to logs span start shift'), '-1x');
    expect(screen.getByText('A duration such as -1m, 30s or 1h')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Add query' }));
    expect(current().jsonData.tracesToLogs).toEqual({ tags: [{ key: 'k8s.pod.name', value: 'pod' }], filterBySpanId: true, spanStartTimeShift: '-1x' });
    expect(current().jsonData.tracesToMetrics?.queries).toEqual([{ name: 'Request rate', query: 'sum(rate(http_server_request_count_total{$__tags}[5m]))' }]);
  });
});

describe('ConfigEditor metrics settings', () => {
  it('edits the scrape interval, a cluster\'s own interval, and flags what the backend would reject', async () => {
    const { user, current } = setup();
    const ds = screen.getByRole('textbox', { name: 'Scrape interval' });
    await fill(user, ds, '1.5m');
    expect(screen.getByText('A scrape interval such as 15s or 1m (between 1ms and 1d)')).toBeInTheDocument();
    await user.clear(ds);
    await fill(user, ds, '15s');
    expect(screen.queryByText('A scrape interval such as 15s or 1m (between 1ms and 1d)')).not.toBeInTheDocument();
    expect(current().jsonData.timeInterval).toBe('15s');

    const own = screen.getByRole('textbox', { name: 'east prometheus scrape interval' });
    // The cluster field shows the datasource-wide value it overrides.
    expect(own).toHaveAttribute('placeholder', '15s');
    await fill(user, own, '2d');
    expect(screen.getByText('A scrape interval such as 15s or 1m (between 1ms and 1d)')).toBeInTheDocument();
    await user.clear(own);
    await fill(user, own, '30s');
    expect(current().jsonData.clusters![0].prometheus).toEqual({ url: 'http://prometheus.east:9090', kind: 'prometheus', timeInterval: '30s' });
    // Cleared, the keys are left out (the datasource default applies) rather than saved empty.
    await user.clear(ds);
    await user.clear(own);
    expect(JSON.parse(JSON.stringify(current().jsonData))).not.toHaveProperty('timeInterval');
    expect(JSON.parse(JSON.stringify(current().jsonData.clusters![0].prometheus))).not.toHaveProperty('timeInterval');
  });

  it('edits exemplarTraceIdDestinations: this datasource by default, another uid, or a URL', async () => {
    const { user, current } = setup();
    expect(screen.getByText(/None configured: the labels trace_id, traceID and traceId/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Add exemplar link' }));
    expect(current().jsonData.exemplarTraceIdDestinations).toEqual([{ name: 'trace_id', datasourceUid: 'fs' }]);
    await user.click(screen.getByRole('button', { name: 'Add exemplar link' }));
    const name2 = screen.getByRole('textbox', { name: 'Exemplar link 2 label name' });
    await user.clear(name2);
    expect(screen.getByText('The exemplar label holding the trace ID is required')).toBeInTheDocument();
    await fill(user, name2, 'traceID');
    await user.click(screen.getAllByRole('radio', { name: 'URL' })[1]);
    await fill(user, screen.getByRole('textbox', { name: 'Exemplar link 2 URL' }), 'tracing/${__value.raw}');
    expect(screen.getByText('Not a URL')).toBeInTheDocument();
    await user.clear(screen.getByRole('textbox', { name: 'Exemplar link 2 URL' }));
    await fill(user, screen.getByRole('textbox', { name: 'Exemplar link 2 URL' }), 'https://tracing.example/trace/${__value.raw}');
    await fill(user, screen.getByRole('textbox', { name: 'Exemplar link 2 title' }), 'Open in Jaeger');
    const uid1 = screen.getByRole('textbox', { name: 'Exemplar link 1 datasource uid' });
    await user.clear(uid1);
    await fill(user, uid1, 'tempo-uid');
    expect(JSON.parse(JSON.stringify(current().jsonData.exemplarTraceIdDestinations))).toEqual([
      { name: 'trace_id', datasourceUid: 'tempo-uid' },
      { name: 'traceID', url: 'https://tracing.example/trace/${__value.raw}', urlDisplayLabel: 'Open in Jaeger' },
    ]);
    await user.click(screen.getByRole('button', { name: 'Remove exemplar link 1' }));
    expect(current().jsonData.exemplarTraceIdDestinations!.map((d) => d.name)).toEqual(['traceID']);
  });
});

describe('ConfigEditor cluster discovery', () => {
  const withSources: Settings = {
    ...base,
    jsonData: {
      ...base.jsonData,
      discovery: [{ type: 'kubernetes', name: 'fleet', server: 'https://mgmt.example:6443', namespace: 'argocd' }],
    },
    secureJsonFields: { ...base.secureJsonFields, 'discoverySources.fleet.bearerToken': true },
  };

  it('adds a registry source: fields in jsonData.discovery, token and CA under discoverySources.<name>.*', async () => {
    const { user, current } = setup();
    await user.click(screen.getByRole('button', { name: 'Add registry source' }));
    expect(current().jsonData.discovery).toEqual([{ type: 'registry', name: 'registry' }]);
    // A registry needs its URL: the backend rule, shown before saving.
    expect(screen.getByText('Required for a registry source')).toBeInTheDocument();

    const name = screen.getByRole('textbox', { name: 'Discovery source 1 name' });
    await user.clear(name);
    await user.type(name, 'central');
    await user.tab();
    await fill(user, screen.getByRole('textbox', { name: 'Discovery source 1 URL' }), 'registry.example/api');
    expect(screen.getByText('"registry.example/api" is not an http(s) URL')).toBeInTheDocument();
    await user.clear(screen.getByRole('textbox', { name: 'Discovery source 1 URL' }));
    await fill(user, screen.getByRole('textbox', { name: 'Discovery source 1 URL' }), 'https://registry.example/api/v1/clusters');
    await user.type(screen.getByRole('spinbutton', { name: 'Discovery source 1 refresh seconds' }), '30');
    await user.click(screen.getByRole('switch', { name: 'Discovery source 1 skip TLS verify' }));
    await fill(user, screen.getByRole('textbox', { name: 'Discovery source 1 labels' }), 'managed-by=registry, tier=edge');
    await user.tab();
    await fill(user, screen.getByLabelText('Discovery source 1 bearer token'), 'reg-token');
    await fill(user, screen.getByLabelText('Discovery source 1 CA certificate'), 'CA-PEM');

    expect(current().jsonData.discovery).toEqual([
      {
        type: 'registry',
        name: 'central',
        url: 'https://registry.example/api/v1/clusters',
        refreshSeconds: 30,
        tlsSkipVerify: true,
        labels: { 'managed-by': 'registry', tier: 'edge' },
      },
    ]);
    expect(current().secureJsonData).toMatchObject({
      'discoverySources.central.bearerToken': 'reg-token',
      'discoverySources.central.tlsCACert': 'CA-PEM',
    });
    expect(screen.queryByText(/not an http\(s\) URL|Required for/)).not.toBeInTheDocument();
    expect(JSON.stringify(current().jsonData)).not.toMatch(/reg-token|CA-PEM/);
    // The cluster secrets are untouched.
    expect(current().secureJsonFields).toMatchObject({ 'east.bearerToken': true });
  });

  it('shows stored source secrets, drops fields and secrets a new type does not have, renames and removes with its secrets', async () => {
    const { user, current } = setup(withSources);
    expect(screen.getByRole('textbox', { name: 'Discovery source 1 bearer token' })).toHaveValue('configured');
    expect(screen.getByRole('textbox', { name: 'Discovery source 1 namespace' })).toHaveValue('argocd');

    // Renaming: the stored token cannot move, so it is deleted; a typed one follows the name.
    await fill(user, screen.getByLabelText('Discovery source 1 client key'), 'KEY');
    const name = screen.getByRole('textbox', { name: 'Discovery source 1 name' });
    await user.clear(name);
    await user.type(name, 'Fleet');
    expect(screen.getByText(/Lower-case letters, digits, "-" and "_"/)).toBeInTheDocument();
    await user.clear(name);
    await user.type(name, 'mgmt');
    await user.tab();
    expect(current().jsonData.discovery![0].name).toBe('mgmt');
    expect(current().secureJsonFields['discoverySources.fleet.bearerToken']).toBe(false);
    expect(current().secureJsonData).toMatchObject({ 'discoverySources.fleet.tlsClientKey': '', 'discoverySources.mgmt.tlsClientKey': 'KEY' });

    // To file: server, namespace and the credentials go (a file source has none).
    await user.click(screen.getByRole('radio', { name: 'File' }));
    expect(current().jsonData.discovery).toEqual([{ type: 'file', name: 'mgmt' }]);
    expect(current().secureJsonData!['discoverySources.mgmt.tlsClientKey']).toBe('');
    expect(screen.queryByLabelText('Discovery source 1 bearer token')).not.toBeInTheDocument();
    expect(screen.getByText('Required for a file source')).toBeInTheDocument();
    await fill(user, screen.getByRole('textbox', { name: 'Discovery source 1 path' }), '/etc/fleetscope/clusters.yaml');
    expect(current().jsonData.discovery).toEqual([{ type: 'file', name: 'mgmt', path: '/etc/fleetscope/clusters.yaml' }]);

    // A second source with a taken name is flagged; removing the first deletes its secrets.
    await user.click(screen.getByRole('button', { name: 'Add Kubernetes source' }));
    const name2 = screen.getByRole('textbox', { name: 'Discovery source 2 name' });
    await user.clear(name2);
    await user.type(name2, 'mgmt');
    expect(screen.getByText('Another source is already named "mgmt"')).toBeInTheDocument();
    await fill(user, screen.getByLabelText('Discovery source 2 bearer token'), 't2');
    expect(current().secureJsonData!['discoverySources.kubernetes.bearerToken']).toBe('t2');
    await user.click(screen.getByRole('button', { name: 'Remove discovery source 2' }));
    expect(current().jsonData.discovery!.map((d) => d.name)).toEqual(['mgmt']);
    expect(current().secureJsonData!['discoverySources.kubernetes.bearerToken']).toBe('');
  });

  it('removing a source above another leaves the other one\'s editor showing it', async () => {
    const { user, current } = setup(withSources);
    await user.click(screen.getByRole('button', { name: 'Add file source' }));
    await user.click(screen.getByRole('button', { name: 'Remove discovery source 1' }));
    expect(current().jsonData.discovery).toEqual([{ type: 'file', name: 'file' }]);
    expect(current().secureJsonFields['discoverySources.fleet.bearerToken']).toBe(false);
    expect(screen.getByRole('textbox', { name: 'Discovery source 1 name' })).toHaveValue('file');
    expect(screen.getByRole('textbox', { name: 'Discovery source 1 path' })).toHaveValue('');
    expect(screen.queryByRole('textbox', { name: 'Discovery source 2 name' })).not.toBeInTheDocument();
  });

  it('a source\'s unsaved name draft stays with it when a source above is removed', async () => {
    const { user, current } = setup(withSources);
    await user.click(screen.getByRole('button', { name: 'Add file source' }));
    const name2 = screen.getByRole('textbox', { name: 'Discovery source 2 name' });
    await user.clear(name2);
    // Taken by source 1: not applied on blur, a draft only.
    await user.type(name2, 'fleet');
    await user.click(screen.getByRole('button', { name: 'Remove discovery source 1' }));
    expect(current().jsonData.discovery).toEqual([{ type: 'file', name: 'file' }]);
    expect(screen.getByRole('textbox', { name: 'Discovery source 1 name' })).toHaveValue('fleet');
  });

  it('lists the live clusters of the saved datasource and notes unsaved discovery changes', async () => {
    const load = jest.fn(async () => ({
      clusters: [{ id: 'edge-17', name: 'Edge 17', labels: { env: 'prod' }, enabled: true, source: 'fleet', status: 'online', lastRefresh: '2026-12-07T10:00:00Z' }],
      total: 1,
      sources: [{ name: 'fleet', type: 'kubernetes' as const, status: 'ok', clusters: 1, lastRefresh: '2026-12-07T10:00:00Z', lastAttempt: '2026-12-07T10:00:00Z', clusterErrors: [] }],
    }));
    const { user } = setup(withSources, load);
    expect(await screen.findByRole('table', { name: 'Clusters' })).toHaveTextContent('edge-17Edge 17fleetonlineenv=prod');
    expect(load).toHaveBeenCalledWith('fs');
    expect(screen.queryByText(/unsaved changes/)).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Add file source' }));
    expect(screen.getByText(/unsaved changes: save to see their effect here/)).toBeInTheDocument();
  });
});
