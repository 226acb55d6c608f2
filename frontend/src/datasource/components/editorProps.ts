import { TimeRange } from '@grafana/data';

import { FleetscopeQuery } from '../../types';
import type { FleetscopeDataSource } from '../datasource';

/** What every per-kind editor gets from QueryEditor. */
export interface KindEditorProps {
  datasource: FleetscopeDataSource;
  query: FleetscopeQuery;
  /** Merge a change into the query. */
  onChange: (patch: Partial<FleetscopeQuery>) => void;
  /** Merge a change and run the query. */
  onChangeAndRun: (patch: Partial<FleetscopeQuery>) => void;
  onRunQuery: () => void;
  /** The panel's or Explore's time range, for hints (label values, parsed labels). */
  range?: TimeRange;
}

export const LABEL_WIDTH = 14;
