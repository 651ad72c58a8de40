/* SPDX-License-Identifier: MIT */
/*
 * The I/O thread: a poll() loop over registered fds, a self-pipe to wake it,
 * and timers with absolute CLOCK_MONOTONIC deadlines.
 *
 * Locking.  `io->mu` protects every list and flag below.  Callbacks run with
 * the registering device's lock held and `io->mu` released, so the lock order
 * is device lock -> io->mu and nothing here calls out with `io->mu` held.
 * The loop takes a device lock with trylock while holding `io->mu` (trylock
 * cannot deadlock) and backs off on contention: that way it never sleeps on a
 * device lock whose owner might be unregistering (and destroying) it.
 *
 * Lifetime.  Watches and timers are never freed while the loop may hold a
 * pointer to them: removal marks them dead and the loop reaps dead entries at
 * the top of each iteration.  A removal from another thread also waits for a
 * callback of that very entry that is in progress, so once iothread_unwatch()
 * or iothread_timer_free() returns, the callback is not running and will not
 * run again (from inside the callback itself, the current call just finishes).
 *
 * Workers.  A worker is a thread of its own that runs one function whenever
 * it was kicked, holding no lock of ours (see iothread_worker_new).  They
 * belong to the I/O context, so they stop with the I/O thread: once
 * iothread_stop() returns no worker function runs and none will.  `io->mu`
 * guards the list of workers; each worker's own `mu` its kick state, and
 * nothing calls out with either held.
 */
#include "iothread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The Mac loop waits with select(); AVMM_IOTHREAD_SELECT tests that on Linux. */
#if defined(__APPLE__) || defined(AVMM_IOTHREAD_SELECT)
#define IO_USE_SELECT 1
#endif

struct io_watch {
	int fd;
	unsigned events; /* AVMM_IO_IN | AVMM_IO_OUT; 0 pauses the watch */
	avmm_io_fn fn;
	void *opaque;
	pthread_mutex_t *lock;
	bool dead;
};

struct avmm_timer {
	struct iothread *io;
	avmm_timer_fn fn;
	void *opaque;
	pthread_mutex_t *lock;
	uint64_t deadline;
	uint64_t pass; /* dispatch pass that last fired it */
	bool armed;
	bool dead;
};

struct avmm_worker {
	struct iothread *io;
	avmm_worker_fn fn;
	void *opaque;
	void *owner;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool pending; /* kicked since fn last started */
	bool stop;    /* never run fn again; the thread exits */
	bool joined;
};

struct iothread {
	pthread_mutex_t mu;
	pthread_cond_t cb_done; /* broadcast whenever `cur` is cleared */
	pthread_t thread;
	bool running; /* the thread exists: from start until stop's join */
	bool stop;
	int kick_rd, kick_wr;
	bool kick_pending;
	bool sleeping;        /* in poll(); changes made now need a kick */
	uint64_t sleep_until; /* the deadline that poll's timeout came from */
	const void *cur;      /* watch or timer whose callback is running */
	uint64_t pass;

	struct io_watch **watches;
	unsigned nwatches, cap_watches;
	struct avmm_timer **timers;
	unsigned ntimers, cap_timers;
	unsigned ndead;
	struct avmm_worker **workers;
	unsigned nworkers, cap_workers;
	bool workers_stopped; /* iothread_stop stopped them: new ones never run */

	/* Owned by the loop thread (built under mu, used without it). */
	struct pollfd *pfds;
	struct io_watch **snap;
	unsigned cap_pfds;
};

uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int set_fd_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int iothread_pipe(int fds[2])
{
	int ret;

	if (pipe(fds) < 0)
		return -errno;
	ret = set_fd_flags(fds[0]);
	if (!ret)
		ret = set_fd_flags(fds[1]);
	if (ret) {
		close(fds[0]);
		close(fds[1]);
	}
	return ret;
}

static bool on_loop_thread(const struct iothread *io)
{
	return io->running && pthread_equal(pthread_self(), io->thread);
}

/* Wake the loop if it sleeps in poll(); one pending byte is enough. */
static void kick_locked(struct iothread *io)
{
	static const char one = 1;

	if (!io->sleeping || io->kick_pending)
		return;
	io->kick_pending = true;
	/* EAGAIN means the pipe is full of kicks already: just as good. */
	if (write(io->kick_wr, &one, 1) < 0 && errno != EAGAIN)
		io->kick_pending = false;
}

