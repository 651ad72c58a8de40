/* SPDX-License-Identifier: MIT */
/*
 * The vCPU exit loop and the machine's lifetimes, end to end: a real VM built
 * from a config (test plugins vt_chip and vt_dev), run by the real vm.c and
 * vcpu.c threads on a fake accelerator that checks the accelerator contract
 * (core/accel.h) from the inside:
 *  - vcpu_create in index order, every per-vCPU call but kick/set_irq on the
 *    vCPU's own thread;
 *  - no kick or set_irq after that vCPU's state is destroyed (the state is
 *    poisoned, not freed, so the check is deterministic), and none in flight
 *    while it is destroyed;
 *  - vCPU state destroyed before the devices, and before the accelerator VM.
 * Destroy lingers a little so a late caller (I/O-thread timers, UART input,
 * another vCPU's SGIR write, the stop request's kicks) is caught in the act.
 * Meant to run under ThreadSanitizer too (ctest label tsan).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "config.h"
#include "log.h"
#include "psci.h"
#include "vcpu.h"
#include "vm.h"
#include "vt_hooks.h"

#include <libfdt.h>

#define LOAD_ADDR 0x40080000ull
#define CHIP_BASE 0x08000000ull
#define FV_ALIVE 0x600dcafeu
#define FV_DEAD 0xdeadbeefu
#define LINGER_NS 20000000ull /* how long a destroyed vCPU watches for late callers */

/* ---- contract violations, collected from any thread ---- */

static atomic_uint violations;
static pthread_mutex_t vlock = PTHREAD_MUTEX_INITIALIZER;
static char first_violation[512];

