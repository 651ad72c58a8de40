/* SPDX-License-Identifier: MIT */
#include "vm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdt.h>

#include "accel.h"
#include "chardev.h"
#include "cputimer.h"
#include "device.h"
#include "dtb.h"
#include "iothread.h"
#include "irqroute.h"
#include "log.h"
#include "power.h"
#include "vcpu.h"

#define DEFAULT_RAM_BASE 0x40000000ull /* QEMU virt's: kernels and DTs assume it */
#define DEFAULT_RAM_SIZE (512ull << 20)

static bool valid_device_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

static int check_sections(struct config *cfg)
{
	int rc = 0;

	for (size_t i = 0; i < cfg->nsections; i++) {
		struct cfg_section *s = &cfg->sections[i];

		if (s->dev) {
			if (!valid_device_name(s->dev))
				rc = config_error(cfg, s, NULL,
						  "device name '%s' may only use letters, digits, "
						  "'-' and '_'",
						  s->dev);
		} else if (strcmp(s->name, "machine") && strcmp(s->name, "boot")) {
			rc = config_error(cfg, s, NULL,
					  "unknown section; expected [machine], [boot] or "
					  "[device NAME]");
		}
	}
	return rc;
}

static int build_machine(struct vm *vm)
{
	struct config *cfg = vm->cfg;
	struct cfg_section *m = config_section(cfg, "machine");
	uint64_t cpus = 1, mem = DEFAULT_RAM_SIZE, base = DEFAULT_RAM_BASE;
	int rc;

	if (m) {
		rc = config_u64(cfg, m, "cpus", &cpus);
		if (rc && rc != -ENOENT)
			return rc;
		rc = config_u64(cfg, m, "memory", &mem);
		if (rc && rc != -ENOENT)
			return rc;
		rc = config_u64(cfg, m, "ram-base", &base);
		if (rc && rc != -ENOENT)
			return rc;
	}
	if (cpus < 1 || cpus > VM_MAX_CPUS)
		return config_error(cfg, m, "cpus", "%" PRIu64 " vCPUs: use 1 to %d (GICv2 limit)",
				    cpus, VM_MAX_CPUS);
	if (!mem)
		return config_error(cfg, m, "memory", "guest RAM cannot be empty");
	if (mem % RAM_ALIGN)
		return config_error(cfg, m, "memory",
				    "0x%" PRIx64 " is not a multiple of 16K (Apple Silicon pages); "
				    "use e.g. 512M",
				    mem);
	if (base % RAM_ALIGN)
		return config_error(cfg, m, "ram-base", "0x%" PRIx64 " is not 16K aligned", base);
	if (base + mem < base || base + mem > (1ull << 40))
		return config_error(cfg, m, "memory",
				    "RAM 0x%" PRIx64 "+0x%" PRIx64 " exceeds the 40-bit guest "
				    "physical address space",
				    base, mem);
	vm->ncpus = (unsigned)cpus;
	rc = ram_alloc(&vm->ram, base, mem);
	if (rc) {
		config_error(cfg, m, "memory", "cannot allocate %" PRIu64 " MiB of guest RAM: %s",
			     mem >> 20, strerror(-rc));
		return rc;
	}
	return 0;
}

int vm_plugin_path(struct plugin_path *pp, struct config *cfg, const char *builtin)
{
	struct cfg_section *m = config_section(cfg, "machine");
	const char *dirs, *env = getenv("AVMM_PLUGIN_PATH");
	int rc;

	/* Most specific first: the machine's own, the user's, the built-in. */
	if (m && !config_str(cfg, m, "plugin-path", &dirs)) {
		struct cfg_key *k = config_key(m, "plugin-path");
		char *copy = strdup(dirs), *save = NULL;

		if (!copy)
			return -ENOMEM;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char buf[4096];

			/* Relative to the file, like every path in it; -s: to the cwd. */
			if (d[0] != '/' && !k->override)
				snprintf(buf, sizeof(buf), "%s/%s", cfg->dir, d);
			else
				snprintf(buf, sizeof(buf), "%s", d);
			rc = plugin_path_add(pp, buf);
			if (rc) {
				free(copy);
				return rc;
			}
		}
		free(copy);
	}
	if (env && (rc = plugin_path_add(pp, env)))
		return rc;
	if (builtin && (rc = plugin_path_add(pp, builtin)))
		return rc;
	return 0;
}

