import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { InlineField, Input, Text, useStyles2 } from '@grafana/ui';
import { useEffect, useId, useState } from 'react';

import { ClusterInfo } from '../../types';
import type { FleetscopeDataSource } from '../datasource';
import { errorMessage, hintSelector, useClusters } from './useClusters';

/** What the tooltip says; the grammar is the backend's (src/query/selector.rs). */
export const SELECTOR_SYNTAX =
  'Clusters chosen by their labels, as in a PromQL selector: env="prod",region=~"eu-.*" (braces optional). ' +
  'Operators =, !=, =~, !~; regexes match the whole value; a label a cluster lacks is empty, so env!="prod" also ' +
  'selects clusters without env. Besides the cluster labels: cluster_id, cluster (the name), source (static or a ' +
  'discovery source) and status. Values are "quoted" or bare (letters, digits, _ . : / -). Dashboard variables work ' +
  '(multi-value ones become (a|b)). With clusters picked as well, both apply. Resolved when the query runs.';

/** How long typing must pause before the preview asks the backend. */
export const PREVIEW_DELAY_MS = 250;

export interface SelectorPreview {
  /** The interpolated selector that was asked; empty = no selector. */
  selector: string;
  loading: boolean;
  /** The clusters it matches, once the backend answered. */
  matched?: ClusterInfo[];
  /** The backend's reason for rejecting it (its 400 message). */
  error?: string;
}

/** Which clusters `selector` matches now, from `GET api/v1/clusters?selector=` (asked after a short pause in typing). */
export function useSelectorPreview(ds: FleetscopeDataSource, selector: string | undefined): SelectorPreview {
  const text = hintSelector(selector);
  // The last answer, for the selector it answered; the preview is loading until the current one's is in.
  const [answer, setAnswer] = useState<{ selector: string; matched?: ClusterInfo[]; error?: string }>();
  useEffect(() => {
    if (!text) {
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      ds.resources.clusters(text).then(
        (matched) => live && setAnswer({ selector: text, matched }),
        (err) => live && setAnswer({ selector: text, error: errorMessage(err) })
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [ds, text]);
  if (!text) {
    return { selector: '', loading: false };
  }
  // While the new answer is on its way the picker keeps the last match list (no flicker while typing).
  return answer?.selector === text ? { ...answer, loading: false } : { selector: text, loading: true, matched: answer?.matched };
}

const NAMES_SHOWN = 5;

/** `matches 2 of 3 clusters: east, west` (plus how many of them a query over "all" would skip). */
export function previewText(matched: ClusterInfo[], total: number | undefined): string {
  const of = total !== undefined && total >= matched.length ? ` of ${total}` : '';
  const count = `matches ${matched.length}${of} cluster${(total ?? matched.length) === 1 ? '' : 's'}`;
  if (matched.length === 0) {
    return count;
  }
  const ids = matched.slice(0, NAMES_SHOWN).map((c) => c.id);
  const more = matched.length > NAMES_SHOWN ? `, +${matched.length - NAMES_SHOWN} more` : '';
  const idle = matched.filter((c) => c.enabled === false || (c.status !== undefined && c.status !== 'online')).length;
  const skipped = idle ? ` (${idle} disabled or not online: not queried unless picked)` : '';
  return `${count}: ${ids.join(', ')}${more}${skipped}`;
}

interface Props {
  datasource: FleetscopeDataSource;
  value: string | undefined;
  preview: SelectorPreview;
  onChange: (selector: string | undefined) => void;
  /** Typing stopped (blur or Enter): run the query. */
  onCommit: () => void;
}

/** `clusterSelector`: a label selector over the clusters, with a live "matches N of M" and the backend's error inline. */
export function ClusterSelectorField({ datasource, value, preview, onChange, onCommit }: Props) {
  const id = useId();
  const styles = useStyles2(getStyles);
  const { clusters } = useClusters(datasource);
  const showError = !!preview.error && !preview.loading;
  let status = '';
  if (preview.selector && !showError) {
    status = preview.loading || !preview.matched ? 'checking…' : previewText(preview.matched, clusters.length || undefined);
  }
  return (
    <>
      <InlineField
        label="Cluster selector"
        htmlFor={id}
        tooltip={SELECTOR_SYNTAX}
        invalid={showError}
        error={showError ? `Cluster selector rejected: ${preview.error}` : undefined}
      >
        <Input
          id={id}
          aria-label="Cluster selector"
          data-testid="fleetscope-cluster-selector"
          width={40}
          placeholder='env="prod",region=~"eu-.*"'
          value={value ?? ''}
          onChange={(e) => onChange(e.currentTarget.value || undefined)}
          onBlur={onCommit}
          onKeyDown={(e) => e.key === 'Enter' && onCommit()}
        />
      </InlineField>
      {status && (
        <div className={styles.preview} data-testid="fleetscope-selector-preview">
          <Text color={preview.matched?.length === 0 ? 'warning' : 'secondary'} variant="bodySmall">
            {status}
          </Text>
        </div>
      )}
    </>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  preview: css({ alignSelf: 'center', marginBottom: theme.spacing(0.5), marginLeft: theme.spacing(0.5) }),
});
