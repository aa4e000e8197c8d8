#!/usr/bin/env bash
# Health-checked rolling restart of Toàn Cảnh API replicas (or workers), one at a time: restart one, wait
# until a NEW process of it answers /readyz 200, only then the next. Stops at the first one that does not
# come back, so at most one replica is ever down. Run after `pip install -U` and `toancanh db upgrade`.
#
#   deploy/rolling-restart.sh 8001 8002                       # systemd: toancanh-api@8001, @8002
#   RESTART_CMD='systemctl restart toancanh-worker@{}' READY_URL='http://127.0.0.1:809{}/readyz' \
#     deploy/rolling-restart.sh 1 2
#
# RESTART_CMD and READY_URL are templates: {} is the instance. TIMEOUT_S: how long one may take (60).
set -euo pipefail
default_restart='systemctl restart toancanh-api@{}'
default_ready='http://127.0.0.1:{}/readyz'
RESTART_CMD="${RESTART_CMD:-$default_restart}"
READY_URL="${READY_URL:-$default_ready}"
TIMEOUT_S="${TIMEOUT_S:-60}"
[ $# -gt 0 ] || { echo "usage: $0 INSTANCE..." >&2; exit 2; }

instance_of() {  # the "instance" field of /readyz when it answers 200, else nothing
  curl -fsS --max-time 3 "$1" 2>/dev/null | sed -n 's/.*"instance": *"\([^"]*\)".*/\1/p' || true
}

for i in "$@"; do
  url="${READY_URL//"{}"/$i}"
  cmd="${RESTART_CMD//"{}"/$i}"
  before="$(instance_of "$url")"
  echo "restarting $i (was ${before:-not ready})"
  start=$(date +%s)
  bash -c "$cmd"
  while :; do
    now="$(instance_of "$url")"
    if [ -n "$now" ] && [ "$now" != "$before" ]; then
      echo "$i ready again after $(( $(date +%s) - start )) s ($now)"
      break
    fi
    if [ $(( $(date +%s) - start )) -ge "$TIMEOUT_S" ]; then
      echo "$i did not come back ready within ${TIMEOUT_S} s: stopping here, the others are untouched" >&2
      exit 1
    fi
    sleep 0.5
  done
done
echo "rolling restart done: $*"
