/**
 * Completion for the ClickHouse store's raw-SQL mode: the backend's macros
 * (src/clickhouse/sql.rs `expand_macros`), the store's tables, the columns of
 * the OpenTelemetry Collector ClickHouse exporter's metric tables, metric names
 * inside the string after `MetricName =`, and the cluster attribute key inside
 * `ResourceAttributes[…]`/`Attributes[…]`. Pure: the Monaco glue is in sqlMonaco.ts.
 */

export type MetricTableKind = 'gauge' | 'sum' | 'histogram';

export interface SqlTable {
  /** As written after FROM: `database.table`. */
  qualified: string;
  kind: MetricTableKind;
  /** The store(s) it belongs to (jsonData.clickhouse[].id). */
  stores: string[];
}

export interface SqlMetric {
  name: string;
  type?: string;
  unit?: string;
  help?: string;
}

export interface SqlContext {
  tables: SqlTable[];
  /** The stores' cluster attributes (jsonData.clickhouse[].clusterAttribute, default `cluster_id`). */
  clusterAttributes: string[];
  /** Store metric names starting with `prefix`, of the editor's clusters. */
  metricNames: (prefix: string) => Promise<SqlMetric[]>;
}

export type SqlSuggestionKind = 'macro' | 'table' | 'column' | 'metric' | 'attribute';

export interface SqlSuggestion {
  label: string;
  kind: SqlSuggestionKind;
  insertText: string;
  /** `insertText` is a Monaco snippet (`${1:…}` placeholders). */
  snippet?: boolean;
  detail?: string;
  documentation?: string;
}

export interface SqlCompletion {
  /** Offset where the replaced text starts (the cursor is where it ends). */
  from: number;
  suggestions: SqlSuggestion[];
}

interface MacroDoc {
  label: string;
  insertText: string;
  snippet?: boolean;
  detail: string;
  documentation: string;
}

/** The macros `expand_macros` knows; each becomes a bound parameter, never a value in the text. */
export const SQL_MACROS: MacroDoc[] = [
  {
    label: '$__timeFilter(column)',
    insertText: '\\$__timeFilter(${1:TimeUnix})',
    snippet: true,
    detail: 'the query time range on a column',
    documentation:
      'Expands to `(column >= fromUnixTimestamp64Milli({__from_ms:Int64}) AND column <= fromUnixTimestamp64Milli({__to_ms:Int64}))`, ' +
      'bounds included. The argument must be a column name (letters, digits, `_`, `.`; not starting with a digit), e.g. `TimeUnix`.',
  },
  {
    label: '$__fromTime',
    insertText: '$__fromTime',
    detail: 'start of the time range',
    documentation: 'Expands to `fromUnixTimestamp64Milli({__from_ms:Int64})`: the start of the query range as a DateTime64.',
  },
  {
    label: '$__toTime',
    insertText: '$__toTime',
    detail: 'end of the time range',
    documentation: 'Expands to `fromUnixTimestamp64Milli({__to_ms:Int64})`: the end of the query range as a DateTime64.',
  },
  {
    label: '$__interval_s',
    insertText: '$__interval_s',
    detail: 'the step, in whole seconds',
    documentation:
      'Expands to `{__interval_s:Int64}`: the query step in seconds (at least 1), e.g. `toStartOfInterval(TimeUnix, toIntervalSecond($__interval_s))`.',
  },
  {
    label: '$__interval',
    insertText: '$__interval',
    detail: 'the step, in whole seconds (same as $__interval_s)',
    documentation:
      'Expands to `{__interval_s:Int64}`, like `$__interval_s`: a number of seconds, not a Grafana duration such as `15s`.',
  },
  {
    label: '$__interval_ms',
    insertText: '$__interval_ms',
    detail: 'the step, in milliseconds',
    documentation: 'Expands to `{__interval_ms:Int64}`: the query step in milliseconds.',
  },
  {
    label: '$__clusters',
    insertText: '$__clusters',
    detail: "the query's clusters in this store",
    documentation:
      "Expands to `{__clusters:Array(String)}`: the cluster attribute values of the query's clusters that this store serves. " +
      'Use with `IN`: `ResourceAttributes[$__clusterAttribute] IN $__clusters`.',
  },
  {
    label: '$__clusterAttribute',
    insertText: '$__clusterAttribute',
    detail: "the store's cluster attribute key",
    documentation:
      "Expands to `{__cluster_attribute:String}`: the attribute holding the cluster's identifier (the store's `clusterAttribute`, default `cluster_id`), " +
      'e.g. `ResourceAttributes[$__clusterAttribute] AS cluster`.',
  },
];

