/* SPDX-License-Identifier: MIT */
/*
 * The guest loaders of boot.c: arm64 Image headers, gzip streams (valid,
 * truncated, corrupt, or an Image.gz the harness compresses itself), raw
 * binaries and initrds, into RAM of awkward sizes and bases.
 *
 * Input: flags (bit 0 raw, bit 1 gzip the kernel here, bit 2 an initrd),
 * RAM size index, RAM base index, raw load offset (u32), initrd length
 * (u16), the initrd, then the kernel file, both written to temporary files.
 *
 * Invariants: on success the kernel, initrd and DTB slot lie inside RAM,
 * pairwise disjoint, aligned as booting.rst asks; the Image sits at its
 * 2 MiB-aligned base + text_offset and both files are copied verbatim.  On
 * failure there is a message, and its numbers agree with the sizes involved
 * ("does not fit in X MiB ... about Y MiB are needed": X is the RAM, Y > X;
 * a raw load address outside RAM names RAM's real bounds).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "boot.h"
#include "dtb.h"
#include "fuzz.h"
#include "ram.h"

#define MiB (1024ull * 1024ull)

/* Two files reused by every run (created once, rewritten each time). */
static char kpath[64], ipath[64];

static void put_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	FUZZ_CHECK(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
}

static void remove_files(void)
{
	unlink(kpath);
	unlink(ipath);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	(void)argc, (void)argv;
	/* Two writes per run: a RAM-backed directory when there is one. */
	if (!tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(kpath, sizeof(kpath), "%s/avmm-fuzz-boot-XXXXXX", tmp);
	strcpy(ipath, kpath);
	FUZZ_CHECK((fd = mkstemp(kpath)) >= 0 && close(fd) == 0);
	FUZZ_CHECK((fd = mkstemp(ipath)) >= 0 && close(fd) == 0);
	atexit(remove_files);
	return 0;
}

static size_t gzip_buf(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z = { 0 };
	size_t n;

	FUZZ_CHECK(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	return n;
}

static bool disjoint(uint64_t a, uint64_t aend, uint64_t b, uint64_t bend)
{
	return aend <= b || bend <= a || a == aend || b == bend;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void check_message(const char *err, const struct guest_ram *ram, uint64_t raw_load)
{
	unsigned long long x, y, lo, hi, addr;
	const char *m;

	FUZZ_CHECK(err[0]);
	m = strstr(err, " does not fit in ");
	if (m && sscanf(m, " does not fit in %llu MiB of RAM: about %llu MiB are needed", &x,
			&y) == 2) {
		FUZZ_CHECKF(x == (ram->size + MiB - 1) / MiB, "%s", err);
		FUZZ_CHECKF(y > x, "%s", err);
	} else if (m && sscanf(m, " does not fit in %llu KiB of RAM: about %llu KiB are needed", &x,
			       &y) == 2) {
		FUZZ_CHECKF(x == (ram->size + 1023) / 1024, "%s", err);
		FUZZ_CHECKF(y > x, "%s", err);
	} else {
		FUZZ_CHECKF(!m, "unexpected form: %s", err);
	}
	m = strstr(err, "raw load address ");
	if (m && sscanf(m, "raw load address 0x%llx is outside RAM [0x%llx, 0x%llx)", &addr, &lo,
			&hi) == 3) {
		FUZZ_CHECKF(addr == raw_load && lo == ram->base && hi == ram->base + ram->size,
			    "%s", err);
		FUZZ_CHECKF(addr < lo || addr >= hi, "%s", err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t sizes[] = { 0x4000, 1 * MiB, 2 * MiB + 0x4000, 16 * MiB,
					  4 * MiB, 64 * MiB, 3 * MiB - 0x4000, 8 * MiB };
	static const uint64_t bases[] = { 0x40000000, 0x40004000, 0, 0xffffff0000ull,
					  0x80000000, 0x401fc000, 0x100000000ull, 0x4000 };
	static uint8_t gz[70000];
	struct fuzz_in in = { data, size };
	unsigned flags = fuzz_u8(&in);
	uint64_t ram_size = sizes[fuzz_u8(&in) % 8], ram_base = bases[fuzz_u8(&in) % 8];
	uint64_t raw_off = fuzz_u32(&in), initrd_len = fuzz_u16(&in);
	struct boot_params p = { 0 };
	struct boot_layout l;
	struct guest_ram ram;
	char err[512] = "";
	const uint8_t *initrd, *kernel, *file;
	size_t klen, flen;
	int rc;

	if (initrd_len > in.n)
		initrd_len = in.n;
	initrd = in.p;
	kernel = in.p + initrd_len;
	klen = in.n - initrd_len;
	file = kernel;
	flen = klen;
	if (flags & 2) {
		flen = gzip_buf(kernel, klen, gz, sizeof(gz));
		file = gz;
	}
	if (ram_alloc(&ram, ram_base, ram_size))
		return 0;
	put_file(kpath, file, flen);
	p.kernel = kpath;
	if (flags & 4) {
		put_file(ipath, initrd, initrd_len);
		p.initrd = ipath;
	}
	p.format = (flags & 1) ? BOOT_RAW : BOOT_LINUX;
	p.raw_load = ram_base + raw_off - 0x1000; /* a little below RAM too */
	p.raw_entry = p.raw_load + 4;

	rc = boot_load(&ram, &p, &l, err, sizeof(err));
	if (rc) {
		FUZZ_CHECK(rc < 0);
		check_message(err, &ram, p.raw_load);
		goto out;
	}
	{
		uint64_t ram_end = ram.base + ram.size;
		/* A gzip file the fuzzer made itself: its contents are not known here. */
		bool known = (flags & 2) || klen < 2 || kernel[0] != 0x1f || kernel[1] != 0x8b;

		/* A raw binary is loaded as the file is, compressed or not. */
		if (p.format == BOOT_RAW) {
			known = true;
			kernel = file;
			klen = flen;
		}

		FUZZ_CHECK(l.kernel_start >= ram.base && l.kernel_end <= ram_end);
		if (known) {
			FUZZ_CHECK(l.kernel_end - l.kernel_start >= klen);
			FUZZ_CHECK(!memcmp(ram_ptr(&ram, l.kernel_start, klen), kernel, klen));
		}
		FUZZ_CHECK(l.dtb_addr % (2 * MiB) == 0);
		FUZZ_CHECK(l.dtb_addr >= ram.base && l.dtb_addr + DTB_MAX_SIZE <= ram_end);
		FUZZ_CHECK(disjoint(l.dtb_addr, l.dtb_addr + DTB_MAX_SIZE, l.kernel_start,
				    l.kernel_end));
		if (p.format == BOOT_LINUX && known) {
			uint64_t text = le64(kernel + 16) ? le64(kernel + 8) : 0x80000;

			FUZZ_CHECK(klen >= 64);
			FUZZ_CHECK(l.entry == l.kernel_start);
			FUZZ_CHECK(l.kernel_start == ((ram.base + 2 * MiB - 1) & ~(2 * MiB - 1)) + text);
			FUZZ_CHECK(l.kernel_end - l.kernel_start >= le64(kernel + 16));
		} else if (p.format == BOOT_RAW) {
			FUZZ_CHECK(l.entry == p.raw_entry && l.kernel_start == p.raw_load);
			FUZZ_CHECK(l.kernel_end == p.raw_load + klen);
		}
		if (p.initrd) {
			FUZZ_CHECK(l.initrd_end - l.initrd_start == initrd_len);
			FUZZ_CHECK(l.initrd_start % 0x10000 == 0);
			FUZZ_CHECK(l.initrd_start >= ram.base && l.initrd_end <= ram_end);
			FUZZ_CHECK(disjoint(l.initrd_start, l.initrd_end, l.kernel_start,
					    l.kernel_end));
			FUZZ_CHECK(disjoint(l.initrd_start, l.initrd_end, l.dtb_addr,
					    l.dtb_addr + DTB_MAX_SIZE));
			FUZZ_CHECK(!memcmp(ram_ptr(&ram, l.initrd_start, initrd_len), initrd,
					   initrd_len));
		} else {
			FUZZ_CHECK(l.initrd_end == 0);
		}
	}
out:
	ram_free(&ram);
	return 0;
}
