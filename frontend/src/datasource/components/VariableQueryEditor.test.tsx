import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fakeDataSource, fakeTemplateSrv } from '../../test/fakes';
import { VariableQueryEditor } from './VariableQueryEditor';

describe('VariableQueryEditor', () => {
  it('saves a valid function call on blur and rejects an invalid one', async () => {
    fakeTemplateSrv();
    const { ds } = fakeDataSource();
    const onChange = jest.fn();
    render(<VariableQueryEditor datasource={ds} query={{ refId: 'V', query: '' }} onChange={onChange} onRunQuery={() => {}} />);
    const user = userEvent.setup();
    const input = screen.getByRole('textbox', { name: 'Variable query' });
    await user.type(input, 'nodes(east)');
    await user.tab();
    expect(onChange).not.toHaveBeenCalled();
    expect(screen.getByText(/unknown variable function nodes\(\)/)).toBeInTheDocument();
    await user.clear(input);
    await user.type(input, 'label_values(up, job)');
    await user.tab();
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'V', query: 'label_values(up, job)' });

    // The cluster selector argument is accepted and explained.
    await user.clear(input);
    await user.type(input, 'label_values(job, clusters(env="prod"))');
    await user.tab();
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'V', query: 'label_values(job, clusters(env="prod"))' });
    expect(screen.getByText(/take a last argument clusters\(<selector>\)/)).toBeInTheDocument();
    await user.clear(input);
    await user.type(input, 'label_values(up, job)');
    await user.tab();

    await user.click(screen.getByRole('combobox', { name: 'Clusters' }));
    await user.click(await screen.findByRole('option', { name: /prod-west-1/ }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'V', query: 'label_values(up, job)', clusters: ['west'] });
  });
});
