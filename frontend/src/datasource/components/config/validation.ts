import { ClusterConfig, DiscoverySourceConfig, DiscoveryType } from '../../../types';

/** The backend's rule (src/registry): no dots, as they separate the parts of secret keys. */
export const CLUSTER_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function clusterIdError(id: string, all: ClusterConfig[], index: number): string | undefined {
  if (!id) {
    return 'An id is required';
  }
  if (!CLUSTER_ID.test(id)) {
    return 'Lower-case letters, digits, "_" and "-", starting with a letter or digit, at most 63 characters';
  }
  if (all.some((c, i) => i !== index && c.id === id)) {
    return `Another cluster already has the id "${id}"`;
  }
  return undefined;
}

export function urlError(url: string | undefined): string | undefined {
  if (!url) {
    return undefined;
  }
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'Use an http:// or https:// URL';
  } catch {
    return 'Not a URL';
  }
}

/** URL check for link templates: `${__value.raw}` and other variables count as text. */
export function linkUrlError(url: string | undefined): string | undefined {
  return urlError(url?.replace(/\$\{[^}]*\}/g, 'x'));
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5, y: 31536e6 };

/** A Prometheus duration (`1h30m`, `500ms`) in ms, as the backend reads it; undefined if it is not one. */
export function durationMs(text: string): number | undefined {
  if (!/^(\d+[a-z]+)+$/.test(text)) {
    return undefined;
  }
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([a-z]+)/g)) {
    const mult = DURATION_UNITS_MS[unit];
    if (mult === undefined) {
      return undefined;
    }
    total += Number(n) * mult;
  }
  return total;
}

/**
 * `timeInterval` (datasource-wide or a cluster's): empty = unset; a bare
 * number is seconds; otherwise a duration between 1 ms and 1 day — the
 * backend's rule, so Save & test never fails on what the editor accepted.
 */
export function timeIntervalError(text: string | undefined): string | undefined {
  const t = text?.trim() ?? '';
  if (!t) {
    return undefined;
  }
  const ms = /^\d+$/.test(t) ? Number(t) * 1000 : durationMs(t);
  return ms !== undefined && ms > 0 && ms <= DURATION_UNITS_MS.d ? undefined : 'A scrape interval such as 15s or 1m (between 1ms and 1d)';
}

export function regexError(pattern: string): string | undefined {
  if (!pattern) {
    return 'A regex is required';
  }
  try {
    new RegExp(pattern);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** `region=us-east-1, tier=gpu` ⇄ `{region: 'us-east-1', tier: 'gpu'}`. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [k, ...rest] = part.split('=');
    if (k.trim()) {
      out[k.trim()] = rest.join('=').trim();
    }
  }
  return out;
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** A discovery source's name (src/discovery/mod.rs `validate_source`): it is also the middle part of its secret keys. */
export const SOURCE_NAME = /^[a-z0-9_-]{1,63}$/;

/** Which source types have which fields; the backend rejects a field on another type, naming it. */
const SOURCE_FIELDS: Record<string, DiscoveryType[]> = {
  path: ['file'],
  url: ['registry'],
  server: ['kubernetes'],
  namespace: ['kubernetes'],
  labelSelector: ['kubernetes'],
  refreshSeconds: ['file', 'registry'],
  tlsSkipVerify: ['registry', 'kubernetes'],
};

export type SourceField = keyof typeof SOURCE_FIELDS | 'name' | 'type';

/** Whether a source of `type` has `field` (the editor shows only those, and drops the others on a type change). */
export function sourceHasField(type: DiscoveryType, field: keyof DiscoverySourceConfig): boolean {
  const kinds = SOURCE_FIELDS[field];
  return kinds === undefined || kinds.includes(type);
}

const isSet = (v: unknown) => (typeof v === 'string' ? v.trim() !== '' : v !== undefined && v !== null && v !== false);

/** An http(s) URL with a host, as the backend's `url::Url` check wants. */
function httpUrlError(text: string): string | undefined {
  try {
    const u = new URL(text.trim());
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname ? undefined : `"${text}" is not an http(s) URL`;
  } catch {
    return `"${text}" is not an http(s) URL`;
  }
}

/**
 * Why `jsonData.discovery[index]` would fail the backend's checks, per field
 * (the same rules as `validate_source` plus the unique name of the registry);
 * empty when it passes.
 */
export function discoverySourceErrors(source: DiscoverySourceConfig, all: DiscoverySourceConfig[], index: number): Partial<Record<SourceField, string>> {
  const errors: Partial<Record<SourceField, string>> = {};
  const name = source.name ?? '';
  if (!SOURCE_NAME.test(name) || name === 'static') {
    errors.name = 'Lower-case letters, digits, "-" and "_", at most 63 characters; not "static"';
  } else if (all.some((s, i) => i !== index && s.name === name)) {
    errors.name = `Another source is already named "${name}"`;
  }
  if (!['file', 'registry', 'kubernetes'].includes(source.type)) {
    errors.type = 'Choose file, registry or kubernetes';
    return errors;
  }
  for (const [field, kinds] of Object.entries(SOURCE_FIELDS)) {
    if (isSet(source[field as keyof DiscoverySourceConfig]) && !kinds.includes(source.type)) {
      errors[field as SourceField] = `Only ${kinds.join(' and ')} sources have ${field}`;
    }
  }
  if (source.type === 'file' && !isSet(source.path)) {
    errors.path = 'Required for a file source';
  }
  if (source.type === 'registry') {
    errors.url = isSet(source.url) ? httpUrlError(source.url!) : 'Required for a registry source';
  }
  if (source.type === 'kubernetes' && isSet(source.server)) {
    errors.server = httpUrlError(source.server!);
  }
  const r = source.refreshSeconds;
  if (r !== undefined && !errors.refreshSeconds && !(Number.isFinite(r) && r >= 0.01 && r <= 86_400)) {
    errors.refreshSeconds = 'Between 0.01 and 86400 seconds';
  }
  for (const k of Object.keys(errors) as SourceField[]) {
    if (errors[k] === undefined) {
      delete errors[k];
    }
  }
  return errors;
}
