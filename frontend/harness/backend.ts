import { DataFrame, DataFrameJSON, DataQueryError, dataFrameFromJSON } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, FetchResponse } from '@grafana/runtime';
import { from } from 'rxjs';

/** Everything goes to the harness server, which proxies `/fsapi/*` to `FLEETSCOPE_API_URL`. */
export const API = '/fsapi';

interface FetchError {
  status: number;
  statusText: string;
  data: unknown;
}

async function call<T>(method: string, path: string, params?: Record<string, unknown>, body?: unknown): Promise<FetchResponse<T>> {
  const qs = new URLSearchParams();
  Object.entries(params ?? {}).forEach(([k, v]) => v !== undefined && qs.append(k, String(v)));
  const url = `${API}/${path.replace(/^\//, '')}${qs.toString() ? `?${qs}` : ''}`;
  const res = await fetch(url, {
    method,
    headers: body ? { 'content-type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data: unknown = text;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    /* a non-JSON body stays text */
  }
  if (!res.ok && res.status !== 206) {
    const err: FetchError = { status: res.status, statusText: res.statusText, data: normaliseError(data) };
    throw err;
  }
  return {
    data: data as T,
    status: res.status,
    statusText: res.statusText,
    ok: res.ok,
    headers: res.headers,
    redirected: res.redirected,
    type: res.type,
    url,
    config: { url } as BackendSrvRequest,
  };
}

/** The backend's error body, whatever its nesting, as Grafana's `{message}`. */
function normaliseError(data: unknown): { message: string; code?: string } {
  const d = data as { message?: string; code?: string; error?: string | { message?: string; code?: string } } | undefined;
  if (d && typeof d.error === 'object') {
    return { message: [d.error.code, d.error.message].filter(Boolean).join(': '), code: d.error.code };
  }
  return { message: [d?.code, d?.message ?? d?.error ?? String(data ?? '')].filter(Boolean).join(': '), code: d?.code };
}

const RESOURCE = /^\/?api\/datasources\/uid\/[^/]+\/resources\/(.*)$/;

/** Grafana's BackendSrv, reduced to what the plugins call: datasource resource requests. */
export function harnessBackendSrv(): BackendSrv {
  const route = (options: BackendSrvRequest) => {
    const m = RESOURCE.exec(options.url);
    if (!m) {
      return Promise.reject({ status: 404, statusText: 'Not Found', data: { message: `harness has no route for ${options.url}` } });
    }
    return call(options.method ?? 'GET', m[1], options.params, options.data);
  };
  const srv = {
    fetch: (options: BackendSrvRequest) => from(route(options)),
    get: (url: string, params?: Record<string, unknown>) => route({ url, params, method: 'GET' }).then((r) => r.data),
    post: (url: string, data?: unknown) => route({ url, data, method: 'POST' }).then((r) => r.data),
    request: (options: BackendSrvRequest) => route(options).then((r) => r.data),
    datasourceRequest: (options: BackendSrvRequest) => route(options),
  };
  return srv as unknown as BackendSrv;
}

export interface MetricsRequest {
  refId: string;
  expr: string;
  clusters?: string[];
  aggregate?: string;
  legendFormat?: string;
  instant?: boolean;
  /** Unix ms; the stack's data ends before "now". */
  end: number;
  rangeMs?: number;
  step?: string;
}

export interface MetricsResult {
  frames: DataFrame[];
  clusters: Array<{ cluster_id: string; cluster_name?: string; status: string; error?: string; error_code?: string }>;
  errors: DataQueryError[];
}

/** Run a PromQL query through the backend's HTTP API (`format: frames` answers with Grafana frame JSON). */
export async function runMetrics(q: MetricsRequest): Promise<MetricsResult> {
  const endS = Math.floor(q.end / 1000);
  const body: Record<string, unknown> = {
    query: q.expr,
    cluster_ids: q.clusters ?? [],
    aggregate: q.aggregate || undefined,
    legend_format: q.legendFormat || undefined,
    format: 'frames',
  };
  if (q.instant) {
    body.time = endS;
  } else {
    body.start_time = endS - Math.floor((q.rangeMs ?? 3_600_000) / 1000);
    body.end_time = endS;
    body.step = q.step || '60s';
  }
  try {
    const res = await call<{ frames: DataFrameJSON[]; clusters: MetricsResult['clusters'] }>(
      'POST',
      `api/v1/metrics/${q.instant ? 'query' : 'query_range'}`,
      undefined,
      body
    );
    const frames = (res.data.frames ?? []).map((f) => ({ ...dataFrameFromJSON(f), refId: q.refId }));
    return { frames, clusters: res.data.clusters ?? [], errors: [] };
  } catch (e) {
    const err = e as FetchError;
    const message = (err.data as { message?: string })?.message ?? `HTTP ${err.status}`;
    return { frames: [], clusters: [], errors: [{ refId: q.refId, message, status: err.status }] };
  }
}
