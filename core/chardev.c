/* SPDX-License-Identifier: MIT */
/*
 * Character backends.  Input is read on the I/O thread only while the device
 * says it has room (can_receive() > 0): when it reports 0 the input watch is
 * paused until chardev_accept_input(), so a full device never makes the loop
 * spin.
 *
 * Output never waits: chardev_write() runs on a vCPU with the device lock
 * held, and the I/O thread needs that lock for the device's input and timers.
 * What does not go out at once is queued (bounded; beyond the bound output is
 * dropped and counted) and flushed by the I/O thread when the fd is writable.
 * How a write is kept from blocking depends on what the fd is:
 *  - our own fd (a unix client, or the terminal re-opened by name): it is
 *    non-blocking.
 *  - a pipe, socket or terminal we share with the parent (stdout | tee): we
 *    must not set O_NONBLOCK on it (it is usually the same open file as
 *    stderr and the shell's), so each write is gated by a poll with no
 *    timeout and is at most a chunk that then cannot block (PIPE_BUF).
 *  - a regular file or device: plain write(), it does not block for long.
 * A stalled reader thus costs queue space, never time: console output is kept
 * whenever the reader keeps up, and the guest never waits for it.
 *
 * Locking: `chr->lock` nests inside the device lock and outside the I/O
 * thread's; it is never held while calling the device's handlers.
 */
#include "chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "iothread.h"
#include "log.h"

#define CHR_OUTQ_SIZE (64u * 1024)
#define CHR_RX_CHUNK 256
#define CHR_CLOSE_DRAIN_MS 200 /* what close spends flushing queued output */
#define CHR_ESC 0x01          /* Ctrl-A */

enum chr_kind { CHR_NULL, CHR_FILE, CHR_STDIO, CHR_UNIX };

enum chr_out_mode {
	OUT_NONE,  /* output dropped */
	OUT_PLAIN, /* regular file or device */
	OUT_SHARED, /* shared blocking pipe/socket/terminal: poll-gated chunks, queued */
	OUT_QUEUE,  /* our own non-blocking fd, queued */
};

struct avmm_chr {
	enum chr_kind kind;
	struct iothread *io;
	pthread_mutex_t *devlock;
	pthread_mutex_t lock;
	bool closing;

	struct avmm_chr_handlers h;
	void *opaque;
	bool have_handlers;

	int in_fd;  /* -1: no (more) input */
	int out_fd; /* -1: output dropped */
	enum chr_out_mode out_mode;
	size_t out_chunk;  /* OUT_SHARED: largest write that cannot block */
	bool out_watch;    /* out_fd has a watch of its own (not in_fd's) */
	bool out_broken;   /* the output fd failed: drop from now on */
	bool out_sock;     /* send() with MSG_NOSIGNAL */
	int own_fd;        /* file, or the re-opened terminal: closed by us */

	/* unix: */
	int listen_fd;
	int client_fd;
	bool client_gone; /* a write failed: disconnect on the I/O thread */
	char *path;
	dev_t sock_dev;
	ino_t sock_ino;

	/* receive side; stash/esc are touched on the I/O thread only */
	bool rx_paused;
	bool rx_stash_pending; /* paused with stashed bytes: need the timer */
	uint64_t rx_gen;       /* bumped by every accept_input */
	bool escapes;
	bool esc;
	uint8_t stash[2];
	size_t stash_len;
	struct avmm_timer *rx_timer;

	/* OUT_SHARED and OUT_QUEUE ring */
	uint8_t *oq;
	size_t oq_head, oq_len;
	uint64_t dropped;
};

/* ---- process-wide stdio state ------------------------------------------- */

static pthread_mutex_t stdio_mu = PTHREAD_MUTEX_INITIALIZER;
static bool stdio_busy;
static bool check_only; /* --check: validate specs, open nothing */
static void (*quit_fn)(void *opaque);
static void *quit_opaque;

/* Read from signal handlers: plain data set before raw mode is entered. */
static struct termios stdio_saved_tio;
static int stdio_tty_fd = -1;
static volatile sig_atomic_t stdio_tio_active;

static const int stdio_signals[] = { SIGTERM, SIGHUP, SIGQUIT, SIGINT, SIGSEGV,
				     SIGBUS,  SIGFPE, SIGILL,  SIGABRT };
#define NR_STDIO_SIGNALS (sizeof(stdio_signals) / sizeof(stdio_signals[0]))
static struct sigaction stdio_old_sa[NR_STDIO_SIGNALS];
static bool stdio_sa_installed[NR_STDIO_SIGNALS];
static pthread_once_t stdio_atexit_once = PTHREAD_ONCE_INIT;

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

