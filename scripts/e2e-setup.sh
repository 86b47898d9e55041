#!/usr/bin/env bash
# Gets everything the end-to-end tier (tests/e2e) needs ready, installing or starting only what is
# missing, and prints the environment the tests read as `export VAR=...` lines on stdout (progress
# goes to stderr):
#
#   eval "$(scripts/e2e-setup.sh)"
#   go test -tags e2e -count=1 -timeout 60m -v ./tests/e2e/
#
# Steps (each idempotent; a rerun on a prepared machine takes about a minute):
#   1. a Docker engine (scripts/install-docker.sh) and Prometheus (scripts/install-prometheus.sh);
#   2. the Pulumi CLI and the Kubernetes resource plugin, unless both are on PATH already
#      (../shared/pulumi-tools/install.sh, about 8 minutes the first time);
#   3. a cluster: the one KUBECONFIG names when it answers, else k8s-local
#      (../shared/k8s-local/up.sh, about 15 minutes the first time, then about 1 minute);
#   4. the Kafka, kcat and registry images, and the Kafka image of the upgrade test's starting
#      release (scripts/build-images.sh twice);
#   5. k8s-local only: the images are loaded into the node's containerd. Another cluster must be able
#      to pull the images named by KAFKA_IMAGE, KCAT_IMAGE, REGISTRY_IMAGE and
#      KAFKA_E2E_UPGRADE_IMAGE itself (set them to
#      references in a registry its nodes reach, pushed beforehand), and must let NodePorts
#      31090-31093 and 31500 answer on 127.0.0.1 of this machine (the tests use the default ports).
#
# Env:
#   KUBECONFIG          use this cluster when it answers (otherwise k8s-local is started)
#   K8S_LOCAL_DIR       k8s-local scripts (default <repo>/../shared/k8s-local, else /work/shared/k8s-local)
#   K8S_LOCAL_HOME      k8s-local state (default /var/lib/k8s-local, as k8s-local itself)
#   PULUMI_TOOLS_DIR    pulumi-tools scripts (default <repo>/../shared/pulumi-tools, else /work/shared/pulumi-tools)
#   KAFKA_IMAGE, KCAT_IMAGE, REGISTRY_IMAGE   image tags (passed to scripts/build-images.sh)
#   KAFKA_E2E_UPGRADE_FROM, KAFKA_E2E_UPGRADE_IMAGE   the upgrade test's starting release (default
#                       4.3.1, one of internal/kraft's Releases) and its image tag
#   E2E_WAIT_SECONDS    how long to wait for a k8s-local or pulumi-tools build that another process
#                       runs (default 3600)
#   KAFKA_E2E_NODES     k8s-local nodes (default 3: zones zone-a/b/c, for spread, drain and node-loss
#                       tests; up.sh --nodes)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
START=$(date +%s)
WAIT=${E2E_WAIT_SECONDS:-3600}
NODES=${KAFKA_E2E_NODES:-3}
log() { echo "[e2e-setup +$(($(date +%s) - START))s] $*" >&2; }
die() { echo "[e2e-setup] ERROR: $*" >&2; exit 1; }

# shared_dir NAME: the shared scripts folder NAME next to the repository, else under /work/shared.
shared_dir() {
  local d
  for d in "$ROOT/../shared/$1" "/work/shared/$1"; do
    [ -d "$d" ] && { (cd "$d" && pwd); return 0; }
  done
  return 1
}

# wait_for PATTERN WHAT: another process may be building the same thing right now (same machine,
# same cache folder); two copies would fight, so wait until it has finished.
wait_for() {
  local waited=0
  while pgrep -f "$1" >/dev/null 2>&1; do
    [ $((waited % 60)) = 0 ] && log "waiting for the $2 that another process runs ($(pgrep -f "$1" | tr '\n' ' '))"
    [ "$waited" -ge "$WAIT" ] && die "the $2 of another process still runs after ${WAIT}s"
    sleep 5; waited=$((waited + 5))
  done
}

# last_export OUTPUT VAR: the value of the last `export VAR=...` line of OUTPUT.
last_export() { sed -n "s/^export $2=//p" <<<"$1" | tail -n 1; }

log "1/5 docker engine, and Prometheus (the monitoring step runs a real one)"
"$ROOT/scripts/install-docker.sh"
"$ROOT/scripts/install-prometheus.sh"

log "2/5 pulumi CLI and kubernetes resource plugin"
if command -v pulumi >/dev/null 2>&1 && command -v pulumi-resource-kubernetes >/dev/null 2>&1; then
  log "on PATH: $(command -v pulumi) ($(pulumi version 2>/dev/null)), $(command -v pulumi-resource-kubernetes)"
