#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, formatting check, build without warnings, all tests
# (the PostgreSQL tests against $REWIND_POSTGRES_URL, or a temporary local server started for them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --with-browser

echo "== swift format lint" >&2
swift format lint --strict --recursive --configuration .swift-format Package.swift Sources Tests Examples 2>&1 | tee /tmp/rewind-format.log
if [ -s /tmp/rewind-format.log ]; then
    echo "swift format found problems (run: swift format --in-place --recursive Sources Tests Examples)" >&2
    exit 1
fi

echo "== build (no warnings allowed in the project's own code)" >&2
swift build --build-tests 2>&1 | tee /tmp/rewind-build.log | grep -E "error:|warning:" || true
if grep -E "^$PWD/(Sources|Tests|Examples)/.*(warning|error):" /tmp/rewind-build.log; then
    echo "the build has warnings or errors in the project's code (above)" >&2
    exit 1
fi

echo "== tests (PostgreSQL: \$REWIND_POSTGRES_URL, else a temporary local server)" >&2
status=0
scripts/with-postgres.sh swift test --skip-build > /tmp/rewind-test.log 2>&1 || status=$?
tail -n 60 /tmp/rewind-test.log
if [ "$status" -ne 0 ]; then
    echo "== failures (all of them; the whole log is /tmp/rewind-test.log)" >&2
    grep -E "✘|error:|Fatal error|Crash" /tmp/rewind-test.log | head -n 200 >&2 || true
fi
exit "$status"
