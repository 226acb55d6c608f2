/**
 * Functions, aggregations and keywords of PromQL, LogQL and TraceQL with a
 * one-line signature and what they do, for completion and hover. Written from
 * the upstream language references (prometheus.io, grafana.com/docs/loki,
 * grafana.com/docs/tempo).
 */
export interface FunctionDoc {
  name: string;
  signature: string;
  doc: string;
}

const f = (name: string, signature: string, doc: string): FunctionDoc => ({ name, signature, doc });

export const PROMQL_AGGREGATIONS: FunctionDoc[] = [
  f('sum', 'sum by (labels) (v instant-vector)', 'Sum over dimensions.'),
  f('avg', 'avg by (labels) (v instant-vector)', 'Average over dimensions.'),
  f('min', 'min by (labels) (v instant-vector)', 'Minimum over dimensions.'),
  f('max', 'max by (labels) (v instant-vector)', 'Maximum over dimensions.'),
  f('count', 'count by (labels) (v instant-vector)', 'Count the number of elements in the vector.'),
  f('group', 'group by (labels) (v instant-vector)', 'All values in the resulting vector are 1.'),
  f('stddev', 'stddev by (labels) (v instant-vector)', 'Population standard deviation over dimensions.'),
  f('stdvar', 'stdvar by (labels) (v instant-vector)', 'Population standard variance over dimensions.'),
  f('topk', 'topk by (labels) (k scalar, v instant-vector)', 'Largest k elements by sample value.'),
  f('bottomk', 'bottomk by (labels) (k scalar, v instant-vector)', 'Smallest k elements by sample value.'),
  f('quantile', 'quantile by (labels) (φ scalar, v instant-vector)', 'φ-quantile (0 ≤ φ ≤ 1) over dimensions.'),
  f('count_values', 'count_values by (labels) ("label", v instant-vector)', 'Count the number of elements with the same value.'),
  f('limitk', 'limitk(k scalar, v instant-vector)', 'Sample k elements (experimental).'),
  f('limit_ratio', 'limit_ratio(r scalar, v instant-vector)', 'Sample a pseudo-random ratio r of elements (experimental).'),
];

