// SPDX-License-Identifier: MIT
/*
 * netbench: TCP throughput and request/response latency, for the virtio-net
 * benchmark (bench/net-bench.sh).  The same static binary runs in the L2
 * guest and in L1, as client or server:
 *
 *   netbench server [-1] [-m NAME] [-p SECONDS] PORT
 *   netbench client [-q] [-w SECONDS] [-d SECONDS] [-p SECONDS] [-s BYTES]
 *            HOST PORT NAME send|rr
 *   netbench idle [-d SECONDS] [-p SECONDS] NAME
 *
 * The client connects, sends a 16-byte request (magic, operation, size,
 * seconds) and then
 *   send: writes 64 KiB buffers for -d seconds (default 10), shuts down its
 *         sending side and waits for the server's 8-byte count of what it
 *         received: the time runs from connect to that reply, so data still
 *         in flight is counted in (the receiver's count is the byte count);
 *   rr:   -s bytes (default 1) each way, one transaction at a time
 *         (TCP_NODELAY), for -d seconds; each transaction is timed.
 * and prints one result line:
 *
 *   netbench: test=NAME op=send secs=10.01 bytes=123 mbps=12.3 [irqs= pkts=]
 *   netbench: test=NAME op=rr size=1 secs=10.0 trans=123 tps=12.3
 *       p50_us=800 p99_us=1500 min_us=700 max_us=9000 [irqs= pkts=]
 *
 * mbps is 10^6 bytes a second.  irqs: the interrupts of every
 * /proc/interrupts line naming "virtio", pkts: packets sent plus received
 * on every interface but lo (/sys/class/net/), both over the test; printed
 * when there is a virtio line (in the guest).  Around the test the client
 * prints "@@B NAME" and "@@E NAME" and pauses -p seconds (default 1) after
 * each, so that a watcher of the console (bench/net-l1.sh) can read its
 * counters while the link is quiet; -q leaves the markers and pauses out,
 * -w waits that long before connecting.
 *
 * idle does nothing for -d seconds between its markers and prints
 * "netbench: test=NAME op=idle secs= [irqs= pkts=]": the background.
 *
 * The server serves connections one after the other, forever, or with -1
 * one and exits; with -m NAME it prints the markers around that connection
 * itself ("@@B" once it listens, "@@E" after it has replied) and, after the
 * pause, "netbench-server: test=NAME bytes= irqs= pkts=": the guest's side
 * of a test that L1 drives.  Exit status 0 when everything ran, 1 on a
 * network error, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchclock.h"

#define NB_MAGIC 0x6e657462u /* "netb" */
#define NB_OP_SEND 1u
#define NB_OP_RR 2u
#define NB_BUF (64u << 10)
#define NB_RR_MAX 65536u
#define NB_MAX_SAMPLES (1u << 20)

struct nb_req {
	uint32_t magic;
	uint32_t op;
	uint32_t size;
	uint32_t secs;
};

struct nb_counts {
	uint64_t irqs;
	uint64_t pkts;
	bool have_irqs;
};

static double pause_secs = 1.0;
static bool quiet;
static char buf[NB_BUF];

/* A marker goes out in one write(): a line the watcher reads whole. */
static void marker(const char *what, const char *test)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "@@%s %s\n", what, test);

	fflush(stdout);
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		perror("netbench: write marker");
}

/* The sum over CPUs of every /proc/interrupts line that names virtio. */
static void read_irqs(struct nb_counts *c)
{
	char line[512];
	FILE *fp = fopen("/proc/interrupts", "r");

	c->irqs = 0;
	c->have_irqs = false;
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *p = strchr(line, ':');

		if (!p || !strstr(line, "virtio"))
			continue;
		c->have_irqs = true;
		for (p++;;) {
			char *end;
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			c->irqs += v;
			p = end;
		}
	}
	fclose(fp);
}

static uint64_t read_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return 0;
	if (fscanf(fp, "%llu", &v) != 1)
		v = 0;
	fclose(fp);
	return v;
}

static void read_counts(struct nb_counts *c)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;
	char path[300];

	read_irqs(c);
	c->pkts = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "lo"))
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_packets", e->d_name);
		c->pkts += read_u64(path);
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_packets", e->d_name);
		c->pkts += read_u64(path);
	}
	closedir(d);
}

