#!/usr/bin/env bash
# Every check and every test: lint, format, types, then pytest (which starts its own
# PostgreSQL server and loopback services). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive as real peers; installed when missing and we may.
needed=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || needed+=(postgresql)
command -v dig >/dev/null || needed+=(dnsutils)
command -v whois >/dev/null || needed+=(whois)
command -v curl >/dev/null || needed+=(curl)
command -v chromium >/dev/null || needed+=(chromium)
command -v nsd-checkzone >/dev/null || needed+=(nsd)
command -v swaks >/dev/null || needed+=(swaks)
command -v unbound >/dev/null || needed+=(unbound)
[ -x /usr/sbin/dovecot ] || needed+=(dovecot-imapd)
# WeasyPrint warns (an error under our warnings filter) when HarfBuzz-Subset is missing.
ldconfig -p | grep -q libharfbuzz-subset || needed+=(libharfbuzz-subset0)
if [ "${#needed[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
fi

bash scripts/bootstrap.sh dev
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
.venv/bin/pytest "$@"
