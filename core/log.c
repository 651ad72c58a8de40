/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int cur_level = AVMM_LOG_WARN;

void log_set_level(int level)
{
	atomic_store(&cur_level, level);
}

int log_level(void)
{
	return atomic_load(&cur_level);
}

static const char *category(unsigned flags)
{
	if (flags & AVMM_LOG_GUEST_ERROR)
		return "guest error: ";
	if (flags & AVMM_LOG_UNIMP)
		return "unimplemented: ";
	switch (flags & AVMM_LOG_LEVEL_MASK) {
	case AVMM_LOG_ERROR:
		return "error: ";
	case AVMM_LOG_WARN:
		return "warning: ";
	default:
		return "";
	}
}

void log_vmsg(const char *prefix, unsigned flags, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	if ((int)(flags & AVMM_LOG_LEVEL_MASK) > log_level())
		return;
	n = snprintf(buf, sizeof(buf), "avmm: %s%s%s", prefix ? prefix : "", prefix ? ": " : "",
		     category(flags));
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	/* One write per message so lines from several threads do not interleave;
	 * "\r\n" because the terminal may be in raw mode. */
	fprintf(stderr, "%s\r\n", buf);
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

bool log_guest_begin(struct log_ratelimit *rl, const char *prefix, unsigned flags)
{
	struct timespec ts;
	uint32_t dropped;

	/* A message nobody would see costs no token. */
	if ((int)(flags & AVMM_LOG_LEVEL_MASK) > log_level())
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!log_ratelimit_ok(rl, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
			      LOG_GUEST_BURST))
		return false;
	/* Taken atomically: several vCPUs share one limiter. */
	dropped = log_ratelimit_take_suppressed(rl);
	if (dropped)
		log_pmsg(prefix, AVMM_LOG_WARN, "%u similar messages suppressed", dropped);
	return true;
}

bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ns, uint32_t burst)
{
	const uint64_t sec = 1000000000ull;
	uint64_t last = atomic_load_explicit(&rl->last_ns, memory_order_relaxed);
	uint32_t used;

	/*
	 * Whoever moves last_ns on hands back one token per whole second since;
	 * a caller whose clock reading is older than last_ns refills nothing
	 * (now_ns > last), so time never runs backwards.
	 */
	if (now_ns > last && now_ns - last >= sec &&
	    atomic_compare_exchange_strong_explicit(&rl->last_ns, &last, now_ns,
						    memory_order_relaxed, memory_order_relaxed)) {
		uint64_t refill = (now_ns - last) / sec;

		used = atomic_load_explicit(&rl->used, memory_order_relaxed);
		while (used && !atomic_compare_exchange_weak_explicit(
				       &rl->used, &used, refill >= used ? 0 : used - (uint32_t)refill,
				       memory_order_relaxed, memory_order_relaxed))
			;
	}
	used = atomic_load_explicit(&rl->used, memory_order_relaxed);
	do {
		if (used >= burst) {
			atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
			return false;
		}
	} while (!atomic_compare_exchange_weak_explicit(&rl->used, &used, used + 1,
							memory_order_relaxed, memory_order_relaxed));
	return true;
}

uint32_t log_ratelimit_take_suppressed(struct log_ratelimit *rl)
{
	return atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
}

void log_errbuf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
