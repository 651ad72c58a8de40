/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio plugin (transport, virtqueues and a device type) driven
 * through the fake host as a hostile driver would: any register access,
 * arbitrary bytes in guest RAM (rings, descriptors, requests), doorbell and
 * worker runs, console input, resets.  The first byte picks the device type
 * (rng, console; blk once it exists).  Operations, each an opcode byte:
 *   0 write(offset u16, size index u8, value u32)   1 read(offset, size index)
 *   2 poke RAM(offset u16, n u8, n bytes)            3 poll (doorbells, workers)
 *   4 console input(n u8, n bytes)                   5 device reset
 *   6 bring-up(features u64, queue size u8): a well-formed driver start with
 *     every queue at a fixed place, so runs reach DRIVER_OK quickly
 *
 * Invariants after every operation: Magic, Version and the device id read
 * back unchanged; the interrupt line is high exactly when InterruptStatus is
 * not zero; only a queue that exists (QueueNumMax not 0) reads ready.  The fake host counts plugin bugs (a refused host call)
 * and fake_fini traps on any; ASan catches a guest-memory access that
 * escaped the bounds-checked accessors.
 */
#include "fakehost.h"
#include "fuzz.h"

extern const struct avmm_plugin_desc fuzz_plugin_virtio_mmio;

#define BASE 0x0a000000ull
#define IRQ 16
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull

static struct avmm_dev dev;

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0;

	FUZZ_CHECK(fake_read(&dev, 0, BASE + off, 4, &v) == 0);
	return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t v)
{
	FUZZ_CHECK(fake_write(&dev, 0, BASE + off, 4, v) == 0);
}

static void check(uint32_t id)
{
	FUZZ_CHECK(rd(0x000) == 0x74726976);
	FUZZ_CHECK(rd(0x004) == 2);
	FUZZ_CHECK(rd(0x008) == id);
	FUZZ_CHECK(dev.line_level[IRQ] == (rd(0x060) != 0));
	uint32_t sel = rd(0x030);
	/* Only existing queues can be ready (QueueNum is write-only: not checked here). */
	for (uint32_t q = 0; q < 3; q++) {
		wr(0x030, q);
		if (rd(0x044))
			FUZZ_CHECK(rd(0x034) != 0);
	}
	wr(0x030, sel);
}

static void bring_up(uint64_t features, unsigned size)
{
	wr(0x070, 0);
	wr(0x070, 1);
	wr(0x070, 3);
	wr(0x024, 0);
	wr(0x020, (uint32_t)features);
	wr(0x024, 1);
	wr(0x020, (uint32_t)(features >> 32) | 1); /* VERSION_1 */
	wr(0x070, 11);
	for (unsigned q = 0; q < 2; q++) {
		uint64_t win = RAM_BASE + 0x4000ull * q;

		wr(0x030, q);
		wr(0x038, size);
		wr(0x080, (uint32_t)win);
		wr(0x084, 0);
		wr(0x090, (uint32_t)(win + 0x1000));
		wr(0x094, 0);
		wr(0x0a0, (uint32_t)(win + 0x2000));
		wr(0x0a4, 0);
		wr(0x044, 1);
	}
	wr(0x070, 15);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = {4, 1, 2, 8};
	static const struct {
		const char *type;
		uint32_t id;
	} types[] = {{"rng", 4}, {"console", 3}};
	struct fuzz_in in = {data, size};
	void *inst = NULL;
	char err[256] = "";
	unsigned t = fuzz_u8(&in) % (sizeof(types) / sizeof(types[0]));

	fake_init(&dev, "vio0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", types[t].type);
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "16");
	if (t == 1)
		fake_set(&dev, "chardev", "stdio");
	int rc = fuzz_plugin_virtio_mmio.create(&dev, &fakehost, &inst, err, sizeof(err));
	FUZZ_CHECKF(rc == 0, "create: %d %s", rc, err);
	FUZZ_CHECK(fake_unused_keys(&dev) == 0);

	while (fuzz_more(&in)) {
		switch (fuzz_u8(&in) % 7) {
		case 0: {
			uint64_t off = fuzz_u16(&in) % 0x200;
			unsigned sz = sizes[fuzz_u8(&in) % 4];

			fake_write(&dev, 0, BASE + off, sz, fuzz_u32(&in));
			break;
		}
		case 1: {
			uint64_t off = fuzz_u16(&in) % 0x200, v;

			fake_read(&dev, 0, BASE + off, sizes[fuzz_u8(&in) % 4], &v);
			break;
		}
		case 2: {
			uint64_t off = fuzz_u16(&in) % RAM_SIZE;
			unsigned n = fuzz_u8(&in);

			for (unsigned i = 0; i < n && off + i < RAM_SIZE; i++)
				dev.ram[off + i] = fuzz_u8(&in);
			break;
		}
		case 3:
			fake_io_poll(&dev);
			break;
		case 4: {
			uint8_t buf[256];
			unsigned n = fuzz_u8(&in);

			for (unsigned i = 0; i < n; i++)
				buf[i] = fuzz_u8(&in);
			if (t == 1)
				fake_chr_input(&dev, buf, n);
			break;
		}
		case 5:
			fuzz_plugin_virtio_mmio.reset(inst);
			break;
		case 6: {
			uint64_t f = fuzz_u64(&in);

			bring_up(f, 1u << (fuzz_u8(&in) % 9));
			break;
		}
		}
		check(types[t].id);
	}
	fuzz_plugin_virtio_mmio.destroy(inst);
	/* Guest errors are expected here; plugin bugs are not (fake_fini traps). */
	dev.guest_errors = 0;
	fake_fini(&dev);
	return 0;
}
