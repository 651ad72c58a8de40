/* SPDX-License-Identifier: MIT */
/* Unit tests for the I/O thread: timers, fd watches, locking and lifetime. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iothread.h"

#define MS 1000000ull

/* ---- a small event recorder shared with callbacks ----------------------- */

struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ids[64];
	uint64_t when[64];
	int n;
};

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static void rec_add(struct rec *r, int id)
{
	pthread_mutex_lock(&r->mu);
	/* Counts everything; keeps the first 64. */
	if (r->n < 64) {
		r->ids[r->n] = id;
		r->when[r->n] = clock_ns();
	}
	r->n++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static int rec_count(struct rec *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void abs_after_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait (bounded) until at least n events were recorded. */
static bool rec_wait(struct rec *r, int n, unsigned ms)
{
	struct timespec ts;
	bool ok;

	abs_after_ms(&ts, ms);
	pthread_mutex_lock(&r->mu);
	while (r->n < n)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT)
			break;
	ok = r->n >= n;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* ---- fixtures ------------------------------------------------------------ */

static struct iothread *io;
static struct rec rec;

static void setup(void)
{
	rec_init(&rec);
	ck_assert_int_eq(iothread_create(&io), 0);
	ck_assert_int_eq(iothread_start(io), 0);
}

static void teardown(void)
{
	iothread_destroy(io);
	io = NULL;
}

struct tctx {
	struct avmm_timer *t;
	int id;
	uint64_t deadline;
	int count;
	int limit;
	bool rearm_past;
	pthread_mutex_t *lock;
	int trylock_ret;
};

static void timer_record(void *opaque)
{
	struct tctx *c = opaque;

	c->count++;
	if (c->lock)
		c->trylock_ret = pthread_mutex_trylock(c->lock);
	rec_add(&rec, c->id);
}

/* Fires a sentinel `ms` from now and waits for it: every pass before it ran. */
static void run_loop_for(unsigned ms)
{
	struct tctx s = { .id = 999 };
	int before = rec_count(&rec);

	ck_assert_int_eq(iothread_timer_new(io, timer_record, &s, NULL, &s.t), 0);
	iothread_timer_mod(s.t, clock_ns() + ms * MS);
	ck_assert(rec_wait(&rec, before + 1, ms + 3000));
	ck_assert_int_eq(s.count, 1);
	iothread_timer_free(s.t);
}

/* ---- timers -------------------------------------------------------------- */

START_TEST(test_clock_monotonic)
{
	uint64_t a = clock_ns(), b = clock_ns();

	ck_assert_uint_gt(a, 0);
	ck_assert_uint_ge(b, a);
}
END_TEST

START_TEST(test_timer_deadline_order)
{
	struct tctx c[3] = { { .id = 0 }, { .id = 1 }, { .id = 2 } };
	uint64_t now = clock_ns();
	const uint64_t off[3] = { 90 * MS, 30 * MS, 60 * MS };
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(iothread_timer_new(io, timer_record, &c[i], NULL, &c[i].t), 0);
		c[i].deadline = now + off[i];
	}
	for (i = 0; i < 3; i++)
		iothread_timer_mod(c[i].t, c[i].deadline);
	ck_assert(rec_wait(&rec, 3, 3000));
	ck_assert_int_eq(rec.ids[0], 1);
	ck_assert_int_eq(rec.ids[1], 2);
	ck_assert_int_eq(rec.ids[2], 0);
	/* Never early. */
	for (i = 0; i < 3; i++)
		ck_assert_uint_ge(rec.when[i], c[rec.ids[i]].deadline);
	for (i = 0; i < 3; i++)
		iothread_timer_free(c[i].t);
}
END_TEST

START_TEST(test_timer_same_pass_order)
{
	/* All already due when the loop looks: still earliest first. */
	struct tctx c[4] = { { .id = 0 }, { .id = 1 }, { .id = 2 }, { .id = 3 } };
	const uint64_t dl[4] = { 400, 100, 300, 200 };
	struct iothread *io2;
	int i;

	iothread_destroy(io);
	ck_assert_int_eq(iothread_create(&io2), 0);
	io = io2;
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(iothread_timer_new(io, timer_record, &c[i], NULL, &c[i].t), 0);
		iothread_timer_mod(c[i].t, dl[i]);
	}
	ck_assert_int_eq(iothread_start(io), 0);
	ck_assert(rec_wait(&rec, 4, 3000));
	ck_assert_int_eq(rec.ids[0], 1);
	ck_assert_int_eq(rec.ids[1], 3);
	ck_assert_int_eq(rec.ids[2], 2);
	ck_assert_int_eq(rec.ids[3], 0);
}
END_TEST

