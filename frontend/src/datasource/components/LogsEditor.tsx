import { InlineField, InlineFieldRow, RadioButtonGroup, Stack } from '@grafana/ui';

import { LogDirection } from '../../types';
import { KindEditorProps } from './editorProps';
import { LimitField, QueryTextRow } from './fields';

const DIRECTIONS: Array<{ label: string; value: LogDirection }> = [
  { label: 'Newest first', value: 'backward' },
  { label: 'Oldest first', value: 'forward' },
];

const VOLUMES: Array<{ label: string; value: boolean; description: string }> = [
  { label: 'All clusters', value: false, description: 'One histogram: the lines of every cluster, stacked by level' },
  { label: 'Per cluster', value: true, description: 'One histogram per cluster, each stacked by level' },
];

export function LogsEditor(props: KindEditorProps) {
  const { query, onChangeAndRun } = props;
  return (
    <Stack direction="column" gap={0.5}>
      <QueryTextRow editor={props} language="logql" placeholder='{app="gateway"} |= "error"' />
      <InlineFieldRow>
        <LimitField editor={props} ariaLabel="Line limit" placeholder="1000" tooltip="Lines across all clusters, not per cluster." />
        <InlineField label="Direction">
          <RadioButtonGroup<LogDirection>
            options={DIRECTIONS}
            value={query.direction ?? 'backward'}
            onChange={(direction) => onChangeAndRun({ direction })}
            size="sm"
          />
        </InlineField>
        <InlineField label="Volume" tooltip="Explore's logs volume histogram: over all clusters, or one per cluster.">
          <RadioButtonGroup<boolean>
            options={VOLUMES}
            value={!!query.volumeByCluster}
            onChange={(perCluster) => onChangeAndRun({ volumeByCluster: perCluster || undefined })}
            size="sm"
          />
        </InlineField>
      </InlineFieldRow>
    </Stack>
  );
}
