import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { CodeEditor, Monaco, monacoTypes, useStyles2 } from '@grafana/ui';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

import { CompletionData } from '../language/completion';
import { LANGUAGE_IDS, ensureLanguage, markSyntaxErrors, registerProviders } from '../language/monaco';
import { QueryLanguage, syntaxErrors } from '../language/parse';
import { useHideSuggestBeforeUnmount } from './hideSuggestBeforeUnmount';

export interface QueryFieldProps {
  language: QueryLanguage;
  value: string;
  onChange: (value: string) => void;
  /** Shift+Enter and blur run the query, with the current text. */
  onRunQuery: (value: string) => void;
  /** Completion candidates; read on each request (cluster selection applies at once). */
  data: () => CompletionData;
  placeholder?: string;
  'aria-label': string;
}

const LINE_HEIGHT = 19;
const MIN_HEIGHT = 32;
const MAX_HEIGHT = 360;

/**
 * A query text field: Grafana's Monaco `CodeEditor` with the language's
 * tokenizer, completion (functions with docs, metric and label names and
 * values, LogQL parsed labels, TraceQL attributes) and hover, syntax errors
 * from the lezer grammar as markers and as a line under the field. Grows with
 * its content; Shift+Enter and blur run the query, as in Grafana's editors.
 */
export function QueryField(props: QueryFieldProps) {
  const { language, value, onChange, onRunQuery, data, placeholder } = props;
  const styles = useStyles2(getStyles);
  const [height, setHeight] = useState(MIN_HEIGHT);
  const disposables = useRef<monacoTypes.IDisposable[]>([]);
  const { editorRef, onEditorWillUnmount } = useHideSuggestBeforeUnmount();
  // Latest callbacks for Monaco's long-lived handlers.
  const latest = useRef({ onRunQuery, data, onChange });
  useLayoutEffect(() => {
    latest.current = { onRunQuery, data, onChange };
  });
  const errors = syntaxErrors(language, value);

  useEffect(() => () => disposables.current.forEach((d) => d.dispose()), []);

  const onBeforeEditorMount = useCallback((monaco: Monaco) => ensureLanguage(monaco, language), [language]);

  const onEditorDidMount = useCallback(
    (editor: monacoTypes.editor.IStandaloneCodeEditor, monaco: Monaco) => {
      editorRef.current = editor;
      ensureLanguage(monaco, language);
      const model = editor.getModel();
      if (model) {
        monaco.editor.setModelLanguage(model, LANGUAGE_IDS[language]);
        markSyntaxErrors(monaco, model, language);
      }
      disposables.current.push(
        ...registerProviders(monaco, editor, language, () => latest.current.data()),
        editor.onDidChangeModelContent(() => {
          const m = editor.getModel();
          if (m) {
            markSyntaxErrors(monaco, m, language);
          }
        }),
        editor.onDidContentSizeChange((e) => {
          setHeight(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, e.contentHeight)));
        }),
        editor.addAction({
          id: 'fleetscope-run-query',
          label: 'Run query',
          keybindings: [monaco.KeyMod.Shift | monaco.KeyCode.Enter],
          run: () => {
            editor.trigger('fleetscope', 'hideSuggestWidget', {});
            latest.current.onRunQuery(editor.getValue());
          },
        })
      );
    },
    [language, editorRef]
  );

  return (
    <div className={styles.wrapper} data-testid={`fleetscope-query-field-${language}`}>
      <div className={styles.field}>
        <CodeEditor
          value={value}
          language={LANGUAGE_IDS[language]}
          height={height}
          showLineNumbers={false}
          showMiniMap={false}
          containerStyles={styles.editor}
          onBeforeEditorMount={onBeforeEditorMount}
          onEditorDidMount={onEditorDidMount}
          onEditorWillUnmount={onEditorWillUnmount}
          onChange={(v) => latest.current.onChange(v)}
          onBlur={(v) => latest.current.onRunQuery(v)}
          monacoOptions={{
            ariaLabel: props['aria-label'],
            lineHeight: LINE_HEIGHT,
            fontSize: 13,
            wordWrap: 'on',
            scrollBeyondLastLine: false,
            renderLineHighlight: 'none',
            overviewRulerLanes: 0,
            hideCursorInOverviewRuler: true,
            scrollbar: { vertical: 'hidden', horizontal: 'hidden', alwaysConsumeMouseWheel: false },
            suggest: { showWords: false, preview: true },
            quickSuggestions: true,
            suggestOnTriggerCharacters: true,
            matchBrackets: 'always',
            autoClosingBrackets: 'always',
            padding: { top: 6, bottom: 6 },
            folding: false,
            lineDecorationsWidth: 8,
          }}
        />
        {value === '' && placeholder ? (
          <div className={styles.placeholder} aria-hidden="true">
            {placeholder}
          </div>
        ) : null}
      </div>
      {errors.length > 0 && (
        <div className={styles.error} role="status" data-testid="fleetscope-syntax-error">
          Syntax error at {position(value, errors[0].from)}: {errors[0].message}
        </div>
      )}
    </div>
  );
}

/** `line:column` (1-based) of an offset. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${line}:${column}`;
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({ flexGrow: 1, minWidth: 300, position: 'relative' }),
  field: css({ position: 'relative' }),
  editor: css({
    border: `1px solid ${theme.components.input.borderColor}`,
    borderRadius: theme.shape.radius.default,
    overflow: 'hidden',
  }),
  placeholder: css({
    position: 'absolute',
    top: 7,
    left: 10,
    pointerEvents: 'none',
    color: theme.colors.text.disabled,
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: 13,
    whiteSpace: 'nowrap',
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    right: 8,
  }),
  error: css({
    color: theme.colors.error.text,
    fontSize: theme.typography.bodySmall.fontSize,
    marginTop: theme.spacing(0.25),
  }),
});
