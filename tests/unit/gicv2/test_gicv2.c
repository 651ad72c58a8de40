/* SPDX-License-Identifier: MIT */
/*
 * gicv2 plugin: register file, interrupt state machine and device-tree node,
 * driven through the real `avmm_plugin` descriptor and a recording host.
 * Expected values come from the GICv2 specification (IHI 0048B) and the
 * plugin's documented implementation choices (5 priority bits, no Security
 * Extensions).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libfdt.h>

#include <avmm/avmm.h>

#include "fakehost.h"

extern const struct avmm_plugin_desc avmm_plugin;

#define DIST 0x08000000ull
#define CPUI 0x08010000ull

/* Distributor */
#define D_CTLR 0x000
#define D_TYPER 0x004
#define D_IIDR 0x008
#define D_IGROUPR 0x080
#define D_ISENABLER 0x100
#define D_ICENABLER 0x180
#define D_ISPENDR 0x200
#define D_ICPENDR 0x280
#define D_ISACTIVER 0x300
#define D_ICACTIVER 0x380
#define D_IPRIORITYR 0x400
#define D_ITARGETSR 0x800
#define D_ICFGR 0xc00
#define D_NSACR 0xe00
#define D_SGIR 0xf00
#define D_CPENDSGIR 0xf10
#define D_SPENDSGIR 0xf20

/* CPU interface */
#define C_CTLR 0x00
#define C_PMR 0x04
#define C_BPR 0x08
#define C_IAR 0x0c
#define C_EOIR 0x10
#define C_RPR 0x14
#define C_HPPIR 0x18
#define C_ABPR 0x1c
#define C_AIAR 0x20
#define C_AEOIR 0x24
#define C_AHPPIR 0x28
#define C_APR0 0xd0
#define C_NSAPR0 0xe0
#define C_IIDR 0xfc
#define C_DIR 0x1000

#define CTLR_EN0 (1u << 0)
#define CTLR_EN1 (1u << 1)
#define CTLR_ACKCTL (1u << 2)
#define CTLR_FIQEN (1u << 3)
#define CTLR_CBPR (1u << 4)
#define CTLR_EOIMODE (1u << 9)

#define SPURIOUS 1023u

static struct avmm_dev dev;
static void *inst;

/* A host table that also counts every cpu_irq_set call (fakehost counts edges). */
static struct avmm_host host;
static unsigned irq_calls[FAKE_MAX_CPUS];

static void counting_cpu_irq_set(struct avmm_dev *d, unsigned cpu, bool level)
{
	ck_assert_uint_lt(cpu, FAKE_MAX_CPUS);
	ck_assert_msg(level != d->cpu_irq[cpu], "cpu_irq_set(%u, %d) without a change", cpu,
		      level);
	irq_calls[cpu]++;
	fakehost.cpu_irq_set(d, cpu, level);
}

static void prepare(unsigned ncpus)
{
	fake_init(&dev, "gic", ncpus);
	host = fakehost;
	host.cpu_irq_set = counting_cpu_irq_set;
	memset(irq_calls, 0, sizeof(irq_calls));
	inst = NULL;
}

static int create_cfg(unsigned ncpus, const char *dist, const char *cpu, const char *lines,
		      char *err, size_t errlen)
{
	prepare(ncpus);
	if (dist)
		fake_set(&dev, "dist-base", dist);
	if (cpu)
		fake_set(&dev, "cpu-base", cpu);
	if (lines)
		fake_set(&dev, "lines", lines);
	err[0] = 0;
	return avmm_plugin.create(&dev, &host, &inst, err, errlen);
}

static void create_n(unsigned ncpus, const char *lines)
{
	char err[256];
	int rc = create_cfg(ncpus, "0x08000000", "0x08010000", lines, err, sizeof(err));

	ck_assert_msg(rc == 0, "create: %d %s", rc, err);
	ck_assert_ptr_nonnull(inst);
}

static void teardown(void)
{
	if (inst)
		avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
}

static uint32_t drd(unsigned cpu, uint64_t off)
{
	return fake_rd32(&dev, cpu, DIST + off);
}

static void dwr(unsigned cpu, uint64_t off, uint32_t v)
{
	fake_wr32(&dev, cpu, DIST + off, v);
}

static uint32_t crd(unsigned cpu, uint64_t off)
{
	return fake_rd32(&dev, cpu, CPUI + off);
}

static void cwr(unsigned cpu, uint64_t off, uint32_t v)
{
	fake_wr32(&dev, cpu, CPUI + off, v);
}

static uint8_t drd8(unsigned cpu, uint64_t off)
{
	uint64_t v = 0xdead;

	ck_assert_int_eq(fake_read(&dev, cpu, DIST + off, 1, &v), 0);
	return (uint8_t)v;
}

static void dwr8(unsigned cpu, uint64_t off, uint8_t v)
{
	ck_assert_int_eq(fake_write(&dev, cpu, DIST + off, 1, v), 0);
}

static void spi_line(unsigned line, bool level)
{
	dev.irqchip->set_line(dev.irqchip_opaque, line, level);
}

static void ppi_line(unsigned cpu, unsigned ppi, bool level)
{
	dev.irqchip->set_ppi(dev.irqchip_opaque, cpu, ppi, level);
}

static bool bit_of(unsigned cpu, uint64_t base, unsigned id)
{
	return (drd(cpu, base + id / 32 * 4) >> (id % 32)) & 1;
}

static void set_bit_reg(unsigned cpu, uint64_t base, unsigned id)
{
	dwr(cpu, base + id / 32 * 4, 1u << (id % 32));
}

/* Distributor and the CPU interfaces on, Group 0, PMR letting everything through. */
static void enable_all(void)
{
	dwr(0, D_CTLR, 1);
	for (unsigned c = 0; c < dev.ncpus; c++) {
		cwr(c, C_CTLR, CTLR_EN0);
		cwr(c, C_PMR, 0xff);
	}
}

/* Configure one SPI (INTID) enabled, with priority and target CPU mask. */
static void setup_spi(unsigned id, uint8_t prio, uint8_t targets)
{
	dwr8(0, D_IPRIORITYR + id, prio);
	if (dev.ncpus > 1)
		dwr8(0, D_ITARGETSR + id, targets);
	set_bit_reg(0, D_ISENABLER, id);
}

/* ---- creation and configuration -------------------------------------------- */

START_TEST(test_descriptor)
{
	ck_assert_str_eq(avmm_plugin.name, "gicv2");
	ck_assert(avmm_plugin.flags & AVMM_PLUGIN_IRQCHIP);
	ck_assert_ptr_nonnull(avmm_plugin.create);
	ck_assert_ptr_nonnull(avmm_plugin.destroy);
	ck_assert_ptr_nonnull(avmm_plugin.fdt_populate);
	ck_assert_ptr_nonnull(avmm_plugin.reset);
}
END_TEST

START_TEST(test_create_defaults)
{
	create_n(2, NULL);
	ck_assert_uint_eq(fake_unused_keys(&dev), 0);
	ck_assert_uint_eq(dev.nregions, 2);
	ck_assert_uint_eq(dev.regions[0].base, DIST);
	ck_assert_uint_eq(dev.regions[0].size, 0x10000);
	ck_assert_uint_eq(dev.regions[1].base, CPUI);
	ck_assert_uint_eq(dev.regions[1].size, 0x10000);
	ck_assert_ptr_nonnull(dev.irqchip);
	ck_assert_uint_eq(dev.irqchip->nr_lines, 224);
	ck_assert_uint_eq(dev.irqchip->interrupt_cells, 3);
	/* 256 INTIDs: ITLinesNumber 7; CPUNumber 1; SecurityExtn 0. */
	ck_assert_uint_eq(drd(0, D_TYPER), 7u | (1u << 5));
	ck_assert_uint_eq(drd(0, D_TYPER) & (1u << 10), 0);
	ck_assert_uint_eq(dev.cpu_irq_edges[0] + dev.cpu_irq_edges[1], 0);
}
END_TEST

