/* SPDX-License-Identifier: MIT */
/*
 * End to end through the avmm binary: every bad machine description must be
 * refused before a VM starts, with file:line, section, key and a message,
 * and exit status 2; --check, --dump-dtb and --list-plugins on good ones.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libfdt.h>

#include "testutil.h"

struct run {
	int status;
	char out[65536];
	char err[65536];
};

static void drain(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/*
 * Check packs a failure message into a bounded buffer: quote at most 3000
 * bytes of stderr (a sanitizer report can be far longer), or the failure
 * turns into "Message string too long" and an early exit.
 */
#define EXPECT_STATUS(r, want)                                                              \
	ck_assert_msg((r)->status == (want), "status %d, want %d; stderr: %.3000s", (r)->status, \
		      (want), (r)->err)

/* Run avmm with argv (NULL-terminated, without argv[0]). */
static struct run *run_avmm(const char *const *args)
{
	static struct run r;
	const char *argv[32] = {AVMM_BIN};
	int out[2], err[2];
	pid_t pid;
	size_t i;

	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		unsetenv("AVMM_PLUGIN_PATH");
		execv(AVMM_BIN, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* stderr is small for these runs; read stdout after it. */
	drain(err[0], r.err, sizeof(r.err));
	drain(out[0], r.out, sizeof(r.out));
	close(out[0]);
	close(err[0]);
	waitpid(pid, &r.status, 0);
	r.status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
	return &r;
}

static const char *dir(void)
{
	static char *d;

	if (!d) {
		d = strdup(test_tmpdir());
		/* A raw guest image: the CLI tests never run it. */
		free(write_text(d, "k.bin", "\x40\x05\x80\xd2\x00\x00\x20\xd4"));
	}
	return d;
}

/* The valid machine the bad cases are derived from. */
static const char base_ini[] = "[machine]\n"		   /* 1 */
			       "cpus = 1\n"		   /* 2 */
			       "memory = 64M\n"		   /* 3 */
			       "\n"			   /* 4 */
			       "[boot]\n"		   /* 5 */
			       "format = raw\n"		   /* 6 */
			       "kernel = k.bin\n"	   /* 7 */
			       "load-address = 0x40080000\n" /* 8 */
			       "\n"			   /* 9 */
			       "[device gic]\n"		   /* 10 */
			       "plugin = gicv2\n"	   /* 11 */
			       "dist-base = 0x08000000\n"  /* 12 */
			       "cpu-base = 0x08010000\n"   /* 13 */
			       "\n"			   /* 14 */
			       "[device uart0]\n"	   /* 15 */
			       "plugin = pl011\n"	   /* 16 */
			       "base = 0x09000000\n"	   /* 17 */
			       "irq = 1\n"		   /* 18 */
			       "chardev = null\n"	   /* 19 */
			       "\n"			   /* 20 */
			       "[device timer]\n"	   /* 21 */
			       "plugin = virt-timer\n";	   /* 22 */

/* base_ini with line `line` (1-based) replaced by `repl` (may hold several lines). */
static char *edit(int line, const char *repl)
{
	static char buf[8192];
	const char *p = base_ini;
	size_t n = 0;

	for (int l = 1; *p; l++) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p) + 1;

		if (l == line)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", repl);
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%.*s", (int)len, p);
		p += len;
	}
	return buf;
}

static char *append(const char *extra)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), "%s%s", base_ini, extra);
	return buf;
}

/*
 * Write `ini`, run --check on it, and require status 2 and a first stderr
 * line of exactly "<path>:<want>" (want starts after the file name), or
 * containing `want` when exact is false.
 */
static void expect_config_error(const char *ini, const char *want, bool exact,
				const char *extra_arg)
{
	char *path = write_text(dir(), "c.ini", ini);
	const char *args[] = {"--check", "-c", path, extra_arg, extra_arg ? NULL : NULL, NULL};
	char line[2048], full[2048];
	struct run *r;
	char *nl;

	if (extra_arg) {
		args[3] = "-s";
		args[4] = extra_arg;
	}
	r = run_avmm(args);
	snprintf(line, sizeof(line), "%.2000s", r->err);
	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	ck_assert_msg(r->status == 2, "status %d for\n%s\nstderr: %.3000s", r->status, ini, r->err);
	if (exact) {
		snprintf(full, sizeof(full), "%s%s", want[0] == '-' || !strncmp(want, "avmm:", 5)
				 ? "" : path, want);
		ck_assert_msg(!strcmp(line, full), "\nwant: %s\ngot:  %s", full, line);
	} else {
		ck_assert_msg(!strncmp(line, path, strlen(path)) && strstr(line, want),
			      "\nwant: %s...%s\ngot:  %s", path, want, line);
	}
	ck_assert_msg(!strstr(r->out, "configuration OK"), "a bad config passed --check");
	free(path);
}

