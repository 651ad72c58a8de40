/* SPDX-License-Identifier: MIT */
#include "ram.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int ram_alloc(struct guest_ram *ram, uint64_t base, uint64_t size)
{
	void *p;

	memset(ram, 0, sizeof(*ram));
	if (!size || size % RAM_ALIGN || base % RAM_ALIGN || base + size < base)
		return -EINVAL;
	if (size > SIZE_MAX)
		return -ENOMEM;
	/* Anonymous and lazily backed: a 4G guest costs what it touches. */
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	ram->base = base;
	ram->size = size;
	ram->host = p;
	return 0;
}

void ram_free(struct guest_ram *ram)
{
	if (ram->host)
		munmap(ram->host, (size_t)ram->size);
	memset(ram, 0, sizeof(*ram));
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
