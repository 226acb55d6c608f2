#!/usr/bin/env python3
"""Deterministic OpenMetrics data for one Fleetscope test-stack "cluster".

    gen_openmetrics.py --cluster east --end 1795261020 --out east.om
    gen_openmetrics.py --cluster east --end 1795261020 --stats     # series count only

Writes samples for every STEP seconds in [END - HOURS h, END] (END must be a
multiple of STEP) for the cluster's metric families, then `# EOF`. The output
is meant for `promtool tsdb create-blocks-from openmetrics`.

Two kinds of data (tests/stack/README.md documents both):

* probe series (`fleetscope_probe_*`) with exact, documented values that Rust
  and Go tests assert;
* realistic demo data (DCGM, vLLM, LLM gateway, SageMaker, budget/drift, macOS
  power, PTP, kube-state-metrics, cAdvisor, node-exporter), shaped per cluster.

Determinism: every value is a function of (cluster, series key, timestamp) —
smooth diurnal sines, value noise from an integer hash, periodic "incident"
windows in absolute time — so two runs with the same END write identical
bytes. Counters are cumulative sums of non-negative rates (monotonic), started
from a value that depends only on the week START falls in. Python 3 stdlib only.

No series carries a `cluster` or `cluster_id` label (the plugin adds them),
except the probe `fleetscope_probe_cluster_label`, which exists to test how the
plugin treats an upstream `cluster` label.
"""

import argparse
import math
import sys
import zlib

TAU = 2.0 * math.pi
DAY = 86400
WEEK = 7 * DAY
MASK32 = 0xFFFFFFFF

# --------------------------------------------------------------------------
# deterministic signal primitives
# --------------------------------------------------------------------------


def seed_of(*parts):
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode("utf-8")) & MASK32


def hnoise(seed, i):
    """White noise in [-1, 1) for integer i (a 32-bit integer hash)."""
    h = ((i * 0x9E3779B1) ^ seed) & MASK32
    h ^= h >> 16
    h = (h * 0x7FEB352D) & MASK32
    h ^= h >> 15
    h = (h * 0x846CA68B) & MASK32
    h ^= h >> 16
    return h / 2147483648.0 - 1.0


def vnoise(seed, t, knot):
    """Smooth value noise in [-1, 1): hashed knots every `knot` s, smoothstep between."""
    k, r = divmod(t, knot)
    x = r / knot
    x = x * x * (3.0 - 2.0 * x)
    a = hnoise(seed, k)
    return a + (hnoise(seed, k + 1) - a) * x


class Burst:
    """A periodic incident window in absolute time: every `period` s, for `duration` s."""

    def __init__(self, period, duration, height, offset=None):
        self.period = period
        self.duration = duration
        self.height = height
        self.offset = offset

    def bind(self, seed):
        off = self.offset
        if off is None:
            off = seed % self.period
        return (self.period, self.duration, self.height, off)


def active(bursts, t):
    """Sum of the heights of the bound bursts active at t."""
    v = 0.0
    for period, duration, height, off in bursts:
        if (t - off) % period < duration:
            v += height
    return v


class Gen:
    def __init__(self, cluster, end, hours, step):
        self.cluster = cluster
        self.step = step
        start = end - hours * 3600
        self.start = start
        self.end = end
        self.ts = list(range(start, end + 1, step))
        self.tss = [str(t) for t in self.ts]
        # demo counters "started" at the beginning of the week before START
        self.origin = start - (start % WEEK) - WEEK
        self.families = []  # [name, type, help, [series]] in output order
        self.by_name = {}

    # ---- signals -----------------------------------------------------------

    def seed(self, *key):
        return seed_of(self.cluster, *key)

    def signal(self, key, base, amp=0.0, period=DAY, wander=0.0, wander_knot=900,
               jitter=0.0, bursts=(), lo=None, hi=None, peak_hour=None):
        """base + amp*sin(diurnal) + wander*value-noise + jitter*white-noise + bursts, clamped."""
        s = self.seed(*key) if isinstance(key, tuple) else self.seed(key)
        if peak_hour is None:
            ph = (s % 6283) / 1000.0
        else:
            ph = TAU * (0.25 - peak_hour * 3600.0 / period)
        bound = [b.bind(s) for b in bursts]
        s2 = (s * 2654435761 + 12345) & MASK32
        w = 1.0 / period
        out = []
        sin = math.sin
        for t in self.ts:
            v = base
            if amp:
                v += amp * sin(TAU * t * w + ph)
            if wander:
                v += wander * vnoise(s, t, wander_knot)
            if jitter:
                v += jitter * hnoise(s2, t)
            if bound:
                v += active(bound, t)
            if lo is not None and v < lo:
                v = lo
            if hi is not None and v > hi:
                v = hi
            out.append(v)
        return out

    def counter(self, rates, initial_rate=None):
        """Cumulative counter from per-second rates (>= 0); starts at initial_rate*(START-origin)."""
        if initial_rate is None:
            initial_rate = rates[0]
        c = max(initial_rate, 0.0) * (self.start - self.origin)
        out = []
        step = self.step
        first = True
        for r in rates:
            if not first:
                c += max(r, 0.0) * step
            first = False
            out.append(c)
        return out

    # ---- families ----------------------------------------------------------

    def family(self, name, typ, help_text):
        fam = self.by_name.get(name)
        if fam is None:
            fam = [name, typ, help_text, []]
            self.families.append(fam)
            self.by_name[name] = fam
        elif fam[1] != typ:
            raise ValueError("family %s declared as %s and %s" % (name, fam[1], typ))
        return fam

    def gauge(self, name, help_text, labels, values, fmt="%.3f"):
        self.family(name, "gauge", help_text)[3].append(("s", name, labels, values, fmt))

    def unknown(self, name, help_text, labels, values, fmt="%d"):
        # OpenMetrics only allows `counter` for names ending in _total; real
        # exporters' counters without the suffix (DCGM, linuxptp) keep their
        # names as type `unknown`.
        self.family(name, "unknown", help_text)[3].append(("s", name, labels, values, fmt))

    def ctr(self, name, help_text, labels, values, fmt="%d"):
        assert name.endswith("_total"), name
        fam = name[: -len("_total")]
        self.family(fam, "counter", help_text)[3].append(("s", name, labels, values, fmt))

    def histogram(self, name, help_text, labels, bounds, le_fmt, components, sum_fmt="%.3f"):
        """components: [(rates, median, sigma)] lognormal mixtures; rates are per second.

        bucket(le) = floor(sum_k C_k(t) * F_k(le)), count = floor(sum_k C_k(t)),
        sum = sum_k C_k(t) * mean_k. Each C_k is a monotonic counter, so every
        bucket, the count and the sum are monotonic, and buckets are cumulative.
        """
        comps = []
        for rates, median, sigma in components:
            c = self.counter(rates)
            cdf = [0.5 * (1.0 + math.erf((math.log(b) - math.log(median)) / (sigma * math.sqrt(2.0))))
                   for b in bounds]
            mean = median * math.exp(sigma * sigma / 2.0)
            comps.append((c, cdf, mean))
        n = len(self.ts)
        buckets = []
        for bi in range(len(bounds)):
            vals = []
            for i in range(n):
                v = 0.0
                for c, cdf, _ in comps:
                    v += c[i] * cdf[bi]
                vals.append(math.floor(v))
            buckets.append((le_fmt(bounds[bi]), vals))
        count = [math.floor(sum(c[i] for c, _, _ in comps)) for i in range(n)]
        total = [sum(c[i] * mean for c, _, mean in comps) for i in range(n)]
        buckets.append(("+Inf", count))
        self.family(name, "histogram", help_text)[3].append(("h", name, labels, (buckets, count, total), sum_fmt))

    # ---- output ------------------------------------------------------------

    def series_count(self):
        n = 0
        for _, _, _, series in self.families:
            for kind, _, _, payload, _ in series:
                n += (len(payload[0]) + 2) if kind == "h" else 1
        return n

    def write(self, f):
        tss = self.tss
        n = len(tss)
        for name, typ, help_text, series in self.families:
            f.write("# HELP %s %s\n# TYPE %s %s\n" % (name, esc_help(help_text), name, typ))
            for kind, sname, labels, payload, fmt in series:
                if kind == "s":
                    prefix = sname + fmt_labels(labels) + " "
                    f.write("".join([prefix + fmt_value(v, fmt) + " " + tss[i] + "\n"
                                     for i, v in enumerate(payload)]))
                else:
                    buckets, count, total = payload
                    bprefix = [sname + "_bucket" + fmt_labels(labels + [("le", le)]) + " " for le, _ in buckets]
                    cprefix = sname + "_count" + fmt_labels(labels) + " "
                    sprefix = sname + "_sum" + fmt_labels(labels) + " "
                    lines = []
                    for i in range(n):
                        ts = " " + tss[i] + "\n"
                        for bp, (_, vals) in zip(bprefix, buckets):
                            lines.append(bp + "%d" % vals[i] + ts)
                        lines.append(cprefix + "%d" % count[i] + ts)
                        lines.append(sprefix + fmt % total[i] + ts)
                    f.write("".join(lines))
        f.write("# EOF\n")