#define EXACT(ini, want) expect_config_error(ini, want, true, NULL)
#define CONTAINS(ini, want) expect_config_error(ini, want, false, NULL)

START_TEST(good_config_checks)
{
	char *path = write_text(dir(), "good.ini", base_ini);
	const char *args[] = {"--check", "-c", path, NULL};
	struct run *r = run_avmm(args);

	ck_assert_msg(r->status == 0, "status %d: %.3000s", r->status, r->err);
	ck_assert_str_eq(r->err, "");
	ck_assert_msg(strstr(r->out, "0x0008000000-0x000800ffff  mmio    gic (gicv2)"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "0x0008010000-0x000801ffff  mmio    gic (gicv2)"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "0x0009000000-0x0009000fff  mmio    uart0 (pl011)"), "%s",
		      r->out);
	ck_assert_msg(strstr(r->out, "0x0040000000-0x0043ffffff  ram     64 MiB"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "line 1    uart0        <0 1 4>"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "cpu timers -> timer"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "configuration OK"), "%s", r->out);
	free(path);
}
END_TEST

START_TEST(syntax_error)
{
	EXACT(edit(3, "memory 64M\n"), ":3: syntax error: expected '[section]' or 'key = value'");
}
END_TEST

START_TEST(unknown_machine_key)
{
	EXACT(edit(2, "cpus = 1\ncpsu = 2\n"),
	      ":3: [machine] cpsu: unknown key (misspelt, or not supported here)");
}
END_TEST

START_TEST(unknown_device_key)
{
	EXACT(edit(19, "chardev = null\nbaud = 9600\n"),
	      ":20: [device uart0] baud: unknown key (misspelt, or not supported here)");
}
END_TEST

START_TEST(unknown_boot_key)
{
	EXACT(edit(7, "kernel = k.bin\ncmdlin = quiet\n"),
	      ":8: [boot] cmdlin: unknown key (misspelt, or not supported here)");
}
END_TEST

START_TEST(malformed_number)
{
	EXACT(edit(3, "memory = 64Q\n"), ":3: [machine] memory: '64Q' is not a number (use e.g. "
					 "42, 0x2a, 0b101010, 512M, 2G)");
}
END_TEST

START_TEST(zero_cpus)
{
	EXACT(edit(2, "cpus = 0\n"), ":2: [machine] cpus: 0 vCPUs: use 1 to 8 (GICv2 limit)");
}
END_TEST

START_TEST(too_many_cpus)
{
	EXACT(edit(2, "cpus = 9\n"), ":2: [machine] cpus: 9 vCPUs: use 1 to 8 (GICv2 limit)");
}
END_TEST

START_TEST(zero_ram)
{
	EXACT(edit(3, "memory = 0\n"), ":3: [machine] memory: guest RAM cannot be empty");
}
END_TEST

START_TEST(unaligned_ram)
{
	EXACT(edit(3, "memory = 1000K\n"),
	      ":3: [machine] memory: 0xfa000 is not a multiple of 16K (Apple Silicon pages); use "
	      "e.g. 512M");
}
END_TEST

START_TEST(unaligned_ram_base)
{
	EXACT(edit(3, "memory = 64M\nram-base = 0x40001000\n"),
	      ":4: [machine] ram-base: 0x40001000 is not 16K aligned");
}
END_TEST

START_TEST(missing_kernel_file)
{
	char want[512];

	snprintf(want, sizeof(want),
		 ":7: [boot] kernel: cannot read '%s/nope.bin': No such file or directory", dir());
	EXACT(edit(7, "kernel = nope.bin\n"), want);
}
END_TEST

START_TEST(missing_initrd_file)
{
	char want[512];

	snprintf(want, sizeof(want),
		 ":8: [boot] initrd: cannot read '%s/initrd.gz': No such file or directory", dir());
	EXACT(edit(7, "kernel = k.bin\ninitrd = initrd.gz\n"), want);
}
END_TEST

START_TEST(no_boot_section)
{
	EXACT("[machine]\ncpus = 1\n",
	      ": no [boot] section: say which kernel to run (kernel = PATH)");
}
END_TEST

START_TEST(unknown_section)
{
	EXACT(edit(1, "[machin]\n"),
	      ":1: [machin]: unknown section; expected [machine], [boot] or [device NAME]");
}
END_TEST