void chardev_restore_terminal(void)
{
	/* Only tcsetattr(): async-signal-safe, and harmless if repeated. */
	if (stdio_tio_active) {
		stdio_tio_active = 0;
		tcsetattr(stdio_tty_fd, TCSANOW, &stdio_saved_tio);
	}
}

static void stdio_fatal_signal(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	chardev_restore_terminal();
	/* Die of the same signal: it is blocked here, so it lands on return. */
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void stdio_atexit(void)
{
	chardev_restore_terminal();
}

static void stdio_register_atexit(void)
{
	atexit(stdio_atexit);
}

/* Only take over signals nobody handles: a core handler keeps precedence. */
static void stdio_install_signals(void)
{
	struct sigaction sa = { .sa_handler = stdio_fatal_signal };
	unsigned i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NR_STDIO_SIGNALS; i++) {
		struct sigaction old;

		if (sigaction(stdio_signals[i], NULL, &old) < 0)
			continue;
		if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
			continue;
		if (sigaction(stdio_signals[i], &sa, NULL) == 0) {
			stdio_old_sa[i] = old;
			stdio_sa_installed[i] = true;
		}
	}
}

static void stdio_remove_signals(void)
{
	unsigned i;

	for (i = 0; i < NR_STDIO_SIGNALS; i++) {
		struct sigaction cur;

		if (!stdio_sa_installed[i])
			continue;
		stdio_sa_installed[i] = false;
		if (sigaction(stdio_signals[i], NULL, &cur) == 0 &&
		    !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == stdio_fatal_signal)
			sigaction(stdio_signals[i], &stdio_old_sa[i], NULL);
	}
}

/*
 * Raw input like QEMU's stdio: no echo, no line editing, no signals (Ctrl-C
 * goes to the guest; Ctrl-A x quits), 8-bit clean.  c_oflag is left alone:
 * keeping OPOST/ONLCR means our own "\n"-terminated messages on stderr and
 * guests that print a bare LF still render, at the cost of a harmless extra
 * CR after guests that send CRLF.
 */
static void stdio_make_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &stdio_saved_tio) < 0)
		return;
	t = stdio_saved_tio;
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;

	pthread_once(&stdio_atexit_once, stdio_register_atexit);
	stdio_tty_fd = fd;
	/* Active before the switch: a signal in between restores a no-op. */
	stdio_tio_active = 1;
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		stdio_tio_active = 0;
		return;
	}
	stdio_install_signals();
}

void chardev_set_check_only(bool on)
{
	pthread_mutex_lock(&stdio_mu);
	check_only = on;
	pthread_mutex_unlock(&stdio_mu);
}

static bool chr_check_only(void)
{
	bool on;

	pthread_mutex_lock(&stdio_mu);
	on = check_only;
	pthread_mutex_unlock(&stdio_mu);
	return on;
}

void chardev_set_quit_handler(void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&stdio_mu);
	quit_fn = fn;
	quit_opaque = opaque;
	pthread_mutex_unlock(&stdio_mu);
}

static void chr_call_quit(void)
{
	void (*fn)(void *opaque);
	void *opaque;

	pthread_mutex_lock(&stdio_mu);
	fn = quit_fn;
	opaque = quit_opaque;
	pthread_mutex_unlock(&stdio_mu);
	if (fn)
		fn(opaque);
	else
		kill(getpid(), SIGTERM); /* nobody to ask: terminate like a kill */
}

static void chr_print_help(void)
{
	static const char help[] = "\n"
				   "C-a h    print this help\n"
				   "C-a x    exit avmm\n"
				   "C-a C-a  send C-a to the guest\n";

	if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0) {
		/* nothing sensible to do */
	}
}

/* ---- watches ------------------------------------------------------------ */

static bool chr_out_queued(const struct avmm_chr *chr)
{
	return chr->out_mode == OUT_QUEUE || chr->out_mode == OUT_SHARED;
}

/* The I/O thread flushes the queue when out_fd is writable. */
static bool chr_out_flusher(const struct avmm_chr *chr)
{
	return chr->io && (chr->out_watch || chr->kind == CHR_UNIX);
}

