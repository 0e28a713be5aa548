/* libFuzzer target: virtio-net's request parsers (SECURITY.md "Descriptor
 * chains", "Ring indices", "Device headers", "Exhaustion").
 *
 * Guest RAM is an exact 64 KiB malloc (AddressSanitizer sees any byte
 * outside it) holding the receive, transmit and control rings; the input
 * is a program of one-byte opcodes that writes rings, descriptors and
 * buffers, kicks queues, hands the device frames from a fake back end (any
 * header, any length up to past the largest), resets it, reads and writes
 * its configuration and changes the negotiated features.  It also feeds
 * the option parsers (MAC, MTU, hostfwd) with input strings.
 *
 * Checks: every frame the device passes to the back end is at least an
 * Ethernet header and at most NETBE_MAX_FRAME long, and its virtio-net
 * header passes vnet_check_tx_hdr() for the features in force; each frame
 * taken from the back end is counted once at most; the back end's offloads
 * stay within what it has; the device is not watching the back end after
 * a reset until a receive kick; parsers accept only what they document. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "gmem.h"
#include "net/netbe.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"

#define RAM_GPA	 0x10000ull
#define RAM_SIZE 0x10000u
#define QSTRIDE	 0x1000u /* each queue's rings in their own 4 KiB */
#define DATA_OFF 0x3000u

struct fzbe {
	struct netbe be;
	uint64_t feat; /* negotiated, for the checks */
	const uint8_t *frame;
	size_t frame_len;
	bool have_frame;
	int recv_err;
	unsigned offload;
	uint64_t nread; /* frames the device took */
	uint8_t sink;
};

static uint8_t big[NETBE_HDR_LEN + NETBE_MAX_FRAME + 64];

static ssize_t fz_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	struct fzbe *f = (struct fzbe *)be;
	uint8_t hdr[VIRTIO_NET_HDR_LEN];
	size_t len = 0, got = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	FZ_CHECK(len >= be->hdr_len + NETBE_MIN_FRAME);
	FZ_CHECK(len <= be->hdr_len + NETBE_MAX_FRAME);
	if (be->hdr_len) {
		/* The header may span iovecs only if the device split it. */
		for (i = 0; i < iovcnt && got < VIRTIO_NET_HDR_LEN; i++) {
			size_t n = iov[i].iov_len;

			if (n > VIRTIO_NET_HDR_LEN - got)
				n = VIRTIO_NET_HDR_LEN - got;
			memcpy(hdr + got, iov[i].iov_base, n);
			got += n;
		}
		FZ_CHECK(vnet_check_tx_hdr(hdr, (uint32_t)(len - be->hdr_len), f->feat) == 0);
	}
	/* Touch both ends of every piece: ASan checks the device's pointers. */
	for (i = 0; i < iovcnt; i++) {
		const volatile uint8_t *b = iov[i].iov_base;

		if (iov[i].iov_len)
			f->sink += b[0] + b[iov[i].iov_len - 1];
	}
	return (ssize_t)len;
}

static ssize_t fz_recv(struct netbe *be, void *buf, size_t len)
{
	struct fzbe *f = (struct fzbe *)be;

	if (!f->have_frame)
		return f->recv_err ? f->recv_err : -EAGAIN;
	f->have_frame = false;
	f->nread++;
	memcpy(buf, f->frame, f->frame_len < len ? f->frame_len : len);
	return (ssize_t)f->frame_len;
}

static int fz_set_offload(struct netbe *be, unsigned off)
{
	FZ_CHECK(!(off & ~be->offloads));
	((struct fzbe *)be)->offload = off;
	return 0;
}

static void fz_close(struct netbe *be)
{
	(void)be;
}

static const struct netbe_ops fz_ops = {
	.name = "fuzz",
	.send = fz_send,
	.recv = fz_recv,
	.set_offload = fz_set_offload,
	.close = fz_close,
};

struct world {
	struct gmem mem;
	uint8_t *ram;
	struct virtqueue vq[VNET_NQUEUES];
	uint16_t avail_idx[VNET_NQUEUES];
	struct fzbe fb;
	struct vnet *sc;
	uint64_t feat;
};

static uint64_t w_negotiated(void *arg)
{
	return ((struct world *)arg)->feat;
}

static void w_irq(void *arg, int q)
{
	FZ_CHECK(q >= 0 && q < VNET_NQUEUES);
	(void)arg;
}

static void w_broken(void *arg)
{
	(void)arg;
}

