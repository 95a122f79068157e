#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment and install inkrec with the extras asked for.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh dev
# torch is pinned to 2.13.0, the CPU build; any other version would pull gigabytes of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
venv="${INKREC_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
fi
stamp="$venv/.inkrec-installed-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip
    case "$extras" in
        *dev*|*train*) "$venv/bin/python" -m pip install -q "torch==2.13.0" ;;
    esac
    "$venv/bin/python" -m pip install -q -e ".[$extras]"
    touch "$stamp"
fi
# Debian's Kai fonts: AR PL UKai draws labels in any Chinese character (inkrec ships a font with only its own
# labels' characters), and with LXGW WenKai, TW-Kai, AR PL KaitiM and Debian's Japanese handwriting fonts (pen
# and brush, semi-cursive) they are the handwriting synthesizer's glyphs (`inkrec data synth hanzi`).
# Installed where apt-get can run: as root, or with passwordless sudo.
kai_fonts="fonts-arphic-ukai fonts-lxgw-wenkai fonts-cns11643-kai fonts-arphic-gkai00mp fonts-arphic-bkai00mp \
fonts-kiloji fonts-klee fonts-aoyagi-soseki fonts-aoyagi-kouzan-t fonts-kouzan-mouhitsu"
if { [ ! -f /usr/share/fonts/truetype/arphic/ukai.ttc ] || [ ! -d /usr/share/fonts/truetype/lxgw-wenkai ] \
    || [ ! -d /usr/share/fonts/truetype/kouzan-mouhitsu ]; } && command -v apt-get >/dev/null 2>&1; then
    install_font="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $kai_fonts"
    if [ "$(id -u)" = 0 ]; then
        sh -c "$install_font" >/dev/null 2>&1 || echo "note: could not install $kai_fonts" >&2
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n sh -c "$install_font" >/dev/null 2>&1 || true
    fi
fi
# The drawing page's scripts (onnxruntime-web) and the synthesizer's stroke data (hanzi-writer-data) come
# from npm, pinned by web/package-lock.json.
if [ -f web/package.json ] && command -v npm >/dev/null 2>&1; then
    if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
        (cd web && npm ci --no-audit --no-fund --loglevel=error)
    fi
    if [ -f web/build.mjs ]; then (cd web && node build.mjs); fi
fi
