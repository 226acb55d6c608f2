#!/usr/bin/env bash
# Fleetscope's real test stack: three Prometheus "clusters" with generated,
# backfilled data, a dead and a hung cluster, three Alertmanagers (with demo
# alerts) and Redis, plus replayed Loki/Tempo/Kubernetes APIs
# (replay_upstreams.rs) and a ClickHouse store (chDB behind clickhouse_front.py,
# the same data in the OpenTelemetry exporter's tables), all on 127.0.0.1 with free ports. See
# tests/stack/README.md for the contract.
#
#   tests/stack/stack.sh up       start everything fresh (kills a previous run first)
#   tests/stack/stack.sh down     stop everything (safe to run twice)
#   tests/stack/stack.sh status   show what runs: exit 0 all up, 1 partly, 3 not running
#
# Installs nothing: run tests/stack/install-deps.sh (make stack-deps) first.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# FLEETSCOPE_STACK_DIR lets two stacks coexist (e.g. a full `make test` beside a developer's stack).
STACK_DIR="${FLEETSCOPE_STACK_DIR:-$ROOT/.stack}"
PIDS="$STACK_DIR/pids"
LOGS="$STACK_DIR/logs"

STEP=15
HOURS=6
READY_TIMEOUT=${STACK_READY_TIMEOUT:-60}
CLUSTERS=(east west edge)
# The ClickHouse store identifies clusters by a `cluster_id` attribute; west's is
# a UUID (as budcluster writes), so the registry's clusterValue mapping is exercised.
CH_WEST_VALUE=5b0e2e0c-1f3a-4c2e-9d7b-0a1b2c3d4e5f
CH_READY_TIMEOUT=${STACK_CLICKHOUSE_READY_TIMEOUT:-300}
# The replayed Loki/Tempo/Kubernetes APIs: a cargo example sharing the release build (make build: static musl).
REPLAY_BIN=${FLEETSCOPE_REPLAY_BIN:-$ROOT/target/${FLEETSCOPE_TARGET:-x86_64-unknown-linux-musl}/release/examples/replay_upstreams}

log() { printf 'stack: %s\n' "$*" >&2; }

die() {
  printf 'stack: ERROR: %s\n' "$*" >&2
  exit 1
}

# die with the tail of a log file
die_log() {
  local msg=$1 file=$2
  printf 'stack: ERROR: %s\n' "$msg" >&2
  if [ -f "$file" ]; then
    printf -- '--- last lines of %s ---\n' "$file" >&2
    tail -n 25 "$file" >&2 || true
    printf -- '---\n' >&2
  fi
  exit 1
}

# ---------------------------------------------------------------------------
# process bookkeeping: pidfile = "PID STARTTIME" (STARTTIME from /proc, so a
# recycled pid is never mistaken for ours)
# ---------------------------------------------------------------------------

proc_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  # field 3 (state) is $1 here; field 22 (starttime) is $20
  [ "$1" != "Z" ] || return 1
  printf '%s\n' "${20}"
}

record_pid() { # name pid
  local st
  st=$(proc_starttime "$2") || die_log "$1 exited right after start" "$LOGS/$1.log"
  printf '%s %s\n' "$2" "$st" >"$PIDS/$1.pid"
}

# prints the pid if the pidfile's process is still the one we started
pidfile_alive() {
  local pid st now
  [ -f "$1" ] || return 1
  read -r pid st <"$1" || return 1
  [ -n "${pid:-}" ] || return 1
  now=$(proc_starttime "$pid") || return 1
  [ "$now" = "$st" ] || return 1
  printf '%s\n' "$pid"
}

