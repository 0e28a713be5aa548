/* BARs (PCI 3.0 §6.2.5.1): sizing semantics, placement in the windows and
 * decoding.  A BAR's handler sits in the I/O or MMIO dispatcher exactly
 * while its space is enabled in the command register and it holds a usable
 * address; when the guest moves it the handler moves with it.  A place that
 * is already taken (another BAR, a platform device) leaves the BAR unmapped
 * and is reported once.  Every access is bounded against the BAR before the
 * model sees it. */
#include <errno.h>
#include <stdlib.h>

#include "inout.h"
#include "log.h"
#include "mmio.h"
#include "pci/pci_priv.h"

/* 64-bit BARs up to this size are placed below 4 GiB (bhyve does the
 * same). */
#define MEM64_LOW_MAX (128ull << 20)

static uint64_t pow2_roundup(uint64_t v)
{
	if (v <= 1)
		return 1;
	if (v > (1ull << 63))
		return 0;
	return 1ull << (64 - __builtin_clzll(v - 1));
}

static bool bar_is_mem(enum pci_bar_type t)
{
	return t == PCI_BAR_MEM32 || t == PCI_BAR_MEM64;
}

/* ---- Guest accesses ---- */

static void bar_dev_access(struct pci_devinst *pi, int idx, uint64_t off, int size, bool write,
			   uint64_t *val)
{
	const struct pci_devemu *de = pi->de;
	uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;

	if (write) {
		if (de->barwrite)
			de->barwrite(pi, idx, off, size, *val & mask);
	} else {
		*val = (de->barread ? de->barread(pi, idx, off, size) : ~0ull) & mask;
	}
}

static void bar_access(struct pci_bar *b, uint64_t off, int size, bool write, uint64_t *val)
{
	struct pci_devinst *pi = b->pi;
	uint64_t v = 0;
	int i;

	if (pi->msix.cap && pi->msix.bar == b->idx &&
	    pci_msix_bar_access(pi, b->idx, off, size, write, val))
		return;
	if (size == 1 || size == 2 || size == 4) {
		bar_dev_access(pi, b->idx, off, size, write, val);
		return;
	}
	if (size == 8) {
		for (i = 0; i < 2; i++) {
			uint64_t h = (*val >> (32 * i)) & 0xffffffffu;

			bar_dev_access(pi, b->idx, off + 4 * (uint64_t)i, 4, write, &h);
			v |= (h & 0xffffffffu) << (32 * i);
		}
	} else {
		for (i = 0; i < size; i++) {
			uint64_t h = (*val >> (8 * i)) & 0xff;

			bar_dev_access(pi, b->idx, off + (uint64_t)i, 1, write, &h);
			v |= (h & 0xff) << (8 * i);
		}
	}
	if (!write)
		*val = v;
}

/* The dispatcher found this BAR by an earlier lookup; the guest may have
 * moved it since, so the offset is bounded against the current mapping. */
static bool bar_offset(struct pci_bar *b, uint64_t addr, int size, uint64_t *off)
{
	uint64_t base = __atomic_load_n(&b->mapped_addr, __ATOMIC_ACQUIRE);

	if (size < 1 || size > 8 || addr < base || addr - base > b->size ||
	    b->size - (addr - base) < (uint64_t)size)
		return false;
	*off = addr - base;
	return true;
}

static int bar_io_handler(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct pci_bar *b = arg;
	uint64_t off, v = *val;

	if (!bar_offset(b, port, bytes, &off)) {
		if (in)
			*val = 0xffffffffu;
		return 0;
	}
	bar_access(b, off, bytes, !in, &v);
	if (in)
		*val = (uint32_t)v;
	return 0;
}

static int bar_mmio_handler(void *arg, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val)
{
	struct pci_bar *b = arg;
	uint64_t off;

	if (!bar_offset(b, gpa, bytes, &off)) {
		if (!write)
			*val = ~0ull;
		return 0;
	}
	bar_access(b, off, bytes, write, val);
	return 0;
}

