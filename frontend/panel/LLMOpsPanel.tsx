import { css, cx } from '@emotion/css';
import { GrafanaTheme2, PanelProps, formattedValueToString, getValueFormat } from '@grafana/data';
import { Icon, Tooltip, useStyles2, useTheme2 } from '@grafana/ui';
import { useMemo } from 'react';

import { exploreTracesUrl, fleetscopeUid } from './links';
import { ActiveAlert, GpuNode, LLMOpsModel, ServiceRow, buildModel } from './model';
import { LLMOpsOptions, Role } from './types';

type Level = 'ok' | 'warn' | 'crit' | 'none';

const fmt = (unit: string, v: number | undefined, decimals?: number) =>
  v === undefined || !Number.isFinite(v) ? '—' : formattedValueToString(getValueFormat(unit)(v, decimals));

function level(v: number | undefined, warn: number, crit: number): Level {
  if (v === undefined || !Number.isFinite(v)) {
    return 'none';
  }
  return v >= crit ? 'crit' : v >= warn ? 'warn' : 'ok';
}

function Sparkline({ values, width = 72, height = 20 }: { values: number[]; width?: number; height?: number }) {
  const theme = useTheme2();
  const pts = values.filter((v) => Number.isFinite(v));
  if (pts.length < 2) {
    return null;
  }
  const max = Math.max(...pts);
  const min = Math.min(...pts);
  const span = max - min || 1;
  const d = values
    .map((v, i) => `${((i / (values.length - 1)) * width).toFixed(1)},${(height - 2 - ((v - min) / span) * (height - 4)).toFixed(1)}`)
    .join(' ');
  return (
    <svg width={width} height={height} aria-hidden="true">
      <polyline points={d} fill="none" stroke={theme.visualization.getColorByName('blue')} strokeWidth={1.5} />
    </svg>
  );
}

function Stat({ label, value, lvl, testId }: { label: string; value: string; lvl: Level; testId: string }) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.stat} data-testid={testId}>
      <div className={styles.statLabel}>{label}</div>
      <div className={cx(styles.statValue, styles.level[lvl])}>{value}</div>
    </div>
  );
}

function Bar({ pct, lvl, label }: { pct: number | undefined; lvl: Level; label: string }) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.barTrack} role="meter" aria-label={label} aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
      <div className={cx(styles.barFill, styles.levelBg[lvl])} style={{ width: `${Math.max(0, Math.min(100, pct ?? 0))}%` }} />
    </div>
  );
}

