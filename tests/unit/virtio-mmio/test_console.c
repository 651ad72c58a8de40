/* SPDX-License-Identifier: MIT */
/*
 * virtio-console through the plugin's real descriptor (`type = console`) on
 * the fake host, driven by the test driver: identity and config space,
 * output from the transmitq to the chardev (in order, used length 0, held and
 * retried while the backend is full, dropped past the stall bound, bounded
 * per pass), input from the chardev into posted receive buffers with the
 * chardev's flow control, device and system reset, QueueReady = 0, and
 * broken rings setting DEVICE_NEEDS_RESET.
 *
 * A full backend is the fake's own: its chr_write takes no more than the
 * room left in dev.chr.tx, so a test fills tx_len to make it short and
 * empties it to let output drain.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <avmm/avmm.h>

#include "fakehost.h"
#include "vdriver.h"

extern const struct avmm_plugin_desc avmm_plugin;

#define BASE 0x0a000000ull
#define IRQ 17
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x400000ull
#define BUF (RAM_BASE + VDRV_DATA)
#define RXQ 0
#define TXQ 1
#define MS 1000000ull

static struct avmm_dev dev;
static void *inst;
static struct vdrv drv;

static void setup(void)
{
	char err[160] = "";
	fake_init(&dev, "con0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", "console");
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "17");
	fake_set(&dev, "chardev", "unix:/tmp/con0.sock");
	ck_assert_msg(avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err)) == 0, "%s", err);
	/* `chardev` was looked up (an unknown key would be rejected). */
	ck_assert_uint_eq(fake_unused_keys(&dev), 0);
	ck_assert(dev.chr_open);
	ck_assert_ptr_nonnull(dev.chr.h);
	vdrv_init(&drv, &dev, BASE);
}

static void teardown(void)
{
	avmm_plugin.destroy(inst);
	/* No input may reach the freed instance: the chardev outlives it. */
	ck_assert_ptr_null(dev.chr.h);
	fake_fini(&dev);
}

static void up(void)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 2, 16);
}

/* A transmit chain of the readable pieces, kicked. */
static uint16_t tx_send(uint64_t gpa, const char *const *parts, unsigned n)
{
	struct vdrv_buf b[8];
	ck_assert_uint_le(n, 8);
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = (uint32_t)strlen(parts[i]);
		vdrv_mem_write(&drv, gpa + 0x1000ull * i, parts[i], len);
		b[i] = (struct vdrv_buf){gpa + 0x1000ull * i, len, false};
	}
	uint16_t head = vdrv_add(&drv, TXQ, b, n);
	vdrv_kick(&drv, TXQ);
	return head;
}

static uint16_t rx_post(uint64_t gpa, uint32_t len)
{
	struct vdrv_buf b = {gpa, len, true};
	uint16_t head = vdrv_add(&drv, RXQ, &b, 1);
	vdrv_kick(&drv, RXQ);
	return head;
}

static size_t input(const char *s)
{
	return fake_chr_input(&dev, (const uint8_t *)s, strlen(s));
}

START_TEST(identity)
{
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_MAGIC), 0x74726976);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_VERSION), 2);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_DEVICE_ID), 3); /* 5.3.1 */
	uint64_t f = vdrv_device_features(&drv);
	/* No SIZE (0), MULTIPORT (1) or EMERG_WRITE (2): one plain port (5.3.3). */
	ck_assert_uint_eq(f & 0xffffffull, 0);
	ck_assert(f & VDRV_F_VERSION_1);
	ck_assert(f & VDRV_F_INDIRECT);
	ck_assert(f & VDRV_F_EVENT_IDX);
	/* receiveq and transmitq of port 0, nothing more without MULTIPORT (5.3.2). */
	vdrv_wr(&drv, VDRV_QSEL, 0);
	ck_assert_uint_gt(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
	vdrv_wr(&drv, VDRV_QSEL, 1);
	ck_assert_uint_gt(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
	vdrv_wr(&drv, VDRV_QSEL, 2);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
}
END_TEST

START_TEST(config_space_zero)
{
	/*
	 * Linux reads cols and rows (le16 at 0 and 2) on every config
	 * interrupt without MULTIPORT: they exist and read 0, no guest error.
	 */
	uint64_t v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + 0, 2, &v), 0);
	ck_assert_uint_eq(v, 0);
	v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + 2, 2, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_CONFIG + 4), 0); /* max_nr_ports */
	ck_assert_uint_eq(dev.guest_errors, 0);
}
END_TEST

