import {
  CoreApp,
  DataSourceInstanceSettings,
  QueryFixAction,
  ScopedVars,
  TestDataSourceResponse,
} from '@grafana/data';
import { DataSourceWithBackend, HealthCheckError, HealthStatus, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, FleetscopeOptions, FleetscopeQuery } from '../types';
import { annotationSupport } from './annotations';
import { addLabelMatcher } from './modifyQuery';
import { interpolateQuery } from './interpolate';
import { formatClusterHealth } from './health';
import { ResourceClient } from './resources';
import { FleetscopeVariableSupport } from './variables';

/**
 * The Fleetscope datasource. Every query goes to the Rust backend (QueryData),
 * so dashboards, Explore and alert rules see the same frames; the frontend only
 * interpolates template variables and asks the resource API for editor hints.
 */
export class FleetscopeDataSource extends DataSourceWithBackend<FleetscopeQuery, FleetscopeOptions> {
  readonly resources: ResourceClient;

  constructor(instanceSettings: DataSourceInstanceSettings<FleetscopeOptions>) {
    super(instanceSettings);
    this.resources = new ResourceClient((path, params) => this.getResource(path, params));
    this.variables = new FleetscopeVariableSupport(this, getTemplateSrv);
    this.annotations = annotationSupport;
  }

  getDefaultQuery(app: CoreApp): Partial<FleetscopeQuery> {
    return DEFAULT_QUERY;
  }

  /** Skip queries that cannot return anything rather than sending an error round trip. */
  filterQuery(query: FleetscopeQuery): boolean {
    if (query.hide) {
      return false;
    }
    switch (query.queryType ?? 'metrics') {
      case 'metrics':
      case 'logs':
        return !!query.expr?.trim();
      case 'traces':
        switch (query.tracesView ?? 'search') {
          case 'trace':
          case 'analysis':
            return !!query.traceId?.trim();
          default:
            return true;
        }
      case 'cnf':
        return query.cnfView !== 'dpdk' || !!query.pod?.trim();
      default:
        return true;
    }
  }

  applyTemplateVariables(query: FleetscopeQuery, scopedVars: ScopedVars): FleetscopeQuery {
    return interpolateQuery(query, getTemplateSrv(), scopedVars);
  }

  getQueryDisplayText(query: FleetscopeQuery): string {
    const clusters = query.clusters?.length ? ` @ ${query.clusters.join(', ')}` : '';
    switch (query.queryType ?? 'metrics') {
      case 'metrics':
      case 'logs':
        return `${query.expr ?? ''}${clusters}`;
      case 'traces':
        return `${query.tracesView ?? 'search'}: ${query.traceId || query.query || query.service || ''}${clusters}`;
      case 'alerts':
        return `alerts ${[...(query.state ?? []), ...(query.severity ?? [])].join(' ')}${clusters}`;
      case 'gpu':
        return `gpu ${query.view ?? 'nodes'}${clusters}`;
      case 'cnf':
        return `cnf ${query.cnfView ?? 'workloads'}${clusters}`;
      case 'macos':
        return `macos power${clusters}`;
    }
  }

  /** Explore's "filter for value" / "filter out value" on log and metric labels. */
  modifyQuery(query: FleetscopeQuery, action: QueryFixAction): FleetscopeQuery {
    const key = action.options?.key;
    const value = action.options?.value;
    if (!key || value === undefined || !query.expr) {
      return query;
    }
    if (key === 'cluster' || key === 'cluster_id') {
      // The cluster is not a label upstream: narrow the cluster list instead.
      if (action.type === 'ADD_FILTER' && key === 'cluster_id') {
        return { ...query, clusters: [value] };
      }
      return query;
    }
    switch (action.type) {
      case 'ADD_FILTER':
        return { ...query, expr: addLabelMatcher(query.expr, key, '=', value) };
      case 'ADD_FILTER_OUT':
        return { ...query, expr: addLabelMatcher(query.expr, key, '!=', value) };
      default:
        return query;
    }
  }

  getSupportedQueryModifications(): string[] {
    return ['ADD_FILTER', 'ADD_FILTER_OUT'];
  }

  /** Save & test: Grafana's health call, with the per-cluster results spelled out. */
  async testDatasource(): Promise<TestDataSourceResponse> {
    const res = await this.callHealthCheck();
    const verboseMessage = formatClusterHealth(res?.details);
    if (res?.status === HealthStatus.OK) {
      return { status: 'success', message: res.message, details: verboseMessage ? { verboseMessage } : undefined };
    }
    const message = res?.message ?? 'health check failed';
    return Promise.reject({
      status: 'error',
      message,
      details: { message, verboseMessage },
      error: new HealthCheckError(message, { ...(res?.details ?? {}), message, verboseMessage }),
    });
  }
}
