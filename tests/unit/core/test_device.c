/* SPDX-License-Identifier: MIT */
/*
 * The host services table and the MMIO hot path, driven the way plugins and
 * the vCPU loop drive them, against a hand-built machine.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel.h"
#include "config.h"
#include "cputimer.h"
#include "device.h"
#include "iothread.h"
#include "irqroute.h"
#include "log.h"
#include "power.h"
#include "psci.h"
#include "testutil.h"
#include "vcpu.h"
#include "vm.h"

static const struct avmm_host *H = &device_host;

/* ---- a recording device ---- */

struct rec {
	unsigned calls;
	unsigned cpu;
	uint64_t off, val;
	unsigned size;
	int lock_state; /* pthread_mutex_trylock result inside the handler */
	pthread_mutex_t *lock;
	int rc;
	uint64_t read_value;
};

static int rec_read(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t *v)
{
	struct rec *r = o;

	r->calls++;
	r->cpu = cpu;
	r->off = off;
	r->size = size;
	r->lock_state = pthread_mutex_trylock(r->lock);
	if (!r->lock_state)
		pthread_mutex_unlock(r->lock);
	*v = r->read_value;
	return r->rc;
}

static int rec_write(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t v)
{
	struct rec *r = o;

	r->calls++;
	r->cpu = cpu;
	r->off = off;
	r->size = size;
	r->val = v;
	return r->rc;
}

static const struct avmm_mmio_ops rec_ops = {
	.struct_size = sizeof(rec_ops), .valid_sizes = AVMM_SIZE_4 | AVMM_SIZE_8,
	.read = rec_read, .write = rec_write,
};

/* ---- a fake interrupt controller ---- */

static struct avmm_dev chip, a, b;

static unsigned set_line_calls, last_line;
static bool last_level;
/* Inside set_line: whether the chip's lock and device a's lock were held. */
static int chip_lock_state, a_lock_state;

static void chip_set_line(void *o, unsigned line, bool level)
{
	(void)o;
	chip_lock_state = pthread_mutex_trylock(&chip.lock);
	if (!chip_lock_state)
		pthread_mutex_unlock(&chip.lock);
	a_lock_state = pthread_mutex_trylock(&a.lock);
	if (!a_lock_state)
		pthread_mutex_unlock(&a.lock);
	set_line_calls++;
	last_line = line;
	last_level = level;
}

static void chip_set_ppi(void *o, unsigned cpu, unsigned ppi, bool level)
{
	(void)o, (void)cpu, (void)ppi, (void)level;
}

static int chip_cells(void *o, const struct avmm_irq_spec *s, uint32_t *c)
{
	(void)o;
	c[0] = s->kind;
	c[1] = s->num;
	c[2] = s->flags;
	return 0;
}

static const struct avmm_irqchip_ops chip_ops = {
	.struct_size = sizeof(chip_ops), .nr_lines = 32, .interrupt_cells = 3,
	.set_line = chip_set_line, .set_ppi = chip_set_ppi, .fdt_cells = chip_cells,
};

static const struct avmm_plugin_desc chip_desc = {.name = "chip", .flags = AVMM_PLUGIN_IRQCHIP};
static const struct avmm_plugin_desc dev_desc = {.name = "thing"};
static struct plugin chip_plugin = {.desc = &chip_desc}, dev_plugin = {.desc = &dev_desc};

/* ---- the machine ---- */

static struct config cfg;
static struct vm vm;
static struct vcpu vcpus[2];
static struct rec rec;

static void dev_init(struct avmm_dev *d, const char *name, struct plugin *p)
{
	memset(d, 0, sizeof(*d));
	d->vm = &vm;
	d->name = name;
	d->sec = config_section(&cfg, name);
	d->plugin = p;
	pthread_mutex_init(&d->lock, NULL);
}