static void violation(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vlock);
	if (!atomic_fetch_add(&violations, 1)) {
		va_start(ap, fmt);
		vsnprintf(first_violation, sizeof(first_violation), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vlock);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- what the test plugins report ---- */

static atomic_uint dev_resets, dev_destroys;
static atomic_uint running; /* vCPUs inside vcpu_run right now */
static atomic_uint fv_alive_count;

void vt_device_reset(const char *who)
{
	(void)who;
	atomic_fetch_add(&dev_resets, 1);
	/* A system reset happens with every vCPU parked. */
	if (atomic_load(&running))
		violation("device %s reset while a vCPU runs", who);
}

/* What vCPU 0's virtual timer output last was, as the irqchip heard it. */
static atomic_bool vtimer0_level;

void vt_cpu_timer(unsigned cpu, enum avmm_cpu_timer timer, bool level)
{
	if (cpu == 0 && timer == AVMM_CPU_TIMER_VIRT)
		atomic_store(&vtimer0_level, level);
}

void vt_device_destroyed(const char *who)
{
	atomic_fetch_add(&dev_destroys, 1);
	if (atomic_load(&fv_alive_count))
		violation("device %s destroyed while accelerator vCPU state exists", who);
}

/* ---- the fake accelerator ---- */

enum scenario { SCN_STOP, SCN_IOSTOP, SCN_RESET, SCN_PSCI };

struct fake_vcpu {
	_Atomic uint32_t magic;
	struct vcpu *v;
	pthread_t self;
	atomic_uint inflight; /* kicks and set_irqs running now */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool kicked, irq; /* under lock */
	/* Own thread only. */
	unsigned runs, boot_runs;
	atomic_uint nreset; /* read by vCPU 0 in SCN_PSCI */
	atomic_uint nreinit; /* read by vCPU 0 in SCN_RESET */
	unsigned ndestroy;
	uint64_t reset_entry[4], reset_x0[4];
	bool sgir_sent;
};

static struct {
	enum scenario scn;
	unsigned ncpus;
	_Atomic uint32_t vm_magic;
	atomic_uint ncreated;
	struct fake_vcpu fv[VM_MAX_CPUS];
	uint8_t image[64];
	bool ram_checked; /* SCN_RESET: the second boot saw the reloaded image */
	bool initrd_checked; /* SCN_RESET: its DTB describes the initrd as it is now */
	bool timer_low_after_reset; /* SCN_RESET: the irqchip heard the timer drop */
	atomic_bool scribbled; /* SCN_RESET: vCPU 0 changed things before the reset */
	bool rejoined_first; /* SCN_RESET: the second boot ran only once all re-inited */
	int psci_step;    /* SCN_PSCI: how far vCPU 0's script got */
} fk;

#define INITRD1_SIZE 4096u
#define INITRD2_SIZE 12288u
static char initrd_path[64];

static uint8_t initrd_byte(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

static void write_initrd(size_t size)
{
	int fd = open(initrd_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < size; i++) {
		uint8_t b = initrd_byte(i);

		ck_assert_int_eq(write(fd, &b, 1), 1);
	}
	close(fd);
}

/* The DTB the guest got in x0 points at an initrd of `size` bytes with our data. */
static bool dtb_describes_initrd(struct vcpu *v, uint64_t dtb_gpa, size_t size)
{
	const void *fdt = ram_ptr(&v->vm->ram, dtb_gpa, 64 * 1024);
	const fdt64_t *start, *end;
	const uint8_t *data;
	int node;

	if (!fdt || fdt_check_header(fdt) || (node = fdt_path_offset(fdt, "/chosen")) < 0)
		return false;
	start = fdt_getprop(fdt, node, "linux,initrd-start", NULL);
	end = fdt_getprop(fdt, node, "linux,initrd-end", NULL);
	if (!start || !end || fdt64_ld(end) - fdt64_ld(start) != size)
		return false;
	data = ram_ptr(&v->vm->ram, fdt64_ld(start), size);
	for (size_t i = 0; data && i < size; i++)
		if (data[i] != initrd_byte(i))
			return false;
	return data != NULL;
}

static struct fake_vcpu *fv_of(struct vcpu *v)
{
	return &fk.fv[v->index];
}

static void own_thread(struct fake_vcpu *f, const char *op)
{
	if (!pthread_equal(f->self, pthread_self()))
		violation("vcpu%u: %s off the vCPU's own thread", f->v->index, op);
}

static bool check_alive(struct fake_vcpu *f, const char *op)
{
	uint32_t m = atomic_load(&f->magic);

	if (m != FV_ALIVE)
		violation("vcpu%u: %s %s", (unsigned)(f - fk.fv), op,
			  m == FV_DEAD ? "after its state was destroyed" : "before it was created");
	return m == FV_ALIVE;
}

/* kick and set_irq before vcpu_create: nothing to do, as in the real backends. */
static bool created(struct fake_vcpu *f)
{
	return atomic_load(&f->magic) != 0;
}

static int fake_probe(char *err, size_t errlen)
{
	(void)err, (void)errlen;
	return 0;
}

static int fake_vm_create(struct vm *vm, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	atomic_store(&fk.vm_magic, FV_ALIVE);
	vm->accel_state = &fk;
	return 0;
}

static void fake_vm_destroy(struct vm *vm)
{
	if (atomic_load(&fv_alive_count))
		violation("accelerator VM destroyed while vCPU state exists");
	atomic_store(&fk.vm_magic, FV_DEAD);
	vm->accel_state = NULL;
}

static int fake_ram_map(struct vm *vm, uint64_t gpa, void *host, uint64_t size)
{
	(void)vm, (void)gpa, (void)host, (void)size;
	return 0;
}

static int fake_vcpu_create(struct vcpu *v)
{
	struct fake_vcpu *f = fv_of(v);

	if (atomic_load(&fk.vm_magic) != FV_ALIVE)
		violation("vcpu%u created without an accelerator VM", v->index);
	if (atomic_load(&fk.ncreated) != v->index)
		violation("vcpu%u created out of index order", v->index);
	f->v = v;
	f->self = pthread_self();
	atomic_fetch_add(&fv_alive_count, 1);
	v->accel = f;
	atomic_store(&f->magic, FV_ALIVE);
	atomic_fetch_add(&fk.ncreated, 1);
	return 0;
}

static void fake_vcpu_destroy(struct vcpu *v)
{
	struct fake_vcpu *f = fv_of(v);
	uint64_t end;

	own_thread(f, "vcpu_destroy");
	check_alive(f, "vcpu_destroy");
	f->ndestroy++;
	if (atomic_load(&f->inflight))
		violation("vcpu%u destroyed during a kick or set_irq", v->index);
	atomic_store(&f->magic, FV_DEAD);
	atomic_fetch_sub(&fv_alive_count, 1);
	/* Give a late kick or set_irq the chance to show itself. */
	end = now_ns() + LINGER_NS;
	while (now_ns() < end)
		usleep(500);
}

static int fake_vcpu_reset(struct vcpu *v, uint64_t entry, uint64_t x0)
{
	struct fake_vcpu *f = fv_of(v);

	own_thread(f, "vcpu_reset");
	check_alive(f, "vcpu_reset");
	if (f->nreset < 4) {
		f->reset_entry[f->nreset] = entry;
		f->reset_x0[f->nreset] = x0;
	}
	f->nreset++;
	f->boot_runs = 0;
	return 0;
}

static int fake_vcpu_reinit(struct vcpu *v)
{
	struct fake_vcpu *f = fv_of(v);

	own_thread(f, "vcpu_reinit");
	check_alive(f, "vcpu_reinit");
	/* A slow re-init: the new boot must not start around it. */
	if (v->index == fk.ncpus - 1)
		usleep(20000);
	atomic_fetch_add(&f->nreinit, 1);
	f->boot_runs = 0;
	return 0;
}

static void fake_vcpu_kick(struct vcpu *v)
{
	struct fake_vcpu *f = fv_of(v);

	if (!created(f))
		return;
	atomic_fetch_add(&f->inflight, 1);
	check_alive(f, "vcpu_kick");
	pthread_mutex_lock(&f->lock);
	f->kicked = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_sub(&f->inflight, 1);
}

static void fake_vcpu_set_irq(struct vcpu *v, bool level)
{
	struct fake_vcpu *f = fv_of(v);

	if (!created(f))
		return;
	atomic_fetch_add(&f->inflight, 1);
	check_alive(f, "vcpu_set_irq");
	pthread_mutex_lock(&f->lock);
	f->irq = level;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_sub(&f->inflight, 1);
}

static int fake_vcpu_get_regs(struct vcpu *v, struct accel_regs *r)
{
	own_thread(fv_of(v), "vcpu_get_regs");
	memset(r, 0, sizeof(*r));
	return 0;
}

/* WFI: until a kick, an interrupt or `ns`; returns whether it was kicked. */
static bool fake_wfi(struct fake_vcpu *f, uint64_t ns)
{
	struct timespec ts;
	bool kicked;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ns;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_mutex_lock(&f->lock);
	while (!f->kicked && !f->irq)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) == ETIMEDOUT)
			break;
	kicked = f->kicked;
	f->kicked = false;
	pthread_mutex_unlock(&f->lock);
	return kicked;
}

