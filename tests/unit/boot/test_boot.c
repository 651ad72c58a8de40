/* SPDX-License-Identifier: MIT */
/* core/boot.c: Image header parsing and guest image placement in real RAM. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>
#include <zlib.h>

#include "boot.h"
#include "dtb.h"
#include "ram.h"

#define MiB (1024ull * 1024ull)
#define SZ_2M (2 * MiB)
#define RAM_BASE 0x40000000ull

/*
 * The first 64 bytes of Debian's linux-image-6.1.0-56-cloud-arm64
 * (6.1.192-2), /boot/vmlinuz-6.1.0-56-cloud-arm64: an uncompressed Image
 * with an EFI stub ("MZ"), text_offset 0, image_size 0x1ab0000, flags 0xa
 * (little-endian, 4 KiB pages, placeable anywhere).
 */
static const uint8_t debian_hdr[64] = {
	0x4d, 0x5a, 0x40, 0xfa, 0x46, 0x63, 0x4e, 0x14, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xab, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41, 0x52, 0x4d, 0x64,
	0x40, 0x00, 0x00, 0x00,
};

static void put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A synthetic Image: a header like the kernel's, then a position-dependent payload. */
static uint8_t *make_image(size_t len, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	uint8_t *b = malloc(len);
	size_t i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 131 + (i >> 12) * 7 + 1);
	memset(b, 0, 64);
	b[0] = 0x4d; /* "MZ" + branch, as a real one */
	b[1] = 0x5a;
	put_le64(b + 8, text_offset);
	put_le64(b + 16, image_size);
	put_le64(b + 24, flags);
	memcpy(b + 56, "ARM\x64", 4);
	return b;
}

static char tmpdir[64];

