#!/usr/bin/env bash
# Assembles docker/dist/kafka_<scala>-<kafka>/libs from Maven Central (scripts/kafka-dist/pom.xml), and
# docker/dist/jmx_prometheus_javaagent-<version>.jar (the metrics agent, pinned in docker/Dockerfile), for
# image builds with KAFKA_DIST_SOURCE=context: the Apache download site may be unreachable, Maven Central
# is not. Idempotent: skipped when the folder was made from the same pom and versions.
#   scripts/fetch-kafka-dist.sh              # last line: KAFKA_DIST_DIR=...
# Env: KAFKA_VERSION (4.4.0), SCALA_VERSION (2.13), MAVEN_OPTS/MVN_ARGS for proxies or mirrors, MAVEN_URL
# (a Maven Central mirror for the agent).
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

# The Prometheus JMX exporter agent, the version and SHA-256 docker/Dockerfile pins.
agent_version=$(sed -n 's/^ARG JMX_EXPORTER_VERSION=//p' "$ROOT/docker/Dockerfile")
agent_sha=$(sed -n 's/^ARG JMX_EXPORTER_SHA256=//p' "$ROOT/docker/Dockerfile")
agent=$ROOT/docker/dist/jmx_prometheus_javaagent-$agent_version.jar
if ! echo "$agent_sha  $agent" | sha256sum -c - >/dev/null 2>&1; then
  log "downloading jmx_prometheus_javaagent $agent_version from Maven Central"
  curl -fsSL --retry 3 -o "$agent.tmp" \
    "${MAVEN_URL:-https://repo1.maven.org/maven2}/io/prometheus/jmx/jmx_prometheus_javaagent/$agent_version/jmx_prometheus_javaagent-$agent_version.jar"
  echo "$agent_sha  $agent.tmp" | sha256sum -c - >/dev/null || { rm -f "$agent.tmp"; log "jmx_prometheus_javaagent-$agent_version.jar: SHA-256 mismatch"; exit 1; }
  mv "$agent.tmp" "$agent"
fi
echo "KAFKA_DIST_DIR=$DIST"