START_TEST(test_timer_rearm_moves_later)
{
	struct tctx c = { .id = 7 };
	uint64_t now = clock_ns();

	ck_assert_int_eq(iothread_timer_new(io, timer_record, &c, NULL, &c.t), 0);
	iothread_timer_mod(c.t, now + 20 * MS);
	c.deadline = now + 150 * MS;
	iothread_timer_mod(c.t, c.deadline);
	ck_assert(rec_wait(&rec, 1, 3000));
	ck_assert_uint_ge(rec.when[0], c.deadline);
	run_loop_for(50);
	ck_assert_int_eq(c.count, 1);
	iothread_timer_free(c.t);
}
END_TEST

START_TEST(test_timer_rearm_moves_earlier)
{
	struct tctx c = { .id = 8 };
	uint64_t t0;

	ck_assert_int_eq(iothread_timer_new(io, timer_record, &c, NULL, &c.t), 0);
	iothread_timer_mod(c.t, clock_ns() + 100000 * MS);
	/* Let the loop go to sleep towards the far deadline... */
	run_loop_for(20);
	/* ...then pull it in from this thread: the loop must be woken. */
	t0 = clock_ns();
	iothread_timer_mod(c.t, t0 + 30 * MS);
	ck_assert(rec_wait(&rec, 2, 3000));
	ck_assert_int_eq(rec.ids[1], 8);
	ck_assert_uint_ge(rec.when[1], t0 + 30 * MS);
	ck_assert_uint_lt(rec.when[1], t0 + 2000 * MS);
	iothread_timer_free(c.t);
}
END_TEST

START_TEST(test_timer_del_prevents_firing)
{
	struct tctx c = { .id = 1 };

	ck_assert_int_eq(iothread_timer_new(io, timer_record, &c, NULL, &c.t), 0);
	iothread_timer_mod(c.t, clock_ns() + 20 * MS);
	iothread_timer_del(c.t);
	iothread_timer_del(c.t); /* idempotent */
	run_loop_for(80);
	ck_assert_int_eq(c.count, 0);
	/* A deleted timer can be armed again. */
	iothread_timer_mod(c.t, clock_ns() + 10 * MS);
	ck_assert(rec_wait(&rec, 2, 3000));
	ck_assert_int_eq(c.count, 1);
	iothread_timer_free(c.t);
}
END_TEST

static void timer_rearm_self(void *opaque)
{
	struct tctx *c = opaque;

	c->count++;
	if (c->lock)
		c->trylock_ret = pthread_mutex_trylock(c->lock);
	if (c->count < c->limit)
		iothread_timer_mod(c->t, c->rearm_past ? 0 : clock_ns() + 2 * MS);
	rec_add(&rec, c->id);
}

START_TEST(test_timer_rearm_from_callback)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct tctx c = { .id = 3, .limit = 5, .lock = &m };

	ck_assert_int_eq(iothread_timer_new(io, timer_rearm_self, &c, &m, &c.t), 0);
	iothread_timer_mod(c.t, clock_ns() + MS);
	ck_assert(rec_wait(&rec, 5, 3000));
	run_loop_for(30);
	ck_assert_int_eq(c.count, 5);
	/* The callback ran with the registration lock held. */
	ck_assert_int_eq(c.trylock_ret, EBUSY);
	ck_assert_int_eq(pthread_mutex_trylock(&m), 0);
	pthread_mutex_unlock(&m);
	iothread_timer_free(c.t);
}
END_TEST