static void chr_update_watches_locked(struct avmm_chr *chr)
{
	unsigned in = 0, out = 0;

	if (!chr->io || chr->closing)
		return;
	if (chr->in_fd >= 0 && ((chr->have_handlers && !chr->rx_paused) || chr->client_gone))
		in = AVMM_IO_IN;
	if (chr_out_queued(chr) && chr->out_fd >= 0 && chr->oq_len)
		out = AVMM_IO_OUT;

	if (chr->in_fd >= 0 && chr->in_fd == chr->out_fd) {
		iothread_watch_update(chr->io, chr->in_fd, in | out);
	} else {
		if (chr->in_fd >= 0)
			iothread_watch_update(chr->io, chr->in_fd, in);
		if (chr->out_watch)
			iothread_watch_update(chr->io, chr->out_fd, out);
	}
	/* One client at a time: later ones wait in the backlog. */
	if (chr->listen_fd >= 0)
		iothread_watch_update(chr->io, chr->listen_fd, chr->client_fd < 0 ? AVMM_IO_IN : 0);
}

/* ---- output ------------------------------------------------------------- */

/*
 * Wait up to `ms` for fd to take output: 1 ready, 0 timeout, -1 error (errno
 * set).  macOS poll() rejects terminals (POLLNVAL), so select() there.
 */
static int chr_wait_writable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;

#if defined(__APPLE__) || defined(AVMM_IOTHREAD_SELECT)
	if (fd < FD_SETSIZE) {
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
		fd_set w;

		FD_ZERO(&w);
		FD_SET(fd, &w);
		return select(fd + 1, NULL, &w, NULL, &tv);
	}
#endif
	r = poll(&p, 1, ms);
	if (r > 0 && (p.revents & (POLLERR | POLLNVAL))) {
		/* No reader (or no fd): writing would only raise SIGPIPE. */
		errno = p.revents & POLLNVAL ? EBADF : EPIPE;
		return -1;
	}
	return r;
}

/*
 * One write that cannot block: returns the bytes written, or -1 with errno
 * (EAGAIN when the fd has no room now).  A shared fd stays blocking, so it is
 * written only when a poll without timeout says it has room, and then at most
 * out_chunk bytes, which a pipe takes whole once writable.
 */
static ssize_t chr_write_some(struct avmm_chr *chr, const void *buf, size_t len)
{
	if (chr->out_mode == OUT_SHARED) {
		int r = chr_wait_writable(chr->out_fd, 0);

		if (r <= 0) {
			if (r == 0)
				errno = EAGAIN;
			return -1;
		}
		len = min_sz(len, chr->out_chunk);
	}
	if (chr->out_sock) {
#ifdef MSG_NOSIGNAL
		return send(chr->out_fd, buf, len, MSG_NOSIGNAL);
#else
		return send(chr->out_fd, buf, len, 0); /* SO_NOSIGPIPE is set */
#endif
	}
	return write(chr->out_fd, buf, len);
}

static void chr_out_failed_locked(struct avmm_chr *chr)
{
	chr->dropped += chr->oq_len;
	chr->oq_head = chr->oq_len = 0;
	if (chr->kind == CHR_UNIX)
		chr->client_gone = true; /* the I/O thread disconnects it */
	else
		chr->out_broken = true;
	chr_update_watches_locked(chr);
}

/*
 * Write from buf until the fd has no room: returns the bytes written, or -1
 * when the fd failed (already handled by chr_out_failed_locked).
 */
