/* virtio-blk, virtio 1.2 §5.2, over the block back end (src/block).
 *
 * A request is a chain: a 16-byte header (type, reserved, sector) in
 * device-readable bytes, data, and one status byte, the last writable byte
 * (§5.2.6).  The layout of descriptors is not assumed (§2.7.4): the header
 * may span buffers.  Every sector range is checked against the capacity,
 * every length against what the chain really holds; requests run on the
 * back end's threads and complete through the used ring.  At most one
 * request per queue entry is in flight, from a fixed pool. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/blockif.h"
#include "config.h"
#include "le.h"
#include "log.h"
#include "pci/pci_emul.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_pci.h"

#define SECTOR		 512
#define HDR_SIZE	 16
#define DISCARD_SEG_SIZE 16
#define SEG_MAX		 (VQ_MAX_SEGS - 2) /* header and status take two */
#define SIZE_MAX_BYTES	 (1u << 20)
#define MAX_DELETE_SECT	 (1u << 22) /* 2 GiB per discard / write-zeroes */
#define NTHREADS	 4
#define DISCARD_F_UNMAP	 1u

struct vblk_req {
	struct blockif_req br; /* first: the completion gets this back */
	struct vblk *sc;
	struct virtqueue *vq;
	int q;
	uint16_t head;
	uint8_t *status;
	uint32_t used_len; /* on success */
	struct vblk_req *next_free;
};

struct vblk {
	struct blockif *bif;
	void (*irq)(void *arg, int q);
	void *irq_arg;
	uint64_t features;
	uint64_t capacity; /* in 512-byte sectors */
	uint8_t cfg[VBLK_CFG_SIZE];
	char ident[VIRTIO_BLK_ID_BYTES];
	pthread_mutex_t lock; /* free list, inflight */
	pthread_cond_t idle;
	int inflight;
	struct vblk_req *free; /* slots used before and now free */
	int unused;	       /* reqs[unused..] never handed out yet */
	struct vblk_req reqs[VQ_MAX_SIZE];
	struct vq_chain chain; /* used only by vblk_process (serialised) */
	/* PCI glue */
	struct virtio_pci *vp;
	struct virtio_dev_ops ops;
};

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* ---- Completion ---- */

static void req_finish(struct vblk_req *r, uint8_t status, uint32_t len)
{
	struct vblk *sc = r->sc;
	struct virtqueue *vq = r->vq;
	uint16_t head = r->head;
	int q = r->q;

	__atomic_store_n(r->status, status, __ATOMIC_RELAXED);
	/* The slot goes back before the guest can see the completion, so a
	 * driver that reuses the entry at once always finds a free one. */
	pthread_mutex_lock(&sc->lock);
	r->next_free = sc->free;
	sc->free = r;
	pthread_mutex_unlock(&sc->lock);
	vq_push(vq, head, len);
	if (vq_need_interrupt(vq) && sc->irq)
		sc->irq(sc->irq_arg, q);
	pthread_mutex_lock(&sc->lock);
	if (--sc->inflight == 0)
		pthread_cond_broadcast(&sc->idle);
	pthread_mutex_unlock(&sc->lock);
}

static void req_done(struct blockif_req *br, int err)
{
	struct vblk_req *r = (struct vblk_req *)br;

	if (err)
		log_debug("virtio-blk: request failed: %s", strerror(-err));
	req_finish(r, err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, err ? 1 : r->used_len);
}

/* ---- Parsing ---- */

/* The byte range [skip, skip + len) of the readable (or writable) bytes
 * as an I/O vector. */
static int chain_iov(const struct vq_chain *c, bool writable, uint32_t skip, uint32_t len,
		     struct blockif_req *br)
{
	int i;

	br->iovcnt = 0;
	for (i = 0; i < c->nseg && len; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint32_t n;

		if (s->writable != writable)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip;
		if (n > len)
			n = len;
		if (br->iovcnt >= BLOCKIF_IOV_MAX)
			return -EINVAL;
		br->iov[br->iovcnt].iov_base = (uint8_t *)s->base + skip;
		br->iov[br->iovcnt].iov_len = n;
		br->iovcnt++;
		len -= n;
		skip = 0;
	}
	return len ? -EINVAL : 0;
}

/* The last writable byte: add_seg in the walker never keeps empty ones. */
static uint8_t *status_byte(const struct vq_chain *c)
{
	const struct vq_seg *s;

	if (!c->nwrite)
		return NULL;
	s = &c->seg[c->nseg - 1];
	return (uint8_t *)s->base + s->len - 1;
}

