import fs from 'node:fs';
import path from 'node:path';

import { DEFAULT_QUERY, KINDS, KIND_LIST, freshQuery, kindOf, queryTypeOf } from './kinds';

describe('the kinds table', () => {
  it('lists the kinds the backend documents, in its order (docs/query-model.md: one `## `kind` — …` section each)', () => {
    const doc = fs.readFileSync(path.join(__dirname, '../../../docs/query-model.md'), 'utf8');
    const documented = Array.from(doc.matchAll(/^## `(\w+)` — /gm), (m) => m[1]);
    expect(KIND_LIST.map((k) => k.value)).toEqual(documented);
  });

  it('gives every kind an editor, defaults, a history line and a cheat sheet', () => {
    for (const k of KIND_LIST) {
      expect(typeof k.editor).toBe('function');
      expect(k.summary({ refId: 'A', queryType: k.value, ...k.defaults })).not.toBe('');
      expect(k.help.intro).not.toBe('');
    }
    // Only the kinds with an `expr` of labelled series take label filters.
    expect(KIND_LIST.filter((k) => k.labels).map((k) => [k.value, k.labels])).toEqual([
      ['metrics', 'metrics'],
      ['logs', 'logs'],
    ]);
  });

  it('reads a missing or unknown queryType as the default kind', () => {
    expect(queryTypeOf({})).toBe('metrics');
    expect(queryTypeOf({ queryType: 'profiles' as never })).toBe('metrics');
    expect(queryTypeOf({ queryType: 'toString' as never })).toBe('metrics');
    expect(kindOf({ queryType: 'gpu' })).toBe(KINDS.gpu);
    expect(DEFAULT_QUERY).toEqual({ queryType: 'metrics', expr: '', aggregate: 'merge' });
  });

  it('starts a fresh query of a kind, keeping only what every kind shares', () => {
    const from = { refId: 'B', queryType: 'metrics' as const, clusters: ['east'], expr: 'up', aggregate: 'sum' as const, hide: false };
    expect(freshQuery('gpu', from)).toEqual({ refId: 'B', clusters: ['east'], hide: false, queryType: 'gpu', view: 'nodes', source: 'auto' });
    expect(freshQuery('cnf', from, { cnfView: 'ptp' })).toEqual({ refId: 'B', clusters: ['east'], hide: false, queryType: 'cnf', cnfView: 'ptp' });
  });
});
