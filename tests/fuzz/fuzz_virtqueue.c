/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (plugins/virtio-mmio/virtqueue.c) against a hostile
 * driver, in the manner of crosvm's virtqueue_fuzzer: a random queue size and
 * ring layout in 1 MiB of fake guest RAM, then the input writes descriptors,
 * ring entries and raw bytes anywhere in RAM and makes the device pop every
 * chain, read every readable byte, write every writable one (up to BUDGET
 * bytes per input: chains may overlap, so their lengths add up far past the
 * RAM) and push it back, with notification decisions in between.
 *
 * Invariants: the guest RAM is a heap block of exactly 1 MiB (ASan sees any
 * access past it); every popped segment lies in RAM, readable ones first,
 * at most `size` of them, 2^32 bytes in total; what vq_chain_read returns is
 * the bytes of the segments in order; the device changes no byte outside the
 * used area and the writable segments it wrote (checked against a shadow copy
 * of everything the driver wrote); one pop calls the host accessors a bounded
 * number of times (so it terminates); after a driver error the queue stays
 * broken.
 *
 * Input: u8 size (1 << v % 16), u8 features (bit 0 INDIRECT_DESC, bit 1
 * EVENT_IDX), u32 x3 offsets of the descriptor table, avail and used areas in
 * RAM (aligned down as the spec requires unless bit 31 is set); then
 * operations, one u8 opcode (mod 8) each:
 *   0 descriptor: u16 index, u64 addr, u32 len, u16 flags, u16 next
 *     (addr with bit 63 clear maps to RAM +- 4 KiB; len with bit 31 clear
 *     is taken mod 64 KiB)
 *   1 raw bytes: u32 offset, u8 n, n bytes
 *   2 avail ring slot: u16 slot, u16 head
 *   3 avail.idx += u8
 *   4 avail.flags u16, used_event u16
 *   5 pop: u8 count; per chain u8 (bit 0 defer the push, bits 1..7 read chunk
 *     size class) and u32 used length
 *   6 push every deferred chain; then vq_should_notify
 *   7 u8: bit 0 vq_disable_notify else vq_enable_notify; bit 1 vq_reset and
 *     vq_init again
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "virtqueue.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define RAM_END (RAM_BASE + RAM_SIZE)
#define BUDGET (1u << 20) /* bytes copied per input, to keep each run short */
#define MAX_OPS 4096u

static uint8_t *ram;     /* guest RAM, exactly RAM_SIZE on the heap */
static uint8_t *shadow;  /* what the driver (this harness) wrote */
static uint8_t *allowed; /* bytes the device may have changed */
static unsigned long accesses;
/* Pages the last run may have changed, so the next one clears only those. */
#define PAGE 4096u
#define NPAGES (RAM_SIZE / PAGE)
static bool dirty[NPAGES];

static void mark_dirty(uint64_t off, uint64_t n)
{
	for (uint64_t pg = off / PAGE; n && pg <= (off + n - 1) / PAGE; pg++)
		dirty[pg] = true;
}

static void *h_guest_ptr(struct avmm_dev *dev, uint64_t gpa, uint64_t len)
{
	accesses++;
	if (!len || gpa < RAM_BASE || gpa - RAM_BASE >= RAM_SIZE ||
	    len > RAM_SIZE - (gpa - RAM_BASE))
		return NULL;
	return ram + (gpa - RAM_BASE);
}

