#!/usr/bin/env bash
# Make sure a Docker engine answers; on a Debian-like machine, install and start one when none does.
# Idempotent: an engine that already answers is left alone.
set -euo pipefail

LOG=${CHAOS_DOCKERD_LOG:-/var/log/chaos-dockerd.log}

answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  echo "docker engine: answers ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "docker engine: DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "docker engine: none answers, and this script can only install one as root on a machine with apt." >&2
  echo "Install Docker (Debian: apt-get install docker.io iptables), start it, and run this again." >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  echo "docker engine: installing Debian's docker.io and iptables with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io iptables
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker engine: starting dockerd in the background (log: $LOG)"
  mkdir -p "$(dirname "$LOG")"
  nohup dockerd >>"$LOG" 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
  if answers; then
    echo "docker engine: answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "docker engine: dockerd did not answer within 60 s; see $LOG:" >&2
tail -20 "$LOG" >&2 || true
exit 1
