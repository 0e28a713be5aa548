/* Split virtqueues, virtio 1.2 §2.7.
 *
 * Everything in the rings is guest-controlled and may change under our
 * feet: each index and descriptor is read once into a local (16-bit ring
 * indices as single atomic loads), checked, and only the local copy used.
 * Ring addresses are translated once, when the queue is enabled; guest RAM
 * is never unmapped while the VM runs, so the host pointers stay valid. */
#include <errno.h>
#include <string.h>

#include "gmem.h"
#include "log.h"
#include "virtio/virtqueue.h"

#define DESC_SIZE 16

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* The descriptor is copied out of guest memory once; the compiler barrier
 * keeps it from re-reading the guest's copy instead of ours. */
static void read_desc(const uint8_t *p, struct desc *d)
{
	uint8_t raw[DESC_SIZE];

	memcpy(raw, p, DESC_SIZE);
	__asm__ volatile("" ::: "memory");
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
}

static uint16_t *avail_idx_ptr(const struct virtqueue *vq)
{
	return (uint16_t *)((uint8_t *)vq->avail + 2);
}

static uint16_t *avail_ring(const struct virtqueue *vq, unsigned i)
{
	return (uint16_t *)((uint8_t *)vq->avail + 4 + 2 * (size_t)i);
}

static uint16_t *used_idx_ptr(const struct virtqueue *vq)
{
	return (uint16_t *)((uint8_t *)vq->used + 2);
}

/* used_event lives after the avail ring, avail_event after the used ring
 * (§2.7.6, §2.7.8). */
static uint16_t *used_event_ptr(const struct virtqueue *vq)
{
	return avail_ring(vq, vq->size);
}

static uint16_t *avail_event_ptr(const struct virtqueue *vq)
{
	return (uint16_t *)((uint8_t *)vq->used + 4 + 8 * (size_t)vq->size);
}

int vq_init(struct virtqueue *vq, const struct gmem *mem)
{
	memset(vq, 0, sizeof(*vq));
	if (pthread_mutex_init(&vq->lock, NULL))
		return -ENOMEM;
	vq->mem = mem;
	vq->name = "virtqueue";
	vq->size = VQ_MAX_SIZE;
	vq->msix_vector = 0xffff;
	return 0;
}

void vq_destroy(struct virtqueue *vq)
{
	pthread_mutex_destroy(&vq->lock);
}

void vq_reset(struct virtqueue *vq)
{
	pthread_mutex_lock(&vq->lock);
	vq->size = VQ_MAX_SIZE;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->event_idx = vq->indirect = false;
	vq->msix_vector = 0xffff;
	vq->ready = false;
	vq->desc = vq->avail = vq->used = NULL;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->broken = false;
	pthread_mutex_unlock(&vq->lock);
}

