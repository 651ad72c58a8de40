/* SPDX-License-Identifier: MIT */
/*
 * A plugin built against the frozen ABI 1.1 headers in v1.1/ (verbatim copies
 * of include/avmm/ as 1.1 shipped): what a binary plugin using the 1.1
 * services looks like to every later 1.x core.
 *
 * Configuration: base (MMIO), irq, disk (a path, through cfg_path), done (a
 * guest address).  Registers (32-bit): 0x0 completions so far; 0x4 writes
 * clear its line; 0x8 length of the resolved disk path; 0x50 a doorbell bound
 * to its worker.  Each doorbell ring makes the worker, off the device lock,
 * write the completion count to guest memory at `done` and raise the line.
 */
#include <avmm/avmm.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if AVMM_ABI_MAJOR != 1 || AVMM_ABI_MINOR != 1
#error "this plugin must be built against the frozen 1.1 headers"
#endif

struct v11 {
	struct avmm_dev *dev;
	const struct avmm_host *host;
	struct avmm_worker *worker;
	unsigned line;
	uint64_t done_gpa;
	uint32_t path_len;
	/* Shared with the worker, which runs without the device lock. */
	pthread_mutex_t mu;
	uint32_t completions;
};

static void v11_work(void *opaque)
{
	struct v11 *s = opaque;
	uint32_t n;

	pthread_mutex_lock(&s->mu);
	n = ++s->completions;
	pthread_mutex_unlock(&s->mu);
	s->host->guest_write(s->dev, s->done_gpa, &n, sizeof(n));
	s->host->irq_set(s->dev, s->line, true);
}

static int v11_read(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t *v)
{
	struct v11 *s = opaque;

	(void)cpu, (void)size;
	switch (off) {
	case 0x0:
		pthread_mutex_lock(&s->mu);
		*v = s->completions;
		pthread_mutex_unlock(&s->mu);
		return 0;
	case 0x8:
		*v = s->path_len;
		return 0;
	default:
		return -EINVAL;
	}
}

static int v11_write(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t v)
{
	struct v11 *s = opaque;

	(void)cpu, (void)size, (void)v;
	if (off != 0x4)
		return -EINVAL; /* 0x50 included: the doorbell takes those writes */
	s->host->irq_set(s->dev, s->line, false);
	return 0;
}

static const struct avmm_mmio_ops v11_ops = {
	.struct_size = sizeof(v11_ops),
	.valid_sizes = AVMM_SIZE_4,
	.read = v11_read,
	.write = v11_write,
};

static void v11_destroy(void *instance)
{
	struct v11 *s = instance;

	if (s->worker)
		s->host->worker_free(s->worker);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int v11_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		      char *err, size_t errlen)
{
	struct v11 *s = calloc(1, sizeof(*s));
	struct avmm_doorbell_desc db = {.struct_size = sizeof(db), .len = 4};
	struct avmm_doorbell *bell;
	uint64_t base = 0;
	char *path = NULL;
	int rc;

	(void)err, (void)errlen;
	if (!s)
		return -ENOMEM;
	s->dev = dev;
	s->host = host;
	pthread_mutex_init(&s->mu, NULL);
	rc = host->cfg_u64(dev, "base", &base);
	if (!rc)
		rc = host->cfg_u64(dev, "done", &s->done_gpa);
	if (!rc)
		rc = host->cfg_path(dev, "disk", &path);
	if (!rc) {
		s->path_len = (uint32_t)strlen(path);
		free(path);
		rc = host->irq_claim(dev, "irq", &s->line);
	}
	if (!rc)
		rc = host->mmio_register(dev, "base", base, 0x1000, &v11_ops, s);
	if (!rc)
		rc = host->worker_new(dev, v11_work, s, &s->worker);
	if (!rc) {
		db.gpa = base + 0x50;
		db.worker = s->worker;
		rc = host->doorbell_new(dev, &db, &bell);
	}
	if (rc) {
		v11_destroy(s);
		return rc;
	}
	*instance = s;
	return 0;
}

AVMM_PLUGIN_DEFINE(.name = "plugin_v1_1", .summary = "a plugin built against ABI 1.1",
		   .create = v11_create, .destroy = v11_destroy);

/* The 1.1 layout as this compiler laid it out, for the test to compare. */
AVMM_EXPORT const uint32_t plugin_v1_1_sizes[2] = {
	sizeof(struct avmm_host),
	sizeof(struct avmm_doorbell_desc),
};