/* ---- Registers and mappings ---- */

/* The writable bits of a BAR's registers follow from its size, so writing
 * all-ones reads back the size mask (PCI 3.0 §6.2.5.1).  I/O BARs decode 16
 * bits on this platform; bits 31:16 read as zero. */
static void bar_set_wmask(struct pci_devinst *pi, int idx)
{
	struct pci_bar *b = &pi->bar[idx];
	int off = PCI_REG_BAR0 + 4 * idx;
	uint64_t m = ~(b->size - 1);

	switch (b->type) {
	case PCI_BAR_IO:
		pci_cfg_put(pi->wmask, off, 4, (uint32_t)(m & 0xfffc));
		break;
	case PCI_BAR_MEM32:
		pci_cfg_put(pi->wmask, off, 4, (uint32_t)(m & 0xfffffff0));
		break;
	case PCI_BAR_MEM64:
		pci_cfg_put(pi->wmask, off, 4, (uint32_t)(m & 0xfffffff0));
		pci_cfg_put(pi->wmask, off + 4, 4, (uint32_t)(m >> 32));
		break;
	default:
		break;
	}
}

static uint64_t bar_decode(const struct pci_devinst *pi, int idx)
{
	int off = PCI_REG_BAR0 + 4 * idx;
	uint32_t lo = pci_cfg_get(pi->cfg, off, 4);

	switch (pi->bar[idx].type) {
	case PCI_BAR_IO:
		return lo & 0xfffc;
	case PCI_BAR_MEM32:
		return lo & 0xfffffff0;
	case PCI_BAR_MEM64:
		return ((uint64_t)pci_cfg_get(pi->cfg, off + 4, 4) << 32) | (lo & 0xfffffff0);
	default:
		return 0;
	}
}

static void bar_write_regs(struct pci_devinst *pi, int idx, uint64_t addr)
{
	int off = PCI_REG_BAR0 + 4 * idx;
	uint32_t lo = pci_cfg_get(pi->cfg, off, 4);

	if (pi->bar[idx].type == PCI_BAR_IO) {
		pci_cfg_put(pi->cfg, off, 4, (uint32_t)(addr & 0xfffc) | (lo & 0x3));
		return;
	}
	pci_cfg_put(pi->cfg, off, 4, (uint32_t)(addr & 0xfffffff0) | (lo & 0xf));
	if (pi->bar[idx].type == PCI_BAR_MEM64)
		pci_cfg_put(pi->cfg, off + 4, 4, (uint32_t)(addr >> 32));
}

/* Address 0 means "not assigned"; a range past the I/O space or wrapping
 * the address space is never decoded. */
static bool bar_addr_valid(const struct pci_bar *b, uint64_t addr)
{
	if (addr == 0 || addr + (b->size - 1) < addr)
		return false;
	if (b->type == PCI_BAR_IO && addr + b->size > 0x10000)
		return false;
	return true;
}

/* ---- ioeventfds: kept at the BAR's current address (cfg_lock held) ---- */

static int ioev_platform(struct pci_devinst *pi, struct pci_ioev *e, uint64_t addr, bool assign)
{
	const struct pci_platform *pl = &pi->pci->plat;

	return pl->ioeventfd(pl->ctx, pi->bar[e->bar].type == PCI_BAR_IO, addr, e->len,
			     e->datamatch, e->data, e->fd, assign);
}

static void ioev_drop(struct pci_devinst *pi, struct pci_ioev *e)
{
	if (!e->registered)
		return;
	ioev_platform(pi, e, e->reg_addr, false);
	e->registered = false;
}

static int ioev_place(struct pci_devinst *pi, struct pci_ioev *e)
{
	struct pci_bar *b = &pi->bar[e->bar];
	int rc;

	if (!b->mapped || e->registered)
		return 0;
	rc = ioev_platform(pi, e, b->mapped_addr + e->off, true);
	if (rc == 0) {
		e->registered = true;
		e->reg_addr = b->mapped_addr + e->off;
	}
	return rc;
}

