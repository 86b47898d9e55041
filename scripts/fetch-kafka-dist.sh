#!/usr/bin/env bash
# Assembles docker/dist/kafka_<scala>-<kafka>/libs from Maven Central (scripts/kafka-dist/pom.xml), for
# image builds with KAFKA_DIST_SOURCE=context: the Apache download site may be unreachable, Maven Central
# is not. Idempotent: skipped when the folder was made from the same pom and versions.
#   scripts/fetch-kafka-dist.sh              # last line: KAFKA_DIST_DIR=...
# Env: KAFKA_VERSION (4.4.0), SCALA_VERSION (2.13), MAVEN_OPTS/MVN_ARGS for proxies or mirrors.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
SCALA_VERSION=${SCALA_VERSION:-2.13}
POM=$ROOT/scripts/kafka-dist/pom.xml
DIST=$ROOT/docker/dist/kafka_${SCALA_VERSION}-${KAFKA_VERSION}
log() { echo "[kafka-dist] $*" >&2; }

# The stamp ties the folder to its inputs: a changed pom or version refetches.
stamp="$KAFKA_VERSION $SCALA_VERSION $(sha256sum "$POM" | cut -d' ' -f1)"
if [ -f "$DIST/.stamp" ] && [ "$(cat "$DIST/.stamp")" = "$stamp" ] && ls "$DIST"/libs/kafka_"$SCALA_VERSION"-*.jar >/dev/null 2>&1; then
  log "$DIST is up to date ($(ls "$DIST/libs" | wc -l) jars)"
else
  command -v mvn >/dev/null 2>&1 || {
    log "installing maven"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null
  }
  log "resolving kafka_$SCALA_VERSION:$KAFKA_VERSION and kafka-tools:$KAFKA_VERSION from Maven Central"
  tmp=$(mktemp -d "$ROOT/docker/dist/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # -f keeps target/ under the pom's folder; package runs copy-dependencies only (pom packaging).
  mvn -B -q -f "$POM" ${MVN_ARGS:-} package \
    -Dkafka.version="$KAFKA_VERSION" -Dscala.binary.version="$SCALA_VERSION" -Ddist.libs="$tmp/libs" >&2
  rm -rf "$ROOT/scripts/kafka-dist/target"
  echo "$stamp" >"$tmp/.stamp"
  rm -rf "$DIST"
  mv "$tmp" "$DIST"
  chmod 755 "$DIST"
  log "wrote $(ls "$DIST/libs" | wc -l) jars ($(du -sh "$DIST/libs" | cut -f1)) to $DIST/libs"
fi
echo "KAFKA_DIST_DIR=$DIST"
