/* SPDX-License-Identifier: MIT */
/*
 * Device-tree builder: the machine-level nodes (root, /cpus, /psci, /memory,
 * /chosen) in a read-write libfdt tree; devices add theirs afterwards.
 */
#include "dtb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <avmm/avmm.h>

#include "log.h"
#include "psci.h"

/*
 * dtb_alloc_phandle() must hand out a fresh value on every call, even when the
 * caller has not yet put the previous one into a node (or, like the root's
 * interrupt-parent, refers to a node that a plugin creates later).  The
 * high-water mark lives in the tree itself, so there is no global state;
 * dtb_finish() removes it.
 */
#define DTB_PHANDLE_HWM "avmm,phandle-hwm"

/* MPIDR_EL1 bits the cpu nodes' reg carries: Aff3 [39:32], Aff2..Aff0 [23:0]. */
#define MPIDR_AFF3_MASK 0xff00000000ull
#define MPIDR_AFF_MASK (MPIDR_AFF3_MASK | 0xffffffull)

static int dtb_errno(int fdterr)
{
	switch (-fdterr) {
	case FDT_ERR_NOTFOUND:
		return -ENOENT;
	case FDT_ERR_EXISTS:
		return -EEXIST;
	case FDT_ERR_NOSPACE:
	case FDT_ERR_NOPHANDLES:
		return -ENOSPC;
	case FDT_ERR_INTERNAL:
		return -EIO;
	default:
		/* Bad offsets, paths, layouts, values: all a malformed request. */
		return -EINVAL;
	}
}

static int dtb_fail(int fdterr, const char *what, char *err, size_t errlen)
{
	log_errbuf(err, errlen, "%s: %s", what, fdt_strerror(fdterr));
	return dtb_errno(fdterr);
}

static int dtb_root(void *fdt, const struct dtb_machine *m)
{
	int r;

	if ((r = fdt_setprop_string(fdt, 0, "compatible", "linux,dummy-virt")) < 0 ||
	    (r = fdt_setprop_string(fdt, 0, "model", "avmm")) < 0 ||
	    (r = fdt_setprop_u32(fdt, 0, "#address-cells", 2)) < 0 ||
	    (r = fdt_setprop_u32(fdt, 0, "#size-cells", 2)) < 0)
		return r;
	if (m->irqchip_phandle) {
		if ((r = fdt_setprop_u32(fdt, 0, "interrupt-parent", m->irqchip_phandle)) < 0 ||
		    (r = fdt_setprop_u32(fdt, 0, DTB_PHANDLE_HWM, m->irqchip_phandle)) < 0)
			return r;
	}
	return 0;
}

static int dtb_cpus(void *fdt, const struct dtb_machine *m)
{
	unsigned i, cells = 1;
	char name[32];
	int cpus, node, r;

	/* One cell covers Aff2..Aff0; Aff3 needs two (Linux arm/cpus.yaml). */
	for (i = 0; i < m->ncpus; i++)
		if (m->mpidr[i] & MPIDR_AFF3_MASK)
			cells = 2;

	cpus = fdt_add_subnode(fdt, 0, "cpus");
	if (cpus < 0)
		return cpus;
	if ((r = fdt_setprop_u32(fdt, cpus, "#address-cells", cells)) < 0 ||
	    (r = fdt_setprop_u32(fdt, cpus, "#size-cells", 0)) < 0)
		return r;

	/* libfdt inserts each subnode first: go backwards so cpu 0 comes first. */
	for (i = m->ncpus; i-- > 0;) {
		uint64_t reg = m->mpidr[i] & MPIDR_AFF_MASK;

		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)reg);
		node = fdt_add_subnode(fdt, cpus, name);
		if (node < 0)
			return node;
		if ((r = fdt_setprop_string(fdt, node, "device_type", "cpu")) < 0 ||
		    (r = fdt_setprop_string(fdt, node, "compatible", "arm,armv8")) < 0)
			return r;
		if (cells == 2)
			r = fdt_setprop_u64(fdt, node, "reg", reg);
		else
			r = fdt_setprop_u32(fdt, node, "reg", (uint32_t)reg);
		if (r < 0 || (r = fdt_setprop_string(fdt, node, "enable-method", "psci")) < 0)
			return r;
	}
	return 0;
}

