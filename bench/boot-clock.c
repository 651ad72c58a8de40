// SPDX-License-Identifier: MIT
/*
 * boot-clock: time a VMM from process start to its guest's shell prompt.
 *
 *   boot-clock [-t SECONDS] [-v] [-e] NAME -- CMD [ARG...]
 *
 * Runs CMD on a fresh pseudo-terminal (as an interactive user would: both
 * avmm's and QEMU's stdio backends put a terminal in raw mode, and avmm
 * queues its output on a terminal differently from a pipe), reads the guest
 * console from the master side and notes CLOCK_MONOTONIC when
 * "avmm-guest: init started" and then the prompt "~ # " show up.  It then
 * types "poweroff -f" and waits for the process to end.  One line on stdout:
 *
 *   boot-clock: vmm=NAME init=1.234 prompt=1.456 exit=2.345 rc=0
 *
 * (seconds since just before fork()), or "boot-clock: vmm=NAME error=..."
 * followed by the tail of the console output.  Exit status 0 when the prompt
 * was seen and the process ended by itself, else 1.
 *
 * With -e no prompt is awaited: the time is the process's whole run ("exit="),
 * for guests that power off by themselves (the VMMs' fixed start-up cost).
 *
 * Runs inside L1 (bench/boot-time.sh), so the clock is L1's.  Needs devpts on
 * /dev/pts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define INIT_MARK "avmm-guest: init started"
#define PROMPT_MARK "~ # "
#define LOG_MAX (1 << 20)
#define TAIL 1500

static char logbuf[LOG_MAX];
static size_t loglen;
static bool verbose;
static bool exit_only;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keep the first LOG_MAX bytes; the markers all come early. */
static void log_add(const char *p, size_t n)
{
	if (verbose && write(STDERR_FILENO, p, n) < 0) {
		/* echo is best effort */
	}
	if (n > LOG_MAX - 1 - loglen)
		n = LOG_MAX - 1 - loglen;
	memcpy(logbuf + loglen, p, n);
	loglen += n;
	logbuf[loglen] = '\0';
}

static void print_tail(void)
{
	size_t off = loglen > TAIL ? loglen - TAIL : 0;
	size_t i;

	printf("boot-clock: --- last console output ---\n");
	for (i = off; i < loglen; i++) {
		unsigned char c = (unsigned char)logbuf[i];

		if (c == '\r')
			continue;
		if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f))
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf("\nboot-clock: --- end ---\n");
}

/*
 * Read whatever the child wrote within `wait_s`.  Returns false once the
 * master reports EOF/EIO, i.e. every slave descriptor is closed.
 */
static bool pump(int master, double wait_s)
{
	struct pollfd pfd = { .fd = master, .events = POLLIN };
	char buf[4096];
	ssize_t n;
	int ms = wait_s <= 0 ? 0 : (int)(wait_s * 1000) + 1;

	if (poll(&pfd, 1, ms) <= 0)
		return true;
	n = read(master, buf, sizeof(buf));
	if (n > 0) {
		log_add(buf, (size_t)n);
		return true;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	return false;
}

static int spawn(char **argv, int *master_out)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int master, slave;
	char *name;
	pid_t pid;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    !(name = ptsname(master))) {
		fprintf(stderr, "boot-clock: no pseudo-terminal: %s (devpts on /dev/pts?)\n",
			strerror(errno));
		return -1;
	}
	ioctl(master, TIOCSWINSZ, &ws);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		slave = open(name, O_RDWR);
		if (slave < 0)
			_exit(126);
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		execvp(argv[0], argv);
		fprintf(stderr, "boot-clock: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*master_out = master;
	return pid;
}

static void usage(void)
{
	fprintf(stderr, "usage: boot-clock [-t SECONDS] [-v] [-e] NAME -- CMD [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char cmd[] = "poweroff -f\n";
	double timeout = 120, t0, t_init = -1, t_prompt = -1, t_exit = -1, end;
	const char *name, *why = NULL;
	int opt, master, status = 0, rc = -1;
	bool open_ = true, killed = false;
	size_t typed = 0;
	double next_key = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+t:ve")) != -1) {
		switch (opt) {
		case 't': timeout = atof(optarg); break;
		case 'v': verbose = true; break;
		case 'e': exit_only = true; break;
		default: usage();
		}
	}
	if (argc - optind < 3 || strcmp(argv[optind + 1], "--"))
		usage();
	name = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);

	t0 = now();
	pid = spawn(argv + optind + 2, &master);
	if (pid < 0) {
		printf("boot-clock: vmm=%s error=spawn-failed\n", name);
		return 1;
	}
	end = t0 + timeout;
	for (;;) {
		double t = now();
		pid_t w;

		if (t >= end) {
			why = t_prompt < 0 && !exit_only ? "no-prompt-before-timeout" :
							     "no-exit-before-timeout";
			break;
		}
		if (open_) {
			double wait_s = end - t;

			if (t_prompt >= 0 && typed < sizeof(cmd) - 1)
				wait_s = next_key - t;
			else if (t_prompt >= 0 || exit_only)
				wait_s = wait_s < 0.05 ? wait_s : 0.05; /* poll for exit too */
			open_ = pump(master, wait_s);
		} else {
			usleep(2000);
		}
		t = now();
		if (t_init < 0 && strstr(logbuf, INIT_MARK))
			t_init = t;
		if (t_prompt < 0 && t_init >= 0 && strstr(strstr(logbuf, INIT_MARK), PROMPT_MARK)) {
			t_prompt = t;
			next_key = t;
		}
		/*
		 * Type one key at a time: several emulation layers down, a
		 * burst could overrun a UART's receive FIFO.  This is after
		 * the prompt, so it only stretches the shutdown time.
		 */
		if (t_prompt >= 0 && typed < sizeof(cmd) - 1 && t >= next_key) {
			if (write(master, cmd + typed, 1) == 1)
				typed++;
			next_key = t + 0.01;
		}
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			t_exit = now();
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			/* whatever is still buffered, for the error report */
			while (open_) {
				struct pollfd p = { .fd = master, .events = POLLIN };

				if (poll(&p, 1, 0) <= 0)
					break;
				open_ = pump(master, 0.0);
			}
			if (t_prompt < 0 && !exit_only)
				why = "exited-before-prompt";
			else if (exit_only && rc != 0)
				why = "exit-status-not-0";
			break;
		}
	}
	if (t_exit < 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		killed = true;
	}
	close(master);
	if (why) {
		printf("boot-clock: vmm=%s error=%s init=%.3f prompt=%.3f rc=%d%s\n", name, why,
		       t_init < 0 ? -1 : t_init - t0, t_prompt < 0 ? -1 : t_prompt - t0, rc,
		       killed ? " killed" : "");
		print_tail();
		return 1;
	}
	if (exit_only) {
		printf("boot-clock: vmm=%s exit=%.3f rc=%d\n", name, t_exit - t0, rc);
		return 0;
	}
	printf("boot-clock: vmm=%s init=%.3f prompt=%.3f exit=%.3f rc=%d\n", name, t_init - t0,
	       t_prompt - t0, t_exit - t0, rc);
	return 0;
}
