#!/usr/bin/env bash
# Installs the servers the real test stack (tests/stack/stack.sh) runs:
# Prometheus + promtool, Alertmanager, Redis (Debian packages) and chDB (PyPI).
#
# Idempotent: when prometheus, promtool, prometheus-alertmanager and redis-server
# are already on PATH it does nothing. The apt-get line it runs is the Makefile's
# `stack-deps` recipe:
#
#   DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
#       prometheus prometheus-alertmanager redis-server
#
# --no-install-recommends keeps prometheus-node-exporter (a Recommends of
# prometheus) and its timers off the machine.
set -euo pipefail

PKGS=(prometheus prometheus-alertmanager redis-server)

have_all() {
  command -v prometheus >/dev/null 2>&1 &&
    command -v promtool >/dev/null 2>&1 &&
    command -v prometheus-alertmanager >/dev/null 2>&1 &&
    command -v redis-server >/dev/null 2>&1
}

# The ClickHouse store of the stack is chDB (ClickHouse in-process, PyPI
# `chdb`: about 260 MB of wheels — chdb-core 182 MB, pyarrow 55 MB, numpy, pandas —
# about 75 s to install on a 2-core machine) behind clickhouse_front.py.
CHDB_VERSION=4.4.0
if ! python3 -c 'import chdb' 2>/dev/null; then
  echo "install-deps: pip install chdb==$CHDB_VERSION"
  python3 -m pip install --quiet --no-input "chdb==$CHDB_VERSION"
fi

if have_all; then
  echo "install-deps: prometheus, promtool, prometheus-alertmanager, redis-server already on PATH; nothing to do"
  exit 0
fi

SUDO=()
if [ "$(id -u)" != "0" ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: not root and no sudo; install ${PKGS[*]} by hand" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}"

# Without systemd the packages' postinst start is refused (invoke-rc.d /
# policy-rc.d) and nothing is left running. Where an init script did start a
# daemon, it wrote the package's own pidfile: stop exactly that daemon through
# its init script (which stops by pidfile), so nothing keeps 9090/9093/6379.
for pair in prometheus:/run/prometheus/prometheus.pid \
  prometheus-alertmanager:/run/prometheus/prometheus-alertmanager.pid \
  redis-server:/run/redis/redis-server.pid; do
  svc=${pair%%:*}
  pidfile=${pair#*:}
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && [ -x "/etc/init.d/$svc" ]; then
    echo "install-deps: stopping the $svc daemon the package started (pid $(cat "$pidfile"))"
    "${SUDO[@]}" "/etc/init.d/$svc" stop || true
  fi
done

if ! have_all; then
  echo "install-deps: packages installed but a binary is still missing from PATH" >&2
  exit 1
fi
echo "install-deps: done ($(prometheus --version 2>&1 | head -n1))"
