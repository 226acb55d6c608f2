#!/usr/bin/env python3
"""ClickHouse's HTTP interface over chDB (ClickHouse in-process), for the test stack.

    clickhouse_front.py --port 8123 --data DIR --load east=east.om:east --load west=west.om:<uuid>

Every query a client sends is executed by the chDB engine; this file only
speaks the HTTP protocol of clickhouse-server around it:

* the query is the `query` URL parameter and/or the request body (joined by a
  newline, as clickhouse-server does); `param_<name>` values bind `{name:Type}`
  placeholders; `database`, `default_format` are honoured; every other URL
  parameter is a setting (`readonly`, `max_result_rows`, ...) applied to the query;
* answers carry `X-ClickHouse-Format`; errors are `Code: N. DB::Exception: ...`
  with `X-ClickHouse-Exception-Code: N` and the status clickhouse-server uses
  for that code (400 for bad queries, 404 unknown table/database, 403 auth,
  500 otherwise);
* `/ping` answers `Ok.`; `/_front/queries` (test-only, not ClickHouse's) lists
  the last 2000 queries received (text, bound parameters, settings), so tests
  can count the statements a request caused; with `--user`/`--password`, basic auth or
  `X-ClickHouse-User`/`X-ClickHouse-Key` must match (code 516 otherwise).

At start it creates the OpenTelemetry Collector ClickHouse exporter's metric
tables (otel_metrics_gauge/_sum/_histogram, the exporter's DDL with a plain
MergeTree engine) in database `otel` and loads the same OpenMetrics files the
stack's Prometheus servers are backfilled from, parsed by the engine itself: gauge and unknown families →
gauge, counters → sum (cumulative, monotonic), histograms → histogram (OTLP
per-bucket counts, bounds without +Inf). Every point carries the cluster's
value as resource attribute `cluster_id`; labels become point attributes.
Python 3 stdlib + chdb.
"""

import argparse
import base64
import collections
import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chdb
from chdb import session as chdb_session

COMMON = """
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),"""
EXEMPLARS = """
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),"""
TAIL = """
    PARTITION BY toDate(TimeUnix)
    ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
    SETTINGS index_granularity=8192, ttl_only_drop_parts = 1"""

DDL = {
    "otel_metrics_gauge": COMMON + """
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),""" + EXEMPLARS,
    "otel_metrics_sum": COMMON + """
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),""" + EXEMPLARS + """
    AggregationTemporality Int32 CODEC(ZSTD(1)),
    IsMonotonic Boolean CODEC(Delta, ZSTD(1)),""",
    "otel_metrics_histogram": COMMON + """
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    BucketCounts Array(UInt64) CODEC(ZSTD(1)),
    ExplicitBounds Array(Float64) CODEC(ZSTD(1)),""" + EXEMPLARS + """
    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),""",
}

# clickhouse-server's HTTP status per exception code (the ones a client meets).
STATUS = {62: 400, 47: 400, 36: 400, 43: 400, 46: 400, 53: 400, 70: 400, 344: 400, 456: 400, 457: 400,
          60: 404, 81: 404, 164: 403, 516: 403, 159: 504, 396: 500}
NOT_SETTINGS = {"query", "database", "default_format", "user", "password", "query_id", "session_id",
                "session_timeout", "compress", "decompress", "buffer_size", "wait_end_of_query"}
CODE_RE = re.compile(r"Code: (\d+)\.")


