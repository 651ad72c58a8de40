/* SPDX-License-Identifier: MIT */
#include "fakehost.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "config.h" /* the core's value parsers: the same syntax, by construction */

/*
 * A plugin breaking the host contract must fail its test loudly, also in
 * release builds where FAKE_CHECK() is compiled out.
 */
#define FAKE_CHECK(cond)                                                               \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: fake host: contract violated: %s\n",   \
				__FILE__, __LINE__, #cond);                            \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* The fake clock lives in the device; tests have one device at a time. */
static struct avmm_dev *clock_owner;

void fake_init(struct avmm_dev *dev, const char *name, unsigned ncpus)
{
	pthread_mutexattr_t attr;

	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->ncpus = ncpus;
	dev->nr_lines = FAKE_MAX_LINES;
	dev->now_ns = 1000000000ull;
	/* Recursive like the core's: a callback may lead back into its device. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	clock_owner = dev;
}

void fake_fini(struct avmm_dev *dev)
{
	free(dev->ram);
	dev->ram = NULL;
	if (dev->plugin_bugs)
		fprintf(stderr, "fake host: [%s] %u plugin bug(s), last: %s\n", dev->name,
			dev->plugin_bugs, dev->last_log);
	FAKE_CHECK(dev->plugin_bugs == 0);
}

/* What the core logs as "plugin bug" and refuses: counted, and fatal at fini. */
AVMM_PRINTF(2, 3) static void plugin_bug(struct avmm_dev *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->last_log, sizeof(dev->last_log), fmt, ap);
	va_end(ap);
	dev->plugin_bugs++;
	dev->errors++;
	if (getenv("FAKEHOST_VERBOSE"))
		fprintf(stderr, "[%s] plugin bug: %s\n", dev->name, dev->last_log);
}

void fake_set(struct avmm_dev *dev, const char *key, const char *value)
{
	for (unsigned i = 0; i < dev->ncfg; i++) {
		if (!strcmp(dev->cfg[i].key, key)) {
			dev->cfg[i].value = value;
			return;
		}
	}
	FAKE_CHECK(dev->ncfg < FAKE_MAX_KEYS);
	dev->cfg[dev->ncfg].key = key;
	dev->cfg[dev->ncfg].value = value;
	dev->cfg[dev->ncfg].used = false;
	dev->ncfg++;
}

unsigned fake_unused_keys(const struct avmm_dev *dev)
{
	unsigned n = 0;
	for (unsigned i = 0; i < dev->ncfg; i++)
		n += !dev->cfg[i].used;
	return n;
}

void fake_ram(struct avmm_dev *dev, uint64_t base, uint64_t size)
{
	free(dev->ram);
	dev->ram = calloc(1, size);
	FAKE_CHECK(dev->ram);
	dev->ram_base = base;
	dev->ram_size = size;
}

static struct fake_region *find_region(struct avmm_dev *dev, uint64_t addr)
{
	for (unsigned i = 0; i < dev->nregions; i++) {
		struct fake_region *r = &dev->regions[i];
		if (addr >= r->base && addr - r->base < r->size)
			return r;
	}
	return NULL;
}

/* Mirror the core's dispatch: such accesses never reach the device. */
static bool access_ok(struct avmm_dev *dev, const struct fake_region *r, uint64_t off,
		      unsigned size)
{
	if (!(r->ops.valid_sizes & size) || (size & (size - 1)) ||
	    (!r->ops.allow_unaligned && (off & (size - 1))) || size > r->size - off) {
		dev->guest_errors++;
		return false;
	}
	return true;
}

int fake_read(struct avmm_dev *dev, unsigned cpu, uint64_t addr, unsigned size, uint64_t *v)
{
	struct fake_region *r = find_region(dev, addr);
	uint64_t val = 0;
	int rc;

	*v = 0;
	if (!r)
		return -EFAULT;
	if (!access_ok(dev, r, addr - r->base, size))
		return 0;
	pthread_mutex_lock(&dev->lock);
	rc = r->ops.read(r->opaque, cpu, addr - r->base, size, &val);
	pthread_mutex_unlock(&dev->lock);
	if (rc)
		dev->guest_errors++;
	else
		*v = size == 8 ? val : val & ((1ull << (size * 8)) - 1);
	return rc;
}

