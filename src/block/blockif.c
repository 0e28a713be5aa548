/* Block back end over a raw image: preadv/pwritev/fdatasync/fallocate on a
 * small pool of threads, or (aio=io_uring) reads, writes and flushes as
 * io_uring requests reaped by one completion thread.  Front ends check
 * ranges against blockif_size(); this layer checks them again before
 * touching the file.
 *
 * The ring is created disabled and restricted to the four operations it is
 * for (IORING_REGISTER_RESTRICTIONS, Linux 5.10): io_uring requests do not
 * pass through the seccomp filters (sandbox.h), so without the restriction
 * the ring would be a way around them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "block/blockif.h"
#include "config.h"
#include "log.h"
#include "parse.h"
#include "sandbox.h"
#include "thread.h"

#define BLOCKIF_MAX_THREADS 8
#define ZERO_CHUNK	    ((size_t)64 * 1024)
#define URING_ENTRIES	    256
/* user_data of the NOP that stops the completion thread (requests are
 * pointers, never 1). */
#define URING_STOP ((uint64_t)1)

struct blockif {
	int fd;
	bool ro, nodelete, isblk;
	unsigned sectsz, psectsz;
	uint64_t size;
	uint64_t ident;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct blockif_req *head, *tail;
	bool stop;
	int nthreads;
	pthread_t threads[BLOCKIF_MAX_THREADS];

	/* aio=io_uring: the submission side under sq_lock (main and vCPU
	 * threads submit), the completion side on cq_thread. */
	bool uring, cq_started;
	struct io_uring ring;
	pthread_mutex_t sq_lock;
	pthread_cond_t idle;
	unsigned inflight;
	bool uring_stop;
	pthread_t cq_thread;
};

/* ---- Options ---- */

static bool pow2_in(unsigned long long v, unsigned lo, unsigned hi)
{
	return v >= lo && v <= hi && !(v & (v - 1));
}

/* "logical[/physical]", each a power of two in 512..32768 (bhyve(8)). */
static int parse_sectorsize(const char *s, struct blockif_opts *o)
{
	unsigned long long l, p;
	char buf[64], *slash;
	size_t len = strlen(s);

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (parse_uint(buf, 32768, &l) < 0 || !pow2_in(l, 512, 32768))
		return -EINVAL;
	p = l;
	if (slash && (parse_uint(slash, 32768, &p) < 0 || !pow2_in(p, 512, 32768) || p < l))
		return -EINVAL;
	o->sectsz = (unsigned)l;
	o->psectsz = (unsigned)p;
	return 0;
}

static int get_flag(const struct config *cfg, const char *node, const char *name, bool *out,
		    char *err, size_t errlen)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", node, name);
	if (config_get_bool(cfg, key, false, out) < 0) {
		snprintf(err, errlen, "%s: expected a boolean", name);
		return -EINVAL;
	}
	return 0;
}

int blockif_parse_aio(const char *s, struct blockif_opts *o)
{
	if (strcmp(s, "threads") == 0)
		o->uring = false;
	else if (strcmp(s, "io_uring") == 0)
		o->uring = true;
	else
		return -EINVAL;
	return 0;
}

