import { CompletionData, LabelSource } from './language/completion';
import { parsedLabelsOf } from './language/parsedLabels';
import { HintRange, ResourceClient } from './resources';

/** How long an answer is reused while typing. */
const TTL_MS = 60_000;

/**
 * `CompletionData` from the federated resource API, scoped to the editor's
 * clusters and cluster selector (both already interpolated) and time range
 * (`setScope`, after each render of the editor). The selector is resolved to
 * cluster ids (the resource API takes ids only): a selector matching no
 * cluster asks nobody and completes nothing, one the backend rejects completes
 * nothing. Answers are cached per request, cluster set and selector for a
 * minute, so typing does not refetch on every key.
 */
export class ResourceCompletionData implements CompletionData {
  private readonly cache = new Map<string, { at: number; value: Promise<unknown> }>();
  private scopeClusters: string[] = [];
  private scopeSelector = '';
  private scopeRange?: HintRange;

  constructor(
    private readonly resources: ResourceClient,
    private readonly now: () => number = Date.now
  ) {}

  setScope(clusters: string[], range?: HintRange, selector = '') {
    this.scopeClusters = clusters;
    this.scopeRange = range;
    this.scopeSelector = selector.trim();
  }

  private range(): HintRange | undefined {
    return this.scopeRange;
  }

  /**
   * `load`'s answer for the current scope: `load` gets the cluster ids to ask
   * (`undefined` = all); with none to ask it is not called and the answer is empty.
   */
  private cached<T>(key: string, load: (clusters: string[] | undefined) => Promise<T[]>): Promise<T[]> {
    const clusters = this.scopeClusters;
    const selector = this.scopeSelector;
    const k = `${clusters.join(',')}|${selector}|${key}`;
    const hit = this.cache.get(k);
    if (hit && this.now() - hit.at < TTL_MS) {
      return hit.value as Promise<T[]>;
    }
    const value = this.resources.hintScope(clusters, selector).then((ids) => (ids && ids.length === 0 ? [] : load(ids)));
    this.cache.set(k, { at: this.now(), value });
    // A failed load is not cached.
    value.catch(() => this.cache.delete(k));
    return value;
  }

  metricNames(): Promise<string[]> {
    return this.cached('metric-names', (ids) => this.resources.labelValues('__name__', ids, undefined, 'metrics'));
  }

  labelNames(source: LabelSource, metric?: string): Promise<string[]> {
    return this.cached(`names|${source}|${metric ?? ''}`, (ids) => this.resources.labelNames(ids, metric, source));
  }

  labelValues(source: LabelSource, label: string, metric?: string): Promise<string[]> {
    return this.cached(`values|${source}|${label}|${metric ?? ''}`, (ids) => this.resources.labelValues(label, ids, metric, source));
  }

  parsedLabels(selector: string, parser?: string): Promise<string[]> {
    return this.cached(`parsed|${selector}|${parser ?? ''}`, async (ids) => {
      const sample = await this.resources.logSample(selector, ids, 50, this.range());
      const fromLines = parsedLabelsOf(
        sample.map((s) => s.line),
        parser
      );
      return fromLines;
    });
  }

  traceAttributes(scope?: string): Promise<string[]> {
    return this.cached(`trace-attrs|${scope ?? ''}`, (ids) => this.resources.traceAttributes(ids, scope, this.range()));
  }

  traceValues(tag: string): Promise<Array<{ value: string; quoted: boolean }>> {
    return this.cached(`trace-values|${tag}`, (ids) => this.resources.traceTagValues(tag, ids, this.range()));
  }
}
