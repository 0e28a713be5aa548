/* MSI and MSI-X (PCI 3.0 §6.8, PCIe base 4.0 §7.7).
 *
 * MSI: 64-bit message address, per-vector masking; a masked vector's
 * message is held in the Pending Bits register and sent when unmasked.
 * MSI-X: the table and PBA live in a 32-bit memory BAR of their own that
 * the core allocates and answers; the table accepts aligned dword and qword
 * accesses (reads of any naturally aligned size), the PBA is read-only.  A
 * message is held in the PBA while its vector or the whole function is
 * masked and sent when both masks clear. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "log.h"
#include "pci/pci_priv.h"

#define MSI_CAP_LEN	24
#define MSI_CTRL_ENABLE 0x0001
#define MSI_CTRL_64BIT	0x0080
#define MSI_CTRL_PVM	0x0100

#define MSIX_CAP_LEN	 12
#define MSIX_CTRL_FMASK	 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_VCTRL_MASK	 0x1

static void irqfd_sync_all(struct pci_devinst *pi);

static void msi_send(struct pci_devinst *pi, uint64_t addr, uint32_t data)
{
	const struct pci_platform *pl = &pi->pci->plat;
	int rc = pl->msi(pl->ctx, addr, data);

	if (rc < 0)
		log_debug("%s: MSI 0x%llx/0x%x not delivered: %d", pi->name,
			  (unsigned long long)addr, data, rc);
}

/* ---- MSI ---- */

int pci_emul_add_msicap(struct pci_devinst *pi, int nvec)
{
	uint8_t c[MSI_CAP_LEN];
	uint32_t vecmask;
	int off;

	if (nvec < 1 || nvec > 32 || (nvec & (nvec - 1)))
		return -EINVAL;
	if (pi->msi.cap)
		return -EBUSY;
	memset(c, 0, sizeof(c));
	c[0] = PCI_CAP_MSI;
	c[2] = (uint8_t)((__builtin_ctz((unsigned)nvec) << 1) | MSI_CTRL_64BIT);
	c[3] = MSI_CTRL_PVM >> 8;
	off = pci_add_capability(pi, c, MSI_CAP_LEN);
	if (off < 0)
		return off;
	vecmask = nvec == 32 ? 0xffffffffu : (1u << nvec) - 1;
	/* Writable: enable and Multiple Message Enable; the address (dword
	 * aligned), upper address, data, and the mask bits of real vectors. */
	pi->wmask[off + 2] = 0x71;
	pci_set_cfgwmask(pi, off + 4, 4, 0xfffffffc);
	pci_set_cfgwmask(pi, off + 8, 4, 0xffffffff);
	pci_set_cfgwmask(pi, off + 12, 2, 0xffff);
	pci_set_cfgwmask(pi, off + 16, 4, vecmask);
	pi->msi.cap = off;
	pi->msi.nvec = nvec;
	return off;
}

int pci_msi_cfg_len(const struct pci_devinst *pi)
{
	(void)pi;
	return MSI_CAP_LEN;
}

/* msi_lock held. */
static void msi_send_vector(struct pci_devinst *pi, unsigned v)
{
	uint32_t data = (pi->msi.data & ~(pi->msi.nenabled - 1)) | v;

	msi_send(pi, pi->msi.addr, data);
}

static void msi_flush_pending(struct pci_devinst *pi)
{
	unsigned v;

	if (!pi->msi.enabled)
		return;
	for (v = 0; v < pi->msi.nenabled; v++) {
		uint32_t bit = 1u << v;

		if ((pi->msi.pending & bit) && !(pi->msi.mask & bit)) {
			pi->msi.pending &= ~bit;
			msi_send_vector(pi, v);
		}
	}
}

void pci_msi_cfg_changed(struct pci_devinst *pi)
{
	int cap = pi->msi.cap;
	uint16_t ctrl = pci_get_cfgdata16(pi, cap + 2);
	unsigned mmc = (ctrl >> 1) & 7, mme = (ctrl >> 4) & 7;

	/* More vectors than the function has is undefined: grant what it has. */
	if (mme > mmc)
		mme = mmc;
	pthread_mutex_lock(&pi->msi_lock);
	pi->msi.enabled = ctrl & MSI_CTRL_ENABLE;
	pi->msi.nenabled = pi->msi.enabled ? 1u << mme : 0;
	pi->msi.addr =
	    pci_get_cfgdata32(pi, cap + 4) | ((uint64_t)pci_get_cfgdata32(pi, cap + 8) << 32);
	pi->msi.data = pci_get_cfgdata16(pi, cap + 12);
	pi->msi.mask = pci_get_cfgdata32(pi, cap + 16);
	msi_flush_pending(pi);
	irqfd_sync_all(pi); /* MSI on turns MSI-X off */
	pthread_mutex_unlock(&pi->msi_lock);
	pci_intx_update(pi);
}

