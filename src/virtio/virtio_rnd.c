/* virtio-rnd: the entropy device (virtio 1.2 §5.4), bhyve's "virtio-rnd".
 * One request queue; each buffer the driver offers is filled from the
 * host's getrandom(2), never beyond the writable bytes the guest supplied
 * (the Firecracker advisory in SECURITY.md). */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "pci/pci_emul.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_rnd.h"

struct vrnd {
	struct virtio_pci *vp;
	struct vq_chain chain;
};

static uint32_t fill_random(struct vq_chain *c)
{
	uint32_t total = 0;
	int i;

	for (i = 0; i < c->nseg; i++) {
		uint8_t *p = c->seg[i].base;
		uint32_t left = c->seg[i].len;

		if (!c->seg[i].writable)
			continue;
		while (left) {
			ssize_t n = getrandom(p, left, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return total;
			p += n;
			left -= (uint32_t)n;
			total += (uint32_t)n;
		}
	}
	return total;
}

int vrnd_process(struct virtqueue *vq, struct vq_chain *c, bool *interrupt)
{
	int rc;

	*interrupt = false;
	do {
		while ((rc = vq_pop(vq, c)) == 1)
			vq_push(vq, c->head, fill_random(c));
		if (rc < 0)
			break;
	} while (vq_done_popping(vq));
	*interrupt = vq_need_interrupt(vq);
	return rc < 0 ? rc : 0;
}

static void vrnd_notify(void *dev, int q)
{
	struct vrnd *sc = dev;
	bool irq;
	int rc;

	rc = vrnd_process(virtio_pci_queue(sc->vp, q), &sc->chain, &irq);
	if (irq)
		virtio_pci_queue_interrupt(sc->vp, q);
	if (rc == -EIO)
		virtio_pci_set_broken(sc->vp);
}

static const struct virtio_dev_ops vrnd_ops = {
	.name = "virtio-rnd",
	.device_type = VIRTIO_ID_ENTROPY,
	.pci_devid = VIRTIO_PCI_DEVID_ENTROPY,
	.pci_class = 0xff, /* "unassigned class": the entropy device has none */
	.pci_subclass = 0,
	.nqueues = 1,
	.cfg_size = 0,
	.features = (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX),
	.notify = vrnd_notify,
};

static int vrnd_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	struct vrnd *sc = calloc(1, sizeof(*sc));
	int rc;

	(void)node;
	if (!sc)
		return -ENOMEM;
	rc = virtio_pci_init(pi, cfg, &vrnd_ops, sc, &sc->vp);
	if (rc < 0 && !pci_get_arg(pi))
		free(sc);
	return rc;
}

static void vrnd_deinit(struct pci_devinst *pi)
{
	struct virtio_pci *vp = pci_get_arg(pi);

	if (!vp)
		return;
	free(virtio_pci_dev(vp));
	virtio_pci_free(vp);
}

/* Not static: a unit test names it to pull this object out of the static
 * library. */
const struct pci_devemu pci_de_virtio_rnd = {
	.name = "virtio-rnd",
	.init = vrnd_init,
	.deinit = vrnd_deinit,
	.barread = virtio_pci_barread,
	.barwrite = virtio_pci_barwrite,
};
PCI_EMUL_REGISTER(pci_de_virtio_rnd);
