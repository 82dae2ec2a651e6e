#!/usr/bin/env bash
# test-debian-system.sh - the Debian packages on a booted Debian 12 with
# systemd as PID 1, the real dbus-daemon and the real polkitd.
#
# Builds the packages (dpkg-buildpackage in a copy of the tree, lintian must
# report no error or warning), makes a minimal bookworm root with mmdebstrap
# (systemd, dbus, polkitd, swtpm, tpm-tools, trousers and cryptsetup-bin;
# cached under the build dir), puts a system.data written by TrouSerS' tcsd
# in place, boots it with systemd-nspawn (own network namespace: port 30003 is
# the container's) and, inside through nsenter into PID 1's namespaces:
# installs our packages over trousers, then checks socket activation, the
# sandbox, bus activation, polkit, the journal, a LUKS2 image opened through
# the installed token plugin, reactivation and a reboot.
# Exit: 0 pass, 1 fail, 77 skip (not root, tools missing, no archive, no boot).
set -u
SRC=${TCS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${TCS_BUILD_DIR:-$SRC/build}
CACHE=$BUILD/system-test
skip() { echo "SKIP: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (nspawn, dpkg)"
for t in systemd-nspawn mmdebstrap dpkg-buildpackage nsenter tar sha256sum; do
    command -v "$t" >/dev/null || skip "$t is not installed (scripts/install-deps.sh)"
done
mkdir -p "$CACHE" || exit 1
WORK=$(mktemp -d "$CACHE/run.XXXXXX") || exit 1
ROOT=$WORK/root
NSPAWN_PID="" C=""
rc=0

stop_container() { # graceful poweroff, bounded; SIGKILL as the last resort
    [ -n "$NSPAWN_PID" ] || return 0
    kill -TERM "$NSPAWN_PID" 2>/dev/null
    for _ in $(seq 1 60); do
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null
    NSPAWN_PID="" C=""
}
cleanup() {
    stop_container
    if [ "${TCS_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP  # meson's timeout: still power the container off
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; rc=1; }
expect() { # DESCRIPTION REGEX OUTPUT
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else fail "$1: $3"; fi
}

# --- 1. the packages (rebuilt when a tracked file changed) -----------------
PKG=$CACHE/pkg
list_sources() {
    if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$SRC" ls-files -co --exclude-standard
    else
        (cd "$SRC" && find . -path ./.git -prune -o -name 'build*' -prune -o -type f -print)
    fi | grep -Ev '^(\./)?(build|obj-)' | LC_ALL=C sort
}
# the hash leaves tests/ out: the package build does not use it (-Dtests=false)
hash=$(cd "$SRC" && list_sources | grep -v '^tests/' | tar -cf - --no-recursion -T - --mtime=@0 --owner=0 --group=0 \
    2>/dev/null | sha256sum | cut -c1-16)
if [ "$(cat "$PKG/stamp" 2>/dev/null)" != "$hash" ]; then
    echo "# building the packages (tree $hash)"
    rm -rf "$PKG" && mkdir -p "$PKG/src" || exit 1
    (cd "$SRC" && list_sources | tar -cf - -T -) | tar -C "$PKG/src" -xf - || exit 1
    t0=$(date +%s)
    if ! (cd "$PKG/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
            dpkg-buildpackage -b -us -uc >"$PKG/build.log" 2>&1); then
        tail -40 "$PKG/build.log"
        echo "not ok - dpkg-buildpackage -b -us -uc failed ($PKG/build.log)"
        exit 1
    fi
    echo "# dpkg-buildpackage: $(($(date +%s) - t0)) s"
    if command -v lintian >/dev/null; then
        lintian --fail-on error,warning "$PKG"/*.changes >"$PKG/lintian.log" 2>&1
        echo $? >"$PKG/lintian.rc"
    fi
    echo "$hash" >"$PKG/stamp"
fi
ok "dpkg-buildpackage -b -us -uc: $(cd "$PKG" && echo *.deb)"
if [ -f "$PKG/lintian.rc" ]; then
    if [ "$(cat "$PKG/lintian.rc")" = 0 ] && ! grep -Eq '^[EW]: ' "$PKG/lintian.log"; then
        ok "lintian: no errors or warnings"
    else
        cat "$PKG/lintian.log"; fail "lintian"
    fi
else
    echo "# lintian not installed: not checked"
fi

# --- 2. the root: minimal bookworm with systemd, cached ---------------------
# Debian's archive as this host's apt knows it (never a hard-coded mirror);
# the dependencies of our packages come from their control files.
mirrors=$(apt-cache policy 2>/dev/null | awk '$3 ~ /^bookworm(-updates|-security)?\/main$/ && $NF == "Packages" {
    split($3, s, "/"); print "deb " $2 " " s[1] " main" }' | sort -u)
[ -n "$mirrors" ] || skip "no bookworm main source in this host's apt configuration"
debs=$(ls "$PKG"/*.deb | grep -v -- -dbgsym_)
deps=$(for d in $debs; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
    sed 's/|.*//; s/(.*)//; s/:any//; s/^ *//; s/ *$//' |
    grep -Ev '^(tcsd|tcs-tools|tcs-openssl|libcryptsetup-token-tcs|dbus-system-bus|)$' | sort -u | tr '\n' ',')
include="systemd,systemd-sysv,dbus,polkitd,swtpm,swtpm-tools,libtpms0,tpm-udev,tpm-tools,trousers,cryptsetup-bin,iproute2,procps,passwd,${deps%,}"
TARBALL=$CACHE/bookworm-$(printf '%s\n%s\n' "$include" "$mirrors" | sha256sum | cut -c1-12).tar
if [ ! -s "$TARBALL" ]; then
    first=$(printf '%s\n' "$mirrors" | head -1 | awk '{print $2}')
    python3 - "$first/dists/bookworm/InRelease" <<'EOF' || skip "Debian's archive is unreachable ($first)"
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=20).read(1)
EOF
    echo "# mmdebstrap bookworm ($include)"
    TMPTAR=${TARBALL%.tar}.partial.tar
    t0=$(date +%s)
    mirror_args=()
    while read -r line; do mirror_args+=("$line"); done <<< "$mirrors"
    if ! mmdebstrap --variant=minbase --include="$include" bookworm "$TMPTAR" \
            "${mirror_args[@]}" >"$CACHE/mmdebstrap.log" 2>&1; then
        tail -30 "$CACHE/mmdebstrap.log"; rm -f "$TMPTAR"
        echo "not ok - mmdebstrap failed"; exit 1
    fi
    mv "$TMPTAR" "$TARBALL"
    echo "# mmdebstrap: $(($(date +%s) - t0)) s"
fi
mkdir "$ROOT" && tar -C "$ROOT" -xf "$TARBALL" || exit 1
# shellcheck disable=SC2086
cp $debs "$ROOT/root/" || exit 1
# trousers' tcsd left its store: root-owned 0600, as TrouSerS writes it
install -m 0600 -o root -g root "$SRC/tests/data/ps/02-three-keys.data" "$ROOT/var/lib/tpm/system.data" || exit 1
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sf /lib/systemd/system/tcsd.service "$ROOT/etc/systemd/system/multi-user.target.wants/tcsd.service"
echo tcs-test >"$ROOT/etc/hostname"
# every installed Debian has it (the installer writes it); minbase has not
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"

# --- 2b. a chroot: the packages install, enable the socket, start nothing ----
CHROOT=$WORK/chroot
mkdir "$CHROOT" && tar -C "$CHROOT" -xf "$TARBALL" && cp $debs "$CHROOT/root/" || exit 1
out=$(chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c 'dpkg -i /root/*.deb' 2>&1) ||
    fail "dpkg -i in a chroot: $out"
started=""
for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$CHROOT" ] && started="$started $(cat "$p/comm" 2>/dev/null)($(basename "$p"))"
done
[ -z "$started" ] && ok "installing in a chroot starts no process" || fail "processes running in the chroot:$started"
[ -L "$CHROOT/etc/systemd/system/sockets.target.wants/tcsd.socket" ] &&
    ok "tcsd.socket enabled offline (sockets.target.wants)" || fail "tcsd.socket not enabled in the chroot"
rm -rf "$CHROOT"

# --- 3. boot ------------------------------------------------------------------
boot() { # LABEL: boot ROOT; C becomes the container's PID 1 (host pid)
    local prefix=() i state=""
    # Under a systemd host the container's systemd needs a delegated cgroup:
    # a transient scope with Delegate=yes, which nspawn keeps (--keep-unit).
    # systemd-run --scope execs nspawn in place, so on either host
    # NSPAWN_PID is nspawn and the container's PID 1 is its child.
    if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
        prefix=(systemd-run --scope --quiet --collect -p Delegate=yes)
    fi
    "${prefix[@]}" systemd-nspawn -D "$ROOT" --register=no --keep-unit --private-network \
        --console=pipe -b </dev/null >"$WORK/boot-$1.log" 2>&1 &
    NSPAWN_PID=$!
    for i in $(seq 1 120); do
        C=$(pgrep -P "$NSPAWN_PID" | head -1)
        if [ -n "$C" ]; then
            state=$(cexec systemctl is-system-running 2>/dev/null)
            case $state in running | degraded) break ;; esac
        fi
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.5
    done
    case $state in
    running) echo "# booted ($1) in $((i / 2)) s" ;;
    degraded)
        echo "# booted ($1), degraded:"; cexec systemctl --failed --no-pager --no-legend ;;
    *)
        tail -20 "$WORK/boot-$1.log"
        return 1 ;;
    esac
}
cexec() { # run in the container, as root, with a clean environment
    nsenter -t "$C" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
        SYSTEMD_PAGER= "$@" </dev/null
}
as_user() { # USER COMMAND...: as an unprivileged user in the container
    local u=$1; shift
    cexec setpriv --reuid="$u" --regid="$u" --init-groups -- /usr/bin/env HOME=/home/"$u" "$@"
}
if ! boot first; then
    stop_container
    skip "systemd-nspawn cannot boot a container here (see above)"
