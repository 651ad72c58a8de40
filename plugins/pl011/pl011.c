/* SPDX-License-Identifier: MIT */
/*
 * Arm PrimeCell UART (PL011), revision r1p5, as Linux's amba-pl011 driver and
 * its earlycon use it.  Register behaviour follows the PL011 TRM (DDI 0183).
 *
 * Transmission is instantaneous: every character written to DR while the
 * transmitter is enabled goes straight to the character backend, so the TX
 * FIFO reads empty, FR.BUSY is clear and the TX interrupt is raised each time
 * a character "leaves".  With CR.TXE clear, characters wait in the TX FIFO
 * (FR.TXFE clear, BUSY set, TXFF when full; a write to a full FIFO is lost)
 * until TXE is set again.  Reception goes through a real 32-entry FIFO
 * (1 entry with LCR_H.FEN clear) whose free space is what the backend may
 * deliver; with CR.RXE clear the backend holds input back.
 *
 * CR.UARTEN gates neither direction.  The TRM resets CR to TXE | RXE with
 * UARTEN clear and leaves it to firmware to set UARTEN; a machine booted
 * straight into a kernel or a bare-metal program has no such firmware, and
 * Linux's earlycon writes without enabling the UART.  QEMU's model sends and
 * receives regardless of UARTEN too, so a guest behaves the same under both.
 * TXE and RXE are honoured exactly, and both directions follow one rule.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <avmm/avmm.h>

#define PL011_REGION_SIZE 0x1000u
#define PL011_FIFO_DEPTH 32u /* r1p5; earlier revisions had 16 */
#define PL011_DEFAULT_CLK 24000000u
/*
 * Floor for the receive timeout.  32 bit periods at the fastest rate a 24 MHz
 * UARTCLK allows (1.5 Mbaud) is ~21 us; a zero or bogus divisor falls back to
 * this so the timer can never fire faster than a real UART could.
 */
#define PL011_MIN_TIMEOUT_NS 20000ull

/* Register offsets. */
#define UARTDR 0x000
#define UARTRSR 0x004 /* UARTECR on write */
#define UARTFR 0x018
#define UARTILPR 0x020
#define UARTIBRD 0x024
#define UARTFBRD 0x028
#define UARTLCR_H 0x02c
#define UARTCR 0x030
#define UARTIFLS 0x034
#define UARTIMSC 0x038
#define UARTRIS 0x03c
#define UARTMIS 0x040
#define UARTICR 0x044
#define UARTDMACR 0x048
#define UARTITCR 0x080 /* integration test registers, 0x080 - 0x08c */
#define UARTTDR 0x08c
#define UARTPERIPHID0 0xfe0
#define UARTPCELLID3 0xffc

/* DR read: error bits above the data; RSR holds the same four in 3:0. */
#define DR_FE (1u << 8)
#define DR_PE (1u << 9)
#define DR_BE (1u << 10)
#define DR_OE (1u << 11)
#define RSR_OE (1u << 3)

/* FR */
#define FR_CTS (1u << 0)
#define FR_DSR (1u << 1)
#define FR_DCD (1u << 2)
#define FR_BUSY (1u << 3)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_RXFF (1u << 6)
#define FR_TXFE (1u << 7)
#define FR_RI (1u << 8)
#define FR_MODEM (FR_CTS | FR_DSR | FR_DCD | FR_RI)

/* LCR_H */
#define LCR_H_BRK (1u << 0)
#define LCR_H_FEN (1u << 4)
#define LCR_H_MASK 0xffu

/* CR (bits 6:3 are reserved) */
#define CR_UARTEN (1u << 0)
#define CR_SIREN (1u << 1)
#define CR_LBE (1u << 7)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)
#define CR_DTR (1u << 10)
#define CR_RTS (1u << 11)
#define CR_OUT1 (1u << 12)
#define CR_OUT2 (1u << 13)
#define CR_MASK 0xff87u
#define CR_RESET (CR_RXE | CR_TXE)

