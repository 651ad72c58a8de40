/* SPDX-License-Identifier: MIT */
/*
 * GICv2 interrupt controller: distributor and CPU interface, as defined by
 * the Arm GIC Architecture Specification v2 (IHI 0048B).
 *
 * Implementation choices (all permitted by the specification):
 *  - No Security Extensions (GICD_TYPER.SecurityExtn == 0): one register
 *    view, GICD_CTLR/GICC_CTLR use the "no Security Extensions" layout with
 *    both group enables, interrupt grouping is present (GICv2) and the
 *    aliased Group 1 registers (ABPR, AIAR, AEOIR, AHPPIR, NSAPR0) work.
 *    GICD_NSACRn are RAZ/WI.  No virtualization extensions.
 *  - 5 priority bits (32 levels, like GIC-400): the low 3 bits of every
 *    priority field are RAZ/WI; minimum BPR 2, minimum ABPR 3.
 *  - SGI enable bits are RW; PPI configuration (GICD_ICFGR1) is
 *    programmable and banked, reset level-sensitive.
 *  - Group 0 interrupts with GICC_CTLR.FIQEn set would be FIQs; the host
 *    offers no FIQ input, so they are never signalled (they can still be
 *    acknowledged through GICC_IAR).
 *  - GICC_APR0/NSAPR0 bit n is group priority (n << 3) of Group 0/1.
 *  - SGI active state is tracked per target CPU and SGI number, not per
 *    source; the pending state is per source as the architecture requires.
 *
 * The core serialises every call into an instance, so no locking here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <avmm/avmm.h>

#define GIC_MAX_CPUS 8
#define GIC_NR_SGI 16
#define GIC_NR_PRIV 32
#define GIC_MAX_IRQ 1020 /* INTIDs 1020-1023 are special */
#define GIC_MAX_SPI (GIC_MAX_IRQ - GIC_NR_PRIV)
#define GIC_CAND_WORDS ((GIC_MAX_SPI + 31) / 32)
#define GIC_DEFAULT_LINES 224
#define GIC_REGION_SIZE 0x10000ull

#define GIC_SPURIOUS 1023
#define GIC_SPURIOUS_GRP1 1022

/* 5 implemented priority bits. */
#define GIC_PRIO_MASK 0xf8u
#define GIC_PRIO_SHIFT 3
#define GIC_MIN_BPR 2
#define GIC_MIN_ABPR 3
#define GIC_IDLE_PRIO 0x100u /* internal: above every real priority */

/* Distributor register map. */
#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IIDR 0x008
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ISPENDR 0x200
#define GICD_ICPENDR 0x280
#define GICD_ISACTIVER 0x300
#define GICD_ICACTIVER 0x380
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_ICFGR 0xc00
#define GICD_NSACR 0xe00
#define GICD_SGIR 0xf00
#define GICD_CPENDSGIR 0xf10
#define GICD_SPENDSGIR 0xf20
#define GICD_PIDR4 0xfd0
#define GICD_END 0x1000

#define GICD_CTLR_MASK 0x3u /* EnableGrp0, EnableGrp1 */

/* GIC-400-like identification: ArchRev 2 in PIDR2. */
#define GICD_IIDR_VALUE 0x0200143bu
#define GICC_IIDR_VALUE 0x0202143bu
static const uint8_t gic_id_regs[12] = {
	0x04, 0x00, 0x00, 0x00,	/* PIDR4..PIDR7 */
	0x90, 0xb4, 0x2b, 0x00,	/* PIDR0..PIDR3 */
	0x0d, 0xf0, 0x05, 0xb1,	/* CIDR0..CIDR3 */
};

/* CPU interface register map. */
#define GICC_CTLR 0x00
#define GICC_PMR 0x04
#define GICC_BPR 0x08
#define GICC_IAR 0x0c
#define GICC_EOIR 0x10
#define GICC_RPR 0x14
#define GICC_HPPIR 0x18
#define GICC_ABPR 0x1c
#define GICC_AIAR 0x20
#define GICC_AEOIR 0x24
#define GICC_AHPPIR 0x28
#define GICC_APR0 0xd0
#define GICC_NSAPR0 0xe0
#define GICC_IIDR 0xfc
#define GICC_DIR 0x1000

#define GICC_CTLR_EN_GRP0 (1u << 0)
#define GICC_CTLR_EN_GRP1 (1u << 1)
#define GICC_CTLR_ACKCTL (1u << 2)
#define GICC_CTLR_FIQEN (1u << 3)
#define GICC_CTLR_CBPR (1u << 4)
#define GICC_CTLR_EOIMODE (1u << 9)
/* Bits 5-8 are the bypass disables (stored; no bypass signal exists). */
#define GICC_CTLR_MASK 0x3ffu

/* struct gic_irq.flags */
#define IRQ_ENABLED 0x01u
#define IRQ_GROUP1 0x02u
#define IRQ_EDGE 0x04u
#define IRQ_LATCH 0x08u  /* pending latched by an edge or GICD_ISPENDR */
#define IRQ_LINE 0x10u   /* input level */
#define IRQ_ACTIVE 0x20u

