import { useRef } from 'react';

export interface RowKeys {
  /** One React key per row, in row order. */
  keys: number[];
  /** Call before the row at `index` is removed from the list. */
  removed: (index: number) => void;
  /** Call before a row is appended to the list. */
  added: () => void;
}

/**
 * Stable React keys for the rows of an editable list whose items have no
 * stable identity of their own (a cluster's id or a source's name is being
 * edited in the row). A row keeps its key, and so its editor and drafts, while
 * rows before it are removed; a removed row's editor goes with it. When the
 * list changes length other than through `removed`/`added` (the settings were
 * replaced), every row gets a fresh key.
 */
export function useRowKeys(count: number): RowKeys {
  const nextKey = useRef(0);
  const keys = useRef<number[]>([]);
  if (keys.current.length !== count) {
    keys.current = Array.from({ length: count }, () => nextKey.current++);
  }
  return {
    keys: keys.current,
    removed: (index) => {
      keys.current = keys.current.filter((_, i) => i !== index);
    },
    added: () => {
      keys.current = [...keys.current, nextKey.current++];
    },
  };
}