/* IFLS */
#define IFLS_MASK 0x3fu
#define IFLS_RESET 0x12u /* both FIFOs at 1/2 */

/* Interrupt bits: IMSC, RIS, MIS, ICR share the layout. */
#define INT_RI (1u << 0)
#define INT_CTS (1u << 1)
#define INT_DCD (1u << 2)
#define INT_DSR (1u << 3)
#define INT_RX (1u << 4)
#define INT_TX (1u << 5)
#define INT_RT (1u << 6)
#define INT_FE (1u << 7)
#define INT_PE (1u << 8)
#define INT_BE (1u << 9)
#define INT_OE (1u << 10)
#define INT_MASK 0x7ffu

/* DMACR */
#define DMACR_RXDMAE (1u << 0)
#define DMACR_TXDMAE (1u << 1)
#define DMACR_MASK 0x7u

/*
 * PeriphID0-3 then PCellID0-3.  PeriphID2 = 0x34: revision 3 (r1p5), which is
 * what tells Linux the FIFOs are 32 deep.
 */
static const uint8_t pl011_id[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

struct pl011 {
	struct avmm_dev *dev;
	const struct avmm_host *host;
	struct avmm_chr *chr;
	struct avmm_timer *rx_timer;
	uint64_t base;
	uint32_t clk_hz;
	unsigned irq;
	bool irq_level;

	/* TX FIFO: only fills while CR.TXE is clear. */
	uint8_t tx_fifo[PL011_FIFO_DEPTH];
	unsigned tx_head, tx_count;
	/* RX FIFO: 8 data bits and the 4 error bits of DR per entry. */
	uint16_t rx_fifo[PL011_FIFO_DEPTH];
	unsigned rx_head, rx_count;
	/* can_receive() said 0 or the FIFO filled: the core waits for accept_input. */
	bool rx_blocked;

	uint32_t rsr, ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, ris, dmacr;
	uint32_t divisor; /* IBRD:FBRD as latched by the last LCR_H write */
	uint32_t modem;   /* FR modem status bits currently seen */
};

/* ---- state helpers ------------------------------------------------------ */

static void pl011_update(struct pl011 *s)
{
	bool level = (s->ris & s->imsc) != 0;

	if (level != s->irq_level) {
		s->irq_level = level;
		s->host->irq_set(s->dev, s->irq, level);
	}
}


/* RX trigger level in characters: 1/8, 1/4, 1/2, 3/4, 7/8 of the FIFO. */
static unsigned pl011_rx_trigger(const struct pl011 *s)
{
	static const unsigned eighths[8] = {1, 2, 4, 6, 7, 4, 4, 4};

	if (!(s->lcr_h & LCR_H_FEN))
		return 1;
	return PL011_FIFO_DEPTH * eighths[(s->ifls >> 3) & 7] / 8;
}

/* FIFO depth for either direction: LCR_H.FEN sets both. */
static unsigned pl011_fifo_depth(const struct pl011 *s)
{
	return (s->lcr_h & LCR_H_FEN) ? PL011_FIFO_DEPTH : 1;
}

/* UARTEN is deliberately not a gate: see the comment at the top. */
static bool pl011_rx_enabled(const struct pl011 *s)
{
	return s->cr & CR_RXE;
}

static bool pl011_tx_enabled(const struct pl011 *s)
{
	return s->cr & CR_TXE;
}

/*
 * Modem status inputs.  Outside loopback the far end is a null-modem cable
 * to an always-ready host: CTS, DSR and DCD asserted, no ring.  In loopback
 * the outputs feed the inputs (RTS->CTS, DTR->DSR, Out1->DCD, Out2->RI).
 */
static uint32_t pl011_modem_inputs(const struct pl011 *s)
{
	uint32_t m = 0;

	if (!(s->cr & CR_LBE))
		return FR_CTS | FR_DSR | FR_DCD;
	if (s->cr & CR_RTS)
		m |= FR_CTS;
	if (s->cr & CR_DTR)
		m |= FR_DSR;
	if (s->cr & CR_OUT1)
		m |= FR_DCD;
	if (s->cr & CR_OUT2)
		m |= FR_RI;
	return m;
}

/* Latch new modem inputs; any change raises that line's modem interrupt. */
static void pl011_modem_refresh(struct pl011 *s)
{
	uint32_t now = pl011_modem_inputs(s), delta = now ^ s->modem;

	if (delta & FR_CTS)
		s->ris |= INT_CTS;
	if (delta & FR_DSR)
		s->ris |= INT_DSR;
	if (delta & FR_DCD)
		s->ris |= INT_DCD;
	if (delta & FR_RI)
		s->ris |= INT_RI;
	s->modem = now;
}

/* If the core is holding input back and there is room now, let it go on. */
static void pl011_rx_unblock(struct pl011 *s)
{
	if (s->rx_blocked && pl011_rx_enabled(s) && s->rx_count < pl011_fifo_depth(s)) {
		s->rx_blocked = false;
		s->host->chr_accept_input(s->chr);
	}
}

/* 32 bit periods of the latched baud rate: 32 * 16 * (divisor / 64) UARTCLKs. */
static uint64_t pl011_rx_timeout_ns(const struct pl011 *s)
{
	uint64_t ns = 8000000000ull * s->divisor / s->clk_hz;

	return ns < PL011_MIN_TIMEOUT_NS ? PL011_MIN_TIMEOUT_NS : ns;
}

static void pl011_rx_arm_timeout(struct pl011 *s)
{
	s->host->timer_mod(s->rx_timer, s->host->clock_ns() + pl011_rx_timeout_ns(s));
}

/*
 * Store one received character (with error bits).  A full FIFO drops it: the
 * FIFO keeps its contents and the overrun is flagged on the last character
 * stored, i.e. just before the lost data, as Linux reports it.
 */
static void pl011_rx_push(struct pl011 *s, uint16_t v)
{
	if (s->rx_count >= pl011_fifo_depth(s)) {
		unsigned tail = (s->rx_head + s->rx_count - 1) % PL011_FIFO_DEPTH;

		s->rx_fifo[tail] |= DR_OE;
		s->rsr |= RSR_OE;
		s->ris |= INT_OE;
		return;
	}
	s->rx_fifo[(s->rx_head + s->rx_count) % PL011_FIFO_DEPTH] = v;
	s->rx_count++;
	/* RXIS fires as the level passes the trigger, not while above it. */
	if (s->rx_count == pl011_rx_trigger(s))
		s->ris |= INT_RX;
	if (v & DR_BE)
		s->ris |= INT_BE;
	if (v & DR_FE)
		s->ris |= INT_FE;
	if (v & DR_PE)
		s->ris |= INT_PE;
	if (s->rx_count >= pl011_fifo_depth(s))
		s->rx_blocked = true;
}

static uint32_t pl011_rx_pop(struct pl011 *s)
{
	uint16_t v;

	if (!s->rx_count)
		return 0;
	v = s->rx_fifo[s->rx_head];
	s->rx_head = (s->rx_head + 1) % PL011_FIFO_DEPTH;
	s->rx_count--;

	/* RSR reports the errors of the character just read, plus sticky OE. */
	s->rsr = (s->rsr & RSR_OE) | ((v >> 8) & 7u);
	if (s->rx_count < pl011_rx_trigger(s))
		s->ris &= ~INT_RX;
	if (!s->rx_count) {
		s->ris &= ~INT_RT;
		s->host->timer_del(s->rx_timer);
	}
	pl011_rx_unblock(s);
	return v;
}

/* One character onto the line (or, in loopback, back into the receiver). */
static void pl011_tx_line(struct pl011 *s, uint8_t c)
{
	if (s->cr & CR_LBE) {
		if (pl011_rx_enabled(s)) {
			pl011_rx_push(s, c);
			pl011_rx_arm_timeout(s);
		}
	} else {
		(void)s->host->chr_write(s->chr, &c, 1);
	}
	/* The character left at once: the FIFO is empty, below any trigger. */
	s->ris |= INT_TX;
}

/* A DR write: out at once, or into the TX FIFO while the transmitter is off. */
static void pl011_tx(struct pl011 *s, uint8_t c)
{
	if (pl011_tx_enabled(s)) {
		pl011_tx_line(s, c);
		return;
	}
	if (s->tx_count >= pl011_fifo_depth(s)) {
		/* TRM: data written to a full transmit FIFO is lost. */
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			     "DR write to a full TX FIFO with CR.TXE clear: character lost");
		return;
	}
	s->tx_fifo[(s->tx_head + s->tx_count) % PL011_FIFO_DEPTH] = c;
	s->tx_count++;
}