type ColumnDoc = [name: string, type: string, doc: string];

/** Columns every metric table of the exporter has. */
const COMMON_COLUMNS: ColumnDoc[] = [
  ['ResourceAttributes', 'Map(LowCardinality(String), String)', 'Resource attributes (the cluster attribute is usually here)'],
  ['ResourceSchemaUrl', 'String', 'Schema URL of the resource'],
  ['ScopeName', 'String', 'Instrumentation scope name'],
  ['ScopeVersion', 'String', 'Instrumentation scope version'],
  ['ScopeAttributes', 'Map(LowCardinality(String), String)', 'Instrumentation scope attributes'],
  ['ScopeDroppedAttrCount', 'UInt32', 'Scope attributes dropped'],
  ['ScopeSchemaUrl', 'String', 'Schema URL of the scope'],
  ['ServiceName', 'LowCardinality(String)', 'service.name of the resource'],
  ['MetricName', 'String', 'The metric name (Prometheus names pass unchanged)'],
  ['MetricDescription', 'String', 'The metric help text'],
  ['MetricUnit', 'String', 'The metric unit'],
  ['Attributes', 'Map(LowCardinality(String), String)', 'Point attributes (the Prometheus labels)'],
  ['StartTimeUnix', 'DateTime64(9)', 'Start of the point (cumulative start)'],
  ['TimeUnix', 'DateTime64(9)', 'Time of the point'],
  ['Exemplars.FilteredAttributes', 'Array(Map(LowCardinality(String), String))', 'Exemplar attributes'],
  ['Exemplars.TimeUnix', 'Array(DateTime64(9))', 'Exemplar times'],
  ['Exemplars.Value', 'Array(Float64)', 'Exemplar values'],
  ['Exemplars.SpanId', 'Array(String)', 'Exemplar span ids'],
  ['Exemplars.TraceId', 'Array(String)', 'Exemplar trace ids'],
];

const KIND_COLUMNS: Record<MetricTableKind, ColumnDoc[]> = {
  gauge: [
    ['Value', 'Float64', 'The sample value'],
    ['Flags', 'UInt32', 'Data point flags'],
  ],
  sum: [
    ['Value', 'Float64', 'The sample value'],
    ['Flags', 'UInt32', 'Data point flags'],
    ['AggregationTemporality', 'Int32', '1 delta, 2 cumulative'],
    ['IsMonotonic', 'Bool', 'A counter (monotonic sum)'],
  ],
  histogram: [
    ['Count', 'UInt64', 'Observations'],
    ['Sum', 'Float64', 'Sum of the observations'],
    ['BucketCounts', 'Array(UInt64)', 'Count per bucket (one more than ExplicitBounds)'],
    ['ExplicitBounds', 'Array(Float64)', 'Upper bounds of the buckets'],
    ['Flags', 'UInt32', 'Data point flags'],
    ['Min', 'Float64', 'Smallest observation'],
    ['Max', 'Float64', 'Largest observation'],
    ['AggregationTemporality', 'Int32', '1 delta, 2 cumulative'],
  ],
};

const KINDS: MetricTableKind[] = ['gauge', 'sum', 'histogram'];

/** The exporter's default tables (database `otel`), when no store is configured. */
export const DEFAULT_TABLES: Record<MetricTableKind, string> = {
  gauge: 'otel_metrics_gauge',
  sum: 'otel_metrics_sum',
  histogram: 'otel_metrics_histogram',
};