START_TEST(test_timer_rearm_past_from_callback)
{
	/* Re-arming into the past must not spin inside one pass. */
	struct tctx c = { .id = 4, .limit = 20, .rearm_past = true };

	ck_assert_int_eq(iothread_timer_new(io, timer_rearm_self, &c, NULL, &c.t), 0);
	iothread_timer_mod(c.t, 0);
	ck_assert(rec_wait(&rec, 20, 3000));
	run_loop_for(20);
	ck_assert_int_eq(c.count, 20);
	iothread_timer_free(c.t);
}
END_TEST

static void timer_free_self(void *opaque)
{
	struct tctx *c = opaque;

	c->count++;
	iothread_timer_free(c->t);
	rec_add(&rec, c->id);
}

START_TEST(test_timer_free_from_callback)
{
	struct tctx c = { .id = 5 };

	ck_assert_int_eq(iothread_timer_new(io, timer_free_self, &c, NULL, &c.t), 0);
	iothread_timer_mod(c.t, clock_ns() + MS);
	ck_assert(rec_wait(&rec, 1, 3000));
	run_loop_for(20);
	ck_assert_int_eq(c.count, 1);
}
END_TEST

/* A callback that blocks until released, to race removal against it. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, release, finished, removed, finished_when_removed;
	struct avmm_timer *t;
	int fd;
};

static struct gate gate;

static void gate_init(void)
{
	memset(&gate, 0, sizeof(gate));
	pthread_mutex_init(&gate.mu, NULL);
	pthread_cond_init(&gate.cv, NULL);
}

static void gate_block(void)
{
	struct timespec ts;

	abs_after_ms(&ts, 5000);
	pthread_mutex_lock(&gate.mu);
	gate.entered = true;
	pthread_cond_broadcast(&gate.cv);
	while (!gate.release)
		if (pthread_cond_timedwait(&gate.cv, &gate.mu, &ts) == ETIMEDOUT)
			break;
	gate.finished = true;
	pthread_mutex_unlock(&gate.mu);
}

static bool gate_wait(bool *flag, unsigned ms)
{
	struct timespec ts;
	bool v;

	abs_after_ms(&ts, ms);
	pthread_mutex_lock(&gate.mu);
	while (!*flag)
		if (pthread_cond_timedwait(&gate.cv, &gate.mu, &ts) == ETIMEDOUT)
			break;
	v = *flag;
	pthread_mutex_unlock(&gate.mu);
	return v;
}

static void gate_timer_cb(void *opaque)
{
	gate_block();
}

static void *free_timer_thread(void *arg)
{
	iothread_timer_free(gate.t);
	pthread_mutex_lock(&gate.mu);
	gate.finished_when_removed = gate.finished;
	gate.removed = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
	return NULL;
}

START_TEST(test_timer_free_other_thread_waits)
{
	pthread_t th;

	gate_init();
	ck_assert_int_eq(iothread_timer_new(io, gate_timer_cb, NULL, NULL, &gate.t), 0);
	iothread_timer_mod(gate.t, 0);
	ck_assert(gate_wait(&gate.entered, 3000));
	ck_assert_int_eq(pthread_create(&th, NULL, free_timer_thread, NULL), 0);
	/* While the callback runs, the free must not return. */
	ck_assert(!gate_wait(&gate.removed, 100));
	pthread_mutex_lock(&gate.mu);
	gate.release = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
	ck_assert(gate_wait(&gate.removed, 3000));
	ck_assert(gate.finished_when_removed);
	pthread_join(th, NULL);
}
END_TEST

/* ---- fd watches ---------------------------------------------------------- */