static void setup(void)
{
	uint64_t mpidr[2];
	int rc;

	rc = config_load_string(&cfg, "t.ini",
				"[device chip]\nplugin = x\n"
				"[device a]\nplugin = x\nbase = 0x9000000\nirq = 3\nbad = 12Q\n"
				"[device b]\nplugin = x\nirq = 3\nfar = 99\n");
	ck_assert_int_eq(rc, 0);
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	vm.ncpus = 2;
	vm.vcpus = vcpus;
	vm.next_phandle = 1;
	memmap_init(&vm.map);
	ck_assert_int_eq(ram_alloc(&vm.ram, 0x40000000, 0x100000), 0);
	memset(vcpus, 0, sizeof(vcpus));
	for (unsigned i = 0; i < 2; i++) {
		vcpus[i].vm = &vm;
		vcpus[i].index = i;
		vcpus[i].mpidr = vcpu_mpidr_for(i);
		mpidr[i] = vcpus[i].mpidr;
	}
	ck_assert_int_eq(power_create(&vm.power, 2, mpidr), 0);
	ck_assert_int_eq(irqroute_create(&vm.irq, 2), 0);
	ck_assert_int_eq(cputimer_create(&vm.timers, 2), 0);
	dev_init(&chip, "chip", &chip_plugin);
	dev_init(&a, "a", &dev_plugin);
	dev_init(&b, "b", &dev_plugin);
	memset(&rec, 0, sizeof(rec));
	rec.lock = &a.lock;
	set_line_calls = 0;
}

static void teardown(void)
{
	irqroute_destroy(vm.irq);
	cputimer_destroy(vm.timers);
	power_destroy(vm.power);
	memmap_free(&vm.map);
	ram_free(&vm.ram);
	config_free(&cfg);
}

START_TEST(dispatch_calls_device_under_its_lock)
{
	uint64_t v = 0;

	ck_assert_int_eq(H->mmio_register(&a, "base", 0x9000000, 0x1000, &rec_ops, &rec), 0);
	rec.read_value = 0x1122334455667788ull;
	ck_assert_int_eq(mmio_dispatch(&vm, &(struct mmio_origin){.cpu = 1}, 0x9000010, 4, false, &v),
			 0);
	ck_assert_uint_eq(rec.calls, 1);
	ck_assert_uint_eq(rec.cpu, 1);
	ck_assert_uint_eq(rec.off, 0x10);
	ck_assert_int_eq(rec.lock_state, EBUSY); /* serialised by the core */
	ck_assert_uint_eq(v, 0x55667788);	  /* truncated to the access size */
	v = 0xabcdef;
	ck_assert_int_eq(mmio_dispatch(&vm, &(struct mmio_origin){.cpu = 0}, 0x9000ff8, 8, true, &v),
			 0);
	ck_assert_uint_eq(rec.calls, 2);
	ck_assert_uint_eq(rec.val, 0xabcdef);
	ck_assert_uint_eq(rec.size, 8);
}
END_TEST

static unsigned pc_reads;

static uint64_t count_pc(const void *ctx)
{
	(void)ctx;
	pc_reads++;
	return 0x40080000;
}

/*
 * A guest hammering a register with a bad width: the messages are rate
 * limited, and so is the cost of making them (reading the PC is an ioctl
 * on KVM): the PC is read only for a message that is printed.
 */
START_TEST(dispatch_guest_errors_cost_only_when_printed)
{
	const struct mmio_origin from = {.cpu = 1, .pc = count_pc};
	uint64_t v;

	ck_assert_int_eq(H->mmio_register(&a, "base", 0x9000000, 0x1000, &rec_ops, &rec), 0);
	pc_reads = 0;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(mmio_dispatch(&vm, &from, 0x9000000, 2, false, &v), 0);
	ck_assert_uint_eq(pc_reads, LOG_GUEST_BURST);
	/* Not even that when nobody would see the message. */
	log_set_level(-1);
	memset(&a.rl_guest, 0, sizeof(a.rl_guest));
	pc_reads = 0;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(mmio_dispatch(&vm, &from, 0x9000000, 2, false, &v), 0);
	ck_assert_uint_eq(pc_reads, 0);
	log_set_level(AVMM_LOG_WARN);
}
END_TEST

