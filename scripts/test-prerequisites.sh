#!/usr/bin/env bash
# Runs before `npm test` and `npm run test:e2e` (their pre- hooks). Two end-to-end tests drive programs
# that npm cannot install: Chromium for the sandbox phone page (through playwright-core, whose own browser
# downloads are not used) and promtool, from Debian's prometheus package, for the alert rules. Whichever
# is missing is installed with apt-get when this user may; otherwise it stops at once with the command
# that installs them, so a new machine never gets as far as a half-failed test run.
set -euo pipefail

chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing=()
reasons=()
if [ ! -x "$chromium_path" ]; then
  if [ -n "${CHROMIUM_PATH:-}" ]; then
    echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file; point it at a Chromium or unset it to use Debian's /usr/bin/chromium" >&2
    exit 1
  fi
  missing+=(chromium)
  reasons+=("chromium (the sandbox phone page test drives it)")
fi
if ! command -v promtool >/dev/null 2>&1; then
  missing+=(prometheus)
  reasons+=("prometheus (its promtool checks the alert rules in config/prometheus)")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

packages="${missing[*]}"
packages_text="${packages// / and }"
can_install=no
as_root=""
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    can_install=yes
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    can_install=yes
    as_root=sudo
  fi
fi

if [ "$can_install" = no ]; then
  {
    echo "The end-to-end tests need $packages_text, which this user cannot install here."
    if command -v apt-get >/dev/null 2>&1; then
      echo "Install them with:"
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $packages"
    else
      echo "Install Chromium (and set CHROMIUM_PATH to it) and Prometheus's promtool with this system's package manager."
    fi
  } >&2
  exit 1
fi

printf -v why '%s, ' "${reasons[@]}"
echo "Installing ${why%, } with apt-get"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The lock timeout waits for another apt or dpkg run on the machine instead of failing at once.
apt_get() { $as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@" </dev/null >>"$log" 2>&1; }
if ! apt_get update || ! apt_get install -y --no-install-recommends "${missing[@]}"; then
  tail -n 25 "$log" >&2
  echo "apt-get could not install $packages_text (its output is above)" >&2
  exit 1
fi

if [ ! -x "$chromium_path" ] || ! command -v promtool >/dev/null 2>&1; then
  echo "apt-get installed $packages_text, but $chromium_path or promtool is still missing" >&2
  exit 1
fi
