#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the libFuzzer targets of tests/fuzz.
#
#   tools/fuzz.sh [TARGET|all] [SECONDS]   fuzz one target (or each in turn)
#                                          for SECONDS (default 60) each
#   tools/fuzz.sh --smoke [SECONDS]        every target for SECONDS (default 15)
#                                          each: the short run of tools/test-all.sh
#   tools/fuzz.sh --list                   the target names
#
# Builds build-fuzz/ with clang (CC=clang, -DAVMM_FUZZ=ON) when needed.  Each
# run first replays the committed corpus tests/fuzz/corpus/TARGET (seeds and
# the inputs of past findings), writes what it discovers to
# build-fuzz/corpus/TARGET and crash inputs to build-fuzz/artifacts/.  Exits
# non-zero as soon as one target finds a crash, a leak, a timeout or a broken
# invariant; copy the input named in the report into tests/fuzz/corpus/TARGET
# once fixed so the smoke run replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-fuzz
targets=(fuzz_gicv2 fuzz_pl011 fuzz_virt_timer fuzz_config fuzz_boot
	fuzz_arm64_decode fuzz_arm64_translate fuzz_psci fuzz_virtqueue fuzz_virtio_mmio)

usage() {
	sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

smoke=0
what=all
secs=
case ${1:-} in
--smoke) smoke=1; secs=${2:-15} ;;
--list) printf '%s\n' "${targets[@]#fuzz_}"; exit 0 ;;
-h|--help) usage ;;
'') ;;
*) what=$1; secs=${2:-} ;;
esac
secs=${secs:-60}
[[ $secs =~ ^[0-9]+$ ]] || usage

if [[ $what != all ]]; then
	t=fuzz_${what#fuzz_}
	t=${t//-/_}
	found=0
	for x in "${targets[@]}"; do [[ $x == "$t" ]] && found=1; done
	((found)) || { echo "fuzz.sh: unknown target '$what' (try --list)" >&2; exit 2; }
	targets=("$t")
fi

# libFuzzer comes with LLVM's clang (Debian: clang + libclang-rt-dev; macOS:
# Homebrew's llvm, not Apple's clang).  FUZZ_CC overrides.
cc=${FUZZ_CC:-clang}
if [[ -z ${FUZZ_CC:-} && $(uname -s) == Darwin ]] && command -v brew >/dev/null; then
	cc=$(brew --prefix llvm)/bin/clang
fi
if ! command -v "$cc" >/dev/null; then
	echo "fuzz.sh: $cc is needed (tools/install-deps.sh installs it)" >&2
	exit 1
fi
if [[ ! -f $build/CMakeCache.txt ]]; then
	CC=$cc cmake -S . -B "$build" -DAVMM_FUZZ=ON -DAVMM_BUILD_TESTS=OFF \
		-DAVMM_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
nice cmake --build "$build" -j2 --target fuzz_all >/dev/null

mkdir -p "$build/artifacts"
start=$SECONDS
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	seeds=tests/fuzz/corpus/$name
	work=$build/corpus/$name
	mkdir -p "$work" "$seeds"
	echo "== $name: ${secs}s"
	# New inputs go to the first directory only: the committed corpus stays as is.
	if ! nice "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$build/artifacts/$name-" "$work" "$seeds" \
		>"$build/$name.log" 2>&1; then
		tail -n 60 "$build/$name.log" >&2
		echo "fuzz.sh: $name FAILED; log: $build/$name.log, input: $build/artifacts/$name-*" >&2
		exit 1
	fi
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/$name.log" | tail -n 2 |
		sed 's/^/   /' || true
done
echo "fuzz.sh: ${#targets[@]} target(s) clean in $((SECONDS - start))s"
