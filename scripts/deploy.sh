#!/usr/bin/env bash
# Runs a kafka-kraft stack operation with whatever this machine has, installing what is missing:
#
#   scripts/deploy.sh up|preview|destroy|outputs|smoke|status
#                                     (make deploy / preview / destroy / outputs / smoke / status)
#
# smoke and status run ./cmd/smoke or ./cmd/status from this machine against the stack's external
# listeners, with the brokers and the admin's credentials from the stack's outputs, and exit with
# the command's own code (status: 0 healthy, 1 problems, 2 cannot read the cluster).
#
# Normal machines (the Pulumi CLI can fetch its Docker plugin, images can be pulled): the stack
# STACK (default dev) is deployed to the cluster KUBECONFIG names; KafkaImage builds docker/ and
# pushes to the in-cluster registry.
#
# Offline machines (no Pulumi CLI or Docker plugin and no way to fetch it, like ours; or
# KAFKA_KRAFT_OFFLINE=1): everything is
# prepared locally by scripts/e2e-setup.sh (Docker engine, Pulumi CLI, a local Kubernetes unless
# KUBECONFIG answers, the three images built from docker/ and loaded into the node), and the stack
# STACK (default "local", a git-ignored copy of Pulumi.dev.yaml) gets `image`, `registryImage` and
# `kcatImage` set to those prebuilt images, which skips the build inside Pulumi.
#
# Env: STACK, YES=1 (up without the confirmation; the plan is still printed), KUBECONFIG, PULUMI_BACKEND_URL (default: your Pulumi login, else a local file backend
# in ~/.kafka-kraft/state), PULUMI_CONFIG_PASSPHRASE (default empty for that local backend).
set -euo pipefail
ORIG_PATH=$PATH
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
action=${1:?usage: scripts/deploy.sh up|preview|destroy|outputs|smoke|status}
log() { echo "[deploy] $*" >&2; }

# docker_plugin: the Pulumi Docker resource plugin is installed, or can be installed now (a machine
# with internet gets it in seconds; ours fail to resolve get.pulumi.com in about 3 s).
docker_plugin() {
  command -v pulumi >/dev/null 2>&1 || return 1
  command -v pulumi-resource-docker >/dev/null 2>&1 && return 0
  pulumi plugin ls 2>/dev/null | grep -qE '^docker[[:space:]]+resource' && return 0
  local v; v=$(sed -n 's|^[[:space:]]*github.com/pulumi/pulumi-docker/sdk/v4 v||p' go.mod)
  log "installing the Pulumi Docker plugin $v"
  pulumi plugin install resource docker "$v" >/dev/null 2>&1
}

config=()
if [ "${KAFKA_KRAFT_OFFLINE:-}" != 1 ] && docker_plugin; then
  STACK=${STACK:-dev}
  log "online mode: stack $STACK, cluster from ${KUBECONFIG:-~/.kube/config}"
else
  log "offline mode: no Pulumi Docker plugin here; preparing tools, cluster and prebuilt images (scripts/e2e-setup.sh)"
  env=$("$ROOT/scripts/e2e-setup.sh")  # an assignment, so set -e stops on a failed setup
  eval "$env"
  STACK=${STACK:-local}
  if [ "$action" != destroy ]; then
    config=(-config "image=$KAFKA_E2E_IMAGE" -config "registryImage=$KAFKA_E2E_REGISTRY_IMAGE" -config "kcatImage=$KAFKA_E2E_KCAT_IMAGE")
  fi
fi
if [ ! -f "Pulumi.$STACK.yaml" ] && [ "$STACK" = local ]; then
  cp Pulumi.dev.yaml Pulumi.local.yaml
fi

export PULUMI_SKIP_UPDATE_CHECK=true
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
  # Log the CLI in to a local backend, not just this process: `pulumi config set`, `pulumi stack
  # output` and `pulumi up` typed afterwards then find the same stack (a PULUMI_BACKEND_URL set here
  # would vanish with this script, and the CLI would ask for PULUMI_ACCESS_TOKEN).
  mkdir -p "$HOME/.kafka-kraft/state"
  pulumi login "file://$HOME/.kafka-kraft/state" >/dev/null
  log "not logged in to Pulumi: logged the CLI in to the local backend file://$HOME/.kafka-kraft/state"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # The stack holds no secrets unless you add some; set a passphrase before you do.
  export PULUMI_CONFIG_PASSPHRASE=""
fi
# run_with_outputs CMD [FLAGS...]: runs ./cmd/CMD -outputs FILE FLAGS against the stack's
# externalBootstrapServers output, with the CA and the admin's credentials from the outputs
# (security tls), kept in a directory only this user can read, removed afterwards. The command is
# built, not `go run`: go run turns every failure into exit status 1, and status tells problems (1)
# from a cluster it cannot read (2).
run_with_outputs() {
  local cmd=$1
  shift
  tmpdir=$(mktemp -d)  # 0700; global, for the EXIT trap
  trap 'rm -rf "$tmpdir"' EXIT
  local outputs=$tmpdir/outputs.json
  (umask 077 && go run ./cmd/kafka-kraft -stack "$STACK" -show-secrets outputs >"$outputs")
  grep -q '"externalBootstrapServers"' "$outputs" || { log "stack $STACK has no externalBootstrapServers output: deploy it first (make deploy)"; exit 1; }
  go build -o "$tmpdir/$cmd" "./cmd/$cmd"
  "$tmpdir/$cmd" -outputs "$outputs" "$@"
}
case $action in
smoke | status)
  flags=${SMOKE_FLAGS:-}
  if [ "$action" = status ]; then flags=${STATUS_FLAGS:-}; fi
  # shellcheck disable=SC2086 # the flags variable holds several flags
  run_with_outputs "$action" $flags
  exit $?
  ;;
esac
yes=()
if [ "$action" = up ] && [ "${YES:-}" = 1 ]; then
  yes=(-yes)
fi
if [ "$action" = up ]; then
  # What a user types next works in this shell and any other: the CLI is logged in (above); only
  # the passphrase of the local backend and, offline, the CLI's folder must be known.
  hint="change it with: pulumi config set --stack $STACK replicas 4 && make deploy STACK=$STACK"
  command -v pulumi >/dev/null 2>&1 && [ "$(command -v pulumi)" != "$(PATH=${ORIG_PATH:-$PATH} command -v pulumi 2>/dev/null)" ] \
    && hint="$hint (the Pulumi CLI is in $(dirname "$(command -v pulumi)"))"
  [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && hint="$hint; with the local backend, export PULUMI_CONFIG_PASSPHRASE= first"
  trap 'log "$hint"' EXIT
  go run ./cmd/kafka-kraft -stack "$STACK" "${yes[@]}" "${config[@]}" "$action"
  exit
fi
exec go run ./cmd/kafka-kraft -stack "$STACK" "${config[@]}" "$action"
