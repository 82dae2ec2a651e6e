#!/usr/bin/env bash
# test-bash-completion.sh - completions/tcs.bash in a real bash with
# bash-completion's library: COMPREPLY for typical command lines of every tool.
# Exit: 0 pass, 1 fail, 77 skip (no bash-completion).
set -u
SRC=${TCS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BC=/usr/share/bash-completion/bash_completion
[ -r "$BC" ] || { echo "SKIP: bash-completion is not installed ($BC)" >&2; exit 77; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
: > "$work/key.blob"; mkdir "$work/dir"

# complete LINE: the COMPREPLY for LINE (cursor at its end), sorted, one line
complete_line() {
    bash --norc --noprofile -c '
        . "$1"; . "$2"; cd "$3" || exit 1
        line=$4
        read -ra COMP_WORDS <<< "$line"
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line; COMP_POINT=${#line}
        spec=$(complete -p "${COMP_WORDS[0]}") || exit 1
        fn=${spec#*-F }; fn=${fn%% *}
        "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " "' \
        _ "$BC" "$SRC/completions/tcs.bash" "$work" "$1"
}
rc=0
expect() { # LINE EXPECTED
    local got
    got=$(complete_line "$1")
    got=${got% }
    if [ "$got" = "$2" ]; then echo "ok - '$1' -> $2"
    else echo "not ok - '$1': got '$got', expected '$2'"; rc=1; fi
}

expect "tpmadm " "--help activate addkey backup changepwd clear deactivate deletekeys disable enable forgetpwd restore status takeownership"
expect "tpmadm take" "takeownership"
expect "tpmadm takeownership " "nostoragekeys nostore passwd="
expect "tpmadm takeownership passwd=" "ask random wellknown"
expect "tpmadm addkey key=" "rk sk srk tpm"
expect "tpmadm deletekeys usage=st" "storage"
expect "tpmctl " "activate addkey backup changepwd clear deactivate deletekeys disable enable forgetpwd keyinfo keys restore status takeownership"
expect "tpmctl --js" "--json"
expect "tpmctl takeownership --owner-secret-r" "--owner-secret-random"
expect "tpmctl keys --alg " "3des aes128 aes192 aes256 des hmac rsa sha xor"
expect "tpmctl keyinfo " "rk sk srk"
expect "tpmctl backup " "dir key.blob"
expect "tpmlist " "--help keyinfo keys status"
expect "tpmlist keys pa" "parentuuid="
expect "tpmcreate -k " "1024 2048 512"
expect "tpmcreate -" "--public-der --public-pem --public-ssh -a -k -s -w -x"
expect "tpmencrypt -a " "aes-256-cbc aes-256-gcm chacha20-poly1305"
expect "tpmencrypt -z g" "gzip"
expect "tpmdecrypt -C " "dir"
expect "tpmdecrypt -i k" "key.blob"
expect "tpmluks " "enroll list remove"
expect "tpmluks en" "enroll"
expect "tpmluks enroll " "dir key.blob"
expect "tpmluks enroll key.blob -" "--key-file --pcrs --pin --sk"
expect "tpmluks enroll key.blob --pin --key-file k" "key.blob"
expect "tpmluks enroll --pcrs 7 key.blob --s" "--sk"
expect "tpmluks enroll key.blob " ""
expect "tpmluks remove key.blob --" "--token"
expect "tpmluks remove key.blob --token " ""
expect "tpmluks list -" "--help --version"
expect "tpmluks -" "--help --version"
exit $rc
