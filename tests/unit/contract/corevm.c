/* SPDX-License-Identifier: MIT */
#include "corevm.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cputimer.h"
#include "irqroute.h"
#include "power.h"

void corevm_init(struct corevm *cv, const char *ini, unsigned ncpus, uint64_t ram_base,
		 uint64_t ram_size)
{
	corevm_init_at(cv, "corevm.ini", ini, ncpus, ram_base, ram_size);
}

void corevm_init_at(struct corevm *cv, const char *path, const char *ini, unsigned ncpus,
		    uint64_t ram_base, uint64_t ram_size)
{
	struct vm *vm = &cv->vm;
	uint64_t mpidr[VM_MAX_CPUS];

	memset(cv, 0, sizeof(*cv));
	ck_assert_uint_le(ncpus, VM_MAX_CPUS);
	ck_assert_int_eq(config_load_string(&cv->cfg, path, ini), 0);
	vm->cfg = &cv->cfg;
	vm->ncpus = ncpus;
	vm->vcpus = cv->vcpus;
	vm->next_phandle = 1;
	memmap_init(&vm->map);
	ck_assert_int_eq(ram_alloc(&vm->ram, ram_base, ram_size), 0);
	for (unsigned i = 0; i < ncpus; i++) {
		cv->vcpus[i].vm = vm;
		cv->vcpus[i].index = i;
		cv->vcpus[i].mpidr = vcpu_mpidr_for(i);
		mpidr[i] = cv->vcpus[i].mpidr;
	}
	ck_assert_int_eq(power_create(&vm->power, ncpus, mpidr), 0);
	ck_assert_int_eq(irqroute_create(&vm->irq, ncpus), 0);
	ck_assert_int_eq(cputimer_create(&vm->timers, ncpus), 0);
	ck_assert_int_eq(iothread_create(&vm->io), 0);
	pthread_mutex_init(&cv->mu, NULL);
	pthread_cond_init(&cv->cond, NULL);

	fflush(stderr);
	cv->log = tmpfile();
	ck_assert_ptr_nonnull(cv->log);
	cv->saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(cv->log), STDERR_FILENO);
}

struct avmm_dev *corevm_device(struct corevm *cv, const char *name, struct plugin *plugin)
{
	struct avmm_dev *dev = NULL;
	int rc;

	ck_assert_uint_lt(cv->ndevs, COREVM_MAX_DEVS);
	rc = device_create(&cv->vm, config_section(&cv->cfg, name), plugin, &dev);
	/* Destroyed with the machine even when create failed, as in vm.c. */
	if (dev)
		cv->devs[cv->ndevs++] = dev;
	ck_assert_msg(rc == 0, "device_create(%s): %d", name, rc);
	return dev;
}

void corevm_start(struct corevm *cv)
{
	ck_assert_int_eq(iothread_start(cv->vm.io), 0);
}

int corevm_mmio(struct corevm *cv, unsigned cpu, uint64_t addr, unsigned size, bool write,
		uint64_t *val)
{
	ck_assert_uint_lt(cpu, cv->vm.ncpus);
	return mmio_dispatch(&cv->vm, &(struct mmio_origin){.cpu = cpu}, addr, size, write, val);
}

static void sentinel(void *opaque)
{
	struct corevm *cv = opaque;

	pthread_mutex_lock(&cv->mu);
	cv->sentinel_fired = true;
	pthread_cond_signal(&cv->cond);
	pthread_mutex_unlock(&cv->mu);
}

/*
 * The loop fires due timers earliest first, after the fd callbacks of the
 * same round: once a timer due at now + ns has fired, so has everything due
 * before it.
 */
void corevm_run(struct corevm *cv, uint64_t ns)
{
	struct avmm_timer *t;
	struct timespec until;
	int rc = 0;

	ck_assert_int_eq(iothread_timer_new(cv->vm.io, sentinel, cv, NULL, &t), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&cv->mu);
	cv->sentinel_fired = false;
	iothread_timer_mod(t, clock_ns() + ns);
	while (!cv->sentinel_fired && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cv->cond, &cv->mu, &until);
	pthread_mutex_unlock(&cv->mu);
	iothread_timer_free(t);
	ck_assert_msg(rc != ETIMEDOUT, "the I/O thread did not run a timer within 10 s");
}

unsigned corevm_count_log(struct corevm *cv, const char *name, const char *what)
{
	char prefix[64], *text, *line;
	struct stat st;
	unsigned total = 0, i;
	ssize_t n;

	fflush(stderr);
	ck_assert_int_eq(fstat(fileno(cv->log), &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(text);
	/* pread: the offset is shared with stderr, which keeps appending. */
	n = pread(fileno(cv->log), text, (size_t)st.st_size, 0);
	ck_assert_int_eq(n, st.st_size);
	snprintf(prefix, sizeof(prefix), "avmm: %s: ", name);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, prefix, strlen(prefix)) && strstr(line, what))
			total++;
	free(text);
	for (i = 0; i < COREVM_MAX_DEVS && cv->counted[i].name[0]; i++)
		if (!strcmp(cv->counted[i].name, name))
			break;
	ck_assert_uint_lt(i, COREVM_MAX_DEVS);
	snprintf(cv->counted[i].name, sizeof(cv->counted[i].name), "%s", name);
	total -= cv->counted[i].seen;
	cv->counted[i].seen += total;
	return total;
}

void corevm_fini(struct corevm *cv)
{
	struct vm *vm = &cv->vm;
	char buf[4096];
	ssize_t n;
	off_t off = 0;

	iothread_stop(vm->io);
	for (unsigned i = cv->ndevs; i-- > 0;)
		device_destroy(cv->devs[i]);
	iothread_destroy(vm->io);
	irqroute_destroy(vm->irq);
	cputimer_destroy(vm->timers);
	power_destroy(vm->power);
	memmap_free(&vm->map);
	ram_free(&vm->ram);
	config_free(&cv->cfg);

	fflush(stderr);
	dup2(cv->saved_stderr, STDERR_FILENO);
	close(cv->saved_stderr);
	while ((n = pread(fileno(cv->log), buf, sizeof(buf), off)) > 0) {
		fwrite(buf, 1, (size_t)n, stderr);
		off += n;
	}
	fclose(cv->log);
}
