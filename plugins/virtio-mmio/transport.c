/* SPDX-License-Identifier: MIT */
#include "transport.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

struct vtrans_queue {
	struct vq vq;
	uint32_t num;
	uint64_t desc, driver, device;
	bool ready; /* QueueReady as the driver reads it; under t->lock */
};

struct vtrans {
	const struct avmm_host *host;
	struct avmm_dev *dev;
	const struct vtype_ops *ops;
	void *opaque;
	struct avmm_worker *worker;
	uint64_t base;
	unsigned irq;
	uint64_t offered;

	/* Driver-side registers, touched only under the device lock. */
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t drv_features;
	bool drv_features_high; /* the driver asked for a bit past 63 */

	/* Also reached from workers: under `lock`. */
	pthread_mutex_t lock;
	uint32_t status;
	uint32_t int_status;
	uint32_t config_gen;

	struct vtrans_queue q[VTRANS_MAX_QUEUES];
};

/* ---- interrupt and status state (any thread) ---------------------------- */

/* The line follows InterruptStatus != 0; call with t->lock held. */
static void irq_update(struct vtrans *t)
{
	t->host->irq_set(t->dev, t->irq, t->int_status != 0);
}

static void raise_locked(struct vtrans *t, uint32_t bits)
{
	t->int_status |= bits;
	irq_update(t);
}

void vtrans_notify_used(struct vtrans *t, unsigned q)
{
	if (q >= t->ops->nr_queues || !vq_should_notify(&t->q[q].vq))
		return;
	/*
	 * A worker's completion may race a reset that already cleared
	 * InterruptStatus (the device type waits such work out only after
	 * that): a queue no longer ready raises nothing.
	 */
	pthread_mutex_lock(&t->lock);
	if (t->q[q].ready)
		raise_locked(t, VMMIO_INT_USED);
	pthread_mutex_unlock(&t->lock);
}

void vtrans_needs_reset(struct vtrans *t)
{
	pthread_mutex_lock(&t->lock);
	/* The same race: a device being reset (Status 0) stays clean. */
	if (t->status)
		t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_locked(t, VMMIO_INT_CONFIG);
	pthread_mutex_unlock(&t->lock);
}

void vtrans_config_changed(struct vtrans *t)
{
	pthread_mutex_lock(&t->lock);
	t->config_gen++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_locked(t, VMMIO_INT_CONFIG);
	pthread_mutex_unlock(&t->lock);
}

bool vtrans_queue_live(struct vtrans *t, unsigned q)
{
	bool live;

	if (q >= t->ops->nr_queues)
		return false;
	pthread_mutex_lock(&t->lock);
	live = (t->status & VIRTIO_STATUS_DRIVER_OK) && t->q[q].ready;
	pthread_mutex_unlock(&t->lock);
	return live;
}

static uint32_t status_get(struct vtrans *t)
{
	uint32_t s;

	pthread_mutex_lock(&t->lock);
	s = t->status;
	pthread_mutex_unlock(&t->lock);
	return s;
}

struct vq *vtrans_vq(struct vtrans *t, unsigned q)
{
	return q < t->ops->nr_queues ? &t->q[q].vq : NULL;
}

uint64_t vtrans_offered(const struct vtrans *t)
{
	return t->offered;
}

uint64_t vtrans_features(struct vtrans *t)
{
	return status_get(t) & VIRTIO_STATUS_FEATURES_OK ? t->drv_features : 0;
}

/* ---- reset and negotiation ---------------------------------------------- */

void vtrans_reset(struct vtrans *t)
{
	/*
	 * Not live first, so a worker run starting now leaves the queues
	 * alone; then the device type waits out the one in flight; only then
	 * do the queues go.
	 */
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->ops->nr_queues; i++)
		t->q[i].ready = false;
	t->status = 0;
	t->int_status = 0;
	irq_update(t);
	pthread_mutex_unlock(&t->lock);
	t->ops->reset(t->opaque);
	for (unsigned i = 0; i < t->ops->nr_queues; i++) {
		struct vtrans_queue *q = &t->q[i];

		vq_reset(&q->vq);
		q->num = 0;
		q->desc = q->driver = q->device = 0;
	}
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->drv_features = 0;
	t->drv_features_high = false;
}