struct wctx {
	pthread_mutex_t *lock;
	int trylock_ret;
	int count;
	unsigned last_revents;
	bool unwatch_self;
	int unwatch_ret;
	int update_ret;
	struct avmm_timer *t;
	char last;
};

static void watch_cb(void *opaque, int fd, unsigned revents)
{
	struct wctx *w = opaque;
	char c = 0;

	w->count++;
	w->last_revents = revents;
	if (w->lock)
		w->trylock_ret = pthread_mutex_trylock(w->lock);
	if (read(fd, &c, 1) == 1)
		w->last = c;
	/* The loop's own lock is not held: these must not deadlock. */
	if (w->t)
		iothread_timer_mod(w->t, clock_ns() + 1000 * MS);
	w->update_ret = iothread_watch_update(io, fd, AVMM_IO_IN);
	if (w->unwatch_self)
		w->unwatch_ret = iothread_unwatch(io, fd);
	rec_add(&rec, 100 + w->count);
}

static void noop_timer(void *opaque)
{
}

START_TEST(test_watch_callback_lock_held)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct wctx w = { .lock = &m, .trylock_ret = -1, .update_ret = -1 };
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(iothread_timer_new(io, noop_timer, NULL, NULL, &w.t), 0);
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, watch_cb, &w, &m), 0);
	ck_assert_int_eq(write(p[1], "a", 1), 1);
	ck_assert(rec_wait(&rec, 1, 3000));
	ck_assert_int_eq(w.trylock_ret, EBUSY);
	ck_assert_int_eq(w.update_ret, 0);
	ck_assert(w.last_revents & AVMM_IO_IN);
	ck_assert_int_eq(w.last, 'a');
	/* unwatch waits for a running callback; then the lock is released. */
	ck_assert_int_eq(iothread_unwatch(io, p[0]), 0);
	ck_assert_int_eq(pthread_mutex_trylock(&m), 0);
	pthread_mutex_unlock(&m);
	iothread_timer_free(w.t);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_unwatch_from_callback)
{
	struct wctx w = { .unwatch_self = true, .unwatch_ret = -1 };
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, watch_cb, &w, NULL), 0);
	ck_assert_int_eq(write(p[1], "1", 1), 1);
	ck_assert(rec_wait(&rec, 1, 3000));
	ck_assert_int_eq(w.unwatch_ret, 0);
	ck_assert_int_eq(w.last, '1');
	/* Readable again, but no longer watched. */
	ck_assert_int_eq(write(p[1], "2", 1), 1);
	run_loop_for(50);
	ck_assert_int_eq(w.count, 1);
	ck_assert_int_eq(iothread_unwatch(io, p[0]), -ENOENT);
	/* The same fd can be watched again and gets the pending byte. */
	w.unwatch_self = false;
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, watch_cb, &w, NULL), 0);
	ck_assert(rec_wait(&rec, 3, 3000));
	ck_assert_int_eq(w.count, 2);
	ck_assert_int_eq(w.last, '2');
	ck_assert_int_eq(iothread_unwatch(io, p[0]), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

static void gate_watch_cb(void *opaque, int fd, unsigned revents)
{
	char c;

	if (read(fd, &c, 1) < 0) {
		/* the test checks the gate, not the byte */
	}
	gate_block();
}

static void *unwatch_thread(void *arg)
{
	iothread_unwatch(io, gate.fd);
	pthread_mutex_lock(&gate.mu);
	gate.finished_when_removed = gate.finished;
	gate.removed = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
	return NULL;
}

START_TEST(test_unwatch_other_thread_waits)
{
	pthread_t th;
	int p[2];

	gate_init();
	ck_assert_int_eq(pipe(p), 0);
	gate.fd = p[0];
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, gate_watch_cb, NULL, NULL), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert(gate_wait(&gate.entered, 3000));
	ck_assert_int_eq(pthread_create(&th, NULL, unwatch_thread, NULL), 0);
	ck_assert(!gate_wait(&gate.removed, 100));
	pthread_mutex_lock(&gate.mu);
	gate.release = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
	ck_assert(gate_wait(&gate.removed, 3000));
	ck_assert(gate.finished_when_removed);
	pthread_join(th, NULL);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_watch_errors)
{
	struct wctx w = { 0 };
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, watch_cb, &w, NULL), 0);
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, watch_cb, &w, NULL), -EEXIST);
	ck_assert_int_eq(iothread_watch(io, p[1], 0x80, watch_cb, &w, NULL), -EINVAL);
	ck_assert_int_eq(iothread_watch(io, -1, AVMM_IO_IN, watch_cb, &w, NULL), -EINVAL);
	ck_assert_int_eq(iothread_watch(io, p[1], AVMM_IO_OUT, NULL, &w, NULL), -EINVAL);
	ck_assert_int_eq(iothread_watch_update(io, p[1], AVMM_IO_IN), -ENOENT);
	ck_assert_int_eq(iothread_unwatch(io, p[1]), -ENOENT);
	ck_assert_int_eq(iothread_unwatch(io, p[0]), 0);
	ck_assert_int_eq(iothread_unwatch(io, p[0]), -ENOENT);
	close(p[0]);
	close(p[1]);
}
END_TEST

