#!/usr/bin/env bash
# The whole check of the hub, as CI runs it: install what is missing, lint, type-check, then every
# test. The integration tests start their own Kafka broker and PostgreSQL cluster (and stop them
# again); nothing needs to be running beforehand. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
began=$(date +%s)
echo "test: ruff" >&2
.venv/bin/ruff check hub streams schemas connectors bench tests
.venv/bin/ruff format --check --quiet hub streams schemas connectors bench tests
echo "test: mypy" >&2
.venv/bin/mypy
echo "test: pytest" >&2
.venv/bin/pytest --durations=10 "$@"
echo "test: all checks passed in $(( $(date +%s) - began )) s" >&2
