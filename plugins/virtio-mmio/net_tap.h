/* SPDX-License-Identifier: MIT */
/*
 * Internal to the tap backend (net_tap.c, Linux only): the few system
 * calls it reaches the kernel through, in one table so that the unit tests
 * can stand a socket pair in for /dev/net/tun and record the ioctls,
 * without root.  Each returns what the libc call does (-1 and errno).
 */
#ifndef AVMM_VIRTIO_NET_TAP_H
#define AVMM_VIRTIO_NET_TAP_H

#include <stddef.h>
#include <sys/types.h>

struct netbe_tap_sys {
	int (*open)(const char *path, int flags);
	/* `arg` is the pointer, or for TUNSETOFFLOAD the value, the request takes. */
	int (*ioctl)(int fd, unsigned long req, void *arg);
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*close)(int fd);
	/* The interface's index, 0 when there is none of that name. */
	unsigned (*if_index)(const char *name);
};

/* The system's calls, unless a test put its own here. */
extern const struct netbe_tap_sys *netbe_tap_sys;

#endif
