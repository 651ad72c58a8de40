/* SPDX-License-Identifier: MIT */
/*
 * Doorbells on HVF, which has no ioeventfd: a guest store that traps (a
 * stage-2 data abort with a syndrome, from the fake Hypervisor.framework in
 * tests/hvf-fake) goes through core/accel_hvf.c, emul.c and the real exit
 * loop of vcpu.c to mmio_dispatch(), which must ring the doorbell the store
 * hits instead of calling the region's handler; the doorbell's callback then
 * runs on the I/O thread.  Once with a doorbell a test plugin registers the
 * way any plugin does, once with virtio-mmio's QueueNotify on the real rng
 * device type (the plugin's own descriptor), which must use the buffer.
 *
 * The machine is tests/unit/contract's corevm (config, RAM, memory map,
 * devices, I/O thread) with the vCPU set of core/vcpu.c started on the HVF
 * backend, torn down in vm_run_accel's order.  Not in test_hvf.c: that one
 * links the backend against core stand-ins, this one against the whole core.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <avmm/avmm.h>

#include "accel.h"
#include "boot.h"
#include "corevm.h"
#include "hvf_fake.h"
#include "irqroute.h"
#include "power.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x400000ull
#define CODE (RAM_BASE + 0x1000)

#define BELL_BASE 0x0b000000ull
#define BELL_OFF 0x10

#define RNG_BASE 0x0a000000ull
#define RNG_IRQ 16
#define CHIP_LINES 32

/* The virtio-mmio registers and ring layout the driver below uses (virtio 1.2, 4.2.2, 2.7). */
#define QUEUE_NOTIFY 0x050
#define INT_STATUS 0x060
#define STATUS 0x070
#define QN 4
#define DESC (RAM_BASE + 0x100000)
#define AVAIL (RAM_BASE + 0x101000)
#define USED (RAM_BASE + 0x102000)
#define BUF (RAM_BASE + 0x103000)
#define BUF_LEN 64

/* ESR_EL2 of a data abort with a valid syndrome: str wN / strh wN, [xM]. */
#define ESR_STR_W(rt) (0x93800047ull | (uint64_t)(rt) << 16)
#define ESR_STRH_W(rt) (0x93400047ull | (uint64_t)(rt) << 16)
#define ESR_BRK0 0xf2000000ull

extern const struct avmm_plugin_desc avmm_plugin; /* virtio-mmio's, from virtio_devices */

static const struct accel_ops *const hvf = &accel_hvf_ops;
static struct corevm cv;
static struct vcpu_env *env;
static struct boot_layout boot = {.entry = CODE, .dtb_addr = RAM_BASE + 0x200000};
static bool started;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- an interrupt controller that records its lines ------------------------ */

static struct {
	pthread_mutex_t mu;
	bool level[CHIP_LINES];
	unsigned raised[CHIP_LINES];
	pthread_t raised_on[CHIP_LINES];
} chip = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void chip_set_line(void *o, unsigned line, bool level)
{
	(void)o;
	pthread_mutex_lock(&chip.mu);
	if (line < CHIP_LINES) {
		if (level && !chip.level[line]) {
			chip.raised[line]++;
			chip.raised_on[line] = pthread_self();
		}
		chip.level[line] = level;
	}
	pthread_mutex_unlock(&chip.mu);
}

static void chip_set_ppi(void *o, unsigned cpu, unsigned ppi, bool level)
{
	(void)o, (void)cpu, (void)ppi, (void)level;
}

static int chip_cells(void *o, const struct avmm_irq_spec *s, uint32_t *cells)
{
	(void)o;
	cells[0] = s->kind;
	cells[1] = s->num;
	cells[2] = s->flags;
	return 0;
}

static const struct avmm_irqchip_ops chip_ops = {
	.struct_size = sizeof(chip_ops), .nr_lines = CHIP_LINES, .interrupt_cells = 3,
	.set_line = chip_set_line, .set_ppi = chip_set_ppi, .fdt_cells = chip_cells,
};

static int chip_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		       char *err, size_t errlen)
{
	uint32_t phandle;

	(void)err, (void)errlen;
	*instance = NULL;
	return host->irqchip_register(dev, &chip_ops, NULL, &phandle);
}

static void nothing_destroy(void *instance)
{
	(void)instance;
}

static const struct avmm_plugin_desc chip_desc = {
	.struct_size = sizeof(chip_desc), .abi_major = AVMM_ABI_MAJOR, .abi_minor = AVMM_ABI_MINOR,
	.name = "chip", .flags = AVMM_PLUGIN_IRQCHIP, .create = chip_create,
	.destroy = nothing_destroy,
};

