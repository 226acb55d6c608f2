#!/usr/bin/env python3
"""Small helpers for tests/stack/stack.sh (Python 3 stdlib only).

    stack_helper.py ports N                 print N distinct free 127.0.0.1 TCP ports
    stack_helper.py hung PORT               accept connections on PORT and never answer
    stack_helper.py config STACK_DIR        write fleetscope.yaml, settings.json, fleetscope-demo.yaml, settings-demo.json
    stack_helper.py selfcheck STACK_DIR     check every server answers with the documented probe values
    stack_helper.py demo-alerts STACK_DIR   post each cluster's demo alerts to its Alertmanager
    stack_helper.py demo-exemplars STACK_DIR  write east's demo exemplars (remote write) and check they are queryable
"""

import collections
import json
import random
import signal
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request

from protobuf_wire import field_bytes, field_double, field_varint, label_pair, varint

# --------------------------------------------------------------------------
# ports
# --------------------------------------------------------------------------


# The stack's band: below tests/support/ports.rs (20000 up) and below the kernel's
# ephemeral range, so no test's `bind(0)`, no outgoing connection and no
# test-started server is ever given one of these ports, and the `dead` cluster's
# port stays dead for the whole run.
STACK_PORTS = range(10000, 20000)


def cmd_ports(n):
    """Reserve n distinct free ports from the stack's band, print them, release them.

    All n stay bound until printed, so they are distinct; the scan starts at a
    random point so two stacks (the demo's and the tests') rarely probe the same ports.
    """
    socks = []
    start = random.randrange(len(STACK_PORTS))
    try:
        for i in range(len(STACK_PORTS)):
            if len(socks) == n:
                break
            port = STACK_PORTS[(start + i) % len(STACK_PORTS)]
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
        if len(socks) < n:
            print(f"only {len(socks)} of {n} ports free in {STACK_PORTS.start}..{STACK_PORTS.stop}", file=sys.stderr)
            return 1
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()
    return 0


# --------------------------------------------------------------------------
# hung server: the `hung` cluster
# --------------------------------------------------------------------------

HELD_MAX = 512