uint32_t pci_msi_pending_read(struct pci_devinst *pi)
{
	uint32_t v;

	pthread_mutex_lock(&pi->msi_lock);
	v = pi->msi.pending;
	pthread_mutex_unlock(&pi->msi_lock);
	return v;
}

bool pci_msi_enabled(struct pci_devinst *pi)
{
	bool on;

	pthread_mutex_lock(&pi->msi_lock);
	on = pi->msi.enabled;
	pthread_mutex_unlock(&pi->msi_lock);
	return on;
}

int pci_msi_nvec(struct pci_devinst *pi)
{
	int n;

	pthread_mutex_lock(&pi->msi_lock);
	n = (int)pi->msi.nenabled;
	pthread_mutex_unlock(&pi->msi_lock);
	return n;
}

int pci_generate_msi(struct pci_devinst *pi, unsigned vector)
{
	int rc = 0;

	pthread_mutex_lock(&pi->msi_lock);
	if (!pi->msi.enabled || vector >= pi->msi.nenabled) {
		rc = -EINVAL;
	} else if (pi->msi.mask & (1u << vector)) {
		pi->msi.pending |= 1u << vector;
		rc = 1;
	} else {
		msi_send_vector(pi, vector);
	}
	pthread_mutex_unlock(&pi->msi_lock);
	return rc;
}

/* ---- MSI-X ---- */

