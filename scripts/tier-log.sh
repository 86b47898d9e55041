#!/usr/bin/env bash
# Passes `go test -v` output through unchanged and keeps a copy in $TIER_LOG_DIR/<tier>.log
# (default ./tmp), so a CI failure can be read after the fact. The pipeline's status is go test's
# (the Makefile runs bash with pipefail).
set -euo pipefail
dir=${TIER_LOG_DIR:-tmp}
mkdir -p "$dir"
tee "$dir/$1.log"