START_TEST(dispatch_refuses_bad_accesses_as_raz_wi)
{
	uint64_t v = 77;

	ck_assert_int_eq(H->mmio_register(&a, "base", 0x9000000, 0x1000, &rec_ops, &rec), 0);
	log_set_level(-1); /* the guest errors are expected */
	/* Width not declared valid. */
	ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9000000, 2, false, &v), 0);
	ck_assert_uint_eq(v, 0);
	/* Misaligned. */
	v = 77;
	ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9000002, 4, false, &v), 0);
	ck_assert_uint_eq(v, 0);
	/* Straddles the end of the region. */
	ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9000ffc, 8, true, &v), 0);
	ck_assert_uint_eq(rec.calls, 0);
	/* The device rejects it: RAZ. */
	rec.rc = -EINVAL;
	rec.read_value = 5;
	ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9000000, 4, false, &v), 0);
	ck_assert_uint_eq(rec.calls, 1);
	ck_assert_uint_eq(v, 0);
	/* Nothing mapped: the caller injects an abort. */
	ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9001000, 4, false, &v), -EFAULT);
	ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0, 4, true, &v), -EFAULT);
	log_set_level(AVMM_LOG_WARN);
}
END_TEST

START_TEST(mmio_register_checks)
{
	const char *err;
	static const struct avmm_mmio_ops no_sizes = {.struct_size = sizeof(no_sizes),
						      .read = rec_read, .write = rec_write};

	capture_stderr_begin();
	ck_assert_int_eq(H->mmio_register(&a, "base", 0x40080000, 0x1000, &rec_ops, &rec), -EEXIST);
	ck_assert_int_eq(H->mmio_register(&a, "base", 0x9000000, 0, &rec_ops, &rec), -EINVAL);
	ck_assert_int_eq(H->mmio_register(&a, "base", 0x9000000, 0x1000, &no_sizes, &rec), -EINVAL);
	ck_assert_int_eq(H->mmio_register(&a, "base", 0x9000000, 0x1000, &rec_ops, &rec), 0);
	ck_assert_int_eq(H->mmio_register(&b, NULL, 0x9000800, 0x1000, &rec_ops, &rec), -EEXIST);
	vm.running = true;
	ck_assert_int_eq(H->mmio_register(&b, NULL, 0xa000000, 0x1000, &rec_ops, &rec), -EBUSY);
	err = capture_stderr_end();
	ck_assert_msg(strstr(err, "t.ini:5: [device a] base: MMIO 0x40080000-0x40080fff overlaps "
				  "RAM 0x40000000-0x400fffff"),
		      "%s", err);
	ck_assert_msg(strstr(err, "t.ini:5: [device a] base: MMIO region of size 0"), "%s", err);
	ck_assert_msg(strstr(err, "t.ini:8: [device b]: MMIO 0x9000800-0x90017ff overlaps [device a] "
				  "at 0x9000000-0x9000fff (t.ini:5)"),
		      "%s", err);
	ck_assert_uint_eq(vm.map.count, 1);
}
END_TEST

START_TEST(config_lookups_mark_keys_and_report)
{
	uint64_t v = 0;
	const char *s, *err;
	bool bo;

	capture_stderr_begin();
	ck_assert_int_eq(H->cfg_u64(&a, "base", &v), 0);
	ck_assert_uint_eq(v, 0x9000000);
	ck_assert_int_eq(H->cfg_u64(&a, "bad", &v), -EINVAL);
	ck_assert_int_eq(H->cfg_str(&a, "nope", &s), -ENOENT);
	ck_assert_int_eq(H->cfg_bool(&a, "base", &bo), -EINVAL);
	ck_assert_int_eq(H->cfg_error(&a, "irq", "custom %d", 7), -EINVAL);
	err = capture_stderr_end();
	ck_assert_str_eq(err, "t.ini:7: [device a] bad: '12Q' is not a number (use e.g. 42, 0x2a, "
			      "0b101010, 512M, 2G)\n"
			      "t.ini:5: [device a] base: '0x9000000' is not a boolean (use true or "
			      "false)\n"
			      "t.ini:6: [device a] irq: custom 7\n");
	ck_assert(config_key(a.sec, "base")->used);
	ck_assert(config_key(a.sec, "bad")->used);
	ck_assert(!config_key(a.sec, "irq")->used);
	ck_assert_str_eq(H->dev_name(&a), "a");
}
END_TEST

