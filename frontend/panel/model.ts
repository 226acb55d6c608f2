import { DataFrame, Field, FieldType, getFieldDisplayName } from '@grafana/data';

import { DEFAULT_OPTIONS, LLMOpsOptions, ROLES, Role } from './types';

/** One series of one role: its labels, its points, and the latest value. */
export interface Series {
  role: Role;
  labels: Record<string, string>;
  name: string;
  /** Display name, refId and executed query: what units are guessed from. */
  source: string;
  times: number[];
  values: number[];
  last?: number;
}

export interface ServiceRow {
  key: string;
  team?: string;
  service?: string;
  clusters: string[];
  clusterIds: string[];
  requests?: number;
  requestsSpark: number[];
  errorRatio?: number;
  /** p95 latency in milliseconds. */
  p95Ms?: number;
  alerts: number;
}

export interface GpuNode {
  node: string;
  cluster?: string;
  util?: number;
  memory?: number;
}

export interface ActiveAlert {
  name: string;
  severity: string;
  state: string;
  cluster?: string;
  team?: string;
  service?: string;
  since?: number;
  summary?: string;
}

export interface LLMOpsModel {
  rows: ServiceRow[];
  gpus: GpuNode[];
  alerts: ActiveAlert[];
  totals: { requests?: number; errorRatio?: number; worstP95Ms?: number; gpuUtil?: number; gpuMemory?: number };
  memoryUnit: string;
  /** Frames the panel could not place: named so the user can map them in the options. */
  unmatched: string[];
  /** Roles no frame was given for (the panel says so instead of showing zeros). */
  missing: Role[];
}

const PATTERNS: Array<[Role, RegExp]> = [
  ['alerts', /\balerts?\b|^ALERTS$/i],
  ['gpuMemory', /gpu.?mem|fb_used|mem(ory)?_used|framebuffer/i],
  ['gpuUtil', /gpu.?util|dcgm_fi_dev_gpu_util|utili[sz]ation|\bgpu\b/i],
  ['latency', /latency|p9[59]|duration|quantile/i],
  ['errors', /error|5xx|5\.\.|fail/i],
  ['requests', /request|rps|throughput|rate|traffic/i],
];

function valueField(frame: DataFrame): Field | undefined {
  return frame.fields.find((f) => f.type === FieldType.number);
}

function isAlertTable(frame: DataFrame): boolean {
  return frame.fields.some((f) => f.name.toLowerCase() === 'alertname');
}

/** The text a frame is recognised by: refId, frame name, metric name, display name, executed query. */
function describe(frame: DataFrame): string[] {
  const v = valueField(frame);
  return [
    frame.refId ?? '',
    frame.name ?? '',
    v?.labels?.__name__ ?? '',
    v ? getFieldDisplayName(v, frame) : '',
    frame.meta?.executedQueryString ?? '',
  ].filter(Boolean);
}

export function roleOf(frame: DataFrame, options: LLMOpsOptions): Role | undefined {
  const mapped: Array<[Role, string]> = [
    ['requests', options.requestsRefId],
    ['errors', options.errorsRefId],
    ['latency', options.latencyRefId],
    ['gpuUtil', options.gpuUtilRefId],
    ['gpuMemory', options.gpuMemoryRefId],
    ['alerts', options.alertsRefId],
  ];
  for (const [role, refId] of mapped) {
    if (refId && frame.refId === refId) {
      return role;
    }
  }
  if (isAlertTable(frame)) {
    return 'alerts';
  }
  const v = valueField(frame);
  if (v?.labels?.alertname && v.labels.alertstate) {
    return 'alerts';
  }
  // The refId is the user's explicit naming; try it alone first, then everything else.
  const texts = describe(frame);
  for (const text of [texts[0], texts.slice(1).join(' ')]) {
    for (const [role, re] of PATTERNS) {
      if (text && re.test(text)) {
        return role;
      }
    }
  }
  return undefined;
}

/** Time series (`timeseries-multi` frames, Prometheus wide frames) → one Series per numeric field. */
function toSeries(frame: DataFrame, role: Role, queryText = frame.meta?.executedQueryString): Series[] {
  const time = frame.fields.find((f) => f.type === FieldType.time);
  return frame.fields
    .filter((f) => f.type === FieldType.number)
    .map((f) => {
      const values = Array.from(f.values as ArrayLike<number | null>, (x) => (x === null || x === undefined ? NaN : Number(x)));
      const times = time ? Array.from(time.values as ArrayLike<number>) : values.map((_, i) => i);
      let last: number | undefined;
      for (let i = values.length - 1; i >= 0; i--) {
        if (Number.isFinite(values[i])) {
          last = values[i];
          break;
        }
      }
      const name = getFieldDisplayName(f, frame);
      const source = [name, f.labels?.__name__, frame.refId, queryText].filter(Boolean).join(' ');
      return { role, labels: { ...(f.labels ?? {}) }, name, source, times, values, last };
    });
}