static void wait_not_running_locked(struct iothread *io, const void *ent)
{
	if (!io->running || on_loop_thread(io))
		return;
	/* Only compares the pointer: the entry may already be reaped. */
	while (io->cur == ent)
		pthread_cond_wait(&io->cb_done, &io->mu);
}

static void reap_locked(struct iothread *io)
{
	unsigned i, j;

	if (!io->ndead)
		return;
	for (i = j = 0; i < io->nwatches; i++) {
		if (io->watches[i]->dead)
			free(io->watches[i]);
		else
			io->watches[j++] = io->watches[i];
	}
	io->nwatches = j;
	for (i = j = 0; i < io->ntimers; i++) {
		if (io->timers[i]->dead)
			free(io->timers[i]);
		else
			io->timers[j++] = io->timers[i];
	}
	io->ntimers = j;
	io->ndead = 0;
}

static void mark_dead_locked(struct iothread *io, bool *dead)
{
	*dead = true;
	io->ndead++;
	/* Nobody can hold a pointer while the thread does not exist. */
	if (!io->running)
		reap_locked(io);
}

int iothread_create(struct iothread **out)
{
	struct iothread *io;
	int p[2], ret;

	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	/* A self-pipe rather than eventfd: the same code on Linux and macOS. */
	ret = iothread_pipe(p);
	if (ret) {
		free(io);
		return ret;
	}
	/* The loop's arrays always hold at least the kick pipe. */
	io->cap_pfds = 16;
	io->pfds = calloc(io->cap_pfds, sizeof(*io->pfds));
	io->snap = calloc(io->cap_pfds, sizeof(*io->snap));
	if (!io->pfds || !io->snap) {
		free(io->pfds);
		free(io->snap);
		close(p[0]);
		close(p[1]);
		free(io);
		return -ENOMEM;
	}
	io->kick_rd = p[0];
	io->kick_wr = p[1];
	pthread_mutex_init(&io->mu, NULL);
	pthread_cond_init(&io->cb_done, NULL);
	io->sleep_until = UINT64_MAX;
	*out = io;
	return 0;
}

/* Grow the loop's poll arrays to fit every watch plus the kick pipe. */
static void loop_size_arrays_locked(struct iothread *io)
{
	unsigned want = io->nwatches + 1;
	struct pollfd *pfds;
	struct io_watch **snap;

	if (want <= io->cap_pfds)
		return;
	want *= 2;
	pfds = realloc(io->pfds, want * sizeof(*pfds));
	if (pfds)
		io->pfds = pfds;
	snap = realloc(io->snap, want * sizeof(*snap));
	if (snap)
		io->snap = snap;
	/* On failure keep the old size: some watches just wait a round. */
	if (pfds && snap)
		io->cap_pfds = want;
}

/* Build the poll set; returns the number of pollfds (kick pipe first). */
static unsigned loop_build_locked(struct iothread *io)
{
	unsigned i, n = 1;

	loop_size_arrays_locked(io);
	io->pfds[0] = (struct pollfd){ .fd = io->kick_rd, .events = POLLIN };
	for (i = 0; i < io->nwatches && n < io->cap_pfds; i++) {
		struct io_watch *w = io->watches[i];
		short ev = 0;

		/* A paused watch is not polled at all, so a hangup cannot spin. */
		if (w->dead || !w->events)
			continue;
		if (w->events & AVMM_IO_IN)
			ev |= POLLIN;
		if (w->events & AVMM_IO_OUT)
			ev |= POLLOUT;
		io->pfds[n] = (struct pollfd){ .fd = w->fd, .events = ev };
		io->snap[n] = w;
		n++;
	}
	return n;
}

static uint64_t earliest_deadline_locked(const struct iothread *io)
{
	uint64_t min = UINT64_MAX;
	unsigned i;

	for (i = 0; i < io->ntimers; i++) {
		const struct avmm_timer *t = io->timers[i];

		if (t->armed && !t->dead && t->deadline < min)
			min = t->deadline;
	}
	return min;
}

#ifdef IO_USE_SELECT
/*
 * macOS poll() does not support devices: a terminal on stdin reports
 * POLLNVAL.  select() does work there, so the Mac loop waits with it (fds
 * must be below FD_SETSIZE, enforced by iothread_watch).
 */