static bool range_ok(const struct vblk *sc, uint64_t sector, uint64_t nsect)
{
	return sector <= sc->capacity && nsect <= sc->capacity - sector;
}

static uint8_t setup_rw(struct vblk *sc, const struct vq_chain *c, const struct blk_hdr *h,
			struct vblk_req *r)
{
	bool in = h->type == VIRTIO_BLK_T_IN;
	uint32_t len = in ? c->nwrite - 1 : c->nread - HDR_SIZE;

	if (!in && (sc->features & (1ull << VIRTIO_BLK_F_RO)))
		return VIRTIO_BLK_S_IOERR;
	if (len % SECTOR || !range_ok(sc, h->sector, len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (chain_iov(c, in, in ? 0 : HDR_SIZE, len, &r->br) < 0)
		return VIRTIO_BLK_S_IOERR;
	r->br.op = in ? BLOCKIF_READ : BLOCKIF_WRITE;
	r->br.offset = h->sector * SECTOR;
	r->used_len = in ? len + 1 : 1;
	return VIRTIO_BLK_S_OK;
}

/* §5.2.6.2: one segment {sector, num_sectors, flags} (max_*_seg is 1). */
static uint8_t setup_delete(struct vblk *sc, const struct vq_chain *c, uint32_t type,
			    struct vblk_req *r)
{
	bool zero = type == VIRTIO_BLK_T_WRITE_ZEROES;
	int feat = zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
	uint8_t seg[DISCARD_SEG_SIZE];
	uint64_t sector;
	uint32_t nsect, flags;

	if (!(sc->features & (1ull << feat)))
		return VIRTIO_BLK_S_UNSUPP;
	if (c->nread - HDR_SIZE != DISCARD_SEG_SIZE)
		return VIRTIO_BLK_S_IOERR;
	vq_chain_read(c, HDR_SIZE, seg, DISCARD_SEG_SIZE);
	sector = le64_get(seg);
	nsect = le32_get(seg + 8);
	flags = le32_get(seg + 12);
	/* Unknown flags, or unmap on a discard, are not ours to guess at. */
	if ((flags & ~DISCARD_F_UNMAP) || (!zero && flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (nsect > MAX_DELETE_SECT || !range_ok(sc, sector, nsect))
		return VIRTIO_BLK_S_IOERR;
	r->br.op = zero ? BLOCKIF_ZERO : BLOCKIF_DISCARD;
	r->br.offset = sector * SECTOR;
	r->br.len = (uint64_t)nsect * SECTOR;
	r->br.iovcnt = 0;
	r->used_len = 1;
	return VIRTIO_BLK_S_OK;
}

static uint32_t get_id(struct vblk *sc, const struct vq_chain *c)
{
	uint32_t len = c->nwrite - 1, n = 0;
	uint8_t buf[VIRTIO_BLK_ID_BYTES];
	int i;

	if (len > VIRTIO_BLK_ID_BYTES)
		len = VIRTIO_BLK_ID_BYTES;
	memcpy(buf, sc->ident, sizeof(buf));
	/* Copy into the writable bytes before the status byte. */
	for (i = 0; i < c->nseg && n < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint32_t k = s->len;

		if (!s->writable)
			continue;
		if (k > len - n)
			k = len - n;
		memcpy(s->base, buf + n, k);
		n += k;
	}
	return n + 1;
}

/* Parse one chain; either start it on the back end or finish it here. */
static void start_request(struct vblk *sc, struct vblk_req *r, const struct vq_chain *c)
{
	uint8_t raw[HDR_SIZE];
	struct blk_hdr h;
	uint8_t st;

	r->status = status_byte(c);
	if (!r->status) {
		/* Nowhere to say anything: give the buffers back, empty. */
		pthread_mutex_lock(&sc->lock);
		r->next_free = sc->free;
		sc->free = r;
		sc->inflight--;
		pthread_mutex_unlock(&sc->lock);
		log_debug("virtio-blk: request without a status byte");
		vq_push(r->vq, r->head, 0);
		return;
	}
	if (c->nread < HDR_SIZE) {
		req_finish(r, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	vq_chain_read(c, 0, raw, HDR_SIZE);
	h.type = le32_get(raw);
	h.sector = le64_get(raw + 8);
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = setup_rw(sc, c, &h, r);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->br.op = BLOCKIF_FLUSH;
		r->br.iovcnt = 0;
		r->used_len = 1;
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		req_finish(r, VIRTIO_BLK_S_OK, get_id(sc, c));
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = setup_delete(sc, c, h.type, r);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (st != VIRTIO_BLK_S_OK) {
		req_finish(r, st, 1);
		return;
	}
	r->br.done = req_done;
	if (blockif_submit(sc->bif, &r->br) < 0)
		req_finish(r, VIRTIO_BLK_S_IOERR, 1);
}

static struct vblk_req *req_get(struct vblk *sc)
{
	struct vblk_req *r;

	pthread_mutex_lock(&sc->lock);
	r = sc->free;
	if (r) {
		sc->free = r->next_free;
	} else if (sc->unused < VQ_MAX_SIZE) {
		/* Slots are first touched when first needed: a guest that
		 * keeps few requests in flight never dirties the rest
		 * (each holds a 4 KiB iovec array). */
		r = &sc->reqs[sc->unused++];
		r->sc = sc;
	}
	if (r)
		sc->inflight++;
	pthread_mutex_unlock(&sc->lock);
	return r;
}

int vblk_process(struct vblk *sc, struct virtqueue *vq, int q)
{
	struct vq_chain *c = &sc->chain;
	struct vblk_req *r;
	int rc;

	do {
		while ((rc = vq_pop(vq, c)) == 1) {
			/* More chains in flight than the queue has entries: the
			 * guest re-posted a head it has not got back. */
			r = req_get(sc);
			if (!r) {
				log_warnx("%s: more requests in flight than the queue holds",
					  vq->name);
				return -EIO;
			}
			r->vq = vq;
			r->q = q;
			r->head = c->head;
			start_request(sc, r, c);
		}
		if (rc < 0)
			return rc == -EIO ? rc : 0;
	} while (vq_done_popping(vq));
	return 0;
}

void vblk_drain(struct vblk *sc)
{
	pthread_mutex_lock(&sc->lock);
	while (sc->inflight > 0)
		pthread_cond_wait(&sc->idle, &sc->lock);
	pthread_mutex_unlock(&sc->lock);
}

/* ---- Engine set-up ---- */

static void build_config(struct vblk *sc)
{
	unsigned ls = blockif_sectsz(sc->bif), ps = blockif_psectsz(sc->bif);
	uint8_t *b = sc->cfg;

	memset(b, 0, VBLK_CFG_SIZE);
	le64_put(b, sc->capacity);
	le32_put(b + 8, SIZE_MAX_BYTES);
	le32_put(b + 12, SEG_MAX);
	le32_put(b + 20, ls);
	b[24] = (uint8_t)__builtin_ctz(ps / ls); /* physical_block_exp */
	le16_put(b + 26, 1);			 /* min_io_size, in blocks */
	le16_put(b + 34, 1);			 /* num_queues */
	le32_put(b + 36, MAX_DELETE_SECT);	 /* max_discard_sectors */
	le32_put(b + 40, 1);			 /* max_discard_seg */
	le32_put(b + 44, ls / SECTOR);		 /* discard_sector_alignment */
	le32_put(b + 48, MAX_DELETE_SECT);	 /* max_write_zeroes_sectors */
	le32_put(b + 52, 1);			 /* max_write_zeroes_seg */
	b[56] = 1;				 /* write_zeroes_may_unmap */
}

static void make_ident(struct vblk *sc, const char *serial)
{
	char buf[VIRTIO_BLK_ID_BYTES + 1];

	/* §5.2.6: up to 20 bytes, NUL-padded when shorter. */
	memset(sc->ident, 0, sizeof(sc->ident));
	if (serial) {
		memcpy(sc->ident, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));
		return;
	}
	snprintf(buf, sizeof(buf), "BHYVE-%014" PRIX64, blockif_ident(sc->bif) >> 8);
	memcpy(sc->ident, buf, VIRTIO_BLK_ID_BYTES);
}

int vblk_new(struct blockif *bif, const char *serial, void (*irq)(void *arg, int q), void *arg,
	     struct vblk **out)
{
	struct vblk *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return -ENOMEM;
	sc->bif = bif;
	sc->irq = irq;
	sc->irq_arg = arg;
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->idle, NULL);
	sc->capacity = blockif_size(bif) / SECTOR;
	sc->features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		       (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
		       (1ull << VIRTIO_BLK_F_TOPOLOGY) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		       (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (blockif_is_ro(bif))
		sc->features |= 1ull << VIRTIO_BLK_F_RO;
	else
		sc->features |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	if (blockif_can_delete(bif))
		sc->features |= 1ull << VIRTIO_BLK_F_DISCARD;
	build_config(sc);
	make_ident(sc, serial);
	*out = sc;
	return 0;
}

void vblk_free(struct vblk *sc)
{
	if (!sc)
		return;
	vblk_drain(sc);
	pthread_mutex_destroy(&sc->lock);
	pthread_cond_destroy(&sc->idle);
	free(sc);
}

uint64_t vblk_features(const struct vblk *sc)
{
	return sc->features;
}

const uint8_t *vblk_config(const struct vblk *sc)
{
	return sc->cfg;
}

/* ---- PCI device ---- */

static void pci_vblk_irq(void *arg, int q)
{
	struct vblk *sc = arg;

	virtio_pci_queue_interrupt(sc->vp, q);
}

static void pci_vblk_notify(void *dev, int q)
{
	struct vblk *sc = dev;

	if (vblk_process(sc, virtio_pci_queue(sc->vp, q), q) == -EIO)
		virtio_pci_set_broken(sc->vp);
}

static void pci_vblk_reset(void *dev)
{
	vblk_drain(dev);
}

static uint32_t pci_vblk_cfgread(void *dev, uint32_t off, int size)
{
	struct vblk *sc = dev;

	return (uint32_t)le_get(sc->cfg + off, (unsigned)size);
}

static const struct virtio_dev_ops vblk_ops_template = {
	.name = "virtio-blk",
	.device_type = VIRTIO_ID_BLOCK,
	.pci_devid = VIRTIO_PCI_DEVID_BLOCK,
	.pci_class = 0x01, /* mass storage */
	.pci_subclass = 0x00,
	.nqueues = 1,
	.cfg_size = VBLK_CFG_SIZE,
	.notify = pci_vblk_notify,
	.reset = pci_vblk_reset,
	.cfgread = pci_vblk_cfgread,
};

static int pci_vblk_open(struct pci_devinst *pi, const struct config *cfg, const char *node,
			 struct blockif **bif, const char **serial)
{
	struct blockif_opts o;
	char err[160], key[128];
	int rc;

	rc = blockif_parse_config(cfg, node, &o, err, sizeof(err));
	if (rc < 0) {
		pci_set_error(pi, "%s", err);
		return rc;
	}
	o.nthreads = NTHREADS;
	rc = blockif_open(&o, bif);
	if (rc < 0) {
		pci_set_error(pi, "%s: %s", o.path, strerror(-rc));
		return rc;
	}
	snprintf(key, sizeof(key), "%s.ser", node);
	*serial = config_get(cfg, key);
	return 0;
}

static int pci_vblk_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	struct blockif *bif;
	const char *serial;
	struct vblk *sc;
	int rc;

	rc = pci_vblk_open(pi, cfg, node, &bif, &serial);
	if (rc < 0)
		return rc;
	rc = vblk_new(bif, serial, pci_vblk_irq, NULL, &sc);
	if (rc < 0) {
		blockif_close(bif);
		return rc;
	}
	sc->irq_arg = sc;
	sc->ops = vblk_ops_template;
	sc->ops.features = sc->features;
	rc = virtio_pci_init(pi, cfg, &sc->ops, sc, &sc->vp);
	if (rc < 0 && !pci_get_arg(pi)) {
		vblk_free(sc);
		blockif_close(bif);
	}
	return rc;
}

static void pci_vblk_deinit(struct pci_devinst *pi)
{
	struct virtio_pci *vp = pci_get_arg(pi);
	struct vblk *sc;
	struct blockif *bif;

	if (!vp)
		return;
	sc = virtio_pci_dev(vp);
	bif = sc->bif;
	/* Threads first (they finish what is queued), then the queues. */
	vblk_drain(sc);
	blockif_close(bif);
	virtio_pci_free(vp);
	vblk_free(sc);
}

/* Not static: a unit test names it to pull this object out of the static
 * library. */
const struct pci_devemu pci_de_virtio_blk = {
	.name = "virtio-blk",
	.init = pci_vblk_init,
	.deinit = pci_vblk_deinit,
	.barread = virtio_pci_barread,
	.barwrite = virtio_pci_barwrite,
};
PCI_EMUL_REGISTER(pci_de_virtio_blk);