int vq_enable(struct virtqueue *vq)
{
	uint64_t n;
	int rc = -EINVAL;

	pthread_mutex_lock(&vq->lock);
	vq->ready = false;
	n = vq->size;
	/* §2.7: a power of two; we offer at most VQ_MAX_SIZE.  Alignments of
	 * §2.7 table "Virtqueue Part Alignment" keep every index naturally
	 * aligned, so the single 16-bit loads and stores below are atomic. */
	if (n == 0 || (n & (n - 1)) || n > VQ_MAX_SIZE)
		goto out;
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		goto out;
	vq->desc = gmem_ptr(vq->mem, vq->desc_gpa, DESC_SIZE * n);
	vq->avail = gmem_ptr(vq->mem, vq->avail_gpa, 6 + 2 * n);
	vq->used = gmem_ptr(vq->mem, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = vq->avail = vq->used = NULL;
		goto out;
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->broken = false;
	vq->ready = true;
	rc = 0;
out:
	pthread_mutex_unlock(&vq->lock);
	return rc;
}

int vq_set_legacy_pfn(struct virtqueue *vq, uint32_t pfn)
{
	uint64_t base = (uint64_t)pfn * VQ_LEGACY_ALIGN;
	uint64_t avail_end;

	vq->desc_gpa = base;
	vq->avail_gpa = base + DESC_SIZE * (uint64_t)vq->size;
	avail_end = vq->avail_gpa + 6 + 2 * (uint64_t)vq->size;
	vq->used_gpa = (avail_end + VQ_LEGACY_ALIGN - 1) & ~(uint64_t)(VQ_LEGACY_ALIGN - 1);
	return vq_enable(vq);
}

/* Logged once per breakage; the queue stays unusable until reset. */
static int vq_fail(struct virtqueue *vq, const char *why, unsigned a, unsigned b)
{
	if (!vq->broken)
		log_warnx("%s: bad descriptor chain: %s (%u, %u); device needs reset", vq->name,
			  why, a, b);
	vq->broken = true;
	return -EIO;
}

static int add_seg(struct virtqueue *vq, struct vq_chain *c, const struct desc *d)
{
	bool w = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	/* A zero-length buffer carries nothing: skip it (QEMU's CVE-2016-5403
	 * class never arises since the walk is bounded by count, not bytes). */
	if (d->len == 0)
		return 0;
	/* §2.7.4.2: device-readable descriptors come before writable ones. */
	if (!w && c->nwrite)
		return vq_fail(vq, "readable buffer after a writable one", c->head, c->nseg);
	if (c->nseg >= VQ_MAX_SEGS)
		return vq_fail(vq, "too many segments", c->head, c->nseg);
	if (d->addr + d->len < d->addr)
		return vq_fail(vq, "buffer address wraps", c->head, d->len);
	p = gmem_ptr(vq->mem, d->addr, d->len);
	if (!p)
		return vq_fail(vq, "buffer outside guest RAM", c->head, d->len);
	if (w) {
		if ((uint64_t)c->nwrite + d->len > UINT32_MAX)
			return vq_fail(vq, "chain too large", c->head, d->len);
		c->nwrite += d->len;
	} else {
		if ((uint64_t)c->nread + d->len > UINT32_MAX)
			return vq_fail(vq, "chain too large", c->head, d->len);
		c->nread += d->len;
	}
	c->seg[c->nseg].base = p;
	c->seg[c->nseg].len = d->len;
	c->seg[c->nseg].writable = w;
	c->nseg++;
	return 0;
}

/* §2.7.5.3: an indirect table is a chain of its own, indices relative to
 * the table, that must not hold another indirect descriptor. */
static int walk_indirect(struct virtqueue *vq, struct vq_chain *c, const struct desc *ind)
{
	const uint8_t *table;
	unsigned n, i = 0, count = 0;
	struct desc d;
	int rc;

	if (!vq->indirect)
		return vq_fail(vq, "indirect descriptor not negotiated", c->head, 0);
	if (ind->flags & VIRTQ_DESC_F_NEXT)
		return vq_fail(vq, "indirect descriptor with NEXT", c->head, 0);
	if (ind->len == 0 || ind->len % DESC_SIZE || ind->len / DESC_SIZE > VQ_MAX_SEGS)
		return vq_fail(vq, "bad indirect table length", c->head, ind->len);
	n = ind->len / DESC_SIZE;
	table = ind->addr + ind->len < ind->addr ? NULL : gmem_ptr(vq->mem, ind->addr, ind->len);
	if (!table)
		return vq_fail(vq, "indirect table outside guest RAM", c->head, ind->len);
	for (;;) {
		if (++count > n)
			return vq_fail(vq, "indirect chain loops", c->head, n);
		read_desc(table + DESC_SIZE * (size_t)i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return vq_fail(vq, "nested indirect descriptor", c->head, i);
		rc = add_seg(vq, c, &d);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= n)
			return vq_fail(vq, "indirect next out of range", c->head, i);
	}
}

static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	const uint8_t *table = vq->desc;
	unsigned idx = head, count = 0;
	struct desc d;
	int rc;

	c->head = head;
	c->nseg = 0;
	c->nread = c->nwrite = 0;
	if (head >= vq->size)
		return vq_fail(vq, "head out of range", head, vq->size);
	for (;;) {
		/* More descriptors than the table holds means a loop (§2.7.5). */
		if (++count > vq->size)
			return vq_fail(vq, "chain loops or is longer than the queue", head, count);
		read_desc(table + DESC_SIZE * (size_t)idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return walk_indirect(vq, c, &d);
		rc = add_seg(vq, c, &d);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= vq->size)
			return vq_fail(vq, "next out of range", head, idx);
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t avail, n, head;
	int rc;

	pthread_mutex_lock(&vq->lock);
	if (!vq->ready) {
		rc = -EINVAL;
		goto out;
	}
	if (vq->broken) {
		rc = -EIO;
		goto out;
	}
	/* Acquire: the ring entries are read after the index (§2.7.13.3). */
	avail = __atomic_load_n(avail_idx_ptr(vq), __ATOMIC_ACQUIRE);
	n = (uint16_t)(avail - vq->last_avail);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (n > vq->size) {
		rc = vq_fail(vq, "available index ran ahead", avail, vq->last_avail);
		goto out;
	}
	head = __atomic_load_n(avail_ring(vq, vq->last_avail & (vq->size - 1)), __ATOMIC_RELAXED);
	rc = walk_chain(vq, head, c);
	if (rc == 0) {
		vq->last_avail++;
		rc = 1;
	}
out:
	pthread_mutex_unlock(&vq->lock);
	return rc;
}

int vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	uint8_t *elem;
	uint32_t id = head;

	pthread_mutex_lock(&vq->lock);
	if (!vq->ready) {
		pthread_mutex_unlock(&vq->lock);
		return -EINVAL;
	}
	elem = (uint8_t *)vq->used + 4 + 8 * (size_t)(vq->used_idx & (vq->size - 1));
	__atomic_store_n((uint32_t *)elem, id, __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(elem + 4), len, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the element is visible before the index (§2.7.8.2). */
	__atomic_store_n(used_idx_ptr(vq), vq->used_idx, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vq->lock);
	return 0;
}

/* §2.7.10.1: "vring_need_event". */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool vq_need_interrupt(struct virtqueue *vq)
{
	uint16_t old, ev, flags;
	bool need;

	pthread_mutex_lock(&vq->lock);
	if (!vq->ready) {
		pthread_mutex_unlock(&vq->lock);
		return false;
	}
	/* The used index store must be visible before we read what the driver
	 * asked for, or an interrupt can be lost. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	old = vq->signalled_used;
	vq->signalled_used = vq->used_idx;
	if (vq->event_idx) {
		ev = __atomic_load_n(used_event_ptr(vq), __ATOMIC_RELAXED);
		need = need_event(ev, vq->used_idx, old);
	} else {
		flags = __atomic_load_n((uint16_t *)vq->avail, __ATOMIC_RELAXED);
		need = old != vq->used_idx && !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	pthread_mutex_unlock(&vq->lock);
	return need;
}

bool vq_done_popping(struct virtqueue *vq)
{
	uint16_t avail;
	bool more;

	pthread_mutex_lock(&vq->lock);
	if (!vq->ready || vq->broken) {
		pthread_mutex_unlock(&vq->lock);
		return false;
	}
	if (vq->event_idx)
		__atomic_store_n(avail_event_ptr(vq), vq->last_avail, __ATOMIC_RELAXED);
	/* Publish avail_event before looking again, so a buffer added after
	 * our last look is either seen here or kicked (§2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail = __atomic_load_n(avail_idx_ptr(vq), __ATOMIC_ACQUIRE);
	more = avail != vq->last_avail;
	pthread_mutex_unlock(&vq->lock);
	return more;
}

uint32_t vq_chain_read(const struct vq_chain *c, uint32_t off, void *buf, uint32_t len)
{
	uint8_t *out = buf;
	uint32_t done = 0;
	int i;

	for (i = 0; i < c->nseg && done < len && !c->seg[i].writable; i++) {
		uint32_t sl = c->seg[i].len, n;

		if (off >= sl) {
			off -= sl;
			continue;
		}
		n = sl - off;
		if (n > len - done)
			n = len - done;
		memcpy(out + done, (uint8_t *)c->seg[i].base + off, n);
		done += n;
		off = 0;
	}
	return done;
}
