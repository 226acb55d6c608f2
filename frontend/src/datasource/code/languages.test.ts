import { isValid, tokenize } from './languages';

const classesOf = (lang: Parameters<typeof tokenize>[0], text: string) =>
  tokenize(lang, text)
    .tokens.filter((t) => t.cls)
    .map((t) => [text.slice(t.from, t.to), t.cls]);

describe('syntax highlighting from the lezer grammars', () => {
  it('colours PromQL functions, labels, strings and numbers', () => {
    const toks = classesOf('promql', 'sum by (job) (rate(http_requests_total{code="500"}[5m])) > 0.5');
    expect(toks).toEqual(
      expect.arrayContaining([
        ['sum', 'keyword'],
        ['rate', 'function'],
        ['code', 'label'],
        ['"500"', 'string'],
        ['0.5', 'number'],
      ])
    );
  });

  it('colours LogQL selectors, pipeline stages and range functions', () => {
    const toks = classesOf('logql', 'sum(count_over_time({app="gateway"} |= "error" | json [5m]))');
    expect(toks).toEqual(
      expect.arrayContaining([
        ['app', 'label'],
        ['"gateway"', 'string'],
        ['json', 'keyword'],
        ['count_over_time', 'function'],
      ])
    );
  });

  it('colours TraceQL attributes, intrinsics and durations', () => {
    const toks = classesOf('traceql', '{ resource.service.name = "gateway" && duration > 2s }');
    expect(toks).toEqual(expect.arrayContaining([['"gateway"', 'string'], ['2s', 'number']]));
    expect(toks.some(([text, cls]) => text === 'duration' && cls === 'keyword')).toBe(true);
  });

  it('tokens cover the text exactly, and syntax errors are marked', () => {
    const text = 'up{job="a"';
    const { tokens, hasError } = tokenize('promql', text);
    expect(tokens.map((t) => text.slice(t.from, t.to)).join('')).toBe(text);
    expect(hasError).toBe(true);
    expect(tokenize('promql', 'sum(rate(up[5m]').hasError).toBe(true);
    expect(tokenize('promql', 'sum(rate(up[5m]))').hasError).toBe(false);
    expect(isValid('promql', text)).toBe(false);
    expect(isValid('promql', 'up{job="a"}')).toBe(true);
    expect(isValid('logql', '{app="x"} |= "y"')).toBe(true);
    expect(isValid('traceql', '{ status = error }')).toBe(true);
  });
});