def esc_help(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n")


def esc_label(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def fmt_labels(labels):
    if not labels:
        return ""
    return "{" + ",".join('%s="%s"' % (k, esc_label(v)) for k, v in labels) + "}"


def fmt_value(v, fmt):
    if v != v:
        return "NaN"
    if v == math.inf:
        return "+Inf"
    if v == -math.inf:
        return "-Inf"
    if fmt == "%d":
        return "%d" % math.floor(v)
    return fmt % v


def le_py(b):
    """prometheus_client (Python) style `le`: 0.5, 1.0, 10.0."""
    return repr(float(b))


def le_go(b):
    """Go client / OTel collector style `le`: 0.5, 1, 10."""
    s = repr(float(b))
    return s[:-2] if s.endswith(".0") else s


# --------------------------------------------------------------------------
# probe series (exact values, see README "Probe series")
# --------------------------------------------------------------------------

PROBE_VALUE = {"east": 1.0, "west": 2.0, "edge": 4.0}
PROBE_VALUE_1 = {"east": 10.0, "west": 20.0}
PROBE_COUNTER_RATE = {"east": 1, "west": 2, "edge": 3}
PROBE_RESET_PERIOD = 1800


def gen_probes(g):
    c = g.cluster
    n = len(g.ts)
    g.gauge("fleetscope_probe_value", "Fleetscope test probe: constant per cluster.",
            [("job", "probe"), ("instance", "probe-0")], [PROBE_VALUE[c]] * n, "%g")
    if c in PROBE_VALUE_1:
        g.gauge("fleetscope_probe_value", "Fleetscope test probe: constant per cluster.",
                [("job", "probe"), ("instance", "probe-1")], [PROBE_VALUE_1[c]] * n, "%g")
    k = PROBE_COUNTER_RATE[c]
    # exactly k per second: value = k * (t - START) (0 at the first sample)
    g.ctr("fleetscope_probe_counter_total", "Fleetscope test probe: counter growing by a fixed amount per second.",
          [("job", "probe")], [k * (t - g.start) for t in g.ts], "%d")
    # the same rate k, restarted every 30 min as a restarting process would be:
    # k * (((t - START) mod 1800) + STEP), so the first sample after each reset
    # is k * STEP — exactly what a reset-aware rate (Prometheus: the new value
    # counts from 0) adds, and rate is k everywhere; a rate that skipped the
    # drop would dip in every window holding a reset.
    g.ctr("fleetscope_probe_resets_total", "Fleetscope test probe: counter at a fixed rate that resets every 30 minutes.",
          [("job", "probe")], [k * (((t - g.start) % PROBE_RESET_PERIOD) + g.step) for t in g.ts], "%d")
    if c == "edge":
        g.gauge("fleetscope_probe_special", "Fleetscope test probe: special float values.",
                [("job", "probe"), ("kind", "nan")], [math.nan] * n, "%g")
    if c == "west":
        g.gauge("fleetscope_probe_special", "Fleetscope test probe: special float values.",
                [("job", "probe"), ("kind", "inf")], [math.inf] * n, "%g")
        g.gauge("fleetscope_probe_special", "Fleetscope test probe: special float values.",
                [("job", "probe"), ("kind", "neginf")], [-math.inf] * n, "%g")
    if c == "east":
        g.gauge("fleetscope_probe_cluster_label", "Fleetscope test probe: carries an upstream cluster label.",
                [("job", "probe"), ("cluster", "upstream-name")], [5.0] * n, "%g")


# --------------------------------------------------------------------------
# cluster shapes
# --------------------------------------------------------------------------

GPU_MODELS = {
    # modelName: (FB total MiB, FB reserved MiB, idle W, max W, SM MHz max, SM idle, MEM MHz)
    "NVIDIA H100 80GB HBM3": (81559, 574, 72.0, 700.0, 1980, 345, 2619),
    "NVIDIA H200": (143771, 712, 78.0, 700.0, 1980, 345, 3201),
    "NVIDIA L4": (23034, 467, 16.0, 72.0, 2040, 210, 6251),
}

# Each GPU: (gpu index, workload) where workload is ("vllm", model) | ("train", pod) | ("eval", pod) | None.
CLUSTERS = {
    "east": {
        "driver": "550.90.07",
        "gpu_nodes": [
            ("gpu-node-a3", "10.0.12.31", "NVIDIA H100 80GB HBM3",
             [("vllm", "llama-3.1-70b-instruct")] * 4 + [("train", "finetune-lora-0")] * 2 + [None, None]),
        ],
        "cpu_nodes": [("cpu-node-12", "10.0.12.12")],
        "vllm": [
            # model, pod, node, tp, request rate (req/s), max concurrency
            ("llama-3.1-70b-instruct", "vllm-llama70b-0", "gpu-node-a3", 4, 3.2, 48),
        ],
        "gateway": {"app": "llm-gateway", "pod": "llm-gateway-7d9f8c6b5-x2kqp", "scale": 1.0,
                    "teams": ["search-ranking", "doc-summarizer", "support-copilot", "code-review"]},
        # (service_name, req/s, median seconds): normal p95 stays under the seed's 2 s alert threshold
        "services": [("llm-gateway", 12.0, 0.38), ("search-assistant", 6.0, 0.3), ("model-server", 3.2, 0.5),
                     ("mcpjungle-gateway", 4.0, 0.05), ("memory-engine", 5.0, 0.02)],
        "sagemaker": ["quant-endpoint", "finetune-endpoint"],
        "budget": {"search-ranking": (20000, 0.58), "doc-summarizer": (8000, 0.71),
                   "support-copilot": (12000, 0.44), "code-review": (5000, 0.86)},
        "drift": {"llama-3.1-70b-instruct": 0.07},
        "macs": [],
        "ptp_nodes": [("cpu-node-12", "ens2f0", "ens2fx", False)],
        "extra_pods": [("llm-apps", "search-assistant-6c5b9d7f4-qm8zt", "search-assistant", "cpu-node-12"),
                       ("llm-apps", "mcpjungle-gateway-5f7d9c8b4-h2n6w", "gateway", "cpu-node-12"),
                       ("llm-apps", "memory-engine-0", "engine", "cpu-node-12")],
        "crashloop": None,
        "down_target": None,
    },
    "west": {
        "driver": "550.90.07",
        "gpu_nodes": [
            ("gpu-node-b1", "10.1.20.41", "NVIDIA H200", [("vllm", "llama-3.1-70b-instruct")] * 4),
            ("gpu-node-b2", "10.1.20.42", "NVIDIA H200",
             [("vllm", "mixtral-8x7b-instruct")] * 2 + [("eval", "eval-harness-0"), None]),
        ],
        "cpu_nodes": [("cpu-node-07", "10.1.20.7")],
        "vllm": [
            ("llama-3.1-70b-instruct", "vllm-llama70b-1", "gpu-node-b1", 4, 2.6, 48),
            ("mixtral-8x7b-instruct", "vllm-mixtral-0", "gpu-node-b2", 2, 4.1, 64),
        ],
        "gateway": {"app": "llm-gateway", "pod": "llm-gateway-7d9f8c6b5-w8p4m", "scale": 0.85,
                    "teams": ["search-ranking", "doc-summarizer", "support-copilot", "code-review"]},
        "services": [("llm-gateway", 10.0, 0.42), ("search-assistant", 5.0, 0.33), ("model-server", 6.7, 0.55),
                     ("mcpjungle-gateway", 3.0, 0.06)],
        "sagemaker": ["quant-endpoint", "eval-endpoint"],
        "budget": {"search-ranking": (20000, 0.63), "doc-summarizer": (8000, 0.52),
                   "support-copilot": (12000, 1.07), "code-review": (5000, 0.39)},
        "drift": {"llama-3.1-70b-instruct": 0.09, "mixtral-8x7b-instruct": 0.19},
        "macs": [("mac-studio-05", "Mac15,14", "Apple M3 Ultra"), ("mac-studio-06", "Mac15,14", "Apple M3 Ultra")],
        "ptp_nodes": [("cpu-node-07", "ens5f0", "ens5fx", False)],
        "extra_pods": [("llm-apps", "search-assistant-6c5b9d7f4-v7rkd", "search-assistant", "cpu-node-07"),
                       ("llm-apps", "mcpjungle-gateway-5f7d9c8b4-t9q2z", "gateway", "cpu-node-07")],
        # vLLM mixtral pod OOMs (see the recorded Tempo/Loki fixtures) and restarts
        "crashloop": ("inference", "vllm-mixtral-0", "vllm"),
        "down_target": None,
    },
    "edge": {
        "driver": "550.54.15",
        "gpu_nodes": [
            ("edge-gpu-1", "192.168.40.11", "NVIDIA L4", [None]),
            ("edge-gpu-2", "192.168.40.12", "NVIDIA L4", [("vllm", "llama-3.1-8b-instruct")]),
        ],
        "cpu_nodes": [],
        "vllm": [
            ("llama-3.1-8b-instruct", "vllm-llama8b-0", "edge-gpu-2", 1, 0.9, 16),
        ],
        "gateway": {"app": "edge-gateway", "pod": "edge-gateway-84d6f7c9b-zr5tm", "scale": 0.2,
                    "teams": ["support-copilot"]},
        "services": [("edge-gateway", 1.0, 0.4), ("support-bot", 0.9, 0.35), ("model-server", 0.9, 0.45)],
        "sagemaker": [],
        "budget": {"support-copilot": (1500, 0.74)},
        "drift": {"llama-3.1-8b-instruct": 0.27},
        "macs": [("mac-studio-01", "Mac15,14", "Apple M3 Ultra"), ("mac-studio-02", "Mac15,14", "Apple M3 Ultra"),
                 ("mac-studio-03", "Mac15,14", "Apple M3 Ultra"), ("mac-studio-04", "Mac15,14", "Apple M3 Ultra")],
        # edge PTP grandmaster link flaps: HOLDOVER windows
        "ptp_nodes": [("edge-gpu-1", "eno1", "enox", True)],
        "extra_pods": [("llm-apps", "support-bot-5b8c7d6f9-k3m7q", "support-bot", "edge-gpu-1")],
        "crashloop": None,
        # support-bot target is down in periodic windows (ServiceDown alert)
        "down_target": ("llm-apps/support-bot", "192.168.40.11:8000"),
    },
}


def uuid_for(cluster, node, idx):
    s = "%08x%08x%08x%08x" % (seed_of("uuid", cluster, node, idx, 1), seed_of("uuid", cluster, node, idx, 2),
                              seed_of("uuid", cluster, node, idx, 3), seed_of("uuid", cluster, node, idx, 4))
    return "GPU-%s-%s-%s-%s-%s" % (s[0:8], s[8:12], s[12:16], s[16:20], s[20:32])


def oom_offset(cluster):
    """Offset of west's 2-hourly mixtral OOM window: XID 13, then a restart and not-ready pod."""
    return seed_of(cluster, "mixtral-oom") % 7200


def model_load(g, model):
    """Shared 0..1 load of one model server: diurnal + wander + incident bursts."""
    return g.signal(("load", model), 0.55, amp=0.22, wander=0.12, wander_knot=1200, jitter=0.03,
                    bursts=[Burst(3 * 3600, 20 * 60, 0.3)], lo=0.05, hi=1.0, peak_hour=15)


# --------------------------------------------------------------------------
# families
# --------------------------------------------------------------------------


def gen_dcgm(g, spec, loads):
    c = g.cluster
    driver = spec["driver"]
    for node, ip, model_name, gpus in spec["gpu_nodes"]:
        total, reserved, idle_w, max_w, sm_max, sm_idle, mem_mhz = GPU_MODELS[model_name]
        for idx, work in enumerate(gpus):
            bus = (0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB)[idx]
            base = [("gpu", str(idx)), ("UUID", uuid_for(c, node, idx)), ("pci_bus_id", "00000000:%02X:00.0" % bus),
                    ("device", "nvidia%d" % idx), ("modelName", model_name), ("Hostname", node),
                    ("DCGM_FI_DRIVER_VERSION", driver)]
            if work is None:
                extra = []
            elif work[0] == "vllm":
                pod = [v[1] for v in spec["vllm"] if v[0] == work[1] and v[2] == node][0]
                extra = [("container", "vllm"), ("namespace", "inference"), ("pod", pod)]
            elif work[0] == "train":
                extra = [("container", "trainer"), ("namespace", "training"), ("pod", work[1])]
            else:
                extra = [("container", "harness"), ("namespace", "eval"), ("pod", work[1])]
            labels = base + extra + [("instance", ip + ":9400"), ("job", "nvidia-dcgm-exporter")]
            key = (node, idx)
            n = len(g.ts)
            if work is None:
                util = g.signal(key + ("util",), 0.0, jitter=0.0, lo=0, hi=100)
                fb_used = [0.0] * n
            elif work[0] == "vllm":
                ld = loads[work[1]]
                jit = g.signal(key + ("utiljit",), 0.0, jitter=4.0, wander=3.0)
                util = [min(100.0, max(0.0, 18.0 + 80.0 * l + j)) for l, j in zip(ld, jit)]
                # vLLM pre-allocates gpu_memory_utilization=0.90 of the device
                fb_used = g.signal(key + ("fb",), 0.90 * total - reserved, wander=0.004 * total,
                                   lo=0, hi=total - reserved)
            elif work[0] == "train":
                util = g.signal(key + ("util",), 93.0, wander=3.0, jitter=3.0,
                                bursts=[Burst(45 * 60, 4 * 60, -60.0)], lo=0, hi=100)  # checkpoint stalls
                fb_used = g.signal(key + ("fb",), 0.78 * total, wander=0.05 * total, lo=0, hi=total - reserved)
            else:
                util = g.signal(key + ("util",), 35.0, amp=25.0, period=5400, jitter=8.0, lo=0, hi=100)
                fb_used = g.signal(key + ("fb",), 0.35 * total, wander=0.08 * total, lo=0, hi=total - reserved)
            util = [float(round(u)) for u in util]
            fb_used = [float(round(v)) for v in fb_used]
            fb_free = [float(total - reserved - u) for u in fb_used]
            tj = g.signal(key + ("tempjit",), 0.0, jitter=1.0, wander=1.5)
            hot = c == "east" and node == "gpu-node-a3" and idx == 2
            hot_b = g.signal(key + ("hot",), 0.0, bursts=[Burst(4 * 3600, 25 * 60, 1.0)]) if hot else [0.0] * n
            temp = [float(round(31.0 + 0.46 * u + j + 26.0 * h)) for u, j, h in zip(util, tj, hot_b)]
            mem_temp = [t + 6.0 for t in temp]
            pj = g.signal(key + ("pwrjit",), 0.0, jitter=0.015 * max_w)
            power = [idle_w + (max_w - idle_w) * 0.92 * (u / 100.0) ** 1.15 + p for u, p in zip(util, pj)]
            power = [max(idle_w * 0.8, p) for p in power]
            # SM clock: idle clock when idle, boost when busy, -300 MHz thermal slowdown while hot
            sm = [float(sm_idle if u < 3 else sm_max - 300.0 * h - (30.0 if u > 90 else 0.0))
                  for u, h in zip(util, hot_b)]
            memclk = [float(mem_mhz if u >= 3 else 405) for u in util]
            memcopy = [float(round(max(0.0, min(100.0, u * 0.55 + j)))) for u, j in zip(util, tj)]
            gr = [min(1.0, u / 100.0 * 0.97) for u in util]
            tensor = [x * (0.62 if work and work[0] == "train" else 0.41) for x in gr]
            # XID: value of the last XID error; west gpu-node-b2/gpu1 (mixtral) reports XID 13,
            # edge-gpu-2 reports XID 79 (fallen off the bus) in short windows
            if c == "west" and node == "gpu-node-b2" and idx == 1:
                xid = g.signal(key + ("xid",), 0.0, bursts=[Burst(2 * 3600, 2 * 60, 13.0, oom_offset(c))])
            elif c == "edge" and node == "edge-gpu-2" and idx == 0:
                xid = g.signal(key + ("xid",), 0.0, bursts=[Burst(5 * 3600, 60, 79.0)])
            else:
                xid = [0.0] * n
            energy = g.counter([p * 1000.0 for p in power])  # mJ
            replay_rate = 0.004 if (c == "west" and node == "gpu-node-b1" and idx == 3) else 0.0
            replay = g.counter([replay_rate] * n)

            g.gauge("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", labels, sm, "%d")
            g.gauge("DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz).", labels, memclk, "%d")
            g.gauge("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", labels, temp, "%d")
            g.gauge("DCGM_FI_DEV_MEMORY_TEMP", "Memory temperature (in C).", labels, mem_temp, "%d")
            g.gauge("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", labels, power, "%.3f")
            g.unknown("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "Total energy consumption since boot (in mJ).",
                      labels, energy, "%d")
            g.unknown("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "Total number of PCIe retries.", labels, replay, "%d")
            g.gauge("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", labels, util, "%d")
            g.gauge("DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", labels, memcopy, "%d")
            g.gauge("DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered.", labels, xid, "%d")
            g.gauge("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", labels, fb_free, "%d")
            g.gauge("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", labels, fb_used, "%d")
            g.gauge("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "Ratio of time the graphics engine is active.",
                    labels, gr, "%.6f")
            g.gauge("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "Ratio of cycles the tensor (HMMA) pipe is active.",
                    labels, tensor, "%.6f")


VLLM_TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
VLLM_E2E = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0]
VLLM_TPOT = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]


def gen_vllm(g, spec, loads):
    c = g.cluster
    for model, pod, node, tp, rps, max_conc in spec["vllm"]:
        ld = loads[model]
        ip_last = seed_of(c, pod) % 200 + 20
        labels = [("engine", "0"), ("model_name", model), ("instance", "10.244.%d.%d:8000" % (seed_of(c, node) % 50, ip_last)),
                  ("job", "vllm"), ("namespace", "inference"), ("pod", pod)]
        key = ("vllm", pod)
        burst = g.signal(key + ("incident",), 0.0, bursts=[Burst(3 * 3600, 20 * 60, 1.0)])
        running = [float(round(min(max_conc, 2 + (max_conc - 2) * l))) for l in ld]
        waiting = g.signal(key + ("wait",), 0.0, wander=1.5, lo=0)
        waiting = [float(round(max(0.0, w + (l - 0.72) * 120.0))) for w, l in zip(waiting, ld)]
        kv = [min(0.99, max(0.0, 0.08 + 0.9 * l * l)) for l in ld]
        req_rate = [rps * (0.3 + 0.95 * l) for l in ld]
        g.gauge("vllm:num_requests_running", "Number of requests currently running on GPU.", labels, running, "%d")
        g.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels, waiting, "%d")
        g.gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", labels, kv, "%.6f")
        g.ctr("vllm:prompt_tokens_total", "Number of prefill tokens processed.", labels,
              g.counter([r * 1450.0 for r in req_rate]), "%d")
        g.ctr("vllm:generation_tokens_total", "Number of generation tokens processed.", labels,
              g.counter([r * 380.0 for r in req_rate]), "%d")
        for reason, frac in (("stop", 0.91), ("length", 0.09)):
            g.ctr("vllm:request_success_total", "Count of successfully processed requests.",
                  labels + [("finished_reason", reason)], g.counter([r * frac for r in req_rate]), "%d")
        # latency mixtures: the slow component grows with load (queueing) and in incidents
        # and a medium component (bigger batches) follows the load, so quantiles move with it
        slow_frac = [0.02 + 0.25 * max(0.0, l - 0.7) / 0.3 + 0.1 * b for l, b in zip(ld, burst)]
        mid_frac = [0.35 * l for l in ld]
        fast = [r * max(0.0, 1 - f - m) for r, f, m in zip(req_rate, slow_frac, mid_frac)]
        mid = [r * m for r, m in zip(req_rate, mid_frac)]
        slow = [r * f for r, f in zip(req_rate, slow_frac)]
        big = 1.0 + 0.6 * (tp >= 4)  # 70B models are slower per token
        g.histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                    labels, VLLM_TTFT, le_py,
                    [(fast, 0.09 * big, 0.5), (mid, 0.22 * big, 0.45), (slow, 1.6 * big, 0.6)])
        g.histogram("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.",
                    labels, VLLM_TPOT, le_py,
                    [(fast, 0.02 * big, 0.3), (mid, 0.032 * big, 0.3), (slow, 0.07 * big, 0.35)])
        g.histogram("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.",
                    labels, VLLM_E2E, le_py,
                    [(fast, 4.5 * big, 0.4), (mid, 7.5 * big, 0.4), (slow, 16.0 * big, 0.4)])


