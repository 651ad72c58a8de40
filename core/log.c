/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

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

bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ns, uint32_t burst)
{
	if (!rl->primed) {
		rl->primed = true;
		rl->tokens = burst;
		rl->last_ns = now_ns;
	}
	if (now_ns - rl->last_ns >= 1000000000ull) {
		uint64_t refill = (now_ns - rl->last_ns) / 1000000000ull;
		rl->tokens = refill + rl->tokens >= burst ? burst : rl->tokens + (uint32_t)refill;
		rl->last_ns = now_ns;
	}
	if (!rl->tokens) {
		rl->suppressed++;
		return false;
	}
	rl->tokens--;
	return true;
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
