/* The virtio PCI transport, virtio 1.2 §4.1: a transitional device with
 * both the legacy I/O-port interface (§4.1.4.8, the virtio 0.9.5 layout)
 * and the modern capability-based one (§4.1.4).
 *
 * Modern BAR 4 (memory) layout, one region per page:
 *   0x0000 common configuration (§4.1.4.3)
 *   0x1000 ISR status (§4.1.4.5)
 *   0x2000 device configuration (§4.1.4.6)
 *   0x3000 notifications, one 4-byte slot per queue (§4.1.4.4)
 *
 * Locking: vp->lock serialises register accesses, queue notifications and
 * reset; interrupts take only isr_lock, so a device may raise them from
 * its I/O threads while a reset holding vp->lock waits for those threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "config.h"
#include "le.h"
#include "log.h"
#include "mevent.h"
#include "pci/pci_emul.h"
#include "virtio/virtio_pci.h"

#define LEGACY_BAR 0
#define MSIX_BAR   1
#define MODERN_BAR 4

/* Legacy registers (§4.1.4.8). */
#define LEG_HOST_FEATURES  0
#define LEG_GUEST_FEATURES 4
#define LEG_QUEUE_PFN	   8
#define LEG_QUEUE_NUM	   12
#define LEG_QUEUE_SEL	   14
#define LEG_QUEUE_NOTIFY   16
#define LEG_STATUS	   18
#define LEG_ISR		   19
#define LEG_CONFIG_VECTOR  20
#define LEG_QUEUE_VECTOR   22
#define LEG_HDR		   20
#define LEG_HDR_MSIX	   24

/* Modern capability types (§4.1.4). */
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR    3
#define VIRTIO_PCI_CAP_DEVICE 4
#define PCI_CAP_VENDOR	      0x09

#define MOD_COMMON_OFF	0x0000
#define MOD_COMMON_LEN	0x40
#define MOD_ISR_OFF	0x1000
#define MOD_ISR_LEN	4
#define MOD_DEVICE_OFF	0x2000
#define MOD_NOTIFY_OFF	0x3000
#define MOD_NOTIFY_MULT 4
#define MOD_BAR_SIZE	0x4000

/* Common configuration fields (§4.1.4.3). */
#define CC_DFSELECT  0
#define CC_DF	     4
#define CC_GFSELECT  8
#define CC_GF	     12
#define CC_MSIX	     16
#define CC_NUMQ	     18
#define CC_STATUS    20
#define CC_CFGGEN    21
#define CC_Q_SELECT  22
#define CC_Q_SIZE    24
#define CC_Q_MSIX    26
#define CC_Q_ENABLE  28
#define CC_Q_NOFF    30
#define CC_Q_DESCLO  32
#define CC_Q_DESCHI  36
#define CC_Q_AVAILLO 40
#define CC_Q_AVAILHI 44
#define CC_Q_USEDLO  48
#define CC_Q_USEDHI  52

#define ISR_QUEUE  0x1
#define ISR_CONFIG 0x2

struct virtio_pci {
	struct pci_devinst *pi;
	const struct virtio_dev_ops *ops;
	void *dev;
	pthread_mutex_t lock;
	pthread_mutex_t isr_lock;
	bool use_msix;
	int nvec;
	uint64_t dev_features; /* offered, VERSION_1 included */
	uint64_t drv_features;
	uint32_t dfselect, gfselect;
	uint8_t status; /* atomic: set_broken may run without lock */
	uint8_t isr;	/* under isr_lock */
	uint8_t cfg_gen;
	uint16_t queue_sel;
	uint16_t config_vector;
	struct virtqueue *vq;
	/* ioeventfd/irqfd (optional): set up at DRIVER_OK, dropped at reset;
	 * the eventfds themselves live as long as the transport. */
	struct vp_kick *kick; /* per queue */
	int *irq_fd;	      /* per MSI-X vector, -1 */
	bool *irq_on;	      /* atomic: irq_fd[v] is attached */
};

