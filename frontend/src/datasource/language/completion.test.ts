import { CompletionData, complete } from './completion';
import { parsedLabelsOf } from './parsedLabels';
import { syntaxErrors } from './parse';

/** Completion data answering from fixed lists, recording what was asked. */
function data() {
  const calls: string[] = [];
  const d: CompletionData = {
    metricNames: async () => (calls.push('metrics'), ['gateway_requests_total', 'up']),
    labelNames: async (source, metric) => (calls.push(`names ${source} ${metric ?? ''}`), source === 'logs' ? ['app', 'namespace'] : ['__name__', 'job', 'status']),
    labelValues: async (source, label, metric) => (calls.push(`values ${source} ${label} ${metric ?? ''}`), label === 'app' ? ['gateway', 'model-server'] : ['a"b', 'plain']),
    parsedLabels: async (selector, parser) => (calls.push(`parsed ${selector} ${parser}`), ['latency_ms', 'user_id']),
    traceAttributes: async (scope) => (calls.push(`attrs ${scope ?? ''}`), scope === 'resource' ? ['resource.service.name'] : ['resource.service.name', 'span.http.route']),
    traceValues: async (tag) =>
      (calls.push(`tvalues ${tag}`), tag === 'span.http.status_code' ? [{ value: '500', quoted: false }] : [{ value: 'gateway', quoted: true }]),
  };
  return { d, calls };
}

const at = async (language: 'promql' | 'logql' | 'traceql', marked: string) => {
  const { d, calls } = data();
  const cursor = marked.indexOf('|^');
  const text = marked.replace('|^', '');
  const res = await complete(language, text, cursor, d);
  return { res, calls, labels: res?.suggestions.map((s) => s.label) ?? [], inserts: res?.suggestions.map((s) => s.insertText) ?? [] };
};

describe('PromQL completion', () => {
  it('offers label names in a selector, scoped to its metric, and values inside quotes (escaped)', async () => {
    const names = await at('promql', 'rate(up{jo|^');
    expect(names.labels).toEqual(['job', 'status']);
    expect(names.res?.from).toBe(8);
    expect(names.calls).toEqual(['names metrics up']);
    const values = await at('promql', 'up{job="|^"}');
    expect(values.inserts).toEqual(['a\\"b', 'plain']);
    expect(values.calls).toEqual(['values metrics job up']);
    // After the operator, before the quote: quoted values.
    expect((await at('promql', 'up{job=|^')).inserts).toEqual(['"a\\"b"', '"plain"']);
  });

  it('offers functions with their docs and metric names at expression positions', async () => {
    const r = await at('promql', 'sum(ra|^');
    const rate = r.res!.suggestions.find((s) => s.label === 'rate')!;
    expect(rate).toMatchObject({ kind: 'function', insertText: 'rate($0)', snippet: true, detail: 'rate(v range-vector)' });
    expect(rate.documentation).toMatch(/counter/);
    expect(r.labels).toContain('gateway_requests_total');
    expect(r.res?.from).toBe(4);
  });

  it('offers durations in a range and label names in grouping', async () => {
    expect((await at('promql', 'rate(up[|^')).labels).toContain('$__rate_interval');
    expect((await at('promql', 'sum by (st|^')).labels).toEqual(['job', 'status']);
    expect((await at('promql', 'up{job="x"} > 1|^')).res).toBeNull();
  });
});

describe('LogQL completion', () => {
  it('offers stream labels and values from Loki', async () => {
    expect((await at('logql', '{ap|^')).labels).toEqual(['app', 'namespace']);
    const v = await at('logql', '{app="|^');
    expect(v.labels).toEqual(['gateway', 'model-server']);
    expect(v.calls).toEqual(['values logs app ']);
  });

  it('offers line filters and parsers after a selector, stages after a pipe', async () => {
    const after = await at('logql', '{app="gateway"} |^');
    expect(after.labels).toEqual(expect.arrayContaining(['|= "…"', '| json', '| logfmt']));
    const stages = await at('logql', '{app="gateway"} | |^');
    expect(stages.labels).toEqual(expect.arrayContaining(['json', 'logfmt', 'line_format', 'drop']));
    expect(stages.calls).toEqual([]);
  });

  it('offers the labels the parser extracts, from sample lines of the selector', async () => {
    const r = await at('logql', '{app="gateway"} |= "x" | json | |^');
    expect(r.labels.slice(0, 2)).toEqual(['latency_ms', 'user_id']);
    expect(r.calls).toEqual(['parsed {app="gateway"} json']);
    // In a metric query's grouping, parsed labels join the stream labels.
    const g = await at('logql', 'sum by (|^) (count_over_time({app="gateway"} | logfmt [5m]))');
    expect(g.labels).toEqual(['app', 'namespace', 'latency_ms', 'user_id']);
  });

  it('offers range functions with docs at the top level', async () => {
    const r = await at('logql', 'count|^');
    expect(r.res!.suggestions.find((s) => s.label === 'count_over_time')).toMatchObject({ insertText: 'count_over_time($0[$__auto])' });
  });
});