static void count_cb(void *opaque, int fd, unsigned revents)
{
	struct wctx *w = opaque;

	w->count++;
	w->last_revents = revents;
	rec_add(&rec, 200);
}

START_TEST(test_watch_paused_and_out)
{
	struct wctx w = { 0 };
	int p[2], n;

	ck_assert_int_eq(pipe(p), 0);
	/* Readable but paused (mask 0): no callback, no spinning. */
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	ck_assert_int_eq(iothread_watch(io, p[0], 0, count_cb, &w, NULL), 0);
	run_loop_for(50);
	ck_assert_int_eq(w.count, 0);
	/* Un-paused: level-triggered, fires until the data is consumed. */
	n = rec_count(&rec);
	ck_assert_int_eq(iothread_watch_update(io, p[0], AVMM_IO_IN), 0);
	ck_assert(rec_wait(&rec, n + 1, 3000));
	ck_assert_int_eq(iothread_watch_update(io, p[0], 0), 0);
	/* The callback may still be firing until unwatch returns: read w after. */
	ck_assert_int_eq(iothread_unwatch(io, p[0]), 0);
	ck_assert(w.last_revents & AVMM_IO_IN);

	/* An empty pipe is writable. */
	w.count = 0;
	n = rec_count(&rec);
	ck_assert_int_eq(iothread_watch(io, p[1], AVMM_IO_OUT, count_cb, &w, NULL), 0);
	ck_assert(rec_wait(&rec, n + 1, 3000));
	ck_assert_int_eq(iothread_unwatch(io, p[1]), 0);
	ck_assert(w.last_revents & AVMM_IO_OUT);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_watch_hangup_reports_err)
{
	struct wctx w = { 0 };
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	close(p[1]);
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, count_cb, &w, NULL), 0);
	ck_assert(rec_wait(&rec, 1, 3000));
	ck_assert_int_eq(iothread_unwatch(io, p[0]), 0);
	ck_assert(w.last_revents & (AVMM_IO_ERR | AVMM_IO_IN));
	close(p[0]);
}
END_TEST

/* ---- lifecycle ------------------------------------------------------------ */

