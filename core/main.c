/* SPDX-License-Identifier: MIT */
/* avmm command line. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include <avmm/version.h>
#include <libfdt.h>

#include "chardev.h"
#include "config.h"
#include "log.h"
#include "plugin.h"
#include "vm.h"

/* Exit statuses besides the guest's own. */
#define EXIT_HOST_ERROR 1
#define EXIT_CONFIG_ERROR 2

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: avmm -c FILE [options]\n"
		"Run an arm64 virtual machine described by an INI file.\n"
		"\n"
		"  -c, --config FILE      machine description (see configs/)\n"
		"  -s, --set SEC.KEY=VAL  override a config value, e.g. -s machine.cpus=2,\n"
		"                         -s boot.kernel=Image, -s uart0.chardev=null\n"
		"      --check            validate config and plugins, print the memory map and\n"
		"                         interrupt assignment, and exit\n"
		"      --dump-dtb FILE    write the generated device tree blob and exit\n"
		"      --list-plugins     list the plugins found on the search path\n"
		"      --timeout SECONDS  stop the guest after SECONDS (exit status 124)\n"
		"  -v, --verbose          more messages (repeat for debug)\n"
		"  -q, --quiet            errors only\n"
		"  -h, --help             this help\n"
		"  -V, --version          print the version\n"
		"\n"
		"Exit status: the guest's (0 after poweroff, the BRK immediate for bare-metal\n"
		"guests), 1 for a host error, 2 for a configuration error, 124 on timeout.\n"
		"Plugins are searched in [machine] plugin-path, $AVMM_PLUGIN_PATH, then the\n"
		"directory avmm was built or installed with. On a terminal, Ctrl-A x quits.\n");
}

/* Directory of the running executable, to find plugins built/installed beside it. */
static int exe_dir(char *buf, size_t len)
{
	char path[PATH_MAX];
	char *slash;
#ifdef __APPLE__
	uint32_t size = sizeof(path);
	char real[PATH_MAX];

	if (_NSGetExecutablePath(path, &size) || !realpath(path, real))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s", real);
#else
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0)
		return -ENOENT;
	path[n] = '\0';
#endif
	slash = strrchr(path, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	snprintf(buf, len, "%s", path);
	return 0;
}

/* Build tree: build/core/avmm + build/plugins; install: bin/avmm + lib/avmm/plugins. */
static char *builtin_plugin_dirs(void)
{
	char dir[PATH_MAX];
	char *out;
	size_t n;

	if (exe_dir(dir, sizeof(dir)))
		return NULL;
	n = 3 * strlen(dir) + sizeof(AVMM_PLUGIN_INSTALL_REL) + 64;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/plugins:%s/../plugins:%s/../%s", dir, dir, dir,
			 AVMM_PLUGIN_INSTALL_REL);
	return out;
}

