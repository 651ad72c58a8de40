/* SPDX-License-Identifier: MIT */
/*
 * Guest image loading, after Linux Documentation/arch/arm64/booting.rst:
 *
 *  - the Image goes text_offset bytes above a 2 MiB-aligned base, and
 *    image_size bytes from its start belong to the kernel (BSS included);
 *  - without flag bit 3 the base must be as close to the start of RAM as
 *    possible; with it anywhere.  Both are met by the lowest base;
 *  - the initrd must lie in the 1 GiB-aligned window of at most 32 GiB that
 *    also covers the kernel;
 *  - the DTB is 8-byte aligned, at most 2 MiB, and (older kernels) must not
 *    cross a 2 MiB boundary: a whole 2 MiB-aligned slot satisfies all of it.
 *
 * The kernel goes low and the DTB and initrd high, so everything between is
 * free for the kernel (booting.rst asks exactly that for image_size == 0).
 */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <avmm/avmm.h>

#include "dtb.h"
#include "log.h"
#include "ram.h"

#define SZ_64K 0x10000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull
#define SZ_32G (32ull * SZ_1G)
#define MiB (1024ull * 1024ull)

#define IMAGE_HDR_SIZE 64
#define IMAGE_FLAG_BE (1ull << 0)
/* Pre-3.17 Images (image_size == 0) were linked at this offset. */
#define IMAGE_LEGACY_TEXT_OFFSET 0x80000ull
/*
 * And their BSS and early page tables were not declared: reserve this much
 * beyond the file.  They were a few hundred KiB then; the kernel gets all
 * memory up to the initrd anyway, this only sets the minimum that must fit.
 */
#define IMAGE_LEGACY_SLACK (8ull * MiB)
/* The initrd starts on a page boundary for any of the 4/16/64 KiB granules. */
#define INITRD_ALIGN SZ_64K
/* gzread() takes an unsigned and returns an int. */
#define GZ_CHUNK (1u << 30)

static const char raw_hint[] = "for a raw binary set format = raw in [boot]";

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static uint64_t mib_up(uint64_t bytes)
{
	return bytes / MiB + (bytes % MiB != 0);
}

/* Sums for messages, from header fields the image controls: never wrap. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_align_up(uint64_t v, uint64_t a)
{
	return v > UINT64_MAX - (a - 1) ? UINT64_MAX : align_up(v, a);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

int boot_parse_image(const void *buf, size_t len, struct arm64_image *img, char *err,
		     size_t errlen)
{
	const uint8_t *p = buf;
	uint32_t magic;

	if (!buf || !img)
		return -EINVAL;
	memset(img, 0, sizeof(*img));
	if (len < IMAGE_HDR_SIZE) {
		log_errbuf(err, errlen, "truncated: %zu bytes, an arm64 Image header is %d", len,
			    IMAGE_HDR_SIZE);
		return -EINVAL;
	}
	magic = get_le32(p + 56);
	if (magic != ARM64_IMAGE_MAGIC) {
		log_errbuf(err, errlen, "bad magic 0x%08x at offset 56, expected 0x%08x \"ARM\\x64\"",
			    magic, ARM64_IMAGE_MAGIC);
		return -EINVAL;
	}
	img->text_offset = get_le64(p + 8);
	img->image_size = get_le64(p + 16);
	img->flags = get_le64(p + 24);
	if (!img->image_size) {
		/* Before 3.17 text_offset had no defined endianness: 0x80000 it was. */
		img->text_offset = IMAGE_LEGACY_TEXT_OFFSET;
		img->flags = 0;
	}
	img->big_endian = img->flags & IMAGE_FLAG_BE;
	if (img->big_endian) {
		log_errbuf(err, errlen, "big-endian kernel (flags 0x%llx); only little-endian guests are supported",
			    (unsigned long long)img->flags);
		return -EINVAL;
	}
	/* Linux never used more than a 2 MiB-aligned base allows; larger is junk. */
	if (img->text_offset >= SZ_2M) {
		log_errbuf(err, errlen, "text_offset 0x%llx is not below 2 MiB",
			    (unsigned long long)img->text_offset);
		return -EINVAL;
	}
	return 0;
}

struct range {
	uint64_t start, end; /* [start, end); empty when end == start */
};

static bool range_overlaps(const struct range *r, uint64_t start, uint64_t size)
{
	return r->end > r->start && start < r->end && r->start < start + size;
}

/*
 * The highest `align`-aligned [*addr, *addr + size) inside [lo, hi) that
 * overlaps none of busy[].  Each step moves strictly down, so it ends.
 */