START_TEST(bad_device_name)
{
	EXACT(edit(15, "[device uart 0]\n"),
	      ":15: [device uart 0]: device name 'uart 0' may only use letters, digits, '-' and "
	      "'_'");
}
END_TEST

START_TEST(missing_plugin_key)
{
	EXACT(edit(16, "\n"), ":15: [device uart0] plugin: missing: say which plugin implements "
			      "this device, e.g. plugin = pl011");
}
END_TEST

START_TEST(plugin_not_found)
{
	CONTAINS(edit(16, "plugin = pl012\n"),
		 ":16: [device uart0] plugin: no plugin 'pl012' (pl012.so) in ");
}
END_TEST

START_TEST(mmio_overlap)
{
	char want[512];

	snprintf(want, sizeof(want),
		 ":26: [device uart1] base: MMIO 0x9000000-0x9000fff overlaps [device uart0] at "
		 "0x9000000-0x9000fff (%s/c.ini:17)",
		 dir());
	EXACT(append("\n[device uart1]\nplugin = pl011\nbase = 0x09000000\nirq = 2\nchardev = "
		     "null\n"),
	      want);
}
END_TEST

START_TEST(mmio_overlaps_ram)
{
	EXACT(edit(17, "base = 0x40000000\n"),
	      ":17: [device uart0] base: MMIO 0x40000000-0x40000fff overlaps RAM "
	      "0x40000000-0x43ffffff ([machine] ram-base, memory)");
}
END_TEST

START_TEST(irq_out_of_range)
{
	CONTAINS(edit(18, "irq = 5000\n"), ":18: [device uart0] irq: line 5000 is outside gic's "
					   "lines 0-");
}
END_TEST

START_TEST(irq_already_used)
{
	EXACT(append("\n[device uart1]\nplugin = pl011\nbase = 0x09001000\nirq = 1\nchardev = "
		     "null\n"),
	      ":27: [device uart1] irq: line 1 is already used by [device uart0]");
}
END_TEST

START_TEST(irq_missing)
{
	EXACT(edit(18, "\n"),
	      ":15: [device uart0] irq: missing: this device needs an interrupt line");
}
END_TEST

START_TEST(no_interrupt_controller)
{
	static const char ini[] = "[boot]\n"
				  "format = raw\n"
				  "kernel = k.bin\n"
				  "load-address = 0x40080000\n"
				  "[device uart0]\n"
				  "plugin = pl011\n"
				  "base = 0x09000000\n"
				  "irq = 1\n";

	EXACT(ini, ":8: [device uart0] irq: no interrupt controller: add a [device] section with "
		   "plugin = gicv2");
}
END_TEST

START_TEST(duplicate_key)
{
	EXACT(edit(3, "memory = 64M\ncpus = 2\n"),
	      ":4: [machine] cpus: duplicate key (first at line 2)");
}
END_TEST

START_TEST(duplicate_section)
{
	EXACT(append("\n[device uart0]\nplugin = pl011\n"),
	      ":24: duplicate section [device uart0] (first at line 15)");
}
END_TEST

START_TEST(bad_boot_format)
{
	EXACT(edit(6, "format = elf\n"), ":6: [boot] format: 'elf': use linux or raw");
}
END_TEST

START_TEST(raw_without_load_address)
{
	EXACT(edit(8, "\n"),
	      ":5: [boot] load-address: missing: format = raw needs the load address");
}
END_TEST

START_TEST(bad_accel)
{
	EXACT(edit(2, "cpus = 1\naccel = xen\n"), ":3: [machine] accel: 'xen': use auto, kvm or "
						  "hvf");
}
END_TEST

START_TEST(bad_bool)
{
	EXACT(append("always-on = maybe\n"),
	      ":23: [device timer] always-on: 'maybe' is not a boolean (use true or false)");
}
END_TEST

START_TEST(plugin_newer_minor)
{
	char ini[8192], want[1024];

	snprintf(ini, sizeof(ini), "%s\n[device t]\nplugin = %s/tp_newminor%s\n", base_ini,
		 TP_DIR, strstr(AVMM_BIN, ".exe") ? "" : ".so");
	snprintf(want, sizeof(want),
		 ":25: [device t] plugin: %s/tp_newminor.so: built for plugin ABI 1.2, this avmm "
		 "provides 1.1; rebuild the plugin against this avmm's headers",
		 TP_DIR);
	EXACT(ini, want);
}
END_TEST

