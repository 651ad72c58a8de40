/* SPDX-License-Identifier: MIT */
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "accel.h"
#include "chardev.h"
#include "config.h"
#include "dtb.h"
#include "iothread.h"
#include "memmap.h"
#include "plugin.h"
#include "ram.h"
#include "vcpu.h"
#include "vm.h"

#define GUEST_LOG_BURST 10

/* ---- logging ---- */

static void h_vlog(struct avmm_dev *dev, unsigned flags, const char *fmt, va_list ap)
{
	struct log_ratelimit *rl = NULL;

	if ((int)(flags & AVMM_LOG_LEVEL_MASK) > log_level())
		return;
	if (flags & AVMM_LOG_GUEST_ERROR)
		rl = &dev->rl_guest;
	else if (flags & AVMM_LOG_UNIMP)
		rl = &dev->rl_unimp;
	if (rl) {
		uint32_t dropped;

		if (!log_ratelimit_ok(rl, clock_ns(), GUEST_LOG_BURST))
			return;
		/* Taken atomically: vCPUs share the device's limiter. */
		dropped = log_ratelimit_take_suppressed(rl);
		if (dropped)
			log_msg(AVMM_LOG_WARN, "%s: %u similar messages suppressed", dev->name,
				dropped);
	}
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

/* ---- MMIO ---- */

static int h_mmio_register(struct avmm_dev *dev, const char *cfg_key, uint64_t base,
			   uint64_t size, const struct avmm_mmio_ops *ops, void *opaque)
{
	struct vm *vm = dev->vm;
	struct cfg_key *k = cfg_key ? config_key(dev->sec, cfg_key) : NULL;
	const struct mmio_region *other;
	struct mmio_region r = {
		.base = base, .size = size, .ops = ops, .opaque = opaque, .dev = dev,
		.cfg_line = k ? k->line : dev->sec->line,
	};
	int rc;

	if (vm->running)
		return -EBUSY;
	if (!ops || ops->struct_size < sizeof(*ops) || !ops->read || !ops->write ||
	    !(ops->valid_sizes & (AVMM_SIZE_1 | AVMM_SIZE_2 | AVMM_SIZE_4 | AVMM_SIZE_8))) {
		h_log(dev, AVMM_LOG_ERROR, "plugin bug: incomplete avmm_mmio_ops");
		return -EINVAL;
	}
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
	return rc;
}

int mmio_dispatch(struct vm *vm, struct vcpu *vcpu, uint64_t addr, unsigned len, bool write,
		  uint64_t *data)
{
	unsigned cpu = vcpu ? vcpu->index : 0;
	const struct mmio_region *r = memmap_find(&vm->map, addr);
	struct avmm_dev *dev;
	uint64_t off, val = 0;
	int rc;

	if (!r)
		return -EFAULT;
	dev = r->dev;
	off = addr - r->base;
	if (!(r->ops->valid_sizes & len) || (len & (len - 1)) ||
	    (!r->ops->allow_unaligned && (off & (len - 1))) || len > r->size - off) {
		h_log(dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
		      "%u-byte %s at 0x%llx (offset 0x%llx) not supported by this device; pc 0x%llx",
		      len, write ? "write" : "read", (unsigned long long)addr,
		      (unsigned long long)off, (unsigned long long)vcpu_pc(vcpu));
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
		h_log(dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
		      "%u-byte %s at offset 0x%llx rejected (%s); pc 0x%llx", len,
		      write ? "write" : "read", (unsigned long long)off, strerror(-rc),
		      (unsigned long long)vcpu_pc(vcpu));
		val = 0;
	}
	if (!write)
		*data = len == 8 ? val : val & ((1ull << (len * 8)) - 1);
	return 0;
}

/* ---- interrupts ---- */

static int h_irq_claim(struct avmm_dev *dev, const char *key, unsigned *line)
{
	struct vm *vm = dev->vm;
	uint64_t v;
	int rc = h_cfg_u64(dev, key, &v);

	if (rc == -ENOENT)
		return h_cfg_error(dev, key, "missing: this device needs an interrupt line");
	if (rc)
		return rc;
	if (!vm->irqchip_ops)
		return h_cfg_error(dev, key,
				   "no interrupt controller: add a [device] section with plugin = "
				   "gicv2");
	if (v >= vm->irqchip_ops->nr_lines) {
		h_cfg_error(dev, key, "line %llu is outside %s's lines 0-%u",
			    (unsigned long long)v, vm->irqchip->name,
			    vm->irqchip_ops->nr_lines - 1);
		return -ERANGE;
	}
	if (vm->line_owner[v] && vm->line_owner[v] != dev) {
		h_cfg_error(dev, key, "line %llu is already used by [device %s]",
			    (unsigned long long)v, vm->line_owner[v]->name);
		return -EBUSY;
	}
	vm->line_owner[v] = dev;
	*line = (unsigned)v;
	return 0;
}

static void h_irq_set(struct avmm_dev *dev, unsigned line, bool level)
{
	struct vm *vm = dev->vm;
	struct avmm_dev *chip = vm->irqchip;

	/* Only the claimed line: a plugin bug must not reach another device's. */
	if (!chip || line >= vm->irqchip_ops->nr_lines || vm->line_owner[line] != dev) {
		h_log(dev, AVMM_LOG_ERROR, "plugin bug: drives unclaimed interrupt line %u", line);
		return;
	}
	pthread_mutex_lock(&chip->lock);
	vm->irqchip_ops->set_line(vm->irqchip_opaque, line, level);
	pthread_mutex_unlock(&chip->lock);
}

static void h_ppi_set(struct avmm_dev *dev, unsigned cpu, unsigned ppi, bool level)
{
	struct vm *vm = dev->vm;
	struct avmm_dev *chip = vm->irqchip;

	if (!chip || cpu >= vm->ncpus)
		return;
	pthread_mutex_lock(&chip->lock);
	vm->irqchip_ops->set_ppi(vm->irqchip_opaque, cpu, ppi, level);
	pthread_mutex_unlock(&chip->lock);
}

static int h_irqchip_register(struct avmm_dev *dev, const struct avmm_irqchip_ops *ops,
			      void *opaque, uint32_t *phandle)
{
	struct vm *vm = dev->vm;

	if (!(dev->plugin->desc->flags & AVMM_PLUGIN_IRQCHIP)) {
		h_log(dev, AVMM_LOG_ERROR, "plugin bug: irqchip_register without AVMM_PLUGIN_IRQCHIP");
		return -EPERM;
	}
	if (vm->irqchip)
		return h_cfg_error(dev, NULL, "a second interrupt controller; [device %s] is one",
				   vm->irqchip->name);
	if (!ops || ops->struct_size < sizeof(*ops) || !ops->set_line || !ops->set_ppi ||
	    !ops->fdt_cells || !ops->nr_lines || !ops->interrupt_cells ||
	    ops->interrupt_cells > 8)
		return -EINVAL;
	vm->line_owner = calloc(ops->nr_lines, sizeof(*vm->line_owner));
	if (!vm->line_owner)
		return -ENOMEM;
	vm->irqchip = dev;
	vm->irqchip_ops = ops;
	vm->irqchip_opaque = opaque;
	vm->irqchip_phandle = vm->next_phandle++;
	*phandle = vm->irqchip_phandle;
	return 0;
}

static void h_cpu_irq_set(struct avmm_dev *dev, unsigned cpu, bool level)
{
	struct vm *vm = dev->vm;
	struct vcpu *v;

	if (dev != vm->irqchip || cpu >= vm->ncpus)
		return;
	v = &vm->vcpus[cpu];
	if (atomic_exchange(&v->irq_level, level) == level)
		return;
	/* Before the accelerator exists the level is applied at vCPU start. */
	if (vm->accel_state)
		vm->accel->vcpu_set_irq(v, level);
}

static unsigned h_cpu_count(struct avmm_dev *dev)
{
	return dev->vm->ncpus;
}

static int h_cpu_timer_subscribe(struct avmm_dev *dev, avmm_cpu_timer_fn fn, void *opaque)
{
	struct vm *vm = dev->vm;

	if (vm->running)
		return -EBUSY;
	if (vm->ntimer_subs == VM_MAX_TIMER_SUBS)
		return -ENOSPC;
	vm->timer_subs[vm->ntimer_subs++] = (struct vm_timer_sub){fn, opaque, dev};
	return 0;
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
	struct vm *vm = dev->vm;
	unsigned per, n = 0;
	fdt32_t *cells;
	int rc;

	if (!vm->irqchip_ops)
		return -ENODEV;
	per = vm->irqchip_ops->interrupt_cells;
	if (!count || count > 64)
		return -EINVAL;
	cells = calloc((size_t)count * per, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++) {
		uint32_t c[8] = {0};

		rc = vm->irqchip_ops->fdt_cells(vm->irqchip_opaque, &specs[i], c);
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

static int h_io_watch(struct avmm_dev *dev, int fd, unsigned events, avmm_io_fn fn,
		      void *opaque)
{
	return iothread_watch(dev->vm->io, fd, events, fn, opaque, &dev->lock);
}

static int h_io_unwatch(struct avmm_dev *dev, int fd)
{
	return iothread_unwatch(dev->vm->io, fd);
}

static int h_timer_new(struct avmm_dev *dev, avmm_timer_fn fn, void *opaque,
		       struct avmm_timer **timer)
{
	int rc;

	if (dev->ntimers == sizeof(dev->timers) / sizeof(dev->timers[0]))
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
	/* Freed for real with the device, so a stale pointer stays harmless. */
	iothread_timer_del(timer);
}

static uint64_t h_clock_ns(void)
{
	return clock_ns();
}

static void h_vm_request_exit(struct avmm_dev *dev, int status)
{
	vm_request_stop(dev->vm, status);
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
};

int device_create(struct vm *vm, struct cfg_section *sec, struct plugin *plugin,
		  struct avmm_dev **out)
{
	struct avmm_dev *dev = calloc(1, sizeof(*dev));
	char err[512] = "";
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->vm = vm;
	dev->name = sec->dev;
	dev->sec = sec;
	dev->plugin = plugin;
	pthread_mutex_init(&dev->lock, NULL);
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
	if (dev->instance)
		dev->plugin->desc->destroy(dev->instance);
	for (unsigned i = 0; i < dev->ntimers; i++)
		iothread_timer_free(dev->timers[i]);
	for (unsigned i = 0; i < dev->nchr; i++)
		chardev_close(dev->chr[i]);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}