OTEL_MS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
HTTP_S = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
SAGEMAKER_S = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]

TEAM_RPS = {"search-ranking": 5.5, "doc-summarizer": 2.4, "support-copilot": 3.8, "code-review": 1.4}


def gen_gateway(g, spec):
    gw = spec["gateway"]
    scale = gw["scale"]
    base = [("job", "platform/gateway"), ("instance", gw["pod"]), ("namespace", "llm-gateway"), ("pod", gw["pod"])]
    for team in gw["teams"]:
        rps = TEAM_RPS[team] * scale
        key = ("gw", team)
        shape = g.signal(key + ("shape",), 1.0, amp=0.35, wander=0.12, jitter=0.05, lo=0.1, peak_hour=15)
        incident = g.signal(("gw", "incident"), 0.0, bursts=[Burst(3 * 3600, 20 * 60, 1.0)])
        total = [rps * s for s in shape]
        err503 = [r * (0.002 + 0.04 * b) for r, b in zip(total, incident)]
        err504 = [r * (0.0008 + 0.01 * b) for r, b in zip(total, incident)]
        lim429 = [r * (0.012 + 0.01 * max(0.0, s - 1.2)) for r, s in zip(total, shape)]
        ok = [max(0.0, r - a - b - d) for r, a, b, d in zip(total, err503, err504, lim429)]
        for status, rates in (("200", ok), ("429", lim429), ("503", err503), ("504", err504)):
            g.ctr("gateway_requests_total", "Total requests by team", base + [("team", team), ("status", status)],
                  g.counter(rates), "%d")
        slow = [r * (0.008 + 0.25 * b) for r, b in zip(total, incident)]
        mid = [r * 0.3 * max(0.0, s - 0.8) for r, s in zip(total, shape)]  # busier hours are slower
        fast = [max(0.0, r - s - m) for r, s, m in zip(total, slow, mid)]
        # p95 below the seed's 2 s alert threshold in normal times, above it in incidents
        med = {"search-ranking": 260.0, "doc-summarizer": 420.0, "support-copilot": 340.0, "code-review": 480.0}[team]
        g.histogram("gateway_latency_ms", "Request latency in milliseconds", base + [("team", team)],
                    OTEL_MS[1:], le_go, [(fast, med, 0.4), (mid, med * 1.8, 0.4), (slow, 3800.0, 0.45)], "%.1f")