START_TEST(plugin_major_mismatch)
{
	char ini[8192];

	snprintf(ini, sizeof(ini), "%s\n[device t]\nplugin = %s/tp_major.so\n", base_ini, TP_DIR);
	CONTAINS(ini, "tp_major.so: built for plugin ABI 2.1, this avmm provides 1.1");
}
END_TEST

START_TEST(plugin_init_fails_with_message)
{
	char ini[8192];

	snprintf(ini, sizeof(ini), "%s\n[device t]\nplugin = %s/tp_failinit.so\n", base_ini,
		 TP_DIR);
	EXACT(ini, ":24: [device t]: tp_failinit: the widget is not plugged in (test failure)");
}
END_TEST

START_TEST(unknown_key_of_test_plugin)
{
	char ini[8192];

	snprintf(ini, sizeof(ini), "%s\n[device t]\nplugin = %s/tp_good.so\nvalue = 3\nvalu = 4\n",
		 base_ini, TP_DIR);
	EXACT(ini, ":27: [device t] valu: unknown key (misspelt, or not supported here)");
}
END_TEST

START_TEST(second_irqchip)
{
	EXACT(append("\n[device gic2]\nplugin = gicv2\ndist-base = 0x08100000\ncpu-base = "
		     "0x08110000\n"),
	      ":24: [device gic2]: a second interrupt controller; [device gic] is one");
}
END_TEST

START_TEST(override_bad_value)
{
	expect_config_error(base_ini, "avmm: -s machine.cpus=abc: 'abc' is not a number (use e.g. "
				      "42, 0x2a, 0b101010, 512M, 2G)",
			    true, "machine.cpus=abc");
}
END_TEST

START_TEST(device_reported_errors)
{
	/* Plugins' own checks report through cfg_error at their key's line. */
	CONTAINS(edit(12, "dist-base = 0x08000100\n"), ":12: [device gic] dist-base: ");
	CONTAINS(edit(17, "base = 0x09000004\n"), ":17: [device uart0] base: ");
	CONTAINS(edit(8, "load-address = 0x1000\n"), ": [boot] kernel: ");
}
END_TEST

START_TEST(missing_config_file)
{
	const char *args[] = {"-c", "/nonexistent/machine.ini", NULL};
	struct run *r = run_avmm(args);

	EXPECT_STATUS(r, 2);
	ck_assert_str_eq(r->err, "/nonexistent/machine.ini: cannot open machine description: No "
				 "such file or directory\n");
}
END_TEST

START_TEST(dump_dtb)
{
	char *path = write_text(dir(), "dt.ini", edit(6, "format = raw\n"));
	char dtb[512];
	const char *args[] = {"-c", path, "-s", "boot.cmdline=console=ttyAMA0 quiet", "--dump-dtb",
			      dtb, NULL};
	static char blob[1 << 20];
	const void *prop;
	struct run *r;
	int node, len;
	fdt64_t size;
	FILE *f;
	size_t n;

	snprintf(dtb, sizeof(dtb), "%s/out.dtb", dir());
	r = run_avmm(args);
	ck_assert_msg(r->status == 0, "status %d: %.3000s", r->status, r->err);
	f = fopen(dtb, "rb");
	ck_assert_ptr_nonnull(f);
	n = fread(blob, 1, sizeof(blob), f);
	fclose(f);
	ck_assert_int_eq(fdt_check_full(blob, n), 0);

	ck_assert_int_ge(fdt_path_offset(blob, "/cpus/cpu@0"), 0);
	ck_assert_int_ge(fdt_path_offset(blob, "/psci"), 0);
	node = fdt_path_offset(blob, "/memory@40000000");
	ck_assert_int_ge(node, 0);
	prop = fdt_getprop(blob, node, "reg", &len);
	ck_assert_int_eq(len, 16);
	/* Property data is only 4-byte aligned: no fdt64_t load through prop. */
	memcpy(&size, (const char *)prop + 8, sizeof(size));
	ck_assert_uint_eq(fdt64_to_cpu(size), 64ull << 20);
	node = fdt_path_offset(blob, "/chosen");
	ck_assert_str_eq(fdt_getprop(blob, node, "bootargs", NULL), "console=ttyAMA0 quiet");
	ck_assert_ptr_nonnull(fdt_getprop(blob, node, "rng-seed", NULL));
	ck_assert_str_eq(fdt_getprop(blob, node, "stdout-path", NULL), "/pl011@9000000");

	node = fdt_path_offset(blob, "/intc@8000000");
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_node_check_compatible(blob, node, "arm,cortex-a15-gic"), 0);
	/* The root's interrupt-parent is the GIC. */
	ck_assert_uint_eq(fdt_get_phandle(blob, node),
			  fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(blob, 0, "interrupt-parent",
								   NULL)));
	node = fdt_path_offset(blob, "/pl011@9000000");
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_node_check_compatible(blob, node, "arm,pl011"), 0);
	prop = fdt_getprop(blob, node, "interrupts", &len);
	ck_assert_int_eq(len, 12);
	ck_assert_uint_eq(fdt32_to_cpu(((const fdt32_t *)prop)[0]), 0); /* SPI */
	ck_assert_uint_eq(fdt32_to_cpu(((const fdt32_t *)prop)[1]), 1);
	node = fdt_node_offset_by_compatible(blob, -1, "arm,armv8-timer");
	ck_assert_int_ge(node, 0);
	free(path);
}
END_TEST

