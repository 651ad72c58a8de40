/* SPDX-License-Identifier: MIT */
/*
 * A recording implementation of struct avmm_host for plugin unit tests: the
 * plugin is created through its real descriptor and driven through the same
 * table the core gives it; the test reads back what it did.
 */
#ifndef AVMM_TESTS_FAKEHOST_H
#define AVMM_TESTS_FAKEHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

#define FAKE_MAX_KEYS 32
#define FAKE_MAX_REGIONS 8
#define FAKE_MAX_LINES 1024
#define FAKE_MAX_CPUS 8
#define FAKE_MAX_TIMERS 8
#define FAKE_TX_MAX 65536

struct fake_region {
	uint64_t base, size;
	const struct avmm_mmio_ops *ops;
	void *opaque;
};

struct avmm_timer {
	avmm_timer_fn fn;
	void *opaque;
	uint64_t deadline; /* 0: not armed */
	bool used;
};

struct avmm_chr {
	const struct avmm_chr_handlers *h;
	void *opaque;
	uint8_t tx[FAKE_TX_MAX];
	size_t tx_len;
	unsigned accept_calls;
};

struct avmm_dev {
	const char *name;
	struct {
		const char *key, *value;
		bool used;
	} cfg[FAKE_MAX_KEYS];
	unsigned ncfg;
	unsigned cfg_errors;

	struct fake_region regions[FAKE_MAX_REGIONS];
	unsigned nregions;

	bool line_level[FAKE_MAX_LINES];
	unsigned line_edges[FAKE_MAX_LINES]; /* number of 0->1 transitions */
	bool ppi_level[FAKE_MAX_CPUS][32];
	bool cpu_irq[FAKE_MAX_CPUS];
	unsigned cpu_irq_edges[FAKE_MAX_CPUS];
	unsigned ncpus;

	const struct avmm_irqchip_ops *irqchip;
	void *irqchip_opaque;

	avmm_cpu_timer_fn timer_fn;
	void *timer_opaque;

	uint8_t *ram;
	uint64_t ram_base, ram_size;

	struct avmm_chr chr;
	bool chr_open;

	struct avmm_timer timers[FAKE_MAX_TIMERS];
	uint64_t now_ns;

	unsigned guest_errors, unimp, errors;
	char last_log[512];

	bool exit_requested;
	int exit_status;
};

extern const struct avmm_host fakehost;

/* Reset *dev to empty with `ncpus` vCPUs. */
void fake_init(struct avmm_dev *dev, const char *name, unsigned ncpus);
void fake_fini(struct avmm_dev *dev);
void fake_set(struct avmm_dev *dev, const char *key, const char *value);
/* Keys set but never looked up (the core would reject them). */
unsigned fake_unused_keys(const struct avmm_dev *dev);
void fake_ram(struct avmm_dev *dev, uint64_t base, uint64_t size);

/* MMIO through the registered region containing addr: 0 or the handler's code. */
int fake_read(struct avmm_dev *dev, unsigned cpu, uint64_t addr, unsigned size, uint64_t *v);
int fake_write(struct avmm_dev *dev, unsigned cpu, uint64_t addr, unsigned size, uint64_t v);
/* Convenience: 32-bit access, aborting the test on a handler error. */
uint32_t fake_rd32(struct avmm_dev *dev, unsigned cpu, uint64_t addr);
void fake_wr32(struct avmm_dev *dev, unsigned cpu, uint64_t addr, uint32_t v);

/* Feed input through the chardev handlers; returns bytes accepted. */
size_t fake_chr_input(struct avmm_dev *dev, const uint8_t *buf, size_t len);
/* Advance fake time and fire due timers. */
void fake_advance(struct avmm_dev *dev, uint64_t ns);
/* Deliver a cpu timer event to the subscriber. */
void fake_cpu_timer(struct avmm_dev *dev, unsigned cpu, enum avmm_cpu_timer t, bool level);

#endif
