#!/usr/bin/env bash
# Installs what make web-check needs on a Debian machine when it is missing: Debian's chromium, Node.js and npm
# (apt-get, as root or with sudo). The npm packages themselves come from e2e/browser/package-lock.json (npm ci,
# run by web-check.sh).
set -euo pipefail
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
((${#need[@]} == 0)) && exit 0
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "ci-deps: need root or sudo to install ${need[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "== apt-get install ${need[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${need[@]}"
