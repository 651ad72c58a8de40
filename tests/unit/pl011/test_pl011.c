/* SPDX-License-Identifier: MIT */
/*
 * PL011 plugin tests: the plugin is created through its exported descriptor
 * and driven by MMIO, character input and fake time through the fake host.
 * Expected values come from the PL011 TRM (r1p5), not from the plugin.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "fakehost.h"

extern const struct avmm_plugin_desc avmm_plugin;

#define BASE 0x9000000ull
#define IRQ 33

/* TRM register offsets and bits, spelled out independently of the plugin. */
enum {
	DR = 0x000, RSR = 0x004, FR = 0x018, ILPR = 0x020, IBRD = 0x024, FBRD = 0x028,
	LCR_H = 0x02c, CR = 0x030, IFLS = 0x034, IMSC = 0x038, RIS = 0x03c, MIS = 0x040,
	ICR = 0x044, DMACR = 0x048,
};
#define FR_CTS 0x001u
#define FR_DSR 0x002u
#define FR_DCD 0x004u
#define FR_BUSY 0x008u
#define FR_RXFE 0x010u
#define FR_TXFF 0x020u
#define FR_RXFF 0x040u
#define FR_TXFE 0x080u
#define FR_RI 0x100u
#define CR_UARTEN 0x001u
#define CR_LBE 0x080u
#define CR_TXE 0x100u
#define CR_RXE 0x200u
#define CR_DTR 0x400u
#define CR_RTS 0x800u
#define CR_OUT1 0x1000u
#define CR_OUT2 0x2000u
#define LCR_H_BRK 0x01u
#define LCR_H_FEN 0x10u
#define LCR_H_WLEN8 0x60u
#define INT_RI 0x001u
#define INT_CTS 0x002u
#define INT_DCD 0x004u
#define INT_DSR 0x008u
#define INT_RX 0x010u
#define INT_TX 0x020u
#define INT_RT 0x040u
#define INT_BE 0x200u
#define INT_OE 0x400u
#define DR_BE 0x400u
#define DR_OE 0x800u

static struct avmm_dev dev;
static void *inst;

static uint32_t rd(uint64_t off)
{
	return fake_rd32(&dev, 0, BASE + off);
}

static void wr(uint64_t off, uint32_t v)
{
	fake_wr32(&dev, 0, BASE + off, v);
}

static int create_with(const char *base, const char *irq, char *err, size_t errlen)
{
	fake_init(&dev, "uart0", 1);
	if (base)
		fake_set(&dev, "base", base);
	if (irq)
		fake_set(&dev, "irq", irq);
	inst = NULL;
	return avmm_plugin.create(&dev, &fakehost, &inst, err, errlen);
}