static int list_plugins(const char *builtin, const char *config_path)
{
	struct plugin_path pp = {0};
	struct config cfg = {0};
	int found = 0;

	/* The same search path a run of that machine would use. */
	if (config_path && config_load(&cfg, config_path)) {
		config_free(&cfg);
		return EXIT_CONFIG_ERROR;
	}
	if (vm_plugin_path(&pp, &cfg, builtin)) {
		plugin_path_free(&pp);
		config_free(&cfg);
		return EXIT_HOST_ERROR;
	}
	for (size_t i = 0; i < pp.count; i++) {
		DIR *d = opendir(pp.dirs[i]);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name), sl = strlen(PLUGIN_SUFFIX);
			char path[PATH_MAX], err[512];
			struct plugin p;

			if (len <= sl || strcmp(de->d_name + len - sl, PLUGIN_SUFFIX))
				continue;
			snprintf(path, sizeof(path), "%s/%s", pp.dirs[i], de->d_name);
			if (plugin_load(path, NULL, &p, err, sizeof(err))) {
				printf("%-12s (unusable) %s\n", "?", err);
				continue;
			}
			printf("%-12s ABI %u.%u%s  %s\n             %s\n", p.desc->name,
			       p.desc->abi_major, p.desc->abi_minor,
			       p.desc->flags & AVMM_PLUGIN_IRQCHIP ? "  irqchip" : "",
			       p.desc->summary ? p.desc->summary : "", path);
			found++;
			plugin_unload(&p);
		}
		closedir(d);
	}
	if (!found)
		printf("no plugins found; search path:");
	for (size_t i = 0; !found && i < pp.count; i++)
		printf(" %s", pp.dirs[i]);
	if (!found)
		printf("\n");
	plugin_path_free(&pp);
	config_free(&cfg);
	return found ? 0 : EXIT_HOST_ERROR;
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len)
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_DUMP_DTB, OPT_LIST, OPT_TIMEOUT };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"set", required_argument, NULL, 's'},
		{"check", no_argument, NULL, OPT_CHECK},
		{"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
		{"list-plugins", no_argument, NULL, OPT_LIST},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *dump_dtb = NULL;
	const char **overrides = calloc((size_t)argc, sizeof(*overrides));
	size_t noverrides = 0;
	bool check = false, list = false;
	int level = AVMM_LOG_WARN, c, status;
	unsigned long timeout = 0;
	struct vm_options vopt = {0};
	struct config cfg = {0};
	struct vm vm;
	char *builtin = NULL;

	/* Every exit below goes through `out`, so a run is leak-free under LSan. */
	if (!overrides)
		return EXIT_HOST_ERROR;
	while ((c = getopt_long(argc, argv, "c:s:vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			overrides[noverrides++] = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_DUMP_DTB:
			dump_dtb = optarg;
			break;
		case OPT_LIST:
			list = true;
			break;
		case OPT_TIMEOUT: {
			char *end;

			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !timeout || timeout > 86400 * 365) {
				fprintf(stderr, "avmm: --timeout %s: give whole seconds, e.g. 30\n",
					optarg);
				status = EXIT_CONFIG_ERROR;
				goto out;
			}
			break;
		}
		case 'v':
			level++;
			break;
		case 'q':
			level = AVMM_LOG_ERROR;
			break;
		case 'h':
			usage(stdout);
			status = 0;
			goto out;
		case 'V':
			printf("avmm %s (plugin ABI %d.%d)\n", AVMM_VERSION_STRING, AVMM_ABI_MAJOR,
			       AVMM_ABI_MINOR);
			status = 0;
			goto out;
		default:
			usage(stderr);
			status = EXIT_CONFIG_ERROR;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "avmm: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		status = EXIT_CONFIG_ERROR;
		goto out;
	}
	log_set_level(level);
	builtin = builtin_plugin_dirs();
	if (list) {
		status = list_plugins(builtin, config_path);
		goto out;
	}
	if (!config_path) {
		fprintf(stderr, "avmm: no machine description; run e.g. avmm -c "
				"configs/linux-virt.ini (see --help)\n");
		status = EXIT_CONFIG_ERROR;
		goto out;
	}
	/* A failed load may leave a half-built config: the config_free at out. */
	if (config_load(&cfg, config_path)) {
		status = EXIT_CONFIG_ERROR;
		goto out;
	}
	vopt.overrides = overrides;
	vopt.noverrides = noverrides;
	vopt.builtin_plugin_dir = builtin;
	vopt.timeout_s = (unsigned)timeout;

	/* Nothing runs: a log file keeps its contents, no socket appears. */
	if (check || dump_dtb)
		chardev_set_check_only(true);
	status = vm_build(&vm, &cfg, &vopt);
	if (status) {
		/* -EINVAL: a configuration problem, already reported precisely. */
		if (status != -EINVAL)
			log_error("cannot build the machine: %s", strerror(-status));
		status = status == -EINVAL || status == -EEXIST || status == -ERANGE ||
				 status == -EBUSY
			 ? EXIT_CONFIG_ERROR
			 : EXIT_HOST_ERROR;
	} else if (dump_dtb) {
		int rc = write_file(dump_dtb, vm.fdt, vm.fdt_size);

		if (rc)
			log_error("%s: %s", dump_dtb, strerror(-rc));
		status = rc ? EXIT_HOST_ERROR : 0;
	} else if (check) {
		vm_print_map(&vm, stdout);
		printf("configuration OK\n");
		status = 0;
	} else {
		status = vm_run(&vm);
	}
	vm_destroy(&vm);
out:
	config_free(&cfg);
	free(builtin);
	free(overrides);
	return status;
}
