/* SPDX-License-Identifier: MIT */
/*
 * The one call of virtio-blk that makes written data durable, in a file of
 * its own: it is the seam through which the unit tests make a sync fail (a
 * test that defines vblk_sync keeps this object out of its link), since no
 * file system here lets fdatasync fail on demand.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "blk.h"

int vblk_sync(int fd)
{
#if defined(__APPLE__)
	/* fsync does not flush the drive's cache on macOS: F_FULLFSYNC does. */
	if (fcntl(fd, F_FULLFSYNC) == 0)
		return 0;
#if defined(F_BARRIERFSYNC)
	if (fcntl(fd, F_BARRIERFSYNC) == 0)
		return 0;
#endif
	return fsync(fd) ? -errno : 0;
#else
	return fdatasync(fd) ? -errno : 0;
#endif
}