int blockif_parse_config(const struct config *cfg, const char *node, struct blockif_opts *o,
			 char *err, size_t errlen)
{
	const char *ss;
	char key[128];
	int rc;

	memset(o, 0, sizeof(*o));
	snprintf(key, sizeof(key), "%s.path", node);
	o->path = config_get(cfg, key);
	if (!o->path || !*o->path) {
		snprintf(err, errlen, "no image path");
		return -EINVAL;
	}
	if ((rc = get_flag(cfg, node, "ro", &o->ro, err, errlen)) ||
	    (rc = get_flag(cfg, node, "nocache", &o->nocache, err, errlen)) ||
	    (rc = get_flag(cfg, node, "direct", &o->direct, err, errlen)) ||
	    (rc = get_flag(cfg, node, "nodelete", &o->nodelete, err, errlen)))
		return rc;
	snprintf(key, sizeof(key), "%s.aio", node);
	ss = config_get(cfg, key);
	if (ss && blockif_parse_aio(ss, o) < 0) {
		snprintf(err, errlen, "aio=%s: expected threads or io_uring", ss);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%s.sectorsize", node);
	ss = config_get(cfg, key);
	if (ss && parse_sectorsize(ss, o) < 0) {
		snprintf(err, errlen,
			 "sectorsize=%s: expected logical[/physical], powers of two "
			 "from 512 to 32768",
			 ss);
		return -EINVAL;
	}
	return 0;
}

/* ---- I/O ---- */

/* Drop n bytes from the front of the vector (after a short transfer). */
static void iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt > 0 && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

static uint64_t iov_total(const struct iovec *iov, int cnt)
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

static bool in_range(const struct blockif *b, uint64_t off, uint64_t len)
{
	return off <= b->size && len <= b->size - off;
}

static int do_rw(struct blockif *b, struct blockif_req *r)
{
	struct iovec *iov = r->iov;
	int cnt = r->iovcnt;
	uint64_t off = r->offset;
	bool wr = r->op == BLOCKIF_WRITE;

	if (!in_range(b, off, iov_total(iov, cnt)))
		return -EIO;
	if (wr && b->ro)
		return -EROFS;
	while (cnt > 0) {
		ssize_t n =
		    wr ? pwritev(b->fd, iov, cnt, (off_t)off) : preadv(b->fd, iov, cnt, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		/* The image shrank under us: an error, not a short read. */
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		iov_advance(&iov, &cnt, (size_t)n);
	}
	return 0;
}

static int write_zeroes(struct blockif *b, uint64_t off, uint64_t len)
{
	static const uint8_t zero[ZERO_CHUNK];

	while (len) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		ssize_t w = pwrite(b->fd, zero, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

static int do_delete(struct blockif *b, struct blockif_req *r)
{
	uint64_t range[2] = { r->offset, r->len };
	bool zero = r->op == BLOCKIF_ZERO;
	int rc;

	if (!in_range(b, r->offset, r->len))
		return -EIO;
	if (b->ro)
		return -EROFS;
	if (r->len == 0)
		return 0;
	if (b->isblk) {
		rc = ioctl(b->fd, zero ? BLKZEROOUT : BLKDISCARD, range);
		if (rc == 0)
			return 0;
		return zero ? write_zeroes(b, r->offset, r->len) : -errno;
	}
	if (zero) {
		if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)r->offset,
			      (off_t)r->len) == 0)
			return 0;
		/* Not every file system zeroes ranges: write them. */
		return write_zeroes(b, r->offset, r->len);
	}
	if (b->nodelete)
		return -EOPNOTSUPP;
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->offset,
		      (off_t)r->len) == 0)
		return 0;
	/* Discard is a hint (virtio 1.2 §5.2.6): nothing to undo. */
	return errno == EOPNOTSUPP ? 0 : -errno;
}

static int do_request(struct blockif *b, struct blockif_req *r)
{
	switch (r->op) {
	case BLOCKIF_READ:
	case BLOCKIF_WRITE:
		return do_rw(b, r);
	case BLOCKIF_FLUSH:
		if (b->ro)
			return 0;
		return fdatasync(b->fd) < 0 ? -errno : 0;
	case BLOCKIF_DISCARD:
	case BLOCKIF_ZERO:
		return do_delete(b, r);
	default:
		return -EINVAL;
	}
}

/* The I/O filter (sandbox.h).  A thread that cannot have it fails its
 * requests rather than touch the image unconfined. */
static int io_confine(void)
{
	int rc;

	pthread_setname_np(pthread_self(), "blk io");
	rc = sandbox_enter(SANDBOX_BLOCK_IO, "blk io");

	if (rc < 0)
		log_warnx("blk io: cannot confine the thread: %s", strerror(-rc));
	return rc;
}