struct gic_irq {
	uint8_t prio;
	uint8_t target; /* SPIs only */
	uint8_t flags;
};

struct gic_cpu {
	uint32_t ctlr;
	uint8_t pmr, bpr, abpr;
	uint32_t apr[2]; /* active group priorities, per group */
	bool irq_out;
};

struct gic {
	struct avmm_dev *dev;
	const struct avmm_host *host;
	uint64_t dist_base, cpu_base;
	unsigned nirq;  /* implemented INTIDs: 32 * (ITLinesNumber + 1), max 1020 */
	unsigned ncpus;
	uint8_t cpu_mask;
	uint32_t phandle;
	struct avmm_irqchip_ops chip;
	bool fiq_warned;

	uint32_t dist_ctlr;
	struct gic_irq priv[GIC_MAX_CPUS][GIC_NR_PRIV];
	uint8_t sgi_src[GIC_MAX_CPUS][GIC_NR_SGI]; /* pending, per source CPU */
	struct gic_irq spi[GIC_MAX_SPI];
	struct gic_cpu cpu[GIC_MAX_CPUS];
};

/* ---- interrupt state -------------------------------------------------------- */

/* The caller guarantees cpu < ncpus and id < nirq. */
static struct gic_irq *gic_irq(struct gic *s, unsigned cpu, unsigned id)
{
	return id < GIC_NR_PRIV ? &s->priv[cpu][id] : &s->spi[id - GIC_NR_PRIV];
}

static bool gic_pending(struct gic *s, unsigned cpu, unsigned id)
{
	const struct gic_irq *irq;

	if (id < GIC_NR_SGI)
		return s->sgi_src[cpu][id] != 0;
	irq = gic_irq(s, cpu, id);
	return (irq->flags & IRQ_LATCH) || (!(irq->flags & IRQ_EDGE) && (irq->flags & IRQ_LINE));
}

static bool gic_targets(struct gic *s, unsigned cpu, unsigned id)
{
	/* A uniprocessor GIC has RAZ/WI targets and sends everything to CPU 0. */
	if (id < GIC_NR_PRIV || s->ncpus == 1)
		return true;
	return s->spi[id - GIC_NR_PRIV].target & (1u << cpu);
}

static unsigned gic_group(struct gic *s, unsigned cpu, unsigned id)
{
	return (gic_irq(s, cpu, id)->flags & IRQ_GROUP1) ? 1 : 0;
}

/* Mask selecting the group priority bits that decide preemption. */
static uint8_t gic_gprio_mask(const struct gic_cpu *c, unsigned group)
{
	if (group && !(c->ctlr & GICC_CTLR_CBPR))
		return (uint8_t)(0xffu << c->abpr);
	return (uint8_t)(0xffu << (c->bpr + 1));
}

static unsigned gic_running_prio(const struct gic_cpu *c)
{
	uint32_t apr = c->apr[0] | c->apr[1];

	if (!apr)
		return GIC_IDLE_PRIO;
	return (unsigned)__builtin_ctz(apr) << GIC_PRIO_SHIFT;
}

/*
 * SPIs that are enabled, pending and not active, as a bitmap indexed by
 * INTID - 32.  Their state is not banked, so one pass serves every CPU.
 */
static void gic_spi_candidates(struct gic *s, uint32_t *cand)
{
	memset(cand, 0, GIC_CAND_WORDS * sizeof(*cand));
	for (unsigned id = GIC_NR_PRIV; id < s->nirq; id++) {
		uint8_t f = s->spi[id - GIC_NR_PRIV].flags;

		if ((f & (IRQ_ENABLED | IRQ_ACTIVE)) == IRQ_ENABLED &&
		    ((f & IRQ_LATCH) || (f & (IRQ_EDGE | IRQ_LINE)) == IRQ_LINE))
			cand[(id - GIC_NR_PRIV) / 32] |= 1u << ((id - GIC_NR_PRIV) % 32);
	}
}


/*
 * The highest priority pending interrupt this CPU interface could take:
 * enabled, pending and not active, targeting the CPU, in a group enabled in
 * both the distributor and the CPU interface.  Ties go to the lowest INTID.
 * Returns GIC_SPURIOUS when there is none.
 */
static unsigned gic_best_in(struct gic *s, unsigned cpu, const uint32_t *cand, unsigned *prio)
{
	unsigned best = GIC_SPURIOUS, best_prio = GIC_IDLE_PRIO;
	uint32_t groups = s->dist_ctlr & s->cpu[cpu].ctlr & (GICC_CTLR_EN_GRP0 | GICC_CTLR_EN_GRP1);

	*prio = GIC_IDLE_PRIO;
	if (!groups)
		return GIC_SPURIOUS;
	for (unsigned id = 0; id < GIC_NR_PRIV; id++) {
		const struct gic_irq *irq = &s->priv[cpu][id];

		if ((irq->flags & (IRQ_ENABLED | IRQ_ACTIVE)) != IRQ_ENABLED ||
		    irq->prio >= best_prio || !gic_pending(s, cpu, id))
			continue;
		if (!(groups & (1u << ((irq->flags & IRQ_GROUP1) ? 1 : 0))))
			continue;
		best = id;
		best_prio = irq->prio;
	}
	for (unsigned w = 0; w < GIC_CAND_WORDS; w++) {
		for (uint32_t bits = cand[w]; bits; bits &= bits - 1) {
			unsigned id = GIC_NR_PRIV + w * 32 + (unsigned)__builtin_ctz(bits);
			const struct gic_irq *irq = &s->spi[id - GIC_NR_PRIV];

			if (irq->prio >= best_prio || !gic_targets(s, cpu, id) ||
			    !(groups & (1u << ((irq->flags & IRQ_GROUP1) ? 1 : 0))))
				continue;
			best = id;
			best_prio = irq->prio;
		}
	}
	*prio = best_prio;
	return best;
}