START_TEST(tx_in_order)
{
	up();
	const char *const p[] = {"hel", "lo, ", "world"};
	unsigned edges = dev.line_edges[IRQ];
	uint16_t head = tx_send(BUF, p, 3);
	ck_assert_uint_eq(dev.chr.tx_len, 12);
	ck_assert_mem_eq(dev.chr.tx, "hello, world", 12);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 0); /* the device wrote nothing into it */
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 1);

	/* Several chains on one kick: in ring order. */
	const char *const a[] = {"ab"}, *const c[] = {"cd"};
	struct vdrv_buf b1 = {BUF + 0x10000, 2, false}, b2 = {BUF + 0x11000, 2, false};
	vdrv_mem_write(&drv, b1.gpa, a[0], 2);
	vdrv_mem_write(&drv, b2.gpa, c[0], 2);
	vdrv_add(&drv, TXQ, &b1, 1);
	vdrv_add(&drv, TXQ, &b2, 1);
	vdrv_kick(&drv, TXQ);
	ck_assert_uint_eq(dev.chr.tx_len, 16);
	ck_assert_mem_eq(dev.chr.tx + 12, "abcd", 4);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
}
END_TEST

START_TEST(rx_into_posted_buffer)
{
	up();
	uint16_t head = rx_post(BUF, 64);
	unsigned edges = dev.line_edges[IRQ];
	ck_assert_uint_eq(input("hi\r"), 3);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 3);
	char back[3];
	vdrv_mem_read(&drv, BUF, back, 3);
	ck_assert_mem_eq(back, "hi\r", 3);
	ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(dev.chr.tx_len, 0);
}
END_TEST

START_TEST(rx_spans_buffers)
{
	up();
	/* Each buffer takes what fits; the rest goes into the next one. */
	uint16_t h1 = rx_post(BUF, 4);
	uint16_t h2 = rx_post(BUF + 0x1000, 4);
	ck_assert_uint_eq(input("abcdef"), 6);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, h1);
	ck_assert_uint_eq(len, 4);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, h2);
	ck_assert_uint_eq(len, 2);
	char back[4];
	vdrv_mem_read(&drv, BUF, back, 4);
	ck_assert_mem_eq(back, "abcd", 4);
	vdrv_mem_read(&drv, BUF + 0x1000, back, 2);
	ck_assert_mem_eq(back, "ef", 2);
	/* Out of buffers: the rest is refused, not lost. */
	ck_assert_uint_eq(input("g"), 0);
}
END_TEST

