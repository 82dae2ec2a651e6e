# SPDX-License-Identifier: LGPL-2.1-or-later
# luks-lib.sh - shared by test-luks.sh and test-luks-cluster.sh: a private
# mount namespace in which libcryptsetup's token directory shows only the
# freshly built libcryptsetup-token-tcs.so (nothing global is touched; the
# mount dies with the test), LUKS2 images on files, header snapshots.
# Source after tcs-harness.sh; call luks_enter_namespace "$0" "$@" first.

LUKS_PLUGIN=$TCS_BUILD_DIR/cli/libcryptsetup-token-tcs.so
TPMLUKS=$TCS_BUILD_DIR/cli/tpmluks

# Re-exec the test in a private mount namespace (tests run as root).
luks_enter_namespace() {
    [ "${TCS_LUKS_NS:-}" = 1 ] && return 0
    [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a private mount namespace)"; exit 77; }
    command -v unshare >/dev/null || { echo "1..0 # SKIP unshare missing"; exit 77; }
    unshare --mount --propagation private true 2>/dev/null ||
        { echo "1..0 # SKIP no private mount namespace here"; exit 77; }
    TCS_LUKS_NS=1 exec unshare --mount --propagation private bash "$@"
}

# libcryptsetup's compiled-in plugin directory, as the library reports it
luks_token_dir() {
    /usr/bin/python3 - <<'PY'
import ctypes, ctypes.util, os
lib = ctypes.CDLL(ctypes.util.find_library("cryptsetup") or "libcryptsetup.so.12")
lib.crypt_token_external_path.restype = ctypes.c_char_p
p = lib.crypt_token_external_path()
print(os.path.realpath(p.decode()) if p else "")
PY
}

# Show libcryptsetup our plugin alone at its plugin path (inside the namespace).
luks_install_plugin() {
    local dir
    dir=$(luks_token_dir)
    [ -n "$dir" ] || { echo "1..0 # SKIP libcryptsetup without external tokens"; exit 77; }
    mkdir -p "$TCS_DIR/plugins" "$dir" 2>/dev/null
    cp "$LUKS_PLUGIN" "$TCS_DIR/plugins/" || return 1
    mount --bind "$TCS_DIR/plugins" "$dir" || return 1
    echo "# plugin directory $dir (private bind mount of $TCS_DIR/plugins)"
    luks_asan_preload
}

# An ASan build's plugin needs the ASan runtime loaded first in cryptsetup
# (not ours, not instrumented): a cryptsetup wrapper first on PATH preloads
# it, leak checks off there; our own programs keep theirs.
luks_asan_preload() {
    local lib real
    nm -D "$LUKS_PLUGIN" 2>/dev/null | grep -q __asan_init || return 0
    lib=$(${CC:-cc} -print-file-name=libasan.so)
    real=$(command -v cryptsetup)
    [ -e "$lib" ] && [ -n "$real" ] || return 0
    mkdir -p "$TCS_DIR/bin"
    printf '#!/bin/sh\nLD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0 exec %s "$@"\n' "$lib" "$real" \
        > "$TCS_DIR/bin/cryptsetup"
    chmod 0755 "$TCS_DIR/bin/cryptsetup"
    export PATH=$TCS_DIR/bin:$PATH
    echo "# ASan plugin: cryptsetup runs with $lib preloaded"
}

# luks_format IMAGE PASSFILE: a 32 MiB LUKS2 image with a cheap PBKDF
luks_format() {
    rm -f "$1"
    truncate -s 32M "$1" &&
        cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
            --key-file "$2" "$1" >/dev/null
}

# luks_json IMAGE: the JSON metadata (keyslots, tokens, digests, segments)
luks_json() { cryptsetup luksDump --dump-json-metadata "$1" 2>&1; }
# luks_state IMAGE: the JSON and a hash of the whole header with its keyslot
# areas: equal before and after means nothing was written at all
luks_state() {
    luks_json "$1"
    cryptsetup luksHeaderBackup --header-backup-file "$1.hdr.$$" "$1" >/dev/null 2>&1 &&
        sha256sum < "$1.hdr.$$" | cut -c1-64
    rm -f "$1.hdr.$$"
}

# t_fail_same NAME RC REGEX IMAGE CMD...: exit RC, stderr matching REGEX, header
# unchanged (TAP through test-manager-lib.sh; needs $W)
t_fail_same() {
    local name=$1 want=$2 re=$3 img=$4 before after rc
    shift 4
    before=$(luks_state "$img")
    if declare -F "$1" >/dev/null; then "$@"; else timeout 120 "$@"; fi </dev/null >"$W/out" 2>"$W/err"
    rc=$?
    after=$(luks_state "$img")
    if [ "$rc" != "$want" ]; then
        t_line fail "$name: exit $rc, expected $want"; t_diag < "$W/err"
    elif ! grep -Eq -- "$re" "$W/err"; then
        t_line fail "$name: message does not match /$re/"; t_diag < "$W/err"
    elif [ "$before" != "$after" ]; then
        t_line fail "$name: the header changed"
        diff <(echo "$before") <(echo "$after") | head -20 | t_diag
    else
        t_line ok "$name ($(grep -Eo -- "$re" "$W/err" | head -n1))"
    fi
}

# luks_open IMAGE ARGS...: cryptsetup's token-only unlock check, no device-mapper
luks_open() {
    local img=$1
    shift
    timeout 120 cryptsetup open --test-passphrase --token-only "$@" "$img"
}
