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
# A dockerd that is only dying (or a zombie) must not stop us from starting a new one, and
# the pid file a killed dockerd left behind must not stop the new one from starting.
running_dockerd() { pgrep -x --runstates R,S,D dockerd >/dev/null 2>&1; }
starts=0
start_dockerd() {
  local pidfile=/var/run/docker.pid
  if [ -f "$pidfile" ] && ! ps -o stat= -p "$(cat "$pidfile")" 2>/dev/null | grep -q '^[RSD]'; then
    rm -f "$pidfile"
  fi
  echo "docker engine: starting dockerd in the background (log: $LOG)"
  mkdir -p "$(dirname "$LOG")"
  nohup dockerd >>"$LOG" 2>&1 </dev/null &
  starts=$((starts + 1))
}
running_dockerd || start_dockerd
for i in $(seq 1 60); do
  if answers; then
    echo "docker engine: answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  # Not running any more (it failed to start, or an old one was still dying): try again, a few times.
  if ! running_dockerd && [ "$starts" -lt 3 ] && [ $((i % 3)) = 0 ]; then
    start_dockerd
  fi
  sleep 1
done
echo "docker engine: dockerd did not answer within 60 s; see $LOG:" >&2
tail -20 "$LOG" >&2 || true
exit 1