static ssize_t chr_write_room_locked(struct avmm_chr *chr, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = chr_write_some(chr, buf + done, len - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			chr_out_failed_locked(chr);
			return -1;
		}
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static void chr_flush_locked(struct avmm_chr *chr)
{
	while (chr->oq_len && chr->out_fd >= 0) {
		size_t n = min_sz(chr->oq_len, CHR_OUTQ_SIZE - chr->oq_head);
		ssize_t r = chr_write_room_locked(chr, chr->oq + chr->oq_head, n);

		if (r <= 0)
			break;
		chr->oq_head = (chr->oq_head + (size_t)r) % CHR_OUTQ_SIZE;
		chr->oq_len -= (size_t)r;
		if ((size_t)r < n)
			break; /* no more room */
	}
	if (!chr->oq_len)
		chr->oq_head = 0;
	chr_update_watches_locked(chr);
}

static ssize_t chr_write_queue_locked(struct avmm_chr *chr, const uint8_t *buf, size_t len)
{
	size_t taken = 0, tail, n;

	/* Without a watch nobody else flushes: do it before queueing more. */
	if (chr->oq_len && !chr_out_flusher(chr))
		chr_flush_locked(chr);
	if (!chr->oq_len) {
		ssize_t r = chr_write_room_locked(chr, buf, len);

		if (r < 0) /* A vanished unix client is "no client": dropped, not failed. */
			return chr->kind == CHR_UNIX ? (ssize_t)len : -EIO;
		taken = (size_t)r;
	}
	/* Queue what did not fit, in at most two pieces around the ring end. */
	n = chr->oq ? min_sz(len - taken, CHR_OUTQ_SIZE - chr->oq_len) : 0;
	tail = (chr->oq_head + chr->oq_len) % CHR_OUTQ_SIZE;
	if (n) {
		size_t first = min_sz(n, CHR_OUTQ_SIZE - tail);

		memcpy(chr->oq + tail, buf + taken, first);
		memcpy(chr->oq, buf + taken + first, n - first);
		chr->oq_len += n;
		taken += n;
		chr_update_watches_locked(chr);
	}
	chr->dropped += len - taken;
	return (ssize_t)taken;
}

static ssize_t chr_write_plain_locked(struct avmm_chr *chr, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(chr->out_fd, buf + done, len - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* Someone else made it non-blocking: drop, never wait. */
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				chr->dropped += len - done;
				break;
			}
			return done ? (ssize_t)done : -errno;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

ssize_t chardev_write(struct avmm_chr *chr, const void *buf, size_t len)
{
	ssize_t ret;

	if (!chr || (!buf && len))
		return -EINVAL;
	if (!len)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;

	pthread_mutex_lock(&chr->lock);
	if (chr->out_fd < 0 || chr->client_gone) {
		ret = (ssize_t)len; /* null backend, or no client: dropped by design */
	} else if (chr->out_broken) {
		ret = -EIO;
	} else {
		switch (chr->out_mode) {
		case OUT_QUEUE:
		case OUT_SHARED:
			ret = chr_write_queue_locked(chr, buf, len);
			break;
		case OUT_PLAIN:
			ret = chr_write_plain_locked(chr, buf, len);
			break;
		default:
			ret = (ssize_t)len;
			break;
		}
	}
	pthread_mutex_unlock(&chr->lock);
	return ret;
}

/* ---- input -------------------------------------------------------------- */

/* Called on the I/O thread only. */
static void chr_disconnect_locked(struct avmm_chr *chr)
{
	if (chr->client_fd < 0)
		return;
	iothread_unwatch(chr->io, chr->client_fd);
	close(chr->client_fd);
	chr->client_fd = chr->in_fd = chr->out_fd = -1;
	chr->dropped += chr->oq_len;
	chr->oq_head = chr->oq_len = 0;
	chr->client_gone = false;
	chr->rx_paused = false;
	chr->rx_stash_pending = false;
	chr->stash_len = 0;
	chr->esc = false;
	chr_update_watches_locked(chr);
}

static void chr_input_ended(struct avmm_chr *chr)
{
	pthread_mutex_lock(&chr->lock);
	if (chr->kind == CHR_UNIX) {
		chr_disconnect_locked(chr);
	} else if (chr->in_fd >= 0) {
		/* EOF on a pipe or file stays readable: stop watching it. */
		iothread_unwatch(chr->io, chr->in_fd);
		chr->in_fd = -1;
	}
	pthread_mutex_unlock(&chr->lock);
}

/*
 * The device reported no room: pause reading, unless accept_input() ran since
 * we sampled `gen` (then the caller asks again).
 */
static bool chr_rx_pause(struct avmm_chr *chr, uint64_t *gen)
{
	bool paused = false;

	pthread_mutex_lock(&chr->lock);
	if (*gen == chr->rx_gen) {
		chr->rx_paused = true;
		chr->rx_stash_pending = chr->stash_len != 0;
		chr_update_watches_locked(chr);
		paused = true;
	}
	*gen = chr->rx_gen;
	pthread_mutex_unlock(&chr->lock);
	return paused;
}

static size_t chr_rx_stash(struct avmm_chr *chr, const struct avmm_chr_handlers *h,
			   void *opaque, size_t room)
{
	size_t k = min_sz(room, chr->stash_len);

	if (!k)
		return 0;
	h->receive(opaque, chr->stash, k);
	memmove(chr->stash, chr->stash + k, chr->stash_len - k);
	chr->stash_len -= k;
	return k;
}

/* Ctrl-A handling; `out` has room for n + 1 bytes. */
static size_t chr_unescape(struct avmm_chr *chr, const uint8_t *in, size_t n, uint8_t *out,
			   bool *quit, bool *help)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (!chr->esc) {
			if (c == CHR_ESC)
				chr->esc = true;
			else
				out[o++] = c;
			continue;
		}
		chr->esc = false;
		switch (c) {
		case 'x':
			*quit = true;
			break;
		case 'h':
			*help = true;
			break;
		case CHR_ESC:
			out[o++] = CHR_ESC;
			break;
		default:
			out[o++] = CHR_ESC;
			out[o++] = c;
			break;
		}
	}
	return o;
}