/* The first dependency `features` breaks, or NULL. */
static const struct vtype_feature_dep *deps_broken(const struct vtype_ops *ops,
						   uint64_t features)
{
	for (unsigned i = 0; i < ops->ndeps; i++) {
		const struct vtype_feature_dep *d = &ops->deps[i];

		if ((features & d->bit) && (features & d->requires) != d->requires)
			return d;
	}
	return NULL;
}

/* Whether the driver's feature set may get FEATURES_OK (2.2, 3.1.1). */
static bool features_acceptable(struct vtrans *t)
{
	uint64_t f = t->drv_features;

	if (t->drv_features_high || (f & ~t->offered) || !(f & VIRTIO_F_VERSION_1) ||
	    deps_broken(t->ops, f))
		return false;
	return !t->ops->features_ok || t->ops->features_ok(t->opaque, f) == 0;
}

AVMM_PRINTF(2, 3) static void guest_error(struct vtrans *t, const char *fmt, ...)
{
	va_list ap;
	char msg[160];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->host->log(t->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR, "virtio-mmio: %s", msg);
}

static void status_write(struct vtrans *t, uint32_t v)
{
	uint32_t old = status_get(t), set;

	if (v == 0) {
		vtrans_reset(t);
		return;
	}
	/* DEVICE_NEEDS_RESET is the device's to set; only a reset clears bits. */
	v &= ~VIRTIO_STATUS_NEEDS_RESET;
	if ((old & ~VIRTIO_STATUS_NEEDS_RESET) & ~v) {
		guest_error(t, "Status 0x%x clears bits of 0x%x: ignored (write 0 to reset)", v,
			    old);
		return;
	}
	set = v & ~old;
	if ((set & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(t)) {
		/* Not an error: the driver reads FEATURES_OK back and gives up. */
		set &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((set & VIRTIO_STATUS_DRIVER_OK) &&
	    !((old | set) & VIRTIO_STATUS_FEATURES_OK)) {
		guest_error(t, "DRIVER_OK without FEATURES_OK: ignored");
		set &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	pthread_mutex_lock(&t->lock);
	t->status |= set;
	pthread_mutex_unlock(&t->lock);
	if ((set & VIRTIO_STATUS_DRIVER_OK) && t->ops->driver_ok)
		t->ops->driver_ok(t->opaque);
}

/* ---- queues -------------------------------------------------------------- */

static void queue_ready_write(struct vtrans *t, struct vtrans_queue *q, uint32_t v)
{
	uint32_t max = t->ops->queue_num_max[t->queue_sel];
	int rc;

	if (!v) {
		if (!q->ready)
			return;
		/* As for a device reset, one queue: not live, quiesce, reset. */
		pthread_mutex_lock(&t->lock);
		q->ready = false;
		pthread_mutex_unlock(&t->lock);
		if (t->ops->queue_stop)
			t->ops->queue_stop(t->opaque, t->queue_sel);
		vq_reset(&q->vq);
		return;
	}
	if (q->ready)
		return;
	if (!(status_get(t) & VIRTIO_STATUS_FEATURES_OK)) {
		guest_error(t, "QueueReady for queue %u before FEATURES_OK: ignored", t->queue_sel);
		return;
	}
	if (vq_validate_config(q->num, max)) {
		guest_error(t, "queue %u: QueueNum %u is not a power of two in 1..%u: not ready",
			    t->queue_sel, q->num, max);
		return;
	}
	rc = vq_init(&q->vq, q->num, q->desc, q->driver, q->device,
		     t->drv_features & VQ_FEATURES);
	if (rc) {
		guest_error(t,
			    "queue %u: rings at 0x%" PRIx64 "/0x%" PRIx64 "/0x%" PRIx64
			    " misaligned or outside RAM: not ready",
			    t->queue_sel, q->desc, q->driver, q->device);
		return;
	}
	pthread_mutex_lock(&t->lock);
	q->ready = true;
	pthread_mutex_unlock(&t->lock);
}

/* Layout registers: ignored while the queue is ready (4.2.2). */
static void queue_layout_write(struct vtrans *t, struct vtrans_queue *q, uint64_t off,
			       uint32_t v)
{
	uint64_t *a;

	if (q->ready) {
		guest_error(t, "queue %u: register 0x%03" PRIx64 " written while ready: ignored",
			    t->queue_sel, off);
		return;
	}
	switch (off) {
	case VMMIO_QUEUE_NUM:
		q->num = v;
		return;
	case VMMIO_QUEUE_DESC_LO:
	case VMMIO_QUEUE_DESC_HI:
		a = &q->desc;
		break;
	case VMMIO_QUEUE_DRIVER_LO:
	case VMMIO_QUEUE_DRIVER_HI:
		a = &q->driver;
		break;
	default:
		a = &q->device;
		break;
	}
	if (off & 4)
		*a = (*a & 0xffffffffull) | (uint64_t)v << 32;
	else
		*a = (*a & ~0xffffffffull) | v;
}

/* The doorbell fired (or a QueueNotify write reached the handler). */
static void doorbell_fire(void *opaque)
{
	struct vtrans *t = opaque;

	for (unsigned i = 0; i < t->ops->nr_queues; i++) {
		if (vtrans_queue_live(t, i))
			t->ops->notify(t->opaque, i);
	}
}

/* ---- the register file ---------------------------------------------------- */

static int config_access(struct vtrans *t, bool write, uint64_t off, unsigned size,
			 uint64_t *value)
{
	uint32_t cfg_off = (uint32_t)(off - VMMIO_CONFIG), v = 0;
	int rc;

	if (size > 4 || cfg_off >= t->ops->config_size || size > t->ops->config_size - cfg_off) {
		guest_error(t, "config space %s of %u bytes at 0x%x (size %u): RAZ/WI",
			    write ? "write" : "read", size, cfg_off, t->ops->config_size);
		if (!write)
			*value = 0;
		return 0;
	}
	if (write)
		return t->ops->config_write ? t->ops->config_write(t->opaque, cfg_off, size,
								   (uint32_t)*value)
					    : 0;
	rc = t->ops->config_read ? t->ops->config_read(t->opaque, cfg_off, size, &v) : 0;
	*value = rc ? 0 : v;
	return rc;
}

static bool queue_reg(uint64_t off)
{
	switch (off) {
	case VMMIO_QUEUE_NUM:
	case VMMIO_QUEUE_READY:
	case VMMIO_QUEUE_DESC_LO:
	case VMMIO_QUEUE_DESC_HI:
	case VMMIO_QUEUE_DRIVER_LO:
	case VMMIO_QUEUE_DRIVER_HI:
	case VMMIO_QUEUE_DEVICE_LO:
	case VMMIO_QUEUE_DEVICE_HI:
		return true;
	}
	return false;
}

static int vtrans_read(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t *value)
{
	struct vtrans *t = opaque;
	bool qok = t->queue_sel < t->ops->nr_queues;
	uint32_t v = 0;

	(void)cpu;
	if (off >= VMMIO_CONFIG)
		return config_access(t, false, off, size, value);
	*value = 0;
	if (size != 4) {
		guest_error(t, "%u-byte read of register 0x%03" PRIx64 ": RAZ", size, off);
		return 0;
	}
	switch (off) {
	case VMMIO_MAGIC:
		v = VMMIO_MAGIC_VALUE;
		break;
	case VMMIO_VERSION:
		v = VMMIO_VERSION_2;
		break;
	case VMMIO_DEVICE_ID:
		v = t->ops->device_id;
		break;
	case VMMIO_VENDOR_ID:
		v = VMMIO_VENDOR_AVMM;
		break;
	case VMMIO_DEV_FEATURES:
		v = t->dev_features_sel < 2 ? (uint32_t)(t->offered >> (32 * t->dev_features_sel))
					    : 0;
		break;
	case VMMIO_QUEUE_NUM_MAX:
		v = qok ? t->ops->queue_num_max[t->queue_sel] : 0;
		break;
	case VMMIO_QUEUE_READY:
		v = qok && t->q[t->queue_sel].ready;
		break;
	case VMMIO_INT_STATUS:
		pthread_mutex_lock(&t->lock);
		v = t->int_status;
		pthread_mutex_unlock(&t->lock);
		break;
	case VMMIO_STATUS:
		v = status_get(t);
		break;
	case VMMIO_SHM_LEN_LO:
	case VMMIO_SHM_LEN_HI:
	case VMMIO_SHM_BASE_LO:
	case VMMIO_SHM_BASE_HI:
		v = ~0u; /* no shared memory region of any SHMSel (4.2.2.1) */
		break;
	case VMMIO_CONFIG_GEN:
		pthread_mutex_lock(&t->lock);
		v = t->config_gen;
		pthread_mutex_unlock(&t->lock);
		break;
	default:
		guest_error(t, "read of %s register 0x%03" PRIx64 ": RAZ",
			    queue_reg(off) || off == VMMIO_DEV_FEATURES_SEL ||
					    off == VMMIO_DRV_FEATURES ||
					    off == VMMIO_DRV_FEATURES_SEL || off == VMMIO_QUEUE_SEL ||
					    off == VMMIO_QUEUE_NOTIFY || off == VMMIO_INT_ACK ||
					    off == VMMIO_SHM_SEL
				    ? "write-only"
				    : "reserved",
			    off);
		break;
	}
	*value = v;
	return 0;
}

static int vtrans_write(void *opaque, unsigned cpu, uint64_t off, unsigned size, uint64_t value)
{
	struct vtrans *t = opaque;
	uint32_t v = (uint32_t)value;

	(void)cpu;
	if (off >= VMMIO_CONFIG)
		return config_access(t, true, off, size, &value);
	if (size != 4) {
		guest_error(t, "%u-byte write of register 0x%03" PRIx64 ": ignored", size, off);
		return 0;
	}
	if (queue_reg(off)) {
		struct vtrans_queue *q;

		if (t->queue_sel >= t->ops->nr_queues) {
			guest_error(t, "queue register 0x%03" PRIx64 " of absent queue %u: ignored",
				    off, t->queue_sel);
			return 0;
		}
		q = &t->q[t->queue_sel];
		if (off == VMMIO_QUEUE_READY)
			queue_ready_write(t, q, v);
		else
			queue_layout_write(t, q, off, v);
		return 0;
	}
	switch (off) {
	case VMMIO_DEV_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case VMMIO_DRV_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case VMMIO_DRV_FEATURES:
		if (status_get(t) & VIRTIO_STATUS_FEATURES_OK) {
			guest_error(t, "DriverFeatures written after FEATURES_OK: ignored");
		} else if (t->drv_features_sel < 2) {
			unsigned sh = 32 * t->drv_features_sel;

			t->drv_features = (t->drv_features & ~(0xffffffffull << sh)) |
					  (uint64_t)v << sh;
		} else if (v) {
			t->drv_features_high = true;
		}
		break;
	case VMMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VMMIO_QUEUE_NOTIFY:
		/* Normally the doorbell takes these writes; ring it by hand. */
		if (t->worker)
			t->host->worker_kick(t->worker);
		else
			doorbell_fire(t);
		break;
	case VMMIO_INT_ACK:
		pthread_mutex_lock(&t->lock);
		t->int_status &= ~v;
		irq_update(t);
		pthread_mutex_unlock(&t->lock);
		break;
	case VMMIO_STATUS:
		status_write(t, v);
		break;
	case VMMIO_SHM_SEL:
		break; /* every region is absent */
	default:
		guest_error(t, "write of %s register 0x%03" PRIx64 ": ignored",
			    off < VMMIO_CONFIG_GEN + 4 &&
					    (off <= VMMIO_VENDOR_ID || off == VMMIO_DEV_FEATURES ||
					     off == VMMIO_QUEUE_NUM_MAX || off == VMMIO_INT_STATUS ||
					     off >= VMMIO_SHM_LEN_LO)
				    ? "read-only"
				    : "reserved",
			    off);
		break;
	}
	return 0;
}

static const struct avmm_mmio_ops vtrans_mmio_ops = {
	.struct_size = sizeof(struct avmm_mmio_ops),
	/* Narrow accesses reach the handler: config space takes them. */
	.valid_sizes = AVMM_SIZE_1 | AVMM_SIZE_2 | AVMM_SIZE_4,
	.read = vtrans_read,
	.write = vtrans_write,
};

/* ---- lifetime ------------------------------------------------------------- */

static int ops_check(const struct vtype_ops *o, char *err, size_t errlen)
{
	if (!o || !o->reset || !o->nr_queues || o->nr_queues > VTRANS_MAX_QUEUES ||
	    !o->queue_num_max || o->config_size > VMMIO_CONFIG_MAX ||
	    (o->config_size && !o->config_read) || (o->ndeps && !o->deps)) {
		snprintf(err, errlen, "virtio-mmio: invalid device type description");
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->nr_queues; i++) {
		if (!o->queue_num_max[i] || o->queue_num_max[i] > VQ_MAX_SIZE) {
			snprintf(err, errlen, "virtio-mmio: queue %u: QueueNumMax %u not in 1..%u",
				 i, o->queue_num_max[i], VQ_MAX_SIZE);
			return -EINVAL;
		}
	}
	if (o->features & VIRTIO_F_TRANSPORT_MASK & ~VTRANS_FEATURES) {
		snprintf(err, errlen,
			 "virtio-mmio: transport features 0x%" PRIx64 " are not implemented",
			 (uint64_t)(o->features & VIRTIO_F_TRANSPORT_MASK & ~VTRANS_FEATURES));
		return -EINVAL;
	}
	return 0;
}

int vtrans_create(struct avmm_dev *dev, const struct avmm_host *host,
		  const struct vtrans_config *cfg, struct vtrans **out, char *err, size_t errlen)
{
	const struct vtype_feature_dep *d;
	struct vtrans *t;
	int rc;

	rc = ops_check(cfg->ops, err, errlen);
	if (rc)
		return rc;
	if (!cfg->worker && !cfg->ops->notify) {
		snprintf(err, errlen, "virtio-mmio: device type has neither notify nor a worker");
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->host = host;
	t->dev = dev;
	t->ops = cfg->ops;
	t->opaque = cfg->opaque;
	t->worker = cfg->worker;
	pthread_mutex_init(&t->lock, NULL);
	for (unsigned i = 0; i < VTRANS_MAX_QUEUES; i++)
		vq_setup(&t->q[i].vq, host, dev);

	/* Never offer a bit without what it depends on (2.2.1): drop until stable. */
	t->offered = cfg->ops->features | VIRTIO_F_VERSION_1;
	while ((d = deps_broken(cfg->ops, t->offered))) {
		host->log(dev, AVMM_LOG_WARN,
			  "virtio-mmio: not offering features 0x%" PRIx64
			  ": they need 0x%" PRIx64 ", which is not offered",
			  (uint64_t)(d->bit & t->offered), (uint64_t)(d->requires & ~t->offered));
		t->offered &= ~d->bit;
	}

	rc = host->cfg_u64(dev, "base", &t->base);
	if (rc == -ENOENT)
		rc = host->cfg_error(dev, "base", "missing: the guest address of the registers");
	else if (!rc && (t->base % VMMIO_REGION_SIZE))
		rc = host->cfg_error(dev, "base", "0x%" PRIx64 " is not 0x%x-aligned", t->base,
				     VMMIO_REGION_SIZE);
	if (!rc)
		rc = host->irq_claim(dev, "irq", &t->irq);
	if (!rc)
		rc = host->mmio_register(dev, "base", t->base, VMMIO_REGION_SIZE, &vtrans_mmio_ops,
					 t);
	if (!rc) {
		struct avmm_doorbell_desc db = {
			.struct_size = sizeof(db),
			.len = 4,
			.gpa = t->base + VMMIO_QUEUE_NOTIFY,
			.fn = cfg->worker ? NULL : doorbell_fire,
			.opaque = t,
			.worker = cfg->worker,
		};
		struct avmm_doorbell *bell;

		rc = host->doorbell_new(dev, &db, &bell);
		if (rc)
			snprintf(err, errlen, "virtio-mmio: QueueNotify doorbell: %s",
				 strerror(-rc));
	}
	if (rc) {
		vtrans_destroy(t);
		return rc;
	}
	*out = t;
	return 0;
}

void vtrans_destroy(struct vtrans *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int vtrans_fdt_populate(struct vtrans *t, void *fdt)
{
	struct avmm_irq_spec spec = {AVMM_IRQ_SPI, t->irq, AVMM_IRQ_LEVEL_HIGH};
	fdt64_t reg[2] = {cpu_to_fdt64(t->base), cpu_to_fdt64(VMMIO_REGION_SIZE)};
	char name[40];
	int node, rc;

	snprintf(name, sizeof(name), "virtio_mmio@%" PRIx64, t->base);
	node = fdt_add_subnode(fdt, 0, name);
	if (node < 0)
		return node == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
	rc = fdt_setprop_string(fdt, node, "compatible", "virtio,mmio");
	if (!rc)
		rc = fdt_setprop(fdt, node, "reg", reg, sizeof(reg));
	/* Guest RAM is ordinary host memory: no cache maintenance needed. */
	if (!rc)
		rc = fdt_setprop_empty(fdt, node, "dma-coherent");
	if (rc)
		return rc == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
	return t->host->fdt_set_interrupts(t->dev, fdt, node, &spec, 1);
}
