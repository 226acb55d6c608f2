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

/**
 * The queries of the latest `/api/ds/query` calls (newest last), as the
 * backend received them: after the datasource's `applyTemplateVariables`
 * (variables, ad-hoc filters).
 */
export const sentQueries: Array<{ refId?: string } & Record<string, unknown>> = [];

const RESOURCE = /^\/?api\/datasources\/uid\/[^/]+\/resources\/(.*)$/;
const DS_QUERY = /^\/?api\/ds\/query(\?.*)?$/;

/**
 * Grafana's BackendSrv, reduced to what the plugins call: datasource resource
 * requests, and `/api/ds/query` (DataSourceWithBackend.query), which the
 * backend's `POST api/v1/ds/query` answers as Grafana would (QueryData's
 * parse and execute, frames as data-frame JSON).
 */
export function harnessBackendSrv(): BackendSrv {
  const route = (options: BackendSrvRequest) => {
    if (DS_QUERY.test(options.url)) {
      sentQueries.push(...((options.data as { queries?: typeof sentQueries } | undefined)?.queries ?? []));
      sentQueries.splice(0, Math.max(0, sentQueries.length - 100));
      return call('POST', 'api/v1/ds/query', undefined, options.data);
    }
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
