// SPDX-License-Identifier: MIT
/*
 * blkbench: block device throughput and IOPS with O_DIRECT, for the virtio-blk
 * benchmark (bench/blk-bench.sh); it runs inside the L2 guest, built static.
 *
 *   blkbench [-d SECONDS] [-p SECONDS] [-s SEED] DEVICE TEST...
 *
 * Tests: seqread, seqwrite (1 MiB requests at queue depth 1, sequential,
 * wrapping at the end of the device); randread1, randwrite1 (4 KiB at a random
 * 4 KiB-aligned offset, pread/pwrite, queue depth 1); randread32, randwrite32
 * (the same with 32 requests in flight, Linux native AIO through the raw
 * io_setup/io_submit/io_getevents system calls: no libaio); idle (no I/O:
 * what the rest of the system costs in the same window).  Each runs for -d
 * seconds (default 5).  WRITES OVERWRITE THE DEVICE.
 *
 * Around each test it prints a marker line and then pauses -p seconds (default
 * 1) before the first request, so that a watcher of the console (the L1 side,
 * bench/blk-l1.sh) can read its counters while nothing happens:
 *
 *   @@B TEST        before the test
 *   @@E TEST        after its last request completed
 *
 * and after the pause that follows @@E, one result line:
 *
 *   blkbench: test=randread qd=1 bs=4096 secs=5.002 ops=1234 bytes=5054464
 *       iops=246.7 mbps=1.01 devreqs=1234 irqs=1240
 *
 * ops: system-call level requests completed; devreqs: requests the block
 * layer sent to the device (reads + writes completed in /sys/block/DEV/stat,
 * after merging and splitting); irqs: interrupts of every /proc/interrupts
 * line naming "virtio".  Times are CLOCK_MONOTONIC, the guest's own clock.
 * Exit status 0 when every test ran, 1 on an I/O error, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_DIRECT */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "benchclock.h"

#define SEQ_BS (1u << 20)
#define RAND_BS 4096u
#define AIO_QD 32
#define ALIGN 4096u

struct counters {
	uint64_t devreqs;
	uint64_t irqs;
};

struct result {
	uint64_t ops;
	uint64_t bytes;
	double secs;
};

static const char *dev_path;
static const char *dev_name; /* basename, for /sys/block */
static int dev_fd = -1;
static uint64_t dev_size;
static double duration = 5.0;
static double pause_secs = 1.0;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: cheap, and the same sequence under both VMMs for one seed. */
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static off_t rand_offset(void)
{
	return (off_t)((rng_next() % (dev_size / RAND_BS)) * RAND_BS);
}

/* A marker goes out in one write(): a line the watcher reads whole. */
static void marker(const char *what, const char *test)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "@@%s %s\n", what, test);

	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		perror("blkbench: write marker");
}