const teamOf = (l: Record<string, string>) => l.team ?? l.namespace ?? l['service_namespace'];
const serviceOf = (l: Record<string, string>) => l.service ?? l.service_name ?? l['service.name'] ?? l.job ?? l.endpoint;
const nodeOf = (l: Record<string, string>) => l.node ?? l.Hostname ?? l.hostname ?? l.node_name ?? l.instance ?? l.gpu ?? l.UUID;

const UNKNOWN = '—';

/**
 * The row a series belongs to. Rows are team × service. A series that carries
 * both labels names its row; one that carries only a team joins the team's
 * single service (when the other series show exactly one), one with only a
 * service joins its single team; otherwise it stays a team-level or
 * service-level row. `groupBy` team/service collapses to that one label.
 */
class RowKeys {
  private readonly servicesOfTeam = new Map<string, Set<string>>();
  private readonly teamsOfService = new Map<string, Set<string>>();

  constructor(
    series: Series[],
    private readonly groupBy: LLMOpsOptions['groupBy']
  ) {
    for (const s of series) {
      const team = teamOf(s.labels);
      const service = serviceOf(s.labels);
      if (team !== undefined && service !== undefined) {
        this.servicesOfTeam.set(team, (this.servicesOfTeam.get(team) ?? new Set()).add(service));
        this.teamsOfService.set(service, (this.teamsOfService.get(service) ?? new Set()).add(team));
      }
    }
  }

  of(l: Record<string, string>): { key: string; team?: string; service?: string } {
    let team: string | undefined = teamOf(l);
    let service: string | undefined = serviceOf(l);
    if (this.groupBy === 'team') {
      return { key: team ?? UNKNOWN, team, service: undefined };
    }
    if (this.groupBy === 'service') {
      return { key: service ?? UNKNOWN, team: undefined, service };
    }
    if (team !== undefined && service === undefined) {
      const only = this.servicesOfTeam.get(team);
      service = only && only.size === 1 ? Array.from(only)[0] : undefined;
    } else if (service !== undefined && team === undefined) {
      const only = this.teamsOfService.get(service);
      team = only && only.size === 1 ? Array.from(only)[0] : undefined;
    }
    return { key: `${team ?? UNKNOWN}/${service ?? UNKNOWN}`, team, service };
  }
}

function latencyToMs(s: Series, unit: LLMOpsOptions['latencyUnit']): number | undefined {
  if (s.last === undefined) {
    return undefined;
  }
  const inMs = unit === 'ms' || (unit === 'auto' && /(_ms\b|_ms_|millis)/i.test(s.source));
  return inMs ? s.last : s.last * 1000;
}