def gen_http_services(g, spec):
    for svc, rps, med in spec["services"]:
        key = ("http", svc)
        labels = [("job", "platform/" + svc), ("service_name", svc)]
        shape = g.signal(key + ("shape",), 1.0, amp=0.3, wander=0.1, jitter=0.04, lo=0.1, peak_hour=15)
        incident = g.signal(key + ("incident",), 0.0, bursts=[Burst(4 * 3600, 15 * 60, 1.0)])
        total = [rps * s for s in shape]
        e500 = [r * (0.003 + 0.03 * b) for r, b in zip(total, incident)]
        ok = [r - e for r, e in zip(total, e500)]
        for code, rates in (("200", ok), ("500", e500)):
            g.ctr("http_server_request_count_total", "Number of HTTP server requests.",
                  labels + [("http_status_code", code)], g.counter(rates), "%d")
        slow = [r * (0.005 + 0.3 * b) for r, b in zip(total, incident)]
        mid = [r * 0.3 * max(0.0, s - 0.8) for r, s in zip(total, shape)]  # busier hours are slower
        fast = [max(0.0, r - s - m) for r, s, m in zip(total, slow, mid)]
        g.histogram("http_server_request_duration_seconds", "Duration of HTTP server requests.", labels,
                    HTTP_S, le_go, [(fast, med, 0.45), (mid, med * 1.7, 0.45), (slow, max(2.8, med * 4.0), 0.35)])