static void setup(void)
{
	char err[256] = "";

	ck_assert_int_eq(create_with("0x9000000", "33", err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(inst);
	ck_assert_uint_eq(fake_unused_keys(&dev), 0);
}

static void teardown(void)
{
	if (inst)
		avmm_plugin.destroy(inst);
	fake_fini(&dev);
}

/* What Linux's startup leaves: UART, TX and RX on, FIFOs on, 8 bits. */
static void enable(void)
{
	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	wr(CR, CR_UARTEN | CR_TXE | CR_RXE);
}

static size_t input(const char *s)
{
	return fake_chr_input(&dev, (const uint8_t *)s, strlen(s));
}

static uint64_t timer_deadline(void)
{
	for (unsigned i = 0; i < FAKE_MAX_TIMERS; i++)
		if (dev.timers[i].used)
			return dev.timers[i].deadline;
	return 0;
}

/* ---- descriptor and configuration -------------------------------------- */

START_TEST(test_descriptor)
{
	ck_assert_str_eq(avmm_plugin.name, "pl011");
	ck_assert_uint_eq(avmm_plugin.struct_size, sizeof(struct avmm_plugin_desc));
	ck_assert_ptr_nonnull(avmm_plugin.fdt_populate);
	ck_assert_ptr_nonnull(avmm_plugin.reset);
	ck_assert_uint_eq(dev.nregions, 1);
	ck_assert_uint_eq(dev.regions[0].base, BASE);
	ck_assert_uint_eq(dev.regions[0].size, 0x1000);
	/* 8/16/32-bit allowed (earlycon writeb's DR), 64-bit not. */
	ck_assert_uint_eq(dev.regions[0].ops.valid_sizes & (1 | 2 | 4), 1 | 2 | 4);
	ck_assert_uint_eq(dev.regions[0].ops.valid_sizes & 8, 0);
	ck_assert(dev.chr_open);
	ck_assert_ptr_nonnull(dev.chr.h);
}
END_TEST

START_TEST(test_cfg_missing_base)
{
	char err[256] = "";

	ck_assert_int_lt(create_with(NULL, "33", err, sizeof(err)), 0);
	ck_assert_ptr_null(inst);
	ck_assert(strstr(err, "base") != NULL);
	ck_assert_uint_eq(dev.nregions, 0);
}
END_TEST

START_TEST(test_cfg_unaligned_base)
{
	char err[256] = "";

	ck_assert_int_eq(create_with("0x9000800", "33", err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	ck_assert_uint_eq(dev.nregions, 0);
}
END_TEST

START_TEST(test_cfg_malformed_base)
{
	char err[256] = "";

	ck_assert_int_eq(create_with("nine", "33", err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
}
END_TEST

START_TEST(test_cfg_missing_irq)
{
	char err[256] = "";

	/* The host reports a missing line itself, at the key (as the core does). */
	ck_assert_int_eq(create_with("0x9000000", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	ck_assert_msg(strstr(dev.last_log, "irq: missing") != NULL, "%s", dev.last_log);
	ck_assert_uint_eq(dev.nregions, 0);
}
END_TEST

START_TEST(test_cfg_irq_out_of_range)
{
	char err[256] = "";

	ck_assert_int_eq(create_with("0x9000000", "5000", err, sizeof(err)), -ERANGE);
}
END_TEST

START_TEST(test_cfg_bad_clock)
{
	char err[256] = "";

	fake_init(&dev, "uart0", 1);
	fake_set(&dev, "base", "0x9000000");
	fake_set(&dev, "irq", "33");
	fake_set(&dev, "clock-frequency", "0");
	ck_assert_int_eq(avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
}
END_TEST

START_TEST(test_cfg_all_keys)
{
	char err[256] = "";

	fake_init(&dev, "uart1", 1);
	fake_set(&dev, "base", "0x9001000");
	fake_set(&dev, "irq", "2");
	fake_set(&dev, "chardev", "null");
	fake_set(&dev, "clock-frequency", "48000000");
	ck_assert_int_eq(avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err)), 0);
	ck_assert_uint_eq(fake_unused_keys(&dev), 0);
	ck_assert_uint_eq(dev.regions[0].base, 0x9001000);
}
END_TEST

/* ---- registers ---------------------------------------------------------- */

START_TEST(test_reset_values)
{
	/* TRM: FR 0b-10010xxx (modem bits from the inputs), CR 0x300, IFLS 0x12. */
	ck_assert_uint_eq(rd(FR) & ~(FR_CTS | FR_DSR | FR_DCD | FR_RI), 0x90);
	ck_assert_uint_eq(rd(CR), 0x300);
	ck_assert_uint_eq(rd(IFLS), 0x12);
	ck_assert_uint_eq(rd(RSR), 0);
	ck_assert_uint_eq(rd(ILPR), 0);
	ck_assert_uint_eq(rd(IBRD), 0);
	ck_assert_uint_eq(rd(FBRD), 0);
	ck_assert_uint_eq(rd(LCR_H), 0);
	ck_assert_uint_eq(rd(IMSC), 0);
	ck_assert_uint_eq(rd(RIS), 0);
	ck_assert_uint_eq(rd(MIS), 0);
	ck_assert_uint_eq(rd(DMACR), 0);
	ck_assert(!dev.line_level[IRQ]);
	ck_assert_uint_eq(dev.guest_errors, 0);
}
END_TEST

START_TEST(test_id_registers)
{
	static const uint32_t id[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(rd(0xfe0 + 4 * i), id[i]);
	/* Linux: revision (PeriphID2[7:4]) >= 3 means 32-entry FIFOs. */
	ck_assert_uint_ge(rd(0xfe8) >> 4, 3);
	/* Read-only: writes are ignored and logged. */
	wr(0xfe0, 0xff);
	ck_assert_uint_eq(rd(0xfe0), 0x11);
	ck_assert_uint_eq(dev.guest_errors, 1);
}
END_TEST

START_TEST(test_dr_tx_in_order)
{
	const char *msg = "Hello, PL011!\r\n";

	enable();
	for (const char *p = msg; *p; p++)
		wr(DR, (uint8_t)*p);
	/* earlycon's default iotype writes DR with 8-bit stores. */
	ck_assert_int_eq(fake_write(&dev, 0, BASE + DR, 1, 'x'), 0);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + DR, 2, 'y'), 0);
	/* Only the low 8 bits are data. */
	wr(DR, 0x100 | 'z');
	ck_assert_uint_eq(dev.chr.tx_len, strlen(msg) + 3);
	ck_assert(memcmp(dev.chr.tx, msg, strlen(msg)) == 0);
	ck_assert(memcmp(dev.chr.tx + strlen(msg), "xyz", 3) == 0);
	/* The TX FIFO never fills and the line is never busy. */
	ck_assert_uint_eq(rd(FR) & (FR_TXFF | FR_BUSY | FR_TXFE), FR_TXFE);
}
END_TEST

START_TEST(test_dr_tx_before_enable)
{
	/* No firmware: earlycon writes at reset state (UARTEN clear) and must not hang. */
	wr(DR, 'A');
	ck_assert_uint_eq(dev.chr.tx_len, 1);
	ck_assert_uint_eq(dev.chr.tx[0], 'A');
	ck_assert(!(rd(FR) & (FR_TXFF | FR_BUSY)));
}
END_TEST

START_TEST(test_dr_rx_data)
{
	enable();
	ck_assert_uint_eq(input("ab"), 2);
	ck_assert_uint_eq(rd(DR), 'a');
	/* 8-bit read (earlycon getc) pops too. */
	uint64_t v;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + DR, 1, &v), 0);
	ck_assert_uint_eq(v, 'b');
	ck_assert(rd(FR) & FR_RXFE);
	/* Empty FIFO reads 0. */
	ck_assert_uint_eq(rd(DR), 0);
}
END_TEST

START_TEST(test_rsr_ecr)
{
	enable();
	wr(CR, rd(CR) | CR_LBE);
	/* Overrun the 32-entry FIFO through loopback. */
	for (unsigned i = 0; i < 33; i++)
		wr(DR, 'a' + (i % 26));
	ck_assert_uint_eq(rd(RSR) & 0x8, 0x8); /* OE */
	/* ECR: any write clears. */
	wr(RSR, 0);
	ck_assert_uint_eq(rd(RSR), 0);
}
END_TEST

START_TEST(test_fr_rx_flags)
{
	char buf[40];

	enable();
	ck_assert(rd(FR) & FR_RXFE);
	ck_assert(!(rd(FR) & FR_RXFF));
	memset(buf, 'q', sizeof(buf));
	ck_assert_uint_eq(fake_chr_input(&dev, (uint8_t *)buf, sizeof(buf)), 32);
	ck_assert(!(rd(FR) & FR_RXFE));
	ck_assert(rd(FR) & FR_RXFF);
	rd(DR);
	ck_assert(!(rd(FR) & FR_RXFF));
}
END_TEST

START_TEST(test_fr_modem_null_modem)
{
	/* The far end of a null-modem cable is always ready: CTS, DSR, DCD; no RI. */
	uint32_t fr = rd(FR);

	ck_assert_uint_eq(fr & (FR_CTS | FR_DSR | FR_DCD | FR_RI), FR_CTS | FR_DSR | FR_DCD);
	/* Writing FR is a guest error and changes nothing. */
	wr(FR, 0);
	ck_assert_uint_eq(rd(FR), fr);
	ck_assert_uint_eq(dev.guest_errors, 1);
}
END_TEST

START_TEST(test_ilpr)
{
	wr(ILPR, 0x1234);
	ck_assert_uint_eq(rd(ILPR), 0x34);
}
END_TEST

START_TEST(test_ibrd_fbrd_readback)
{
	wr(IBRD, 0x12345);
	wr(FBRD, 0xff);
	ck_assert_uint_eq(rd(IBRD), 0x2345);
	ck_assert_uint_eq(rd(FBRD), 0x3f);
}
END_TEST

START_TEST(test_baud_latched_by_lcr_h)
{
	/* 115200 baud at 24 MHz: IBRD 13, FBRD 1 (Linux's computation). */
	const double bit_ns = 1e9 * 16.0 * (13 + 1 / 64.0) / 24e6;
	uint64_t t0, dl;

	enable();
	wr(IBRD, 13);
	wr(FBRD, 1);
	/* Not latched yet: the divisor from the last LCR_H write (0) applies. */
	t0 = dev.now_ns;
	input("x");
	dl = timer_deadline() - t0;
	ck_assert_uint_lt(dl, 100000);
	rd(DR);

	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	t0 = dev.now_ns;
	input("y");
	dl = timer_deadline() - t0;
	/* 32 bit periods, within 1 us. */
	ck_assert_uint_ge(dl, (uint64_t)(32 * bit_ns) - 1000);
	ck_assert_uint_le(dl, (uint64_t)(32 * bit_ns) + 1000);
}
END_TEST

START_TEST(test_lcr_h_fen)
{
	wr(LCR_H, 0x1ff);
	ck_assert_uint_eq(rd(LCR_H), 0xff);
	wr(LCR_H, LCR_H_WLEN8); /* FIFO off: a one-character holding register */
	wr(CR, CR_UARTEN | CR_TXE | CR_RXE);
	ck_assert_uint_eq(input("abc"), 1);
	ck_assert(rd(FR) & FR_RXFF);
	/* With the FIFO off every character is an RX interrupt. */
	ck_assert(rd(RIS) & INT_RX);
	ck_assert_uint_eq(rd(DR), 'a');
	ck_assert(!(rd(RIS) & INT_RX));
	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	ck_assert_uint_eq(input("bcdef"), 5);
}
END_TEST

START_TEST(test_cr)
{
	wr(CR, 0xffff);
	/* Bits 6:3 are reserved. */
	ck_assert_uint_eq(rd(CR), 0xff87);
	wr(CR, 0x301);
	ck_assert_uint_eq(rd(CR), 0x301);
}
END_TEST

START_TEST(test_cr_rx_disabled_holds_input)
{
	enable();
	ck_assert_uint_eq(input("hi"), 2);
	/* RXE off: nothing more taken, queued data stays readable. */
	wr(CR, CR_UARTEN | CR_TXE);
	ck_assert_uint_eq(input("x"), 0);
	ck_assert_uint_eq(rd(DR), 'h');
	ck_assert_uint_eq(rd(DR), 'i');
	/* RXE on again: the held-back input may come. */
	unsigned accepts = dev.chr.accept_calls;
	wr(CR, CR_UARTEN | CR_TXE | CR_RXE);
	ck_assert_uint_eq(dev.chr.accept_calls, accepts + 1);
	ck_assert_uint_eq(input("x"), 1);
	ck_assert_uint_eq(rd(DR), 'x');
}
END_TEST

START_TEST(test_no_firmware_both_directions)
{
	/*
	 * A guest that never writes CR finds the TRM reset value (TXE | RXE,
	 * UARTEN clear) and can both print and read a key, as under QEMU.
	 */
	ck_assert_uint_eq(rd(CR), CR_TXE | CR_RXE);
	wr(DR, 'A');
	ck_assert_uint_eq(dev.chr.tx_len, 1);
	ck_assert_uint_eq(dev.chr.tx[0], 'A');
	ck_assert_uint_eq(input("k"), 1);
	ck_assert(!(rd(FR) & FR_RXFE));
	ck_assert_uint_eq(rd(DR), 'k');
	ck_assert(rd(FR) & FR_RXFE);
	/* UARTEN alone, without TXE and RXE, moves nothing either way. */
	wr(CR, CR_UARTEN);
	wr(DR, 'B');
	ck_assert_uint_eq(dev.chr.tx_len, 1);
	ck_assert_uint_eq(input("k"), 0);
}
END_TEST

START_TEST(test_tx_held_while_txe_clear)
{
	/* FIFOs off: the TX FIFO holds one character. */
	wr(CR, CR_UARTEN | CR_RXE);
	ck_assert_uint_eq(rd(FR) & (FR_TXFE | FR_TXFF | FR_BUSY), FR_TXFE);
	wr(DR, 'a');
	ck_assert_uint_eq(dev.chr.tx_len, 0);
	ck_assert_uint_eq(rd(FR) & (FR_TXFE | FR_TXFF | FR_BUSY), FR_TXFF | FR_BUSY);
	ck_assert(!(rd(RIS) & INT_TX));
	/* TRM: a write to a full transmit FIFO is lost. */
	wr(DR, 'b');
	ck_assert_uint_eq(dev.guest_errors, 1);
	wr(CR, CR_UARTEN | CR_RXE | CR_TXE);
	ck_assert_uint_eq(dev.chr.tx_len, 1);
	ck_assert_uint_eq(dev.chr.tx[0], 'a');
	ck_assert_uint_eq(rd(FR) & (FR_TXFE | FR_TXFF | FR_BUSY), FR_TXFE);
	ck_assert(rd(RIS) & INT_TX);

	/* FIFOs on: 32 wait, the 33rd is lost, all 32 leave in order. */
	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	wr(CR, CR_UARTEN | CR_RXE);
	for (int i = 0; i < 33; i++)
		wr(DR, (uint32_t)('A' + i));
	ck_assert_uint_eq(dev.chr.tx_len, 1);
	ck_assert(rd(FR) & FR_TXFF);
	ck_assert_uint_eq(dev.guest_errors, 2);
	wr(CR, CR_UARTEN | CR_RXE | CR_TXE);
	ck_assert_uint_eq(dev.chr.tx_len, 33);
	for (int i = 0; i < 32; i++)
		ck_assert_uint_eq(dev.chr.tx[1 + i], (uint8_t)('A' + i));
	/* A reset empties the TX FIFO. */
	wr(CR, CR_UARTEN | CR_RXE);
	wr(DR, 'z');
	avmm_plugin.reset(inst);
	ck_assert_uint_eq(rd(FR) & (FR_TXFE | FR_BUSY), FR_TXFE);
	wr(CR, CR_UARTEN | CR_RXE | CR_TXE);
	ck_assert_uint_eq(dev.chr.tx_len, 33);
}
END_TEST

START_TEST(test_ifls_trigger)
{
	ck_assert_uint_eq(rd(IFLS), 0x12);
	wr(IFLS, 0xffc0 | (1 << 3) | 2); /* RX 1/4 (8 chars), TX 1/2 */
	ck_assert_uint_eq(rd(IFLS), (1 << 3) | 2);
	enable();
	ck_assert_uint_eq(input("1234567"), 7);
	ck_assert(!(rd(RIS) & INT_RX));
	ck_assert_uint_eq(input("8"), 1);
	ck_assert(rd(RIS) & INT_RX);
	/* Reserved encodings are logged. */
	ck_assert_uint_eq(dev.guest_errors, 0);
	wr(IFLS, 7 << 3);
	ck_assert_uint_eq(dev.guest_errors, 1);
}
END_TEST

START_TEST(test_ifls_default_half)
{
	char buf[16];

	enable();
	memset(buf, 'z', sizeof(buf));
	ck_assert_uint_eq(fake_chr_input(&dev, (uint8_t *)buf, 15), 15);
	ck_assert(!(rd(RIS) & INT_RX));
	ck_assert_uint_eq(fake_chr_input(&dev, (uint8_t *)buf, 1), 1);
	ck_assert(rd(RIS) & INT_RX);
}
END_TEST

START_TEST(test_imsc_mis_line)
{
	enable();
	wr(IMSC, 0xffff);
	ck_assert_uint_eq(rd(IMSC), 0x7ff);
	wr(IMSC, 0);
	wr(DR, 'x'); /* raises TXIS */
	ck_assert(rd(RIS) & INT_TX);
	ck_assert_uint_eq(rd(MIS), 0);
	ck_assert(!dev.line_level[IRQ]);
	wr(IMSC, INT_TX);
	ck_assert_uint_eq(rd(MIS), INT_TX);
	ck_assert(dev.line_level[IRQ]);
	wr(IMSC, INT_RX);
	ck_assert_uint_eq(rd(MIS), 0);
	ck_assert(!dev.line_level[IRQ]);
	/* MIS is read-only. */
	wr(MIS, 0xffff);
	ck_assert_uint_eq(dev.guest_errors, 1);
}
END_TEST

START_TEST(test_ris_readonly)
{
	wr(RIS, 0x7ff);
	ck_assert_uint_eq(rd(RIS), 0);
	ck_assert_uint_eq(dev.guest_errors, 1);
}
END_TEST

START_TEST(test_icr)
{
	enable();
	wr(IMSC, INT_TX | INT_OE);
	wr(CR, rd(CR) | CR_LBE);
	for (unsigned i = 0; i < 33; i++)
		wr(DR, 'a');
	ck_assert_uint_eq(rd(RIS) & (INT_TX | INT_OE), INT_TX | INT_OE);
	wr(ICR, INT_TX);
	ck_assert_uint_eq(rd(RIS) & (INT_TX | INT_OE), INT_OE);
	ck_assert(dev.line_level[IRQ]);
	wr(ICR, 0xffff);
	ck_assert_uint_eq(rd(RIS), 0);
	ck_assert_uint_eq(rd(MIS), 0);
	ck_assert(!dev.line_level[IRQ]);
	/* ICR is write-only. */
	ck_assert_uint_eq(rd(ICR), 0);
	ck_assert_uint_eq(dev.guest_errors, 1);
}
END_TEST

START_TEST(test_dmacr)
{
	wr(DMACR, 0x4); /* DMAONERR alone: nothing to model */
	ck_assert_uint_eq(rd(DMACR), 0x4);
	ck_assert_uint_eq(dev.unimp, 0);
	wr(DMACR, 0xff);
	ck_assert_uint_eq(rd(DMACR), 0x7);
	ck_assert_uint_eq(dev.unimp, 1);
}
END_TEST

/* ---- interrupts and data paths ------------------------------------------ */

START_TEST(test_tx_interrupt)
{
	enable();
	wr(IMSC, INT_TX);
	/* TRM: TXIS is not set before any data has been written. */
	ck_assert(!(rd(RIS) & INT_TX));
	ck_assert(!dev.line_level[IRQ]);
	wr(DR, 'a');
	ck_assert(rd(RIS) & INT_TX);
	ck_assert(dev.line_level[IRQ]);
	/* Linux's ISR never clears TXIS through ICR but masks it when idle. */
	wr(IMSC, 0);
	ck_assert(!dev.line_level[IRQ]);
	/* Unmasking later finds it still pending: TX can restart from the ISR. */
	wr(IMSC, INT_TX);
	ck_assert(dev.line_level[IRQ]);
	wr(ICR, INT_TX);
	ck_assert(!dev.line_level[IRQ]);
	wr(DR, 'b');
	ck_assert(dev.line_level[IRQ]);
	ck_assert_uint_eq(dev.line_edges[IRQ], 3);
}
END_TEST

START_TEST(test_rx_trigger_and_drain)
{
	char buf[32];

	enable();
	wr(IMSC, INT_RX);
	memset(buf, 'r', sizeof(buf));
	ck_assert_uint_eq(fake_chr_input(&dev, (uint8_t *)buf, 15), 15);
	ck_assert(!dev.line_level[IRQ]);
	ck_assert_uint_eq(fake_chr_input(&dev, (uint8_t *)buf, 17), 17);
	ck_assert(dev.line_level[IRQ]);
	ck_assert_uint_eq(rd(MIS), INT_RX);
	/* Full: the core must stop. */
	ck_assert_uint_eq(fake_chr_input(&dev, (uint8_t *)"x", 1), 0);
	unsigned accepts = dev.chr.accept_calls;
	/* Reading one frees space: the core is told to resume. */
	ck_assert_uint_eq(rd(DR), 'r');
	ck_assert_uint_eq(dev.chr.accept_calls, accepts + 1);
	ck_assert(dev.line_level[IRQ]);
	/* Drain below the trigger: the line drops. */
	for (unsigned i = 0; i < 16; i++)
		rd(DR);
	ck_assert_uint_eq(rd(RIS) & INT_RX, 0);
	ck_assert(!dev.line_level[IRQ]);
	/* No further accept_input while the core was not blocked. */
	ck_assert_uint_eq(dev.chr.accept_calls, accepts + 1);
}
END_TEST

START_TEST(test_rx_full_exact_then_drain)
{
	char buf[32];

	enable();
	memset(buf, 'f', sizeof(buf));
	/* Exactly the free space: the FIFO is full, the core may hold more. */
	ck_assert_uint_eq(fake_chr_input(&dev, (uint8_t *)buf, 32), 32);
	unsigned accepts = dev.chr.accept_calls;
	rd(DR);
	ck_assert_uint_eq(dev.chr.accept_calls, accepts + 1);
}
END_TEST

START_TEST(test_overrun)
{
	enable();
	wr(IMSC, INT_OE);
	wr(CR, rd(CR) | CR_LBE);
	for (unsigned i = 0; i < 32; i++)
		wr(DR, 'A' + (i % 26));
	ck_assert(!(rd(RIS) & INT_OE));
	ck_assert(!dev.line_level[IRQ]);
	wr(DR, '!'); /* lost */
	ck_assert(rd(RIS) & INT_OE);
	ck_assert(dev.line_level[IRQ]);
	/* The FIFO keeps its 32 characters; the last one carries OE. */
	for (unsigned i = 0; i < 31; i++)
		ck_assert_uint_eq(rd(DR), 'A' + (i % 26));
	uint32_t last = rd(DR);
	ck_assert_uint_eq(last & 0xff, 'A' + (31 % 26));
	ck_assert(last & DR_OE);
	ck_assert(rd(FR) & FR_RXFE);
	ck_assert(rd(RSR) & 0x8);
}
END_TEST

START_TEST(test_receive_timeout)
{
	/* 115200 baud: 32 bit periods = 32 * 16 * 13.015625 / 24 MHz ~ 277.7 us. */
	enable();
	wr(IBRD, 13);
	wr(FBRD, 1);
	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	wr(IMSC, INT_RX | INT_RT);
	ck_assert_uint_eq(input("ok"), 2);
	ck_assert(!dev.line_level[IRQ]);
	fake_advance(&dev, 270000);
	ck_assert(!(rd(RIS) & INT_RT));
	/* New data restarts the count. */
	ck_assert_uint_eq(input("!"), 1);
	fake_advance(&dev, 270000);
	ck_assert(!(rd(RIS) & INT_RT));
	fake_advance(&dev, 10000);
	ck_assert(rd(RIS) & INT_RT);
	ck_assert(dev.line_level[IRQ]);
	/* Draining the FIFO clears it. */
	ck_assert_uint_eq(rd(DR), 'o');
	ck_assert(dev.line_level[IRQ]);
	rd(DR);
	rd(DR);
	ck_assert(!(rd(RIS) & INT_RT));
	ck_assert(!dev.line_level[IRQ]);
	/* Nothing left: no further timeout. */
	fake_advance(&dev, 10000000);
	ck_assert(!(rd(RIS) & INT_RT));
}
END_TEST

START_TEST(test_receive_timeout_icr)
{
	enable();
	wr(IMSC, INT_RT);
	input("a");
	fake_advance(&dev, 1000000); /* divisor 0: the minimum timeout applies */
	ck_assert(dev.line_level[IRQ]);
	wr(ICR, INT_RT);
	ck_assert(!dev.line_level[IRQ]);
	ck_assert_uint_eq(rd(DR), 'a');
}
END_TEST

START_TEST(test_timeout_floor)
{
	/* A bogus divisor (IBRD 0) must not make the timer fire at once. */
	enable();
	wr(IBRD, 0);
	wr(FBRD, 1);
	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	uint64_t t0 = dev.now_ns;
	input("a");
	ck_assert_uint_ge(timer_deadline() - t0, 10000);
}
END_TEST

START_TEST(test_loopback)
{
	enable();
	wr(CR, rd(CR) | CR_LBE);
	wr(DR, 'L');
	wr(DR, 'B');
	/* Nothing on the wire; both back in the receiver. */
	ck_assert_uint_eq(dev.chr.tx_len, 0);
	ck_assert_uint_eq(rd(DR), 'L');
	ck_assert_uint_eq(rd(DR), 'B');
	ck_assert(rd(FR) & FR_RXFE);
	wr(CR, rd(CR) & ~CR_LBE);
	wr(DR, 'W');
	ck_assert_uint_eq(dev.chr.tx_len, 1);
	ck_assert(rd(FR) & FR_RXFE);
}
END_TEST

START_TEST(test_loopback_needs_receiver)
{
	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	wr(CR, CR_UARTEN | CR_TXE | CR_LBE); /* RXE off */
	wr(DR, 0);
	ck_assert(rd(FR) & FR_RXFE);
	ck_assert_uint_eq(dev.chr.tx_len, 0);
}
END_TEST

START_TEST(test_loopback_break)
{
	enable();
	wr(IMSC, INT_BE);
	wr(CR, rd(CR) | CR_LBE);
	wr(LCR_H, LCR_H_FEN | LCR_H_WLEN8 | LCR_H_BRK);
	ck_assert(dev.line_level[IRQ]);
	uint32_t v = rd(DR);
	ck_assert_uint_eq(v & 0xff, 0);
	ck_assert(v & DR_BE);
	/* RSR shows the error of the character just read. */
	ck_assert_uint_eq(rd(RSR) & 0x4, 0x4);
	wr(RSR, 1);
	ck_assert_uint_eq(rd(RSR), 0);
}
END_TEST

START_TEST(test_loopback_modem)
{
	wr(IMSC, INT_CTS | INT_DSR | INT_DCD | INT_RI);
	wr(CR, CR_UARTEN | CR_TXE | CR_RXE | CR_LBE);
	/* Outputs all low: every input drops, so three of them changed. */
	ck_assert_uint_eq(rd(FR) & (FR_CTS | FR_DSR | FR_DCD | FR_RI), 0);
	ck_assert_uint_eq(rd(RIS) & 0xf, INT_CTS | INT_DSR | INT_DCD);
	wr(ICR, 0xf);
	wr(CR, rd(CR) | CR_RTS);
	ck_assert_uint_eq(rd(FR) & (FR_CTS | FR_DSR | FR_DCD | FR_RI), FR_CTS);
	ck_assert_uint_eq(rd(RIS) & 0xf, INT_CTS);
	wr(CR, rd(CR) | CR_DTR | CR_OUT1 | CR_OUT2);
	ck_assert_uint_eq(rd(FR) & (FR_CTS | FR_DSR | FR_DCD | FR_RI),
			  FR_CTS | FR_DSR | FR_DCD | FR_RI);
	ck_assert_uint_eq(rd(RIS) & 0xf, INT_CTS | INT_DSR | INT_DCD | INT_RI);
	ck_assert(dev.line_level[IRQ]);
}
END_TEST

START_TEST(test_bad_offset_and_width)
{
	uint64_t v = 0xdead;

	enable();
	/* Unknown offsets: RAZ/WI and a guest error each. */
	ck_assert_uint_eq(rd(0x050), 0);
	ck_assert_uint_eq(rd(0x800), 0);
	wr(0x050, 0xffffffff);
	ck_assert_uint_eq(dev.guest_errors, 3);
	/* Narrow access into the middle of a register. */
	ck_assert_int_eq(fake_read(&dev, 0, BASE + FR + 1, 1, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + CR + 2, 2, 0xffff), 0);
	ck_assert_uint_eq(rd(CR), CR_UARTEN | CR_TXE | CR_RXE);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + DR + 1, 1, 'x'), 0);
	ck_assert_uint_eq(dev.chr.tx_len, 0);
	ck_assert_uint_eq(dev.guest_errors, 6);
	/* 64-bit: refused before the device (RAZ/WI by the core). */
	v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + CR, 8, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + CR, 8, 0), 0);
	ck_assert_uint_eq(rd(CR), CR_UARTEN | CR_TXE | CR_RXE);
	ck_assert_uint_eq(dev.guest_errors, 8); /* the core logs both as guest errors */
	/* Narrow reads at a register's own offset return its low bits. */
	ck_assert_int_eq(fake_read(&dev, 0, BASE + CR, 1, &v), 0);
	ck_assert_uint_eq(v, 0x01);
	ck_assert_int_eq(fake_read(&dev, 0, BASE + CR, 2, &v), 0);
	ck_assert_uint_eq(v, 0x301);
	/* Integration test registers are unimplemented, not errors. */
	ck_assert_uint_eq(rd(0x080), 0);
	ck_assert_uint_eq(dev.unimp, 1);
	ck_assert_uint_eq(dev.guest_errors, 8);
}
END_TEST

