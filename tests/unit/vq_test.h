/* Helpers shared by the virtio unit tests: a malloc-backed guest memory and
 * a driver side that builds split rings in it (virtio 1.2 §2.7). */
#ifndef BHYVE_TESTS_VQ_TEST_H
#define BHYVE_TESTS_VQ_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "virtio/virtqueue.h"

#define T_RAM_GPA  0x100000ull
#define T_RAM_SIZE (1u << 20)
#define T_DESC	   (T_RAM_GPA + 0x1000)
#define T_AVAIL	   (T_RAM_GPA + 0x2000)
#define T_USED	   (T_RAM_GPA + 0x3000)
#define T_INDIRECT (T_RAM_GPA + 0x8000)
#define T_BUF	   (T_RAM_GPA + 0x10000)
#define T_RAM_END  (T_RAM_GPA + T_RAM_SIZE)

struct vqt {
	struct gmem mem;
	uint8_t *ram;
	struct virtqueue vq;
	uint16_t avail_idx;
};

static inline uint8_t *vqt_host(struct vqt *t, uint64_t gpa)
{
	return t->ram + (gpa - T_RAM_GPA);
}

static inline void vqt_put16(struct vqt *t, uint64_t gpa, uint16_t v)
{
	memcpy(vqt_host(t, gpa), &v, 2);
}

static inline uint16_t vqt_get16(struct vqt *t, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, vqt_host(t, gpa), 2);
	return v;
}

static inline uint32_t vqt_get32(struct vqt *t, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, vqt_host(t, gpa), 4);
	return v;
}

/* A queue of size entries over fresh memory, enabled. */
static inline struct vqt *vqt_new(uint16_t size, bool indirect, bool event_idx)
{
	struct vqt *t = calloc(1, sizeof(*t));

	t->ram = calloc(1, T_RAM_SIZE);
	gmem_add_region(&t->mem, T_RAM_GPA, T_RAM_SIZE, t->ram);
	vq_init(&t->vq, &t->mem);
	t->vq.size = size;
	t->vq.desc_gpa = T_DESC;
	t->vq.avail_gpa = T_AVAIL;
	t->vq.used_gpa = T_USED;
	t->vq.indirect = indirect;
	t->vq.event_idx = event_idx;
	if (vq_enable(&t->vq) != 0) {
		free(t->ram);
		free(t);
		return NULL;
	}
	return t;
}

static inline void vqt_free(struct vqt *t)
{
	vq_destroy(&t->vq);
	free(t->ram);
	free(t);
}

/* Write descriptor i of the table at table_gpa. */
static inline void vqt_desc_at(struct vqt *t, uint64_t table_gpa, unsigned i, uint64_t addr,
			       uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = vqt_host(t, table_gpa + 16ull * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static inline void vqt_desc(struct vqt *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			    uint16_t next)
{
	vqt_desc_at(t, T_DESC, i, addr, len, flags, next);
}

/* Offer head in the available ring. */
static inline void vqt_offer(struct vqt *t, uint16_t head)
{
	vqt_put16(t, T_AVAIL + 4 + 2ull * (t->avail_idx % t->vq.size), head);
	t->avail_idx++;
	vqt_put16(t, T_AVAIL + 2, t->avail_idx);
}

static inline uint16_t vqt_used_idx(struct vqt *t)
{
	return vqt_get16(t, T_USED + 2);
}

/* id and len of used element n. */
static inline uint32_t vqt_used_id(struct vqt *t, unsigned n)
{
	return vqt_get32(t, T_USED + 4 + 8ull * (n % t->vq.size));
}

static inline uint32_t vqt_used_len(struct vqt *t, unsigned n)
{
	return vqt_get32(t, T_USED + 8 + 8ull * (n % t->vq.size));
}

#endif