/* TXE set again: what waited in the TX FIFO leaves, in order. */
static void pl011_tx_drain(struct pl011 *s)
{
	while (s->tx_count && pl011_tx_enabled(s)) {
		uint8_t c = s->tx_fifo[s->tx_head];

		s->tx_head = (s->tx_head + 1) % PL011_FIFO_DEPTH;
		s->tx_count--;
		pl011_tx_line(s, c);
	}
}

static void pl011_reset_state(struct pl011 *s)
{
	s->rx_head = s->rx_count = 0;
	s->tx_head = s->tx_count = 0;
	s->rsr = s->ilpr = s->ibrd = s->fbrd = s->lcr_h = 0;
	s->imsc = s->ris = s->dmacr = s->divisor = 0;
	s->cr = CR_RESET;
	s->ifls = IFLS_RESET;
	s->modem = pl011_modem_inputs(s);
	/* Wait for the first can_receive; it says how much room there is. */
	s->rx_blocked = true;
}

/* ---- MMIO --------------------------------------------------------------- */

static int pl011_read(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
		      uint64_t *value)
{
	struct pl011 *s = opaque;
	uint32_t v = 0;

	(void)cpu;
	*value = 0;
	/* Narrow accesses are fine on a register's low bytes (earlycon uses readb on DR). */
	if (offset & 3) {
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			     "read of %u bytes at unaligned offset 0x%" PRIx64, size, offset);
		return 0;
	}

	if (offset >= UARTPERIPHID0 && offset <= UARTPCELLID3) {
		v = pl011_id[(offset - UARTPERIPHID0) >> 2];
		goto out;
	}
	if (offset >= UARTITCR && offset <= UARTTDR) {
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_UNIMP,
			     "integration test register 0x%" PRIx64 " read", offset);
		goto out;
	}

	switch (offset) {
	case UARTDR:
		v = pl011_rx_pop(s);
		pl011_update(s);
		break;
	case UARTRSR:
		v = s->rsr;
		break;
	case UARTFR:
		v = s->modem;
		/* BUSY: set while the TX FIFO holds data, even with TXE clear. */
		v |= s->tx_count ? FR_BUSY : FR_TXFE;
		if (s->tx_count >= pl011_fifo_depth(s))
			v |= FR_TXFF;
		if (!s->rx_count)
			v |= FR_RXFE;
		if (s->rx_count >= pl011_fifo_depth(s))
			v |= FR_RXFF;
		break;
	case UARTILPR:
		v = s->ilpr;
		break;
	case UARTIBRD:
		v = s->ibrd;
		break;
	case UARTFBRD:
		v = s->fbrd;
		break;
	case UARTLCR_H:
		v = s->lcr_h;
		break;
	case UARTCR:
		v = s->cr;
		break;
	case UARTIFLS:
		v = s->ifls;
		break;
	case UARTIMSC:
		v = s->imsc;
		break;
	case UARTRIS:
		v = s->ris;
		break;
	case UARTMIS:
		v = s->ris & s->imsc;
		break;
	case UARTDMACR:
		v = s->dmacr;
		break;
	default:
		/* Includes the write-only ICR. */
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			     "read of unknown or write-only offset 0x%" PRIx64, offset);
		break;
	}