START_TEST(test_reset_hook)
{
	enable();
	wr(IBRD, 13);
	wr(FBRD, 1);
	wr(IFLS, 0);
	wr(ILPR, 5);
	wr(DMACR, 4);
	wr(IMSC, INT_RX | INT_RT);
	input("abcd");
	ck_assert(dev.line_level[IRQ]);
	unsigned accepts = dev.chr.accept_calls;
	avmm_plugin.reset(inst);
	ck_assert(!dev.line_level[IRQ]);
	ck_assert_uint_eq(rd(CR), 0x300);
	ck_assert_uint_eq(rd(IFLS), 0x12);
	ck_assert_uint_eq(rd(FR) & ~(FR_CTS | FR_DSR | FR_DCD | FR_RI), 0x90);
	ck_assert_uint_eq(rd(LCR_H), 0);
	ck_assert_uint_eq(rd(IBRD), 0);
	ck_assert_uint_eq(rd(FBRD), 0);
	ck_assert_uint_eq(rd(ILPR), 0);
	ck_assert_uint_eq(rd(DMACR), 0);
	ck_assert_uint_eq(rd(IMSC), 0);
	ck_assert_uint_eq(rd(RIS), 0);
	ck_assert_uint_eq(timer_deadline(), 0);
	/* The receiver is on at reset: held-back input may come at once. */
	ck_assert_uint_eq(dev.chr.accept_calls, accepts + 1);
	ck_assert_uint_eq(input("z"), 1);
	ck_assert_uint_eq(rd(DR), 'z');
}
END_TEST

