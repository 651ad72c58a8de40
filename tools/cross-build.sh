#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-build avmm and its plugins for aarch64 Linux.
#   sysroot  build/sysroot-arm64: libfdt, inih, zlib and libslirp (with glib, pcre2)
#            arm64 packages, extracted
#   output   build-aarch64/: core/avmm, plugins/*.so, guests/*.bin (and each
#            guest's symbol table, guests/*.sym), tools/kvm-probe, and
#            oot/plugins/scratch.so: tests/oot-plugin built against nothing but
#            the headers installed into oot/prefix
# Usage: tools/cross-build.sh [--target T]... [--probe-only] [--sysroot-only] [--clean]
#   --target T      build only CMake target T (repeatable; default: all)
#   --probe-only    build only the sysroot and tools/kvm-probe
#   --sysroot-only  only prepare the sysroot
#   --clean         remove build-aarch64 first
set -euo pipefail
. "$(dirname "$0")/lib.sh"

targets=()
probe_only=0
sysroot_only=0
clean=0
while [ $# -gt 0 ]; do
	case $1 in
	--target) targets+=("${2:?--target needs a value}"); shift 2 ;;
	--probe-only) probe_only=1; shift ;;
	--sysroot-only) sysroot_only=1; shift ;;
	--clean) clean=1; shift ;;
	-h|--help) sed -n '3,14p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done

need_cmd "${AVMM_CROSS_PREFIX}gcc" "${AVMM_CROSS_PREFIX}readelf" cmake pkg-config dpkg-deb

# ---- sysroot ------------------------------------------------------------
# libc, libpthread, libdl come from the cross toolchain; only the project's
# own dependencies (and their runtime libraries) go here.
# libslirp (virtio-net's net = user) links glib, which links pcre2: their
# runtime libraries resolve libslirp.so's own dependencies at link time.
sysroot_pkgs=(libfdt-dev libfdt1 libinih-dev libinih1 zlib1g-dev zlib1g
	libslirp-dev libslirp0 libglib2.0-0 libpcre2-8-0)
