#!/bin/sh
# Container entry: serve /etc/tracker/config.json unless arguments say otherwise.
# TRACKER_BIND (set in the image to 0.0.0.0:8080, since the default config listens on loopback only)
# overrides ProxyPort; set it empty to use the config's own ProxyPort.
set -e
if [ "$#" -eq 0 ]; then
  if [ -n "${TRACKER_BIND:-}" ]; then
    exec tracker /etc/tracker/config.json --bind "$TRACKER_BIND"
  fi
  exec tracker /etc/tracker/config.json
fi
exec tracker "$@"
