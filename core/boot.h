/* SPDX-License-Identifier: MIT */
/*
 * Guest image loading: Linux arm64 Image (optionally gzip-compressed), raw
 * binaries, the initrd, and the DTB slot; all placed without overlaps inside
 * RAM following Documentation/arch/arm64/booting.rst.
 */
#ifndef AVMM_CORE_BOOT_H
#define AVMM_CORE_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_ram;

enum boot_format {
	BOOT_LINUX = 0,
	BOOT_RAW = 1,
};

/* The parsed 64-byte arm64 Image header. */
struct arm64_image {
	uint64_t text_offset;
	uint64_t image_size; /* 0 in pre-3.17 kernels: use the file size */
	uint64_t flags;
	bool big_endian;
};

#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64" at offset 56 */

/* -EINVAL (err says why) unless buf holds a valid little-endian Image header. */
int boot_parse_image(const void *buf, size_t len, struct arm64_image *img, char *err,
		     size_t errlen);

struct boot_params {
	enum boot_format format;
	const char *kernel;  /* path */
	const char *initrd;  /* path or NULL */
	uint64_t raw_load;   /* BOOT_RAW: guest address to load at */
	uint64_t raw_entry;  /* BOOT_RAW: entry point */
};

struct boot_layout {
	uint64_t entry;
	uint64_t kernel_start, kernel_end; /* reserved range incl. image_size */
	uint64_t initrd_start, initrd_end; /* end == 0: none */
	uint64_t dtb_addr;                 /* DTB_MAX_SIZE reserved here */
};

/*
 * Load kernel (and initrd) into RAM and reserve the DTB slot.  Errors name the
 * file and what to do (-ENOENT, -EINVAL bad header, -E2BIG does not fit RAM).
 */
int boot_load(struct guest_ram *ram, const struct boot_params *p, struct boot_layout *out,
	      char *err, size_t errlen);

/* Copy the finished DTB into its slot. */
int boot_write_dtb(struct guest_ram *ram, const struct boot_layout *l, const void *dtb,
		   size_t size, char *err, size_t errlen);

#endif
