/* SPDX-License-Identifier: MIT */
/*
 * The I/O thread: one poll() loop serving fd readiness callbacks and timers
 * for all devices.  Callbacks run with the owning device's lock held (the
 * `lock` given at registration, may be NULL); the loop never holds its own
 * lock while calling out, so callbacks may re-arm timers and change watches.
 */
#ifndef AVMM_CORE_IOTHREAD_H
#define AVMM_CORE_IOTHREAD_H

#include <pthread.h>
#include <stdint.h>

#include <avmm/avmm.h>

struct iothread;

int iothread_create(struct iothread **out);
/* Start the thread (callbacks registered before start are kept). */
int iothread_start(struct iothread *io);
/* Stop and join; safe to call when never started. */
void iothread_stop(struct iothread *io);
void iothread_destroy(struct iothread *io);

/* One watch per fd; -EEXIST if the fd is already watched. */
int iothread_watch(struct iothread *io, int fd, unsigned events, avmm_io_fn fn, void *opaque,
		   pthread_mutex_t *lock);
/* Also changes the event mask of an existing watch. */
int iothread_watch_update(struct iothread *io, int fd, unsigned events);
int iothread_unwatch(struct iothread *io, int fd);

int iothread_timer_new(struct iothread *io, avmm_timer_fn fn, void *opaque,
		       pthread_mutex_t *lock, struct avmm_timer **timer);
void iothread_timer_mod(struct avmm_timer *timer, uint64_t deadline_ns);
void iothread_timer_del(struct avmm_timer *timer);
void iothread_timer_free(struct avmm_timer *timer);
/* The lock given at iothread_timer_new: how the core finds a timer's device. */
pthread_mutex_t *iothread_timer_lock(const struct avmm_timer *timer);

/* Make the loop re-evaluate its watches now (from any thread). */
void iothread_kick(struct iothread *io);

/* CLOCK_MONOTONIC in ns. */
uint64_t clock_ns(void);

#endif