static int place_high(uint64_t lo, uint64_t hi, uint64_t size, uint64_t align,
		      const struct range *busy, unsigned nbusy, uint64_t *addr)
{
	uint64_t a;
	unsigned i;

	if (!size || hi < lo || size > hi - lo)
		return -E2BIG;
	a = align_down(hi - size, align);
	for (;;) {
		if (a < lo)
			return -E2BIG;
		for (i = 0; i < nbusy; i++)
			if (range_overlaps(&busy[i], a, size))
				break;
		if (i == nbusy) {
			*addr = a;
			return 0;
		}
		if (busy[i].start < lo || busy[i].start - lo < size)
			return -E2BIG;
		a = align_down(busy[i].start - size, align);
	}
}

static int open_file(const char *what, const char *path, struct stat *st, char *err,
		     size_t errlen)
{
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		log_errbuf(err, errlen, "%s %s: %s; check the path in [boot]", what, path,
			    strerror(e));
		return -e;
	}
	if (fstat(fd, st) < 0) {
		e = errno;
		log_errbuf(err, errlen, "%s %s: %s", what, path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		log_errbuf(err, errlen, "%s %s: not a regular file", what, path);
		close(fd);
		return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
	}
	return fd;
}

/* Read exactly len bytes from fd into dst. */
static int read_full(int fd, void *dst, size_t len, const char *what, const char *path,
		     char *err, size_t errlen)
{
	uint8_t *p = dst;
	ssize_t n;

	while (len) {
		n = read(fd, p, len > GZ_CHUNK ? GZ_CHUNK : len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			log_errbuf(err, errlen, "%s %s: read: %s", what, path, strerror(e));
			return -e;
		}
		if (n == 0) {
			log_errbuf(err, errlen, "%s %s: file shrank while being loaded", what, path);
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* gzread() until len bytes or end of stream; returns the count or -errno. */
static int64_t gz_read_upto(gzFile gz, void *dst, uint64_t len, const char *path, char *err,
			    size_t errlen)
{
	uint8_t *p = dst;
	uint64_t got = 0;
	int n, zerr;

	while (got < len) {
		unsigned chunk = len - got > GZ_CHUNK ? GZ_CHUNK : (unsigned)(len - got);

		n = gzread(gz, p + got, chunk);
		if (n < 0)
			break;
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	/* A truncated or corrupt stream shows only here, not as a short read. */
	{
		const char *msg = gzerror(gz, &zerr);

		if (zerr != Z_OK && zerr != Z_STREAM_END) {
			log_errbuf(err, errlen, "kernel %s: %s: %s", path,
				    zerr == Z_ERRNO ? "read error" : "corrupt gzip data",
				    zerr == Z_ERRNO ? strerror(errno) : msg);
			return zerr == Z_ERRNO ? -EIO : -EINVAL;
		}
	}
	return (int64_t)got;
}

/* The RAM the layout needs, with the alignment waste, for error messages. */
static uint64_t ram_needed(const struct guest_ram *ram, uint64_t kernel_start,
			   uint64_t kernel_size, uint64_t initrd_size)
{
	uint64_t kernel_end = sat_align_up(sat_add(kernel_start, kernel_size), SZ_2M);

	return sat_add(sat_add(kernel_end - ram->base, sat_align_up(initrd_size, SZ_2M)),
		       2 * (uint64_t)DTB_MAX_SIZE);
}

static int no_fit(const char *what, const char *path, const struct guest_ram *ram,
		  uint64_t needed, char *err, size_t errlen)
{
	const char *unit = "MiB";
	uint64_t have = mib_up(ram->size), need = mib_up(needed);

	/* Where MiB cannot tell them apart (RAM under a MiB, say), KiB can: RAM is 16K-aligned. */
	if (need <= have) {
		unit = "KiB";
		have = ram->size / 1024 + (ram->size % 1024 != 0);
		need = needed / 1024 + (needed % 1024 != 0);
	}
	log_errbuf(err, errlen,
		    "%s %s does not fit in %llu %s of RAM: about %llu %s are needed; raise memory in "
		    "[machine]",
		    what, path, (unsigned long long)have, unit, (unsigned long long)need, unit);
	return -E2BIG;
}

/*
 * The DTB slot and the initrd, both as high as possible in [lo, hi) and clear
 * of the kernel (or raw image) at busy[0].
 */
static int place_initrd_dtb(struct guest_ram *ram, const struct boot_params *p, uint64_t lo,
			    uint64_t hi, uint64_t kernel_size, struct boot_layout *out,
			    char *err, size_t errlen)
{
	struct range busy[2] = { { out->kernel_start, out->kernel_end } };
	struct stat st;
	uint64_t size = 0, addr;
	void *dst;
	int fd = -1, r;

	if (p->initrd) {
		fd = open_file("initrd", p->initrd, &st, err, errlen);
		if (fd < 0)
			return fd;
		size = (uint64_t)st.st_size;
		if (!size) {
			log_errbuf(err, errlen, "initrd %s: empty file", p->initrd);
			close(fd);
			return -EINVAL;
		}
	}

	if (place_high(lo, hi, DTB_MAX_SIZE, SZ_2M, busy, 1, &out->dtb_addr) < 0) {
		r = no_fit("device tree for", p->kernel, ram,
			   ram_needed(ram, out->kernel_start, kernel_size, size), err, errlen);
		goto out;
	}
	busy[1] = (struct range){ out->dtb_addr, out->dtb_addr + DTB_MAX_SIZE };
	r = 0;
	if (!p->initrd)
		goto out;

	if (place_high(lo, hi, size, INITRD_ALIGN, busy, 2, &addr) < 0) {
		r = no_fit("initrd", p->initrd, ram,
			   ram_needed(ram, out->kernel_start, kernel_size, size), err, errlen);
		goto out;
	}
	dst = ram_ptr(ram, addr, size);
	if (!dst) { /* cannot happen: [lo, hi) lies in RAM */
		r = -EFAULT;
		goto out;
	}
	r = read_full(fd, dst, (size_t)size, "initrd", p->initrd, err, errlen);
	if (r < 0)
		goto out;
	out->initrd_start = addr;
	out->initrd_end = addr + size;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int load_linux(struct guest_ram *ram, const struct boot_params *p,
		      struct boot_layout *out, char *err, size_t errlen)
{
	uint64_t ram_end = ram->base + ram->size, base, start, room, reserve, file_len, top;
	uint8_t hdr[IMAGE_HDR_SIZE], extra;
	struct arm64_image img;
	char why[160];
	struct stat st;
	bool gzipped;
	int64_t got;
	gzFile gz;
	int fd, r;

	fd = open_file("kernel", p->kernel, &st, err, errlen);
	if (fd < 0)
		return fd;
	gzipped = pread(fd, hdr, 2, 0) == 2 && hdr[0] == 0x1f && hdr[1] == 0x8b;
	/* gzread() passes an uncompressed file through unchanged. */
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		log_errbuf(err, errlen, "kernel %s: out of memory", p->kernel);
		return -ENOMEM;
	}
	gzbuffer(gz, 256 * 1024);

	got = gz_read_upto(gz, hdr, sizeof(hdr), p->kernel, err, errlen);
	if (got < 0) {
		r = (int)got;
		goto out;
	}
	r = boot_parse_image(hdr, (size_t)got, &img, why, sizeof(why));
	if (r < 0 && got >= 8 && !memcmp(hdr + 4, "zimg", 4)) {
		/* CONFIG_EFI_ZBOOT: the Image is inside, but only EFI firmware unpacks it. */
		log_errbuf(err, errlen,
			    "kernel %s: an EFI zboot image (vmlinuz.efi), not a bare arm64 Image; use the kernel's Image or Image.gz instead",
			    p->kernel);
		goto out;
	}
	if (r < 0) {
		log_errbuf(err, errlen, "kernel %s: not an arm64 Linux Image%s (%s); %s", p->kernel,
			    gzipped ? " inside the gzip stream" : "", why, raw_hint);
		goto out;
	}

	base = align_up(ram->base, SZ_2M);
	start = base + img.text_offset;
	if (base < ram->base || start < base || start >= ram_end ||
	    ram_end - start < IMAGE_HDR_SIZE) {
		r = no_fit("kernel", p->kernel, ram,
			   ram_needed(ram, start, img.image_size ? img.image_size : (uint64_t)st.st_size, 0),
			   err, errlen);
		goto out;
	}

	/* Refuse early what is known not to fit, before copying anything. */
	reserve = img.image_size;
	if (!gzipped && (uint64_t)st.st_size > reserve)
		reserve = (uint64_t)st.st_size;
	if (reserve > ram_end - start) {
		r = no_fit("kernel", p->kernel, ram, ram_needed(ram, start, reserve, 0), err, errlen);
		goto out;
	}

	/* Inflate (or copy) straight into guest RAM, bounded by its end. */
	memcpy(ram_ptr(ram, start, IMAGE_HDR_SIZE), hdr, IMAGE_HDR_SIZE);
	room = ram_end - start - IMAGE_HDR_SIZE;
	got = room ? gz_read_upto(gz, ram_ptr(ram, start + IMAGE_HDR_SIZE, room), room, p->kernel,
				  err, errlen)
		   : 0;
	if (got < 0) {
		r = (int)got;
		goto out;
	}
	if ((uint64_t)got == room &&
	    (r = (int)gz_read_upto(gz, &extra, 1, p->kernel, err, errlen)) != 0) {
		if (r < 0)
			goto out;
		/* Only a lower bound is known without inflating the rest. */
		r = no_fit(gzipped ? "decompressed kernel" : "kernel", p->kernel, ram,
			   ram_needed(ram, start, room + IMAGE_HDR_SIZE + 1, 0), err, errlen);
		goto out;
	}
	file_len = IMAGE_HDR_SIZE + (uint64_t)got;

	/* image_size counts the BSS that follows the file; never trust it below. */
	if (img.image_size)
		reserve = img.image_size > file_len ? img.image_size : file_len;
	else
		reserve = align_up(file_len, SZ_2M) + IMAGE_LEGACY_SLACK;
	if (reserve > ram_end - start) {
		r = no_fit("kernel", p->kernel, ram, ram_needed(ram, start, reserve, 0), err, errlen);
		goto out;
	}
	out->entry = start;
	out->kernel_start = start;
	out->kernel_end = start + reserve;

	/* The initrd's 32 GiB window starts at the kernel's 1 GiB-aligned base. */
	top = align_down(start, SZ_1G);
	top = ram_end - top > SZ_32G ? top + SZ_32G : ram_end;
	r = place_initrd_dtb(ram, p, out->kernel_end, top, reserve, out, err, errlen);
out:
	gzclose(gz);
	return r;
}

static int load_raw(struct guest_ram *ram, const struct boot_params *p, struct boot_layout *out,
		    char *err, size_t errlen)
{
	uint64_t ram_end = ram->base + ram->size, size;
	struct stat st;
	void *dst;
	int fd, r;

	fd = open_file("kernel", p->kernel, &st, err, errlen);
	if (fd < 0)
		return fd;
	size = (uint64_t)st.st_size;
	if (!size) {
		log_errbuf(err, errlen, "kernel %s: empty file", p->kernel);
		r = -EINVAL;
		goto out;
	}
	if (p->raw_load < ram->base || p->raw_load >= ram_end) {
		log_errbuf(err, errlen,
			    "kernel %s: raw load address 0x%llx is outside RAM [0x%llx, 0x%llx); set load-address in [boot] inside RAM",
			    p->kernel, (unsigned long long)p->raw_load,
			    (unsigned long long)ram->base, (unsigned long long)ram_end);
		r = -EINVAL;
		goto out;
	}
	dst = ram_ptr(ram, p->raw_load, size);
	if (!dst) {
		r = no_fit("kernel", p->kernel, ram, p->raw_load - ram->base + size, err, errlen);
		goto out;
	}
	r = read_full(fd, dst, (size_t)size, "kernel", p->kernel, err, errlen);
	if (r < 0)
		goto out;
	out->entry = p->raw_entry;
	out->kernel_start = p->raw_load;
	out->kernel_end = p->raw_load + size;
	/* A raw guest may ignore the DTB, but it gets one like Linux does. */
	r = place_initrd_dtb(ram, p, ram->base, ram_end, size, out, err, errlen);
out:
	close(fd);
	return r;
}

int boot_load(struct guest_ram *ram, const struct boot_params *p, struct boot_layout *out,
	      char *err, size_t errlen)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!ram || !ram->host || !ram->size || !p || !p->kernel) {
		log_errbuf(err, errlen, "boot: no RAM or no kernel given");
		return -EINVAL;
	}
	switch (p->format) {
	case BOOT_LINUX:
		return load_linux(ram, p, out, err, errlen);
	case BOOT_RAW:
		return load_raw(ram, p, out, err, errlen);
	}
	log_errbuf(err, errlen, "boot: unknown image format %d", (int)p->format);
	return -EINVAL;
}

int boot_write_dtb(struct guest_ram *ram, const struct boot_layout *l, const void *dtb,
		   size_t size, char *err, size_t errlen)
{
	void *dst;

	if (!ram || !l || !dtb || !size) {
		log_errbuf(err, errlen, "device tree: nothing to write");
		return -EINVAL;
	}
	if (size > DTB_MAX_SIZE) {
		log_errbuf(err, errlen, "device tree of %zu bytes exceeds its %u-byte slot", size,
			    DTB_MAX_SIZE);
		return -E2BIG;
	}
	dst = ram_ptr(ram, l->dtb_addr, size);
	if (!dst || l->dtb_addr % 8) {
		log_errbuf(err, errlen, "device tree slot 0x%llx is not 8-byte aligned RAM",
			    (unsigned long long)l->dtb_addr);
		return -EFAULT;
	}
	memcpy(dst, dtb, size);
	return 0;
}
