import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fakeDataSource } from '../../test/fakes';
import { KINDS, KIND_LIST, exampleText } from '../kinds';
import { isValid } from '../language/parse';
import { QueryHelp } from './QueryHelp';

describe('QueryHelp (cheat sheet)', () => {
  it('has examples for every kind, and the query-language ones parse', () => {
    expect(KIND_LIST.map((k) => k.value)).toEqual(['metrics', 'logs', 'traces', 'alerts', 'gpu', 'cnf', 'macos']);
    for (const k of KIND_LIST) {
      expect(k.help.examples.length).toBeGreaterThan(0);
      // Every example opens a query worth sending.
      for (const ex of k.help.examples) {
        expect(k.runnable({ refId: 'A', queryType: k.value, ...k.defaults, ...ex.query })).toBe(true);
      }
    }
    for (const ex of KINDS.metrics.help.examples.filter((e) => e.query.source !== 'clickhouse')) {
      expect(isValid('promql', ex.query.expr!)).toBe(true);
    }
    for (const ex of KINDS.logs.help.examples) {
      expect(isValid('logql', ex.query.expr!)).toBe(true);
    }
    for (const ex of KINDS.traces.help.examples.filter((e) => e.query.query)) {
      expect(isValid('traceql', ex.query.query!)).toBe(true);
    }
    // An example shows the history line of the query it opens.
    expect(exampleText('metrics', KINDS.metrics.help.examples[1])).toBe('PromQL: sum(rate(gateway_requests_total[$__rate_interval])) (sum across clusters)');
    const store = KINDS.metrics.help.examples.filter((e) => e.query.source === 'clickhouse').map((e) => exampleText('metrics', e));
    expect(store).toEqual([
      'ClickHouse: avg_over_time(DCGM_FI_DEV_GPU_UTIL) avg by (Hostname)',
      'ClickHouse: rate(gateway_requests_total) sum by (team)',
      'ClickHouse: histogram_quantile(0.99, gateway_latency_ms) sum of all series',
    ]);
    expect(exampleText('alerts', KINDS.alerts.help.examples[0])).toBe('Alerts: FIRING severity CRITICAL');
  });

  it('shows the sheet of the query’s kind; an example becomes the query, keeping its clusters', async () => {
    const { ds } = fakeDataSource();
    const onClickExample = jest.fn();
    render(<QueryHelp datasource={ds} query={{ refId: 'A', queryType: 'logs', clusters: ['east'] }} onClickExample={onClickExample} />);
    expect(screen.getByText('Fleetscope logs cheat sheet')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'LogQL: {app="gateway"} | json | status >= 500' }));
    expect(onClickExample).toHaveBeenCalledWith({ refId: 'A', queryType: 'logs', clusters: ['east'], expr: '{app="gateway"} | json | status >= 500', direction: 'backward' });
  });
});