static void loop_wait(struct iothread *io, unsigned n, bool forever, uint64_t delta)
{
	struct timeval tv;
	fd_set rd, wr;
	int maxfd = -1;
	unsigned i;

	delta = (delta + 999) / 1000; /* us, rounded up */
	tv.tv_sec = (time_t)(delta / 1000000);
	tv.tv_usec = (suseconds_t)(delta % 1000000);
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	for (i = 0; i < n; i++) {
		struct pollfd *p = &io->pfds[i];

		p->revents = 0;
		if (p->fd < 0 || p->fd >= FD_SETSIZE)
			continue;
		if (p->events & POLLIN)
			FD_SET(p->fd, &rd);
		if (p->events & POLLOUT)
			FD_SET(p->fd, &wr);
		if (p->fd > maxfd)
			maxfd = p->fd;
	}
	if (select(maxfd + 1, &rd, &wr, NULL, forever ? NULL : &tv) < 0) {
		/* A watched fd was closed under us: tell its owner, like POLLNVAL. */
		if (errno == EBADF)
			for (i = 0; i < n; i++)
				if (fcntl(io->pfds[i].fd, F_GETFD) < 0)
					io->pfds[i].revents = POLLNVAL;
		return;
	}
	for (i = 0; i < n; i++) {
		struct pollfd *p = &io->pfds[i];

		if (p->fd < 0 || p->fd >= FD_SETSIZE)
			continue;
		/* EOF, hangup and errors show up as readable/writable. */
		if (FD_ISSET(p->fd, &rd))
			p->revents |= POLLIN;
		if (FD_ISSET(p->fd, &wr))
			p->revents |= POLLOUT;
	}
}
#else
static void loop_wait(struct iothread *io, unsigned n, bool forever, uint64_t delta)
{
#ifdef __linux__
	struct timespec ts = { .tv_sec = (time_t)(delta / 1000000000ull),
			       .tv_nsec = (long)(delta % 1000000000ull) };

	ppoll(io->pfds, n, forever ? NULL : &ts, NULL);
#else
	/* Round up: waking before the deadline would only spin. */
	uint64_t ms = (delta + 999999) / 1000000;

	poll(io->pfds, n, forever ? -1 : ms > INT_MAX ? INT_MAX : (int)ms);
#endif
}
#endif

static void loop_poll(struct iothread *io, unsigned n, uint64_t deadline)
{
	bool forever = deadline == UINT64_MAX;
	uint64_t now = clock_ns(), delta = 0;

	if (!forever && deadline > now)
		delta = deadline - now;
	loop_wait(io, n, forever, delta);
}

/*
 * Try to take a callback's lock with io->mu held.  On contention, drop io->mu,
 * back off and return false: the caller re-validates its entry and retries.
 */
static bool loop_trylock(struct iothread *io, pthread_mutex_t *lock, unsigned *spins)
{
	struct timespec ts = { 0, 50000 };

	if (!lock || pthread_mutex_trylock(lock) == 0)
		return true;
	pthread_mutex_unlock(&io->mu);
	if ((*spins)++ < 8)
		sched_yield();
	else
		nanosleep(&ts, NULL);
	pthread_mutex_lock(&io->mu);
	return false;
}

static void loop_end_call_locked(struct iothread *io)
{
	io->cur = NULL;
	pthread_cond_broadcast(&io->cb_done);
}

static unsigned revents_to_io(short re)
{
	unsigned ev = 0;

	if (re & (POLLIN | POLLPRI))
		ev |= AVMM_IO_IN;
	if (re & POLLOUT)
		ev |= AVMM_IO_OUT;
	if (re & (POLLERR | POLLHUP | POLLNVAL))
		ev |= AVMM_IO_ERR;
	return ev;
}

static void loop_dispatch_watches_locked(struct iothread *io, unsigned n)
{
	unsigned i;

	for (i = 1; i < n; i++) {
		struct io_watch *w = io->snap[i];
		short re = io->pfds[i].revents;
		unsigned ev, spins = 0;

		if (!re)
			continue;
		for (;;) {
			/* Re-checked after each back-off: it may have changed. */
			ev = revents_to_io(re) & (w->events | AVMM_IO_ERR);
			if (io->stop || w->dead || !w->events || !ev)
				break;
			if (!loop_trylock(io, w->lock, &spins))
				continue;
			/* A closed fd would report POLLNVAL forever: pause it. */
			if (re & POLLNVAL)
				w->events = 0;
			io->cur = w;
			pthread_mutex_unlock(&io->mu);
			w->fn(w->opaque, w->fd, ev);
			if (w->lock)
				pthread_mutex_unlock(w->lock);
			pthread_mutex_lock(&io->mu);
			loop_end_call_locked(io);
			break;
		}
	}
}

