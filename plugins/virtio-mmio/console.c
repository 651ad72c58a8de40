/* SPDX-License-Identifier: MIT */
/* virtio-console: placeholder until the device type lands (refuses to be created). */
#include <errno.h>
#include <stdio.h>

#include "vdev.h"

static int vcons_create(struct avmm_dev *dev, const struct avmm_host *host, void **state,
		       char *err, size_t errlen)
{
	(void)dev, (void)host, (void)state;
	snprintf(err, errlen, "virtio-mmio: type = console is not implemented yet");
	return -ENOSYS;
}

static void vcons_destroy(void *state) { (void)state; }
static int vcons_fdt_populate(void *state, void *fdt) { (void)state, (void)fdt; return 0; }
static void vcons_reset(void *state) { (void)state; }

const struct vdev_type vcons_type = {
	.name = "console",
	.summary = "console",
	.create = vcons_create,
	.destroy = vcons_destroy,
	.fdt_populate = vcons_fdt_populate,
	.reset = vcons_reset,
};