/** The store settings the SQL completion reads (jsonData.clickhouse[], camelCase as src/registry/settings.rs). */
export interface StoreTableSettings {
  id: string;
  database?: string;
  gaugeTable?: string;
  sumTable?: string;
  histogramTable?: string;
  clusterAttribute?: string;
}

/** Tables and cluster attributes of the configured stores (the exporter's defaults without any). */
export function sqlSchema(stores: StoreTableSettings[] | undefined): Pick<SqlContext, 'tables' | 'clusterAttributes'> {
  const list: StoreTableSettings[] = stores?.length ? stores : [{ id: '' }];
  const tables = new Map<string, SqlTable>();
  const attributes = new Set<string>();
  for (const s of list) {
    const names: Record<MetricTableKind, string | undefined> = { gauge: s.gaugeTable, sum: s.sumTable, histogram: s.histogramTable };
    for (const kind of KINDS) {
      const qualified = `${s.database || 'otel'}.${names[kind] || DEFAULT_TABLES[kind]}`;
      const t = tables.get(qualified) ?? { qualified, kind, stores: [] };
      if (s.id && !t.stores.includes(s.id)) {
        t.stores.push(s.id);
      }
      tables.set(qualified, t);
    }
    attributes.add(s.clusterAttribute || 'cluster_id');
  }
  return { tables: Array.from(tables.values()), clusterAttributes: Array.from(attributes) };
}

/** Where the cursor is: in a string literal (from its opening quote), a comment, or code. */
function lexicalState(text: string, cursor: number): { in: 'code' } | { in: 'comment' } | { in: 'string'; start: number } {
  let i = 0;
  while (i < cursor) {
    const c = text[i];
    if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      if (end < 0 || end >= cursor) {
        return { in: 'comment' };
      }
      i = end + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0 || end + 2 > cursor) {
        return { in: 'comment' };
      }
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      // ClickHouse: a backslash escapes, a doubled quote is one quote.
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === '\\') {
          j++;
        } else if (text[j] === c) {
          if (text[j + 1] === c) {
            j++;
          } else {
            break;
          }
        }
      }
      if (j >= cursor) {
        return c === "'" ? { in: 'string', start: i } : { in: 'comment' };
      }
      i = j + 1;
    } else {
      i++;
    }
  }
  return { in: 'code' };
}

/** The text of a ClickHouse single-quoted literal, escaped. */
const sqlString = (v: string) => v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");

const macroItems = (): SqlSuggestion[] =>
  SQL_MACROS.map((m) => ({ label: m.label, kind: 'macro', insertText: m.insertText, snippet: m.snippet, detail: m.detail, documentation: m.documentation }));

/** Columns of the tables the statement reads (all metric tables when it names none of the known ones). */
function columnItems(text: string, tables: SqlTable[], only?: (type: string) => boolean): SqlSuggestion[] {
  const named = tables.filter((t) => new RegExp(`(^|[\\s.\`])${escapeRegex(t.qualified.split('.').pop()!)}\`?(\\s|$|;|\\))`).test(text));
  const kinds = named.length ? Array.from(new Set(named.map((t) => t.kind))) : KINDS;
  const seen = new Map<string, { type: string; doc: string; kinds: MetricTableKind[] }>();
  for (const kind of kinds) {
    for (const [name, type, doc] of [...COMMON_COLUMNS, ...KIND_COLUMNS[kind]]) {
      const c = seen.get(name) ?? { type, doc, kinds: [] };
      c.kinds.push(kind);
      seen.set(name, c);
    }
  }
  return Array.from(seen.entries())
    .filter(([, c]) => !only || only(c.type))
    .map(([name, c]) => ({
      label: name,
      kind: 'column' as const,
      insertText: name,
      detail: c.type,
      documentation: `${c.doc}. In the ${c.kinds.join(', ')} table${c.kinds.length > 1 ? 's' : ''}.`,
    }));
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const quoteIdent = (part: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? part : `\`${part.replace(/`/g, '``')}\``);