int pci_emul_add_msixcap(struct pci_devinst *pi, int nvec, int bar)
{
	uint64_t table_len, table_space, pba_len;
	uint8_t c[MSIX_CAP_LEN];
	int off, rc, i;

	if (nvec < 1 || nvec > PCI_MSIX_MAX || bar < 0 || bar >= PCI_BAR_COUNT)
		return -EINVAL;
	if (pi->msix.cap)
		return -EBUSY;
	table_len = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	table_space = (table_len + 4095) & ~4095ull;
	pba_len = (((uint64_t)nvec + 63) / 64) * 8;
	pi->msix.table = calloc((size_t)nvec, sizeof(*pi->msix.table));
	pi->msix.pba = calloc((size_t)(pba_len / 8), sizeof(uint64_t));
	if (!pi->msix.table || !pi->msix.pba) {
		pci_msix_free(pi);
		return -ENOMEM;
	}
	/* Every vector starts masked (PCIe base 4.0 §7.7.2.4). */
	for (i = 0; i < nvec; i++)
		pi->msix.table[i].ctrl = MSIX_VCTRL_MASK;
	rc = pci_emul_alloc_bar(pi, bar, PCI_BAR_MEM32, table_space + pba_len, 0);
	if (rc) {
		pci_msix_free(pi);
		return rc;
	}
	memset(c, 0, sizeof(c));
	c[0] = PCI_CAP_MSIX;
	le16_put(c + 2, (uint16_t)(nvec - 1));
	c[4] = (uint8_t)bar; /* table at offset 0 */
	le32_put(c + 8, (uint32_t)(table_space | (uint64_t)bar));
	off = pci_add_capability(pi, c, MSIX_CAP_LEN);
	if (off < 0) {
		pci_msix_free(pi);
		return off;
	}
	pi->wmask[off + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	pi->msix.cap = off;
	pi->msix.bar = bar;
	pi->msix.nvec = nvec;
	pi->msix.table_off = 0;
	pi->msix.table_len = table_len;
	pi->msix.pba_off = table_space;
	pi->msix.pba_len = pba_len;
	return off;
}

void pci_msix_free(struct pci_devinst *pi)
{
	const struct pci_platform *pl = &pi->pci->plat;
	int v;

	for (v = 0; pi->msix.irqfd && v < pi->msix.nvec; v++) {
		struct pci_msix_irqfd *q = &pi->msix.irqfd[v];

		if (q->attached)
			pl->irqfd(pl->ctx, q->gsi, q->fd, false);
		if (q->gsi >= 0)
			pl->msi_route_del(pl->ctx, q->gsi);
	}
	free(pi->msix.irqfd);
	free(pi->msix.table);
	free(pi->msix.pba);
	pi->msix.irqfd = NULL;
	pi->msix.table = NULL;
	pi->msix.pba = NULL;
	pi->msix.cap = 0;
}

static bool msix_active(const struct pci_devinst *pi)
{
	return pi->msix.enabled && !pi->msi.enabled;
}

/* msi_lock held. */
static void msix_send_vector(struct pci_devinst *pi, unsigned v)
{
	const struct pci_msix_entry *e = &pi->msix.table[v];

	msi_send(pi, ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data);
}

static bool msix_masked(const struct pci_devinst *pi, unsigned v)
{
	return pi->msix.fmask || (pi->msix.table[v].ctrl & MSIX_VCTRL_MASK);
}

static void msix_flush_pending(struct pci_devinst *pi)
{
	unsigned v;

	if (!msix_active(pi) || pi->msix.fmask)
		return;
	for (v = 0; v < (unsigned)pi->msix.nvec; v++) {
		uint64_t bit = 1ull << (v % 64);

		if ((pi->msix.pba[v / 64] & bit) && !msix_masked(pi, v)) {
			pi->msix.pba[v / 64] &= ~bit;
			msix_send_vector(pi, v);
		}
	}
}

/* ---- irqfd: the route follows the table entry, attached while the vector
 * could be sent (msi_lock held) ---- */

static int irqfd_route(struct pci_devinst *pi, unsigned v)
{
	const struct pci_platform *pl = &pi->pci->plat;
	const struct pci_msix_entry *e = &pi->msix.table[v];

	return pl->msi_route(pl->ctx, &pi->msix.irqfd[v].gsi,
			     ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data);
}

static void irqfd_sync(struct pci_devinst *pi, unsigned v)
{
	const struct pci_platform *pl = &pi->pci->plat;
	struct pci_msix_irqfd *q = &pi->msix.irqfd[v];
	int rc = 0;

	if (q->fd < 0)
		return;
	if (msix_active(pi) && !msix_masked(pi, v)) {
		rc = irqfd_route(pi, v);
		if (rc == 0 && !q->attached) {
			rc = pl->irqfd(pl->ctx, q->gsi, q->fd, true);
			q->attached = rc == 0;
		}
	} else if (q->attached) {
		/* Masked: what the device signals now stays counted in the
		 * eventfd, and KVM delivers it when the irqfd is attached
		 * again (the PBA does not show it). */
		rc = pl->irqfd(pl->ctx, q->gsi, q->fd, false);
		q->attached = false;
	}
	if (rc < 0 && !q->warned) {
		log_warnx("%s: MSI-X vector %u: irqfd: %s", pi->name, v, strerror(-rc));
		q->warned = true;
	}
}

static void irqfd_sync_all(struct pci_devinst *pi)
{
	unsigned v;

	for (v = 0; pi->msix.irqfd && v < (unsigned)pi->msix.nvec; v++)
		irqfd_sync(pi, v);
}

static int irqfd_attach(struct pci_devinst *pi, unsigned v, int fd)
{
	struct pci_msix_irqfd *q;
	int rc;

	if (!pi->msix.irqfd) {
		int i;

		pi->msix.irqfd = calloc((size_t)pi->msix.nvec, sizeof(*pi->msix.irqfd));
		if (!pi->msix.irqfd)
			return -ENOMEM;
		for (i = 0; i < pi->msix.nvec; i++)
			pi->msix.irqfd[i].fd = pi->msix.irqfd[i].gsi = -1;
	}
	q = &pi->msix.irqfd[v];
	if (q->fd >= 0)
		return -EBUSY;
	/* A route now, so that a platform without MSI routing says so at
	 * once and the caller keeps sending messages itself. */
	rc = irqfd_route(pi, v);
	if (rc < 0)
		return rc;
	q->fd = fd;
	q->warned = false;
	irqfd_sync(pi, v);
	return 0;
}

static int irqfd_detach(struct pci_devinst *pi, unsigned v, int fd)
{
	const struct pci_platform *pl = &pi->pci->plat;
	struct pci_msix_irqfd *q;

	if (!pi->msix.irqfd || pi->msix.irqfd[v].fd != fd)
		return -ENOENT;
	q = &pi->msix.irqfd[v];
	if (q->attached)
		pl->irqfd(pl->ctx, q->gsi, q->fd, false);
	if (q->gsi >= 0)
		pl->msi_route_del(pl->ctx, q->gsi);
	q->attached = false;
	q->fd = q->gsi = -1;
	return 0;
}

int pci_msix_irqfd(struct pci_devinst *pi, int vector, int fd, bool assign)
{
	const struct pci_platform *pl = &pi->pci->plat;
	int rc;

	if (!pl->irqfd || !pl->msi_route || !pl->msi_route_del)
		return -ENOTSUP;
	if (fd < 0 || vector < 0)
		return -EINVAL;
	pthread_mutex_lock(&pi->msi_lock);
	if (!pi->msix.table || vector >= pi->msix.nvec)
		rc = -EINVAL;
	else if (assign)
		rc = irqfd_attach(pi, (unsigned)vector, fd);
	else
		rc = irqfd_detach(pi, (unsigned)vector, fd);
	pthread_mutex_unlock(&pi->msi_lock);
	return rc;
}

void pci_msix_cfg_changed(struct pci_devinst *pi)
{
	uint16_t ctrl = pci_get_cfgdata16(pi, pi->msix.cap + 2);

	pthread_mutex_lock(&pi->msi_lock);
	pi->msix.enabled = ctrl & MSIX_CTRL_ENABLE;
	pi->msix.fmask = ctrl & MSIX_CTRL_FMASK;
	msix_flush_pending(pi);
	irqfd_sync_all(pi);
	pthread_mutex_unlock(&pi->msi_lock);
	pci_intx_update(pi);
}

bool pci_msix_enabled(struct pci_devinst *pi)
{
	bool on;

	pthread_mutex_lock(&pi->msi_lock);
	on = msix_active(pi);
	pthread_mutex_unlock(&pi->msi_lock);
	return on;
}

int pci_generate_msix(struct pci_devinst *pi, unsigned vector)
{
	int rc = 0;

	pthread_mutex_lock(&pi->msi_lock);
	if (!pi->msix.table || !msix_active(pi) || vector >= (unsigned)pi->msix.nvec) {
		rc = -EINVAL;
	} else if (msix_masked(pi, vector)) {
		pi->msix.pba[vector / 64] |= 1ull << (vector % 64);
		rc = 1;
	} else {
		msix_send_vector(pi, vector);
	}
	pthread_mutex_unlock(&pi->msi_lock);
	return rc;
}

static uint32_t *entry_word(struct pci_msix_entry *e, unsigned w)
{
	switch (w) {
	case 0:
		return &e->addr_lo;
	case 1:
		return &e->addr_hi;
	case 2:
		return &e->data;
	default:
		return &e->ctrl;
	}
}

/* msi_lock held; off is dword aligned inside the table. */
static void table_write32(struct pci_devinst *pi, uint64_t off, uint32_t val)
{
	unsigned v = (unsigned)(off / PCI_MSIX_ENTRY_SIZE), w = (unsigned)(off % 16) / 4;
	struct pci_msix_entry *e = &pi->msix.table[v];

	switch (w) {
	case 0:
		e->addr_lo = val & ~3u;
		break;
	case 3:
		/* Only the mask bit is defined; reserved bits read as zero. */
		e->ctrl = val & MSIX_VCTRL_MASK;
		if (!(e->ctrl & MSIX_VCTRL_MASK))
			msix_flush_pending(pi);
		break;
	default:
		*entry_word(e, w) = val;
		break;
	}
	if (pi->msix.irqfd)
		irqfd_sync(pi, v);
}

static uint64_t table_read(struct pci_devinst *pi, uint64_t off, int size)
{
	uint64_t v = 0;
	int i;

	/* Assemble byte by byte from the little-endian dwords. */
	for (i = 0; i < size; i++) {
		uint64_t o = off + (uint64_t)i;
		struct pci_msix_entry *e = &pi->msix.table[o / PCI_MSIX_ENTRY_SIZE];
		uint32_t word = *entry_word(e, (unsigned)(o % 16) / 4);

		v |= (uint64_t)((word >> (8 * (o % 4))) & 0xff) << (8 * i);
	}
	return v;
}

static uint64_t pba_read(struct pci_devinst *pi, uint64_t off, int size)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < size; i++) {
		uint64_t o = off + (uint64_t)i;

		v |= ((pi->msix.pba[o / 8] >> (8 * (o % 8))) & 0xff) << (8 * i);
	}
	return v;
}