/* A queue's notifications through an eventfd serviced on the main loop. */
struct vp_kick {
	struct virtio_pci *vp;
	unsigned q;
	int fd;
	struct mevent *ev;
	bool leg, mod; /* registered at the legacy / modern notify address */
};

void *virtio_pci_dev(const struct virtio_pci *vp)
{
	return vp->dev;
}

const char *virtio_pci_name(const struct virtio_pci *vp)
{
	return pci_name(vp->pi);
}

struct virtqueue *virtio_pci_queue(struct virtio_pci *vp, int q)
{
	return q >= 0 && q < vp->ops->nqueues ? &vp->vq[q] : NULL;
}

uint64_t virtio_pci_negotiated(const struct virtio_pci *vp)
{
	return __atomic_load_n(&vp->drv_features, __ATOMIC_RELAXED);
}

/* ---- Interrupts ---- */

static bool msix_on(struct virtio_pci *vp)
{
	return vp->use_msix && pci_msix_enabled(vp->pi);
}

/* MSI-X vector through its irqfd when one is attached: no ioctl, and
 * KVM injects it (or keeps it counted while the vector is masked). */
static bool irqfd_raise(struct virtio_pci *vp, uint16_t vector)
{
	uint64_t one = 1;

	if (!vp->irq_on || vector >= vp->nvec ||
	    !__atomic_load_n(&vp->irq_on[vector], __ATOMIC_ACQUIRE))
		return false;
	return write(vp->irq_fd[vector], &one, sizeof(one)) == sizeof(one);
}

static void vp_raise(struct virtio_pci *vp, uint16_t vector, uint8_t bit)
{
	if (msix_on(vp)) {
		if (vector != VIRTIO_MSI_NO_VECTOR && !irqfd_raise(vp, vector))
			pci_generate_msix(vp->pi, vector);
		return;
	}
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= bit;
	if (pci_msi_enabled(vp->pi))
		pci_generate_msi(vp->pi, 0);
	else
		pci_lintr_assert(vp->pi);
	pthread_mutex_unlock(&vp->isr_lock);
}

/* §4.1.4.5: reading the ISR clears it and deasserts INTx. */
static uint8_t isr_read_clear(struct virtio_pci *vp)
{
	uint8_t v;

	pthread_mutex_lock(&vp->isr_lock);
	v = vp->isr;
	vp->isr = 0;
	pci_lintr_deassert(vp->pi);
	pthread_mutex_unlock(&vp->isr_lock);
	return v;
}

void virtio_pci_queue_interrupt(struct virtio_pci *vp, int q)
{
	if (q < 0 || q >= vp->ops->nqueues)
		return;
	vp_raise(vp, __atomic_load_n(&vp->vq[q].msix_vector, __ATOMIC_RELAXED), ISR_QUEUE);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	__atomic_fetch_add(&vp->cfg_gen, 1, __ATOMIC_RELAXED);
	vp_raise(vp, __atomic_load_n(&vp->config_vector, __ATOMIC_RELAXED), ISR_CONFIG);
}

void virtio_pci_set_broken(struct virtio_pci *vp)
{
	uint8_t old = __atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_RELAXED);

	if (!(old & VIRTIO_STATUS_NEEDS_RESET))
		virtio_pci_config_changed(vp);
}

/* ---- ioeventfd and irqfd (vp->lock held) ---- */

static void queue_notify(struct virtio_pci *vp, unsigned q);

static void kick_cb(int fd, void *arg)
{
	struct vp_kick *k = arg;
	uint64_t n;

	/* Drain first: a kick arriving after this read is seen next time. */
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&k->vp->lock);
	queue_notify(k->vp, k->q);
	pthread_mutex_unlock(&k->vp->lock);
}

/* The transport's notify addresses for queue q signal the eventfd; any
 * failure leaves that address trapping, which does the same. */
