#!/usr/bin/env bash
# The one test command (README, .ci/run): sets up everything the tests need, then runs
# lint, type checks and the test suite.  Safe to run again; works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[test]'

# System packages for the end-to-end tests: a real redis-server (shared rate budget) and
# Chromium (settings-page browser tests).  Installed only when missing; tests that need
# them skip with a reason if this machine cannot install them.
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    if $SUDO true 2>/dev/null; then
        echo "installing ${need[*]} ..."
        $SUDO apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            "${need[@]}" >/dev/null 2>&1 || echo "warning: could not install ${need[*]}" >&2
    fi
fi

# The browser tests drive Debian's chromium (/usr/bin/chromium) through the Playwright
# Python package from the test extras.  Playwright's own browser download is never used
# (no `playwright install`): the variable below keeps any tool from fetching one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! python -c "import playwright.sync_api" 2>/dev/null; then
    python -m pip install --quiet "playwright>=1.44" || echo "warning: playwright unavailable" >&2
fi

echo "== ruff"
ruff check .
echo "== mypy"
mypy
echo "== pytest"
python -m pytest "$@"
