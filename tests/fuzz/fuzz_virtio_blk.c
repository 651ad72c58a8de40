/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk request path (plugins/virtio-mmio/blk.c, with the plugin's
 * transport and rings) against a hostile driver, over the fake host and a
 * 64 KiB raw image in /dev/shm (else /tmp): requests of every type with fuzzed sectors,
 * lengths, segment shapes and direction flags, raw descriptor and RAM
 * writes over them, kicks that run the queue and I/O workers, resets and
 * queue stops with requests popped but not run.
 *
 * Input: u8 setup (bit 0 readonly, bit 1 cache = unsafe, bit 2 INDIRECT_DESC,
 * bit 3 EVENT_IDX, bit 4 no FLUSH, bits 5..7 queue size 4 << v, 256 at most);
 * then operations, one u8 opcode (mod 6) each:
 *   0 request: u8 type (mod 8: IN OUT FLUSH GET_ID DISCARD WRITE_ZEROES,
 *     SCSI_CMD, or a raw u32), u8 sector class (bit 7: a raw u64, else
 *     v % (capacity + 4)), u8 shape (bits 0-1 data segments, bit 2 header in
 *     two pieces, bit 3 no status byte, bit 4 header writable, bit 5 data
 *     in the other direction), per data segment u16 length (bit 15 clear:
 *     whole sectors, (v % 8 + 1) * 512; else v & 0x7fff bytes); DISCARD and
 *     WRITE_ZEROES take u64 sector, u32 count (mod 64) and u32 flags for
 *     their range segment instead
 *   1 descriptor: u16 index, u32 RAM offset (+- past RAM), u32 len, u16
 *     flags, u16 next
 *   2 raw bytes: u16 RAM offset, u8 n, n bytes
 *   3 kick and run the workers, then check the used ring
 *   4 device reset (Status = 0) and bring-up; 5 QueueReady = 0 and bring-up
 *
 * Invariants, while no raw write (op 2) touched the used ring: every used
 * id is below the queue size and used.idx never runs more than the queue
 * size ahead of what was seen; while no raw write (op 1, 2) touched a
 * descriptor or request, each completed request's used length is at most
 * its writable bytes (0 when it has none) and its status byte, when last,
 * is OK, IOERR or UNSUPP; the image keeps its size, and a read-only image
 * keeps its contents.  The fake host traps plugin bugs; ASan catches
 * any host access that escaped the bounds-checked guest accessors.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakehost.h"
#include "fuzz.h"

extern const struct avmm_plugin_desc fuzz_plugin_virtio_mmio;

#define BASE 0x0a000000ull
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define RING (RAM_BASE)                 /* desc, avail, used of the queue */
#define HDRS (RAM_BASE + 0x10000)       /* 16-byte headers / range segments */
#define STATS (RAM_BASE + 0x18000)      /* status bytes */
#define DATA (RAM_BASE + 0x20000)       /* data: the rest of RAM */
#define IMG_SIZE 0x10000u
#define CAPACITY (IMG_SIZE / 512u)
#define MAX_Q 256u

static struct avmm_dev dev;
static char img[64];
static uint8_t pattern[IMG_SIZE];

struct qstate {
	unsigned size;
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen;
	uint64_t features;
	bool dirty;      /* a raw write may have changed a request or a descriptor */
	bool dirty_used; /* a raw write may have changed the used ring */
	/* By head: the request's writable byte count and status byte, if any. */
	struct {
		bool live;
		uint64_t wlen, status;
		unsigned n;
		uint16_t desc[8]; /* its descriptors, freed when it is used */
	} req[MAX_Q];
	bool busy[MAX_Q]; /* descriptors of chains not yet used */
};
static struct qstate q;

static void wr(uint64_t off, uint32_t v)
{
	FUZZ_CHECK(fake_write(&dev, 0, BASE + off, 4, v) == 0);
}

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0;
	FUZZ_CHECK(fake_read(&dev, 0, BASE + off, 4, &v) == 0);
	return (uint32_t)v;
}

static uint8_t *ram(uint64_t gpa)
{
	return dev.ram + (gpa - RAM_BASE);
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(ram(gpa), &v, 2);
}

