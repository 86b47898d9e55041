#!/bin/sh
# As in the registry:2 image: a config file as the first argument means "registry serve FILE";
# anything else runs as given.
set -e
case "$1" in
  *.yaml | *.yml) set -- registry serve "$@" ;;
  serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"