static unsigned gic_best(struct gic *s, unsigned cpu, unsigned *prio)
{
	uint32_t cand[GIC_CAND_WORDS];

	gic_spi_candidates(s, cand);
	return gic_best_in(s, cpu, cand, prio);
}

/* Whether `id` (from gic_best) has enough priority to be signalled/acked. */
static bool gic_can_preempt(struct gic *s, unsigned cpu, unsigned id, unsigned prio)
{
	const struct gic_cpu *c = &s->cpu[cpu];
	unsigned group = gic_group(s, cpu, id);

	return prio < c->pmr && (prio & gic_gprio_mask(c, group)) < gic_running_prio(c);
}

static bool gic_cpu_signal(struct gic *s, unsigned cpu, const uint32_t *cand)
{
	unsigned prio, id = gic_best_in(s, cpu, cand, &prio);

	if (id == GIC_SPURIOUS || !gic_can_preempt(s, cpu, id, prio))
		return false;
	if (!gic_group(s, cpu, id) && (s->cpu[cpu].ctlr & GICC_CTLR_FIQEN)) {
		/* That would be an FIQ, which the host cannot deliver. */
		if (!s->fiq_warned) {
			s->fiq_warned = true;
			s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_UNIMP,
				     "Group 0 interrupt as FIQ (GICC_CTLR.FIQEn): not delivered");
		}
		return false;
	}
	return true;
}

/* Recompute every CPU's IRQ output; tell the host only about changes. */
static void gic_update(struct gic *s)
{
	uint32_t cand[GIC_CAND_WORDS];

	gic_spi_candidates(s, cand);
	for (unsigned cpu = 0; cpu < s->ncpus; cpu++) {
		bool level = gic_cpu_signal(s, cpu, cand);

		if (level != s->cpu[cpu].irq_out) {
			s->cpu[cpu].irq_out = level;
			s->host->cpu_irq_set(s->dev, cpu, level);
		}
	}
}

static void gic_input(struct gic *s, struct gic_irq *irq, bool level)
{
	bool old = irq->flags & IRQ_LINE;

	if (level == old)
		return;
	if (level) {
		irq->flags |= IRQ_LINE;
		if (irq->flags & IRQ_EDGE)
			irq->flags |= IRQ_LATCH;
	} else {
		irq->flags &= ~IRQ_LINE;
	}
	gic_update(s);
}

/* ---- irqchip inputs --------------------------------------------------------- */

static void gic_set_line(void *opaque, unsigned line, bool level)
{
	struct gic *s = opaque;

	if (line >= s->nirq - GIC_NR_PRIV) {
		s->host->log(s->dev, AVMM_LOG_WARN, "set_line: no SPI line %u", line);
		return;
	}
	gic_input(s, &s->spi[line], level);
}

static void gic_set_ppi(void *opaque, unsigned cpu, unsigned ppi, bool level)
{
	struct gic *s = opaque;

	if (cpu >= s->ncpus || ppi >= GIC_NR_PRIV - GIC_NR_SGI) {
		s->host->log(s->dev, AVMM_LOG_WARN, "set_ppi: no PPI %u on CPU %u", ppi, cpu);
		return;
	}
	gic_input(s, &s->priv[cpu][GIC_NR_SGI + ppi], level);
}

