#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs the whole suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# A real browser for the UI tests: Debian's Chromium (never a downloaded one).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# The project and its test dependencies in a virtual environment of its own.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# The PyTorch example notebook and the framework integrations (tests/integrations, tests/interop):
# the CPU build of torch (plain `torch` from PyPI is a multi-GB CUDA build), pinned again in the
# integrations' install so that no framework pulls another build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test-integrations]" "torch==2.13.0"

# The corpus notebooks replayed by tests/replay/test_fidelity_corpus.py, at the versions their
# baseline was measured with (pins from benchmarks/corpus/requirements.txt).
.venv/bin/python -m pip install -q $(grep -iE '^(numpy|scipy|pandas|matplotlib|scikit-learn|statsmodels|patsy|formulaic|pillow|fonttools|contourpy|threadpoolctl|joblib|tzdata)==' benchmarks/corpus/requirements.txt)

.venv/bin/ruff check nbtrack tests benchmarks
.venv/bin/mypy  # nbtrack/, as configured in pyproject.toml
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "no tests were collected: treating as a failure" >&2
  exit 1
fi
exit "$status"