START_TEST(rx_skips_unwritable_chain)
{
	up();
	struct vdrv_buf ro = {BUF, 16, false};
	uint16_t h1 = vdrv_add(&drv, RXQ, &ro, 1);
	uint16_t h2 = rx_post(BUF + 0x1000, 16);
	ck_assert_uint_eq(input("x"), 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, h1);
	ck_assert_uint_eq(len, 0);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, h2);
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(rx_held_until_buffer_posted)
{
	up();
	ck_assert_uint_eq(input("a"), 0);
	/* A transmit kick posts no receive buffer: input stays held. */
	const char *const p[] = {"z"};
	tx_send(BUF + 0x8000, p, 1);
	ck_assert_uint_eq(input("a"), 0);
	unsigned accepts = dev.chr.accept_calls;
	uint16_t head = rx_post(BUF, 8);
	ck_assert_uint_eq(dev.chr.accept_calls, accepts + 1);
	ck_assert_uint_eq(input("a"), 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(rx_not_before_driver_ok)
{
	ck_assert_uint_eq(vdrv_negotiate(&drv, VDRV_F_VERSION_1),
			  VDRV_S_ACK | VDRV_S_DRIVER | VDRV_S_FEATURES_OK);
	vdrv_queue(&drv, RXQ, 16);
	vdrv_queue(&drv, TXQ, 16);
	struct vdrv_buf b = {BUF, 8, true};
	vdrv_add(&drv, RXQ, &b, 1);
	ck_assert_uint_eq(input("q"), 0);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	/* DRIVER_OK makes the buffer posted before it usable: input flows. */
	unsigned accepts = dev.chr.accept_calls;
	vdrv_driver_ok(&drv);
	ck_assert_uint_eq(dev.chr.accept_calls, accepts + 1);
	ck_assert_uint_eq(input("q"), 1);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(rx_queue_not_ready)
{
	/* DRIVER_OK with only the transmitq ready: no input. */
	ck_assert_uint_eq(vdrv_negotiate(&drv, VDRV_F_VERSION_1),
			  VDRV_S_ACK | VDRV_S_DRIVER | VDRV_S_FEATURES_OK);
	vdrv_queue(&drv, TXQ, 16);
	vdrv_driver_ok(&drv);
	ck_assert_uint_eq(input("q"), 0);
	/* Refused, not a ring error. */
	ck_assert(!(vdrv_rd(&drv, VDRV_STATUS) & VDRV_S_NEEDS_RESET));
}
END_TEST

START_TEST(tx_backpressure)
{
	up();
	dev.chr.tx_len = FAKE_TX_MAX - 2; /* the backend has room for two bytes */
	const char *const p[] = {"abcde"};
	uint16_t head = tx_send(BUF, p, 1);
	ck_assert_uint_eq(dev.chr.tx_len, FAKE_TX_MAX);
	ck_assert_mem_eq(dev.chr.tx + FAKE_TX_MAX - 2, "ab", 2);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len)); /* held, not dropped */
	/* A later chain waits behind it. */
	const char *const q[] = {"XY"};
	tx_send(BUF + 0x10000, q, 1);
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));

	/* The reader drains; the retry comes from a 1 ms timer, not a kick. */
	dev.chr.tx_len = 0;
	vdrv_poll(&drv);
	fake_advance(&dev, MS / 2);
	ck_assert_uint_eq(dev.chr.tx_len, 0);
	fake_advance(&dev, MS / 2);
	ck_assert_uint_eq(dev.chr.tx_len, 5);
	ck_assert_mem_eq(dev.chr.tx, "cdeXY", 5);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 0);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));
}
END_TEST

START_TEST(tx_stall_bound)
{
	up();
	dev.chr.tx_len = FAKE_TX_MAX; /* a reader that takes nothing */
	const char *const p[] = {"abc"};
	tx_send(BUF, p, 1);
	uint32_t id, len;
	/* Held while the stall is young: 99 retries. */
	for (int i = 0; i < 99; i++)
		fake_advance(&dev, MS);
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));
	/* 100 ms without progress: dropped, the guest gets its buffer back. */
	fake_advance(&dev, MS);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "dropping output"));
	dev.last_log[0] = '\0';
	/* Still nothing taken: later output is dropped at once, logged once. */
	const char *const q[] = {"de"};
	tx_send(BUF + 0x1000, q, 1);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_str_eq(dev.last_log, "");
	/* The reader is back and takes a whole write. */
	dev.chr.tx_len = 0;
	const char *const f[] = {"fg"};
	tx_send(BUF + 0x2000, f, 1);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(dev.chr.tx_len, 2);
	ck_assert_mem_eq(dev.chr.tx, "fg", 2);
	/* A new dead stall is waited out, dropped and logged like the first. */
	dev.chr.tx_len = FAKE_TX_MAX;
	const char *const z[] = {"z"};
	tx_send(BUF + 0x3000, z, 1);
	for (int i = 0; i < 99; i++)
		fake_advance(&dev, MS);
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));
	fake_advance(&dev, MS);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_ptr_nonnull(strstr(dev.last_log, "dropping output"));
	/* While dropping, a reader that takes anything is waited for again. */
	dev.chr.tx_len = FAKE_TX_MAX - 1;
	const char *const r[] = {"uvw"};
	tx_send(BUF + 0x4000, r, 1);
	ck_assert_int_eq(dev.chr.tx[FAKE_TX_MAX - 1], 'u');
	for (int i = 0; i < 99; i++)
		fake_advance(&dev, MS);
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));
	dev.chr.tx_len = 0;
	fake_advance(&dev, MS);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(dev.chr.tx_len, 2);
	ck_assert_mem_eq(dev.chr.tx, "vw", 2);
}
END_TEST

