import { exemplarLinkError } from './MetricsSettingsEditor';
import { DiscoverySourceConfig } from '../../../types';
import { clusterIdError, discoverySourceErrors, durationMs, linkUrlError, timeIntervalError } from './validation';

describe('timeIntervalError (the backend rule of jsonData.timeInterval and clusters[].prometheus.timeInterval)', () => {
  it.each(['', '  ', '15s', '1m', '1m30s', '500ms', '30', '1d', '86400'])('accepts %p', (v) => {
    expect(timeIntervalError(v)).toBeUndefined();
  });
  it.each(['0s', '0', '1.5m', '15 s', '15sec', 's', '2d', '86401', '1d1ms', '-15s'])('rejects %p', (v) => {
    expect(timeIntervalError(v)).toBe('A scrape interval such as 15s or 1m (between 1ms and 1d)');
  });
  it('reads durations as Prometheus does', () => {
    expect(durationMs('1h30m')).toBe(5_400_000);
    expect(durationMs('2w')).toBe(1_209_600_000);
    expect(durationMs('10x')).toBeUndefined();
  });
});

describe('cluster ids follow the backend rule', () => {
  it('rejects dots (they separate secret keys) and ids over 63 characters', () => {
    expect(clusterIdError('east-1', [], 0)).toBeUndefined();
    expect(clusterIdError('east.1', [], 0)).toMatch(/Lower-case letters, digits, "_" and "-"/);
    expect(clusterIdError('a'.repeat(63), [], 0)).toBeUndefined();
    expect(clusterIdError('a'.repeat(64), [], 0)).toMatch(/at most 63 characters/);
  });
});

describe('exemplar links', () => {
  it('needs a label name and a datasource uid or a URL', () => {
    expect(exemplarLinkError({ name: 'trace_id', datasourceUid: 'tempo' })).toEqual({ name: undefined, target: undefined });
    expect(exemplarLinkError({ name: ' ', datasourceUid: 'tempo' }).name).toBe('The exemplar label holding the trace ID is required');
    expect(exemplarLinkError({ name: 'trace_id' }).target).toBe('Set a datasource uid or a URL');
    expect(exemplarLinkError({ name: 'trace_id', datasourceUid: '', url: '' }).target).toBe('Set a datasource uid or a URL');
    expect(exemplarLinkError({ name: 'trace_id', url: 'https://tracing.example/trace/${__value.raw}' }).target).toBeUndefined();
    expect(exemplarLinkError({ name: 'trace_id', url: 'tracing/${__value.raw}' }).target).toBe('Not a URL');
  });
  it('reads link templates as text', () => {
    expect(linkUrlError('ftp://x/${__value.raw}')).toBe('Use an http:// or https:// URL');
  });
});

describe('discovery sources follow the backend rules (src/discovery/mod.rs validate_source)', () => {
  const ok = (s: DiscoverySourceConfig, all: DiscoverySourceConfig[] = [s]) => discoverySourceErrors(s, all, all.indexOf(s));

  it('accepts the documented examples', () => {
    expect(ok({ type: 'file', name: 'gitops', path: '/etc/fleetscope/clusters.yaml', refreshSeconds: 30, labels: { 'managed-by': 'gitops' } })).toEqual({});
    expect(ok({ type: 'registry', name: 'central', url: 'https://registry.example.internal/api/v1/clusters', refreshSeconds: 60 })).toEqual({});
    expect(ok({ type: 'kubernetes', name: 'fleet', server: 'https://mgmt.example.internal:6443', namespace: 'argocd' })).toEqual({});
    // Kubernetes without a server is the in-cluster service account.
    expect(ok({ type: 'kubernetes', name: 'in_cluster-1' })).toEqual({});
  });

  it('names: [a-z0-9_-], 1 to 63 characters, not "static", unique', () => {
    const rule = 'Lower-case letters, digits, "-" and "_", at most 63 characters; not "static"';
    for (const name of ['', 'Fleet', 'a.b', 'static', 'x'.repeat(64), 'a b']) {
      expect(ok({ type: 'file', name, path: '/x' }).name).toBe(rule);
    }
    expect(ok({ type: 'file', name: 'x'.repeat(63), path: '/x' }).name).toBeUndefined();
    const a: DiscoverySourceConfig = { type: 'file', name: 'dup', path: '/a' };
    const b: DiscoverySourceConfig = { type: 'registry', name: 'dup', url: 'https://r.example' };
    expect(discoverySourceErrors(b, [a, b], 1).name).toBe('Another source is already named "dup"');
  });

  it('required and per-type fields, URLs and the refresh range', () => {
    expect(ok({ type: 'file', name: 'f' }).path).toBe('Required for a file source');
    expect(ok({ type: 'file', name: 'f', path: '  ' }).path).toBe('Required for a file source');
    expect(ok({ type: 'registry', name: 'r' }).url).toBe('Required for a registry source');
    expect(ok({ type: 'registry', name: 'r', url: 'ftp://r.example' }).url).toBe('"ftp://r.example" is not an http(s) URL');
    expect(ok({ type: 'kubernetes', name: 'k', server: 'mgmt:6443' }).server).toBe('"mgmt:6443" is not an http(s) URL');
    expect(ok({ type: 'file', name: 'f', path: '/x', url: 'https://r.example', tlsSkipVerify: true })).toEqual({
      url: 'Only registry sources have url',
      tlsSkipVerify: 'Only registry and kubernetes sources have tlsSkipVerify',
    });
    expect(ok({ type: 'kubernetes', name: 'k', refreshSeconds: 10 }).refreshSeconds).toBe('Only file and registry sources have refreshSeconds');
    // tlsSkipVerify: false is the default, not a field set on the wrong type.
    expect(ok({ type: 'file', name: 'f', path: '/x', tlsSkipVerify: false })).toEqual({});
    expect(ok({ type: 'file', name: 'f', path: '/x', refreshSeconds: 0 }).refreshSeconds).toBe('Between 0.01 and 86400 seconds');
    expect(ok({ type: 'file', name: 'f', path: '/x', refreshSeconds: 86_401 }).refreshSeconds).toBe('Between 0.01 and 86400 seconds');
    expect(ok({ type: 'file', name: 'f', path: '/x', refreshSeconds: 0.01 })).toEqual({});
  });
});
