/* SPDX-License-Identifier: MIT */
/*
 * avmm public plugin ABI.
 *
 * This header (with <avmm/version.h>, which it includes) is everything a device
 * plugin may see of the core.  A plugin is a shared object that exports one
 * `struct avmm_plugin_desc` named `avmm_plugin` (use AVMM_PLUGIN_DEFINE).  The
 * core calls desc->create() once per `[device NAME]` section that names the
 * plugin, passing the host services table `struct avmm_host`.
 *
 * ABI rules (the SQLite/GStreamer discipline):
 *  - Every struct starts with its own size; fields are only ever appended, each
 *    block commented with the ABI minor that added it.
 *  - A plugin built against major M, minor m loads in a core with major M and
 *    minor >= m.  Anything else is refused with both versions named.
 *  - Functions return 0 or a negative errno value unless documented otherwise.
 *
 *  - The core accepts any struct at least as large as its 1.0 layout
 *    (AVMM_*_SIZE_V1_0 below) and treats members past the caller's
 *    struct_size as absent (zero): an older plugin keeps loading after a
 *    minor bump.
 *
 * Concurrency: the core serialises every call into one device instance (MMIO
 * handlers, I/O-thread callbacks, timer callbacks, irqchip inputs, cpu-timer
 * events) with a per-device lock, so a plugin needs no locking of its own,
 * unless it uses device workers (1.1), which run without that lock.
 * Calls made from inside such a callback back into the host are allowed, also
 * when they lead back into the same instance (an irqchip driving its own line
 * gets its set_line() called re-entrantly, on the same thread).
 */
#ifndef AVMM_AVMM_H
#define AVMM_AVMM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <avmm/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define AVMM_EXPORT __attribute__((visibility("default")))
#define AVMM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define AVMM_EXPORT
#define AVMM_PRINTF(fmt, args)
#endif

/*
 * Size of `type` up to and including `member`: the size a struct had in the
 * ABI minor whose last member that was.
 */
#define AVMM_SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/* One configured device instance; owned by the core, opaque to plugins. */
struct avmm_dev;
/* A character backend (stdio, file, unix socket) opened for a device. */
struct avmm_chr;
/* A host timer running on the I/O thread. */
struct avmm_timer;

/* ---- logging ------------------------------------------------------------ */

enum avmm_log_level {
	AVMM_LOG_ERROR = 0,
	AVMM_LOG_WARN = 1,
	AVMM_LOG_INFO = 2,
	AVMM_LOG_DEBUG = 3,
};
#define AVMM_LOG_LEVEL_MASK 0xffu
/*
 * Categories, OR'ed into the level.  Both are rate-limited by the core, since a
 * guest controls how often they fire.
 */
#define AVMM_LOG_GUEST_ERROR 0x100u /* the guest did something architecturally wrong */
#define AVMM_LOG_UNIMP 0x200u       /* the guest used something avmm does not model */

/* ---- MMIO --------------------------------------------------------------- */

/* Access sizes in bytes; `valid_sizes` is a mask of these. */
#define AVMM_SIZE_1 1u
#define AVMM_SIZE_2 2u
#define AVMM_SIZE_4 4u
#define AVMM_SIZE_8 8u

/*
 * Handlers for one MMIO region.  `offset` is relative to the region base.  The
 * core only calls them with a size in `valid_sizes` and, unless
 * `allow_unaligned`, offset % size == 0; anything else is read-as-zero /
 * write-ignored and logged as a guest error.  `cpu` is the index of the vCPU
 * making the access (banked registers).  A negative return makes the access
 * RAZ/WI and is logged as a guest error at the guest address and PC.
 */
struct avmm_mmio_ops {
	uint32_t struct_size; /* sizeof(struct avmm_mmio_ops) */
	uint32_t valid_sizes; /* mask of AVMM_SIZE_* */
	bool allow_unaligned;
	int (*read)(void *opaque, unsigned cpu, uint64_t offset, unsigned size, uint64_t *value);
	int (*write)(void *opaque, unsigned cpu, uint64_t offset, unsigned size, uint64_t value);
};
#define AVMM_MMIO_OPS_SIZE_V1_0 AVMM_SIZE_THROUGH(struct avmm_mmio_ops, write)

/* ---- interrupts --------------------------------------------------------- */

enum avmm_irq_kind {
	AVMM_IRQ_SPI = 0, /* shared peripheral interrupt: a device line */
	AVMM_IRQ_PPI = 1, /* private per-CPU interrupt (0..15 on a GIC) */
};

