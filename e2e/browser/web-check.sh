#!/usr/bin/env bash
# make web-check / make screenshots: the residents' pages (strona dla mieszkańców) in a real browser.
#   web-check.sh check        installs the npm packages of e2e/browser when their lock changed, runs the harness's
#                             self-test against its contract fixture (node --test), then builds the suite, starts it
#                             with demo data on free loopback ports (data under var/web-check) and runs check.mjs
#                             against the gateway: axe WCAG 2.1 A/AA, 320 px reflow, 200% zoom, keyboard walk,
#                             JavaScript off. Exits non-zero on any failure.
#   web-check.sh screenshots  the same suite, then rewrites docs/screenshots/*.png (never in CI).
# Needs node/npm and Debian's chromium (e2e/browser/ci-deps.sh installs them); $CUS_CHROMIUM names another binary.
# WEB_CHECK_SELFTEST=0 skips the self-test.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=${1:-check}
case $MODE in check | screenshots) ;; *) echo "usage: $0 check|screenshots" >&2; exit 2 ;; esac

command -v node >/dev/null || { echo "web-check: node is needed (e2e/browser/ci-deps.sh installs it)" >&2; exit 1; }
[[ -n ${CUS_CHROMIUM:-} || -x /usr/bin/chromium ]] ||
  { echo "web-check: Debian's chromium is needed (e2e/browser/ci-deps.sh installs it)" >&2; exit 1; }

# npm ci only when package-lock.json changed since the last install (a stamp beside node_modules).
if ! cmp -s e2e/browser/package-lock.json e2e/browser/node_modules/.cus-installed-lock; then
  echo "== npm ci (e2e/browser)"
  (cd e2e/browser && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.cus-installed-lock)
fi

if [[ $MODE == check && ${WEB_CHECK_SELFTEST:-1} != 0 ]]; then
  echo "== the harness against its fixture (each fault must fail its check)"
  (cd e2e/browser && node --test selftest.test.mjs)
fi

LOG_LEVEL=warn
BIN=bin
OUT=var/web-check
RUN=$OUT/run
LOG=$OUT/log
DEV=$OUT/dev
CUSBENCH=$BIN/cusbench
SCRIPT=web-check
# shellcheck source=scripts/lib/suite-procs.sh
source scripts/lib/suite-procs.sh # stops the suite on exit, whatever happens

start_suite 17041 17042 17043 18041 19141 19142 19143
if [[ $MODE == screenshots ]]; then
  echo "== screenshots"
  node e2e/browser/check.mjs --screenshots docs/screenshots "$GW"
  ls -l docs/screenshots/*.png
else
  echo "== the residents' pages in chromium"
  node e2e/browser/check.mjs "$GW"
fi
