import { DataSourceInstanceSettings, PluginType, ScopedVars, TypedVariableModel } from '@grafana/data';
import { TemplateSrv, setTemplateSrv } from '@grafana/runtime';

import { FleetscopeDataSource } from '../datasource/datasource';
import { FleetscopeOptions } from '../types';

export interface FakeVariable {
  value: string | string[];
  multi?: boolean;
  includeAll?: boolean;
}

type Format = string | ((value: string | string[], variable: FakeVariable) => string) | undefined;

/** A TemplateSrv that knows a fixed set of variables: `$x`, `${x}` and `[[x]]`, with Grafana's formats. */
export function fakeTemplateSrv(vars: Record<string, FakeVariable> = {}): TemplateSrv {
  const format = (value: string | string[], variable: FakeVariable, fmt: Format): string => {
    if (typeof fmt === 'function') {
      return fmt(value, variable);
    }
    if (Array.isArray(value)) {
      if (fmt === 'csv') {
        return value.join(',');
      }
      if (fmt === 'pipe') {
        return value.join('|');
      }
      return value.length === 1 ? value[0] : `{${value.join(',')}}`;
    }
    return value;
  };
  const srv = {
    getVariables: () => Object.keys(vars).map((name) => ({ name, type: 'custom' }) as unknown as TypedVariableModel),
    replace: (target?: string, scopedVars?: ScopedVars, fmt?: Format) =>
      (target ?? '').replace(/\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]/g, (match, a, b, c) => {
        const name = a ?? b ?? c;
        const scoped = scopedVars?.[name];
        const v: FakeVariable | undefined = scoped ? { value: String(scoped.value) } : vars[name];
        return v ? format(v.value, v, fmt) : match;
      }),
    containsTemplate: (t?: string) => /\$\w+|\$\{\w+\}|\[\[\w+\]\]/.test(t ?? ''),
    updateTimeRange: () => {},
  };
  const templateSrv = srv as unknown as TemplateSrv;
  setTemplateSrv(templateSrv);
  return templateSrv;
}

export const CLUSTERS_RESPONSE = {
  clusters: [
    { id: 'east', name: 'prod-east-1', labels: { region: 'us-east-1' }, enabled: true, backends: ['prometheus', 'loki', 'tempo'] },
    { id: 'west', name: 'prod-west-1', labels: { region: 'us-west-2' }, enabled: true, backends: ['prometheus'] },
    { id: 'lab', name: 'gpu-lab', labels: {}, enabled: false, backends: ['prometheus'] },
  ],
  total: 3,
};

export type ResourceHandler = (path: string, params?: Record<string, string>) => unknown;

/** A datasource whose resource calls are answered by `handler` (default: clusters + labels). */
export function fakeDataSource(handler?: ResourceHandler, jsonData: FleetscopeOptions = {}) {
  const settings = {
    id: 1,
    uid: 'fleetscope-uid',
    type: 'fleetscope-federation-datasource',
    name: 'Fleetscope',
    access: 'proxy',
    readOnly: false,
    meta: { id: 'fleetscope-federation-datasource', type: PluginType.datasource, name: 'Fleetscope', info: {} },
    jsonData,
  } as unknown as DataSourceInstanceSettings<FleetscopeOptions>;
  const ds = new FleetscopeDataSource(settings);
  const getResource = jest.fn(async (path: string, params?: Record<string, string>) => {
    const answer = handler ? handler(path, params) : defaultResources(path);
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  });
  (ds as unknown as { getResource: typeof getResource }).getResource = getResource;
  return { ds, getResource };
}

export function defaultResources(path: string): unknown {
  switch (path) {
    case 'api/v1/clusters':
      return CLUSTERS_RESPONSE;
    case 'api/v1/metrics/labels':
      return { data: ['__name__', 'job', 'service', 'team'], results: [] };
    case 'api/v1/metrics/label/job/values':
      return { data: ['gateway', 'quant-api'], results: [] };
    case 'api/v1/metrics/label/__name__/values':
      return { data: ['gateway_requests_total', 'up'], results: [] };
    case 'api/v1/gpu/nodes':
      return { nodes: [{ cluster_id: 'east', node_name: 'gpu-node-1' }, { cluster_id: 'east', node_name: 'gpu-node-2' }], total: 2 };
    default:
      return { data: [] };
  }
}
