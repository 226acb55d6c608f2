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
    case 'label_names':
      return plain(await ds.resources.labelNames(clusters, replace(fn.match)));
    case 'label_values':
      return plain(await ds.resources.labelValues(replace(fn.label)!, clusters, replace(fn.match)));
    case 'gpu_nodes': {
      const scope = fn.cluster ? interpolateClusters([fn.cluster], templateSrv, request?.scopedVars) : clusters;
      return plain(await ds.resources.gpuNodes(scope));
    }
  }
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
