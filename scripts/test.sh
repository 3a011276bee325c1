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
# The PyTorch example notebook: the CPU build (plain `torch` from PyPI is a multi-GB CUDA build).
# Where this pinned CPU wheel is not available the PyTorch example's test skips, and says why.
.venv/bin/python -m pip install -q "torch==2.13.0" || echo "torch 2.13.0 (CPU) not installable here" >&2
# Framework integrations and other trackers (tests/integrations, tests/interop): only beside the
# CPU torch, pinned in the same command so that no framework pulls a CUDA build; without them
# those tests skip, and say why.
if .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install -q -e ".[test-integrations]" "torch==$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])')" \
    || echo "the framework integrations' packages are not installable here" >&2
fi

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