START_TEST(irq_lines_claimed_and_routed)
{
	unsigned line = 99;
	uint32_t ph = 0;
	const char *err;

	capture_stderr_begin();
	/* No controller yet. */
	ck_assert_int_eq(H->irq_claim(&a, "irq", &line), -EINVAL);
	/* Only an irqchip plugin may register. */
	ck_assert_int_eq(H->irqchip_register(&a, &chip_ops, NULL, &ph), -EPERM);
	ck_assert_int_eq(H->irqchip_register(&chip, &chip_ops, NULL, &ph), 0);
	ck_assert_uint_eq(ph, 1);
	ck_assert_int_eq(H->irq_claim(&a, "irq", &line), 0);
	ck_assert_uint_eq(line, 3);
	ck_assert_int_eq(H->irq_claim(&b, "irq", &line), -EBUSY);
	ck_assert_int_eq(H->irq_claim(&b, "far", &line), -ERANGE);
	err = capture_stderr_end();
	ck_assert_msg(strstr(err, "t.ini:6: [device a] irq: no interrupt controller"), "%s", err);
	ck_assert_msg(strstr(err, "t.ini:10: [device b] irq: line 3 is already used by [device a]"),
		      "%s", err);
	ck_assert_msg(strstr(err, "t.ini:11: [device b] far: line 99 is outside chip's lines 0-31"),
		      "%s", err);

	H->irq_set(&a, 3, true);
	ck_assert_uint_eq(set_line_calls, 1);
	ck_assert_uint_eq(last_line, 3);
	ck_assert(last_level);
	/* A plugin bug must not reach another device's line. */
	log_set_level(-1);
	H->irq_set(&b, 3, false);
	H->irq_set(&a, 4, true);
	H->irq_set(&a, 4000, true);
	log_set_level(AVMM_LOG_WARN);
	ck_assert_uint_eq(set_line_calls, 1);
}
END_TEST

START_TEST(cpu_irq_before_the_accelerator_is_remembered)
{
	uint32_t ph;

	ck_assert_int_eq(H->irqchip_register(&chip, &chip_ops, NULL, &ph), 0);
	H->cpu_irq_set(&chip, 1, true);
	ck_assert(irqroute_cpu_level(vm.irq, 1));
	ck_assert(!irqroute_cpu_level(vm.irq, 0));
	/* Only the irqchip drives CPU inputs; out of range is ignored. */
	H->cpu_irq_set(&a, 0, true);
	H->cpu_irq_set(&chip, 7, true);
	ck_assert(!irqroute_cpu_level(vm.irq, 0));
	ck_assert_uint_eq(H->cpu_count(&a), 2);
}
END_TEST

START_TEST(guest_memory_is_bounds_checked)
{
	uint8_t buf[16] = {1, 2, 3};

	ck_assert_ptr_eq(H->guest_ptr(&a, 0x40000000, 16), vm.ram.host);
	ck_assert_ptr_null(H->guest_ptr(&a, 0x400ffff8, 16));
	ck_assert_ptr_null(H->guest_ptr(&a, 0x3ffffff8, 16));
	ck_assert_ptr_null(H->guest_ptr(&a, 0x40000000, 0));
	ck_assert_int_eq(H->guest_write(&a, 0x400ffff0, buf, 16), 0);
	ck_assert_int_eq(H->guest_write(&a, 0x400ffff1, buf, 16), -EFAULT);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(H->guest_read(&a, 0x400ffff0, buf, 16), 0);
	ck_assert_uint_eq(buf[2], 3);
	ck_assert_int_eq(H->guest_read(&a, UINT64_MAX - 4, buf, 16), -EFAULT);
}
END_TEST

