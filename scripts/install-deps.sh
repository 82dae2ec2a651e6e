#!/usr/bin/env bash
# scripts/install-deps.sh - install everything tcs needs to build, run and
# test, from Debian 12's archive (run as root). Used by the README's two
# commands and by CI.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# build
PKGS=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev
      libglib2.0-dev libsystemd-dev libssl-dev libjson-c-dev libarchive-dev libtspi-dev
      libcryptsetup-dev libtss2-dev)
# runtime and test peers: the TPM 1.2 emulator, the reference TrouSerS stack
# and its unmodified clients, and the system pieces the daemon talks to
# (libtss2-dev brings tpm2-tss' ESYS, TCTI loader and TCTIs: the TPM 2.0 binding)
PKGS+=(swtpm swtpm-tools libtpms0
       trousers tpm-tools tpm-quote-tools simple-tpm-pk11 ecryptfs-utils
       stunnel4 dbus polkitd systemd python3 python3-dbus python3-gi python3-dbusmock openssl
       valgrind procps iproute2 xxd coreutils diffutils cryptsetup-bin util-linux bash-completion
       strace)
# Debian packaging and the system suite: build the packages, check them, boot
# a minimal Debian 12 root with systemd as PID 1 (tests/system)
PKGS+=(dpkg-dev debhelper fakeroot lintian mmdebstrap systemd-container)

apt_retry() { # a transient mirror error gets bounded retries
    local i
    for i in 1 2 3; do
        "$@" && return 0
        echo "install-deps: '$*' failed (try $i/3)" >&2
        sleep $((i * 5))
    done
    return 1
}

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (apt-get install)" >&2
    exit 1
fi
# package scripts must not start services (trousers' tcsd, dbus, polkitd,
# stunnel) on this machine: deny them unless a policy is already in place
added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    added_policy=1
fi
trap '[ "$added_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt_retry apt-get update
apt_retry apt-get install -y --no-install-recommends "${PKGS[@]}"
