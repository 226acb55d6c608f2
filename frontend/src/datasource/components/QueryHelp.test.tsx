import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fakeDataSource } from '../../test/fakes';
import { QueryType } from '../../types';
import { CHEAT_SHEET, QueryHelp } from './QueryHelp';
import { isValid } from '../language/parse';

describe('QueryHelp (cheat sheet)', () => {
  it('has examples for every kind, and the query-language ones parse', () => {
    const kinds: QueryType[] = ['metrics', 'logs', 'traces', 'alerts', 'gpu', 'cnf', 'macos'];
    for (const k of kinds) {
      expect(CHEAT_SHEET[k].examples.length).toBeGreaterThan(0);
    }
    for (const ex of CHEAT_SHEET.metrics.examples) {
      expect(isValid('promql', ex.query.expr!)).toBe(true);
    }
    for (const ex of CHEAT_SHEET.logs.examples) {
      expect(isValid('logql', ex.query.expr!)).toBe(true);
    }
    for (const ex of CHEAT_SHEET.traces.examples.filter((e) => e.query.query)) {
      expect(isValid('traceql', ex.query.query!)).toBe(true);
    }
  });

  it('shows the sheet of the query’s kind; an example becomes the query, keeping its clusters', async () => {
    const { ds } = fakeDataSource();
    const onClickExample = jest.fn();
    render(<QueryHelp datasource={ds} query={{ refId: 'A', queryType: 'logs', clusters: ['east'] }} onClickExample={onClickExample} />);
    expect(screen.getByText('Fleetscope logs cheat sheet')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: '{app="gateway"} | json | status >= 500' }));
    expect(onClickExample).toHaveBeenCalledWith({ refId: 'A', queryType: 'logs', clusters: ['east'], expr: '{app="gateway"} | json | status >= 500' });
  });
});
