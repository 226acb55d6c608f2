import { css } from '@emotion/css';
import { GrafanaTheme2, QueryEditorHelpProps } from '@grafana/data';
import { Stack, Text, useStyles2 } from '@grafana/ui';

import { FleetscopeQuery } from '../../types';
import { KINDS, exampleText, freshQuery, queryTypeOf } from '../kinds';

/** Explore's query help ("?" button): the cheat sheet of the query's kind, examples clickable. */
export function QueryHelp({ query, onClickExample }: QueryEditorHelpProps<FleetscopeQuery>) {
  const styles = useStyles2(getStyles);
  const kind = queryTypeOf(query ?? {});
  const sheet = KINDS[kind].help;
  return (
    <div data-testid="fleetscope-query-help">
      <Stack direction="column" gap={1}>
        <Text element="h4">Fleetscope {kind} cheat sheet</Text>
        <Text color="secondary">{sheet.intro}</Text>
        {sheet.examples.map((ex) => (
          <div key={ex.title}>
            <Text weight="medium">{ex.title}</Text>
            <button
              type="button"
              className={styles.example}
              onClick={() => onClickExample(freshQuery(kind, query ?? { refId: 'A' }, ex.query))}
            >
              {exampleText(kind, ex)}
            </button>
          </div>
        ))}
        <Text color="secondary" variant="bodySmall">
          Every kind asks the clusters picked in the editor (none = all enabled). Template variables work in every field;
          Shift+Enter runs the query.
        </Text>
      </Stack>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  example: css({
    display: 'block',
    width: '100%',
    textAlign: 'left',
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    background: theme.colors.background.secondary,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    padding: theme.spacing(0.5, 1),
    marginTop: theme.spacing(0.5),
    color: theme.colors.text.primary,
    cursor: 'pointer',
    '&:hover': { borderColor: theme.colors.border.medium },
  }),
});