int fake_write(struct avmm_dev *dev, unsigned cpu, uint64_t addr, unsigned size, uint64_t v)
{
	struct fake_region *r = find_region(dev, addr);
	int rc;

	if (!r)
		return -EFAULT;
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		struct avmm_doorbell *db = &dev->doorbells[i];

		if (db->d.gpa == addr && db->d.len == size &&
		    (!(db->d.flags & AVMM_DOORBELL_DATAMATCH) || db->d.data == v)) {
			db->rings++;
			atomic_store(&db->rung, true);
			return 0;
		}
	}
	if (!access_ok(dev, r, addr - r->base, size))
		return 0;
	pthread_mutex_lock(&dev->lock);
	rc = r->ops.write(r->opaque, cpu, addr - r->base, size, v);
	pthread_mutex_unlock(&dev->lock);
	if (rc)
		dev->guest_errors++;
	return rc;
}

uint32_t fake_rd32(struct avmm_dev *dev, unsigned cpu, uint64_t addr)
{
	uint64_t v;
	int rc = fake_read(dev, cpu, addr, 4, &v);
	if (rc) {
		fprintf(stderr, "fake_rd32(0x%llx): %d\n", (unsigned long long)addr, rc);
		abort();
	}
	return (uint32_t)v;
}

void fake_wr32(struct avmm_dev *dev, unsigned cpu, uint64_t addr, uint32_t v)
{
	int rc = fake_write(dev, cpu, addr, 4, v);
	if (rc) {
		fprintf(stderr, "fake_wr32(0x%llx): %d\n", (unsigned long long)addr, rc);
		abort();
	}
}

size_t fake_chr_input(struct avmm_dev *dev, const uint8_t *buf, size_t len)
{
	struct avmm_chr *c = &dev->chr;
	size_t done = 0;

	pthread_mutex_lock(&dev->lock);
	while (c->h && done < len) {
		size_t room = c->h->can_receive(c->opaque);
		if (!room)
			break;
		if (room > len - done)
			room = len - done;
		c->h->receive(c->opaque, buf + done, room);
		done += room;
	}
	pthread_mutex_unlock(&dev->lock);
	return done;
}

/* Set while a worker's fn runs: what the core refuses from a worker thread. */
static _Thread_local bool in_worker;

static void run_workers(struct avmm_dev *dev)
{
	for (unsigned i = 0; i < FAKE_MAX_WORKERS; i++) {
		struct avmm_worker *w = &dev->workers[i];

		if (w->used && atomic_exchange(&w->pending, false)) {
			in_worker = true;
			w->fn(w->opaque);
			in_worker = false;
		}
	}
}

/*
 * Take the device lock for an I/O-thread-like call.  Workers do not wait for
 * it in the core, so they do not here: while a vCPU-like thread holds it
 * (maybe waiting for a worker), kicked workers keep running.
 */
static void lock_running_workers(struct avmm_dev *dev)
{
	while (pthread_mutex_trylock(&dev->lock)) {
		run_workers(dev);
		usleep(100);
	}
}

/* Like the core's I/O thread: due timers earliest first, each once per pass. */
void fake_advance(struct avmm_dev *dev, uint64_t ns)
{
	bool fired[FAKE_MAX_TIMERS] = {false};

	lock_running_workers(dev);
	dev->now_ns += ns;
	for (;;) {
		struct avmm_timer *t = NULL;
		unsigned ti = 0;

		for (unsigned i = 0; i < FAKE_MAX_TIMERS; i++) {
			struct avmm_timer *c = &dev->timers[i];

			if (!c->used || !c->deadline || c->deadline > dev->now_ns || fired[i])
				continue;
			if (!t || c->deadline < t->deadline) {
				t = c;
				ti = i;
			}
		}
		if (!t)
			break;
		fired[ti] = true;
		t->deadline = 0; /* before the call, so the callback may re-arm */
		t->fn(t->opaque);
	}
	pthread_mutex_unlock(&dev->lock);
}