/* Trigger flags for device-tree specifiers (the same values as the DT binding). */
#define AVMM_IRQ_EDGE_RISING 1u
#define AVMM_IRQ_EDGE_FALLING 2u
#define AVMM_IRQ_LEVEL_HIGH 4u
#define AVMM_IRQ_LEVEL_LOW 8u

struct avmm_irq_spec {
	uint32_t kind;  /* enum avmm_irq_kind */
	uint32_t num;   /* SPI line (0-based) or PPI number */
	uint32_t flags; /* AVMM_IRQ_* trigger */
};

/*
 * What an interrupt-controller plugin provides (register it with
 * host->irqchip_register from create()).  Lines are SPIs, numbered from 0.
 */
struct avmm_irqchip_ops {
	uint32_t struct_size;     /* sizeof(struct avmm_irqchip_ops) */
	uint32_t nr_lines;        /* SPI lines 0 .. nr_lines - 1 */
	uint32_t interrupt_cells; /* #interrupt-cells of its DT node */
	void (*set_line)(void *opaque, unsigned line, bool level);
	void (*set_ppi)(void *opaque, unsigned cpu, unsigned ppi, bool level);
	/* Encode one specifier into `interrupt_cells` cells (host byte order). */
	int (*fdt_cells)(void *opaque, const struct avmm_irq_spec *spec, uint32_t *cells);
};
#define AVMM_IRQCHIP_OPS_SIZE_V1_0 AVMM_SIZE_THROUGH(struct avmm_irqchip_ops, fdt_cells)

/* The per-vCPU timers whose output level the accelerator reports. */
enum avmm_cpu_timer {
	AVMM_CPU_TIMER_VIRT = 0, /* CNTV: EL1 virtual timer */
	AVMM_CPU_TIMER_PHYS = 1, /* CNTP: EL1 physical timer */
};

typedef void (*avmm_cpu_timer_fn)(void *opaque, unsigned cpu, enum avmm_cpu_timer timer,
				  bool level);

/* ---- character backends ------------------------------------------------- */

/*
 * Receive side of a character backend, called on the I/O thread.  The core only
 * reads from the backend while can_receive() returns > 0, and never passes more
 * than it returned; call host->chr_accept_input() when room frees up again.
 */
struct avmm_chr_handlers {
	uint32_t struct_size; /* sizeof(struct avmm_chr_handlers) */
	size_t (*can_receive)(void *opaque);
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
};
#define AVMM_CHR_HANDLERS_SIZE_V1_0 AVMM_SIZE_THROUGH(struct avmm_chr_handlers, receive)

/* ---- I/O thread --------------------------------------------------------- */

#define AVMM_IO_IN 1u
#define AVMM_IO_OUT 2u
#define AVMM_IO_ERR 4u /* reported only, never requested */

typedef void (*avmm_io_fn)(void *opaque, int fd, unsigned revents);
typedef void (*avmm_timer_fn)(void *opaque);

/* ---- device workers (1.1) ----------------------------------------------- */

/*
 * A worker is a thread the device owns, for work that must not hold up a
 * vCPU or the I/O thread (disk I/O).  It runs fn(opaque) after a kick,
 * WITHOUT the device lock: the plugin guards state that fn shares with its
 * other callbacks itself (its own mutex; hold none of it across a host call
 * that may call back into the device).  Kicks coalesce: any number of kicks
 * before fn starts make one run, a kick while fn runs makes one more, so fn
 * must finish all the work it finds.
 *
 * From a worker's fn a plugin may call only: log/vlog, dev_name, cpu_count,
 * guest_ptr/guest_read/guest_write, irq_set, worker_kick (any worker of the
 * device), chr_write, clock_ns, vm_request_exit.  Everything else (config,
 * MMIO registration, timers, watches, worker_new/worker_free, doorbells)
 * belongs to create(), destroy() and the serialised callbacks.
 *
 * irq_set from a worker is the supported way to signal a completion: it needs
 * no device lock (interrupt routing serialises on the interrupt controller's
 * own lock), and the core may later back it with an in-kernel irqfd without
 * any plugin change.
 *
 * Workers run from worker_new until worker_free or the end of the VM's run
 * (the core stops every worker before it tears the machine down, and frees
 * the ones left after destroy()).  reset() is called with the vCPUs parked
 * but workers still able to run: a plugin quiesces its own.
 */