/*
 * Move input to the device; I/O thread only, device lock held.  With
 * `may_read` false (the stash timer) only stashed bytes are delivered.
 */
static void chr_rx(struct avmm_chr *chr, bool may_read)
{
	uint8_t in[CHR_RX_CHUNK], out[CHR_RX_CHUNK + 1];
	struct avmm_chr_handlers h;
	bool quit = false, help = false;
	size_t room, want, n_out, k;
	void *opaque;
	uint64_t gen;
	ssize_t n;
	int fd;

	pthread_mutex_lock(&chr->lock);
	if (chr->closing) {
		pthread_mutex_unlock(&chr->lock);
		return;
	}
	if (chr->client_gone) {
		chr_disconnect_locked(chr);
		pthread_mutex_unlock(&chr->lock);
		return;
	}
	if (!chr->have_handlers) {
		pthread_mutex_unlock(&chr->lock);
		return;
	}
	h = chr->h;
	opaque = chr->opaque;
	gen = chr->rx_gen;
	fd = chr->in_fd;
	pthread_mutex_unlock(&chr->lock);

	while (!(room = h.can_receive(opaque)))
		if (chr_rx_pause(chr, &gen))
			return;
	room -= chr_rx_stash(chr, &h, opaque, room);
	if (chr->stash_len || !room || !may_read || fd < 0)
		goto settle;

	/* A pending Ctrl-A may expand to two bytes: keep room for it. */
	want = chr->esc && room > 1 ? room - 1 : room;
	n = read(fd, in, min_sz(want, sizeof(in)));
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		chr_input_ended(chr);
		return;
	}
	if (chr->escapes) {
		n_out = chr_unescape(chr, in, (size_t)n, out, &quit, &help);
	} else {
		memcpy(out, in, (size_t)n);
		n_out = (size_t)n;
	}
	k = min_sz(n_out, room);
	if (k)
		h.receive(opaque, out, k);
	/* At most one byte: a room of 1 with a pending Ctrl-A. */
	memcpy(chr->stash, out + k, n_out - k);
	chr->stash_len = n_out - k;
	if (help)
		chr_print_help();
	if (quit)
		chr_call_quit();

settle:
	/* Stashed bytes get no fd event: deliver them or pause on a full device. */
	while (chr->stash_len) {
		room = h.can_receive(opaque);
		if (!room) {
			if (chr_rx_pause(chr, &gen))
				return;
			continue;
		}
		chr_rx_stash(chr, &h, opaque, room);
	}
}

static void chr_rx_timer(void *opaque)
{
	chr_rx(opaque, false);
}

static void chr_fd_ready(void *opaque, int fd, unsigned revents);

static void chr_accept(struct avmm_chr *chr)
{
	int fd = accept(chr->listen_fd, NULL, NULL);

	if (fd < 0)
		return;
	if (set_nonblock_cloexec(fd) < 0) {
		close(fd);
		return;
	}
#ifdef SO_NOSIGPIPE
	{
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
	}
#endif
	pthread_mutex_lock(&chr->lock);
	if (chr->closing || chr->client_fd >= 0 ||
	    iothread_watch(chr->io, fd, 0, chr_fd_ready, chr, chr->devlock) < 0) {
		pthread_mutex_unlock(&chr->lock);
		close(fd);
		return;
	}
	chr->client_fd = chr->in_fd = chr->out_fd = fd;
	chr->oq_head = chr->oq_len = 0;
	chr->client_gone = false;
	chr->rx_paused = false;
	chr_update_watches_locked(chr);
	pthread_mutex_unlock(&chr->lock);
}

static void chr_fd_ready(void *opaque, int fd, unsigned revents)
{
	struct avmm_chr *chr = opaque;
	bool is_in, is_out;

	if (fd == chr->listen_fd) {
		chr_accept(chr);
		return;
	}
	pthread_mutex_lock(&chr->lock);
	is_in = fd == chr->in_fd;
	is_out = fd == chr->out_fd && chr_out_queued(chr);
	if (is_out && (revents & (AVMM_IO_OUT | AVMM_IO_ERR)) && !chr->closing)
		chr_flush_locked(chr);
	pthread_mutex_unlock(&chr->lock);
	/* ERR too: read() then tells data, EOF or the error apart. */
	if (is_in && (revents & (AVMM_IO_IN | AVMM_IO_ERR)))
		chr_rx(chr, true);
}

