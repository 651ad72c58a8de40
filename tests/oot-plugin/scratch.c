/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree plugin: built with nothing but the installed <avmm/avmm.h>
 * (pkg-config avmm-plugin).  A page of 64-bit scratch registers that read
 * back what was written; register 0 also counts accesses, which makes it the
 * trivial device of the MMIO round-trip benchmark.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avmm/avmm.h>

#define SCRATCH_SIZE 0x1000
#define SCRATCH_REGS (SCRATCH_SIZE / 8)

struct scratch {
	const struct avmm_host *host;
	struct avmm_dev *dev;
	uint64_t reg[SCRATCH_REGS];
	uint64_t accesses;
};

static int scratch_read(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t *val)
{
	struct scratch *s = opaque;

	(void)cpu;
	s->accesses++;
	if (off == 0 && size == 8) {
		*val = s->accesses; /* register 0 reads the access count */
		return 0;
	}
	memcpy(val, (uint8_t *)s->reg + off, size); /* little-endian host and guest */
	return 0;
}

static int scratch_write(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t val)
{
	struct scratch *s = opaque;

	(void)cpu;
	s->accesses++;
	memcpy((uint8_t *)s->reg + off, &val, size);
	return 0;
}

static const struct avmm_mmio_ops scratch_ops = {
	.struct_size = sizeof(struct avmm_mmio_ops),
	.valid_sizes = AVMM_SIZE_1 | AVMM_SIZE_2 | AVMM_SIZE_4 | AVMM_SIZE_8,
	.read = scratch_read,
	.write = scratch_write,
};

static int scratch_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
			  char *err, size_t errlen)
{
	struct scratch *s;
	uint64_t base;
	int rc;

	rc = host->cfg_u64(dev, "base", &base);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "needs base = ADDRESS");
		return rc;
	}
	if (rc)
		return rc;
	if (base % SCRATCH_SIZE)
		return host->cfg_error(dev, "base", "must be 4K aligned");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->host = host;
	s->dev = dev;
	rc = host->mmio_register(dev, "base", base, SCRATCH_SIZE, &scratch_ops, s);
	if (rc) {
		free(s);
		return rc;
	}
	*instance = s;
	return 0;
}

static void scratch_destroy(void *instance)
{
	struct scratch *s = instance;

	s->host->log(s->dev, AVMM_LOG_INFO, "%llu accesses", (unsigned long long)s->accesses);
	free(s);
}

AVMM_PLUGIN_DEFINE(.name = "scratch", .summary = "scratch registers (out-of-tree example)",
		   .create = scratch_create, .destroy = scratch_destroy);