/* ---- device tree -------------------------------------------------------- */

static void *fdt_new(void)
{
	void *fdt = calloc(1, 65536);
	int chosen;

	ck_assert_int_eq(fdt_create_empty_tree(fdt, 65536), 0);
	ck_assert_int_eq(fdt_setprop_u32(fdt, 0, "#address-cells", 2), 0);
	ck_assert_int_eq(fdt_setprop_u32(fdt, 0, "#size-cells", 2), 0);
	chosen = fdt_add_subnode(fdt, 0, "chosen");
	ck_assert_int_ge(chosen, 0);
	return fdt;
}

START_TEST(test_fdt_node)
{
	void *fdt = fdt_new();
	const fdt32_t *c;
	const char *s;
	int node, len;

	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);
	ck_assert_int_eq(fdt_check_full(fdt, 65536), 0);

	node = fdt_path_offset(fdt, "/pl011@9000000");
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_stringlist_count(fdt, node, "compatible"), 2);
	ck_assert_str_eq(fdt_stringlist_get(fdt, node, "compatible", 0, NULL), "arm,pl011");
	ck_assert_str_eq(fdt_stringlist_get(fdt, node, "compatible", 1, NULL), "arm,primecell");

	c = fdt_getprop(fdt, node, "reg", &len);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(fdt32_to_cpu(c[0]), 0);
	ck_assert_uint_eq(fdt32_to_cpu(c[1]), 0x9000000);
	ck_assert_uint_eq(fdt32_to_cpu(c[2]), 0);
	ck_assert_uint_eq(fdt32_to_cpu(c[3]), 0x1000);

	/* The fake host encodes <kind num flags>: SPI 33, level-high (4). */
	c = fdt_getprop(fdt, node, "interrupts", &len);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(len, 12);
	ck_assert_uint_eq(fdt32_to_cpu(c[0]), AVMM_IRQ_SPI);
	ck_assert_uint_eq(fdt32_to_cpu(c[1]), IRQ);
	ck_assert_uint_eq(fdt32_to_cpu(c[2]), 4);

	c = fdt_getprop(fdt, node, "clocks", &len);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(len, 8);
	int clk = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(c[0]));
	ck_assert_int_ge(clk, 0);
	ck_assert_uint_eq(fdt32_to_cpu(c[1]), fdt32_to_cpu(c[0]));
	const fdt32_t *hz = fdt_getprop(fdt, clk, "clock-frequency", NULL);
	ck_assert_ptr_nonnull(hz);
	ck_assert_uint_eq(fdt32_to_cpu(*hz), 24000000);
	ck_assert_int_eq(fdt_stringlist_count(fdt, node, "clock-names"), 2);
	ck_assert_str_eq(fdt_stringlist_get(fdt, node, "clock-names", 0, NULL), "uartclk");
	ck_assert_str_eq(fdt_stringlist_get(fdt, node, "clock-names", 1, NULL), "apb_pclk");

	s = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "/pl011@9000000");
	s = fdt_get_alias(fdt, "serial0");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "/pl011@9000000");
	free(fdt);
}
END_TEST