static void kick_start(struct virtio_pci *vp, unsigned q)
{
	struct mevent_loop *loop = pci_loop(vp->pi);
	struct vp_kick *k = &vp->kick[q];

	if (!loop)
		return;
	if (k->fd < 0) {
		k->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (k->fd < 0)
			return;
		k->ev = mevent_add_read(loop, k->fd, kick_cb, k);
		if (!k->ev) {
			close(k->fd);
			k->fd = -1;
			return;
		}
	}
	if (!k->mod)
		k->mod = pci_ioeventfd(vp->pi, MODERN_BAR, MOD_NOTIFY_OFF + q * MOD_NOTIFY_MULT, 2,
				       false, 0, k->fd, true) == 0;
	if (!k->leg)
		k->leg = pci_ioeventfd(vp->pi, LEGACY_BAR, LEG_QUEUE_NOTIFY, 2, true, q, k->fd,
				       true) == 0;
}

static void kick_stop(struct virtio_pci *vp, unsigned q)
{
	struct vp_kick *k = &vp->kick[q];

	if (k->mod)
		pci_ioeventfd(vp->pi, MODERN_BAR, MOD_NOTIFY_OFF + q * MOD_NOTIFY_MULT, 2, false, 0,
			      k->fd, false);
	if (k->leg)
		pci_ioeventfd(vp->pi, LEGACY_BAR, LEG_QUEUE_NOTIFY, 2, true, q, k->fd, false);
	k->mod = k->leg = false;
}

static void irq_start(struct virtio_pci *vp, int v)
{
	uint64_t n;

	if (vp->irq_fd[v] < 0) {
		vp->irq_fd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vp->irq_fd[v] < 0)
			return;
	}
	/* Nothing left over from before a reset. */
	if (read(vp->irq_fd[v], &n, sizeof(n)) < 0)
		n = 0;
	if (pci_msix_irqfd(vp->pi, v, vp->irq_fd[v], true) == 0)
		__atomic_store_n(&vp->irq_on[v], true, __ATOMIC_RELEASE);
}