out:
	*value = size >= 4 ? v : v & ((1u << (8 * size)) - 1);
	return 0;
}

static void pl011_write_lcr_h(struct pl011 *s, uint32_t v)
{
	uint32_t old = s->lcr_h;

	s->lcr_h = v & LCR_H_MASK;
	/* IBRD, FBRD and LCR_H form one register, updated by the LCR_H write. */
	s->divisor = (s->ibrd << 6) | s->fbrd;
	/*
	 * A break in loopback reaches our own receiver: one 0 character with BE.
	 * Outside loopback a character backend has no way to carry a break.
	 */
	if ((s->lcr_h & ~old & LCR_H_BRK) && (s->cr & CR_LBE) && pl011_rx_enabled(s)) {
		pl011_rx_push(s, DR_BE);
		pl011_rx_arm_timeout(s);
	}
	/* Turning the FIFO on makes room; turning it off keeps what is queued. */
	pl011_rx_unblock(s);
}

static void pl011_write_cr(struct pl011 *s, uint32_t v)
{
	uint32_t set = (v & CR_MASK) & ~s->cr;

	s->cr = v & CR_MASK;
	if (set & CR_SIREN)
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_UNIMP,
			     "IrDA SIR mode is not modelled; staying in UART mode");
	pl011_modem_refresh(s);
	pl011_tx_drain(s);
	pl011_rx_unblock(s);
}

