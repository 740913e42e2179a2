#!/usr/bin/env bash
# Makes .venv hold the hub and its pinned dependencies. Cheap when nothing changed:
# it reinstalls only when pyproject.toml differs from what was installed last.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${HUB_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "bootstrap: Python 3.11 is required (set HUB_PYTHON to its path)" >&2
  exit 1
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || echo "bootstrap: warning: '$tool' not found; the local Kafka broker needs Java 17+ and Maven" >&2
done

stamp=.venv/.installed-pyproject
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $python" >&2
  "$python" -m venv .venv
fi
if ! cmp -s pyproject.toml "$stamp" 2>/dev/null; then
  echo "bootstrap: installing the hub and its dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  cp pyproject.toml "$stamp"
fi
bash scripts/vendor.sh