static void irq_stop(struct virtio_pci *vp, int v)
{
	if (!__atomic_load_n(&vp->irq_on[v], __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&vp->irq_on[v], false, __ATOMIC_RELEASE);
	pci_msix_irqfd(vp->pi, v, vp->irq_fd[v], false);
}

/* DRIVER_OK: the rings are set up and MSI-X (when used) is enabled. */
static void fds_start(struct virtio_pci *vp)
{
	int i, nkick = 0, nirq = 0;

	for (i = 0; i < vp->ops->nqueues; i++) {
		if (!vp->vq[i].ready)
			continue;
		kick_start(vp, (unsigned)i);
		nkick += vp->kick[i].mod || vp->kick[i].leg;
	}
	if (msix_on(vp)) {
		for (i = 0; i < vp->nvec; i++) {
			irq_start(vp, i);
			nirq += __atomic_load_n(&vp->irq_on[i], __ATOMIC_RELAXED);
		}
	}
	log_debug("%s: %d queue(s) notify by ioeventfd, %d MSI-X vector(s) by irqfd",
		  pci_name(vp->pi), nkick, nirq);
}

static void fds_stop(struct virtio_pci *vp)
{
	int i;

	for (i = 0; i < vp->ops->nqueues; i++)
		kick_stop(vp, (unsigned)i);
	for (i = 0; i < vp->nvec; i++)
		irq_stop(vp, i);
}

/* ---- Status, reset, queues (vp->lock held) ---- */

static void vp_reset(struct virtio_pci *vp)
{
	int i;

	fds_stop(vp);

	/* The device first stops touching the queues (§2.4, SECURITY.md
	 * "Re-entrancy"): only then are they forgotten. */
	if (vp->ops->reset)
		vp->ops->reset(vp->dev);
	for (i = 0; i < vp->ops->nqueues; i++)
		vq_reset(&vp->vq[i]);
	__atomic_store_n(&vp->drv_features, 0, __ATOMIC_RELAXED);
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	__atomic_store_n(&vp->config_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	__atomic_store_n(&vp->status, 0, __ATOMIC_RELAXED);
	isr_read_clear(vp);
}

static struct virtqueue *sel_queue(struct virtio_pci *vp)
{
	return virtio_pci_queue(vp, vp->queue_sel);
}

static void write_status(struct virtio_pci *vp, uint8_t v, bool modern)
{
	uint8_t old = __atomic_load_n(&vp->status, __ATOMIC_RELAXED);

	if (v == 0) {
		vp_reset(vp);
		return;
	}
	/* §3.1.1: FEATURES_OK sticks only for a subset of what we offered,
	 * and the modern interface needs VERSION_1 (§6.1). */
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = vp->drv_features;

		if ((f & ~vp->dev_features) || (modern && !(f & (1ull << VIRTIO_F_VERSION_1))))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	v = (uint8_t)((v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
	__atomic_store_n(&vp->status, v, __ATOMIC_RELAXED);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		fds_start(vp);
}

/* Ring options come from the features the driver accepted. */
static void queue_apply_features(struct virtio_pci *vp, struct virtqueue *vq)
{
	vq->event_idx = vp->drv_features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = vp->drv_features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
}

static void queue_enable(struct virtio_pci *vp, struct virtqueue *vq)
{
	pthread_mutex_lock(&vq->lock);
	queue_apply_features(vp, vq);
	pthread_mutex_unlock(&vq->lock);
	if (vq_enable(vq) < 0) {
		log_warnx("%s: queue %u: bad size or ring address", pci_name(vp->pi),
			  vp->queue_sel);
		virtio_pci_set_broken(vp);
	}
}

static void queue_notify(struct virtio_pci *vp, unsigned q)
{
	if (q >= (unsigned)vp->ops->nqueues || !vp->vq[q].ready)
		return;
	vp->ops->notify(vp->dev, (int)q);
}

static uint16_t checked_vector(struct virtio_pci *vp, uint32_t v)
{
	/* §4.1.5.1.2: a vector we cannot map reads back as NO_VECTOR. */
	return msix_on(vp) && v < (uint32_t)vp->nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static uint32_t dev_cfg_read(struct virtio_pci *vp, uint64_t off, int size)
{
	if (!vp->ops->cfgread || off + (uint64_t)size > vp->ops->cfg_size)
		return 0;
	return vp->ops->cfgread(vp->dev, (uint32_t)off, size);
}

static void dev_cfg_write(struct virtio_pci *vp, uint64_t off, int size, uint32_t val)
{
	if (vp->ops->cfgwrite && off + (uint64_t)size <= vp->ops->cfg_size)
		vp->ops->cfgwrite(vp->dev, (uint32_t)off, size, val);
}

/* ---- Legacy interface (§4.1.4.8) ---- */

static unsigned legacy_hdr(struct virtio_pci *vp)
{
	return msix_on(vp) ? LEG_HDR_MSIX : LEG_HDR;
}

static uint32_t legacy_read(struct virtio_pci *vp, uint64_t off, int size)
{
	struct virtqueue *vq = sel_queue(vp);
	unsigned hdr = legacy_hdr(vp);

	if (off >= hdr)
		return dev_cfg_read(vp, off - hdr, size);
	switch (off) {
	case LEG_HOST_FEATURES:
		return (uint32_t)vp->dev_features;
	case LEG_GUEST_FEATURES:
		return (uint32_t)vp->drv_features;
	case LEG_QUEUE_PFN:
		return vq && vq->ready ? (uint32_t)(vq->desc_gpa / VQ_LEGACY_ALIGN) : 0;
	case LEG_QUEUE_NUM:
		return vq ? VQ_MAX_SIZE : 0;
	case LEG_QUEUE_SEL:
		return vp->queue_sel;
	case LEG_STATUS:
		return __atomic_load_n(&vp->status, __ATOMIC_RELAXED);
	case LEG_ISR:
		return isr_read_clear(vp);
	case LEG_CONFIG_VECTOR:
		return vp->config_vector;
	case LEG_QUEUE_VECTOR:
		return vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
	default:
		return 0;
	}
}

static void legacy_write(struct virtio_pci *vp, uint64_t off, int size, uint32_t val)
{
	struct virtqueue *vq = sel_queue(vp);
	unsigned hdr = legacy_hdr(vp);

	if (off >= hdr) {
		dev_cfg_write(vp, off - hdr, size, val);
		return;
	}
	switch (off) {
	case LEG_GUEST_FEATURES:
		/* The legacy register holds bits 0-31; VERSION_1 never fits. */
		__atomic_store_n(&vp->drv_features, val & vp->dev_features & 0xffffffffull,
				 __ATOMIC_RELAXED);
		break;
	case LEG_QUEUE_PFN:
		if (!vq)
			break;
		if (val == 0) {
			vq_reset(vq);
			break;
		}
		queue_apply_features(vp, vq);
		vq->size = VQ_MAX_SIZE;
		if (vq_set_legacy_pfn(vq, val) < 0) {
			log_warnx("%s: queue %u: ring outside guest RAM", pci_name(vp->pi),
				  vp->queue_sel);
			virtio_pci_set_broken(vp);
		}
		break;
	case LEG_QUEUE_SEL:
		vp->queue_sel = (uint16_t)val;
		break;
	case LEG_QUEUE_NOTIFY:
		queue_notify(vp, val & 0xffff);
		break;
	case LEG_STATUS:
		write_status(vp, (uint8_t)val, false);
		break;
	case LEG_CONFIG_VECTOR:
		__atomic_store_n(&vp->config_vector, checked_vector(vp, val & 0xffff),
				 __ATOMIC_RELAXED);
		break;
	case LEG_QUEUE_VECTOR:
		if (vq)
			__atomic_store_n(&vq->msix_vector, checked_vector(vp, val & 0xffff),
					 __ATOMIC_RELAXED);
		break;
	default:
		break;
	}
}

/* ---- Modern interface (§4.1.4) ---- */

/* The common configuration as the guest would see it now. */
static void common_snapshot(struct virtio_pci *vp, uint8_t *b)
{
	struct virtqueue *vq = sel_queue(vp);

	memset(b, 0, MOD_COMMON_LEN);
	le32_put(b + CC_DFSELECT, vp->dfselect);
	if (vp->dfselect < 2)
		le32_put(b + CC_DF, vp->dev_features >> (32 * vp->dfselect));
	le32_put(b + CC_GFSELECT, vp->gfselect);
	if (vp->gfselect < 2)
		le32_put(b + CC_GF, vp->drv_features >> (32 * vp->gfselect));
	le16_put(b + CC_MSIX, vp->config_vector);
	le16_put(b + CC_NUMQ, (uint16_t)vp->ops->nqueues);
	b[CC_STATUS] = __atomic_load_n(&vp->status, __ATOMIC_RELAXED);
	b[CC_CFGGEN] = __atomic_load_n(&vp->cfg_gen, __ATOMIC_RELAXED);
	le16_put(b + CC_Q_SELECT, vp->queue_sel);
	if (!vq)
		return;
	le16_put(b + CC_Q_SIZE, vq->size);
	le16_put(b + CC_Q_MSIX, vq->msix_vector);
	le16_put(b + CC_Q_ENABLE, vq->ready);
	le16_put(b + CC_Q_NOFF, vp->queue_sel);
	le64_put(b + CC_Q_DESCLO, vq->desc_gpa);
	le64_put(b + CC_Q_AVAILLO, vq->avail_gpa);
	le64_put(b + CC_Q_USEDLO, vq->used_gpa);
}

static uint32_t common_read(struct virtio_pci *vp, uint64_t off, int size)
{
	uint8_t b[MOD_COMMON_LEN];

	if (off + (uint64_t)size > MOD_COMMON_LEN)
		return 0;
	common_snapshot(vp, b);
	return (uint32_t)le_get(b + off, (unsigned)size);
}

static void set_addr_half(uint64_t *a, bool hi, uint32_t val)
{
	if (hi)
		*a = (*a & 0xffffffffull) | ((uint64_t)val << 32);
	else
		*a = (*a & ~0xffffffffull) | val;
}

static void common_queue_write(struct virtio_pci *vp, uint64_t off, uint32_t val)
{
	struct virtqueue *vq = sel_queue(vp);

	if (!vq)
		return;
	if (off == CC_Q_MSIX) {
		__atomic_store_n(&vq->msix_vector, checked_vector(vp, val), __ATOMIC_RELAXED);
		return;
	}
	/* §4.1.4.3.2: the ring set-up is written only while disabled. */
	if (vq->ready)
		return;
	pthread_mutex_lock(&vq->lock);
	switch (off) {
	case CC_Q_SIZE:
		vq->size = (uint16_t)val;
		break;
	case CC_Q_DESCLO:
	case CC_Q_DESCHI:
		set_addr_half(&vq->desc_gpa, off == CC_Q_DESCHI, val);
		break;
	case CC_Q_AVAILLO:
	case CC_Q_AVAILHI:
		set_addr_half(&vq->avail_gpa, off == CC_Q_AVAILHI, val);
		break;
	case CC_Q_USEDLO:
	case CC_Q_USEDHI:
		set_addr_half(&vq->used_gpa, off == CC_Q_USEDHI, val);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&vq->lock);
	if (off == CC_Q_ENABLE && val == 1)
		queue_enable(vp, vq);
}

/* Each field is written whole, at its own width (§4.1.3.1); 64-bit
 * addresses arrive as two 32-bit halves. */
static int field_width(uint64_t off)
{
	switch (off) {
	case CC_DFSELECT:
	case CC_GFSELECT:
	case CC_GF:
	case CC_Q_DESCLO:
	case CC_Q_DESCHI:
	case CC_Q_AVAILLO:
	case CC_Q_AVAILHI:
	case CC_Q_USEDLO:
	case CC_Q_USEDHI:
		return 4;
	case CC_MSIX:
	case CC_Q_SELECT:
	case CC_Q_SIZE:
	case CC_Q_MSIX:
	case CC_Q_ENABLE:
		return 2;
	case CC_STATUS:
		return 1;
	default:
		return 0;
	}
}

static void common_write(struct virtio_pci *vp, uint64_t off, int size, uint32_t val)
{
	uint64_t f;

	if (field_width(off) != size)
		return;
	switch (off) {
	case CC_DFSELECT:
		vp->dfselect = val;
		break;
	case CC_GFSELECT:
		vp->gfselect = val;
		break;
	case CC_GF:
		if (vp->gfselect >= 2)
			break;
		f = vp->drv_features;
		set_addr_half(&f, vp->gfselect == 1, val);
		__atomic_store_n(&vp->drv_features, f, __ATOMIC_RELAXED);
		break;
	case CC_MSIX:
		__atomic_store_n(&vp->config_vector, checked_vector(vp, val), __ATOMIC_RELAXED);
		break;
	case CC_STATUS:
		write_status(vp, (uint8_t)val, true);
		break;
	case CC_Q_SELECT:
		vp->queue_sel = (uint16_t)val;
		break;
	default:
		common_queue_write(vp, off, val);
		break;
	}
}

static uint32_t modern_read(struct virtio_pci *vp, uint64_t off, int size)
{
	if (off < MOD_COMMON_OFF + MOD_COMMON_LEN)
		return common_read(vp, off - MOD_COMMON_OFF, size);
	if (off >= MOD_ISR_OFF && off < MOD_ISR_OFF + MOD_ISR_LEN)
		return off == MOD_ISR_OFF ? isr_read_clear(vp) : 0;
	if (off >= MOD_DEVICE_OFF && off < MOD_NOTIFY_OFF)
		return dev_cfg_read(vp, off - MOD_DEVICE_OFF, size);
	return 0;
}

static void modern_write(struct virtio_pci *vp, uint64_t off, int size, uint32_t val)
{
	if (off < MOD_COMMON_OFF + MOD_COMMON_LEN)
		common_write(vp, off - MOD_COMMON_OFF, size, val);
	else if (off >= MOD_DEVICE_OFF && off < MOD_NOTIFY_OFF)
		dev_cfg_write(vp, off - MOD_DEVICE_OFF, size, val);
	else if (off >= MOD_NOTIFY_OFF)
		queue_notify(vp, (unsigned)((off - MOD_NOTIFY_OFF) / MOD_NOTIFY_MULT));
}

/* ---- BAR dispatch ---- */

uint64_t virtio_pci_barread(struct pci_devinst *pi, int bar, uint64_t off, int size)
{
	struct virtio_pci *vp = pci_get_arg(pi);
	uint32_t v;

	if (!vp || (bar != LEGACY_BAR && bar != MODERN_BAR))
		return ~0ull;
	pthread_mutex_lock(&vp->lock);
	v = bar == LEGACY_BAR ? legacy_read(vp, off, size) : modern_read(vp, off, size);
	pthread_mutex_unlock(&vp->lock);
	return v;
}

void virtio_pci_barwrite(struct pci_devinst *pi, int bar, uint64_t off, int size, uint64_t val)
{
	struct virtio_pci *vp = pci_get_arg(pi);

	if (!vp || (bar != LEGACY_BAR && bar != MODERN_BAR))
		return;
	pthread_mutex_lock(&vp->lock);
	if (bar == LEGACY_BAR)
		legacy_write(vp, off, size, (uint32_t)val);
	else
		modern_write(vp, off, size, (uint32_t)val);
	pthread_mutex_unlock(&vp->lock);
}

/* ---- Set-up ---- */

static int add_vendor_cap(struct pci_devinst *pi, uint8_t type, uint32_t off, uint32_t len,
			  bool notify)
{
	uint8_t c[20];
	int n = notify ? 20 : 16;

	memset(c, 0, sizeof(c));
	c[0] = PCI_CAP_VENDOR;
	c[2] = (uint8_t)n; /* cap_len */
	c[3] = type;
	c[4] = MODERN_BAR;
	le32_put(c + 8, off);
	le32_put(c + 12, len);
	if (notify)
		le32_put(c + 16, MOD_NOTIFY_MULT);
	return pci_add_capability(pi, c, n);
}

static int setup_modern(struct virtio_pci *vp)
{
	struct pci_devinst *pi = vp->pi;
	uint32_t nlen = (uint32_t)vp->ops->nqueues * MOD_NOTIFY_MULT;
	int rc;

	rc = pci_emul_alloc_bar(pi, MODERN_BAR, PCI_BAR_MEM64, MOD_BAR_SIZE, 0);
	if (rc)
		return rc;
	if ((rc = add_vendor_cap(pi, VIRTIO_PCI_CAP_COMMON, MOD_COMMON_OFF, MOD_COMMON_LEN,
				 false)) < 0 ||
	    (rc = add_vendor_cap(pi, VIRTIO_PCI_CAP_ISR, MOD_ISR_OFF, MOD_ISR_LEN, false)) < 0 ||
	    (rc = add_vendor_cap(pi, VIRTIO_PCI_CAP_NOTIFY, MOD_NOTIFY_OFF, nlen, true)) < 0)
		return rc;
	if (vp->ops->cfg_size) {
		rc = add_vendor_cap(pi, VIRTIO_PCI_CAP_DEVICE, MOD_DEVICE_OFF, vp->ops->cfg_size,
				    false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int setup_pci(struct virtio_pci *vp, const struct config *cfg)
{
	struct pci_devinst *pi = vp->pi;
	const struct virtio_dev_ops *ops = vp->ops;
	bool msix = true;
	int rc;

	pci_set_cfgdata16(pi, PCI_REG_VENDOR, VIRTIO_VENDOR);
	pci_set_cfgdata16(pi, PCI_REG_DEVICE, ops->pci_devid);
	/* §4.1.2.1: transitional devices have revision 0 and the device type
	 * as subsystem ID. */
	pci_set_cfgdata8(pi, PCI_REG_REVID, 0);
	pci_set_cfgdata8(pi, PCI_REG_CLASS, ops->pci_class);
	pci_set_cfgdata8(pi, PCI_REG_SUBCLASS, ops->pci_subclass);
	pci_set_cfgdata16(pi, PCI_REG_SUBVENDOR, VIRTIO_VENDOR);
	pci_set_cfgdata16(pi, PCI_REG_SUBSYSTEM, ops->device_type);
	if (config_get_bool(cfg, "virtio_msix", true, &msix) < 0)
		return -EINVAL;
	vp->use_msix = msix;
	vp->nvec = ops->nqueues + 1;
	rc = pci_emul_alloc_bar(pi, LEGACY_BAR, PCI_BAR_IO, LEG_HDR_MSIX + ops->cfg_size, 0);
	if (rc)
		return rc;
	rc = msix ? pci_emul_add_msixcap(pi, vp->nvec, MSIX_BAR) : pci_emul_add_msicap(pi, 1);
	if (rc < 0)
		return rc;
	rc = setup_modern(vp);
	if (rc)
		return rc;
	return pci_lintr_request(pi);
}

int virtio_pci_init(struct pci_devinst *pi, const struct config *cfg,
		    const struct virtio_dev_ops *ops, void *dev, struct virtio_pci **out)
{
	struct virtio_pci *vp;
	int i, rc;

	if (ops->nqueues < 1 || ops->nqueues > 64 || LEG_HDR_MSIX + ops->cfg_size > 256)
		return -EINVAL;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->vq = calloc((size_t)ops->nqueues, sizeof(*vp->vq));
	vp->kick = calloc((size_t)ops->nqueues, sizeof(*vp->kick));
	vp->irq_fd = calloc((size_t)ops->nqueues + 1, sizeof(*vp->irq_fd));
	vp->irq_on = calloc((size_t)ops->nqueues + 1, sizeof(*vp->irq_on));
	if (!vp->vq || !vp->kick || !vp->irq_fd || !vp->irq_on) {
		free(vp->vq);
		free(vp->kick);
		free(vp->irq_fd);
		free(vp->irq_on);
		free(vp);
		return -ENOMEM;
	}
	for (i = 0; i < ops->nqueues; i++)
		vp->kick[i] = (struct vp_kick){ .vp = vp, .q = (unsigned)i, .fd = -1 };
	for (i = 0; i < ops->nqueues + 1; i++)
		vp->irq_fd[i] = -1;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->isr_lock, NULL);
	vp->pi = pi;
	vp->ops = ops;
	vp->dev = dev;
	vp->dev_features = ops->features | (1ull << VIRTIO_F_VERSION_1);
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < ops->nqueues; i++) {
		vq_init(&vp->vq[i], pci_gmem(pi));
		vp->vq[i].name = pci_name(pi);
	}
	pci_set_arg(pi, vp);
	*out = vp;
	rc = setup_pci(vp, cfg);
	if (rc < 0)
		pci_set_error(pi, "virtio transport: %s", strerror(-rc));
	return rc < 0 ? rc : 0;
}

void virtio_pci_free(struct virtio_pci *vp)
{
	int i;

	if (!vp)
		return;
	fds_stop(vp);
	for (i = 0; i < vp->ops->nqueues; i++) {
		mevent_del(vp->kick[i].ev);
		if (vp->kick[i].fd >= 0)
			close(vp->kick[i].fd);
	}
	for (i = 0; i < vp->nvec; i++)
		if (vp->irq_fd[i] >= 0)
			close(vp->irq_fd[i]);
	free(vp->kick);
	free(vp->irq_fd);
	free(vp->irq_on);
	pci_set_arg(vp->pi, NULL);
	for (i = 0; i < vp->ops->nqueues; i++)
		vq_destroy(&vp->vq[i]);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp->vq);
	free(vp);
}
