#!/usr/bin/env bash
# Create .venv (if missing) and install Takedown into it, with the development tools when
# called with "dev". Idempotent and quiet; safe to run before every command.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
log=".venv-install.log"
quietly() {
    # Keep pip's chatter in a log; show it only when something fails.
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "error: installing Takedown failed (see above)" >&2
        exit 1
    fi
}
if [ ! -x .venv/bin/python ]; then
    echo "setting up .venv (first run only) ..." >&2
    "$PYTHON" -m venv .venv
    quietly .venv/bin/python -m pip install --upgrade pip
fi
extras=""
[ "${1:-}" = "dev" ] && extras="[dev]"
stamp=".venv/.installed${extras:+-dev}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    quietly .venv/bin/python -m pip install --disable-pip-version-check -e ".${extras}"
    touch "$stamp"
fi