static void chr_resume_locked(struct avmm_chr *chr)
{
	chr->rx_gen++;
	if (!chr->rx_paused)
		return;
	chr->rx_paused = false;
	chr_update_watches_locked(chr);
	/* Stashed bytes come with no fd event: the timer delivers them. */
	if (chr->rx_stash_pending && chr->rx_timer && !chr->closing)
		iothread_timer_mod(chr->rx_timer, 0);
	chr->rx_stash_pending = false;
}

void chardev_accept_input(struct avmm_chr *chr)
{
	if (!chr)
		return;
	pthread_mutex_lock(&chr->lock);
	chr_resume_locked(chr);
	pthread_mutex_unlock(&chr->lock);
}

int chardev_set_handlers(struct avmm_chr *chr, const struct avmm_chr_handlers *h, void *opaque)
{
	size_t need = offsetof(struct avmm_chr_handlers, receive) + sizeof(h->receive);

	if (!chr)
		return -EINVAL;
	if (h && (h->struct_size < need || !h->can_receive || !h->receive))
		return -EINVAL;
	pthread_mutex_lock(&chr->lock);
	memset(&chr->h, 0, sizeof(chr->h));
	if (h)
		memcpy(&chr->h, h, min_sz(h->struct_size, sizeof(chr->h)));
	chr->h.struct_size = sizeof(chr->h);
	chr->opaque = opaque;
	chr->have_handlers = h != NULL;
	chr_resume_locked(chr);
	chr_update_watches_locked(chr);
	pthread_mutex_unlock(&chr->lock);
	return 0;
}

/* ---- backends ----------------------------------------------------------- */

static int chr_alloc_queue(struct avmm_chr *chr)
{
	chr->oq = malloc(CHR_OUTQ_SIZE);
	return chr->oq ? 0 : -ENOMEM;
}

/*
 * Without creating anything: would `path` be created (or, existing, written)?
 * The messages are those the real open or bind would give.
 */
static int check_creatable(const char *path, const char *verb, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int ret;

	if (!access(path, F_OK)) {
		if (!strcmp(verb, "bind")) {
			struct stat st;

			/* A stale socket (a live one is refused before) is replaced. */
			if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
				return 0;
			errno = EADDRINUSE;
		} else if (!access(path, W_OK)) {
			return 0;
		}
		ret = -errno;
		log_errbuf(err, errlen, "cannot %s '%s': %s", verb, path, strerror(errno));
		return ret;
	}
	dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	ret = access(dir, W_OK | X_OK) ? -errno : 0;
	free(dir);
	if (ret)
		log_errbuf(err, errlen, "cannot %s '%s': %s", verb, path, strerror(-ret));
	return ret;
}

static int open_file(struct avmm_chr *chr, const char *path, char *err, size_t errlen)
{
	int ret;

	if (!*path) {
		log_errbuf(err, errlen, "file: needs a path");
		return -EINVAL;
	}
	if (chr_check_only())
		return check_creatable(path, "open", err, errlen);
	/* Truncate, like QEMU's file backend: one run, one log. */
	chr->own_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (chr->own_fd < 0) {
		ret = -errno;
		log_errbuf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return ret;
	}
	chr->out_fd = chr->own_fd;
	chr->out_mode = OUT_PLAIN;
	return 0;
}

