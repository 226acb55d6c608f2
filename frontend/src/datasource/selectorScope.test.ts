import { CLUSTERS_RESPONSE, defaultResources, fakeDataSource, fakeTemplateSrv } from '../test/fakes';
import { FleetscopeQuery } from '../types';
import { ResourceCompletionData } from './completionData';
import { ResourceClient, SELECTOR_TTL_MS } from './resources';

/** Answers `api/v1/clusters?selector=`: env="prod" → east, west; region=~"eu-.*" → none; `bad` → 400. */
function handler(path: string, params?: Record<string, string>): unknown {
  if (path === 'api/v1/clusters' && params?.selector) {
    switch (params.selector) {
      case 'env="prod"':
        return { clusters: CLUSTERS_RESPONSE.clusters.filter((c) => c.id !== 'lab'), total: 3 };
      case 'tier="gpu"':
        // A disabled cluster is never asked.
        return { clusters: CLUSTERS_RESPONSE.clusters.filter((c) => c.id !== 'west'), total: 3 };
      case 'region=~"eu-.*"':
        return { clusters: [], total: 3 };
      default:
        return Object.assign(new Error('bad selector'), { status: 400, data: { error: { code: 'bad_request', message: 'invalid selector' } } });
    }
  }
  return defaultResources(path);
}

const calls = (getResource: jest.Mock, path: string) => getResource.mock.calls.filter((c) => c[0] === path);

describe('ResourceClient.hintScope', () => {
  it('resolves a selector to enabled ids, intersects with picked clusters, caches per selector text for a while', async () => {
    let now = 1_000;
    const getResource = jest.fn(async (path: string, params?: Record<string, string>) => {
      const a = handler(path, params);
      if (a instanceof Error) {
        throw a;
      }
      return a;
    });
    const client = new ResourceClient(getResource as never, () => now);
    expect(await client.hintScope([], '')).toBeUndefined();
    expect(await client.hintScope(['east'], undefined)).toEqual(['east']);
    expect(await client.hintScope([], 'env="prod"')).toEqual(['east', 'west']);
    expect(await client.hintScope(['west', 'lab'], 'env="prod"')).toEqual(['west']);
    expect(await client.hintScope([], 'tier="gpu"')).toEqual(['east']);
    expect(await client.hintScope([], 'region=~"eu-.*"')).toEqual([]);
    // Picked clusters the selector does not match: nobody.
    expect(await client.hintScope(['lab'], 'env="prod"')).toEqual([]);
    expect(getResource.mock.calls.filter((c) => c[1]?.selector === 'env="prod"')).toHaveLength(1);
    // The selector request shows no Grafana alert.
    expect((getResource.mock.calls as unknown[][]).find((c) => (c[1] as Record<string, string> | undefined)?.selector)?.[2]).toEqual({ showErrorAlert: false });
    now += SELECTOR_TTL_MS;
    await client.hintScope([], 'env="prod"');
    expect(getResource.mock.calls.filter((c) => c[1]?.selector === 'env="prod"')).toHaveLength(2);
    // A rejected selector is not cached.
    await expect(client.hintScope([], 'oops')).rejects.toThrow('bad selector');
    await expect(client.hintScope([], 'oops')).rejects.toThrow('bad selector');
    expect(getResource.mock.calls.filter((c) => c[1]?.selector === 'oops')).toHaveLength(2);
  });
});

