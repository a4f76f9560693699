# Sourced by scripts/demo and scripts/test: make .venv from a lock file, once per lock change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LOCK="requirements/$1.lock"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$1-$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$LOCK"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  touch "$stamp"
fi
