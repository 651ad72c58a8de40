/* SPDX-License-Identifier: MIT */
/*
 * The PL011 plugin driven through the fake host: MMIO of every width at any
 * offset, received bytes through the character backend, time passing (the
 * receive timeout) and resets.  Operations, each an opcode byte:
 *   0 write(offset u16, size index u8, value u32)   1 read(offset, size index)
 *   2 receive(n u8, n bytes)   3 advance(ns u32)   4 drain DR   5 reset
 *
 * Invariants after every operation: the IRQ line equals (RIS & IMSC) != 0
 * and MIS reads RIS & IMSC; FR.RXFE/RXFF agree with a shadow of the
 * receive FIFO (while loopback was never used), and DR returns the bytes
 * the backend delivered, in order; the backend is never offered more than
 * the FIFO can hold; outside loopback a DR write reaches the backend at
 * once while CR.TXE is set, and waits (FR.TXFE clear) while it is not.
 */
#include "fakehost.h"
#include "fuzz.h"

extern const struct avmm_plugin_desc fuzz_plugin_pl011;

#define BASE 0x09000000ull
#define IRQ 5
#define FIFO 32

static struct avmm_dev dev;

/* What the receiver should hold, while it can be modelled simply. */
static struct {
	bool valid;
	uint8_t q[FIFO];
	unsigned head, count;
} shadow;

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0;

	FUZZ_CHECK(fake_read(&dev, 0, BASE + off, 4, &v) == 0);
	return (uint32_t)v;
}

static void check(void)
{
	uint32_t ris = rd(0x3c), imsc = rd(0x38), mis = rd(0x40), fr = rd(0x18);

	FUZZ_CHECK(mis == (ris & imsc));
	FUZZ_CHECK(dev.line_level[IRQ] == (mis != 0));
	/* Transmission is instantaneous: data waits only while CR.TXE is clear. */
	if (rd(0x30) & (1u << 8))
		FUZZ_CHECK((fr & 0xa8) == 0x80); /* TXFE; not BUSY, not TXFF */
	else
		FUZZ_CHECK(!(fr & (1u << 7)) == !!(fr & (1u << 3))); /* BUSY iff not TXFE */
	if (shadow.valid) {
		unsigned depth = (rd(0x2c) & 0x10) ? FIFO : 1;

		FUZZ_CHECK(!!(fr & (1u << 4)) == (shadow.count == 0));
		FUZZ_CHECK(!!(fr & (1u << 6)) == (shadow.count >= depth));
	}
}

static void pop_check(uint32_t v)
{
	if (!shadow.valid || !shadow.count)
		return;
	FUZZ_CHECK((v & 0xff) == shadow.q[shadow.head]);
	shadow.head = (shadow.head + 1) % FIFO;
	shadow.count--;
}

static void receive(const uint8_t *buf, size_t len)
{
	struct avmm_chr *c = &dev.chr;
	size_t done = 0;

	/* fake_chr_input's loop, with the offered room checked each time. */
	while (c->h && done < len) {
		size_t room = c->h->can_receive(c->opaque);
		unsigned depth = (rd(0x2c) & 0x10) ? FIFO : 1;

		if (shadow.valid)
			FUZZ_CHECK(room + shadow.count <= depth || room == 0);
		FUZZ_CHECK(room <= FIFO);
		if (!room)
			break;
		if (room > len - done)
			room = len - done;
		c->h->receive(c->opaque, buf + done, room);
		for (size_t i = 0; shadow.valid && i < room; i++) {
			FUZZ_CHECK(shadow.count < FIFO);
			shadow.q[(shadow.head + shadow.count++) % FIFO] = buf[done + i];
		}
		done += room;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = { 4, 1, 2, 8 };
	struct fuzz_in in = { data, size };
	void *inst = NULL;
	char err[256] = "";

	fake_init(&dev, "uart0", 1);
	fake_set(&dev, "base", "0x09000000");
	fake_set(&dev, "irq", "5");
	fake_set(&dev, "chardev", "null");
	FUZZ_CHECK(fuzz_plugin_pl011.create(&dev, &fakehost, &inst, err, sizeof(err)) == 0);
	FUZZ_CHECK(fake_unused_keys(&dev) == 0);
	shadow.valid = true;
	shadow.head = shadow.count = 0;

	while (fuzz_more(&in)) {
		switch (fuzz_u8(&in) % 6) {
		case 0: {
			uint64_t off = fuzz_u16(&in) % 0x1000;
			unsigned sz = sizes[fuzz_u8(&in) % 4];
			uint32_t v = fuzz_u32(&in);
			size_t tx = dev.chr.tx_len;

			if (off == 0x30 && (v & (1u << 7)))
				shadow.valid = false; /* loopback: TX feeds RX */
			if (off == 0x2c && shadow.valid && shadow.count > 1 && !(v & 0x10))
				shadow.valid = false; /* FIFO off with data: depth below count */
			fake_write(&dev, 0, BASE + off, sz, v);
			/* CR.TXE set: a DR write leaves at once; clear: it waits in the FIFO. */
			if (off == 0 && sz != 8 && !(rd(0x30) & (1u << 7)) && tx < FAKE_TX_MAX) {
				if (rd(0x30) & (1u << 8)) {
					FUZZ_CHECK(dev.chr.tx_len == tx + 1);
					FUZZ_CHECK(dev.chr.tx[tx] == (uint8_t)v);
				} else {
					FUZZ_CHECK(dev.chr.tx_len == tx);
				}
			}

			break;
		}
		case 1: {
			uint64_t v, off = fuzz_u16(&in) % 0x1000;
			unsigned sz = sizes[fuzz_u8(&in) % 4];

			fake_read(&dev, 0, BASE + off, sz, &v);
			if (off == 0 && sz != 8)
				pop_check((uint32_t)v);
			break;
		}
		case 2: {
			uint8_t buf[256];
			unsigned n = fuzz_u8(&in);

			for (unsigned i = 0; i < n; i++)
				buf[i] = fuzz_u8(&in);
			receive(buf, n);
			break;
		}
		case 3:
			fake_advance(&dev, fuzz_u32(&in));
			break;
		case 4:
			for (unsigned i = 0; i < 2 * FIFO && !(rd(0x18) & (1u << 4)); i++)
				pop_check(rd(0x00));
			break;
		default:
			fuzz_plugin_pl011.reset(inst);
			shadow.valid = true;
			shadow.head = shadow.count = 0;
			break;
		}
		check();
	}
	fuzz_plugin_pl011.destroy(inst);
	fake_fini(&dev);
	return 0;
}