START_TEST(test_fdt_second_uart)
{
	void *fdt = fdt_new();
	struct avmm_dev dev2;
	void *inst2 = NULL;
	char err[128];
	const char *s;

	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);

	fake_init(&dev2, "uart1", 1);
	fake_set(&dev2, "base", "0x9040000");
	fake_set(&dev2, "irq", "34");
	ck_assert_int_eq(avmm_plugin.create(&dev2, &fakehost, &inst2, err, sizeof(err)), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst2, fdt), 0);
	ck_assert_int_eq(fdt_check_full(fdt, 65536), 0);

	ck_assert_int_ge(fdt_path_offset(fdt, "/pl011@9040000"), 0);
	/* The first UART keeps the console; the second gets the next alias. */
	s = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", NULL);
	ck_assert_str_eq(s, "/pl011@9000000");
	ck_assert_str_eq(fdt_get_alias(fdt, "serial0"), "/pl011@9000000");
	ck_assert_str_eq(fdt_get_alias(fdt, "serial1"), "/pl011@9040000");
	avmm_plugin.destroy(inst2);
	fake_fini(&dev2);
	free(fdt);
}
END_TEST

START_TEST(test_fdt_existing_stdout)
{
	void *fdt = fdt_new();
	int chosen = fdt_path_offset(fdt, "/chosen");

	ck_assert_int_eq(fdt_setprop_string(fdt, chosen, "stdout-path", "/other"), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);
	ck_assert_int_eq(fdt_check_full(fdt, 65536), 0);
	ck_assert_str_eq(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", NULL),
			 "/other");
	ck_assert_str_eq(fdt_get_alias(fdt, "serial0"), "/pl011@9000000");
	free(fdt);
}
END_TEST

