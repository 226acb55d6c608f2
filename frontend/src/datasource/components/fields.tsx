import { InlineField, InlineFieldRow, Input } from '@grafana/ui';

import { QueryLanguage } from '../language/parse';
import { KindEditorProps, LABEL_WIDTH } from './editorProps';
import { QueryField } from './QueryField';
import { useCompletionData } from './useCompletionData';

/** The query-text fields the kinds write: PromQL and LogQL in `expr`, TraceQL in `query`. */
const TEXT_FIELD: Record<QueryLanguage, 'expr' | 'query'> = { promql: 'expr', logql: 'expr', traceql: 'query' };
const LABEL: Record<QueryLanguage, string> = { promql: 'PromQL', logql: 'LogQL', traceql: 'TraceQL' };

/**
 * A kind's query-language row: the Monaco field with completion scoped to the
 * editor's clusters and time range, writing `expr` (PromQL, LogQL) or `query` (TraceQL).
 */
export function QueryTextRow(props: { editor: KindEditorProps; language: QueryLanguage; placeholder: string; tooltip?: string }) {
  const { editor, language } = props;
  const data = useCompletionData(editor);
  const field = TEXT_FIELD[language];
  return (
    <InlineFieldRow>
      <InlineField label={LABEL[language]} labelWidth={LABEL_WIDTH} grow tooltip={props.tooltip}>
        <QueryField
          language={language}
          aria-label={`${LABEL[language]} query`}
          placeholder={`${props.placeholder}  — Shift+Enter to run`}
          value={editor.query[field] ?? ''}
          data={data}
          onChange={(text) => editor.onChange({ [field]: text })}
          onRunQuery={editor.onRunQuery}
        />
      </InlineField>
    </InlineFieldRow>
  );
}

/** `limit`: rows across all clusters together; empty or not a positive integer = the backend's default. */
export function LimitField(props: { editor: KindEditorProps; ariaLabel: string; placeholder: string; tooltip: string }) {
  const { editor } = props;
  return (
    <InlineField label="Limit" labelWidth={LABEL_WIDTH} tooltip={props.tooltip}>
      <Input
        aria-label={props.ariaLabel}
        type="number"
        min={1}
        width={12}
        placeholder={props.placeholder}
        value={editor.query.limit ?? ''}
        onChange={(e) => {
          const n = parseInt(e.currentTarget.value, 10);
          editor.onChange({ limit: Number.isFinite(n) && n > 0 ? n : undefined });
        }}
        onBlur={editor.onRunQuery}
      />
    </InlineField>
  );
}