fi

# --- 4. install over trousers -------------------------------------------------
out=$(cexec sh -c 'dpkg -i /root/*.deb 2>&1'); st=$?
[ $st = 0 ] && ok "dpkg -i our packages over trousers" || { fail "dpkg -i: $out"; exit 1; }
expect "trousers is removed" "^(deinstall|purge|unknown|not-installed|)" \
    "$(cexec dpkg-query -W -f='${db:Status-Want}' trousers 2>/dev/null)"
# tpm-tools and simple-tpm-pk11 depend on trousers: Provides: trousers keeps them
expect "tpm-tools stays installed (tcsd Provides: trousers)" "^install ok installed$" \
    "$(cexec dpkg-query -W -f='${Status}' tpm-tools)"
expect "trousers' /etc/tcsd.conf is kept for tcsd" "^root:tss 640$" "$(cexec stat -c '%U:%G %a' /etc/tcsd.conf)"
cexec test -L /etc/systemd/system/multi-user.target.wants/tcsd.service &&
    fail "trousers' multi-user.target link to tcsd.service is left" || ok "trousers' boot-time link is gone"
expect "system.data handed to tss (tmpfiles)" "^tss:tss 600$" "$(cexec stat -c '%U:%G %a' /var/lib/tpm/system.data)"
expect "tcsd.socket active after install" "^active$" "$(cexec systemctl is-active tcsd.socket)"
expect "tcsd.socket enabled" "^enabled$" "$(cexec systemctl is-enabled tcsd.socket)"
expect "tcsd.service inactive until the first client" "^inactive$" "$(cexec systemctl is-active tcsd.service)"
expect "listening on 127.0.0.1:30003" "127\.0\.0\.1:30003" "$(cexec ss -Hltn)"