START_TEST(test_fdt_no_space)
{
	char small[256];

	ck_assert_int_eq(fdt_create_empty_tree(small, sizeof(small)), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, small), -ENOSPC);
}
END_TEST

static Suite *pl011_suite(void)
{
	Suite *s = suite_create("pl011");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_cfg_missing_base);
	tcase_add_test(tc, test_cfg_unaligned_base);
	tcase_add_test(tc, test_cfg_malformed_base);
	tcase_add_test(tc, test_cfg_missing_irq);
	tcase_add_test(tc, test_cfg_irq_out_of_range);
	tcase_add_test(tc, test_cfg_bad_clock);
	tcase_add_test(tc, test_cfg_all_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("registers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_descriptor);
	tcase_add_test(tc, test_reset_values);
	tcase_add_test(tc, test_id_registers);
	tcase_add_test(tc, test_dr_tx_in_order);
	tcase_add_test(tc, test_dr_tx_before_enable);
	tcase_add_test(tc, test_dr_rx_data);
	tcase_add_test(tc, test_rsr_ecr);
	tcase_add_test(tc, test_fr_rx_flags);
	tcase_add_test(tc, test_fr_modem_null_modem);
	tcase_add_test(tc, test_ilpr);
	tcase_add_test(tc, test_ibrd_fbrd_readback);
	tcase_add_test(tc, test_baud_latched_by_lcr_h);
	tcase_add_test(tc, test_lcr_h_fen);
	tcase_add_test(tc, test_cr);
	tcase_add_test(tc, test_cr_rx_disabled_holds_input);
	tcase_add_test(tc, test_no_firmware_both_directions);
	tcase_add_test(tc, test_tx_held_while_txe_clear);
	tcase_add_test(tc, test_ifls_trigger);
	tcase_add_test(tc, test_ifls_default_half);
	tcase_add_test(tc, test_imsc_mis_line);
	tcase_add_test(tc, test_ris_readonly);
	tcase_add_test(tc, test_icr);
	tcase_add_test(tc, test_dmacr);
	tcase_add_test(tc, test_bad_offset_and_width);
	tcase_add_test(tc, test_reset_hook);
	suite_add_tcase(s, tc);

	tc = tcase_create("datapath");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tx_interrupt);
	tcase_add_test(tc, test_rx_trigger_and_drain);
	tcase_add_test(tc, test_rx_full_exact_then_drain);
	tcase_add_test(tc, test_overrun);
	tcase_add_test(tc, test_receive_timeout);
	tcase_add_test(tc, test_receive_timeout_icr);
	tcase_add_test(tc, test_timeout_floor);
	tcase_add_test(tc, test_loopback);
	tcase_add_test(tc, test_loopback_needs_receiver);
	tcase_add_test(tc, test_loopback_break);
	tcase_add_test(tc, test_loopback_modem);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdt");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fdt_node);
	tcase_add_test(tc, test_fdt_second_uart);
	tcase_add_test(tc, test_fdt_existing_stdout);
	tcase_add_test(tc, test_fdt_no_space);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pl011_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