static int dtb_psci(void *fdt, const struct dtb_machine *m)
{
	/*
	 * PSCI 1.0 first so Linux binds its newest driver; "arm,psci" last for
	 * 0.1-only software, which needs the function IDs below (the binding
	 * permits them next to the newer compatibles, and 0.2+ ignores them).
	 */
	static const char compat[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";
	int node, r;

	node = fdt_add_subnode(fdt, 0, "psci");
	if (node < 0)
		return node;
	if ((r = fdt_setprop(fdt, node, "compatible", compat, sizeof(compat))) < 0 ||
	    (r = fdt_setprop_string(fdt, node, "method", m->psci_method)) < 0 ||
	    (r = fdt_setprop_u32(fdt, node, "cpu_suspend", PSCI_FN64_CPU_SUSPEND)) < 0 ||
	    (r = fdt_setprop_u32(fdt, node, "cpu_off", PSCI_FN_CPU_OFF)) < 0 ||
	    (r = fdt_setprop_u32(fdt, node, "cpu_on", PSCI_FN64_CPU_ON)) < 0)
		return r;
	return 0;
}

static int dtb_memory(void *fdt, const struct dtb_machine *m)
{
	char name[40];
	int node, r;

	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)m->ram_base);
	node = fdt_add_subnode(fdt, 0, name);
	if (node < 0)
		return node;
	/* Root #address-cells/#size-cells are 2: base and size as 64-bit pairs. */
	if ((r = fdt_setprop_string(fdt, node, "device_type", "memory")) < 0 ||
	    (r = fdt_setprop_u64(fdt, node, "reg", m->ram_base)) < 0 ||
	    (r = fdt_appendprop_u64(fdt, node, "reg", m->ram_size)) < 0)
		return r;
	return 0;
}

