import { CustomVariableSupport, DataQueryRequest, DataQueryResponse, FieldType, createDataFrame } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';
import { Observable, from } from 'rxjs';

import { FleetscopeVariableQuery } from '../types';
import type { FleetscopeDataSource } from './datasource';
import { interpolateClusters, interpolateSelector } from './interpolate';
import { VariableFunction, normaliseVariableQuery, parseVariableQuery } from './variableQuery';
import { VariableQueryEditor } from './components/VariableQueryEditor';

export interface VariableValue {
  text: string;
  value: string;
}

/** Run one parsed variable function against the backend's resource API. */
export async function runVariableFunction(
  ds: FleetscopeDataSource,
  fn: VariableFunction,
  clusters: string[],
  templateSrv: TemplateSrv,
  request?: DataQueryRequest
): Promise<VariableValue[]> {
  const replace = (s?: string) => (s ? templateSrv.replace(s, request?.scopedVars) : undefined);
  const plain = (values: string[]) => values.map((v) => ({ text: v, value: v }));
  switch (fn.kind) {
    case 'clusters': {
      // `clusters(env=~"$env")`: variables inside the selector, multi-value ones as `(a|b)`.
      const selector = interpolateSelector(fn.selector, templateSrv, request?.scopedVars);
      const list = await ds.resources.clusters(selector || undefined);
      return list.filter((c) => c.enabled !== false).map((c) => ({ text: c.name || c.id, value: c.id }));
    }
    case 'label_names': {
      const scope = await clusterScope(ds, clusters, fn.clusterSelector, templateSrv, request);
      return scope ? plain(await ds.resources.labelNames(scope, replace(fn.match))) : [];
    }
    case 'label_values': {
      const scope = await clusterScope(ds, clusters, fn.clusterSelector, templateSrv, request);
      return scope ? plain(await ds.resources.labelValues(replace(fn.label)!, scope, replace(fn.match))) : [];
    }
    case 'gpu_nodes': {
      const picked = fn.cluster ? interpolateClusters([fn.cluster], templateSrv, request?.scopedVars) : clusters;
      const scope = await clusterScope(ds, picked, fn.clusterSelector, templateSrv, request);
      return scope ? plain(await ds.resources.gpuNodes(scope)) : [];
    }
  }
}

/**
 * The clusters a variable function asks: the picked ones, narrowed by its
 * `clusters(<selector>)` argument (variables inside interpolated as in a
 * query's `clusterSelector`) resolved through `api/v1/clusters?selector=` as
 * completion does. `[]` = every cluster; `null` = the selector matched none of
 * them, so nobody is asked. A selector the backend rejects fails the variable
 * with its message.
 */
async function clusterScope(
  ds: FleetscopeDataSource,
  clusters: string[],
  selector: string | undefined,
  templateSrv: TemplateSrv,
  request?: DataQueryRequest
): Promise<string[] | null> {
  const resolved = interpolateSelector(selector, templateSrv, request?.scopedVars);
  if (!resolved.trim()) {
    return clusters;
  }
  // With a selector, hintScope answers the matching ids among the picked ones (all, if none picked).
  const scope = await ds.resources.hintScope(clusters, resolved);
  return scope?.length ? scope : null;
}

export class FleetscopeVariableSupport extends CustomVariableSupport<FleetscopeDataSource, FleetscopeVariableQuery> {
  editor = VariableQueryEditor;

  constructor(
    private readonly ds: FleetscopeDataSource,
    private readonly templateSrv: () => TemplateSrv
  ) {
    super();
  }

  query(request: DataQueryRequest<FleetscopeVariableQuery>): Observable<DataQueryResponse> {
    const run = async (): Promise<DataQueryResponse> => {
      const target = normaliseVariableQuery(request.targets[0] as FleetscopeVariableQuery | string | undefined);
      const srv = this.templateSrv();
      const fn = parseVariableQuery(target.query);
      const clusters = interpolateClusters(target.clusters, srv, request.scopedVars);
      const values = await runVariableFunction(this.ds, fn, clusters, srv, request);
      const frame = createDataFrame({
        refId: target.refId,
        fields: [
          { name: 'text', type: FieldType.string, values: values.map((v) => v.text) },
          { name: 'value', type: FieldType.string, values: values.map((v) => v.value) },
        ],
      });
      return { data: [frame] };
    };
    return from(run());
  }
}
