#!/usr/bin/env bash
# `make demo`: three local "clusters" with demo data (real Prometheus and
# Alertmanagers, replayed Loki/Tempo/Kubernetes), the plugin's API server on
# them, federated queries printed, then serve until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
# The static musl build make build makes (the linux/amd64 binary make dist ships).
bin=target/${FLEETSCOPE_TARGET:-x86_64-unknown-linux-musl}/release/gpx_fleetscope
listen=${FLEETSCOPE_DEMO_LISTEN:-127.0.0.1:8080}

tests/stack/stack.sh up
trap 'kill "${server:-}" 2>/dev/null || true; tests/stack/stack.sh down' EXIT
set -a; source "${FLEETSCOPE_STACK_DIR:-.stack}/env"; set +a
config="$FLEETSCOPE_STACK_DIR/fleetscope-demo.yaml"

echo
echo "== Health of every cluster"
"$bin" check --config "$config"
echo
end=$((STACK_DATA_END_MS / 1000))
echo "== Federated PromQL: GPU utilisation, average per cluster (last value of each series)"
"$bin" query --config "$config" --to "$end" --from 30m \
  'avg by (cluster, modelName) (DCGM_FI_DEV_GPU_UTIL)'
echo
echo "== Same query, summed across clusters by GPU model (aggregate=sum)"
"$bin" query --config "$config" --to "$end" --from 30m --aggregate sum \
  'avg by (modelName) (DCGM_FI_DEV_GPU_UTIL)'
echo
echo "== The same question of the long-term ClickHouse store (seed 004): one SQL statement for all clusters"
"$bin" query --config "$config" --to "$end" --from 30m \
  '{"queryType":"metrics","source":"clickhouse","metric":"DCGM_FI_DEV_GPU_UTIL","groupBy":["modelName"],"reduce":"avg"}'
echo
"$bin" serve --config "$config" --listen "$listen" &
server=$!
for _ in $(seq 50); do curl -fs "http://$listen/api/v1/clusters" >/dev/null 2>&1 && break; sleep 0.1; done
echo "== The API is up. Try:"
echo "   curl -s http://$listen/api/v1/clusters"
echo "   curl -s -XPOST http://$listen/api/v1/metrics/query -d '{\"query\":\"sum by (cluster) (vllm:num_requests_running)\",\"time\":$end}'"
echo "   curl -s 'http://$listen/api/v1/metrics/label/modelName/values'"
echo "   curl -s 'http://$listen/api/v1/alerts'                      # every cluster's Alertmanager"
echo "   curl -s -XPOST http://$listen/api/v1/cluster-metrics/query -d '{\"cluster_id\":\"west\",\"metric_name\":\"DCGM_FI_DEV_GPU_UTIL\",\"aggregation\":\"avg\",\"end_time\":$end}'"
echo "   curl -s http://$listen/api/v1/cluster-metrics/east/summary?time=$end   # ClickHouse store"
echo "   curl -s -XPOST http://$listen/api/v1/logs/query_range -d '{\"query\":\"{app=~\\\".+\\\"} |= \\\"error\\\"\"}'"
echo "   $bin query --config $config --output json '{\"queryType\":\"gpu\",\"view\":\"processes\",\"source\":\"nvidia-smi\"}'"
echo "(data ends at $(date -d @"$end" -u +%FT%TZ); Ctrl-C stops the demo and the stack)"
if [ "${CI:-}" = "true" ] || [ -n "${FLEETSCOPE_DEMO_ONESHOT:-}" ]; then
  curl -fsS -XPOST "http://$listen/api/v1/metrics/query" -d "{\"query\":\"count by (cluster) (DCGM_FI_DEV_GPU_UTIL)\",\"time\":$end}"
  echo
  exit 0
fi
wait "$server"