describe('completion scoped by the cluster selector', () => {
  it('asks the clusters the selector matches, intersected with the picked ones', async () => {
    const { ds, getResource } = fakeDataSource(handler);
    const data = new ResourceCompletionData(ds.resources);
    data.setScope([], undefined, 'env="prod"');
    expect(await data.labelNames('metrics')).toEqual(['__name__', 'job', 'service', 'team']);
    expect(calls(getResource, 'api/v1/metrics/labels')[0][1]).toEqual({ cluster_ids: 'east,west' });
    data.setScope(['west'], undefined, 'env="prod"');
    await data.labelValues('metrics', 'job');
    expect(calls(getResource, 'api/v1/metrics/label/job/values')[0][1]).toEqual({ cluster_ids: 'west' });
  });

  it('a selector matching nothing asks nobody; an invalid one completes nothing, without an alert', async () => {
    const { ds, getResource } = fakeDataSource(handler);
    const data = new ResourceCompletionData(ds.resources);
    data.setScope([], undefined, 'region=~"eu-.*"');
    expect(await data.metricNames()).toEqual([]);
    expect(await data.labelNames('logs')).toEqual([]);
    expect(await data.parsedLabels('{app="x"}')).toEqual([]);
    expect(await data.traceAttributes()).toEqual([]);
    expect(await data.traceValues('resource.service.name')).toEqual([]);
    data.setScope(['lab'], undefined, 'env="prod"');
    expect(await data.labelNames('metrics')).toEqual([]);
    expect(getResource.mock.calls.filter((c) => c[0] !== 'api/v1/clusters')).toEqual([]);
    data.setScope([], undefined, 'env=');
    await expect(data.labelNames('metrics')).rejects.toThrow();
    expect(getResource.mock.calls.filter((c) => c[0] !== 'api/v1/clusters')).toEqual([]);
    expect((getResource.mock.calls as unknown[][]).filter((c) => (c[1] as Record<string, string> | undefined)?.selector).every((c) => (c[2] as { showErrorAlert?: boolean } | undefined)?.showErrorAlert === false)).toBe(true);
  });

  it('caches answers per selector text', async () => {
    const { ds, getResource } = fakeDataSource(handler);
    const data = new ResourceCompletionData(ds.resources);
    data.setScope([], undefined, 'env="prod"');
    await data.labelNames('metrics');
    await data.labelNames('metrics');
    data.setScope([], undefined, 'tier="gpu"');
    await data.labelNames('metrics');
    expect(calls(getResource, 'api/v1/metrics/labels').map((c) => c[1])).toEqual([{ cluster_ids: 'east,west' }, { cluster_ids: 'east' }]);
  });
});

describe('ad-hoc filters scoped by the queries\' cluster selectors', () => {
  const q = (patch: Partial<FleetscopeQuery>): FleetscopeQuery => ({ refId: 'A', queryType: 'metrics', expr: 'up', ...patch });

  it('interpolates the selector, asks the matched clusters for keys and values, and offers only them as cluster values', async () => {
    fakeTemplateSrv({ env: { value: 'prod' } });
    const { ds, getResource } = fakeDataSource(handler);
    const keys = await ds.getTagKeys({ queries: [q({ clusterSelector: 'env="$env"' })], filters: [] } as never);
    expect(keys.map((k) => k.text)).toEqual(['cluster', 'job', 'service', 'team']);
    expect(calls(getResource, 'api/v1/metrics/labels')[0][1]).toEqual({ cluster_ids: 'east,west' });
    await ds.getTagValues({ key: 'job', queries: [q({ clusterSelector: 'env="$env"', clusters: ['east'] })], filters: [] } as never);
    expect(calls(getResource, 'api/v1/metrics/label/job/values')[0][1]).toEqual({ cluster_ids: 'east' });
    const clusters = await ds.getTagValues({ key: 'cluster', queries: [q({ clusterSelector: 'tier="gpu"' })], filters: [] } as never);
    expect(clusters.map((v) => v.text)).toEqual(['east']);
  });

  it('a query without selector or clusters asks all; selectors matching nothing or invalid ask nobody', async () => {
    fakeTemplateSrv();
    const { ds, getResource } = fakeDataSource(handler);
    await ds.getTagKeys({ queries: [q({ clusterSelector: 'region=~"eu-.*"' }), q({ refId: 'B' })], filters: [] } as never);
    expect(calls(getResource, 'api/v1/metrics/labels')[0][1]).toEqual({});
    expect(await ds.getTagKeys({ queries: [q({ clusterSelector: 'region=~"eu-.*"' })], filters: [] } as never)).toEqual([]);
    expect(await ds.getTagValues({ key: 'job', queries: [q({ clusterSelector: 'nope' })], filters: [] } as never)).toEqual([]);
    expect(await ds.getTagValues({ key: 'cluster', queries: [q({ clusterSelector: 'nope' })], filters: [] } as never)).toEqual([]);
    expect(calls(getResource, 'api/v1/metrics/labels')).toHaveLength(1);
    expect(calls(getResource, 'api/v1/metrics/label/job/values')).toHaveLength(0);
  });
});
