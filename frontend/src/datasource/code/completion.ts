/**
 * Where the cursor is in a PromQL/LogQL selector, and so what to suggest.
 * Plain text scanning rather than the parse tree: the text being typed is
 * usually incomplete (`up{jo`), which the grammar reports as an error node.
 */
export type CompletionContext =
  | { kind: 'label-name'; prefix: string; metric?: string; from: number }
  | { kind: 'label-value'; prefix: string; label: string; metric?: string; from: number }
  | { kind: 'metric-name'; prefix: string; from: number };

const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:.]*$/;
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(\s*(?:[a-zA-Z_][a-zA-Z0-9_]*\s*,\s*)*([a-zA-Z_][a-zA-Z0-9_]*)?$/;
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
]);

/** Scan to `cursor`: returns the index of the unclosed `{` and whether we are inside a quoted string. */
function scan(text: string, cursor: number): { brace: number; quoteStart: number } {
  let brace = -1;
  let quote: string | null = null;
  let quoteStart = -1;
  for (let i = 0; i < cursor; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') {
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
      brace = i;
    } else if (c === '}') {
      brace = -1;
    }
  }
  return { brace, quoteStart: quote ? quoteStart : -1 };
}

function metricBefore(text: string, brace: number): string | undefined {
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(text.slice(0, brace));
  return m ? m[1] : undefined;
}

export function completionContext(text: string, cursor: number, allowMetricNames = true): CompletionContext | null {
  const before = text.slice(0, cursor);
  const { brace, quoteStart } = scan(text, cursor);

  if (brace >= 0) {
    const metric = metricBefore(text, brace);
    if (quoteStart >= 0) {
      const m = /([a-zA-Z_][a-zA-Z0-9_.]*)\s*(=~|!~|!=|=)\s*$/.exec(text.slice(brace + 1, quoteStart));
      if (!m) {
        return null;
      }
      return { kind: 'label-value', label: m[1], metric, prefix: before.slice(quoteStart + 1), from: quoteStart + 1 };
    }
    const inner = text.slice(brace + 1, cursor);
    const m = /(^|[{,\s])([a-zA-Z_][a-zA-Z0-9_.]*)?$/.exec(inner);
    // After an operator but before the quote: nothing to complete yet.
    if (!m || /(=~|!~|!=|=)\s*$/.test(inner)) {
      return null;
    }
    const prefix = m[2] ?? '';
    return { kind: 'label-name', prefix, metric, from: cursor - prefix.length };
  }

  if (quoteStart >= 0) {
    return null;
  }
  const g = GROUPING.exec(before);
  if (g) {
    const prefix = g[2] ?? '';
    return { kind: 'label-name', prefix, from: cursor - prefix.length };
  }
  if (!allowMetricNames) {
    return null;
  }
  const ident = IDENT.exec(before);
  if (ident && ident[0].length >= 1 && !KEYWORDS.has(ident[0])) {
    // `rate(` etc. are followed by `(`: a name right before the cursor with `(` after is a function.
    if (text[cursor] === '(') {
      return null;
    }
    return { kind: 'metric-name', prefix: ident[0], from: cursor - ident[0].length };
  }
  return null;
}

/** Case-insensitive prefix matches first, then substring matches; at most `limit`. */
export function filterSuggestions(items: string[], prefix: string, limit = 50): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const item of items) {
    const l = item.toLowerCase();
    if (l === p) {
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