static int stdio_setup_output(struct avmm_chr *chr)
{
	struct stat st;
	char name[256];
	int ret;

	if (isatty(STDOUT_FILENO)) {
		ret = chr_alloc_queue(chr);
		if (ret)
			return ret;
		/*
		 * A private open file of the same terminal can be non-blocking
		 * without touching the one shared with stderr and the shell.
		 */
		if (chr->io && ttyname_r(STDOUT_FILENO, name, sizeof(name)) == 0) {
			int fd = open(name, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

			if (fd >= 0 && iothread_watch(chr->io, fd, 0, chr_fd_ready, chr,
						      chr->devlock) == 0) {
				chr->own_fd = chr->out_fd = fd;
				chr->out_mode = OUT_QUEUE;
				chr->out_watch = true;
				return 0;
			}
			if (fd >= 0)
				close(fd);
		}
		chr->out_chunk = 64; /* a terminal takes this much once writable */
	} else {
		if (fstat(STDOUT_FILENO, &st) < 0)
			return 0; /* stdout closed: output dropped */
		if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			chr->out_fd = STDOUT_FILENO;
			chr->out_mode = OUT_PLAIN;
			return 0;
		}
		ret = chr_alloc_queue(chr);
		if (ret)
			return ret;
		chr->out_chunk = PIPE_BUF;
	}
	chr->out_fd = STDOUT_FILENO;
	chr->out_mode = OUT_SHARED;
	/* Paused until something is queued; without it, writes flush the queue. */
	if (chr->io && iothread_watch(chr->io, STDOUT_FILENO, 0, chr_fd_ready, chr,
				      chr->devlock) == 0)
		chr->out_watch = true;
	return 0;
}

static int open_stdio(struct avmm_chr *chr, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&stdio_mu);
	if (stdio_busy) {
		pthread_mutex_unlock(&stdio_mu);
		log_errbuf(err, errlen, "stdio is already used by another device");
		return -EBUSY;
	}
	stdio_busy = true;
	pthread_mutex_unlock(&stdio_mu);

	if (chr_check_only())
		return 0; /* the terminal is left as it is */
	chr->escapes = true;
	ret = stdio_setup_output(chr);
	if (ret) {
		log_errbuf(err, errlen, "stdio: %s", strerror(-ret));
		return ret;
	}

	if (!chr->io || fcntl(STDIN_FILENO, F_GETFL) < 0)
		return 0; /* output only */
	ret = iothread_timer_new(chr->io, chr_rx_timer, chr, chr->devlock, &chr->rx_timer);
	if (!ret)
		ret = iothread_watch(chr->io, STDIN_FILENO, 0, chr_fd_ready, chr, chr->devlock);
	if (ret) {
		log_errbuf(err, errlen, "cannot watch stdin: %s", strerror(-ret));
		return ret;
	}
	chr->in_fd = STDIN_FILENO;
	if (isatty(STDIN_FILENO))
		stdio_make_raw(STDIN_FILENO);
	return 0;
}

/*
 * An existing socket file nobody listens on is stale and may go (unless
 * `keep`: --check only tells whether bind() would get the path).
 */
