/* SPDX-License-Identifier: MIT */
/*
 * The device types of the virtio-mmio plugin, as plugin.c sees them.  One
 * file per type (blk.c, rng.c, console.c, net.c) defines one struct vdev_type; the
 * plugin picks it by the section's `type` key and forwards the plugin
 * descriptor's calls to it.  A type owns everything of its device: its own
 * keys, its transport (vtrans_create), its backend and any workers.  Adding
 * a type is one new file and one line in plugin.c's table.
 */
#ifndef AVMM_VIRTIO_VDEV_H
#define AVMM_VIRTIO_VDEV_H

#include <stddef.h>

#include <avmm/avmm.h>

struct vtrans;

struct vdev_type {
	const char *name; /* the value of `type` */
	const char *summary;
	/* As avmm_plugin_desc.create; `base`, `irq` and `type` are the transport's and plugin's. */
	int (*create)(struct avmm_dev *dev, const struct avmm_host *host, void **state,
		      char *err, size_t errlen);
	void (*destroy)(void *state);
	/* Its transport: plugin.c adds the DT node and resets the device through it. */
	struct vtrans *(*transport)(void *state);
};

extern const struct vdev_type vblk_type;
extern const struct vdev_type vrng_type;
extern const struct vdev_type vcons_type;
extern const struct vdev_type vnet_type;

/* The device type's state behind a plugin instance (for unit tests). */
void *vdev_state(void *instance);

#endif