# --- 5. socket activation, the sandbox ----------------------------------------
t0=$(date +%s%N)
out=$(cexec tpm_version 2>&1 | tr -d '\000')
t1=$(date +%s%N)
expect "tpm_version through socket activation (first reply $(((t1 - t0) / 1000000)) ms)" "TPM 1.2 Version Info" "$out"
expect "tcsd.service active after the first client" "^active$" "$(cexec systemctl is-active tcsd.service)"
pid=$(cexec systemctl show -P MainPID tcsd.service)
expect "tcsd runs as tss" "^tss +tcsd$" "$(cexec ps -o user=,comm= -p "$pid")"
expect "tcsd uses the embedded swtpm" "swtpm" "$(cexec journalctl -b -u tcsd --no-pager -o cat)"
sec=$(cexec systemd-analyze security tcsd.service --no-pager 2>&1)
level=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for tcsd.service: \([0-9.]*\).*/\1/p')
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    ok "systemd-analyze security tcsd.service: exposure $level <= 2.0"
else
    printf '%s\n' "$sec" | grep -v '^  ✓'; fail "exposure '$level' > 2.0"
fi

# --- 6. the trousers store, D-Bus, tools, polkit -------------------------------
out=$(cexec tpmlist keys 2>&1)
expect "TrouSerS' registered keys served (tpmlist keys)" "11223344-5566-7788-99aa-bbccddeeff0c" "$out"
cexec systemctl stop tcsd.service
out=$(cexec busctl introspect org.tcs.Manager /org/tcs/Manager 2>&1)
expect "busctl introspect through bus activation" "org\.tcs\.Manager +interface" "$out"
expect "bus activation started tcsd.service" "^active$" "$(cexec systemctl is-active tcsd.service)"
out=$(cexec tpmctl status 2>&1)
expect "tpmctl status as root" "Owner" "$out"
out=$(cexec tpmadm takeownership 2>&1); st=$?
[ $st = 0 ] && ok "tpmadm takeownership as root" || fail "tpmadm takeownership ($st): $out"
out=$(cexec tpmctl status 2>&1)
expect "owner secret stored" "Owner secret stored: +yes" "$out"
cexec useradd -m alice
out=$(as_user alice tpmlist status 2>&1)
expect "alice reads the status" "Owner" "$out"
out=$(as_user alice tpmctl --no-ask-password enable 2>&1); st=$?
# polkitd's own answer: not tcsd failing closed because polkitd refused it the check
[ $st = 3 ] && ! printf '%s' "$out" | grep -q "polkit is not available" &&
    ok "alice is denied an owner method by default (polkitd): $out" ||
    fail "alice's tpmctl enable: exit $st (want 3): $out"