START_TEST(test_create_lines)
{
	create_n(1, "0");
	ck_assert_uint_eq(drd(0, D_TYPER), 0);
	ck_assert_uint_eq(dev.irqchip->nr_lines, 0);
	teardown();

	/* A count that is not a multiple of 32 is rounded up to one. */
	create_n(4, "100");
	ck_assert_uint_eq(drd(0, D_TYPER), 4u | (3u << 5));
	ck_assert_uint_eq(dev.irqchip->nr_lines, 128);
	teardown();

	create_n(8, "988");
	ck_assert_uint_eq(drd(0, D_TYPER), 31u | (7u << 5));
	ck_assert_uint_eq(dev.irqchip->nr_lines, 988);
	/* INTID 1019 is implemented, 1020-1023 are not. */
	dwr(0, D_ISENABLER + 0x7c, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_ISENABLER + 0x7c), 0x0fffffff);
	dwr(0, D_IPRIORITYR + 0x3f8, 0xffffffff);
	dwr(0, D_IPRIORITYR + 0x3fc, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_IPRIORITYR + 0x3f8), 0xf8f8f8f8);
	ck_assert_uint_eq(drd(0, D_IPRIORITYR + 0x3fc), 0);
}
END_TEST

START_TEST(test_create_bad_config)
{
	char err[256];

	ck_assert_int_lt(create_cfg(1, NULL, "0x08010000", NULL, err, sizeof(err)), 0);
	ck_assert(strstr(err, "dist-base"));
	teardown();
	ck_assert_int_lt(create_cfg(1, "0x08000000", NULL, NULL, err, sizeof(err)), 0);
	ck_assert(strstr(err, "cpu-base"));
	teardown();
	/* Unaligned bases are reported through cfg_error. */
	ck_assert_int_eq(create_cfg(1, "0x08001000", "0x08010000", NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	teardown();
	ck_assert_int_eq(create_cfg(1, "0x08000000", "0x08010800", NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	teardown();
	/* 989 SPIs would exceed 1020 INTIDs. */
	ck_assert_int_eq(create_cfg(1, "0x08000000", "0x08010000", "989", err, sizeof(err)),
			 -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	teardown();
	ck_assert_int_eq(create_cfg(1, "0x08000000", "0x08010000", "many", err, sizeof(err)),
			 -EINVAL);
	teardown();
	ck_assert_int_lt(create_cfg(1, "0x08000000", "0x08000000", NULL, err, sizeof(err)), 0);
	teardown();
	ck_assert_int_lt(create_cfg(9, "0x08000000", "0x08010000", NULL, err, sizeof(err)), 0);
	ck_assert(err[0]);
	teardown();
	ck_assert_int_lt(create_cfg(0, "0x08000000", "0x08010000", NULL, err, sizeof(err)), 0);
	/* Nothing half-registered is left behind by a failed create. */
	ck_assert_ptr_null(dev.irqchip);
}
END_TEST

/* ---- distributor registers -------------------------------------------------- */

START_TEST(test_dist_ctlr_iidr_id)
{
	create_n(2, NULL);
	ck_assert_uint_eq(drd(0, D_CTLR), 0);
	dwr(0, D_CTLR, 0xffffffff);
	/* Without Security Extensions: EnableGrp0 and EnableGrp1 only. */
	ck_assert_uint_eq(drd(1, D_CTLR), 3);
	dwr(1, D_CTLR, 0);
	ck_assert_uint_eq(drd(0, D_CTLR), 0);

	/* IIDR: Arm's JEP106 code (0x43b) in [11:0]. */
	ck_assert_uint_eq(drd(0, D_IIDR) & 0xfff, 0x43b);
	/* PIDR2.ArchRev = 2 for GICv2; component ID 0xB105F00D. */
	ck_assert_uint_eq((drd(0, 0xfe8) >> 4) & 0xf, 2);
	ck_assert_uint_eq(drd(0, 0xff0), 0x0d);
	ck_assert_uint_eq(drd(0, 0xff4), 0xf0);
	ck_assert_uint_eq(drd(0, 0xff8), 0x05);
	ck_assert_uint_eq(drd(0, 0xffc), 0xb1);

	/* Read-only registers ignore writes (and report a guest error). */
	uint32_t typer = drd(0, D_TYPER);
	ck_assert_int_lt(fake_write(&dev, 0, DIST + D_TYPER, 4, 0), 0);
	ck_assert_uint_eq(drd(0, D_TYPER), typer);
	ck_assert_int_lt(fake_write(&dev, 0, DIST + 0xfe8, 4, 0), 0);
	ck_assert_uint_eq((drd(0, 0xfe8) >> 4) & 0xf, 2);

	/* NSACR: RAZ/WI without Security Extensions. */
	dwr(0, D_NSACR + 8, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_NSACR + 8), 0);
}
END_TEST

START_TEST(test_dist_access_width)
{
	uint64_t v;

	create_n(2, NULL);
	/* Word-only registers refuse byte accesses: RAZ/WI. */
	ck_assert_int_lt(fake_write(&dev, 0, DIST + D_CTLR, 1, 1), 0);
	ck_assert_uint_eq(drd(0, D_CTLR), 0);
	ck_assert_int_lt(fake_read(&dev, 0, DIST + D_TYPER, 1, &v), 0);
	ck_assert_uint_eq(v, 0);
	/* Halfwords are not a GICv2 access size: the core never passes them. */
	ck_assert_uint_eq(dev.regions[0].ops.valid_sizes & AVMM_SIZE_2, 0);
	ck_assert_uint_eq(dev.regions[1].ops.valid_sizes, AVMM_SIZE_4);
	/* A non-existent CPU is refused rather than indexing banked state. */
	ck_assert_int_lt(fake_read(&dev, 7, DIST + D_ISENABLER, 4, &v), 0);
	ck_assert_int_lt(fake_write(&dev, 200, DIST + D_ISENABLER, 4, 0xffffffff), 0);
	ck_assert_int_lt(fake_read(&dev, 5, CPUI + C_IAR, 4, &v), 0);
	ck_assert_uint_eq(drd(0, D_ISENABLER), 0);
	/* SGIR is write-only. */
	ck_assert_int_lt(fake_read(&dev, 0, DIST + D_SGIR, 4, &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_igroupr)
{
	create_n(2, NULL);
	for (unsigned r = 0; r < 8; r++)
		ck_assert_uint_eq(drd(0, D_IGROUPR + 4 * r), 0);
	dwr(0, D_IGROUPR + 4, 0x12345678);
	ck_assert_uint_eq(drd(1, D_IGROUPR + 4), 0x12345678);
	dwr(1, D_IGROUPR + 4, 0x00000001);
	ck_assert_uint_eq(drd(0, D_IGROUPR + 4), 0x00000001);
	/* IGROUPR0 is banked per CPU. */
	dwr(0, D_IGROUPR, 0xffff0000);
	ck_assert_uint_eq(drd(0, D_IGROUPR), 0xffff0000);
	ck_assert_uint_eq(drd(1, D_IGROUPR), 0);
	/* Beyond the 256 implemented INTIDs: RAZ/WI. */
	dwr(0, D_IGROUPR + 8 * 4, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_IGROUPR + 8 * 4), 0);
}
END_TEST

START_TEST(test_enable_regs)
{
	create_n(2, NULL);
	ck_assert_uint_eq(drd(0, D_ISENABLER + 4), 0);
	dwr(0, D_ISENABLER + 4, 0x0000ff00);
	dwr(0, D_ISENABLER + 4, 0x00000003);
	ck_assert_uint_eq(drd(0, D_ISENABLER + 4), 0x0000ff03);
	ck_assert_uint_eq(drd(1, D_ICENABLER + 4), 0x0000ff03);
	dwr(1, D_ICENABLER + 4, 0x00000f01);
	ck_assert_uint_eq(drd(0, D_ISENABLER + 4), 0x0000f002);
	/* Bank 0 (SGIs and PPIs) is per CPU. */
	dwr(0, D_ISENABLER, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_ISENABLER), 0xffffffff);
	ck_assert_uint_eq(drd(1, D_ISENABLER), 0);
	dwr(0, D_ICENABLER, 0x0000ffff);
	ck_assert_uint_eq(drd(0, D_ICENABLER), 0xffff0000);
	/* INTID 256 and up do not exist with 224 SPIs. */
	dwr(0, D_ISENABLER + 8 * 4, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_ISENABLER + 8 * 4), 0);
}
END_TEST

START_TEST(test_pending_regs)
{
	create_n(2, NULL);
	/* SPI pending is writable through ISPENDR/ICPENDR. */
	dwr(0, D_ISPENDR + 4, 0x00000005);
	ck_assert_uint_eq(drd(1, D_ISPENDR + 4), 0x00000005);
	ck_assert_uint_eq(drd(1, D_ICPENDR + 4), 0x00000005);
	dwr(1, D_ICPENDR + 4, 0x00000004);
	ck_assert_uint_eq(drd(0, D_ISPENDR + 4), 0x00000001);
	/* SGI bits of ISPENDR0/ICPENDR0 ignore writes (use [SC]PENDSGIR). */
	dwr(0, D_ISPENDR, 0x0000ffff);
	ck_assert_uint_eq(drd(0, D_ISPENDR), 0);
	/* PPI pending is banked. */
	dwr(0, D_ISPENDR, 1u << 27);
	ck_assert_uint_eq(drd(0, D_ISPENDR), 1u << 27);
	ck_assert_uint_eq(drd(1, D_ISPENDR), 0);
	/* A level SPI whose input is asserted stays pending through ICPENDR. */
	spi_line(3, true); /* INTID 35 */
	ck_assert(bit_of(0, D_ISPENDR, 35));
	set_bit_reg(0, D_ICPENDR, 35);
	ck_assert(bit_of(0, D_ISPENDR, 35));
	spi_line(3, false);
	ck_assert(!bit_of(0, D_ISPENDR, 35));
}
END_TEST

START_TEST(test_active_regs)
{
	create_n(2, NULL);
	dwr(0, D_ISACTIVER + 8, 0x80000001);
	ck_assert_uint_eq(drd(1, D_ISACTIVER + 8), 0x80000001);
	ck_assert_uint_eq(drd(1, D_ICACTIVER + 8), 0x80000001);
	dwr(0, D_ICACTIVER + 8, 0x00000001);
	ck_assert_uint_eq(drd(0, D_ISACTIVER + 8), 0x80000000);
	dwr(1, D_ISACTIVER, 0x00010002);
	ck_assert_uint_eq(drd(1, D_ISACTIVER), 0x00010002);
	ck_assert_uint_eq(drd(0, D_ISACTIVER), 0);
}
END_TEST

START_TEST(test_priority_regs)
{
	create_n(2, NULL);
	ck_assert_uint_eq(drd(0, D_IPRIORITYR + 40), 0);
	/* 5 implemented bits: the low 3 bits are RAZ/WI. */
	dwr(0, D_IPRIORITYR + 40, 0xffffffff);
	ck_assert_uint_eq(drd(1, D_IPRIORITYR + 40), 0xf8f8f8f8);
	dwr(0, D_IPRIORITYR + 40, 0x01234567);
	ck_assert_uint_eq(drd(0, D_IPRIORITYR + 40), 0x00204060);
	/* Byte access. */
	dwr8(0, D_IPRIORITYR + 41, 0xa7);
	ck_assert_uint_eq(drd8(1, D_IPRIORITYR + 41), 0xa0);
	ck_assert_uint_eq(drd(0, D_IPRIORITYR + 40), 0x0020a060);
	ck_assert_uint_eq(drd8(0, D_IPRIORITYR + 43), 0x00);
	/* SGI/PPI priorities are banked. */
	dwr8(1, D_IPRIORITYR + 3, 0x48);
	dwr(0, D_IPRIORITYR + 28, 0x10203040);
	ck_assert_uint_eq(drd8(1, D_IPRIORITYR + 3), 0x48);
	ck_assert_uint_eq(drd8(0, D_IPRIORITYR + 3), 0x00);
	ck_assert_uint_eq(drd(0, D_IPRIORITYR + 28), 0x10203040);
	ck_assert_uint_eq(drd(1, D_IPRIORITYR + 28), 0);
	/* Unimplemented INTIDs: RAZ/WI. */
	dwr8(0, D_IPRIORITYR + 300, 0x80);
	ck_assert_uint_eq(drd8(0, D_IPRIORITYR + 300), 0);
}
END_TEST

START_TEST(test_targets_regs)
{
	create_n(2, NULL);
	/* SGI/PPI: each byte reads as the accessing CPU's own bit. */
	for (unsigned r = 0; r < 8; r++) {
		ck_assert_uint_eq(drd(0, D_ITARGETSR + 4 * r), 0x01010101);
		ck_assert_uint_eq(drd(1, D_ITARGETSR + 4 * r), 0x02020202);
	}
	dwr(0, D_ITARGETSR + 4, 0x02020202);
	ck_assert_uint_eq(drd(0, D_ITARGETSR + 4), 0x01010101);
	ck_assert_uint_eq(drd8(1, D_ITARGETSR + 29), 0x02);
	/* SPIs: reset 0, RW, masked to the implemented CPU interfaces. */
	ck_assert_uint_eq(drd(0, D_ITARGETSR + 32), 0);
	dwr(0, D_ITARGETSR + 32, 0xff0201ff);
	ck_assert_uint_eq(drd(1, D_ITARGETSR + 32), 0x03020103);
	dwr8(1, D_ITARGETSR + 33, 0x02);
	ck_assert_uint_eq(drd8(0, D_ITARGETSR + 33), 0x02);
	ck_assert_uint_eq(drd(0, D_ITARGETSR + 32), 0x03020203);
	dwr(0, D_ITARGETSR + 300, 0x01010101);
	ck_assert_uint_eq(drd(0, D_ITARGETSR + 300), 0);
	teardown();

	/* A uniprocessor GIC has RAZ/WI ITARGETSRs. */
	create_n(1, NULL);
	ck_assert_uint_eq(drd(0, D_ITARGETSR), 0);
	dwr(0, D_ITARGETSR + 32, 0x01010101);
	ck_assert_uint_eq(drd(0, D_ITARGETSR + 32), 0);
}
END_TEST

START_TEST(test_icfgr_regs)
{
	create_n(2, NULL);
	/* SGIs: always edge (Int_config[1] set), read-only. */
	ck_assert_uint_eq(drd(0, D_ICFGR), 0xaaaaaaaa);
	dwr(0, D_ICFGR, 0);
	ck_assert_uint_eq(drd(0, D_ICFGR), 0xaaaaaaaa);
	/* PPIs: level at reset, programmable, banked. */
	ck_assert_uint_eq(drd(0, D_ICFGR + 4), 0);
	dwr(0, D_ICFGR + 4, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_ICFGR + 4), 0xaaaaaaaa);
	ck_assert_uint_eq(drd(1, D_ICFGR + 4), 0);
	/* SPIs: bit 2F is reserved (RAZ), bit 2F+1 selects edge. */
	dwr(1, D_ICFGR + 8, 0x0000ffff);
	ck_assert_uint_eq(drd(0, D_ICFGR + 8), 0x0000aaaa);
	dwr(1, D_ICFGR + 8, 0x00000008);
	ck_assert_uint_eq(drd(0, D_ICFGR + 8), 0x00000008);
	/* Beyond INTID 255: RAZ/WI. */
	dwr(0, D_ICFGR + 64, 0xffffffff);
	ck_assert_uint_eq(drd(0, D_ICFGR + 64), 0);
}
END_TEST

START_TEST(test_sgir_pendsgir)
{
	create_n(4, NULL);
	/* CPU 0 sends SGI 3 to CPUs 1 and 2 (TargetListFilter 0). */
	dwr(0, D_SGIR, (0u << 24) | (0x06u << 16) | 3);
	ck_assert_uint_eq(drd(1, D_SPENDSGIR), 0x01u << 24);
	ck_assert_uint_eq(drd(2, D_CPENDSGIR), 0x01u << 24);
	ck_assert_uint_eq(drd(0, D_SPENDSGIR), 0);
	ck_assert_uint_eq(drd(3, D_SPENDSGIR), 0);
	ck_assert_uint_eq(drd(1, D_ISPENDR), 1u << 3);
	ck_assert_uint_eq(drd(0, D_ISPENDR), 0);
	/* CPU 3 sends SGI 3 to all but itself. */
	dwr(3, D_SGIR, (1u << 24) | 3);
	ck_assert_uint_eq(drd8(0, D_SPENDSGIR + 3), 0x08);
	ck_assert_uint_eq(drd8(1, D_SPENDSGIR + 3), 0x09);
	ck_assert_uint_eq(drd8(2, D_SPENDSGIR + 3), 0x09);
	ck_assert_uint_eq(drd8(3, D_SPENDSGIR + 3), 0x00);
	/* CPU 2 sends SGI 14 to itself. */
	dwr(2, D_SGIR, (2u << 24) | (0x01u << 16) | 14);
	ck_assert_uint_eq(drd8(2, D_SPENDSGIR + 14), 0x04);
	ck_assert_uint_eq(drd8(0, D_SPENDSGIR + 14), 0x00);
	/* CPENDSGIR clears per source, byte and word accesses. */
	dwr8(1, D_CPENDSGIR + 3, 0x01);
	ck_assert_uint_eq(drd8(1, D_SPENDSGIR + 3), 0x08);
	dwr(2, D_CPENDSGIR, 0xffffffff);
	ck_assert_uint_eq(drd8(2, D_SPENDSGIR + 3), 0x00);
	ck_assert_uint_eq(drd8(2, D_SPENDSGIR + 14), 0x04);
	/* SPENDSGIR sets per source, masked to the 4 implemented CPUs. */
	dwr(0, D_SPENDSGIR + 4, 0x000000ff);
	ck_assert_uint_eq(drd(0, D_SPENDSGIR + 4), 0x0000000f);
	ck_assert(bit_of(0, D_ISPENDR, 4));
	ck_assert(!bit_of(1, D_ISPENDR, 4));
}
END_TEST

/* CVE-2021-20221: out-of-range SGIR fields must be masked, not used as indexes. */
START_TEST(test_sgir_out_of_range)
{
	create_n(2, NULL);
	/* SGIINTID is bits [3:0]; bits [14:4] are SBZ.  0x3f3 → SGI 3. */
	dwr(0, D_SGIR, (0xffu << 16) | 0x3f3);
	ck_assert_uint_eq(drd(0, D_SPENDSGIR), 0x01u << 24);
	ck_assert_uint_eq(drd(1, D_SPENDSGIR), 0x01u << 24);
	for (unsigned r = 1; r < 4; r++) {
		ck_assert_uint_eq(drd(0, D_SPENDSGIR + 4 * r), 0);
		ck_assert_uint_eq(drd(1, D_SPENDSGIR + 4 * r), 0);
	}
	/* Only SGI state changed. */
	ck_assert_uint_eq(drd(0, D_ISPENDR) >> 16, 0);
	ck_assert_uint_eq(drd(0, D_ISPENDR + 4), 0);
	/* Target bits for CPUs 2-7 do not exist: nothing, no crash. */
	dwr(1, D_SGIR, (0xfcu << 16) | 0xffff);
	ck_assert_uint_eq(drd(0, D_SPENDSGIR + 12), 0);
	/* Reserved TargetListFilter 3: ignored, reported. */
	ck_assert_int_lt(fake_write(&dev, 0, DIST + D_SGIR, 4, 0xffffffff), 0);
	ck_assert_uint_eq(drd(0, D_SPENDSGIR + 12), 0);
	ck_assert_uint_eq(drd(1, D_SPENDSGIR + 12), 0);
	/* Every 32-bit value: never touches more than the 16 SGIs of 2 CPUs. */
	for (uint64_t v = 0; v < 0x100000000ull; v += 0x01010101ull * 7 + 1)
		fake_write(&dev, (unsigned)(v & 1), DIST + D_SGIR, 4, v);
	ck_assert_uint_eq(drd(0, D_ISPENDR) >> 16, 0);
	ck_assert_uint_eq(drd(0, D_SPENDSGIR) & ~0x03030303u, 0);
}
END_TEST

/* ---- CPU interface registers ------------------------------------------------ */

START_TEST(test_cpu_regs_reset_and_rw)
{
	create_n(2, NULL);
	ck_assert_uint_eq(crd(0, C_CTLR), 0);
	ck_assert_uint_eq(crd(0, C_PMR), 0);
	/* Reset BPR is the minimum (2 with 5 priority bits), ABPR minimum + 1. */
	ck_assert_uint_eq(crd(0, C_BPR), 2);
	ck_assert_uint_eq(crd(0, C_ABPR), 3);
	ck_assert_uint_eq(crd(0, C_RPR), 0xff);
	ck_assert_uint_eq(crd(0, C_IIDR) & 0xfff, 0x43b);
	ck_assert_uint_eq((crd(0, C_IIDR) >> 16) & 0xf, 2); /* architecture version */

	cwr(0, C_CTLR, 0xffffffff);
	ck_assert_uint_eq(crd(0, C_CTLR), 0x3ff);
	ck_assert_uint_eq(crd(1, C_CTLR), 0);
	cwr(0, C_PMR, 0xffffffff);
	ck_assert_uint_eq(crd(0, C_PMR), 0xf8);
	cwr(0, C_PMR, 0x47);
	ck_assert_uint_eq(crd(0, C_PMR), 0x40);
	cwr(0, C_BPR, 0);
	ck_assert_uint_eq(crd(0, C_BPR), 2);
	cwr(0, C_BPR, 0xfffffff5);
	ck_assert_uint_eq(crd(0, C_BPR), 5);
	cwr(0, C_ABPR, 1);
	ck_assert_uint_eq(crd(0, C_ABPR), 3);
	cwr(0, C_ABPR, 7);
	ck_assert_uint_eq(crd(0, C_ABPR), 7);
	ck_assert_uint_eq(crd(1, C_BPR), 2);

	/* Read-only and write-only registers. */
	uint64_t v;
	ck_assert_int_lt(fake_write(&dev, 0, CPUI + C_RPR, 4, 0), 0);
	ck_assert_uint_eq(crd(0, C_RPR), 0xff);
	ck_assert_int_lt(fake_read(&dev, 0, CPUI + C_EOIR, 4, &v), 0);
	ck_assert_int_lt(fake_read(&dev, 0, CPUI + C_DIR, 4, &v), 0);
	/* Reserved space reads as zero. */
	ck_assert_int_eq(fake_read(&dev, 0, CPUI + 0x800, 4, &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_spurious)
{
	create_n(1, NULL);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	ck_assert_uint_eq(crd(0, C_HPPIR), SPURIOUS);
	/* Pending and enabled, but the distributor is off. */
	setup_spi(40, 0x80, 1);
	set_bit_reg(0, D_ISPENDR, 40);
	cwr(0, C_CTLR, CTLR_EN0);
	cwr(0, C_PMR, 0xff);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	ck_assert(!dev.cpu_irq[0]);
	/* Distributor on, CPU interface off. */
	dwr(0, D_CTLR, 1);
	cwr(0, C_CTLR, 0);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	ck_assert(!dev.cpu_irq[0]);
	/* Both on: delivered. */
	cwr(0, C_CTLR, CTLR_EN0);
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_HPPIR), 40);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	/* Now active: nothing else pending. */
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	/* EOI of a special INTID is ignored. */
	cwr(0, C_EOIR, SPURIOUS);
	ck_assert(bit_of(0, D_ISACTIVER, 40));
	cwr(0, C_EOIR, 40);
	ck_assert(!bit_of(0, D_ISACTIVER, 40));
}
END_TEST

/* ---- state machine ---------------------------------------------------------- */

START_TEST(test_level_spi_lifecycle)
{
	create_n(2, NULL);
	enable_all();
	setup_spi(37, 0x80, 0x01);
	ck_assert(!dev.cpu_irq[0]);

	spi_line(5, true);
	ck_assert(dev.cpu_irq[0]);
	ck_assert(!dev.cpu_irq[1]);
	ck_assert(bit_of(0, D_ISPENDR, 37));

	ck_assert_uint_eq(crd(0, C_IAR), 37);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert(bit_of(0, D_ISACTIVER, 37));
	/* Still asserted: active and pending. */
	ck_assert(bit_of(0, D_ISPENDR, 37));
	ck_assert_uint_eq(crd(0, C_RPR), 0x80);

	/* EOI while still asserted: pending again, signalled again. */
	cwr(0, C_EOIR, 37);
	ck_assert(!bit_of(0, D_ISACTIVER, 37));
	ck_assert_uint_eq(crd(0, C_RPR), 0xff);
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(dev.cpu_irq_edges[0], 2);
	ck_assert_uint_eq(crd(0, C_IAR), 37);

	/* The device drops its line: no longer pending; EOI leaves it idle. */
	spi_line(5, false);
	ck_assert(!bit_of(0, D_ISPENDR, 37));
	cwr(0, C_EOIR, 37);
	ck_assert(!bit_of(0, D_ISACTIVER, 37));
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	ck_assert_uint_eq(dev.cpu_irq_edges[0], 2);
	ck_assert_uint_eq(irq_calls[1], 0);
}
END_TEST

START_TEST(test_level_deasserted_before_ack)
{
	create_n(1, NULL);
	enable_all();
	setup_spi(33, 0x40, 1);
	spi_line(1, true);
	ck_assert(dev.cpu_irq[0]);
	spi_line(1, false);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
}
END_TEST

START_TEST(test_level_ispendr_latch)
{
	create_n(1, NULL);
	enable_all();
	setup_spi(50, 0x40, 1);
	/* Software-pended level interrupt with its input low stays pending... */
	set_bit_reg(0, D_ISPENDR, 50);
	ck_assert(dev.cpu_irq[0]);
	ck_assert(bit_of(0, D_ISPENDR, 50));
	/* ...until acknowledged. */
	ck_assert_uint_eq(crd(0, C_IAR), 50);
	ck_assert(!bit_of(0, D_ISPENDR, 50));
	cwr(0, C_EOIR, 50);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	/* ICPENDR removes the software pending state. */
	set_bit_reg(0, D_ISPENDR, 50);
	ck_assert(dev.cpu_irq[0]);
	set_bit_reg(0, D_ICPENDR, 50);
	ck_assert(!dev.cpu_irq[0]);
}
END_TEST

START_TEST(test_edge_latch)
{
	create_n(1, NULL);
	enable_all();
	setup_spi(40, 0x40, 1);
	dwr(0, D_ICFGR + 40 / 16 * 4, 2u << (2 * (40 % 16)));
	/* A pulse latches the pending state. */
	spi_line(8, true);
	spi_line(8, false);
	ck_assert(dev.cpu_irq[0]);
	ck_assert(bit_of(0, D_ISPENDR, 40));
	/* Holding the line high does not re-latch. */
	spi_line(8, true);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	ck_assert(!bit_of(0, D_ISPENDR, 40));
	cwr(0, C_EOIR, 40);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	/* A new edge while active: active and pending, taken after EOI. */
	spi_line(8, false);
	ck_assert_uint_eq(dev.cpu_irq_edges[0], 1);
	spi_line(8, true);
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	spi_line(8, false);
	spi_line(8, true);
	ck_assert(bit_of(0, D_ISPENDR, 40));
	ck_assert(bit_of(0, D_ISACTIVER, 40));
	ck_assert(!dev.cpu_irq[0]);
	cwr(0, C_EOIR, 40);
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	cwr(0, C_EOIR, 40);
	ck_assert(!dev.cpu_irq[0]);
	/* ICPENDR clears a latched edge. */
	spi_line(8, false);
	spi_line(8, true);
	ck_assert(dev.cpu_irq[0]);
	set_bit_reg(0, D_ICPENDR, 40);
	ck_assert(!dev.cpu_irq[0]);
}
END_TEST

START_TEST(test_disabled_interrupt_stays_pending)
{
	create_n(1, NULL);
	enable_all();
	dwr8(0, D_IPRIORITYR + 45, 0x40);
	spi_line(13, true);
	ck_assert(bit_of(0, D_ISPENDR, 45));
	ck_assert(!dev.cpu_irq[0]);
	set_bit_reg(0, D_ISENABLER, 45);
	ck_assert(dev.cpu_irq[0]);
	set_bit_reg(0, D_ICENABLER, 45);
	ck_assert(!dev.cpu_irq[0]);
}
END_TEST

START_TEST(test_spi_targets_route)
{
	create_n(2, NULL);
	enable_all();
	setup_spi(60, 0x40, 0x02);
	spi_line(28, true);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert(dev.cpu_irq[1]);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	/* Retarget to both CPUs: the first to acknowledge takes it. */
	dwr8(0, D_ITARGETSR + 60, 0x03);
	ck_assert(dev.cpu_irq[0]);
	ck_assert(dev.cpu_irq[1]);
	ck_assert_uint_eq(crd(0, C_IAR), 60);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert(!dev.cpu_irq[1]);
	ck_assert_uint_eq(crd(1, C_IAR), SPURIOUS);
	/* No target: pending but not signalled. */
	cwr(0, C_EOIR, 60);
	dwr8(0, D_ITARGETSR + 60, 0x00);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert(!dev.cpu_irq[1]);
	ck_assert(bit_of(0, D_ISPENDR, 60));
}
END_TEST

START_TEST(test_pmr_masking)
{
	create_n(1, NULL);
	enable_all();
	setup_spi(40, 0x80, 1);
	cwr(0, C_PMR, 0x80);
	spi_line(8, true);
	/* Priority must be strictly higher (lower value) than PMR. */
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	cwr(0, C_PMR, 0x88);
	ck_assert(dev.cpu_irq[0]);
	cwr(0, C_PMR, 0x00);
	ck_assert(!dev.cpu_irq[0]);
	/* HPPIR still reports the pending interrupt. */
	ck_assert_uint_eq(crd(0, C_HPPIR), 40);
	cwr(0, C_PMR, 0xf8);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
}
END_TEST

START_TEST(test_priority_order_and_ties)
{
	create_n(1, NULL);
	enable_all();
	setup_spi(70, 0x60, 1);
	setup_spi(50, 0x60, 1);
	setup_spi(60, 0x20, 1);
	set_bit_reg(0, D_ISPENDR, 70);
	set_bit_reg(0, D_ISPENDR, 50);
	set_bit_reg(0, D_ISPENDR, 60);
	ck_assert_uint_eq(crd(0, C_HPPIR), 60);
	ck_assert_uint_eq(crd(0, C_IAR), 60);
	cwr(0, C_EOIR, 60);
	/* Equal priority: the lowest INTID first. */
	ck_assert_uint_eq(crd(0, C_IAR), 50);
	cwr(0, C_EOIR, 50);
	ck_assert_uint_eq(crd(0, C_IAR), 70);
	cwr(0, C_EOIR, 70);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
}
END_TEST

START_TEST(test_preemption_bpr)
{
	create_n(1, NULL);
	enable_all();
	setup_spi(40, 0x48, 1); /* A */
	setup_spi(41, 0x40, 1); /* B: higher priority than A */
	setup_spi(42, 0x80, 1); /* C: lower priority than A */

	/* BPR 4: group priority is bits [7:5]; 0x40 and 0x48 are one group. */
	cwr(0, C_BPR, 4);
	spi_line(8, true);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	ck_assert_uint_eq(crd(0, C_RPR), 0x40);
	spi_line(9, true);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), SPURIOUS);
	cwr(0, C_EOIR, 40);
	spi_line(8, false);
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 41);
	cwr(0, C_EOIR, 41);
	spi_line(9, false);
	ck_assert(!dev.cpu_irq[0]);

	/* BPR 2: all 5 bits are group priority; B preempts A, C does not. */
	cwr(0, C_BPR, 2);
	spi_line(8, true);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	ck_assert_uint_eq(crd(0, C_RPR), 0x48);
	spi_line(10, true);
	ck_assert(!dev.cpu_irq[0]);
	spi_line(9, true);
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 41);
	ck_assert_uint_eq(crd(0, C_RPR), 0x40);
	/* Active priorities: bit (group priority >> 3) of APR0. */
	ck_assert_uint_eq(crd(0, C_APR0), (1u << 8) | (1u << 9));
	ck_assert(!dev.cpu_irq[0]);
	/* Nested EOIs unwind the running priority. */
	cwr(0, C_EOIR, 41);
	ck_assert_uint_eq(crd(0, C_RPR), 0x48);
	ck_assert_uint_eq(crd(0, C_APR0), 1u << 9);
	spi_line(9, false);
	ck_assert(!dev.cpu_irq[0]);
	cwr(0, C_EOIR, 40);
	ck_assert_uint_eq(crd(0, C_RPR), 0xff);
	ck_assert_uint_eq(crd(0, C_APR0), 0);
	/* A (still asserted) and C are pending at idle priority: A wins. */
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
}
END_TEST

