import { exemplarLinkError } from './MetricsSettingsEditor';
import { clusterIdError, durationMs, linkUrlError, timeIntervalError } from './validation';

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