static int pl011_write(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
		       uint64_t value)
{
	struct pl011 *s = opaque;
	uint32_t v = (uint32_t)value;

	(void)cpu;
	if (offset & 3) {
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			     "write of %u bytes at unaligned offset 0x%" PRIx64, size, offset);
		return 0;
	}

	if (offset >= UARTITCR && offset <= UARTTDR) {
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_UNIMP,
			     "integration test register 0x%" PRIx64 " written", offset);
		return 0;
	}

	switch (offset) {
	case UARTDR:
		pl011_tx(s, (uint8_t)v);
		break;
	case UARTRSR: /* UARTECR: any write clears the error status */
		s->rsr = 0;
		break;
	case UARTILPR:
		s->ilpr = v & 0xff;
		break;
	case UARTIBRD:
		s->ibrd = v & 0xffff;
		break;
	case UARTFBRD:
		s->fbrd = v & 0x3f;
		break;
	case UARTLCR_H:
		pl011_write_lcr_h(s, v);
		break;
	case UARTCR:
		pl011_write_cr(s, v);
		break;
	case UARTIFLS:
		if ((v & 7) > 4 || ((v >> 3) & 7) > 4)
			s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
				     "reserved IFLS trigger level 0x%x; using 1/2", v & IFLS_MASK);
		s->ifls = v & IFLS_MASK;
		break;
	case UARTIMSC:
		s->imsc = v & INT_MASK;
		break;
	case UARTICR:
		s->ris &= ~(v & INT_MASK);
		break;
	case UARTDMACR:
		s->dmacr = v & DMACR_MASK;
		if (s->dmacr & (DMACR_RXDMAE | DMACR_TXDMAE))
			s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_UNIMP,
				     "DMA requested (DMACR=0x%x) but there is no DMA controller",
				     s->dmacr);
		break;
	default:
		/* Includes the read-only FR, RIS, MIS and ID registers. */
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			     "write 0x%x to unknown or read-only offset 0x%" PRIx64, v, offset);
		return 0;
	}
	pl011_update(s);
	return 0;
}

static const struct avmm_mmio_ops pl011_mmio_ops = {
	.struct_size = sizeof(struct avmm_mmio_ops),
	.valid_sizes = AVMM_SIZE_1 | AVMM_SIZE_2 | AVMM_SIZE_4,
	.read = pl011_read,
	.write = pl011_write,
};

/* ---- character backend and timer (I/O thread) --------------------------- */