def gen_sagemaker(g, spec):
    for ep in spec["sagemaker"]:
        key = ("sm", ep)
        labels = [("job", "platform/team-api"), ("endpoint", ep)]
        shape = g.signal(key + ("shape",), 0.8, amp=0.3, wander=0.15, lo=0.05, peak_hour=14)
        incident = g.signal(key + ("incident",), 0.0, bursts=[Burst(5 * 3600, 15 * 60, 1.0)])
        g.ctr("sagemaker_invocations_total", "SageMaker InvokeEndpoint calls.", labels, g.counter(shape), "%d")
        for et, frac, inc in (("timeout", 0.001, 0.05), ("throttling", 0.003, 0.0), ("model_error", 0.0007, 0.01)):
            g.ctr("sagemaker_invoke_errors_total", "SageMaker InvokeEndpoint errors.", labels + [("error_type", et)],
                  g.counter([s * (frac + inc * b) for s, b in zip(shape, incident)]), "%d")
        slow = [s * (0.02 + 0.4 * b) for s, b in zip(shape, incident)]
        fast = [max(0.0, s - x) for s, x in zip(shape, slow)]
        g.histogram("sagemaker_invoke_duration_seconds", "SageMaker InvokeEndpoint latency.", labels,
                    SAGEMAKER_S, le_go, [(fast, 0.41, 0.35), (slow, 4.5, 0.4)])


