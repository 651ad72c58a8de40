/* SPDX-License-Identifier: MIT */
/*
 * Internal to virtio-blk (blk.c): the durability call, in blk_sync.c so that
 * a unit test can stand in for it.
 */
#ifndef AVMM_VIRTIO_BLK_H
#define AVMM_VIRTIO_BLK_H

/* Make everything written to fd durable (fdatasync, F_FULLFSYNC): 0 or -errno. */
int vblk_sync(int fd);

#endif