START_TEST(test_sgi_delivery)
{
	create_n(3, NULL);
	enable_all();
	for (unsigned c = 0; c < 3; c++) {
		dwr(c, D_ISENABLER, 0x0000ffff);
		dwr8(c, D_IPRIORITYR + 5, 0x40);
	}
	/* CPUs 0 and 2 both send SGI 5 to CPU 1. */
	dwr(0, D_SGIR, (0x02u << 16) | 5);
	ck_assert(dev.cpu_irq[1]);
	ck_assert(!dev.cpu_irq[0]);
	dwr(2, D_SGIR, (0x02u << 16) | 5);
	ck_assert_uint_eq(irq_calls[1], 1);
	ck_assert_uint_eq(drd8(1, D_SPENDSGIR + 5), 0x05);

	/* One source per acknowledge, the CPU ID in bits [12:10]. */
	uint32_t iar = crd(1, C_IAR);
	ck_assert_uint_eq(iar & 0x3ff, 5);
	unsigned src = (iar >> 10) & 7;
	ck_assert(src == 0 || src == 2);
	ck_assert_uint_eq(drd8(1, D_SPENDSGIR + 5), 0x05 & ~(1u << src));
	/* Active and pending (other source) is not signalled again. */
	ck_assert(!dev.cpu_irq[1]);
	ck_assert(bit_of(1, D_ISACTIVER, 5));
	ck_assert(bit_of(1, D_ISPENDR, 5));
	cwr(1, C_EOIR, iar);
	ck_assert(dev.cpu_irq[1]);
	uint32_t iar2 = crd(1, C_IAR);
	ck_assert_uint_eq(iar2 & 0x3ff, 5);
	ck_assert_uint_eq((iar2 >> 10) & 7, src == 0 ? 2 : 0);
	ck_assert_uint_eq(drd8(1, D_SPENDSGIR + 5), 0);
	cwr(1, C_EOIR, iar2);
	ck_assert(!dev.cpu_irq[1]);
	ck_assert_uint_eq(crd(1, C_IAR), SPURIOUS);

	/* Self-IPI: source is the sender itself. */
	dwr(2, D_SGIR, (2u << 24) | 5);
	ck_assert(dev.cpu_irq[2]);
	ck_assert_uint_eq(crd(2, C_IAR), 5u | (2u << 10));
	cwr(2, C_EOIR, 5u | (2u << 10));
	ck_assert(!dev.cpu_irq[2]);
}
END_TEST

