#!/bin/sh
# SPDX-License-Identifier: MIT
# Install avmm into a scratch prefix, build tests/oot-plugin/scratch.c against
# nothing but the installed headers (pkg-config avmm-plugin), and load it with
# the installed avmm.  Usage: run.sh BUILD_DIR SOURCE_DIR CC
set -eu
build=$1 src=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name avmm-plugin.pc)
[ -n "$pc" ] || { echo "FAIL: avmm-plugin.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
suffix=$(pkg-config --variable=pluginsuffix avmm-plugin)
plugindir=$(pkg-config --variable=plugindir avmm-plugin)
[ -f "$plugindir/pl011$suffix" ] || { echo "FAIL: no pl011$suffix in plugindir $plugindir"; exit 1; }
[ -f "$tmp/prefix/include/avmm/avmm.h" ] || { echo "FAIL: headers not installed"; exit 1; }

# Only the installed include dir: the source tree is not on the path.
mkdir "$tmp/oot"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags avmm-plugin) -shared \
	-o "$tmp/oot/scratch$suffix" "$src/tests/oot-plugin/scratch.c"

avmm=$tmp/prefix/bin/avmm
out=$(AVMM_PLUGIN_PATH="$tmp/oot" "$avmm" --list-plugins)
echo "$out"
echo "$out" | grep -q '^scratch .*ABI 1\.1' || { echo "FAIL: scratch not listed"; exit 1; }
echo "$out" | grep -q '^gicv2 ' || { echo "FAIL: installed avmm does not find its plugins"; exit 1; }

printf '\x40\x05\x80\xd2\x00\x00\x20\xd4' > "$tmp/k.bin"
cat > "$tmp/m.ini" <<INI
[boot]
format = raw
kernel = k.bin
load-address = 0x40080000

[device s0]
plugin = scratch
base = 0x0a000000
INI
out=$(AVMM_PLUGIN_PATH="$tmp/oot" "$avmm" --check -c "$tmp/m.ini")
echo "$out"
echo "$out" | grep -q '0x000a000000-0x000a000fff  mmio    s0 (scratch)' ||
	{ echo "FAIL: scratch region missing from the memory map"; exit 1; }

# And its own config check reaches the user with file:line.
sed -i 's/0x0a000000/0x0a000010/' "$tmp/m.ini"
if err=$(AVMM_PLUGIN_PATH="$tmp/oot" "$avmm" --check -c "$tmp/m.ini" 2>&1); then
	echo "FAIL: unaligned base accepted"; exit 1
fi
echo "$err" | grep -q "m.ini:8: \[device s0\] base: must be 4K aligned" ||
	{ echo "FAIL: unexpected error: $err"; exit 1; }
# On an arm64 Linux host with KVM, a guest also runs the plugin's MMIO
# handlers (tests/guests/oot-scratch.S); elsewhere the nested integration
# scenario oot-scratch does that.
guest=$build/guests/oot-scratch.bin
case $(uname -s)-$(uname -m) in
Linux-aarch64)
	if [ -w /dev/kvm ] && [ -e "$guest" ]; then
		sed -e "s|^kernel = .*|kernel = $guest|" "$src/configs/oot-scratch.ini" >"$tmp/g.ini"
		out=$(AVMM_PLUGIN_PATH="$tmp/oot" "$avmm" -v --timeout 30 -c "$tmp/g.ini" </dev/null 2>&1) ||
			{ echo "$out"; echo "FAIL: the oot-scratch guest did not stop at BRK #0"; exit 1; }
		echo "$out" | grep -q 'x0  = 0x0000000000000000 (0)' ||
			{ echo "$out"; echo "FAIL: the oot-scratch guest's checks failed (x0 != 0)"; exit 1; }
		echo "$out" | grep -q 's0: 11 accesses' ||
			{ echo "$out"; echo "FAIL: the plugin did not count the guest's 11 accesses"; exit 1; }
		echo "guest: the oot-scratch guest drove the plugin's registers"
	else
		echo "note: no writable /dev/kvm or no $guest: guest run left to integration.oot-scratch"
	fi ;;
*) echo "note: not arm64 Linux: guest run left to the nested integration.oot-scratch" ;;
esac
echo "PASS: out-of-tree plugin built against installed headers loads and runs"
