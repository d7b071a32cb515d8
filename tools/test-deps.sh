#!/usr/bin/env bash
# Make this machine ready for the test suite: the Debian packages in tools/debian-packages.txt
# (installed with apt-get when run as root; otherwise the exact command is printed and the run
# stops) and a PostgreSQL server on 127.0.0.1:5432 for the second, PostgreSQL pass.
# With --build: only the packages in tools/build-packages.txt, which building Schoolgate's one C
# part (the DNS fast lane) needs; `make setup` runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=tools/debian-packages.txt
[ "${1:-}" = "--build" ] && packages=tools/build-packages.txt
mapfile -t wanted < <(grep -v '^\s*#' "$packages" | grep -v '^\s*$')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "test-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test-deps: the tests need these Debian packages, which are not installed:" >&2
    echo "    sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
[ "${1:-}" = "--build" ] && exit 0
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "test-deps: no PostgreSQL server answers on 127.0.0.1:5432. Start one (as root:" >&2
    echo "    pg_ctlcluster <version> main start) with a 'postgres' role the tests can use" >&2
    echo "    (SCHOOLGATE_DB_USER / SCHOOLGATE_DB_PASSWORD), then run make test again." >&2
    exit 1
  fi
fi
