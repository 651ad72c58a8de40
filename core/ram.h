/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one shared mapping (a memfd on Linux, so that a later
 * vhost-user backend can map the same pages through ram_fd(); anonymous
 * shared memory elsewhere), and the single bounds-checked accessor every
 * guest address a device or the core touches goes through.  A service at the
 * bottom of the core: it calls nothing.
 */
#ifndef AVMM_CORE_RAM_H
#define AVMM_CORE_RAM_H

#include <stddef.h>
#include <stdint.h>

/* Apple Silicon maps guest memory in 16 KiB pages; keep every host happy. */
#define RAM_ALIGN (16u * 1024u)

struct guest_ram {
	uint64_t base; /* guest physical address */
	uint64_t size;
	uint8_t *host;
	int fd; /* the backing memfd or -1; valid only while host is set */
};

/* -EINVAL for zero, unaligned or wrapping ranges; -errno if memfd or mmap fails. */
int ram_alloc(struct guest_ram *ram, uint64_t base, uint64_t size);
void ram_free(struct guest_ram *ram);
/*
 * The fd backing RAM (offset 0 is guest address `base`), owned by the RAM:
 * dup it to keep it; -1 where RAM has no fd.
 */
int ram_fd(const struct guest_ram *ram);

/* Host pointer for [gpa, gpa + len) when wholly inside RAM and len > 0. */
void *ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len);
int ram_read(const struct guest_ram *ram, uint64_t gpa, void *buf, size_t len);
int ram_write(const struct guest_ram *ram, uint64_t gpa, const void *buf, size_t len);

#endif