START_TEST(test_ppi_banking)
{
	create_n(2, NULL);
	enable_all();
	/* PPI 11 (INTID 27, the virtual timer) on CPU 0 only. */
	dwr(0, D_ISENABLER, 1u << 27);
	dwr8(0, D_IPRIORITYR + 27, 0x20);
	ppi_line(0, 11, true);
	ck_assert(dev.cpu_irq[0]);
	ck_assert(!dev.cpu_irq[1]);
	ck_assert(bit_of(0, D_ISPENDR, 27));
	ck_assert(!bit_of(1, D_ISPENDR, 27));
	ck_assert(!bit_of(1, D_ISENABLER, 27));
	/* CPU 1's own PPI 27 is pending but disabled there. */
	ppi_line(1, 11, true);
	ck_assert(bit_of(1, D_ISPENDR, 27));
	ck_assert(!dev.cpu_irq[1]);
	ck_assert_uint_eq(crd(1, C_IAR), SPURIOUS);
	dwr(1, D_ISENABLER, 1u << 27);
	ck_assert(dev.cpu_irq[1]);
	/* Acknowledging on CPU 0 leaves CPU 1's copy alone. */
	ck_assert_uint_eq(crd(0, C_IAR), 27);
	ck_assert(bit_of(0, D_ISACTIVER, 27));
	ck_assert(!bit_of(1, D_ISACTIVER, 27));
	ck_assert(dev.cpu_irq[1]);
	ppi_line(0, 11, false);
	cwr(0, C_EOIR, 27);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(1, C_IAR), 27);
	/* Out-of-range PPI inputs are ignored. */
	ppi_line(0, 16, true);
	ppi_line(5, 3, true);
	ck_assert_uint_eq(drd(0, D_ISPENDR), 0);
}
END_TEST