export function LLMOpsPanel({ data, options, width, height, timeRange }: PanelProps<LLMOpsOptions>) {
  const styles = useStyles2(getStyles);
  const model: LLMOpsModel = useMemo(() => buildModel(data.series, options), [data.series, options]);
  const dsUid = options.tracesDatasourceUid || fleetscopeUid(data.request);
  const narrow = width < 720;
  // Below this width the GPU and alert lists go under the table instead of beside it.
  const stacked = width < 1100;
  const { totals } = model;
  const errLevel = (v?: number) => level(v, options.errorWarn, options.errorCrit);
  const latLevel = (v?: number) => level(v, options.latencyWarnMs, options.latencyCritMs);
  const memPct = (g: GpuNode) =>
    g.memory === undefined ? undefined : model.memoryUnit === 'percentunit' ? g.memory * 100 : model.memoryUnit === 'percent' ? g.memory : undefined;
  const empty = model.rows.length === 0 && model.gpus.length === 0 && model.alerts.length === 0;
  const alertsGiven = !model.missing.includes('alerts');
  const missingText = describeMissing(model.missing, options);
  // Team group headers when rows carry teams and are not collapsed to one label.
  const grouped = options.groupBy !== 'service' && options.groupBy !== 'team' && model.rows.some((r) => r.team !== undefined);

  return (
    <div className={styles.root} style={{ width, height }} data-testid="llmops-panel">
      <div className={styles.stats}>
        <Stat testId="llmops-total-requests" label="Requests" value={fmt('reqps', totals.requests, 1)} lvl="none" />
        <Stat testId="llmops-error-rate" label="Error rate" value={fmt('percentunit', totals.errorRatio, 2)} lvl={errLevel(totals.errorRatio)} />
        <Stat testId="llmops-worst-p95" label="Worst p95" value={fmt('ms', totals.worstP95Ms, 0)} lvl={latLevel(totals.worstP95Ms)} />
        {options.showGpu && (
          <Stat testId="llmops-gpu-util" label="GPU util" value={fmt('percent', totals.gpuUtil, 0)} lvl={level(totals.gpuUtil, options.gpuUtilWarn, 101)} />
        )}
        {options.showGpu && <Stat testId="llmops-gpu-mem" label="GPU memory" value={fmt(model.memoryUnit, totals.gpuMemory, 1)} lvl="none" />}
        {options.showAlerts && (
          <Stat
            testId="llmops-alert-count"
            label="Active alerts"
            value={alertsGiven ? String(model.alerts.length) : '—'}
            lvl={!alertsGiven ? 'none' : model.alerts.some((a) => a.severity === 'CRITICAL') ? 'crit' : model.alerts.length ? 'warn' : 'ok'}
          />
        )}
      </div>
      {!empty && missingText && (
        <div className={styles.missing} data-testid="llmops-missing">
          <Icon name="info-circle" size="sm" /> {missingText}
        </div>
      )}

      {empty && (
        <div className={styles.empty}>
          No request, latency, GPU or alert series recognised.
          {model.unmatched.length > 0 && ` Map these queries in the panel options (Query mapping): ${model.unmatched.join(', ')}.`}
        </div>
      )}

      <div className={cx(styles.body, stacked && styles.bodyNarrow)}>
        {model.rows.length > 0 && (
          <div className={styles.tableWrap}>
            <table className={styles.table} aria-label="Services">
              <thead>
                <tr>
                  <th>Team</th>
                  <th>Service</th>
                  {!narrow && <th>Clusters</th>}
                  <th className={styles.num}>Req/s</th>
                  <th className={styles.num}>Errors</th>
                  <th className={styles.num}>p95</th>
                  {options.showAlerts && <th className={styles.num}>Alerts</th>}
                  <th />
                </tr>
              </thead>
              <tbody>
                {model.rows.map((r: ServiceRow, i) => [
                  grouped && (i === 0 || model.rows[i - 1].team !== r.team) ? (
                    <tr key={`team:${r.team ?? ''}`} className={styles.group} data-testid="llmops-team">
                      <td colSpan={2}>{r.team ?? 'No team label'}</td>
                      {!narrow && <td className={styles.muted}>{teamServices(model.rows, r.team)} services</td>}
                      <td className={styles.num}>{fmt('reqps', teamRequests(model.rows, r.team), 1)}</td>
                      <td colSpan={options.showAlerts ? 4 : 3} />
                    </tr>
                  ) : null,
                  <tr key={r.key} data-testid="llmops-row">
                    <td className={grouped ? styles.muted : undefined}>{grouped ? '' : r.team ?? '—'}</td>
                    <td className={styles.strong}>{r.service ?? '—'}</td>
                    {!narrow && (
                      <td className={cx(styles.muted, styles.clusters)} title={r.clusters.join(', ')}>
                        {r.clusters.join(', ') || '—'}
                      </td>
                    )}
                    <td className={styles.num}>
                      <span className={styles.sparkCell}>
                        {options.showSparklines && !narrow && <Sparkline values={r.requestsSpark} />}
                        {fmt('reqps', r.requests, 1)}
                      </span>
                    </td>
                    <td className={cx(styles.num, styles.level[errLevel(r.errorRatio)])}>{fmt('percentunit', r.errorRatio, 2)}</td>
                    <td className={cx(styles.num, styles.level[latLevel(r.p95Ms)])}>{fmt('ms', r.p95Ms, 0)}</td>
                    {options.showAlerts && (
                      <td className={cx(styles.num, r.alerts ? styles.level.crit : styles.muted)} data-testid="llmops-row-alerts">
                        {alertsGiven ? r.alerts || '·' : '—'}
                      </td>
                    )}
                    <td>
                      {dsUid && r.service ? (
                        <a
                          className={styles.link}
                          href={exploreTracesUrl(dsUid, r.service, r.clusterIds, timeRange)}
                          aria-label={`Traces of ${r.service}`}
                        >
                          <Icon name="gf-traces" size="sm" /> Traces
                        </a>
                      ) : null}
                    </td>
                  </tr>,
                ])}
              </tbody>
            </table>
          </div>
        )}

        {(options.showGpu && model.gpus.length > 0) || (options.showAlerts && model.alerts.length > 0) ? (
          <div className={styles.side}>
            {options.showGpu && model.gpus.length > 0 && (
              <section aria-label="GPU serving nodes">
                <h6 className={styles.heading}>GPU serving nodes</h6>
                {model.gpus.map((g) => (
                  <div key={`${g.cluster}/${g.node}`} className={styles.gpu} data-testid="llmops-gpu">
                    <div className={styles.gpuName}>
                      <span className={styles.strong}>{g.node}</span>
                      {g.cluster && <span className={styles.muted}> · {g.cluster}</span>}
                    </div>
                    <div className={styles.gpuBars}>
                      <span className={styles.muted}>util</span>
                      <Bar pct={g.util} lvl={level(g.util, options.gpuUtilWarn, 101)} label={`${g.node} GPU utilisation`} />
                      <span className={styles.num}>{fmt('percent', g.util, 0)}</span>
                      <span className={styles.muted}>mem</span>
                      {memPct(g) !== undefined ? (
                        <Bar pct={memPct(g)} lvl="none" label={`${g.node} GPU memory`} />
                      ) : (
                        <span />
                      )}
                      <span className={styles.num}>{fmt(model.memoryUnit, g.memory, 1)}</span>
                    </div>
                  </div>
                ))}
              </section>
            )}
            {options.showAlerts && model.alerts.length > 0 && (
              <section aria-label="Active alerts">
                <h6 className={styles.heading}>Active alerts</h6>
                <ul className={styles.alerts}>
                  {model.alerts.slice(0, options.maxAlerts).map((a: ActiveAlert, i) => (
                    <li key={`${a.name}-${a.cluster}-${i}`} data-testid="llmops-alert">
                      <span className={cx(styles.badge, a.severity === 'CRITICAL' ? styles.levelBg.crit : styles.levelBg.warn)}>
                        {a.severity.toLowerCase()}
                      </span>
                      <Tooltip content={a.summary ?? a.name} placement="top">
                        <span className={styles.strong}>{a.name}</span>
                      </Tooltip>
                      <span className={styles.muted}>
                        {[a.cluster, a.service ?? a.team, a.state !== 'FIRING' ? a.state.toLowerCase() : ''].filter(Boolean).join(' · ')}
                      </span>
                    </li>
                  ))}
                  {model.alerts.length > options.maxAlerts && (
                    <li className={styles.muted}>+{model.alerts.length - options.maxAlerts} more</li>
                  )}
                </ul>
              </section>
            )}
          </div>
        ) : null}
      </div>
    </div>
  );
}

