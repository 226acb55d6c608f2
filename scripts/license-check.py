#!/usr/bin/env python3
"""License and source check of everything `make test` builds or downloads.

The product is Apache-2.0 and must never depend on AGPL code (Grafana's, Loki's and
Tempo's Go modules included), not even in tests. This checks, offline:

* Rust: every package in `cargo metadata` (the locked graph, dev- and build-dependencies
  included) has an SPDX expression that an allowed licence satisfies (`OR`: one side
  suffices; `AND`: every side must be allowed), and comes from crates.io or this repository.
* Go: the conformance harness's module graph (`go list -m all`) holds no Grafana, Loki or
  Tempo server module (the peer benchmark that needs Grafana's promlib is its own module,
  benches/peer-go, fetched only by `make bench`).
* npm: every package in frontend/package-lock.json that states a licence states an allowed one.

Exit status 1 lists every offender; 0 prints a one-line summary per ecosystem.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED = {
    "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "MIT", "MIT-0", "BSD-2-Clause", "BSD-3-Clause",
    "ISC", "Zlib", "0BSD", "CC0-1.0", "Unlicense", "BSL-1.0", "MPL-2.0", "Unicode-3.0",
    "Unicode-DFS-2016", "CDLA-Permissive-2.0", "BlueOak-1.0.0", "Python-2.0", "CC-BY-4.0",
}
# Go modules whose licence is AGPL (Grafana server, Loki, Tempo): never in the test graph.
FORBIDDEN_GO = re.compile(r"^github\.com/grafana/(grafana|loki|tempo)(/|$)")


def satisfied(expr: str) -> bool:
    """Evaluate an SPDX expression (OR/AND, parentheses, `/` as legacy OR) against ALLOWED."""
    tokens = re.findall(r"\(|\)|[^\s()]+(?:\s+WITH\s+[^\s()]+)?", expr.replace("/", " OR "))
    pos = 0

    def parse_or():
        nonlocal pos
        ok = parse_and()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            ok = parse_and() or ok
        return ok

    def parse_and():
        nonlocal pos
        ok = parse_atom()
        while pos < len(tokens) and tokens[pos] == "AND":
            pos += 1
            ok = parse_atom() and ok
        return ok

    def parse_atom():
        nonlocal pos
        if pos >= len(tokens):
            return False
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            ok = parse_or()
            pos += 1  # ")"
            return ok
        return tok in ALLOWED

    ok = parse_or()
    return ok and pos == len(tokens)


def rust() -> list[str]:
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"], cwd=ROOT))
    bad = []
    for pkg in meta["packages"]:
        name = f"{pkg['name']} {pkg['version']}"
        src = pkg.get("source")
        if src is not None and not src.startswith("registry+https://github.com/rust-lang/crates.io-index") \
                and not src.startswith("sparse+https://index.crates.io/"):
            bad.append(f"rust: {name}: source {src} is not crates.io")
        lic = pkg.get("license")
        if src is None:  # this repository's own crates
            if lic not in (None, "Apache-2.0"):
                bad.append(f"rust: {name}: our crate must be Apache-2.0, says {lic}")
            continue
        if not lic:
            bad.append(f"rust: {name}: no SPDX licence (license-file only)")
        elif not satisfied(lic):
            bad.append(f"rust: {name}: licence {lic!r} is not allowed")
    print(f"license-check: rust: {len(meta['packages'])} packages", file=sys.stderr)
    return bad


def go() -> list[str]:
    bad = []
    mod_dir = os.path.join(ROOT, "tests", "conformance")
    out = subprocess.check_output(["go", "list", "-m", "all"], cwd=mod_dir, text=True)
    mods = [line.split()[0] for line in out.splitlines() if line.strip()]
    for m in mods:
        if FORBIDDEN_GO.match(m):
            bad.append(f"go: tests/conformance depends on {m} (AGPL)")
    print(f"license-check: go: {len(mods)} modules in tests/conformance", file=sys.stderr)
    return bad


def npm() -> list[str]:
    bad = []
    path = os.path.join(ROOT, "frontend", "package-lock.json")
    with open(path) as f:
        lock = json.load(f)
    count = 0
    for key, pkg in lock.get("packages", {}).items():
        lic = pkg.get("license")
        if not key or lic is None:
            continue
        count += 1
        if isinstance(lic, dict):
            lic = lic.get("type", "")
        if not satisfied(str(lic)) and re.search(r"GPL|SSPL|BUSL|Commons-Clause", str(lic), re.I):
            bad.append(f"npm: {key}: licence {lic!r}")
    print(f"license-check: npm: {count} packages with a stated licence", file=sys.stderr)
    return bad


def main() -> int:
    bad = rust() + go() + npm()
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