static int gic_fdt_cells(void *opaque, const struct avmm_irq_spec *spec, uint32_t *cells)
{
	struct gic *s = opaque;

	switch (spec->kind) {
	case AVMM_IRQ_SPI:
		/* The binding allows only rising edge or active-high level. */
		if (spec->num >= s->nirq - GIC_NR_PRIV ||
		    (spec->flags != AVMM_IRQ_EDGE_RISING && spec->flags != AVMM_IRQ_LEVEL_HIGH))
			return -EINVAL;
		cells[0] = 0;
		cells[1] = spec->num;
		cells[2] = spec->flags;
		return 0;
	case AVMM_IRQ_PPI:
		if (spec->num >= GIC_NR_PRIV - GIC_NR_SGI || !spec->flags ||
		    (spec->flags & ~0xfu) || (spec->flags & (spec->flags - 1)))
			return -EINVAL;
		cells[0] = 1;
		cells[1] = spec->num;
		cells[2] = spec->flags | ((uint32_t)s->cpu_mask << 8);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- distributor ------------------------------------------------------------ */

/* The bit an interrupt has in the per-bit set/clear register families. */
enum gic_bitreg { BR_GROUP, BR_ENABLE, BR_PENDING, BR_ACTIVE };

static bool gic_bit_read(struct gic *s, unsigned cpu, unsigned id, enum gic_bitreg r)
{
	const struct gic_irq *irq = gic_irq(s, cpu, id);

	switch (r) {
	case BR_GROUP:
		return irq->flags & IRQ_GROUP1;
	case BR_ENABLE:
		return irq->flags & IRQ_ENABLED;
	case BR_PENDING:
		return gic_pending(s, cpu, id);
	case BR_ACTIVE:
		return irq->flags & IRQ_ACTIVE;
	}
	return false;
}

static void gic_bit_write(struct gic *s, unsigned cpu, unsigned id, enum gic_bitreg r, bool set)
{
	struct gic_irq *irq = gic_irq(s, cpu, id);
	uint8_t bit;

	switch (r) {
	case BR_GROUP:
		bit = IRQ_GROUP1;
		break;
	case BR_ENABLE:
		bit = IRQ_ENABLED;
		break;
	case BR_PENDING:
		/* SGI pending state is written through GICD_[SC]PENDSGIRn only. */
		if (id < GIC_NR_SGI)
			return;
		bit = IRQ_LATCH;
		break;
	case BR_ACTIVE:
		bit = IRQ_ACTIVE;
		break;
	default:
		return;
	}
	if (set)
		irq->flags |= bit;
	else
		irq->flags &= (uint8_t)~bit;
}

/*
 * One word of a 1-bit-per-interrupt register: IGROUPR (write sets and
 * clears), or a set/clear pair where only 1 bits act.
 */
static uint32_t gic_bits_read(struct gic *s, unsigned cpu, unsigned first, enum gic_bitreg r)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 32 && first + i < s->nirq; i++)
		v |= (uint32_t)gic_bit_read(s, cpu, first + i, r) << i;
	return v;
}

static void gic_bits_write(struct gic *s, unsigned cpu, unsigned first, enum gic_bitreg r,
			   uint32_t v, int mode /* 0: assign, 1: set ones, -1: clear ones */)
{
	for (unsigned i = 0; i < 32 && first + i < s->nirq; i++) {
		bool bit = v & (1u << i);

		if (mode == 0)
			gic_bit_write(s, cpu, first + i, r, bit);
		else if (bit)
			gic_bit_write(s, cpu, first + i, r, mode > 0);
	}
}

static uint8_t gic_target_read(struct gic *s, unsigned cpu, unsigned id)
{
	if (s->ncpus == 1 || id >= s->nirq)
		return 0;
	if (id < GIC_NR_PRIV)
		return (uint8_t)(1u << cpu);
	return s->spi[id - GIC_NR_PRIV].target;
}

static uint32_t gic_cfg_read(struct gic *s, unsigned cpu, unsigned first)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 16 && first + i < s->nirq; i++) {
		unsigned id = first + i;
		bool edge = id < GIC_NR_SGI || (gic_irq(s, cpu, id)->flags & IRQ_EDGE);

		v |= (uint32_t)edge << (2 * i + 1);
	}
	return v;
}

static void gic_cfg_write(struct gic *s, unsigned cpu, unsigned first, uint32_t v)
{
	/* SGIs are always edge-triggered: GICD_ICFGR0 is read-only. */
	for (unsigned i = 0; i < 16 && first + i < s->nirq; i++) {
		unsigned id = first + i;
		struct gic_irq *irq;

		if (id < GIC_NR_SGI)
			continue;
		irq = gic_irq(s, cpu, id);
		if (v & (2u << (2 * i)))
			irq->flags |= IRQ_EDGE;
		else
			irq->flags &= (uint8_t)~IRQ_EDGE;
	}
}

static int gic_sgir_write(struct gic *s, unsigned cpu, uint32_t v)
{
	/* Every field is masked to its width: the INTID indexes an array. */
	unsigned filter = (v >> 24) & 0x3u;
	unsigned sgi = v & 0xfu;
	uint8_t targets;

	switch (filter) {
	case 0:
		targets = (uint8_t)((v >> 16) & 0xffu);
		break;
	case 1:
		targets = (uint8_t)~(1u << cpu);
		break;
	case 2:
		targets = (uint8_t)(1u << cpu);
		break;
	default:
		return -EINVAL; /* reserved filter value */
	}
	targets &= s->cpu_mask;
	for (unsigned t = 0; t < s->ncpus; t++) {
		if (targets & (1u << t))
			s->sgi_src[t][sgi] |= (uint8_t)(1u << cpu);
	}
	return 0;
}

