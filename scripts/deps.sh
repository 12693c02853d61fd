#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages otabundle needs to build and test, if missing.
set -eu
# make bench (bench/*.sh): /usr/bin/time, mke2fs/debugfs/dumpe2fs, the delta
# references, cpio for the stock SWUpdate pipeline (rauc, mender-artifact and
# swupdate are the peers' own tools, used when installed).
BENCH_PKGS="time e2fsprogs xdelta3 bsdiff cpio"
PKGS="gcc make pkg-config libarchive-dev libssl-dev libyaml-dev libzstd-dev libjansson-dev
libcmocka-dev libp11-dev libcurl4-openssl-dev openssl zstd tar mandoc python3
libengine-pkcs11-openssl softhsm2 opensc p11-kit p11-kit-modules clang libclang-rt-14-dev valgrind zsh
libsquashfs-dev libconfig-dev squashfs-tools squashfs-tools-ng cpio cryptsetup-bin rauc swupdate mender-artifact
xdelta3 bsdiff"
# Mender export (parallel gzip of the payload)
PKGS="$PKGS zlib1g-dev"
# Mender audit (xz members decoded with a memory limit; tests: xz)
PKGS="$PKGS liblzma-dev xz-utils"
missing=""
for p in $PKGS $BENCH_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
