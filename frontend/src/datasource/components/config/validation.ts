import { ClusterConfig } from '../../../types';

export const CLUSTER_ID = /^[a-z0-9][a-z0-9._-]*$/;

export function clusterIdError(id: string, all: ClusterConfig[], index: number): string | undefined {
  if (!id) {
    return 'An id is required';
  }
  if (!CLUSTER_ID.test(id)) {
    return 'Lower-case letters, digits, ".", "_" and "-", starting with a letter or digit';
  }
  if (all.some((c, i) => i !== index && c.id === id)) {
    return `Another cluster already has the id "${id}"`;
  }
  return undefined;
}

export function urlError(url: string | undefined): string | undefined {
  if (!url) {
    return undefined;
  }
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'Use an http:// or https:// URL';
  } catch {
    return 'Not a URL';
  }
}

export function regexError(pattern: string): string | undefined {
  if (!pattern) {
    return 'A regex is required';
  }
  try {
    new RegExp(pattern);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** `region=us-east-1, tier=gpu` ⇄ `{region: 'us-east-1', tier: 'gpu'}`. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [k, ...rest] = part.split('=');
    if (k.trim()) {
      out[k.trim()] = rest.join('=').trim();
    }
  }
  return out;
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