START_TEST(psci_power_state)
{
	struct power *p = vm.power;
	uint64_t m1 = vcpu_mpidr_for(1), entry = 0, context = 0;

	power_cpu_set_on(p, 0);
	ck_assert_int_eq(power_affinity_info(p, m1), PSCI_AFFINITY_OFF);
	ck_assert_int_eq(power_affinity_info(p, vcpus[0].mpidr), PSCI_AFFINITY_ON);
	ck_assert_int_eq(power_cpu_on(p, m1, 0x40080000, 0x1234), PSCI_RET_SUCCESS);
	ck_assert_int_eq(power_affinity_info(p, m1), PSCI_AFFINITY_ON_PENDING);
	ck_assert_int_eq(power_cpu_on(p, m1, 0, 0), PSCI_RET_ON_PENDING);
	ck_assert_int_eq(power_cpu_on(p, vcpus[0].mpidr, 0, 0), PSCI_RET_ALREADY_ON);
	ck_assert_int_eq(power_cpu_on(p, 0x80000005, 0, 0), PSCI_RET_INVALID_PARAMS);
	ck_assert_int_eq(power_affinity_info(p, 0x100), PSCI_RET_INVALID_PARAMS);
	/* Non-affinity MPIDR bits (U, MT, RES1) do not change which CPU is meant. */
	ck_assert_int_eq(power_affinity_info(p, 1), PSCI_AFFINITY_ON_PENDING);
	/* The pending CPU_ON's entry point and context reach the vCPU. */
	ck_assert_int_eq(power_cpu_wait_on(p, 1, &entry, &context), 0);
	ck_assert_uint_eq(entry, 0x40080000);
	ck_assert_uint_eq(context, 0x1234);
	ck_assert_int_eq(power_affinity_info(p, m1), PSCI_AFFINITY_ON);
	power_cpu_set_off(p, 1);
	ck_assert_int_eq(power_affinity_info(p, m1), PSCI_AFFINITY_OFF);
	/* A stop releases a vCPU waiting for CPU_ON. */
	power_request_stop(p, 3);
	ck_assert_int_eq(power_cpu_wait_on(p, 1, &entry, &context), -ECANCELED);
	ck_assert_int_eq(power_exit_status(p), 3);
	ck_assert_uint_eq(vcpu_mpidr_for(17), 0x80000101);
}
END_TEST

START_TEST(ratelimit)
{
	struct log_ratelimit rl = {0};
	uint64_t t = 5000000000ull;
	unsigned ok = 0;

	for (int i = 0; i < 20; i++)
		ok += log_ratelimit_ok(&rl, t, 10);
	ck_assert_uint_eq(ok, 10);
	ck_assert_uint_eq(rl.suppressed, 10);
	ck_assert(!log_ratelimit_ok(&rl, t + 999999999ull, 10));
	ck_assert(log_ratelimit_ok(&rl, t + 1000000000ull, 10)); /* one token a second */
	ck_assert(!log_ratelimit_ok(&rl, t + 1000000001ull, 10));
	ok = 0;
	for (int i = 0; i < 20; i++)
		ok += log_ratelimit_ok(&rl, t + 100000000000ull, 10); /* refill caps at burst */
	ck_assert_uint_eq(ok, 10);
}
END_TEST

START_TEST(guest_error_logs_are_rate_limited)
{
	const char *err;
	int lines = 0;

	capture_stderr_begin();
	for (int i = 0; i < 50; i++)
		H->log(&a, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR, "bad access %d", i);
	H->log(&a, AVMM_LOG_ERROR, "not rate limited");
	H->log(&a, AVMM_LOG_DEBUG, "below the level: dropped");
	err = capture_stderr_end();
	for (const char *p = err; (p = strstr(p, "avmm: a: guest error: bad access")); p++)
		lines++;
	ck_assert_int_eq(lines, 10);
	ck_assert_msg(strstr(err, "avmm: a: guest error: bad access 0\r\n"), "%s", err);
	ck_assert_msg(strstr(err, "avmm: a: error: not rate limited\r\n"), "%s", err);
	ck_assert_msg(!strstr(err, "dropped"), "%s", err);
}
END_TEST