START_TEST(list_plugins)
{
	const char *args[] = {"--list-plugins", NULL};
	struct run *r = run_avmm(args);

	EXPECT_STATUS(r, 0);
	ck_assert_msg(strstr(r->out, "pl011        ABI 1.1"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "gicv2        ABI 1.1  irqchip"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "virt-timer   ABI 1.1"), "%s", r->out);
	ck_assert_msg(strstr(r->out, "virtio-mmio  ABI 1.1  virtio-mmio v2 devices: type = blk | rng | console | net"),
		      "%s", r->out);
}
END_TEST

/* --list-plugins -c uses the machine's search path, relative plugin-path included. */
START_TEST(list_plugins_with_config_path)
{
	char link[512], *path;
	const char *args[] = {"--list-plugins", "-c", NULL, NULL};
	struct run *r;

	snprintf(link, sizeof(link), "%s/tpdir", dir());
	unlink(link);
	ck_assert_int_eq(symlink(TP_DIR, link), 0);
	path = write_text(dir(), "lp.ini", "[machine]\nplugin-path = tpdir\n[boot]\nkernel = k.bin\n");
	args[2] = path;
	r = run_avmm(args); /* the cwd is the build tree, not dir() */
	EXPECT_STATUS(r, 0);
	ck_assert_msg(strstr(r->out, "tp_good      ABI 1.1"), "%s", r->out);
	free(path);
}
END_TEST

START_TEST(usage_errors)
{
	const char *none[] = {NULL};
	const char *bad_timeout[] = {"--timeout", "soon", "-c", "x.ini", NULL};
	const char *version[] = {"--version", NULL};
	struct run *r = run_avmm(none);

	EXPECT_STATUS(r, 2);
	ck_assert_msg(strstr(r->err, "no machine description"), "%s", r->err);
	r = run_avmm(bad_timeout);
	EXPECT_STATUS(r, 2);
	ck_assert_str_eq(r->err, "avmm: --timeout soon: give whole seconds, e.g. 30\n");
	r = run_avmm(version);
	EXPECT_STATUS(r, 0);
	ck_assert_msg(!strncmp(r->out, "avmm 0.1.0 (plugin ABI 1.1)", 27), "%s", r->out);
}
END_TEST

/* A minimal valid arm64 Image header (booting.rst) with a little payload. */
static char *fake_image(void)
{
	static char path[512];
	uint8_t img[4096] = {0};
	FILE *f;

	img[0] = 0x4d; /* "MZ"-style code0 is irrelevant; magic and sizes matter */
	img[16] = 0x00; img[17] = 0x00; img[18] = 0x02; /* image_size 0x20000 */
	img[24] = 0x0a;                                 /* LE, 4K pages, anywhere */
	memcpy(img + 56, "ARM\x64", 4);
	snprintf(path, sizeof(path), "%s/Image", dir());
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(img, 1, sizeof(img), f), sizeof(img));
	fclose(f);
	return path;
}

/* Every machine description we ship passes --check (with stand-in images). */
START_TEST(shipped_configs_check)
{
	static const char *const cfgs[] = {"linux-virt.ini", "hello.ini", "fibonacci.ini",
					   "hang.ini"};
	char *image = fake_image();

	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		char path[512], kernel[600], initrd[600];
		bool linux = i == 0;
		const char *args[] = {"--check", "-c", path, "-s", kernel,
				      linux ? "-s" : NULL, initrd, NULL};
		struct run *r;

		snprintf(path, sizeof(path), "%s/configs/%s", SRC_DIR, cfgs[i]);
		if (linux)
			snprintf(kernel, sizeof(kernel), "boot.kernel=%s", image);
		else
			snprintf(kernel, sizeof(kernel), "boot.kernel=%s/k.bin", dir());
		snprintf(initrd, sizeof(initrd), "boot.initrd=%s/k.bin", dir());
		r = run_avmm(args);
		ck_assert_msg(r->status == 0, "%s: status %d: %.3000s", cfgs[i], r->status, r->err);
		ck_assert_msg(strstr(r->out, "configuration OK"), "%s: %s", cfgs[i], r->out);
		if (linux) {
			ck_assert_msg(strstr(r->out, "uart0 (pl011)"), "%s", r->out);
			ck_assert_msg(strstr(r->out, "  initrd 0x"), "%s", r->out);
		}
	}
}
END_TEST

