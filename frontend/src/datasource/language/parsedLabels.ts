/**
 * The labels a LogQL parser stage would extract from sample lines, computed
 * here from the lines the backend returns: `| json` flattens nested objects
 * joining keys with `_`, `| logfmt` takes every `key=value`; both sanitise
 * names as Loki does (anything outside [a-zA-Z0-9_] becomes `_`). With no
 * parser given, each line is tried as JSON, then logfmt.
 */
const sanitise = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(\d)/, '_$1');

function jsonKeys(line: string, out: Set<string>): boolean {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return false;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    return false;
  }
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, val] of Object.entries(obj)) {
      const name = prefix ? `${prefix}_${sanitise(k)}` : sanitise(k);
      if (val && typeof val === 'object' && !Array.isArray(val)) {
        walk(val as Record<string, unknown>, name);
      } else {
        out.add(name);
      }
    }
  };
  walk(v as Record<string, unknown>, '');
  return true;
}

function logfmtKeys(line: string, out: Set<string>): boolean {
  const re = /(?:^|\s)([^\s="]+)=(?:"(?:[^"\\]|\\.)*"|\S*)/g;
  let found = false;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) {
    out.add(sanitise(m[1]));
    found = true;
  }
  return found;
}

export function parsedLabelsOf(lines: string[], parser?: string): string[] {
  const out = new Set<string>();
  for (const line of lines) {
    if (parser === 'json') {
      jsonKeys(line, out);
    } else if (parser === 'logfmt') {
      logfmtKeys(line, out);
    } else if (!jsonKeys(line, out)) {
      logfmtKeys(line, out);
    }
  }
  return Array.from(out).sort((a, b) => a.localeCompare(b));
}
