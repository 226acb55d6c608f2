import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { ClusterInfo, ClustersResponse } from '../../../types';
import { DiscoveredClusters, PAGE_SIZE, filterClusters } from './DiscoveredClusters';

/** 500 clusters: 100 static, 400 from the Kubernetes source `fleet`; every fifth in eu-west-1, every tenth offline. */
function fleet(): ClusterInfo[] {
  return Array.from({ length: 500 }, (_, j) => {
    const i = j + 1;
    const id = `edge-${String(i).padStart(3, '0')}`;
    return {
      id,
      name: `Edge ${i}`,
      labels: { env: i % 2 ? 'prod' : 'dev', ...(i % 5 === 0 ? { region: 'eu-west-1' } : { region: 'us-east-2' }) },
      enabled: true,
      source: i <= 100 ? 'static' : 'fleet',
      status: i % 10 === 0 ? 'offline' : 'online',
      lastRefresh: i <= 100 ? null : '2026-12-07T10:00:00.000Z',
    };
  });
}

// Reversed, to see the table sort by id.
const RESPONSE: ClustersResponse = {
  clusters: fleet().reverse(),
  total: 500,
  sources: [
    {
      name: 'fleet',
      type: 'kubernetes',
      status: 'error',
      clusters: 400,
      lastRefresh: '2026-12-07T10:00:00.000Z',
      lastAttempt: '2026-12-07T10:05:00.000Z',
      error: 'Secrets "cluster" in namespace "argocd": 403 Forbidden',
      clusterErrors: [{ id: 'edge-007', error: 'cluster id "edge-007" from discovery source "fleet" is already taken by jsonData.clusters' }],
    },
  ],
};

/** The cluster table's body rows. */
function bodyRows(): HTMLElement[] {
  const table = screen.getByRole('table', { name: 'Clusters' });
  return within(table).getAllByRole('row').slice(1);
}

const firstCell = (row: HTMLElement) => within(row).getAllByRole('cell')[0].textContent;

describe('DiscoveredClusters', () => {
  it('renders one page of 500 clusters at a time, sorted, with paging', async () => {
    const load = jest.fn(async () => RESPONSE);
    render(<DiscoveredClusters uid="fs" load={load} />);
    expect(await screen.findByRole('table', { name: 'Clusters' })).toBeInTheDocument();
    expect(load).toHaveBeenCalledWith('fs');
    expect(screen.getByTestId('fleetscope-discovered-count')).toHaveTextContent('500 clusters');
    let rows = bodyRows();
    expect(rows).toHaveLength(PAGE_SIZE);
    expect(PAGE_SIZE).toBeLessThanOrEqual(50);
    expect(firstCell(rows[0])).toBe('edge-001');
    expect(firstCell(rows[PAGE_SIZE - 1])).toBe('edge-050');
    // Source, status, labels and refresh time per row.
    expect(within(rows[9]).getAllByRole('cell').map((c) => c.textContent)).toEqual([
      'edge-010',
      'Edge 10',
      'static',
      'offline',
      'env=dev, region=eu-west-1',
      '—',
    ]);
    expect(screen.queryByText('edge-051')).not.toBeInTheDocument();

    await userEvent.setup().click(screen.getByRole('button', { name: '2' }));
    rows = bodyRows();
    expect(rows).toHaveLength(PAGE_SIZE);
    expect(firstCell(rows[0])).toBe('edge-051');
    expect(screen.queryByText('edge-001')).not.toBeInTheDocument();
  });

  it('searches ids, names and labels, and goes back to the first page', async () => {
    const user = userEvent.setup();
    render(<DiscoveredClusters uid="fs" load={async () => RESPONSE} />);
    await screen.findByRole('table', { name: 'Clusters' });
    await user.click(screen.getByRole('button', { name: '3' }));
    const search = screen.getByRole('textbox', { name: 'Search clusters' });

    await user.type(search, 'region=eu-west-1');
    expect(screen.getByTestId('fleetscope-discovered-count')).toHaveTextContent('100 of 500 clusters');
    let rows = bodyRows();
    expect(rows).toHaveLength(PAGE_SIZE);
    expect(firstCell(rows[0])).toBe('edge-005');
    expect(rows.every((r) => r.textContent!.includes('region=eu-west-1'))).toBe(true);

    // Every word must match: eu-west-1 and offline are the multiples of ten.
    await user.type(search, ' offline');
    expect(screen.getByTestId('fleetscope-discovered-count')).toHaveTextContent('50 of 500 clusters');
    expect(screen.queryByRole('button', { name: '2' })).not.toBeInTheDocument();

    await user.clear(search);
    await user.type(search, 'Edge 123');
    rows = bodyRows();
    expect(rows.map(firstCell)).toEqual(['edge-123']);

    await user.clear(search);
    await user.type(search, 'no-such-cluster');
    expect(screen.getByText('No cluster matches the search.')).toBeInTheDocument();
  });

  it('lists the sources with their state, error and skipped clusters', async () => {
    render(<DiscoveredClusters uid="fs" load={async () => RESPONSE} />);
    const table = await screen.findByRole('table', { name: 'Discovery sources' });
    const [, row] = within(table).getAllByRole('row');
    expect(within(row).getAllByRole('cell').map((c) => c.textContent)).toEqual([
      'fleet',
      'kubernetes',
      'error',
      '400',
      '2026-12-07 10:00:00',
      '2026-12-07 10:05:00',
      'Secrets "cluster" in namespace "argocd": 403 Forbidden',
    ]);
    expect(screen.getByRole('list', { name: 'Skipped clusters of fleet' })).toHaveTextContent(
      'edge-007: cluster id "edge-007" from discovery source "fleet" is already taken by jsonData.clusters'
    );
  });

  it('says so without a saved datasource, and shows a failed load', async () => {
    const load = jest.fn(async () => RESPONSE);
    const { unmount } = render(<DiscoveredClusters load={load} />);
    expect(screen.getByText(/Save the datasource first/)).toBeInTheDocument();
    expect(load).not.toHaveBeenCalled();
    unmount();

    const failing = async () => {
      throw Object.assign(new Error('Internal Server Error'), { status: 500, data: { message: 'Plugin unavailable' } });
    };
    render(<DiscoveredClusters uid="fs" unsaved load={failing} />);
    expect(await screen.findByText('Plugin unavailable')).toBeInTheDocument();
    expect(screen.getByText(/unsaved changes/)).toBeInTheDocument();
  });

  it('filterClusters needs every word', () => {
    const all = fleet();
    expect(filterClusters(all, '')).toHaveLength(500);
    expect(filterClusters(all, 'FLEET env=prod')).toHaveLength(200);
    expect(filterClusters(all, 'static offline').map((c) => c.id)).toHaveLength(10);
  });
});