static void setup_dir(void)
{
	strcpy(tmpdir, "/tmp/avmm-boot-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_dir(void)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(tmpdir);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(tmpdir);
}

static const char *write_file(const char *name, const void *buf, size_t len)
{
	static char paths[4][128];
	static int next;
	char *path = paths[next++ % 4];
	FILE *f;

	snprintf(path, 128, "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static const char *write_gzip(const char *name, const void *buf, size_t len)
{
	static char path[128];
	gzFile gz;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	gz = gzopen(path, "wb9");
	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, buf, (unsigned)len), (int)len);
	ck_assert_int_eq(gzclose(gz), Z_OK);
	return path;
}

static bool overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

static bool in_ram(const struct guest_ram *ram, uint64_t start, uint64_t end)
{
	return start >= ram->base && end <= ram->base + ram->size && start < end;
}

/* The booting.rst rules every Linux layout must satisfy. */
static void check_linux_layout(const struct guest_ram *ram, const struct boot_layout *l,
			       uint64_t text_offset, uint64_t image_size)
{
	uint64_t kbase = l->kernel_start - text_offset;

	ck_assert_uint_eq(l->entry, l->kernel_start);
	ck_assert_uint_eq(kbase % SZ_2M, 0);
	ck_assert_uint_ge(kbase, ram->base);
	/* Lowest possible base: memory below it is lost to pre-4.6 kernels. */
	ck_assert_uint_lt(kbase - ram->base, SZ_2M);
	ck_assert_uint_eq(l->kernel_end - l->kernel_start, image_size);
	ck_assert(in_ram(ram, l->kernel_start, l->kernel_end));

	/* x0: 8-byte aligned, the whole slot inside one 2 MiB block. */
	ck_assert_uint_eq(l->dtb_addr % 8, 0);
	ck_assert_uint_eq(l->dtb_addr / SZ_2M, (l->dtb_addr + DTB_MAX_SIZE - 1) / SZ_2M);
	ck_assert(in_ram(ram, l->dtb_addr, l->dtb_addr + DTB_MAX_SIZE));
	ck_assert(!overlap(l->dtb_addr, l->dtb_addr + DTB_MAX_SIZE, l->kernel_start, l->kernel_end));

	if (l->initrd_end) {
		ck_assert(in_ram(ram, l->initrd_start, l->initrd_end));
		ck_assert_uint_eq(l->initrd_start % 4096, 0);
		ck_assert(!overlap(l->initrd_start, l->initrd_end, l->kernel_start, l->kernel_end));
		ck_assert(!overlap(l->initrd_start, l->initrd_end, l->dtb_addr,
				   l->dtb_addr + DTB_MAX_SIZE));
		/* Same 1 GiB-aligned window of at most 32 GiB as the kernel. */
		ck_assert_uint_le(l->initrd_end,
				  (l->kernel_start & ~((1ull << 30) - 1)) + (32ull << 30));
	}
}

START_TEST(test_parse_debian_header)
{
	struct arm64_image img;
	char err[160] = "";

	ck_assert_int_eq(boot_parse_image(debian_hdr, sizeof(debian_hdr), &img, err, sizeof(err)), 0);
	ck_assert_uint_eq(img.text_offset, 0);
	ck_assert_uint_eq(img.image_size, 0x1ab0000);
	ck_assert_uint_eq(img.flags, 0xa);
	ck_assert(!img.big_endian);
}
END_TEST

START_TEST(test_parse_rejects)
{
	uint8_t h[64];
	struct arm64_image img;
	char err[160];

	memcpy(h, debian_hdr, 64);
	h[59] = 0x65; /* "ARMe" */
	err[0] = '\0';
	ck_assert_int_eq(boot_parse_image(h, 64, &img, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "magic") && strstr(err, "0x654d5241"), "err: %s", err);

	memcpy(h, debian_hdr, 64);
	h[24] |= 1; /* flags bit 0: big-endian kernel */
	err[0] = '\0';
	ck_assert_int_eq(boot_parse_image(h, 64, &img, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "big-endian") != NULL, "err: %s", err);
	ck_assert(img.big_endian);

	err[0] = '\0';
	ck_assert_int_eq(boot_parse_image(debian_hdr, 63, &img, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "truncated") != NULL, "err: %s", err);
	ck_assert_int_eq(boot_parse_image(debian_hdr, 0, &img, err, sizeof(err)), -EINVAL);

	memcpy(h, debian_hdr, 64);
	put_le64(h + 8, 0x40000000); /* text_offset beyond any 2 MiB base */
	ck_assert_int_eq(boot_parse_image(h, 64, &img, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_parse_pre_3_17)
{
	uint8_t h[64];
	struct arm64_image img;

	/* image_size 0: text_offset has no defined endianness and means 0x80000. */
	memcpy(h, debian_hdr, 64);
	put_le64(h + 8, 0x0000080000000000ull);
	put_le64(h + 16, 0);
	put_le64(h + 24, 0);
	ck_assert_int_eq(boot_parse_image(h, 64, &img, NULL, 0), 0);
	ck_assert_uint_eq(img.text_offset, 0x80000);
	ck_assert_uint_eq(img.image_size, 0);
	ck_assert(!img.big_endian);
}
END_TEST

static void load_ok(struct guest_ram *ram, const struct boot_params *p, struct boot_layout *l)
{
	char err[512] = "";
	int r = boot_load(ram, p, l, err, sizeof(err));

	ck_assert_msg(r == 0, "boot_load: %d %s", r, err);
}

START_TEST(test_load_image_initrd_dtb)
{
	const size_t klen = 3 * MiB + 12345, ilen = 5 * MiB + 777;
	const uint64_t image_size = 6 * MiB; /* file + BSS */
	uint8_t *k = make_image(klen, 0, image_size, 0xa);
	uint8_t *ird = make_image(ilen, 0, 0, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };

	ird[100] ^= 0x5a; /* not an Image, just bytes */
	p.kernel = write_file("Image", k, klen);
	p.initrd = write_file("initrd", ird, ilen);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 256 * MiB), 0);
	load_ok(&ram, &p, &l);

	check_linux_layout(&ram, &l, 0, image_size);
	ck_assert_uint_eq(l.kernel_start, RAM_BASE);
	ck_assert_mem_eq(ram_ptr(&ram, l.kernel_start, klen), k, klen);
	ck_assert_uint_eq(l.initrd_end - l.initrd_start, ilen);
	ck_assert_mem_eq(ram_ptr(&ram, l.initrd_start, ilen), ird, ilen);
	ram_free(&ram);
	free(k);
	free(ird);
}
END_TEST

START_TEST(test_load_unaligned_ram_text_offset)
{
	/* RAM starting off a 2 MiB boundary, an Image with a nonzero text_offset. */
	const uint64_t base = RAM_BASE + 0x10000, text_offset = 0x80000;
	const size_t klen = 1 * MiB;
	uint8_t *k = make_image(klen, text_offset, 2 * MiB, 0x2);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };

	p.kernel = write_file("Image", k, klen);
	ck_assert_int_eq(ram_alloc(&ram, base, 64 * MiB), 0);
	load_ok(&ram, &p, &l);
	check_linux_layout(&ram, &l, text_offset, 2 * MiB);
	ck_assert_uint_eq(l.kernel_start, RAM_BASE + SZ_2M + text_offset);
	ck_assert_mem_eq(ram_ptr(&ram, l.kernel_start, klen), k, klen);
	ck_assert_uint_eq(l.initrd_end, 0);
	ram_free(&ram);
	free(k);
}
END_TEST

