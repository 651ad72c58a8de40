/* SPDX-License-Identifier: MIT */
/* virtio-blk: placeholder until the device type lands (refuses to be created). */
#include <errno.h>
#include <stdio.h>

#include "vdev.h"

static int vblk_create(struct avmm_dev *dev, const struct avmm_host *host, void **state,
		       char *err, size_t errlen)
{
	(void)dev, (void)host, (void)state;
	snprintf(err, errlen, "virtio-mmio: type = blk is not implemented yet");
	return -ENOSYS;
}

static void vblk_destroy(void *state) { (void)state; }
static int vblk_fdt_populate(void *state, void *fdt) { (void)state, (void)fdt; return 0; }
static void vblk_reset(void *state) { (void)state; }

const struct vdev_type vblk_type = {
	.name = "blk",
	.summary = "block device",
	.create = vblk_create,
	.destroy = vblk_destroy,
	.fdt_populate = vblk_fdt_populate,
	.reset = vblk_reset,
};