START_TEST(test_eoimode_split)
{
	create_n(1, NULL);
	enable_all();
	cwr(0, C_CTLR, CTLR_EN0 | CTLR_EOIMODE);
	setup_spi(40, 0x40, 1);
	set_bit_reg(0, D_ISPENDR, 40);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	ck_assert_uint_eq(crd(0, C_RPR), 0x40);
	/* EOIR only drops the priority. */
	cwr(0, C_EOIR, 40);
	ck_assert_uint_eq(crd(0, C_RPR), 0xff);
	ck_assert(bit_of(0, D_ISACTIVER, 40));
	/* Still active: a new pend is not signalled. */
	set_bit_reg(0, D_ISPENDR, 40);
	ck_assert(!dev.cpu_irq[0]);
	/* DIR deactivates. */
	cwr(0, C_DIR, 40);
	ck_assert(!bit_of(0, D_ISACTIVER, 40));
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 40);

	/* With EOImode 0, DIR is refused and EOIR deactivates. */
	cwr(0, C_CTLR, CTLR_EN0);
	ck_assert_int_lt(fake_write(&dev, 0, CPUI + C_DIR, 4, 40), 0);
	ck_assert(bit_of(0, D_ISACTIVER, 40));
	cwr(0, C_EOIR, 40);
	ck_assert(!bit_of(0, D_ISACTIVER, 40));
	/* EOI of an INTID that is not implemented is refused. */
	ck_assert_int_lt(fake_write(&dev, 0, CPUI + C_EOIR, 4, 900), 0);
}
END_TEST

