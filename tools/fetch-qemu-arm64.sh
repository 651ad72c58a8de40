#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian's arm64 qemu-system-aarch64 with its shared libraries, for running
# QEMU inside L1 (bench/boot-time.sh).
# Usage: tools/fetch-qemu-arm64.sh [OUT]      (default: <repo>/build/qemu-arm64)
# Output: OUT/usr/bin/qemu-system-aarch64, OUT/usr/lib/aarch64-linux-gnu/*.so.*
set -euo pipefail
. "$(dirname "$0")/lib.sh"
exec "$AVMM_REPO/tools/fetch-arm64-bin.sh" qemu-system-arm "${1:-$AVMM_REPO/build/qemu-arm64}" \
	usr/bin/qemu-system-aarch64
