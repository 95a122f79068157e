#!/usr/bin/env bash
# Set up everything on a fresh machine, then start the drawing app with the bundled models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh serve
exec .venv/bin/inkrec serve "$@"