const ROLE_TEXT: Record<Role, string> = {
  requests: 'request rate',
  errors: 'error ratio',
  latency: 'p95 latency',
  gpuUtil: 'GPU utilisation',
  gpuMemory: 'GPU memory',
  alerts: 'alerts',
};

/** "No alerts query: …" for the roles the panel was given no frame for (only those it shows). */
export function describeMissing(missing: Role[], options: LLMOpsOptions): string | undefined {
  const shown = missing.filter((r) => (r.startsWith('gpu') ? options.showGpu : r === 'alerts' ? options.showAlerts : true));
  if (shown.length === 0) {
    return undefined;
  }
  return `No ${shown.map((r) => ROLE_TEXT[r]).join(', ')} query: ${shown.length === 1 ? 'its column shows' : 'their columns show'} — (add the query, or map it under Query mapping).`;
}

const teamRows = (rows: ServiceRow[], team?: string) => rows.filter((r) => r.team === team);
const teamServices = (rows: ServiceRow[], team?: string) => teamRows(rows, team).filter((r) => r.service !== undefined).length;
function teamRequests(rows: ServiceRow[], team?: string): number | undefined {
  const xs = teamRows(rows, team)
    .map((r) => r.requests)
    .filter((x): x is number => x !== undefined);
  return xs.length ? xs.reduce((a, b) => a + b, 0) : undefined;
}

