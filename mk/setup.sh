#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing, the demo and the
# benchmarks of pg_ivmx need. Idempotent: when every package is already
# installed it only queries dpkg and returns. Needs root when something is
# missing (apt-get install).
set -euo pipefail

packages=(
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  libboost-graph-dev libgtest-dev cmake g++ make libpq-dev gnuplot-nox
  clang-format-14 postgresql-15-partman
)

missing=()
for pkg in "${packages[@]}"; do
  # "ii " = desired install, currently installed; anything else needs apt.
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ $status == "ii "* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if ((EUID != 0)); then
  echo "setup: missing Debian packages: ${missing[*]}" >&2
  echo "setup: run 'make setup' (or bash mk/setup.sh) as root to install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