struct avmm_worker;
typedef void (*avmm_worker_fn)(void *opaque);

/* ---- doorbells (1.1) ---------------------------------------------------- */

/*
 * A doorbell is one register a guest writes to say "there is work" (virtio's
 * QueueNotify).  Such a write no longer reaches the region's write handler:
 * the vCPU goes straight back to the guest (on KVM the write completes in the
 * kernel, KVM_IOEVENTFD; elsewhere the core's MMIO path rings it), and later
 * the doorbell fires:
 *  - `worker` set: that worker is kicked (the fast path: no I/O-thread hop
 *    where the core signals the doorbell itself);
 *  - else fn(opaque) runs on the I/O thread with the device lock held, like
 *    an io_watch callback.
 * Rings coalesce like worker kicks: several writes before it fires may fire
 * it once, so look at all the work there is (every queue's avail index).
 * Only writes of exactly `len` bytes at `gpa` (and of the value `data`, with
 * AVMM_DOORBELL_DATAMATCH) ring it; any other access to the address, reads
 * included, goes to the handlers as before.  The written value is dropped.
 */
struct avmm_doorbell;
typedef void (*avmm_doorbell_fn)(void *opaque);

#define AVMM_DOORBELL_DATAMATCH 1u

struct avmm_doorbell_desc {
	uint32_t struct_size; /* sizeof(struct avmm_doorbell_desc) */
	uint32_t len;         /* 1, 2, 4 or 8: a size its MMIO region accepts */
	uint64_t gpa;         /* aligned to len, inside one of the device's regions */
	uint32_t flags;       /* AVMM_DOORBELL_* */
	uint64_t data;        /* with AVMM_DOORBELL_DATAMATCH: the value that rings */
	avmm_doorbell_fn fn;  /* exactly one of fn and worker */
	void *opaque;
	/*
	 * The device's own worker, which then lives as long as the doorbell:
	 * worker_free refuses it (a plugin bug) until destroy(), which the core
	 * calls after the device's doorbells are gone.
	 */
	struct avmm_worker *worker;
};
#define AVMM_DOORBELL_DESC_SIZE_V1_1 AVMM_SIZE_THROUGH(struct avmm_doorbell_desc, worker)

/* ---- the host services table -------------------------------------------- */

/*
 * Everything the core offers a plugin.  Append-only: new members go at the end
 * under a comment naming the ABI minor that added them.  A plugin never needs
 * to test struct_size for members of the minor it was built against (the
 * loader refused it otherwise).
 */
struct avmm_host {
	uint32_t struct_size; /* sizeof(struct avmm_host) as the core built it */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* ---- ABI 1.0 ---- */

	/* Logging: prefixed with the device name; see AVMM_LOG_* for `flags`. */
	void (*log)(struct avmm_dev *dev, unsigned flags, const char *fmt, ...) AVMM_PRINTF(3, 4);
	void (*vlog)(struct avmm_dev *dev, unsigned flags, const char *fmt, va_list ap);

	/* The instance name (`uart0` for `[device uart0]`). */
	const char *(*dev_name)(struct avmm_dev *dev);

	/*
	 * Typed lookup of this device's own configuration keys.  -ENOENT when the
	 * key is absent (the output is untouched, so preset a default);
	 * -EINVAL when malformed, already reported to the user with file:line,
	 * section and key.  Every key the plugin never asks for is rejected by
	 * the core as unknown once create() returns, so typos cannot pass.
	 * u64 accepts decimal, 0x hex, 0b binary and K/M/G/T suffixes (x1024).
	 */
	int (*cfg_str)(struct avmm_dev *dev, const char *key, const char **value);
	int (*cfg_u64)(struct avmm_dev *dev, const char *key, uint64_t *value);
	int (*cfg_bool)(struct avmm_dev *dev, const char *key, bool *value);
	/*
	 * Report a problem with a key's value the plugin found itself (range,
	 * alignment...), at the key's file:line.  Returns -EINVAL for convenience.
	 */
	int (*cfg_error)(struct avmm_dev *dev, const char *key, const char *fmt, ...)
		AVMM_PRINTF(3, 4);

	/*
	 * Map [base, base + size) to `ops`.  Overlaps with RAM or other regions
	 * are reported (citing `cfg_key`'s line when given) and fail with -EEXIST;
	 * -ENOSPC past a per-device limit of regions (8).  The core keeps its
	 * own copy of *ops.
	 */
	int (*mmio_register)(struct avmm_dev *dev, const char *cfg_key, uint64_t base,
			     uint64_t size, const struct avmm_mmio_ops *ops, void *opaque);

