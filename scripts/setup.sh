#!/usr/bin/env bash
# Install everything geogrid needs on a fresh Debian/Ubuntu machine:
#   Debian packages (PostgreSQL + PostGIS; with --test also Chromium), a virtualenv, the package.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

sudo_cmd() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
    else
        echo "geogrid needs these Debian packages: ${MISSING[*]}" >&2
        echo "Install them as root: apt-get install -y ${MISSING[*]}" >&2
        exit 1
    fi
}

pg_major() {
    ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -1
}

MISSING=()
major=$(pg_major || true)
if [ -z "$major" ]; then
    MISSING+=(postgresql)
fi
if [ -n "$major" ] && ! ls /usr/share/postgresql/"$major"/extension/postgis.control >/dev/null 2>&1; then
    MISSING+=("postgresql-$major-postgis-3")
fi
[ "$want_test" = 1 ] && ! command -v chromium >/dev/null && MISSING+=(chromium)
command -v python3 >/dev/null || MISSING+=(python3 python3-venv)

if [ "${#MISSING[@]}" -gt 0 ]; then
    echo "==> installing Debian packages: ${MISSING[*]}"
    export DEBIAN_FRONTEND=noninteractive
    sudo_cmd apt-get update -qq
    sudo_cmd apt-get install -y -qq "${MISSING[@]}" >/dev/null
    major=$(pg_major)
    if ! ls /usr/share/postgresql/"$major"/extension/postgis.control >/dev/null 2>&1; then
        MISSING=("postgresql-$major-postgis-3")
        sudo_cmd apt-get install -y -qq "${MISSING[@]}" >/dev/null
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "==> creating the virtualenv .venv"
    python3 -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    echo "==> installing geogrid and its Python dependencies"
    .venv/bin/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
        | grep -v -e "is ignored" -e "^$" || true
    .venv/bin/python -c "import geogrid, fastapi, geopandas" 
    touch .venv/.installed
fi