/* Fire due timers earliest first; each at most once per pass. */
static void loop_dispatch_timers_locked(struct iothread *io)
{
	uint64_t now = clock_ns();
	unsigned spins = 0;

	io->pass++;
	while (!io->stop) {
		struct avmm_timer *t = NULL;
		pthread_mutex_t *lock;
		unsigned i;

		for (i = 0; i < io->ntimers; i++) {
			struct avmm_timer *c = io->timers[i];

			if (!c->armed || c->dead || c->pass == io->pass || c->deadline > now)
				continue;
			if (!t || c->deadline < t->deadline)
				t = c;
		}
		if (!t)
			break;
		if (!loop_trylock(io, t->lock, &spins))
			continue;
		spins = 0;
		lock = t->lock;
		t->armed = false; /* before the call, so the callback may re-arm */
		t->pass = io->pass;
		io->cur = t;
		pthread_mutex_unlock(&io->mu);
		t->fn(t->opaque);
		if (lock)
			pthread_mutex_unlock(lock);
		pthread_mutex_lock(&io->mu);
		loop_end_call_locked(io);
	}
}

static void *loop_main(void *arg)
{
	struct iothread *io = arg;

	pthread_mutex_lock(&io->mu);
	while (!io->stop) {
		uint64_t deadline;
		unsigned n;

		reap_locked(io);
		n = loop_build_locked(io);
		deadline = earliest_deadline_locked(io);
		io->sleeping = true;
		io->sleep_until = deadline;
		pthread_mutex_unlock(&io->mu);

		loop_poll(io, n, deadline);

		pthread_mutex_lock(&io->mu);
		io->sleeping = false;
		if (io->pfds[0].revents) {
			char buf[64];

			while (read(io->kick_rd, buf, sizeof(buf)) > 0)
				;
			io->kick_pending = false;
		}
		loop_dispatch_watches_locked(io, n);
		loop_dispatch_timers_locked(io);
	}
	pthread_mutex_unlock(&io->mu);
	return NULL;
}