static void bring_up(void)
{
	wr(0x070, 0);
	wr(0x070, 1);
	wr(0x070, 3);
	wr(0x014, 0);
	uint64_t offered = rd(0x010);
	wr(0x014, 1);
	offered |= (uint64_t)rd(0x010) << 32;
	uint64_t f = offered & q.features;
	wr(0x024, 0);
	wr(0x020, (uint32_t)f);
	wr(0x024, 1);
	wr(0x020, (uint32_t)(f >> 32));
	wr(0x070, 11);
	FUZZ_CHECK(rd(0x070) == 11);
	memset(ram(RING), 0, 0x10000);
	q.desc = RING;
	q.avail = RING + 16ull * q.size;
	q.used = (q.avail + 6 + 2ull * q.size + 3) & ~3ull;
	q.avail_idx = q.used_seen = 0;
	memset(q.req, 0, sizeof(q.req));
	memset(q.busy, 0, sizeof(q.busy));
	wr(0x030, 0);
	wr(0x038, q.size);
	wr(0x080, (uint32_t)q.desc);
	wr(0x084, (uint32_t)(q.desc >> 32));
	wr(0x090, (uint32_t)q.avail);
	wr(0x094, (uint32_t)(q.avail >> 32));
	wr(0x0a0, (uint32_t)q.used);
	wr(0x0a4, (uint32_t)(q.used >> 32));
	wr(0x044, 1);
	wr(0x070, 15);
	FUZZ_CHECK(rd(0x044) == 1);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram(q.desc + 16ull * (i % q.size));
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

struct buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static void add_chain(const struct buf *b, unsigned n, bool has_status, uint64_t status)
{
	uint16_t idx[8];
	unsigned k = 0;

	/* Like a driver: only descriptors no chain in flight holds (else it waits). */
	for (unsigned i = 0; i < q.size && k < n; i++)
		if (!q.busy[i])
			idx[k++] = (uint16_t)i;
	if (k < n)
		return;
	uint16_t head = idx[0];
	uint64_t wlen = 0;
	for (unsigned i = 0; i < n; i++) {
		put_desc(idx[i], b[i].gpa, b[i].len,
			 (uint16_t)((b[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0)),
			 i + 1 < n ? idx[i + 1] : 0);
		q.busy[idx[i]] = true;
		q.req[head].desc[i] = idx[i];
		if (b[i].write)
			wlen += b[i].len;
	}
	q.req[head].n = n;
	q.req[head].live = true;
	q.req[head].wlen = wlen;
	q.req[head].status = has_status ? status : 0;
	put16(q.avail + 4 + 2ull * (q.avail_idx % q.size), head);
	q.avail_idx++;
	__atomic_store_n((uint16_t *)(void *)ram(q.avail + 2), q.avail_idx, __ATOMIC_RELEASE);
}

static void request(struct fuzz_in *in, unsigned slot)
{
	static const uint32_t types[] = {0, 1, 4, 8, 11, 13, 2};
	unsigned tsel = fuzz_u8(in) % 8;
	uint32_t type = tsel < 7 ? types[tsel] : fuzz_u32(in);
	uint8_t sc = fuzz_u8(in);
	uint64_t sector = sc & 0x80 ? fuzz_u64(in) : sc % (CAPACITY + 4);
	uint8_t shape = fuzz_u8(in);
	uint64_t hdr = HDRS + 0x40ull * (slot % 0x200), st = STATS + slot % 0x8000;
	struct buf b[8];
	unsigned n = 0;
	bool hw = shape & 0x10;

	memcpy(ram(hdr), &type, 4);
	memset(ram(hdr + 4), 0, 4);
	memcpy(ram(hdr + 8), &sector, 8);
	if (shape & 4) {
		b[n++] = (struct buf){hdr, 8, hw};
		b[n++] = (struct buf){hdr + 8, 8, hw};
	} else {
		b[n++] = (struct buf){hdr, 16, hw};
	}
	bool in_dir = type == 0 || type == 8;
	if (type == 11 || type == 13) {
		uint64_t s = fuzz_u64(in);
		uint32_t cnt = fuzz_u32(in) % 64, fl = fuzz_u32(in);
		memcpy(ram(hdr + 16), &s, 8);
		memcpy(ram(hdr + 24), &cnt, 4);
		memcpy(ram(hdr + 28), &fl, 4);
		b[n++] = (struct buf){hdr + 16, 16, (shape & 0x20) != 0};
	} else {
		unsigned nd = shape & 3;
		uint64_t at = DATA + (uint64_t)(slot % 16) * 0xc000;
		for (unsigned i = 0; i < nd; i++) {
			uint16_t l = fuzz_u16(in);
			uint32_t len = l & 0x8000 ? (l & 0x7fffu) : (l % 8u + 1) * 512u;
			b[n++] = (struct buf){at, len, in_dir != ((shape & 0x20) != 0)};
			at += len;
		}
	}
	bool has_status = !(shape & 8);
	if (has_status) {
		*ram(st) = 0xee;
		b[n++] = (struct buf){st, 1, true};
	}
	/* The status byte is the last writable byte only if it comes last. */
	bool last_writable = false;
	for (unsigned i = 0; i < n; i++)
		if (b[i].write && b[i].len)
			last_writable = b[i].gpa == st;
	add_chain(b, n, has_status && last_writable, st);
	/* A chain whose readable part follows writable bytes breaks the ring:
	 * the device may then need a reset; fine, checked as a driver error. */
}

static void check_used(void)
{
	uint16_t idx = __atomic_load_n((uint16_t *)(void *)ram(q.used + 2), __ATOMIC_ACQUIRE);
	if (q.dirty_used)
		return; /* the driver scribbled over what the device wrote */
	FUZZ_CHECK((uint16_t)(idx - q.used_seen) <= q.size);
	while (q.used_seen != idx) {
		uint64_t e = q.used + 4 + 8ull * (q.used_seen % q.size);
		uint32_t id, len;
		memcpy(&id, ram(e), 4);
		memcpy(&len, ram(e + 4), 4);
		FUZZ_CHECK(id < q.size);
		if (!q.dirty && q.req[id].live) {
			FUZZ_CHECK(len <= q.req[id].wlen);
			if (q.req[id].status) {
				FUZZ_CHECK(len >= 1);
				uint8_t s = *ram(q.req[id].status);
				FUZZ_CHECKF(s <= 2, "status 0x%x", s);
			} else if (!q.req[id].wlen) {
				FUZZ_CHECK(len == 0);
			}
		}
		if (q.req[id].live) {
			for (unsigned i = 0; i < q.req[id].n; i++)
				q.busy[q.req[id].desc[i]] = false;
			q.req[id].live = false;
		}
		q.used_seen++;
	}
}

static void image_unlink(void)
{
	unlink(img);
}

static void image_restore(void)
{
	if (!img[0]) {
		/* tmpfs when there is one: FLUSH's fdatasync costs nothing there. */
		snprintf(img, sizeof(img), "%s/avmm-fuzz-blk-XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		int fd = mkstemp(img);
		FUZZ_CHECK(fd >= 0);
		close(fd);
		atexit(image_unlink);
		for (unsigned i = 0; i < IMG_SIZE; i++)
			pattern[i] = (uint8_t)(i * 7 + i / 512);
	}
	int fd = open(img, O_RDWR);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(pwrite(fd, pattern, IMG_SIZE, 0) == IMG_SIZE);
	close(fd);
}

static void image_check(bool readonly)
{
	static uint8_t now[IMG_SIZE + 1];
	int fd = open(img, O_RDONLY);
	struct stat sb;
	FUZZ_CHECK(fd >= 0 && fstat(fd, &sb) == 0);
	FUZZ_CHECKF(sb.st_size == IMG_SIZE, "image size %lld", (long long)sb.st_size);
	if (readonly) {
		FUZZ_CHECK(pread(fd, now, IMG_SIZE, 0) == IMG_SIZE);
		FUZZ_CHECK(memcmp(now, pattern, IMG_SIZE) == 0);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned qsizes[] = {4, 8, 16, 32, 64, 128, 256, 2};
	struct fuzz_in in = {data, size};
	void *inst = NULL;
	char err[256] = "";
	uint8_t setup = fuzz_u8(&in);
	bool readonly = setup & 1;

	image_restore();
	fake_init(&dev, "blk0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", "blk");
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "16");
	fake_set(&dev, "path", img);
	fake_set(&dev, "readonly", readonly ? "true" : "false");
	fake_set(&dev, "cache", setup & 2 ? "unsafe" : "writeback");
	fake_set(&dev, "serial", "fuzz");
	int rc = fuzz_plugin_virtio_mmio.create(&dev, &fakehost, &inst, err, sizeof(err));
	FUZZ_CHECKF(rc == 0, "create: %d %s", rc, err);

	memset(&q, 0, sizeof(q));
	q.size = qsizes[setup >> 5];
	q.features = (1ull << 32) | 0xffffffull;
	if (setup & 4)
		q.features |= 1ull << 28;
	if (setup & 8)
		q.features |= 1ull << 29;
	if (setup & 16)
		q.features &= ~(1ull << 9);
	bring_up();

	unsigned slot = 0, ops = 0;
	while (fuzz_more(&in) && ops++ < 2048) {
		switch (fuzz_u8(&in) % 6) {
		case 0:
			request(&in, slot++);
			break;
		case 1: {
			uint16_t i = fuzz_u16(&in);
			uint64_t addr = RAM_BASE + fuzz_u32(&in) % (RAM_SIZE + 0x2000);
			uint32_t len = fuzz_u32(&in);
			uint16_t fl = fuzz_u16(&in), next = fuzz_u16(&in);
			put_desc(i, addr, len, fl, next);
			q.dirty = true;
			break;
		}
		case 2: {
			uint64_t off = fuzz_u16(&in);
			unsigned n = fuzz_u8(&in);
			for (unsigned i = 0; i < n && off + i < RAM_SIZE; i++)
				dev.ram[off + i] = fuzz_u8(&in);
			q.dirty = true;
			q.dirty_used = true;
			break;
		}
		case 3:
			wr(0x050, 0);
			for (int i = 0; i < 6; i++)
				fake_io_poll(&dev);
			check_used();
			break;
		case 4:
			wr(0x070, 0);
			FUZZ_CHECK(rd(0x070) == 0);
			bring_up();
			break;
		case 5:
			wr(0x030, 0);
			wr(0x044, 0);
			bring_up();
			break;
		}
	}
	for (int i = 0; i < 6; i++)
		fake_io_poll(&dev);
	check_used();
	fuzz_plugin_virtio_mmio.destroy(inst);
	image_check(readonly);
	dev.guest_errors = 0;
	dev.errors = 0;
	fake_fini(&dev);
	return 0;
}
