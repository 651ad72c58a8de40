/* SPDX-License-Identifier: MIT */
#include "ram.h"

#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The backing: a memfd on Linux, so that another process (a vhost-user
 * backend) can map the very same pages from the fd; anonymous shared memory
 * elsewhere (no fd).  Both are lazily backed: a 4G guest costs what it
 * touches.
 */
static int ram_backing(uint64_t size, int *fd)
{
#ifdef __linux__
	int f = memfd_create("avmm-guest-ram", MFD_CLOEXEC);

	if (f < 0)
		return -errno;
	if (ftruncate(f, (off_t)size)) {
		int e = errno;

		close(f);
		return -e;
	}
	*fd = f;
#else
	(void)size;
	*fd = -1;
#endif
	return 0;
}

/*
 * Map `size` bytes of the backing at a RAM_ALIGN-aligned address: reserve
 * size + RAM_ALIGN of address space, map the backing over its aligned part
 * (MAP_FIXED within our own reservation) and give the slack back.  Hosts
 * with 4K pages would otherwise hand out 4K-aligned memory, which HVF on
 * 16K-page Apple silicon refuses.
 */
static void *ram_map_aligned(uint64_t size, int fd)
{
	size_t len = (size_t)size, span = len + RAM_ALIGN, head;
	uint8_t *res, *p;

	res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	head = (RAM_ALIGN - (uintptr_t)res % RAM_ALIGN) % RAM_ALIGN;
	p = mmap(res + head, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED | MAP_NORESERVE | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(res, span);
		errno = e;
		return MAP_FAILED;
	}
	if (head)
		munmap(res, head);
	munmap(p + len, span - head - len);
	return p;
}

int ram_alloc(struct guest_ram *ram, uint64_t base, uint64_t size)
{
	int fd = -1, rc;
	void *p;

	memset(ram, 0, sizeof(*ram));
	ram->fd = -1;
	if (!size || size % RAM_ALIGN || base % RAM_ALIGN || base + size < base)
		return -EINVAL;
	if (size > SIZE_MAX - RAM_ALIGN || size > (uint64_t)INT64_MAX)
		return -ENOMEM;
	rc = ram_backing(size, &fd);
	if (rc)
		return rc;
	p = ram_map_aligned(size, fd);
	if (p == MAP_FAILED) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	ram->base = base;
	ram->size = size;
	ram->host = p;
	ram->fd = fd;
	return 0;
}

void ram_free(struct guest_ram *ram)
{
	/* fd is only meaningful with host: a zeroed, never allocated RAM has fd 0. */
	if (ram->host) {
		munmap(ram->host, (size_t)ram->size);
		if (ram->fd >= 0)
			close(ram->fd);
	}
	memset(ram, 0, sizeof(*ram));
	ram->fd = -1;
}

int ram_fd(const struct guest_ram *ram)
{
	return ram->host ? ram->fd : -1;
}

void *ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	uint64_t off;

	/* Written so that no sum can wrap: a guest controls gpa and len. */
	if (!ram->host || !len || gpa < ram->base)
		return NULL;
	off = gpa - ram->base;
	if (off >= ram->size || len > ram->size - off)
		return NULL;
	return ram->host + off;
}

int ram_read(const struct guest_ram *ram, uint64_t gpa, void *buf, size_t len)
{
	void *p = ram_ptr(ram, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int ram_write(const struct guest_ram *ram, uint64_t gpa, const void *buf, size_t len)
{
	void *p = ram_ptr(ram, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}