const getStyles = (theme: GrafanaTheme2) => {
  const color = (name: string) => theme.visualization.getColorByName(name);
  return {
    group: css({
      td: { fontWeight: theme.typography.fontWeightMedium, background: theme.colors.background.secondary, color: theme.colors.text.primary },
    }),
    missing: css({ color: theme.colors.text.secondary }),
    root: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(1), overflow: 'auto', fontSize: theme.typography.bodySmall.fontSize }),
    stats: css({ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(110px, 1fr))', gap: theme.spacing(1) }),
    stat: css({
      background: theme.colors.background.secondary,
      borderRadius: theme.shape.radius.default,
      padding: theme.spacing(0.75, 1),
      border: `1px solid ${theme.colors.border.weak}`,
    }),
    statLabel: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
    statValue: css({ fontSize: theme.typography.h4.fontSize, fontWeight: theme.typography.fontWeightMedium }),
    body: css({ display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) minmax(220px, 300px)', gap: theme.spacing(2), minHeight: 0 }),
    bodyNarrow: css({ gridTemplateColumns: '1fr' }),
    tableWrap: css({ overflowX: 'auto' }),
    table: css({
      width: '100%',
      borderCollapse: 'collapse',
      'th, td': { padding: theme.spacing(0.5, 1), borderBottom: `1px solid ${theme.colors.border.weak}`, whiteSpace: 'nowrap' },
      th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium, textAlign: 'left' },
      'tbody tr:hover': { background: theme.colors.action.hover },
    }),
    num: css({ textAlign: 'right', fontVariantNumeric: 'tabular-nums' }),
    sparkCell: css({ display: 'inline-flex', alignItems: 'center', gap: theme.spacing(1) }),
    clusters: css({ maxWidth: 200, overflow: 'hidden', textOverflow: 'ellipsis' }),
    strong: css({ fontWeight: theme.typography.fontWeightMedium, color: theme.colors.text.primary }),
    muted: css({ color: theme.colors.text.secondary }),
    link: css({ color: theme.colors.text.link, whiteSpace: 'nowrap', '&:hover': { textDecoration: 'underline' } }),
    side: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(2) }),
    heading: css({ margin: theme.spacing(0, 0, 0.5), color: theme.colors.text.secondary, textTransform: 'uppercase', letterSpacing: '0.04em' }),
    gpu: css({ padding: theme.spacing(0.5, 0), borderBottom: `1px solid ${theme.colors.border.weak}` }),
    gpuName: css({ marginBottom: 2 }),
    gpuBars: css({ display: 'grid', gridTemplateColumns: '32px 1fr 64px', alignItems: 'center', columnGap: theme.spacing(1) }),
    barTrack: css({ height: 8, background: theme.colors.background.canvas, borderRadius: 4, overflow: 'hidden', border: `1px solid ${theme.colors.border.weak}` }),
    barFill: css({ height: '100%' }),
    alerts: css({ listStyle: 'none', margin: 0, padding: 0, li: { display: 'flex', gap: theme.spacing(1), alignItems: 'baseline', padding: theme.spacing(0.25, 0) } }),
    badge: css({ color: theme.colors.getContrastText(color('red')), borderRadius: theme.shape.radius.pill, padding: theme.spacing(0, 0.75), fontSize: 11 }),
    empty: css({ color: theme.colors.text.secondary, padding: theme.spacing(2), textAlign: 'center' }),
    level: {
      ok: css({ color: color('green') }),
      warn: css({ color: color('orange') }),
      crit: css({ color: color('red') }),
      none: css({}),
    } as Record<Level, string>,
    levelBg: {
      ok: css({ background: color('green') }),
      warn: css({ background: color('orange') }),
      crit: css({ background: color('red') }),
      none: css({ background: color('blue') }),
    } as Record<Level, string>,
  };
};
