#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build everything and run every test: unit tests (Check, via ctest) and the
# integration tests that boot real guests under KVM.  On a host that is not
# arm64 Linux the integration tests run inside an arm64 Linux under QEMU with
# nested virtualization (tools/run-nested.sh); pass --unit to skip them.
# Then the unit tests again under sanitizers, each build in its own directory:
#   build-asan/  ASan + UBSan + LeakSanitizer, every unit test
#   build-tsan/  ThreadSanitizer, the threaded tests (ctest label tsan)
set -euo pipefail
cd "$(dirname "$0")/.."

integration=ON
for a in "$@"; do
	case $a in
	--unit) integration=OFF ;;
	*) echo "usage: $0 [--unit]" >&2; exit 2 ;;
	esac
done

jobs=$(getconf _NPROCESSORS_ONLN)
phase_start=$(date +%s)
phase_done() {
	echo "test-all: $1 took $(($(date +%s) - phase_start)) s"
	phase_start=$(date +%s)
}

cmake -S . -B build -DAVMM_WERROR=ON -DAVMM_INTEGRATION=$integration
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j2
phase_done "build/ (build and tests)"

# The sanitizer builds repeat neither the integration tests nor the aarch64
# compile check of accel_kvm.c: build/ did those.
sanitized() {
	local dir=$1 label=$2
	shift 2
	cmake -S . -B "$dir" -DAVMM_WERROR=ON -DAVMM_INTEGRATION=OFF -DAVMM_KVM_CHECK=OFF "$@"
	cmake --build "$dir" -j"$jobs"
	ctest --test-dir "$dir" -L "$label" --output-on-failure -j2
	phase_done "$dir/ (build and tests)"
}
sanitized build-asan unit -DAVMM_SANITIZE=ON -DAVMM_TSAN=OFF
sanitized build-tsan tsan -DAVMM_TSAN=ON -DAVMM_SANITIZE=OFF

# ---- fuzz smoke run (tools/fuzz.sh): every libFuzzer target of tests/fuzz
# for 15 s after replaying its committed corpus; a crash, sanitizer report or
# broken invariant fails the run.  Needs clang; AVMM_NO_FUZZ=1 skips it.
if [[ ${AVMM_NO_FUZZ:-0} != 1 ]]; then
	tools/fuzz.sh --smoke 15
	phase_done "fuzz smoke run"
else
	echo "test-all: AVMM_NO_FUZZ=1: the fuzz smoke run was SKIPPED" >&2
fi
