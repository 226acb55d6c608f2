import { SyntaxNode } from '@lezer/common';

import { stringEscape } from './interpolate';
import { maskVariables, parse } from './language/parse';

export type MatchOp = '=' | '!=' | '=~' | '!~';

/**
 * Add `key op "value"` to every vector selector of a PromQL expression, using
 * the lezer-promql tree: `x{a="1"}` → `x{a="1", key="v"}`, `x` → `x{key="v"}`
 * (also inside `rate(x[5m])`). A matcher already present is not added twice;
 * an expression the grammar cannot read is returned unchanged. Used by
 * Explore's filter-for/filter-out buttons and ad-hoc filters.
 */
export function addLabelMatcher(expr: string, key: string, op: MatchOp, value: string): string {
  const matcher = `${key}${op}"${stringEscape(value)}"`;
  const tree = parse('promql', maskVariables('promql', expr));
  let broken = false;
  const edits: Array<{ at: number; text: string }> = [];
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) {
        broken = true;
      }
      if (ref.name !== 'VectorSelector') {
        return;
      }
      const node = ref.node;
      const matchers = node.getChild('LabelMatchers');
      if (matchers) {
        const inner = expr.slice(matchers.from + 1, matchers.to - 1).trim();
        if (!inner.split(',').some((m) => m.trim() === matcher)) {
          edits.push({ at: matchers.to - 1, text: inner === '' ? matcher : `, ${matcher}` });
        }
      } else {
        const name = node.getChild('Identifier');
        if (name) {
          edits.push({ at: name.to, text: `{${matcher}}` });
        }
      }
      return false;
    },
  });
  if (broken) {
    return expr;
  }
  let out = expr;
  for (const e of edits.sort((a, b) => b.at - a.at)) {
    out = out.slice(0, e.at) + e.text + out.slice(e.at);
  }
  return out;
}

const PARSER_NODES = ['LabelParser', 'JsonExpressionParser', 'LogfmtParser', 'LogfmtExpressionParser'];

/** The pipeline stages of the pipeline that follows `selector`, in order. */
function stagesAfter(selector: SyntaxNode): SyntaxNode[] {
  const pipeline = selector.nextSibling;
  if (!pipeline || pipeline.name !== 'PipelineExpr') {
    return [];
  }
  const stages: SyntaxNode[] = [];
  // PipelineExpr nests left: PipelineExpr(PipelineExpr(…, stage), stage).
  const walk = (n: SyntaxNode) => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.name === 'PipelineExpr') {
        walk(c);
      } else if (c.name === 'PipelineStage') {
        stages.push(c);
      }
    }
  };
  walk(pipeline);
  return stages;
}

const isParserStage = (stage: SyntaxNode) => {
  for (let c = stage.firstChild; c; c = c.nextSibling) {
    if (PARSER_NODES.includes(c.name)) {
      return true;
    }
  }
  return false;
};

/**
 * Add a label filter to every log selector of a LogQL expression, using the
 * lezer-logql tree. Where the selector's pipeline has a parser (`| json`,
 * `| logfmt`, …) the filter becomes a label-filter stage right after the last
 * parser — the label may exist only once the line is parsed, and a stage
 * filters stream labels just as well. Without a parser it goes into the stream
 * selector. A filter already present is not added twice. An expression the
 * grammar cannot read is returned unchanged.
 */
export function addLogqlLabelFilter(expr: string, key: string, op: MatchOp, value: string): string {
  const tree = parse('logql', maskVariables('logql', expr));
  let broken = false;
  const selectors: SyntaxNode[] = [];
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) {
        broken = true;
      }
      if (ref.name === 'Selector') {
        selectors.push(ref.node);
      }
    },
  });
  if (broken || selectors.length === 0) {
    return expr;
  }
  const matcher = `${key}${op}"${stringEscape(value)}"`;
  const edits: Array<{ at: number; text: string }> = [];
  for (const sel of selectors) {
    const stages = stagesAfter(sel);
    const parsers = stages.filter(isParserStage);
    if (parsers.length > 0) {
      const last = parsers[parsers.length - 1];
      // Already filtered the same way right after the parser?
      const rest = expr.slice(last.to, stages[stages.length - 1].to);
      if (rest.includes(`| ${matcher}`)) {
        continue;
      }
      edits.push({ at: last.to, text: ` | ${matcher}` });
      continue;
    }
    const matchers = sel.getChild('Matchers');
    const inner = matchers ? expr.slice(matchers.from, matchers.to) : '';
    if (inner.split(',').some((m) => m.trim() === matcher)) {
      continue;
    }
    // Insert before the closing brace.
    edits.push({ at: matchers ? matchers.to : sel.to - 1, text: matchers ? `, ${matcher}` : matcher });
  }
  let out = expr;
  for (const e of edits.sort((a, b) => b.at - a.at)) {
    out = out.slice(0, e.at) + e.text + out.slice(e.at);
  }
  return out;
}

/** True when the LogQL expression is a log query (lines), not a metric query. */
export function isLogsQuery(expr: string): boolean {
  const tree = parse('logql', expr);
  const expression = tree.topNode.firstChild;
  return !!expression && expression.firstChild?.name === 'LogExpr';
}

/** The stream selector `{a="x", b="y"}` of a set of labels, sorted by name. */
export function streamSelector(labels: Record<string, string>): string {
  const matchers = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${stringEscape(labels[k])}"`);
  return `{${matchers.join(', ')}}`;
}