cexec groupadd --system tpmadmin && cexec usermod -aG tpmadmin alice
cexec cp /usr/share/doc/tcsd/examples/50-tcs-owners.rules /etc/polkit-1/rules.d/
for _ in $(seq 1 20); do # polkitd notices new rules by itself
    out=$(as_user alice tpmctl --no-ask-password enable 2>&1); st=$?
    [ $st = 3 ] || break
    sleep 0.5
done
[ $st = 0 ] && ok "alice (group tpmadmin) is allowed after the example rule" ||
    fail "alice's tpmctl enable with the rule: exit $st: $out"
expect "tcsd's messages in journalctl -u tcsd" "TPM: " "$(cexec journalctl -u tcsd --no-pager -o cat)"

# --- 6b. LUKS2: tpmluks enrolls, cryptsetup opens through the packaged plugin --
# The plugin must be where this libcryptsetup12 looks (its compiled-in path,
# printed by cryptsetup --help), owned by libcryptsetup-token-tcs.
plugdir=$(cexec cryptsetup --help | sed -n 's/^LUKS2 external token plugin path: \(.*\)\.$/\1/p')
out=$(cexec sh -c "dpkg -S \"\$(realpath '$plugdir/libcryptsetup-token-tcs.so')\"" 2>&1)
expect "the token plugin is in libcryptsetup's plugin path ($plugdir)" "^libcryptsetup-token-tcs(:[a-z0-9]+)?: " "$out"
# a file-backed image with a cheap PBKDF; the RK comes from takeownership
cexec sh -c 'printf "correct horse" >/root/luks.pass && truncate -s 32M /root/luks.img &&
    cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --key-file /root/luks.pass /root/luks.img' || fail "cryptsetup luksFormat"
out=$(cexec tpmluks enroll /root/luks.img --key-file /root/luks.pass 2>&1); st=$?
[ $st = 0 ] && ok "tpmluks enroll (RK-bound token)" || fail "tpmluks enroll ($st): $out"
luks_open_by_token() { # the tcs token alone: no passphrase, no other token type
    cexec timeout 120 cryptsetup open --test-passphrase --token-only --token-type tcs -v /root/luks.img 2>&1
}
out=$(luks_open_by_token); st=$?
[ $st = 0 ] && ok "cryptsetup open --token-only through the installed plugin: $(echo $out)" ||
    fail "cryptsetup open --test-passphrase --token-only ($st): $out"

# --- 7. stop, reactivate; reboot ------------------------------------------------
cexec systemctl stop tcsd.service
expect "tcsd.service stopped" "^inactive$" "$(cexec systemctl is-active tcsd.service)"
# KillMode=mixed: tcsd, not systemd, stops the embedded swtpm (state saved)
if cexec journalctl -u tcsd --no-pager -o cat | grep -E "had already exited|cannot shut swtpm down"; then
    fail "systemctl stop killed the embedded swtpm before tcsd shut it down"
else
    ok "tcsd shut its embedded swtpm down cleanly on every stop"
fi
expect "a client reactivates it" "TPM 1.2 Version Info" "$(cexec tpm_version 2>&1 | tr -d '\000')"
expect "tcsd.service active again" "^active$" "$(cexec systemctl is-active tcsd.service)"
keys_before=$(cexec tpmlist keys 2>&1 | grep -c "Key UUID")

stop_container
boot second || { fail "the second boot"; exit 1; }
expect "tcsd.service inactive after the reboot" "^inactive$" "$(cexec systemctl is-active tcsd.service)"
out=$(cexec tpmlist keys 2>&1)
keys_after=$(printf '%s\n' "$out" | grep -c "Key UUID")
[ "$keys_before" -ge 5 ] && [ "$keys_after" = "$keys_before" ] &&
    ok "registered keys survive the reboot ($keys_after)" ||
    fail "registered keys: $keys_before before, $keys_after after: $out"
expect "owner secret survives the reboot" "Owner secret stored: +yes" "$(cexec tpmctl status 2>&1)"
out=$(luks_open_by_token); st=$?
[ $st = 0 ] && ok "the LUKS2 token still opens after the reboot" ||
    fail "cryptsetup open --token-only after the reboot ($st): $out"
out=$(cexec tpmadm addkey key=sk yes 2>&1); st=$?
[ $st = 0 ] && ok "the stored owner secret works after the reboot (tpmadm addkey key=sk)" ||
    fail "tpmadm addkey key=sk after reboot: $out"
[ $rc = 0 ] || cexec journalctl -u tcsd --no-pager -o short-monotonic | tail -40
exit $rc
