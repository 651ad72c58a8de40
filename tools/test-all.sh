#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build everything and run every test: unit tests (Check, via ctest) and the
# integration tests that boot real guests under KVM.  On a host that is not
# arm64 Linux the integration tests run inside an arm64 Linux under QEMU with
# nested virtualization (tools/run-nested.sh); pass --unit to skip them.
set -euo pipefail
cd "$(dirname "$0")/.."

integration=ON
for a in "$@"; do
	case $a in
	--unit) integration=OFF ;;
	*) echo "usage: $0 [--unit]" >&2; exit 2 ;;
	esac
done

cmake -S . -B build -DAVMM_WERROR=ON -DAVMM_INTEGRATION=$integration
cmake --build build -j"$(getconf _NPROCESSORS_ONLN)"
ctest --test-dir build --output-on-failure -j2

# ---- fuzz smoke run (tools/fuzz.sh): every libFuzzer target of tests/fuzz
# for 15 s after replaying its committed corpus; a crash, sanitizer report or
# broken invariant fails the run.  Needs clang; AVMM_NO_FUZZ=1 skips it.
if [[ ${AVMM_NO_FUZZ:-0} != 1 ]]; then
	tools/fuzz.sh --smoke 15
fi
