#!/usr/bin/env bash
# Tools outside Python that the framework uses on the runner: debootstrap (offline base image)
# and docker-compose (only for the comparison benchmark). Idempotent.
set -euo pipefail
missing=()
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${CHAOS_WITH_COMPOSE:-0}" = 1 ]; then command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose); fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