START_TEST(test_stop_with_pending)
{
	struct tctx c[3] = { { .id = 0 }, { .id = 1 }, { .id = 2 } };
	struct wctx w = { 0 };
	uint64_t t0;
	int p[2], i;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(iothread_watch(io, p[0], AVMM_IO_IN, watch_cb, &w, NULL), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(iothread_timer_new(io, timer_record, &c[i], NULL, &c[i].t), 0);
		iothread_timer_mod(c[i].t, clock_ns() + (uint64_t)(10 + i) * 1000 * MS);
	}
	run_loop_for(10); /* the loop now sleeps towards a 10 s deadline */
	t0 = clock_ns();
	iothread_stop(io);
	ck_assert_uint_lt(clock_ns() - t0, 1000 * MS);
	iothread_stop(io); /* twice is fine */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(c[i].count, 0);
	ck_assert_int_eq(w.count, 0);

	/* Stopped: changes are still accepted, and a restart serves them. */
	ck_assert_int_eq(write(p[1], "q", 1), 1);
	iothread_timer_mod(c[0].t, 0);
	iothread_timer_free(c[2].t);
	ck_assert_int_eq(iothread_start(io), 0);
	ck_assert_int_eq(iothread_start(io), -EALREADY);
	ck_assert(rec_wait(&rec, 3, 3000)); /* sentinel + c[0] + the watch */
	ck_assert_int_eq(c[0].count, 1);
	ck_assert_int_ge(w.count, 1);
	/* Destroy with armed timers and a watch still registered. */
	iothread_timer_mod(c[1].t, clock_ns() + 100000 * MS);
	iothread_destroy(io);
	io = NULL;
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_never_started)
{
	struct iothread *io2;
	struct avmm_timer *t;
	struct tctx c = { 0 };

	ck_assert_int_eq(iothread_create(&io2), 0);
	ck_assert_int_eq(iothread_timer_new(io2, timer_record, &c, NULL, &t), 0);
	iothread_timer_mod(t, 0);
	iothread_kick(io2);
	iothread_stop(io2);
	iothread_timer_free(t);
	iothread_destroy(io2);
	ck_assert_int_eq(c.count, 0);
}
END_TEST

static void timer_stop_loop(void *opaque)
{
	struct tctx *c = opaque;

	c->count++;
	iothread_stop(io); /* from the loop itself: must not deadlock */
	rec_add(&rec, c->id);
}

START_TEST(test_stop_from_callback)
{
	struct tctx c = { .id = 6 }, late = { .id = 7 };

	ck_assert_int_eq(iothread_timer_new(io, timer_stop_loop, &c, NULL, &c.t), 0);
	ck_assert_int_eq(iothread_timer_new(io, timer_record, &late, NULL, &late.t), 0);
	iothread_timer_mod(c.t, 0);
	ck_assert(rec_wait(&rec, 1, 3000));
	/* The loop left: a timer armed now stays pending (checked after the join)... */
	iothread_timer_mod(late.t, 0);
	iothread_stop(io);
	ck_assert_int_eq(late.count, 0);
	/* ...until it is started again. */
	ck_assert_int_eq(iothread_start(io), 0);
	ck_assert(rec_wait(&rec, 2, 3000));
	ck_assert_int_eq(late.count, 1);
	ck_assert_int_eq(c.count, 1);
}
END_TEST

static Suite *iothread_suite(void)
{
	Suite *s = suite_create("iothread");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_clock_monotonic);
	tcase_add_test(tc, test_timer_deadline_order);
	tcase_add_test(tc, test_timer_same_pass_order);
	tcase_add_test(tc, test_timer_rearm_moves_later);
	tcase_add_test(tc, test_timer_rearm_moves_earlier);
	tcase_add_test(tc, test_timer_del_prevents_firing);
	tcase_add_test(tc, test_timer_rearm_from_callback);
	tcase_add_test(tc, test_timer_rearm_past_from_callback);
	tcase_add_test(tc, test_timer_free_from_callback);
	tcase_add_test(tc, test_timer_free_other_thread_waits);
	tcase_add_test(tc, test_watch_callback_lock_held);
	tcase_add_test(tc, test_unwatch_from_callback);
	tcase_add_test(tc, test_unwatch_other_thread_waits);
	tcase_add_test(tc, test_watch_errors);
	tcase_add_test(tc, test_watch_paused_and_out);
	tcase_add_test(tc, test_watch_hangup_reports_err);
	tcase_add_test(tc, test_stop_with_pending);
	tcase_add_test(tc, test_stop_from_callback);
	tcase_add_test(tc, test_never_started);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(iothread_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
