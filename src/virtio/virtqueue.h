/* Split virtqueues (virtio 1.2 §2.7) over guest memory.
 *
 * The transport sets the ring addresses and size and calls vq_enable(),
 * which checks them and translates the three rings once through gmem.  A
 * device then takes chains with vq_pop(), which walks and checks every
 * descriptor (SECURITY.md "Descriptor chains", "Ring indices") and returns
 * the buffers as host segments, and returns them with vq_push().  A chain
 * that breaks a rule makes vq_pop() fail with -EIO: the device is then
 * broken until reset, and nothing of that chain is used.
 *
 * Locking: a queue has its own mutex; vq_pop/vq_push/vq_kick_done take it,
 * so a device may pop on one thread and complete on others. */
#ifndef BHYVE_VIRTIO_VIRTQUEUE_H
#define BHYVE_VIRTIO_VIRTQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct gmem;

/* The largest queue we offer (a power of two <= 32768, §2.7). */
#define VQ_MAX_SIZE 256
/* Most segments one chain may have, indirect ones included. */
#define VQ_MAX_SEGS VQ_MAX_SIZE

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX	    29

/* Legacy ring layout (virtio 1.2 §2.7.2 "Legacy Interfaces"): the used ring
 * starts on the next 4096-byte boundary. */
#define VQ_LEGACY_ALIGN 4096

struct vq_seg {
	void *base; /* host address of the whole buffer, inside guest RAM */
	uint32_t len;
	bool writable;
};

struct vq_chain {
	uint16_t head; /* descriptor index to give back in the used ring */
	int nseg;
	uint32_t nread;	 /* bytes in device-readable segments */
	uint32_t nwrite; /* bytes in device-writable segments */
	struct vq_seg seg[VQ_MAX_SEGS];
};

struct virtqueue {
	pthread_mutex_t lock;
	const struct gmem *mem;
	const char *name; /* for the one message a broken queue logs */
	/* Set by the transport while the queue is disabled. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t msix_vector;
	/* Set by vq_enable. */
	bool ready;
	void *desc, *avail, *used;
	uint16_t last_avail;	 /* next avail entry to take */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last notification check */
	bool broken;
};

/* Zero the queue and set its defaults (size VQ_MAX_SIZE, no vector). */
int vq_init(struct virtqueue *vq, const struct gmem *mem);
void vq_destroy(struct virtqueue *vq);
/* Back to the just-initialised state (device reset); the caller makes sure
 * no request is in flight. */
void vq_reset(struct virtqueue *vq);
/* Check size and addresses, translate the rings: 0 or -EINVAL. */
int vq_enable(struct virtqueue *vq);
/* Legacy: rings laid out contiguously from pfn * 4096 (§2.7.2 legacy). */
int vq_set_legacy_pfn(struct virtqueue *vq, uint32_t pfn);
/* 1 a chain was taken, 0 none available, -EIO the guest broke a rule
 * (logged once; the queue then stays broken), -EINVAL not ready. */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* Give head back with len bytes written; 0 or -EINVAL (not ready). */
int vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* After a batch of vq_push: whether the driver wants an interrupt now
 * (§2.7.10, event index or VIRTQ_AVAIL_F_NO_INTERRUPT). */
bool vq_need_interrupt(struct virtqueue *vq);
/* After draining: publish avail_event and say whether more arrived in the
 * meantime (then pop again) — §2.7.10 "Driver notifications". */
bool vq_done_popping(struct virtqueue *vq);

/* Bytes copied from the readable segments starting at byte off, into buf
 * (at most len). */
uint32_t vq_chain_read(const struct vq_chain *c, uint32_t off, void *buf, uint32_t len);

#endif