/* Reads and writes completed: fields 1 and 5 of /sys/block/DEV/stat. */
static uint64_t read_devreqs(void)
{
	char path[128];
	unsigned long long f[5];
	FILE *fp;
	int n;

	snprintf(path, sizeof(path), "/sys/block/%s/stat", dev_name);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	n = fscanf(fp, "%llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4]);
	fclose(fp);
	return n == 5 ? f[0] + f[4] : 0;
}

/* The sum over CPUs of every interrupt line that names virtio. */
static uint64_t read_irqs(void)
{
	char line[512];
	uint64_t sum = 0;
	int ncpu = 0;
	FILE *fp = fopen("/proc/interrupts", "r");

	if (!fp)
		return 0;
	if (fgets(line, sizeof(line), fp)) {
		for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
			ncpu++;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *p = strchr(line, ':');

		if (!p || !strstr(line, "virtio"))
			continue;
		p++;
		for (int c = 0; c < ncpu; c++) {
			char *end;
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			sum += v;
			p = end;
		}
	}
	fclose(fp);
	return sum;
}

static void snapshot(struct counters *c)
{
	c->devreqs = read_devreqs();
	c->irqs = read_irqs();
}

static void *aligned_buf(size_t len, unsigned char fill)
{
	void *p;

	if (posix_memalign(&p, ALIGN, len)) {
		fprintf(stderr, "blkbench: out of memory for a %zu-byte buffer\n", len);
		exit(1);
	}
	memset(p, fill, len);
	return p;
}

/* One request at a time, pread/pwrite, BS bytes at sequential or random offsets. */
static int run_sync(bool write_op, bool random, size_t bs, struct result *r)
{
	unsigned char *buf = aligned_buf(bs, 0xa5);
	off_t off = 0;
	double t0 = now(), end = t0 + duration, t;
	int rc = 0;

	do {
		ssize_t n;

		if (random) {
			off = rand_offset();
		} else if ((uint64_t)off + bs > dev_size) {
			off = 0;
		}
		n = write_op ? pwrite(dev_fd, buf, bs, off) : pread(dev_fd, buf, bs, off);
		if (n != (ssize_t)bs) {
			fprintf(stderr, "blkbench: %s %s at %jd: %s\n", write_op ? "pwrite" : "pread",
				dev_path, (intmax_t)off, n < 0 ? strerror(errno) : "short transfer");
			rc = -1;
			break;
		}
		r->ops++;
		r->bytes += bs;
		if (!random)
			off += (off_t)bs;
		t = now();
	} while (t < end);
	r->secs = now() - t0;
	free(buf);
	return rc;
}

static long sys_io_setup(unsigned nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long sys_io_destroy(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

static long sys_io_submit(aio_context_t ctx, long nr, struct iocb **iocbs)
{
	return syscall(SYS_io_submit, ctx, nr, iocbs);
}

static long sys_io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, NULL);
}

/*
 * AIO_QD random 4 KiB requests in flight: each completion is replaced by a new
 * request at once until the time is up, then the rest are drained (their
 * completions count, their time too).
 */
static int run_aio(bool write_op, struct result *r)
{
	static struct iocb cbs[AIO_QD];
	struct iocb *ptrs[AIO_QD];
	struct io_event ev[AIO_QD];
	unsigned char *bufs = aligned_buf((size_t)AIO_QD * RAND_BS, 0x5a);
	aio_context_t ctx = 0;
	double t0, end;
	int inflight = 0, rc = 0;
	bool stop = false;

	if (sys_io_setup(AIO_QD, &ctx) < 0) {
		fprintf(stderr, "blkbench: io_setup: %s\n", strerror(errno));
		free(bufs);
		return -1;
	}
	for (int i = 0; i < AIO_QD; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_fildes = (uint32_t)dev_fd;
		cbs[i].aio_lio_opcode = write_op ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uint64_t)(uintptr_t)(bufs + (size_t)i * RAND_BS);
		cbs[i].aio_nbytes = RAND_BS;
		cbs[i].aio_data = (uint64_t)i;
	}
	t0 = now();
	end = t0 + duration;
	for (int i = 0; i < AIO_QD; i++) {
		cbs[i].aio_offset = rand_offset();
		ptrs[i] = &cbs[i];
	}
	if (sys_io_submit(ctx, AIO_QD, ptrs) != AIO_QD) {
		fprintf(stderr, "blkbench: io_submit of %d: %s\n", AIO_QD, strerror(errno));
		sys_io_destroy(ctx);
		free(bufs);
		return -1;
	}
	inflight = AIO_QD;
	while (inflight > 0) {
		long n = sys_io_getevents(ctx, 1, AIO_QD, ev);
		int nsub = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "blkbench: io_getevents: %s\n", strerror(errno));
			rc = -1;
			break;
		}
		inflight -= (int)n;
		if (!stop && now() >= end)
			stop = true;
		for (long k = 0; k < n; k++) {
			struct iocb *cb = &cbs[ev[k].data];

			if (ev[k].res != (int64_t)RAND_BS) {
				fprintf(stderr, "blkbench: aio %s at %jd: %s\n", write_op ? "write" : "read",
					(intmax_t)cb->aio_offset,
					ev[k].res < 0 ? strerror((int)-ev[k].res) : "short transfer");
				rc = -1;
				stop = true;
				continue;
			}
			r->ops++;
			r->bytes += RAND_BS;
			if (stop)
				continue;
			cb->aio_offset = rand_offset();
			ptrs[nsub++] = cb;
		}
		if (nsub > 0) {
			long s = sys_io_submit(ctx, nsub, ptrs);

			if (s != nsub) {
				fprintf(stderr, "blkbench: io_submit of %d: %s\n", nsub,
					s < 0 ? strerror(errno) : "partial");
				rc = -1;
				stop = true;
				if (s > 0)
					inflight += (int)s;
				continue;
			}
			inflight += nsub;
		}
	}
	r->secs = now() - t0;
	sys_io_destroy(ctx);
	free(bufs);
	return rc;
}