/* Load (once per file) the plugin a device section names. */
static int load_plugin(struct vm *vm, struct cfg_section *s, struct plugin **out)
{
	const char *name;
	char err[1024], *path = NULL;
	struct plugin *p, **list;
	int rc;

	if (config_str(vm->cfg, s, "plugin", &name) || !*name)
		return config_error(vm->cfg, s, "plugin",
				    "missing: say which plugin implements this device, e.g. "
				    "plugin = pl011");
	if (strchr(name, '/')) {
		/* A path: relative to the file, like every path in it. */
		rc = config_path(vm->cfg, s, "plugin", &path);
		if (rc)
			return rc;
	} else if ((rc = plugin_find(&vm->plugin_path, name, &path, err, sizeof(err)))) {
		return config_error(vm->cfg, s, "plugin", "%s", err);
	}
	for (size_t i = 0; i < vm->nplugins; i++) {
		if (!strcmp(vm->plugins[i]->path, path)) {
			free(path);
			*out = vm->plugins[i];
			return 0;
		}
	}
	p = calloc(1, sizeof(*p));
	list = realloc(vm->plugins, (vm->nplugins + 1) * sizeof(*list));
	if (!p || !list) {
		free(p);
		free(path);
		return -ENOMEM;
	}
	vm->plugins = list;
	rc = plugin_load(path, strchr(name, '/') ? NULL : name, p, err, sizeof(err));
	free(path);
	if (rc) {
		free(p);
		return config_error(vm->cfg, s, "plugin", "%s", err);
	}
	vm->plugins[vm->nplugins++] = p;
	*out = p;
	return 0;
}

static int create_devices(struct vm *vm)
{
	struct config *cfg = vm->cfg;
	struct plugin **plug;
	int rc = 0;

	plug = calloc(cfg->nsections, sizeof(*plug));
	vm->devs = calloc(cfg->nsections, sizeof(*vm->devs));
	if (!plug || !vm->devs) {
		free(plug);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->nsections && !rc; i++)
		if (cfg->sections[i].dev)
			rc = load_plugin(vm, &cfg->sections[i], &plug[i]);
	/* Interrupt controllers first: other devices claim lines from them. */
	for (int pass = 0; pass < 2 && !rc; pass++) {
		for (size_t i = 0; i < cfg->nsections && !rc; i++) {
			bool chip;

			if (!plug[i])
				continue;
			chip = plug[i]->desc->flags & AVMM_PLUGIN_IRQCHIP;
			if (chip != (pass == 0))
				continue;
			rc = device_create(vm, &cfg->sections[i], plug[i], &vm->devs[vm->ndevs]);
			vm->ndevs++; /* destroyed with the VM even when create failed */
		}
	}
	free(plug);
	return rc;
}

static int load_guest(struct vm *vm)
{
	struct config *cfg = vm->cfg;
	struct cfg_section *b = config_section(cfg, "boot");
	char err[512] = "", *kernel = NULL, *initrd = NULL;
	const char *fmt = "linux", *cmdline = NULL, *dtb;
	int rc;

	if (!b)
		return config_error(cfg, NULL, NULL,
				    "no [boot] section: say which kernel to run (kernel = PATH)");
	rc = config_str(cfg, b, "format", &fmt);
	if (!strcmp(fmt, "linux")) {
		vm->bootp.format = BOOT_LINUX;
	} else if (!strcmp(fmt, "raw")) {
		vm->bootp.format = BOOT_RAW;
		rc = config_u64(cfg, b, "load-address", &vm->bootp.raw_load);
		if (rc == -ENOENT)
			return config_error(cfg, b, "load-address",
					    "missing: format = raw needs the load address");
		if (rc)
			return rc;
		vm->bootp.raw_entry = vm->bootp.raw_load;
		rc = config_u64(cfg, b, "entry", &vm->bootp.raw_entry);
		if (rc && rc != -ENOENT)
			return rc;
	} else {
		return config_error(cfg, b, "format", "'%s': use linux or raw", fmt);
	}
	/* Bare-metal programs stop on BRK; a kernel's BRKs (WARN, BUG) are its own. */
	vm->brk_exit = vm->bootp.format == BOOT_RAW;
	rc = config_bool(cfg, b, "brk-exit", &vm->brk_exit);
	if (rc && rc != -ENOENT)
		return rc;
	vcpu_env_set_brk_exit(vm->cpus, vm->brk_exit);
	rc = config_path(cfg, b, "kernel", &kernel);
	if (rc == -ENOENT)
		return config_error(cfg, b, "kernel", "missing: the guest image to boot");
	if (rc)
		return rc;
	rc = config_path(cfg, b, "initrd", &initrd);
	if (rc && rc != -ENOENT) {
		free(kernel);
		return rc;
	}
	/* A given DTB is used as it is: its /chosen says what the guest gets. */
	if (!config_str(cfg, b, "dtb", &dtb) && strcmp(dtb, "auto")) {
		for (const char *const *k = (const char *const[]){"initrd", "cmdline", NULL}; *k;
		     k++) {
			if (config_key(b, *k)) {
				free(kernel);
				free(initrd);
				return config_error(cfg, b, *k, "not passed to the guest with dtb = "
						    "PATH: put it in that DTB's /chosen, or use "
						    "dtb = auto");
			}
		}
	}
	if (!config_str(cfg, b, "cmdline", &cmdline))
		vm->cmdline = strdup(cmdline);
	vm->bootp.kernel = kernel;
	vm->bootp.initrd = initrd;
	rc = boot_load(&vm->ram, &vm->bootp, &vm->boot, err, sizeof(err));
	if (rc)
		return config_error(cfg, b, "kernel", "%s", err[0] ? err : strerror(-rc));
	return 0;
}

