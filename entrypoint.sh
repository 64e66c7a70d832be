#!/bin/sh
# Container entry: serve /etc/tracker/config.json unless arguments say otherwise.
set -e
if [ "$#" -eq 0 ]; then
  exec tracker /etc/tracker/config.json
fi
exec tracker "$@"
