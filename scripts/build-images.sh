#!/usr/bin/env bash
# Builds the project's three images offline, with the docker CLI only (no registry is reachable):
#   kafka     docker/Dockerfile           BASE_IMAGE=local JRE, GO_IMAGE=local Go, KAFKA_DIST_SOURCE=context (Maven Central jars)
#   kcat      docker/kcat/Dockerfile      BASE_IMAGE=local Debian
#   registry  docker/registry/Dockerfile  BASE_IMAGE=local Debian
# after making a docker engine answer, the local base images and the Kafka libs (each step is cached,
# so an unchanged rerun takes seconds). Progress goes to stderr; stdout ends with lines to eval:
#   KAFKA_IMAGE=... KCAT_IMAGE=... REGISTRY_IMAGE=... (and the build arguments used, *_IMAGE_ID=sha256:...)
#   eval "$(scripts/build-images.sh)"
# Env: KAFKA_VERSION (4.4.0), SCALA_VERSION (2.13), KAFKA_IMAGE, KCAT_IMAGE, REGISTRY_IMAGE (tags),
#      DOCKER_BUILD_ARGS (extra `docker build` flags, e.g. --no-cache).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
export SCALA_VERSION=${SCALA_VERSION:-2.13}
KAFKA_IMAGE=${KAFKA_IMAGE:-kafka-kraft/kafka:${KAFKA_VERSION}-local}
KCAT_IMAGE=${KCAT_IMAGE:-kafka-kraft/kcat:1.7.1-local}
REGISTRY_IMAGE=${REGISTRY_IMAGE:-kafka-kraft/registry:2.8.2-local}
# The docker CLI here has no buildx plugin: ask for the legacy builder instead of failing.
export DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false
START=$(date +%s)
step() { echo "==> [$1/6] $2 (+$(($(date +%s) - START))s)" >&2; }
# value KEY OUTPUT: the value of a KEY=value line
value() { sed -n "s/^$1=//p" <<<"$2" | tail -n 1; }
build() { # build TAG CONTEXT DOCKERFILE [ARGS...]
  local tag=$1 ctx=$2 file=$3; shift 3
  # The filter drops the legacy builder's deprecation notice; pipefail keeps docker's exit status.
  # shellcheck disable=SC2086 # DOCKER_BUILD_ARGS holds several flags
  docker build ${DOCKER_BUILD_ARGS:-} -t "$tag" -f "$file" "$@" "$ctx" 2>&1 \
    | { grep --line-buffered -v -e '^DEPRECATED: The legacy builder' -e 'BuildKit is currently disabled' \
          -e 'Install the buildx component' -e 'docs.docker.com/go/buildx' || true; } >&2
}

step 1 "docker engine"
"$ROOT/scripts/install-docker.sh"
step 2 "local base images"
out=$("$ROOT/scripts/build-base-images.sh")
DEBIAN_IMAGE=$(value DEBIAN_IMAGE "$out")
JRE_IMAGE=$(value JRE_IMAGE "$out")
GO_IMAGE=$(value GO_IMAGE "$out")
step 3 "Kafka $KAFKA_VERSION libs from Maven Central"
"$ROOT/scripts/fetch-kafka-dist.sh" >/dev/null
step 4 "image $KAFKA_IMAGE"
build "$KAFKA_IMAGE" "$ROOT/docker" "$ROOT/docker/Dockerfile" \
  --build-arg BASE_IMAGE="$JRE_IMAGE" --build-arg GO_IMAGE="$GO_IMAGE" --build-arg KAFKA_DIST_SOURCE=context \
  --build-arg KAFKA_VERSION="$KAFKA_VERSION" --build-arg SCALA_VERSION="$SCALA_VERSION"
step 5 "image $KCAT_IMAGE"
build "$KCAT_IMAGE" "$ROOT/docker/kcat" "$ROOT/docker/kcat/Dockerfile" --build-arg BASE_IMAGE="$DEBIAN_IMAGE"
step 6 "image $REGISTRY_IMAGE"
build "$REGISTRY_IMAGE" "$ROOT/docker/registry" "$ROOT/docker/registry/Dockerfile" --build-arg BASE_IMAGE="$DEBIAN_IMAGE"
echo "==> done in $(($(date +%s) - START))s" >&2

image_id() { docker image inspect -f '{{.Id}}' "$1"; }
echo "KAFKA_IMAGE=$KAFKA_IMAGE"
echo "KCAT_IMAGE=$KCAT_IMAGE"
echo "REGISTRY_IMAGE=$REGISTRY_IMAGE"
# The Kafka image's build arguments, for tools that rebuild it from docker/ the same way.
echo "KAFKA_BASE_IMAGE=$JRE_IMAGE"
echo "KAFKA_DIST_SOURCE=context"
echo "KAFKA_GO_IMAGE=$GO_IMAGE"
echo "KCAT_BASE_IMAGE=$DEBIAN_IMAGE"
echo "KAFKA_IMAGE_ID=$(image_id "$KAFKA_IMAGE")"
echo "KCAT_IMAGE_ID=$(image_id "$KCAT_IMAGE")"
echo "REGISTRY_IMAGE_ID=$(image_id "$REGISTRY_IMAGE")"
