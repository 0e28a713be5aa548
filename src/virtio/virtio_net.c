/* virtio-net, virtio 1.2 §5.1, over a network back end (src/net).
 *
 * Queues (§5.1.2): 0 receive, 1 transmit, 2 control.
 *
 * Receive: the back end's fd is watched by the main loop (netbe.h).  Each
 * frame is read into a bounce buffer, checked (length, offloads the guest
 * accepted, the MAC filter) and copied into the guest's buffers, behind a
 * virtio-net header.  With MRG_RXBUF a frame spreads over as many buffers as
 * it needs (num_buffers, §5.1.6.4); otherwise it must fit one chain, or is
 * dropped and counted.  When the guest has no buffers left the frame waits,
 * half-copied if need be, and the fd is no longer watched: the guest's next
 * receive kick resumes.  Nothing is lost and nothing spins.
 *
 * Transmit: every chain available at a kick is sent, then one interrupt
 * check for the batch.  The frame goes to the back end straight from guest
 * memory; only the header is copied, checked against the features the
 * guest accepted, and converted to the back end's header size.
 *
 * The virtio-net header is 12 bytes when VERSION_1 or MRG_RXBUF is
 * negotiated, 10 otherwise (§5.1.6 and its legacy note).  Offloads are
 * offered only when the back end passes a header and takes them; what the
 * back end may hand the guest always follows what the guest accepted.
 *
 * Locking: rx_mtx covers receive, the control queue, the filter and the
 * MAC; tx_mtx covers transmit.  Notifications arrive with the transport's
 * lock held (vCPU threads or the main loop), the back end's callback on the
 * main loop, which never takes the transport's lock.  Order: rx_mtx, then
 * tx_mtx. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "config.h"
#include "le.h"
#include "log.h"
#include "net/netbe.h"
#include "pci/pci_emul.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"

/* Frames handled per receive callback before the loop serves others. */
#define RX_BUDGET 64

#define GUEST_OFFLOAD_MASK                                                                         \
	((1ull << VIRTIO_NET_F_GUEST_CSUM) | (1ull << VIRTIO_NET_F_GUEST_TSO4) |                   \
	 (1ull << VIRTIO_NET_F_GUEST_TSO6) | (1ull << VIRTIO_NET_F_GUEST_ECN) |                    \
	 (1ull << VIRTIO_NET_F_GUEST_UFO))

struct vnet_filter {
	bool promisc, allmulti;
	bool uc_all, mc_all; /* the driver's table overflowed ours */
	int nuc, nmc;
	uint8_t uc[VNET_MAC_TABLE][6];
	uint8_t mc[VNET_MAC_TABLE][6];
};

struct vnet_held {
	uint16_t head;
	uint32_t len;
};

struct vnet {
	struct netbe *be;
	struct vnet_hooks h;
	uint64_t features; /* offered */
	unsigned mtu;
	uint8_t mac_orig[6];
	struct virtqueue *vq[VNET_NQUEUES];

	pthread_mutex_t rx_mtx;
	uint8_t mac[6];
	struct vnet_filter filter;
	uint64_t rx_feat;   /* negotiated features last applied; ~0: none */
	uint64_t guest_off; /* GUEST_* offloads in force */
	bool rx_stopped;    /* reset: wait for the driver's receive kick */
	bool rx_dead;	    /* the back end failed: stop reading */
	int rx_err;	    /* its errno then */
	uint8_t *rxbuf;	    /* one frame, back-end header included */
	uint32_t rx_len;    /* bytes in rxbuf; 0: none waits */
	/* A chain taken but not used (too small for the last frame). */
	bool rx_spare;
	struct vq_chain rx_chain;
	/* The frame in rxbuf, part copied (MRG_RXBUF). */
	bool rx_hdr_done;
	uint32_t rx_off; /* payload bytes copied */
	int nheld;
	struct vnet_held held[VQ_MAX_SIZE];
	uint8_t *num_buffers[2];
	struct vq_chain ctrl_chain;

	pthread_mutex_t tx_mtx;
	struct vq_chain tx_chain;
	uint8_t tx_hdr[NETBE_HDR_LEN];
	struct iovec tx_iov[VQ_MAX_SEGS + 1];

	struct vnet_stats st; /* rx_* and ctrl_* under rx_mtx, tx_* under tx_mtx */

	/* PCI glue */
	struct virtio_pci *vp;
	struct virtio_dev_ops ops;
};

static bool has(uint64_t feat, int bit)
{
	return feat & (1ull << bit);
}

static unsigned guest_hdr_len(uint64_t feat)
{
	return has(feat, VIRTIO_F_VERSION_1) || has(feat, VIRTIO_NET_F_MRG_RXBUF)
		   ? VIRTIO_NET_HDR_MRG_LEN
		   : VIRTIO_NET_HDR_LEN;
}

static uint64_t negotiated(struct vnet *sc)
{
	return sc->h.negotiated ? sc->h.negotiated(sc->h.arg) : 0;
}