/* ---- device workers ---- */

static atomic_uint wk_runs;
static atomic_bool wk_done;

static void wk_irq(void *o)
{
	(void)o;
	H->irq_set(&a, 3, true);
	atomic_fetch_add(&wk_runs, 1);
	atomic_store(&wk_done, true);
}

static bool wait_runs(unsigned n)
{
	for (int i = 0; i < 2000 && atomic_load(&wk_runs) < n; i++)
		usleep(1000);
	return atomic_load(&wk_runs) >= n;
}

/*
 * irq_set from a worker needs no device lock: with a's lock held elsewhere
 * (a vCPU inside a's MMIO handler) the worker's interrupt still goes
 * through, serialised on the irqchip's lock instead.
 */
START_TEST(worker_irq_set_takes_the_irqchip_lock_only)
{
	struct avmm_worker *w;
	unsigned line;

	ck_assert_int_eq(iothread_create(&vm.io), 0);
	ck_assert_int_eq(irqroute_register_chip(vm.irq, &chip, &chip_ops, NULL, &chip.lock, 1), 0);
	ck_assert_int_eq(H->irq_claim(&a, "irq", &line), 0);
	atomic_store(&wk_runs, 0);
	ck_assert_int_eq(H->worker_new(&a, wk_irq, NULL, &w), 0);
	pthread_mutex_lock(&a.lock);
	H->worker_kick(w);
	ck_assert(wait_runs(1));
	pthread_mutex_unlock(&a.lock);
	ck_assert_uint_eq(set_line_calls, 1);
	ck_assert(last_level);
	ck_assert_int_eq(chip_lock_state, EBUSY); /* held, by the worker */
	ck_assert_int_eq(a_lock_state, EBUSY);    /* held, but by this thread */
	H->worker_free(w);
	iothread_destroy(vm.io);
}
END_TEST

/* vm.c stops the I/O context before vCPU state and devices go: workers too. */
START_TEST(workers_stop_with_the_io_thread)
{
	struct avmm_worker *w, *late;
	unsigned line;

	ck_assert_int_eq(iothread_create(&vm.io), 0);
	ck_assert_int_eq(iothread_start(vm.io), 0);
	ck_assert_int_eq(irqroute_register_chip(vm.irq, &chip, &chip_ops, NULL, &chip.lock, 1), 0);
	ck_assert_int_eq(H->irq_claim(&a, "irq", &line), 0);
	atomic_store(&wk_runs, 0);
	ck_assert_int_eq(H->worker_new(&a, wk_irq, NULL, &w), 0);
	H->worker_kick(w);
	ck_assert(wait_runs(1));
	iothread_stop(vm.io);
	H->worker_kick(w);
	usleep(50000);
	ck_assert_uint_eq(atomic_load(&wk_runs), 1);
	/* One created during teardown never runs either. */
	ck_assert_int_eq(H->worker_new(&a, wk_irq, NULL, &late), 0);
	H->worker_kick(late);
	usleep(20000);
	ck_assert_uint_eq(atomic_load(&wk_runs), 1);
	H->worker_free(late);
	/* The device frees what the plugin left (a real device_destroy does). */
	ck_assert_uint_eq(a.nworkers, 1);
	H->worker_free(w);
	ck_assert_uint_eq(a.nworkers, 0);
	iothread_destroy(vm.io);
}
END_TEST

/* Nothing but the serialised calls may change a device's workers. */
static struct avmm_worker *wk_self;
static int wk_new_rc;

static void wk_misuse(void *o)
{
	struct avmm_worker *w2 = NULL;

	(void)o;
	wk_new_rc = H->worker_new(&a, wk_irq, NULL, &w2);
	H->worker_free(wk_self);
	atomic_fetch_add(&wk_runs, 1);
}