def cmd_hung(port):
    """Accept TCP connections and hold them open without reading or answering.

    A client connects at once, sends its request, and then waits for a
    response that never comes: only its own timeout ends the call. The oldest
    held connection is closed when more than HELD_MAX are open.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(256)
    print("hung server: accepting on 127.0.0.1:%d and never answering" % port, flush=True)
    held = collections.deque()
    while True:
        conn, _ = srv.accept()
        held.append(conn)
        if len(held) > HELD_MAX:
            held.popleft().close()


# --------------------------------------------------------------------------
# env + datasource settings
# --------------------------------------------------------------------------


def read_env(stack_dir):
    env = {}
    with open(stack_dir + "/env", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            k, _, v = line.partition("=")
            env[k] = v
    return env


def settings(env, demo):
    def prom(url):
        return {"url": url, "kind": "prometheus"}

    clusters = [
        {"id": "east", "name": "prod-east-1", "labels": {"region": "us-east-1", "env": "prod"},
         "prometheus": prom(env["PROM_EAST_URL"]), "alertmanager": {"url": env["ALERTMANAGER_URL"]}},
        {"id": "west", "name": "prod-west-1", "labels": {"region": "us-west-2", "env": "prod"},
         "prometheus": prom(env["PROM_WEST_URL"])},
        {"id": "edge", "name": "edge-lab-1", "labels": {"region": "eu-central-1", "env": "lab"},
         "prometheus": prom(env["PROM_EDGE_URL"])},
    ]
    if demo:
        # Every backend on every demo cluster: Alertmanagers are real, Loki/Tempo/Kubernetes replayed.
        for c in clusters:
            up = c["id"].upper()
            if c["id"] != "east":
                c["alertmanager"] = {"url": env["ALERTMANAGER_%s_URL" % up]}
            c["loki"] = {"url": env["LOKI_%s_URL" % up]}
            c["tempo"] = {"url": env["TEMPO_%s_URL" % up]}
            c["kubernetes"] = {"server": env["K8S_%s_URL" % up]}
    else:
        clusters += [
            {"id": "dead", "name": "dead-cluster", "prometheus": prom(env["DEAD_URL"])},
            {"id": "hung", "name": "hung-cluster", "prometheus": prom(env["HUNG_URL"])},
        ]
    json_data = {
        "clusters": clusters,
        "query": {"timeoutSeconds": 3, "retryAttempts": 2, "retryDelaySeconds": 0.05},
    }
    if demo:
        # Logs → traces: the gateway's JSON lines and the model servers' logfmt carry trace_id.
        json_data["derivedFields"] = [{"name": "traceID", "matcherRegex": 'trace_id["=:]+"?([0-9a-f]{32})'}]
        # The long-term store (seed 004): one ClickHouse for all clusters; west is a UUID there.
        if env.get("CLICKHOUSE_URL"):
            json_data["clickhouse"] = [{"id": "central", "url": env["CLICKHOUSE_URL"], "database": "otel"}]
            for c in clusters:
                c["clickhouse"] = {"store": "central"}
                if c["id"] == "west":
                    c["clickhouse"]["clusterValue"] = env["CLICKHOUSE_WEST_VALUE"]
    return {"jsonData": json_data, "secureJsonData": {}}


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    # every string we write is plain (URLs, ids, names); quote to be safe anyway
    return json.dumps(v)


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts/lists of scalars (enough for the settings)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.extend(to_yaml(v, indent + 1))
            elif isinstance(v, dict):
                lines.append("%s%s: {}" % (pad, k))
            elif isinstance(v, list):
                lines.append("%s%s: []" % (pad, k))
            else:
                lines.append("%s%s: %s" % (pad, k, yaml_scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict) and item:
                sub = to_yaml(item, indent + 1)
                # "- " takes the place of the first line's indentation
                sub[0] = pad + "- " + sub[0].lstrip()
                lines.extend(sub)
            else:
                lines.append("%s- %s" % (pad, yaml_scalar(item)))
    return lines


def cmd_config(stack_dir):
    env = read_env(stack_dir)
    head = ("# Written by tests/stack/stack.sh up: Fleetscope datasource settings for the local test stack.\n"
            "# Regenerated (new ports) on every `up`.\n")
    full = settings(env, demo=False)
    demo = settings(env, demo=True)
    with open(stack_dir + "/fleetscope.yaml", "w", encoding="utf-8") as f:
        f.write(head + "\n".join(to_yaml(full)) + "\n")
    with open(stack_dir + "/fleetscope-demo.yaml", "w", encoding="utf-8") as f:
        f.write(head + "# Demo: healthy clusters only (no dead/hung).\n" + "\n".join(to_yaml(demo)) + "\n")
    for name, doc in (("settings.json", full), ("settings-demo.json", demo)):
        with open(stack_dir + "/" + name, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    return 0


# --------------------------------------------------------------------------
# self-check
# --------------------------------------------------------------------------

EXPECT_PROBE = {
    "east": {"probe-0": 1.0, "probe-1": 10.0},
    "west": {"probe-0": 2.0, "probe-1": 20.0},
    "edge": {"probe-0": 4.0},
}
EXPECT_RATE = {"east": 1.0, "west": 2.0, "edge": 3.0}


# loopback only: never go through an http_proxy from the environment
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url, params, timeout=10):
    full = url + "?" + urllib.parse.urlencode(params)
    with OPENER.open(full, timeout=timeout) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError("%s: %s" % (full, body))
    return body["data"]


def cmd_selfcheck(stack_dir):
    env = read_env(stack_dir)
    end_s = int(env["STACK_DATA_END_MS"]) // 1000
    start_s = int(env["STACK_DATA_START_MS"]) // 1000
    step = int(env["STACK_STEP_SECONDS"])
    want_points = (end_s - start_s) // step + 1
    errors = []
    for cluster in ("east", "west", "edge"):
        base = env["PROM_%s_URL" % cluster.upper()]
        try:
            data = get_json(base + "/api/v1/query", {"query": "fleetscope_probe_value", "time": str(end_s)})
            got = {r["metric"].get("instance"): float(r["value"][1]) for r in data["result"]}
            if got != EXPECT_PROBE[cluster]:
                errors.append("%s (%s): fleetscope_probe_value at %d = %s, expected %s"
                              % (cluster, base, end_s, got, EXPECT_PROBE[cluster]))
            data = get_json(base + "/api/v1/query",
                            {"query": "rate(fleetscope_probe_counter_total[1m])", "time": str(end_s)})
            rates = [float(r["value"][1]) for r in data["result"]]
            if len(rates) != 1 or abs(rates[0] - EXPECT_RATE[cluster]) > 1e-9:
                errors.append("%s (%s): rate(fleetscope_probe_counter_total[1m]) at %d = %s, expected [%s]"
                              % (cluster, base, end_s, rates, EXPECT_RATE[cluster]))
            data = get_json(base + "/api/v1/query_range",
                            {"query": 'fleetscope_probe_value{instance="probe-0"}', "start": str(start_s),
                             "end": str(end_s), "step": str(step)})
            n = len(data["result"][0]["values"]) if data["result"] else 0
            if n != want_points:
                errors.append("%s (%s): range query over the data window returned %d points, expected %d"
                              % (cluster, base, n, want_points))
        except (OSError, urllib.error.URLError, RuntimeError, ValueError, KeyError) as e:
            errors.append("%s (%s): query failed: %s" % (cluster, base, e))
    try:
        with OPENER.open(env["ALERTMANAGER_URL"] + "/api/v2/status", timeout=10) as r:
            json.load(r)
    except (OSError, urllib.error.URLError, ValueError) as e:
        errors.append("alertmanager (%s): /api/v2/status failed: %s" % (env["ALERTMANAGER_URL"], e))
    rport = int(env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    try:
        with socket.create_connection(("127.0.0.1", rport), timeout=5) as s:
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
        if not reply.startswith(b"+PONG"):
            errors.append("redis (%s): PING answered %r" % (env["REDIS_URL"], reply))
    except OSError as e:
        errors.append("redis (%s): %s" % (env["REDIS_URL"], e))
    dport = int(env["DEAD_URL"].rsplit(":", 1)[1])
    try:
        socket.create_connection(("127.0.0.1", dport), timeout=2).close()
        errors.append("dead (%s): something accepts connections there" % env["DEAD_URL"])
    except ConnectionRefusedError:
        pass
    except OSError as e:
        errors.append("dead (%s): expected connection refused, got %s" % (env["DEAD_URL"], e))
    hport = int(env["HUNG_URL"].rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", hport), timeout=2) as s:
            s.sendall(b"GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(0.5)
            try:
                got = s.recv(16)
                errors.append("hung (%s): answered %r" % (env["HUNG_URL"], got))
            except socket.timeout:
                pass
    except OSError as e:
        errors.append("hung (%s): expected an accepting, silent server: %s" % (env["HUNG_URL"], e))
    if errors:
        for e in errors:
            print("selfcheck: FAIL " + e, file=sys.stderr)
        return 1
    print("selfcheck: ok (probe values, counter rates, %d-point ranges, alertmanager, redis, dead, hung)"
          % want_points)
    return 0


# --------------------------------------------------------------------------
# demo alerts: what each cluster's Alertmanager holds in the demo (the
# provisioned rules' names and labels), ending in 7 days so `make demo` keeps them
# --------------------------------------------------------------------------

DEMO_ALERTS = {
    "east": [
        ({"alertname": "HighGPUTemperature", "severity": "critical", "Hostname": "gpu-node-a3", "gpu": "3"},
         "GPU 3 on gpu-node-a3 is at 87 °C", "Above 85 °C for 5 minutes; clocks are thermally throttled."),
        ({"alertname": "HighErrorRate", "severity": "warning", "team": "code-review"},
         "code-review error rate is 1.8 %", "5xx responses above 1 % of gateway requests for 5 minutes."),
    ],
    "west": [
        ({"alertname": "BudgetExceeded", "severity": "critical", "team": "support-copilot"},
         "support-copilot spent 107 % of its budget", "Spend is above the monthly limit."),
        ({"alertname": "HighDriftScore", "severity": "warning", "model_name": "mixtral-8x7b-instruct"},
         "mixtral-8x7b-instruct drift score 0.19", "Drift above 0.15 for 30 minutes."),
        ({"alertname": "HighGPUMemory", "severity": "warning", "Hostname": "gpu-node-b1", "gpu": "0"},
         "GPU 0 on gpu-node-b1 uses 93 % of its memory", "Framebuffer above 90 % for 10 minutes."),
    ],
    "edge": [
        ({"alertname": "PTPOffsetHigh", "severity": "warning", "node": "edge-gpu-1", "iface": "enox"},
         "PTP offset on edge-gpu-1 is 1.2 µs", "ptp4l offset from master above 100 ns; the clock is in HOLDOVER."),
        ({"alertname": "ServiceDown", "severity": "critical", "job": "llm-apps/support-bot"},
         "llm-apps/support-bot is down", "The scrape target has been down for 2 minutes."),
    ],
}


def cmd_demo_alerts(stack_dir):
    import datetime
    env = read_env(stack_dir)
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for cluster, alerts in DEMO_ALERTS.items():
        url = env["ALERTMANAGER_URL" if cluster == "east" else "ALERTMANAGER_%s_URL" % cluster.upper()]
        body = [{"labels": dict(labels, demo="fleetscope"), "annotations": {"summary": summary, "description": desc},
                 "startsAt": fmt(now - datetime.timedelta(minutes=20)), "endsAt": fmt(now + datetime.timedelta(days=7)),
                 "generatorURL": "http://grafana.local/alerting/list"}
                for labels, summary, desc in alerts]
        req = urllib.request.Request(url + "/api/v2/alerts", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with OPENER.open(req, timeout=10) as r:
            if r.status != 200:
                print("demo-alerts: %s answered %d" % (url, r.status), file=sys.stderr)
                return 1
    return 0


# --------------------------------------------------------------------------
# demo exemplars: backfilled blocks carry no exemplars (promtool drops them), so
# east's Prometheus (exemplar storage and the remote-write receiver on) gets a
# few through its remote-write API, on one existing gateway_requests_total
# series, inside the data window; each names the trace the replayed Tempo of
# east holds whole, so an exemplar's "View trace" link opens a real trace.
# --------------------------------------------------------------------------

DEMO_TRACE_ID = "6c48c5c2029f7c3ddb565ad52f1ac6bd"
DEMO_EXEMPLARS = 6  # one every 5 minutes, the newest 5 minutes before STACK_DATA_END_MS


def _pb_labels(num, labels):
    return b"".join(field_bytes(num, label_pair(k, v)) for k, v in sorted(labels.items()))


def _snappy_literal(data):
    """Snappy block format with literals only (valid, uncompressed): what remote write requires."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2, n & 0xFF, n >> 8])
        out += chunk
    return bytes(out)


