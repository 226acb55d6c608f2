import { useState } from 'react';

export interface RowKeys {
  /** One React key per row, in row order. */
  keys: number[];
  /** Call with the removal of the row at `index` (in the same event). */
  removed: (index: number) => void;
  /** Call with the appending of a row (in the same event). */
  added: () => void;
}

interface State {
  next: number;
  keys: number[];
}

const fresh = (from: number, count: number): State => ({ next: from + count, keys: Array.from({ length: count }, (_, i) => from + i) });

/**
 * Stable React keys for the rows of an editable list whose items have no
 * stable identity of their own (a cluster's id or a source's name is being
 * edited in the row). A row keeps its key, and so its editor and drafts, while
 * rows before it are removed; a removed row's editor goes with it. When the
 * list changes length other than through `removed`/`added` (the settings were
 * replaced), every row gets a fresh key: new editors, no stale drafts.
 */
export function useRowKeys(count: number): RowKeys {
  const [state, setState] = useState(() => fresh(0, count));
  let current = state;
  if (state.keys.length !== count) {
    current = fresh(state.next, count);
    setState(current);
  }
  return {
    keys: current.keys,
    removed: (index) => setState((s) => ({ ...s, keys: s.keys.filter((_, i) => i !== index) })),
    added: () => setState((s) => ({ next: s.next + 1, keys: [...s.keys, s.next] })),
  };
}