/* The BAR moved in or out of decoding: its writes trap again until the
 * eventfds are placed at the new address (a failure just leaves trapping). */
static void ioev_bar_changed(struct pci_devinst *pi, int idx)
{
	int i;

	for (i = 0; i < pi->nioev; i++) {
		struct pci_ioev *e = &pi->ioev[i];

		if (e->bar != idx)
			continue;
		if (!pi->bar[idx].mapped || e->reg_addr != pi->bar[idx].mapped_addr + e->off)
			ioev_drop(pi, e);
		if (ioev_place(pi, e) < 0)
			log_debug("%s: BAR %d: ioeventfd not moved; writes trap", pi->name, idx);
	}
}

static bool ioev_same(const struct pci_ioev *e, int bar, uint64_t off, int len, bool dm,
		      uint64_t data)
{
	return e->bar == bar && e->off == off && e->len == len && e->datamatch == dm &&
	       (!dm || e->data == data);
}

static int ioev_add(struct pci_devinst *pi, struct pci_ioev *n)
{
	struct pci_ioev *a;
	int i, rc;

	for (i = 0; i < pi->nioev; i++)
		if (ioev_same(&pi->ioev[i], n->bar, n->off, n->len, n->datamatch, n->data))
			return -EEXIST;
	a = realloc(pi->ioev, (size_t)(pi->nioev + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	pi->ioev = a;
	a[pi->nioev] = *n;
	rc = ioev_place(pi, &a[pi->nioev]);
	if (rc == 0)
		pi->nioev++;
	return rc;
}

static int ioev_del(struct pci_devinst *pi, const struct pci_ioev *n)
{
	int i;

	for (i = 0; i < pi->nioev; i++) {
		struct pci_ioev *e = &pi->ioev[i];

		if (e->fd != n->fd || !ioev_same(e, n->bar, n->off, n->len, n->datamatch, n->data))
			continue;
		ioev_drop(pi, e);
		*e = pi->ioev[--pi->nioev];
		return 0;
	}
	return -ENOENT;
}

int pci_ioeventfd(struct pci_devinst *pi, int bar, uint64_t off, int len, bool datamatch,
		  uint64_t data, int fd, bool assign)
{
	struct pci_ioev n = {
		.bar = bar, .off = off, .len = len, .datamatch = datamatch, .data = data, .fd = fd
	};
	struct pci_bar *b;
	int rc;

	if (!pi->pci->plat.ioeventfd)
		return -ENOTSUP;
	if (bar < 0 || bar >= PCI_BAR_COUNT || fd < 0 ||
	    (len != 1 && len != 2 && len != 4 && len != 8))
		return -EINVAL;
	b = &pi->bar[bar];
	if ((b->type != PCI_BAR_IO && !bar_is_mem(b->type)) || off >= b->size ||
	    b->size - off < (uint64_t)len || (pi->msix.cap && pi->msix.bar == bar))
		return -EINVAL;
	pthread_mutex_lock(&pi->cfg_lock);
	rc = assign ? ioev_add(pi, &n) : ioev_del(pi, &n);
	pthread_mutex_unlock(&pi->cfg_lock);
	return rc;
}

void pci_ioev_free(struct pci_devinst *pi)
{
	int i;

	for (i = 0; i < pi->nioev; i++)
		ioev_drop(pi, &pi->ioev[i]);
	free(pi->ioev);
	pi->ioev = NULL;
	pi->nioev = 0;
}

void pci_bar_unmap(struct pci_devinst *pi, struct pci_bar *b)
{
	struct pci_platform *plat = &pi->pci->plat;

	if (!b->mapped)
		return;
	if (b->type == PCI_BAR_IO)
		inout_unregister(plat->io, (uint16_t)b->mapped_addr);
	else
		mmio_unregister(plat->mmio, b->mapped_addr);
	b->mapped = false;
	ioev_bar_changed(pi, b->idx);
}

/* A BAR decodes only while the command register enables its space and it
 * holds a usable address (PCI 3.0 §6.2.2).  Called with cfg_lock held (or
 * during start-up). */
void pci_bar_remap(struct pci_devinst *pi, int idx)
{
	struct pci_platform *plat = &pi->pci->plat;
	struct pci_bar *b = &pi->bar[idx];
	uint16_t cmd = (uint16_t)pci_cfg_get(pi->cfg, PCI_REG_COMMAND, 2);
	uint64_t addr = b->addr;
	bool want;
	int rc;

	if (b->type != PCI_BAR_IO && !bar_is_mem(b->type))
		return;
	want = (b->type == PCI_BAR_IO ? (cmd & PCI_CMD_IO) : (cmd & PCI_CMD_MEM)) && !b->pending &&
	       bar_addr_valid(b, addr);
	if (b->mapped && (!want || b->mapped_addr != addr))
		pci_bar_unmap(pi, b);
	if (!want || b->mapped)
		return;
	__atomic_store_n(&b->mapped_addr, addr, __ATOMIC_RELEASE);
	if (b->type == PCI_BAR_IO)
		rc = inout_register(plat->io, (uint16_t)addr, (uint32_t)b->size, bar_io_handler, b,
				    pi->name);
	else
		rc = mmio_register(plat->mmio, addr, b->size, bar_mmio_handler, b, pi->name);
	if (rc == 0) {
		b->mapped = true;
		ioev_bar_changed(pi, idx);
		return;
	}
	if (!b->warned)
		log_warnx("%s: BAR %d at 0x%llx (%llu bytes) overlaps another range; left "
			  "unmapped",
			  pi->name, idx, (unsigned long long)addr, (unsigned long long)b->size);
	b->warned = true;
}

void pci_bar_reprogram(struct pci_devinst *pi, int idx)
{
	if (pi->bar[idx].type == PCI_BAR_MEM64_HI)
		idx--;
	if (idx < 0 || pi->bar[idx].type == PCI_BAR_NONE)
		return;
	__atomic_store_n(&pi->bar[idx].addr, bar_decode(pi, idx), __ATOMIC_RELAXED);
	pci_bar_remap(pi, idx);
}

uint64_t pci_bar_addr(struct pci_devinst *pi, int idx)
{
	if (idx < 0 || idx >= PCI_BAR_COUNT)
		return 0;
	return __atomic_load_n(&pi->bar[idx].addr, __ATOMIC_RELAXED);
}

int pci_emul_alloc_bar(struct pci_devinst *pi, int idx, enum pci_bar_type type, uint64_t size,
		       unsigned flags)
{
	struct pci_bar *b;
	uint32_t lobits = 0;
	uint16_t cmd;

	if (!pi->pci->cold || pi->init_done)
		return -EBUSY;
	if (idx < 0 || idx >= PCI_BAR_COUNT || size == 0 || (flags & ~PCI_BAR_PREFETCH))
		return -EINVAL;
	if (type != PCI_BAR_IO && !bar_is_mem(type))
		return -EINVAL;
	if ((type == PCI_BAR_MEM64 && idx == PCI_BAR_COUNT - 1) ||
	    (type == PCI_BAR_IO && (flags & PCI_BAR_PREFETCH)))
		return -EINVAL;
	if (pi->bar[idx].type != PCI_BAR_NONE ||
	    (type == PCI_BAR_MEM64 && pi->bar[idx + 1].type != PCI_BAR_NONE))
		return -EBUSY;
	size = pow2_roundup(size);
	if (size == 0)
		return -EINVAL;
	if (type == PCI_BAR_IO) {
		if (size < 4)
			size = 4;
		if (size > 256) /* PCI 3.0 §6.2.5.1 */
			return -EINVAL;
		lobits = 0x1;
	} else {
		if (size < 16)
			size = 16;
		if (type == PCI_BAR_MEM32 && size > (1ull << 31))
			return -EINVAL;
		lobits = (type == PCI_BAR_MEM64 ? 0x4 : 0) | ((flags & PCI_BAR_PREFETCH) ? 0x8 : 0);
	}
	b = &pi->bar[idx];
	b->type = type;
	b->size = size;
	b->prefetch = flags & PCI_BAR_PREFETCH;
	b->pending = true;
	pci_cfg_put(pi->cfg, PCI_REG_BAR0 + 4 * idx, 4, lobits);
	if (type == PCI_BAR_MEM64)
		pi->bar[idx + 1].type = PCI_BAR_MEM64_HI;
	bar_set_wmask(pi, idx);
	if (pi->pci->enable_bars) {
		cmd = (uint16_t)pci_cfg_get(pi->cfg, PCI_REG_COMMAND, 2);
		cmd |= type == PCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEM;
		pci_cfg_put(pi->cfg, PCI_REG_COMMAND, 2, cmd);
	}
	return 0;
}

/* ---- Placement (start-up) ---- */

static int alloc_range(uint64_t *next, uint64_t limit, uint64_t size, uint64_t *addr)
{
	uint64_t base = (*next + size - 1) & ~(size - 1);

	if (base < *next || base > limit || limit - base < size)
		return -ENOSPC;
	*addr = base;
	*next = base + size;
	return 0;
}

static int place_bar(struct pci *p, struct pci_bar *b)
{
	const struct pci_platform *pl = &p->plat;
	uint64_t addr = 0;
	int rc = -ENOSPC;

	switch (b->type) {
	case PCI_BAR_IO:
		rc = alloc_range(&p->io_next, pl->io_limit, b->size, &addr);
		break;
	case PCI_BAR_MEM32:
		rc = alloc_range(&p->mem32_next, pl->mem32_limit, b->size, &addr);
		break;
	case PCI_BAR_MEM64:
		if (b->size <= MEM64_LOW_MAX)
			rc = alloc_range(&p->mem32_next, pl->mem32_limit, b->size, &addr);
		if (rc)
			rc = alloc_range(&p->mem64_next, pl->mem64_limit, b->size, &addr);
		break;
	default:
		return 0;
	}
	if (rc)
		return rc;
	b->pending = false;
	bar_write_regs(b->pi, b->idx, addr);
	b->addr = bar_decode(b->pi, b->idx);
	pci_bar_remap(b->pi, b->idx);
	return 0;
}

/* Largest first, each naturally aligned (bhyve's order: least waste). */
int pci_place_bus_bars(struct pci *p, int bus, struct pci_bar **failed)
{
	struct pci_bus_info *bi = p->bus[bus];
	struct pci_bar *list[PCI_NSLOT * PCI_NFUNC * PCI_BAR_COUNT];
	size_t n = 0, i;
	int s, f, k, rc;

	*failed = NULL;

	for (s = 0; s < PCI_NSLOT; s++) {
		for (f = 0; f < PCI_NFUNC; f++) {
			struct pci_devinst *pi = bi->fn[s][f];

			for (k = 0; pi && k < PCI_BAR_COUNT; k++) {
				if (pi->bar[k].pending)
					list[n++] = &pi->bar[k];
			}
		}
	}
	/* A stable sort: among equal sizes, bus/slot/function/BAR order. */
	for (i = 1; i < n; i++) {
		struct pci_bar *x = list[i];
		size_t j = i;

		while (j > 0 && list[j - 1]->size < x->size) {
			list[j] = list[j - 1];
			j--;
		}
		list[j] = x;
	}
	for (i = 0; i < n; i++) {
		rc = place_bar(p, list[i]);
		if (rc) {
			*failed = list[i];
			return rc;
		}
	}
	return 0;
}
