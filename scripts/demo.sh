#!/usr/bin/env bash
# The main job on the embedded default (a SQLite file, no services to set up): set up the
# database, take in the bundled confirmed reports, and list the cases they opened.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false
mkdir -p demo
cd demo
../.venv/bin/takedown db upgrade
../.venv/bin/takedown intake ../examples/reports.csv
../.venv/bin/takedown cases