START_TEST(tx_bounded_per_pass)
{
	up();
	/* One 96 KiB chain in two pieces: more than the fake's 64 KiB takes at once. */
	enum { HALF = 48 * 1024, ALL = 2 * HALF };
	static uint8_t pat[ALL], got[ALL];
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + i / 251);
	struct vdrv_buf b[2] = {{BUF, HALF, false}, {BUF + 0x10000, HALF, false}};
	vdrv_mem_write(&drv, b[0].gpa, pat, HALF);
	vdrv_mem_write(&drv, b[1].gpa, pat + HALF, HALF);
	vdrv_add(&drv, TXQ, b, 2);
	vdrv_kick(&drv, TXQ);
	/* One pass stops short of filling the backend, then yields. */
	size_t done = dev.chr.tx_len;
	ck_assert_uint_gt(done, 0);
	ck_assert_uint_lt(done, ALL);
	memcpy(got, dev.chr.tx, done);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));
	/*
	 * It goes on at once, not after the 1 ms retry of a full backend: with
	 * no pass bound the first one would have filled the fake.
	 */
	uint64_t t0 = dev.now_ns;
	for (int i = 0; i < 8 && done < ALL; i++) {
		dev.chr.tx_len = 0;
		fake_advance(&dev, 0);
		ck_assert_uint_le(done + dev.chr.tx_len, ALL);
		memcpy(got + done, dev.chr.tx, dev.chr.tx_len);
		done += dev.chr.tx_len;
	}
	ck_assert_uint_eq(dev.now_ns, t0);
	ck_assert_uint_eq(done, ALL);
	ck_assert_mem_eq(got, pat, ALL);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
}
END_TEST

START_TEST(tx_with_ring_features)
{
	vdrv_up(&drv, VDRV_F_VERSION_1 | VDRV_F_EVENT_IDX | VDRV_F_INDIRECT, 2, 16);
	const char *const p[] = {"ok"};
	tx_send(BUF, p, 1);
	ck_assert_uint_eq(dev.chr.tx_len, 2);
	rx_post(BUF + 0x1000, 8);
	ck_assert_uint_eq(input("in"), 2);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(len, 2);
}
END_TEST

START_TEST(device_reset_drops_pending)
{
	up();
	dev.chr.tx_len = FAKE_TX_MAX;
	const char *const p[] = {"lost"};
	tx_send(BUF, p, 1);
	/* The receive side holds a chain too once input asks for room. */
	rx_post(BUF + 0x1000, 8);
	ck_assert_uint_gt(dev.chr.h->can_receive(dev.chr.opaque), 0);

	up(); /* Status = 0 and a fresh ring */
	dev.chr.tx_len = 0;
	fake_advance(&dev, 10 * MS);
	ck_assert_uint_eq(dev.chr.tx_len, 0); /* the old chain is gone, no retry */
	const char *const q[] = {"new"};
	uint16_t head = tx_send(BUF + 0x2000, q, 1);
	ck_assert_uint_eq(dev.chr.tx_len, 3);
	ck_assert_mem_eq(dev.chr.tx, "new", 3);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	/* Input goes into the new ring's buffer, not the chain held before. */
	head = rx_post(BUF + 0x3000, 8);
	ck_assert_uint_eq(input("k"), 1);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 1);
	char c;
	vdrv_mem_read(&drv, BUF + 0x3000, &c, 1);
	ck_assert_int_eq(c, 'k');
}
END_TEST