START_TEST(test_load_gzip_identical)
{
	const size_t klen = 4 * MiB + 4321;
	uint8_t *k = make_image(klen, 0, 8 * MiB, 0xa);
	struct guest_ram r1, r2;
	struct boot_layout l1, l2;
	struct boot_params p = { .format = BOOT_LINUX };

	ck_assert_int_eq(ram_alloc(&r1, RAM_BASE, 128 * MiB), 0);
	ck_assert_int_eq(ram_alloc(&r2, RAM_BASE, 128 * MiB), 0);
	p.kernel = write_file("Image", k, klen);
	load_ok(&r1, &p, &l1);
	p.kernel = write_gzip("Image.gz", k, klen);
	load_ok(&r2, &p, &l2);

	ck_assert_uint_eq(l1.kernel_start, l2.kernel_start);
	ck_assert_uint_eq(l1.kernel_end, l2.kernel_end);
	ck_assert_uint_eq(l1.dtb_addr, l2.dtb_addr);
	check_linux_layout(&r2, &l2, 0, 8 * MiB);
	ck_assert_mem_eq(ram_ptr(&r2, l2.kernel_start, klen), k, klen);
	/* Nothing past the decompressed end was touched. */
	ck_assert_uint_eq(*(uint8_t *)ram_ptr(&r2, l2.kernel_start + klen, 1), 0);
	ram_free(&r1);
	ram_free(&r2);
	free(k);
}
END_TEST

START_TEST(test_load_gzip_corrupt)
{
	const size_t klen = 1 * MiB;
	uint8_t *k = make_image(klen, 0, 2 * MiB, 0xa), *buf;
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };
	char err[512] = "";
	FILE *f;
	long n;

	p.kernel = write_gzip("Image.gz", k, klen);
	f = fopen(p.kernel, "rb");
	ck_assert_ptr_nonnull(f);
	buf = malloc(klen);
	n = (long)fread(buf, 1, klen, f);
	fclose(f);
	ck_assert_int_gt(n, 100);
	/* Cut the stream in half: the inflater runs dry before its end. */
	p.kernel = write_file("cut.gz", buf, (size_t)n / 2);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 64 * MiB), 0);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "cut.gz") != NULL, "err: %s", err);
	ram_free(&ram);
	free(buf);
	free(k);
}
END_TEST

START_TEST(test_load_gzip_bomb_bounded)
{
	/* 64 MiB of Image that deflates to a few KiB, into 16 MiB of RAM. */
	const size_t klen = 64 * MiB;
	uint8_t *k = calloc(1, klen);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };
	char err[512] = "";

	ck_assert_ptr_nonnull(k);
	put_le64(k + 16, 2 * MiB);
	memcpy(k + 56, "ARM\x64", 4);
	p.kernel = write_gzip("bomb.gz", k, klen);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 16 * MiB), 0);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "bomb.gz") && strstr(err, "16 MiB"), "err: %s", err);
	ram_free(&ram);
	free(k);
}
END_TEST

/* "does not fit in X MiB of RAM: about Y MiB are needed": the numbers. */
static void needed_mib(const char *err, unsigned long long *x, unsigned long long *y)
{
	const char *m = strstr(err, " does not fit in ");

	ck_assert_msg(m && sscanf(m, " does not fit in %llu MiB of RAM: about %llu MiB are needed",
				  x, y) == 2,
		      "err: %s", err);
}

