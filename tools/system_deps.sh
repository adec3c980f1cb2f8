#!/usr/bin/env bash
# Installs the system packages the Makefile needs when they are missing.
# Debian/Ubuntu: apt-get (as root, or with sudo). Elsewhere: say what to install, and stop.
set -euo pipefail

need=()
command -v make >/dev/null 2>&1 || need+=(make)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# PostgreSQL server binaries (initdb, postgres) for the local cloud's Aurora PostgreSQL.
# Debian keeps them off PATH, in /usr/lib/postgresql/<version>/bin.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  need+=(postgresql)
fi
# Redis server binary for the local cloud's ElastiCache (it starts its own redis-server).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages: ${need[*]}; install them with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "error: need root or sudo to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing system packages: ${need[*]}"
if [[ " ${need[*]} " == *" postgresql "* && ! -e /etc/postgresql-common/createcluster.conf ]]; then
  # The local cloud runs its own server (its own initdb, as the postgres user): Debian's
  # package must not create and start a "main" cluster of its own.
  $sudo mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
policy_rc=""
if [[ " ${need[*]} " == *" redis-server "* && ! -e /usr/sbin/policy-rc.d ]]; then
  # The local cloud runs its own redis-server processes: the package's service must not start
  # on install (invoke-rc.d and deb-systemd-invoke ask policy-rc.d; 101 = action forbidden).
  policy_rc=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy_rc" >/dev/null
  $sudo chmod 755 "$policy_rc"
  trap '$sudo rm -f "$policy_rc"' EXIT
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}" >/dev/null
if [[ " ${need[*]} " == *" redis-server "* && -d /run/systemd/system ]]; then
  # Nor at boot: nothing uses the system-wide server.
  $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
