import { css } from '@emotion/css';
import { GrafanaTheme2, QueryEditorHelpProps } from '@grafana/data';
import { Stack, Text, useStyles2 } from '@grafana/ui';

import { FleetscopeQuery, QueryType } from '../../types';

interface Example {
  title: string;
  label: string;
  query: Partial<FleetscopeQuery>;
  note?: string;
}

/** Cheat sheet examples per query kind; each opens as a query of that kind on the current clusters. */
export const CHEAT_SHEET: Record<QueryType, { intro: string; examples: Example[] }> = {
  metrics: {
    intro: 'PromQL sent to every selected cluster’s Prometheus. Merge keeps series apart with a cluster label; Sum/Avg/Min/Max combine identical series across clusters.',
    examples: [
      { title: 'Request rate per team, every cluster', label: 'sum by (team) (rate(gateway_requests_total[$__rate_interval]))', query: { expr: 'sum by (team) (rate(gateway_requests_total[$__rate_interval]))', aggregate: 'merge' } },
      { title: 'Fleet-wide total (added across clusters)', label: 'sum(rate(gateway_requests_total[$__rate_interval]))', query: { expr: 'sum(rate(gateway_requests_total[$__rate_interval]))', aggregate: 'sum' } },
      { title: 'p95 latency from histograms', label: 'histogram_quantile(0.95, sum by (le) (rate(gateway_latency_ms_bucket[$__rate_interval])))', query: { expr: 'histogram_quantile(0.95, sum by (le) (rate(gateway_latency_ms_bucket[$__rate_interval])))' } },
      { title: 'GPU utilisation, worst cluster', label: 'avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)', query: { expr: 'avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)', aggregate: 'max' } },
    ],
  },
  logs: {
    intro: 'LogQL sent to every selected cluster’s Loki; lines are merged by time with one limit, each labelled with its cluster. Logs volume and log context work in Explore.',
    examples: [
      { title: 'Lines of a stream containing “error”', label: '{app="gateway"} |= "error"', query: { expr: '{app="gateway"} |= "error"' } },
      { title: 'Parse JSON and filter on a parsed label', label: '{app="gateway"} | json | status >= 500', query: { expr: '{app="gateway"} | json | status >= 500' } },
      { title: 'Parse logfmt, reformat the line', label: '{app="model-server"} | logfmt | line_format "{{.msg}}"', query: { expr: '{app="model-server"} | logfmt | line_format "{{.msg}}"' } },
      { title: 'Error lines per second, per cluster', label: 'sum(rate({app="gateway"} |= "error" [$__auto]))', query: { expr: 'sum(rate({app="gateway"} |= "error" [$__auto]))', aggregate: 'merge' } },
    ],
  },
  traces: {
    intro: 'TraceQL searches every selected cluster’s Tempo; a trace ID opens the trace merged from every cluster that holds spans of it.',
    examples: [
      { title: 'Failing requests of a service', label: '{ resource.service.name = "gateway" && status = error }', query: { tracesView: 'search', query: '{ resource.service.name = "gateway" && status = error }' } },
      { title: 'Slow spans', label: '{ duration > 2s }', query: { tracesView: 'search', query: '{ duration > 2s }' } },
      { title: 'Calls from the gateway into a model server', label: '{ resource.service.name = "gateway" } >> { resource.service.name =~ "model.*" }', query: { tracesView: 'search', query: '{ resource.service.name = "gateway" } >> { resource.service.name =~ "model.*" }' } },
      { title: 'Service graph of the window', label: 'Service graph', query: { tracesView: 'serviceGraph' } },
    ],
  },
  alerts: {
    intro: 'Alerts of every selected cluster’s Alertmanager, de-duplicated across HA pairs; history comes from the webhook receiver.',
    examples: [
      { title: 'Firing critical alerts', label: 'FIRING, severity CRITICAL', query: { state: ['FIRING'], severity: ['CRITICAL'] } },
      { title: 'GPU alerts by name', label: 'alertname=~"GPU.*"', query: { state: ['FIRING', 'PENDING'], matchers: 'alertname=~"GPU.*"' } },
      { title: 'Alert history', label: 'history', query: { history: true } },
    ],
  },
  gpu: {
    intro: 'GPU telemetry per node: DCGM exporter metrics, or nvidia-smi run in the GPU driver pods through Kubernetes exec.',
    examples: [
      { title: 'GPU nodes', label: 'nodes', query: { view: 'nodes', source: 'auto' } },
      { title: 'Every GPU', label: 'gpus', query: { view: 'gpus', source: 'auto' } },
      { title: 'Processes on the GPUs (nvidia-smi)', label: 'processes', query: { view: 'processes', source: 'nvidia-smi' } },
      { title: 'Fleet summary', label: 'summary', query: { view: 'summary' } },
    ],
  },
  cnf: {
    intro: 'Telco CNF probes through Kubernetes: PTP sync, SR-IOV VFs, DPDK port statistics, CNF workloads.',
    examples: [
      { title: 'CNF workloads', label: 'workloads', query: { cnfView: 'workloads' } },
      { title: 'PTP offset and state', label: 'ptp', query: { cnfView: 'ptp' } },
      { title: 'SR-IOV virtual functions', label: 'sriov', query: { cnfView: 'sriov' } },
    ],
  },
  macos: {
    intro: 'Apple-Silicon power from `gpx_fleetscope macos-exporter` on each Mac, scraped by the cluster’s Prometheus.',
    examples: [{ title: 'CPU, GPU and ANE power', label: 'power', query: { view: 'power' } }],
  },
};

/** Explore's query help ("?" button): the cheat sheet of the query's kind, examples clickable. */
export function QueryHelp({ query, onClickExample }: QueryEditorHelpProps<FleetscopeQuery>) {
  const styles = useStyles2(getStyles);
  const kind = query?.queryType ?? 'metrics';
  const sheet = CHEAT_SHEET[kind];
  return (
    <div data-testid="fleetscope-query-help">
      <Stack direction="column" gap={1}>
        <Text element="h4">Fleetscope {kind} cheat sheet</Text>
        <Text color="secondary">{sheet.intro}</Text>
        {sheet.examples.map((ex) => (
          <div key={ex.title}>
            <Text weight="medium">{ex.title}</Text>
            <button
              type="button"
              className={styles.example}
              onClick={() => onClickExample({ ...query, queryType: kind, ...ex.query } as FleetscopeQuery)}
            >
              {ex.label}
            </button>
          </div>
        ))}
        <Text color="secondary" variant="bodySmall">
          Every kind asks the clusters picked in the editor (none = all enabled). Template variables work in every field;
          Shift+Enter runs the query.
        </Text>
      </Stack>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  example: css({
    display: 'block',
    width: '100%',
    textAlign: 'left',
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    background: theme.colors.background.secondary,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    padding: theme.spacing(0.5, 1),
    marginTop: theme.spacing(0.5),
    color: theme.colors.text.primary,
    cursor: 'pointer',
    '&:hover': { borderColor: theme.colors.border.medium },
  }),
});
