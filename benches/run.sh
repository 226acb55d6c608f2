#!/usr/bin/env bash
# `make bench`: every benchmark in one run, then one summary table.
#
#   1. peer: the same Prometheus query_range bodies (target/bench-bodies/, written
#      once by examples/peer_convert.rs) converted bytes → Arrow IPC by us
#      (examples/peer_convert.rs) and by Grafana's promlib converter
#      (benches/peer-go, its own Go module: Grafana's promlib is AGPL, so only `make bench` fetches it), interleaved, BENCH_RUNS times each;
#   2. fan-out / hung cluster / cache / single-flight / RSS / isolation / discovery (benches/fanout.rs),
#      BENCH_RUNS times;
#   3. the criterion micro-bench (benches/prometheus_convert.rs) unless BENCH_CRITERION=0.
#
# Medians over the runs are printed at the end; raw JSON lines stay in target/bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${BENCH_RUNS:-3}"
CARGO="${CARGO:-cargo}"
BODIES="$PWD/target/bench-bodies"
OUT="$PWD/target/bench-results"
BIN="$PWD/target/bench-bin"
mkdir -p "$BODIES" "$OUT" "$BIN"
: >"$OUT/peer.jsonl"
: >"$OUT/fanout.jsonl"

echo "== building (release profile shared with the rest of the project)"
# gpx_fleetscope: the isolation bench drives `serve` (benches/fanout.rs).
"$CARGO" build --release --locked --example peer_convert --bin gpx_fleetscope
(cd benches/peer-go && go build -o "$BIN/peerbench" .)
OURS="$PWD/target/release/examples/peer_convert"
THEIRS="$BIN/peerbench"

echo "== input bodies (one generator, byte-identical for both sides)"
"$OURS" gen "$BODIES"

# body:iterations per timing process (each process also does one warm-up conversion).
SETS="small:200 1k:10 10k:3"
echo "== peer: time (median ns/op per process; $RUNS runs, sides interleaved)"
for run in $(seq 1 "$RUNS"); do
  for set in $SETS; do
    body="$BODIES/${set%%:*}.json" iters="${set##*:}"
    "$OURS" time "$body" "$iters" | tee -a "$OUT/peer.jsonl"
    "$THEIRS" time "$body" "$iters" | tee -a "$OUT/peer.jsonl"
  done
done
echo "== peer: memory (ru_maxrss after loading the body, and after converting it once; fresh process each)"
for run in $(seq 1 "$RUNS"); do
  for set in $SETS; do
    body="$BODIES/${set%%:*}.json"
    "$OURS" mem "$body" | tee -a "$OUT/peer.jsonl"
    "$THEIRS" mem "$body" | tee -a "$OUT/peer.jsonl"
  done
done

echo "== fan-out, hung cluster, cache, single-flight, RSS ($RUNS runs)"
for run in $(seq 1 "$RUNS"); do
  FLEETSCOPE_BENCH_BODIES="$BODIES" "$CARGO" bench --locked --bench fanout 2>&1 | tee "$OUT/fanout-$run.log"
  grep '^RESULT ' "$OUT/fanout-$run.log" | sed 's/^RESULT //' >>"$OUT/fanout.jsonl"
done

if [[ "${BENCH_CRITERION:-1}" != 0 ]]; then
  echo "== criterion micro-bench (prometheus_convert)"
  "$CARGO" bench --locked --bench prometheus_convert
fi

python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import json, statistics, sys, os
out = sys.argv[1]
peer = [json.loads(l) for l in open(os.path.join(out, "peer.jsonl")) if l.strip()]
fan = [json.loads(l) for l in open(os.path.join(out, "fanout.jsonl")) if l.strip()]
med = statistics.median
MiB = 1024 * 1024

def pick(side, body, key):
    return [r[key] for r in peer if r["side"] == side and os.path.basename(r["body"]) == body and key in r]

print()
print("== summary (medians over %d runs; machine: %s cores)" % (max(1, len(pick("fleetscope", "small.json", "median_ns"))), os.cpu_count()))
print()
print("Peer: Prometheus query_range body -> Arrow IPC frames (ours: fleetscope, theirs: grafana promlib converter + MarshalArrow)")
hdr = "%-6s %9s %8s | %11s %11s %10s %8s | %12s %12s %9s %6s"
print(hdr % ("body", "MiB", "frames", "ours ms", "theirs ms", "ours/their", "speedup", "ours dMiB", "theirs dMiB", "ours/their", "goals"))
for body in ("small.json", "1k.json", "10k.json"):
    o_ns, t_ns = pick("fleetscope", body, "median_ns"), pick("grafana", body, "median_ns")
    if not o_ns or not t_ns:
        continue
    o_t, t_t = med(o_ns) / 1e6, med(t_ns) / 1e6
    o_m = med([p - i for p, i in zip(pick("fleetscope", body, "peak_kib"), pick("fleetscope", body, "idle_kib"))]) / 1024
    t_m = med([p - i for p, i in zip(pick("grafana", body, "peak_kib"), pick("grafana", body, "idle_kib"))]) / 1024
    size = pick("fleetscope", body, "body_bytes")[0] / MiB
    frames = pick("fleetscope", body, "frames")[0]
    tr, mr = o_t / t_t, (o_m / t_m if t_m > 0 else float("nan"))
    goals = ("T" if tr <= 1 / 3 else "t") + ("M" if mr <= 0.5 else "m")
    print(hdr % (body[:-5], "%.1f" % size, frames, "%.2f" % o_t, "%.2f" % t_t, "%.3f" % tr, "%.2fx" % (1 / tr), "%.1f" % o_m, "%.1f" % t_m, "%.3f" % mr, goals))