static void print_counts(const struct nb_counts *b, const struct nb_counts *e)
{
	if (e->have_irqs)
		printf(" irqs=%llu pkts=%llu", (unsigned long long)(e->irqs - b->irqs),
		       (unsigned long long)(e->pkts - b->pkts));
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 1: all of len read, 0: EOF before any byte, -1: error or a short read. */
static int read_all(int fd, void *p, size_t len)
{
	char *c = p;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, c + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return got ? -1 : 0;
		got += (size_t)n;
	}
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- server ------------------------------------------------------------- */

/* One connection: its request, then sink or echo.  Bytes received or -1. */
static long long serve_one(int fd)
{
	struct nb_req rq;
	long long total = 0;
	int one = 1;

	if (read_all(fd, &rq, sizeof(rq)) != 1 || ntohl(rq.magic) != NB_MAGIC) {
		fprintf(stderr, "netbench: server: bad request\n");
		return -1;
	}
	switch (ntohl(rq.op)) {
	case NB_OP_SEND:
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				perror("netbench: server: read");
				return -1;
			}
			if (n == 0)
				break;
			total += n;
		}
		{
			uint32_t w[2] = { htonl((uint32_t)((uint64_t)total >> 32)),
					  htonl((uint32_t)total) };

			if (write_all(fd, w, sizeof(w)) < 0)
				return -1;
		}
		return total;
	case NB_OP_RR: {
		uint32_t size = ntohl(rq.size);

		if (size == 0 || size > NB_RR_MAX) {
			fprintf(stderr, "netbench: server: bad rr size %u\n", size);
			return -1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (;;) {
			int r = read_all(fd, buf, size);

			if (r == 0)
				return total;
			if (r < 0 || write_all(fd, buf, size) < 0)
				return -1;
			total += size;
		}
	}
	default:
		fprintf(stderr, "netbench: server: unknown operation %u\n", ntohl(rq.op));
		return -1;
	}
}

static int do_server(int argc, char **argv)
{
	bool once = false;
	const char *name = NULL;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	int opt, lfd, one = 1;

	while ((opt = getopt(argc, argv, "1m:p:")) != -1) {
		switch (opt) {
		case '1': once = true; break;
		case 'm': name = optarg; break;
		case 'p': pause_secs = atof(optarg); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: netbench server [-1] [-m NAME] [-p SECONDS] PORT\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[optind]));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		perror("netbench: server: listen");
		return 1;
	}
	if (name)
		marker("B", name);
	for (;;) {
		struct nb_counts b, e;
		long long got;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("netbench: server: accept");
			return 1;
		}
		read_counts(&b);
		got = serve_one(fd);
		read_counts(&e);
		close(fd);
		if (name) {
			marker("E", name);
			sleep_secs(pause_secs);
			printf("netbench-server: test=%s bytes=%lld", name, got);
			print_counts(&b, &e);
			printf("\n");
			fflush(stdout);
		}
		if (once)
			return got < 0;
	}
}

/* ---- client ------------------------------------------------------------- */

/* Numeric addresses only: a static binary's getaddrinfo would want NSS. */
static int connect_to(const char *host, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int fd;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "netbench: %s: not an IPv4 address\n", host);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "netbench: connect %s:%s: %s\n", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	return fd;
}

static int run_send(int fd, const char *name, double secs)
{
	struct nb_counts b, e;
	uint32_t w[2];
	uint64_t got;
	double t0, end, t1;
	int r;

	read_counts(&b);
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		if (write_all(fd, buf, sizeof(buf)) < 0) {
			perror("netbench: send");
			return 1;
		}
	}
	shutdown(fd, SHUT_WR);
	r = read_all(fd, w, sizeof(w));
	t1 = now();
	read_counts(&e);
	if (r != 1) {
		fprintf(stderr, "netbench: send: no count from the server\n");
		return 1;
	}
	got = ((uint64_t)ntohl(w[0]) << 32) | ntohl(w[1]);
	if (!quiet) {
		marker("E", name);
		sleep_secs(pause_secs);
	}
	printf("netbench: test=%s op=send secs=%.3f bytes=%llu mbps=%.3f", name, t1 - t0,
	       (unsigned long long)got, got / (t1 - t0) / 1e6);
	print_counts(&b, &e);
	printf("\n");
	return 0;
}

