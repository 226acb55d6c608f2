import { useCallback, useLayoutEffect, useMemo } from 'react';

import { ResourceCompletionData } from '../completionData';
import { CompletionData } from '../language/completion';
import { KindEditorProps } from './editorProps';
import { hintClusters, hintSelector } from './useClusters';

/**
 * Completion candidates for an editor: one cache per editor, scoped after each
 * render to the clusters it has selected, its cluster selector and its time range, which Monaco's
 * long-lived providers read at each request.
 */
export function useCompletionData(props: KindEditorProps): () => CompletionData {
  const { datasource, query, range } = props;
  const data = useMemo(() => new ResourceCompletionData(datasource.resources), [datasource]);
  const from = range?.from.valueOf();
  const to = range?.to.valueOf();
  useLayoutEffect(() => {
    data.setScope(hintClusters(query.clusters), from !== undefined && to !== undefined ? { from, to } : undefined, hintSelector(query.clusterSelector));
  }, [data, query.clusters, query.clusterSelector, from, to]);
  return useCallback(() => data, [data]);
}
