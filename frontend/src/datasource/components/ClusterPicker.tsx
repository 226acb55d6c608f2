import { ComboboxOption, InlineField, MultiCombobox } from '@grafana/ui';
import { useId, useMemo } from 'react';

import type { FleetscopeDataSource } from '../datasource';
import { useClusters, variableOptions } from './useClusters';

interface Props {
  datasource: FleetscopeDataSource;
  value: string[] | undefined;
  onChange: (clusters: string[]) => void;
  labelWidth?: number;
  /**
   * The ids a cluster selector matches, when the query has one: only those are
   * offered; a picked cluster outside it stays visible, marked (the backend
   * rejects a query naming one — both restrictions apply).
   */
  matching?: ReadonlySet<string>;
}

/** Multi-select of registered clusters (from `GET api/v1/clusters`) and dashboard variables. Empty = all (that match the selector). */
export function ClusterPicker({ datasource, value, onChange, labelWidth = 14, matching }: Props) {
  const { clusters, loading, error } = useClusters(datasource);
  const id = useId();
  const options = useMemo<Array<ComboboxOption<string>>>(() => {
    const fromRegistry = clusters.filter((c) => !matching || matching.has(c.id)).map((c) => ({
      value: c.id,
      label: c.name && c.name !== c.id ? `${c.name} (${c.id})` : c.id,
      description: [
        c.enabled === false ? 'disabled' : '',
        (c.backends ?? []).join(', '),
        Object.entries(c.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]
        .filter(Boolean)
        .join(' · '),
    }));
    const vars = variableOptions().map((v) => ({ value: v, label: v, description: 'dashboard variable' }));
    const known = new Set([...fromRegistry, ...vars].map((o) => o.value));
    const registered = new Set(clusters.map((c) => c.id));
    // Keep selected ids that the registry no longer lists (or the selector leaves out) visible, so they can be removed.
    const stale = (value ?? [])
      .filter((v) => !known.has(v))
      .map((v) => ({ value: v, label: v, description: registered.has(v) ? 'not matched by the cluster selector' : 'not registered' }));
    return [...vars, ...fromRegistry, ...stale];
  }, [clusters, value, matching]);

  return (
    <InlineField
      label="Clusters"
      htmlFor={id}
      labelWidth={labelWidth}
      tooltip="Clusters to query. None selected = every enabled cluster. Multi-value variables expand to a list."
      invalid={!!error}
      error={error ? `Could not load clusters: ${error}` : undefined}
    >
      <MultiCombobox<string>
        id={id}
        data-testid="fleetscope-cluster-picker"
        placeholder={loading ? 'Loading clusters…' : matching ? 'All enabled clusters the selector matches' : 'All enabled clusters'}
        loading={loading}
        options={options}
        value={value ?? []}
        createCustomValue
        width="auto"
        minWidth={30}
        maxWidth={80}
        isClearable
        onChange={(selected) => onChange(selected.map((o) => o.value))}
      />
    </InlineField>
  );
}
