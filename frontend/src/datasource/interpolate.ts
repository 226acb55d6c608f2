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

/** SQL literal: `'a''b'`. */
const sqlQuote = (v: string) => `'${v.replace(/'/g, "''")}'`;

/**
 * Format for raw SQL, as Grafana's SQL datasources do: a single value with its
 * quotes doubled (the statement quotes it), a multi-value or "include All"
 * variable as quoted literals `'a','b'` (for `IN (…)`).
 */
export function formatSqlValue(value: string | string[], variable?: VariableLike): string {
  if (Array.isArray(value)) {
    return value.map(sqlQuote).join(',');
  }
  return variable && (variable.multi || variable.includeAll) ? sqlQuote(value) : value.replace(/'/g, "''");
}

/**
 * Template variables in raw SQL; the backend's macros (`$__timeFilter(…)`,
 * `$__interval_s`, `$__clusters`, …) are left for the backend, even those whose
 * names Grafana also knows (`$__interval` is the step in seconds there, not `15s`).
 */
export function interpolateSql(sql: string, templateSrv: TemplateSrv, scopedVars?: ScopedVars): string {
  const MASK = '\u0000fleetscope-macro\u0000';
  const masked = sql.replace(/\$__/g, MASK);
  return templateSrv.replace(masked, scopedVars, formatSqlValue).split(MASK).join('$__');
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

/**
 * Template variables in a `clusterSelector` (`env=~"$env"`), formatted as in
 * PromQL matchers: a multi-value or "include All" variable becomes a regex
 * alternation `(prod|staging)`, a single value is escaped for the quoted string.
 */
export function interpolateSelector(selector: string | undefined, templateSrv: TemplateSrv, scopedVars?: ScopedVars): string {
  return selector ? templateSrv.replace(selector, scopedVars, formatQueryValue) : '';
}

/** Fields whose text is a matcher expression: multi-value variables become regex alternations there. */
const EXPRESSION_FIELDS = new Set<string>(['expr', 'query', 'matchers', 'tags', 'clusterSelector']);

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
  if (typeof query.source === 'string' && query.source.includes('$')) {
    // The dashboards' `$source` switch (prometheus | clickhouse for metrics, dcgm | nvidia-smi for GPUs);
    // the backend refuses an unreplaced `$source`, naming the field.
    out.source = templateSrv.replace(query.source, scopedVars) as FleetscopeQuery['source'];
  }
  if (typeof query.sql === 'string' && query.sql !== '') {
    out.sql = interpolateSql(query.sql, templateSrv, scopedVars);
  }
  if (query.groupBy) {
    // `$by` (multi-value) groups by each of its values.
    out.groupBy = query.groupBy.flatMap((g) => templateSrv.replace(g, scopedVars, 'csv').split(',')).map((g) => g.trim()).filter(Boolean);
  }
  if (typeof query.port === 'string') {
    // A port typed as `$port` arrives as a string; the model wants an integer.
    const port = parseInt(templateSrv.replace(query.port, scopedVars), 10);
    out.port = Number.isFinite(port) ? port : undefined;
  }
  return out;
}