static void raise_irq(struct vnet *sc, int q)
{
	if (vq_need_interrupt(sc->vq[q]) && sc->h.irq)
		sc->h.irq(sc->h.arg, q);
}

static void set_broken(struct vnet *sc)
{
	if (sc->h.broken)
		sc->h.broken(sc->h.arg);
}

/* ---- Chains ---- */

/* Copy len bytes into the writable bytes of c from byte off on; returns
 * the bytes copied (never beyond the chain). */
static uint32_t chain_put(const struct vq_chain *c, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *p = src;
	uint32_t done = 0;
	int i;

	for (i = 0; i < c->nseg && done < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint32_t n;

		if (!s->writable)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)s->base + off, p + done, n);
		done += n;
		off = 0;
	}
	return done;
}

/* Host address of writable byte off of c, or NULL. */
static uint8_t *chain_wbyte(const struct vq_chain *c, uint32_t off)
{
	int i;

	for (i = 0; i < c->nseg; i++) {
		const struct vq_seg *s = &c->seg[i];

		if (!s->writable)
			continue;
		if (off < s->len)
			return (uint8_t *)s->base + off;
		off -= s->len;
	}
	return NULL;
}

/* ---- Receive filter (§5.1.6.5.1, 5.1.6.5.2) ---- */

static void filter_reset(struct vnet_filter *f)
{
	memset(f, 0, sizeof(*f));
	/* Until the driver sets a mode, everything is received. */
	f->promisc = true;
}

static bool in_table(const uint8_t (*t)[6], int n, const uint8_t *a)
{
	int i;

	for (i = 0; i < n; i++)
		if (memcmp(t[i], a, 6) == 0)
			return true;
	return false;
}

static bool filter_pass(const struct vnet *sc, const uint8_t *dst)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct vnet_filter *f = &sc->filter;

	if (f->promisc || memcmp(dst, bcast, 6) == 0)
		return true;
	if (dst[0] & 1)
		return f->allmulti || f->mc_all || in_table(f->mc, f->nmc, dst);
	return memcmp(dst, sc->mac, 6) == 0 || f->uc_all || in_table(f->uc, f->nuc, dst);
}

/* ---- Features in force ---- */

static unsigned to_netbe_off(uint64_t g)
{
	unsigned off = 0;

	if (has(g, VIRTIO_NET_F_GUEST_CSUM))
		off |= NETBE_OFF_CSUM;
	if (has(g, VIRTIO_NET_F_GUEST_TSO4))
		off |= NETBE_OFF_TSO4;
	if (has(g, VIRTIO_NET_F_GUEST_TSO6))
		off |= NETBE_OFF_TSO6;
	if (has(g, VIRTIO_NET_F_GUEST_ECN))
		off |= NETBE_OFF_ECN;
	return off;
}

/* The back end hands the guest only what it accepted. */
static void apply_guest_offloads(struct vnet *sc, uint64_t g)
{
	sc->guest_off = g;
	if (sc->be && sc->be->offloads &&
	    netbe_set_offload(sc->be, to_netbe_off(g) & sc->be->offloads) < 0)
		log_debug("virtio-net: cannot set the back end's offloads");
}

static void rx_apply_features(struct vnet *sc)
{
	uint64_t feat = negotiated(sc);

	if (feat == sc->rx_feat)
		return;
	sc->rx_feat = feat;
	apply_guest_offloads(sc, feat & GUEST_OFFLOAD_MASK);
}

/* ---- Receive ---- */

/* A back-end frame the guest may have: header fields it accepted, a
 * sensible length, an address it listens to.  Clears the flags a guest
 * without GUEST_CSUM must not see. */
