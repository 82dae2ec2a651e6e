#!/usr/bin/env bash
# test-tpmcreate-overwrite.sh - tpmcreate never loses a key by accident: a
# second run on the same OUTPUT is refused and the first key survives
# byte-identical; -w KEY.pem KEY.pem (the same name, or another name for the
# same inode) is refused even with -f and the PEM key survives; existing
# --public-*/-s outputs are refused without -f; two outputs naming one file
# are refused; -f replaces an output that is not an input.
#
# Usage: test-tpmcreate-overwrite.sh [--daemon ours|trousers]
# Exit: 0 pass, 1 fail, 77 skip.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-openssl-common.sh
. "$HERE/test-openssl-common.sh"
ossl_setup "$@"
ossl_make_rk

expect_rc 0 "tpmcreate k.blob" -- "$TPMCREATE" -k 512 k.blob
cp "$W/k.blob" "$W/k.orig"
expect_fail "a second tpmcreate k.blob is refused" 'k.blob exists; refusing to overwrite it \(use -f\)' -- \
    "$TPMCREATE" -k 512 k.blob
check "... the first key survives byte-identical" cmp -s "$W/k.blob" "$W/k.orig"
expect_rc 0 "-f replaces it" -- "$TPMCREATE" -f -k 512 k.blob
check "... with a new key" test -s "$W/k.blob" -a -n "$(cmp "$W/k.blob" "$W/k.orig")"

openssl genrsa -out "$W/sw.pem" 1024 2>/dev/null
cp "$W/sw.pem" "$W/sw.orig"
ln "$W/sw.pem" "$W/sw-link.pem"
expect_fail "-w sw.pem sw.pem is refused" 'output sw.pem is the input sw.pem; refusing' -- \
    "$TPMCREATE" -w sw.pem sw.pem
expect_fail "... also with -f" 'output sw.pem is the input sw.pem; refusing' -- \
    "$TPMCREATE" -f -w sw.pem sw.pem
expect_fail "-f -w sw.pem ./sw-link.pem (another name, the same inode) is refused" \
    'is the input sw.pem; refusing' -- "$TPMCREATE" -f -w sw.pem ./sw-link.pem
expect_fail "--public-pem sw.pem with -w sw.pem is refused" 'output sw.pem is the input' -- \
    "$TPMCREATE" -f -w sw.pem --public-pem sw.pem w.blob
check "... the PEM key survives byte-identical" cmp -s "$W/sw.pem" "$W/sw.orig"
check "... and no blob was written" test ! -e "$W/w.blob"

echo old > "$W/pub.pem"
expect_fail "an existing --public-pem is refused" 'pub.pem exists; refusing' -- \
    "$TPMCREATE" -k 512 --public-pem pub.pem n1.blob
check "... before any key is made" test ! -e "$W/n1.blob"
echo old > "$W/n2.blob.pub"
expect_fail "an existing OUTPUT.pub (-s) is refused" 'n2.blob.pub exists; refusing' -- \
    "$TPMCREATE" -k 512 -s n2.blob
expect_fail "-x over an existing --public-der is refused" 'pub.pem exists; refusing' -- \
    "$TPMCREATE" -x --public-der pub.pem k.blob
expect_fail "-x writing its public key over the blob is refused" 'output k.blob is the input k.blob' -- \
    "$TPMCREATE" -f -x --public-pem k.blob k.blob
expect_fail "two outputs naming one file are refused" 'are the same file' -- \
    "$TPMCREATE" -k 512 --public-pem same.pem --public-der same.pem n3.blob
check "pub.pem is untouched" test "$(cat "$W/pub.pem")" = old
expect_rc 0 "-f replaces an existing --public-pem" -- "$TPMCREATE" -f -k 512 --public-pem pub.pem n4.blob
check "... with a public key" grep -q 'BEGIN PUBLIC KEY' "$W/pub.pem"
ossl_done
