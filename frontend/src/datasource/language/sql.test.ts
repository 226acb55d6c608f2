import { SqlContext, completeSql, sqlSchema } from './sql';

const ctx = (metrics: string[] = ['gpu_util', "it's"]): SqlContext & { asked: string[] } => {
  const asked: string[] = [];
  return {
    ...sqlSchema(undefined),
    asked,
    metricNames: async (prefix) => {
      asked.push(prefix);
      return metrics.map((name) => ({ name, type: 'gauge' }));
    },
  };
};

/** Completion with the cursor at `|`. */
async function at(textWithCursor: string, c: SqlContext = ctx()) {
  const cursor = textWithCursor.indexOf('|');
  const text = textWithCursor.replace('|', '');
  const r = await completeSql(text, cursor, c);
  return r && { from: r.from, labels: r.suggestions.map((s) => s.label), inserts: r.suggestions.map((s) => s.insertText) };
}

describe('store SQL completion', () => {
  it('defaults to the exporter tables in otel and the cluster_id attribute', () => {
    const s = sqlSchema([]);
    expect(s.tables.map((t) => t.qualified)).toEqual(['otel.otel_metrics_gauge', 'otel.otel_metrics_sum', 'otel.otel_metrics_histogram']);
    expect(s.clusterAttributes).toEqual(['cluster_id']);
    const two = sqlSchema([{ id: 'a' }, { id: 'b', database: 'lts', sumTable: 'sums', clusterAttribute: 'k8s.cluster.name' }]);
    expect(two.tables.map((t) => `${t.qualified}:${t.stores.join('+')}`)).toEqual([
      'otel.otel_metrics_gauge:a',
      'otel.otel_metrics_sum:a',
      'otel.otel_metrics_histogram:a',
      'lts.otel_metrics_gauge:b',
      'lts.sums:b',
      'lts.otel_metrics_histogram:b',
    ]);
    expect(two.clusterAttributes).toEqual(['cluster_id', 'k8s.cluster.name']);
  });

  it('tables after FROM, replacing the partly typed name', async () => {
    expect(await at('SELECT 1 FROM otel.otel_m|')).toEqual({
      from: 'SELECT 1 FROM '.length,
      labels: ['otel.otel_metrics_gauge', 'otel.otel_metrics_sum', 'otel.otel_metrics_histogram'],
      inserts: ['otel.otel_metrics_gauge', 'otel.otel_metrics_sum', 'otel.otel_metrics_histogram'],
    });
  });

  it('macros from $, the $__timeFilter snippet, and only time columns as its argument', async () => {
    const r = await at('SELECT 1 WHERE $__|');
    expect(r!.from).toBe('SELECT 1 WHERE '.length);
    expect(r!.labels).toEqual(['$__timeFilter(column)', '$__fromTime', '$__toTime', '$__interval_s', '$__interval', '$__interval_ms', '$__clusters', '$__clusterAttribute']);
    expect(r!.inserts[0]).toBe('\\$__timeFilter(${1:TimeUnix})');
    expect((await at('SELECT 1 FROM otel.otel_metrics_sum WHERE $__timeFilter(|'))!.labels).toEqual(['StartTimeUnix', 'TimeUnix']);
  });

  it('columns of the table read (all tables when none is known), then the macros', async () => {
    const gauge = (await at('SELECT | FROM otel.otel_metrics_gauge'))!.labels;
    expect(gauge).toEqual(expect.arrayContaining(['Value', 'TimeUnix', 'MetricName', 'Attributes', 'ResourceAttributes', 'Flags']));
    expect(gauge).not.toContain('IsMonotonic');
    expect(gauge).not.toContain('BucketCounts');
    const any = (await at('SELECT Met|'))!;
    expect(any.from).toBe('SELECT '.length);
    expect(any.labels).toEqual(expect.arrayContaining(['Value', 'IsMonotonic', 'BucketCounts', '$__clusters']));
  });

  it('metric names inside the literal after MetricName =, or whole literals right after it; quotes escaped', async () => {
    const c = ctx();
    const inside = await at("SELECT 1 WHERE MetricName = 'gp|", c);
    expect(inside).toEqual({ from: "SELECT 1 WHERE MetricName = '".length, labels: ['gpu_util'], inserts: ['gpu_util'] });
    expect(c.asked).toEqual(['gp']);
    const list = await at("SELECT 1 WHERE MetricName IN ('gpu_util', '|')");
    expect(list!.inserts).toEqual(['gpu_util', "it\\'s"]);
    const bare = await at('SELECT 1 WHERE MetricName = |');
    expect(bare!.inserts).toEqual(["'gpu_util'", "'it\\'s'"]);
    // Another column's literal: nothing.
    expect(await at("SELECT 1 WHERE ServiceName = 'gp|")).toBeNull();
  });

  it('the cluster attribute key in a map subscript; nothing in comments', async () => {
    expect((await at('SELECT ResourceAttributes[|'))!.inserts).toEqual(['$__clusterAttribute', "'cluster_id'"]);
    expect((await at("SELECT Attributes['|"))!.inserts).toEqual(['cluster_id']);
    expect(await at('SELECT 1 -- MetricName = |')).toBeNull();
    expect(await at('SELECT /* FROM | */ 1')).toBeNull();
    expect(await at("SELECT 'a''b' AS x, |")).not.toBeNull();
  });
});