static int gic_dist_read(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
			 uint64_t *value)
{
	struct gic *s = opaque;
	uint32_t v = 0;

	*value = 0;
	if (cpu >= s->ncpus)
		return -EINVAL;

	/* Byte-accessible registers first. */
	if (offset >= GICD_IPRIORITYR && offset < GICD_ITARGETSR) {
		for (unsigned i = 0; i < size; i++) {
			unsigned id = (unsigned)(offset - GICD_IPRIORITYR) + i;

			if (id < s->nirq)
				v |= (uint32_t)gic_irq(s, cpu, id)->prio << (8 * i);
		}
		*value = v;
		return 0;
	}
	if (offset >= GICD_ITARGETSR && offset < GICD_ICFGR) {
		for (unsigned i = 0; i < size; i++)
			v |= (uint32_t)gic_target_read(s, cpu,
						       (unsigned)(offset - GICD_ITARGETSR) + i)
			     << (8 * i);
		*value = v;
		return 0;
	}
	if (offset >= GICD_CPENDSGIR && offset < GICD_SPENDSGIR + 0x10) {
		unsigned first = (unsigned)(offset & 0xfu);

		for (unsigned i = 0; i < size; i++)
			v |= (uint32_t)s->sgi_src[cpu][first + i] << (8 * i);
		*value = v;
		return 0;
	}

	if (size != 4)
		return -EINVAL;

	if (offset == GICD_CTLR) {
		v = s->dist_ctlr;
	} else if (offset == GICD_TYPER) {
		v = ((s->nirq + 31) / 32 - 1) | ((s->ncpus - 1) << 5);
	} else if (offset == GICD_IIDR) {
		v = GICD_IIDR_VALUE;
	} else if (offset < GICD_IGROUPR) {
		v = 0; /* reserved / IMPLEMENTATION DEFINED: RAZ */
	} else if (offset < GICD_IPRIORITYR) {
		static const enum gic_bitreg map[] = {BR_GROUP,   BR_ENABLE, BR_ENABLE, BR_PENDING,
						      BR_PENDING, BR_ACTIVE, BR_ACTIVE};
		unsigned blk = (unsigned)(offset - GICD_IGROUPR) / 0x80;
		unsigned first = (unsigned)(offset % 0x80) * 8;

		v = gic_bits_read(s, cpu, first, map[blk]);
	} else if (offset >= GICD_ICFGR && offset < GICD_ICFGR + 0x100) {
		v = gic_cfg_read(s, cpu, (unsigned)(offset - GICD_ICFGR) * 4);
	} else if (offset >= GICD_ICFGR + 0x100 && offset < GICD_SGIR) {
		v = 0; /* IMPLEMENTATION DEFINED, and NSACR without Security Extensions */
	} else if (offset == GICD_SGIR) {
		return -EINVAL; /* write-only */
	} else if (offset >= GICD_PIDR4 && offset < GICD_END) {
		v = gic_id_regs[(offset - GICD_PIDR4) / 4];
	} else {
		v = 0; /* reserved */
	}
	*value = v;
	return 0;
}

static int gic_dist_write(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
			  uint64_t value)
{
	struct gic *s = opaque;
	uint32_t v = (uint32_t)value;
	int rc = 0;

	if (cpu >= s->ncpus)
		return -EINVAL;

	if (offset >= GICD_IPRIORITYR && offset < GICD_ITARGETSR) {
		for (unsigned i = 0; i < size; i++) {
			unsigned id = (unsigned)(offset - GICD_IPRIORITYR) + i;

			if (id < s->nirq)
				gic_irq(s, cpu, id)->prio = (uint8_t)(v >> (8 * i)) & GIC_PRIO_MASK;
		}
	} else if (offset >= GICD_ITARGETSR && offset < GICD_ICFGR) {
		for (unsigned i = 0; i < size; i++) {
			unsigned id = (unsigned)(offset - GICD_ITARGETSR) + i;

			/* SGI/PPI targets are read-only; uniprocessor: RAZ/WI. */
			if (id >= GIC_NR_PRIV && id < s->nirq && s->ncpus > 1)
				s->spi[id - GIC_NR_PRIV].target =
					(uint8_t)(v >> (8 * i)) & s->cpu_mask;
		}
	} else if (offset >= GICD_CPENDSGIR && offset < GICD_SPENDSGIR + 0x10) {
		unsigned first = (unsigned)(offset & 0xfu);
		bool set = offset >= GICD_SPENDSGIR;

		for (unsigned i = 0; i < size; i++) {
			uint8_t b = (uint8_t)(v >> (8 * i)) & s->cpu_mask;

			if (set)
				s->sgi_src[cpu][first + i] |= b;
			else
				s->sgi_src[cpu][first + i] &= (uint8_t)~b;
		}
	} else if (size != 4) {
		return -EINVAL;
	} else if (offset == GICD_CTLR) {
		s->dist_ctlr = v & GICD_CTLR_MASK;
	} else if (offset == GICD_TYPER || offset == GICD_IIDR) {
		return -EINVAL; /* read-only */
	} else if (offset < GICD_IGROUPR) {
		/* reserved / IMPLEMENTATION DEFINED: WI */
	} else if (offset < GICD_IPRIORITYR) {
		static const enum gic_bitreg map[] = {BR_GROUP,   BR_ENABLE, BR_ENABLE, BR_PENDING,
						      BR_PENDING, BR_ACTIVE, BR_ACTIVE};
		static const int modes[] = {0, 1, -1, 1, -1, 1, -1};
		unsigned blk = (unsigned)(offset - GICD_IGROUPR) / 0x80;
		unsigned first = (unsigned)(offset % 0x80) * 8;

		gic_bits_write(s, cpu, first, map[blk], v, modes[blk]);
	} else if (offset >= GICD_ICFGR && offset < GICD_ICFGR + 0x100) {
		gic_cfg_write(s, cpu, (unsigned)(offset - GICD_ICFGR) * 4, v);
	} else if (offset >= GICD_ICFGR + 0x100 && offset < GICD_SGIR) {
		/* IMPLEMENTATION DEFINED, and NSACR without Security Extensions: WI */
	} else if (offset == GICD_SGIR) {
		rc = gic_sgir_write(s, cpu, v);
	} else if (offset >= GICD_PIDR4 && offset < GICD_END) {
		return -EINVAL; /* identification registers are read-only */
	}
	gic_update(s);
	return rc;
}

