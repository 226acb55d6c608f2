/**
 * jest has no Monaco (Grafana provides it at run time). `FakeCodeEditor`
 * stands in for @grafana/ui's CodeEditor: a textarea with the same props, that
 * hands `onEditorDidMount` a small editor/monaco pair recording what the field
 * registers (languages, completion and hover providers, markers, actions), so
 * tests can drive completion through the real providers.
 */
import type { CodeEditor } from '@grafana/ui';
import { ComponentProps, KeyboardEvent, useEffect, useLayoutEffect, useRef, useState } from 'react';

type CodeEditorProps = ComponentProps<typeof CodeEditor>;

export interface Marker {
  message: string;
  startColumn: number;
  endColumn: number;
}

type Provider = {
  provideCompletionItems?: (model: FakeModel, position: Position) => Promise<{ suggestions: Array<{ label: string; insertText: string; detail?: string; documentation?: { value: string } }> }>;
  provideHover?: (model: FakeModel, position: Position) => { contents: Array<{ value: string }> } | null;
};

class Position {
  constructor(
    public lineNumber: number,
    public column: number
  ) {}
}

export class FakeModel {
  static next = 1;
  id = `model-${FakeModel.next++}`;
  constructor(public value: string) {}
  setValue(v: string) {
    this.value = v;
  }
  getValue() {
    return this.value;
  }
  getOffsetAt(p: Position) {
    const lines = this.value.split('\n');
    return lines.slice(0, p.lineNumber - 1).reduce((n, l) => n + l.length + 1, 0) + p.column - 1;
  }
  getPositionAt(offset: number) {
    const before = this.value.slice(0, offset).split('\n');
    return new Position(before.length, before[before.length - 1].length + 1);
  }
  getWordAtPosition(p: Position) {
    const offset = this.getOffsetAt(p);
    const left = /[\w]*$/.exec(this.value.slice(0, offset))![0];
    const right = /^[\w]*/.exec(this.value.slice(offset))![0];
    const word = left + right;
    return word ? { word, startColumn: p.column - left.length, endColumn: p.column + right.length } : null;
  }
}

/** Everything the fake Monaco instance saw, shared by all fake editors. */
export const fakeMonacoState = {
  languages: new Set<string>(),
  completion: new Map<string, Provider[]>(),
  hover: new Map<string, Provider[]>(),
  markers: new Map<string, Marker[]>(),
  models: new Map<string, FakeModel>(),
  /** Editor commands triggered (`editor.trigger`), with the model of the editor. */
  triggers: [] as Array<{ model: string; handler: string }>,
};

const disposable = (fn: () => void = () => {}) => ({ dispose: fn });

function addProvider(map: Map<string, Provider[]>, id: string, p: Provider) {
  map.set(id, [...(map.get(id) ?? []), p]);
  return disposable(() => map.set(id, (map.get(id) ?? []).filter((x) => x !== p)));
}

export const fakeMonaco = {
  KeyMod: { Shift: 1024 },
  KeyCode: { Enter: 3 },
  MarkerSeverity: { Error: 8 },
  Range: class {
    constructor(...args: number[]) {
      Object.assign(this, { args });
    }
  },
  languages: {
    CompletionItemKind: new Proxy({}, { get: (_t, k) => String(k) }),
    CompletionItemInsertTextRule: { InsertAsSnippet: 4 },
    getLanguages: () => Array.from(fakeMonacoState.languages).map((id) => ({ id })),
    register: ({ id }: { id: string }) => void fakeMonacoState.languages.add(id),
    setMonarchTokensProvider: () => disposable(),
    setLanguageConfiguration: () => disposable(),
    registerCompletionItemProvider: (id: string, p: Provider) => addProvider(fakeMonacoState.completion, id, p),
    registerHoverProvider: (id: string, p: Provider) => addProvider(fakeMonacoState.hover, id, p),
  },
  editor: {
    setModelMarkers: (model: FakeModel, _owner: string, markers: Marker[]) => void fakeMonacoState.markers.set(model.id, markers),
    setModelLanguage: () => {},
  },
};

/** Ask every registered completion provider of `language` at the end of the model's text. */
export async function completeAt(languageId: string, model: FakeModel, offset = model.value.length) {
  const position = model.getPositionAt(offset);
  const results = await Promise.all((fakeMonacoState.completion.get(languageId) ?? []).map((p) => p.provideCompletionItems!(model, position)));
  return results.flatMap((r) => r.suggestions);
}

export function FakeCodeEditor(props: CodeEditorProps) {
  const [model] = useState(() => new FakeModel(props.value));
  const actions = useRef<Array<{ keybindings?: number[]; run: () => void }>>([]);
  const changeListeners = useRef<Array<() => void>>([]);
  useLayoutEffect(() => {
    model.setValue(props.value);
  });

  useEffect(() => {
    const m = model;
    fakeMonacoState.models.set(m.id, m);
    const editor = {
      getModel: () => m,
      getValue: () => m.value,
      addAction: (a: { keybindings?: number[]; run: () => void }) => {
        actions.current.push(a);
        return disposable();
      },
      onDidChangeModelContent: (fn: () => void) => {
        changeListeners.current.push(fn);
        return disposable();
      },
      onDidContentSizeChange: () => disposable(),
      trigger: (_source: string, handler: string) => void fakeMonacoState.triggers.push({ model: m.id, handler }),
    };
    props.onBeforeEditorMount?.(fakeMonaco as never);
    props.onEditorDidMount?.(editor as never, fakeMonaco as never);
    return () => {
      fakeMonacoState.models.delete(m.id);
      props.onEditorWillUnmount?.();
    };
    // Mount once, like Monaco.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && e.shiftKey) {
      e.preventDefault();
      actions.current.filter((a) => a.keybindings?.includes(fakeMonaco.KeyMod.Shift | fakeMonaco.KeyCode.Enter)).forEach((a) => a.run());
    }
  };

  return (
    <textarea
      data-model-id={model.id}
      aria-label={props.monacoOptions?.ariaLabel as string | undefined}
      value={props.value}
      onKeyDown={onKeyDown}
      onChange={(e) => {
        model.setValue(e.currentTarget.value);
        props.onChange?.(e.currentTarget.value);
        changeListeners.current.forEach((fn) => fn());
      }}
      onBlur={(e) => props.onBlur?.(e.currentTarget.value)}
    />
  );
}