START_TEST(test_groups)
{
	create_n(1, NULL);
	setup_spi(40, 0x40, 1);
	set_bit_reg(0, D_IGROUPR, 40); /* Group 1 */
	set_bit_reg(0, D_ISPENDR, 40);
	cwr(0, C_PMR, 0xff);
	/* Group 0 enabled only: Group 1 interrupt not forwarded. */
	dwr(0, D_CTLR, 1);
	cwr(0, C_CTLR, CTLR_EN0 | CTLR_EN1);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_HPPIR), SPURIOUS);
	dwr(0, D_CTLR, 3);
	cwr(0, C_CTLR, CTLR_EN0);
	ck_assert(!dev.cpu_irq[0]);
	/* Both enabled: signalled as IRQ. */
	cwr(0, C_CTLR, CTLR_EN0 | CTLR_EN1);
	ck_assert(dev.cpu_irq[0]);
	/* AckCtl 0: IAR and HPPIR return 1022 for a Group 1 interrupt. */
	ck_assert_uint_eq(crd(0, C_HPPIR), 1022);
	ck_assert_uint_eq(crd(0, C_IAR), 1022);
	ck_assert(bit_of(0, D_ISPENDR, 40));
	ck_assert_uint_eq(crd(0, C_AHPPIR), 40);
	/* AIAR acknowledges it; the active priority is in NSAPR0. */
	ck_assert_uint_eq(crd(0, C_AIAR), 40);
	ck_assert_uint_eq(crd(0, C_NSAPR0), 1u << 8);
	ck_assert_uint_eq(crd(0, C_APR0), 0);
	ck_assert_uint_eq(crd(0, C_RPR), 0x40);
	cwr(0, C_AEOIR, 40);
	ck_assert(!bit_of(0, D_ISACTIVER, 40));
	ck_assert_uint_eq(crd(0, C_RPR), 0xff);

	/* AckCtl 1: IAR acknowledges Group 1 too. */
	cwr(0, C_CTLR, CTLR_EN0 | CTLR_EN1 | CTLR_ACKCTL);
	set_bit_reg(0, D_ISPENDR, 40);
	ck_assert_uint_eq(crd(0, C_HPPIR), 40);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	cwr(0, C_EOIR, 40);
	ck_assert(!bit_of(0, D_ISACTIVER, 40));

	/* Aliased registers ignore Group 0. */
	setup_spi(41, 0x20, 1);
	set_bit_reg(0, D_ISPENDR, 41);
	ck_assert_uint_eq(crd(0, C_AHPPIR), SPURIOUS);
	ck_assert_uint_eq(crd(0, C_AIAR), SPURIOUS);
	ck_assert_uint_eq(crd(0, C_IAR), 41);
	ck_assert_int_lt(fake_write(&dev, 0, CPUI + C_AEOIR, 4, 41), 0);
	ck_assert(bit_of(0, D_ISACTIVER, 41));
	cwr(0, C_EOIR, 41);
	ck_assert(!bit_of(0, D_ISACTIVER, 41));
}
END_TEST