/* ---- config and boot edge cases ------------------------------------------ */

/* Beyond inih's 200-byte line buffer, with the lines after it still counted. */
START_TEST(long_line_accepted)
{
	static char repl[6000];
	int n;

	n = snprintf(repl, sizeof(repl), "kernel = k.bin\ncmdline = ");
	for (int i = 0; i < 4500; i++)
		repl[n++] = i % 16 == 15 ? ' ' : 'c';
	snprintf(repl + n, sizeof(repl) - (size_t)n, "\ncmdlin = quiet\n");
	EXACT(edit(7, repl), ":9: [boot] cmdlin: unknown key (misspelt, or not supported here)");
}
END_TEST

START_TEST(device_named_boot)
{
	EXACT(edit(21, "[device boot]\n"),
	      ":21: [device boot]: 'boot' is the name of the [boot] section; call the device "
	      "something else");
}
END_TEST

START_TEST(device_named_machine)
{
	EXACT(edit(21, "[device machine]\n"),
	      ":21: [device machine]: 'machine' is the name of the [machine] section; call the "
	      "device something else");
}
END_TEST

START_TEST(device_name_after_two_blanks)
{
	EXACT(append("\n[device  uart0]\nplugin = pl011\n"),
	      ":24: duplicate device 'uart0' (first at line 15)");
}
END_TEST

START_TEST(device_name_after_tab)
{
	EXACT(append("\n[device\tuart0]\nplugin = pl011\n"),
	      ":24: duplicate device 'uart0' (first at line 15)");
}
END_TEST

/* A byte-order mark before the first header: the section is still line 1's. */
START_TEST(section_after_bom)
{
	static char ini[8192];

	snprintf(ini, sizeof(ini), "\xef\xbb\xbf[device uart1]\nbase = 0x09001000\nirq = 2\n%s",
		 base_ini);
	EXACT(ini, ":1: [device uart1] plugin: missing: say which plugin implements this device, "
		   "e.g. plugin = pl011");
}
END_TEST

START_TEST(section_with_inner_blanks)
{
	static char ini[8192];

	snprintf(ini, sizeof(ini), "[ machine ]\ncpus = 0\n%s", strstr(base_ini, "memory ="));
	EXACT(ini, ":2: [machine] cpus: 0 vCPUs: use 1 to 8 (GICv2 limit)");
}
END_TEST

/* inih keeps 49 bytes of a section name; the keys must stay with their header. */
START_TEST(section_with_long_name)
{
	EXACT(append("\n[device uart_with_a_name_longer_than_what_inih_keeps_of_it]\n"
		     "plugin = pl011\nbase = 0x09001000\nchardev = null\n"),
	      ":24: [device uart_with_a_name_longer_than_what_inih_keeps_of_it] irq: missing: "
	      "this device needs an interrupt line");
}
END_TEST

START_TEST(indented_continuation_line)
{
	EXACT(edit(3, "memory = 64M\n  cpus = 2\n"),
	      ":4: indented line: INI reads it as more of the value above; remove the "
	      "indentation, or join the lines");
}
END_TEST

/* A plugin named by a path is found relative to the file, not the cwd. */
START_TEST(plugin_path_relative_to_file)
{
	char ini[8192], want[1024], sub[600], link[700], target[600];
	const char *so = strstr(AVMM_BIN, ".exe") ? "" : ".so";

	snprintf(sub, sizeof(sub), "%s/sub", dir());
	snprintf(link, sizeof(link), "%s/tp_newminor%s", sub, so);
	snprintf(target, sizeof(target), "%s/tp_newminor%s", TP_DIR, so);
	ck_assert(mkdir(sub, 0755) == 0 || errno == EEXIST);
	ck_assert(symlink(target, link) == 0 || errno == EEXIST);
	snprintf(ini, sizeof(ini), "%s\n[device t]\nplugin = sub/tp_newminor%s\n", base_ini, so);
	snprintf(want, sizeof(want),
		 ":25: [device t] plugin: %s: built for plugin ABI 1.2, this avmm provides 1.1; "
		 "rebuild the plugin against this avmm's headers",
		 link);
	EXACT(ini, want);
}
END_TEST

