import { getTemplateSrv } from '@grafana/runtime';
import { useEffect, useState } from 'react';

import { ClusterInfo } from '../../types';
import type { FleetscopeDataSource } from '../datasource';
import { interpolateClusters, interpolateSelector } from '../interpolate';

// One request per datasource instance, shared by every editor on the page.
const cache = new WeakMap<FleetscopeDataSource, Promise<ClusterInfo[]>>();

export function loadClusters(ds: FleetscopeDataSource): Promise<ClusterInfo[]> {
  let p = cache.get(ds);
  if (!p) {
    p = ds.resources.clusters();
    p.then((list) => (ds.knownClusters = list.filter((c) => c.enabled !== false).map((c) => c.id))).catch(() => undefined);
    // A failed load is retried by the next editor that mounts.
    p.catch(() => cache.delete(ds));
    cache.set(ds, p);
  }
  return p;
}

export interface ClustersState {
  clusters: ClusterInfo[];
  loading: boolean;
  error?: string;
}

export function useClusters(ds: FleetscopeDataSource): ClustersState {
  const [state, setState] = useState<ClustersState>({ clusters: [], loading: true });
  useEffect(() => {
    let live = true;
    loadClusters(ds).then(
      (clusters) => live && setState({ clusters, loading: false }),
      (err) => live && setState({ clusters: [], loading: false, error: errorMessage(err) })
    );
    return () => {
      live = false;
    };
  }, [ds]);
  return state;
}

/** The cluster ids an editor's hints (label names, values) should come from. */
export function hintClusters(clusters: string[] | undefined): string[] {
  try {
    return interpolateClusters(clusters, getTemplateSrv());
  } catch {
    return (clusters ?? []).filter((c) => !c.startsWith('$'));
  }
}

/** A query's cluster selector with dashboard variables replaced, as hints resolve it ('' = none). */
export function hintSelector(selector: string | undefined): string {
  const text = selector?.trim() ?? '';
  if (!text) {
    return '';
  }
  try {
    return interpolateSelector(text, getTemplateSrv()).trim();
  } catch {
    return text;
  }
}

/** Dashboard variables, offered as `$name` wherever a value may be templated. */
export function variableOptions(): string[] {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => `$${v.name}`);
  } catch {
    return [];
  }
}

/** The readable part of a backend or fetch error. */
export function errorMessage(err: unknown): string {
  if (!err) {
    return 'unknown error';
  }
  if (typeof err === 'string') {
    return err;
  }
  const e = err as {
    data?: { message?: string; error?: string | { code?: string; message?: string } };
    message?: string;
    statusText?: string;
    status?: number;
  };
  // The resource API answers `{"error": {"code", "message"}}`; Grafana's own errors `{"message"}`.
  const inner = typeof e.data?.error === 'object' ? e.data.error?.message : e.data?.error;
  return e.data?.message || inner || e.message || e.statusText || (e.status ? `HTTP ${e.status}` : String(err));
}