static void queue_setup(struct world *w, int q, uint16_t size)
{
	struct virtqueue *vq = &w->vq[q];
	uint64_t base = RAM_GPA + (uint64_t)q * QSTRIDE;

	vq_reset(vq);
	vq->size = size;
	vq->desc_gpa = base;
	vq->avail_gpa = base + 0x400;
	vq->used_gpa = base + 0x800;
	vq->indirect = w->feat & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	vq->event_idx = w->feat & (1ull << VIRTIO_RING_F_EVENT_IDX);
	w->avail_idx[q] = 0;
	memset(w->ram + (size_t)q * QSTRIDE, 0, QSTRIDE);
	vq_enable(vq);
}

static void put16(struct world *w, uint64_t off, uint16_t v)
{
	w->ram[off] = (uint8_t)v;
	w->ram[off + 1] = (uint8_t)(v >> 8);
}

/* A descriptor whose buffer usually lies in the data area. */
static void op_desc(struct world *w, struct fz *f)
{
	int q = fz_u8(f) % VNET_NQUEUES;
	unsigned i = fz_u8(f) % w->vq[q].size;
	uint8_t kind = fz_u8(f);
	uint64_t addr;
	uint32_t len;
	uint16_t flags = fz_u8(f) & 7, next = fz_u8(f);
	uint8_t *p = w->ram + (size_t)q * QSTRIDE + 16u * i;

	if (kind & 0x80) {
		addr = fz_u64(f);
		len = fz_u32(f);
	} else {
		addr = RAM_GPA + DATA_OFF + fz_u16(f) % (RAM_SIZE - DATA_OFF);
		len = fz_u16(f) % 0x2000;
	}
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void op_offer(struct world *w, struct fz *f)
{
	int q = fz_u8(f) % VNET_NQUEUES;
	uint16_t head = fz_u8(f);
	uint64_t base = (uint64_t)q * QSTRIDE + 0x400;

	put16(w, base + 4 + 2u * (w->avail_idx[q] % w->vq[q].size), head);
	w->avail_idx[q]++;
	/* Sometimes an index that runs ahead. */
	if (fz_u8(f) == 0xa5)
		w->avail_idx[q] += fz_u16(f);
	put16(w, base + 2, w->avail_idx[q]);
}

/* Each frame the device took is delivered, dropped for one reason, still
 * waiting, or forgotten by a reset: never counted twice. */
static void check_rx_counts(struct world *w)
{
	struct vnet_stats st;

	vnet_get_stats(w->sc, &st);
	FZ_CHECK(st.rx_frames + st.rx_too_big + st.rx_bad + st.rx_filtered <= w->fb.nread);
	FZ_CHECK(st.rx_bytes <= st.rx_frames * NETBE_MAX_FRAME);
}

static void op_frame(struct world *w, struct fz *f)
{
	uint8_t how = fz_u8(f);
	const uint8_t *p;
	size_t n;

	if (how == 0xff) {
		/* A frame past the largest one: filled, addressed to us. */
		n = sizeof(big) - (fz_u8(f) & 63);
		memset(big, 0x11, n);
		memset(big, 0, w->fb.be.hdr_len);
		memset(big + w->fb.be.hdr_len, 0xff, 6);
		w->fb.frame = big;
		w->fb.frame_len = n;
	} else {
		n = fz_take(f, fz_u16(f) % 2048, &p);
		w->fb.frame = p;
		w->fb.frame_len = n;
	}
	w->fb.have_frame = true;
	if (w->fb.be.rx_cb && (how & 1))
		w->fb.be.rx_cb(w->fb.be.rx_arg);
	w->fb.have_frame = false;
}

static void op_reset(struct world *w, struct fz *f)
{
	int q;

	vnet_reset(w->sc);
	FZ_CHECK(!w->fb.be.rx_on);
	FZ_CHECK(w->fb.offload == 0);
	w->feat = fz_u64(f) & (vnet_features(w->sc) | (1ull << VIRTIO_F_VERSION_1));
	w->fb.feat = w->feat;
	for (q = 0; q < VNET_NQUEUES; q++)
		queue_setup(w, q, (uint16_t)(1u << (fz_u8(f) % 6)));
	/* Nothing watched until the driver kicks the receive queue. */
	if (w->fb.be.rx_cb)
		w->fb.be.rx_cb(w->fb.be.rx_arg);
	FZ_CHECK(!w->fb.be.rx_on);
}

static void op_parsers(struct fz *f)
{
	struct netbe_hostfwd r[4];
	const uint8_t *p;
	char s[96], err[256];
	uint8_t mac[6];
	unsigned mtu;
	size_t n = fz_take(f, fz_u8(f) % sizeof(s), &p);
	int rc, i;

	memcpy(s, p, n);
	s[n] = '\0';
	if (netbe_parse_mac(s, mac) == 0)
		FZ_CHECK(!(mac[0] & 1));
	if (netbe_parse_mtu(s, &mtu) == 0)
		FZ_CHECK(mtu >= NETBE_MTU_MIN && mtu <= NETBE_MTU_MAX);
	rc = netbe_parse_hostfwd(s, r, 4, err, sizeof(err));
	FZ_CHECK(rc <= 4);
	for (i = 0; i < rc; i++)
		FZ_CHECK(r[i].host_port && r[i].guest_port);
	if (rc < 0)
		FZ_CHECK(strlen(err) > 0);
}

static void run(struct world *w, struct fz *f)
{
	int steps = 0;

	while (fz_more(f) && steps++ < 256) {
		uint8_t op = fz_u8(f);

		switch (op % 10) {
		case 0: {
			uint16_t off = fz_u16(f) % RAM_SIZE;
			const uint8_t *p;
			size_t n = fz_take(f, fz_u8(f) % 64, &p);

			if (n > RAM_SIZE - off)
				n = RAM_SIZE - off;
			memcpy(w->ram + off, p, n);
			break;
		}
		case 1:
			op_desc(w, f);
			break;
		case 2:
			op_offer(w, f);
			break;
		case 3:
			vnet_notify(w->sc, fz_u8(f) % (VNET_NQUEUES + 1));
			check_rx_counts(w);
			break;
		case 4:
			op_frame(w, f);
			check_rx_counts(w);
			break;
		case 5:
			op_reset(w, f);
			break;
		case 6: {
			uint32_t off = fz_u8(f) % 16;
			int size = fz_width(f);

			if (op & 0x80)
				vnet_cfgwrite(w->sc, off, size, fz_u32(f));
			else
				vnet_cfgread(w->sc, off, size);
			break;
		}
		case 7:
			/* A driver changing its mind without a reset (legacy). */
			w->feat = fz_u64(f) & (vnet_features(w->sc) | (1ull << VIRTIO_F_VERSION_1));
			w->fb.feat = w->feat;
			break;
		case 8:
			w->fb.recv_err = (op & 0x80) ? -EIO : 0;
			break;
		default:
			op_parsers(f);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned offl[4] = {
		0, NETBE_OFF_CSUM, NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6,
		NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6 | NETBE_OFF_ECN,
	};
	static const unsigned hdrs[4] = { 0, 10, 12, 12 };
	static const uint8_t mac[6] = { 0x58, 0x9c, 0xfc, 1, 2, 3 };
	struct fz f = { data, size };
	struct vnet_hooks h;
	struct world *w;
	uint8_t cfg;
	int q;

	if (size < 2)
		return 0;
	w = calloc(1, sizeof(*w));
	w->ram = malloc(RAM_SIZE);
	memset(w->ram, 0, RAM_SIZE);
	gmem_add_region(&w->mem, RAM_GPA, RAM_SIZE, w->ram);
	cfg = fz_u8(&f);
	netbe_init(&w->fb.be, &fz_ops);
	w->fb.be.hdr_len = hdrs[cfg & 3];
	w->fb.be.offloads = w->fb.be.hdr_len ? offl[(cfg >> 2) & 3] : 0;
	h = (struct vnet_hooks){ w_irq, w_broken, w_negotiated, w };
	if (vnet_new((cfg & 0x80) ? NULL : &w->fb.be, mac, (cfg & 0x40) ? 9000 : 0, &h, &w->sc))
		abort();
	w->feat = fz_u64(&f) & (vnet_features(w->sc) | (1ull << VIRTIO_F_VERSION_1));
	w->fb.feat = w->feat;
	for (q = 0; q < VNET_NQUEUES; q++) {
		vq_init(&w->vq[q], &w->mem);
		queue_setup(w, q, (uint16_t)(1u << (fz_u8(&f) % 6)));
	}
	vnet_set_queues(w->sc, &w->vq[VNET_Q_RX], &w->vq[VNET_Q_TX], &w->vq[VNET_Q_CTRL]);
	run(w, &f);
	if (getenv("FUZZ_VERBOSE")) {
		struct vnet_stats st;

		vnet_get_stats(w->sc, &st);
		fprintf(stderr,
			"rx %llu (filtered %llu, too big %llu, bad %llu), tx %llu (bad %llu), "
			"ctrl ok %llu err %llu\n",
			(unsigned long long)st.rx_frames, (unsigned long long)st.rx_filtered,
			(unsigned long long)st.rx_too_big, (unsigned long long)st.rx_bad,
			(unsigned long long)st.tx_frames, (unsigned long long)st.tx_bad,
			(unsigned long long)st.ctrl_ok, (unsigned long long)st.ctrl_err);
	}
	vnet_free(w->sc);
	for (q = 0; q < VNET_NQUEUES; q++)
		vq_destroy(&w->vq[q]);
	free(w->ram);
	free(w);
	return 0;
}
