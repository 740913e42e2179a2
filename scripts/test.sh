#!/usr/bin/env bash
# The whole check of the hub, as CI runs it: install what is missing, lint, type-check, check the
# import contracts, then every test. The integration tests start their own Kafka broker and
# PostgreSQL cluster (and stop them again); nothing needs to be running beforehand. Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
# The browser test drives Debian's Chromium (never a downloaded one).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing chromium with apt-get (first run only)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
  else
    echo "test: warning: chromium is not installed (apt-get install chromium); the browser test will fail" >&2
  fi
fi
began=$(date +%s)
echo "test: ruff" >&2
.venv/bin/ruff check hub streams schemas connectors bench tests
.venv/bin/ruff format --check --quiet hub streams schemas connectors bench tests
echo "test: mypy" >&2
.venv/bin/mypy
# The import contracts between the layers, in .importlinter.
echo "test: import contracts" >&2
.venv/bin/lint-imports
echo "test: pytest" >&2
.venv/bin/pytest --durations=10 "$@"
echo "test: all checks passed in $(( $(date +%s) - began )) s" >&2
