import { useMemo, useRef } from 'react';

import { ResourceCompletionData } from '../completionData';
import { CompletionData } from '../language/completion';
import { KindEditorProps } from './editorProps';
import { hintClusters } from './useClusters';

/** Completion candidates for an editor, from the clusters it has selected and its time range. */
export function useCompletionData(props: KindEditorProps): () => CompletionData {
  const { datasource, query, range } = props;
  const current = useRef({ clusters: query.clusters, range });
  current.current = { clusters: query.clusters, range };
  const data = useMemo(
    () =>
      new ResourceCompletionData(
        datasource.resources,
        () => hintClusters(current.current.clusters),
        () => {
          const r = current.current.range;
          return r ? { from: r.from.valueOf(), to: r.to.valueOf() } : undefined;
        }
      ),
    [datasource]
  );
  return () => data;
}
