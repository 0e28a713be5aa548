/* Block back end: a raw image (regular file or block device) served by a
 * small pool of I/O threads, or by io_uring for reads, writes and flushes
 * (aio=io_uring; discard and write-zeroes stay on the threads).  The image is never probed for a
 * format (SECURITY.md "Host-side input"): it is bytes, nothing else.
 *
 * bhyve's options, as keys under a device node: path, ro, nocache
 * (O_DIRECT), direct (O_SYNC), nodelete (no discard / punch hole),
 * sectorsize=logical[/physical], and aio=threads|io_uring (a Linux
 * addition, QEMU's name for it). */
#ifndef BHYVE_BLOCK_BLOCKIF_H
#define BHYVE_BLOCK_BLOCKIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct config;
struct blockif;

#define BLOCKIF_IOV_MAX 256

enum blockif_op {
	BLOCKIF_READ,
	BLOCKIF_WRITE,
	BLOCKIF_FLUSH,	 /* fdatasync */
	BLOCKIF_DISCARD, /* punch a hole / BLKDISCARD */
	BLOCKIF_ZERO,	 /* zero a range / BLKZEROOUT */
};

struct blockif_req {
	enum blockif_op op;
	uint64_t offset; /* bytes */
	uint64_t len;	 /* bytes, for DISCARD and ZERO */
	int iovcnt;	 /* READ and WRITE: the buffers (consumed) */
	struct iovec iov[BLOCKIF_IOV_MAX];
	/* Called once, on an I/O thread (or inline when the pool has no
	 * threads), with 0 or a negative errno. */
	void (*done)(struct blockif_req *r, int err);
	struct blockif_req *next; /* private to the back end */
};

struct blockif_opts {
	const char *path;
	bool ro, nocache, direct, nodelete;
	unsigned sectsz, psectsz; /* 0: 512 / the logical size */
	int nthreads;		  /* 0: requests run inline in submit */
	bool uring;		  /* reads, writes and flushes through io_uring */
};

/* "threads" or "io_uring" into o->uring; -EINVAL otherwise. */
int blockif_parse_aio(const char *s, struct blockif_opts *o);

/* Fill opts from the keys under node (path, ro, nocache, direct, nodelete,
 * sectorsize); err gets the reason on -EINVAL. */
int blockif_parse_config(const struct config *cfg, const char *node, struct blockif_opts *o,
			 char *err, size_t errlen);
/* 0 or a negative errno (open, stat, an image smaller than a sector). */
int blockif_open(const struct blockif_opts *o, struct blockif **out);
/* Waits for queued requests, then joins the threads and closes. */
void blockif_close(struct blockif *b);
/* Queue a request; 0, or -EINVAL (bad op / iovcnt), -ESHUTDOWN. */
int blockif_submit(struct blockif *b, struct blockif_req *r);

uint64_t blockif_size(const struct blockif *b); /* bytes, whole sectors */
unsigned blockif_sectsz(const struct blockif *b);
unsigned blockif_psectsz(const struct blockif *b);
bool blockif_is_ro(const struct blockif *b);
bool blockif_can_delete(const struct blockif *b);
/* A stable identity of the image (device and inode), for serial numbers. */
uint64_t blockif_ident(const struct blockif *b);

#endif