static void fill_random(uint8_t *buf, size_t len)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len) : -1;

	if (fd >= 0)
		close(fd);
	/* Without entropy the guest just seeds from elsewhere; never fatal. */
	if (n != (ssize_t)len)
		memset(buf, 0, len);
}

static int build_dtb(struct vm *vm)
{
	struct config *cfg = vm->cfg;
	struct cfg_section *b = config_section(cfg, "boot");
	const char *mode = "auto";
	uint64_t mpidr[VM_MAX_CPUS];
	uint8_t seed[32];
	char err[256] = "";
	struct dtb_machine m = {0};
	size_t size = 0;
	int rc;

	if (b && !config_str(cfg, b, "dtb", &mode) && strcmp(mode, "auto")) {
		char *path = NULL;
		struct stat st;
		int fd;

		rc = config_path(cfg, b, "dtb", &path);
		if (rc)
			return rc;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) || st.st_size <= 0 || st.st_size > DTB_MAX_SIZE) {
			if (fd >= 0)
				close(fd);
			free(path);
			return config_error(cfg, b, "dtb", "must be a readable file of at most %u "
					    "bytes",
					    DTB_MAX_SIZE);
		}
		vm->fdt = malloc((size_t)st.st_size);
		vm->fdt_size = (size_t)st.st_size;
		rc = vm->fdt && read(fd, vm->fdt, vm->fdt_size) == (ssize_t)vm->fdt_size ? 0 : -EIO;
		close(fd);
		free(path);
		if (!rc && (fdt_check_header(vm->fdt) || fdt_totalsize(vm->fdt) > vm->fdt_size))
			rc = -EINVAL;
		if (rc)
			return config_error(cfg, b, "dtb", "not a valid device tree blob");
	} else {
		for (unsigned i = 0; i < vm->ncpus; i++)
			mpidr[i] = vcpu_mpidr_for(i);
		fill_random(seed, sizeof(seed));
		m.ncpus = vm->ncpus;
		m.mpidr = mpidr;
		m.ram_base = vm->ram.base;
		m.ram_size = vm->ram.size;
		m.bootargs = vm->cmdline;
		m.initrd_start = vm->boot.initrd_start;
		m.initrd_end = vm->boot.initrd_end;
		m.rng_seed = seed;
		m.rng_seed_len = sizeof(seed);
		m.irqchip_phandle = irqroute_phandle(vm->irq);
		m.psci_method = "hvc";
		rc = dtb_create(&m, &vm->fdt, err, sizeof(err));
		if (rc) {
			log_error("building the device tree: %s", err);
			return rc;
		}
		for (size_t i = 0; i < vm->ndevs; i++) {
			struct avmm_dev *d = vm->devs[i];

			if (!d->plugin->desc->fdt_populate)
				continue;
			rc = d->plugin->desc->fdt_populate(d->instance, vm->fdt);
			if (rc) {
				log_error("%s: adding its device-tree nodes failed: %s", d->name,
					  strerror(rc < 0 ? -rc : rc));
				return rc < 0 ? rc : -EINVAL;
			}
		}
		rc = dtb_finish(vm->fdt, &size, err, sizeof(err));
		if (rc) {
			log_error("device tree: %s", err);
			return rc;
		}
		vm->fdt_size = size;
	}
	rc = boot_write_dtb(&vm->ram, &vm->boot, vm->fdt, vm->fdt_size, err, sizeof(err));
	if (rc)
		log_error("%s", err);
	return rc;
}