static void mmio_write(struct accel_exit *e, uint64_t addr, uint64_t val)
{
	e->kind = ACCEL_EXIT_MMIO;
	e->mmio = (struct accel_mmio){.addr = addr, .data = val, .len = 4, .write = true};
}

/* An idle guest: WFI, acknowledge SGIs, and answer a kick with an SGIR write. */
static void guest_idle(struct fake_vcpu *f, struct accel_exit *e, unsigned sgi_target)
{
	bool irq;

	e->kind = ACCEL_EXIT_NONE;
	if (fake_wfi(f, 1000000) && sgi_target < fk.ncpus) {
		/* Kicked: the machine is stopping or resetting; poke a sibling. */
		mmio_write(e, CHIP_BASE, 1u << sgi_target);
		return;
	}
	pthread_mutex_lock(&f->lock);
	irq = f->irq;
	pthread_mutex_unlock(&f->lock);
	if (irq) {
		usleep(50); /* a device line stays up until its device drops it */
		mmio_write(e, CHIP_BASE + 4, 0); /* ack our SGI */
	}
}

static uint64_t psci(struct vcpu *v, uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint64_t args[4] = {fid, a1, a2, a3}, ret = 0;

	ck_assert_int_eq(psci_call(v, args, false, &ret), PSCI_ACT_RETURN);
	return ret;
}

/* Poll AFFINITY_INFO until it reads `want` (or 5 s pass). */
static bool wait_affinity(struct vcpu *v, uint64_t mpidr, int want)
{
	uint64_t end = now_ns() + 5000000000ull;

	while (now_ns() < end) {
		if ((int64_t)psci(v, PSCI_FN_AFFINITY_INFO, mpidr, 0, 0) == want)
			return true;
		usleep(200);
	}
	return false;
}

#define E1 0x40100000ull
#define C1 0x1111ull
#define E2 0x40200000ull
#define C2 0x2222ull