/* Asynchronous signals belong to the main thread: block them in ours. */
static int thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(th, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static void worker_stop_join(struct avmm_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	w->pending = false;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	if (!w->joined) {
		pthread_join(w->thread, NULL);
		w->joined = true;
	}
}

/*
 * Stop and join every worker.  The list only changes in the owning devices'
 * serialised calls, never concurrently with a stop (vm.c stops the I/O
 * context between runs of those), so it is walked with io->mu dropped: a
 * worker being joined may be kicking another.
 */
static void workers_stop(struct iothread *io)
{
	struct avmm_worker **v;
	unsigned n;

	pthread_mutex_lock(&io->mu);
	v = io->workers;
	n = io->nworkers;
	pthread_mutex_unlock(&io->mu);
	for (unsigned i = 0; i < n; i++)
		worker_stop_join(v[i]);
}

int iothread_start(struct iothread *io)
{
	int ret;

	pthread_mutex_lock(&io->mu);
	if (io->running) {
		pthread_mutex_unlock(&io->mu);
		return -EALREADY;
	}
	io->stop = false;
	io->running = true;
	ret = thread_start(&io->thread, loop_main, io);
	if (ret)
		io->running = false;
	pthread_mutex_unlock(&io->mu);
	return ret;
}

void iothread_stop(struct iothread *io)
{
	pthread_t th;

	if (!io)
		return;
	pthread_mutex_lock(&io->mu);
	if (on_loop_thread(io)) {
		/* From a callback: leave the loop; a later stop joins it. */
		io->stop = true;
		pthread_mutex_unlock(&io->mu);
		return;
	}
	io->workers_stopped = true;
	pthread_mutex_unlock(&io->mu);
	workers_stop(io);
	pthread_mutex_lock(&io->mu);
	if (!io->running) {
		pthread_mutex_unlock(&io->mu);
		return;
	}
	io->stop = true;
	kick_locked(io);
	th = io->thread;
	pthread_mutex_unlock(&io->mu);

	pthread_join(th, NULL);

	pthread_mutex_lock(&io->mu);
	io->running = false;
	io->sleeping = false;
	io->kick_pending = false;
	reap_locked(io);
	pthread_mutex_unlock(&io->mu);
}

void iothread_destroy(struct iothread *io)
{
	unsigned i;

	if (!io)
		return;
	iothread_stop(io);
	for (i = 0; i < io->nwatches; i++)
		free(io->watches[i]);
	for (i = 0; i < io->ntimers; i++)
		free(io->timers[i]);
	/* Their owners freed them (device_destroy); what is left is a leak. */
	free(io->workers);
	free(io->watches);
	free(io->timers);
	free(io->pfds);
	free(io->snap);
	close(io->kick_rd);
	close(io->kick_wr);
	pthread_cond_destroy(&io->cb_done);
	pthread_mutex_destroy(&io->mu);
	free(io);
}

static struct io_watch *find_watch_locked(struct iothread *io, int fd)
{
	unsigned i;

	for (i = 0; i < io->nwatches; i++)
		if (io->watches[i]->fd == fd && !io->watches[i]->dead)
			return io->watches[i];
	return NULL;
}

int iothread_watch(struct iothread *io, int fd, unsigned events, avmm_io_fn fn, void *opaque,
		   pthread_mutex_t *lock)
{
	struct io_watch *w;

	if (!io || fd < 0 || !fn || (events & ~(AVMM_IO_IN | AVMM_IO_OUT)))
		return -EINVAL;
#ifdef IO_USE_SELECT
	if (fd >= FD_SETSIZE)
		return -EMFILE; /* select() cannot wait for it */
#endif
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct io_watch){ .fd = fd, .events = events, .fn = fn, .opaque = opaque,
				.lock = lock };

	pthread_mutex_lock(&io->mu);
	if (find_watch_locked(io, fd)) {
		pthread_mutex_unlock(&io->mu);
		free(w);
		return -EEXIST;
	}
	if (io->nwatches == io->cap_watches) {
		unsigned cap = io->cap_watches ? io->cap_watches * 2 : 8;
		struct io_watch **nw = realloc(io->watches, cap * sizeof(*nw));

		if (!nw) {
			pthread_mutex_unlock(&io->mu);
			free(w);
			return -ENOMEM;
		}
		io->watches = nw;
		io->cap_watches = cap;
	}
	io->watches[io->nwatches++] = w;
	kick_locked(io);
	pthread_mutex_unlock(&io->mu);
	return 0;
}

int iothread_watch_update(struct iothread *io, int fd, unsigned events)
{
	struct io_watch *w;

	if (!io || (events & ~(AVMM_IO_IN | AVMM_IO_OUT)))
		return -EINVAL;
	pthread_mutex_lock(&io->mu);
	w = find_watch_locked(io, fd);
	if (!w) {
		pthread_mutex_unlock(&io->mu);
		return -ENOENT;
	}
	if (w->events != events) {
		w->events = events;
		kick_locked(io);
	}
	pthread_mutex_unlock(&io->mu);
	return 0;
}

int iothread_unwatch(struct iothread *io, int fd)
{
	struct io_watch *w;

	if (!io)
		return -EINVAL;
	pthread_mutex_lock(&io->mu);
	w = find_watch_locked(io, fd);
	if (!w) {
		pthread_mutex_unlock(&io->mu);
		return -ENOENT;
	}
	/* Dead first, so the loop cannot pick it again while we wait. */
	mark_dead_locked(io, &w->dead);
	wait_not_running_locked(io, w);
	/* Drop the fd from the poll set: the caller may close it next. */
	kick_locked(io);
	pthread_mutex_unlock(&io->mu);
	return 0;
}

int iothread_timer_new(struct iothread *io, avmm_timer_fn fn, void *opaque,
		       pthread_mutex_t *lock, struct avmm_timer **timer)
{
	struct avmm_timer *t;

	if (!io || !fn || !timer)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct avmm_timer){ .io = io, .fn = fn, .opaque = opaque, .lock = lock };

	pthread_mutex_lock(&io->mu);
	if (io->ntimers == io->cap_timers) {
		unsigned cap = io->cap_timers ? io->cap_timers * 2 : 8;
		struct avmm_timer **nt = realloc(io->timers, cap * sizeof(*nt));

		if (!nt) {
			pthread_mutex_unlock(&io->mu);
			free(t);
			return -ENOMEM;
		}
		io->timers = nt;
		io->cap_timers = cap;
	}
	io->timers[io->ntimers++] = t;
	pthread_mutex_unlock(&io->mu);
	*timer = t;
	return 0;
}