function memoryUnit(series: Series[], unit: LLMOpsOptions['gpuMemoryUnit']): string {
  if (unit !== 'auto') {
    return unit;
  }
  const name = series.map((s) => s.source).join(' ');
  if (/fb_used|_mib|_mb\b|mebibytes/i.test(name)) {
    return 'decmbytes';
  }
  if (/bytes/i.test(name)) {
    return 'bytes';
  }
  const max = Math.max(...series.map((s) => s.last ?? 0));
  return max <= 1 ? 'percentunit' : 'percent';
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function alertsFromTable(frame: DataFrame): ActiveAlert[] {
  const col = (...names: string[]) => frame.fields.find((f) => names.includes(f.name.toLowerCase()));
  const name = col('alertname');
  const severity = col('severity');
  const state = col('state', 'status');
  const cluster = col('cluster_name', 'cluster');
  const team = col('team');
  const service = col('service');
  const since = col('starts_at', 'startsat', 'time');
  const summary = col('summary', 'description');
  const labels = col('labels');
  const out: ActiveAlert[] = [];
  for (let i = 0; i < frame.length; i++) {
    let extra: Record<string, string> = {};
    const raw = labels?.values[i];
    if (raw) {
      try {
        extra = typeof raw === 'string' ? JSON.parse(raw) : (raw as Record<string, string>);
      } catch {
        extra = {};
      }
    }
    const st = String(state?.values[i] ?? 'FIRING').toUpperCase();
    if (st === 'RESOLVED') {
      continue;
    }
    const t = since?.values[i];
    out.push({
      name: String(name!.values[i]),
      severity: String(severity?.values[i] ?? extra.severity ?? 'WARNING').toUpperCase(),
      state: st,
      cluster: cluster?.values[i] ?? extra.cluster,
      team: team?.values[i] ?? teamOf(extra),
      service: service?.values[i] ?? serviceOf(extra),
      since: t === undefined || t === null ? undefined : typeof t === 'number' ? t : Date.parse(String(t)),
      summary: summary?.values[i],
    });
  }
  return out;
}

function alertsFromSeries(series: Series[]): ActiveAlert[] {
  return series
    .filter((s) => (s.last ?? 0) > 0 && (s.labels.alertstate ?? 'firing') !== 'resolved')
    .map((s) => ({
      name: s.labels.alertname ?? s.name,
      severity: (s.labels.severity ?? 'warning').toUpperCase(),
      state: (s.labels.alertstate ?? 'firing').toUpperCase(),
      cluster: s.labels.cluster,
      team: teamOf(s.labels),
      service: serviceOf(s.labels),
    }));
}

const SEVERITY_ORDER: Record<string, number> = { CRITICAL: 0, ERROR: 1, WARNING: 2, INFO: 3 };

export function buildModel(frames: DataFrame[], opts: Partial<LLMOpsOptions> = {}): LLMOpsModel {
  const options = { ...DEFAULT_OPTIONS, ...opts };
  const byRole: Record<Role, Series[]> = { requests: [], errors: [], latency: [], gpuUtil: [], gpuMemory: [], alerts: [] };
  const alerts: ActiveAlert[] = [];
  const unmatched: string[] = [];

  // A backend may put the executed query on the first frame of a query only: share it per refId.
  const queryTexts = new Map<string, string>();
  for (const frame of frames) {
    const q = frame.meta?.executedQueryString;
    if (q && frame.refId && !queryTexts.has(frame.refId)) {
      queryTexts.set(frame.refId, q);
    }
  }
  const seen = new Set<Role>();
  for (const frame of frames) {
    const role = roleOf(frame, options);
    if (role) {
      seen.add(role);
    }
    if (!role) {
      if (frame.fields.length > 0) {
        unmatched.push(frame.refId ? `${frame.refId}${frame.name ? ` (${frame.name})` : ''}` : frame.name ?? 'unnamed');
      }
      continue;
    }
    if (role === 'alerts' && isAlertTable(frame)) {
      alerts.push(...alertsFromTable(frame));
      continue;
    }
    byRole[role].push(...toSeries(frame, role, frame.meta?.executedQueryString ?? queryTexts.get(frame.refId ?? '')));
  }
  alerts.push(...alertsFromSeries(byRole.alerts));
  alerts.sort((a, b) => (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) || (b.since ?? 0) - (a.since ?? 0));

  // Rows per team/service. Series from several clusters with the same key are combined:
  // request rates add up, the error ratio is weighted by requests, p95 takes the worst cluster.
  const serviceSeries = [...byRole.requests, ...byRole.errors, ...byRole.latency];
  const keys = new RowKeys(serviceSeries, options.groupBy);
  const rows = new Map<string, ServiceRow & { errParts: Array<[number, number | undefined]> }>();
  const rowFor = (s: Series) => {
    const g = keys.of(s.labels);
    let row = rows.get(g.key);
    if (!row) {
      row = { key: g.key, team: g.team, service: g.service, clusters: [], clusterIds: [], requestsSpark: [], alerts: 0, errParts: [] };
      rows.set(g.key, row);
    }
    const cluster = s.labels.cluster;
    if (cluster && !row.clusters.includes(cluster)) {
      row.clusters.push(cluster);
    }
    const cid = s.labels.cluster_id;
    if (cid && !row.clusterIds.includes(cid)) {
      row.clusterIds.push(cid);
    }
    return row;
  };

  for (const s of byRole.requests) {
    const row = rowFor(s);
    row.requests = (row.requests ?? 0) + (s.last ?? 0);
    row.requestsSpark =
      row.requestsSpark.length === 0
        ? s.values.map((v) => (Number.isFinite(v) ? v : 0))
        : row.requestsSpark.map((v, i) => v + (Number.isFinite(s.values[i]) ? s.values[i] : 0));
  }
  const requestsOf = (s: Series) => {
    const key = keys.of(s.labels).key;
    return byRole.requests.find((r) => keys.of(r.labels).key === key && r.labels.cluster === s.labels.cluster)?.last;
  };
  for (const s of byRole.errors) {
    const row = rowFor(s);
    if (s.last !== undefined) {
      row.errParts.push([s.last, requestsOf(s)]);
    }
  }
  for (const s of byRole.latency) {
    const row = rowFor(s);
    const ms = latencyToMs(s, options.latencyUnit);
    if (ms !== undefined && Number.isFinite(ms)) {
      row.p95Ms = Math.max(row.p95Ms ?? 0, ms);
    }
  }
  for (const row of rows.values()) {
    if (row.errParts.length > 0) {
      if (options.errorMode === 'rate') {
        const errors = sum(row.errParts.map(([e]) => e));
        row.errorRatio = row.requests ? errors / row.requests : undefined;
      } else {
        const weighted = row.errParts.filter(([, r]) => r !== undefined && r > 0);
        row.errorRatio =
          weighted.length === row.errParts.length && weighted.length > 0
            ? sum(weighted.map(([e, r]) => e * r!)) / sum(weighted.map(([, r]) => r!))
            : Math.max(...row.errParts.map(([e]) => e));
      }
    }
    row.alerts = alerts.filter((a) => alertMatchesRow(a, row)).length;
  }
  // Grouped by team (teams by their total request rate), then by request rate within the team.
  const teamTotal = new Map<string, number>();
  for (const r of rows.values()) {
    teamTotal.set(r.team ?? UNKNOWN, (teamTotal.get(r.team ?? UNKNOWN) ?? 0) + (r.requests ?? 0));
  }
  const rowList = Array.from(rows.values())
    .map(({ errParts, ...r }) => r)
    .sort(
      (a, b) =>
        Number(a.team === undefined) - Number(b.team === undefined) ||
        (teamTotal.get(b.team ?? UNKNOWN) ?? 0) - (teamTotal.get(a.team ?? UNKNOWN) ?? 0) ||
        (a.team ?? '').localeCompare(b.team ?? '') ||
        (b.requests ?? 0) - (a.requests ?? 0) ||
        a.key.localeCompare(b.key)
    );

  // GPU nodes: one entry per node (and cluster); utilisation averages the node's GPUs, memory adds up.
  const gpus = new Map<string, GpuNode & { utils: number[] }>();
  const gpuFor = (s: Series) => {
    const node = nodeOf(s.labels) ?? s.name;
    const key = `${s.labels.cluster ?? ''}/${node}`;
    let g = gpus.get(key);
    if (!g) {
      g = { node, cluster: s.labels.cluster, utils: [] };
      gpus.set(key, g);
    }
    return g;
  };
  for (const s of byRole.gpuUtil) {
    if (s.last !== undefined) {
      gpuFor(s).utils.push(s.last);
    }
  }
  const memUnit = memoryUnit(byRole.gpuMemory, options.gpuMemoryUnit);
  const memIsShare = memUnit === 'percent' || memUnit === 'percentunit';
  const memParts = new Map<GpuNode, number[]>();
  for (const s of byRole.gpuMemory) {
    if (s.last !== undefined) {
      const g = gpuFor(s);
      memParts.set(g, [...(memParts.get(g) ?? []), s.last]);
    }
  }
  const gpuList = Array.from(gpus.values())
    .map(({ utils, ...g }) => {
      const mem = memParts.get(gpus.get(`${g.cluster ?? ''}/${g.node}`)!);
      return {
        ...g,
        util: utils.length ? sum(utils) / utils.length : undefined,
        memory: mem ? (memIsShare ? sum(mem) / mem.length : sum(mem)) : undefined,
      };
    })
    .sort((a, b) => (b.util ?? -1) - (a.util ?? -1) || a.node.localeCompare(b.node));

  const withReq = rowList.filter((r) => r.requests !== undefined);
  const totalRequests = withReq.length ? sum(withReq.map((r) => r.requests!)) : undefined;
  const errRows = rowList.filter((r) => r.errorRatio !== undefined);
  const errorRatio = errRows.length
    ? totalRequests && errRows.every((r) => r.requests)
      ? sum(errRows.map((r) => r.errorRatio! * r.requests!)) / sum(errRows.map((r) => r.requests!))
      : Math.max(...errRows.map((r) => r.errorRatio!))
    : undefined;
  const p95s = rowList.map((r) => r.p95Ms).filter((x): x is number => x !== undefined);
  const utils = gpuList.map((g) => g.util).filter((x): x is number => x !== undefined);
  const mems = gpuList.map((g) => g.memory).filter((x): x is number => x !== undefined);

  return {
    rows: rowList,
    gpus: gpuList,
    alerts,
    totals: {
      requests: totalRequests,
      errorRatio,
      worstP95Ms: p95s.length ? Math.max(...p95s) : undefined,
      gpuUtil: utils.length ? sum(utils) / utils.length : undefined,
      gpuMemory: mems.length ? (memIsShare ? sum(mems) / mems.length : sum(mems)) : undefined,
    },
    memoryUnit: memUnit,
    unmatched,
    missing: ROLES.filter((r) => !seen.has(r)),
  };
}

/**
 * An alert counts for a row when its service is the row's service, or (an
 * alert without a service) its team is the row's team; when both sides name a
 * cluster they must agree.
 */
function alertMatchesRow(a: ActiveAlert, row: ServiceRow): boolean {
  if (a.cluster && row.clusters.length > 0 && !row.clusters.includes(a.cluster) && !row.clusterIds.includes(a.cluster)) {
    return false;
  }
  if (a.service !== undefined) {
    return row.service !== undefined && a.service === row.service && (a.team === undefined || row.team === undefined || a.team === row.team);
  }
  return a.team !== undefined && a.team === row.team;
}