static void h_worker_kick(struct avmm_worker *w);

void fake_io_poll(struct avmm_dev *dev)
{
	struct pollfd pfd[FAKE_MAX_WATCHES];
	unsigned n = 0;

	run_workers(dev);
	lock_running_workers(dev);
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		struct avmm_doorbell *db = &dev->doorbells[i];

		if (!atomic_exchange(&db->rung, false))
			continue;
		if (db->d.worker)
			h_worker_kick(db->d.worker);
		else
			db->d.fn(db->d.opaque);
	}
	for (unsigned i = 0; i < dev->nwatches; i++) {
		const struct fake_watch *w = &dev->watches[i];

		if (!w->events)
			continue;
		pfd[n++] = (struct pollfd){
			.fd = w->fd,
			.events = (short)((w->events & AVMM_IO_IN ? POLLIN : 0) |
					  (w->events & AVMM_IO_OUT ? POLLOUT : 0)),
		};
	}
	if (n && poll(pfd, n, 0) > 0) {
		for (unsigned i = 0; i < n; i++) {
			unsigned ev = 0;

			if (pfd[i].revents & POLLIN)
				ev |= AVMM_IO_IN;
			if (pfd[i].revents & POLLOUT)
				ev |= AVMM_IO_OUT;
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				ev |= AVMM_IO_ERR;
			/* An earlier callback may have removed this watch. */
			for (unsigned j = 0; ev && j < dev->nwatches; j++) {
				struct fake_watch *w = &dev->watches[j];

				if (w->fd == pfd[i].fd && (ev &= w->events | AVMM_IO_ERR)) {
					w->fn(w->opaque, w->fd, ev);
					break;
				}
			}
		}
	}
	pthread_mutex_unlock(&dev->lock);
}

void fake_cpu_timer(struct avmm_dev *dev, unsigned cpu, enum avmm_cpu_timer t, bool level)
{
	FAKE_CHECK(dev->timer_fn);
	pthread_mutex_lock(&dev->lock);
	dev->timer_fn(dev->timer_opaque, cpu, t, level);
	pthread_mutex_unlock(&dev->lock);
}

/* ---- the host table ---- */

