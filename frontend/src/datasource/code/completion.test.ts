import { completionContext, filterSuggestions } from './completion';

const at = (text: string) => completionContext(text.replace('|', ''), text.indexOf('|'));

describe('completionContext', () => {
  it('suggests label names inside a selector, scoped to its metric', () => {
    expect(at('up{jo|')).toEqual({ kind: 'label-name', prefix: 'jo', metric: 'up', from: 3 });
    expect(at('up{job="a", |}')).toMatchObject({ kind: 'label-name', prefix: '', metric: 'up' });
  });

  it('suggests label values inside a quoted matcher value', () => {
    expect(at('rate(http_requests_total{code=~"5|"}[5m])')).toEqual({
      kind: 'label-value',
      label: 'code',
      metric: 'http_requests_total',
      prefix: '5',
      from: 32,
    });
  });

  it('suggests label names in grouping clauses', () => {
    expect(at('sum by (team, ser|) (x)')).toMatchObject({ kind: 'label-name', prefix: 'ser' });
  });

  it('suggests metric names at the top level, but not for keywords or function calls', () => {
    expect(at('rate(gpu_u|')).toMatchObject({ kind: 'metric-name', prefix: 'gpu_u' });
    expect(at('sum|')).toBeNull();
    expect(at('x{a=|')).toBeNull();
    expect(at('"abc|')).toBeNull();
  });
});

describe('filterSuggestions', () => {
  it('ranks prefix matches before substring matches and drops exact matches', () => {
    expect(filterSuggestions(['service', 'job', 'service_name', 'team_service'], 'serv')).toEqual([
      'service',
      'service_name',
      'team_service',
    ]);
    expect(filterSuggestions(['job'], 'job')).toEqual([]);
  });
});
