import type { Monaco, monacoTypes } from '@grafana/ui';

import { SqlContext, SqlSuggestionKind, completeSql } from './sql';

/** Monaco's language id of @grafana/ui's CodeEditor `language="sql"`. */
export const SQL_LANGUAGE_ID = 'sql';

interface Registration {
  provider: monacoTypes.IDisposable;
  /** The mounted store SQL editors, each with how to read its context at request time. */
  editors: Map<monacoTypes.editor.IStandaloneCodeEditor, () => SqlContext>;
}

/**
 * One completion provider per Monaco instance for every store SQL editor on
 * the page: Monaco's providers are global per language, so a provider per
 * editor would answer each request once per editor. It answers only for the
 * models of the editors registered here (not Grafana's other SQL editors)
 * and is disposed when the last of them unmounts.
 */
const registrations = new WeakMap<object, Registration>();

function itemKind(monaco: Monaco, kind: SqlSuggestionKind): monacoTypes.languages.CompletionItemKind {
  const K = monaco.languages.CompletionItemKind;
  switch (kind) {
    case 'macro':
      return K.Variable;
    case 'table':
      return K.Class;
    case 'column':
      return K.Field;
    case 'metric':
      return K.Constructor;
    case 'attribute':
      return K.Property;
  }
}

function provide(monaco: Monaco, reg: Registration): monacoTypes.languages.CompletionItemProvider {
  return {
    triggerCharacters: ['$', "'", '[', '(', ' ', '.'],
    provideCompletionItems: async (model, position) => {
      const context = Array.from(reg.editors.entries()).find(([editor]) => editor.getModel()?.id === model.id)?.[1];
      if (!context) {
        return { suggestions: [] };
      }
      const result = await completeSql(model.getValue(), model.getOffsetAt(position), context());
      if (!result) {
        return { suggestions: [] };
      }
      const start = model.getPositionAt(result.from);
      const range = { startLineNumber: start.lineNumber, startColumn: start.column, endLineNumber: position.lineNumber, endColumn: position.column };
      const width = String(result.suggestions.length).length;
      return {
        suggestions: result.suggestions.map((s, i) => ({
          label: s.label,
          kind: itemKind(monaco, s.kind),
          insertText: s.insertText,
          insertTextRules: s.snippet ? monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet : undefined,
          detail: s.detail,
          documentation: s.documentation ? { value: s.documentation } : undefined,
          // What the user typed is matched against the label, `$` included.
          filterText: s.label,
          sortText: String(i).padStart(width, '0'),
          range,
        })),
      };
    },
  };
}

/**
 * Store-SQL completion for `editor`: registers the Monaco instance's provider
 * on the first editor; the returned disposable (call it on unmount) removes the
 * editor and, with the last one, the provider.
 */
export function registerSqlCompletion(
  monaco: Monaco,
  editor: monacoTypes.editor.IStandaloneCodeEditor,
  context: () => SqlContext
): monacoTypes.IDisposable {
  let reg = registrations.get(monaco);
  if (!reg) {
    const created: Registration = { editors: new Map(), provider: { dispose: () => {} } };
    created.provider = monaco.languages.registerCompletionItemProvider(SQL_LANGUAGE_ID, provide(monaco, created));
    registrations.set(monaco, created);
    reg = created;
  }
  const mine = reg;
  mine.editors.set(editor, context);
  let disposed = false;
  return {
    dispose: () => {
      if (disposed) {
        return;
      }
      disposed = true;
      mine.editors.delete(editor);
      if (mine.editors.size === 0) {
        mine.provider.dispose();
        if (registrations.get(monaco) === mine) {
          registrations.delete(monaco);
        }
      }
    },
  };
}
