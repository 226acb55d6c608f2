import { css, cx } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';
import { KeyboardEvent, useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';

import { CompletionContext, completionContext, filterSuggestions } from './completion';
import { CodeLanguage, TokenClass, tokenize } from './languages';

/** Fetches the candidates for a completion context (label names, values, metric names). */
export type Completer = (ctx: CompletionContext) => Promise<string[]>;

export interface CodeFieldProps {
  language: CodeLanguage;
  value: string;
  onChange: (value: string) => void;
  /** Called on blur and on Shift+Enter, with the current text. */
  onRunQuery?: (value: string) => void;
  completer?: Completer;
  placeholder?: string;
  'aria-label'?: string;
  invalid?: boolean;
}

interface Popup {
  ctx: CompletionContext;
  items: string[];
  active: number;
}

/**
 * A query text field: a transparent textarea over the same text rendered with
 * the lezer grammar's highlighting, plus a suggestion list for label names and
 * values. Shift+Enter and blur run the query, as in Grafana's own editors.
 */
export function CodeField(props: CodeFieldProps) {
  const { language, value, onChange, onRunQuery, completer, placeholder, invalid } = props;
  const styles = useStyles2(getStyles);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const [popup, setPopup] = useState<Popup | null>(null);
  const request = useRef(0);
  // Where the caret goes once an accepted suggestion has come back as the new value.
  const pendingCaret = useRef<number | null>(null);
  const { tokens, hasError: syntaxError } = useMemo(() => tokenize(language, value), [language, value]);
  const hasError = syntaxError && value.trim() !== '';

  const suggest = useCallback(
    async (text: string, cursor: number) => {
      if (!completer) {
        return;
      }
      const ctx = completionContext(text, cursor, language === 'promql');
      const id = ++request.current;
      if (!ctx) {
        setPopup(null);
        return;
      }
      try {
        const candidates = await completer(ctx);
        if (id !== request.current) {
          return;
        }
        const items = filterSuggestions(candidates, ctx.prefix);
        setPopup(items.length > 0 ? { ctx, items, active: 0 } : null);
      } catch {
        if (id === request.current) {
          setPopup(null);
        }
      }
    },
    [completer, language]
  );

  const accept = (item: string) => {
    if (!popup) {
      return;
    }
    const el = textarea.current;
    const cursor = el?.selectionStart ?? value.length;
    let insert = item;
    if (popup.ctx.kind === 'label-value') {
      insert = item.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    }
    const next = value.slice(0, popup.ctx.from) + insert + value.slice(cursor);
    const caret = popup.ctx.from + insert.length;
    pendingCaret.current = caret;
    onChange(next);
    setPopup(null);
    request.current++;
  };

  useLayoutEffect(() => {
    const el = textarea.current;
    if (el && pendingCaret.current !== null) {
      el.selectionStart = el.selectionEnd = pendingCaret.current;
      pendingCaret.current = null;
      el.focus();
    }
  }, [value]);

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (popup) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const delta = e.key === 'ArrowDown' ? 1 : -1;
        setPopup({ ...popup, active: (popup.active + delta + popup.items.length) % popup.items.length });
        return;
      }
      if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
        e.preventDefault();
        accept(popup.items[popup.active]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setPopup(null);
        return;
      }
    }
    if (e.key === 'Enter' && e.shiftKey) {
      e.preventDefault();
      setPopup(null);
      onRunQuery?.(value);
    }
  };

  useEffect(() => () => void request.current++, []);

  const lines = Math.max(1, value.split('\n').length);
  const listId = `fs-code-suggest-${useId()}`;

  return (
    <div className={styles.wrapper}>
      <div className={cx(styles.field, (invalid || hasError) && styles.invalid)}>
        <pre className={styles.highlight} aria-hidden="true">
          {tokens.map((t, i) => (
            <span key={i} className={t.cls ? styles.tokens[t.cls] : undefined}>
              {value.slice(t.from, t.to)}
            </span>
          ))}
          {value === '' && placeholder ? <span className={styles.placeholder}>{placeholder}</span> : null}
          {'\n'}
        </pre>
        <textarea
          ref={textarea}
          className={styles.input}
          value={value}
          rows={lines}
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          aria-label={props['aria-label']}
          aria-autocomplete={completer ? 'list' : undefined}
          aria-controls={popup ? listId : undefined}
          aria-invalid={invalid || hasError}
          onChange={(e) => {
            onChange(e.target.value);
            void suggest(e.target.value, e.target.selectionStart);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => {
            setPopup(null);
            onRunQuery?.(value);
          }}
        />
      </div>
      {popup && (
        <ul className={styles.popup} role="listbox" id={listId} aria-label="Suggestions">
          {popup.items.map((item, i) => (
            <li
              key={item}
              role="option"
              aria-selected={i === popup.active}
              className={cx(styles.option, i === popup.active && styles.optionActive)}
              // mousedown, not click: keep focus in the textarea so blur does not run the query.
              onMouseDown={(e) => {
                e.preventDefault();
                accept(item);
              }}
            >
              {item}
              <span className={styles.optionKind}>{popup.ctx.kind.replace('-', ' ')}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => {
  const text = css({
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    lineHeight: '20px',
    padding: theme.spacing(0.75, 1),
    margin: 0,
    border: 0,
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-all',
    overflowWrap: 'anywhere',
    letterSpacing: 'normal',
  });
  const syntax = theme.isDark
    ? { keyword: '#c792ea', function: '#82aaff', label: '#ffcb6b', string: '#c3e88d', number: '#f78c6c', operator: '#89ddff', comment: theme.colors.text.disabled, variable: theme.colors.text.primary }
    : { keyword: '#7c3aed', function: '#1d4ed8', label: '#a15c07', string: '#15803d', number: '#c2410c', operator: '#0e7490', comment: theme.colors.text.disabled, variable: theme.colors.text.primary };
  const tokens: Record<TokenClass, string> = {
    keyword: css({ color: syntax.keyword }),
    function: css({ color: syntax.function }),
    label: css({ color: syntax.label }),
    string: css({ color: syntax.string }),
    number: css({ color: syntax.number }),
    operator: css({ color: syntax.operator }),
    comment: css({ color: syntax.comment, fontStyle: 'italic' }),
    variable: css({ color: syntax.variable }),
    error: css({ textDecoration: `wavy underline ${theme.colors.error.text}` }),
  };
  return {
    wrapper: css({ position: 'relative', flexGrow: 1, minWidth: 300 }),
    field: css({
      position: 'relative',
      background: theme.components.input.background,
      border: `1px solid ${theme.components.input.borderColor}`,
      borderRadius: theme.shape.radius.default,
      '&:focus-within': {
        outline: `2px solid ${theme.colors.primary.main}`,
        outlineOffset: 1,
      },
    }),
    invalid: css({ borderColor: theme.colors.error.border }),
    highlight: cx(text, css({ color: theme.colors.text.primary, pointerEvents: 'none', minHeight: 32 })),
    input: cx(
      text,
      css({
        position: 'absolute',
        inset: 0,
        width: '100%',
        height: '100%',
        resize: 'none',
        overflow: 'hidden',
        background: 'transparent',
        color: 'transparent',
        caretColor: theme.colors.text.primary,
        outline: 'none',
      })
    ),
    placeholder: css({ color: theme.colors.text.disabled }),
    tokens,
    popup: css({
      position: 'absolute',
      zIndex: theme.zIndex.dropdown,
      left: 0,
      top: '100%',
      marginTop: 2,
      minWidth: 240,
      maxHeight: 260,
      overflowY: 'auto',
      listStyle: 'none',
      padding: theme.spacing(0.5, 0),
      background: theme.colors.background.elevated,
      border: `1px solid ${theme.colors.border.weak}`,
      borderRadius: theme.shape.radius.default,
      boxShadow: theme.shadows.z3,
    }),
    option: css({
      display: 'flex',
      justifyContent: 'space-between',
      gap: theme.spacing(2),
      padding: theme.spacing(0.5, 1),
      fontFamily: theme.typography.fontFamilyMonospace,
      fontSize: theme.typography.bodySmall.fontSize,
      cursor: 'pointer',
      '&:hover': { background: theme.colors.action.hover },
    }),
    optionActive: css({ background: theme.colors.action.selected }),
    optionKind: css({ color: theme.colors.text.secondary, fontFamily: theme.typography.fontFamily }),
  };
};
