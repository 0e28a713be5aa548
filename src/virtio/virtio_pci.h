/* The virtio PCI transport (virtio 1.2 §4.1), shared by the virtio device
 * models.  A device is transitional: the legacy interface in I/O BAR 0 (the
 * virtio 0.9.5 layout bhyve offers) and the modern one through vendor
 * capabilities pointing into memory BAR 4; the guest's driver chooses.
 * Interrupts: MSI-X (one vector per queue plus one for configuration
 * changes) on BAR 1, or a single MSI when the config key virtio_msix is
 * false (bhyve -W), or INTx with the read-to-clear ISR register.
 *
 * A device model fills a struct virtio_dev_ops, calls virtio_pci_init()
 * from its PCI init and points its pci_devemu's barread/barwrite at
 * virtio_pci_barread/virtio_pci_barwrite. */
#ifndef BHYVE_VIRTIO_VIRTIO_PCI_H
#define BHYVE_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

struct config;
struct pci_devinst;
struct virtio_pci;

#define VIRTIO_VENDOR 0x1af4

/* Device types (virtio 1.2 §5) and the transitional PCI device IDs of
 * §4.1.2.3. */
#define VIRTIO_ID_BLOCK		 2
#define VIRTIO_ID_ENTROPY	 4
#define VIRTIO_PCI_DEVID_BLOCK	 0x1001
#define VIRTIO_PCI_DEVID_ENTROPY 0x1005

/* Feature bits of §6. */
#define VIRTIO_F_VERSION_1 32

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER	  0x02
#define VIRTIO_STATUS_DRIVER_OK	  0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

#define VIRTIO_MSI_NO_VECTOR 0xffff

struct virtio_dev_ops {
	const char *name;
	uint16_t device_type;
	uint16_t pci_devid; /* transitional PCI device ID */
	uint8_t pci_class, pci_subclass;
	int nqueues;
	uint32_t cfg_size; /* bytes of device configuration */
	/* Features offered (device-specific and ring bits; VERSION_1 is
	 * added for the modern interface by the transport). */
	uint64_t features;
	/* Queue q was kicked.  Called with the transport's lock held, so it
	 * never runs together with reset. */
	void (*notify)(void *dev, int q);
	/* Reset: return only when no request touches a queue or guest memory
	 * any more.  Transport lock held. */
	void (*reset)(void *dev);
	/* Device configuration, off + size <= cfg_size, size 1, 2 or 4. */
	uint32_t (*cfgread)(void *dev, uint32_t off, int size);
	void (*cfgwrite)(void *dev, uint32_t off, int size, uint32_t val);
};

/* From the device's PCI init: identity, BARs, capabilities, interrupts.
 * node is the function's configuration node; the root key virtio_msix
 * selects MSI-X (default) or MSI. */
int virtio_pci_init(struct pci_devinst *pi, const struct config *cfg,
		    const struct virtio_dev_ops *ops, void *dev, struct virtio_pci **out);
void virtio_pci_free(struct virtio_pci *vp);
void *virtio_pci_dev(const struct virtio_pci *vp);
const char *virtio_pci_name(const struct virtio_pci *vp);
struct virtqueue *virtio_pci_queue(struct virtio_pci *vp, int q);
/* Features the driver accepted. */
uint64_t virtio_pci_negotiated(const struct virtio_pci *vp);
/* Used-ring interrupt for queue q (any thread; no transport lock taken). */
void virtio_pci_queue_interrupt(struct virtio_pci *vp, int q);
/* Device configuration changed: bump the generation, interrupt. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* The guest broke the protocol: DEVICE_NEEDS_RESET and a configuration
 * interrupt (§2.1.2). Any thread. */
void virtio_pci_set_broken(struct virtio_pci *vp);

uint64_t virtio_pci_barread(struct pci_devinst *pi, int bar, uint64_t off, int size);
void virtio_pci_barwrite(struct pci_devinst *pi, int bar, uint64_t off, int size, uint64_t val);

#endif