	/*
	 * Read an interrupt line number from config key `key` and claim it.
	 * Fails with -ERANGE (reported at file:line) past the irqchip's lines,
	 * -EBUSY when another device holds it.
	 */
	int (*irq_claim)(struct avmm_dev *dev, const char *key, unsigned *line);
	/*
	 * Drive a line this device claimed.  Level semantics: set, then clear.
	 * Any other line is left alone and logged as a plugin bug.
	 */
	void (*irq_set)(struct avmm_dev *dev, unsigned line, bool level);
	/* Drive a PPI of one vCPU (the timer plugin). */
	void (*ppi_set)(struct avmm_dev *dev, unsigned cpu, unsigned ppi, bool level);

	/* Interrupt controllers only: become the machine's irqchip. */
	int (*irqchip_register)(struct avmm_dev *dev, const struct avmm_irqchip_ops *ops,
				void *opaque, uint32_t *phandle);
	/* Interrupt controllers only: the IRQ input of vCPU `cpu` (any thread). */
	void (*cpu_irq_set)(struct avmm_dev *dev, unsigned cpu, bool level);

	/* Number of vCPUs; stable for the VM's life. */
	unsigned (*cpu_count)(struct avmm_dev *dev);
	/* Receive the accelerator's per-vCPU timer output levels. */
	int (*cpu_timer_subscribe)(struct avmm_dev *dev, avmm_cpu_timer_fn fn, void *opaque);

	/*
	 * Bounds-checked guest memory: a host pointer for [gpa, gpa + len) if
	 * the whole range is guest RAM, else NULL.  len 0 returns NULL.
	 */
	void *(*guest_ptr)(struct avmm_dev *dev, uint64_t gpa, uint64_t len);
	/* Copy helpers over guest_ptr: -EFAULT unless wholly in RAM. */
	int (*guest_read)(struct avmm_dev *dev, uint64_t gpa, void *buf, size_t len);
	int (*guest_write)(struct avmm_dev *dev, uint64_t gpa, const void *buf, size_t len);

	/*
	 * Device tree helpers, for use from desc->fdt_populate.  `fdt` is a
	 * libfdt read-write tree; add nodes under the root with libfdt.
	 */
	int (*fdt_set_interrupts)(struct avmm_dev *dev, void *fdt, int node,
				  const struct avmm_irq_spec *specs, unsigned count);
	/* Phandle of a shared fixed-clock node of `hz`, created on first use. */
	int (*fdt_clock)(struct avmm_dev *dev, void *fdt, uint32_t hz, uint32_t *phandle);

	/*
	 * Character backend named by config key `key`, or `def` when absent:
	 * "stdio", "null", "file:PATH" (output only), "unix:PATH" (listening
	 * socket, one client at a time).
	 */
	int (*chr_open)(struct avmm_dev *dev, const char *key, const char *def,
			struct avmm_chr **chr);
	/*
	 * Write without blocking the vCPU for long; returns the bytes taken or
	 * -errno.  Bytes not taken are dropped (a UART's line has no flow
	 * control either): never retry in a loop from an MMIO handler.
	 */
	ssize_t (*chr_write)(struct avmm_chr *chr, const void *buf, size_t len);
	int (*chr_set_handlers)(struct avmm_chr *chr, const struct avmm_chr_handlers *h,
				void *opaque);
	void (*chr_accept_input)(struct avmm_chr *chr);

	/*
	 * I/O thread: fd readiness callbacks (one watch per fd, -EEXIST for a
	 * second) and timers.  A device can only unwatch its own watches
	 * (-ENOENT otherwise); once io_unwatch returns the callback is not
	 * running and never runs again.
	 */
	int (*io_watch)(struct avmm_dev *dev, int fd, unsigned events, avmm_io_fn fn,
			void *opaque);
	int (*io_unwatch)(struct avmm_dev *dev, int fd);
	/* -ENOSPC past a per-device limit of live (not yet freed) timers. */
	int (*timer_new)(struct avmm_dev *dev, avmm_timer_fn fn, void *opaque,
			 struct avmm_timer **timer);
	/* Arm for an absolute CLOCK_MONOTONIC deadline in ns; re-arming moves it. */
	void (*timer_mod)(struct avmm_timer *timer, uint64_t deadline_ns);
	/* Disarm: the callback does not run until the next timer_mod. */
	void (*timer_del)(struct avmm_timer *timer);
	/*
	 * Disarm and free, releasing the slot.  Once it returns the callback is
	 * not running and never runs again; the pointer is invalid.
	 */
	void (*timer_free)(struct avmm_timer *timer);
	uint64_t (*clock_ns)(void);

