/**
 * Explore's logs volume, shaped as Grafana's Loki datasource gets it from
 * Explore (`queryLogsVolume`): bars stacked by level, coloured per level, with
 * the `meta.custom` Explore's histogram reads. What differs: Explore draws one
 * histogram per `meta.custom.datasourceName`, and sums same-level frames inside
 * one. A volume asked per cluster therefore names each cluster's frames
 * `<datasource> · <cluster>`, so Explore draws one level-stacked histogram per
 * cluster on a shared scale; Grafana's own helper would overwrite that name
 * with the datasource's, which is why the datasource gives Explore this
 * provider (`getDataProvider`) rather than only the request.
 */
import {
  DataFrame,
  DataQueryRequest,
  DataQueryResponse,
  FieldColorModeId,
  FieldType,
  Labels,
  LoadingState,
  LogLevel,
  LogsVolumeCustomMetaData,
  LogsVolumeType,
  NumericLogLevel,
} from '@grafana/data';
import { BarAlignment, DrawStyle, StackingMode, colors } from '@grafana/ui';
import { Observable } from 'rxjs';

import { FleetscopeQuery } from '../types';

/** refId prefix of the volume query Explore runs beside a logs query (Loki's). */
export const LOGS_VOLUME_REF_PREFIX = 'log-volume-';

/** Grafana's colours per level (the same as its Loki volume). */
const LEVEL_COLORS: Record<LogLevel, string> = {
  [LogLevel.critical]: colors[7],
  [LogLevel.warning]: colors[1],
  [LogLevel.error]: colors[4],
  [LogLevel.info]: colors[0],
  [LogLevel.debug]: colors[5],
  [LogLevel.trace]: colors[2],
  [LogLevel.unknown]: '#8e8e8e',
} as Record<LogLevel, string>;

/** The level a volume series counts, from the labels Loki and Grafana use for it. */
export function levelOf(labels: Labels | undefined): LogLevel {
  const raw = labels?.level ?? labels?.detected_level ?? labels?.lvl ?? labels?.loglevel ?? '';
  const key = raw.trim().toLowerCase();
  return (LogLevel as Record<string, LogLevel>)[key] ?? NumericLogLevel[key] ?? LogLevel.unknown;
}

function levelFieldConfig(level: LogLevel, onlyLevel: boolean) {
  const color = LEVEL_COLORS[level] ?? LEVEL_COLORS[LogLevel.unknown];
  return {
    displayNameFromDS: onlyLevel && level === LogLevel.unknown ? 'logs' : level,
    color: { mode: FieldColorModeId.Fixed, fixedColor: color },
    custom: {
      drawStyle: DrawStyle.Bars,
      barAlignment: BarAlignment.Center,
      lineColor: color,
      pointColor: color,
      fillColor: color,
      lineWidth: 1,
      fillOpacity: 100,
      stacking: { mode: StackingMode.Normal, group: 'A' },
    },
  };
}

/** The cluster a per-cluster volume frame counts (the backend labels every series). */
function clusterOf(frame: DataFrame): string | undefined {
  const labels = frame.fields.find((f) => f.type === FieldType.number)?.labels;
  return labels?.cluster ?? labels?.cluster_id;
}

/**
 * The volume frames as Explore draws them: each numeric field named and
 * coloured by its level, `meta.custom` saying the full range, the source query
 * and the histogram it belongs to (`datasourceName`, per cluster when the
 * volume query keeps clusters apart).
 */
export function shapeLogsVolume(
  frames: DataFrame[],
  opts: { datasourceName: string; volumeQueries: FleetscopeQuery[]; sourceQueries: FleetscopeQuery[]; range: DataQueryRequest['range'] }
): DataFrame[] {
  const perCluster = new Set(opts.volumeQueries.filter((q) => q.volumeByCluster).map((q) => q.refId));
  const histogramOf = (f: DataFrame) => {
    const cluster = f.refId && perCluster.has(f.refId) ? clusterOf(f) : undefined;
    return cluster ? `${opts.datasourceName} · ${cluster}` : opts.datasourceName;
  };
  const framesPerHistogram = new Map<string, number>();
  for (const f of frames) {
    const key = `${f.refId}\u0000${histogramOf(f)}`;
    framesPerHistogram.set(key, (framesPerHistogram.get(key) ?? 0) + 1);
  }
  return frames.map((frame) => {
    const datasourceName = histogramOf(frame);
    const sourceRefId = (frame.refId ?? '').replace(LOGS_VOLUME_REF_PREFIX, '');
    const custom: LogsVolumeCustomMetaData = {
      logsVolumeType: LogsVolumeType.FullRange,
      absoluteRange: { from: opts.range.from.valueOf(), to: opts.range.to.valueOf() },
      datasourceName,
      sourceQuery: opts.sourceQueries.find((q) => q.refId === sourceRefId) ?? { refId: sourceRefId },
    };
    const onlyLevel = framesPerHistogram.get(`${frame.refId}\u0000${datasourceName}`) === 1;
    return {
      ...frame,
      meta: { ...frame.meta, custom: { ...frame.meta?.custom, ...custom } },
      fields: frame.fields.map((field) =>
        field.type === FieldType.number ? { ...field, config: { ...field.config, ...levelFieldConfig(levelOf(field.labels), onlyLevel) } } : field
      ),
    };
  });
}

/**
 * Runs the volume request and answers as Explore's volume provider does: a
 * loading state first, then the shaped frames (or the error).
 */
export function logsVolumeProvider(
  run: (request: DataQueryRequest<FleetscopeQuery>) => Observable<DataQueryResponse>,
  request: DataQueryRequest<FleetscopeQuery>,
  opts: { datasourceName: string; sourceQueries: FleetscopeQuery[] }
): Observable<DataQueryResponse> {
  return new Observable<DataQueryResponse>((observer) => {
    observer.next({ state: LoadingState.Loading, data: [] });
    const subscription = run({ ...request, hideFromInspector: true }).subscribe({
      next: (response) => {
        if (response.errors?.length) {
          observer.next({ state: LoadingState.Error, errors: response.errors, data: [] });
          observer.error(response.errors[0]);
          return;
        }
        const data = shapeLogsVolume(response.data as DataFrame[], { ...opts, volumeQueries: request.targets, range: request.range });
        observer.next({ ...response, state: response.state ?? LoadingState.Done, data });
      },
      error: (error) => {
        observer.next({ state: LoadingState.Error, errors: [{ message: String(error?.data?.message ?? error?.message ?? error) }], data: [] });
        observer.error(error);
      },
      complete: () => observer.complete(),
    });
    return () => subscription.unsubscribe();
  });
}
