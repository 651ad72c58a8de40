/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 section 5.2) over a raw image file: one request
 * queue; IN/OUT go straight between the image and guest memory with
 * preadv/pwritev over iovecs of the chain's segments (no bounce buffer),
 * FLUSH syncs (blk_sync.c), GET_ID returns the `serial`, DISCARD and
 * WRITE_ZEROES punch or zero ranges where the host file system can.
 *
 * Keys: path (the image; its size, a multiple of 512, is the capacity),
 * readonly (default false), serial (up to 20 bytes), cache = writeback
 * (default: FLUSH offered and honoured) | unsafe (FLUSH not offered, nothing
 * ever synced: for throw-away guests).
 *
 * Threads: no request runs on a vCPU or on the I/O thread.  The doorbell
 * kicks the queue worker, which pops chains into a fixed array of request
 * slots and queues them for VBLK_IO_WORKERS I/O workers; those run the
 * requests and push them back.  `lock` serialises every call on the
 * virtqueue (vq_* is not thread-safe and workers run without the device
 * lock) and guards the slot lists; it is never held across the file I/O.
 * Lock order: lock, then the transport's (vtrans_*): the transport never
 * calls into the device type with its lock held.
 *
 * Reset (device or one queue): the transport first makes the queue not
 * live, so no new pop starts; quiesce() then drops the requests popped but
 * not started and waits for the ones running, whose completions are thrown
 * away: nothing touches the rings once it returns.
 *
 * The driver is not trusted: a malformed request gets IOERR (or, without a
 * status byte to say so, a used length of 0), is logged as a rate-limited
 * guest error, and never reaches the image outside [0, capacity).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate, FALLOC_FL_*, F_OFD_* */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blk.h"
#include "transport.h"
#include "vdev.h"

#define VIRTIO_ID_BLOCK 2u

/* Feature bits (5.2.3). */
#define BLK_F_SIZE_MAX (1ull << 1)
#define BLK_F_SEG_MAX (1ull << 2)
#define BLK_F_RO (1ull << 5)
#define BLK_F_BLK_SIZE (1ull << 6)
#define BLK_F_FLUSH (1ull << 9)
#define BLK_F_DISCARD (1ull << 13)
#define BLK_F_WRITE_ZEROES (1ull << 14)

/* Request types and status values (5.2.6). */
#define BLK_T_IN 0u
#define BLK_T_OUT 1u
#define BLK_T_FLUSH 4u
#define BLK_T_GET_ID 8u
#define BLK_T_DISCARD 11u
#define BLK_T_WRITE_ZEROES 13u
#define BLK_S_OK 0u
#define BLK_S_IOERR 1u
#define BLK_S_UNSUPP 2u
#define BLK_DWZ_F_UNMAP 1u /* discard/write zeroes segment flags */

#define BLK_HDR_SIZE 16u /* le32 type, le32 reserved, le64 sector */
#define BLK_DWZ_SEG_SIZE 16u /* le64 sector, le32 num_sectors, le32 flags */
#define BLK_ID_BYTES 20u
#define SECTOR 512u

/* Config space (5.2.4): offsets of the fields this device fills. */
#define CFG_CAPACITY 0u
#define CFG_SIZE_MAX 8u
#define CFG_SEG_MAX 12u
#define CFG_BLK_SIZE 20u
#define CFG_MAX_DISCARD_SECTORS 36u
#define CFG_MAX_DISCARD_SEG 40u
#define CFG_DISCARD_ALIGN 44u
#define CFG_MAX_WZ_SECTORS 48u
#define CFG_MAX_WZ_SEG 52u
#define CFG_WZ_MAY_UNMAP 56u
#define CFG_SIZE 60u /* through write_zeroes_may_unmap and its padding */