export const PROMQL_FUNCTIONS: FunctionDoc[] = [
  f('abs', 'abs(v instant-vector)', 'Absolute value of every sample.'),
  f('absent', 'absent(v instant-vector)', 'A 1-element vector with value 1 if the vector has no elements; empty otherwise. For alerting on missing series.'),
  f('absent_over_time', 'absent_over_time(v range-vector)', 'A 1-element vector with value 1 if the range vector has no elements.'),
  f('ceil', 'ceil(v instant-vector)', 'Rounds every sample up to the nearest integer.'),
  f('changes', 'changes(v range-vector)', 'Number of times each series changed its value within the range.'),
  f('clamp', 'clamp(v instant-vector, min scalar, max scalar)', 'Clamps every sample to [min, max].'),
  f('clamp_max', 'clamp_max(v instant-vector, max scalar)', 'Clamps every sample to an upper limit.'),
  f('clamp_min', 'clamp_min(v instant-vector, min scalar)', 'Clamps every sample to a lower limit.'),
  f('day_of_month', 'day_of_month(v=vector(time()) instant-vector)', 'Day of the month (1–31) for each sample value read as a Unix time, in UTC.'),
  f('day_of_week', 'day_of_week(v=vector(time()) instant-vector)', 'Day of the week (0 = Sunday) in UTC.'),
  f('day_of_year', 'day_of_year(v=vector(time()) instant-vector)', 'Day of the year (1–366) in UTC.'),
  f('days_in_month', 'days_in_month(v=vector(time()) instant-vector)', 'Number of days in the month (28–31) in UTC.'),
  f('delta', 'delta(v range-vector)', 'Difference between first and last value of each gauge series in the range, extrapolated.'),
  f('deriv', 'deriv(v range-vector)', 'Per-second derivative of each gauge series, by simple linear regression.'),
  f('exp', 'exp(v instant-vector)', 'Exponential function of every sample.'),
  f('floor', 'floor(v instant-vector)', 'Rounds every sample down to the nearest integer.'),
  f('histogram_avg', 'histogram_avg(v instant-vector)', 'Arithmetic average of native histogram observations.'),
  f('histogram_count', 'histogram_count(v instant-vector)', 'Count of observations in native histograms.'),
  f('histogram_sum', 'histogram_sum(v instant-vector)', 'Sum of observations in native histograms.'),
  f('histogram_fraction', 'histogram_fraction(lower scalar, upper scalar, v instant-vector)', 'Estimated fraction of observations between lower and upper.'),
  f('histogram_quantile', 'histogram_quantile(φ scalar, b instant-vector)', 'φ-quantile (0 ≤ φ ≤ 1) from classic histogram buckets (`le` label) or native histograms. Use with `sum by (le) (rate(x_bucket[5m]))`.'),
  f('histogram_stddev', 'histogram_stddev(v instant-vector)', 'Estimated standard deviation of native histogram observations.'),
  f('histogram_stdvar', 'histogram_stdvar(v instant-vector)', 'Estimated standard variance of native histogram observations.'),
  f('double_exponential_smoothing', 'double_exponential_smoothing(v range-vector, sf scalar, tf scalar)', 'Smoothed value for gauges (Holt-Winters), smoothing factor sf, trend factor tf.'),
  f('hour', 'hour(v=vector(time()) instant-vector)', 'Hour of the day (0–23) in UTC.'),
  f('idelta', 'idelta(v range-vector)', 'Difference between the last two samples of each series.'),
  f('increase', 'increase(v range-vector)', 'Increase of each counter series over the range, extrapolated; handles counter resets.'),
  f('irate', 'irate(v range-vector)', 'Per-second instant rate from the last two samples of each counter series. For fast-moving counters.'),
  f('label_join', 'label_join(v instant-vector, dst string, separator string, src_1 string, …)', 'Joins the values of the src labels with separator into dst.'),
  f('label_replace', 'label_replace(v instant-vector, dst string, replacement string, src string, regex string)', 'Sets dst to replacement (with $1… from regex matched against src).'),
  f('ln', 'ln(v instant-vector)', 'Natural logarithm of every sample.'),
  f('log2', 'log2(v instant-vector)', 'Binary logarithm of every sample.'),
  f('log10', 'log10(v instant-vector)', 'Decimal logarithm of every sample.'),
  f('minute', 'minute(v=vector(time()) instant-vector)', 'Minute of the hour (0–59) in UTC.'),
  f('month', 'month(v=vector(time()) instant-vector)', 'Month of the year (1–12) in UTC.'),
  f('predict_linear', 'predict_linear(v range-vector, t scalar)', 'Predicts the value of each gauge series t seconds from now, by linear regression.'),
  f('rate', 'rate(v range-vector)', 'Per-second average rate of increase of each counter series over the range; handles counter resets. Use with `$__rate_interval`.'),
  f('resets', 'resets(v range-vector)', 'Number of counter resets within the range.'),
  f('round', 'round(v instant-vector, to_nearest=1 scalar)', 'Rounds every sample to the nearest multiple of to_nearest.'),
  f('scalar', 'scalar(v instant-vector)', 'The sample value of a single-element vector as a scalar; NaN otherwise.'),
  f('sgn', 'sgn(v instant-vector)', 'Sign of every sample: 1, -1 or 0.'),
  f('sort', 'sort(v instant-vector)', 'Sorts by sample value, ascending (instant queries).'),
  f('sort_desc', 'sort_desc(v instant-vector)', 'Sorts by sample value, descending (instant queries).'),
  f('sort_by_label', 'sort_by_label(v instant-vector, label string, …)', 'Sorts by the given labels, ascending (experimental).'),
  f('sort_by_label_desc', 'sort_by_label_desc(v instant-vector, label string, …)', 'Sorts by the given labels, descending (experimental).'),
  f('sqrt', 'sqrt(v instant-vector)', 'Square root of every sample.'),
  f('time', 'time()', 'Seconds since the Unix epoch at the evaluation time.'),
  f('timestamp', 'timestamp(v instant-vector)', 'Timestamp of each sample, in seconds since the Unix epoch.'),
  f('vector', 'vector(s scalar)', 'The scalar as a vector with no labels.'),
  f('year', 'year(v=vector(time()) instant-vector)', 'Year in UTC.'),
  f('avg_over_time', 'avg_over_time(v range-vector)', 'Average of all points in the range, per series.'),
  f('min_over_time', 'min_over_time(v range-vector)', 'Minimum of all points in the range, per series.'),
  f('max_over_time', 'max_over_time(v range-vector)', 'Maximum of all points in the range, per series.'),
  f('sum_over_time', 'sum_over_time(v range-vector)', 'Sum of all values in the range, per series.'),
  f('count_over_time', 'count_over_time(v range-vector)', 'Number of samples in the range, per series.'),
  f('quantile_over_time', 'quantile_over_time(φ scalar, v range-vector)', 'φ-quantile of the values in the range, per series.'),
  f('stddev_over_time', 'stddev_over_time(v range-vector)', 'Population standard deviation of the values in the range.'),
  f('stdvar_over_time', 'stdvar_over_time(v range-vector)', 'Population standard variance of the values in the range.'),
  f('last_over_time', 'last_over_time(v range-vector)', 'The most recent point in the range.'),
  f('present_over_time', 'present_over_time(v range-vector)', 'Value 1 for any series in the range.'),
  f('mad_over_time', 'mad_over_time(v range-vector)', 'Median absolute deviation of the values in the range (experimental).'),
  f('acos', 'acos(v instant-vector)', 'Arccosine of every sample.'),
  f('asin', 'asin(v instant-vector)', 'Arcsine of every sample.'),
  f('atan', 'atan(v instant-vector)', 'Arctangent of every sample.'),
  f('cos', 'cos(v instant-vector)', 'Cosine of every sample.'),
  f('sin', 'sin(v instant-vector)', 'Sine of every sample.'),
  f('tan', 'tan(v instant-vector)', 'Tangent of every sample.'),
  f('deg', 'deg(v instant-vector)', 'Radians to degrees.'),
  f('rad', 'rad(v instant-vector)', 'Degrees to radians.'),
  f('pi', 'pi()', 'The number π.'),
];

