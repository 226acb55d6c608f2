import {
  AnnotationEvent,
  AnnotationQuery,
  AnnotationSupport,
  DataFrame,
  Field,
  FieldType,
  getFieldDisplayName,
} from '@grafana/data';
import { Observable, of } from 'rxjs';

import { FleetscopeQuery } from '../types';

const SEVERITY_COLORS: Record<string, string> = {
  CRITICAL: 'red',
  ERROR: 'red',
  WARNING: 'orange',
  INFO: 'blue',
};

function findField(frame: DataFrame, ...names: string[]): Field | undefined {
  const wanted = names.map((n) => n.toLowerCase());
  for (const name of wanted) {
    const f = frame.fields.find((field) => field.name.toLowerCase() === name);
    if (f) {
      return f;
    }
  }
  return undefined;
}

function toMillis(v: unknown): number | undefined {
  if (v === null || v === undefined || v === '') {
    return undefined;
  }
  if (typeof v === 'number') {
    // Seconds (seed shapes) vs milliseconds: anything before 2001 in ms is seconds.
    return v < 1e12 ? v * 1000 : v;
  }
  if (v instanceof Date) {
    return v.valueOf();
  }
  const parsed = Date.parse(String(v));
  // Alertmanager uses 0001-01-01T00:00:00Z for "not ended".
  return Number.isFinite(parsed) && parsed > 0 ? parsed : undefined;
}

/** Alert rows (the `alerts` query's table) → one annotation per alert, a region while it fired. */
function alertEvents(frame: DataFrame): AnnotationEvent[] {
  const start = findField(frame, 'starts_at', 'startsAt', 'time');
  const title = findField(frame, 'alertname', 'title');
  if (!start || !title) {
    return [];
  }
  const end = findField(frame, 'ends_at', 'endsAt', 'timeEnd');
  const severity = findField(frame, 'severity');
  const state = findField(frame, 'state');
  const cluster = findField(frame, 'cluster_name', 'cluster');
  const summary = findField(frame, 'summary', 'description', 'text');
  const events: AnnotationEvent[] = [];
  for (let i = 0; i < frame.length; i++) {
    const time = toMillis(start.values[i]);
    if (time === undefined) {
      continue;
    }
    const timeEnd = toMillis(end?.values[i]);
    const sev = String(severity?.values[i] ?? '').toUpperCase();
    const tags = [sev, state?.values[i], cluster?.values[i]].filter((t): t is string => !!t).map(String);
    events.push({
      time,
      timeEnd: timeEnd && timeEnd > time ? timeEnd : undefined,
      isRegion: !!timeEnd && timeEnd > time,
      title: String(title.values[i]),
      text: summary ? String(summary.values[i] ?? '') : '',
      tags,
      color: SEVERITY_COLORS[sev],
    });
  }
  return events;
}

/**
 * A time series → regions where it is non-zero, as Grafana's Prometheus
 * datasource does for PromQL annotations (`ALERTS{alertstate="firing"}`, `x > 0`).
 */
function seriesEvents(frame: DataFrame, titleFormat?: string): AnnotationEvent[] {
  const time = frame.fields.find((f) => f.type === FieldType.time);
  const value = frame.fields.find((f) => f.type === FieldType.number);
  if (!time || !value) {
    return [];
  }
  const labels = value.labels ?? {};
  const title = titleFormat
    ? titleFormat.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_, k) => labels[k] ?? '')
    : getFieldDisplayName(value, frame);
  const step = value.config.interval ?? 60_000;
  const tags = Object.entries(labels)
    .filter(([k]) => k === 'cluster' || k === 'severity' || k === 'alertname')
    .map(([, v]) => v);
  const events: AnnotationEvent[] = [];
  let regionStart: number | undefined;
  let last: number | undefined;
  const flush = () => {
    if (regionStart !== undefined && last !== undefined) {
      events.push({ time: regionStart, timeEnd: last, isRegion: last > regionStart, title, text: '', tags });
    }
    regionStart = undefined;
  };
  for (let i = 0; i < frame.length; i++) {
    const t = time.values[i] as number;
    const v = value.values[i] as number | null;
    const active = v !== null && v !== undefined && !Number.isNaN(v) && v !== 0;
    if (active && regionStart !== undefined && last !== undefined && t - last > step) {
      flush();
    }
    if (active) {
      regionStart = regionStart ?? t;
      last = t;
    } else {
      flush();
    }
  }
  flush();
  return events;
}

export function framesToAnnotations(frames: DataFrame[], titleFormat?: string): AnnotationEvent[] {
  return frames.flatMap((frame) => {
    const events = alertEvents(frame);
    return events.length > 0 ? events : seriesEvents(frame, titleFormat);
  });
}

type FleetscopeAnnotation = AnnotationQuery<FleetscopeQuery> & { titleFormat?: string };

/** Annotations from alerts (default: alert history) or from any PromQL query. */
export const annotationSupport: AnnotationSupport<FleetscopeQuery, FleetscopeAnnotation> = {
  getDefaultQuery: () => ({ queryType: 'alerts', history: true, clusters: [] }),
  prepareQuery: (anno) => (anno.target ? { ...anno.target, refId: anno.target.refId || 'Anno' } : undefined),
  processEvents: (anno, frames): Observable<AnnotationEvent[] | undefined> =>
    of(framesToAnnotations(frames, anno.target?.legendFormat || anno.titleFormat)),
};
