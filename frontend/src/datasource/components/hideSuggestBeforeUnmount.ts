import type { monacoTypes } from '@grafana/ui';
import { useCallback, useRef } from 'react';

/**
 * For a `CodeEditor` with completion: a ref to set to the editor once mounted,
 * and the `onEditorWillUnmount` that closes the suggest widget while the
 * editor still stands. Monaco disposes an editor's view before the suggest
 * widget's details pane, so unmounting a field whose completion docs are open
 * (Ctrl+Space's pane, then a click on another query kind or store mode)
 * throws "Cannot read properties of null (reading 'removeChild')" in Monaco's
 * dispose, and React unmounts everything around the editor. `CodeEditor`
 * calls `onEditorWillUnmount` from its componentWillUnmount, before the Monaco
 * editor inside it is disposed.
 */
export function useHideSuggestBeforeUnmount() {
  const editorRef = useRef<monacoTypes.editor.IStandaloneCodeEditor | undefined>(undefined);
  const onEditorWillUnmount = useCallback(() => editorRef.current?.trigger('fleetscope', 'hideSuggestWidget', {}), []);
  return { editorRef, onEditorWillUnmount };
}
