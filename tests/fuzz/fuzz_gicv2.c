/* SPDX-License-Identifier: MIT */
/*
 * The GICv2 plugin driven through the fake host: distributor and CPU
 * interface accesses of every width from several CPUs, SPI line and PPI
 * inputs, resets.  The input picks the CPU count and number of SPI lines,
 * then a sequence of operations.
 *
 * After every operation a small shadow model, built only from what the
 * architecture lets software read (IHI 0048B: GICD_ISPENDR/ISENABLER/
 * ISACTIVER/IGROUPR/IPRIORITYR/ITARGETSR, GICD_CTLR, GICC_CTLR/PMR/BPR/
 * ABPR/RPR), checks each CPU's IRQ output:
 *  - asserted => some interrupt is pending, enabled, not active, targets the
 *    CPU, is in a group enabled in both GICD_CTLR and GICC_CTLR, has a
 *    priority below PMR and a group priority above the running priority;
 *  - with no active priority (RPR idle), such an interrupt whose best
 *    candidate is not a Group 0 FIQ (GICC_CTLR.FIQEn) => asserted.
 * And an INTID returned by GICC_IAR/AIAR is active afterwards.
 */
#include <stdlib.h>

#include "fakehost.h"
#include "fuzz.h"

extern const struct avmm_plugin_desc fuzz_plugin_gicv2;

#define DIST 0x08000000ull
#define CPUIF 0x08010000ull

static struct avmm_dev dev;
static unsigned ncpus, nirq;

static uint32_t rd(unsigned cpu, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	(void)fake_read(&dev, cpu, addr, size, &v);
	return (uint32_t)v;
}

/* The 1-bit-per-INTID registers: word 0 is banked per CPU, the SPI words are not. */
static uint32_t pend[32], en[32], act[32], grp[32];

static void read_bits(unsigned cpu, unsigned first, unsigned last)
{
	for (unsigned w = first; w < last; w++) {
		pend[w] = rd(cpu, DIST + 0x200 + 4 * w, 4);
		en[w] = rd(cpu, DIST + 0x100 + 4 * w, 4);
		act[w] = rd(cpu, DIST + 0x300 + 4 * w, 4);
		grp[w] = rd(cpu, DIST + 0x080 + 4 * w, 4);
	}
}

/* The best interrupt CPU `cpu` could be signalled, per the registers. */
static void check_cpu(unsigned cpu)
{
	uint32_t gctlr = rd(cpu, DIST + 0x000, 4), cctlr = rd(cpu, CPUIF + 0x00, 4);
	unsigned pmr = rd(cpu, CPUIF + 0x04, 4) & 0xff, bpr = rd(cpu, CPUIF + 0x08, 4) & 7;
	unsigned abpr = rd(cpu, CPUIF + 0x1c, 4) & 7, rpr = rd(cpu, CPUIF + 0x14, 4) & 0xff;
	unsigned best = 1023, best_prio = 0x100, best_group = 0;
	bool any = false;

	read_bits(cpu, 0, 1);
	for (unsigned w = 0; w < nirq / 32; w++) {
		uint32_t cand = pend[w] & en[w] & ~act[w];

		for (; cand; cand &= cand - 1) {
			unsigned bit = (unsigned)__builtin_ctz(cand), id = w * 32 + bit;
			unsigned group = (grp[w] >> bit) & 1;
			unsigned prio = rd(cpu, DIST + 0x400 + id, 1);
			unsigned target = rd(cpu, DIST + 0x800 + id, 1);
			unsigned mask;

			if (!((gctlr & cctlr) & (1u << group)))
				continue;
			if (ncpus > 1 && !(target & (1u << cpu)))
				continue;
			/* Group priority: ABPR for Group 1 unless CBPR, else BPR. */
			mask = group && !(cctlr & (1u << 4)) ? 0xffu << abpr : 0xffu << (bpr + 1);
			if (prio < pmr && (prio & mask & 0xff) < rpr)
				any = true;
			if (prio < best_prio) {
				best = id;
				best_prio = prio;
				best_group = group;
			}
		}
	}
	if (dev.cpu_irq[cpu])
		FUZZ_CHECK(any);
	/* Idle CPU interface: the best candidate must be signalled if it can be. */
	if (rpr == 0xff && best != 1023 && best_prio < pmr &&
	    !(best_group == 0 && (cctlr & (1u << 3))))
		FUZZ_CHECK(dev.cpu_irq[cpu]);
}

static void check_all(void)
{
	read_bits(0, 1, nirq / 32);
	for (unsigned c = 0; c < ncpus; c++)
		check_cpu(c);
}

/* A register offset: mostly a known register plus a small index. */
static uint64_t pick_dist_offset(struct fuzz_in *in)
{
	static const uint16_t regs[] = { 0x000, 0x004, 0x008, 0x080, 0x100, 0x180, 0x200,
					 0x280, 0x300, 0x380, 0x400, 0x800, 0xc00, 0xe00,
					 0xf00, 0xf10, 0xf20, 0xfd0 };
	uint8_t sel = fuzz_u8(in);
	uint16_t idx = fuzz_u16(in);

	if (sel < 16)
		return idx; /* anywhere in the 64 KiB region */
	return regs[sel % (sizeof(regs) / sizeof(regs[0]))] + (idx % 0x100);
}

