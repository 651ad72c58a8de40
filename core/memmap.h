/* SPDX-License-Identifier: MIT */
/*
 * The MMIO bus: a sorted array of non-overlapping regions, built before the
 * vCPUs start and read-only afterwards, so lookups take no lock.
 */
#ifndef AVMM_CORE_MEMMAP_H
#define AVMM_CORE_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

struct avmm_dev;

struct mmio_region {
	uint64_t base;
	uint64_t size;
	const struct avmm_mmio_ops *ops;
	void *opaque;
	struct avmm_dev *dev;   /* owner, for locking and messages; may be NULL */
	int cfg_line;       /* config line that placed it, 0 if unknown */
};

struct memmap {
	struct mmio_region *regions; /* sorted by base */
	size_t count;
	size_t cap;
};

void memmap_init(struct memmap *map);
void memmap_free(struct memmap *map);
/*
 * Insert a copy of *r.  -EINVAL for size 0, -ERANGE if it wraps past 2^64,
 * -EEXIST if it overlaps a region (returned in *conflict when non-NULL).
 */
int memmap_add(struct memmap *map, const struct mmio_region *r,
	       const struct mmio_region **conflict);
/* Index of the first region whose base is > addr (binary search). */
static inline size_t memmap_upper_bound(const struct memmap *map, uint64_t addr)
{
	size_t lo = 0, hi = map->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (map->regions[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The region containing addr, or NULL.  O(log n), no allocation, no lock.
 * Inline: it runs on every MMIO exit.
 */
static inline const struct mmio_region *memmap_find(const struct memmap *map, uint64_t addr)
{
	size_t pos = memmap_upper_bound(map, addr);
	const struct mmio_region *r;

	if (!pos)
		return NULL;
	r = &map->regions[pos - 1];
	return addr - r->base < r->size ? r : NULL;
}

#endif