static int run_rr(int fd, const char *name, double secs, uint32_t size)
{
	static double lat[NB_MAX_SAMPLES];
	struct nb_counts b, e;
	unsigned long long trans = 0;
	double t0, end, t, t1;
	size_t n = 0;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	read_counts(&b);
	t0 = now();
	end = t0 + secs;
	for (t = t0; t < end;) {
		double t2;

		if (write_all(fd, buf, size) < 0 || read_all(fd, buf, size) != 1) {
			perror("netbench: rr");
			return 1;
		}
		t2 = now();
		if (n < NB_MAX_SAMPLES)
			lat[n++] = t2 - t;
		trans++;
		t = t2;
	}
	t1 = t;
	read_counts(&e);
	shutdown(fd, SHUT_WR);
	if (!quiet) {
		marker("E", name);
		sleep_secs(pause_secs);
	}
	qsort(lat, n, sizeof(lat[0]), cmp_double);
	printf("netbench: test=%s op=rr size=%u secs=%.3f trans=%llu tps=%.1f p50_us=%.0f "
	       "p99_us=%.0f min_us=%.0f max_us=%.0f",
	       name, size, t1 - t0, trans, trans / (t1 - t0), lat[n / 2] * 1e6,
	       lat[n * 99 / 100] * 1e6, lat[0] * 1e6, lat[n - 1] * 1e6);
	print_counts(&b, &e);
	printf("\n");
	return 0;
}

static int do_client(int argc, char **argv)
{
	double secs = 10, wait = 0;
	uint32_t size = 1;
	struct nb_req rq;
	const char *name;
	int opt, fd, rc;
	uint32_t op;

	while ((opt = getopt(argc, argv, "qw:d:p:s:")) != -1) {
		switch (opt) {
		case 'q': quiet = true; break;
		case 'w': wait = atof(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'p': pause_secs = atof(optarg); break;
		case 's': size = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (optind + 4 != argc || secs <= 0 || size == 0 || size > NB_RR_MAX) {
		fprintf(stderr, "usage: netbench client [-q] [-w S] [-d S] [-p S] [-s BYTES] "
				"HOST PORT NAME send|rr\n");
		return 2;
	}
	name = argv[optind + 2];
	if (!strcmp(argv[optind + 3], "send")) {
		op = NB_OP_SEND;
	} else if (!strcmp(argv[optind + 3], "rr")) {
		op = NB_OP_RR;
	} else {
		fprintf(stderr, "netbench: unknown operation %s (send, rr)\n", argv[optind + 3]);
		return 2;
	}
	if (!quiet) {
		marker("B", name);
		sleep_secs(pause_secs);
	}
	if (wait > 0)
		sleep_secs(wait);
	fd = connect_to(argv[optind], argv[optind + 1]);
	if (fd < 0)
		return 1;
	rq = (struct nb_req){ htonl(NB_MAGIC), htonl(op), htonl(size), htonl((uint32_t)secs) };
	if (write_all(fd, &rq, sizeof(rq)) < 0) {
		perror("netbench: request");
		close(fd);
		return 1;
	}
	rc = op == NB_OP_SEND ? run_send(fd, name, secs) : run_rr(fd, name, secs, size);
	close(fd);
	fflush(stdout);
	return rc;
}

static int do_idle(int argc, char **argv)
{
	struct nb_counts b, e;
	double secs = 10, t0;
	int opt;

	while ((opt = getopt(argc, argv, "d:p:")) != -1) {
		switch (opt) {
		case 'd': secs = atof(optarg); break;
		case 'p': pause_secs = atof(optarg); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: netbench idle [-d S] [-p S] NAME\n");
		return 2;
	}
	marker("B", argv[optind]);
	sleep_secs(pause_secs);
	read_counts(&b);
	t0 = now();
	sleep_secs(secs);
	read_counts(&e);
	t0 = now() - t0;
	marker("E", argv[optind]);
	sleep_secs(pause_secs);
	printf("netbench: test=%s op=idle secs=%.3f", argv[optind], t0);
	print_counts(&b, &e);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	memset(buf, 0x5a, sizeof(buf));
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return do_server(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return do_client(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "idle"))
		return do_idle(argc - 1, argv + 1);
	fprintf(stderr, "usage: netbench server|client|idle ... (see bench/netbench.c)\n");
	return 2;
}
