#!/usr/bin/env bash
# scripts/test.sh - configure (if needed), build and run the whole test suite,
# then print one closing line "N passed, N failed, N skipped" computed from
# meson's testlog.json. Exit status: 0 only if the build worked and no test failed.
#
# Usage: scripts/test.sh [meson test options...]   e.g. --suite unit
# Environment: BUILD_DIR (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    if ! meson setup "$BUILD_DIR"; then
        echo "scripts/test.sh: meson setup failed" >&2
        echo "0 passed, 1 failed, 0 skipped"
        exit 1
    fi
fi
if ! meson compile -C "$BUILD_DIR"; then
    echo "scripts/test.sh: build failed" >&2
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

rm -f "$BUILD_DIR/meson-logs/testlog.json"
rc=0
meson test -C "$BUILD_DIR" --print-errorlogs "$@" || rc=$?

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
counts=$("$PY" - "$BUILD_DIR/meson-logs/testlog.json" <<'PYEOF'
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
)
read -r passed failed skipped <<< "$counts"
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
    # meson itself failed (bad option, no log written, ...): count it
    echo "scripts/test.sh: meson test exited with $rc" >&2
    failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$rc" = 0 ]
