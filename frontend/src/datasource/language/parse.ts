import { SyntaxNode, Tree } from '@lezer/common';
import { LRParser } from '@lezer/lr';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { parser as logqlParser } from '@grafana/lezer-logql';
import { parser as traceqlParser } from '@grafana/lezer-traceql';

/**
 * The three query languages the editors speak, parsed with their upstream lezer
 * grammars (all Apache-2.0): `@prometheus-io/lezer-promql`, `@grafana/lezer-logql`,
 * `@grafana/lezer-traceql`. The grammars recover from errors: an incomplete query
 * (`up{jo`) still parses, with ⚠ error nodes where the text does not fit.
 */
export type QueryLanguage = 'promql' | 'logql' | 'traceql';

const PARSERS: Record<QueryLanguage, LRParser> = {
  promql: promqlParser as LRParser,
  logql: logqlParser as LRParser,
  traceql: traceqlParser as LRParser,
};

export function parse(language: QueryLanguage, text: string): Tree {
  return PARSERS[language].parse(text);
}

export interface SyntaxError {
  from: number;
  to: number;
  message: string;
}

// Grafana's template variables are not part of the grammars; replace them with
// something of the same length that parses wherever a value or a duration can be.
const VARIABLE = /\$__\w+|\$\{[^}]*\}|\[\[[^\]]*\]\]|\$\w+/g;

/** Text with each template variable replaced by a same-length placeholder the grammars accept. */
export function maskVariables(language: QueryLanguage, text: string): string {
  return text.replace(VARIABLE, (v, offset: number) => {
    const before = text.slice(0, offset);
    // Inside `[...]` a duration is expected; elsewhere a name or (inside quotes) anything goes.
    const inString = (before.match(/(?<!\\)"/g)?.length ?? 0) % 2 === 1;
    if (/\[[^\]]*$/.test(before) && !inString) {
      return '1s' + ' '.repeat(Math.max(0, v.length - 2));
    }
    if (language === 'traceql' && /(=|!=|>|<|>=|<=|=~|!~)\s*$/.test(before)) {
      return '1' + ' '.repeat(v.length - 1);
    }
    return 'v' + '_'.repeat(v.length - 1);
  });
}

/**
 * Syntax errors, as the grammar's error nodes: each with the range to underline
 * and a message saying what was found there. Empty text is not an error.
 */
export function syntaxErrors(language: QueryLanguage, text: string): SyntaxError[] {
  if (text.trim() === '') {
    return [];
  }
  const masked = maskVariables(language, text);
  const errors: SyntaxError[] = [];
  parse(language, masked).iterate({
    enter: (node) => {
      if (!node.type.isError) {
        return;
      }
      const from = node.from;
      const to = Math.max(node.to, from + 1);
      const found = text.slice(from, Math.min(to, text.length)).trim();
      const message =
        from >= text.trimEnd().length
          ? 'Incomplete query: something is missing at the end (a closing bracket, quote or value?)'
          : `Unexpected ${found ? `"${found.length > 30 ? found.slice(0, 30) + '…' : found}"` : 'text'} here`;
      // One message per position: the grammar may report nested error nodes.
      if (!errors.some((e) => e.from === from)) {
        errors.push({ from, to: Math.min(to, Math.max(text.length, from + 1)), message });
      }
    },
  });
  return errors;
}

/** True when the grammar finds no syntax error in `text`. */
export function isValid(language: QueryLanguage, text: string): boolean {
  return syntaxErrors(language, text).length === 0;
}

/** Every node named `name` in `tree`, outermost first. */
export function nodesNamed(tree: Tree, ...names: string[]): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  tree.iterate({
    enter: (ref) => {
      if (names.includes(ref.name)) {
        out.push(ref.node);
      }
    },
  });
  return out;
}