/* SCN_PSCI, vCPU 0: the whole CPU_ON / CPU_OFF / AFFINITY_INFO sequence. */
static void psci_script(struct vcpu *v, struct accel_exit *e)
{
	uint64_t m1 = vcpu_mpidr_for(1) & 0xffffff, m2 = vcpu_mpidr_for(2) & 0xffffff;

	e->kind = ACCEL_EXIT_NONE;
	fk.psci_step = 1;
	if ((int64_t)psci(v, PSCI_FN_AFFINITY_INFO, m1, 0, 0) != PSCI_AFFINITY_OFF)
		return;
	fk.psci_step = 2;
	if ((int64_t)psci(v, PSCI_FN64_CPU_ON, m1, E1, C1) != PSCI_RET_SUCCESS)
		return;
	fk.psci_step = 3;
	/* Until vCPU 1 takes it, a second CPU_ON is refused either way. */
	switch ((int64_t)psci(v, PSCI_FN64_CPU_ON, m1, E2, C2)) {
	case PSCI_RET_ON_PENDING:
	case PSCI_RET_ALREADY_ON:
		break;
	default:
		return;
	}
	fk.psci_step = 4;
	if ((int64_t)psci(v, PSCI_FN64_CPU_ON, 7, E2, C2) != PSCI_RET_INVALID_PARAMS)
		return;
	fk.psci_step = 5;
	/* vCPU 1 comes up, then powers itself off with CPU_OFF. */
	if (!wait_affinity(v, m1, PSCI_AFFINITY_OFF) || atomic_load(&fk.fv[1].nreset) != 1)
		return;
	fk.psci_step = 6;
	if ((int64_t)psci(v, PSCI_FN64_CPU_ON, m1, E2, C2) != PSCI_RET_SUCCESS ||
	    !wait_affinity(v, m1, PSCI_AFFINITY_ON))
		return;
	fk.psci_step = 7;
	if ((int64_t)psci(v, PSCI_FN_AFFINITY_INFO, m2, 0, 0) != PSCI_AFFINITY_OFF)
		return;
	fk.psci_step = 8;
	/* Power off with vCPU 1 running and vCPU 2 parked off. */
	e->kind = ACCEL_EXIT_SHUTDOWN;
}

static int fake_vcpu_run(struct vcpu *v, struct accel_exit *e)
{
	struct fake_vcpu *f = fv_of(v);
	unsigned i = v->index;
	bool first_boot = f->nreinit == 0;

	own_thread(f, "vcpu_run");
	check_alive(f, "vcpu_run");
	/* Let every vCPU come up before the guest does anything interesting. */
	if (atomic_load(&fk.ncreated) < fk.ncpus) {
		usleep(100);
		e->kind = ACCEL_EXIT_NONE;
		return 0;
	}
	atomic_fetch_add(&running, 1);
	f->runs++;
	f->boot_runs++;
	e->pc = LOAD_ADDR;
	switch (fk.scn) {
	case SCN_STOP:
		if (i == 0 && f->boot_runs > 20) {
			e->kind = ACCEL_EXIT_SHUTDOWN;
			break;
		}
		/* Everyone else pokes vCPU 0 as the machine stops. */
		guest_idle(f, e, i ? 0 : fk.ncpus);
		break;
	case SCN_IOSTOP:
		guest_idle(f, e, (i + 1) % fk.ncpus);
		break;
	case SCN_RESET:
		if (i == 0 && f->boot_runs == 1) {
			uint8_t *img = ram_ptr(&v->vm->ram, LOAD_ADDR, sizeof(fk.image));

			if (first_boot) {
				memset(img, 0xee, sizeof(fk.image)); /* the guest scribbles on itself */
				/* Meanwhile the initrd on disk is replaced by a larger one. */
				write_initrd(INITRD2_SIZE);
				/* The reset comes while the virtual timer fires. */
				vcpu_timer_update(v, AVMM_CPU_TIMER_VIRT, true);
				fk.timer_low_after_reset = !atomic_load(&vtimer0_level);
				atomic_store(&fk.scribbled, true);
			} else {
				fk.rejoined_first = true;
				for (unsigned c = 0; c < fk.ncpus; c++)
					if (atomic_load(&fk.fv[c].nreinit) != 1)
						fk.rejoined_first = false;
				/* A reset vCPU's timer is quiet: its PPI must not stay raised. */
				fk.timer_low_after_reset = !fk.timer_low_after_reset &&
							   !atomic_load(&vtimer0_level);
				fk.ram_checked = !memcmp(img, fk.image, sizeof(fk.image));
				fk.initrd_checked = dtb_describes_initrd(v, f->reset_x0[1], INITRD2_SIZE);
			}
		}
		/* The reset request waits for vCPU 0's first run, however late. */
		if (i == 1 && first_boot && f->boot_runs > 10 && atomic_load(&fk.scribbled)) {
			e->kind = ACCEL_EXIT_RESET;
			break;
		}
		if (i == 0 && !first_boot && f->boot_runs > 10) {
			e->kind = ACCEL_EXIT_SHUTDOWN;
			break;
		}
		guest_idle(f, e, (i + 1) % fk.ncpus);
		break;
	case SCN_PSCI:
		if (i == 0) {
			psci_script(v, e);
			if (e->kind == ACCEL_EXIT_NONE)
				e->kind = ACCEL_EXIT_ERROR; /* the script failed: stop */
		} else if (i == 1 && f->nreset == 1 && f->boot_runs > 3) {
			e->kind = ACCEL_EXIT_CPU_OFF;
		} else {
			guest_idle(f, e, fk.ncpus);
		}
		break;
	}
	atomic_fetch_sub(&running, 1);
	return 0;
}