def gen_budget_drift(g, spec):
    for team, (limit, ratio) in spec["budget"].items():
        labels = [("job", "platform/budget-tracker"), ("team", team), ("period", "monthly")]
        r = g.signal(("budget", team), ratio, amp=0.015, period=WEEK, lo=0.0)
        g.gauge("llm_budget_limit_usd", "Budget limit for the period in USD.", labels, [float(limit)] * len(r), "%.2f")
        g.gauge("llm_budget_spent_usd", "Spend so far in the period in USD.", labels, [limit * x for x in r], "%.2f")
        g.gauge("llm_budget_utilization_ratio", "Spent / limit (1 = budget exhausted).", labels, r, "%.4f")
    for model, score in spec["drift"].items():
        labels = [("job", "platform/drift-monitor"), ("model", model)]
        d = g.signal(("drift", model), score, amp=0.02, wander=0.025, wander_knot=1800, lo=0.0, hi=1.0)
        g.gauge("model_drift_score", "Population drift score of model inputs (0 = none).", labels, d, "%.4f")


def gen_macos(g, spec):
    for node, model, chip in spec["macs"]:
        labels = [("job", "macos-metrics"), ("instance", node + ":9101"), ("node", node)]
        key = ("mac", node)
        g.gauge("macos_node_info", "Apple Silicon node facts (value 1).",
                labels + [("chip", chip), ("model", model), ("os_version", "15.1.1")], [1.0] * len(g.ts), "%d")
        work = g.signal(key + ("work",), 0.45, amp=0.25, wander=0.2, wander_knot=600, jitter=0.04,
                        bursts=[Burst(2 * 3600, 25 * 60, 0.35)], lo=0.02, hi=1.0)
        cpu = [4.5 + 95.0 * w ** 1.3 for w in work]
        gj = g.signal(key + ("gpu",), 0.0, wander=0.3, lo=-1)
        gpu = [max(0.3, 3.0 + 140.0 * max(0.0, w + x - 0.25) ** 1.2) for w, x in zip(work, gj)]
        ane = g.signal(key + ("ane",), 0.4, wander=2.5, wander_knot=300, lo=0.0, hi=8.0)
        pkg = [a + b + c for a, b, c in zip(cpu, gpu, ane)]
        temp = [36.0 + 0.32 * p ** 0.95 for p in pkg]
        thermal = [float(0 if t < 80 else 1 if t < 92 else 2 if t < 100 else 3) for t in temp]
        mem = g.signal(key + ("mem",), 0.35, amp=0.1, wander=0.18, wander_knot=1200, lo=0.02, hi=0.99)
        rd = g.signal(key + ("rd",), 45e6, wander=35e6, wander_knot=300, jitter=5e6, lo=0.0)
        wr = g.signal(key + ("wr",), 28e6, wander=25e6, wander_knot=300, jitter=4e6, lo=0.0)
        g.gauge("macos_cpu_power_watts", "CPU power (powermetrics 'CPU Power').", labels, cpu, "%.3f")
        g.gauge("macos_gpu_power_watts", "GPU power (powermetrics 'GPU Power').", labels, gpu, "%.3f")
        g.gauge("macos_ane_power_watts", "Neural Engine power (powermetrics 'ANE Power').", labels, ane, "%.3f")
        g.gauge("macos_package_power_watts", "Combined power CPU + GPU + ANE.", labels, pkg, "%.3f")
        g.gauge("macos_thermal_pressure", "Thermal pressure: 0 nominal, 1 moderate, 2 heavy, 3 trapping, 4 sleeping.",
                labels, thermal, "%d")
        g.gauge("macos_memory_pressure_ratio", "Memory pressure, 0 (none) to 1 (critical).", labels, mem, "%.4f")
        g.gauge("macos_cpu_temperature_celsius", "CPU die temperature (SMC).", labels, temp, "%.2f")
        g.gauge("macos_gpu_temperature_celsius", "GPU die temperature (SMC).", labels,
                [t - 3.0 + 0.05 * x for t, x in zip(temp, gpu)], "%.2f")
        dl = labels + [("device", "disk0")]
        g.ctr("macos_disk_read_bytes_total", "Bytes read (iostat).", dl, g.counter(rd), "%d")
        g.ctr("macos_disk_written_bytes_total", "Bytes written (iostat).", dl, g.counter(wr), "%d")


def gen_ptp(g, spec):
    n = len(g.ts)
    for node, slave_if, fx_if, flaky in spec["ptp_nodes"]:
        key = ("ptp", node)
        ns = [("namespace", "openshift-ptp")]
        holdover = (g.signal(key + ("holdover",), 0.0, bursts=[Burst(3 * 3600, 12 * 60, 1.0)])
                    if flaky else [0.0] * n)
        off = g.signal(key + ("off",), 0.0, wander=6.0, wander_knot=120, jitter=5.0)
        off = [float(round(o + h * 4000.0 * (0.5 + 0.5 * math.sin(i / 7.0)))) for i, (o, h) in
               enumerate(zip(off, holdover))]
        maxoff = [float(abs(o) + 3 + (i * 7919 % 5)) for i, o in enumerate(off)]
        phc = g.signal(key + ("phc",), 0.0, wander=3.0, wander_knot=60, jitter=4.0)
        phc = [float(round(v)) for v in phc]
        freq = g.signal(key + ("freq",), -15705.0, wander=180.0, wander_knot=600, jitter=25.0)
        freq = [float(round(v)) for v in freq]
        phc_freq = g.signal(key + ("phcfreq",), -2190.0, wander=60.0, jitter=10.0)
        phc_freq = [float(round(v)) for v in phc_freq]
        state = [2.0 if h else 1.0 for h in holdover]  # 0 FREERUN, 1 LOCKED, 2 HOLDOVER
        clock_class = [7.0 if h else 6.0 for h in holdover]  # 6 locked to PRTC, 7 holdover in spec
        p4 = [("from", "master"), ("iface", fx_if), ("node", node), ("process", "ptp4l")] + ns
        p2 = [("from", "phc"), ("iface", "CLOCK_REALTIME"), ("node", node), ("process", "phc2sys")] + ns
        g.gauge("openshift_ptp_offset_ns", "", p4, off, "%d")
        g.gauge("openshift_ptp_offset_ns", "", p2, phc, "%d")
        g.gauge("openshift_ptp_max_offset_ns", "", p4, maxoff, "%d")
        g.gauge("openshift_ptp_max_offset_ns", "", p2, [abs(v) + 2 for v in phc], "%d")
        g.gauge("openshift_ptp_frequency_adjustment_ns", "", p4, freq, "%d")
        g.gauge("openshift_ptp_frequency_adjustment_ns", "", p2, phc_freq, "%d")
        g.gauge("openshift_ptp_delay_ns", "", p4, g.signal(key + ("delay",), 520.0, wander=8.0, jitter=3.0), "%d")
        g.gauge("openshift_ptp_clock_state", "0 = FREERUN, 1 = LOCKED, 2 = HOLDOVER",
                [("iface", fx_if), ("node", node), ("process", "ptp4l")] + ns, state, "%d")
        g.gauge("openshift_ptp_clock_state", "0 = FREERUN, 1 = LOCKED, 2 = HOLDOVER",
                [("iface", "CLOCK_REALTIME"), ("node", node), ("process", "phc2sys")] + ns, state, "%d")
        g.gauge("openshift_ptp_clock_class", "", [("node", node), ("process", "ptp4l")] + ns, clock_class, "%d")
        g.gauge("openshift_ptp_interface_role",
                "0 = PASSIVE, 1 = SLAVE, 2 = MASTER, 3 = FAULTY, 4 =  UNKNOWN, 5 = LISTENING",
                [("iface", slave_if), ("node", node), ("process", "ptp4l")] + ns,
                [3.0 if h else 1.0 for h in holdover], "%d")
        for proc in ("phc2sys", "ptp4l"):
            pl = [("config", "ptp4l.0.config"), ("node", node), ("process", proc)] + ns
            g.gauge("openshift_ptp_process_status", "0 = DOWN, 1 = UP", pl, [1.0] * n, "%d")
            restarts = g.counter([0.0] * n, initial_rate=0.0)
            restarts = [r + (1.0 if proc == "ptp4l" else 0.0) for r in restarts]
            g.unknown("openshift_ptp_process_restart_count", "", pl, restarts, "%d")
        for th, v in (("HoldOverTimeout", 5.0), ("MaxOffsetThreshold", 100.0), ("MinOffsetThreshold", -100.0)):
            g.gauge("openshift_ptp_threshold", "", [("node", node), ("profile", "du-slave"), ("threshold", th)] + ns,
                    [v] * n, "%d")