static int dtb_chosen(void *fdt, const struct dtb_machine *m)
{
	int node, r;

	/* stdout-path is the console device's to set; it knows its own path. */
	node = fdt_add_subnode(fdt, 0, "chosen");
	if (node < 0)
		return node;
	if (m->bootargs && (r = fdt_setprop_string(fdt, node, "bootargs", m->bootargs)) < 0)
		return r;
	if (m->initrd_end) {
		/* Linux reads these with the property's own length: 64-bit is fine. */
		if ((r = fdt_setprop_u64(fdt, node, "linux,initrd-start", m->initrd_start)) < 0 ||
		    (r = fdt_setprop_u64(fdt, node, "linux,initrd-end", m->initrd_end)) < 0)
			return r;
	}
	if (m->rng_seed && m->rng_seed_len) {
		if (m->rng_seed_len > INT32_MAX)
			return -FDT_ERR_NOSPACE;
		r = fdt_setprop(fdt, node, "rng-seed", m->rng_seed, (int)m->rng_seed_len);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool dtb_method_ok(const char *method)
{
	return method && (!strcmp(method, "hvc") || !strcmp(method, "smc"));
}

int dtb_create(const struct dtb_machine *m, void **fdtp, char *err, size_t errlen)
{
	void *fdt;
	int r;

	if (!fdtp)
		return -EINVAL;
	*fdtp = NULL;
	if (!m || !m->ncpus || !m->mpidr) {
		log_errbuf(err, errlen, "no CPUs");
		return -EINVAL;
	}
	if (!m->ram_size || m->ram_base + m->ram_size < m->ram_base) {
		log_errbuf(err, errlen, "bad RAM range base 0x%llx size 0x%llx",
			   (unsigned long long)m->ram_base, (unsigned long long)m->ram_size);
		return -EINVAL;
	}
	if (m->initrd_end && m->initrd_end <= m->initrd_start) {
		log_errbuf(err, errlen, "initrd end 0x%llx is not after start 0x%llx",
			   (unsigned long long)m->initrd_end,
			   (unsigned long long)m->initrd_start);
		return -EINVAL;
	}
	if (!dtb_method_ok(m->psci_method)) {
		log_errbuf(err, errlen, "PSCI method must be \"hvc\" or \"smc\", not \"%s\"",
			   m->psci_method ? m->psci_method : "(none)");
		return -EINVAL;
	}

	fdt = malloc(DTB_MAX_SIZE);
	if (!fdt) {
		log_errbuf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = fdt_create_empty_tree(fdt, DTB_MAX_SIZE);
	if (r < 0) {
		free(fdt);
		return dtb_fail(r, "/", err, errlen);
	}

	if ((r = dtb_root(fdt, m)) < 0)
		r = dtb_fail(r, "/", err, errlen);
	else if ((r = dtb_cpus(fdt, m)) < 0)
		r = dtb_fail(r, "/cpus", err, errlen);
	else if ((r = dtb_psci(fdt, m)) < 0)
		r = dtb_fail(r, "/psci", err, errlen);
	else if ((r = dtb_memory(fdt, m)) < 0)
		r = dtb_fail(r, "/memory", err, errlen);
	else if ((r = dtb_chosen(fdt, m)) < 0)
		r = dtb_fail(r, "/chosen", err, errlen);
	if (r < 0) {
		free(fdt);
		return r;
	}
	*fdtp = fdt;
	return 0;
}

uint32_t dtb_alloc_phandle(void *fdt)
{
	uint32_t max = 0, hwm = 0, next;
	const fdt32_t *p;
	int len;

	if (!fdt || fdt_find_max_phandle(fdt, &max) < 0)
		return 0;
	p = fdt_getprop(fdt, 0, DTB_PHANDLE_HWM, &len);
	if (p && len == sizeof(*p))
		hwm = fdt32_to_cpu(*p);
	next = (max > hwm ? max : hwm) + 1;
	if (next == 0 || next > FDT_MAX_PHANDLE)
		return 0;
	if (fdt_setprop_u32(fdt, 0, DTB_PHANDLE_HWM, next) < 0)
		return 0;
	return next;
}

/* "clk24mhz": the name a clock consumer's debug output will show. */
static void dtb_clock_output_name(uint32_t hz, char *buf, size_t len)
{
	if (hz % 1000000 == 0)
		snprintf(buf, len, "clk%umhz", hz / 1000000);
	else if (hz % 1000 == 0)
		snprintf(buf, len, "clk%ukhz", hz / 1000);
	else
		snprintf(buf, len, "clk%uhz", hz);
}

int dtb_fixed_clock(void *fdt, uint32_t hz, uint32_t *phandle)
{
	char name[32], out[32];
	uint32_t ph;
	int node, r;

	if (!fdt || !phandle || !hz)
		return -EINVAL;

	/* The fixed-clock binding's preferred node name: clock-<frequency>. */
	snprintf(name, sizeof(name), "clock-%u", hz);
	node = fdt_subnode_offset(fdt, 0, name);
	if (node >= 0) {
		ph = fdt_get_phandle(fdt, node);
		if (!ph)
			return -EINVAL; /* someone else's node of that name */
		*phandle = ph;
		return 0;
	}
	if (node != -FDT_ERR_NOTFOUND)
		return dtb_errno(node);

	ph = dtb_alloc_phandle(fdt);
	if (!ph)
		return -ENOSPC;
	node = fdt_add_subnode(fdt, 0, name);
	if (node < 0)
		return dtb_errno(node);
	dtb_clock_output_name(hz, out, sizeof(out));
	if ((r = fdt_setprop_string(fdt, node, "compatible", "fixed-clock")) < 0 ||
	    (r = fdt_setprop_u32(fdt, node, "#clock-cells", 0)) < 0 ||
	    (r = fdt_setprop_u32(fdt, node, "clock-frequency", hz)) < 0 ||
	    (r = fdt_setprop_string(fdt, node, "clock-output-names", out)) < 0 ||
	    (r = fdt_setprop_u32(fdt, node, "phandle", ph)) < 0) {
		/* Leave no half-built node that a second call would then reuse. */
		fdt_del_node(fdt, node);
		return dtb_errno(r);
	}
	*phandle = ph;
	return 0;
}

int dtb_finish(void *fdt, size_t *size, char *err, size_t errlen)
{
	int r;

	if (!fdt || !size)
		return -EINVAL;
	r = fdt_delprop(fdt, 0, DTB_PHANDLE_HWM);
	if (r < 0 && r != -FDT_ERR_NOTFOUND)
		return dtb_fail(r, "/", err, errlen);
	r = fdt_pack(fdt);
	if (r < 0)
		return dtb_fail(r, "packing", err, errlen);
	r = fdt_check_full(fdt, fdt_totalsize(fdt));
	if (r < 0)
		return dtb_fail(r, "checking", err, errlen);
	*size = fdt_totalsize(fdt);
	return 0;
}

int dtb_refresh_chosen(void *fdt, uint64_t initrd_start, uint64_t initrd_end,
		       const uint8_t *seed, size_t seed_len)
{
	int node = fdt_path_offset(fdt, "/chosen");

	if (node < 0)
		return initrd_end ? -ENOENT : 0;
	if (initrd_end && (!fdt_getprop(fdt, node, "linux,initrd-start", NULL) ||
			   !fdt_getprop(fdt, node, "linux,initrd-end", NULL)))
		return -ENOENT;
	if (initrd_end &&
	    (fdt_setprop_inplace_u64(fdt, node, "linux,initrd-start", initrd_start) < 0 ||
	     fdt_setprop_inplace_u64(fdt, node, "linux,initrd-end", initrd_end) < 0))
		return -EINVAL;
	if (seed && fdt_getprop(fdt, node, "rng-seed", NULL) &&
	    (seed_len > INT32_MAX ||
	     fdt_setprop_inplace(fdt, node, "rng-seed", seed, (int)seed_len) < 0))
		return -EINVAL;
	return 0;
}