START_TEST(worker_may_not_create_or_free_workers)
{
	ck_assert_int_eq(iothread_create(&vm.io), 0);
	atomic_store(&wk_runs, 0);
	ck_assert_int_eq(H->worker_new(&a, wk_misuse, NULL, &wk_self), 0);
	H->worker_kick(wk_self);
	ck_assert(wait_runs(1));
	ck_assert_int_eq(wk_new_rc, -EPERM);
	ck_assert_uint_eq(a.nworkers, 1);
	H->worker_free(wk_self);
	ck_assert_uint_eq(a.nworkers, 0);
	iothread_destroy(vm.io);
}
END_TEST

/* ---- doorbells and the accelerator ---- */

static struct {
	unsigned adds, dels;
	uint64_t gpa, data;
	unsigned len;
	bool datamatch;
	int fd, rc;
} kio;

static int kio_add(struct vm *v, uint64_t gpa, unsigned len, bool dm, uint64_t data, int fd)
{
	(void)v;
	kio.adds++;
	kio.gpa = gpa;
	kio.len = len;
	kio.datamatch = dm;
	kio.data = data;
	kio.fd = fd;
	return kio.rc;
}

static int kio_del(struct vm *v, uint64_t gpa, unsigned len, bool dm, uint64_t data, int fd)
{
	(void)v;
	/* Exactly what was added. */
	ck_assert_uint_eq(gpa, kio.gpa);
	ck_assert_uint_eq(len, kio.len);
	ck_assert(dm == kio.datamatch);
	ck_assert_uint_eq(data, kio.data);
	ck_assert_int_eq(fd, kio.fd);
	kio.dels++;
	return 0;
}

static const struct accel_ops kio_accel = {
	.name = "kio", .ioeventfd_add = kio_add, .ioeventfd_del = kio_del,
};

static atomic_uint db_fired;

static void db_fn(void *o)
{
	(void)o;
	atomic_fetch_add(&db_fired, 1);
}

/* A QueueNotify-like doorbell: 4 bytes at base + 0x50, value 1 only. */
static int db_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		     char *err, size_t errlen)
{
	const struct avmm_doorbell_desc d = {
		.struct_size = sizeof(d), .len = 4, .gpa = 0x9000050,
		.flags = AVMM_DOORBELL_DATAMATCH, .data = 1, .fn = db_fn,
	};
	struct avmm_doorbell *db;
	const char *v;
	int rc;

	(void)err, (void)errlen;
	for (size_t i = 0; i < dev->sec->nkeys; i++)
		host->cfg_str(dev, dev->sec->keys[i].name, &v);
	*instance = dev;
	rc = host->mmio_register(dev, "base", 0x9000000, 0x1000, &rec_ops, &rec);
	return rc ? rc : host->doorbell_new(dev, &d, &db);
}

static void db_destroy(void *instance)
{
	(void)instance;
}

static const struct avmm_plugin_desc db_desc = {
	.struct_size = sizeof(db_desc), .abi_major = AVMM_ABI_MAJOR, .abi_minor = AVMM_ABI_MINOR,
	.name = "db", .create = db_create, .destroy = db_destroy,
};
static struct plugin db_plugin = {.desc = &db_desc};

static bool wait_fired(unsigned n)
{
	for (int i = 0; i < 2000 && atomic_load(&db_fired) < n; i++)
		usleep(1000);
	return atomic_load(&db_fired) >= n;
}

/*
 * Where the accelerator completes doorbell writes in the kernel (KVM's
 * ioeventfd) it gets the doorbell, and whatever signals the fd fires it.
 */