describe('TraceQL completion', () => {
  it('offers intrinsics, scopes and attributes from Tempo inside a spanset', async () => {
    const r = await at('traceql', '{ |^');
    expect(r.labels).toEqual(expect.arrayContaining(['duration', 'status', 'resource.', 'span.http.route', 'resource.service.name']));
    const scoped = await at('traceql', '{ resource.|^');
    expect(scoped.labels).toEqual(['resource.service.name']);
    expect(scoped.calls).toEqual(['attrs resource']);
  });

  it('offers values of an attribute: strings quoted, numbers bare, enums for intrinsics', async () => {
    expect((await at('traceql', '{ resource.service.name = |^')).inserts).toEqual(['"gateway"']);
    expect((await at('traceql', '{ resource.service.name = "|^')).inserts).toEqual(['gateway']);
    expect((await at('traceql', '{ span.http.status_code >= |^')).inserts).toEqual(['500']);
    const status = await at('traceql', '{ status = |^');
    expect(status.labels).toEqual(['error', 'ok', 'unset']);
    expect(status.calls).toEqual([]);
  });

  it('offers && / || after a comparison and aggregates after a pipe', async () => {
    expect((await at('traceql', '{ status = error |^')).labels).toEqual(['&&', '||', '}']);
    expect((await at('traceql', '{ status = error } | |^')).labels).toEqual(expect.arrayContaining(['count', 'avg', 'select', 'by']));
    expect((await at('traceql', '|^')).labels).toEqual(['{ … }']);
  });

  it('still offers the static part when the backend fails', async () => {
    const failing: CompletionData = {
      metricNames: () => Promise.reject(new Error('down')),
      labelNames: () => Promise.reject(new Error('down')),
      labelValues: () => Promise.reject(new Error('down')),
      parsedLabels: () => Promise.reject(new Error('down')),
      traceAttributes: () => Promise.reject(new Error('down')),
      traceValues: () => Promise.reject(new Error('down')),
    };
    const r = await complete('traceql', '{ ', 2, failing);
    expect(r!.suggestions.map((s) => s.label)).toContain('duration');
    const p = await complete('promql', 'ra', 2, failing);
    expect(p!.suggestions.map((s) => s.label)).toContain('rate');
  });
});

describe('syntax errors from the lezer grammars', () => {
  it('reports where and what, and accepts template variables', () => {
    expect(syntaxErrors('promql', 'sum(rate(up[5m]))')).toEqual([]);
    expect(syntaxErrors('promql', 'rate(up[$__rate_interval])')).toEqual([]);
    expect(syntaxErrors('promql', 'up{job=~"$job"}')).toEqual([]);
    const [e] = syntaxErrors('promql', 'sum(rate(up[5m])');
    expect(e.message).toMatch(/Incomplete query/);
    expect(syntaxErrors('promql', 'up{job="a"} )')[0].message).toBe('Unexpected ")" here');
    expect(syntaxErrors('logql', '{app="x"} |= "y" | json')).toEqual([]);
    expect(syntaxErrors('logql', 'count_over_time({app="x"}[$__auto])')).toEqual([]);
    expect(syntaxErrors('logql', '{app="x"} |=')).not.toEqual([]);
    expect(syntaxErrors('traceql', '{ resource.service.name = "gateway" && duration > 2s }')).toEqual([]);
    expect(syntaxErrors('traceql', '{ duration > $min }')).toEqual([]);
    expect(syntaxErrors('traceql', '{ status = }')).not.toEqual([]);
    expect(syntaxErrors('promql', '')).toEqual([]);
  });
});

describe('parsed labels from sample lines', () => {
  it('flattens JSON keys with _ and sanitises names; reads logfmt keys', () => {
    expect(parsedLabelsOf(['{"level":"info","req":{"user-id":7,"path":"/a"}}'], 'json')).toEqual(['level', 'req_path', 'req_user_id']);
    expect(parsedLabelsOf(['level=info msg="a b" latency_ms=12'], 'logfmt')).toEqual(['latency_ms', 'level', 'msg']);
    expect(parsedLabelsOf(['not json at all', 'a=1'])).toEqual(['a']);
  });
});
