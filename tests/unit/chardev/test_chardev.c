/* SPDX-License-Identifier: MIT */
/* Unit tests for the character backends: null, file, unix socket, stdio. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "chardev.h"
#include "iothread.h"

#define MS 1000000ull

/* ---- a fake device: a receive buffer with a settable capacity ----------- */

struct dev {
	pthread_mutex_t lock; /* the "device lock" the chardev is given */
	pthread_mutex_t mu;   /* test bookkeeping */
	pthread_cond_t cv;
	uint8_t buf[1 << 16];
	size_t len;
	size_t cap;       /* total bytes it will take until raised */
	size_t last_room; /* what the last can_receive() returned */
	int can_calls, rx_calls;
	bool over;        /* receive() got more than can_receive() allowed */
	bool lock_not_held;
};

static struct dev dev;
static struct iothread *io;
static char tmpdir[64];

static size_t dev_can_receive(void *opaque)
{
	struct dev *d = opaque;
	size_t room;

	if (pthread_mutex_trylock(&d->lock) == 0) {
		d->lock_not_held = true;
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_lock(&d->mu);
	room = d->cap > d->len ? d->cap - d->len : 0;
	d->last_room = room;
	d->can_calls++;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return room;
}

static void dev_receive(void *opaque, const uint8_t *buf, size_t n)
{
	struct dev *d = opaque;

	if (pthread_mutex_trylock(&d->lock) == 0) {
		d->lock_not_held = true;
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_lock(&d->mu);
	if (n > d->last_room || d->len + n > sizeof(d->buf))
		d->over = true;
	else
		memcpy(d->buf + d->len, buf, n);
	d->len += n;
	d->last_room -= n < d->last_room ? n : d->last_room;
	d->rx_calls++;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static const struct avmm_chr_handlers dev_handlers = {
	.struct_size = sizeof(struct avmm_chr_handlers),
	.can_receive = dev_can_receive,
	.receive = dev_receive,
};

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

/* Bounded wait until the device holds at least n bytes. */
static bool dev_wait_len(size_t n, unsigned ms)
{
	struct timespec ts;
	bool ok;

	abs_after_ms(&ts, ms);
	pthread_mutex_lock(&dev.mu);
	while (dev.len < n)
		if (pthread_cond_timedwait(&dev.cv, &dev.mu, &ts) == ETIMEDOUT)
			break;
	ok = dev.len >= n;
	pthread_mutex_unlock(&dev.mu);
	return ok;
}

static bool dev_wait_can_calls(int n, unsigned ms)
{
	struct timespec ts;
	bool ok;

	abs_after_ms(&ts, ms);
	pthread_mutex_lock(&dev.mu);
	while (dev.can_calls < n)
		if (pthread_cond_timedwait(&dev.cv, &dev.mu, &ts) == ETIMEDOUT)
			break;
	ok = dev.can_calls >= n;
	pthread_mutex_unlock(&dev.mu);
	return ok;
}

/*
 * What the device has seen, copied under dev.mu: the I/O thread writes `dev`
 * whenever input arrives, so the test never reads it unlocked.
 */
struct dev_seen {
	size_t len;
	int can_calls, rx_calls;
	bool over, lock_not_held;
	uint8_t buf[256];
};

static struct dev_seen dev_seen(void)
{
	struct dev_seen v;

	pthread_mutex_lock(&dev.mu);
	v.len = dev.len;
	v.can_calls = dev.can_calls;
	v.rx_calls = dev.rx_calls;
	v.over = dev.over;
	v.lock_not_held = dev.lock_not_held;
	memcpy(v.buf, dev.buf, sizeof(v.buf));
	pthread_mutex_unlock(&dev.mu);
	return v;
}

/* Let `ms` pass while watching for (unexpected) device activity. */
static void dev_quiet_window(unsigned ms)
{
	struct timespec ts;

	abs_after_ms(&ts, ms);
	pthread_mutex_lock(&dev.mu);
	while (pthread_cond_timedwait(&dev.cv, &dev.mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&dev.mu);
}

/* Raise the capacity the way a vCPU would: under the device lock. */
static void dev_set_cap(struct avmm_chr *chr, size_t cap)
{
	pthread_mutex_lock(&dev.lock);
	pthread_mutex_lock(&dev.mu);
	dev.cap = cap;
	pthread_mutex_unlock(&dev.mu);
	chardev_accept_input(chr);
	pthread_mutex_unlock(&dev.lock);
}

static void setup(void)
{
	memset(&dev, 0, sizeof(dev));
	pthread_mutex_init(&dev.lock, NULL);
	pthread_mutex_init(&dev.mu, NULL);
	pthread_cond_init(&dev.cv, NULL);
	dev.cap = sizeof(dev.buf);
	ck_assert_int_eq(iothread_create(&io), 0);
	ck_assert_int_eq(iothread_start(io), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/avmm-chr-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	iothread_destroy(io);
	io = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) {
		/* leftovers in /tmp are harmless */
	}
}

/* Read exactly n bytes (bounded); returns how many arrived. */
static size_t read_exact(int fd, void *buf, size_t n, unsigned ms)
{
	uint64_t end = clock_ns() + ms * MS;
	size_t got = 0;

	/* select(), not poll(): macOS poll() rejects terminals. */
	while (got < n) {
		uint64_t now = clock_ns(), left;
		struct timeval tv;
		fd_set rd;
		ssize_t r;

		if (now >= end)
			break;
		left = (end - now) / 1000;
		tv.tv_sec = (time_t)(left / 1000000);
		tv.tv_usec = (suseconds_t)(left % 1000000);
		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		if (select(fd + 1, &rd, NULL, NULL, &tv) <= 0)
			break;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* ---- null / errors / file --------------------------------------------- */

START_TEST(test_null)
{
	struct avmm_chr *chr;
	char err[128];

	ck_assert_int_eq(chardev_open(io, "null", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_write(chr, "hello", 5), 5);
	ck_assert_int_eq(chardev_write(chr, "", 0), 0);
	ck_assert_int_eq(chardev_set_handlers(chr, &dev_handlers, &dev), 0);
	chardev_accept_input(chr);
	dev_quiet_window(30);
	ck_assert_int_eq(dev_seen().rx_calls, 0);
	chardev_close(chr);
	/* No I/O thread needed. */
	ck_assert_int_eq(chardev_open(NULL, "null", NULL, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_write(chr, "x", 1), 1);
	chardev_close(chr);
}
END_TEST

START_TEST(test_bad_specs)
{
	struct avmm_chr *chr = NULL;
	char err[256], path[200];
	struct avmm_chr_handlers bad = dev_handlers;

	err[0] = 0;
	ck_assert_int_eq(chardev_open(io, "bogus", NULL, &chr, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bogus"));
	ck_assert_int_eq(chardev_open(io, "file:", NULL, &chr, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(chardev_open(io, "unix:", NULL, &chr, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(chardev_open(io, NULL, NULL, &chr, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "file:%s/no/such/dir/log", tmpdir);
	err[0] = 0;
	ck_assert_int_eq(chardev_open(io, path, NULL, &chr, err, sizeof(err)), -ENOENT);
	ck_assert_int_ne(err[0], 0);
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	memcpy(path, "unix:/tmp/", 10);
	ck_assert_int_eq(chardev_open(io, path, NULL, &chr, err, sizeof(err)), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "unix:%s/s", tmpdir);
	ck_assert_int_eq(chardev_open(NULL, path, NULL, &chr, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(chr);

	ck_assert_int_eq(chardev_open(io, "null", NULL, &chr, err, sizeof(err)), 0);
	bad.receive = NULL;
	ck_assert_int_eq(chardev_set_handlers(chr, &bad, &dev), -EINVAL);
	bad = dev_handlers;
	bad.struct_size = 4;
	ck_assert_int_eq(chardev_set_handlers(chr, &bad, &dev), -EINVAL);
	ck_assert_int_eq(chardev_set_handlers(chr, NULL, NULL), 0);
	chardev_close(chr);
}
END_TEST

START_TEST(test_file_exact_bytes)
{
	char path[128], spec[140], err[128];
	uint8_t expect[256 + 4], got[1024];
	struct avmm_chr *chr;
	FILE *f;
	size_t n;
	int i;

	snprintf(path, sizeof(path), "%s/console.log", tmpdir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 100; i++)
		fputs("old content that must go away\n", f);
	fclose(f);

	ck_assert_int_eq(chardev_open(io, spec, &dev.lock, &chr, err, sizeof(err)), 0);
	for (i = 0; i < 256; i++)
		expect[i] = (uint8_t)(255 - i);
	memcpy(expect + 256, "\r\n\0\n", 4);
	/* Byte by byte like a UART, then a block. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(chardev_write(chr, &expect[i], 1), 1);
	ck_assert_int_eq(chardev_write(chr, expect + 100, sizeof(expect) - 100),
			 (ssize_t)(sizeof(expect) - 100));
	chardev_close(chr);

	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	n = fread(got, 1, sizeof(got), f);
	fclose(f);
	ck_assert_uint_eq(n, sizeof(expect));
	ck_assert_mem_eq(got, expect, sizeof(expect));
}
END_TEST

/* ---- unix socket ----------------------------------------------------------- */

static struct avmm_chr *open_unix(char *path, size_t len)
{
	struct avmm_chr *chr;
	char spec[160], err[128];

	snprintf(path, len, "%s/serial.sock", tmpdir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	ck_assert_int_eq(chardev_open(io, spec, &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_set_handlers(chr, &dev_handlers, &dev), 0);
	return chr;
}

START_TEST(test_unix_both_ways)
{
	static const uint8_t out[] = { 'p', 'o', 'n', 'g', 0, 0xff, '\n' };
	struct dev_seen seen;
	struct avmm_chr *chr;
	char path[128];
	uint8_t got[16];
	int c;

	chr = open_unix(path, sizeof(path));
	/* Nobody connected: output is dropped, not an error. */
	ck_assert_int_eq(chardev_write(chr, "lost", 4), 4);
	c = unix_connect(path);
	ck_assert_int_eq(write(c, "ping\0", 5), 5);
	ck_assert(dev_wait_len(5, 3000));
	seen = dev_seen();
	ck_assert_mem_eq(seen.buf, "ping\0", 5);
	ck_assert(!seen.over);
	ck_assert(!seen.lock_not_held);

	ck_assert_int_eq(chardev_write(chr, out, sizeof(out)), (ssize_t)sizeof(out));
	ck_assert_uint_eq(read_exact(c, got, sizeof(out), 3000), sizeof(out));
	ck_assert_mem_eq(got, out, sizeof(out));
	close(c);
	chardev_close(chr);
	/* The socket file goes with the backend. */
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_unix_flow_control)
{
	struct dev_seen seen;
	struct avmm_chr *chr;
	char path[128];
	int c, calls;

	dev.cap = 0;
	chr = open_unix(path, sizeof(path));
	c = unix_connect(path);
	ck_assert_int_eq(write(c, "hello world", 11), 11);
	/* Asked once, told "full": then no reads and no busy loop. */
	ck_assert(dev_wait_can_calls(1, 3000));
	dev_quiet_window(150);
	seen = dev_seen();
	ck_assert_int_eq(seen.rx_calls, 0);
	ck_assert_int_le(seen.can_calls, 2);

	/* Room for 3: exactly 3 arrive, then it pauses again. */
	dev_set_cap(chr, 3);
	ck_assert(dev_wait_len(3, 3000));
	dev_quiet_window(100);
	seen = dev_seen();
	ck_assert_uint_eq(seen.len, 3);
	calls = seen.can_calls;
	dev_quiet_window(100);
	ck_assert_int_le(dev_seen().can_calls - calls, 1);

	dev_set_cap(chr, 100);
	ck_assert(dev_wait_len(11, 3000));
	seen = dev_seen();
	ck_assert_mem_eq(seen.buf, "hello world", 11);
	ck_assert(!seen.over);
	close(c);
	chardev_close(chr);
}
END_TEST

START_TEST(test_unix_reconnect)
{
	struct dev_seen seen;
	struct avmm_chr *chr;
	char path[128], got[4];
	int c1, c2, c3;

	chr = open_unix(path, sizeof(path));
	c1 = unix_connect(path);
	ck_assert_int_eq(write(c1, "a", 1), 1);
	ck_assert(dev_wait_len(1, 3000));

	/* A second client waits while the first is attached. */
	c2 = unix_connect(path);
	ck_assert_int_eq(write(c2, "b", 1), 1);
	dev_quiet_window(100);
	ck_assert_uint_eq(dev_seen().len, 1);

	close(c1);
	ck_assert(dev_wait_len(2, 3000));
	seen = dev_seen();
	ck_assert_mem_eq(seen.buf, "ab", 2);
	ck_assert_int_eq(chardev_write(chr, "to2", 3), 3);
	ck_assert_uint_eq(read_exact(c2, got, 3, 3000), 3);
	ck_assert_mem_eq(got, "to2", 3);

	/* Client leaves; a new one gets service again. */
	close(c2);
	c3 = unix_connect(path);
	ck_assert_int_eq(write(c3, "c", 1), 1);
	ck_assert(dev_wait_len(3, 3000));
	seen = dev_seen();
	ck_assert_mem_eq(seen.buf, "abc", 3);
	ck_assert_int_eq(chardev_write(chr, "to3", 3), 3);
	ck_assert_uint_eq(read_exact(c3, got, 3, 3000), 3);
	ck_assert_mem_eq(got, "to3", 3);
	close(c3);
	chardev_close(chr);
}
END_TEST

static uint8_t pattern(size_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

START_TEST(test_unix_output_never_blocks)
{
	enum { CHUNK = 16384, CALLS = 400 };
	static uint8_t buf[CHUNK];
	static uint8_t expect[CHUNK * CALLS];
	struct avmm_chr *chr;
	size_t total = 0, got;
	char path[128];
	uint8_t *rd;
	uint64_t t0;
	int c, i, j;

	chr = open_unix(path, sizeof(path));
	c = unix_connect(path);
	ck_assert_int_eq(write(c, "!", 1), 1);
	ck_assert(dev_wait_len(1, 3000)); /* now attached */

	/* The client reads nothing: writes must still return promptly. */
	t0 = clock_ns();
	for (i = 0; i < CALLS; i++) {
		ssize_t k;

		for (j = 0; j < CHUNK; j++)
			buf[j] = pattern((size_t)i * CHUNK + j);
		k = chardev_write(chr, buf, CHUNK);
		ck_assert_int_ge(k, 0);
		ck_assert_int_le(k, CHUNK);
		memcpy(expect + total, buf, (size_t)k);
		total += (size_t)k;
	}
	ck_assert_uint_lt(clock_ns() - t0, 2000 * MS);
	ck_assert_uint_lt(total, (size_t)CHUNK * CALLS); /* some was dropped */
	ck_assert_uint_gt(total, 0);

	/* What was taken arrives intact and in order (queued part included). */
	rd = malloc(total + 1);
	ck_assert_ptr_nonnull(rd);
	got = read_exact(c, rd, total, 5000);
	ck_assert_uint_eq(got, total);
	ck_assert_mem_eq(rd, expect, total);
	/* Nothing beyond it. */
	ck_assert_uint_eq(read_exact(c, rd, 1, 100), 0);
	free(rd);
	close(c);
	chardev_close(chr);
}
END_TEST

START_TEST(test_unix_stale_and_busy)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct avmm_chr *chr, *chr2;
	char path[128], spec[160], err[128];
	int s;

	/* A socket file left by a dead process. */
	snprintf(path, sizeof(path), "%s/serial.sock", tmpdir);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	ck_assert_int_eq(access(path, F_OK), 0);

	snprintf(spec, sizeof(spec), "unix:%s", path);
	ck_assert_int_eq(chardev_open(io, spec, &dev.lock, &chr, err, sizeof(err)), 0);
	/* A live listener is not stale. */
	ck_assert_int_eq(chardev_open(io, spec, &dev.lock, &chr2, err, sizeof(err)), -EADDRINUSE);
	ck_assert_int_eq(access(path, F_OK), 0);
	chardev_close(chr);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/* ---- stdio ------------------------------------------------------------------ */

static void pty_open(int *master, int *slave)
{
	struct termios t;

	*master = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(*master, 0);
	ck_assert_int_eq(grantpt(*master), 0);
	ck_assert_int_eq(unlockpt(*master), 0);
	*slave = open(ptsname(*master), O_RDWR | O_NOCTTY);
	ck_assert_int_ge(*slave, 0);
	/* Make the starting state distinctive, so "restored" means something. */
	ck_assert_int_eq(tcgetattr(*slave, &t), 0);
	t.c_lflag |= ICANON | ECHO | ECHOE | ISIG | IEXTEN;
	t.c_iflag |= ICRNL | IXON;
	t.c_oflag |= OPOST | ONLCR;
	t.c_cc[VMIN] = 5;
	t.c_cc[VTIME] = 3;
	t.c_cc[VERASE] = 0x08;
	ck_assert_int_eq(tcsetattr(*slave, TCSANOW, &t), 0);
}

static bool tio_equal(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	       a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
	       !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) &&
	       cfgetispeed(a) == cfgetispeed(b) && cfgetospeed(a) == cfgetospeed(b);
}

static void assert_raw(const struct termios *t, const struct termios *orig)
{
	ck_assert(!(t->c_lflag & (ICANON | ECHO | ISIG | IEXTEN)));
	ck_assert(!(t->c_iflag & (ICRNL | IXON)));
	ck_assert_int_eq(t->c_cc[VMIN], 1);
	ck_assert_int_eq(t->c_cc[VTIME], 0);
	/* Output processing untouched. */
	ck_assert_uint_eq(t->c_oflag, orig->c_oflag);
}

START_TEST(test_stdio_raw_and_restore)
{
	struct termios orig, now;
	struct avmm_chr *chr, *chr2;
	char err[128];
	int m, s;

	pty_open(&m, &s);
	ck_assert_int_eq(tcgetattr(s, &orig), 0);
	ck_assert_int_eq(dup2(s, STDIN_FILENO), STDIN_FILENO);

	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(tcgetattr(s, &now), 0);
	assert_raw(&now, &orig);
	/* One user only. */
	err[0] = 0;
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr2, err, sizeof(err)), -EBUSY);
	ck_assert_int_ne(err[0], 0);
	ck_assert_int_eq(tcgetattr(s, &now), 0);
	assert_raw(&now, &orig);

	chardev_close(chr);
	ck_assert_int_eq(tcgetattr(s, &now), 0);
	ck_assert(tio_equal(&now, &orig));
	chardev_restore_terminal(); /* idempotent: must not re-apply anything */
	ck_assert_int_eq(tcgetattr(s, &now), 0);
	ck_assert(tio_equal(&now, &orig));

	/* Free again after close. */
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	chardev_close(chr);
	ck_assert_int_eq(tcgetattr(s, &now), 0);
	ck_assert(tio_equal(&now, &orig));
	close(m);
	close(s);
}
END_TEST

/* Fork a child that opens stdio on the pty and then dies by `how`. */
static void stdio_child_dies(int how, int *status, struct termios *orig, struct termios *after)
{
	struct termios during;
	int m, s, ready[2];
	char c;
	pid_t pid;

	/* Fork a single-threaded process: stop the fixture's loop first. */
	iothread_stop(io);
	pty_open(&m, &s);
	ck_assert_int_eq(tcgetattr(s, orig), 0);
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct avmm_chr *chr;
		struct iothread *cio;
		char err[128];

		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (dup2(s, STDIN_FILENO) != STDIN_FILENO || iothread_create(&cio) ||
		    iothread_start(cio) ||
		    chardev_open(cio, "stdio", NULL, &chr, err, sizeof(err)))
			_exit(90);
		if (write(ready[1], "R", 1) != 1)
			_exit(91);
		if (how == 0)
			exit(0); /* normal exit without chardev_close */
		for (;;)
			pause();
	}
	close(ready[1]);
	ck_assert_uint_eq(read_exact(ready[0], &c, 1, 5000), 1);
	ck_assert_int_eq(tcgetattr(s, &during), 0);
	if (how) {
		assert_raw(&during, orig);
		kill(pid, how);
	}
	ck_assert_int_eq(waitpid(pid, status, 0), pid);
	ck_assert_int_eq(tcgetattr(s, after), 0);
	close(ready[0]);
	close(m);
	close(s);
}

START_TEST(test_stdio_sigterm_restores)
{
	struct termios orig, after;
	int status;

	stdio_child_dies(SIGTERM, &status, &orig, &after);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGTERM);
	ck_assert(tio_equal(&after, &orig));
}
END_TEST

START_TEST(test_stdio_sighup_restores)
{
	struct termios orig, after;
	int status;

	stdio_child_dies(SIGHUP, &status, &orig, &after);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGHUP);
	ck_assert(tio_equal(&after, &orig));
}
END_TEST

START_TEST(test_stdio_exit_restores)
{
	struct termios orig, after;
	int status;

	stdio_child_dies(0, &status, &orig, &after);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(tio_equal(&after, &orig));
}
END_TEST

static pthread_mutex_t quit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quit_cv = PTHREAD_COND_INITIALIZER;
static int quit_calls;
static int quit_lock_ret;

static void on_quit(void *opaque)
{
	/* On the I/O thread, inside the chardev's callback: device lock held. */
	int lock_ret = pthread_mutex_trylock(&dev.lock);

	pthread_mutex_lock(&quit_mu);
	quit_lock_ret = lock_ret;
	quit_calls += opaque == &quit_calls;
	pthread_cond_broadcast(&quit_cv);
	pthread_mutex_unlock(&quit_mu);
}

static int quit_count(void)
{
	int n;

	pthread_mutex_lock(&quit_mu);
	n = quit_calls;
	pthread_mutex_unlock(&quit_mu);
	return n;
}

static bool wait_quit(unsigned ms)
{
	struct timespec ts;
	bool ok;

	abs_after_ms(&ts, ms);
	pthread_mutex_lock(&quit_mu);
	while (!quit_calls)
		if (pthread_cond_timedwait(&quit_cv, &quit_mu, &ts) == ETIMEDOUT)
			break;
	ok = quit_calls > 0;
	pthread_mutex_unlock(&quit_mu);
	return ok;
}

START_TEST(test_stdio_escapes)
{
	static const uint8_t expect[] = { 'a', 0x01, 'b', 0x01, 'z', 'c' };
	struct dev_seen seen;
	struct avmm_chr *chr;
	char err[128], help[512];
	int m, s, ep[2];
	ssize_t n;

	pty_open(&m, &s);
	ck_assert_int_eq(dup2(s, STDIN_FILENO), STDIN_FILENO);
	ck_assert_int_eq(pipe(ep), 0);
	ck_assert_int_eq(dup2(ep[1], STDERR_FILENO), STDERR_FILENO);
	chardev_set_quit_handler(on_quit, &quit_calls);
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_set_handlers(chr, &dev_handlers, &dev), 0);

	/* Help: nothing for the guest, text on stderr. */
	ck_assert_int_eq(write(m, "\x01h", 2), 2);
	ck_assert_uint_gt(read_exact(ep[0], help, 16, 3000), 0);
	n = read(ep[0], help + 16, sizeof(help) - 17);
	help[16 + (n > 0 ? n : 0)] = 0;
	ck_assert_ptr_nonnull(strstr(help, "C-a x"));

	/* C-a C-a -> one C-a; C-a z -> both; an escape split across reads. */
	ck_assert_int_eq(write(m, "a\x01\x01" "b\x01", 5), 5);
	ck_assert(dev_wait_len(3, 3000));
	ck_assert_int_eq(write(m, "zc", 2), 2);
	ck_assert(dev_wait_len(sizeof(expect), 3000));
	ck_assert_int_eq(quit_count(), 0);
	ck_assert_int_eq(write(m, "\x01x", 2), 2);
	ck_assert(wait_quit(3000)); /* under quit_mu: quit_lock_ret is settled */
	ck_assert_int_eq(quit_lock_ret, EBUSY);
	seen = dev_seen();
	ck_assert_uint_eq(seen.len, sizeof(expect));
	ck_assert_mem_eq(seen.buf, expect, sizeof(expect));
	ck_assert(!seen.over);
	chardev_close(chr);
	chardev_set_quit_handler(NULL, NULL);
	close(m);
	close(s);
}
END_TEST

/*
 * A one-byte receive register: room is 1 when empty.  "C-a q" then needs two
 * deliveries with no new input in between.
 */
static size_t reg_can_receive(void *opaque)
{
	size_t room;

	pthread_mutex_lock(&dev.mu);
	room = dev.cap > dev.len ? 1 : 0; /* cap = bytes consumed + 1 */
	dev.last_room = room;
	dev.can_calls++;
	pthread_mutex_unlock(&dev.mu);
	return room;
}

START_TEST(test_stdio_escape_one_byte_room)
{
	static const uint8_t expect[] = { 'A', 'B', 0x01, 'q', 'C', 0x01, 'D' };
	const struct avmm_chr_handlers h = {
		.struct_size = sizeof(h),
		.can_receive = reg_can_receive,
		.receive = dev_receive,
	};
	struct dev_seen seen;
	struct avmm_chr *chr;
	char err[128];
	size_t i;
	int m, s;

	pty_open(&m, &s);
	ck_assert_int_eq(dup2(s, STDIN_FILENO), STDIN_FILENO);
	dev.cap = 1;
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_set_handlers(chr, &h, &dev), 0);
	ck_assert_int_eq(write(m, "AB\x01qC\x01\x01" "D", 8), 8);
	/* The "guest" reads the register, one byte at a time. */
	for (i = 1; i <= sizeof(expect); i++) {
		ck_assert(dev_wait_len(i, 3000));
		dev_set_cap(chr, i + 1);
	}
	/* Input ends on "C-a q": the 'q' must come without further input. */
	ck_assert_int_eq(write(m, "\x01q", 2), 2);
	ck_assert(dev_wait_len(i, 3000));
	dev_set_cap(chr, i + 1);
	ck_assert(dev_wait_len(i + 1, 3000));
	dev_set_cap(chr, i + 2);
	dev_quiet_window(50);
	seen = dev_seen();
	ck_assert_uint_eq(seen.len, sizeof(expect) + 2);
	ck_assert_mem_eq(seen.buf, expect, sizeof(expect));
	ck_assert_mem_eq(seen.buf + sizeof(expect), "\x01q", 2);
	ck_assert(!seen.over);
	chardev_close(chr);
	close(m);
	close(s);
}
END_TEST

START_TEST(test_stdio_pipe_eof)
{
	struct termios dummy;
	struct dev_seen seen;
	struct avmm_chr *chr;
	char err[128];
	int p[2], calls;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "data\x01\x01!", 7), 7);
	close(p[1]);
	ck_assert_int_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	ck_assert_int_ne(tcgetattr(STDIN_FILENO, &dummy), 0);
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_set_handlers(chr, &dev_handlers, &dev), 0);
	ck_assert(dev_wait_len(6, 3000));
	seen = dev_seen();
	ck_assert_mem_eq(seen.buf, "data\x01!", 6);
	/* EOF: stdin is dropped from the poll set, no spinning. */
	dev_quiet_window(50);
	calls = dev_seen().can_calls;
	dev_quiet_window(100);
	seen = dev_seen();
	ck_assert_int_eq(seen.can_calls, calls);
	ck_assert_uint_eq(seen.len, 6);
	chardev_close(chr);
	close(p[0]);
}
END_TEST

START_TEST(test_stdio_output_tty)
{
	struct avmm_chr *chr;
	char err[128], got[16];
	int m, s;

	pty_open(&m, &s);
	ck_assert_int_eq(dup2(s, STDIN_FILENO), STDIN_FILENO);
	ck_assert_int_eq(dup2(s, STDOUT_FILENO), STDOUT_FILENO);
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_write(chr, "hel", 3), 3);
	ck_assert_int_eq(chardev_write(chr, "lo\x01\x7f", 4), 4);
	ck_assert_uint_eq(read_exact(m, got, 7, 3000), 7);
	ck_assert_mem_eq(got, "hello\x01\x7f", 7);
	/* The shared stdout was not made non-blocking behind anyone's back. */
	ck_assert_int_eq(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK, 0);
	chardev_close(chr);
	close(m);
	close(s);
}
END_TEST

/*
 * Fill a pipe through its write end, made non-blocking only meanwhile (it is
 * the same open file as stdout); returns the bytes it took.
 */
static size_t pipe_fill(int wfd)
{
	char junk[4096];
	size_t filled = 0;
	ssize_t w;
	int fl;

	fl = fcntl(wfd, F_GETFL);
	ck_assert_int_eq(fcntl(wfd, F_SETFL, fl | O_NONBLOCK), 0);
	memset(junk, 'j', sizeof(junk));
	while ((w = write(wfd, junk, sizeof(junk))) > 0)
		filled += (size_t)w;
	ck_assert_int_eq(fcntl(wfd, F_SETFL, fl), 0);
	return filled;
}

/* Read n bytes of the pipe filler back. */
static void pipe_drain_fill(int rfd, size_t n)
{
	static char got[1 << 20];
	size_t i;

	ck_assert_uint_le(n, sizeof(got));
	ck_assert_uint_eq(read_exact(rfd, got, n, 3000), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(got[i], 'j');
}

START_TEST(test_stdio_output_pipe_bounded)
{
	static uint8_t big[128 * 1024], got[sizeof(big)];
	struct avmm_chr *chr;
	char err[128];
	size_t filled, i;
	uint64_t t0;
	ssize_t n;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_write(chr, "abc", 3), 3);
	ck_assert_uint_eq(read_exact(p[0], got, 3, 3000), 3);
	ck_assert_mem_eq(got, "abc", 3);

	/* A stalled reader costs no time: what does not fit is queued... */
	filled = pipe_fill(p[1]);
	t0 = clock_ns();
	ck_assert_int_eq(chardev_write(chr, "xyz", 3), 3);
	ck_assert_uint_lt(clock_ns() - t0, 50 * MS);
	/* ...up to a bound, beyond which it is dropped. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = pattern(i);
	t0 = clock_ns();
	n = chardev_write(chr, big, sizeof(big));
	ck_assert_uint_lt(clock_ns() - t0, 50 * MS);
	ck_assert_int_ge(n, 4096);
	ck_assert_int_lt(n, (ssize_t)sizeof(big));
	ck_assert_int_eq(chardev_write(chr, "!", 1), 0);
	/* The shared stdout was not made non-blocking behind anyone's back. */
	ck_assert_int_eq(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK, 0);

	/* Drained: the I/O thread sends the queue, in order, with no new write. */
	pipe_drain_fill(p[0], filled);
	ck_assert_uint_eq(read_exact(p[0], got, 3, 3000), 3);
	ck_assert_mem_eq(got, "xyz", 3);
	ck_assert_uint_eq(read_exact(p[0], got, (size_t)n, 3000), (size_t)n);
	ck_assert_mem_eq(got, big, (size_t)n);
	/* Output flows again, and exactly what was taken came out before it. */
	ck_assert_int_eq(chardev_write(chr, "ok", 2), 2);
	ck_assert_uint_eq(read_exact(p[0], got, 2, 3000), 2);
	ck_assert_mem_eq(got, "ok", 2);
	chardev_close(chr);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Another device's timer, under its own lock. */
struct tick {
	pthread_mutex_t lock, mu;
	pthread_cond_t cv;
	uint64_t fired_at;
};

static void tick_fn(void *opaque)
{
	struct tick *t = opaque;

	pthread_mutex_lock(&t->mu);
	t->fired_at = clock_ns();
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/*
 * A stalled stdout must cost the writer no time, so the device lock it holds
 * does not stall the I/O thread: that device's own input, and another
 * device's timer queued behind it, go on as usual.
 */
START_TEST(test_stdio_stalled_output_holds_nobody)
{
	struct tick tk = { .fired_at = 0 };
	struct avmm_timer *timer;
	struct avmm_chr *chr;
	uint64_t deadline, end, t0, dt, worst = 0, fired;
	char err[128];
	int out[2], in[2];

	pthread_mutex_init(&tk.lock, NULL);
	pthread_mutex_init(&tk.mu, NULL);
	pthread_cond_init(&tk.cv, NULL);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(dup2(out[1], STDOUT_FILENO), STDOUT_FILENO);
	ck_assert_int_eq(dup2(in[0], STDIN_FILENO), STDIN_FILENO);
	ck_assert_int_eq(chardev_open(io, "stdio", &dev.lock, &chr, err, sizeof(err)), 0);
	ck_assert_int_eq(chardev_set_handlers(chr, &dev_handlers, &dev), 0);
	ck_assert_int_eq(iothread_timer_new(io, tick_fn, &tk, &tk.lock, &timer), 0);
	pipe_fill(out[1]);

	/* Input makes the I/O thread want the device lock the writer holds. */
	ck_assert_int_eq(write(in[1], "in", 2), 2);
	deadline = clock_ns() + 20 * MS;
	iothread_timer_mod(timer, deadline);
	/* The guest prints steadily, as a vCPU does: device lock held per write. */
	end = clock_ns() + 3000 * MS;
	for (;;) {
		pthread_mutex_lock(&dev.lock);
		t0 = clock_ns();
		ck_assert_int_ge(chardev_write(chr, "guest output\n", 13), 0);
		dt = clock_ns() - t0;
		pthread_mutex_unlock(&dev.lock);
		worst = dt > worst ? dt : worst;
		pthread_mutex_lock(&tk.mu);
		fired = tk.fired_at;
		pthread_mutex_unlock(&tk.mu);
		if (fired || clock_ns() > end)
			break;
		usleep(1000);
	}
	ck_assert_uint_ne(fired, 0);
	ck_assert_uint_lt(fired - deadline, 100 * MS);
	ck_assert_uint_lt(worst, 50 * MS);
	ck_assert(dev_wait_len(2, 3000));
	ck_assert_mem_eq(dev.buf, "in", 2);

	iothread_timer_free(timer);
	chardev_close(chr);
	close(out[0]);
	close(out[1]);
	close(in[0]);
	close(in[1]);
}
END_TEST

static Suite *chardev_suite(void)
{
	Suite *s = suite_create("chardev");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_bad_specs);
	tcase_add_test(tc, test_file_exact_bytes);
	tcase_add_test(tc, test_unix_both_ways);
	tcase_add_test(tc, test_unix_flow_control);
	tcase_add_test(tc, test_unix_reconnect);
	tcase_add_test(tc, test_unix_output_never_blocks);
	tcase_add_test(tc, test_unix_stale_and_busy);
	tcase_add_test(tc, test_stdio_raw_and_restore);
	tcase_add_test(tc, test_stdio_sigterm_restores);
	tcase_add_test(tc, test_stdio_sighup_restores);
	tcase_add_test(tc, test_stdio_exit_restores);
	tcase_add_test(tc, test_stdio_escapes);
	tcase_add_test(tc, test_stdio_escape_one_byte_room);
	tcase_add_test(tc, test_stdio_pipe_eof);
	tcase_add_test(tc, test_stdio_output_tty);
	tcase_add_test(tc, test_stdio_output_pipe_bounded);
	tcase_add_test(tc, test_stdio_stalled_output_holds_nobody);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chardev_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