static struct run *check_ini(const char *ini)
{
	char *path = write_text(dir(), "c.ini", ini);
	const char *args[] = {"--check", "-c", path, NULL};
	struct run *r = run_avmm(args);

	free(path);
	return r;
}

/* --check runs nothing: a log file keeps what the last run wrote. */
START_TEST(check_keeps_file_log)
{
	char repl[700], *log = write_text(dir(), "uart.log", "last run\n");
	struct run *r;
	char got[64] = "";
	FILE *f;

	snprintf(repl, sizeof(repl), "chardev = file:%s\n", log);
	r = check_ini(edit(19, repl));
	ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
	fclose(f);
	ck_assert_str_eq(got, "last run\n");
	free(log);
}
END_TEST

/* ...nor binds a socket: a stale one stays as it was, for the real run. */
START_TEST(check_binds_no_socket)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char repl[700];
	struct stat before, after;
	struct run *r;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console.sock", dir());
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* stale: nobody listens */
	ck_assert_int_eq(stat(sa.sun_path, &before), 0);
	snprintf(repl, sizeof(repl), "chardev = unix:%s\n", sa.sun_path);
	r = check_ini(edit(19, repl));
	ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
	ck_assert_int_eq(stat(sa.sun_path, &after), 0);
	ck_assert(S_ISSOCK(after.st_mode));
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	unlink(sa.sun_path);
}
END_TEST

/* And still refuses what the run would refuse. */
START_TEST(check_file_log_in_missing_dir)
{
	char repl[700], want[1400];

	snprintf(repl, sizeof(repl), "chardev = file:%s/no-such-dir/uart.log\n", dir());
	snprintf(want, sizeof(want),
		 ":19: [device uart0] chardev: 'file:%s/no-such-dir/uart.log': cannot open "
		 "'%s/no-such-dir/uart.log': No such file or directory",
		 dir(), dir());
	EXACT(edit(19, repl), want);
}
END_TEST

START_TEST(check_socket_in_missing_dir)
{
	char repl[700], want[1400];

	snprintf(repl, sizeof(repl), "chardev = unix:%s/no-such-dir/s\n", dir());
	snprintf(want, sizeof(want),
		 ":19: [device uart0] chardev: 'unix:%s/no-such-dir/s': cannot bind "
		 "'%s/no-such-dir/s': No such file or directory",
		 dir(), dir());
	EXACT(edit(19, repl), want);
}
END_TEST

START_TEST(timer_without_interrupt_controller)
{
	static const char ini[] = "[boot]\n"
				  "format = raw\n"
				  "kernel = k.bin\n"
				  "load-address = 0x40080000\n"
				  "[device timer]\n"
				  "plugin = virt-timer\n";

	EXACT(ini, ":5: [device timer]: no interrupt controller: add a [device] section with "
		   "plugin = gicv2");
}
END_TEST

/* A DTB given as a file is used as it is: cmdline would silently not reach the guest. */
START_TEST(dtb_file_with_cmdline)
{
	char *good = write_text(dir(), "good.ini", base_ini), dtb[600];
	const char *dump[] = {"--dump-dtb", dtb, "-c", good, NULL};
	struct run *r;

	snprintf(dtb, sizeof(dtb), "%s/given.dtb", dir());
	r = run_avmm(dump);
	ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
	EXACT(edit(7, "kernel = k.bin\ndtb = given.dtb\ncmdline = console=ttyAMA0\n"),
	      ":9: [boot] cmdline: not passed to the guest with dtb = PATH: put it in that DTB's "
	      "/chosen, or use dtb = auto");
	free(good);
}
END_TEST

