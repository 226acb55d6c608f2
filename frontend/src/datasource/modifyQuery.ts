import { stringEscape } from './interpolate';

/**
 * Add `key op "value"` to every selector of a PromQL or LogQL expression
 * (`{…}` blocks, or a bare metric name that has none). Text inside strings is
 * never touched. Used by Explore's filter-for/filter-out buttons.
 */
export function addLabelMatcher(expr: string, key: string, op: '=' | '!=', value: string): string {
  const matcher = `${key}${op}"${stringEscape(value)}"`;
  let out = '';
  let quote: string | null = null;
  let sawSelector = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (quote) {
      if (c === '\\') {
        out += c + (expr[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === quote) {
        quote = null;
      }
      out += c;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
    } else if (c === '}' && !/\[[^\]]*$/.test(out)) {
      sawSelector = true;
      const inner = out.slice(out.lastIndexOf('{') + 1).trim();
      if (inner.includes(matcher)) {
        out += c;
        continue;
      }
      out += inner === '' ? `${matcher}}` : `, ${matcher}}`;
      continue;
    }
    out += c;
  }
  if (sawSelector) {
    return out;
  }
  // A bare metric name (maybe with a range): `up` → `up{key="v"}`. Anything more
  // complex without a selector is left alone rather than guessed at.
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\[[^\]]*\])?$/.exec(expr.trim());
  return m ? `${m[1]}{${matcher}}${m[2] ?? ''}` : expr;
}