#define VBLK_QUEUE_SIZE 256u
/* Every chain has a header and a status byte besides its data. */
#define VBLK_SEG_MAX (VBLK_QUEUE_SIZE - 2u)
/* Advertised only (a longer segment works too): Linux's max_segment_size. */
#define VBLK_SIZE_MAX (1u << 20)
/* One range per request; at most 2 GiB of it. */
#define VBLK_MAX_DWZ_SECTORS (1u << 22)
#define VBLK_IO_WORKERS 4u
/* Requests popped at once: queued for the I/O workers or running. */
#define VBLK_SLOTS 32u

struct vblk_req {
	struct vq_chain chain;
	struct vq_seg seg[VBLK_QUEUE_SIZE];
	struct iovec iov[VBLK_QUEUE_SIZE];
	uint64_t features; /* negotiated, as of its pop */
};

struct vblk {
	const struct avmm_host *host;
	struct avmm_dev *dev;
	struct vtrans *t;
	struct vtype_ops *ops; /* its own: the offered features are per instance */
	struct avmm_worker *queue_worker;
	struct avmm_worker *io_worker[VBLK_IO_WORKERS];
	unsigned nio;

	char *path;
	int fd;
	bool readonly, unsafe;
	bool punch, zero_range; /* what the image's file system can do */
	uint64_t capacity;      /* sectors */
	char serial[BLK_ID_BYTES];
	uint8_t cfg[CFG_SIZE];
	/* A sync failed once: every later one fails too (the data may be lost). */
	atomic_bool sync_failed;
	atomic_bool host_error_logged;