stop_all() {
  [ -d "$PIDS" ] || return 0
  local f pid victims=() i
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    if pid=$(pidfile_alive "$f"); then
      kill -TERM "$pid" 2>/dev/null || true
      victims+=("$f")
    else
      rm -f "$f"
    fi
  done
  # bounded wait for TERM, then KILL what is left
  for ((i = 0; i < 100; i++)); do
    local left=()
    for f in ${victims[@]+"${victims[@]}"}; do
      if pidfile_alive "$f" >/dev/null; then left+=("$f"); else rm -f "$f"; fi
    done
    victims=(${left[@]+"${left[@]}"})
    [ ${#victims[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  for f in "${victims[@]}"; do
    if pid=$(pidfile_alive "$f"); then
      log "$(basename "$f" .pid) (pid $pid) ignored TERM for 10 s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

start_bg() { # name cmd...
  local name=$1
  shift
  "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  record_pid "$name" "$!"
}

wait_http() { # name url
  local name=$1 url=$2 deadline=$((SECONDS + READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    pidfile_alive "$PIDS/$name.pid" >/dev/null || die_log "$name exited while starting" "$LOGS/$name.log"
    if curl -fsS --noproxy '*' -m 2 -o /dev/null "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  die_log "$name did not answer $url within ${READY_TIMEOUT}s" "$LOGS/$name.log"
}

tcp_open() { # port: true when something accepts on 127.0.0.1:port
  # shellcheck disable=SC2016 # $1 is the inner shell's argument
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

wait_redis() { # port
  local port=$1 deadline=$((SECONDS + READY_TIMEOUT)) reply
  while [ $SECONDS -lt $deadline ]; do
    pidfile_alive "$PIDS/redis.pid" >/dev/null || die_log "redis exited while starting" "$LOGS/redis.log"
    # shellcheck disable=SC2016 # $1 is the inner shell's argument
    reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "PING\r\n" >&3; head -c 5 <&3' _ "$port" 2>/dev/null || true)
    [ "$reply" = "+PONG" ] && return 0
    sleep 0.2
  done
  die_log "redis did not answer PING on port $port within ${READY_TIMEOUT}s" "$LOGS/redis.log"
}

# ---------------------------------------------------------------------------

need_tools() {
  local missing=() t
  for t in prometheus promtool prometheus-alertmanager redis-server python3 curl timeout; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  python3 -c 'import chdb' 2>/dev/null || missing+=("python3 module chdb")
  if [ ${#missing[@]} -gt 0 ]; then
    die "missing on PATH: ${missing[*]} — run tests/stack/install-deps.sh (make stack-deps) first"
  fi
  [ -x "$REPLAY_BIN" ] ||
    die "$REPLAY_BIN is missing — build it with: cargo build --release --locked --example replay_upstreams (make build)"
}

on_up_exit() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    log "up failed (exit $rc); stopping what was started (logs kept in $LOGS)"
    stop_all
  fi
}

cmd_up() {
  need_tools
  local t0=$SECONDS

  stop_all
  rm -rf "$STACK_DIR"
  mkdir -p "$PIDS" "$LOGS" "$STACK_DIR/gen"
  trap on_up_exit EXIT

  # data window: END = now - 60 s floored to the step; START = END - 6 h
  local now end start
  now=$(date +%s)
  end=$(((now - 60) / STEP * STEP))
  start=$((end - HOURS * 3600))

  # ports: 3 Prometheus, dead, hung, Alertmanager (east, the tests'), Redis, Alertmanager west/edge
  local ports
  read -r -a ports <<<"$(python3 "$HERE/stack_helper.py" ports 10)"
  [ ${#ports[@]} -eq 10 ] || die "could not reserve 10 free ports"
  local p_east=${ports[0]} p_west=${ports[1]} p_edge=${ports[2]}
  local p_dead=${ports[3]} p_hung=${ports[4]} p_am=${ports[5]} p_redis=${ports[6]}
  local p_am_west=${ports[7]} p_am_edge=${ports[8]} p_ch=${ports[9]}

  # 1. generate OpenMetrics per cluster (in parallel)
  log "generating ${HOURS}h of ${STEP}s data ending $(date -u -d "@$end" +%FT%TZ) for ${CLUSTERS[*]}"
  local c pids=() rc
  for c in "${CLUSTERS[@]}"; do
    python3 "$HERE/gen_openmetrics.py" --cluster "$c" --end "$end" --hours "$HOURS" --step "$STEP" \
      --out "$STACK_DIR/gen/$c.om" >"$LOGS/gen-$c.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!CLUSTERS[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    [ $rc -eq 0 ] || die_log "generator failed for ${CLUSTERS[$i]} (exit $rc)" "$LOGS/gen-${CLUSTERS[$i]}.log"
  done

  # 1b. the ClickHouse store loads the same files (in the background, beside the backfill)
  start_bg clickhouse python3 "$HERE/clickhouse_front.py" --port "$p_ch" --data "$STACK_DIR/clickhouse" \
    --load "east=$STACK_DIR/gen/east.om:east" --load "west=$STACK_DIR/gen/west.om:$CH_WEST_VALUE" \
    --load "edge=$STACK_DIR/gen/edge.om:edge"

  # 2. backfill TSDB blocks (in parallel); promtool rejecting the data fails `up`
  log "backfilling with promtool tsdb create-blocks-from openmetrics"
  pids=()
  for c in "${CLUSTERS[@]}"; do
    mkdir -p "$STACK_DIR/prom-$c/data"
    promtool tsdb create-blocks-from openmetrics "$STACK_DIR/gen/$c.om" "$STACK_DIR/prom-$c/data" \
      >"$LOGS/promtool-$c.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!CLUSTERS[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    [ $rc -eq 0 ] || die_log "promtool rejected the generated data for ${CLUSTERS[$i]} (exit $rc)" \
      "$LOGS/promtool-${CLUSTERS[$i]}.log"
  done
  READY_TIMEOUT=$CH_READY_TIMEOUT wait_http clickhouse "http://127.0.0.1:$p_ch/ping"
  if [ "${STACK_KEEP_OPENMETRICS:-0}" != "1" ]; then
    rm -f "$STACK_DIR"/gen/*.om
  fi

  # 3. one Prometheus per cluster: no scrapes, long retention, own dir and port
  local port extra
  for c in "${CLUSTERS[@]}"; do
    case $c in east) port=$p_east ;; west) port=$p_west ;; edge) port=$p_edge ;; esac
    cat >"$STACK_DIR/prom-$c/prometheus.yml" <<EOF
# Fleetscope test stack: cluster $c. Data is backfilled; nothing is scraped.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs: []
EOF
    # east also stores exemplars, written through its remote-write receiver (demo-exemplars below)
    extra=()
    [ "$c" = east ] && extra=(--enable-feature=exemplar-storage --web.enable-remote-write-receiver)
    start_bg "prometheus-$c" prometheus "${extra[@]}" \
      --config.file="$STACK_DIR/prom-$c/prometheus.yml" \
      --storage.tsdb.path="$STACK_DIR/prom-$c/data" \
      --storage.tsdb.retention.time=3650d \
      --web.listen-address="127.0.0.1:$port" \
      --log.level=warn
  done

  # 4. Alertmanager per cluster: explicit ports, gossip off, null receiver
  mkdir -p "$STACK_DIR/alertmanager"
  cat >"$STACK_DIR/alertmanager/alertmanager.yml" <<'EOF'
# Fleetscope test stack: alerts are accepted and go nowhere.
route:
  receiver: "null"
  group_by: ["alertname"]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: "null"
EOF
  local am_name am_port
  for c in "${CLUSTERS[@]}"; do
    case $c in east) am_name=alertmanager am_port=$p_am ;; west) am_name=alertmanager-west am_port=$p_am_west ;;
      edge) am_name=alertmanager-edge am_port=$p_am_edge ;; esac
    mkdir -p "$STACK_DIR/alertmanager/data-$c"
    start_bg "$am_name" prometheus-alertmanager \
      --config.file="$STACK_DIR/alertmanager/alertmanager.yml" \
      --storage.path="$STACK_DIR/alertmanager/data-$c" \
      --web.listen-address="127.0.0.1:$am_port" \
      --cluster.listen-address= \
      --log.level=warn
  done

  # 5. Redis: no persistence, loopback only
  mkdir -p "$STACK_DIR/redis"
  start_bg redis redis-server --port "$p_redis" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$STACK_DIR/redis"

  # 6. hung cluster: accepts, never answers; dead cluster: the reserved port stays closed
  start_bg hung python3 "$HERE/stack_helper.py" hung "$p_hung"

  # 7. replayed Loki, Tempo and Kubernetes APIs (writes its URLs once listening)
  start_bg replay "$REPLAY_BIN" "$ROOT/tests/fixtures" "$STACK_DIR/replay.env"

  # readiness (deadline per server, log tail on failure)
  for c in "${CLUSTERS[@]}"; do
    case $c in east) port=$p_east ;; west) port=$p_west ;; edge) port=$p_edge ;; esac
    wait_http "prometheus-$c" "http://127.0.0.1:$port/-/ready"
  done
  wait_http alertmanager "http://127.0.0.1:$p_am/-/ready"
  wait_http alertmanager-west "http://127.0.0.1:$p_am_west/-/ready"
  wait_http alertmanager-edge "http://127.0.0.1:$p_am_edge/-/ready"
  wait_redis "$p_redis"
  local deadline=$((SECONDS + READY_TIMEOUT))
  until tcp_open "$p_hung"; do
    pidfile_alive "$PIDS/hung.pid" >/dev/null || die_log "hung server exited while starting" "$LOGS/hung.log"
    [ $SECONDS -lt $deadline ] || die_log "hung server not accepting on $p_hung" "$LOGS/hung.log"
    sleep 0.1
  done
  deadline=$((SECONDS + READY_TIMEOUT))
  until [ -s "$STACK_DIR/replay.env" ]; do
    pidfile_alive "$PIDS/replay.pid" >/dev/null || die_log "replay_upstreams exited while starting" "$LOGS/replay.log"
    [ $SECONDS -lt $deadline ] || die_log "replay_upstreams wrote no URLs within ${READY_TIMEOUT}s" "$LOGS/replay.log"
    sleep 0.1
  done
  if tcp_open "$p_dead"; then
    die "the dead cluster's port $p_dead accepts connections (something else took it); run up again"
  fi

  # env + settings
  cat >"$STACK_DIR/env" <<EOF
FLEETSCOPE_STACK_DIR=$STACK_DIR
PROM_EAST_URL=http://127.0.0.1:$p_east
PROM_WEST_URL=http://127.0.0.1:$p_west
PROM_EDGE_URL=http://127.0.0.1:$p_edge
DEAD_URL=http://127.0.0.1:$p_dead
HUNG_URL=http://127.0.0.1:$p_hung
ALERTMANAGER_URL=http://127.0.0.1:$p_am
ALERTMANAGER_WEST_URL=http://127.0.0.1:$p_am_west
ALERTMANAGER_EDGE_URL=http://127.0.0.1:$p_am_edge
REDIS_URL=redis://127.0.0.1:$p_redis/0
CLICKHOUSE_URL=http://127.0.0.1:$p_ch
CLICKHOUSE_WEST_VALUE=$CH_WEST_VALUE
STACK_DATA_START_MS=$((start * 1000))
STACK_DATA_END_MS=$((end * 1000))
STACK_STEP_SECONDS=$STEP
EOF
  cat "$STACK_DIR/replay.env" >>"$STACK_DIR/env"
  python3 "$HERE/stack_helper.py" config "$STACK_DIR"
  python3 "$HERE/stack_helper.py" demo-alerts "$STACK_DIR" || die "could not post the demo alerts"
  python3 "$HERE/stack_helper.py" demo-exemplars "$STACK_DIR" || die "could not write east's demo exemplars"

  # self-check: documented probe values at STACK_DATA_END_MS, counter rates, all servers
  python3 "$HERE/stack_helper.py" selfcheck "$STACK_DIR" ||
    die "self-check failed (see above; server logs in $LOGS)"

  trap - EXIT
  log "up in $((SECONDS - t0)) s — source $STACK_DIR/env; settings in $STACK_DIR/fleetscope.yaml"
  cat "$STACK_DIR/env"
}

cmd_down() {
  if [ ! -d "$PIDS" ]; then
    log "nothing to stop"
    return 0
  fi
  stop_all
  log "stopped"
}

cmd_status() {
  if [ ! -d "$PIDS" ] || [ ! -f "$STACK_DIR/env" ]; then
    log "not running (no $STACK_DIR/env)"
    return 3
  fi
  local name f pid running=0 stopped=0
  for name in prometheus-east prometheus-west prometheus-edge alertmanager alertmanager-west alertmanager-edge redis hung replay clickhouse; do
    f="$PIDS/$name.pid"
    if pid=$(pidfile_alive "$f"); then
      printf '%-18s running  pid %s\n' "$name" "$pid"
      running=$((running + 1))
    else
      printf '%-18s STOPPED\n' "$name"
      stopped=$((stopped + 1))
    fi
  done
  if [ $running -eq 0 ]; then
    log "not running"
    return 3
  fi
  cat "$STACK_DIR/env"
  [ $stopped -eq 0 ] || return 1
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
