/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio plugin: one `[device NAME]` section is one virtio device
 * behind its own version 2 virtio-mmio transport.  This file only reads the
 * section's `type` and hands the instance to that device type (vdev.h); the
 * transport, the virtqueues and the types are the other files of the folder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avmm/avmm.h>

#include "transport.h"
#include "vdev.h"

static const struct vdev_type *const vdev_types[] = {
	&vblk_type,
	&vrng_type,
	&vcons_type,
	&vnet_type,
};
#define NR_TYPES (sizeof(vdev_types) / sizeof(vdev_types[0]))

struct vdev {
	const struct vdev_type *type;
	void *state;
};

static int vdev_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		       char *err, size_t errlen)
{
	const char *name;
	int rc = host->cfg_str(dev, "type", &name);
	if (rc == -ENOENT)
		return host->cfg_error(dev, "type",
				       "missing: set type = blk, rng, console or net");
	if (rc)
		return rc;

	const struct vdev_type *type = NULL;
	for (size_t i = 0; i < NR_TYPES; i++)
		if (!strcmp(vdev_types[i]->name, name))
			type = vdev_types[i];
	if (!type)
		return host->cfg_error(dev, "type",
				       "unknown virtio device type '%s': use blk, rng, console or net",
				       name);

	struct vdev *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->type = type;
	rc = type->create(dev, host, &v->state, err, errlen);
	if (rc) {
		free(v);
		return rc;
	}
	*instance = v;
	return 0;
}

void *vdev_state(void *instance)
{
	return ((struct vdev *)instance)->state;
}

static void vdev_destroy(void *instance)
{
	struct vdev *v = instance;
	if (!v)
		return;
	v->type->destroy(v->state);
	free(v);
}

static int vdev_fdt_populate(void *instance, void *fdt)
{
	struct vdev *v = instance;
	return vtrans_fdt_populate(v->type->transport(v->state), fdt);
}

static void vdev_reset(void *instance)
{
	struct vdev *v = instance;
	/* Guest SYSTEM_RESET: as if the driver wrote 0 to Status. */
	vtrans_reset(v->type->transport(v->state));
}

AVMM_PLUGIN_DEFINE(.name = "virtio-mmio",
		   .summary = "virtio-mmio v2 devices: type = blk | rng | console | net",
		   .create = vdev_create,
		   .destroy = vdev_destroy,
		   .fdt_populate = vdev_fdt_populate,
		   .reset = vdev_reset);