def cluster_pods(spec):
    """(namespace, pod, container, node, kind) of every pod the demo knows about."""
    pods = []
    gw = spec["gateway"]
    first_node = (spec["cpu_nodes"] or [(spec["gpu_nodes"][0][0], "")])[0][0]
    pods.append(("llm-gateway", gw["pod"], "gateway", first_node, "web"))
    for model, pod, node, tp, rps, conc in spec["vllm"]:
        pods.append(("inference", pod, "vllm", node, "vllm"))
    for node, ip, model_name, gpus in spec["gpu_nodes"]:
        for w in gpus:
            if w and w[0] in ("train", "eval"):
                p = ("training" if w[0] == "train" else "eval", w[1], "trainer" if w[0] == "train" else "harness",
                     node, "batch")
                if p not in pods:
                    pods.append(p)
    for ns, pod, container, node in spec["extra_pods"]:
        pods.append((ns, pod, container, node, "web"))
    return pods


def gen_kube(g, spec):
    c = g.cluster
    n = len(g.ts)
    ksm = [("job", "kube-state-metrics")]
    pods = cluster_pods(spec)
    for ns, pod, container, node, kind in pods:
        crash = spec["crashloop"] == (ns, pod, container)
        if crash:
            # one restart per OOM window (every 2 h, a minute after the XID 13 burst starts)
            win = g.signal(("crash", pod), 0.0, bursts=[Burst(2 * 3600, 15, 1.0, oom_offset(c) + 60)])
            base = float(seed_of(c, pod) % 5 + 3)
            vals = []
            acc = base
            for w in win:
                acc += w
                vals.append(acc)
        else:
            vals = [float(seed_of(c, pod, "restarts") % 3)] * n
        g.ctr("kube_pod_container_status_restarts_total", "The number of container restarts per container.",
              ksm + [("namespace", ns), ("pod", pod), ("container", container)], vals, "%d")
    for ns, pod, container, node, kind in pods:
        for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
            g.gauge("kube_pod_status_phase", "The pods current phase.",
                    ksm + [("namespace", ns), ("pod", pod), ("phase", phase)],
                    [1.0 if phase == "Running" else 0.0] * n, "%d")
    for ns, pod, container, node, kind in pods:
        crash = spec["crashloop"] == (ns, pod, container)
        notready = (g.signal(("notready", pod), 0.0, bursts=[Burst(2 * 3600, 4 * 60, 1.0, oom_offset(c) + 60)])
                    if crash else [0.0] * n)
        for cond in ("true", "false", "unknown"):
            vals = [(1.0 - x) if cond == "true" else x if cond == "false" else 0.0 for x in notready]
            g.gauge("kube_pod_status_ready", "Describes whether the pod is ready to serve requests.",
                    ksm + [("namespace", ns), ("pod", pod), ("condition", cond)], vals, "%d")
    nodes = [x[0] for x in spec["gpu_nodes"]] + [x[0] for x in spec["cpu_nodes"]] + [m[0] for m in spec["macs"]]
    for node in nodes:
        for cond in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
            for status in ("true", "false", "unknown"):
                good = (cond == "Ready") == (status == "true")
                ok = good and status != "unknown"
                g.gauge("kube_node_status_condition", "The condition of a cluster node.",
                        ksm + [("node", node), ("condition", cond), ("status", status)],
                        [1.0 if ok else 0.0] * n, "%d")
    for ns in sorted({p[0] for p in pods}):
        for res, hard in (("limits.memory", 256 * 2 ** 30), ("requests.cpu", 64.0)):
            used = g.signal(("quota", ns, res), hard * 0.55, wander=hard * 0.1, lo=0, hi=hard)
            g.gauge("kube_resourcequota", "Information about resource quota.",
                    ksm + [("namespace", ns), ("resource", res), ("resourcequota", ns + "-quota"), ("type", "hard")],
                    [float(hard)] * n, "%g")
            g.gauge("kube_resourcequota", "Information about resource quota.",
                    ksm + [("namespace", ns), ("resource", res), ("resourcequota", ns + "-quota"), ("type", "used")],
                    used, "%.0f" if res.startswith("limits") else "%.3f")


def gen_cadvisor(g, spec, loads):
    for ns, pod, container, node, kind in cluster_pods(spec):
        labels = [("job", "kubelet"), ("metrics_path", "/metrics/cadvisor"), ("node", node),
                  ("namespace", ns), ("pod", pod), ("container", container)]
        key = ("cad", pod)
        if kind == "vllm":
            cores = g.signal(key + ("cpu",), 3.5, amp=1.2, wander=0.6, jitter=0.2, lo=0.3, peak_hour=15)
            mem = g.signal(key + ("mem",), 38e9, wander=1.5e9, lo=1e9)
        elif kind == "batch":
            cores = g.signal(key + ("cpu",), 6.0, wander=1.0, jitter=0.3, lo=0.2)
            mem = g.signal(key + ("mem",), 52e9, wander=4e9, lo=1e9)
        else:
            cores = g.signal(key + ("cpu",), 0.45, amp=0.2, wander=0.1, jitter=0.03, lo=0.01, peak_hour=15)
            mem = g.signal(key + ("mem",), 620e6, wander=80e6, jitter=4e6, lo=50e6)
        ws = [m * 0.93 for m in mem]
        g.ctr("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", labels,
              g.counter(cores), "%.3f")
        g.gauge("container_memory_working_set_bytes", "Current working set in bytes.", labels, ws, "%.0f")
        g.gauge("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.",
                labels, mem, "%.0f")


NODE_MEM = {"gpu": 2048 * 2 ** 30, "cpu": 256 * 2 ** 30, "edge": 128 * 2 ** 30}


