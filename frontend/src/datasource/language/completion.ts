import {
  DURATIONS,
  FunctionDoc,
  LOGQL_AGGREGATIONS,
  LOGQL_PARSERS,
  LOGQL_RANGE_FUNCTIONS,
  LOGQL_STAGES,
  PROMQL_AGGREGATIONS,
  PROMQL_FUNCTIONS,
  PROMQL_KEYWORDS,
  TRACEQL_AGGREGATES,
  TRACEQL_ENUMS,
  TRACEQL_INTRINSICS,
  TRACEQL_SCOPES,
} from './docs';
import { QueryLanguage } from './parse';

/**
 * What to suggest at the cursor, and the suggestions themselves, for the three
 * languages. Plain text scanning rather than the parse tree: the text being
 * typed is usually incomplete (`up{jo`), which the grammars report as error
 * nodes without the structure completion needs. Candidates come from
 * `CompletionData` (the federated resource API, scoped to the editor's clusters).
 */

export type SuggestionKind =
  | 'function'
  | 'metric'
  | 'label'
  | 'value'
  | 'keyword'
  | 'stage'
  | 'duration'
  | 'attribute'
  | 'intrinsic'
  | 'scope'
  | 'operator';

export interface Suggestion {
  label: string;
  kind: SuggestionKind;
  /** Text inserted in place of [from, cursor); may be a Monaco snippet when `snippet`. */
  insertText: string;
  snippet?: boolean;
  detail?: string;
  documentation?: string;
}

export interface Completion {
  /** Offset where the replaced word starts (the cursor is its end). */
  from: number;
  suggestions: Suggestion[];
}

/** Where label names/values come from. */
export type LabelSource = 'metrics' | 'logs';

/** The candidates, from the backend. Each may throw; completion then offers the static part only. */
export interface CompletionData {
  metricNames(): Promise<string[]>;
  labelNames(source: LabelSource, metric?: string): Promise<string[]>;
  labelValues(source: LabelSource, label: string, metric?: string): Promise<string[]>;
  /** Labels that `parser` (json, logfmt, … or none: detect) extracts from the selector's recent lines. */
  parsedLabels(selector: string, parser?: string): Promise<string[]>;
  /** TraceQL attribute names with their scope (`resource.service.name`), optionally of one scope. */
  traceAttributes(scope?: string): Promise<string[]>;
  /** Values of a TraceQL attribute or intrinsic; `quoted` when they are strings. */
  traceValues(tag: string): Promise<Array<{ value: string; quoted: boolean }>>;
}

const IDENT_END = /[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(\s*(?:[a-zA-Z_][a-zA-Z0-9_.]*\s*,\s*)*([a-zA-Z_][a-zA-Z0-9_.]*)?$/;

interface Scan {
  /** Index of the innermost unclosed `{`, or -1. */
  brace: number;
  /** Depth of unclosed `{` (TraceQL spansets). */
  depth: number;
  /** Start of the open string literal, or -1. */
  quoteStart: number;
  /** Index of the unclosed `[`, or -1. */
  bracket: number;
}

/** Scan to `cursor`, skipping string literals. */
export function scan(text: string, cursor: number): Scan {
  const braces: number[] = [];
  let bracket = -1;
  let quote: string | null = null;
  let quoteStart = -1;
  for (let i = 0; i < cursor; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote !== '`') {
        i++;
      } else if (c === quote) {
        quote = null;
        quoteStart = -1;
      }
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      quoteStart = i;
    } else if (c === '{') {
      braces.push(i);
    } else if (c === '}') {
      braces.pop();
    } else if (c === '[') {
      bracket = i;
    } else if (c === ']') {
      bracket = -1;
    }
  }
  return { brace: braces.length ? braces[braces.length - 1] : -1, depth: braces.length, quoteStart: quote ? quoteStart : -1, bracket };
}

