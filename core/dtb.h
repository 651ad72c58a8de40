/* SPDX-License-Identifier: MIT */
/*
 * Device-tree builder.  The core writes the machine-level nodes; each device
 * then adds its own through its plugin's fdt_populate hook.
 */
#ifndef AVMM_CORE_DTB_H
#define AVMM_CORE_DTB_H

#include <stddef.h>
#include <stdint.h>

struct dtb_machine {
	unsigned ncpus;
	const uint64_t *mpidr;     /* ncpus entries: the cpu nodes' reg */
	uint64_t ram_base, ram_size;
	const char *bootargs;      /* NULL: none */
	uint64_t initrd_start;     /* initrd_end == 0: no initrd */
	uint64_t initrd_end;
	const uint8_t *rng_seed;   /* /chosen/rng-seed, NULL: none */
	size_t rng_seed_len;
	uint32_t irqchip_phandle;  /* root interrupt-parent, 0: none */
	const char *psci_method;   /* "hvc" or "smc" */
};

/* Room the tree gets before devices add their nodes; dtb_finish packs it. */
#define DTB_MAX_SIZE (2u * 1024u * 1024u)

/*
 * Build root (compatible "linux,dummy-virt", #address-cells/#size-cells 2),
 * /cpus (enable-method "psci"), /psci, /memory, /chosen into a malloc'ed
 * buffer of DTB_MAX_SIZE.  Returns 0 or a negative errno (libfdt errors are
 * mapped and described in err).
 */
int dtb_create(const struct dtb_machine *m, void **fdt, char *err, size_t errlen);

/* Next free phandle of the tree (the core hands them out from here). */
uint32_t dtb_alloc_phandle(void *fdt);

/* A shared /clocks-style fixed-clock node of hz; created on first use. */
int dtb_fixed_clock(void *fdt, uint32_t hz, uint32_t *phandle);

/* Pack and check the tree (fdt_check_full); returns the final size in *size. */
int dtb_finish(void *fdt, size_t *size, char *err, size_t errlen);

/*
 * For a system reset, in the finished tree: point /chosen's initrd
 * properties at the initrd as it was reloaded (initrd_end == 0: there is
 * none, and the properties are left alone) and give rng-seed new bytes
 * (Linux wipes it after use).  Only properties the tree already has are
 * changed, in place; -ENOENT if the initrd's are missing.
 */
int dtb_refresh_chosen(void *fdt, uint64_t initrd_start, uint64_t initrd_end,
		       const uint8_t *seed, size_t seed_len);

#endif
