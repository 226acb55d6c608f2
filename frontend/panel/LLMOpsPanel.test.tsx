import { FieldConfigSource, LoadingState, PanelData, createTheme, dateTime, getDefaultTimeRange } from '@grafana/data';
import { ThemeContext } from '@grafana/ui';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ComponentProps } from 'react';

import { LLMOpsPanel } from './LLMOpsPanel';
import { fleetscopeFrames, prometheusFrames } from './test/frames';
import { DEFAULT_OPTIONS, LLMOpsOptions } from './types';

type PanelProps = ComponentProps<typeof LLMOpsPanel>;

function renderPanel(data: Partial<PanelData>, options: Partial<LLMOpsOptions> = {}, mode: 'dark' | 'light' = 'dark', width = 1000) {
  const timeRange = { ...getDefaultTimeRange(), from: dateTime(1_700_000_000_000), to: dateTime(1_700_003_600_000) };
  const props = {
    id: 1,
    data: { state: LoadingState.Done, series: [], timeRange, ...data } as PanelData,
    timeRange,
    timeZone: 'utc',
    options: { ...DEFAULT_OPTIONS, ...options },
    transparent: false,
    width,
    height: 500,
    fieldConfig: { defaults: {}, overrides: [] } as FieldConfigSource,
    renderCounter: 0,
    title: 'LLM ops',
    eventBus: {} as PanelProps['eventBus'],
    onOptionsChange: jest.fn(),
    onFieldConfigChange: jest.fn(),
    replaceVariables: (s: string) => s,
    onChangeTimeRange: jest.fn(),
  } as unknown as PanelProps;
  return render(
    <ThemeContext.Provider value={createTheme({ colors: { mode } })}>
      <LLMOpsPanel {...props} />
    </ThemeContext.Provider>
  );
}

const fleetscopeRequest = {
  targets: [{ refId: 'requests', datasource: { type: 'fleetscope-federation-datasource', uid: 'fs-uid' } }],
} as unknown as PanelData['request'];

describe('LLMOpsPanel', () => {
  it.each(['dark', 'light'] as const)('shows fleet totals, service rows, GPU nodes and alerts (%s theme)', (mode) => {
    renderPanel({ series: fleetscopeFrames(), request: fleetscopeRequest }, {}, mode);
    expect(screen.getByTestId('llmops-total-requests')).toHaveTextContent('23.0 req/s');
    expect(screen.getByTestId('llmops-error-rate')).toHaveTextContent('3.83%');
    expect(screen.getByTestId('llmops-worst-p95')).toHaveTextContent('3 s');
    expect(screen.getByTestId('llmops-gpu-util')).toHaveTextContent('55%');
    expect(screen.getByTestId('llmops-gpu-mem')).toHaveTextContent('48.0 GB');
    expect(screen.getByTestId('llmops-alert-count')).toHaveTextContent('2');

    const rows = screen.getAllByTestId('llmops-row');
    expect(rows).toHaveLength(2);
    const quant = within(rows[0]);
    expect(quant.getByText('quant-api')).toBeInTheDocument();
    expect(quant.getByText('prod-east-1, prod-west-1')).toBeInTheDocument();
    expect(quant.getByText('4.40%')).toBeInTheDocument();

    expect(screen.getAllByTestId('llmops-gpu').map((g) => g.textContent)).toEqual([
      expect.stringContaining('gpu-node-1'),
      expect.stringContaining('gpu-node-2'),
    ]);
    expect(screen.getByRole('meter', { name: 'gpu-node-1 GPU utilisation' })).toHaveAttribute('aria-valuenow', '80');
    expect(screen.getAllByTestId('llmops-alert')[0]).toHaveTextContent('GPUHot');
  });

  it('links each service into Explore with a trace search on its clusters', () => {
    renderPanel({ series: fleetscopeFrames(), request: fleetscopeRequest });
    const link = screen.getByRole('link', { name: 'Traces of quant-api' });
    const url = new URL(link.getAttribute('href')!, 'http://grafana');
    expect(url.pathname).toBe('/explore');
    const panes = JSON.parse(url.searchParams.get('panes')!);
    expect(panes.traces).toEqual({
      datasource: 'fs-uid',
      queries: [
        {
          refId: 'A',
          datasource: { type: 'fleetscope-federation-datasource', uid: 'fs-uid' },
          queryType: 'traces',
          tracesView: 'search',
          service: 'quant-api',
          clusters: ['east', 'west'],
          limit: 20,
        },
      ],
      range: { from: '1700000000000', to: '1700003600000' },
    });
  });

  it('works with plain Prometheus frames mapped by refId, without trace links', () => {
    renderPanel({ series: prometheusFrames() }, { requestsRefId: 'A', errorsRefId: 'B', latencyRefId: 'C' }, 'light');
    const rows = screen.getAllByTestId('llmops-row');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveTextContent('gateway');
    expect(rows[0]).toHaveTextContent('140.0 req/s');
    expect(screen.queryByRole('link')).not.toBeInTheDocument();
    expect(screen.getAllByTestId('llmops-alert')[0]).toHaveTextContent('GatewaySlow');
    expect(screen.queryByLabelText('GPU serving nodes')).not.toBeInTheDocument();
  });

  it('uses the traces datasource option for links when the data is not from Fleetscope', async () => {
    renderPanel({ series: prometheusFrames() }, { requestsRefId: 'A', tracesDatasourceUid: 'other-fs' });
    const link = screen.getByRole('link', { name: 'Traces of gateway' });
    expect(decodeURIComponent(link.getAttribute('href')!)).toContain('"datasource":"other-fs"');
    await userEvent.hover(link);
  });

  it('explains what to map when nothing is recognised, and hides sections by option', () => {
    const { unmount } = renderPanel({ series: prometheusFrames().slice(0, 3) });
    expect(screen.getByText(/Map these queries in the panel options \(Query mapping\): A, B, C/)).toBeInTheDocument();
    unmount();
    renderPanel({ series: fleetscopeFrames() }, { showGpu: false, showAlerts: false }, 'dark', 600);
    expect(screen.queryByTestId('llmops-gpu-util')).not.toBeInTheDocument();
    expect(screen.queryByTestId('llmops-alert')).not.toBeInTheDocument();
    // Narrow panels drop the clusters column.
    expect(screen.queryByRole('columnheader', { name: 'Clusters' })).not.toBeInTheDocument();
  });
});

describe('LLMOpsPanel degrades clearly', () => {
  it('says which queries are missing and shows — (not 0) for alerts it was not given', () => {
    const frames = fleetscopeFrames().filter((f) => f.refId !== 'alerts' && f.refId !== 'errors');
    renderPanel({ series: frames });
    expect(screen.getByTestId('llmops-missing')).toHaveTextContent('No error ratio, alerts query');
    expect(screen.getByTestId('llmops-alert-count')).toHaveTextContent('—');
    expect(screen.getAllByTestId('llmops-row-alerts').map((c) => c.textContent)).toEqual(['—', '—']);
  });

  it('groups team × service rows under team headers', () => {
    renderPanel({ series: fleetscopeFrames() });
    expect(screen.getAllByTestId('llmops-team').map((t) => t.textContent)).toEqual([
      expect.stringContaining('quant'),
      expect.stringContaining('eval'),
    ]);
    expect(screen.getAllByTestId('llmops-row')).toHaveLength(2);
    expect(screen.getByTestId('llmops-alert-count')).toHaveTextContent('2');
  });
});
