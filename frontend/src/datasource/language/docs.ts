/**
 * Functions, aggregations, stages and intrinsics of PromQL, LogQL and TraceQL
 * with a one-line signature and what they do, for completion and hover. The
 * tables are data (functions.json: `[signature, doc]` rows, written from the
 * upstream language references — prometheus.io, grafana.com/docs/loki,
 * grafana.com/docs/tempo); a row's name is its signature's first word
 * (`| json …` → `json`, `span:id = …` → `span:id`).
 */
import tables from './functions.json';

export interface FunctionDoc {
  name: string;
  signature: string;
  doc: string;
}

/** The completion name a signature documents: its first word, after a leading `|`. */
export function nameOfSignature(signature: string): string {
  return /^(?:\|\s*)?([A-Za-z_][\w:]*)/.exec(signature)?.[1] ?? signature;
}

const docs = (rows: string[][]): FunctionDoc[] => rows.map(([signature, doc]) => ({ name: nameOfSignature(signature), signature, doc }));

export const PROMQL_AGGREGATIONS = docs(tables.promqlAggregations);
export const PROMQL_FUNCTIONS = docs(tables.promqlFunctions);
export const LOGQL_RANGE_FUNCTIONS = docs(tables.logqlRangeFunctions);
export const LOGQL_AGGREGATIONS = docs(tables.logqlAggregations);
/** Pipeline stages after `|`. */
export const LOGQL_STAGES = docs(tables.logqlStages);
export const TRACEQL_INTRINSICS = docs(tables.traceqlIntrinsics);
export const TRACEQL_AGGREGATES = docs(tables.traceqlAggregates);

export const PROMQL_KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2'];
export const LOGQL_PARSERS = ['json', 'logfmt', 'pattern', 'regexp', 'unpack'];
export const TRACEQL_SCOPES = ['resource.', 'span.', 'event.', 'link.', 'instrumentation.', '.'];
export const DURATIONS = ['$__rate_interval', '$__interval', '$__auto', '1m', '5m', '10m', '1h'];

export const TRACEQL_ENUMS: Record<string, string[]> = {
  status: ['error', 'ok', 'unset'],
  kind: ['server', 'client', 'producer', 'consumer', 'internal', 'unspecified'],
};