export const PROMQL_KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2'];

export const LOGQL_RANGE_FUNCTIONS: FunctionDoc[] = [
  f('count_over_time', 'count_over_time({selector} [range])', 'Number of log lines per stream in the range. Logs volume uses it.'),
  f('rate', 'rate({selector} [range])', 'Log lines per second per stream.'),
  f('bytes_over_time', 'bytes_over_time({selector} [range])', 'Bytes of log lines per stream in the range.'),
  f('bytes_rate', 'bytes_rate({selector} [range])', 'Bytes of log lines per second per stream.'),
  f('absent_over_time', 'absent_over_time({selector} [range])', 'A 1-element vector with value 1 when the range has no lines.'),
  f('avg_over_time', 'avg_over_time({selector} | unwrap label [range])', 'Average of the unwrapped values.'),
  f('sum_over_time', 'sum_over_time({selector} | unwrap label [range])', 'Sum of the unwrapped values.'),
  f('min_over_time', 'min_over_time({selector} | unwrap label [range])', 'Minimum of the unwrapped values.'),
  f('max_over_time', 'max_over_time({selector} | unwrap label [range])', 'Maximum of the unwrapped values.'),
  f('first_over_time', 'first_over_time({selector} | unwrap label [range])', 'First unwrapped value in the range.'),
  f('last_over_time', 'last_over_time({selector} | unwrap label [range])', 'Last unwrapped value in the range.'),
  f('stddev_over_time', 'stddev_over_time({selector} | unwrap label [range])', 'Population standard deviation of the unwrapped values.'),
  f('stdvar_over_time', 'stdvar_over_time({selector} | unwrap label [range])', 'Population standard variance of the unwrapped values.'),
  f('quantile_over_time', 'quantile_over_time(φ, {selector} | unwrap label [range])', 'φ-quantile of the unwrapped values.'),
  f('rate_counter', 'rate_counter({selector} | unwrap label [range])', 'Per-second rate of an unwrapped counter.'),
];

export const LOGQL_AGGREGATIONS: FunctionDoc[] = [
  f('sum', 'sum by (labels) (metric-expr)', 'Sum over labels.'),
  f('avg', 'avg by (labels) (metric-expr)', 'Average over labels.'),
  f('min', 'min by (labels) (metric-expr)', 'Minimum over labels.'),
  f('max', 'max by (labels) (metric-expr)', 'Maximum over labels.'),
  f('count', 'count by (labels) (metric-expr)', 'Number of series.'),
  f('stddev', 'stddev by (labels) (metric-expr)', 'Population standard deviation.'),
  f('stdvar', 'stdvar by (labels) (metric-expr)', 'Population standard variance.'),
  f('topk', 'topk(k, metric-expr)', 'Largest k series.'),
  f('bottomk', 'bottomk(k, metric-expr)', 'Smallest k series.'),
  f('sort', 'sort(metric-expr)', 'Sorts by value, ascending.'),
  f('sort_desc', 'sort_desc(metric-expr)', 'Sorts by value, descending.'),
];