static struct accel_ops fake_ops = {
	.name = "fake",
	.probe = fake_probe,
	.vm_create = fake_vm_create,
	.vm_destroy = fake_vm_destroy,
	.ram_map = fake_ram_map,
	.vcpu_create = fake_vcpu_create,
	.vcpu_destroy = fake_vcpu_destroy,
	.vcpu_reset = fake_vcpu_reset,
	.vcpu_run = fake_vcpu_run,
	.vcpu_kick = fake_vcpu_kick,
	.vcpu_set_irq = fake_vcpu_set_irq,
	.vcpu_get_regs = fake_vcpu_get_regs,
};

/* ---- UART input from outside: a client writing into a unix: chardev ---- */

static char sock_path[108];
static atomic_bool writer_stop;
static atomic_uint bytes_sent;

static void *writer_main(void *arg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = -1;

	(void)arg;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	while (!atomic_load(&writer_stop)) {
		if (fd < 0) {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
				close(fd);
				fd = -1;
			}
		}
		if (fd >= 0 && send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
			atomic_fetch_add(&bytes_sent, 1);
		usleep(50);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* ---- the machine ---- */

static char kernel_path[64];
static struct config cfg;
static struct vm vm;

static void setup(void)
{
	int fd;

	log_set_level(getenv("VT_DEBUG") ? AVMM_LOG_DEBUG : AVMM_LOG_WARN);
	memset(&fk, 0, sizeof(fk));
	for (unsigned i = 0; i < VM_MAX_CPUS; i++) {
		pthread_mutex_init(&fk.fv[i].lock, NULL);
		pthread_cond_init(&fk.fv[i].cond, NULL);
	}
	atomic_store(&violations, 0);
	atomic_store(&dev_resets, 0);
	atomic_store(&dev_destroys, 0);
	atomic_store(&vtimer0_level, false);
	atomic_store(&fv_alive_count, 0);
	first_violation[0] = '\0';
	fake_ops.kernel_psci = true;
	fake_ops.vcpu_reinit = NULL;
	for (unsigned i = 0; i < sizeof(fk.image); i++)
		fk.image[i] = (uint8_t)(i * 7 + 1);
	snprintf(kernel_path, sizeof(kernel_path), "/tmp/avmm-vt-kernel-XXXXXX");
	fd = mkstemp(kernel_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, fk.image, sizeof(fk.image)), (ssize_t)sizeof(fk.image));
	close(fd);
	snprintf(initrd_path, sizeof(initrd_path), "/tmp/avmm-vt-initrd-XXXXXX");
	fd = mkstemp(initrd_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	write_initrd(INITRD1_SIZE);
	snprintf(sock_path, sizeof(sock_path), "/tmp/avmm-vt-%d.sock", (int)getpid());
	unlink(sock_path);
}

static void teardown(void)
{
	unlink(kernel_path);
	unlink(initrd_path);
	unlink(sock_path);
}

/* Build an ncpus machine: the chip, one vt_dev per CPU (t0 with UART input). */
static void build(unsigned ncpus, const char *t0_extra)
{
	char text[4096];
	size_t n;
	struct vm_options opt = {.builtin_plugin_dir = TP_DIR};

	fk.ncpus = ncpus;
	n = (size_t)snprintf(text, sizeof(text),
			     "[machine]\ncpus = %u\nmemory = 16M\n"
			     "[boot]\nformat = raw\nkernel = %s\nload-address = 0x%llx\n"
			     "initrd = %s\n"
			     "[device chip]\nplugin = vt_chip\n"
			     "[device t0]\nplugin = vt_dev\nirq = 0\nperiod-us = 50\n"
			     "chardev = unix:%s\n%s\n",
			     ncpus, kernel_path, (unsigned long long)LOAD_ADDR, initrd_path, sock_path,
			     t0_extra);
	for (unsigned i = 1; i < ncpus; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[device t%u]\nplugin = vt_dev\nirq = %u\nperiod-us = 70\n", i,
				      i);
	ck_assert_int_eq(config_load_string(&cfg, "vt.ini", text), 0);
	ck_assert_int_eq(vm_build(&vm, &cfg, &opt), 0);
}

/* Run with UART input streaming in; returns the exit status. */
static int run(void)
{
	pthread_t writer;
	int status;

	atomic_store(&writer_stop, false);
	atomic_store(&bytes_sent, 0);
	ck_assert_int_eq(pthread_create(&writer, NULL, writer_main, NULL), 0);
	status = vm_run_accel(&vm, &fake_ops);
	vm_destroy(&vm);
	atomic_store(&writer_stop, true);
	pthread_join(writer, NULL);
	config_free(&cfg);
	return status;
}

static void check_contract(unsigned ndevs)
{
	ck_assert_msg(atomic_load(&violations) == 0, "%u contract violations; first: %s",
		      atomic_load(&violations), first_violation);
	ck_assert_uint_eq(atomic_load(&fk.ncreated), fk.ncpus);
	for (unsigned i = 0; i < fk.ncpus; i++)
		ck_assert_uint_eq(fk.fv[i].ndestroy, 1);
	ck_assert_uint_eq(atomic_load(&fk.vm_magic), FV_DEAD);
	ck_assert_uint_eq(atomic_load(&dev_destroys), ndevs);
}

START_TEST(guest_poweroff_stops_every_vcpu_cleanly)
{
	fk.scn = SCN_STOP;
	build(4, "");
	ck_assert_int_eq(run(), 0);
	check_contract(5);
	ck_assert_uint_eq(fk.fv[0].nreset, 1);
	ck_assert_uint_eq(fk.fv[0].reset_entry[0], LOAD_ADDR);
	for (unsigned i = 1; i < 4; i++)
		ck_assert_uint_eq(fk.fv[i].nreset, 0); /* kernel PSCI starts them */
}
END_TEST

START_TEST(stop_from_the_io_thread)
{
	fk.scn = SCN_IOSTOP;
	build(3, "stop-after-ms = 30\n");
	ck_assert_int_eq(run(), 7);
	check_contract(4);
	ck_assert_uint_gt(atomic_load(&bytes_sent), 0);
}
END_TEST

START_TEST(system_reset_rendezvous)
{
	fk.scn = SCN_RESET;
	fake_ops.vcpu_reinit = fake_vcpu_reinit;
	build(3, "");
	ck_assert_int_eq(run(), 0);
	check_contract(4);
	/* Every device reset once, by the last vCPU to park; everyone re-inits once. */
	ck_assert_uint_eq(atomic_load(&dev_resets), 4);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(atomic_load(&fk.fv[i].nreinit), 1);
	/* ... and nobody ran the new boot before the slowest had re-inited. */
	ck_assert(fk.rejoined_first);
	/* vCPU 0 restarts at the entry, over a freshly loaded image. */
	ck_assert_uint_eq(fk.fv[0].nreset, 2);
	ck_assert_uint_eq(fk.fv[0].reset_entry[1], LOAD_ADDR);
	ck_assert(fk.ram_checked);
	/* The initrd is reloaded from disk too, and the DTB says where it is now. */
	ck_assert(fk.initrd_checked);
	ck_assert(fk.timer_low_after_reset);
}
END_TEST

START_TEST(userspace_psci_cpu_on_off_affinity)
{
	fk.scn = SCN_PSCI;
	fake_ops.kernel_psci = false;
	build(3, "");
	ck_assert_int_eq(run(), 0);
	ck_assert_int_eq(fk.psci_step, 8);
	check_contract(4);
	ck_assert_uint_eq(fk.fv[1].nreset, 2);
	ck_assert_uint_eq(fk.fv[1].reset_entry[0], E1);
	ck_assert_uint_eq(fk.fv[1].reset_x0[0], C1);
	ck_assert_uint_eq(fk.fv[1].reset_entry[1], E2);
	ck_assert_uint_eq(fk.fv[1].reset_x0[1], C2);
	ck_assert_uint_eq(fk.fv[2].nreset, 0); /* never powered on */
	ck_assert_uint_eq(fk.fv[2].runs, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vcpu");
	TCase *tc = tcase_create("lifetimes");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, guest_poweroff_stops_every_vcpu_cleanly);
	tcase_add_test(tc, stop_from_the_io_thread);
	tcase_add_test(tc, system_reset_rendezvous);
	tcase_add_test(tc, userspace_psci_cpu_on_off_affinity);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
