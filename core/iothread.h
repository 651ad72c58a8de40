/* SPDX-License-Identifier: MIT */
/*
 * The I/O thread: one poll() loop serving fd readiness callbacks and timers
 * for all devices.  Callbacks run with the owning device's lock held (the
 * `lock` given at registration, may be NULL); the loop never holds its own
 * lock while calling out, so callbacks may re-arm timers and change watches.
 * Device workers (threads of their own, run on a kick without any lock) are
 * part of the same I/O context: iothread_stop() stops them too.
 */
#ifndef AVMM_CORE_IOTHREAD_H
#define AVMM_CORE_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>
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

/*
 * A worker: a thread that runs fn(opaque) after every kick, holding no lock.
 * Kicks coalesce: any number before fn starts make one run, and a kick while
 * fn runs makes one more.  `owner` is for the caller (its device).  Workers
 * run from creation until iothread_stop() or iothread_worker_free(), which
 * both join the thread (fn is not running once they return); one created
 * after a stop never runs.
 */
int iothread_worker_new(struct iothread *io, avmm_worker_fn fn, void *opaque, void *owner,
			struct avmm_worker **w);
/* Any thread, never blocks on fn. */
void iothread_worker_kick(struct avmm_worker *w);
/* Stop, join and free; -EDEADLK (and nothing done) from the worker's own fn. */
int iothread_worker_free(struct avmm_worker *w);
void *iothread_worker_owner(const struct avmm_worker *w);
/* Whether the calling thread is w's; the worker running this thread, if any. */
bool iothread_on_worker(const struct avmm_worker *w);
const struct avmm_worker *iothread_current_worker(void);

/* Make the loop re-evaluate its watches now (from any thread). */
void iothread_kick(struct iothread *io);

/* A pipe with both ends non-blocking and close-on-exec; 0 or -errno. */
int iothread_pipe(int fds[2]);

/* CLOCK_MONOTONIC in ns. */
uint64_t clock_ns(void);

#endif