START_TEST(test_load_huge_image_size)
{
	/* An image_size near 2^64 (fuzz_boot): the estimate of the RAM needed
	 * wrapped and the message said "does not fit in 16 MiB of RAM: about 2
	 * MiB are needed".  It must say more than the RAM there is. */
	uint8_t *k = make_image(4096, 0, 0xffffffffffcf000aull & ~0xfffull, 0xa);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };
	unsigned long long x, y;
	char err[512] = "";

	p.kernel = write_file("Image", k, 4096);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 16 * MiB), 0);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -E2BIG);
	needed_mib(err, &x, &y);
	ck_assert_uint_eq(x, 16);
	ck_assert_msg(y > x, "err: %s", err);
	ram_free(&ram);
	free(k);
}
END_TEST

START_TEST(test_load_too_small)
{
	const size_t klen = 2 * MiB;
	uint8_t *k = make_image(klen, 0, 20 * MiB, 0xa);
	uint8_t *ird = make_image(12 * MiB, 0, 0, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };
	char err[512] = "";

	/* The file fits, but image_size (its BSS) does not. */
	p.kernel = write_file("Image", k, klen);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 16 * MiB), 0);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, p.kernel) && strstr(err, "16 MiB") && strstr(err, "MiB are needed"),
		      "err: %s", err);
	/* Refused before copying: guest RAM is untouched. */
	ck_assert_uint_eq(*(uint8_t *)ram_ptr(&ram, RAM_BASE + 100, 1), 0);
	ram_free(&ram);

	/* The kernel fits, the initrd does not; the message names the initrd. */
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 32 * MiB), 0);
	p.initrd = write_file("initrd.img", ird, 12 * MiB);
	err[0] = '\0';
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "initrd.img") != NULL, "err: %s", err);
	ram_free(&ram);

	/* And with enough RAM for everything it loads. */
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 48 * MiB), 0);
	load_ok(&ram, &p, &l);
	check_linux_layout(&ram, &l, 0, 20 * MiB);
	ram_free(&ram);
	free(k);
	free(ird);
}
END_TEST

START_TEST(test_load_pre_3_17)
{
	const size_t klen = 3 * MiB;
	uint8_t *k = make_image(klen, 0, 0, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };

	p.kernel = write_file("Image-3.16", k, klen);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 128 * MiB), 0);
	load_ok(&ram, &p, &l);
	ck_assert_uint_eq(l.kernel_start, RAM_BASE + 0x80000);
	/* No image_size: the file and some room for BSS stay reserved. */
	ck_assert_uint_gt(l.kernel_end - l.kernel_start, klen);
	check_linux_layout(&ram, &l, 0x80000, l.kernel_end - l.kernel_start);
	ck_assert_mem_eq(ram_ptr(&ram, l.kernel_start, klen), k, klen);
	ram_free(&ram);
	free(k);
}
END_TEST

START_TEST(test_load_not_an_image)
{
	uint8_t junk[4096];
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };
	char err[512] = "";

	memset(junk, 0xaa, sizeof(junk));
	p.kernel = write_file("firmware.bin", junk, sizeof(junk));
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 16 * MiB), 0);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "firmware.bin") && strstr(err, "0xaaaaaaaa") &&
			      strstr(err, "format = raw"),
		      "err: %s", err);

	/* A CONFIG_EFI_ZBOOT kernel: "MZ", then "zimg", then a compressed payload. */
	memcpy(junk, "MZ\0\0zimg", 8);
	p.kernel = write_file("vmlinuz.efi", junk, sizeof(junk));
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "vmlinuz.efi") && strstr(err, "zboot"), "err: %s", err);

	memset(junk, 0xaa, sizeof(junk));
	p.kernel = write_file("tiny", junk, 10);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "truncated") != NULL, "err: %s", err);
	ram_free(&ram);
}
END_TEST

START_TEST(test_load_missing)
{
	uint8_t *k = make_image(4096, 0, 2 * MiB, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX, .kernel = "/nonexistent/avmm/Image" };
	char err[512] = "";

	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 16 * MiB), 0);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "/nonexistent/avmm/Image") != NULL, "err: %s", err);

	p.kernel = write_file("Image", k, 4096);
	p.initrd = "/nonexistent/avmm/initrd";
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "/nonexistent/avmm/initrd") != NULL, "err: %s", err);

	p.format = BOOT_RAW;
	p.kernel = "/nonexistent/avmm/raw.bin";
	p.initrd = NULL;
	p.raw_load = RAM_BASE;
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -ENOENT);
	ram_free(&ram);
	free(k);
}
END_TEST