static size_t pl011_can_receive(void *opaque)
{
	struct pl011 *s = opaque;
	unsigned depth = pl011_fifo_depth(s);

	/* A disabled receiver takes nothing: the core holds input back. */
	if (!pl011_rx_enabled(s) || s->rx_count >= depth) {
		s->rx_blocked = true;
		return 0;
	}
	return depth - s->rx_count;
}

static void pl011_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct pl011 *s = opaque;

	if (!pl011_rx_enabled(s))
		return;
	for (size_t i = 0; i < len; i++)
		pl011_rx_push(s, buf[i]);
	if (s->rx_count)
		pl011_rx_arm_timeout(s);
	pl011_update(s);
}

static const struct avmm_chr_handlers pl011_chr_handlers = {
	.struct_size = sizeof(struct avmm_chr_handlers),
	.can_receive = pl011_can_receive,
	.receive = pl011_receive,
};

/* No new character for 32 bit periods while data waits: receive timeout. */
static void pl011_rx_timeout(void *opaque)
{
	struct pl011 *s = opaque;

	if (s->rx_count) {
		s->ris |= INT_RT;
		pl011_update(s);
	}
}

/* ---- plugin hooks ------------------------------------------------------- */

static int pl011_cfg(struct pl011 *s, char *err, size_t errlen)
{
	const struct avmm_host *h = s->host;
	uint64_t clk = PL011_DEFAULT_CLK;
	int rc;

	rc = h->cfg_u64(s->dev, "base", &s->base);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "missing required key 'base'");
		return -EINVAL;
	}
	if (rc)
		return rc;
	if (s->base & (PL011_REGION_SIZE - 1) || s->base > UINT64_MAX - PL011_REGION_SIZE)
		return h->cfg_error(s->dev, "base", "0x%" PRIx64 " is not a 4 KiB aligned address",
				    s->base);

	rc = h->irq_claim(s->dev, "irq", &s->irq);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "missing required key 'irq'");
		return -EINVAL;
	}
	if (rc)
		return rc;

	rc = h->cfg_u64(s->dev, "clock-frequency", &clk);
	if (rc && rc != -ENOENT)
		return rc;
	if (!clk || clk > UINT32_MAX)
		return h->cfg_error(s->dev, "clock-frequency",
				    "%" PRIu64 " Hz is out of range (1 .. 4294967295)", clk);
	s->clk_hz = (uint32_t)clk;
	return 0;
}

static int pl011_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
			char *err, size_t errlen)
{
	struct pl011 *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->dev = dev;
	s->host = host;

	rc = pl011_cfg(s, err, errlen);
	if (rc)
		goto fail;

	rc = host->chr_open(dev, "chardev", "stdio", &s->chr);
	if (rc) {
		/* -EINVAL: the host already reported it at the key. */
		if (rc != -EINVAL)
			snprintf(err, errlen, "cannot open character backend: %s", strerror(-rc));
		goto fail;
	}
	rc = host->timer_new(dev, pl011_rx_timeout, s, &s->rx_timer);
	if (rc) {
		snprintf(err, errlen, "cannot create receive-timeout timer: %s", strerror(-rc));
		goto fail;
	}
	pl011_reset_state(s);

	rc = host->mmio_register(dev, "base", s->base, PL011_REGION_SIZE, &pl011_mmio_ops, s);
	if (rc) {
		/* Overlaps (-EEXIST) are reported by the host, citing `base`. */
		if (rc != -EEXIST)
			snprintf(err, errlen, "cannot map registers at 0x%" PRIx64 ": %s", s->base,
				 strerror(-rc));
		goto fail;
	}
	rc = host->chr_set_handlers(s->chr, &pl011_chr_handlers, s);
	if (rc) {
		snprintf(err, errlen, "cannot attach to character backend: %s", strerror(-rc));
		goto fail;
	}
	*instance = s;
	return 0;

fail:
	if (s->rx_timer)
		host->timer_free(s->rx_timer);
	free(s);
	return rc;
}

static void pl011_destroy(void *instance)
{
	struct pl011 *s = instance;

	if (!s)
		return;
	s->host->timer_free(s->rx_timer);
	free(s);
}

