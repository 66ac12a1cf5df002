#!/usr/bin/env bash
# Installs the system packages Rewind needs on Debian/Ubuntu when they are missing: the libraries
# it links (SQLite, zlib), and with --with-browser Chromium, which the web debugger's tests drive
# headless (scripts/test.sh asks for it; `swift run rewind demo` does not need it).
set -euo pipefail
missing=()
for pkg in libsqlite3-dev zlib1g-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${1:-}" = "--with-browser" ] && ! command -v chromium >/dev/null 2>&1 && [ -z "${REWIND_CHROMIUM:-}" ]; then
    missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    # The package lists are read only when the package is not found in them (a fresh machine).
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
        $sudo_cmd apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" > /tmp/rewind-bootstrap.log 2>&1 || {
        # Stale package lists (a removed version): read them again once.
        $sudo_cmd apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" > /tmp/rewind-bootstrap.log 2>&1 || {
            cat /tmp/rewind-bootstrap.log >&2
            exit 1
        }
    }
fi