/* ---- CPU interface ---------------------------------------------------------- */

/* Acknowledge: GICC_IAR (alias false) or GICC_AIAR (Group 1 only). */
static uint32_t gic_acknowledge(struct gic *s, unsigned cpu, bool alias)
{
	struct gic_cpu *c = &s->cpu[cpu];
	unsigned prio, id = gic_best(s, cpu, &prio), group, src = 0;
	struct gic_irq *irq;

	if (id == GIC_SPURIOUS || !gic_can_preempt(s, cpu, id, prio))
		return GIC_SPURIOUS;
	group = gic_group(s, cpu, id);
	if (alias && !group)
		return GIC_SPURIOUS;
	if (!alias && group && !(c->ctlr & GICC_CTLR_ACKCTL))
		return GIC_SPURIOUS_GRP1;

	irq = gic_irq(s, cpu, id);
	if (id < GIC_NR_SGI) {
		/* One source at a time; the others stay pending. */
		src = (unsigned)__builtin_ctz(s->sgi_src[cpu][id]);
		s->sgi_src[cpu][id] &= (uint8_t)~(1u << src);
	} else {
		/* A level input still asserted keeps it active and pending. */
		irq->flags &= (uint8_t)~IRQ_LATCH;
	}
	irq->flags |= IRQ_ACTIVE;
	c->apr[group] |= 1u << ((prio & gic_gprio_mask(c, group)) >> GIC_PRIO_SHIFT);
	gic_update(s);
	return id | (src << 10);
}

static uint32_t gic_hppir(struct gic *s, unsigned cpu, bool alias)
{
	unsigned prio, id = gic_best(s, cpu, &prio), group;

	if (id == GIC_SPURIOUS)
		return GIC_SPURIOUS;
	group = gic_group(s, cpu, id);
	if (alias && !group)
		return GIC_SPURIOUS;
	if (!alias && group && !(s->cpu[cpu].ctlr & GICC_CTLR_ACKCTL))
		return GIC_SPURIOUS_GRP1;
	if (id < GIC_NR_SGI)
		return id | ((unsigned)__builtin_ctz(s->sgi_src[cpu][id]) << 10);
	return id;
}

static void gic_deactivate(struct gic *s, unsigned cpu, unsigned id)
{
	gic_irq(s, cpu, id)->flags &= (uint8_t)~IRQ_ACTIVE;
}

/* GICC_EOIR (alias false) or GICC_AEOIR (Group 1 only). */
static int gic_eoi(struct gic *s, unsigned cpu, uint32_t v, bool alias)
{
	struct gic_cpu *c = &s->cpu[cpu];
	unsigned id = v & 0x3ffu, group;

	if (id >= GIC_MAX_IRQ)
		return 0; /* special INTIDs are ignored */
	if (id >= s->nirq)
		return -EINVAL;
	group = gic_group(s, cpu, id);
	if (alias && !group)
		return -EINVAL;
	if (c->apr[group])
		c->apr[group] &= c->apr[group] - 1; /* drop the highest active priority */
	else
		s->host->log(s->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			     "CPU %u: EOI of INTID %u with no active priority", cpu, id);
	if (!(c->ctlr & GICC_CTLR_EOIMODE))
		gic_deactivate(s, cpu, id);
	return 0;
}

static int gic_dir(struct gic *s, unsigned cpu, uint32_t v)
{
	unsigned id = v & 0x3ffu;

	if (id >= GIC_MAX_IRQ)
		return 0;
	if (id >= s->nirq || !(s->cpu[cpu].ctlr & GICC_CTLR_EOIMODE))
		return -EINVAL; /* no such interrupt, or UNPREDICTABLE with EOImode 0 */
	gic_deactivate(s, cpu, id);
	return 0;
}

