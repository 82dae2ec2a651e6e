#!/usr/bin/env bash
# scripts/test.sh - build and run every test suite, twice: a normal build
# (all suites), then an ASan/UBSan build (unit, fuzz-regress, integration).
# Prints one closing line "N passed, N failed, N skipped" over both runs.
# Exit status: 0 only if both builds worked and no test failed.
#
# Usage: scripts/test.sh [meson test options...]   e.g. --suite unit
# Environment: BUILD_DIR (default build), ASAN_BUILD_DIR (default build-asan),
#              TCS_NO_ASAN=1 skips the sanitizer run.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
total_passed=0 total_failed=0 total_skipped=0 status=0

count_results() { # TESTLOG.JSON -> "passed failed skipped"
    "$PY" - "$1" <<'PYEOF'
import json, sys
passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            res = json.loads(line).get("result", "")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, ...
                failed += 1
except FileNotFoundError:
    pass
print(passed, failed, skipped)
PYEOF
}

# run_build DIR "SETUP OPTIONS" [meson test args...]
run_build() {
    local dir=$1 setup=$2 rc=0 passed failed skipped
    shift 2
    if [ ! -f "$dir/build.ninja" ]; then
        # shellcheck disable=SC2086
        if ! meson setup "$dir" $setup; then
            echo "scripts/test.sh: meson setup $dir failed" >&2
            total_failed=$((total_failed + 1)); status=1; return
        fi
    fi
    if ! meson compile -C "$dir"; then
        echo "scripts/test.sh: build in $dir failed" >&2
        total_failed=$((total_failed + 1)); status=1; return
    fi
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs "$@" || rc=$?
    read -r passed failed skipped <<< "$(count_results "$dir/meson-logs/testlog.json")"
    if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
        # meson itself failed (bad option, no log written, ...): count it
        echo "scripts/test.sh: meson test in $dir exited with $rc" >&2
        failed=1
    fi
    echo "scripts/test.sh: $dir: $passed passed, $failed failed, $skipped skipped" >&2
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    [ "$failed" = 0 ] && [ "$rc" = 0 ] || status=1
}

run_build "$BUILD_DIR" "" "$@"
if [ "${TCS_NO_ASAN:-0}" != 1 ] && [ $# = 0 ]; then
    # every suite but the reference one (that runs TrouSerS, not our code)
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_build "$ASAN_BUILD_DIR" "-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug" \
            --suite unit --suite fuzz-regress --suite integration --no-suite reference
fi
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
exit "$status"
