#!/usr/bin/env bash
# Local base images, because no registry image can be pulled on our machines:
#   1. a minimal Debian bookworm root filesystem (debootstrap --variant=minbase), `docker import`ed;
#   2. a JRE image FROM it (openjdk-17-jre-headless), used as the Kafka image's BASE_IMAGE;
#   3. a Go toolchain image FROM it (this machine's GOROOT), used as the Kafka image's GO_IMAGE to
#      compile the readiness probe (docker/kafka-ready; standard library only, so nothing is fetched).
# Idempotent: an image that exists is kept; the rootfs tarball is cached, so a rerun is instant.
#   scripts/build-base-images.sh            # prints DEBIAN_IMAGE=..., JRE_IMAGE=... and GO_IMAGE=... at the end
# Env: DEBIAN_IMAGE, JRE_IMAGE, GO_IMAGE (tags), DEBIAN_MIRROR, KAFKA_KRAFT_CACHE (tarball cache folder),
#      REBUILD_BASE=1 to rebuild both images (the cached tarball is reused unless deleted).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEBIAN_IMAGE=${DEBIAN_IMAGE:-kafka-kraft/debian:bookworm-minbase}
JRE_IMAGE=${JRE_IMAGE:-kafka-kraft/jre:17-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -z "${KAFKA_KRAFT_CACHE:-}" ]; then
  if mkdir -p /var/cache/kafka-kraft 2>/dev/null && [ -w /var/cache/kafka-kraft ]; then
    KAFKA_KRAFT_CACHE=/var/cache/kafka-kraft
  else
    KAFKA_KRAFT_CACHE=$HOME/.cache/kafka-kraft
  fi
fi
TARBALL=$KAFKA_KRAFT_CACHE/debian-bookworm-minbase.tar
# The docker CLI here has no buildx plugin: use the legacy builder explicitly (and quietly).
export DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false
log() { echo "[base-images] $*" >&2; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
[ "${REBUILD_BASE:-0}" = 1 ] && { docker image rm -f "$JRE_IMAGE" "$DEBIAN_IMAGE" >/dev/null 2>&1 || true; }

if have_image "$DEBIAN_IMAGE"; then
  log "$DEBIAN_IMAGE exists"
else
  if [ ! -s "$TARBALL" ]; then
    [ "$(id -u)" = 0 ] || { log "debootstrap needs root (or put a tarball at $TARBALL)"; exit 1; }
    if ! command -v debootstrap >/dev/null 2>&1; then
      log "installing debootstrap"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    mkdir -p "$KAFKA_KRAFT_CACHE"
    rootfs=$(mktemp -d "$KAFKA_KRAFT_CACHE/rootfs.XXXXXX")
    # debootstrap mounts /proc etc. inside the rootfs; unmount before removing it on any exit.
    trap 'for m in proc sys dev/pts dev; do umount -l "$rootfs/$m" 2>/dev/null || true; done; rm -rf "$rootfs"' EXIT
    log "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (a few minutes)"
    debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$KAFKA_KRAFT_CACHE/debootstrap.log" 2>&1 \
      || { tail -n 30 "$KAFKA_KRAFT_CACHE/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
    # Security and point-release updates for the images built FROM this base.
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
      "$DEBIAN_MIRROR" "$DEBIAN_MIRROR" "$DEBIAN_MIRROR" >"$rootfs/etc/apt/sources.list"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    date -u +%Y-%m-%d >"$rootfs/etc/kafka-kraft-base-date"
    # Sorted, numeric, fixed-mtime tar: the same rootfs gives the same bytes.
    tar -C "$rootfs" --sort=name --numeric-owner --mtime=@0 -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
  else
    log "reusing cached rootfs $TARBALL"
  fi
  snap=$(tar -xOf "$TARBALL" ./etc/kafka-kraft-base-date 2>/dev/null || echo unknown)
  log "importing $DEBIAN_IMAGE (rootfs of $snap)"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL kafka-kraft.rootfs=debian-bookworm-minbase kafka-kraft.rootfs-date=$snap" \
    --change 'CMD ["/bin/bash"]' \
    "$TARBALL" "$DEBIAN_IMAGE" >/dev/null
fi

if have_image "$JRE_IMAGE" && [ "$(docker image inspect -f '{{index .Config.Labels "kafka-kraft.base"}}' "$JRE_IMAGE")" = "$(docker image inspect -f '{{.Id}}' "$DEBIAN_IMAGE")" ]; then
  log "$JRE_IMAGE exists"
else
  log "building $JRE_IMAGE (apt-get install openjdk-17-jre-headless)"
  docker build -t "$JRE_IMAGE" --build-arg BASE_IMAGE="$DEBIAN_IMAGE" \
    --label "kafka-kraft.base=$(docker image inspect -f '{{.Id}}' "$DEBIAN_IMAGE")" \
    -f "$ROOT/docker/jre/Dockerfile" "$ROOT/docker/jre" >&2
fi
# The Go toolchain image: Docker Hub's golang images cannot be pulled here, this machine's Go is.
GOROOT_DIR=$(go env GOROOT 2>/dev/null) || { log "no go on PATH: the Go toolchain image needs it"; exit 1; }
GO_VERSION=$(go env GOVERSION)
GO_IMAGE=${GO_IMAGE:-kafka-kraft/go:${GO_VERSION#go}-bookworm}
if have_image "$GO_IMAGE" && [ "$(docker image inspect -f '{{index .Config.Labels "kafka-kraft.base"}}' "$GO_IMAGE")" = "$(docker image inspect -f '{{.Id}}' "$DEBIAN_IMAGE")" ]; then
  log "$GO_IMAGE exists"
else
  log "building $GO_IMAGE from $GOROOT_DIR"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  # Hard links when the context is on the same filesystem (instant), else a copy.
  cp -al "$GOROOT_DIR" "$ctx/go" 2>/dev/null || cp -a "$GOROOT_DIR" "$ctx/go"
  printf '%s\n' "FROM $DEBIAN_IMAGE" "COPY go /usr/local/go" \
    "ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOTOOLCHAIN=local HOME=/root" \
    "RUN go version" >"$ctx/Dockerfile"
  docker build -t "$GO_IMAGE" --label "kafka-kraft.base=$(docker image inspect -f '{{.Id}}' "$DEBIAN_IMAGE")" "$ctx" >&2
  rm -rf "$ctx"
  trap - EXIT
fi
echo "DEBIAN_IMAGE=$DEBIAN_IMAGE"
echo "JRE_IMAGE=$JRE_IMAGE"
echo "GO_IMAGE=$GO_IMAGE"
