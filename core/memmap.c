/* SPDX-License-Identifier: MIT */
#include "memmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void memmap_init(struct memmap *map)
{
	memset(map, 0, sizeof(*map));
}

void memmap_free(struct memmap *map)
{
	free(map->regions);
	memset(map, 0, sizeof(*map));
}

int memmap_add(struct memmap *map, const struct mmio_region *r,
	       const struct mmio_region **conflict)
{
	size_t pos;
	uint64_t last;

	if (conflict)
		*conflict = NULL;
	if (!r->size)
		return -EINVAL;
	last = r->base + (r->size - 1);
	if (last < r->base)
		return -ERANGE;

	pos = memmap_upper_bound(map, r->base);
	/* Only the neighbours can overlap in a sorted, disjoint array. */
	if (pos > 0) {
		const struct mmio_region *prev = &map->regions[pos - 1];

		if (prev->base + (prev->size - 1) >= r->base) {
			if (conflict)
				*conflict = prev;
			return -EEXIST;
		}
	}
	if (pos < map->count && map->regions[pos].base <= last) {
		if (conflict)
			*conflict = &map->regions[pos];
		return -EEXIST;
	}

	if (map->count == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 16;
		struct mmio_region *n = realloc(map->regions, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		map->regions = n;
		map->cap = cap;
	}
	memmove(&map->regions[pos + 1], &map->regions[pos],
		(map->count - pos) * sizeof(map->regions[0]));
	map->regions[pos] = *r;
	map->count++;
	return 0;
}