	/* Ask the VM to stop; `status` becomes avmm's exit status. */
	void (*vm_request_exit)(struct avmm_dev *dev, int status);

	/* ---- ABI 1.1 ---- */

	/*
	 * A file name from config key `key`, resolved like every path of the
	 * core: relative to the directory of the config file (a `-s` override
	 * is taken as given, relative to the working directory).  The file must
	 * be readable.  *path is malloc'd: free() it.  -ENOENT when absent
	 * (*path untouched); -EINVAL, reported at file:line, when empty or
	 * unreadable.
	 */
	int (*cfg_path)(struct avmm_dev *dev, const char *key, char **path); /* 1.1 */

	/*
	 * Device workers (see above).  worker_new: -ENOSPC past a per-device
	 * limit of live workers (8).  worker_kick: any thread, never blocks on
	 * fn.  worker_free: stops and joins the thread; once it returns fn is
	 * not running and never runs again, the pointer is invalid (not from
	 * the worker's own fn: a plugin bug, refused).
	 */
	int (*worker_new)(struct avmm_dev *dev, avmm_worker_fn fn, void *opaque,
			  struct avmm_worker **worker);                /* 1.1 */
	void (*worker_kick)(struct avmm_worker *worker);           /* 1.1 */
	void (*worker_free)(struct avmm_worker *worker);           /* 1.1 */

	/*
	 * Doorbells (see above), from create() only (-EBUSY later); they live
	 * as long as the device.  -EINVAL, logged as a plugin bug, for a
	 * descriptor that breaks the rules above; -EEXIST when a doorbell of
	 * this device already rings on the same writes (same gpa and len, and
	 * the same data or either without DATAMATCH); -ENOSPC past a
	 * per-device limit (8).  The core keeps its own copy of *desc.
	 */
	int (*doorbell_new)(struct avmm_dev *dev, const struct avmm_doorbell_desc *desc,
			    struct avmm_doorbell **doorbell); /* 1.1 */
};
#define AVMM_HOST_SIZE_V1_0 AVMM_SIZE_THROUGH(struct avmm_host, vm_request_exit)
#define AVMM_HOST_SIZE_V1_1 AVMM_SIZE_THROUGH(struct avmm_host, doorbell_new)

/* ---- the plugin descriptor ---------------------------------------------- */

#define AVMM_PLUGIN_IRQCHIP 1u /* created before every other device */

struct avmm_plugin_desc {
	uint32_t struct_size; /* sizeof(struct avmm_plugin_desc) */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* ---- ABI 1.0 ---- */
	const char *name;    /* matches the file name: `pl011` for pl011.so */
	const char *summary; /* one line for --list-plugins */
	uint32_t flags;      /* AVMM_PLUGIN_* */

	/*
	 * Create one instance.  On failure return -errno and, unless the error
	 * was already reported through cfg_* (which return -EINVAL), write a
	 * message to err[errlen]: the core prints it with the config location.
	 */
	int (*create)(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		      char *err, size_t errlen);
	void (*destroy)(void *instance);
	/* Optional: add this instance's nodes to the device tree. */
	int (*fdt_populate)(void *instance, void *fdt);
	/* Optional: return to power-on state (guest SYSTEM_RESET). */
	void (*reset)(void *instance);
};
#define AVMM_PLUGIN_DESC_SIZE_V1_0 AVMM_SIZE_THROUGH(struct avmm_plugin_desc, reset)

#define AVMM_PLUGIN_SYMBOL "avmm_plugin"

/* Define the one exported descriptor; list the 1.0 fields after the macro. */
#define AVMM_PLUGIN_DEFINE(...)                                                        \
	AVMM_EXPORT const struct avmm_plugin_desc avmm_plugin = {                      \
		.struct_size = sizeof(struct avmm_plugin_desc),                        \
		.abi_major = AVMM_ABI_MAJOR,                                           \
		.abi_minor = AVMM_ABI_MINOR,                                           \
		__VA_ARGS__}

#ifdef __cplusplus
}
#endif

#endif /* AVMM_AVMM_H */
