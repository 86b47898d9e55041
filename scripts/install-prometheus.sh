#!/usr/bin/env bash
# Installs promtool and the Prometheus server (Debian's prometheus package, pinned) unless both are
# on PATH already. The pure tier runs `promtool test rules` on the alert rules; the e2e tier runs a
# real Prometheus against the cluster. Idempotent; our machines have no systemd, so the package's
# service is never started (the tests start their own server).
#   scripts/install-prometheus.sh            # promtool and the server (the e2e tier)
#   scripts/install-prometheus.sh promtool   # promtool only (the pure tier): any promtool on PATH will do
# Env: PROMETHEUS_DEB_VERSION (default 2.42.0+ds-5+deb12u1, Debian 12's).
set -euo pipefail
VERSION=${PROMETHEUS_DEB_VERSION:-2.42.0+ds-5+deb12u1}
log() { echo "[install-prometheus] $*" >&2; }
if command -v promtool >/dev/null 2>&1 && { [ "${1:-}" = promtool ] || command -v prometheus >/dev/null 2>&1; }; then
  exit 0
fi
[ "$(id -u)" = 0 ] || { log "promtool/prometheus are missing and installing them needs root: apt-get install prometheus=$VERSION"; exit 1; }
log "installing prometheus=$VERSION (promtool and the server)"
apt-get update -qq >/dev/null
# RUNLEVEL=1: the postinst must not try to start the service (no init here).
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "prometheus=$VERSION" >/dev/null
log "$(promtool --version 2>&1 | head -1)"
