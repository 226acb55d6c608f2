import { CompletionData, LabelSource } from './language/completion';
import { parsedLabelsOf } from './language/parsedLabels';
import { HintRange, ResourceClient } from './resources';

/** How long an answer is reused while typing. */
const TTL_MS = 60_000;

/**
 * `CompletionData` from the federated resource API, scoped to the editor's
 * clusters (already interpolated) and time range (`setScope`, after each
 * render of the editor). Answers are cached per request and cluster set for a
 * minute, so typing does not refetch on every key.
 */
export class ResourceCompletionData implements CompletionData {
  private readonly cache = new Map<string, { at: number; value: Promise<unknown> }>();
  private scopeClusters: string[] = [];
  private scopeRange?: HintRange;

  constructor(
    private readonly resources: ResourceClient,
    private readonly now: () => number = Date.now
  ) {}

  setScope(clusters: string[], range?: HintRange) {
    this.scopeClusters = clusters;
    this.scopeRange = range;
  }

  private clusters(): string[] {
    return this.scopeClusters;
  }

  private range(): HintRange | undefined {
    return this.scopeRange;
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const k = `${this.clusters().join(',')}|${key}`;
    const hit = this.cache.get(k);
    if (hit && this.now() - hit.at < TTL_MS) {
      return hit.value as Promise<T>;
    }
    const value = load();
    this.cache.set(k, { at: this.now(), value });
    // A failed load is not cached.
    value.catch(() => this.cache.delete(k));
    return value;
  }

  metricNames(): Promise<string[]> {
    return this.cached('metric-names', () => this.resources.labelValues('__name__', this.clusters(), undefined, 'metrics'));
  }

  labelNames(source: LabelSource, metric?: string): Promise<string[]> {
    return this.cached(`names|${source}|${metric ?? ''}`, () => this.resources.labelNames(this.clusters(), metric, source));
  }

  labelValues(source: LabelSource, label: string, metric?: string): Promise<string[]> {
    return this.cached(`values|${source}|${label}|${metric ?? ''}`, () => this.resources.labelValues(label, this.clusters(), metric, source));
  }

  parsedLabels(selector: string, parser?: string): Promise<string[]> {
    return this.cached(`parsed|${selector}|${parser ?? ''}`, async () => {
      const sample = await this.resources.logSample(selector, this.clusters(), 50, this.range());
      const fromLines = parsedLabelsOf(
        sample.map((s) => s.line),
        parser
      );
      return fromLines;
    });
  }

  traceAttributes(scope?: string): Promise<string[]> {
    return this.cached(`trace-attrs|${scope ?? ''}`, () => this.resources.traceAttributes(this.clusters(), scope, this.range()));
  }

  traceValues(tag: string): Promise<Array<{ value: string; quoted: boolean }>> {
    return this.cached(`trace-values|${tag}`, () => this.resources.traceTagValues(tag, this.clusters(), this.range()));
  }
}