static uint64_t pick_cpu_offset(struct fuzz_in *in)
{
	static const uint16_t regs[] = { 0x00, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c,
					 0x20, 0x24, 0x28, 0xd0, 0xe0, 0xfc, 0x1000 };
	uint8_t sel = fuzz_u8(in);

	if (sel < 16)
		return fuzz_u16(in);
	return regs[sel % (sizeof(regs) / sizeof(regs[0]))];
}

static unsigned pick_size(struct fuzz_in *in)
{
	static const unsigned sizes[] = { 4, 4, 1, 2, 8 };

	return sizes[fuzz_u8(in) % 5];
}

/* Everything on: both groups, all priorities, every interrupt enabled. */
static void enable_all(unsigned cpu)
{
	fake_write(&dev, cpu, DIST + 0x000, 4, 3);
	fake_write(&dev, cpu, CPUIF + 0x00, 4, 3);
	fake_write(&dev, cpu, CPUIF + 0x04, 4, 0xff);
	for (unsigned w = 0; w < nirq / 32; w++)
		fake_write(&dev, cpu, DIST + 0x100 + 4 * w, 4, 0xffffffffu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 988 (the maximum) is slow to check after every step: keep it rare. */
	static const char *const lines[] = { "0", "1", "32", "64", "224", "988", "31", "100",
					     "0", "1", "32", "64", "224", "31", "100", "40" };
	struct fuzz_in in = { data, size };
	void *inst = NULL;
	char err[256] = "";
	const struct avmm_irqchip_ops *chip;
	unsigned nlines;

	ncpus = 1 + fuzz_u8(&in) % 8;
	fake_init(&dev, "gic", ncpus);
	fake_set(&dev, "dist-base", "0x08000000");
	fake_set(&dev, "cpu-base", "0x08010000");
	fake_set(&dev, "lines", lines[fuzz_u8(&in) % 16]);
	FUZZ_CHECK(fuzz_plugin_gicv2.create(&dev, &fakehost, &inst, err, sizeof(err)) == 0);
	FUZZ_CHECK(fake_unused_keys(&dev) == 0);
	chip = dev.irqchip;
	FUZZ_CHECK(chip);
	nlines = chip->nr_lines;
	nirq = (rd(0, DIST + 0x004, 4) & 0x1f) * 32 + 32;
	if (nirq > 1020)
		nirq = 1020;
	FUZZ_CHECK(nirq == (nlines + 32 > 1020 ? 1020 : nlines + 32));
	FUZZ_CHECK(((rd(0, DIST + 0x004, 4) >> 5) & 7) == ncpus - 1);

	while (fuzz_more(&in)) {
		unsigned op = fuzz_u8(&in) % 10, cpu = fuzz_u8(&in) % ncpus;

		switch (op) {
		case 0:
		case 1: {
			uint64_t off = pick_dist_offset(&in);
			unsigned sz = pick_size(&in);

			fake_write(&dev, cpu, DIST + off, sz, fuzz_u32(&in));
			break;
		}
		case 2: {
			uint64_t v, off = pick_dist_offset(&in);

			fake_read(&dev, cpu, DIST + off, pick_size(&in), &v);
			break;
		}
		case 3: {
			uint64_t off = pick_cpu_offset(&in);
			unsigned sz = pick_size(&in);

			fake_write(&dev, cpu, CPUIF + off, sz, fuzz_u32(&in));
			break;
		}
		case 4: {
			uint64_t v, off = pick_cpu_offset(&in);
			unsigned sz = pick_size(&in);

			if (fake_read(&dev, cpu, CPUIF + off, sz, &v) == 0 && sz == 4 &&
			    (off == 0x0c || off == 0x20) && (v & 0x3ff) < 1020) {
				unsigned id = v & 0x3ff;

				/* Acknowledged: active now (until EOI/DIR). */
				FUZZ_CHECK(id < nirq);
				FUZZ_CHECK(rd(cpu, DIST + 0x300 + 4 * (id / 32), 4) &
					   (1u << (id % 32)));
			}
			break;
		}
		case 5: {
			unsigned line = fuzz_u16(&in) % (nlines + 4);

			chip->set_line(dev.irqchip_opaque, line, fuzz_u8(&in) & 1);
			break;
		}
		case 6:
			chip->set_ppi(dev.irqchip_opaque, cpu, fuzz_u8(&in) % 18, fuzz_u8(&in) & 1);
			break;
		case 7:
			fuzz_plugin_gicv2.reset(inst);
			break;
		case 8:
			enable_all(cpu);
			break;
		default: {
			/* Send an SGI: GICD_SGIR with a target list or filter. */
			fake_write(&dev, cpu, DIST + 0xf00, 4, fuzz_u32(&in) & 0x03ff800fu);
			break;
		}
		}
		check_all();
	}
	fuzz_plugin_gicv2.destroy(inst);
	fake_fini(&dev);
	return 0;
}
