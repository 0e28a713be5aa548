/* virtio-blk (virtio 1.2 §5.2).  The PCI device registers itself as
 * "virtio-blk"; this header exposes the request engine, which is
 * transport-free, for unit tests. */
#ifndef BHYVE_VIRTIO_VIRTIO_BLK_H
#define BHYVE_VIRTIO_VIRTIO_BLK_H

#include <stdint.h>

#include "virtio/virtqueue.h"

struct blockif;
struct vblk;

#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VBLK_CFG_SIZE	    60

/* The engine over an open back end; serial is up to 20 bytes (NULL: one
 * derived from the image's identity).  irq(arg, q) is called after
 * completions the driver wants to hear about (any thread). */
int vblk_new(struct blockif *bif, const char *serial, void (*irq)(void *arg, int q), void *arg,
	     struct vblk **out);
/* Waits for requests in flight; does not close the back end. */
void vblk_free(struct vblk *sc);
uint64_t vblk_features(const struct vblk *sc);
/* The device configuration (§5.2.4), VBLK_CFG_SIZE bytes. */
const uint8_t *vblk_config(const struct vblk *sc);
/* Take every available request of queue q and start it.  0, or -EIO when
 * the guest broke the ring (the device then needs reset). */
int vblk_process(struct vblk *sc, struct virtqueue *vq, int q);
/* Return once no request is in flight. */
void vblk_drain(struct vblk *sc);

#endif