static void kick_hook(void *opaque)
{
	struct vm *vm = opaque;

	vcpu_kick_all(vm->cpus);
}

static int reset_hook(void *opaque)
{
	return vm_reset(opaque);
}

/*
 * The modules under the device layer, wired together: the power module
 * kicks vCPUs and resets the machine through hooks, the irqroute sink feeds
 * the vCPUs' IRQ inputs.  Calls go down; these are the only ways up.
 */
static int build_cores(struct vm *vm)
{
	uint64_t mpidr[VM_MAX_CPUS];
	int rc;

	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->ncpus; i++)
		mpidr[i] = vcpu_mpidr_for(i);
	if ((rc = power_create(&vm->power, vm->ncpus, mpidr)) ||
	    (rc = irqroute_create(&vm->irq, vm->ncpus)) ||
	    (rc = cputimer_create(&vm->timers, vm->ncpus)) ||
	    (rc = vcpu_env_create(&vm->cpus, vm, vm->vcpus, vm->ncpus, vm->power, vm->irq,
				  vm->timers, &vm->boot)))
		return rc;
	power_set_hooks(vm->power, &(struct power_hooks){.kick_all = kick_hook,
							 .reset = reset_hook, .opaque = vm});
	irqroute_set_sink(vm->irq, vcpu_irq_sink, vm->cpus);
	return 0;
}

int vm_build(struct vm *vm, struct config *cfg, const struct vm_options *opt)
{
	struct cfg_section *m;
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->next_phandle = 1;
	vm->timeout_s = opt->timeout_s;
	memmap_init(&vm->map);

	for (size_t i = 0; i < opt->noverrides; i++)
		if ((rc = config_override(cfg, opt->overrides[i])))
			return rc;
	if ((rc = check_sections(cfg)) || (rc = build_machine(vm)))
		return rc;
	if ((rc = build_cores(vm)) || (rc = iothread_create(&vm->io)))
		return rc;
	if ((rc = vm_plugin_path(&vm->plugin_path, cfg, opt->builtin_plugin_dir)) || (rc = create_devices(vm)) ||
	    (rc = load_guest(vm)))
		return rc;
	m = config_section(cfg, "machine");
	if (m) {
		const char *accel;

		/* Read here so --check validates it too. */
		if (!config_str(cfg, m, "accel", &accel) && strcmp(accel, "auto") &&
		    strcmp(accel, "kvm") && strcmp(accel, "hvf"))
			return config_error(cfg, m, "accel", "'%s': use auto, kvm or hvf", accel);
		if ((rc = config_check_unused(cfg, m)))
			return rc;
	}
	if ((rc = config_check_unused(cfg, config_section(cfg, "boot"))))
		return rc;
	return build_dtb(vm);
}

void vm_request_stop(struct vm *vm, int status)
{
	power_request_stop(vm->power, status);
}

int vm_reset(struct vm *vm)
{
	char err[512] = "";
	uint8_t seed[32];
	int rc;

	for (size_t i = 0; i < vm->ndevs; i++) {
		struct avmm_dev *d = vm->devs[i];

		if (!d->plugin->desc->reset)
			continue;
		pthread_mutex_lock(&d->lock);
		d->plugin->desc->reset(d->instance);
		pthread_mutex_unlock(&d->lock);
	}
	/* RAM keeps its contents, as on a warm reset; the images are reloaded. */
	rc = boot_load(&vm->ram, &vm->bootp, &vm->boot, err, sizeof(err));
	if (rc) {
		log_error("reset: reloading the guest: %s", err);
		return rc;
	}
	/*
	 * The images were re-read from disk: the initrd may have another size
	 * now.  A user-given DTB (dtb = PATH) describes no initrd and keeps
	 * its own rng-seed, if any; ours gets a fresh one.
	 */
	fill_random(seed, sizeof(seed));
	rc = dtb_refresh_chosen(vm->fdt, vm->boot.initrd_start, vm->boot.initrd_end, seed,
				sizeof(seed));
	if (rc) {
		log_error("reset: the reloaded initrd cannot be described in the device tree: %s",
			  strerror(-rc));
		return rc;
	}
	rc = boot_write_dtb(&vm->ram, &vm->boot, vm->fdt, vm->fdt_size, err, sizeof(err));
	if (rc)
		log_error("reset: %s", err);
	return rc;
}

