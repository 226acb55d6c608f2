import { Tree } from '@lezer/common';
import { highlightTree, styleTags, tagHighlighter, tags as t } from '@lezer/highlight';
import { LRParser } from '@lezer/lr';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { parser as logqlBaseParser } from '@grafana/lezer-logql';
import { parser as traceqlBaseParser } from '@grafana/lezer-traceql';

export type CodeLanguage = 'promql' | 'logql' | 'traceql';

/** The token classes the editor colours; everything else is plain text. */
export type TokenClass =
  | 'keyword'
  | 'function'
  | 'label'
  | 'string'
  | 'number'
  | 'operator'
  | 'comment'
  | 'variable'
  | 'error';

// The PromQL grammar ships its own highlight props (promQLHighLight); the LogQL
// and TraceQL grammars ship none, so they get styleTags here, by node name.
const logqlParser = (logqlBaseParser as LRParser).configure({
  props: [
    styleTags({
      String: t.string,
      'Number Duration Bytes': t.number,
      LineComment: t.lineComment,
      'Identifier LabelName': t.labelName,
      'Json Logfmt Unpack Pattern Regexp Unwrap LabelFormat LineFormat LabelReplace Decolorize Drop Keep Ip':
        t.keyword,
      'By Without And Or Unless Bool On Ignoring GroupLeft GroupRight Offset': t.keyword,
      'Sum Avg Count Max Min Stddev Stdvar Bottomk Topk Sort Sort_Desc Approx_Topk Vector': t.function(t.variableName),
      'CountOverTime Rate RateCounter BytesOverTime BytesRate AvgOverTime SumOverTime MinOverTime MaxOverTime StddevOverTime StdvarOverTime QuantileOverTime FirstOverTime LastOverTime AbsentOverTime BytesConv DurationConv DurationSecondsConv':
        t.function(t.variableName),
      'Eq Neq Re Nre PipeExact PipeMatch PipePattern Npa Pipe Gtr Gte Lss Lte Eql Add Sub Mul Div Mod Pow':
        t.operator,
    }),
  ],
});

const traceqlParser = (traceqlBaseParser as LRParser).configure({
  props: [
    styleTags({
      String: t.string,
      'Integer Float Duration': t.number,
      'LineComment BlockComment': t.comment,
      'Identifier AttributeField': t.labelName,
      'IntrinsicField Resource Span Parent Event Link Instrumentation': t.keyword,
      'Aggregate MetricsOperationBasicType MetricsOperationHistogram MetricsOperationQuantile MetricsOverTimeType MetricsAggregatorFunctionType GroupOperation SelectOperation CoalesceOperation':
        t.function(t.variableName),
      TemplateVariable: t.special(t.variableName),
      'FieldOp ComparisonOp ScalarOp And Or Pipe Gt Lt Desc Anc UnionStructuralOp ExperimentalOp': t.operator,
    }),
  ],
});

const PARSERS: Record<CodeLanguage, LRParser> = {
  promql: promqlParser as LRParser,
  logql: logqlParser,
  traceql: traceqlParser,
};

const highlighter = tagHighlighter([
  { tag: [t.keyword, t.modifier, t.operatorKeyword], class: 'keyword' },
  { tag: [t.function(t.variableName), t.function(t.name)], class: 'function' },
  { tag: [t.labelName, t.attributeName, t.propertyName], class: 'label' },
  { tag: t.string, class: 'string' },
  { tag: [t.number, t.literal], class: 'number' },
  { tag: [t.operator, t.compareOperator, t.arithmeticOperator, t.logicOperator], class: 'operator' },
  { tag: [t.comment, t.lineComment], class: 'comment' },
  { tag: [t.variableName, t.special(t.variableName)], class: 'variable' },
]);

export interface Token {
  from: number;
  to: number;
  cls?: TokenClass;
}

export function parse(language: CodeLanguage, text: string): Tree {
  return PARSERS[language].parse(text);
}

export interface Highlighted {
  tokens: Token[];
  /** The grammar found a syntax error (possibly at the very end, where no token shows it). */
  hasError: boolean;
}

/**
 * Split `text` into consecutive tokens covering it completely, each with the
 * class the grammar's highlight tags give it (or none). Syntax errors (the
 * parser's ⚠ nodes) are marked `error` so the editor can underline them.
 */
export function tokenize(language: CodeLanguage, text: string): Highlighted {
  const tree = parse(language, text);
  const styled: Token[] = [];
  highlightTree(tree, highlighter, (from, to, classes) => {
    styled.push({ from, to, cls: classes.split(' ')[0] as TokenClass });
  });
  const errors: Array<[number, number]> = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) {
        errors.push([node.from, Math.max(node.to, node.from + 1)]);
      }
    },
  });

  const out: Token[] = [];
  let pos = 0;
  for (const tok of styled) {
    if (tok.from > pos) {
      out.push({ from: pos, to: tok.from });
    }
    out.push(tok);
    pos = tok.to;
  }
  if (pos < text.length) {
    out.push({ from: pos, to: text.length });
  }
  if (errors.length === 0) {
    return { tokens: out, hasError: false };
  }
  // Re-cut tokens at error boundaries; characters inside an error range are `error`.
  const cuts = new Set<number>();
  errors.forEach(([a, b]) => {
    cuts.add(a);
    cuts.add(Math.min(b, text.length));
  });
  const result: Token[] = [];
  for (const tok of out) {
    let start = tok.from;
    const inner = Array.from(cuts).filter((c) => c > tok.from && c < tok.to).sort((a, b) => a - b);
    for (const end of [...inner, tok.to]) {
      const inError = errors.some(([a, b]) => start >= a && start < b);
      result.push({ from: start, to: end, cls: inError ? 'error' : tok.cls });
      start = end;
    }
  }
  return { tokens: result, hasError: true };
}

/** True when the grammar finds no syntax error in `text`. */
export function isValid(language: CodeLanguage, text: string): boolean {
  let ok = true;
  parse(language, text).iterate({
    enter: (node) => {
      if (node.type.isError) {
        ok = false;
      }
      return ok;
    },
  });
  return ok;
}
