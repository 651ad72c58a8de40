/* SPDX-License-Identifier: MIT */
/*
 * Logging, at the bottom of the core: levels, the "avmm: [who: ]" prefix and
 * one write per line, and the rate limiting every guest-triggered message
 * goes through (log_guest).  It calls nothing else in the core.
 */
#ifndef AVMM_CORE_LOG_H
#define AVMM_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

/* Messages at or below this level are printed (AVMM_LOG_WARN by default). */
void log_set_level(int level);
int log_level(void);

/*
 * Core messages go to stderr as "avmm: [prefix: ]message".  `flags` takes the
 * AVMM_LOG_* level and categories from <avmm/avmm.h>.
 */
void log_msg(unsigned flags, const char *fmt, ...) AVMM_PRINTF(2, 3);
void log_vmsg(const char *prefix, unsigned flags, const char *fmt, va_list ap);
void log_pmsg(const char *prefix, unsigned flags, const char *fmt, ...) AVMM_PRINTF(3, 4);

/*
 * Token bucket for guest-triggered messages: `burst` messages, then one per
 * second.  Returns false while suppressed and counts what it dropped.  Safe
 * to share between threads (several vCPUs hit one device's limiter) without
 * a lock: a few atomics, so it stays cheap on the MMIO path.  Zero-filled
 * is a full bucket.
 */
struct log_ratelimit {
	_Atomic uint64_t last_ns; /* last refill */
	_Atomic uint32_t used;    /* tokens taken since (burst - tokens left) */
	_Atomic uint32_t suppressed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ns, uint32_t burst);
/* How many messages were suppressed since the last call; resets the count. */
uint32_t log_ratelimit_take_suppressed(struct log_ratelimit *rl);

/*
 * Guest-triggered messages, one way for every core path and every device:
 * per limiter, LOG_GUEST_BURST at once and then one a second; what was
 * suppressed is counted and said ("N similar messages suppressed") before
 * the next one that gets through.  log_guest_begin() decides and says that;
 * the message itself follows with log_pmsg().  log_guest() does both, and
 * evaluates its arguments (a PC read from the accelerator costs an ioctl)
 * only for a message that is printed.
 */
#define LOG_GUEST_BURST 10
bool log_guest_begin(struct log_ratelimit *rl, const char *prefix, unsigned flags);
#define log_guest(rl, prefix, flags, ...)                                       \
	do {                                                                    \
		if (log_guest_begin((rl), (prefix), (flags)))                   \
			log_pmsg((prefix), (flags), __VA_ARGS__);               \
	} while (0)

/* Format a message into a caller's err[errlen] buffer (NULL or 0: nothing). */
void log_errbuf(char *err, size_t errlen, const char *fmt, ...) AVMM_PRINTF(3, 4);

#define log_error(...) log_msg(AVMM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(AVMM_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(AVMM_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(AVMM_LOG_DEBUG, __VA_ARGS__)

#endif