function metricBefore(text: string, brace: number): string | undefined {
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(text.slice(0, brace));
  return m ? m[1] : undefined;
}

const fn = (d: FunctionDoc, kind: SuggestionKind = 'function'): Suggestion => ({
  label: d.name,
  kind,
  insertText: `${d.name}($0)`,
  snippet: true,
  detail: d.signature,
  documentation: d.doc,
});

const plain = (values: string[], kind: SuggestionKind, detail?: string): Suggestion[] =>
  values.map((v) => ({ label: v, kind, insertText: v, detail }));

/** Escape a label value for a double-quoted PromQL/LogQL/TraceQL string. */
export const quoteValue = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch {
    return [];
  }
}

/** Inside `{…}` of PromQL/LogQL: label names, or values inside a matcher's quotes. */
async function selectorCompletion(text: string, cursor: number, s: Scan, source: LabelSource, data: CompletionData): Promise<Completion | null> {
  const metric = source === 'metrics' ? metricBefore(text, s.brace) : undefined;
  if (s.quoteStart >= 0) {
    const m = /([a-zA-Z_][a-zA-Z0-9_.]*)\s*(=~|!~|!=|=)\s*$/.exec(text.slice(s.brace + 1, s.quoteStart));
    if (!m) {
      return null;
    }
    const values = await orEmpty(data.labelValues(source, m[1], metric));
    const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    return { from: s.quoteStart + 1, suggestions: values.map((v) => ({ label: v, kind: 'value', insertText: escape(v), detail: m[1] })) };
  }
  const inner = text.slice(s.brace + 1, cursor);
  if (/(=~|!~|!=|=)\s*$/.test(inner)) {
    // After the operator, before the quote: offer quoted values.
    const m = /([a-zA-Z_][a-zA-Z0-9_.]*)\s*(=~|!~|!=|=)\s*$/.exec(inner);
    const values = m ? await orEmpty(data.labelValues(source, m[1], metric)) : [];
    return { from: cursor, suggestions: values.map((v) => ({ label: v, kind: 'value', insertText: quoteValue(v), detail: m?.[1] })) };
  }
  const m = /(^|[{,\s])([a-zA-Z_][a-zA-Z0-9_.]*)?$/.exec(inner);
  if (!m) {
    return null;
  }
  const prefix = m[2] ?? '';
  const names = (await orEmpty(data.labelNames(source, metric))).filter((n) => n !== '__name__');
  return { from: cursor - prefix.length, suggestions: names.map((n) => ({ label: n, kind: 'label', insertText: n, detail: 'label' })) };
}

function durationCompletion(text: string, cursor: number): Completion {
  const prefix = /[$\w]*$/.exec(text.slice(0, cursor))?.[0] ?? '';
  return { from: cursor - prefix.length, suggestions: plain(DURATIONS, 'duration', 'range') };
}

async function promqlCompletion(text: string, cursor: number, data: CompletionData): Promise<Completion | null> {
  const s = scan(text, cursor);
  if (s.brace >= 0) {
    return selectorCompletion(text, cursor, s, 'metrics', data);
  }
  if (s.quoteStart >= 0) {
    return null;
  }
  if (s.bracket >= 0) {
    return durationCompletion(text, cursor);
  }
  const before = text.slice(0, cursor);
  const g = GROUPING.exec(before);
  if (g) {
    const prefix = g[2] ?? '';
    const names = await orEmpty(data.labelNames('metrics'));
    return { from: cursor - prefix.length, suggestions: plain(names.filter((n) => n !== '__name__'), 'label', 'label') };
  }
  const ident = IDENT_END.exec(before)?.[0] ?? '';
  if (ident === '' && before.trim() !== '' && !/[(,\s]$/.test(before)) {
    return null;
  }
  if (/\d$/.test(before) && ident === '') {
    return null;
  }
  const metrics = await orEmpty(data.metricNames());
  return {
    from: cursor - ident.length,
    suggestions: [
      ...PROMQL_AGGREGATIONS.map((d) => fn(d)),
      ...PROMQL_FUNCTIONS.map((d) => fn(d)),
      ...plain(metrics, 'metric', 'metric'),
      ...plain(PROMQL_KEYWORDS, 'keyword'),
    ],
  };
}

/** The last stream selector `{…}` that ends before `cursor`, and the pipeline text after it. */
export function lastSelector(text: string, cursor: number): { selector: string; after: string } | null {
  const before = text.slice(0, cursor);
  let end = -1;
  let quote: string | null = null;
  let start = -1;
  let found: [number, number] | null = null;
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (quote) {
      if (c === '\\' && quote !== '`') {
        i++;
      } else if (c === quote) {
        quote = null;
      }
      continue;
    }
    if (c === '"' || c === '`') {
      quote = c;
    } else if (c === '{') {
      start = i;
    } else if (c === '}' && start >= 0) {
      end = i + 1;
      found = [start, end];
      start = -1;
    }
  }
  return found ? { selector: before.slice(found[0], found[1]), after: before.slice(found[1]) } : null;
}

/** The parser stages (`json`, `logfmt`, …) in a LogQL pipeline text. */
export function parsersIn(pipeline: string): string[] {
  const out: string[] = [];
  const re = /\|\s*(json|logfmt|pattern|regexp|unpack)\b/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(pipeline))) {
    out.push(m[1]);
  }
  return out;
}