else
  tools=${PULUMI_TOOLS_DIR:-$(shared_dir pulumi-tools)} \
    || die "no pulumi on PATH and no pulumi-tools folder (looked in $ROOT/../shared/pulumi-tools and /work/shared/pulumi-tools); set PULUMI_TOOLS_DIR or put pulumi and pulumi-resource-kubernetes on PATH"
  [ -x "$tools/install.sh" ] || die "$tools/install.sh is missing (PULUMI_TOOLS_DIR=$tools)"
  wait_for "pulumi-tools/install.sh" "pulumi-tools build"
  out=$("$tools/install.sh")
  bin=$(sed -n 's/^export PATH=\(.*\):\$PATH$/\1/p' <<<"$out" | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/pulumi" ] || die "$tools/install.sh did not print 'export PATH=<bin>:\$PATH' (got: $(tail -n 1 <<<"$out"))"
  export PATH=$bin:$PATH
  log "built: $bin"
fi
PULUMI_BIN=$(dirname "$(command -v pulumi)")
PLUGIN_BIN=$(dirname "$(command -v pulumi-resource-kubernetes)")

log "3/5 kubernetes cluster"
CLUSTER=
K8S_LOCAL_HOME=${K8S_LOCAL_HOME:-/var/lib/k8s-local}
klocal=${K8S_LOCAL_DIR:-$(shared_dir k8s-local || true)}
if [ -n "${KUBECONFIG:-}" ] && [ "$KUBECONFIG" = "$K8S_LOCAL_HOME/etc/admin.kubeconfig" ] \
  && PATH=$K8S_LOCAL_HOME/bin:$PATH kubectl get --raw /readyz --request-timeout=10s >/dev/null 2>&1; then
  # A rerun after `eval "$(scripts/e2e-setup.sh)"`: the k8s-local cluster runs already.
  export PATH=$K8S_LOCAL_HOME/bin:$PATH
  CLUSTER=k8s-local
  [ -n "$klocal" ] && [ -x "$klocal/load-image.sh" ] || die "KUBECONFIG is k8s-local's, but its scripts are not found; set K8S_LOCAL_DIR"
  log "k8s-local answers: KUBECONFIG=$KUBECONFIG"
elif [ -n "${KUBECONFIG:-}" ] && command -v kubectl >/dev/null 2>&1 \
  && kubectl get --raw /readyz --request-timeout=10s >/dev/null 2>&1; then
  CLUSTER=external
  log "KUBECONFIG=$KUBECONFIG answers: using that cluster (images are not loaded into it)"
else
  [ -n "${KUBECONFIG:-}" ] && log "KUBECONFIG=$KUBECONFIG does not answer (or no kubectl): starting k8s-local"
  [ -n "$klocal" ] \
    || die "no reachable KUBECONFIG and no k8s-local folder (looked in $ROOT/../shared/k8s-local and /work/shared/k8s-local); set K8S_LOCAL_DIR or KUBECONFIG"
  [ -x "$klocal/up.sh" ] || die "$klocal/up.sh is missing (K8S_LOCAL_DIR=$klocal)"
  [ "$(id -u)" = 0 ] || die "k8s-local needs root"
  wait_for "k8s-local/up.sh" "k8s-local build"
  # Fresh machines: up.sh installs into $K8S_LOCAL_HOME/bin before creating it.
  mkdir -p "$K8S_LOCAL_HOME/bin"
  out=$("$klocal/up.sh" --nodes "$NODES") || die "$klocal/up.sh failed (its log is on stderr above)"
  KUBECONFIG=$(last_export "$out" KUBECONFIG)
  [ -n "$KUBECONFIG" ] || die "$klocal/up.sh did not print 'export KUBECONFIG=...'"
  export KUBECONFIG
  export PATH=$K8S_LOCAL_HOME/bin:$PATH
  CLUSTER=k8s-local
  kubectl get --raw /readyz --request-timeout=10s >/dev/null || die "k8s-local started but its API server does not answer"
  log "k8s-local is up: KUBECONFIG=$KUBECONFIG"
fi
KUBECTL_BIN=$(dirname "$(command -v kubectl)")
if [ "$CLUSTER" = k8s-local ]; then
  have=$(kubectl get nodes --no-headers 2>/dev/null | wc -l)
  if [ "$have" != "$NODES" ]; then
    log "k8s-local has $have node(s); starting it with --nodes $NODES"
    "$klocal/up.sh" --nodes "$NODES" >/dev/null || die "$klocal/up.sh --nodes $NODES failed (its log is on stderr above)"
  fi
  kubectl wait --for=condition=Ready node --all --timeout=120s >/dev/null || die "not every k8s-local node is Ready"
  log "k8s-local nodes: $(kubectl get nodes -L topology.kubernetes.io/zone --no-headers | awk '{print $1"("$NF")"}' | tr '\n' ' ')"
fi

log "4/5 images"
out=$("$ROOT/scripts/build-images.sh")
value() { sed -n "s/^$1=//p" <<<"$out" | tail -n 1; }
KAFKA=$(value KAFKA_IMAGE); KCAT=$(value KCAT_IMAGE); REG=$(value REGISTRY_IMAGE)
[ -n "$KAFKA" ] && [ -n "$KCAT" ] && [ -n "$REG" ] || die "scripts/build-images.sh did not print KAFKA_IMAGE, KCAT_IMAGE and REGISTRY_IMAGE"
# The upgrade test starts a cluster on the previous release and upgrades it to the pinned one.
UPGRADE_FROM=${KAFKA_E2E_UPGRADE_FROM:-4.3.1}
log "4/5 image of Kafka $UPGRADE_FROM (the upgrade test's starting release)"
out=$(KAFKA_VERSION=$UPGRADE_FROM KAFKA_IMAGE=${KAFKA_E2E_UPGRADE_IMAGE:-kafka-kraft/kafka:$UPGRADE_FROM-local} "$ROOT/scripts/build-images.sh")
UPGRADE_IMAGE=$(value KAFKA_IMAGE)
[ -n "$UPGRADE_IMAGE" ] || die "scripts/build-images.sh (KAFKA_VERSION=$UPGRADE_FROM) did not print KAFKA_IMAGE"
# The registry test pushes a small image from this machine: k8s-local's busybox image when present,
# else the kcat image (it has sleep and runs as any user).
PUSH=${KAFKA_E2E_PUSH_IMAGE:-}
if [ -z "$PUSH" ]; then
  if docker image inspect bb:1 >/dev/null 2>&1; then PUSH=bb:1; else PUSH=$KCAT; fi
fi

# normalize IMAGE: the name containerd lists for a docker image name (docker.io/library/... etc.).
normalize() {
  local first=${1%%/*}
  if [[ $1 != */* ]]; then echo "docker.io/library/$1"
  elif [[ $first == *.* || $first == *:* || $first == localhost ]]; then echo "$1"
  else echo "docker.io/$1"; fi
}