START_TEST(test_group1_abpr_preemption)
{
	create_n(1, NULL);
	dwr(0, D_CTLR, 3);
	cwr(0, C_CTLR, CTLR_EN0 | CTLR_EN1 | CTLR_ACKCTL);
	cwr(0, C_PMR, 0xff);
	setup_spi(40, 0x58, 1);
	setup_spi(41, 0x50, 1);
	dwr(0, D_IGROUPR + 4, (1u << 8) | (1u << 9));
	/* ABPR 5: Group 1 group priority is bits [7:5]. 0x50/0x58 are one group. */
	cwr(0, C_ABPR, 5);
	set_bit_reg(0, D_ISPENDR, 40);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	ck_assert_uint_eq(crd(0, C_RPR), 0x40);
	set_bit_reg(0, D_ISPENDR, 41);
	ck_assert(!dev.cpu_irq[0]);
	/* CBPR: Group 1 uses BPR (minimum 2): now 0x50 preempts 0x58. */
	cwr(0, C_EOIR, 40);
	cwr(0, C_CTLR, CTLR_EN0 | CTLR_EN1 | CTLR_ACKCTL | CTLR_CBPR);
	ck_assert_uint_eq(crd(0, C_IAR), 41);
	cwr(0, C_EOIR, 41);
	set_bit_reg(0, D_ISPENDR, 40);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	ck_assert_uint_eq(crd(0, C_RPR), 0x58);
	set_bit_reg(0, D_ISPENDR, 41);
	ck_assert(dev.cpu_irq[0]);
}
END_TEST

START_TEST(test_fiq_not_signalled_as_irq)
{
	create_n(1, NULL);
	enable_all();
	setup_spi(40, 0x40, 1);
	set_bit_reg(0, D_ISPENDR, 40);
	ck_assert(dev.cpu_irq[0]);
	/* FIQEn: Group 0 goes to FIQ, which is not the IRQ line. */
	cwr(0, C_CTLR, CTLR_EN0 | CTLR_FIQEN);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
}
END_TEST

/* The IRQ output follows the spec's signal exactly: no redundant toggles. */
START_TEST(test_cpu_irq_edges)
{
	create_n(2, NULL);
	enable_all();
	setup_spi(40, 0x80, 1);
	setup_spi(41, 0xa0, 1);
	spi_line(8, true);
	ck_assert_uint_eq(irq_calls[0], 1);
	/* More pending interrupts, register traffic: the line stays up, no calls. */
	spi_line(9, true);
	dwr8(0, D_IPRIORITYR + 41, 0x90);
	dwr(0, D_IGROUPR + 4, 0);
	cwr(0, C_PMR, 0xf0);
	crd(0, C_HPPIR);
	ck_assert_uint_eq(irq_calls[0], 1);
	ck_assert_uint_eq(irq_calls[1], 0);
	/* Acknowledge: lower-priority 41 cannot preempt 40, line drops once. */
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	ck_assert_uint_eq(irq_calls[0], 2);
	ck_assert(!dev.cpu_irq[0]);
	/* EOI: 40 is still asserted (0x80 beats 0x90): one rise. */
	cwr(0, C_EOIR, 40);
	ck_assert_uint_eq(irq_calls[0], 3);
	ck_assert(dev.cpu_irq[0]);
	spi_line(8, false);
	/* 41 still pending: the line stays up. */
	ck_assert_uint_eq(irq_calls[0], 3);
	spi_line(9, false);
	ck_assert_uint_eq(irq_calls[0], 4);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(dev.cpu_irq_edges[0], 2);
	ck_assert_uint_eq(irq_calls[1], 0);
}
END_TEST

START_TEST(test_bad_inputs)
{
	create_n(1, NULL);
	enable_all();
	/* A line the GIC does not have: ignored, not a crash. */
	spi_line(224, true);
	spi_line(100000, true);
	for (unsigned r = 0; r < 32; r++)
		ck_assert_uint_eq(drd(0, D_ISPENDR + 4 * r), 0);
	ck_assert(!dev.cpu_irq[0]);
}
END_TEST

START_TEST(test_reset)
{
	create_n(2, NULL);
	enable_all();
	setup_spi(40, 0x40, 1);
	dwr(0, D_IGROUPR + 4, 0xff);
	dwr(1, D_SGIR, (1u << 16) | 2);
	spi_line(8, true);
	ck_assert(dev.cpu_irq[0]);
	ck_assert_uint_eq(crd(0, C_IAR), 40);
	cwr(1, C_BPR, 6);

	avmm_plugin.reset(inst);
	ck_assert(!dev.cpu_irq[0]);
	ck_assert_uint_eq(drd(0, D_CTLR), 0);
	ck_assert_uint_eq(drd(0, D_IGROUPR + 4), 0);
	ck_assert_uint_eq(drd(0, D_ISENABLER + 4), 0);
	ck_assert_uint_eq(drd(0, D_ISACTIVER + 4), 0);
	ck_assert_uint_eq(drd(0, D_IPRIORITYR + 40), 0);
	ck_assert_uint_eq(drd(0, D_ITARGETSR + 40), 0);
	ck_assert_uint_eq(drd(0, D_SPENDSGIR), 0);
	ck_assert_uint_eq(crd(0, C_CTLR), 0);
	ck_assert_uint_eq(crd(0, C_RPR), 0xff);
	ck_assert_uint_eq(crd(1, C_BPR), 2);
	/* The input is still asserted by its device: pending. */
	ck_assert(bit_of(0, D_ISPENDR, 40));
}
END_TEST

