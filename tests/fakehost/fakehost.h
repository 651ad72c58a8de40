/* SPDX-License-Identifier: MIT */
/*
 * A recording implementation of struct avmm_host for plugin unit tests: the
 * plugin is created through its real descriptor and driven through the same
 * table the core gives it; the test reads back what it did.
 *
 * It is no friendlier than the core: tests/unit/contract runs one suite
 * against both.  What the core refuses the fake refuses too, and a refusal
 * that the core logs as a plugin bug is counted in `plugin_bugs`, which
 * fake_fini() requires to be zero (a test that provokes one on purpose
 * clears it).
 */
#ifndef AVMM_TESTS_FAKEHOST_H
#define AVMM_TESTS_FAKEHOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

#define FAKE_MAX_KEYS 32
#define FAKE_MAX_REGIONS 8
#define FAKE_MAX_LINES 1024
#define FAKE_MAX_CPUS 8
#define FAKE_MAX_TIMERS 16 /* live timers per device, as in the core */
#define FAKE_MAX_WATCHES 8
#define FAKE_TX_MAX 65536
#define FAKE_MAX_WORKERS 8 /* live workers per device, as in the core */
#define FAKE_MAX_DOORBELLS 8

struct fake_region {
	uint64_t base, size;
	struct avmm_mmio_ops ops; /* a copy, zero past the plugin's struct_size */
	void *opaque;
};

struct fake_watch {
	int fd;
	unsigned events;
	avmm_io_fn fn;
	void *opaque;
};

struct avmm_timer {
	avmm_timer_fn fn;
	void *opaque;
	uint64_t deadline; /* 0: not armed */
	bool used;
};

/*
 * A device worker.  The fake has no worker threads: fake_io_poll() (and so
 * the contract's run()) calls each kicked worker's fn once, on the calling
 * thread and WITHOUT the device lock, as the core's thread would.  Kicks
 * coalesce as in the core; a kick from fn is seen by the next poll.
 */
struct avmm_worker {
	struct avmm_dev *dev;
	avmm_worker_fn fn;
	void *opaque;
	_Atomic bool pending;
	bool used;
};

/*
 * A doorbell: fake_write() of a matching access rings it instead of calling
 * the handler; fake_io_poll() then fires it (fn under the device lock, or a
 * worker kick), as the core's I/O thread would.
 */
struct avmm_doorbell {
	struct avmm_doorbell_desc d;
	_Atomic bool rung;
	unsigned rings; /* writes that rang it, for tests */
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
	/* cfg_path resolves relative to this, as the core to the config file's. */
	const char *cfg_dir; /* NULL: "." */

	struct fake_region regions[FAKE_MAX_REGIONS];
	unsigned nregions;

	unsigned nr_lines; /* the irqchip's lines: FAKE_MAX_LINES unless set */
	bool line_claimed[FAKE_MAX_LINES];
	bool line_level[FAKE_MAX_LINES];
	unsigned line_edges[FAKE_MAX_LINES]; /* number of 0->1 transitions */
	bool ppi_level[FAKE_MAX_CPUS][32];
	bool cpu_irq[FAKE_MAX_CPUS];
	unsigned cpu_irq_edges[FAKE_MAX_CPUS];
	unsigned ncpus;

	/* Set when the device registered itself as the irqchip. */
	const struct avmm_irqchip_ops *irqchip;
	struct avmm_irqchip_ops irqchip_copy;
	void *irqchip_opaque;

	avmm_cpu_timer_fn timer_fn;
	void *timer_opaque;

	uint8_t *ram;
	uint64_t ram_base, ram_size;

	struct avmm_chr chr;
	bool chr_open;

	struct avmm_timer timers[FAKE_MAX_TIMERS];
	/* Fake time; atomic: vCPU-like test threads read it inside MMIO calls. */
	_Atomic uint64_t now_ns;

	struct fake_watch watches[FAKE_MAX_WATCHES];
	unsigned nwatches;

	struct avmm_worker workers[FAKE_MAX_WORKERS];
	struct avmm_doorbell doorbells[FAKE_MAX_DOORBELLS];
	unsigned ndoorbells;

	/* Held around every call into the plugin, like the core's device lock. */
	pthread_mutex_t lock;

	unsigned guest_errors, unimp, errors;
	unsigned plugin_bugs; /* host calls the core refuses as plugin bugs */
	char last_log[512];

	bool exit_requested;
	int exit_status;
};

extern const struct avmm_host fakehost;

/* Reset *dev to empty with `ncpus` vCPUs. */
void fake_init(struct avmm_dev *dev, const char *name, unsigned ncpus);
/* Release it; aborts if plugin_bugs is not zero. */
void fake_fini(struct avmm_dev *dev);
void fake_set(struct avmm_dev *dev, const char *key, const char *value);
/* Keys set but never looked up (the core would reject them). */
unsigned fake_unused_keys(const struct avmm_dev *dev);
void fake_ram(struct avmm_dev *dev, uint64_t base, uint64_t size);

/*
 * MMIO through the registered region containing addr, checked like the
 * core's dispatch: -EFAULT when unmapped; a write a doorbell matches rings
 * it (returns 0, no handler call); a width the region does not accept,
 * a misaligned or region-straddling access is RAZ/WI (a guest error) and
 * returns 0; else the handler's code (a read it rejects reads as zero).
 */
int fake_read(struct avmm_dev *dev, unsigned cpu, uint64_t addr, unsigned size, uint64_t *v);
int fake_write(struct avmm_dev *dev, unsigned cpu, uint64_t addr, unsigned size, uint64_t v);
/* Convenience: 32-bit access, aborting the test on a handler error. */
uint32_t fake_rd32(struct avmm_dev *dev, unsigned cpu, uint64_t addr);
void fake_wr32(struct avmm_dev *dev, unsigned cpu, uint64_t addr, uint32_t v);

/* Feed input through the chardev handlers; returns bytes accepted. */
size_t fake_chr_input(struct avmm_dev *dev, const uint8_t *buf, size_t len);
/* Advance fake time and fire due timers. */
void fake_advance(struct avmm_dev *dev, uint64_t ns);
/*
 * Run every kicked worker once (without the device lock), then fire rung
 * doorbells and poll the watched fds once without waiting and call the
 * ready ones (with it).
 */
void fake_io_poll(struct avmm_dev *dev);
/* Deliver a cpu timer event to the subscriber. */
void fake_cpu_timer(struct avmm_dev *dev, unsigned cpu, enum avmm_cpu_timer t, bool level);

#endif
