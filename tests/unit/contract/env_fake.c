/* SPDX-License-Identifier: MIT */
/*
 * The contract against tests/fakehost, the host plugin unit tests use.  Each
 * fake device is a machine of its own; their clocks move together.
 */
#include <errno.h>

#include "contract.h"
#include "fakehost.h"

static struct avmm_dev devs[CDEV_COUNT];

static void setup(void)
{
	for (unsigned d = 0; d < CDEV_COUNT; d++) {
		fake_init(&devs[d], contract_dev_names[d], CONTRACT_NCPUS);
		fake_ram(&devs[d], CONTRACT_RAM_BASE, CONTRACT_RAM_SIZE);
		devs[d].cfg_dir = CONTRACT_CFG_DIR;
	}
	for (const struct contract_key *k = contract_keys; k->key; k++)
		fake_set(&devs[k->dev], k->key, k->value);
}

static void teardown(void)
{
	/* fake_fini() fails the case on a plugin bug the case did not count. */
	for (unsigned d = 0; d < CDEV_COUNT; d++)
		fake_fini(&devs[d]);
}

static struct avmm_dev *dev(unsigned which)
{
	return &devs[which];
}

static int mmio(unsigned cpu, uint64_t addr, unsigned size, bool write, uint64_t *val)
{
	for (unsigned d = 0; d < CDEV_COUNT; d++) {
		int rc = write ? fake_write(&devs[d], cpu, addr, size, *val)
			       : fake_read(&devs[d], cpu, addr, size, val);

		/* As the core's dispatch: a rejected access is RAZ/WI, not an error. */
		if (rc != -EFAULT)
			return 0;
	}
	return -EFAULT;
}

static void run(uint64_t ns)
{
	for (unsigned d = 0; d < CDEV_COUNT; d++)
		devs[d].now_ns += ns;
	for (unsigned d = 0; d < CDEV_COUNT; d++) {
		fake_io_poll(&devs[d]);
		fake_advance(&devs[d], 0);
	}
}

static bool line_level(struct avmm_dev *d, unsigned line)
{
	return line < FAKE_MAX_LINES && d->line_level[line];
}

static bool ppi_level(struct avmm_dev *d, unsigned cpu, unsigned ppi)
{
	return d->ppi_level[cpu][ppi];
}

/* The vCPU's input as any device drove it: only the irqchip may. */
static bool cpu_irq(unsigned cpu)
{
	bool level = false;

	for (unsigned d = 0; d < CDEV_COUNT; d++)
		level |= devs[d].cpu_irq[cpu];
	return level;
}

static unsigned plugin_bugs(struct avmm_dev *d)
{
	unsigned n = d->plugin_bugs;

	d->plugin_bugs = 0;
	return n;
}

static const struct contract_env env = {
	.name = "contract-fake",
	.host = &fakehost,
	.setup = setup,
	.teardown = teardown,
	.dev = dev,
	.mmio = mmio,
	.run = run,
	.line_level = line_level,
	.ppi_level = ppi_level,
	.cpu_irq = cpu_irq,
	.plugin_bugs = plugin_bugs,
};

int main(void)
{
	return contract_run(&env);
}