static bool natural(uint64_t off, int size)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) &&
	       (off & (uint64_t)(size - 1)) == 0;
}

bool pci_msix_bar_access(struct pci_devinst *pi, int bar, uint64_t off, int size, bool write,
			 uint64_t *val)
{
	struct pci_msix *m = &pi->msix;
	bool ok;

	if (!m->table || bar != m->bar)
		return false;
	pthread_mutex_lock(&pi->msi_lock);
	if (off < m->table_off + m->table_len && off >= m->table_off) {
		uint64_t t = off - m->table_off;

		ok = natural(t, size) && t + (uint64_t)size <= m->table_len;
		if (write && ok && (size == 4 || size == 8)) {
			table_write32(pi, t, (uint32_t)*val);
			if (size == 8)
				table_write32(pi, t + 4, (uint32_t)(*val >> 32));
		} else if (!write) {
			*val = ok ? table_read(pi, t, size) : ~0ull;
		}
	} else if (off >= m->pba_off && off < m->pba_off + m->pba_len) {
		uint64_t t = off - m->pba_off;

		ok = natural(t, size) && t + (uint64_t)size <= m->pba_len;
		if (!write)
			*val = ok ? pba_read(pi, t, size) : ~0ull;
	} else if (!write) {
		/* The rest of the BAR the core allocated for MSI-X: reserved. */
		*val = 0;
	}
	pthread_mutex_unlock(&pi->msi_lock);
	return true;
}
