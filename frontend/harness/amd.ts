/**
 * Load a built plugin `module.js` (AMD, as Grafana loads it) with the shared
 * packages Grafana would provide: a one-module `define` that resolves each
 * dependency name from `provided`.
 */
export function loadAmdModule<T>(url: string, provided: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const define = (deps: string[], factory: (...mods: unknown[]) => T) => {
      try {
        const missing = deps.filter((d) => !(d in provided));
        if (missing.length) {
          throw new Error(`${url} needs ${missing.join(', ')}, which the harness does not provide`);
        }
        resolve(factory(...deps.map((d) => provided[d])));
      } catch (e) {
        reject(e);
      }
    };
    define.amd = {};
    Object.assign(window, { define });
    const script = document.createElement('script');
    script.src = url;
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.appendChild(script);
  });
}
