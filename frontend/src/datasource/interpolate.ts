import { ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { FleetscopeQuery, STRING_FIELDS } from '../types';

/** What `TemplateSrv.replace` hands a custom format function. */
interface VariableLike {
  multi?: boolean;
  includeAll?: boolean;
}

const ALL_MARKERS = new Set(['$__all', '*', '']);

/** Escape a value for use inside a quoted PromQL/LogQL/TraceQL regex matcher. */
export function regexEscape(value: string): string {
  // The query language string literal needs each backslash doubled again.
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}\[\]'+?.()|]/g, '\\\\$&');
}

/** Escape a value for use inside a quoted string literal. */
export function stringEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/**
 * Format used for query expressions, like Grafana's Prometheus and Loki datasources:
 * a multi-value or "include All" variable becomes a regex alternation `(a|b)`, so
 * `{pod=~"$pod"}` works for one value and for many.
 */
export function formatQueryValue(value: string | string[], variable?: VariableLike): string {
  if (Array.isArray(value)) {
    const escaped = value.map(regexEscape);
    return escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`;
  }
  if (variable && (variable.multi || variable.includeAll)) {
    return regexEscape(value);
  }
  return stringEscape(value);
}

// Cluster ids match [a-z0-9][a-z0-9._-]*, so a newline cannot be part of one.
const LIST_SEPARATOR = '\n';

/**
 * Expand the cluster list: each entry may be a literal id or a (multi-value)
 * variable, `$cluster`, `${cluster}` or `[[cluster]]`. The result is a
 * de-duplicated list of ids; "All" (`$__all`, `*`) anywhere means every
 * enabled cluster, which the query model spells as the empty list.
 */
export function interpolateClusters(
  clusters: string[] | undefined,
  templateSrv: TemplateSrv,
  scopedVars?: ScopedVars
): string[] {
  const out: string[] = [];
  for (const entry of clusters ?? []) {
    const replaced = templateSrv.replace(entry, scopedVars, (value: string | string[]) =>
      Array.isArray(value) ? value.join(LIST_SEPARATOR) : String(value)
    );
    for (const part of replaced.split(/[\n,]/)) {
      const id = part.trim().replace(/^\{(.*)\}$/, '$1');
      if (id === '$__all' || id === '*') {
        return [];
      }
      if (!ALL_MARKERS.has(id) && !out.includes(id)) {
        out.push(id);
      }
    }
  }
  return out;
}

const EXPRESSION_FIELDS = new Set<string>(['expr', 'query', 'matchers', 'tags']);

/** Interpolate template variables in every field of a query. */
export function interpolateQuery(
  query: FleetscopeQuery,
  templateSrv: TemplateSrv,
  scopedVars?: ScopedVars
): FleetscopeQuery {
  const out: FleetscopeQuery = { ...query, clusters: interpolateClusters(query.clusters, templateSrv, scopedVars) };
  for (const field of STRING_FIELDS) {
    const value = query[field];
    if (typeof value === 'string' && value !== '') {
      out[field] = EXPRESSION_FIELDS.has(field)
        ? templateSrv.replace(value, scopedVars, formatQueryValue)
        : templateSrv.replace(value, scopedVars);
    }
  }
  if (query.state) {
    out.state = query.state.flatMap((s) => templateSrv.replace(s, scopedVars, 'csv').split(',')) as FleetscopeQuery['state'];
  }
  if (query.severity) {
    out.severity = query.severity.flatMap((s) => templateSrv.replace(s, scopedVars, 'csv').split(','));
  }
  if (typeof query.port === 'string') {
    // A port typed as `$port` arrives as a string; the model wants an integer.
    const port = parseInt(templateSrv.replace(query.port, scopedVars), 10);
    out.port = Number.isFinite(port) ? port : undefined;
  }
  return out;
}