def cmd_demo_exemplars(stack_dir):
    import time
    env = read_env(stack_dir)
    base = env["PROM_EAST_URL"]
    end_ms = int(env["STACK_DATA_END_MS"])
    # The series to carry them: the first gateway_requests_total series at the data's end, and its value.
    result = get_json(base + "/api/v1/query", {"query": "gateway_requests_total", "time": str(end_ms / 1000)})["result"]
    if not result:
        print("demo-exemplars: east has no gateway_requests_total at %d" % end_ms, file=sys.stderr)
        return 1
    series = sorted(result, key=lambda r: sorted(r["metric"].items()))[0]
    labels, value = series["metric"], float(series["value"][1])
    # A head series needs a sample: one at now, with the value it had at the end (the counter stays flat).
    now_ms = int(time.time() * 1000)
    exemplars = b"".join(
        field_bytes(3, _pb_labels(1, {"trace_id": DEMO_TRACE_ID}) + field_double(2, 1.0)
                    + field_varint(3, end_ms - (DEMO_EXEMPLARS - i) * 300_000))
        for i in range(DEMO_EXEMPLARS))
    ts = _pb_labels(1, labels) + field_bytes(2, field_double(1, value) + field_varint(2, now_ms)) + exemplars
    body = _snappy_literal(field_bytes(1, ts))
    req = urllib.request.Request(base + "/api/v1/write", data=body, method="POST", headers={
        "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    try:
        with OPENER.open(req, timeout=10) as r:
            if r.status // 100 != 2:
                print("demo-exemplars: %s/api/v1/write answered %d" % (base, r.status), file=sys.stderr)
                return 1
    except urllib.error.HTTPError as e:
        print("demo-exemplars: %s/api/v1/write answered %d: %s" % (base, e.code, e.read()[:300]), file=sys.stderr)
        return 1
    data = get_json(base + "/api/v1/query_exemplars", {
        "query": "gateway_requests_total", "start": str(end_ms / 1000 - 3600), "end": str(end_ms / 1000)})
    got = sum(len(s["exemplars"]) for s in data)
    if got != DEMO_EXEMPLARS:
        print("demo-exemplars: east holds %d exemplars in the last hour of data, expected %d" % (got, DEMO_EXEMPLARS),
              file=sys.stderr)
        return 1
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "ports" and len(args) == 1:
        return cmd_ports(int(args[0]))
    if cmd == "hung" and len(args) == 1:
        return cmd_hung(int(args[0]))
    if cmd == "config" and len(args) == 1:
        return cmd_config(args[0])
    if cmd == "selfcheck" and len(args) == 1:
        return cmd_selfcheck(args[0])
    if cmd == "demo-alerts" and len(args) == 1:
        return cmd_demo_alerts(args[0])
    if cmd == "demo-exemplars" and len(args) == 1:
        return cmd_demo_exemplars(args[0])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
