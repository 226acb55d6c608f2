import {
  LOGQL_AGGREGATIONS,
  LOGQL_RANGE_FUNCTIONS,
  LOGQL_STAGES,
  PROMQL_AGGREGATIONS,
  PROMQL_FUNCTIONS,
  TRACEQL_AGGREGATES,
  TRACEQL_INTRINSICS,
  nameOfSignature,
} from './docs';

describe('function docs (functions.json)', () => {
  it('names each row by its signature’s first word', () => {
    expect(nameOfSignature('count_values by (labels) ("label", v instant-vector)')).toBe('count_values');
    expect(nameOfSignature('| json [label="expression", …]')).toBe('json');
    expect(nameOfSignature('span:id = "…"')).toBe('span:id');
    expect(nameOfSignature('time()')).toBe('time');
  });

  it('has every table, with unique names and a doc for each', () => {
    const tables = { PROMQL_AGGREGATIONS, PROMQL_FUNCTIONS, LOGQL_RANGE_FUNCTIONS, LOGQL_AGGREGATIONS, LOGQL_STAGES, TRACEQL_INTRINSICS, TRACEQL_AGGREGATES };
    expect(Object.fromEntries(Object.entries(tables).map(([k, t]) => [k, t.length]))).toEqual({
      PROMQL_AGGREGATIONS: 14,
      PROMQL_FUNCTIONS: 70,
      LOGQL_RANGE_FUNCTIONS: 15,
      LOGQL_AGGREGATIONS: 11,
      LOGQL_STAGES: 11,
      TRACEQL_INTRINSICS: 13,
      TRACEQL_AGGREGATES: 12,
    });
    for (const t of Object.values(tables)) {
      expect(new Set(t.map((d) => d.name)).size).toBe(t.length);
      for (const d of t) {
        expect(d.name).toMatch(/^[A-Za-z_][\w:]*$/);
        expect(d.doc.length).toBeGreaterThan(5);
      }
    }
    expect(PROMQL_FUNCTIONS.find((d) => d.name === 'histogram_quantile')?.signature).toBe('histogram_quantile(φ scalar, b instant-vector)');
  });
});