static void *io_thread(void *arg)
{
	struct blockif *b = arg;
	struct blockif_req *r;
	int confined = io_confine();

	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (!b->head && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		r = b->head;
		if (!r)
			break; /* stopping and drained */
		b->head = r->next;
		if (!b->head)
			b->tail = NULL;
		pthread_mutex_unlock(&b->lock);
		r->done(r, confined < 0 ? -EIO : do_request(b, r));
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* ---- io_uring ---- */

/* With sq_lock held: queue r's operation on the ring and submit it. */
static int uring_queue(struct blockif *b, struct blockif_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	int rc;

	if (!sqe)
		return -EAGAIN;
	if (r->op == BLOCKIF_READ)
		io_uring_prep_readv(sqe, b->fd, r->iov, (unsigned)r->iovcnt, r->offset);
	else if (r->op == BLOCKIF_WRITE)
		io_uring_prep_writev(sqe, b->fd, r->iov, (unsigned)r->iovcnt, r->offset);
	else
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data(sqe, r);
	do
		rc = io_uring_submit(&b->ring);
	while (rc == -EINTR);
	if (rc >= 0 || rc == -EAGAIN || rc == -EBUSY)
		return 0; /* taken, or queued for the next submission */
	/* The entry cannot be taken back: make it a no-op nobody waits for
	 * and let the caller serve r another way. */
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 0);
	return rc;
}

/* 1 when r went to the ring, 0 when it should take the thread path (the
 * ring is full), or a negative errno with r already completed. */
static int uring_submit(struct blockif *b, struct blockif_req *r)
{
	int rc = 0;

	if (r->op == BLOCKIF_FLUSH && b->ro) {
		r->done(r, 0);
		return 1;
	}
	if (r->op != BLOCKIF_FLUSH) {
		if (!in_range(b, r->offset, iov_total(r->iov, r->iovcnt)))
			rc = -EIO;
		else if (r->op == BLOCKIF_WRITE && b->ro)
			rc = -EROFS;
		if (rc) {
			r->done(r, rc);
			return 1;
		}
	}
	pthread_mutex_lock(&b->sq_lock);
	if (b->uring_stop) {
		rc = -ESHUTDOWN;
	} else if (b->inflight >= URING_ENTRIES) {
		rc = 0; /* the completion queue has room for what is in flight only */
	} else {
		rc = uring_queue(b, r) == 0 ? 1 : 0;
		if (rc)
			b->inflight++;
	}
	pthread_mutex_unlock(&b->sq_lock);
	return rc;
}

/* Drop n bytes from the front of r's buffers, in place. */
static void req_advance(struct blockif_req *r, size_t n)
{
	struct iovec *iov = r->iov;
	int cnt = r->iovcnt;

	iov_advance(&iov, &cnt, n);
	memmove(r->iov, iov, (size_t)cnt * sizeof(*iov));
	r->iovcnt = cnt;
	r->offset += n;
}

/* A completion: done, or the rest of a short transfer queued again. */
static void uring_complete(struct blockif *b, struct blockif_req *r, int res)
{
	int err = res < 0 ? res : 0;

	if (res >= 0 && r->op != BLOCKIF_FLUSH && (uint64_t)res < iov_total(r->iov, r->iovcnt)) {
		if (res == 0) {
			err = -EIO; /* the image shrank under us, as do_rw() says */
		} else {
			req_advance(r, (size_t)res);
			pthread_mutex_lock(&b->sq_lock);
			err = uring_queue(b, r);
			pthread_mutex_unlock(&b->sq_lock);
			if (err == 0)
				return;
			err = do_rw(b, r); /* the ring would not take it: finish here */
		}
	}
	pthread_mutex_lock(&b->sq_lock);
	if (--b->inflight == 0)
		pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->sq_lock);
	r->done(r, err);
}

static void *uring_thread(void *arg)
{
	struct blockif *b = arg;
	int confined = io_confine();

	for (;;) {
		struct io_uring_cqe *cqe;
		uint64_t data;
		int rc = io_uring_wait_cqe(&b->ring, &cqe);
		int res;

		if (rc == -EINTR)
			continue;
		if (rc < 0) {
			log_warnx("blk io: io_uring: %s", strerror(-rc));
			break;
		}
		data = cqe->user_data;
		res = cqe->res;
		io_uring_cqe_seen(&b->ring, cqe);
		if (data == URING_STOP)
			break;
		if (data == 0)
			continue; /* a request turned into a no-op */
		uring_complete(b, (struct blockif_req *)(uintptr_t)data, confined < 0 ? -EIO : res);
	}
	return NULL;
}

/* A disabled ring, restricted to READV, WRITEV, FSYNC and NOP on this
 * image, then enabled: nothing else can ever be submitted to it. */
static int uring_start(struct blockif *b)
{
	static const uint8_t ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
				       IORING_OP_NOP };
	struct io_uring_restriction res[sizeof(ops)];
	size_t i;
	int rc;

	rc = io_uring_queue_init(URING_ENTRIES, &b->ring, IORING_SETUP_R_DISABLED);
	if (rc < 0)
		return rc;
	memset(res, 0, sizeof(res));
	for (i = 0; i < sizeof(ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	/* Raw io_uring_register(2): Debian's liburing 2.3 does not export its
	 * wrappers for these two. */
	rc = (int)syscall(__NR_io_uring_register, b->ring.ring_fd, IORING_REGISTER_RESTRICTIONS,
			  res, (unsigned)sizeof(ops));
	if (rc == 0)
		rc = (int)syscall(__NR_io_uring_register, b->ring.ring_fd,
				  IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	rc = rc < 0 ? -errno : 0;
	if (rc < 0) {
		io_uring_queue_exit(&b->ring);
		return rc;
	}
	b->uring = true;
	rc = thread_create(&b->cq_thread, uring_thread, b);
	if (rc)
		return -rc;
	b->cq_started = true;
	return 0;
}

/* Wait for what is in flight, then stop the completion thread. */
static void uring_stop(struct blockif *b)
{
	struct io_uring_sqe *sqe;

	pthread_mutex_lock(&b->sq_lock);
	b->uring_stop = true;
	while (b->inflight > 0 && b->cq_started)
		pthread_cond_wait(&b->idle, &b->sq_lock);
	sqe = b->cq_started ? io_uring_get_sqe(&b->ring) : NULL;
	if (sqe) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, URING_STOP);
		io_uring_submit(&b->ring);
	}
	pthread_mutex_unlock(&b->sq_lock);
	if (b->cq_started && sqe)
		pthread_join(b->cq_thread, NULL);
	io_uring_queue_exit(&b->ring);
}