/* ---- a device with a 4-byte doorbell and a handler for everything else ----- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned fired;
	pthread_t fired_on;
	unsigned writes; /* that reached the handler */
	unsigned last_size;
	uint64_t last_off, last_val;
} bell = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void bell_fn(void *opaque)
{
	(void)opaque;
	pthread_mutex_lock(&bell.mu);
	bell.fired++;
	bell.fired_on = pthread_self();
	pthread_cond_broadcast(&bell.cond);
	pthread_mutex_unlock(&bell.mu);
}

static int bell_read(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t *v)
{
	(void)o, (void)cpu, (void)off, (void)size;
	*v = 0;
	return 0;
}

static int bell_write(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t v)
{
	(void)o, (void)cpu;
	pthread_mutex_lock(&bell.mu);
	bell.writes++;
	bell.last_size = size;
	bell.last_off = off;
	bell.last_val = v;
	pthread_mutex_unlock(&bell.mu);
	return 0;
}

static const struct avmm_mmio_ops bell_ops = {
	.struct_size = sizeof(bell_ops),
	.valid_sizes = AVMM_SIZE_1 | AVMM_SIZE_2 | AVMM_SIZE_4 | AVMM_SIZE_8,
	.read = bell_read,
	.write = bell_write,
};

static int bell_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		       char *err, size_t errlen)
{
	struct avmm_doorbell_desc db = {
		.struct_size = sizeof(db), .len = 4, .fn = bell_fn, .opaque = &bell,
	};
	struct avmm_doorbell *d;
	uint64_t base;
	int rc;

	(void)err, (void)errlen;
	*instance = NULL;
	rc = host->cfg_u64(dev, "base", &base);
	if (!rc)
		rc = host->mmio_register(dev, "base", base, 0x1000, &bell_ops, &bell);
	db.gpa = base + BELL_OFF;
	if (!rc)
		rc = host->doorbell_new(dev, &db, &d);
	return rc;
}

static const struct avmm_plugin_desc bell_desc = {
	.struct_size = sizeof(bell_desc), .abi_major = AVMM_ABI_MAJOR, .abi_minor = AVMM_ABI_MINOR,
	.name = "bell", .create = bell_create, .destroy = nothing_destroy,
};

static struct plugin chip_plugin = {.desc = &chip_desc}, bell_plugin = {.desc = &bell_desc},
		     virtio_plugin = {.desc = &avmm_plugin};

/* ---- the machine ---------------------------------------------------------- */

static void setup(void)
{
	/* No `plugin` keys: corevm_device() is handed the plugin. */
	static const char ini[] = "[device gic]\n"
				  "[device bell0]\nbase = 0x0b000000\n"
				  "[device rng0]\ntype = rng\nbase = 0x0a000000\nirq = 16\n";

	hvf_fake_reset();
	pthread_mutex_lock(&chip.mu);
	memset(chip.level, 0, sizeof(chip.level));
	memset(chip.raised, 0, sizeof(chip.raised));
	pthread_mutex_unlock(&chip.mu);
	pthread_mutex_lock(&bell.mu);
	bell.fired = bell.writes = bell.last_size = 0;
	bell.last_off = bell.last_val = 0;
	pthread_mutex_unlock(&bell.mu);
	started = false;

	corevm_init(&cv, ini, 1, RAM_BASE, RAM_SIZE);
	corevm_device(&cv, "gic", &chip_plugin);
	corevm_device(&cv, "bell0", &bell_plugin);
	corevm_device(&cv, "rng0", &virtio_plugin);
	ck_assert_int_eq(vcpu_env_create(&env, &cv.vm, cv.vcpus, 1, cv.vm.power, cv.vm.irq,
					 cv.vm.timers, &boot),
			 0);
	cv.vm.cpus = env;
	vcpu_env_set_brk_exit(env, true);
	power_set_hooks(cv.vm.power, &(struct power_hooks){.kick_all = vcpu_kick_all,
							   .opaque = env});
	irqroute_set_sink(cv.vm.irq, vcpu_irq_sink, env);
}