static void pl011_reset(void *instance)
{
	struct pl011 *s = instance;

	s->host->timer_del(s->rx_timer);
	pl011_reset_state(s);
	/* Force the line to the (low) reset level whatever we thought it was. */
	s->irq_level = false;
	s->host->irq_set(s->dev, s->irq, false);
	/* The receiver is on at reset: input the old FIFO held back may flow. */
	pl011_rx_unblock(s);
}

static int pl011_fdt_err(int err)
{
	return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

/* /aliases/serialN for the first free N, creating /aliases if needed. */
static int pl011_fdt_alias(void *fdt, const char *path)
{
	char name[16];
	int node = fdt_path_offset(fdt, "/aliases");

	if (node < 0)
		node = fdt_add_subnode(fdt, 0, "aliases");
	if (node < 0)
		return pl011_fdt_err(node);
	for (unsigned n = 0; n < 1000; n++) {
		snprintf(name, sizeof(name), "serial%u", n);
		if (fdt_getprop(fdt, node, name, NULL))
			continue;
		node = fdt_setprop_string(fdt, node, name, path);
		return node ? pl011_fdt_err(node) : 0;
	}
	return -ENOSPC;
}

/* First UART wins /chosen/stdout-path. */
static int pl011_fdt_stdout(void *fdt, const char *path)
{
	int node = fdt_path_offset(fdt, "/chosen");

	if (node < 0)
		node = fdt_add_subnode(fdt, 0, "chosen");
	if (node < 0)
		return pl011_fdt_err(node);
	if (fdt_getprop(fdt, node, "stdout-path", NULL))
		return 0;
	node = fdt_setprop_string(fdt, node, "stdout-path", path);
	return node ? pl011_fdt_err(node) : 0;
}

static int pl011_fdt_populate(void *instance, void *fdt)
{
	static const char compatible[] = "arm,pl011\0arm,primecell";
	static const char clock_names[] = "uartclk\0apb_pclk";
	struct pl011 *s = instance;
	struct avmm_irq_spec spec = {AVMM_IRQ_SPI, s->irq, AVMM_IRQ_LEVEL_HIGH};
	char path[40];
	fdt64_t reg[2] = {cpu_to_fdt64(s->base), cpu_to_fdt64(PL011_REGION_SIZE)};
	fdt32_t clocks[2];
	uint32_t clk_phandle;
	int node, rc;

	/* The clock node first: adding it may move every later node offset. */
	rc = s->host->fdt_clock(s->dev, fdt, s->clk_hz, &clk_phandle);
	if (rc)
		return rc;
	clocks[0] = clocks[1] = cpu_to_fdt32(clk_phandle);

	snprintf(path, sizeof(path), "/pl011@%" PRIx64, s->base);
	node = fdt_add_subnode(fdt, 0, path + 1);
	if (node < 0)
		return pl011_fdt_err(node);
	rc = fdt_setprop(fdt, node, "compatible", compatible, sizeof(compatible));
	if (!rc)
		rc = fdt_setprop(fdt, node, "reg", reg, sizeof(reg));
	if (!rc)
		rc = fdt_setprop(fdt, node, "clocks", clocks, sizeof(clocks));
	if (!rc)
		rc = fdt_setprop(fdt, node, "clock-names", clock_names, sizeof(clock_names));
	if (rc)
		return pl011_fdt_err(rc);
	rc = s->host->fdt_set_interrupts(s->dev, fdt, node, &spec, 1);
	if (rc)
		return rc;

	rc = pl011_fdt_stdout(fdt, path);
	if (rc)
		return rc;
	return pl011_fdt_alias(fdt, path);
}

AVMM_PLUGIN_DEFINE(.name = "pl011",
		   .summary = "Arm PrimeCell PL011 UART (r1p5)",
		   .create = pl011_create,
		   .destroy = pl011_destroy,
		   .fdt_populate = pl011_fdt_populate,
		   .reset = pl011_reset);
