/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core_stubs.h"
#include "log.h"
#include "power.h"
#include "ram.h"
#include "vcpu.h"

struct stub_state stub;
static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;

void stub_reset(void)
{
	memset(&stub, 0, sizeof(stub));
}

unsigned stub_log_count(const char *needle)
{
	unsigned n = 0;

	pthread_mutex_lock(&stub_lock);
	for (unsigned i = 0; i < stub.nlog && i < STUB_MAX_RECORDS; i++)
		if (strstr(stub.log[i], needle))
			n++;
	pthread_mutex_unlock(&stub_lock);
	return n;
}

unsigned stub_timer_count(enum avmm_cpu_timer timer, bool level)
{
	unsigned n = 0;

	pthread_mutex_lock(&stub_lock);
	for (unsigned i = 0; i < stub.ntimer && i < STUB_MAX_RECORDS; i++)
		if (stub.timer[i].timer == timer && stub.timer[i].level == level)
			n++;
	pthread_mutex_unlock(&stub_lock);
	return n;
}

int power_cpu_on(struct power *power, uint64_t mpidr, uint64_t entry, uint64_t context)
{
	pthread_mutex_lock(&stub_lock);
	if (stub.ncpu_on < STUB_MAX_RECORDS)
		stub.cpu_on[stub.ncpu_on] = (struct stub_cpu_on){ power, mpidr, entry, context };
	stub.ncpu_on++;
	pthread_mutex_unlock(&stub_lock);
	return stub.cpu_on_result;
}

int power_affinity_info(struct power *power, uint64_t mpidr)
{
	(void)power;
	stub.naffinity++;
	stub.affinity_mpidr = mpidr;
	return stub.affinity_result;
}

void vcpu_timer_update(struct vcpu *vcpu, enum avmm_cpu_timer timer, bool level)
{
	pthread_mutex_lock(&stub_lock);
	if (stub.ntimer < STUB_MAX_RECORDS)
		stub.timer[stub.ntimer] = (struct stub_timer_event){ vcpu->index, timer, level };
	stub.ntimer++;
	pthread_mutex_unlock(&stub_lock);
}

bool vcpu_brk_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return stub.brk_exit;
}

void log_vmsg(const char *prefix, unsigned flags, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&stub_lock);
	if (stub.nlog < STUB_MAX_RECORDS) {
		stub.log_flags[stub.nlog] = flags;
		vsnprintf(stub.log[stub.nlog], STUB_MSG_LEN, fmt, ap);
	}
	stub.nlog++;
	pthread_mutex_unlock(&stub_lock);
}

void log_msg(unsigned flags, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(NULL, flags, fmt, ap);
	va_end(ap);
}

void log_pmsg(const char *prefix, unsigned flags, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prefix, flags, fmt, ap);
	va_end(ap);
}

/* Every guest message is recorded: the tests count them. */
bool log_guest_begin(struct log_ratelimit *rl, const char *prefix, unsigned flags)
{
	(void)rl, (void)prefix, (void)flags;
	return true;
}

void *ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	if (!len || gpa < ram->base || gpa - ram->base >= ram->size ||
	    len > ram->size - (gpa - ram->base))
		return NULL;
	return ram->host + (gpa - ram->base);
}

int ram_read(const struct guest_ram *ram, uint64_t gpa, void *buf, size_t len)
{
	void *p = ram_ptr(ram, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}
