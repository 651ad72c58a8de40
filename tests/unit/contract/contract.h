/* SPDX-License-Identifier: MIT */
/*
 * One host contract, two implementations.  contract.c holds the cases: what
 * <avmm/avmm.h> promises a plugin about struct avmm_host.  An environment
 * binds them to one implementation: env_fake.c to tests/fakehost (what plugin
 * unit tests run against), env_core.c to core/device.c with a real I/O thread
 * (what plugins get in a VM).  Both must pass, so a plugin test cannot pass
 * against a friendlier host than the real one.
 *
 * The machine is the same in both: devices chip, a and b (see CONTRACT_INI),
 * 2 vCPUs, 1 MiB of RAM at CONTRACT_RAM_BASE.  No irqchip is registered until
 * a case registers one on `chip` (most use contract_chip_up()).
 */
#ifndef AVMM_TESTS_CONTRACT_H
#define AVMM_TESTS_CONTRACT_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include <avmm/avmm.h>

#define CONTRACT_NCPUS 2
#define CONTRACT_RAM_BASE 0x40000000ull
#define CONTRACT_RAM_SIZE 0x100000ull
#define CONTRACT_CHIP_LINES 32
/* Where the machine's config file is, for cfg_path: a directory with files. */
#define CONTRACT_CFG_DIR "/dev"

enum { CDEV_CHIP, CDEV_A, CDEV_B, CDEV_COUNT };

/* Every device's keys; an environment gives them to its implementation. */
struct contract_key {
	unsigned dev;
	const char *key, *value;
};
extern const struct contract_key contract_keys[];
extern const char *const contract_dev_names[CDEV_COUNT];

struct contract_env {
	const char *name;
	const struct avmm_host *host;
	void (*setup)(void);
	void (*teardown)(void);
	struct avmm_dev *(*dev)(unsigned which);
	/* A vCPU's MMIO access: 0 (also for RAZ/WI), or -EFAULT when unmapped. */
	int (*mmio)(unsigned cpu, uint64_t addr, unsigned size, bool write, uint64_t *val);
	/*
	 * Let `ns` of host time pass and run what became due (timers, ready
	 * fds).  Returns after every callback due by then has run.
	 */
	void (*run)(uint64_t ns);
	/* A line's level as `dev` drove it (as far as the host let it). */
	bool (*line_level)(struct avmm_dev *dev, unsigned line);
	bool (*ppi_level)(struct avmm_dev *dev, unsigned cpu, unsigned ppi);
	/* A vCPU's IRQ input as driven through cpu_irq_set. */
	bool (*cpu_irq)(unsigned cpu);
	/* Host calls refused as plugin bugs on `dev` since the last call. */
	unsigned (*plugin_bugs)(struct avmm_dev *dev);
};

/* What the recording irqchip (registered by the cases) has seen. */
struct contract_chip {
	bool line[CONTRACT_CHIP_LINES];
	bool ppi[8][32]; /* more rows than CPUs: a stray PPI must show */
	unsigned calls;
};
extern struct contract_chip contract_chip;

/* Run every case against `env`; the exit status for main(). */
int contract_run(const struct contract_env *env);

#endif
