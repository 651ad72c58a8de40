#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what building and testing avmm needs, from the distribution.
#   Debian/Ubuntu: build deps (libslirp-dev: virtio-net's net = user), Check, clang with libFuzzer (tools/fuzz.sh),
#                  e2fsprogs (tools/mkrootfs.sh: mke2fs -d, debugfs), and
#                  for the nested harness on non-arm64 hosts: qemu-system-arm,
#                  the aarch64 cross toolchain, cpio.
#   macOS:         Homebrew cmake pkg-config dtc inih check llvm (libFuzzer) libslirp.
set -euo pipefail

if [ "$(uname -s)" = Darwin ]; then
	command -v brew >/dev/null || { echo "install Homebrew first: https://brew.sh" >&2; exit 1; }
	brew install cmake pkg-config dtc inih check llvm libslirp
	exit 0
fi

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
pkgs=(build-essential cmake pkg-config libfdt-dev libinih-dev check zlib1g-dev python3 cpio
	gzip clang libclang-rt-dev e2fsprogs libslirp-dev)
if [ "$(uname -m)" != aarch64 ]; then
	# The nested harness: arm64 Linux under QEMU runs avmm on real KVM.
	pkgs+=(qemu-system-arm gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
		libc6-dev-arm64-cross)
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${pkgs[@]}"