static void quit_from_terminal(void *opaque)
{
	log_msg(AVMM_LOG_INFO, "quit requested from the console");
	vm_request_stop(opaque, 0);
}

struct watchdog {
	struct vm *vm;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void *watchdog_thread(void *arg)
{
	struct watchdog *w = arg;
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += w->vm->timeout_s;
	pthread_mutex_lock(&w->lock);
	while (!w->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	pthread_mutex_unlock(&w->lock);
	if (rc == ETIMEDOUT && !w->done) {
		log_error("timeout: the guest did not finish within %u s; stopping it (status 124)",
			  w->vm->timeout_s);
		vm_request_stop(w->vm, 124);
	}
	return NULL;
}

int vm_run(struct vm *vm)
{
	struct cfg_section *m = config_section(vm->cfg, "machine");
	const char *name = "auto";
	const struct accel_ops *accel;
	char err[512] = "";

	if (m)
		config_str(vm->cfg, m, "accel", &name);
	accel = accel_select(name, err, sizeof(err));
	if (!accel) {
		log_error("%s", err);
		return 1;
	}
	return vm_run_accel(vm, accel);
}

int vm_run_accel(struct vm *vm, const struct accel_ops *accel)
{
	char err[512] = "";
	struct watchdog wd = {.vm = vm};
	pthread_t wd_thread;
	bool wd_started = false;
	int rc;

	vm->accel = accel;
	rc = vm->accel->vm_create(vm, err, sizeof(err));
	if (rc) {
		log_error("%s: %s", vm->accel->name, err[0] ? err : strerror(-rc));
		return 1;
	}
	rc = vm->accel->ram_map(vm, vm->ram.base, vm->ram.host, vm->ram.size);
	if (rc) {
		log_error("%s: mapping guest RAM: %s", vm->accel->name, strerror(-rc));
		return 1;
	}
	/* Doorbells go to the accelerator now that it exists (KVM_IOEVENTFD). */
	for (size_t i = 0; i < vm->ndevs; i++)
		device_start(vm->devs[i]);
	chardev_set_quit_handler(quit_from_terminal, vm);
	rc = iothread_start(vm->io);
	if (rc) {
		log_error("starting the I/O thread: %s", strerror(-rc));
		return 1;
	}
	if (vm->timeout_s) {
		pthread_mutex_init(&wd.lock, NULL);
		pthread_cond_init(&wd.cond, NULL);
		wd_started = !pthread_create(&wd_thread, NULL, watchdog_thread, &wd);
	}
	cputimer_freeze(vm->timers);
	vm->running = true;
	rc = vcpus_start(vm->cpus, accel);
	/*
	 * The teardown order is the point: every vCPU out of its loop, then no
	 * watchdog and no I/O thread (timers, UART input, the quit key, and the
	 * device workers, which stop with it), and only
	 * then, with nobody left to kick a vCPU or raise its IRQ, the backend's
	 * vCPU state goes.
	 */
	vcpus_wait_stopped(vm->cpus);
	if (wd_started) {
		pthread_mutex_lock(&wd.lock);
		wd.done = true;
		pthread_cond_signal(&wd.cond);
		pthread_mutex_unlock(&wd.lock);
		pthread_join(wd_thread, NULL);
	}
	iothread_stop(vm->io);
	vcpus_destroy(vm->cpus);
	if (rc) {
		log_error("starting vCPUs: %s", strerror(-rc));
		return 1;
	}
	return power_exit_status(vm->power);
}

void vm_destroy(struct vm *vm)
{
	if (vm->io)
		iothread_stop(vm->io);
	for (size_t i = vm->ndevs; i-- > 0;)
		device_destroy(vm->devs[i]);
	free(vm->devs);
	if (vm->accel && vm->accel_state)
		vm->accel->vm_destroy(vm);
	if (vm->io)
		iothread_destroy(vm->io);
	for (size_t i = 0; i < vm->nplugins; i++) {
		plugin_unload(vm->plugins[i]);
		free(vm->plugins[i]);
	}
	free(vm->plugins);
	plugin_path_free(&vm->plugin_path);
	vcpu_env_destroy(vm->cpus);
	cputimer_destroy(vm->timers);
	irqroute_destroy(vm->irq);
	power_destroy(vm->power);
	free(vm->vcpus);
	free(vm->fdt);
	free(vm->cmdline);
	free((char *)vm->bootp.kernel);
	free((char *)vm->bootp.initrd);
	memmap_free(&vm->map);
	ram_free(&vm->ram);
}

void vm_print_map(const struct vm *vm, FILE *out)
{
	struct avmm_dev *chip;

	fprintf(out, "machine: %u vCPU%s, %llu MiB RAM, %zu device%s\n", vm->ncpus,
		vm->ncpus == 1 ? "" : "s", (unsigned long long)(vm->ram.size >> 20), vm->ndevs,
		vm->ndevs == 1 ? "" : "s");
	fprintf(out, "memory map:\n");
	/* RAM sits above every MMIO region on the virt layout, but sort anyway. */
	bool ram_done = false;
	for (size_t i = 0; i <= vm->map.count; i++) {
		const struct mmio_region *r = i < vm->map.count ? &vm->map.regions[i] : NULL;

		if (!ram_done && (!r || r->base > vm->ram.base)) {
			fprintf(out, "  0x%010llx-0x%010llx  ram     %llu MiB\n",
				(unsigned long long)vm->ram.base,
				(unsigned long long)(vm->ram.base + vm->ram.size - 1),
				(unsigned long long)(vm->ram.size >> 20));
			ram_done = true;
		}
		if (r)
			fprintf(out, "  0x%010llx-0x%010llx  mmio    %s (%s)\n",
				(unsigned long long)r->base,
				(unsigned long long)(r->base + r->size - 1),
				r->dev ? r->dev->name : "?",
				r->dev ? r->dev->plugin->desc->name : "?");
	}
	fprintf(out, "guest image:\n");
	fprintf(out, "  kernel 0x%010llx-0x%010llx  entry 0x%llx\n",
		(unsigned long long)vm->boot.kernel_start,
		(unsigned long long)(vm->boot.kernel_end - 1), (unsigned long long)vm->boot.entry);
	if (vm->boot.initrd_end)
		fprintf(out, "  initrd 0x%010llx-0x%010llx\n",
			(unsigned long long)vm->boot.initrd_start,
			(unsigned long long)(vm->boot.initrd_end - 1));
	fprintf(out, "  brk-exit %s\n", vm->brk_exit ? "true: a guest BRK stops the machine" :
		"false: the guest takes its own debug exceptions");
	fprintf(out, "  dtb    0x%010llx (%zu bytes)\n", (unsigned long long)vm->boot.dtb_addr,
		vm->fdt_size);
	fprintf(out, "interrupts:\n");
	chip = irqroute_chip(vm->irq);
	if (!chip) {
		fprintf(out, "  no interrupt controller\n");
		return;
	}
	fprintf(out, "  controller %s (%s), %u lines\n", chip->name, chip->plugin->desc->name,
		irqroute_nr_lines(vm->irq));
	for (unsigned l = 0; l < irqroute_nr_lines(vm->irq); l++) {
		struct avmm_irq_spec spec = {AVMM_IRQ_SPI, l, AVMM_IRQ_LEVEL_HIGH};
		struct avmm_dev *owner = irqroute_line_owner(vm->irq, l);
		uint32_t cells[8] = {0};

		if (!owner)
			continue;
		/* Show the DT specifier: what the guest's driver will see. */
		fprintf(out, "  line %-4u %-12s <", l, owner->name);
		irqroute_fdt_cells(vm->irq, &spec, cells);
		for (unsigned c = 0; c < irqroute_interrupt_cells(vm->irq); c++)
			fprintf(out, "%s%u", c ? " " : "", cells[c]);
		fprintf(out, ">\n");
	}
	for (size_t i = 0; i < cputimer_count(vm->timers); i++)
		fprintf(out, "  cpu timers -> %s\n", cputimer_subscriber(vm->timers, i)->name);
}
