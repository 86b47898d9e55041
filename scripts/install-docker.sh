#!/usr/bin/env bash
# Makes a Docker engine answer `docker info`: reuses one that runs (k8s-local's up.sh may have started
# it), else installs Debian's docker.io if needed and starts dockerd in the background (our machines
# have no systemd). Idempotent.
#   scripts/install-docker.sh
# Env: DOCKERD_LOG (default /var/log/kafka-kraft-dockerd.log), DOCKER_WAIT_SECONDS (default 60).
set -euo pipefail
WAIT=${DOCKER_WAIT_SECONDS:-60}
LOG=${DOCKERD_LOG:-/var/log/kafka-kraft-dockerd.log}
log() { echo "[install-docker] $*" >&2; }
answers() { docker info >/dev/null 2>&1; }
wait_engine() {
  for _ in $(seq 1 "$WAIT"); do answers && return 0; sleep 1; done
  return 1
}

if command -v docker >/dev/null 2>&1 && answers; then
  log "docker engine answers ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi
[ "$(id -u)" = 0 ] || { log "no docker engine answers and starting one needs root"; exit 1; }
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  log "installing docker.io"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
# A dockerd that is still starting (e.g. launched by another script a moment ago) gets a chance first:
# two daemons on one socket would fight. Without pgrep, a socket is the only hint.
dockerd_runs() {
  if command -v pgrep >/dev/null 2>&1; then pgrep -x dockerd >/dev/null 2>&1; else [ -S /var/run/docker.sock ]; fi
}
if dockerd_runs; then
  log "a dockerd is present; waiting up to ${WAIT}s for it to answer"
  if wait_engine; then log "docker engine answers"; exit 0; fi
  log "dockerd runs but does not answer within ${WAIT}s; not starting a second one"
  exit 1
fi
log "starting dockerd in the background (log: $LOG)"
mkdir -p "$(dirname "$LOG")"
setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
echo $! >/var/run/kafka-kraft-dockerd.pid
if wait_engine; then
  log "docker engine answers (dockerd pid $(cat /var/run/kafka-kraft-dockerd.pid))"
else
  tail -n 20 "$LOG" >&2
  log "dockerd did not answer within ${WAIT}s"
  exit 1
fi
