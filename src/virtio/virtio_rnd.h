/* virtio-rnd (virtio 1.2 §5.4).  The device registers itself as the PCI
 * emulation "virtio-rnd"; this header only exposes its queue handler for
 * unit tests. */
#ifndef BHYVE_VIRTIO_VIRTIO_RND_H
#define BHYVE_VIRTIO_VIRTIO_RND_H

#include <stdbool.h>

#include "virtio/virtqueue.h"

/* Fill every available buffer of vq with random bytes.  *interrupt says
 * whether the driver wants an interrupt.  0, or -EIO when the guest broke
 * the ring (the device then needs reset). */
int vrnd_process(struct virtqueue *vq, struct vq_chain *c, bool *interrupt);

#endif