/** Pipeline stages after `|`. */
export const LOGQL_STAGES: FunctionDoc[] = [
  f('json', '| json [label="expression", …]', 'Parser: extracts every JSON property of the line as a label (nested keys joined with `_`).'),
  f('logfmt', '| logfmt [--strict] [--keep-empty]', 'Parser: extracts every logfmt `key=value` of the line as a label.'),
  f('pattern', '| pattern "<ip> - <_> <status>"', 'Parser: extracts labels from a pattern of literals and <captures>.'),
  f('regexp', '| regexp "(?P<name>re)"', 'Parser: named capture groups of a regular expression become labels.'),
  f('unpack', '| unpack', 'Parser: unpacks labels packed by Promtail’s pack stage.'),
  f('line_format', '| line_format "{{.label}}"', 'Rewrites the line with a Go text/template of its labels.'),
  f('label_format', '| label_format new=old, name="{{.x}}"', 'Renames labels or sets them from a template.'),
  f('drop', '| drop label, label="value"', 'Drops labels from the result.'),
  f('keep', '| keep label, …', 'Keeps only the given labels.'),
  f('decolorize', '| decolorize', 'Strips ANSI colour codes from the line.'),
  f('unwrap', '| unwrap label', 'Uses a label’s value as the sample value of a range aggregation.'),
];

export const LOGQL_PARSERS = ['json', 'logfmt', 'pattern', 'regexp', 'unpack'];

export const TRACEQL_INTRINSICS: FunctionDoc[] = [
  f('duration', 'duration > 2s', 'The span’s duration.'),
  f('name', 'name = "GET /api"', 'The span’s name (operation).'),
  f('status', 'status = error | ok | unset', 'The span’s status code.'),
  f('statusMessage', 'statusMessage = "…"', 'The span’s status message.'),
  f('kind', 'kind = server | client | producer | consumer | internal | unspecified', 'The span’s kind.'),
  f('rootName', 'rootName = "…"', 'Name of the trace’s root span.'),
  f('rootServiceName', 'rootServiceName = "…"', 'Service of the trace’s root span.'),
  f('traceDuration', 'traceDuration > 5s', 'Duration of the whole trace.'),
  f('span:id', 'span:id = "…"', 'The span’s ID.'),
  f('trace:id', 'trace:id = "…"', 'The trace’s ID.'),
  f('event:name', 'event:name = "exception"', 'Name of a span event.'),
  f('link:traceID', 'link:traceID = "…"', 'Trace ID of a span link.'),
  f('instrumentation:name', 'instrumentation:name = "…"', 'Instrumentation scope name.'),
];

export const TRACEQL_SCOPES = ['resource.', 'span.', 'event.', 'link.', 'instrumentation.', '.'];

export const TRACEQL_AGGREGATES: FunctionDoc[] = [
  f('count', '| count() > 3', 'Spansets with more than n matching spans.'),
  f('avg', '| avg(duration) > 1s', 'Average of an attribute over the spanset.'),
  f('min', '| min(duration) > 1s', 'Minimum of an attribute over the spanset.'),
  f('max', '| max(duration) > 1s', 'Maximum of an attribute over the spanset.'),
  f('sum', '| sum(span.bytes) > 1000', 'Sum of an attribute over the spanset.'),
  f('select', '| select(span.http.route, resource.k8s.pod.name)', 'Adds attributes to the result.'),
  f('by', '| by(resource.service.name)', 'Groups spans into spansets by an attribute.'),
  f('coalesce', '| coalesce()', 'Merges spansets of the same trace.'),
  f('rate', '| rate()', 'Metrics query: spans per second (TraceQL metrics).'),
  f('count_over_time', '| count_over_time()', 'Metrics query: span count per step.'),
  f('quantile_over_time', '| quantile_over_time(duration, .99)', 'Metrics query: quantiles of an attribute.'),
  f('histogram_over_time', '| histogram_over_time(duration)', 'Metrics query: histogram of an attribute.'),
];

export const TRACEQL_ENUMS: Record<string, string[]> = {
  status: ['error', 'ok', 'unset'],
  kind: ['server', 'client', 'producer', 'consumer', 'internal', 'unspecified'],
};

export const DURATIONS = ['$__rate_interval', '$__interval', '$__auto', '1m', '5m', '10m', '1h'];