/* Random register traffic and inputs: no crash, no out-of-range INTID, no redundant IRQ calls. */
START_TEST(test_random_traffic)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	create_n(4, "100");
	for (unsigned n = 0; n < 200000; n++) {
		uint64_t v;
		unsigned r, cpu, size;
		uint64_t off;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		r = (unsigned)(x >> 32);
		cpu = r % 5; /* CPU 4 does not exist */
		size = (r >> 4) & 1 ? 4 : 1;
		off = ((x >> 8) % 0x1100) & ~(uint64_t)(size - 1);
		switch ((r >> 8) & 7) {
		case 0:
			spi_line((r >> 12) % 140, (r >> 20) & 1);
			break;
		case 1:
			ppi_line(cpu, (r >> 12) % 18, (r >> 20) & 1);
			break;
		case 2:
		case 3:
			fake_write(&dev, cpu, DIST + off, size, (uint32_t)x);
			break;
		case 4:
			fake_write(&dev, cpu, CPUI + (off & 0x10fc), 4, (uint32_t)x);
			break;
		case 5:
			fake_read(&dev, cpu, DIST + off, size, &v);
			break;
		default:
			if (fake_read(&dev, cpu, CPUI + ((r >> 12) & 1 ? C_IAR : C_AIAR), 4, &v) == 0) {
				unsigned id = v & 0x3ff;

				ck_assert_msg(id < 160 || id >= 1022, "IAR returned %u", id);
				ck_assert_msg(id < 16 || (v >> 10) == 0, "source bits on INTID %u", id);
			}
			break;
		}
	}
}
END_TEST

/* ---- device tree ------------------------------------------------------------ */

START_TEST(test_fdt_cells)
{
	uint32_t cells[3];
	struct avmm_irq_spec spec;

	create_n(2, NULL);
	spec = (struct avmm_irq_spec){AVMM_IRQ_SPI, 5, AVMM_IRQ_LEVEL_HIGH};
	ck_assert_int_eq(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	ck_assert_uint_eq(cells[0], 0);
	ck_assert_uint_eq(cells[1], 5);
	ck_assert_uint_eq(cells[2], 4);
	spec = (struct avmm_irq_spec){AVMM_IRQ_SPI, 223, AVMM_IRQ_EDGE_RISING};
	ck_assert_int_eq(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	ck_assert_uint_eq(cells[2], 1);
	/* PPI: the CPU mask of the GICv2 binding in bits [15:8]. */
	spec = (struct avmm_irq_spec){AVMM_IRQ_PPI, 11, AVMM_IRQ_LEVEL_HIGH};
	ck_assert_int_eq(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	ck_assert_uint_eq(cells[0], 1);
	ck_assert_uint_eq(cells[1], 11);
	ck_assert_uint_eq(cells[2], 0x304);
	spec = (struct avmm_irq_spec){AVMM_IRQ_PPI, 14, AVMM_IRQ_LEVEL_LOW};
	ck_assert_int_eq(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	ck_assert_uint_eq(cells[2], 0x308);
	/* Out of range or not encodable. */
	spec = (struct avmm_irq_spec){AVMM_IRQ_SPI, 224, AVMM_IRQ_LEVEL_HIGH};
	ck_assert_int_lt(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	spec = (struct avmm_irq_spec){AVMM_IRQ_SPI, 1, AVMM_IRQ_LEVEL_LOW};
	ck_assert_int_lt(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	spec = (struct avmm_irq_spec){AVMM_IRQ_PPI, 16, AVMM_IRQ_LEVEL_HIGH};
	ck_assert_int_lt(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	spec = (struct avmm_irq_spec){7, 1, AVMM_IRQ_LEVEL_HIGH};
	ck_assert_int_lt(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	teardown();

	create_n(8, NULL);
	spec = (struct avmm_irq_spec){AVMM_IRQ_PPI, 13, AVMM_IRQ_LEVEL_HIGH};
	ck_assert_int_eq(dev.irqchip->fdt_cells(dev.irqchip_opaque, &spec, cells), 0);
	ck_assert_uint_eq(cells[2], 0xff04);
}
END_TEST

START_TEST(test_dt_node)
{
	static uint8_t buf[65536];
	const fdt32_t *p;
	int node, len;

	create_n(2, NULL);
	ck_assert_int_eq(fdt_create_empty_tree(buf, sizeof(buf)), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, buf), 0);
	ck_assert_int_eq(fdt_check_full(buf, sizeof(buf)), 0);

	node = fdt_path_offset(buf, "/intc@8000000");
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_node_check_compatible(buf, node, "arm,cortex-a15-gic"), 0);
	ck_assert_ptr_nonnull(fdt_getprop(buf, node, "interrupt-controller", &len));
	ck_assert_int_eq(len, 0);
	p = fdt_getprop(buf, node, "#interrupt-cells", &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(len, 4);
	ck_assert_uint_eq(fdt32_to_cpu(p[0]), 3);
	p = fdt_getprop(buf, node, "reg", &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(len, 32);
	const uint32_t want[8] = {0, 0x08000000, 0, 0x10000, 0, 0x08010000, 0, 0x10000};
	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(fdt32_to_cpu(p[i]), want[i]);
	/* The phandle the host gave at registration (fakehost: 1). */
	ck_assert_uint_eq(fdt_get_phandle(buf, node), 1);
	ck_assert_int_eq(fdt_address_cells(buf, node), 2);
	ck_assert_int_eq(fdt_size_cells(buf, node), 2);
	teardown();

	/* A base above 4 GiB uses the high cell. */
	char err[256];
	ck_assert_int_eq(create_cfg(1, "0x100000000", "0x100010000", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(fdt_create_empty_tree(buf, sizeof(buf)), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, buf), 0);
	ck_assert_int_eq(fdt_check_full(buf, sizeof(buf)), 0);
	node = fdt_path_offset(buf, "/intc@100000000");
	ck_assert_int_ge(node, 0);
	p = fdt_getprop(buf, node, "reg", &len);
	ck_assert_uint_eq(fdt32_to_cpu(p[0]), 1);
	ck_assert_uint_eq(fdt32_to_cpu(p[1]), 0);
	ck_assert_uint_eq(fdt32_to_cpu(p[4]), 1);
	ck_assert_uint_eq(fdt32_to_cpu(p[5]), 0x10000);
}
END_TEST

START_TEST(test_dt_no_space)
{
	static uint8_t buf[256];

	create_n(1, NULL);
	ck_assert_int_eq(fdt_create_empty_tree(buf, sizeof(buf)), 0);
	ck_assert_int_lt(avmm_plugin.fdt_populate(inst, buf), 0);
}
END_TEST

static Suite *gicv2_suite(void)
{
	Suite *s = suite_create("gicv2");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_descriptor);
	tcase_add_test(tc, test_create_defaults);
	tcase_add_test(tc, test_create_lines);
	tcase_add_test(tc, test_create_bad_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("distributor");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_dist_ctlr_iidr_id);
	tcase_add_test(tc, test_dist_access_width);
	tcase_add_test(tc, test_igroupr);
	tcase_add_test(tc, test_enable_regs);
	tcase_add_test(tc, test_pending_regs);
	tcase_add_test(tc, test_active_regs);
	tcase_add_test(tc, test_priority_regs);
	tcase_add_test(tc, test_targets_regs);
	tcase_add_test(tc, test_icfgr_regs);
	tcase_add_test(tc, test_sgir_pendsgir);
	tcase_add_test(tc, test_sgir_out_of_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpu-interface");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_cpu_regs_reset_and_rw);
	tcase_add_test(tc, test_spurious);
	suite_add_tcase(s, tc);

	tc = tcase_create("state-machine");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_level_spi_lifecycle);
	tcase_add_test(tc, test_level_deasserted_before_ack);
	tcase_add_test(tc, test_level_ispendr_latch);
	tcase_add_test(tc, test_edge_latch);
	tcase_add_test(tc, test_disabled_interrupt_stays_pending);
	tcase_add_test(tc, test_spi_targets_route);
	tcase_add_test(tc, test_pmr_masking);
	tcase_add_test(tc, test_priority_order_and_ties);
	tcase_add_test(tc, test_preemption_bpr);
	tcase_add_test(tc, test_sgi_delivery);
	tcase_add_test(tc, test_ppi_banking);
	tcase_add_test(tc, test_eoimode_split);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_group1_abpr_preemption);
	tcase_add_test(tc, test_fiq_not_signalled_as_irq);
	tcase_add_test(tc, test_cpu_irq_edges);
	tcase_add_test(tc, test_bad_inputs);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_random_traffic);
	suite_add_tcase(s, tc);

	tc = tcase_create("devicetree");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_fdt_cells);
	tcase_add_test(tc, test_dt_node);
	tcase_add_test(tc, test_dt_no_space);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gicv2_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
