/* SPDX-License-Identifier: MIT */
/*
 * A plugin built against the frozen ABI 1.0 headers in v1.0/ (verbatim copies
 * of include/avmm/ as 1.0 shipped), never against the current ones: it is
 * what an old binary plugin looks like to every later 1.x core.
 *
 * Registers (32-bit): 0x0 scratch; 0x4 drives its line (bit 0); 0x8 arms its
 * timer to fire after the written number of ns (0 cancels); 0xc counts timer
 * expiries.  Each expiry also raises the line.
 */
#include <avmm/avmm.h>

#include <errno.h>
#include <stdlib.h>

#if AVMM_ABI_MAJOR != 1 || AVMM_ABI_MINOR != 0
#error "this plugin must be built against the frozen 1.0 headers"
#endif

struct old {
	struct avmm_dev *dev;
	const struct avmm_host *host;
	struct avmm_timer *timer;
	unsigned line;
	uint32_t scratch, fired;
};

static int old_read(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t *v)
{
	struct old *s = opaque;

	(void)cpu, (void)size;
	switch (off) {
	case 0x0:
		*v = s->scratch;
		return 0;
	case 0xc:
		*v = s->fired;
		return 0;
	default:
		return -EINVAL;
	}
}

static int old_write(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t v)
{
	struct old *s = opaque;

	(void)cpu, (void)size;
	switch (off) {
	case 0x0:
		s->scratch = (uint32_t)v;
		return 0;
	case 0x4:
		s->host->irq_set(s->dev, s->line, v & 1);
		return 0;
	case 0x8:
		if (v)
			s->host->timer_mod(s->timer, s->host->clock_ns() + v);
		else
			s->host->timer_del(s->timer);
		return 0;
	default:
		return -EINVAL;
	}
}

static const struct avmm_mmio_ops old_ops = {
	.struct_size = sizeof(old_ops),
	.valid_sizes = AVMM_SIZE_4,
	.read = old_read,
	.write = old_write,
};

static void old_expired(void *opaque)
{
	struct old *s = opaque;

	s->fired++;
	s->host->irq_set(s->dev, s->line, true);
}

static void old_destroy(void *instance)
{
	struct old *s = instance;

	if (s->timer)
		s->host->timer_free(s->timer);
	free(s);
}

static int old_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		      char *err, size_t errlen)
{
	struct old *s = calloc(1, sizeof(*s));
	uint64_t base = 0;
	int rc;

	(void)err, (void)errlen;
	if (!s)
		return -ENOMEM;
	s->dev = dev;
	s->host = host;
	rc = host->cfg_u64(dev, "base", &base);
	if (!rc)
		rc = host->irq_claim(dev, "irq", &s->line);
	if (!rc)
		rc = host->timer_new(dev, old_expired, s, &s->timer);
	if (!rc)
		rc = host->mmio_register(dev, "base", base, 0x1000, &old_ops, s);
	if (rc) {
		old_destroy(s);
		return rc;
	}
	*instance = s;
	return 0;
}

AVMM_PLUGIN_DEFINE(.name = "old_v1_0", .summary = "a plugin built against ABI 1.0",
		   .create = old_create, .destroy = old_destroy);

/* The 1.0 layout as this compiler laid it out, for the test to compare. */
AVMM_EXPORT const uint32_t old_v1_0_sizes[5] = {
	sizeof(struct avmm_mmio_ops),	  sizeof(struct avmm_irqchip_ops),
	sizeof(struct avmm_chr_handlers), sizeof(struct avmm_host),
	sizeof(struct avmm_plugin_desc),
};
