import type { Monaco, monacoTypes } from '@grafana/ui';

import { Completion, CompletionData, SuggestionKind, complete, hoverDoc } from './completion';
import {
  LOGQL_AGGREGATIONS,
  LOGQL_RANGE_FUNCTIONS,
  LOGQL_STAGES,
  PROMQL_AGGREGATIONS,
  PROMQL_FUNCTIONS,
  PROMQL_KEYWORDS,
  TRACEQL_AGGREGATES,
  TRACEQL_INTRINSICS,
} from './docs';
import { QueryLanguage, syntaxErrors } from './parse';

/**
 * Monaco glue: language ids, Monarch tokenizers, bracket configuration, and
 * per-editor completion/hover providers. Monaco's providers are global per
 * language, so each editor registers its own and answers only for its model
 * (as Grafana's own query fields do); they are disposed with the editor.
 * Grafana supplies Monaco at run time (through @grafana/ui's CodeEditor):
 * nothing here imports it.
 */

export const LANGUAGE_IDS: Record<QueryLanguage, string> = {
  promql: 'fleetscope-promql',
  logql: 'fleetscope-logql',
  traceql: 'fleetscope-traceql',
};

const names = (docs: Array<{ name: string }>) => docs.map((d) => d.name);

function monarch(language: QueryLanguage): monacoTypes.languages.IMonarchLanguage {
  const functions =
    language === 'promql'
      ? [...names(PROMQL_AGGREGATIONS), ...names(PROMQL_FUNCTIONS)]
      : language === 'logql'
        ? [...names(LOGQL_RANGE_FUNCTIONS), ...names(LOGQL_AGGREGATIONS)]
        : names(TRACEQL_AGGREGATES);
  const keywords =
    language === 'promql'
      ? PROMQL_KEYWORDS
      : language === 'logql'
        ? [...names(LOGQL_STAGES), 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless']
        : [...names(TRACEQL_INTRINSICS), 'true', 'false', 'nil', 'error', 'ok', 'unset', 'server', 'client', 'producer', 'consumer', 'internal'];
  return {
    defaultToken: '',
    ignoreCase: false,
    functions,
    keywords,
    tokenizer: {
      root: [
        [/#.*$/, 'comment'],
        [/\/\/.*$/, 'comment'],
        [/\$__\w+|\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\]/, 'variable'],
        [/"/, 'string', '@dq'],
        [/`/, 'string', '@bq'],
        [/'/, 'string', '@sq'],
        [/\b\d+(\.\d+)?(ms|us|µs|ns|s|m|h|d|w|y)\b/, 'number'],
        [/\b\d+(\.\d+)?([eE][-+]?\d+)?\b/, 'number'],
        [/(resource|span|event|link|instrumentation)\.[\w.:-]+/, 'type'],
        [/\.[a-zA-Z_][\w.-]*/, language === 'traceql' ? 'type' : ''],
        [
          /[a-zA-Z_:][\w:]*/,
          {
            cases: {
              '@functions': 'predefined',
              '@keywords': 'keyword',
              '@default': 'identifier',
            },
          },
        ],
        [/[{}()[\]]/, '@brackets'],
        [/(\|=|\|~|!=|!~|=~|==|>=|<=|&&|\|\||>>|[-+*/%^=<>|!~])/, 'operator'],
      ],
      dq: [
        [/[^\\"]+/, 'string'],
        [/\\./, 'string.escape'],
        [/"/, 'string', '@pop'],
      ],
      sq: [
        [/[^\\']+/, 'string'],
        [/\\./, 'string.escape'],
        [/'/, 'string', '@pop'],
      ],
      bq: [
        [/[^`]+/, 'string'],
        [/`/, 'string', '@pop'],
      ],
    },
  } as monacoTypes.languages.IMonarchLanguage;
}

const CONFIG: monacoTypes.languages.LanguageConfiguration = {
  comments: { lineComment: '#' },
  brackets: [
    ['{', '}'],
    ['[', ']'],
    ['(', ')'],
  ],
  autoClosingPairs: [
    { open: '{', close: '}' },
    { open: '[', close: ']' },
    { open: '(', close: ')' },
    { open: '"', close: '"', notIn: ['string'] },
    { open: '`', close: '`', notIn: ['string'] },
  ],
  surroundingPairs: [
    { open: '{', close: '}' },
    { open: '[', close: ']' },
    { open: '(', close: ')' },
    { open: '"', close: '"' },
  ],
};

const registered = new WeakMap<object, Set<QueryLanguage>>();

/** Register the language id, its tokenizer and configuration once per Monaco instance. */
export function ensureLanguage(monaco: Monaco, language: QueryLanguage): string {
  const id = LANGUAGE_IDS[language];
  let done = registered.get(monaco);
  if (!done) {
    done = new Set();
    registered.set(monaco, done);
  }
  if (!done.has(language)) {
    if (!monaco.languages.getLanguages().some((l) => l.id === id)) {
      monaco.languages.register({ id });
    }
    monaco.languages.setMonarchTokensProvider(id, monarch(language));
    monaco.languages.setLanguageConfiguration(id, CONFIG);
    done.add(language);
  }
  return id;
}

function itemKind(monaco: Monaco, kind: SuggestionKind): monacoTypes.languages.CompletionItemKind {
  const K = monaco.languages.CompletionItemKind;
  switch (kind) {
    case 'function':
      return K.Function;
    case 'metric':
      return K.Constructor;
    case 'label':
    case 'attribute':
      return K.Field;
    case 'intrinsic':
      return K.Property;
    case 'value':
      return K.Value;
    case 'keyword':
      return K.Keyword;
    case 'stage':
      return K.Method;
    case 'duration':
      return K.Unit;
    case 'scope':
      return K.Module;
    case 'operator':
      return K.Operator;
  }
}

/** Monaco completion items for a `Completion` at `position`. */
export function toMonacoItems(
  monaco: Monaco,
  model: monacoTypes.editor.ITextModel,
  position: monacoTypes.Position,
  result: Completion
): monacoTypes.languages.CompletionItem[] {
  const start = model.getPositionAt(result.from);
  const range = {
    startLineNumber: start.lineNumber,
    startColumn: start.column,
    endLineNumber: position.lineNumber,
    endColumn: position.column,
  };
  // Keep the order completion gave (labels before functions, etc.).
  const width = String(result.suggestions.length).length;
  return result.suggestions.map((s, i) => ({
    label: s.label,
    kind: itemKind(monaco, s.kind),
    insertText: s.insertText,
    insertTextRules: s.snippet ? monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet : undefined,
    detail: s.detail,
    documentation: s.documentation ? { value: s.documentation } : undefined,
    sortText: String(i).padStart(width, '0'),
    range,
    // Re-open the list after a scope (`resource.`) or an operator so typing continues.
    command: s.kind === 'scope' || s.kind === 'label' ? { id: 'editor.action.triggerSuggest', title: '' } : undefined,
  }));
}

/**
 * Completion and hover for one editor's model; returns the disposables.
 * `data` is read on every request, so a changed cluster selection applies at once.
 */
export function registerProviders(
  monaco: Monaco,
  editor: monacoTypes.editor.IStandaloneCodeEditor,
  language: QueryLanguage,
  data: () => CompletionData
): monacoTypes.IDisposable[] {
  const id = LANGUAGE_IDS[language];
  const mine = (model: monacoTypes.editor.ITextModel) => model.id === editor.getModel()?.id;
  const completion = monaco.languages.registerCompletionItemProvider(id, {
    triggerCharacters: ['{', ',', '"', '=', '(', '|', ' ', '.', '['],
    provideCompletionItems: async (model, position) => {
      if (!mine(model)) {
        return { suggestions: [] };
      }
      const text = model.getValue();
      const result = await complete(language, text, model.getOffsetAt(position), data());
      return { suggestions: result ? toMonacoItems(monaco, model, position, result) : [], incomplete: false };
    },
  });
  const hover = monaco.languages.registerHoverProvider(id, {
    provideHover: (model, position) => {
      if (!mine(model)) {
        return null;
      }
      const word = model.getWordAtPosition(position);
      const doc = word ? hoverDoc(language, word.word) : undefined;
      if (!word || !doc) {
        return null;
      }
      return {
        range: new monaco.Range(position.lineNumber, word.startColumn, position.lineNumber, word.endColumn),
        contents: [{ value: `\`${doc.signature}\`` }, { value: doc.doc }],
      };
    },
  });
  return [completion, hover];
}

/** Mark the grammar's syntax errors on the model (red squiggles with a message). */
export function markSyntaxErrors(monaco: Monaco, model: monacoTypes.editor.ITextModel, language: QueryLanguage): number {
  const text = model.getValue();
  const markers = syntaxErrors(language, text).map((e) => {
    const start = model.getPositionAt(e.from);
    const end = model.getPositionAt(Math.min(e.to, text.length));
    const sameSpot = start.lineNumber === end.lineNumber && start.column === end.column;
    return {
      severity: monaco.MarkerSeverity.Error,
      message: e.message,
      startLineNumber: start.lineNumber,
      startColumn: sameSpot ? Math.max(1, start.column - 1) : start.column,
      endLineNumber: end.lineNumber,
      endColumn: sameSpot ? start.column : end.column,
    };
  });
  monaco.editor.setModelMarkers(model, 'fleetscope', markers);
  return markers.length;
}