struct test {
	const char *name;
	const char *kind; /* the result line's test= */
	int qd;
	size_t bs;
	bool write_op, random, aio, idle;
};

static const struct test tests[] = {
	{ "seqread", "seqread", 1, SEQ_BS, false, false, false, false },
	{ "seqwrite", "seqwrite", 1, SEQ_BS, true, false, false, false },
	{ "randread1", "randread", 1, RAND_BS, false, true, false, false },
	{ "randwrite1", "randwrite", 1, RAND_BS, true, true, false, false },
	{ "randread32", "randread", AIO_QD, RAND_BS, false, true, true, false },
	{ "randwrite32", "randwrite", AIO_QD, RAND_BS, true, true, true, false },
	{ "idle", "idle", 0, 0, false, false, false, true },
};

static const struct test *find_test(const char *name)
{
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!strcmp(tests[i].name, name))
			return &tests[i];
	}
	return NULL;
}

static int run_test(const struct test *t)
{
	struct counters c0, c1;
	struct result r = { 0 };
	int rc = 0;

	marker("B", t->name);
	sleep_secs(pause_secs);
	snapshot(&c0);
	if (t->idle) {
		double t0 = now();

		sleep_secs(duration);
		r.secs = now() - t0;
	} else if (t->aio) {
		rc = run_aio(t->write_op, &r);
	} else {
		rc = run_sync(t->write_op, t->random, t->bs, &r);
	}
	snapshot(&c1);
	marker("E", t->name);
	sleep_secs(pause_secs);
	printf("blkbench: test=%s name=%s qd=%d bs=%zu secs=%.3f ops=%" PRIu64 " bytes=%" PRIu64
	       " iops=%.1f mbps=%.2f devreqs=%" PRIu64 " irqs=%" PRIu64 "%s\n",
	       t->kind, t->name, t->qd, t->bs, r.secs, r.ops, r.bytes, r.secs > 0 ? r.ops / r.secs : 0,
	       r.secs > 0 ? r.bytes / r.secs / 1e6 : 0, c1.devreqs - c0.devreqs, c1.irqs - c0.irqs,
	       rc ? " error=io" : "");
	fflush(stdout);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: blkbench [-d SECONDS] [-p SECONDS] [-s SEED] DEVICE TEST...\n"
			"tests:");
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		fprintf(stderr, " %s", tests[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

static double parse_secs(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0 && v <= 3600)) {
		fprintf(stderr, "blkbench: '%s' is not a number of seconds (0-3600)\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *slash;
	struct stat st;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "d:p:s:")) != -1) {
		switch (opt) {
		case 'd': duration = parse_secs(optarg); break;
		case 'p': pause_secs = parse_secs(optarg); break;
		case 's': rng_state = strtoull(optarg, NULL, 0) | 1; break;
		default: usage();
		}
	}
	if (argc - optind < 2)
		usage();
	dev_path = argv[optind++];
	for (int i = optind; i < argc; i++) {
		if (!find_test(argv[i])) {
			fprintf(stderr, "blkbench: unknown test '%s'\n", argv[i]);
			usage();
		}
	}
	slash = strrchr(dev_path, '/');
	dev_name = slash ? slash + 1 : dev_path;
	dev_fd = open(dev_path, O_RDWR | O_DIRECT);
	if (dev_fd < 0) {
		fprintf(stderr, "blkbench: open %s (O_RDWR|O_DIRECT): %s\n", dev_path, strerror(errno));
		return 1;
	}
	/* A regular file works too (trying it out on a host): its size. */
	if (fstat(dev_fd, &st) == 0 && S_ISREG(st.st_mode)) {
		dev_size = (uint64_t)st.st_size;
	} else if (ioctl(dev_fd, BLKGETSIZE64, &dev_size) < 0) {
		fprintf(stderr, "blkbench: %s: BLKGETSIZE64: %s (not a block device?)\n", dev_path,
			strerror(errno));
		return 1;
	}
	if (dev_size < SEQ_BS) {
		fprintf(stderr, "blkbench: %s has %" PRIu64 " bytes: want at least 1 MiB\n", dev_path,
			dev_size);
		return 1;
	}
	printf("blkbench: device=%s size=%" PRIu64 " secs=%.1f\n", dev_path, dev_size, duration);
	fflush(stdout);
	for (int i = optind; i < argc; i++) {
		if (run_test(find_test(argv[i])) < 0)
			rc = 1;
	}
	close(dev_fd);
	return rc;
}