log "5/5 images on the node"
if [ "$CLUSTER" = k8s-local ]; then
  home=$K8S_LOCAL_HOME
  stamps=$home/e2e-loaded
  mkdir -p "$stamps"
  for img in "$KAFKA" "$KCAT" "$REG" "$UPGRADE_IMAGE"; do
    id=$(docker image inspect -f '{{.Id}}' "$img")
    stamp=$stamps/${img//[\/:]/_}
    # Skip an image every node already has in this exact build (a save/import of the Kafka image
    # takes a while); the stamp alone is not trusted: every node's containerd must list the name.
    on_all=1
    for sock in "$home/run/containerd/containerd.sock" "$home"/nodes/n*/run/containerd/containerd.sock; do
      [ -S "$sock" ] || continue
      ctr -a "$sock" -n k8s.io images ls -q 2>/dev/null | grep -qxF "$(normalize "$img")" || on_all=0
    done
    if [ "$(cat "$stamp" 2>/dev/null)" = "$id" ] && [ "$on_all" = 1 ]; then
      log "$img already on the node"
      continue
    fi
    # Once seen on 27 Nov 2026: ctr import failed with "parent snapshot ... does not exist" on one
    # node and worked when run again; a second failure is real.
    if ! "$klocal/load-image.sh" "$img"; then
      log "loading $img failed; trying once more"
      sleep 5
      "$klocal/load-image.sh" "$img"
    fi
    echo "$id" >"$stamp"
  done
else
  log "cluster is not k8s-local: $KAFKA, $KCAT, $REG and $UPGRADE_IMAGE must be pullable by its nodes"
fi

log "ready in $(($(date +%s) - START))s"
q() { printf '%q' "$1"; }
echo "export KUBECONFIG=$(q "$KUBECONFIG")"
# PATH gains the folders of pulumi, its Kubernetes plugin and kubectl, each once.
path=
for d in "$PULUMI_BIN" "$PLUGIN_BIN" "$KUBECTL_BIN"; do
  case ":$path:" in *":$d:"*) ;; *) path=${path:+$path:}$(q "$d") ;; esac
done
echo "export PATH=$path:\$PATH"
echo "export PULUMI_SKIP_UPDATE_CHECK=true"
echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
echo "export KAFKA_E2E_CLUSTER=$CLUSTER"
[ "$CLUSTER" = k8s-local ] && echo "export KAFKA_E2E_K8S_LOCAL_DIR=$(q "$klocal")"
echo "export KAFKA_E2E_IMAGE=$(q "$KAFKA")"
echo "export KAFKA_E2E_UPGRADE_FROM=$(q "$UPGRADE_FROM")"
echo "export KAFKA_E2E_UPGRADE_IMAGE=$(q "$UPGRADE_IMAGE")"
echo "export KAFKA_E2E_KCAT_IMAGE=$(q "$KCAT")"
echo "export KAFKA_E2E_REGISTRY_IMAGE=$(q "$REG")"
echo "export KAFKA_E2E_PUSH_IMAGE=$(q "$PUSH")"