def sql_string(v):
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_and_load(sess, loads):
    """Create the exporter's tables and load each OpenMetrics file, parsed by the engine itself."""
    sess.query("CREATE DATABASE IF NOT EXISTS otel")
    for name, cols in DDL.items():
        sess.query("CREATE TABLE IF NOT EXISTS otel.%s (%s\n) ENGINE = MergeTree %s" % (name, cols.rstrip(","), TAIL))
    for spec in loads:
        _cluster, rest = spec.split("=", 1)
        path, value = rest.rsplit(":", 1)
        src = "file(%s, 'LineAsString')" % sql_string(os.path.abspath(path))
        res = "map('cluster_id', %s, 'service.name', 'prometheus-bridge')" % sql_string(value)
        # One row per sample: family (the `# TYPE` name the sample belongs to), type, labels, value, time.
        samples = """
            WITH (SELECT CAST((groupArray(splitByChar(' ', line)[3]), groupArray(splitByChar(' ', line)[4])) AS Map(String, String))
                  FROM {src} WHERE startsWith(line, '# TYPE ')) AS types
            SELECT sname, fam, types[fam] AS typ, labels, value, ts FROM (
              SELECT sname, labels, value, ts,
                multiIf(mapContains(types, sname), sname,
                        endsWith(sname, '_total') AND mapContains(types, substring(sname, 1, length(sname) - 6)), substring(sname, 1, length(sname) - 6),
                        endsWith(sname, '_bucket') AND mapContains(types, substring(sname, 1, length(sname) - 7)), substring(sname, 1, length(sname) - 7),
                        endsWith(sname, '_count') AND mapContains(types, substring(sname, 1, length(sname) - 6)), substring(sname, 1, length(sname) - 6),
                        endsWith(sname, '_sum') AND mapContains(types, substring(sname, 1, length(sname) - 4)), substring(sname, 1, length(sname) - 4),
                        sname) AS fam
              FROM (
                SELECT position(line, '{{') AS brace,
                  if(brace > 0, substring(line, 1, brace - 1), splitByChar(' ', line)[1]) AS sname,
                  if(brace > 0, extractKeyValuePairsWithEscaping(substring(line, brace + 1, length(line) - brace - position(reverse(line), '}}')), '=', ',', '"'),
                     map()) AS labels,
                  splitByChar(' ', substring(line, if(brace > 0, length(line) - position(reverse(line), '}}') + 3, length(sname) + 2))) AS rest,
                  toFloat64(rest[1]) AS value, toInt64(rest[2]) AS ts
                FROM {src} WHERE NOT startsWith(line, '#') AND line != ''))
        """.format(src=src)
        sess.query(
            "INSERT INTO otel.otel_metrics_gauge (ResourceAttributes, ServiceName, MetricName, Attributes, TimeUnix, Value) "
            "SELECT %s, 'prometheus-bridge', sname, labels, fromUnixTimestamp64Milli(ts * 1000), value "
            "FROM (%s) WHERE typ IN ('gauge', 'unknown', '')" % (res, samples))
        sess.query(
            "INSERT INTO otel.otel_metrics_sum (ResourceAttributes, ServiceName, MetricName, Attributes, TimeUnix, Value, "
            "AggregationTemporality, IsMonotonic) "
            "SELECT %s, 'prometheus-bridge', sname, labels, fromUnixTimestamp64Milli(ts * 1000), value, 2, true "
            "FROM (%s) WHERE typ = 'counter'" % (res, samples))
        # Histograms: cumulative `le` buckets → OTLP per-bucket counts and bounds without +Inf.
        sess.query(
            "INSERT INTO otel.otel_metrics_histogram (ResourceAttributes, ServiceName, MetricName, Attributes, TimeUnix, Count, Sum, "
            "BucketCounts, ExplicitBounds, AggregationTemporality) "
            "SELECT %s, 'prometheus-bridge', fam, attrs, fromUnixTimestamp64Milli(ts * 1000), toUInt64(cnt), total, "
            "  arrayMap(x -> toUInt64(x), arrayConcat([cum[1]], arraySlice(arrayDifference(cum), 2))), "
            "  arrayFilter(b -> NOT isInfinite(b), arrayMap(p -> p.1, buckets)), 2 "
            "FROM (SELECT fam, attrs, ts, arraySort(p -> p.1, groupArrayIf((toFloat64OrZero(labels['le']), value), endsWith(sname, '_bucket'))) AS buckets, "
            "        arrayMap(p -> p.2, buckets) AS cum, anyIf(value, endsWith(sname, '_count')) AS cnt, anyIf(value, endsWith(sname, '_sum')) AS total "
            "      FROM (SELECT fam, mapFilter((k, v) -> k != 'le', labels) AS attrs, sname, labels, value, ts FROM (%s) WHERE typ = 'histogram') "
            "      GROUP BY fam, attrs, ts)" % (res, samples))