/** The completion at `cursor` of a raw-SQL statement, or null where there is nothing to offer. */
export async function completeSql(text: string, cursor: number, ctx: SqlContext): Promise<SqlCompletion | null> {
  const state = lexicalState(text, cursor);
  if (state.in === 'comment') {
    return null;
  }
  const before = text.slice(0, cursor);
  if (state.in === 'string') {
    const lead = text.slice(0, state.start);
    const typed = text.slice(state.start + 1, cursor);
    if (/\bMetricName\s*(=|==|!=|<>|\bLIKE|\bIN\s*\((\s*'(?:[^'\\]|\\.)*'\s*,)*)\s*$/i.test(lead)) {
      const metrics = (await ctx.metricNames(typed)).filter((m) => m.name.startsWith(typed));
      return { from: state.start + 1, suggestions: metricItems(metrics, false) };
    }
    if (/Attributes\s*\[\s*$/.test(lead)) {
      return { from: state.start + 1, suggestions: attributeItems(ctx, false) };
    }
    return null;
  }

  const metricValue = /\bMetricName\s*(?:=|==|!=|<>|\bIN\s*\()\s*$/i.exec(before);
  if (metricValue) {
    return { from: cursor, suggestions: metricItems(await ctx.metricNames(''), true) };
  }
  const table = /\b(?:FROM|JOIN)\s+([\w.`]*)$/i.exec(before);
  if (table) {
    return {
      from: cursor - table[1].length,
      suggestions: ctx.tables.map((t) => ({
        label: t.qualified,
        kind: 'table',
        insertText: t.qualified.split('.').map(quoteIdent).join('.'),
        detail: `${t.kind} metrics`,
        documentation: t.stores.length ? `ClickHouse store ${t.stores.join(', ')}` : "The exporter's default table",
      })),
    };
  }
  const key = /Attributes\s*\[\s*(\$?\w*)$/.exec(before);
  if (key) {
    return { from: cursor - key[1].length, suggestions: attributeItems(ctx, true) };
  }
  const timeArg = /\$__timeFilter\(\s*(\w*)$/.exec(before);
  if (timeArg) {
    return { from: cursor - timeArg[1].length, suggestions: columnItems(text, ctx.tables, (type) => type.startsWith('DateTime')) };
  }
  const word = /\$?[\w.]*$/.exec(before)![0];
  const from = cursor - word.length;
  if (word.startsWith('$')) {
    return { from, suggestions: macroItems() };
  }
  if (/^\d/.test(word)) {
    return null;
  }
  return { from, suggestions: [...columnItems(text, ctx.tables), ...macroItems()] };
}

/** Store metric names, as the text of a literal or (`quoted`) as a whole literal. */
const metricItems = (metrics: SqlMetric[], quoted: boolean): SqlSuggestion[] =>
  metrics.map((m) => ({
    label: m.name,
    kind: 'metric',
    insertText: quoted ? `'${sqlString(m.name)}'` : sqlString(m.name),
    detail: [m.type, m.unit].filter(Boolean).join(' · ') || undefined,
    documentation: m.help || undefined,
  }));

/** The cluster attribute key: the macro (outside quotes) and each store's key as a literal. */
function attributeItems(ctx: SqlContext, withMacro: boolean): SqlSuggestion[] {
  const keys: SqlSuggestion[] = ctx.clusterAttributes.map((k) => ({
    label: k,
    kind: 'attribute',
    insertText: withMacro ? `'${sqlString(k)}'` : sqlString(k),
    detail: 'cluster attribute',
    documentation: "The attribute holding the cluster's identifier in this store (its `clusterAttribute`).",
  }));
  if (!withMacro) {
    return keys;
  }
  const macro = macroItems().find((m) => m.label === '$__clusterAttribute')!;
  return [macro, ...keys];
}