static int h_guest_read(struct avmm_dev *dev, uint64_t gpa, void *buf, size_t len)
{
	void *p = h_guest_ptr(dev, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

static int h_guest_write(struct avmm_dev *dev, uint64_t gpa, const void *buf, size_t len)
{
	void *p = h_guest_ptr(dev, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

static const struct avmm_host host = {
	.struct_size = sizeof(struct avmm_host),
	.abi_major = AVMM_ABI_MAJOR,
	.abi_minor = AVMM_ABI_MINOR,
	.guest_ptr = h_guest_ptr,
	.guest_read = h_guest_read,
	.guest_write = h_guest_write,
};

/* The driver's writes: to RAM and to the shadow alike. */
static void drv_write(uint64_t off, const void *p, size_t n)
{
	if (off >= RAM_SIZE)
		return;
	if (n > RAM_SIZE - off)
		n = RAM_SIZE - off;
	mark_dirty(off, n);
	memcpy(ram + off, p, n);
	memcpy(shadow + off, p, n);
}

static void drv_w16(uint64_t gpa, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	drv_write(gpa - RAM_BASE, b, 2);
}

static void allow(uint64_t gpa, uint64_t len)
{
	mark_dirty(gpa - RAM_BASE, len);
	memset(allowed + (gpa - RAM_BASE), 1, len);
}

struct state {
	struct vq vq;
	uint32_t size;
	uint64_t desc, avail, used, features;
	struct vq_seg *seg;
	struct vq_chain ch;
	uint16_t *deferred;
	unsigned ndeferred;
	uint16_t avail_idx; /* what the driver last wrote there */
	size_t budget;
};

static struct state st;

static bool in_ram(uint64_t gpa, uint64_t len)
{
	return gpa >= RAM_BASE && gpa - RAM_BASE <= RAM_SIZE && len <= RAM_END - gpa;
}

static void check_chain(const struct vq_chain *c)
{
	uint64_t rl = 0, wl = 0;

	FUZZ_CHECK(c->head < st.size);
	FUZZ_CHECK(c->nseg <= st.size && c->nseg <= c->max_seg);
	FUZZ_CHECK(c->nread <= c->nseg);
	for (unsigned i = 0; i < c->nseg; i++) {
		const struct vq_seg *s = &c->seg[i];
		FUZZ_CHECK(s->write == (i >= c->nread));
		FUZZ_CHECKF(s->len == 0 || in_ram(s->gpa, s->len), "seg %u: 0x%llx+0x%x", i,
			    (unsigned long long)s->gpa, s->len);
		*(s->write ? &wl : &rl) += s->len;
	}
	FUZZ_CHECK(rl == c->read_len && wl == c->write_len);
	FUZZ_CHECK(rl + wl <= (1ull << 32));
}

/* Read the readable part in chunks, comparing with the segments' bytes. */
static void read_all(const struct vq_chain *c, size_t chunk)
{
	static uint8_t buf[4096];
	unsigned s = 0;
	uint64_t in_seg = 0, off = 0;

	if (c->read_len > st.budget)
		return;
	st.budget -= c->read_len;
	for (;;) {
		ssize_t n = vq_chain_read(&st.vq, c, off, buf, chunk);
		FUZZ_CHECK(n >= 0 && (size_t)n <= chunk);
		FUZZ_CHECK(off + (uint64_t)n <= c->read_len);
		for (ssize_t k = 0; k < n; k++) {
			while (in_seg == c->seg[s].len) {
				s++;
				in_seg = 0;
			}
			FUZZ_CHECK(buf[k] == ram[c->seg[s].gpa - RAM_BASE + in_seg]);
			in_seg++;
		}
		off += (uint64_t)n;
		if ((size_t)n < chunk)
			break;
	}
	FUZZ_CHECK(off == c->read_len);
}

static void write_all(const struct vq_chain *c)
{
	static uint8_t buf[4096];
	uint64_t off = 0;

	if (c->write_len > st.budget)
		return;
	st.budget -= c->write_len;
	for (unsigned i = c->nread; i < c->nseg; i++)
		if (c->seg[i].len)
			allow(c->seg[i].gpa, c->seg[i].len);
	memset(buf, 0x5a, sizeof(buf));
	for (;;) {
		ssize_t n = vq_chain_write(&st.vq, c, off, buf, sizeof(buf));
		FUZZ_CHECK(n >= 0);
		off += (uint64_t)n;
		if ((size_t)n < sizeof(buf))
			break;
	}
	FUZZ_CHECK(off == c->write_len);
}

static void push(uint16_t head, uint32_t len)
{
	int ret = vq_push(&st.vq, head, len);
	FUZZ_CHECKF(ret == 0 || (st.vq.broken && ret == -EIO) || !st.vq.ready, "push %d", ret);
}

static void pop(struct fuzz_in *in)
{
	unsigned count = fuzz_u8(in) + 1u;

	for (unsigned i = 0; i < count; i++) {
		bool was_broken = st.vq.broken;
		accesses = 0;
		int ret = vq_pop(&st.vq, &st.ch);
		/* avail.idx, the ring slot, then a descriptor and a range per step. */
		FUZZ_CHECKF(accesses <= 2ul * st.size + 8, "%lu accesses", accesses);
		if (!st.vq.ready) {
			FUZZ_CHECK(ret == -ENODEV);
			return;
		}
		if (was_broken)
			FUZZ_CHECK(ret == -EIO);
		if (ret <= 0) {
			FUZZ_CHECK(ret == 0 || st.vq.broken);
			return;
		}
		check_chain(&st.ch);
		uint8_t how = fuzz_u8(in);
		uint32_t len = fuzz_u32(in);
		static const size_t chunks[] = {1, 3, 16, 512, 4096};
		/* Small chunks cross every boundary; at most ~64 calls for a big chain. */
		size_t chunk = chunks[(how >> 1) % 5];
		if (chunk < st.ch.read_len / 64)
			chunk = st.ch.read_len / 64 < 4096 ? (size_t)(st.ch.read_len / 64) : 4096;
		read_all(&st.ch, chunk);
		write_all(&st.ch);
		if ((how & 1) && st.ndeferred < st.size)
			st.deferred[st.ndeferred++] = st.ch.head;
		else
			push(st.ch.head, len);
	}
}

static bool start(void)
{
	int ret = vq_init(&st.vq, st.size, st.desc, st.avail, st.used, st.features);

	if (ret)
		return false;
	st.ndeferred = 0;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};

	if (!ram) {
		ram = malloc(RAM_SIZE);
		shadow = malloc(RAM_SIZE);
		allowed = malloc(RAM_SIZE);
		st.seg = malloc(VQ_MAX_SIZE * sizeof(*st.seg));
		st.deferred = malloc(VQ_MAX_SIZE * sizeof(*st.deferred));
		FUZZ_CHECK(ram && shadow && allowed && st.seg && st.deferred);
		memset(dirty, 1, sizeof(dirty));
	}
	/* The device wrote only inside dirty pages, or the last run had failed. */
	for (unsigned pg = 0; pg < NPAGES; pg++) {
		if (!dirty[pg])
			continue;
		memset(ram + pg * PAGE, 0, PAGE);
		memset(shadow + pg * PAGE, 0, PAGE);
		memset(allowed + pg * PAGE, 0, PAGE);
		dirty[pg] = false;
	}

	st.size = 1u << (fuzz_u8(&in) % 16);
	uint8_t f = fuzz_u8(&in);
	st.features = (f & 1 ? VQ_F_INDIRECT_DESC : 0) | (f & 2 ? VQ_F_EVENT_IDX : 0);
	uint32_t o[3];
	static const uint32_t align[3] = {16, 2, 4};
	for (unsigned i = 0; i < 3; i++) {
		o[i] = fuzz_u32(&in);
		uint32_t raw = o[i] & 0x7fffffffu;
		o[i] = o[i] >> 31 ? raw : raw & ~(align[i] - 1);
		o[i] %= (uint32_t)RAM_SIZE;
	}
	st.desc = RAM_BASE + o[0];
	st.avail = RAM_BASE + o[1];
	st.used = RAM_BASE + o[2];
	st.avail_idx = 0;
	st.budget = BUDGET;
	st.ch = (struct vq_chain){.seg = st.seg, .max_seg = VQ_MAX_SIZE};

	vq_setup(&st.vq, &host, NULL);
	if (!start())
		return 0;
	FUZZ_CHECK(in_ram(st.used, VQ_USED_AREA(st.size)));
	allow(st.used, VQ_USED_AREA(st.size));

	for (unsigned n = 0; n < MAX_OPS && fuzz_more(&in); n++) {
		switch (fuzz_u8(&in) % 8) {
		case 0: {
			uint16_t idx = fuzz_u16(&in) % st.size;
			uint64_t addr = fuzz_u64(&in);
			uint32_t len = fuzz_u32(&in);
			uint16_t flags = fuzz_u16(&in), next = fuzz_u16(&in);
			if (!(addr >> 63))
				addr = RAM_BASE - 0x1000 + addr % (RAM_SIZE + 0x2000);
			if (!(len >> 31))
				len %= 0x10000;
			uint8_t d[16];
			for (unsigned k = 0; k < 8; k++)
				d[k] = (uint8_t)(addr >> (8 * k));
			for (unsigned k = 0; k < 4; k++)
				d[8 + k] = (uint8_t)(len >> (8 * k));
			d[12] = (uint8_t)flags;
			d[13] = (uint8_t)(flags >> 8);
			d[14] = (uint8_t)next;
			d[15] = (uint8_t)(next >> 8);
			drv_write(st.desc - RAM_BASE + 16ull * idx, d, 16);
			break;
		}
		case 1: {
			uint32_t off = fuzz_u32(&in) % (uint32_t)RAM_SIZE;
			unsigned cnt = fuzz_u8(&in);
			if (cnt > in.n)
				cnt = (unsigned)in.n;
			drv_write(off, in.p, cnt);
			in.p += cnt;
			in.n -= cnt;
			break;
		}
		case 2: {
			uint16_t slot = fuzz_u16(&in) % st.size;
			drv_w16(st.avail + 4 + 2ull * slot, fuzz_u16(&in));
			break;
		}
		case 3:
			st.avail_idx = (uint16_t)(st.avail_idx + fuzz_u8(&in));
			drv_w16(st.avail + 2, st.avail_idx);
			break;
		case 4:
			drv_w16(st.avail, fuzz_u16(&in));
			drv_w16(st.avail + 4 + 2ull * st.size, fuzz_u16(&in));
			break;
		case 5:
			pop(&in);
			break;
		case 6:
			for (unsigned k = 0; k < st.ndeferred; k++)
				push(st.deferred[k], 0);
			st.ndeferred = 0;
			vq_should_notify(&st.vq);
			break;
		case 7: {
			uint8_t b = fuzz_u8(&in);
			if (b & 2) {
				vq_reset(&st.vq);
				FUZZ_CHECK(start());
			}
			if (b & 1) {
				vq_disable_notify(&st.vq);
			} else {
				int ret = vq_enable_notify(&st.vq);
				FUZZ_CHECK(ret == 0 || ret == 1 || st.vq.broken);
			}
			break;
		}
		}
	}

	/* Page by page: only the pages the device changed are looked at bytewise. */
	for (uint64_t page = 0; page < RAM_SIZE; page += PAGE) {
		if (!memcmp(ram + page, shadow + page, PAGE))
			continue;
		for (uint64_t off = page; off < page + PAGE; off++)
			FUZZ_CHECKF(ram[off] == shadow[off] || allowed[off],
				    "device changed 0x%llx, outside the used area and its "
				    "writable buffers", (unsigned long long)(RAM_BASE + off));
	}
	return 0;
}