	pthread_mutex_t lock;
	pthread_cond_t idle; /* running dropped to 0 while quiescing */
	uint64_t features;   /* negotiated, set at DRIVER_OK */
	unsigned free_idx[VBLK_SLOTS], nfree;
	unsigned pend_idx[VBLK_SLOTS], pend_head, npend; /* FIFO */
	unsigned running;
	bool quiescing; /* a reset waits: drop completions */
	bool starved;   /* the queue worker stopped for lack of slots */
	struct vblk_req *req;  /* [VBLK_SLOTS] */
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

AVMM_PRINTF(2, 3) static void guest_error(struct vblk *b, const char *fmt, ...)
{
	va_list ap;
	char msg[160];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->host->log(b->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR, "virtio-blk: %s", msg);
}

/* A failure of the host's file, not the guest's doing: said once. */
static void host_error(struct vblk *b, const char *what, int err)
{
	if (!atomic_exchange(&b->host_error_logged, true))
		b->host->log(b->dev, AVMM_LOG_ERROR,
			     "virtio-blk: %s of %s failed: %s (the guest gets I/O errors)", what,
			     b->path, strerror(err));
}

/* ---- one request (an I/O worker, no lock held) -------------------------- */

/*
 * Host pointers for bytes [off, off + len) of segments [first, last) into
 * iov; the number of entries, or -EFAULT (guest memory went away: vq_pop
 * checked every segment).  Empty segments get no entry.
 */
static int map_range(struct vblk *b, const struct vq_chain *c, unsigned first, unsigned last,
		     uint64_t off, uint64_t len, struct iovec *iov)
{
	int n = 0;

	for (unsigned s = first; s < last && len; s++) {
		const struct vq_seg *seg = &c->seg[s];

		if (off >= seg->len) {
			off -= seg->len;
			continue;
		}
		uint64_t k = seg->len - off < len ? seg->len - off : len;
		void *p = b->host->guest_ptr(b->dev, seg->gpa + off, k);
		if (!p)
			return -EFAULT;
		iov[n++] = (struct iovec){.iov_base = p, .iov_len = (size_t)k};
		len -= k;
		off = 0;
	}
	return len ? -EFAULT : n;
}

/*
 * preadv/pwritev until all of iov is done; *done counts the bytes moved.
 * End of file before that (the image shrank under us) is -EIO.
 */
static int rw_full(int fd, bool write, struct iovec *iov, int n, off_t off, uint64_t *done)
{
	*done = 0;
	while (n > 0) {
		ssize_t k = write ? pwritev(fd, iov, n, off) : preadv(fd, iov, n, off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		off += k;
		*done += (uint64_t)k;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

static int blk_sync_sticky(struct vblk *b)
{
	int rc;

	if (atomic_load(&b->sync_failed))
		return -EIO;
	rc = vblk_sync(b->fd);
	if (rc) {
		atomic_store(&b->sync_failed, true);
		host_error(b, "sync", -rc);
	}
	return rc;
}

/* Without FLUSH negotiated every write must be durable when it completes. */
static int write_done(struct vblk *b, const struct vblk_req *r)
{
	if (b->unsafe || (r->features & BLK_F_FLUSH))
		return 0;
	return blk_sync_sticky(b);
}

/* [sector, sector + nsect) lies within the disk (no product can overflow). */
static bool in_range(const struct vblk *b, uint64_t sector, uint64_t nsect)
{
	return sector <= b->capacity && nsect <= b->capacity - sector;
}

static int punch_or_zero(struct vblk *b, bool punch, uint64_t off, uint64_t len)
{
#if defined(__linux__)
	int mode = punch ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;

	while (fallocate(b->fd, mode, (off_t)off, (off_t)len))
		if (errno != EINTR)
			return -errno;
	return 0;
#elif defined(__APPLE__) && defined(F_PUNCHHOLE)
	struct fpunchhole ph = {.fp_offset = (off_t)off, .fp_length = (off_t)len};

	(void)punch; /* only punching is offered here */
	return fcntl(b->fd, F_PUNCHHOLE, &ph) ? -errno : 0;
#else
	(void)b, (void)punch, (void)off, (void)len;
	return -EOPNOTSUPP;
#endif
}

static uint8_t req_discard_wz(struct vblk *b, struct vblk_req *r, uint32_t type)
{
	const struct vq_chain *c = &r->chain;
	uint64_t need = type == BLK_T_DISCARD ? BLK_F_DISCARD : BLK_F_WRITE_ZEROES;
	const char *name = type == BLK_T_DISCARD ? "DISCARD" : "WRITE_ZEROES";
	uint8_t seg[BLK_DWZ_SEG_SIZE];

	if (!(r->features & need))
		return BLK_S_UNSUPP;
	if (b->readonly) {
		guest_error(b, "%s on a read-only disk", name);
		return BLK_S_IOERR;
	}
	/* max_discard_seg and max_write_zeroes_seg are 1. */
	if (c->read_len != BLK_HDR_SIZE + BLK_DWZ_SEG_SIZE || c->write_len != 1) {
		guest_error(b, "%s of %" PRIu64 " readable, %" PRIu64 " writable bytes: want one "
			       "16-byte range and the status byte", name, c->read_len, c->write_len);
		return BLK_S_IOERR;
	}
	int n = map_range(b, c, 0, c->nread, BLK_HDR_SIZE, BLK_DWZ_SEG_SIZE, r->iov);
	if (n < 0)
		return BLK_S_IOERR;
	size_t got = 0;
	for (int i = 0; i < n; i++) {
		memcpy(seg + got, r->iov[i].iov_base, r->iov[i].iov_len);
		got += r->iov[i].iov_len;
	}
	uint64_t sector = get_le(seg, 8);
	uint32_t nsect = (uint32_t)get_le(seg + 8, 4), flags = (uint32_t)get_le(seg + 12, 4);

	/* Unknown flags, and UNMAP on a discard, are not ours to guess (5.2.6.2). */
	if (flags & ~(type == BLK_T_WRITE_ZEROES ? BLK_DWZ_F_UNMAP : 0u))
		return BLK_S_UNSUPP;
	if (nsect > VBLK_MAX_DWZ_SECTORS || !in_range(b, sector, nsect)) {
		guest_error(b, "%s of %u sectors at %" PRIu64 ": past the %" PRIu64
			       "-sector disk or the limit",
			    name, nsect, sector, b->capacity);
		return BLK_S_IOERR;
	}
	if (!nsect)
		return BLK_S_OK;
	bool punch = type == BLK_T_DISCARD || (flags & BLK_DWZ_F_UNMAP) || !b->zero_range;
	if (punch && !b->punch)
		punch = false;
	int rc = punch_or_zero(b, punch, sector * SECTOR, (uint64_t)nsect * SECTOR);
	if (rc) {
		host_error(b, name, -rc);
		return BLK_S_IOERR;
	}
	return write_done(b, r) ? BLK_S_IOERR : BLK_S_OK;
}

/* The status byte: the last byte of the writable part, or NULL. */
static uint8_t *status_ptr(struct vblk *b, const struct vq_chain *c)
{
	uint64_t at = c->write_len - 1;

	for (unsigned s = c->nread; s < c->nseg; s++) {
		if (at < c->seg[s].len)
			return b->host->guest_ptr(b->dev, c->seg[s].gpa + at, 1);
		at -= c->seg[s].len;
	}
	return NULL;
}

/* Run request r; returns the used length (bytes written, the status byte included). */
static uint32_t req_run(struct vblk *b, struct vblk_req *r)
{
	const struct vq_chain *c = &r->chain;
	uint8_t *status = c->write_len ? status_ptr(b, c) : NULL;
	uint8_t hdr[BLK_HDR_SIZE], st = BLK_S_IOERR;
	uint64_t done = 0, data_len;
	uint32_t used = 1;
	int n, rc;

	if (!status) {
		guest_error(b, "request %u without a writable status byte: dropped", c->head);
		return 0;
	}
	n = c->read_len < BLK_HDR_SIZE ? -EINVAL
				       : map_range(b, c, 0, c->nread, 0, BLK_HDR_SIZE, r->iov);
	if (n < 0) {
		guest_error(b, "request %u: %" PRIu64 " readable bytes, not a 16-byte header",
			    c->head, c->read_len);
		goto out;
	}
	for (int i = 0, got = 0; i < n; got += (int)r->iov[i].iov_len, i++)
		memcpy(hdr + got, r->iov[i].iov_base, r->iov[i].iov_len);
	uint32_t type = (uint32_t)get_le(hdr, 4);
	uint64_t sector = get_le(hdr + 8, 8);

	switch (type) {
	case BLK_T_IN:
	case BLK_T_OUT: {
		bool write = type == BLK_T_OUT;

		if (write && b->readonly) {
			guest_error(b, "write to a read-only disk");
			goto out;
		}
		/* The data is all of one part: the other holds only header or status. */
		if (write ? c->write_len != 1 : c->read_len != BLK_HDR_SIZE) {
			guest_error(b, "%s request %u with %" PRIu64 " readable, %" PRIu64
				       " writable bytes",
				    write ? "OUT" : "IN", c->head, c->read_len, c->write_len);
			goto out;
		}
		data_len = write ? c->read_len - BLK_HDR_SIZE : c->write_len - 1;
		if (data_len % SECTOR || !in_range(b, sector, data_len / SECTOR)) {
			guest_error(b, "%s of %" PRIu64 " bytes at sector %" PRIu64
				       ": not whole sectors within the %" PRIu64 "-sector disk",
				    write ? "OUT" : "IN", data_len, sector, b->capacity);
			goto out;
		}
		n = write ? map_range(b, c, 0, c->nread, BLK_HDR_SIZE, data_len, r->iov)
			  : map_range(b, c, c->nread, c->nseg, 0, data_len, r->iov);
		if (n < 0)
			goto out;
		rc = rw_full(b->fd, write, r->iov, n, (off_t)(sector * SECTOR), &done);
		if (!write)
			used += (uint32_t)done;
		if (rc) {
			host_error(b, write ? "write" : "read", -rc);
			goto out;
		}
		st = write && write_done(b, r) ? BLK_S_IOERR : BLK_S_OK;
		break;
	}
	case BLK_T_FLUSH:
		if (!(vtrans_offered(b->t) & BLK_F_FLUSH)) {
			st = BLK_S_UNSUPP; /* cache = unsafe: nothing is ever synced */
			break;
		}
		st = b->readonly || blk_sync_sticky(b) == 0 ? BLK_S_OK : BLK_S_IOERR;
		break;
	case BLK_T_GET_ID: {
		uint64_t room = c->write_len - 1, k = room < BLK_ID_BYTES ? room : BLK_ID_BYTES;

		n = map_range(b, c, c->nread, c->nseg, 0, k, r->iov);
		if (n < 0)
			goto out;
		for (int i = 0, put = 0; i < n; put += (int)r->iov[i].iov_len, i++)
			memcpy(r->iov[i].iov_base, b->serial + put, r->iov[i].iov_len);
		used += (uint32_t)k;
		st = BLK_S_OK;
		break;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		st = req_discard_wz(b, r, type);
		break;
	default:
		st = BLK_S_UNSUPP;
		break;
	}
out:
	*status = st;
	return used;
}

/* ---- the queue and the slots ---------------------------------------------- */

static void io_worker_run(void *opaque)
{
	struct vblk *b = opaque;
	struct vq *vq = vtrans_vq(b->t, 0);

	for (;;) {
		bool kick_queue = false;
		unsigned i;

		pthread_mutex_lock(&b->lock);
		if (!b->npend) {
			pthread_mutex_unlock(&b->lock);
			return;
		}
		i = b->pend_idx[b->pend_head];
		b->pend_head = (b->pend_head + 1) % VBLK_SLOTS;
		b->npend--;
		b->running++;
		pthread_mutex_unlock(&b->lock);

		uint32_t used = req_run(b, &b->req[i]);

		pthread_mutex_lock(&b->lock);
		b->running--;
		/* Not live: a reset is on its way; its rings are not to be touched. */
		if (!b->quiescing && vtrans_queue_live(b->t, 0)) {
			if (vq_push(vq, b->req[i].chain.head, used) == 0)
				vtrans_notify_used(b->t, 0);
		}
		if (b->quiescing && !b->running)
			pthread_cond_broadcast(&b->idle);
		b->free_idx[b->nfree++] = i;
		if (b->starved) {
			b->starved = false;
			kick_queue = true;
		}
		pthread_mutex_unlock(&b->lock);
		if (kick_queue)
			b->host->worker_kick(b->queue_worker);
	}
}

/* The doorbell's worker: pop what the driver made available into free slots. */
static void queue_worker_run(void *opaque)
{
	struct vblk *b = opaque;
	struct vq *vq = vtrans_vq(b->t, 0);
	unsigned queued = 0;

	pthread_mutex_lock(&b->lock);
	if (b->quiescing || !vtrans_queue_live(b->t, 0)) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	vq_disable_notify(vq);
	for (;;) {
		if (!b->nfree) {
			/* Kicks stay off: the next completion kicks us. */
			b->starved = true;
			break;
		}
		unsigned i = b->free_idx[b->nfree - 1];
		struct vblk_req *r = &b->req[i];

		r->chain = (struct vq_chain){.seg = r->seg, .max_seg = VBLK_QUEUE_SIZE};
		int rc = vq_pop(vq, &r->chain);
		if (rc == 0) {
			rc = vq_enable_notify(vq);
			if (rc == 1) {
				vq_disable_notify(vq);
				continue;
			}
		}
		if (rc < 0) {
			guest_error(b, "queue broken (%s): device needs reset", strerror(-rc));
			vtrans_needs_reset(b->t);
		}
		if (rc <= 0)
			break;
		r->features = b->features;
		b->nfree--;
		b->pend_idx[(b->pend_head + b->npend) % VBLK_SLOTS] = i;
		b->npend++;
		queued++;
	}
	pthread_mutex_unlock(&b->lock);
	for (unsigned w = 0; w < b->nio && w < queued; w++)
		b->host->worker_kick(b->io_worker[w]);
}

/*
 * The queue is not live any more (the transport saw to that): forget the
 * requests not started, wait for the running ones.  Their completions are
 * dropped, so the rings are ours to reset once this returns.
 */
static void quiesce(struct vblk *b)
{
	pthread_mutex_lock(&b->lock);
	b->quiescing = true;
	while (b->npend) {
		b->free_idx[b->nfree++] = b->pend_idx[b->pend_head];
		b->pend_head = (b->pend_head + 1) % VBLK_SLOTS;
		b->npend--;
	}
	while (b->running)
		pthread_cond_wait(&b->idle, &b->lock);
	b->quiescing = false;
	b->starved = false;
	pthread_mutex_unlock(&b->lock);
}

static void vblk_reset_cb(void *opaque)
{
	quiesce(opaque);
}

static void vblk_queue_stop(void *opaque, unsigned q)
{
	(void)q;
	quiesce(opaque);
}

static void vblk_driver_ok(void *opaque)
{
	struct vblk *b = opaque;

	pthread_mutex_lock(&b->lock);
	b->features = vtrans_features(b->t);
	pthread_mutex_unlock(&b->lock);
	/* Buffers made available before DRIVER_OK are served now. */
	b->host->worker_kick(b->queue_worker);
}

static int vblk_config_read(void *opaque, uint32_t offset, unsigned size, uint32_t *value)
{
	struct vblk *b = opaque;

	*value = (uint32_t)get_le(b->cfg + offset, size);
	return 0;
}

static int vblk_config_write(void *opaque, uint32_t offset, unsigned size, uint32_t value)
{
	(void)value;
	guest_error(opaque, "config space write of %u bytes at 0x%x: ignored", size, offset);
	return 0;
}

static const uint16_t vblk_qmax[1] = {VBLK_QUEUE_SIZE};

/* ---- creation --------------------------------------------------------------- */

/*
 * An exclusive lock on a writable image, a shared one on a read-only image:
 * two writers conflict, and so do a writer and a reader (the reader would
 * see the disk change under it); several readers may share.  OFD locks
 * (Linux) belong to the open file, so even two devices of one avmm conflict.
 */
static int image_lock(struct vblk *b, char *err, size_t errlen)
{
	const char *kind = b->readonly ? "shared" : "exclusive";
	long pid = -1;
	int e;

#if defined(F_OFD_SETLK)
	struct flock fl = {.l_type = b->readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(b->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	e = errno;
	if (e == EAGAIN || e == EACCES) {
		struct flock q = {.l_type = fl.l_type, .l_whence = SEEK_SET};

		/* An OFD holder reports pid -1; a classic POSIX lock's holder its pid. */
		if (fcntl(b->fd, F_OFD_GETLK, &q) == 0 && q.l_type != F_UNLCK && q.l_pid > 0)
			pid = q.l_pid;
	}
#else
	if (flock(b->fd, (b->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	e = errno;
#endif
	if (e == EAGAIN || e == EACCES || e == EWOULDBLOCK) {
		char who[32] = "";

		if (pid > 0)
			snprintf(who, sizeof(who), " (pid %ld)", pid);
		snprintf(err, errlen,
			 "virtio-blk: cannot take a %s lock on %s: is it in use by another "
			 "avmm%s?",
			 kind, b->path, who);
		return -EBUSY;
	}
	snprintf(err, errlen, "virtio-blk: cannot lock %s: %s", b->path, strerror(e));
	return -e;
}

/* Whether punching and zeroing ranges work here: probed past EOF, data untouched. */
static void probe_fs(struct vblk *b, uint64_t size)
{
#if defined(__linux__)
	/*
	 * KEEP_SIZE beyond the end changes no byte of the image (zeroing may
	 * preallocate a block past EOF); a file system without support says
	 * EOPNOTSUPP.
	 */
	b->punch = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)size,
			     SECTOR) == 0;
	b->zero_range = fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)size,
				  SECTOR) == 0;
#elif defined(__APPLE__) && defined(F_PUNCHHOLE)
	struct stat st;
	struct fpunchhole ph = {0};

	if (fstat(b->fd, &st) || st.st_blksize <= 0)
		return;
	ph.fp_offset = (off_t)((size + (uint64_t)st.st_blksize - 1) / st.st_blksize *
			       st.st_blksize);
	ph.fp_length = st.st_blksize;
	b->punch = fcntl(b->fd, F_PUNCHHOLE, &ph) == 0;
#else
	(void)b, (void)size;
#endif
}

static int read_keys(struct vblk *b, char *err, size_t errlen)
{
	const struct avmm_host *h = b->host;
	const char *s;
	int rc;

	rc = h->cfg_path(b->dev, "path", &b->path);
	if (rc == -ENOENT)
		return h->cfg_error(b->dev, "path", "missing: set path = the raw disk image");
	if (rc)
		return rc;
	rc = h->cfg_bool(b->dev, "readonly", &b->readonly);
	if (rc && rc != -ENOENT)
		return rc;
	rc = h->cfg_str(b->dev, "serial", &s);
	if (!rc) {
		if (strlen(s) > BLK_ID_BYTES)
			return h->cfg_error(b->dev, "serial",
					    "'%s' is %zu bytes long: at most %u fit the disk's id",
					    s, strlen(s), BLK_ID_BYTES);
		memcpy(b->serial, s, strlen(s)); /* zero-padded, no NUL at 20 (5.2.6) */
	} else if (rc != -ENOENT) {
		return rc;
	}
	rc = h->cfg_str(b->dev, "cache", &s);
	if (!rc) {
		if (!strcmp(s, "unsafe"))
			b->unsafe = true;
		else if (strcmp(s, "writeback"))
			return h->cfg_error(b->dev, "cache",
					    "unknown mode '%s': use writeback (the default) or "
					    "unsafe (never syncs)",
					    s);
	} else if (rc != -ENOENT) {
		return rc;
	}

	b->fd = open(b->path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		int e = errno;

		return h->cfg_error(b->dev, "path", "cannot open %s%s: %s%s", b->path,
				    b->readonly ? "" : " for writing", strerror(e),
				    e == EACCES || e == EROFS ? " (or set readonly = true)" : "");
	}
	struct stat st;
	if (fstat(b->fd, &st))
		return h->cfg_error(b->dev, "path", "cannot stat %s: %s", b->path,
				    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return h->cfg_error(b->dev, "path", "%s is not a regular file (a raw image)",
				    b->path);
	if (st.st_size % SECTOR)
		return h->cfg_error(b->dev, "path",
				    "%s is %lld bytes: not a multiple of the %u-byte sector", b->path,
				    (long long)st.st_size, SECTOR);
	b->capacity = (uint64_t)st.st_size / SECTOR;
	rc = image_lock(b, err, errlen);
	if (rc)
		return rc;
	if (!b->readonly)
		probe_fs(b, (uint64_t)st.st_size);

	uint64_t align = st.st_blksize >= (blksize_t)SECTOR ? (uint64_t)st.st_blksize / SECTOR : 1;
	put_le(b->cfg + CFG_CAPACITY, b->capacity, 8);
	put_le(b->cfg + CFG_SIZE_MAX, VBLK_SIZE_MAX, 4);
	put_le(b->cfg + CFG_SEG_MAX, VBLK_SEG_MAX, 4);
	put_le(b->cfg + CFG_BLK_SIZE, SECTOR, 4);
	put_le(b->cfg + CFG_MAX_DISCARD_SECTORS, VBLK_MAX_DWZ_SECTORS, 4);
	put_le(b->cfg + CFG_MAX_DISCARD_SEG, 1, 4);
	put_le(b->cfg + CFG_DISCARD_ALIGN, align, 4);
	put_le(b->cfg + CFG_MAX_WZ_SECTORS, VBLK_MAX_DWZ_SECTORS, 4);
	put_le(b->cfg + CFG_MAX_WZ_SEG, 1, 4);
	b->cfg[CFG_WZ_MAY_UNMAP] = b->punch;
	return 0;
}

static uint64_t offered_features(const struct vblk *b)
{
	uint64_t f = VQ_FEATURES | BLK_F_SIZE_MAX | BLK_F_SEG_MAX | BLK_F_BLK_SIZE;

	if (b->readonly)
		f |= BLK_F_RO;
	if (!b->unsafe)
		f |= BLK_F_FLUSH;
	if (!b->readonly && b->punch)
		f |= BLK_F_DISCARD;
	/* Zeroing by punching needs Linux's byte-granular punch. */
#if defined(__linux__)
	if (!b->readonly && (b->zero_range || b->punch))
		f |= BLK_F_WRITE_ZEROES;
#else
	if (!b->readonly && b->zero_range)
		f |= BLK_F_WRITE_ZEROES;
#endif
	return f;
}

static void vblk_free(struct vblk *b)
{
	/* The I/O workers first: none may run into what is freed below. */
	for (unsigned i = 0; i < b->nio; i++)
		b->host->worker_free(b->io_worker[i]);
	vtrans_destroy(b->t);
	if (b->fd >= 0)
		close(b->fd); /* drops the lock */
	free(b->path);
	free(b->req);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static int vblk_create(struct avmm_dev *dev, const struct avmm_host *host, void **state,
		       char *err, size_t errlen)
{
	struct vblk *b = calloc(1, sizeof(*b));
	int rc;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	b->host = host;
	b->dev = dev;
	b->fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->idle, NULL);
	b->req = calloc(VBLK_SLOTS, sizeof(*b->req));
	if (!b->req) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < VBLK_SLOTS; i++)
		b->free_idx[b->nfree++] = VBLK_SLOTS - 1 - i;
	rc = read_keys(b, err, errlen);
	if (rc)
		goto fail;

	for (; b->nio < VBLK_IO_WORKERS; b->nio++) {
		rc = host->worker_new(dev, io_worker_run, b, &b->io_worker[b->nio]);
		if (rc)
			break;
	}
	if (!rc)
		rc = host->worker_new(dev, queue_worker_run, b, &b->queue_worker);
	if (rc) {
		snprintf(err, errlen, "virtio-blk: cannot start its workers: %s", strerror(-rc));
		goto fail;
	}

	/* Static per instance: the offered set depends on the keys and the file system. */
	struct vtype_ops *ops = calloc(1, sizeof(*ops));
	if (!ops) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail_worker;
	}
	*ops = (struct vtype_ops){
		.device_id = VIRTIO_ID_BLOCK,
		.features = offered_features(b),
		.nr_queues = 1,
		.queue_num_max = vblk_qmax,
		.config_size = CFG_SIZE,
		.config_read = vblk_config_read,
		.config_write = vblk_config_write,
		.driver_ok = vblk_driver_ok,
		.reset = vblk_reset_cb,
		.queue_stop = vblk_queue_stop,
	};
	struct vtrans_config cfg = {.ops = ops, .opaque = b, .worker = b->queue_worker};
	rc = vtrans_create(dev, host, &cfg, &b->t, err, errlen);
	if (rc) {
		free(ops);
		goto fail_worker;
	}
	b->ops = ops;
	*state = b;
	return 0;

fail_worker:
	/* No doorbell names it yet (vtrans_create failed or was not reached). */
	host->worker_free(b->queue_worker);
fail:
	vblk_free(b);
	return rc;
}

static void vblk_destroy(void *state)
{
	struct vblk *b = state;

	/*
	 * The queue worker is the doorbell's: the core frees it after this
	 * (its doorbell is gone and every worker stopped before destroy()).
	 */
	struct vtype_ops *ops = b->ops;
	vblk_free(b);
	free(ops);
}

static int vblk_fdt_populate(void *state, void *fdt)
{
	return vtrans_fdt_populate(((struct vblk *)state)->t, fdt);
}

static void vblk_reset(void *state)
{
	vtrans_reset(((struct vblk *)state)->t);
}

const struct vdev_type vblk_type = {
	.name = "blk",
	.summary = "block device over a raw image",
	.create = vblk_create,
	.destroy = vblk_destroy,
	.fdt_populate = vblk_fdt_populate,
	.reset = vblk_reset,
};