/* [boot] brk-exit: a boolean; true for raw guests, false for Linux unless set. */
START_TEST(brk_exit_key)
{
	char *image = fake_image();
	char *path, kernel[600], linux_ini[8192], *la;
	struct run *r;

	EXACT(edit(8, "load-address = 0x40080000\nbrk-exit = sometimes\n"),
	      ":9: [boot] brk-exit: 'sometimes' is not a boolean (use true or false)");

	path = write_text(dir(), "brk.ini", base_ini);
	{
		const char *args[] = {"--check", "-c", path, NULL};

		r = run_avmm(args);
		ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
		ck_assert_msg(strstr(r->out, "  brk-exit true: a guest BRK stops the machine\n"),
			      "%s", r->out);
	}
	{
		const char *args[] = {"--check", "-c", path, "-s", "boot.brk-exit=false", NULL};

		r = run_avmm(args);
		ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
		ck_assert_msg(strstr(r->out, "  brk-exit false: the guest takes its own debug "
					     "exceptions\n"), "%s", r->out);
	}
	free(path);

	/* A Linux guest keeps its BRKs (WARN, BUG) unless the machine says otherwise. */
	snprintf(kernel, sizeof(kernel), "boot.kernel=%s", image);
	snprintf(linux_ini, sizeof(linux_ini), "%s", edit(6, "format = linux\n"));
	la = strstr(linux_ini, "load-address = 0x40080000\n");
	ck_assert_ptr_nonnull(la);
	memmove(la, la + strlen("load-address = 0x40080000\n"),
		strlen(la + strlen("load-address = 0x40080000\n")) + 1);
	path = write_text(dir(), "brk-linux.ini", linux_ini);
	{
		const char *args[] = {"--check", "-c", path, "-s", kernel, NULL};

		r = run_avmm(args);
		ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
		ck_assert_msg(strstr(r->out, "  brk-exit false:"), "%s", r->out);
	}
	{
		const char *args[] = {"--check", "-c", path, "-s", kernel, "-s", "boot.brk-exit=true",
				      NULL};

		r = run_avmm(args);
		ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
		ck_assert_msg(strstr(r->out, "  brk-exit true:"), "%s", r->out);
	}
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_config_checks);
	tcase_add_test(tc, syntax_error);
	tcase_add_test(tc, unknown_machine_key);
	tcase_add_test(tc, unknown_device_key);
	tcase_add_test(tc, unknown_boot_key);
	tcase_add_test(tc, malformed_number);
	tcase_add_test(tc, zero_cpus);
	tcase_add_test(tc, too_many_cpus);
	tcase_add_test(tc, zero_ram);
	tcase_add_test(tc, unaligned_ram);
	tcase_add_test(tc, unaligned_ram_base);
	tcase_add_test(tc, missing_kernel_file);
	tcase_add_test(tc, missing_initrd_file);
	tcase_add_test(tc, no_boot_section);
	tcase_add_test(tc, unknown_section);
	tcase_add_test(tc, bad_device_name);
	tcase_add_test(tc, missing_plugin_key);
	tcase_add_test(tc, plugin_not_found);
	tcase_add_test(tc, mmio_overlap);
	tcase_add_test(tc, mmio_overlaps_ram);
	tcase_add_test(tc, irq_out_of_range);
	tcase_add_test(tc, irq_already_used);
	tcase_add_test(tc, irq_missing);
	tcase_add_test(tc, no_interrupt_controller);
	tcase_add_test(tc, duplicate_key);
	tcase_add_test(tc, duplicate_section);
	tcase_add_test(tc, bad_boot_format);
	tcase_add_test(tc, raw_without_load_address);
	tcase_add_test(tc, bad_accel);
	tcase_add_test(tc, bad_bool);
	tcase_add_test(tc, plugin_newer_minor);
	tcase_add_test(tc, plugin_major_mismatch);
	tcase_add_test(tc, plugin_init_fails_with_message);
	tcase_add_test(tc, unknown_key_of_test_plugin);
	tcase_add_test(tc, second_irqchip);
	tcase_add_test(tc, override_bad_value);
	tcase_add_test(tc, device_reported_errors);
	tcase_add_test(tc, missing_config_file);
	tcase_add_test(tc, dump_dtb);
	tcase_add_test(tc, list_plugins);
	tcase_add_test(tc, list_plugins_with_config_path);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, shipped_configs_check);
	tcase_add_test(tc, long_line_accepted);
	tcase_add_test(tc, device_named_boot);
	tcase_add_test(tc, device_named_machine);
	tcase_add_test(tc, device_name_after_two_blanks);
	tcase_add_test(tc, device_name_after_tab);
	tcase_add_test(tc, section_after_bom);
	tcase_add_test(tc, section_with_inner_blanks);
	tcase_add_test(tc, section_with_long_name);
	tcase_add_test(tc, indented_continuation_line);
	tcase_add_test(tc, plugin_path_relative_to_file);
	tcase_add_test(tc, check_keeps_file_log);
	tcase_add_test(tc, check_binds_no_socket);
	tcase_add_test(tc, check_file_log_in_missing_dir);
	tcase_add_test(tc, check_socket_in_missing_dir);
	tcase_add_test(tc, timer_without_interrupt_controller);
	tcase_add_test(tc, dtb_file_with_cmdline);
	tcase_add_test(tc, brk_exit_key);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