START_TEST(doorbell_goes_to_the_accelerator_when_it_can)
{
	struct avmm_dev *dev = NULL;
	const uint64_t one = 1;
	uint64_t v = 1;

	memset(&kio, 0, sizeof(kio));
	atomic_store(&db_fired, 0);
	ck_assert_int_eq(iothread_create(&vm.io), 0);
	ck_assert_int_eq(iothread_start(vm.io), 0);
	vm.accel = &kio_accel;
	ck_assert_int_eq(device_create(&vm, config_section(&cfg, "a"), &db_plugin, &dev), 0);
	ck_assert_uint_eq(kio.adds, 0); /* not before the accelerator VM exists */
	device_start(dev);
	ck_assert_uint_eq(kio.adds, 1);
	ck_assert_uint_eq(kio.gpa, 0x9000050);
	ck_assert_uint_eq(kio.len, 4);
	ck_assert(kio.datamatch);
	ck_assert_uint_eq(kio.data, 1);
	ck_assert_int_ge(kio.fd, 0);
	/* The kernel rings it: no MMIO exit, no handler. */
	ck_assert_int_eq(write(kio.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	ck_assert(wait_fired(1));
	/* An access the kernel hands to userspace anyway (ISV=0) rings it too. */
	ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9000050, 4, true, &v), 0);
	ck_assert(wait_fired(2));
	ck_assert_uint_eq(rec.calls, 0);
	device_destroy(dev);
	ck_assert_uint_eq(kio.dels, 1);
	iothread_destroy(vm.io);
}
END_TEST

/* -ENOSYS (no KVM_IOEVENTFD, or HVF) or a failure: the MMIO path rings it. */
START_TEST(doorbell_without_ioeventfd_uses_the_mmio_path)
{
	static const int rcs[] = {-ENOSYS, -EINVAL};

	for (unsigned t = 0; t < 2; t++) {
		struct avmm_dev *dev = NULL;
		uint64_t v = 1;

		memset(&kio, 0, sizeof(kio));
		memset(&rec, 0, sizeof(rec));
		rec.lock = &a.lock;
		memmap_free(&vm.map);
		memmap_init(&vm.map);
		atomic_store(&db_fired, 0);
		kio.rc = rcs[t];
		ck_assert_int_eq(iothread_create(&vm.io), 0);
		ck_assert_int_eq(iothread_start(vm.io), 0);
		vm.accel = &kio_accel;
		ck_assert_int_eq(device_create(&vm, config_section(&cfg, "a"), &db_plugin, &dev), 0);
		device_start(dev);
		ck_assert_uint_eq(kio.adds, 1);
		ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9000050, 4, true, &v), 0);
		ck_assert(wait_fired(1));
		ck_assert_uint_eq(rec.calls, 0);
		/* Datamatch: another value is an ordinary register write. */
		v = 2;
		ck_assert_int_eq(mmio_dispatch(&vm, NULL, 0x9000050, 4, true, &v), 0);
		ck_assert_uint_eq(rec.calls, 1);
		ck_assert_uint_eq(rec.val, 2);
		usleep(20000);
		ck_assert_uint_eq(atomic_load(&db_fired), 1);
		device_destroy(dev);
		ck_assert_uint_eq(kio.dels, 0); /* never added */
		iothread_destroy(vm.io);
		vm.io = NULL;
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("device");
	TCase *tc = tcase_create("host");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dispatch_calls_device_under_its_lock);
	tcase_add_test(tc, dispatch_refuses_bad_accesses_as_raz_wi);
	tcase_add_test(tc, dispatch_guest_errors_cost_only_when_printed);
	tcase_add_test(tc, mmio_register_checks);
	tcase_add_test(tc, config_lookups_mark_keys_and_report);
	tcase_add_test(tc, irq_lines_claimed_and_routed);
	tcase_add_test(tc, cpu_irq_before_the_accelerator_is_remembered);
	tcase_add_test(tc, guest_memory_is_bounds_checked);
	tcase_add_test(tc, psci_power_state);
	tcase_add_test(tc, ratelimit);
	tcase_add_test(tc, guest_error_logs_are_rate_limited);
	tcase_add_test(tc, worker_irq_set_takes_the_irqchip_lock_only);
	tcase_add_test(tc, workers_stop_with_the_io_thread);
	tcase_add_test(tc, worker_may_not_create_or_free_workers);
	tcase_add_test(tc, doorbell_goes_to_the_accelerator_when_it_can);
	tcase_add_test(tc, doorbell_without_ioeventfd_uses_the_mmio_path);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
