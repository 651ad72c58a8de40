/* SPDX-License-Identifier: MIT */
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include <libfdt.h>

#include "accel.h"
#include "chardev.h"
#include "config.h"
#include "cputimer.h"
#include "dtb.h"
#include "iothread.h"
#include "irqroute.h"
#include "memmap.h"
#include "plugin.h"
#include "power.h"
#include "ram.h"
#include "vm.h"


#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Copy a plugin's ops struct (whose first member is its uint32_t struct_size)
 * into core-owned storage.  A plugin built against an older minor has a
 * shorter struct: accept anything from the 1.0 size up, read no byte past
 * its struct_size, and zero the members it lacks.
 */
static bool ops_copy(void *dst, size_t dst_size, const void *src, size_t v1_0_size)
{
	uint32_t n;

	if (!src)
		return false;
	memcpy(&n, src, sizeof(n));
	if (n < v1_0_size)
		return false;
	if (n > dst_size)
		n = (uint32_t)dst_size;
	memset(dst, 0, dst_size);
	memcpy(dst, src, n);
	memcpy(dst, &n, sizeof(n)); /* what the plugin provided, for later tests */
	return true;
}

/* ---- logging ---- */

static void h_vlog(struct avmm_dev *dev, unsigned flags, const char *fmt, va_list ap)
{
	struct log_ratelimit *rl = NULL;

	if (flags & AVMM_LOG_GUEST_ERROR)
		rl = &dev->rl_guest;
	else if (flags & AVMM_LOG_UNIMP)
		rl = &dev->rl_unimp;
	if (rl && !log_guest_begin(rl, dev->name, flags))
		return;
	log_vmsg(dev->name, flags, fmt, ap);
}

static void h_log(struct avmm_dev *dev, unsigned flags, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	h_vlog(dev, flags, fmt, ap);
	va_end(ap);
}

static const char *h_dev_name(struct avmm_dev *dev)
{
	return dev->name;
}

/* ---- configuration ---- */

static int h_cfg_str(struct avmm_dev *dev, const char *key, const char **value)
{
	return config_str(dev->vm->cfg, dev->sec, key, value);
}

static int h_cfg_u64(struct avmm_dev *dev, const char *key, uint64_t *value)
{
	return config_u64(dev->vm->cfg, dev->sec, key, value);
}

static int h_cfg_bool(struct avmm_dev *dev, const char *key, bool *value)
{
	return config_bool(dev->vm->cfg, dev->sec, key, value);
}

