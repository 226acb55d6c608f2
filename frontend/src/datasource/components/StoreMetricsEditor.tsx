import { Button, CodeEditor, Combobox, ComboboxOption, InlineField, InlineFieldRow, Input, Monaco, MultiCombobox, RadioButtonGroup, Stack, monacoTypes } from '@grafana/ui';
import { useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';

import { ClickhouseFunction, ClickhouseReduce } from '../../types';
import { MatchOp } from '../modifyQuery';
import { HintRange } from '../resources';
import { SqlContext, sqlSchema } from '../language/sql';
import { registerSqlCompletion } from '../language/sqlMonaco';
import { Matcher, formatMatchers, parseMatchers } from '../storeMatchers';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';
import { hintClusters, hintSelector } from './useClusters';
import { useHideSuggestBeforeUnmount } from './hideSuggestBeforeUnmount';

const FUNCTIONS: Array<{ label: string; value: ClickhouseFunction; description: string }> = [
  { label: 'Raw', value: 'raw', description: 'The latest sample of each step' },
  { label: 'Rate', value: 'rate', description: 'Per-second increase of a counter (resets handled)' },
  { label: 'Increase', value: 'increase', description: 'Increase of a counter over each step' },
  { label: 'Avg', value: 'avg_over_time', description: 'Average of the samples of each step' },
  { label: 'Min', value: 'min_over_time', description: 'Minimum of the samples of each step' },
  { label: 'Max', value: 'max_over_time', description: 'Maximum of the samples of each step' },
  { label: 'Quantile', value: 'histogram_quantile', description: 'φ-quantile of a histogram metric' },
];

const REDUCES: Array<{ label: string; value: ClickhouseReduce }> = [
  { label: 'Sum', value: 'sum' },
  { label: 'Avg', value: 'avg' },
  { label: 'Min', value: 'min' },
  { label: 'Max', value: 'max' },
  { label: 'Count', value: 'count' },
];

const SERIES: Array<{ label: string; value: 'each' | 'combine'; description: string }> = [
  { label: 'Each', value: 'each', description: 'Every series of every cluster' },
  { label: 'Combine', value: 'combine', description: 'Reduce each cluster’s series by attributes (none: all into one)' },
];

type Mode = 'builder' | 'sql';
const MODES: Array<{ label: string; value: Mode; description: string }> = [
  { label: 'Builder', value: 'builder', description: 'A metric, filters, a function and grouping' },
  { label: 'SQL', value: 'sql', description: 'Your own read-only SELECT with macros' },
];

/**
 * What SQL mode starts with: the builder's metric (or a GPU gauge) averaged per
 * step and per cluster from the exporter's default database `otel`, written
 * with every macro a statement needs. The answer
 * must have a `cluster` column (the cluster attribute's value), a time column
 * (`t`, `time` or `timestamp`) and a numeric `value`; other columns are labels.
 */
export function sqlTemplate(metric: string | undefined): string {
  const name = (metric?.trim() || 'DCGM_FI_DEV_GPU_UTIL').replace(/[\\']/g, '\\$&');
  return [
    'SELECT ResourceAttributes[$__clusterAttribute] AS cluster,',
    '       toStartOfInterval(TimeUnix, toIntervalSecond($__interval_s)) AS t,',
    '       avg(Value) AS value',
    'FROM otel.otel_metrics_gauge',
    `WHERE MetricName = '${name}' AND $__timeFilter(TimeUnix) AND cluster IN $__clusters`,
    'GROUP BY cluster, t',
    'ORDER BY t',
  ].join('\n');
}

const SQL_HELP =
  'Read-only, capped by the store’s limits. Macros (bound as parameters): $__timeFilter(column), $__fromTime, $__toTime, $__interval_s, $__interval_ms, $__clusters (the cluster values of this store), $__clusterAttribute. Columns: cluster, t (or time/timestamp), value; the rest are labels.';

/**
 * The raw-SQL field: Monaco's SQL, Shift+Enter and blur run it; completion of
 * macros, tables, columns, metric names and the cluster attribute (`context`
 * is read at each request).
 */
function SqlField({
  value,
  onChange,
  onRun,
  context,
}: {
  value: string;
  onChange: (sql: string) => void;
  onRun: (sql: string) => void;
  context: () => SqlContext;
}) {
  const latest = useRef({ onChange, onRun, context });
  useLayoutEffect(() => {
    latest.current = { onChange, onRun, context };
  });
  const disposables = useRef<monacoTypes.IDisposable[]>([]);
  useEffect(
    () => () => {
      disposables.current.forEach((d) => d.dispose());
      disposables.current = [];
    },
    []
  );
  const { editorRef, onEditorWillUnmount } = useHideSuggestBeforeUnmount();
  const onEditorDidMount = useCallback((editor: monacoTypes.editor.IStandaloneCodeEditor, monaco: Monaco) => {
    editorRef.current = editor;
    disposables.current.push(
      editor.addAction({
        id: 'fleetscope-run-sql',
        label: 'Run query',
        keybindings: [monaco.KeyMod.Shift | monaco.KeyCode.Enter],
        run: () => latest.current.onRun(editor.getValue()),
      }),
      registerSqlCompletion(monaco, editor, () => latest.current.context())
    );
  }, [editorRef]);
  return (
    <div data-testid="fleetscope-query-field-sql" style={{ flexGrow: 1, minWidth: 300 }}>
      <CodeEditor
        value={value}
        language="sql"
        height={160}
        showLineNumbers
        showMiniMap={false}
        onEditorDidMount={onEditorDidMount}
        onEditorWillUnmount={onEditorWillUnmount}
        onChange={(v) => latest.current.onChange(v)}
        onBlur={(v) => latest.current.onRun(v)}
        monacoOptions={{ ariaLabel: 'Store SQL', fontSize: 13, scrollBeyondLastLine: false, wordWrap: 'on', matchBrackets: 'always' }}
      />
    </div>
  );
}

const OPS: Array<{ label: string; value: MatchOp }> = (['=', '!=', '=~', '!~'] as const).map((value) => ({ label: value, value }));

/** An accessible name for a combobox (it takes `aria-labelledby`, not `aria-label`). */
function Name({ id, text }: { id: string; text: string }) {
  return (
    <span id={id} hidden>
      {text}
    </span>
  );
}

const toOptions = (values: string[], input: string): Array<ComboboxOption<string>> =>
  values.filter((v) => v.toLowerCase().includes(input.toLowerCase())).map((value) => ({ value }));

/**
 * `metrics` with `source: clickhouse`: metric, filters, function and grouping
 * of the long-term store, completed from its resources (metric names with
 * their type, attribute keys of the metric, values of a key) on the editor's
 * clusters and time range.
 */
export function StoreMetricsEditor(props: KindEditorProps) {
  const { datasource, query, onChange, onChangeAndRun, range } = props;
  const resources = datasource.resources;
  const clusters = useMemo(() => hintClusters(query.clusters), [query.clusters]);
  const selector = hintSelector(query.clusterSelector);
  // The clusters to ask (a selector resolved to ids); none matched or an invalid selector: nothing to offer.
  const scoped = useCallback(
    async <T,>(ask: (ids: string[] | undefined) => Promise<T[]>): Promise<T[]> => {
      let ids: string[] | undefined;
      try {
        ids = await resources.hintScope(clusters, selector);
      } catch {
        return [];
      }
      return ids && ids.length === 0 ? [] : ask(ids);
    },
    [resources, clusters, selector]
  );
  const from = range?.from.valueOf();
  const to = range?.to.valueOf();
  const hint: HintRange | undefined = from !== undefined && to !== undefined ? { from, to } : undefined;
  const metric = query.metric?.trim() || undefined;
  // Filter rows are kept here too: a row being added has no attribute yet, which the text cannot hold.
  const text = query.matchers ?? '';
  const [rows, setRows] = useState<Matcher[]>(() => parseMatchers(text) ?? []);
  const [written, setWritten] = useState(text);
  if (text !== written) {
    // Changed outside this editor (a cheat-sheet example, the JSON): read it again.
    setWritten(text);
    setRows(parseMatchers(text) ?? []);
  }
  const matchers = parseMatchers(text) === undefined ? undefined : rows;
  const fn = query.function ?? 'raw';
  const uid = useId();
  const nameId = (what: string) => `${uid}-${what}`;

  const metricOptions = useCallback(
    async (input: string) =>
      (await scoped((ids) => resources.storeMetrics(ids, input, hint))).map((m) => ({
        value: m.name,
        description: [m.type, m.unit, m.help].filter(Boolean).join(' · ') || undefined,
      })),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [resources, scoped, from, to]
  );
  const keyOptions = useCallback(
    async (input: string) => toOptions(await scoped((ids) => resources.storeAttributes(ids, metric, hint)), input),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [resources, scoped, metric, from, to]
  );
  const schema = useMemo(() => sqlSchema(datasource.clickhouseStores), [datasource]);
  const sqlContext = (): SqlContext => ({
    ...schema,
    metricNames: (prefix) => scoped((ids) => resources.storeMetrics(ids, prefix, hint)),
  });
  const valueOptions = (key: string) => async (input: string) =>
    key ? toOptions(await scoped((ids) => resources.storeAttributeValues(key, ids, metric, hint)), input) : [];
  const setMatchers = (next: Matcher[], run = true) => {
    const t = formatMatchers(next);
    setRows(next);
    setWritten(t);
    (run ? onChangeAndRun : onChange)({ matchers: t || undefined });
  };

  const mode: Mode = query.sql !== undefined ? 'sql' : 'builder';
  const modeRow = (
    <InlineFieldRow>
      <InlineField label="Mode" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<Mode>
          size="sm"
          options={MODES}
          value={mode}
          onChange={(m) => onChangeAndRun({ sql: m === 'sql' ? (query.sql ?? sqlTemplate(metric)) : undefined })}
        />
      </InlineField>
    </InlineFieldRow>
  );
  if (mode === 'sql') {
    return (
      <Stack direction="column" gap={0.5}>
        {modeRow}
        <InlineFieldRow>
          <InlineField label="SQL" labelWidth={LABEL_WIDTH} grow tooltip={SQL_HELP}>
            <SqlField value={query.sql ?? ''} onChange={(sql) => onChange({ sql })} onRun={(sql) => onChangeAndRun({ sql })} context={sqlContext} />
          </InlineField>
        </InlineFieldRow>
      </Stack>
    );
  }

  return (
    <Stack direction="column" gap={0.5}>
      {modeRow}
      <InlineFieldRow>
        <InlineField label="Metric" labelWidth={LABEL_WIDTH} required tooltip="The store's metric names (OpenTelemetry MetricName; Prometheus names pass unchanged)">
          <Combobox<string>
            aria-labelledby={nameId('metric')}
            width={48}
            placeholder="DCGM_FI_DEV_GPU_UTIL"
            createCustomValue
            options={metricOptions}
            value={metric ?? null}
            onChange={(o) => onChangeAndRun({ metric: o.value })}
          />
        </InlineField>
        <Name id={nameId('metric')} text="Store metric" />
        <InlineField label="Function">
          <RadioButtonGroup<ClickhouseFunction> size="sm" options={FUNCTIONS} value={fn} onChange={(f) => onChangeAndRun({ function: f })} />
        </InlineField>
        {fn === 'histogram_quantile' && (
          <InlineField label="φ" tooltip="Quantile, 0…1 (default 0.95)">
            <Input
              aria-label="Quantile"
              type="number"
              min={0}
              max={1}
              step={0.01}
              width={10}
              placeholder="0.95"
              value={query.quantile ?? ''}
              onChange={(e) => {
                const q = Number(e.currentTarget.value);
                onChange({ quantile: e.currentTarget.value === '' || !Number.isFinite(q) ? undefined : q });
              }}
              onBlur={props.onRunQuery}
            />
          </InlineField>
        )}
      </InlineFieldRow>

      {matchers === undefined ? (
        <InlineFieldRow>
          <InlineField label="Filters" labelWidth={LABEL_WIDTH} grow tooltip='A selector such as {gpu="0", modelName=~"H100.*"}'>
            <Input aria-label="Store filters" value={query.matchers ?? ''} onChange={(e) => onChange({ matchers: e.currentTarget.value })} onBlur={props.onRunQuery} />
          </InlineField>
        </InlineFieldRow>
      ) : (
        <>
          {matchers.map((m, i) => {
            const set = (patch: Partial<Matcher>, run = true) => setMatchers(matchers.map((x, j) => (j === i ? { ...x, ...patch } : x)), run);
            return (
              <InlineFieldRow key={i}>
                <InlineField label={i === 0 ? 'Filters' : ''} labelWidth={LABEL_WIDTH} tooltip={i === 0 ? 'Attribute matchers; regexes are fully anchored' : undefined}>
                  <Combobox<string>
                    aria-labelledby={nameId(`key-${i}`)}
                    width={24}
                    createCustomValue
                    options={keyOptions}
                    value={m.key || null}
                    onChange={(o) => set({ key: o.value }, m.value !== '')}
                  />
                </InlineField>
                <RadioButtonGroup<MatchOp> size="sm" options={OPS} value={m.op} onChange={(op) => set({ op })} />
                <InlineField>
                  <Combobox<string>
                    aria-labelledby={nameId(`value-${i}`)}
                    width={28}
                    createCustomValue
                    options={valueOptions(m.key)}
                    value={m.value || null}
                    onChange={(o) => set({ value: o.value })}
                  />
                </InlineField>
                <Name id={nameId(`key-${i}`)} text={`Filter ${i + 1} attribute`} />
                <Name id={nameId(`value-${i}`)} text={`Filter ${i + 1} value`} />
                <Button variant="secondary" icon="times" aria-label={`Remove filter ${i + 1}`} onClick={() => setMatchers(matchers.filter((_, j) => j !== i))} />
              </InlineFieldRow>
            );
          })}
          <InlineFieldRow>
            <InlineField label={matchers.length ? '' : 'Filters'} labelWidth={LABEL_WIDTH}>
              <Button size="sm" variant="secondary" icon="plus" onClick={() => setMatchers([...matchers, { key: '', op: '=', value: '' }], false)}>
                Add filter
              </Button>
            </InlineField>
          </InlineFieldRow>
        </>
      )}

      <InlineFieldRow>
        <InlineField
          label="Series"
          labelWidth={LABEL_WIDTH}
          tooltip="Each: every series of every cluster. Combine: each cluster's series reduced by the chosen attributes (none chosen: all into one)."
        >
          <RadioButtonGroup<'each' | 'combine'>
            size="sm"
            options={SERIES}
            value={query.groupBy ? 'combine' : 'each'}
            onChange={(v) => onChangeAndRun({ groupBy: v === 'combine' ? (query.groupBy ?? []) : undefined })}
          />
        </InlineField>
        {query.groupBy && (
          <>
            <InlineField label="by">
              <MultiCombobox<string>
                aria-labelledby={nameId('group')}
                width={40}
                placeholder="all series"
                createCustomValue
                options={keyOptions}
                value={query.groupBy}
                onChange={(opts) => onChangeAndRun({ groupBy: opts.map((o) => o.value) })}
              />
            </InlineField>
            <Name id={nameId('group')} text="Group by" />
            <InlineField label="Reduce">
              <RadioButtonGroup<ClickhouseReduce> size="sm" options={REDUCES} value={query.reduce ?? 'sum'} onChange={(reduce) => onChangeAndRun({ reduce })} />
            </InlineField>
          </>
        )}
      </InlineFieldRow>
    </Stack>
  );
}