make_sysroot() {
	local pkg deb stamp changed=0 link target
	mkdir -p "$AVMM_SYSROOT"
	for pkg in "${sysroot_pkgs[@]}"; do
		stamp=$AVMM_SYSROOT/.pkg-$pkg
		# Fast path: the package is there and nobody asked for a refresh.
		if [ -e "$stamp" ] && [ -z "${AVMM_REFRESH:-}" ]; then
			continue
		fi
		[ $changed -eq 1 ] || ensure_arm64_apt
		deb=$(deb_fetch "$pkg:arm64")
		if [ "$(cat "$stamp" 2>/dev/null)" != "$(basename "$deb")" ]; then
			dpkg-deb -x "$deb" "$AVMM_SYSROOT" || die "dpkg-deb -x $deb failed"
			basename "$deb" >"$stamp"
		fi
		changed=1
	done
	[ $changed -eq 1 ] || return 0
	# -dev packages carry absolute symlinks (libz.so -> /lib/...): point them
	# into the sysroot, or the linker would pick up the host's files.
	while IFS= read -r link; do
		target=$(readlink "$link")
		case $target in
		/*) ln -sfnr "$AVMM_SYSROOT$target" "$link" ;;
		esac
	done < <(find "$AVMM_SYSROOT" -type l)
	[ -e "$AVMM_SYSROOT/usr/include/libfdt.h" ] || die "sysroot lacks libfdt.h"
	[ -e "$AVMM_SYSROOT/usr/include/ini.h" ] || die "sysroot lacks ini.h"
	[ -e "$AVMM_SYSROOT/usr/include/slirp/libslirp.h" ] || die "sysroot lacks libslirp.h"
	note "sysroot ready: $AVMM_SYSROOT"
}
make_sysroot
[ $sysroot_only -eq 0 ] || exit 0

[ $clean -eq 0 ] || rm -rf "$AVMM_CROSS_BUILD"
mkdir -p "$AVMM_CROSS_BUILD/tools"

# ---- kvm-probe: standalone, so it exists even while the tree does not build
probe_src=$AVMM_REPO/tools/kvm-probe.c
probe_bin=$AVMM_CROSS_BUILD/tools/kvm-probe
if ! up_to_date "$probe_bin" "$probe_src"; then
	"${AVMM_CROSS_PREFIX}gcc" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$probe_bin" "$probe_src" ||
		die "building tools/kvm-probe.c failed"
fi
[ $probe_only -eq 0 ] || exit 0

# ---- avmm ---------------------------------------------------------------
toolchain=$AVMM_REPO/tools/aarch64-linux-gnu.cmake
if [ ! -e "$AVMM_CROSS_BUILD/CMakeCache.txt" ] || [ "$toolchain" -nt "$AVMM_CROSS_BUILD/CMakeCache.txt" ]; then
	cmake -S "$AVMM_REPO" -B "$AVMM_CROSS_BUILD" \
		-DCMAKE_TOOLCHAIN_FILE="$toolchain" \
		-DAVMM_SYSROOT="$AVMM_SYSROOT" \
		-DAVMM_CROSS_PREFIX="$AVMM_CROSS_PREFIX" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DAVMM_BUILD_TESTS=OFF -DBUILD_TESTING=OFF \
		-DAVMM_WERROR="${AVMM_WERROR:-ON}" >"$AVMM_CROSS_BUILD/configure.log" 2>&1 ||
		{
			tail -n 30 "$AVMM_CROSS_BUILD/configure.log" >&2
			die "CMake configure failed (full log: $AVMM_CROSS_BUILD/configure.log)"
		}
fi

build_args=(--build "$AVMM_CROSS_BUILD" -j"$(nproc)")
for t in "${targets[@]}"; do
	build_args+=(--target "$t")
done
cmake "${build_args[@]}" || die "aarch64 build failed (see the compiler output above)"

if [ ${#targets[@]} -eq 0 ]; then
	# The bare-metal test guests live under tests/ (not configured with
	# AVMM_BUILD_TESTS=OFF): assemble them the same way tests/guests does.
	gdir=$AVMM_CROSS_BUILD/guests
	mkdir -p "$gdir"
	for src in "$AVMM_REPO"/tests/guests/*.S; do
		[ -e "$src" ] || continue
		g=$(basename "$src" .S)
		up_to_date "$gdir/$g.bin" "$src" && up_to_date "$gdir/$g.sym" "$src" && continue
		"${AVMM_CROSS_PREFIX}gcc" -c -nostdlib "$src" -o "$gdir/$g.o" &&
			"${AVMM_CROSS_PREFIX}objcopy" -O binary -j .text "$gdir/$g.o" "$gdir/$g.bin" &&
			"${AVMM_CROSS_PREFIX}nm" "$gdir/$g.o" >"$gdir/$g.sym" ||
			die "assembling test guest $src failed"
		[ -s "$gdir/$g.bin" ] || die "$gdir/$g.bin is empty"
	done
	# The out-of-tree example plugin, as a third party would build it: from
	# the installed headers and avmm-plugin.pc alone.
	oot=$AVMM_CROSS_BUILD/oot
	cmake --install "$AVMM_CROSS_BUILD" --prefix "$oot/prefix" >/dev/null ||
		die "cmake --install into $oot/prefix failed"
	pcdir=$(dirname "$(find "$oot/prefix" -name avmm-plugin.pc | head -n 1)")
	[ -e "$pcdir/avmm-plugin.pc" ] || die "avmm-plugin.pc not installed into $oot/prefix"
	cflags=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR= \
		pkg-config --cflags avmm-plugin) || die "pkg-config avmm-plugin failed"
	suffix=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --variable=pluginsuffix avmm-plugin)
	mkdir -p "$oot/plugins"
	# shellcheck disable=SC2086
	"${AVMM_CROSS_PREFIX}gcc" -std=c11 -O2 -Wall -Wextra -Werror $cflags -shared \
		-o "$oot/plugins/scratch$suffix" "$AVMM_REPO/tests/oot-plugin/scratch.c" ||
		die "building tests/oot-plugin/scratch.c against the installed headers failed"
	[ -x "$AVMM_CROSS_BUILD/core/avmm" ] || die "build finished but $AVMM_CROSS_BUILD/core/avmm is missing"
	note "built: core/avmm, $(ls "$AVMM_CROSS_BUILD"/plugins/*.so 2>/dev/null | wc -l) plugins," \
		"$(ls "$oot"/plugins/*.so 2>/dev/null | wc -l) out-of-tree"
fi
