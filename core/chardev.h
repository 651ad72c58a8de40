/* SPDX-License-Identifier: MIT */
/*
 * Character backends for UARTs and consoles: "stdio", "null", "file:PATH"
 * (output only), "unix:PATH" (listening socket, one client at a time).
 *
 * stdio puts a terminal in raw mode while attached and restores it on every
 * exit path (normal exit, error, SIGTERM/SIGHUP/SIGQUIT).  Ctrl-A x asks the
 * VM to quit; Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A h prints help.
 */
#ifndef AVMM_CORE_CHARDEV_H
#define AVMM_CORE_CHARDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <avmm/avmm.h>

struct iothread;

/*
 * Open a backend from its spec.  Receive callbacks run on `io` with `lock`
 * held.  -EINVAL for an unknown spec, -EBUSY for a second stdio user, or the
 * open/bind errno; err explains.
 */
int chardev_open(struct iothread *io, const char *spec, pthread_mutex_t *lock,
		 struct avmm_chr **chr, char *err, size_t errlen);
void chardev_close(struct avmm_chr *chr);

ssize_t chardev_write(struct avmm_chr *chr, const void *buf, size_t len);
int chardev_set_handlers(struct avmm_chr *chr, const struct avmm_chr_handlers *h,
			 void *opaque);
void chardev_accept_input(struct avmm_chr *chr);

/*
 * --check: from now on chardev_open() validates the spec (a file's or
 * socket's directory must be usable) but creates, truncates and binds
 * nothing, and leaves the terminal alone; the backends drop all output.
 */
void chardev_set_check_only(bool on);

/* Called (on the I/O thread) when the user types the quit escape. */
void chardev_set_quit_handler(void (*fn)(void *opaque), void *opaque);

/* Put the terminal back as it was; idempotent, async-signal-safe. */
void chardev_restore_terminal(void);

#endif