static int h_cfg_error(struct avmm_dev *dev, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(dev->vm->cfg, dev->sec, key, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int h_cfg_path(struct avmm_dev *dev, const char *key, char **path)
{
	return config_path(dev->vm->cfg, dev->sec, key, path);
}

/* ---- MMIO ---- */

static int h_mmio_register(struct avmm_dev *dev, const char *cfg_key, uint64_t base,
			   uint64_t size, const struct avmm_mmio_ops *ops, void *opaque)
{
	struct vm *vm = dev->vm;
	struct cfg_key *k = cfg_key ? config_key(dev->sec, cfg_key) : NULL;
	const struct mmio_region *other;
	struct avmm_mmio_ops *copy;
	struct mmio_region r = {
		.base = base, .size = size, .opaque = opaque, .dev = dev,
		.cfg_line = k ? k->line : dev->sec->line,
	};
	int rc;

	if (vm->running)
		return -EBUSY;
	if (dev->nmmio == ARRAY_LEN(dev->mmio_ops))
		return -ENOSPC;
	copy = &dev->mmio_ops[dev->nmmio];
	if (!ops_copy(copy, sizeof(*copy), ops, AVMM_MMIO_OPS_SIZE_V1_0) || !copy->read ||
	    !copy->write ||
	    !(copy->valid_sizes & (AVMM_SIZE_1 | AVMM_SIZE_2 | AVMM_SIZE_4 | AVMM_SIZE_8))) {
		h_log(dev, AVMM_LOG_ERROR, "plugin bug: incomplete avmm_mmio_ops");
		return -EINVAL;
	}
	r.ops = copy;
	if (!size)
		return h_cfg_error(dev, cfg_key, "MMIO region of size 0");
	if (base + (size - 1) < base)
		return h_cfg_error(dev, cfg_key, "MMIO region 0x%llx+0x%llx wraps around",
				   (unsigned long long)base, (unsigned long long)size);
	if (vm->ram.size && base < vm->ram.base + vm->ram.size && vm->ram.base < base + size) {
		h_cfg_error(dev, cfg_key,
			    "MMIO 0x%llx-0x%llx overlaps RAM 0x%llx-0x%llx ([machine] ram-base, "
			    "memory)",
			    (unsigned long long)base, (unsigned long long)(base + size - 1),
			    (unsigned long long)vm->ram.base,
			    (unsigned long long)(vm->ram.base + vm->ram.size - 1));
		return -EEXIST;
	}
	rc = memmap_add(&vm->map, &r, &other);
	if (rc == -EEXIST) {
		h_cfg_error(dev, cfg_key, "MMIO 0x%llx-0x%llx overlaps [device %s] at 0x%llx-0x%llx "
			    "(%s:%d)",
			    (unsigned long long)base, (unsigned long long)(base + size - 1),
			    other->dev ? other->dev->name : "?", (unsigned long long)other->base,
			    (unsigned long long)(other->base + other->size - 1), vm->cfg->path,
			    other->cfg_line);
		return -EEXIST;
	}
	if (!rc)
		dev->nmmio++;
	return rc;
}

/* ---- doorbells ---- */

/*
 * A device's workers and doorbells change only in its serialised calls, like
 * its timers; a worker thread (of any device) changing them would race.
 */
static bool from_worker(struct avmm_dev *dev, const char *what)
{
	if (!iothread_current_worker())
		return false;
	h_log(dev, AVMM_LOG_ERROR, "plugin bug: %s from a worker thread", what);
	return true;
}

struct avmm_doorbell {
	struct avmm_dev *dev;
	struct avmm_doorbell_desc d; /* the core's copy */
	int rfd, wfd;                /* an eventfd (rfd == wfd) on Linux, else a pipe */
	bool in_kernel;              /* the accelerator signals wfd itself */
};

static bool doorbell_matches(const struct avmm_doorbell *db, uint64_t addr, unsigned len,
			     uint64_t data)
{
	return db->d.gpa == addr && db->d.len == len &&
	       (!(db->d.flags & AVMM_DOORBELL_DATAMATCH) || db->d.data == data);
}

/*
 * Ring: never blocks the vCPU.  A full pipe or a saturated eventfd already
 * means "rung", so EAGAIN is success.
 */
static void doorbell_ring(struct avmm_doorbell *db)
{
#ifdef __linux__
	const uint64_t one = 1; /* an eventfd takes 8 bytes */
#else
	const uint8_t one = 1;
#endif

	if (db->d.worker) {
		iothread_worker_kick(db->d.worker);
		return;
	}
	if (write(db->wfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_guest(&db->dev->rl_guest, db->dev->name, AVMM_LOG_ERROR,
			  "doorbell at 0x%llx: %s", (unsigned long long)db->d.gpa, strerror(errno));
}

/* On the I/O thread with the device lock held: the doorbell fired. */
static void doorbell_ready(void *opaque, int fd, unsigned revents)
{
	struct avmm_doorbell *db = opaque;
	uint8_t buf[64];

	(void)revents;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (db->d.worker)
		iothread_worker_kick(db->d.worker);
	else
		db->d.fn(db->d.opaque);
}

static int doorbell_fds(struct avmm_doorbell *db)
{
#ifdef __linux__
	db->rfd = db->wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return db->rfd < 0 ? -errno : 0;
#else
	int p[2], rc = iothread_pipe(p);

	if (rc)
		return rc;
	db->rfd = p[0];
	db->wfd = p[1];
	return 0;
#endif
}

static void doorbell_free(struct avmm_doorbell *db)
{
	const struct accel_ops *accel = db->dev->vm->accel;

	if (db->in_kernel && accel->ioeventfd_del)
		accel->ioeventfd_del(db->dev->vm, db->d.gpa, db->d.len,
				     db->d.flags & AVMM_DOORBELL_DATAMATCH, db->d.data, db->wfd);
	if (db->rfd >= 0) {
		iothread_unwatch(db->dev->vm->io, db->rfd);
		close(db->rfd);
	}
	if (db->wfd >= 0 && db->wfd != db->rfd)
		close(db->wfd);
	free(db);
}

/* Whether one of dev's regions holds [gpa, gpa + len) and takes len-byte writes. */
static bool doorbell_in_region(struct avmm_dev *dev, uint64_t gpa, unsigned len)
{
	const struct mmio_region *r = memmap_find(&dev->vm->map, gpa);

	return r && r->dev == dev && (r->ops->valid_sizes & len) &&
	       len <= r->size - (gpa - r->base);
}

static int h_doorbell_new(struct avmm_dev *dev, const struct avmm_doorbell_desc *desc,
			  struct avmm_doorbell **out)
{
	struct avmm_doorbell *db;
	struct avmm_doorbell_desc d;
	int rc;

	if (from_worker(dev, "doorbell_new"))
		return -EPERM;
	if (dev->vm->running)
		return -EBUSY;
	if (!out || !ops_copy(&d, sizeof(d), desc, AVMM_DOORBELL_DESC_SIZE_V1_1)) {
		h_log(dev, AVMM_LOG_ERROR, "plugin bug: incomplete avmm_doorbell_desc");
		return -EINVAL;
	}
	if ((d.len != 1 && d.len != 2 && d.len != 4 && d.len != 8) || d.gpa % d.len ||
	    (d.flags & ~AVMM_DOORBELL_DATAMATCH) || !d.fn == !d.worker ||
	    (d.worker && iothread_worker_owner(d.worker) != dev) ||
	    !doorbell_in_region(dev, d.gpa, d.len)) {
		h_log(dev, AVMM_LOG_ERROR,
		      "plugin bug: invalid doorbell at 0x%llx (%u bytes): not one aligned access "
		      "its MMIO region takes, or not exactly one of fn and its own worker",
		      (unsigned long long)d.gpa, d.len);
		return -EINVAL;
	}
	if (!(d.flags & AVMM_DOORBELL_DATAMATCH))
		d.data = 0;
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		const struct avmm_doorbell_desc *o = &dev->doorbells[i]->d;

		if (o->gpa == d.gpa && o->len == d.len &&
		    (!(o->flags & d.flags & AVMM_DOORBELL_DATAMATCH) || o->data == d.data))
			return -EEXIST;
	}
	if (dev->ndoorbells == ARRAY_LEN(dev->doorbells))
		return -ENOSPC;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->dev = dev;
	db->d = d;
	db->rfd = db->wfd = -1;
	rc = doorbell_fds(db);
	if (!rc)
		rc = iothread_watch(dev->vm->io, db->rfd, AVMM_IO_IN, doorbell_ready, db, &dev->lock);
	if (rc) {
		doorbell_free(db); /* its unwatch of a fd never watched is a no-op */
		return rc;
	}
	dev->doorbells[dev->ndoorbells++] = db;
	*out = db;
	return 0;
}

void device_start(struct avmm_dev *dev)
{
	const struct accel_ops *accel = dev->vm->accel;

	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		struct avmm_doorbell *db = dev->doorbells[i];
		int rc = accel && accel->ioeventfd_add
				 ? accel->ioeventfd_add(dev->vm, db->d.gpa, db->d.len,
							db->d.flags & AVMM_DOORBELL_DATAMATCH,
							db->d.data, db->wfd)
				 : -ENOSYS;

		db->in_kernel = !rc;
		if (!rc)
			h_log(dev, AVMM_LOG_INFO, "doorbell at 0x%llx: completed by %s (ioeventfd)",
			      (unsigned long long)db->d.gpa, accel->name);
		else if (rc != -ENOSYS)
			h_log(dev, AVMM_LOG_WARN,
			      "doorbell at 0x%llx: %s ioeventfd: %s; ringing it from userspace",
			      (unsigned long long)db->d.gpa, accel->name, strerror(-rc));
	}
}

static uint64_t origin_pc(const struct mmio_origin *from)
{
	return from && from->pc ? from->pc(from->ctx) : 0;
}

int mmio_dispatch(struct vm *vm, const struct mmio_origin *from, uint64_t addr, unsigned len,
		  bool write, uint64_t *data)
{
	unsigned cpu = from ? from->cpu : 0;
	const struct mmio_region *r = memmap_find(&vm->map, addr);
	struct avmm_dev *dev;
	uint64_t off, val = 0;
	int rc;

	if (!r)
		return -EFAULT;
	dev = r->dev;
	off = addr - r->base;
	/* Doorbells are fixed before the vCPUs run: no lock to read them. */
	if (write && dev->ndoorbells) {
		for (unsigned i = 0; i < dev->ndoorbells; i++) {
			if (doorbell_matches(dev->doorbells[i], addr, len, *data)) {
				doorbell_ring(dev->doorbells[i]);
				return 0;
			}
		}
	}
	if (!(r->ops->valid_sizes & len) || (len & (len - 1)) ||
	    (!r->ops->allow_unaligned && (off & (len - 1))) || len > r->size - off) {
		log_guest(&dev->rl_guest, dev->name, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			  "%u-byte %s at 0x%llx (offset 0x%llx) not supported by this device; "
			  "pc 0x%llx",
			  len, write ? "write" : "read", (unsigned long long)addr,
			  (unsigned long long)off, (unsigned long long)origin_pc(from));
		if (!write)
			*data = 0;
		return 0;
	}
	pthread_mutex_lock(&dev->lock);
	if (write)
		rc = r->ops->write(r->opaque, cpu, off, len, *data);
	else
		rc = r->ops->read(r->opaque, cpu, off, len, &val);
	pthread_mutex_unlock(&dev->lock);
	if (rc) {
		log_guest(&dev->rl_guest, dev->name, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			  "%u-byte %s at offset 0x%llx rejected (%s); pc 0x%llx", len,
			  write ? "write" : "read", (unsigned long long)off, strerror(-rc),
			  (unsigned long long)origin_pc(from));
		val = 0;
	}
	if (!write)
		*data = len == 8 ? val : val & ((1ull << (len * 8)) - 1);
	return 0;
}

/* ---- interrupts ---- */

static int h_irq_claim(struct avmm_dev *dev, const char *key, unsigned *line)
{
	struct irqroute *rt = dev->vm->irq;
	uint64_t v;
	int rc = h_cfg_u64(dev, key, &v);

	if (rc == -ENOENT)
		return h_cfg_error(dev, key, "missing: this device needs an interrupt line");
	if (rc)
		return rc;
	rc = irqroute_claim(rt, dev, v > UINT32_MAX ? UINT32_MAX : (unsigned)v);
	if (rc == -ENODEV)
		return h_cfg_error(dev, key,
				   "no interrupt controller: add a [device] section with plugin = "
				   "gicv2");
	if (rc == -ERANGE && !irqroute_nr_lines(rt))
		h_cfg_error(dev, key, "line %llu: %s has no interrupt lines", (unsigned long long)v,
			    irqroute_chip(rt)->name);
	else if (rc == -ERANGE)
		h_cfg_error(dev, key, "line %llu is outside %s's lines 0-%u",
			    (unsigned long long)v, irqroute_chip(rt)->name,
			    irqroute_nr_lines(rt) - 1);
	else if (rc == -EBUSY)
		h_cfg_error(dev, key, "line %llu is already used by [device %s]",
			    (unsigned long long)v, irqroute_line_owner(rt, (unsigned)v)->name);
	if (!rc)
		*line = (unsigned)v;
	return rc;
}

static void h_irq_set(struct avmm_dev *dev, unsigned line, bool level)
{
	if (irqroute_set_line(dev->vm->irq, dev, line, level))
		h_log(dev, AVMM_LOG_ERROR, "plugin bug: drives unclaimed interrupt line %u", line);
}

static void h_ppi_set(struct avmm_dev *dev, unsigned cpu, unsigned ppi, bool level)
{
	irqroute_set_ppi(dev->vm->irq, cpu, ppi, level);
}

static int h_irqchip_register(struct avmm_dev *dev, const struct avmm_irqchip_ops *ops,
			      void *opaque, uint32_t *phandle)
{
	struct vm *vm = dev->vm;
	int rc;

	if (!(dev->plugin->desc->flags & AVMM_PLUGIN_IRQCHIP)) {
		h_log(dev, AVMM_LOG_ERROR, "plugin bug: irqchip_register without AVMM_PLUGIN_IRQCHIP");
		return -EPERM;
	}
	if (!ops_copy(&dev->irqchip_ops, sizeof(dev->irqchip_ops), ops,
		      AVMM_IRQCHIP_OPS_SIZE_V1_0))
		return -EINVAL;
	rc = irqroute_register_chip(vm->irq, dev, &dev->irqchip_ops, opaque, &dev->lock,
				    vm->next_phandle);
	if (rc == -EEXIST)
		return h_cfg_error(dev, NULL, "a second interrupt controller; [device %s] is one",
				   irqroute_chip(vm->irq)->name);
	if (rc)
		return rc;
	*phandle = vm->next_phandle++;
	return 0;
}

static void h_cpu_irq_set(struct avmm_dev *dev, unsigned cpu, bool level)
{
	/* Before the accelerator exists the level is applied at vCPU start. */
	irqroute_cpu_set(dev->vm->irq, dev, cpu, level);
}

static unsigned h_cpu_count(struct avmm_dev *dev)
{
	return dev->vm->ncpus;
}

static int h_cpu_timer_subscribe(struct avmm_dev *dev, avmm_cpu_timer_fn fn, void *opaque)
{
	/* Without an interrupt controller the timers' PPIs would go nowhere. */
	if (!irqroute_chip(dev->vm->irq))
		return -ENODEV;
	return cputimer_subscribe(dev->vm->timers, dev, &dev->lock, fn, opaque);
}

/* ---- guest memory ---- */

static void *h_guest_ptr(struct avmm_dev *dev, uint64_t gpa, uint64_t len)
{
	return ram_ptr(&dev->vm->ram, gpa, len);
}

static int h_guest_read(struct avmm_dev *dev, uint64_t gpa, void *buf, size_t len)
{
	return ram_read(&dev->vm->ram, gpa, buf, len);
}

static int h_guest_write(struct avmm_dev *dev, uint64_t gpa, const void *buf, size_t len)
{
	return ram_write(&dev->vm->ram, gpa, buf, len);
}

/* ---- device tree ---- */

static int h_fdt_set_interrupts(struct avmm_dev *dev, void *fdt, int node,
				const struct avmm_irq_spec *specs, unsigned count)
{
	struct irqroute *rt = dev->vm->irq;
	unsigned per, n = 0;
	fdt32_t *cells;
	int rc;

	if (!irqroute_chip(rt))
		return -ENODEV;
	per = irqroute_interrupt_cells(rt);
	if (!count || count > 64)
		return -EINVAL;
	cells = calloc((size_t)count * per, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++) {
		uint32_t c[8] = {0};

		rc = irqroute_fdt_cells(rt, &specs[i], c);
		if (rc) {
			free(cells);
			return rc;
		}
		for (unsigned j = 0; j < per; j++)
			cells[n++] = cpu_to_fdt32(c[j]);
	}
	rc = fdt_setprop(fdt, node, "interrupts", cells, (int)(n * sizeof(*cells)));
	free(cells);
	return rc ? -ENOSPC : 0;
}

static int h_fdt_clock(struct avmm_dev *dev, void *fdt, uint32_t hz, uint32_t *phandle)
{
	(void)dev;
	return dtb_fixed_clock(fdt, hz, phandle);
}

/* ---- character backends ---- */

static int h_chr_open(struct avmm_dev *dev, const char *key, const char *def,
		      struct avmm_chr **chr)
{
	const char *spec = def;
	char err[256] = "";
	int rc = h_cfg_str(dev, key, &spec);

	if (rc && rc != -ENOENT)
		return rc;
	if (!spec)
		return h_cfg_error(dev, key, "missing");
	if (dev->nchr == sizeof(dev->chr) / sizeof(dev->chr[0]))
		return -ENOSPC;
	rc = chardev_open(dev->vm->io, spec, &dev->lock, chr, err, sizeof(err));
	if (rc) {
		h_cfg_error(dev, key, "'%s': %s", spec, err[0] ? err : strerror(-rc));
		return -EINVAL;
	}
	dev->chr[dev->nchr++] = *chr;
	return 0;
}

static ssize_t h_chr_write(struct avmm_chr *chr, const void *buf, size_t len)
{
	return chardev_write(chr, buf, len);
}

static int h_chr_set_handlers(struct avmm_chr *chr, const struct avmm_chr_handlers *h,
			      void *opaque)
{
	return chardev_set_handlers(chr, h, opaque);
}

static void h_chr_accept_input(struct avmm_chr *chr)
{
	chardev_accept_input(chr);
}

/* ---- I/O thread ---- */

/*
 * The device's own lists of watches and timers change only in its serialised
 * calls (create, callbacks, destroy), so they need no lock of their own.
 */
static int h_io_watch(struct avmm_dev *dev, int fd, unsigned events, avmm_io_fn fn,
		      void *opaque)
{
	int rc;

	if (dev->nwatch == ARRAY_LEN(dev->watch_fd))
		return -ENOSPC;
	rc = iothread_watch(dev->vm->io, fd, events, fn, opaque, &dev->lock);
	if (!rc)
		dev->watch_fd[dev->nwatch++] = fd;
	return rc;
}

static int h_io_unwatch(struct avmm_dev *dev, int fd)
{
	/* Only its own: the fd may be another device's or a chardev's. */
	for (unsigned i = 0; i < dev->nwatch; i++) {
		if (dev->watch_fd[i] == fd) {
			dev->watch_fd[i] = dev->watch_fd[--dev->nwatch];
			return iothread_unwatch(dev->vm->io, fd);
		}
	}
	return -ENOENT;
}

static int h_timer_new(struct avmm_dev *dev, avmm_timer_fn fn, void *opaque,
		       struct avmm_timer **timer)
{
	int rc;

	if (dev->ntimers == ARRAY_LEN(dev->timers))
		return -ENOSPC;
	rc = iothread_timer_new(dev->vm->io, fn, opaque, &dev->lock, timer);
	if (!rc)
		dev->timers[dev->ntimers++] = *timer;
	return rc;
}

static void h_timer_mod(struct avmm_timer *timer, uint64_t deadline_ns)
{
	iothread_timer_mod(timer, deadline_ns);
}

static void h_timer_del(struct avmm_timer *timer)
{
	iothread_timer_del(timer);
}

static void h_timer_free(struct avmm_timer *timer)
{
	pthread_mutex_t *lock = iothread_timer_lock(timer);
	struct avmm_dev *dev;

	if (!lock)
		return;
	/* Every plugin timer is created with its device's lock. */
	dev = (struct avmm_dev *)((char *)lock - offsetof(struct avmm_dev, lock));
	for (unsigned i = 0; i < dev->ntimers; i++) {
		if (dev->timers[i] == timer) {
			dev->timers[i] = dev->timers[--dev->ntimers];
			iothread_timer_free(timer);
			return;
		}
	}
}

/* ---- workers ---- */

static int h_worker_new(struct avmm_dev *dev, avmm_worker_fn fn, void *opaque,
			struct avmm_worker **worker)
{
	int rc;

	if (from_worker(dev, "worker_new"))
		return -EPERM;
	if (!fn || !worker)
		return -EINVAL;
	if (dev->nworkers == ARRAY_LEN(dev->workers))
		return -ENOSPC;
	rc = iothread_worker_new(dev->vm->io, fn, opaque, dev, worker);
	if (!rc)
		dev->workers[dev->nworkers++] = *worker;
	return rc;
}

static void h_worker_kick(struct avmm_worker *worker)
{
	iothread_worker_kick(worker);
}

static void h_worker_free(struct avmm_worker *worker)
{
	struct avmm_dev *dev = iothread_worker_owner(worker);

	if (!dev || from_worker(dev, "worker_free"))
		return;
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		if (dev->doorbells[i]->d.worker == worker) {
			h_log(dev, AVMM_LOG_ERROR, "plugin bug: worker_free of a doorbell's worker");
			return;
		}
	}
	for (unsigned i = 0; i < dev->nworkers; i++) {
		if (dev->workers[i] == worker) {
			dev->workers[i] = dev->workers[--dev->nworkers];
			iothread_worker_free(worker);
			return;
		}
	}
}

static uint64_t h_clock_ns(void)
{
	return clock_ns();
}

static void h_vm_request_exit(struct avmm_dev *dev, int status)
{
	power_request_stop(dev->vm->power, status);
}

const struct avmm_host device_host = {
	.struct_size = sizeof(struct avmm_host),
	.abi_major = AVMM_ABI_MAJOR,
	.abi_minor = AVMM_ABI_MINOR,
	.log = h_log,
	.vlog = h_vlog,
	.dev_name = h_dev_name,
	.cfg_str = h_cfg_str,
	.cfg_u64 = h_cfg_u64,
	.cfg_bool = h_cfg_bool,
	.cfg_error = h_cfg_error,
	.mmio_register = h_mmio_register,
	.irq_claim = h_irq_claim,
	.irq_set = h_irq_set,
	.ppi_set = h_ppi_set,
	.irqchip_register = h_irqchip_register,
	.cpu_irq_set = h_cpu_irq_set,
	.cpu_count = h_cpu_count,
	.cpu_timer_subscribe = h_cpu_timer_subscribe,
	.guest_ptr = h_guest_ptr,
	.guest_read = h_guest_read,
	.guest_write = h_guest_write,
	.fdt_set_interrupts = h_fdt_set_interrupts,
	.fdt_clock = h_fdt_clock,
	.chr_open = h_chr_open,
	.chr_write = h_chr_write,
	.chr_set_handlers = h_chr_set_handlers,
	.chr_accept_input = h_chr_accept_input,
	.io_watch = h_io_watch,
	.io_unwatch = h_io_unwatch,
	.timer_new = h_timer_new,
	.timer_mod = h_timer_mod,
	.timer_del = h_timer_del,
	.timer_free = h_timer_free,
	.clock_ns = h_clock_ns,
	.vm_request_exit = h_vm_request_exit,
	/* 1.1 */
	.cfg_path = h_cfg_path,
	.worker_new = h_worker_new,
	.worker_kick = h_worker_kick,
	.worker_free = h_worker_free,
	.doorbell_new = h_doorbell_new,
};

int device_create(struct vm *vm, struct cfg_section *sec, struct plugin *plugin,
		  struct avmm_dev **out)
{
	struct avmm_dev *dev = calloc(1, sizeof(*dev));
	pthread_mutexattr_t attr;
	char err[512] = "";
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->vm = vm;
	dev->name = sec->dev;
	dev->sec = sec;
	dev->plugin = plugin;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	*out = dev;

	rc = plugin->desc->create(dev, &device_host, &dev->instance, err, sizeof(err));
	if (rc) {
		dev->instance = NULL;
		if (err[0])
			config_error(vm->cfg, sec, NULL, "%s: %s", plugin->desc->name, err);
		else if (rc != -EINVAL)
			config_error(vm->cfg, sec, NULL, "%s: cannot create device: %s",
				     plugin->desc->name, strerror(-rc));
		return -EINVAL;
	}
	return config_check_unused(vm->cfg, sec);
}

void device_destroy(struct avmm_dev *dev)
{
	if (!dev)
		return;
	/*
	 * Doorbells first: the plugin cannot free them, and one must not fire
	 * into (or kick a worker of) an instance its destroy() freed.
	 */
	for (unsigned i = 0; i < dev->ndoorbells; i++)
		doorbell_free(dev->doorbells[i]);
	dev->ndoorbells = 0;
	if (dev->instance)
		dev->plugin->desc->destroy(dev->instance);
	/* What the plugin left behind: no callback may outlive the device. */
	for (unsigned i = 0; i < dev->nworkers; i++)
		iothread_worker_free(dev->workers[i]);
	for (unsigned i = 0; i < dev->nwatch; i++)
		iothread_unwatch(dev->vm->io, dev->watch_fd[i]);
	for (unsigned i = 0; i < dev->ntimers; i++)
		iothread_timer_free(dev->timers[i]);
	for (unsigned i = 0; i < dev->nchr; i++)
		chardev_close(dev->chr[i]);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}