static void h_vlog(struct avmm_dev *dev, unsigned flags, const char *fmt, va_list ap)
{
	vsnprintf(dev->last_log, sizeof(dev->last_log), fmt, ap);
	if (flags & AVMM_LOG_GUEST_ERROR)
		dev->guest_errors++;
	if (flags & AVMM_LOG_UNIMP)
		dev->unimp++;
	if ((flags & AVMM_LOG_LEVEL_MASK) == AVMM_LOG_ERROR)
		dev->errors++;
	if (getenv("FAKEHOST_VERBOSE"))
		fprintf(stderr, "[%s] %s\n", dev->name, dev->last_log);
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

static const char *lookup(struct avmm_dev *dev, const char *key)
{
	for (unsigned i = 0; i < dev->ncfg; i++) {
		if (!strcmp(dev->cfg[i].key, key)) {
			dev->cfg[i].used = true;
			return dev->cfg[i].value;
		}
	}
	return NULL;
}

static int h_cfg_str(struct avmm_dev *dev, const char *key, const char **value)
{
	const char *v = lookup(dev, key);
	if (!v)
		return -ENOENT;
	*value = v;
	return 0;
}

static int h_cfg_u64(struct avmm_dev *dev, const char *key, uint64_t *value)
{
	const char *v = lookup(dev, key);
	if (!v)
		return -ENOENT;
	if (config_parse_u64(v, value)) {
		dev->cfg_errors++;
		return -EINVAL;
	}
	return 0;
}

static int h_cfg_bool(struct avmm_dev *dev, const char *key, bool *value)
{
	const char *v = lookup(dev, key);
	if (!v)
		return -ENOENT;
	if (config_parse_bool(v, value)) {
		dev->cfg_errors++;
		return -EINVAL;
	}
	return 0;
}

/* As the core: relative to the config file's directory, and readable. */
static int h_cfg_path(struct avmm_dev *dev, const char *key, char **path)
{
	const char *v = lookup(dev, key);
	const char *dir = dev->cfg_dir ? dev->cfg_dir : ".";
	size_t n;
	char *p;

	if (!v)
		return -ENOENT;
	if (!*v) {
		dev->cfg_errors++;
		return -EINVAL;
	}
	n = strlen(dir) + strlen(v) + 2;
	p = malloc(n);
	FAKE_CHECK(p);
	if (v[0] == '/' || !strcmp(dir, "."))
		snprintf(p, n, "%s", v);
	else
		snprintf(p, n, "%s/%s", dir, v);
	if (access(p, R_OK)) {
		free(p);
		dev->cfg_errors++;
		return -EINVAL;
	}
	*path = p;
	return 0;
}

static void cfg_verror(struct avmm_dev *dev, const char *key, const char *fmt, va_list ap)
{
	int n = snprintf(dev->last_log, sizeof(dev->last_log), "%s: ", key ? key : "");

	vsnprintf(dev->last_log + n, sizeof(dev->last_log) - (size_t)n, fmt, ap);
	dev->cfg_errors++;
}

static int h_cfg_error(struct avmm_dev *dev, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cfg_verror(dev, key, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The core's ops_copy(): from the 1.0 size up, zero past struct_size. */
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
	return true;
}

static int h_mmio_register(struct avmm_dev *dev, const char *cfg_key, uint64_t base,
			   uint64_t size, const struct avmm_mmio_ops *ops, void *opaque)
{
	struct fake_region r = {.base = base, .size = size, .opaque = opaque};

	if (dev->nregions == FAKE_MAX_REGIONS)
		return -ENOSPC;
	if (!ops_copy(&r.ops, sizeof(r.ops), ops, AVMM_MMIO_OPS_SIZE_V1_0) || !r.ops.read ||
	    !r.ops.write ||
	    !(r.ops.valid_sizes & (AVMM_SIZE_1 | AVMM_SIZE_2 | AVMM_SIZE_4 | AVMM_SIZE_8))) {
		plugin_bug(dev, "incomplete avmm_mmio_ops");
		return -EINVAL;
	}
	if (!size)
		return h_cfg_error(dev, cfg_key, "MMIO region of size 0");
	if (base + (size - 1) < base)
		return h_cfg_error(dev, cfg_key, "MMIO region wraps around");
	if (dev->ram_size && base < dev->ram_base + dev->ram_size && dev->ram_base < base + size) {
		h_cfg_error(dev, cfg_key, "MMIO overlaps RAM");
		return -EEXIST;
	}
	for (unsigned i = 0; i < dev->nregions; i++) {
		const struct fake_region *o = &dev->regions[i];

		if (base <= o->base + (o->size - 1) && o->base <= base + (size - 1)) {
			h_cfg_error(dev, cfg_key, "MMIO overlaps another region");
			return -EEXIST;
		}
	}
	dev->regions[dev->nregions++] = r;
	return 0;
}

static int h_irq_claim(struct avmm_dev *dev, const char *key, unsigned *line)
{
	uint64_t v;
	int rc = h_cfg_u64(dev, key, &v);

	/* As in the core: a missing line is a reported configuration error. */
	if (rc == -ENOENT)
		return h_cfg_error(dev, key, "missing: this device needs an interrupt line");
	if (rc)
		return rc;
	if (v >= dev->nr_lines) {
		h_cfg_error(dev, key, "line %llu is outside the irqchip's lines",
			    (unsigned long long)v);
		return -ERANGE;
	}
	dev->line_claimed[v] = true;
	*line = (unsigned)v;
	return 0;
}

static void h_irq_set(struct avmm_dev *dev, unsigned line, bool level)
{
	if (line >= dev->nr_lines || !dev->line_claimed[line]) {
		plugin_bug(dev, "drives unclaimed interrupt line %u", line);
		return;
	}
	if (level && !dev->line_level[line])
		dev->line_edges[line]++;
	dev->line_level[line] = level;
	if (dev->irqchip) /* an irqchip driving its own line */
		dev->irqchip->set_line(dev->irqchip_opaque, line, level);
}

static void h_ppi_set(struct avmm_dev *dev, unsigned cpu, unsigned ppi, bool level)
{
	if (cpu >= dev->ncpus || ppi >= 32) {
		plugin_bug(dev, "PPI %u of CPU %u: no such CPU or PPI", ppi, cpu);
		return;
	}
	dev->ppi_level[cpu][ppi] = level;
	if (dev->irqchip)
		dev->irqchip->set_ppi(dev->irqchip_opaque, cpu, ppi, level);
}

static int h_irqchip_register(struct avmm_dev *dev, const struct avmm_irqchip_ops *ops,
			      void *opaque, uint32_t *phandle)
{
	struct avmm_irqchip_ops *c = &dev->irqchip_copy;

	if (dev->irqchip)
		return h_cfg_error(dev, NULL, "a second interrupt controller");
	if (!ops_copy(c, sizeof(*c), ops, AVMM_IRQCHIP_OPS_SIZE_V1_0) || !c->set_line ||
	    !c->set_ppi || !c->fdt_cells || !c->interrupt_cells ||
	    c->interrupt_cells > 8)
		return -EINVAL;
	dev->irqchip = c;
	dev->irqchip_opaque = opaque;
	if (c->nr_lines < FAKE_MAX_LINES)
		dev->nr_lines = c->nr_lines;
	*phandle = 1;
	return 0;
}

static void h_cpu_irq_set(struct avmm_dev *dev, unsigned cpu, bool level)
{
	if (!dev->irqchip || cpu >= dev->ncpus) {
		plugin_bug(dev, "cpu_irq_set(%u) %s", cpu,
			   dev->irqchip ? "past the last CPU" : "from a device that is no irqchip");
		return;
	}
	if (level && !dev->cpu_irq[cpu])
		dev->cpu_irq_edges[cpu]++;
	dev->cpu_irq[cpu] = level;
}

static unsigned h_cpu_count(struct avmm_dev *dev)
{
	return dev->ncpus;
}

static int h_cpu_timer_subscribe(struct avmm_dev *dev, avmm_cpu_timer_fn fn, void *opaque)
{
	dev->timer_fn = fn;
	dev->timer_opaque = opaque;
	return 0;
}

static void *h_guest_ptr(struct avmm_dev *dev, uint64_t gpa, uint64_t len)
{
	if (!dev->ram || !len || gpa < dev->ram_base)
		return NULL;
	uint64_t off = gpa - dev->ram_base;
	if (off >= dev->ram_size || len > dev->ram_size - off)
		return NULL;
	return dev->ram + off;
}

static int h_guest_read(struct avmm_dev *dev, uint64_t gpa, void *buf, size_t len)
{
	void *p = h_guest_ptr(dev, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

static int h_guest_write(struct avmm_dev *dev, uint64_t gpa, const void *buf, size_t len)
{
	void *p = h_guest_ptr(dev, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

/* Without a registered irqchip, encode like a GIC: <kind num flags>. */
static int h_fdt_set_interrupts(struct avmm_dev *dev, void *fdt, int node,
				const struct avmm_irq_spec *specs, unsigned count)
{
	fdt32_t cells[64];
	unsigned per = dev->irqchip ? dev->irqchip->interrupt_cells : 3, n = 0;
	if (count * per > 64)
		return -E2BIG;
	for (unsigned i = 0; i < count; i++) {
		uint32_t c[8] = {specs[i].kind, specs[i].num, specs[i].flags};
		if (dev->irqchip && dev->irqchip->fdt_cells(dev->irqchip_opaque, &specs[i], c))
			return -EINVAL;
		for (unsigned j = 0; j < per; j++)
			cells[n++] = cpu_to_fdt32(c[j]);
	}
	return fdt_setprop(fdt, node, "interrupts", cells, n * sizeof(fdt32_t)) ? -EINVAL : 0;
}

static int h_fdt_clock(struct avmm_dev *dev, void *fdt, uint32_t hz, uint32_t *phandle)
{
	(void)dev;
	int node = fdt_path_offset(fdt, "/apb-pclk");
	if (node < 0) {
		node = fdt_add_subnode(fdt, 0, "apb-pclk");
		if (node < 0)
			return -ENOSPC;
		fdt_setprop_string(fdt, node, "compatible", "fixed-clock");
		fdt_setprop_u32(fdt, node, "#clock-cells", 0);
		fdt_setprop_u32(fdt, node, "clock-frequency", hz);
		fdt_setprop_u32(fdt, node, "phandle", 0x8000);
	}
	*phandle = 0x8000;
	return 0;
}

static int h_chr_open(struct avmm_dev *dev, const char *key, const char *def,
		      struct avmm_chr **chr)
{
	const char *spec = def;
	h_cfg_str(dev, key, &spec);
	(void)spec;
	dev->chr_open = true;
	*chr = &dev->chr;
	return 0;
}

static ssize_t h_chr_write(struct avmm_chr *chr, const void *buf, size_t len)
{
	size_t room = FAKE_TX_MAX - chr->tx_len;
	if (len > room)
		len = room;
	memcpy(chr->tx + chr->tx_len, buf, len);
	chr->tx_len += len;
	return (ssize_t)len;
}

static int h_chr_set_handlers(struct avmm_chr *chr, const struct avmm_chr_handlers *h,
			      void *opaque)
{
	chr->h = h;
	chr->opaque = opaque;
	return 0;
}

static void h_chr_accept_input(struct avmm_chr *chr)
{
	chr->accept_calls++;
}

static int h_io_watch(struct avmm_dev *dev, int fd, unsigned events, avmm_io_fn fn,
		      void *opaque)
{
	if (fd < 0 || !fn || (events & ~(AVMM_IO_IN | AVMM_IO_OUT)))
		return -EINVAL;
	for (unsigned i = 0; i < dev->nwatches; i++)
		if (dev->watches[i].fd == fd)
			return -EEXIST;
	if (dev->nwatches == FAKE_MAX_WATCHES)
		return -ENOSPC;
	dev->watches[dev->nwatches++] = (struct fake_watch){fd, events, fn, opaque};
	return 0;
}

static int h_io_unwatch(struct avmm_dev *dev, int fd)
{
	for (unsigned i = 0; i < dev->nwatches; i++) {
		if (dev->watches[i].fd == fd) {
			dev->watches[i] = dev->watches[--dev->nwatches];
			return 0;
		}
	}
	return -ENOENT;
}

static int h_timer_new(struct avmm_dev *dev, avmm_timer_fn fn, void *opaque,
		       struct avmm_timer **timer)
{
	if (!fn || !timer)
		return -EINVAL;
	for (unsigned i = 0; i < FAKE_MAX_TIMERS; i++) {
		if (!dev->timers[i].used) {
			dev->timers[i] = (struct avmm_timer){fn, opaque, 0, true};
			*timer = &dev->timers[i];
			return 0;
		}
	}
	return -ENOSPC;
}

/* In the core a freed timer is freed memory: using one must fail the test. */
static void h_timer_mod(struct avmm_timer *t, uint64_t deadline_ns)
{
	FAKE_CHECK(t && t->used);
	t->deadline = deadline_ns ? deadline_ns : 1;
}

static void h_timer_del(struct avmm_timer *t)
{
	FAKE_CHECK(t && t->used);
	t->deadline = 0;
}

static void h_timer_free(struct avmm_timer *t)
{
	if (!t)
		return;
	FAKE_CHECK(t->used);
	t->used = false;
	t->deadline = 0;
}

static int h_worker_new(struct avmm_dev *dev, avmm_worker_fn fn, void *opaque,
			struct avmm_worker **worker)
{
	if (in_worker) {
		plugin_bug(dev, "worker_new from a worker thread");
		return -EPERM;
	}
	if (!fn || !worker)
		return -EINVAL;
	for (unsigned i = 0; i < FAKE_MAX_WORKERS; i++) {
		struct avmm_worker *w = &dev->workers[i];

		if (!w->used) {
			w->dev = dev;
			w->fn = fn;
			w->opaque = opaque;
			atomic_store(&w->pending, false);
			w->used = true;
			*worker = w;
			return 0;
		}
	}
	return -ENOSPC;
}

/* In the core a freed worker is freed memory: using one must fail the test. */
static void h_worker_kick(struct avmm_worker *w)
{
	FAKE_CHECK(w && w->used);
	atomic_store(&w->pending, true);
}

static void h_worker_free(struct avmm_worker *w)
{
	if (!w)
		return;
	FAKE_CHECK(w->used);
	if (in_worker) {
		plugin_bug(w->dev, "worker_free from a worker thread");
		return;
	}
	for (unsigned i = 0; i < w->dev->ndoorbells; i++) {
		if (w->dev->doorbells[i].d.worker == w) {
			plugin_bug(w->dev, "worker_free of a doorbell's worker");
			return;
		}
	}
	w->used = false;
	atomic_store(&w->pending, false);
}

static int h_doorbell_new(struct avmm_dev *dev, const struct avmm_doorbell_desc *desc,
			  struct avmm_doorbell **out)
{
	struct avmm_doorbell_desc d;
	struct fake_region *r;

	if (in_worker) {
		plugin_bug(dev, "doorbell_new from a worker thread");
		return -EPERM;
	}
	r = desc ? find_region(dev, desc->gpa) : NULL;
	if (!out || !ops_copy(&d, sizeof(d), desc, AVMM_DOORBELL_DESC_SIZE_V1_1) ||
	    (d.len != 1 && d.len != 2 && d.len != 4 && d.len != 8) || d.gpa % d.len ||
	    (d.flags & ~AVMM_DOORBELL_DATAMATCH) || !d.fn == !d.worker ||
	    (d.worker && (!d.worker->used || d.worker->dev != dev)) || !r ||
	    !(r->ops.valid_sizes & d.len) || d.len > r->size - (d.gpa - r->base)) {
		plugin_bug(dev, "invalid doorbell at 0x%llx",
			   desc ? (unsigned long long)desc->gpa : 0ull);
		return -EINVAL;
	}
	if (!(d.flags & AVMM_DOORBELL_DATAMATCH))
		d.data = 0;
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		const struct avmm_doorbell_desc *o = &dev->doorbells[i].d;

		if (o->gpa == d.gpa && o->len == d.len &&
		    (!(o->flags & d.flags & AVMM_DOORBELL_DATAMATCH) || o->data == d.data))
			return -EEXIST;
	}
	if (dev->ndoorbells == FAKE_MAX_DOORBELLS)
		return -ENOSPC;
	dev->doorbells[dev->ndoorbells].d = d;
	atomic_store(&dev->doorbells[dev->ndoorbells].rung, false);
	dev->doorbells[dev->ndoorbells].rings = 0;
	*out = &dev->doorbells[dev->ndoorbells++];
	return 0;
}

static uint64_t h_clock_ns(void)
{
	return clock_owner ? clock_owner->now_ns : 0;
}

static void h_vm_request_exit(struct avmm_dev *dev, int status)
{
	dev->exit_requested = true;
	dev->exit_status = status;
}

const struct avmm_host fakehost = {
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