int blockif_submit(struct blockif *b, struct blockif_req *r)
{
	if ((unsigned)r->op > BLOCKIF_ZERO || r->iovcnt < 0 || r->iovcnt > BLOCKIF_IOV_MAX)
		return -EINVAL;
	if (b->uring && r->op <= BLOCKIF_FLUSH) {
		int rc = uring_submit(b, r);

		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	if (b->nthreads == 0) {
		r->done(r, do_request(b, r));
		return 0;
	}
	r->next = NULL;
	pthread_mutex_lock(&b->lock);
	if (b->stop) {
		pthread_mutex_unlock(&b->lock);
		return -ESHUTDOWN;
	}
	if (b->tail)
		b->tail->next = r;
	else
		b->head = r;
	b->tail = r;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* ---- Open / close ---- */

static int image_size(struct blockif *b, const struct stat *st, uint64_t *size)
{
	if (S_ISBLK(st->st_mode)) {
		b->isblk = true;
		if (ioctl(b->fd, BLKGETSIZE64, size) < 0)
			return -errno;
		return 0;
	}
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	*size = (uint64_t)st->st_size;
	return 0;
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const uint8_t *s = p;

	while (n--)
		h = (h ^ *s++) * 0x100000001b3ull;
	return h;
}

static int open_image(struct blockif *b, const struct blockif_opts *o)
{
	int flags = O_CLOEXEC | (o->nocache ? O_DIRECT : 0) | (o->direct ? O_SYNC : 0);

	b->ro = o->ro;
	b->fd = open(o->path, flags | (b->ro ? O_RDONLY : O_RDWR));
	/* As bhyve: an image we may only read is served read-only. */
	if (b->fd < 0 && !b->ro && (errno == EROFS || errno == EACCES)) {
		b->ro = true;
		b->fd = open(o->path, flags | O_RDONLY);
	}
	return b->fd < 0 ? -errno : 0;
}

static int start_threads(struct blockif *b, int n)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		rc = thread_create(&b->threads[i], io_thread, b);
		if (rc)
			return -rc;
		b->nthreads++;
	}
	return 0;
}

int blockif_open(const struct blockif_opts *o, struct blockif **out)
{
	struct blockif *b;
	struct stat st;
	uint64_t size;
	int rc;

	if (!o->path || o->nthreads < 0 || o->nthreads > BLOCKIF_MAX_THREADS)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	pthread_mutex_init(&b->sq_lock, NULL);
	pthread_cond_init(&b->idle, NULL);
	b->fd = -1;
	b->sectsz = o->sectsz ? o->sectsz : 512;
	b->psectsz = o->psectsz ? o->psectsz : b->sectsz;
	b->nodelete = o->nodelete;
	rc = open_image(b, o);
	if (rc)
		goto fail;
	if (fstat(b->fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = image_size(b, &st, &size);
	if (rc)
		goto fail;
	b->size = size / b->sectsz * b->sectsz;
	if (b->size == 0) {
		rc = -EINVAL;
		goto fail;
	}
	b->ident = fnv1a(&st.st_ino, sizeof(st.st_ino),
			 fnv1a(&st.st_dev, sizeof(st.st_dev), 0xcbf29ce484222325ull));
	rc = start_threads(b, o->nthreads);
	if (rc)
		goto fail;
	if (o->uring) {
		rc = uring_start(b);
		if (rc)
			goto fail;
	}
	*out = b;
	return 0;
fail:
	blockif_close(b);
	return rc;
}

void blockif_close(struct blockif *b)
{
	int i;

	if (!b)
		return;
	if (b->uring)
		uring_stop(b);
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	for (i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i], NULL);
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->sq_lock);
	pthread_cond_destroy(&b->idle);
	free(b);
}

uint64_t blockif_size(const struct blockif *b)
{
	return b->size;
}

unsigned blockif_sectsz(const struct blockif *b)
{
	return b->sectsz;
}

unsigned blockif_psectsz(const struct blockif *b)
{
	return b->psectsz;
}

bool blockif_is_ro(const struct blockif *b)
{
	return b->ro;
}

bool blockif_can_delete(const struct blockif *b)
{
	return !b->ro && !b->nodelete;
}

uint64_t blockif_ident(const struct blockif *b)
{
	return b->ident;
}