START_TEST(system_reset)
{
	up();
	dev.chr.tx_len = FAKE_TX_MAX;
	const char *const p[] = {"lost"};
	tx_send(BUF, p, 1);
	avmm_plugin.reset(inst);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_STATUS), 0);
	/* The retry timer is disarmed, not left to fire into an idle device. */
	for (unsigned i = 0; i < FAKE_MAX_TIMERS; i++)
		ck_assert(!dev.timers[i].used || !dev.timers[i].deadline);
	vdrv_wr(&drv, VDRV_QSEL, TXQ);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_QREADY), 0);
	dev.chr.tx_len = 0;
	fake_advance(&dev, 10 * MS);
	ck_assert_uint_eq(dev.chr.tx_len, 0);
	ck_assert_uint_eq(input("x"), 0); /* not live any more */
}
END_TEST

START_TEST(queue_stop_drops_pending)
{
	up();
	dev.chr.tx_len = FAKE_TX_MAX;
	const char *const p[] = {"lost"};
	tx_send(BUF, p, 1);
	vdrv_wr(&drv, VDRV_QSEL, TXQ);
	vdrv_wr(&drv, VDRV_QREADY, 0);
	dev.chr.tx_len = 0;
	fake_advance(&dev, 10 * MS);
	ck_assert_uint_eq(dev.chr.tx_len, 0);
	/* Made ready again with a fresh ring, it sends what is new only. */
	vdrv_queue(&drv, TXQ, 16);
	const char *const q[] = {"new"};
	tx_send(BUF + 0x1000, q, 1);
	ck_assert_uint_eq(dev.chr.tx_len, 3);
	ck_assert_mem_eq(dev.chr.tx, "new", 3);
}
END_TEST

START_TEST(tx_broken_ring_needs_reset)
{
	up();
	struct vdrv_buf b = {RAM_BASE + RAM_SIZE - 8, 64, false}; /* outside RAM */
	vdrv_add(&drv, TXQ, &b, 1);
	unsigned edges = dev.line_edges[IRQ];
	vdrv_kick(&drv, TXQ);
	ck_assert(vdrv_rd(&drv, VDRV_STATUS) & VDRV_S_NEEDS_RESET);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 2); /* configuration change */
	ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
	ck_assert_uint_eq(dev.chr.tx_len, 0);
	dev.guest_errors = 0;
	/* A reset brings it back. */
	up();
	ck_assert(!(vdrv_rd(&drv, VDRV_STATUS) & VDRV_S_NEEDS_RESET));
	const char *const p[] = {"back"};
	tx_send(BUF, p, 1);
	ck_assert_uint_eq(dev.chr.tx_len, 4);
}
END_TEST

START_TEST(rx_broken_ring_needs_reset)
{
	up();
	struct vdrv_buf b = {RAM_BASE + RAM_SIZE - 8, 64, true}; /* outside RAM */
	vdrv_add(&drv, RXQ, &b, 1);
	vdrv_kick(&drv, RXQ);
	unsigned edges = dev.line_edges[IRQ];
	ck_assert_uint_eq(input("x"), 0);
	ck_assert(vdrv_rd(&drv, VDRV_STATUS) & VDRV_S_NEEDS_RESET);
	ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
	/* Further input is refused without another interrupt. */
	vdrv_wr(&drv, VDRV_IACK, 2);
	ck_assert_uint_eq(input("x"), 0);
	ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
	dev.guest_errors = 0;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio-console");
	TCase *tc = tcase_create("console");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity);
	tcase_add_test(tc, config_space_zero);
	tcase_add_test(tc, tx_in_order);
	tcase_add_test(tc, rx_into_posted_buffer);
	tcase_add_test(tc, rx_spans_buffers);
	tcase_add_test(tc, rx_skips_unwritable_chain);
	tcase_add_test(tc, rx_held_until_buffer_posted);
	tcase_add_test(tc, rx_not_before_driver_ok);
	tcase_add_test(tc, rx_queue_not_ready);
	tcase_add_test(tc, tx_backpressure);
	tcase_add_test(tc, tx_stall_bound);
	tcase_add_test(tc, tx_bounded_per_pass);
	tcase_add_test(tc, tx_with_ring_features);
	tcase_add_test(tc, device_reset_drops_pending);
	tcase_add_test(tc, system_reset);
	tcase_add_test(tc, queue_stop_drops_pending);
	tcase_add_test(tc, tx_broken_ring_needs_reset);
	tcase_add_test(tc, rx_broken_ring_needs_reset);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