/* As vm_run_accel: the backend's VM, RAM, doorbells to the backend, I/O thread, vCPUs. */
static void machine_start(const struct hvf_fake_step *steps, size_t n)
{
	char err[256] = "";

	cv.vm.accel = hvf;
	ck_assert_msg(hvf->vm_create(&cv.vm, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(hvf->ram_map(&cv.vm, cv.vm.ram.base, cv.vm.ram.host, cv.vm.ram.size), 0);
	for (unsigned i = 0; i < cv.ndevs; i++)
		device_start(cv.devs[i]);
	hvf_fake_script(0, steps, n);
	corevm_start(&cv);
	ck_assert_int_eq(vcpus_start(env, hvf), 0);
	started = true;
}

/* The vCPU stops at the script's BRK #0: its exit status; 99 if it did not within 5 s. */
static int machine_wait_stopped(void)
{
	uint64_t until = now_ns() + 5000000000ull;

	while (!power_stopping(cv.vm.power) && now_ns() < until)
		corevm_run(&cv, 1000000);
	if (!power_stopping(cv.vm.power))
		power_request_stop(cv.vm.power, 99);
	vcpus_wait_stopped(env);
	return power_exit_status(cv.vm.power);
}

/* vm_run_accel's and vm_destroy's order: vCPUs out, I/O thread stopped, vCPU state, VM. */
static void teardown(void)
{
	if (started) {
		vcpus_wait_stopped(env);
		iothread_stop(cv.vm.io);
		vcpus_destroy(env);
	}
	if (cv.vm.accel_state)
		hvf->vm_destroy(&cv.vm);
	corevm_fini(&cv);
	vcpu_env_destroy(env);
	ck_assert_uint_eq(hvf_fake_wrong_thread(), 0);
	ck_assert(!hvf_fake_vm_exists());
}

static void set_x(hv_vcpu_t vcpu, void *arg)
{
	const uint64_t *rv = arg; /* {register, value} */

	hvf_fake_set_reg(vcpu, (hv_reg_t)(HV_REG_X0 + rv[0]), rv[1]);
}

/* ---- the tests -------------------------------------------------------------- */

/*
 * A 4-byte store to the doorbell rings it (its callback, on the I/O thread)
 * and never reaches the handler; a 2-byte store to the same address is not
 * the doorbell's access and goes to the handler with its value.
 */
START_TEST(store_rings_doorbell_not_handler)
{
	static const uint64_t x1[2] = {1, 0x1234}, x2[2] = {2, 0xbeef};
	const struct hvf_fake_step steps[] = {
		{HV_EXIT_REASON_EXCEPTION, ESR_STR_W(1), BELL_BASE + BELL_OFF, BELL_BASE + BELL_OFF,
		 set_x, (void *)x1},
		{HV_EXIT_REASON_EXCEPTION, ESR_STRH_W(2), BELL_BASE + BELL_OFF,
		 BELL_BASE + BELL_OFF, set_x, (void *)x2},
		{HV_EXIT_REASON_EXCEPTION, ESR_BRK0, 0, 0, NULL, NULL},
	};
	struct timespec until;
	int rc = 0;

	machine_start(steps, 3);
	ck_assert_int_eq(machine_wait_stopped(), 0);
	/* Both stores retired, then the BRK. */
	ck_assert_uint_eq(hvf_fake_steps_done(0), 3);
	ck_assert_uint_eq(hvf_fake_reg(0, HV_REG_PC), CODE + 8);

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&bell.mu);
	while (!bell.fired && rc == 0)
		rc = pthread_cond_timedwait(&bell.cond, &bell.mu, &until);
	pthread_mutex_unlock(&bell.mu);
	corevm_run(&cv, 20000000); /* a second ring would have come by now */

	pthread_mutex_lock(&bell.mu);
	ck_assert_uint_eq(bell.fired, 1);
	ck_assert(!pthread_equal(bell.fired_on, cv.vcpus[0].thread));
	ck_assert(!pthread_equal(bell.fired_on, pthread_self()));
	ck_assert_uint_eq(bell.writes, 1);
	ck_assert_uint_eq(bell.last_size, 2);
	ck_assert_uint_eq(bell.last_off, BELL_OFF);
	ck_assert_uint_eq(bell.last_val, 0xbeef);
	pthread_mutex_unlock(&bell.mu);
}
END_TEST

static void drv_wr(uint64_t off, uint32_t v)
{
	uint64_t val = v;

	ck_assert_int_eq(corevm_mmio(&cv, 0, RNG_BASE + off, 4, true, &val), 0);
}

static uint32_t drv_rd(uint64_t off)
{
	uint64_t val = 0;

	ck_assert_int_eq(corevm_mmio(&cv, 0, RNG_BASE + off, 4, false, &val), 0);
	return (uint32_t)val;
}

static void *ram_at(uint64_t gpa)
{
	return (uint8_t *)cv.vm.ram.host + (gpa - RAM_BASE);
}

static uint16_t used_idx(void)
{
	return __atomic_load_n((uint16_t *)ram_at(USED + 2), __ATOMIC_ACQUIRE);
}

static bool rng_irq_raised(void)
{
	bool raised;

	pthread_mutex_lock(&chip.mu);
	raised = chip.raised[RNG_IRQ] != 0;
	pthread_mutex_unlock(&chip.mu);
	return raised;
}

/*
 * The driver's side, as the guest would do it: reset, VERSION_1 only,
 * queue 0 of QN entries, DRIVER_OK; one 64-byte device-writable buffer made
 * available.  Only the notification is left for the guest's store.
 */
static void rng_driver_setup(void)
{
	uint8_t *d = ram_at(DESC);
	uint64_t buf = BUF;
	uint32_t len = BUF_LEN;
	uint16_t flags = 2 /* VIRTQ_DESC_F_WRITE */, zero = 0, one = 1;

	drv_wr(STATUS, 0);
	drv_wr(STATUS, 1);
	drv_wr(STATUS, 3);
	drv_wr(0x024, 1); /* DriverFeaturesSel: word 1 */
	drv_wr(0x020, 1); /* VERSION_1 */
	drv_wr(STATUS, 0xb);
	ck_assert_uint_eq(drv_rd(STATUS), 0xb);
	drv_wr(0x030, 0);  /* QueueSel */
	drv_wr(0x038, QN); /* QueueNum */
	drv_wr(0x080, (uint32_t)DESC);
	drv_wr(0x084, 0);
	drv_wr(0x090, (uint32_t)AVAIL);
	drv_wr(0x094, 0);
	drv_wr(0x0a0, (uint32_t)USED);
	drv_wr(0x0a4, 0);
	drv_wr(0x044, 1); /* QueueReady */
	ck_assert_uint_eq(drv_rd(0x044), 1);
	drv_wr(STATUS, 0xf);
	ck_assert_uint_eq(drv_rd(STATUS), 0xf);

	memcpy(d, &buf, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &zero, 2);
	memcpy(ram_at(AVAIL + 4), &zero, 2); /* ring[0] = descriptor 0 */
	__atomic_store_n((uint16_t *)ram_at(AVAIL + 2), one, __ATOMIC_RELEASE);
}

/*
 * QueueNotify of the real virtio-rng: the guest's store rings the doorbell,
 * the device fills the buffer and raises its used-buffer interrupt from the
 * I/O thread (the transport's own QueueNotify handler would do it on the
 * vCPU's thread: a dropped doorbell shows there).
 */
START_TEST(virtio_rng_queue_notify)
{
	static const uint64_t x1[2] = {1, 0}; /* the queue index */
	const struct hvf_fake_step steps[] = {
		{HV_EXIT_REASON_EXCEPTION, ESR_STR_W(1), RNG_BASE + QUEUE_NOTIFY,
		 RNG_BASE + QUEUE_NOTIFY, set_x, (void *)x1},
		{HV_EXIT_REASON_EXCEPTION, ESR_BRK0, 0, 0, NULL, NULL},
	};
	static const uint8_t zeroes[BUF_LEN];
	uint64_t until;
	uint32_t elem[2];
	pthread_t raised_on;
	unsigned raised;

	rng_driver_setup();
	/* Nothing happens before the notification. */
	ck_assert_uint_eq(used_idx(), 0);
	ck_assert_uint_eq(drv_rd(INT_STATUS), 0);

	machine_start(steps, 2);
	ck_assert_int_eq(machine_wait_stopped(), 0);
	ck_assert_uint_eq(hvf_fake_steps_done(0), 2);
	ck_assert_uint_eq(hvf_fake_reg(0, HV_REG_PC), CODE + 4);

	/*
	 * The device raises the interrupt after it published used.idx: once the
	 * chip saw it (under its lock, which orders this thread after the I/O
	 * thread's ring writes for ThreadSanitizer too), the ring can be read.
	 */
	until = now_ns() + 2000000000ull;
	while (!rng_irq_raised() && now_ns() < until)
		corevm_run(&cv, 1000000);
	ck_assert(rng_irq_raised());
	ck_assert_uint_eq(used_idx(), 1);
	memcpy(elem, ram_at(USED + 4), sizeof(elem));
	ck_assert_uint_eq(elem[0], 0);       /* id: descriptor 0 */
	ck_assert_uint_eq(elem[1], BUF_LEN); /* len: all of it */
	ck_assert(memcmp(ram_at(BUF), zeroes, BUF_LEN) != 0);
	ck_assert_uint_eq(drv_rd(INT_STATUS) & 1, 1);
	ck_assert_uint_eq(drv_rd(STATUS) & 64, 0); /* no DEVICE_NEEDS_RESET */

	pthread_mutex_lock(&chip.mu);
	raised = chip.raised[RNG_IRQ];
	raised_on = chip.raised_on[RNG_IRQ];
	pthread_mutex_unlock(&chip.mu);
	ck_assert_uint_eq(raised, 1);
	ck_assert(!pthread_equal(raised_on, cv.vcpus[0].thread));
	ck_assert(!pthread_equal(raised_on, pthread_self()));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hvf_doorbell");
	TCase *tc = tcase_create("doorbell");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, store_rings_doorbell_not_handler);
	tcase_add_test(tc, virtio_rng_queue_notify);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
