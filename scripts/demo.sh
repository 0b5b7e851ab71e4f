#!/usr/bin/env bash
# The main job on the embedded default: a SQLite file, Prefect's temporary server, and the
# sandbox internet on loopback. Sets up, starts the sandbox with its example world, runs
# intake → trace → notify → deliver on the world's confirmed reports, then shows the cases,
# the outbox and what the sandbox's mailboxes received. Everything lives in ./demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false
takedown="$PWD/.venv/bin/takedown"

rm -rf demo && mkdir demo && cd demo
"$takedown" sandbox up --env-file sandbox.env > sandbox.log 2>&1 &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true; wait "$sandbox" 2>/dev/null || true' EXIT
for _ in $(seq 60); do
    [ -s sandbox.env ] && break
    kill -0 "$sandbox" 2>/dev/null || { cat sandbox.log >&2; exit 1; }
    sleep 0.5
done
set -a
# shellcheck disable=SC1091
. ./sandbox.env
set +a

"$takedown" db upgrade
"$takedown" run "$TAKEDOWN_SANDBOX_REPORTS"
echo
"$takedown" cases
echo
"$takedown" outbox
echo
echo "What the sandbox's mailboxes received:"
"$PWD/../.venv/bin/python" - "$TAKEDOWN_SANDBOX_INSPECT" <<'PY'
import json
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1] + "/mailboxes", timeout=10) as answer:
    for box in json.load(answer)["mailboxes"]:
        if box["messages"]:
            owners = ", ".join(owner.get("name", "") for owner in box["owners"])
            print(f"  {box['messages']:>3}  {box['address']}  ({owners})")
PY