def setting_literal(v):
    if re.fullmatch(r"-?\d+(\.\d+)?", v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Front(BaseHTTPRequestHandler):
    server_version = "ClickHouse-chDB-front"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("clickhouse-front: %s\n" % (fmt % args))

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, code, message, status=None):
        body = ("Code: %d. DB::Exception: %s\n" % (code, message)).encode()
        self.reply(status or STATUS.get(code, 500), body, [("X-ClickHouse-Exception-Code", str(code)),
                                                            ("Content-Type", "text/plain; charset=UTF-8")])

    def authorised(self):
        want = self.server.credentials
        if want is None:
            return True
        user = self.headers.get("X-ClickHouse-User")
        key = self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, key = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                return False
        return (user, key) == want

    def do_GET(self):
        self.handle_query(b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.handle_query(self.rfile.read(length))

    def handle_query(self, body):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_front/queries":
            with self.server.lock:
                data = json.dumps(list(self.server.received)).encode()
            return self.reply(200, data, [("Content-Type", "application/json")])
        if url.path == "/ping" or (url.path == "/" and not url.query and not body):
            return self.reply(200, b"Ok.\n")
        if not self.authorised():
            return self.fail(516, "default: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)")
        params = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        query = "\n".join(p for p in [dict(params).get("query", ""), body.decode("utf-8", "replace")] if p).strip()
        if not query:
            return self.fail(62, "Empty query. (SYNTAX_ERROR)")
        binds = {k[6:]: v for k, v in params if k.startswith("param_")}
        settings = [(k, v) for k, v in params if not k.startswith("param_") and k not in NOT_SETTINGS]
        # clickhouse-server applies URL settings together; in a SETTINGS clause `readonly` goes last.
        settings.sort(key=lambda kv: kv[0] == "readonly")
        fmt = dict(params).get("default_format", "TabSeparated")
        m = re.search(r"\bFORMAT\s+(\w+)\s*;?\s*$", query, re.I)
        if m:
            fmt = m.group(1)
            query = query[: m.start()].rstrip()
        query = query.rstrip().rstrip(";")
        with self.server.lock:
            self.server.received.append({"query": query, "params": binds, "settings": dict(settings), "format": fmt})
        if settings:
            query += " SETTINGS " + ", ".join("%s = %s" % (k, setting_literal(v)) for k, v in settings)
        with self.server.lock:
            try:
                if "database" in dict(params):
                    self.server.session.query("USE " + dict(params)["database"])
                res = self.server.session.query(query, fmt, params=binds)
                data = res.bytes()
            except Exception as e:  # chdb raises ChdbError / RuntimeError with the server's text
                # A query that failed mid-stream can leave its rest in the
                # connection, answered to the next query: start a fresh one.
                self.server.session.close()
                self.server.session = chdb_session.Session(self.server.db_path)
                text = str(e).strip()
                m = CODE_RE.search(text)
                code = int(m.group(1)) if m else 1002
                msg = text.split("DB::Exception: ", 1)[-1] if "DB::Exception: " in text else text
                return self.fail(code, msg)
        self.reply(200, data, [("X-ClickHouse-Format", fmt), ("Content-Type", "application/octet-stream")])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", required=True, help="chDB data directory")
    ap.add_argument("--load", action="append", default=[], help="CLUSTER=FILE.om:VALUE")
    ap.add_argument("--user")
    ap.add_argument("--password")
    a = ap.parse_args(argv)
    os.makedirs(a.data, exist_ok=True)
    db_path = os.path.join(a.data, "db")
    sess = chdb_session.Session(db_path)
    create_and_load(sess, a.load)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Front)
    srv.session = sess
    srv.db_path = db_path
    srv.lock = threading.Lock()
    srv.received = collections.deque(maxlen=2000)
    srv.credentials = (a.user, a.password or "") if a.user else None
    sys.stderr.write("clickhouse-front: chDB %s listening on 127.0.0.1:%d\n" % (chdb.__version__, a.port))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
