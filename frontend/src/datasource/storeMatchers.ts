/**
 * The ClickHouse store's attribute filters (`matchers` of a `metrics` query
 * with `source: clickhouse`): selector text `{gpu="0", modelName=~"H100.*"}`
 * as the backend reads it (`clickhouse::query::parse_selector`). The backend
 * also takes braces left out and single-quoted or backtick values; such text is
 * edited as text in the editor, and filters are still appended to it.
 */
import { stringEscape } from './interpolate';
import { MatchOp } from './modifyQuery';

export interface Matcher {
  key: string;
  op: MatchOp;
  value: string;
}

const MATCHER = /\s*([\p{L}\p{N}_.:\/-]+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*/uy;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r' };

/**
 * `{gpu="0", modelName=~"H100.*"}` → matchers; undefined when the text is not
 * such a selector (then it is edited as text). Empty text → none.
 */
export function parseMatchers(text: string | undefined): Matcher[] | undefined {
  const t = (text ?? '').trim();
  if (!t) {
    return [];
  }
  if (!t.startsWith('{') || !t.endsWith('}')) {
    return undefined;
  }
  const body = t.slice(1, -1);
  const out: Matcher[] = [];
  let at = 0;
  while (at < body.length) {
    MATCHER.lastIndex = at;
    const m = MATCHER.exec(body);
    if (!m) {
      return body.slice(at).trim() === '' ? out : undefined;
    }
    out.push({ key: m[1], op: m[2] as MatchOp, value: m[3].replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c) });
    at = MATCHER.lastIndex;
    if (body[at] === ',') {
      at++;
    } else if (body.slice(at).trim() !== '') {
      return undefined;
    }
  }
  return out;
}

const matcherText = (m: Matcher) => `${m.key}${m.op}"${stringEscape(m.value)}"`;

/** Matchers → selector text (`""` for none); keys without a name are left out. */
export function formatMatchers(matchers: Matcher[]): string {
  const set = matchers.filter((m) => m.key);
  return set.length ? `{${set.map(matcherText).join(', ')}}` : '';
}

/**
 * Add one filter to selector text (Explore's filter for/out, ad-hoc filters).
 * One already there is not added twice; text the rows cannot read keeps its
 * spelling and gets the filter appended inside its braces.
 */
export function addStoreMatcher(text: string | undefined, key: string, op: MatchOp, value: string): string {
  const parsed = parseMatchers(text);
  const added: Matcher = { key, op, value };
  if (parsed !== undefined) {
    return parsed.some((m) => m.key === key && m.op === op && m.value === value) ? formatMatchers(parsed) : formatMatchers([...parsed, added]);
  }
  const inner = (text ?? '')
    .trim()
    .replace(/^\{/, '')
    .replace(/\}$/, '')
    .trim()
    .replace(/,\s*$/, '');
  return `{${inner ? `${inner}, ` : ''}${matcherText(added)}}`;
}