static bool rx_accept(struct vnet *sc)
{
	unsigned bh = sc->be->hdr_len;
	uint8_t *hdr = sc->rxbuf;
	uint64_t g = sc->guest_off;
	uint8_t gso;

	if (sc->rx_len < bh + NETBE_MIN_FRAME) {
		sc->st.rx_bad++;
		return false;
	}
	if (sc->rx_len > bh + NETBE_MAX_FRAME) {
		sc->st.rx_too_big++;
		return false;
	}
	if (bh) {
		gso = hdr[1];
		if ((hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !has(g, VIRTIO_NET_F_GUEST_CSUM))
			goto bad;
		if (!has(g, VIRTIO_NET_F_GUEST_CSUM))
			hdr[0] = 0;
		if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !has(g, VIRTIO_NET_F_GUEST_ECN))
			goto bad;
		switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
		case VIRTIO_NET_HDR_GSO_NONE:
			break;
		case VIRTIO_NET_HDR_GSO_TCPV4:
			if (!has(g, VIRTIO_NET_F_GUEST_TSO4))
				goto bad;
			break;
		case VIRTIO_NET_HDR_GSO_TCPV6:
			if (!has(g, VIRTIO_NET_F_GUEST_TSO6))
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (!filter_pass(sc, sc->rxbuf + bh)) {
		sc->st.rx_filtered++;
		return false;
	}
	return true;
bad:
	sc->st.rx_bad++;
	return false;
}

/* Read the next frame into rxbuf: 1 one is there (or was dropped), 0 none
 * waits, -EIO the back end failed. */
static int rx_fetch(struct vnet *sc)
{
	size_t cap = sc->be->hdr_len + NETBE_MAX_FRAME + 1;
	ssize_t n = netbe_recv(sc->be, sc->rxbuf, cap);

	if (n == -EAGAIN)
		return 0;
	if (n < 0) {
		sc->st.rx_errors++;
		sc->rx_err = (int)-n;
		return -EIO;
	}
	/* Longer than cap: cut, and rx_accept() drops it as too big. */
	sc->rx_len = (uint32_t)((size_t)n > cap ? cap : (size_t)n);
	if (!rx_accept(sc))
		sc->rx_len = 0;
	return 1;
}

static void rx_drop_frame(struct vnet *sc)
{
	sc->rx_len = 0;
	sc->rx_hdr_done = false;
	sc->rx_off = 0;
	sc->nheld = 0;
}

/* The guest's view of the frame's header (num_buffers filled later). */
static void rx_guest_hdr(const struct vnet *sc, uint8_t hdr[VIRTIO_NET_HDR_MRG_LEN])
{
	memset(hdr, 0, VIRTIO_NET_HDR_MRG_LEN);
	if (sc->be->hdr_len >= VIRTIO_NET_HDR_LEN)
		memcpy(hdr, sc->rxbuf, VIRTIO_NET_HDR_LEN);
}

/* The spare chain, else the next available one: 1, 0 none, -EIO. */
static int rx_take_chain(struct vnet *sc, struct virtqueue *vq)
{
	int rc;

	if (sc->rx_spare) {
		sc->rx_spare = false;
		return 1;
	}
	for (;;) {
		rc = vq_pop(vq, &sc->rx_chain);
		if (rc != 0)
			return rc == -EIO ? -EIO : rc > 0;
		/* Publish avail_event and look once more (§2.7.10). */
		if (!vq_done_popping(vq))
			return 0;
	}
}

static void rx_count(struct vnet *sc, uint32_t plen)
{
	sc->st.rx_frames++;
	sc->st.rx_bytes += plen;
}

/* Without MRG_RXBUF: the frame in one chain.  1 done (or dropped), 0 no
 * buffer, -EIO. */
static int rx_one_chain(struct vnet *sc, struct virtqueue *vq, unsigned ghl, bool *pushed)
{
	struct vq_chain *c = &sc->rx_chain;
	uint32_t bh = sc->be->hdr_len, plen = sc->rx_len - bh;
	uint8_t hdr[VIRTIO_NET_HDR_MRG_LEN];
	int rc = rx_take_chain(sc, vq);

	if (rc <= 0)
		return rc;
	if ((uint64_t)ghl + plen > c->nwrite) {
		/* Keep the chain for a smaller frame. */
		sc->rx_spare = true;
		sc->st.rx_too_big++;
		rx_drop_frame(sc);
		return 1;
	}
	rx_guest_hdr(sc, hdr);
	hdr[10] = 1; /* num_buffers, when the header has it */
	chain_put(c, 0, hdr, ghl);
	chain_put(c, ghl, sc->rxbuf + bh, plen);
	vq_push(vq, c->head, ghl + plen);
	*pushed = true;
	rx_count(sc, plen);
	rx_drop_frame(sc);
	return 1;
}

static void rx_push_held(struct vnet *sc, struct virtqueue *vq, bool zero)
{
	int i;

	for (i = 0; i < sc->nheld; i++)
		vq_push(vq, sc->held[i].head, zero ? 0 : sc->held[i].len);
}

/* MRG_RXBUF: the frame over as many chains as it takes; what is copied
 * stays held across calls until the last byte is in.  1 done (or dropped),
 * 0 out of buffers, -EIO. */
static int rx_merged(struct vnet *sc, struct virtqueue *vq, unsigned ghl, bool *pushed)
{
	struct vq_chain *c = &sc->rx_chain;
	uint32_t bh = sc->be->hdr_len, plen = sc->rx_len - bh;
	uint8_t hdr[VIRTIO_NET_HDR_MRG_LEN];
	int rc;

	while (!sc->rx_hdr_done || sc->rx_off < plen) {
		uint32_t w = 0, n;

		if (sc->nheld == VQ_MAX_SIZE) {
			/* Buffers too small for this frame even all together. */
			rx_push_held(sc, vq, true);
			*pushed = true;
			sc->st.rx_too_big++;
			rx_drop_frame(sc);
			return 1;
		}
		rc = rx_take_chain(sc, vq);
		if (rc <= 0)
			return rc;
		if (!sc->rx_hdr_done) {
			if (c->nwrite < ghl) {
				vq_push(vq, c->head, 0);
				*pushed = true;
				sc->st.rx_too_big++;
				rx_drop_frame(sc);
				return 1;
			}
			rx_guest_hdr(sc, hdr);
			chain_put(c, 0, hdr, ghl);
			sc->num_buffers[0] = chain_wbyte(c, 10);
			sc->num_buffers[1] = chain_wbyte(c, 11);
			sc->rx_hdr_done = true;
			w = ghl;
		}
		n = c->nwrite - w;
		if (n > plen - sc->rx_off)
			n = plen - sc->rx_off;
		chain_put(c, w, sc->rxbuf + bh + sc->rx_off, n);
		sc->rx_off += n;
		sc->held[sc->nheld].head = c->head;
		sc->held[sc->nheld].len = w + n;
		sc->nheld++;
	}
	/* §5.1.6.4: num_buffers in the first buffer's header. */
	if (sc->num_buffers[0] && sc->num_buffers[1]) {
		*sc->num_buffers[0] = (uint8_t)sc->nheld;
		*sc->num_buffers[1] = (uint8_t)(sc->nheld >> 8);
	}
	rx_push_held(sc, vq, false);
	*pushed = true;
	rx_count(sc, plen);
	rx_drop_frame(sc);
	return 1;
}

/* rx_mtx held: move frames from the back end into the guest until either
 * runs dry or the budget is spent. */
static void rx_process(struct vnet *sc)
{
	struct virtqueue *vq = sc->vq[VNET_Q_RX];
	bool pushed = false, mrg, poll = true, be_failed = false;
	unsigned ghl;
	int i, rc = 0;

	if (!sc->be || !vq)
		return;
	if (sc->rx_stopped || sc->rx_dead) {
		netbe_rx_enable(sc->be, false);
		return;
	}
	rx_apply_features(sc);
	ghl = guest_hdr_len(sc->rx_feat);
	mrg = has(sc->rx_feat, VIRTIO_NET_F_MRG_RXBUF);
	for (i = 0; i < RX_BUDGET; i++) {
		if (!sc->rx_len) {
			rc = rx_fetch(sc);
			be_failed = rc < 0;
			if (rc <= 0)
				break;
			if (!sc->rx_len)
				continue;
		}
		rc = mrg ? rx_merged(sc, vq, ghl, &pushed) : rx_one_chain(sc, vq, ghl, &pushed);
		if (rc <= 0)
			break;
	}
	if (rc == 0 && sc->rx_len)
		poll = false; /* out of buffers: the next receive kick resumes */
	if (rc < 0) {
		/* Either way, no reading until something changes: a failed
		 * back end would otherwise stay readable and spin the loop. */
		poll = false;
		if (be_failed) {
			log_warnx("virtio-net: the network back end failed (%s); receiving stops",
				  strerror(sc->rx_err));
			sc->rx_dead = true;
		} else {
			set_broken(sc);
			sc->rx_stopped = true;
		}
	}
	netbe_rx_enable(sc->be, poll);
	if (pushed)
		raise_irq(sc, VNET_Q_RX);
}

static void vnet_rx_ready(void *arg)
{
	struct vnet *sc = arg;

	pthread_mutex_lock(&sc->rx_mtx);
	rx_process(sc);
	pthread_mutex_unlock(&sc->rx_mtx);
}

/* ---- Transmit ---- */

int vnet_check_tx_hdr(const uint8_t hdr[VIRTIO_NET_HDR_LEN], uint32_t frame_len, uint64_t features)
{
	uint8_t flags = hdr[0], gso = hdr[1];
	uint32_t hlen = le16_get(hdr + 2), gso_size = le16_get(hdr + 4);
	uint32_t cstart = le16_get(hdr + 6), coff = le16_get(hdr + 8);

	/* DATA_VALID and RSC_INFO are for received frames only (§5.1.6.2). */
	if (flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -EINVAL;
	if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!has(features, VIRTIO_NET_F_CSUM) || cstart + coff + 2 > frame_len)
			return -EINVAL;
	}
	switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return gso ? -EINVAL : 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!has(features, VIRTIO_NET_F_HOST_TSO4))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!has(features, VIRTIO_NET_F_HOST_TSO6))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_HOST_ECN))
		return -EINVAL;
	/* Segmentation needs a partial checksum, a segment size and headers
	 * inside the frame (§5.1.6.2.1). */
	if (!(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || gso_size == 0 || hlen > frame_len)
		return -EINVAL;
	return 0;
}

