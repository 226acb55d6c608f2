#!/usr/bin/env python3
"""A real Prometheus 2.42 scraping native histograms and exemplars, for recording.

The test stack's Prometheus servers hold backfilled OpenMetrics data, and
`promtool tsdb create-blocks-from openmetrics` (2.42) neither writes native
histograms nor exemplars. Prometheus ingests both only when it scrapes them:
native histograms in the protobuf exposition format with
`--enable-feature=native-histograms`, exemplars with `exemplar-storage`.

This script serves such a target (hand-encoded protobuf, no dependencies),
starts the Debian `prometheus` binary scraping it every second with both
features on, waits until a few scrapes are stored, runs the given command with
`PROM_NATIVE_URL` set, and stops everything it started:

    python3 tests/stack/native_histograms.py -- \
        env FLEETSCOPE_RECORD_PROMETHEUS=1 cargo test --release --test integration prometheus_golden::

Only recording uses it; the golden tests replay the recorded bodies.
"""

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

# --- protobuf encoding (io.prometheus.client.MetricFamily, delimited) -------

from protobuf_wire import field_bytes, field_double, field_varint, label_pair, varint, zigzag  # noqa: E402

COUNTER, HISTOGRAM = 0, 4


def family(name, help_text, typ, metrics):
    body = field_bytes(1, name.encode()) + field_bytes(2, help_text.encode()) + field_varint(3, typ)
    for m in metrics:
        body += field_bytes(4, m)
    return varint(len(body)) + body


def native_histogram(count, total, schema, zero_count, spans, deltas):
    """Histogram{sample_count=1, sample_sum=2, schema=5, zero_threshold=6,
    zero_count=7, positive_span=12 {offset=1 sint32, length=2}, positive_delta=13 sint64}."""
    h = field_varint(1, count) + field_double(2, total) + field_varint(5, zigzag(schema))
    h += field_double(6, 2.938735877055719e-39) + field_varint(7, zero_count)
    for offset, length in spans:
        h += field_bytes(12, field_varint(1, zigzag(offset)) + field_varint(2, length))
    for d in deltas:
        h += field_varint(13, zigzag(d))
    return h


class Target:
    """The scraped values grow with every scrape, like a live service."""

    def __init__(self):
        self.scrapes = 0
        self.lock = threading.Lock()

    def body(self):
        with self.lock:
            self.scrapes += 1
            n = self.scrapes
        # Schema 0 (bucket bounds are powers of 2): buckets (0.5,1], (1,2], (2,4]
        # hold 2n, 3n, n observations; n more sit in the zero bucket.
        counts = [2 * n, 3 * n, n]
        deltas = [counts[0]] + [counts[i] - counts[i - 1] for i in range(1, len(counts))]
        hist = native_histogram(sum(counts) + n, 3.5 * n, 0, n, [(0, 3)], deltas)
        metric = field_bytes(1, label_pair("route", "/v1/chat")) + field_bytes(7, hist)
        out = family("fleetscope_probe_request_seconds", "Fleetscope test probe: a native histogram.", HISTOGRAM, [metric])
        # A counter whose every scrape carries an exemplar with a new trace ID.
        ts = time.time()
        stamp = field_varint(1, int(ts)) + field_varint(2, int((ts % 1) * 1e9))
        exemplar = field_bytes(1, label_pair("trace_id", "%032x" % (0xF1EE7 * n))) + field_double(2, 0.25 * n) + field_bytes(3, stamp)
        counter = field_double(1, float(10 * n)) + field_bytes(2, exemplar)
        metric = field_bytes(1, label_pair("route", "/v1/chat")) + field_bytes(3, counter)
        out += family("fleetscope_probe_traced_requests_total", "Fleetscope test probe: a counter with exemplars.", COUNTER, [metric])
        return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def main():
    if "--" not in sys.argv:
        sys.exit("usage: native_histograms.py -- COMMAND [ARGS…]")
    command = sys.argv[sys.argv.index("--") + 1:]
    target = Target()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = target.body()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="fleetscope-native-")
    port = free_port()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: native\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n        labels: {instance: native-0}\n" % server.server_address[1]
        )
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    prom = subprocess.Popen(
        [
            "prometheus",
            "--config.file=" + os.path.join(tmp, "prometheus.yml"),
            "--storage.tsdb.path=" + os.path.join(tmp, "data"),
            "--web.listen-address=127.0.0.1:%d" % port,
            "--enable-feature=native-histograms,exemplar-storage",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.time() + 60
        while True:
            if prom.poll() is not None or time.time() > deadline:
                log.flush()
                sys.stderr.write(open(os.path.join(tmp, "prometheus.log")).read()[-3000:])
                sys.exit("prometheus did not store native histograms and exemplars")
            try:
                q = get_json(url + "/api/v1/query?" + urllib.parse.urlencode({"query": "fleetscope_probe_request_seconds"}))
                now = time.time()
                e = get_json(url + "/api/v1/query_exemplars?" + urllib.parse.urlencode(
                    {"query": "fleetscope_probe_traced_requests_total", "start": now - 60, "end": now}))
                hist = [r for r in q["data"]["result"] if "histogram" in r]
                exemplars = sum(len(s["exemplars"]) for s in e["data"])
                if hist and exemplars >= 5 and target.scrapes >= 8:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        env = dict(os.environ, PROM_NATIVE_URL=url)
        rc = subprocess.call(command, env=env)
    finally:
        prom.send_signal(signal.SIGTERM)
        try:
            prom.wait(10)
        except subprocess.TimeoutExpired:
            prom.kill()
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