static int gic_cpu_read(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
			uint64_t *value)
{
	struct gic *s = opaque;
	struct gic_cpu *c;
	uint32_t v = 0;
	unsigned rp;

	*value = 0;
	if (cpu >= s->ncpus || size != 4)
		return -EINVAL;
	c = &s->cpu[cpu];
	switch (offset) {
	case GICC_CTLR:
		v = c->ctlr;
		break;
	case GICC_PMR:
		v = c->pmr;
		break;
	case GICC_BPR:
		v = c->bpr;
		break;
	case GICC_ABPR:
		v = c->abpr;
		break;
	case GICC_IAR:
		v = gic_acknowledge(s, cpu, false);
		break;
	case GICC_AIAR:
		v = gic_acknowledge(s, cpu, true);
		break;
	case GICC_RPR:
		rp = gic_running_prio(c);
		v = rp == GIC_IDLE_PRIO ? 0xffu : rp;
		break;
	case GICC_HPPIR:
		v = gic_hppir(s, cpu, false);
		break;
	case GICC_AHPPIR:
		v = gic_hppir(s, cpu, true);
		break;
	case GICC_APR0:
		v = c->apr[0];
		break;
	case GICC_NSAPR0:
		v = c->apr[1];
		break;
	case GICC_IIDR:
		v = GICC_IIDR_VALUE;
		break;
	case GICC_EOIR:
	case GICC_AEOIR:
	case GICC_DIR:
		return -EINVAL; /* write-only */
	default:
		v = 0; /* reserved, APR1-3, NSAPR1-3: RAZ */
		break;
	}
	*value = v;
	return 0;
}

static int gic_cpu_write(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
			 uint64_t value)
{
	struct gic *s = opaque;
	struct gic_cpu *c;
	uint32_t v = (uint32_t)value;
	int rc = 0;

	if (cpu >= s->ncpus || size != 4)
		return -EINVAL;
	c = &s->cpu[cpu];
	switch (offset) {
	case GICC_CTLR:
		c->ctlr = v & GICC_CTLR_MASK;
		break;
	case GICC_PMR:
		c->pmr = (uint8_t)v & GIC_PRIO_MASK;
		break;
	case GICC_BPR:
		c->bpr = (uint8_t)(v & 7u) < GIC_MIN_BPR ? GIC_MIN_BPR : (uint8_t)(v & 7u);
		break;
	case GICC_ABPR:
		c->abpr = (uint8_t)(v & 7u) < GIC_MIN_ABPR ? GIC_MIN_ABPR : (uint8_t)(v & 7u);
		break;
	case GICC_EOIR:
		rc = gic_eoi(s, cpu, v, false);
		break;
	case GICC_AEOIR:
		rc = gic_eoi(s, cpu, v, true);
		break;
	case GICC_DIR:
		rc = gic_dir(s, cpu, v);
		break;
	case GICC_APR0:
		c->apr[0] = v;
		break;
	case GICC_NSAPR0:
		c->apr[1] = v;
		break;
	case GICC_IAR:
	case GICC_AIAR:
	case GICC_RPR:
	case GICC_HPPIR:
	case GICC_AHPPIR:
	case GICC_IIDR:
		return -EINVAL; /* read-only */
	default:
		break; /* reserved: WI */
	}
	gic_update(s);
	return rc;
}

static const struct avmm_mmio_ops gic_dist_ops = {
	.struct_size = sizeof(struct avmm_mmio_ops),
	.valid_sizes = AVMM_SIZE_1 | AVMM_SIZE_4,
	.read = gic_dist_read,
	.write = gic_dist_write,
};

static const struct avmm_mmio_ops gic_cpu_ops = {
	.struct_size = sizeof(struct avmm_mmio_ops),
	.valid_sizes = AVMM_SIZE_4,
	.read = gic_cpu_read,
	.write = gic_cpu_write,
};

/* ---- lifecycle -------------------------------------------------------------- */

static void gic_reset_state(struct gic *s)
{
	s->dist_ctlr = 0;
	/* Input levels belong to the devices driving them: keep them. */
	for (unsigned c = 0; c < GIC_MAX_CPUS; c++) {
		for (unsigned i = 0; i < GIC_NR_PRIV; i++) {
			uint8_t line = s->priv[c][i].flags & IRQ_LINE;

			s->priv[c][i] = (struct gic_irq){.flags = line};
		}
		memset(s->sgi_src[c], 0, sizeof(s->sgi_src[c]));
		s->cpu[c].ctlr = 0;
		s->cpu[c].pmr = 0;
		s->cpu[c].bpr = GIC_MIN_BPR;
		s->cpu[c].abpr = GIC_MIN_ABPR;
		s->cpu[c].apr[0] = s->cpu[c].apr[1] = 0;
	}
	for (unsigned i = 0; i < GIC_MAX_SPI; i++) {
		uint8_t line = s->spi[i].flags & IRQ_LINE;

		s->spi[i] = (struct gic_irq){.flags = line};
	}
	gic_update(s);
}

static void gic_reset(void *instance)
{
	gic_reset_state(instance);
}

static int gic_cfg_base(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
			uint64_t *base, char *err, size_t errlen)
{
	int rc = host->cfg_u64(dev, key, base);

	if (rc == -ENOENT) {
		snprintf(err, errlen, "missing required key '%s'", key);
		return -EINVAL;
	}
	if (rc)
		return rc;
	if (*base & (GIC_REGION_SIZE - 1))
		return host->cfg_error(dev, key, "must be 64 KiB aligned (0x%" PRIx64 ")", *base);
	if (*base > UINT64_MAX - GIC_REGION_SIZE)
		return host->cfg_error(dev, key, "out of range (0x%" PRIx64 ")", *base);
	return 0;
}