/* The frame's bytes after the guest's header as an I/O vector behind
 * iov[first]. */
static int tx_iov(struct vnet *sc, const struct vq_chain *c, uint32_t skip, int first)
{
	int i, n = first;

	for (i = 0; i < c->nseg && c->seg[i].writable == false; i++) {
		const struct vq_seg *s = &c->seg[i];

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		sc->tx_iov[n].iov_base = (uint8_t *)s->base + skip;
		sc->tx_iov[n].iov_len = s->len - skip;
		n++;
		skip = 0;
	}
	return n;
}

static void tx_one(struct vnet *sc, const struct vq_chain *c, uint64_t feat, unsigned ghl)
{
	uint8_t hdr[VIRTIO_NET_HDR_MRG_LEN] = { 0 };
	uint32_t plen;
	ssize_t rc;
	int n = 0;

	if (c->nread < ghl + NETBE_MIN_FRAME || c->nread - ghl > NETBE_MAX_FRAME) {
		sc->st.tx_bad++;
		return;
	}
	plen = c->nread - ghl;
	/* One copy of the header, checked and then used (never re-read). */
	vq_chain_read(c, 0, hdr, ghl);
	if (vnet_check_tx_hdr(hdr, plen, feat) < 0) {
		sc->st.tx_bad++;
		return;
	}
	if (!sc->be) {
		sc->st.tx_errors++;
		return;
	}
	if (sc->be->hdr_len) {
		memset(sc->tx_hdr, 0, sizeof(sc->tx_hdr));
		memcpy(sc->tx_hdr, hdr, VIRTIO_NET_HDR_LEN);
		sc->tx_iov[0].iov_base = sc->tx_hdr;
		sc->tx_iov[0].iov_len = sc->be->hdr_len;
		n = 1;
	}
	n = tx_iov(sc, c, ghl, n);
	rc = netbe_send(sc->be, sc->tx_iov, n);
	if (rc < 0) {
		sc->st.tx_errors++;
		return;
	}
	sc->st.tx_frames++;
	sc->st.tx_bytes += plen;
}

