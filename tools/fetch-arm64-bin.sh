#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetch programs from one Debian arm64 package and exactly the shared
# libraries their NEEDED entries pull in (recursively), as a tree shaped like
# the sysroot tools/mkl1.sh reads, so the programs can run inside L1
# (qemu-system-aarch64 for the benchmarks, debugfs and e2fsck for the disk
# tests).
#
# Libraries the cross toolchain already gives L1 (libc, libm, libgcc_s, ...)
# are not fetched. A soname is looked up first in the packages already
# extracted, then in the Depends of the packages in use (a package whose name
# looks like the soname first), so only packages that provide a needed soname
# end up in OUT. Only the programs are taken from PKG itself, no data files
# (QEMU needs none for `-M virt -nodefaults -kernel`: no ROMs or keymaps).
#
# Usage: tools/fetch-arm64-bin.sh PKG OUT PATH...
#        PATH: a program inside the package (usr/bin/qemu-system-aarch64)
# Output: OUT/usr/bin/<name of each PATH>, OUT/usr/lib/aarch64-linux-gnu/*.so.*;
# prints each program's path, one a line. Downloads and extracted trees are
# cached in ${AVMM_CACHE:-~/.cache/avmm}.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: tools/fetch-arm64-bin.sh PKG OUT PATH..."
pkg=$1
out=$2
shift 2
paths=()
progs=()
for p in "$@"; do
	paths+=("${p#/}")
	progs+=("$(basename "$p")")
done
readelf=${AVMM_CROSS_PREFIX}readelf
need_cmd "$readelf" dpkg-deb apt-cache
toolchain_libs=/usr/aarch64-linux-gnu/lib
[ -d "$toolchain_libs" ] || die "$toolchain_libs missing (apt-get install gcc-aarch64-linux-gnu)"

stamp=$out/.deb-$pkg
xroot=$AVMM_CACHE/extract/pkgs

ensure_arm64_apt
main_deb=$(deb_fetch "$pkg:arm64")
have_all() {
	local p
	for p in "${progs[@]}"; do [ -x "$out/usr/bin/$p" ] || return 1; done
}
# The stamp also names the programs: a call asking for others rebuilds OUT.
want="$(basename "$main_deb") ${progs[*]}"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -z "${AVMM_REFRESH:-}" ] && have_all; then
	printf "$out/usr/bin/%s\n" "${progs[@]}"
	exit 0
fi

needed() { # ELF -> its NEEDED sonames
	"$readelf" -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

deps_of() { # PKG -> the packages it Depends / Pre-Depends on (first of alternatives)
	apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "$1:arm64" 2>/dev/null |
		sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^ <>]*\).*/\2/p' | sed 's/:arm64$//'
}

key() { # lower-case alphanumerics, without a leading "lib" and the ".so..." tail
	local k=${1%%.so*}
	k=${k#lib}
	k=${k//[^A-Za-z0-9]/}
	echo "${k,,}"
}

declare -A have=()      # soname -> "l1" (toolchain) or the copied file
declare -A provider=()  # soname -> file, over every extracted package
declare -A extracted=() # package -> 1
declare -A expanded=()  # package -> 1 once its Depends are candidates
declare -A owner=()     # soname -> package that provided it
cands=()
unresolved=()

for f in "$toolchain_libs"/*.so.*; do
	have[$(basename "$f")]=l1
done

extract_pkg() { # PKG: download, extract once, index its shared libraries
	local pkg=$1 deb dir f
	extracted[$pkg]=1
	deb=$(deb_fetch "$pkg:arm64")
	dir=$xroot/$(basename "$deb" .deb)
	deb_extract "$deb" "$dir"
	while IFS= read -r f; do
		[ -z "${provider[$(basename "$f")]:-}" ] || continue
		provider[$(basename "$f")]=$f
		owner[$(basename "$f")]=$pkg
	done < <(find "$dir" \( -type f -o -type l \) -name 'lib*.so.*' \
		\( -path '*/lib/aarch64-linux-gnu/*' -o -path '*/lib/*' \))
}

expand() { # PKG: its library dependencies become candidates
	local d
	[ -z "${expanded[$1]:-}" ] || return 0
	expanded[$1]=1
	while IFS= read -r d; do
		case $d in
		libc6 | libgcc-s1 | libstdc++6 | "$pkg" | "") ;;
		lib* | zlib*) cands+=("$d") ;;
		esac
	done < <(deps_of "$1")
}

queue_elf() { # ELF: its NEEDED sonames not yet there become unresolved
	local s
	while IFS= read -r s; do
		[ -n "${have[$s]:-}" ] || unresolved+=("$s")
	done < <(needed "$1")
}

rm -rf "$out"
mkdir -p "$out/usr/bin" "$out/usr/lib/aarch64-linux-gnu"
xmain=$xroot/$(basename "$main_deb" .deb)
deb_extract "$main_deb" "$xmain"
extracted[$pkg]=1
expand "$pkg"
for p in "${paths[@]}"; do
	[ -x "$xmain/$p" ] || die "$main_deb has no $p"
	cp "$xmain/$p" "$out/usr/bin/"
	queue_elf "$out/usr/bin/$(basename "$p")"
done

while [ ${#unresolved[@]} -gt 0 ]; do
	s=${unresolved[0]}
	if [ -n "${have[$s]:-}" ]; then
		unresolved=("${unresolved[@]:1}")
		continue
	fi
	if [ -n "${provider[$s]:-}" ]; then
		unresolved=("${unresolved[@]:1}")
		cp -L "${provider[$s]}" "$out/usr/lib/aarch64-linux-gnu/$s"
		have[$s]=$out/usr/lib/aarch64-linux-gnu/$s
		expand "${owner[$s]}"
		queue_elf "${have[$s]}"
		continue
	fi
	# Not in anything extracted yet: try a candidate, one named like it first.
	pick=
	k=$(key "$s")
	for c in "${cands[@]}"; do
		[ -z "${extracted[$c]:-}" ] || continue
		case $(key "$c") in "$k"*) pick=$c; break ;; esac
	done
	if [ -z "$pick" ]; then
		for c in "${cands[@]}"; do
			[ -z "${extracted[$c]:-}" ] && { pick=$c; break; }
		done
	fi
	[ -n "$pick" ] || die "no package among the dependencies provides $s"
	extract_pkg "$pick"
done

echo "$want" >"$stamp"
note "$out: ${progs[*]} + $(find "$out/usr/lib/aarch64-linux-gnu" -type f | wc -l) libraries" \
	"($(for s in "${!have[@]}"; do [ "${have[$s]}" = l1 ] || echo "${owner[$s]}"; done | sort -u | wc -l) packages)"
printf "$out/usr/bin/%s\n" "${progs[@]}"