static int gic_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		      char *err, size_t errlen)
{
	uint64_t dist_base, cpu_base, lines = GIC_DEFAULT_LINES;
	unsigned ncpus = host->cpu_count(dev);
	struct gic *s;
	int rc;

	rc = gic_cfg_base(dev, host, "dist-base", &dist_base, err, errlen);
	if (rc)
		return rc;
	rc = gic_cfg_base(dev, host, "cpu-base", &cpu_base, err, errlen);
	if (rc)
		return rc;
	rc = host->cfg_u64(dev, "lines", &lines);
	if (rc && rc != -ENOENT)
		return rc;
	if (lines > GIC_MAX_SPI)
		return host->cfg_error(dev, "lines", "at most %u SPIs (got %" PRIu64 ")",
				       GIC_MAX_SPI, lines);
	if (dist_base == cpu_base) {
		snprintf(err, errlen, "dist-base and cpu-base overlap");
		return -EINVAL;
	}
	if (ncpus == 0 || ncpus > GIC_MAX_CPUS) {
		snprintf(err, errlen, "GICv2 supports 1 to %u CPUs, the VM has %u", GIC_MAX_CPUS,
			 ncpus);
		return -EINVAL;
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->dev = dev;
	s->host = host;
	s->dist_base = dist_base;
	s->cpu_base = cpu_base;
	s->ncpus = ncpus;
	s->cpu_mask = (uint8_t)((1u << ncpus) - 1);
	/* GICD_TYPER can only describe multiples of 32 INTIDs: round up. */
	s->nirq = (unsigned)(GIC_NR_PRIV + lines + 31) / 32 * 32;
	if (s->nirq > GIC_MAX_IRQ)
		s->nirq = GIC_MAX_IRQ;
	gic_reset_state(s);

	s->chip = (struct avmm_irqchip_ops){
		.struct_size = sizeof(struct avmm_irqchip_ops),
		.nr_lines = s->nirq - GIC_NR_PRIV,
		.interrupt_cells = 3,
		.set_line = gic_set_line,
		.set_ppi = gic_set_ppi,
		.fdt_cells = gic_fdt_cells,
	};

	rc = host->mmio_register(dev, "dist-base", dist_base, GIC_REGION_SIZE, &gic_dist_ops, s);
	if (!rc)
		rc = host->mmio_register(dev, "cpu-base", cpu_base, GIC_REGION_SIZE, &gic_cpu_ops,
					 s);
	if (!rc)
		rc = host->irqchip_register(dev, &s->chip, s, &s->phandle);
	if (rc) {
		snprintf(err, errlen, "registration failed: %s", strerror(-rc));
		free(s);
		return rc;
	}
	*instance = s;
	return 0;
}

static void gic_destroy(void *instance)
{
	free(instance);
}

static int gic_fdt_populate(void *instance, void *fdt)
{
	struct gic *s = instance;
	char name[32];
	fdt32_t reg[8];
	int node, rc = 0;

	snprintf(name, sizeof(name), "intc@%" PRIx64, s->dist_base);
	node = fdt_add_subnode(fdt, 0, name);
	if (node < 0)
		return node == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;

	reg[0] = cpu_to_fdt32((uint32_t)(s->dist_base >> 32));
	reg[1] = cpu_to_fdt32((uint32_t)s->dist_base);
	reg[2] = cpu_to_fdt32(0);
	reg[3] = cpu_to_fdt32((uint32_t)GIC_REGION_SIZE);
	reg[4] = cpu_to_fdt32((uint32_t)(s->cpu_base >> 32));
	reg[5] = cpu_to_fdt32((uint32_t)s->cpu_base);
	reg[6] = cpu_to_fdt32(0);
	reg[7] = cpu_to_fdt32((uint32_t)GIC_REGION_SIZE);

	rc |= fdt_setprop_string(fdt, node, "compatible", "arm,cortex-a15-gic");
	rc |= fdt_setprop_u32(fdt, node, "#interrupt-cells", 3);
	rc |= fdt_setprop_empty(fdt, node, "interrupt-controller");
	rc |= fdt_setprop(fdt, node, "reg", reg, sizeof(reg));
	rc |= fdt_setprop_u32(fdt, node, "#address-cells", 2);
	rc |= fdt_setprop_u32(fdt, node, "#size-cells", 2);
	rc |= fdt_setprop_empty(fdt, node, "ranges");
	if (s->phandle)
		rc |= fdt_setprop_u32(fdt, node, "phandle", s->phandle);
	return rc ? -ENOSPC : 0;
}

AVMM_PLUGIN_DEFINE(.name = "gicv2",
		   .summary = "Arm GICv2 distributor and CPU interface (no Security Extensions)",
		   .flags = AVMM_PLUGIN_IRQCHIP,
		   .create = gic_create,
		   .destroy = gic_destroy,
		   .fdt_populate = gic_fdt_populate,
		   .reset = gic_reset);