/* tx_mtx held. */
static void tx_process(struct vnet *sc)
{
	struct virtqueue *vq = sc->vq[VNET_Q_TX];
	uint64_t feat = negotiated(sc);
	unsigned ghl = guest_hdr_len(feat);
	bool pushed = false;
	int rc;

	if (!vq)
		return;
	do {
		while ((rc = vq_pop(vq, &sc->tx_chain)) == 1) {
			tx_one(sc, &sc->tx_chain, feat, ghl);
			vq_push(vq, sc->tx_chain.head, 0);
			pushed = true;
		}
		if (rc == -EIO)
			set_broken(sc);
		if (rc < 0)
			break;
	} while (vq_done_popping(vq));
	if (pushed)
		raise_irq(sc, VNET_Q_TX);
}

/* ---- Control queue ---- */

static uint8_t ctrl_rx(struct vnet *sc, const struct vq_chain *c, uint8_t cmd, uint32_t dlen,
		       uint64_t feat)
{
	uint8_t on;

	if (!has(feat, VIRTIO_NET_F_CTRL_RX) || dlen != 1)
		return VIRTIO_NET_ERR;
	vq_chain_read(c, 2, &on, 1);
	if (on > 1)
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC:
		sc->filter.promisc = on;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_RX_ALLMULTI:
		sc->filter.allmulti = on;
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

/* One table of MAC_TABLE_SET at *off: le32 entries, then 6 bytes each. */
static int read_mac_table(const struct vq_chain *c, uint32_t *off, uint32_t end, uint8_t (*t)[6],
			  int *n, bool *all)
{
	uint8_t b[4];
	uint32_t entries, i;

	if (end - *off < 4)
		return -EINVAL;
	vq_chain_read(c, *off, b, 4);
	entries = le32_get(b);
	*off += 4;
	if ((uint64_t)entries * 6 > end - *off)
		return -EINVAL;
	*all = entries > VNET_MAC_TABLE;
	*n = *all ? 0 : (int)entries;
	for (i = 0; i < (uint32_t)*n; i++)
		vq_chain_read(c, *off + 6 * i, t[i], 6);
	*off += entries * 6;
	return 0;
}

static uint8_t ctrl_mac(struct vnet *sc, const struct vq_chain *c, uint8_t cmd, uint32_t dlen,
			uint64_t feat)
{
	struct vnet_filter f = sc->filter;
	uint32_t off = 2, end = 2 + dlen;
	uint8_t mac[6];

	switch (cmd) {
	case VIRTIO_NET_CTRL_MAC_TABLE_SET:
		/* Both tables and nothing after them; all or nothing. */
		if (!has(feat, VIRTIO_NET_F_CTRL_RX) ||
		    read_mac_table(c, &off, end, f.uc, &f.nuc, &f.uc_all) < 0 ||
		    read_mac_table(c, &off, end, f.mc, &f.nmc, &f.mc_all) < 0 || off != end)
			return VIRTIO_NET_ERR;
		sc->filter = f;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!has(feat, VIRTIO_NET_F_CTRL_MAC_ADDR) || dlen != 6)
			return VIRTIO_NET_ERR;
		vq_chain_read(c, 2, mac, 6);
		if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
			return VIRTIO_NET_ERR;
		memcpy(sc->mac, mac, 6);
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

static uint8_t ctrl_offloads(struct vnet *sc, const struct vq_chain *c, uint8_t cmd, uint32_t dlen,
			     uint64_t feat)
{
	uint8_t b[8];
	uint64_t g;

	if (!has(feat, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
	    cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || dlen != 8)
		return VIRTIO_NET_ERR;
	vq_chain_read(c, 2, b, 8);
	g = le64_get(b);
	/* §5.1.6.5.6.2: only offloads that were negotiated. */
	if (g & ~(feat & GUEST_OFFLOAD_MASK))
		return VIRTIO_NET_ERR;
	rx_apply_features(sc);
	apply_guest_offloads(sc, g);
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_exec(struct vnet *sc, const struct vq_chain *c, uint64_t feat)
{
	uint8_t cc[2];
	uint32_t dlen;

	if (c->nread < 2)
		return VIRTIO_NET_ERR;
	vq_chain_read(c, 0, cc, 2);
	dlen = c->nread - 2;
	switch (cc[0]) {
	case VIRTIO_NET_CTRL_RX:
		return ctrl_rx(sc, c, cc[1], dlen, feat);
	case VIRTIO_NET_CTRL_MAC:
		return ctrl_mac(sc, c, cc[1], dlen, feat);
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		return ctrl_offloads(sc, c, cc[1], dlen, feat);
	default:
		return VIRTIO_NET_ERR;
	}
}

/* rx_mtx held. */
static void ctrl_process(struct vnet *sc)
{
	struct virtqueue *vq = sc->vq[VNET_Q_CTRL];
	struct vq_chain *c = &sc->ctrl_chain;
	uint64_t feat = negotiated(sc);
	bool pushed = false;
	uint8_t ack;
	int rc;

	if (!vq)
		return;
	do {
		while ((rc = vq_pop(vq, c)) == 1) {
			ack = ctrl_exec(sc, c, feat);
			if (ack == VIRTIO_NET_OK)
				sc->st.ctrl_ok++;
			else
				sc->st.ctrl_err++;
			/* The ack is the first device-writable byte; no such byte,
			 * no answer. */
			vq_push(vq, c->head, chain_put(c, 0, &ack, 1));
			pushed = true;
		}
		if (rc == -EIO)
			set_broken(sc);
		if (rc < 0)
			break;
	} while (vq_done_popping(vq));
	if (pushed)
		raise_irq(sc, VNET_Q_CTRL);
}

/* ---- Engine interface ---- */

void vnet_notify(struct vnet *sc, int q)
{
	switch (q) {
	case VNET_Q_RX:
		pthread_mutex_lock(&sc->rx_mtx);
		sc->rx_stopped = false;
		rx_process(sc);
		pthread_mutex_unlock(&sc->rx_mtx);
		break;
	case VNET_Q_TX:
		pthread_mutex_lock(&sc->tx_mtx);
		tx_process(sc);
		pthread_mutex_unlock(&sc->tx_mtx);
		break;
	case VNET_Q_CTRL:
		pthread_mutex_lock(&sc->rx_mtx);
		ctrl_process(sc);
		pthread_mutex_unlock(&sc->rx_mtx);
		break;
	default:
		break;
	}
}

void vnet_reset(struct vnet *sc)
{
	pthread_mutex_lock(&sc->rx_mtx);
	pthread_mutex_lock(&sc->tx_mtx);
	rx_drop_frame(sc);
	sc->rx_spare = false;
	sc->rx_stopped = true;
	filter_reset(&sc->filter);
	memcpy(sc->mac, sc->mac_orig, 6);
	sc->rx_feat = ~0ull;
	apply_guest_offloads(sc, 0);
	if (sc->be)
		netbe_rx_enable(sc->be, false);
	pthread_mutex_unlock(&sc->tx_mtx);
	pthread_mutex_unlock(&sc->rx_mtx);
}

uint32_t vnet_cfgread(struct vnet *sc, uint32_t off, int size)
{
	uint8_t b[VNET_CFG_SIZE];

	if (size < 1 || size > 4 || off > VNET_CFG_SIZE || (uint32_t)size > VNET_CFG_SIZE - off)
		return 0;
	pthread_mutex_lock(&sc->rx_mtx);
	memcpy(b, sc->mac, 6);
	pthread_mutex_unlock(&sc->rx_mtx);
	le16_put(b + 6, VIRTIO_NET_S_LINK_UP); /* status */
	le16_put(b + 8, 1);		       /* max_virtqueue_pairs */
	le16_put(b + 10, (uint16_t)sc->mtu);
	return (uint32_t)le_get(b + off, (unsigned)size);
}

void vnet_cfgwrite(struct vnet *sc, uint32_t off, int size, uint32_t val)
{
	int i;

	/* Only a legacy driver may write the MAC (§5.1.4 legacy note); the
	 * rest is read-only. */
	if (has(negotiated(sc), VIRTIO_F_VERSION_1) || size < 1 || size > 4)
		return;
	pthread_mutex_lock(&sc->rx_mtx);
	for (i = 0; i < size; i++)
		if (off + (uint32_t)i < 6)
			sc->mac[off + (uint32_t)i] = (uint8_t)(val >> (8 * i));
	pthread_mutex_unlock(&sc->rx_mtx);
}

uint64_t vnet_features(const struct vnet *sc)
{
	return sc->features;
}

void vnet_get_stats(struct vnet *sc, struct vnet_stats *st)
{
	pthread_mutex_lock(&sc->rx_mtx);
	pthread_mutex_lock(&sc->tx_mtx);
	*st = sc->st;
	pthread_mutex_unlock(&sc->tx_mtx);
	pthread_mutex_unlock(&sc->rx_mtx);
}

void vnet_set_queues(struct vnet *sc, struct virtqueue *rx, struct virtqueue *tx,
		     struct virtqueue *ctrl)
{
	sc->vq[VNET_Q_RX] = rx;
	sc->vq[VNET_Q_TX] = tx;
	sc->vq[VNET_Q_CTRL] = ctrl;
}

static uint64_t offered_features(const struct netbe *be, unsigned mtu)
{
	uint64_t f = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
		     (1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VIRTIO_NET_F_CTRL_VQ) |
		     (1ull << VIRTIO_NET_F_CTRL_RX) | (1ull << VIRTIO_NET_F_CTRL_MAC_ADDR) |
		     (1ull << VIRTIO_F_ANY_LAYOUT) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ull << VIRTIO_RING_F_EVENT_IDX);
	unsigned off;

	if (mtu)
		f |= 1ull << VIRTIO_NET_F_MTU;
	/* Offloads need the header to travel with the frame (§5.1.3.1 for
	 * the dependencies: TSO on CSUM, ECN on TSO). */
	if (!be || be->hdr_len < VIRTIO_NET_HDR_LEN || !(be->offloads & NETBE_OFF_CSUM))
		return f;
	off = be->offloads;
	f |= (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
	     (1ull << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	if (off & NETBE_OFF_TSO4)
		f |= (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO4);
	if (off & NETBE_OFF_TSO6)
		f |= (1ull << VIRTIO_NET_F_HOST_TSO6) | (1ull << VIRTIO_NET_F_GUEST_TSO6);
	if ((off & NETBE_OFF_ECN) && (off & (NETBE_OFF_TSO4 | NETBE_OFF_TSO6)))
		f |= (1ull << VIRTIO_NET_F_HOST_ECN) | (1ull << VIRTIO_NET_F_GUEST_ECN);
	return f;
}

int vnet_new(struct netbe *be, const uint8_t mac[6], unsigned mtu, const struct vnet_hooks *h,
	     struct vnet **out)
{
	struct vnet *sc;

	if (mtu > NETBE_MTU_MAX)
		return -EINVAL;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	/* Room for one more byte than the largest frame: a longer one shows
	 * up as too big instead of silently cut. */
	sc->rxbuf = malloc(NETBE_HDR_LEN + NETBE_MAX_FRAME + 1);
	if (!sc->rxbuf) {
		free(sc);
		return -ENOMEM;
	}
	pthread_mutex_init(&sc->rx_mtx, NULL);
	pthread_mutex_init(&sc->tx_mtx, NULL);
	sc->be = be;
	if (h)
		sc->h = *h;
	sc->mtu = mtu;
	memcpy(sc->mac_orig, mac, 6);
	memcpy(sc->mac, mac, 6);
	filter_reset(&sc->filter);
	sc->rx_feat = ~0ull;
	sc->rx_stopped = true;
	sc->features = offered_features(be, mtu);
	if (be)
		netbe_set_rx_cb(be, vnet_rx_ready, sc);
	*out = sc;
	return 0;
}

void vnet_free(struct vnet *sc)
{
	struct vnet_stats *s;

	if (!sc)
		return;
	s = &sc->st;
	if (sc->be)
		netbe_set_rx_cb(sc->be, NULL, NULL);
	log_debug("virtio-net: rx %llu frames (%llu filtered, %llu too big, %llu bad), "
		  "tx %llu frames (%llu bad, %llu errors)",
		  (unsigned long long)s->rx_frames, (unsigned long long)s->rx_filtered,
		  (unsigned long long)s->rx_too_big, (unsigned long long)s->rx_bad,
		  (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bad,
		  (unsigned long long)s->tx_errors);
	pthread_mutex_destroy(&sc->rx_mtx);
	pthread_mutex_destroy(&sc->tx_mtx);
	free(sc->rxbuf);
	free(sc);
}

/* ---- PCI device ---- */

static void pci_vnet_irq(void *arg, int q)
{
	struct vnet *sc = arg;

	virtio_pci_queue_interrupt(sc->vp, q);
}

static void pci_vnet_broken(void *arg)
{
	struct vnet *sc = arg;

	virtio_pci_set_broken(sc->vp);
}

static uint64_t pci_vnet_negotiated(void *arg)
{
	struct vnet *sc = arg;

	return virtio_pci_negotiated(sc->vp);
}

static void pci_vnet_notify(void *dev, int q)
{
	vnet_notify(dev, q);
}

static void pci_vnet_reset(void *dev)
{
	vnet_reset(dev);
}

static uint32_t pci_vnet_cfgread(void *dev, uint32_t off, int size)
{
	return vnet_cfgread(dev, off, size);
}

static void pci_vnet_cfgwrite(void *dev, uint32_t off, int size, uint32_t val)
{
	vnet_cfgwrite(dev, off, size, val);
}

static const struct virtio_dev_ops vnet_ops_template = {
	.name = "virtio-net",
	.device_type = VIRTIO_ID_NET,
	.pci_devid = VIRTIO_PCI_DEVID_NET,
	.pci_class = 0x02,    /* network controller */
	.pci_subclass = 0x00, /* Ethernet */
	.nqueues = VNET_NQUEUES,
	.cfg_size = VNET_CFG_SIZE,
	.notify = pci_vnet_notify,
	.reset = pci_vnet_reset,
	.cfgread = pci_vnet_cfgread,
	.cfgwrite = pci_vnet_cfgwrite,
};

static const char *node_get(const struct config *cfg, const char *node, const char *name)
{
	char key[CONFIG_KEY_MAX + 1];

	if ((size_t)snprintf(key, sizeof(key), "%s.%s", node, name) >= sizeof(key))
		return NULL;
	return config_get(cfg, key);
}

/* mac= and mtu=, checked before anything is opened. */
static int pci_vnet_options(struct pci_devinst *pi, const struct config *cfg, const char *node,
			    uint8_t mac[6], unsigned *mtu)
{
	const char *v;

	*mtu = 0;
	v = node_get(cfg, node, "mac");
	if (v) {
		if (netbe_parse_mac(v, mac) < 0) {
			pci_set_error(pi, "mac=%s: not a unicast MAC address (xx:xx:xx:xx:xx:xx)",
				      v);
			return -EINVAL;
		}
	} else {
		netbe_derive_mac(pci_slot(pi), pci_func(pi), config_get(cfg, "name"), mac);
	}
	v = node_get(cfg, node, "mtu");
	if (v && netbe_parse_mtu(v, mtu) < 0) {
		pci_set_error(pi, "mtu=%s: not a number in %d..%d", v, NETBE_MTU_MIN,
			      NETBE_MTU_MAX);
		return -EINVAL;
	}
	return 0;
}

static int pci_vnet_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	struct vnet_hooks h = { pci_vnet_irq, pci_vnet_broken, pci_vnet_negotiated, NULL };
	struct netbe *be = NULL;
	const char *backend;
	struct vnet *sc;
	uint8_t mac[6];
	unsigned mtu;
	char err[320];
	int rc;

	rc = pci_vnet_options(pi, cfg, node, mac, &mtu);
	if (rc < 0)
		return rc;
	/* No back end is allowed (as in bhyve): a NIC with no wire. */
	backend = node_get(cfg, node, "backend");
	if (backend) {
		rc = netbe_open(backend, cfg, node, pci_loop(pi), &be, err, sizeof(err));
		if (rc < 0) {
			pci_set_error(pi, "%s", err);
			return rc;
		}
	}
	rc = vnet_new(be, mac, mtu, &h, &sc);
	if (rc < 0) {
		netbe_close(be);
		return rc;
	}
	sc->h.arg = sc;
	sc->ops = vnet_ops_template;
	sc->ops.features = sc->features;
	rc = virtio_pci_init(pi, cfg, &sc->ops, sc, &sc->vp);
	if (rc < 0) {
		if (!pci_get_arg(pi)) {
			vnet_free(sc);
			netbe_close(be);
		}
		return rc;
	}
	vnet_set_queues(sc, virtio_pci_queue(sc->vp, VNET_Q_RX),
			virtio_pci_queue(sc->vp, VNET_Q_TX), virtio_pci_queue(sc->vp, VNET_Q_CTRL));
	return 0;
}

static void pci_vnet_deinit(struct pci_devinst *pi)
{
	struct virtio_pci *vp = pci_get_arg(pi);
	struct netbe *be;
	struct vnet *sc;

	if (!vp)
		return;
	sc = virtio_pci_dev(vp);
	be = sc->be;
	/* The transport reads sc->ops while it frees the queues. */
	virtio_pci_free(vp);
	netbe_close(be);
	sc->be = NULL;
	vnet_free(sc);
}

/* Not static: a unit test names it to pull this object out of the static
 * library. */
const struct pci_devemu pci_de_virtio_net = {
	.name = "virtio-net",
	.init = pci_vnet_init,
	.deinit = pci_vnet_deinit,
	.barread = virtio_pci_barread,
	.barwrite = virtio_pci_barwrite,
};
PCI_EMUL_REGISTER(pci_de_virtio_net);
