#!/usr/bin/env bash
# The demo on the embedded default: sets up, then runs 'takedown demo', which starts the sandbox
# internet (the example world) in-process on loopback, uses a fresh SQLite database and Prefect's
# temporary server, runs the main job on the world's confirmed reports and then tracking cycles
# until every case has ended where the world takes it; exits 1 naming the cases that ended
# otherwise. Its files are kept in ./demo: `source .venv/bin/activate && cd demo`, then
# `takedown stats`, `takedown cases`, `ls mail` (see docs/demo.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false

rm -rf demo && mkdir demo
exec "$PWD/.venv/bin/takedown" demo --workdir demo "$@"