/*
 * RAM under a MiB (fuzz_boot): both sizes rounded up to 1 MiB, and the
 * message said "does not fit in 1 MiB of RAM: about 1 MiB are needed".
 */
START_TEST(test_no_fit_small_ram_in_kib)
{
	const size_t len = 20000;
	uint8_t *b = make_image(len, 0, 0, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_RAW };
	char err[512] = "";

	p.kernel = write_file("raw.bin", b, len);
	p.raw_load = RAM_BASE;
	p.raw_entry = RAM_BASE;
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 0x4000), 0);
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -E2BIG);
	/* 20000 bytes are 19.5 KiB: about 20 KiB needed, 16 KiB there. */
	ck_assert_msg(strstr(err, "does not fit in 16 KiB of RAM: about 20 KiB are needed"),
		      "err: %s", err);
	ram_free(&ram);
	free(b);
}
END_TEST

START_TEST(test_load_raw)
{
	const size_t len = 100000;
	uint8_t *b = make_image(len, 0, 0, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_RAW };

	memset(b + 56, 0, 4); /* no Image magic: raw must not care */
	p.kernel = write_file("raw.bin", b, len);
	p.raw_load = RAM_BASE + 0x80000;
	p.raw_entry = RAM_BASE + 0x80040;
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 8 * MiB), 0);
	load_ok(&ram, &p, &l);
	ck_assert_uint_eq(l.entry, RAM_BASE + 0x80040);
	ck_assert_uint_eq(l.kernel_start, RAM_BASE + 0x80000);
	ck_assert_uint_eq(l.kernel_end, RAM_BASE + 0x80000 + len);
	ck_assert_mem_eq(ram_ptr(&ram, p.raw_load, len), b, len);
	ck_assert_uint_eq(l.dtb_addr % SZ_2M, 0);
	ck_assert(in_ram(&ram, l.dtb_addr, l.dtb_addr + DTB_MAX_SIZE));
	ck_assert(!overlap(l.dtb_addr, l.dtb_addr + DTB_MAX_SIZE, l.kernel_start, l.kernel_end));
	ram_free(&ram);

	/* An image in the top 2 MiB pushes the DTB slot below it. */
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 8 * MiB), 0);
	p.raw_load = RAM_BASE + 7 * MiB;
	load_ok(&ram, &p, &l);
	ck_assert_uint_eq(l.dtb_addr, RAM_BASE + 4 * MiB);
	ram_free(&ram);
	free(b);
}
END_TEST

START_TEST(test_load_raw_outside_ram)
{
	const size_t len = 100000;
	uint8_t *b = make_image(len, 0, 0, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_RAW };
	char err[512] = "";

	p.kernel = write_file("raw.bin", b, len);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 8 * MiB), 0);

	p.raw_load = 0x1000; /* below RAM */
	ck_assert_int_lt(boot_load(&ram, &p, &l, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "raw.bin") && strstr(err, "outside RAM"), "err: %s", err);

	p.raw_load = RAM_BASE + 8 * MiB; /* just past its end */
	ck_assert_int_lt(boot_load(&ram, &p, &l, err, sizeof(err)), 0);

	p.raw_load = RAM_BASE + 8 * MiB - len / 2; /* straddling the end */
	err[0] = '\0';
	ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "raw.bin") != NULL, "err: %s", err);
	/* Nothing was written before the check. */
	ck_assert_uint_eq(*(uint8_t *)ram_ptr(&ram, RAM_BASE + 8 * MiB - 1, 1), 0);
	ram_free(&ram);
	free(b);
}
END_TEST

