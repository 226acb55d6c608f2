import { FleetscopeVariableQuery } from '../types';

/**
 * Variable queries are one function call, like Grafana's Prometheus datasource:
 *
 *   clusters()                    registered clusters (value = id, text = name)
 *   clusters(env="prod")          ... matching a cluster selector (`api/v1/clusters?selector=`)
 *   label_names()                 label names across clusters
 *   label_names(match)            ... of series matching a selector
 *   label_values(label)           values of a label across clusters
 *   label_values(metric, label)   ... on series matching `metric` (a name or selector)
 *   gpu_nodes()  gpu_nodes(c)     GPU node names (of cluster `c`)
 *
 * `label_names`, `label_values` and `gpu_nodes` take a last argument
 * `clusters(<selector>)`, the `clusters()` call itself: they then ask only the
 * clusters that selector matches (`label_values(job, clusters(env="prod"))`),
 * as a query's `clusterSelector` does, intersected with the picked clusters.
 */
export type VariableFunction =
  | { kind: 'clusters'; selector?: string }
  | { kind: 'label_names'; match?: string; clusterSelector?: string }
  | { kind: 'label_values'; label: string; match?: string; clusterSelector?: string }
  | { kind: 'gpu_nodes'; cluster?: string; clusterSelector?: string };

export const VARIABLE_FUNCTION_EXAMPLES = [
  'clusters()',
  'clusters(env="prod",region=~"eu-.*")',
  'label_names()',
  'label_values(job)',
  'label_values(up, instance)',
  'label_values(job, clusters(env="prod"))',
  'gpu_nodes($cluster)',
];

/** A `clusters(<selector>)` argument: the selector text, whole (commas and parentheses included). */
const CLUSTERS_ARG = /^clusters\s*\(([\s\S]*)\)$/;

/** Split on commas that are not inside braces, brackets, parentheses or quotes. */
export function splitArgs(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (quote) {
      if (c === '\\') {
        current += c + (args[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === quote) {
        quote = null;
      }
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
    } else if (c === '{' || c === '(' || c === '[') {
      depth++;
    } else if (c === '}' || c === ')' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim() !== '' || out.length > 0) {
    out.push(current.trim());
  }
  return out;
}

export class VariableQueryError extends Error {}

export function parseVariableQuery(text: string): VariableFunction {
  const m = /^\s*([a-z_]+)\s*\(([\s\S]*)\)\s*$/.exec(text);
  if (!m) {
    throw new VariableQueryError(
      `"${text}" is not a variable function; use one of ${VARIABLE_FUNCTION_EXAMPLES.join(', ')}`
    );
  }
  const [, name, rawArgs] = m;
  const args = splitArgs(rawArgs);
  // The functions that ask clusters take the cluster scope as a last `clusters(<selector>)` argument.
  let clusterSelector: string | undefined;
  if (name !== 'clusters') {
    const scoped = args.findIndex((a) => CLUSTERS_ARG.test(a));
    if (scoped >= 0 && scoped !== args.length - 1) {
      throw new VariableQueryError(`${name}(): clusters(<selector>) must be the last argument`);
    }
    if (scoped >= 0) {
      clusterSelector = CLUSTERS_ARG.exec(args.pop()!)![1].trim() || undefined;
    }
  }
  const scope = clusterSelector ? { clusterSelector } : {};
  const arity = (min: number, max: number) => {
    if (args.length < min || args.length > max) {
      const want = min === max ? `${min}` : `${min} to ${max}`;
      throw new VariableQueryError(`${name}() takes ${want} argument(s), got ${args.length}`);
    }
  };
  switch (name) {
    case 'clusters': {
      // The whole argument text is one selector: its matchers are comma-separated too.
      const selector = rawArgs.trim();
      return selector ? { kind: 'clusters', selector } : { kind: 'clusters' };
    }
    case 'label_names':
      arity(0, 1);
      return { kind: 'label_names', match: args[0] || undefined, ...scope };
    case 'label_values':
      arity(1, 2);
      return args.length === 1
        ? { kind: 'label_values', label: args[0], ...scope }
        : { kind: 'label_values', match: args[0] || undefined, label: args[1], ...scope };
    case 'gpu_nodes':
      arity(0, 1);
      return { kind: 'gpu_nodes', cluster: args[0] || undefined, ...scope };
    default:
      throw new VariableQueryError(
        `unknown variable function ${name}(); use one of ${VARIABLE_FUNCTION_EXAMPLES.join(', ')}`
      );
  }
}

/**
 * Dashboards may store a variable's query as the object this editor writes
 * (`{query: "clusters()", clusters: []}`) or, hand-written or provisioned, as the
 * bare string `"clusters()"`.
 */
export function normaliseVariableQuery(q: FleetscopeVariableQuery | string | undefined): FleetscopeVariableQuery {
  if (typeof q === 'string') {
    return { refId: 'FleetscopeVariable', query: q };
  }
  return { ...q, refId: q?.refId || 'FleetscopeVariable', query: q?.query ?? '' };
}
