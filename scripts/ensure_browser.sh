#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright and check pages with axe-core.
# Installs Chromium with apt (as root) and axe-core from the npm registry when they are missing.
set -u
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's Chromium for the browser tests."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
      || echo "WARNING: could not install chromium; browser tests will report it." >&2
  else
    echo "WARNING: Chromium is missing (apt-get install chromium); browser tests will report it." >&2
  fi
fi
# esbuild too: tests/pwa/test_build.py rebuilds the service worker to compare it with the commit.
if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -d node_modules/esbuild ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --silent --no-audit --no-fund >/dev/null 2>&1 || npm install --silent --no-audit --no-fund >/dev/null 2>&1 \
      || echo "WARNING: could not install axe-core; browser tests will report it." >&2
  else
    echo "WARNING: npm is missing, so axe-core cannot be installed; browser tests will report it." >&2
  fi
fi
exit 0