void iothread_timer_mod(struct avmm_timer *t, uint64_t deadline_ns)
{
	struct iothread *io;

	if (!t)
		return;
	io = t->io;
	pthread_mutex_lock(&io->mu);
	if (!t->dead) {
		t->deadline = deadline_ns;
		t->armed = true;
		/* Later than what the loop sleeps towards: it will look again then. */
		if (deadline_ns < io->sleep_until)
			kick_locked(io);
	}
	pthread_mutex_unlock(&io->mu);
}

void iothread_timer_del(struct avmm_timer *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->io->mu);
	/* No kick: an early wake-up with nothing due is harmless. */
	t->armed = false;
	pthread_mutex_unlock(&t->io->mu);
}

void iothread_timer_free(struct avmm_timer *t)
{
	struct iothread *io;

	if (!t)
		return;
	io = t->io;
	pthread_mutex_lock(&io->mu);
	if (!t->dead) {
		t->armed = false;
		mark_dead_locked(io, &t->dead);
		wait_not_running_locked(io, t);
	}
	pthread_mutex_unlock(&io->mu);
}

pthread_mutex_t *iothread_timer_lock(const struct avmm_timer *t)
{
	/* Set once at creation and never changed: no io->mu needed. */
	return t ? t->lock : NULL;
}

void iothread_kick(struct iothread *io)
{
	if (!io)
		return;
	pthread_mutex_lock(&io->mu);
	kick_locked(io);
	pthread_mutex_unlock(&io->mu);
}

/* ---- workers ---- */

/* The worker whose thread this is (NULL on every other thread). */
static _Thread_local const struct avmm_worker *current_worker;

static void *worker_main(void *arg)
{
	struct avmm_worker *w = arg;

	current_worker = w;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->pending && !w->stop)
			pthread_cond_wait(&w->cond, &w->mu);
		if (w->stop)
			break;
		/* Cleared before the call: a kick during fn runs it once more. */
		w->pending = false;
		pthread_mutex_unlock(&w->mu);
		w->fn(w->opaque);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int iothread_worker_new(struct iothread *io, avmm_worker_fn fn, void *opaque, void *owner,
			struct avmm_worker **out)
{
	struct avmm_worker *w;
	int rc;

	if (!fn || !out)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct avmm_worker){.io = io, .fn = fn, .opaque = opaque, .owner = owner};
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_mutex_lock(&io->mu);
	if (io->nworkers == io->cap_workers) {
		unsigned cap = io->cap_workers ? 2 * io->cap_workers : 8;
		struct avmm_worker **v = realloc(io->workers, cap * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&io->mu);
			rc = -ENOMEM;
			goto fail;
		}
		io->workers = v;
		io->cap_workers = cap;
	}
	if (io->workers_stopped) {
		/* Created after the stop (teardown): it never runs. */
		w->stop = true;
		w->joined = true;
	} else {
		rc = thread_start(&w->thread, worker_main, w);
		if (rc) {
			pthread_mutex_unlock(&io->mu);
			goto fail;
		}
	}
	io->workers[io->nworkers++] = w;
	pthread_mutex_unlock(&io->mu);
	*out = w;
	return 0;
fail:
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return rc;
}

void iothread_worker_kick(struct avmm_worker *w)
{
	pthread_mutex_lock(&w->mu);
	if (!w->stop && !w->pending) {
		w->pending = true;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
}

bool iothread_on_worker(const struct avmm_worker *w)
{
	return w && current_worker == w;
}

int iothread_worker_free(struct avmm_worker *w)
{
	struct iothread *io;

	if (!w)
		return 0;
	/* Joining itself would never return. */
	if (iothread_on_worker(w))
		return -EDEADLK;
	io = w->io;
	worker_stop_join(w);
	pthread_mutex_lock(&io->mu);
	for (unsigned i = 0; i < io->nworkers; i++) {
		if (io->workers[i] == w) {
			io->workers[i] = io->workers[--io->nworkers];
			break;
		}
	}
	pthread_mutex_unlock(&io->mu);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return 0;
}

const struct avmm_worker *iothread_current_worker(void)
{
	return current_worker;
}

void *iothread_worker_owner(const struct avmm_worker *w)
{
	return w ? w->owner : NULL;
}
