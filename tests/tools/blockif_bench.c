/* Host-side benchmark of the block back end (src/block/blockif.c) on its own,
 * no guest: keeps QD requests in flight against an image for a few seconds
 * and prints requests per second and MB/s.  Completions come back to the
 * submitting thread through an eventfd, which resubmits them: the shape of
 * virtio-blk's path (completion, interrupt, the guest's next kick), without
 * the guest.  Used to choose between the back end's engines (aio=).
 *
 * Usage: blockif_bench IMAGE randread|seqread|seqwrite QD SECONDS [threads|io_uring]
 *   randread: 4 KiB at random 4 KiB-aligned offsets; seq*: 1 MiB in order. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "block/blockif.h"

struct bench_req {
	struct blockif_req r; /* first: done() gets it back */
	struct bench_req *next_done;
	void *buf;
	size_t len;
};

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bench_req *done_list;
static int done_fd;
static int failures;

static void on_done(struct blockif_req *r, int err)
{
	struct bench_req *b = (struct bench_req *)r;
	uint64_t one = 1;

	pthread_mutex_lock(&done_lock);
	if (err)
		failures++;
	b->next_done = done_list;
	done_list = b;
	pthread_mutex_unlock(&done_lock);
	if (write(done_fd, &one, sizeof(one)) < 0)
		failures++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

int main(int argc, char **argv)
{
	struct blockif_opts o = { .nthreads = 4 };
	struct blockif *bi;
	struct bench_req *reqs;
	uint64_t size, seq = 0, ndone = 0, bytes = 0;
	int qd, i, rc, inflight = 0;
	double secs, t0, t;
	bool rnd, wr;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s IMAGE randread|seqread|seqwrite QD SECONDS "
				"[threads|io_uring]\n", argv[0]);
		return 64;
	}
	o.path = argv[1];
	rnd = strcmp(argv[2], "randread") == 0;
	wr = strcmp(argv[2], "seqwrite") == 0;
	qd = atoi(argv[3]);
	secs = atof(argv[4]);
	if (argc == 6 && blockif_parse_aio(argv[5], &o) < 0) {
		fprintf(stderr, "unknown engine %s\n", argv[5]);
		return 64;
	}
	if (qd < 1 || qd > 256 || secs <= 0)
		return 64;
	rc = blockif_open(&o, &bi);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", o.path, strerror(-rc));
		return 1;
	}
	size = blockif_size(bi);
	done_fd = eventfd(0, EFD_CLOEXEC);
	reqs = calloc((size_t)qd, sizeof(*reqs));
	if (done_fd < 0 || !reqs)
		return 1;
	t0 = now();
	for (i = 0; i < qd; i++) {
		struct bench_req *b = &reqs[i];

		b->len = rnd ? 4096 : 1 << 20;
		if (posix_memalign(&b->buf, 4096, b->len))
			return 1;
		memset(b->buf, i, b->len);
		b->next_done = done_list;
		done_list = b;
	}
	for (;;) {
		struct bench_req *list, *b, *next;
		uint64_t n;

		pthread_mutex_lock(&done_lock);
		list = done_list;
		done_list = NULL;
		pthread_mutex_unlock(&done_lock);
		t = now();
		/* next first: once resubmitted, b may complete at once. */
		for (b = list; b; b = next) {
			next = b->next_done;
			if (b->r.done) {
				ndone++;
				inflight--;
				bytes += b->len;
			}
			if (t - t0 >= secs)
				continue;
			memset(&b->r, 0, sizeof(b->r));
			b->r.op = wr ? BLOCKIF_WRITE : BLOCKIF_READ;
			b->r.offset = rnd ? (rng() % (size / 4096)) * 4096
					  : (seq++ * b->len) % (size - size % b->len);
			b->r.iovcnt = 1;
			b->r.iov[0].iov_base = b->buf;
			b->r.iov[0].iov_len = b->len;
			b->r.done = on_done;
			if (blockif_submit(bi, &b->r) < 0)
				return 1;
			inflight++;
		}
		if (t - t0 >= secs && inflight == 0) {
			blockif_close(bi);
			break;
		}
		if (read(done_fd, &n, sizeof(n)) < 0 && errno != EINTR)
			return 1;
	}
	t = now() - t0;
	printf("%s %s qd=%d engine=%s: %.0f req/s, %.1f MB/s, %d failed\n", argv[2], o.path, qd,
	       argc == 6 ? argv[5] : "threads", (double)ndone / t, (double)bytes / t / 1e6,
	       failures);
	return failures ? 1 : 0;
}
