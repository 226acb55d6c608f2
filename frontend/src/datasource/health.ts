/** One line per cluster from CheckHealth's `details.clusters` (an array or an object keyed by id). */
export function formatClusterHealth(details: Record<string, unknown> | undefined): string | undefined {
  const clusters = details?.clusters;
  if (!clusters || typeof clusters !== 'object') {
    return undefined;
  }
  const entries: Array<[string, Record<string, unknown>]> = Array.isArray(clusters)
    ? clusters.map((c, i) => [String(c?.cluster_id ?? c?.id ?? i), c as Record<string, unknown>])
    : Object.entries(clusters as Record<string, Record<string, unknown>>);
  if (entries.length === 0) {
    return undefined;
  }
  return entries
    .map(([id, c]) => {
      const name = String(c?.cluster_name ?? c?.name ?? id);
      const status = String(c?.status ?? (c?.ok === false ? 'ERROR' : 'OK'));
      const problem = [c?.error_code, c?.error ?? c?.message].filter(Boolean).join(': ');
      const backends =
        c?.backends && typeof c.backends === 'object' && !Array.isArray(c.backends)
          ? ' [' +
            Object.entries(c.backends as Record<string, unknown>)
              .map(([b, v]) => `${b}: ${typeof v === 'object' && v ? (v as Record<string, unknown>).status ?? 'ok' : v}`)
              .join(', ') +
            ']'
          : '';
      return `${name} (${id}): ${status}${problem ? ` — ${problem}` : ''}${backends}`;
    })
    .join('\n');
}