def gen_node_exporter(g, spec):
    nodes = [(x[0], "gpu" if g.cluster != "edge" else "edge") for x in spec["gpu_nodes"]] + \
            [(x[0], "cpu") for x in spec["cpu_nodes"]]
    for node, kind in nodes:
        inst = [("job", "node-exporter"), ("instance", node + ":9100")]
        key = ("node", node)
        busy = g.signal(key + ("busy",), 0.35, amp=0.15, wander=0.12, jitter=0.03, lo=0.02, hi=0.97, peak_hour=15)
        # only cpu 0-3 of each node are exported (keeps the stack small)
        for cpu in range(4):
            cj = g.signal(key + ("cpu", cpu), 0.0, wander=0.08, jitter=0.03)
            b = [min(0.98, max(0.01, x + y)) for x, y in zip(busy, cj)]
            shares = (("idle", [1.0 - x for x in b]), ("user", [x * 0.72 for x in b]),
                      ("system", [x * 0.22 for x in b]), ("iowait", [x * 0.06 for x in b]))
            for mode, rates in shares:
                g.ctr("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
                      inst + [("cpu", str(cpu)), ("mode", mode)], g.counter(rates), "%.2f")
        total = float(NODE_MEM[kind])
        avail = g.signal(key + ("avail",), 0.55 * total, amp=0.08 * total, wander=0.05 * total,
                         lo=0.05 * total, hi=0.95 * total)
        g.gauge("node_memory_MemTotal_bytes", "Memory information field MemTotal_bytes.", inst,
                [total] * len(g.ts), "%.0f")
        g.gauge("node_memory_MemAvailable_bytes", "Memory information field MemAvailable_bytes.", inst, avail, "%.0f")
        load = [x * 64.0 for x in busy]
        g.gauge("node_load1", "1m load average.", inst, load, "%.2f")
        g.gauge("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.",
                inst + [("device", "/dev/nvme0n1p4"), ("fstype", "xfs"), ("mountpoint", "/")],
                g.signal(key + ("fs",), 310e9, amp=-20e9, period=WEEK, wander=2e9, lo=1e9), "%.0f")


def gen_platform_misc(g, spec):
    n = len(g.ts)
    c = g.cluster
    targets = [("kube-state-metrics", "kube-state-metrics.kube-system.svc:8080"),
               ("platform/gateway", spec["gateway"]["pod"])]
    for node, ip, model_name, gpus in spec["gpu_nodes"]:
        targets.append(("nvidia-dcgm-exporter", ip + ":9400"))
    for node, _ in [(x[0], 0) for x in spec["gpu_nodes"]] + [(x[0], 0) for x in spec["cpu_nodes"]]:
        targets.append(("node-exporter", node + ":9100"))
    for model, pod, node, tp, rps, conc in spec["vllm"]:
        targets.append(("vllm", pod))
    for node, _, _ in spec["macs"]:
        targets.append(("macos-metrics", node + ":9101"))
    if spec["down_target"]:
        targets.append(spec["down_target"])
    for job, inst in targets:
        if spec["down_target"] == (job, inst):
            down = g.signal(("down", job), 0.0, bursts=[Burst(3 * 3600, 10 * 60, 1.0)])
            vals = [1.0 - d for d in down]
        else:
            vals = [1.0] * n
        g.gauge("up", "1 if the target was scraped successfully.", [("job", job), ("instance", inst)], vals, "%d")
    if c != "edge":
        pg = [("job", "postgres-exporter"), ("instance", "postgres-exporter.platform.svc:9187")]
        act = g.signal(("pg", "active"), 42.0, amp=18.0, wander=10.0, jitter=2.0, lo=1, peak_hour=15,
                       bursts=[Burst(6 * 3600, 10 * 60, 45.0)])
        g.gauge("pg_stat_activity_count", "number of connections in this state",
                pg + [("datname", "platform"), ("state", "active")], [float(round(a)) for a in act], "%d")
        g.gauge("pg_settings_max_connections", "Sets the maximum number of concurrent connections.", pg,
                [100.0] * n, "%d")
        rd = [("job", "redis-exporter"), ("instance", "redis-exporter.platform.svc:9121")]
        mx = 4.0 * 2 ** 30
        g.gauge("redis_memory_max_bytes", "memory_max_bytes metric", rd, [mx] * n, "%.0f")
        g.gauge("redis_memory_used_bytes", "memory_used_bytes metric", rd,
                g.signal(("redis", "used"), 0.62 * mx, amp=0.08 * mx, wander=0.05 * mx, lo=0.1 * mx, hi=mx), "%.0f")
    # Tempo metrics-generator span metrics (HighTraceErrorRate)
    for svc, rps, _ in spec["services"]:
        labels = [("job", "tempo/metrics-generator"), ("service", svc), ("span_kind", "SPAN_KIND_SERVER")]
        shape = g.signal(("span", svc), rps, amp=0.3 * rps, wander=0.1 * rps, lo=0.05, peak_hour=15)
        inc = g.signal(("span", svc, "inc"), 0.0, bursts=[Burst(3 * 3600, 20 * 60, 1.0)])
        for st, f in (("STATUS_CODE_UNSET", None), ("STATUS_CODE_ERROR", 0.004)):
            if f is None:
                rates = [s * (1 - 0.004 - 0.05 * b) for s, b in zip(shape, inc)]
            else:
                rates = [s * (f + 0.05 * b) for s, b in zip(shape, inc)]
            g.ctr("traces_spanmetrics_calls_total", "Span calls by service and status.",
                  labels + [("status_code", st)], g.counter(rates), "%d")


def generate(cluster, end, hours, step):
    if cluster not in CLUSTERS:
        raise SystemExit("unknown cluster %r (have: %s)" % (cluster, ", ".join(CLUSTERS)))
    if end % step:
        raise SystemExit("--end must be a multiple of --step")
    g = Gen(cluster, end, hours, step)
    spec = CLUSTERS[cluster]
    loads = {m[0]: model_load(g, m[0]) for m in spec["vllm"]}
    gen_probes(g)
    gen_dcgm(g, spec, loads)
    gen_vllm(g, spec, loads)
    gen_gateway(g, spec)
    gen_http_services(g, spec)
    gen_sagemaker(g, spec)
    gen_budget_drift(g, spec)
    gen_macos(g, spec)
    gen_ptp(g, spec)
    gen_kube(g, spec)
    gen_cadvisor(g, spec, loads)
    gen_node_exporter(g, spec)
    gen_platform_misc(g, spec)
    return g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cluster", required=True, choices=sorted(CLUSTERS))
    ap.add_argument("--end", required=True, type=int, help="last sample, unix seconds, multiple of --step")
    ap.add_argument("--hours", type=int, default=6)
    ap.add_argument("--step", type=int, default=15)
    ap.add_argument("--out", help="output file (default: stdout)")
    ap.add_argument("--stats", action="store_true", help="print the series count and exit")
    a = ap.parse_args(argv)
    g = generate(a.cluster, a.end, a.hours, a.step)
    if a.stats:
        print("%s: %d series x %d samples" % (a.cluster, g.series_count(), len(g.ts)))
        return 0
    if a.out:
        with open(a.out, "w", encoding="utf-8", newline="\n") as f:
            g.write(f)
    else:
        g.write(sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