START_TEST(test_write_dtb)
{
	static const uint64_t mpidr[] = { 0, 1 };
	const size_t klen = 1 * MiB, ilen = 300000;
	uint8_t *k = make_image(klen, 0, 3 * MiB, 0xa), *ird = make_image(ilen, 0, 0, 0);
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };
	struct dtb_machine m = { .ncpus = 2, .mpidr = mpidr, .ram_base = RAM_BASE,
				 .ram_size = 64 * MiB, .psci_method = "hvc",
				 .bootargs = "console=ttyAMA0" };
	char err[512] = "";
	size_t size;
	void *fdt, *big;
	const void *g;
	int len;

	p.kernel = write_file("Image", k, klen);
	p.initrd = write_file("initrd", ird, ilen);
	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 64 * MiB), 0);
	load_ok(&ram, &p, &l);
	m.initrd_start = l.initrd_start;
	m.initrd_end = l.initrd_end;
	ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), 0);
	ck_assert_int_eq(dtb_finish(fdt, &size, err, sizeof(err)), 0);
	ck_assert_int_eq(boot_write_dtb(&ram, &l, fdt, size, err, sizeof(err)), 0);

	/* What the guest sees at x0 is a valid tree pointing at its initrd. */
	g = ram_ptr(&ram, l.dtb_addr, size);
	ck_assert_int_eq(fdt_check_full(g, size), 0);
	/* Properties are only 4-byte aligned: fdt64_ld, not a cast. */
	ck_assert_uint_eq(fdt64_ld(fdt_getprop(g, fdt_path_offset(g, "/chosen"),
					       "linux,initrd-start", &len)),
			  l.initrd_start);
	ck_assert_int_eq(len, 8);
	ck_assert_mem_eq(ram_ptr(&ram, l.initrd_start, ilen), ird, ilen);

	big = calloc(1, DTB_MAX_SIZE + 8);
	ck_assert_int_eq(boot_write_dtb(&ram, &l, big, DTB_MAX_SIZE + 8, err, sizeof(err)), -E2BIG);
	free(big);
	free(fdt);
	ram_free(&ram);
	free(k);
	free(ird);
}
END_TEST

/* The RAM sizes in a "does not fit" message: have < need, whatever image_size says. */
START_TEST(test_load_hostile_image_size)
{
	static const uint64_t sizes[] = { 0xfffffffffff00000ull, UINT64_MAX, 1ull << 63,
					  UINT64_MAX - 0x7fffff };
	const size_t klen = 1 * MiB;
	struct guest_ram ram;
	struct boot_layout l;
	struct boot_params p = { .format = BOOT_LINUX };
	char err[512];
	size_t i;

	ck_assert_int_eq(ram_alloc(&ram, RAM_BASE, 64 * MiB), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *k = make_image(klen, 0, sizes[i], 0xa);
		unsigned long long have = 0, need = 0;
		const char *at;

		p.kernel = write_file("Image", k, klen);
		err[0] = '\0';
		ck_assert_int_eq(boot_load(&ram, &p, &l, err, sizeof(err)), -E2BIG);
		at = strstr(err, "does not fit in ");
		ck_assert_msg(at && sscanf(at, "does not fit in %llu MiB of RAM: about %llu MiB",
					   &have, &need) == 2, "err: %s", err);
		ck_assert_uint_eq(have, 64);
		ck_assert_msg(need > have, "image_size 0x%llx: %s", (unsigned long long)sizes[i],
			      err);
		free(k);
	}
	ram_free(&ram);
}
END_TEST

static Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *parse = tcase_create("parse"), *load = tcase_create("load");

	tcase_add_test(parse, test_parse_debian_header);
	tcase_add_test(parse, test_parse_rejects);
	tcase_add_test(parse, test_parse_pre_3_17);
	suite_add_tcase(s, parse);

	tcase_add_checked_fixture(load, setup_dir, teardown_dir);
	tcase_set_timeout(load, 30);
	tcase_add_test(load, test_load_image_initrd_dtb);
	tcase_add_test(load, test_load_unaligned_ram_text_offset);
	tcase_add_test(load, test_load_gzip_identical);
	tcase_add_test(load, test_load_gzip_corrupt);
	tcase_add_test(load, test_load_gzip_bomb_bounded);
	tcase_add_test(load, test_load_too_small);
	tcase_add_test(load, test_load_hostile_image_size);
	tcase_add_test(load, test_load_pre_3_17);
	tcase_add_test(load, test_load_not_an_image);
	tcase_add_test(load, test_load_missing);
	tcase_add_test(load, test_load_raw);
	tcase_add_test(load, test_no_fit_small_ram_in_kib);
	tcase_add_test(load, test_load_raw_outside_ram);
	tcase_add_test(load, test_write_dtb);
	tcase_add_test(load, test_load_huge_image_size);
	suite_add_tcase(s, load);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(boot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