print("  goals: T = >=3x faster (ours/theirs <= 0.333), M = <=0.5x peak memory; lower case = missed.")
print("  dMiB = ru_maxrss after one conversion minus ru_maxrss with the body loaded, same process.")
print()
print("Fan-out (QueryData in-process, upstreams answer after 50 ms, maxParallel 64, cache off)")
for n in (1, 8, 32, 64):
    rows = [r for r in fan if r["bench"] == "fanout" and r["clusters"] == n]
    if rows:
        goal = "  (goal <= 1.10: %s)" % ("met" if med([r["ratio"] for r in rows]) <= 1.10 else "MISSED") if n == 32 else ""
        print("  %2d clusters: median %7.2f ms   ratio to 1 cluster %.3f%s" % (n, med([r["median_ms"] for r in rows]), med([r["ratio"] for r in rows]), goal))
rows = [r for r in fan if r["bench"] == "hung"]
if rows:
    print("  32 healthy + 1 hung (timeout %d ms): first query %.1f ms (partial: %s); after the breaker opens %.2f ms"
          % (rows[0]["timeout_ms"], med([r["first_ms"] for r in rows]), rows[0]["notice"], med([r["breaker_open_median_ms"] for r in rows])))
rows = [r for r in fan if r["bench"] == "cache_hit"]
if rows:
    print("Cache hit (parse + execute + Arrow): median %.1f us, p99 %.1f us (goal well under 1 ms); miss %.1f ms"
          % (med([r["median_us"] for r in rows]), med([r["p99_us"] for r in rows]), med([r["miss_ms"] for r in rows])))
rows = [r for r in fan if r["bench"] == "single_flight"]
if rows:
    print("Single-flight: 100 concurrent identical queries x 8 clusters -> max %d upstream request(s) per cluster (goal 1)"
          % max(r["max_requests_per_cluster"] for r in rows))
rows = [r for r in fan if r["bench"] == "isolation"]
if rows:
    p99 = med([r["p99_ratio"] for r in rows]); worst = med([r["worst_over_timeout"] for r in rows])
    print("Isolation (serve; 3 healthy + 1 hung cluster, 12 panels at once, defaults): single-healthy-cluster query under load"
          " p50 %.2fx, p99 %.2fx the unloaded one (goal p99 <= 1.5: %s); worst panel %.3f x timeoutSeconds (goal <= 1.01: %s)"
          % (med([r["p50_ratio"] for r in rows]), p99, "met" if p99 <= 1.5 else "MISSED", worst, "met" if worst <= 1.01 else "MISSED"))
rows = [r for r in fan if r["bench"] == "discovery"]
if rows:
    ratio = med([r["ratio"] for r in rows])
    print("Discovery (%d clusters from a file source, maxParallel 512): all vs one %.3fx (goal <= 1.25: %s); a new cluster"
          " answers %.0f ms after the file changes (polled every 50 ms); idle RSS %.1f MiB (%.1f MiB with 1 cluster)"
          % (rows[0]["clusters"], ratio, "met" if ratio <= 1.25 else "MISSED", med([r["queryable_ms"] for r in rows]),
             med([r["idle_rss_mib"] for r in rows]), med([r["idle_rss_one_mib"] for r in rows])))
for cache in (True, False):
    rows = [r for r in fan if r["bench"] == "rss10k" and r["cache"] == cache]
    if rows:
        print("RSS, 10k-series query (cache %s): idle %.1f MiB, peak %.1f MiB = %.2fx the %.1f MiB body (peak - idle = %.2fx; goal peak <= 2x)"
              % ("on" if cache else "off", med([r["idle_kib"] for r in rows]) / 1024, med([r["peak_kib"] for r in rows]) / 1024,
                 med([r["peak_over_body"] for r in rows]), rows[0]["body_bytes"] / MiB, med([r["peak_minus_idle_over_body"] for r in rows])))
PY