static int unix_clear_stale(const struct sockaddr_un *sa, bool keep, char *err, size_t errlen)
{
	struct stat st;
	int fd, r, e;

	if (lstat(sa->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0; /* absent, or not ours to remove: bind() reports it */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	set_nonblock_cloexec(fd);
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS) {
		log_errbuf(err, errlen, "'%s' is in use by another listener", sa->sun_path);
		return -EADDRINUSE;
	}
	if (e == ECONNREFUSED && !keep)
		unlink(sa->sun_path);
	return 0;
}

static int open_unix(struct avmm_chr *chr, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int ret;

	if (!*path) {
		log_errbuf(err, errlen, "unix: needs a path");
		return -EINVAL;
	}
	if (!chr->io) {
		log_errbuf(err, errlen, "unix: needs the I/O thread");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_errbuf(err, errlen, "socket path '%s' is longer than %zu bytes", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (chr_check_only()) {
		ret = unix_clear_stale(&sa, true, err, errlen);
		return ret ? ret : check_creatable(path, "bind", err, errlen);
	}
	ret = chr_alloc_queue(chr);
	if (ret)
		return ret;
	ret = unix_clear_stale(&sa, false, err, errlen);
	if (ret)
		return ret;

	chr->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (chr->listen_fd < 0 || set_nonblock_cloexec(chr->listen_fd) < 0) {
		ret = -errno;
		log_errbuf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	if (bind(chr->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		log_errbuf(err, errlen, "cannot bind '%s': %s", path, strerror(errno));
		close(chr->listen_fd);
		chr->listen_fd = -1;
		return ret;
	}
	chr->path = strdup(path);
	if (stat(path, &st) == 0) {
		chr->sock_dev = st.st_dev;
		chr->sock_ino = st.st_ino;
	}
	if (listen(chr->listen_fd, 1) < 0) {
		ret = -errno;
		log_errbuf(err, errlen, "cannot listen on '%s': %s", path, strerror(errno));
		return ret;
	}
	ret = iothread_watch(chr->io, chr->listen_fd, AVMM_IO_IN, chr_fd_ready, chr, chr->devlock);
	if (ret) {
		log_errbuf(err, errlen, "cannot watch '%s': %s", path, strerror(-ret));
		close(chr->listen_fd);
		chr->listen_fd = -1;
		return ret;
	}
	chr->out_mode = OUT_QUEUE;
	chr->out_sock = true;
	return 0;
}

int chardev_open(struct iothread *io, const char *spec, pthread_mutex_t *lock,
		 struct avmm_chr **out, char *err, size_t errlen)
{
	struct avmm_chr *chr;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!spec || !out) {
		log_errbuf(err, errlen, "no character backend given");
		return -EINVAL;
	}
	chr = calloc(1, sizeof(*chr));
	if (!chr) {
		log_errbuf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&chr->lock, NULL);
	chr->io = io;
	chr->devlock = lock;
	chr->in_fd = chr->out_fd = chr->own_fd = -1;
	chr->listen_fd = chr->client_fd = -1;
	chr->out_mode = OUT_NONE;

	if (!strcmp(spec, "null")) {
		chr->kind = CHR_NULL;
		ret = 0;
	} else if (!strcmp(spec, "stdio")) {
		chr->kind = CHR_STDIO;
		ret = open_stdio(chr, err, errlen);
		if (ret == -EBUSY) {
			chr->kind = CHR_NULL; /* the other user keeps stdio */
		}
	} else if (!strncmp(spec, "file:", 5)) {
		chr->kind = CHR_FILE;
		ret = open_file(chr, spec + 5, err, errlen);
	} else if (!strncmp(spec, "unix:", 5)) {
		chr->kind = CHR_UNIX;
		ret = open_unix(chr, spec + 5, err, errlen);
	} else {
		log_errbuf(err, errlen,
			"unknown character backend '%s' (expected stdio, null, file:PATH or unix:PATH)",
			spec);
		ret = -EINVAL;
	}
	if (ret) {
		chardev_close(chr);
		return ret;
	}
	*out = chr;
	return 0;
}

/* Give queued output a short, bounded chance to get out before closing. */
static void chr_drain_queue(struct avmm_chr *chr)
{
	uint64_t end = clock_ns() + CHR_CLOSE_DRAIN_MS * 1000000ull;

	while (chr->oq_len && chr->out_fd >= 0 && !chr->out_broken && !chr->client_gone) {
		uint64_t now = clock_ns();

		if (now >= end ||
		    chr_wait_writable(chr->out_fd, (int)((end - now) / 1000000) + 1) <= 0)
			break;
		chr_flush_locked(chr);
	}
}

void chardev_close(struct avmm_chr *chr)
{
	int fds[3], n = 0, i;

	if (!chr)
		return;
	/*
	 * No new watches after `closing`; then remove ours without chr->lock,
	 * since a running callback may be waiting for it.
	 */
	pthread_mutex_lock(&chr->lock);
	chr->closing = true;
	if (chr->io) {
		if (chr->listen_fd >= 0)
			fds[n++] = chr->listen_fd;
		if (chr->kind == CHR_UNIX ? chr->client_fd >= 0 : chr->in_fd >= 0)
			fds[n++] = chr->kind == CHR_UNIX ? chr->client_fd : chr->in_fd;
		if (chr->out_watch)
			fds[n++] = chr->out_fd;
	}
	pthread_mutex_unlock(&chr->lock);
	for (i = 0; i < n; i++)
		iothread_unwatch(chr->io, fds[i]);
	iothread_timer_free(chr->rx_timer);

	/* No callback runs any more. */
	pthread_mutex_lock(&chr->lock);
	if (chr_out_queued(chr))
		chr_drain_queue(chr);
	pthread_mutex_unlock(&chr->lock);

	if (chr->client_fd >= 0)
		close(chr->client_fd);
	if (chr->listen_fd >= 0)
		close(chr->listen_fd);
	if (chr->own_fd >= 0)
		close(chr->own_fd);
	if (chr->path) {
		struct stat st;

		/* Remove the socket file only if it is still the one we made. */
		if (stat(chr->path, &st) == 0 && st.st_dev == chr->sock_dev &&
		    st.st_ino == chr->sock_ino)
			unlink(chr->path);
		free(chr->path);
	}
	if (chr->kind == CHR_STDIO) {
		chardev_restore_terminal();
		stdio_remove_signals();
		pthread_mutex_lock(&stdio_mu);
		stdio_busy = false;
		pthread_mutex_unlock(&stdio_mu);
	}
	pthread_mutex_destroy(&chr->lock);
	free(chr->oq);
	free(chr);
}