async function logqlCompletion(text: string, cursor: number, data: CompletionData): Promise<Completion | null> {
  const s = scan(text, cursor);
  if (s.brace >= 0) {
    return selectorCompletion(text, cursor, s, 'logs', data);
  }
  if (s.quoteStart >= 0) {
    return null;
  }
  if (s.bracket >= 0) {
    return durationCompletion(text, cursor);
  }
  const before = text.slice(0, cursor);
  const sel = lastSelector(text, cursor);
  const parsed = async () => {
    if (!sel) {
      return [];
    }
    const parsers = parsersIn(sel.after);
    return parsers.length ? orEmpty(data.parsedLabels(sel.selector, parsers[parsers.length - 1])) : [];
  };

  const g = GROUPING.exec(before);
  if (g) {
    const prefix = g[2] ?? '';
    const inner = text.slice(before.lastIndexOf('(') + 1);
    const innerSel = lastSelector(inner, inner.length) ?? lastSelector(text, text.length);
    const stream = await orEmpty(data.labelNames('logs'));
    let fromParser: string[] = [];
    if (innerSel && parsersIn(innerSel.after).length) {
      const ps = parsersIn(innerSel.after);
      fromParser = await orEmpty(data.parsedLabels(innerSel.selector, ps[ps.length - 1]));
    }
    return {
      from: cursor - prefix.length,
      suggestions: [...plain(stream, 'label', 'stream label'), ...plain(fromParser.filter((l) => !stream.includes(l)), 'label', 'parsed label')],
    };
  }

  // Right after a pipe: stages, and labels to filter on (parsed ones when a parser ran).
  const pipe = /\|\s*([a-zA-Z_]*)$/.exec(before);
  if (pipe && sel) {
    const prefix = pipe[1];
    const labels = await parsed();
    const hasParser = parsersIn(sel.after).length > 0;
    const stages = LOGQL_STAGES.filter((d) => hasParser || d.name !== 'unwrap').map((d) => ({
      label: d.name,
      kind: 'stage' as const,
      insertText: d.name === 'line_format' || d.name === 'pattern' || d.name === 'regexp' ? `${d.name} "$0"` : d.name,
      snippet: true,
      detail: LOGQL_PARSERS.includes(d.name) ? 'parser' : 'pipeline stage',
      documentation: `${d.signature}\n\n${d.doc}`,
    }));
    return { from: cursor - prefix.length, suggestions: [...plain(labels, 'label', 'parsed label'), ...stages] };
  }
  // After a complete selector or stage: line filters and parsers.
  if (sel && /}\s*$|\S\s+$/.test(before) && !/[(,]\s*$/.test(before) && lastSelector(text, cursor)) {
    const afterSel = sel.after;
    if (afterSel.trim() === '' || /\s$/.test(before)) {
      const ops: Suggestion[] = [
        { label: '|= "…"', kind: 'operator', insertText: '|= "$0"', snippet: true, documentation: 'Line contains the string' },
        { label: '!= "…"', kind: 'operator', insertText: '!= "$0"', snippet: true, documentation: 'Line does not contain the string' },
        { label: '|~ "…"', kind: 'operator', insertText: '|~ "$0"', snippet: true, documentation: 'Line matches the regular expression' },
        { label: '!~ "…"', kind: 'operator', insertText: '!~ "$0"', snippet: true, documentation: 'Line does not match the regular expression' },
        ...LOGQL_PARSERS.map((p) => ({
          label: `| ${p}`,
          kind: 'stage' as const,
          insertText: `| ${p}`,
          documentation: LOGQL_STAGES.find((d) => d.name === p)?.doc,
        })),
      ];
      return { from: cursor, suggestions: ops };
    }
  }
  const ident = IDENT_END.exec(before)?.[0] ?? '';
  if (ident === '' && before.trim() !== '' && !/[(,\s]$/.test(before)) {
    return null;
  }
  return {
    from: cursor - ident.length,
    suggestions: [
      { label: '{…}', kind: 'keyword', insertText: '{$0}', snippet: true, detail: 'stream selector', documentation: 'Selects log streams by label, e.g. {app="gateway"}' },
      ...LOGQL_RANGE_FUNCTIONS.map((d) => ({ ...fn(d), insertText: `${d.name}($0[$__auto])` })),
      ...LOGQL_AGGREGATIONS.map((d) => fn(d)),
      ...plain(['by', 'without'], 'keyword'),
    ],
  };
}

const TRACEQL_OPS = /([a-zA-Z_.:][\w.:/-]*)\s*(=~|!~|!=|>=|<=|=|>|<)\s*$/;

async function traceqlCompletion(text: string, cursor: number, data: CompletionData): Promise<Completion | null> {
  const s = scan(text, cursor);
  const before = text.slice(0, cursor);
  if (s.depth > 0) {
    const inner = text.slice(s.brace + 1, s.quoteStart >= 0 ? s.quoteStart : cursor);
    const op = TRACEQL_OPS.exec(inner);
    if (s.quoteStart >= 0) {
      if (!op) {
        return null;
      }
      const values = await orEmpty(data.traceValues(op[1]));
      return {
        from: s.quoteStart + 1,
        suggestions: values.filter((v) => v.quoted).map((v) => ({ label: v.value, kind: 'value', insertText: v.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"'), detail: op[1] })),
      };
    }
    const valuePrefix = /[\w.-]*$/.exec(before)?.[0] ?? '';
    const opBeforeValue = TRACEQL_OPS.exec(text.slice(s.brace + 1, cursor - valuePrefix.length));
    if (opBeforeValue) {
      const tag = opBeforeValue[1];
      const bare = tag.replace(/^(span|trace):/, '');
      if (TRACEQL_ENUMS[bare]) {
        return { from: cursor - valuePrefix.length, suggestions: plain(TRACEQL_ENUMS[bare], 'value', tag) };
      }
      const values = await orEmpty(data.traceValues(tag));
      return {
        from: cursor - valuePrefix.length,
        suggestions: values.map((v) => ({ label: v.value, kind: 'value', insertText: v.quoted ? quoteValue(v.value) : v.value, detail: tag })),
      };
    }
    // After a complete comparison: combine or close.
    if (/("[^"]*"|[\w.]+)\s+$/.test(before) && /(=~|!~|!=|>=|<=|=|>|<)\s*("[^"]*"|[\w.-]+)\s+$/.test(before)) {
      return {
        from: cursor,
        suggestions: [
          { label: '&&', kind: 'operator', insertText: '&& ', documentation: 'and: both conditions on the same span' },
          { label: '||', kind: 'operator', insertText: '|| ', documentation: 'or: either condition' },
          { label: '}', kind: 'operator', insertText: '}', documentation: 'close the spanset' },
        ],
      };
    }
    // An attribute name (possibly scoped) right after `{`, `&&`, `||` or `(`.
    const attr = /(^|[{(\s&|!])([a-zA-Z_.:][\w.:/-]*)?$/.exec(before);
    if (!attr) {
      return null;
    }
    const prefix = attr[2] ?? '';
    const scopeMatch = /^(resource|span|event|link|instrumentation)\./.exec(prefix);
    const attributes = await orEmpty(data.traceAttributes(scopeMatch?.[1]));
    const suggestions: Suggestion[] = [
      ...(scopeMatch ? [] : TRACEQL_INTRINSICS.map((d) => ({ label: d.name, kind: 'intrinsic' as const, insertText: d.name, detail: d.signature, documentation: d.doc }))),
      ...(scopeMatch ? [] : plain(TRACEQL_SCOPES, 'scope', 'attribute scope')),
      ...plain(attributes, 'attribute', 'attribute'),
    ];
    return { from: cursor - prefix.length, suggestions };
  }
  if (s.quoteStart >= 0) {
    return null;
  }
  const pipe = /\|\s*([a-z_]*)$/.exec(before);
  if (pipe) {
    return { from: cursor - pipe[1].length, suggestions: TRACEQL_AGGREGATES.map((d) => fn(d)) };
  }
  if (before.trim() === '' || /(&&|\|\||>>|>|<|~|!>>)\s*$/.test(before)) {
    return {
      from: cursor,
      suggestions: [
        { label: '{ … }', kind: 'keyword', insertText: '{ $0 }', snippet: true, detail: 'spanset', documentation: 'Spans matching a condition, e.g. { resource.service.name = "gateway" && status = error }' },
      ],
    };
  }
  return null;
}

/** The completion at `cursor` (an offset into `text`), or null where nothing fits. */
export function complete(language: QueryLanguage, text: string, cursor: number, data: CompletionData): Promise<Completion | null> {
  switch (language) {
    case 'promql':
      return promqlCompletion(text, cursor, data);
    case 'logql':
      return logqlCompletion(text, cursor, data);
    case 'traceql':
      return traceqlCompletion(text, cursor, data);
  }
}

/** Case-insensitive prefix matches first, then substring matches; exact matches dropped. */
export function filterSuggestions(items: Suggestion[], prefix: string, limit = 200): Suggestion[] {
  const p = prefix.toLowerCase();
  const starts: Suggestion[] = [];
  const contains: Suggestion[] = [];
  for (const item of items) {
    const l = item.label.toLowerCase();
    if (p && l === p) {
      continue;
    }
    if (l.startsWith(p)) {
      starts.push(item);
    } else if (p && l.includes(p)) {
      contains.push(item);
    }
  }
  return [...starts, ...contains].slice(0, limit);
}

/** Hover text for a word: the function's signature and doc, if it is one. */
export function hoverDoc(language: QueryLanguage, word: string): FunctionDoc | undefined {
  const lists: Record<QueryLanguage, FunctionDoc[]> = {
    promql: [...PROMQL_AGGREGATIONS, ...PROMQL_FUNCTIONS],
    logql: [...LOGQL_RANGE_FUNCTIONS, ...LOGQL_AGGREGATIONS, ...LOGQL_STAGES],
    traceql: [...TRACEQL_INTRINSICS, ...TRACEQL_AGGREGATES],
  };
  return lists[language].find((d) => d.name === word);
}
