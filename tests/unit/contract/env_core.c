/* SPDX-License-Identifier: MIT */
/*
 * The contract against the real host table: core/device.c's device_host,
 * devices made by device_create() from a config, MMIO through mmio_dispatch(),
 * timers and watches on a running I/O thread.
 */
#include "corevm.h"
#include "irqroute.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"

static struct corevm cv;
static struct avmm_dev *devs[CDEV_COUNT];

/* Marks every key of its section used, as a plugin reading them would. */
static int any_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		      char *err, size_t errlen)
{
	const char *v;

	(void)err, (void)errlen;
	for (size_t i = 0; i < dev->sec->nkeys; i++)
		host->cfg_str(dev, dev->sec->keys[i].name, &v);
	*instance = dev;
	return 0;
}

static void any_destroy(void *instance)
{
	(void)instance;
}

static const struct avmm_plugin_desc chip_desc = {
	.struct_size = sizeof(chip_desc), .abi_major = AVMM_ABI_MAJOR, .abi_minor = AVMM_ABI_MINOR,
	.name = "chip", .flags = AVMM_PLUGIN_IRQCHIP, .create = any_create, .destroy = any_destroy,
};
static const struct avmm_plugin_desc dev_desc = {
	.struct_size = sizeof(dev_desc), .abi_major = AVMM_ABI_MAJOR, .abi_minor = AVMM_ABI_MINOR,
	.name = "any", .create = any_create, .destroy = any_destroy,
};
static struct plugin chip_plugin = {.desc = &chip_desc}, dev_plugin = {.desc = &dev_desc};

static void setup(void)
{
	char ini[2048];
	size_t n = 0;

	for (unsigned d = 0; d < CDEV_COUNT; d++) {
		n += (size_t)snprintf(ini + n, sizeof(ini) - n, "[device %s]\nplugin = x\n",
				      contract_dev_names[d]);
		for (const struct contract_key *k = contract_keys; k->key; k++)
			if (k->dev == d)
				n += (size_t)snprintf(ini + n, sizeof(ini) - n, "%s = %s\n", k->key,
						      k->value);
	}
	ck_assert_uint_lt(n, sizeof(ini));
	corevm_init_at(&cv, CONTRACT_CFG_DIR "/contract.ini", ini, CONTRACT_NCPUS,
		       CONTRACT_RAM_BASE, CONTRACT_RAM_SIZE);
	for (unsigned d = 0; d < CDEV_COUNT; d++)
		devs[d] = corevm_device(&cv, contract_dev_names[d],
					d == CDEV_CHIP ? &chip_plugin : &dev_plugin);
	corevm_start(&cv);
}

static void teardown(void)
{
	corevm_fini(&cv);
}

static struct avmm_dev *dev(unsigned which)
{
	return devs[which];
}

static int mmio(unsigned cpu, uint64_t addr, unsigned size, bool write, uint64_t *val)
{
	return corevm_mmio(&cv, cpu, addr, size, write, val);
}

static void run(uint64_t ns)
{
	corevm_run(&cv, ns);
}

/* The core routes every line and PPI to the one irqchip. */
static bool line_level(struct avmm_dev *d, unsigned line)
{
	(void)d;
	return line < CONTRACT_CHIP_LINES && contract_chip.line[line];
}

static bool ppi_level(struct avmm_dev *d, unsigned cpu, unsigned ppi)
{
	(void)d;
	return contract_chip.ppi[cpu][ppi];
}

static bool cpu_irq(unsigned cpu)
{
	return irqroute_cpu_level(cv.vm.irq, cpu);
}

static unsigned plugin_bugs(struct avmm_dev *d)
{
	return corevm_count_log(&cv, d->name, "plugin bug");
}

static const struct contract_env env = {
	.name = "contract-core",
	.host = &device_host,
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
