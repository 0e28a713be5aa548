/* The PCI core: configuration mechanism #1 and ECAM, configuration space
 * semantics, capabilities, the device registry and start-up (BARs are in
 * pci_bar.c, INTx in pci_irq.c, MSI and MSI-X in pci_msi.c).
 *
 * Configuration space model: every function has 4 KiB of bytes, a mask of
 * guest-writable bits and a mask of write-1-to-clear bits (PCI 3.0 §6.1,
 * §6.2).  A guest write changes only writable bits; afterwards the core
 * reacts to the registers that carry meaning (command, BARs, MSI, MSI-X).
 * Accesses that are not naturally aligned are done one byte at a time, as the
 * byte enables of a PCI configuration cycle would. */
#include "pci/pci.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "firmware/layout.h"
#include "log.h"
#include "mmio.h"
#include "parse.h"
#include "pci/pci_emul.h"
#include "pci/pci_priv.h"

/* CONFIG_ADDRESS (PCI 3.0 §3.2.2.3.2): enable, bus, device, function and a
 * dword register number; bits 30:24 and 1:0 are read-only zero. */
#define CONF1_ENABLE	0x80000000u
#define CONF1_ADDR_MASK 0x80fffffcu

/* Command bits a guest may set: I/O, memory, bus master, parity error
 * response, SERR# enable, INTx disable.  Status bits 8 and 11-15 are
 * write-1-to-clear (PCI 3.0 §6.2.2, §6.2.3). */
#define CMD_WRITABLE 0x0547
#define STS_W1C	     0xf900

/* Slack left after each bus's BARs so the guest can move them (bhyve). */
#define BUS_IO_SLACK	32
#define BUS_MEM32_SLACK (1ull << 20)
#define BUS_MEM64_SLACK (512ull << 20)

#define CAP_START 0x40

/* ---- Registry: the pci_devemu_set section ---- */

/* The section's bounds, defined by the linker (hence the reserved names);
 * weak, so both are null when no emulation is linked in. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier): named by the linker */
extern const struct pci_devemu *const __start_pci_devemu_set[] __attribute__((weak));
/* NOLINTNEXTLINE(bugprone-reserved-identifier): named by the linker */
extern const struct pci_devemu *const __stop_pci_devemu_set[] __attribute__((weak));

/* The registered emulations, [*begin, *end); empty when none is linked.
 * To C the two bounds are distinct objects, so they are compared as
 * addresses. */
static void registry(const struct pci_devemu *const **begin, const struct pci_devemu *const **end)
{
	uintptr_t b = (uintptr_t)__start_pci_devemu_set, e = (uintptr_t)__stop_pci_devemu_set;

	if (b == 0 || e < b) {
		*begin = *end = NULL;
		return;
	}
	*begin = __start_pci_devemu_set;
	*end = __stop_pci_devemu_set;
}

const struct pci_devemu *pci_emul_find(const char *name)
{
	const struct pci_devemu *const *pp, *const *end;

	if (!name)
		return NULL;
	registry(&pp, &end);
	for (; pp < end; pp++) {
		if (*pp && (*pp)->name && strcmp((*pp)->name, name) == 0)
			return *pp;
	}
	return NULL;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void pci_emul_list(FILE *f)
{
	const struct pci_devemu *const *pp, *const *end;
	const char **names;
	size_t n = 0, i;

	registry(&pp, &end);
	if (pp == end)
		return;
	names = calloc((size_t)(end - pp), sizeof(*names));
	if (!names)
		return;
	for (; pp < end; pp++) {
		if (*pp && (*pp)->name)
			names[n++] = (*pp)->name;
	}
	qsort(names, n, sizeof(*names), cmp_name);
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
			fprintf(f, "%s\n", names[i]);
	}
	free(names);
}

/* ---- Identity and context ---- */

const char *pci_name(const struct pci_devinst *pi)
{
	return pi->name;
}

int pci_bus(const struct pci_devinst *pi)
{
	return pi->bus;
}

int pci_slot(const struct pci_devinst *pi)
{
	return pi->slot;
}

int pci_func(const struct pci_devinst *pi)
{
	return pi->func;
}

void pci_set_arg(struct pci_devinst *pi, void *arg)
{
	pi->arg = arg;
}

void *pci_get_arg(const struct pci_devinst *pi)
{
	return pi->arg;
}

const struct gmem *pci_gmem(const struct pci_devinst *pi)
{
	return pi->pci->plat.gmem;
}

struct mevent_loop *pci_loop(const struct pci_devinst *pi)
{
	return pi->pci->plat.loop;
}

void pci_set_error(struct pci_devinst *pi, const char *fmt, ...)
{
	struct pci *p = pi->pci;
	va_list ap;

	if (!p->err || p->errlen == 0 || p->err_set)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	p->err_set = true;
}

/* ---- Raw configuration bytes ---- */

static bool cfg_range_ok(int off, int n)
{
	return off >= 0 && n > 0 && n <= 4 && off <= PCI_CFG_SIZE - n;
}

uint8_t pci_get_cfgdata8(const struct pci_devinst *pi, int off)
{
	return cfg_range_ok(off, 1) ? pi->cfg[off] : 0;
}

uint16_t pci_get_cfgdata16(const struct pci_devinst *pi, int off)
{
	return cfg_range_ok(off, 2) ? (uint16_t)pci_cfg_get(pi->cfg, off, 2) : 0;
}

uint32_t pci_get_cfgdata32(const struct pci_devinst *pi, int off)
{
	return cfg_range_ok(off, 4) ? pci_cfg_get(pi->cfg, off, 4) : 0;
}

void pci_set_cfgdata8(struct pci_devinst *pi, int off, uint8_t val)
{
	if (cfg_range_ok(off, 1))
		pi->cfg[off] = val;
}

void pci_set_cfgdata16(struct pci_devinst *pi, int off, uint16_t val)
{
	if (cfg_range_ok(off, 2))
		pci_cfg_put(pi->cfg, off, 2, val);
}

void pci_set_cfgdata32(struct pci_devinst *pi, int off, uint32_t val)
{
	if (cfg_range_ok(off, 4))
		pci_cfg_put(pi->cfg, off, 4, val);
}

int pci_set_cfgwmask(struct pci_devinst *pi, int off, int bytes, uint32_t mask)
{
	if (!cfg_range_ok(off, bytes) || off < CAP_START)
		return -EINVAL;
	pci_cfg_put(pi->wmask, off, bytes, mask);
	return 0;
}

/* ---- Guest configuration accesses ---- */

static bool slot_is_multifunction(const struct pci_devinst *pi)
{
	const struct pci_bus_info *bi = pi->pci->bus[pi->bus];
	int f, n = 0;

	for (f = 0; f < PCI_NFUNC; f++)
		n += bi->fn[pi->slot][f] != NULL;
	return n > 1;
}

static uint32_t cfg_read_default(struct pci_devinst *pi, int off, int bytes)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < bytes; i++) {
		int o = off + i;
		uint8_t b = pi->cfg[o];

		if (o == PCI_REG_STATUS && __atomic_load_n(&pi->intx_status, __ATOMIC_RELAXED))
			b |= PCI_STS_INTR;
		if (o == PCI_REG_HDRTYPE)
			b = (uint8_t)((b & ~PCI_HDRTYPE_MULTIFUNCTION) |
				      (slot_is_multifunction(pi) ? PCI_HDRTYPE_MULTIFUNCTION : 0));
		if (pi->msi.cap && o >= pi->msi.cap + 20 && o < pi->msi.cap + 24)
			b = (uint8_t)(pci_msi_pending_read(pi) >> (8 * (o - pi->msi.cap - 20)));
		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

static bool overlaps(int off, int bytes, int start, int end)
{
	return off < end && off + bytes > start;
}

static void cfg_write_default(struct pci_devinst *pi, int off, int bytes, uint32_t val)
{
	int i;

	for (i = 0; i < bytes; i++) {
		int o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t nv = (uint8_t)((pi->cfg[o] & ~pi->wmask[o]) | (b & pi->wmask[o]));

		pi->cfg[o] = (uint8_t)(nv & ~(b & pi->w1c[o]));
	}
	if (overlaps(off, bytes, PCI_REG_COMMAND, PCI_REG_COMMAND + 2)) {
		for (i = 0; i < PCI_BAR_COUNT; i++)
			pci_bar_remap(pi, i);
		pci_intx_update(pi);
	}
	for (i = 0; i < PCI_BAR_COUNT; i++) {
		if (overlaps(off, bytes, PCI_REG_BAR0 + 4 * i, PCI_REG_BAR0 + 4 * i + 4))
			pci_bar_reprogram(pi, i);
	}
	if (pi->msi.cap && overlaps(off, bytes, pi->msi.cap, pi->msi.cap + pci_msi_cfg_len(pi)))
		pci_msi_cfg_changed(pi);
	if (pi->msix.cap && overlaps(off, bytes, pi->msix.cap, pi->msix.cap + 12))
		pci_msix_cfg_changed(pi);
}

/* One naturally aligned access of 1, 2 or 4 bytes. */
static void cfg_access_aligned(struct pci_devinst *pi, int off, int bytes, bool write,
			       uint32_t *val)
{
	const struct pci_devemu *de = pi->de;
	uint32_t mask = bytes == 4 ? 0xffffffffu : (1u << (8 * bytes)) - 1;

	pthread_mutex_lock(&pi->cfg_lock);
	if (write) {
		if (!de->cfgwrite || de->cfgwrite(pi, off, bytes, *val & mask) != 0)
			cfg_write_default(pi, off, bytes, *val & mask);
	} else {
		uint32_t v;

		if (!de->cfgread || de->cfgread(pi, off, bytes, &v) != 0)
			v = cfg_read_default(pi, off, bytes);
		*val = v & mask;
	}
	pthread_mutex_unlock(&pi->cfg_lock);
}

static struct pci_devinst *pci_lookup(const struct pci *p, int bus, int slot, int func)
{
	const struct pci_bus_info *bi;

	if (bus < 0 || bus >= PCI_NBUS || slot < 0 || slot >= PCI_NSLOT || func < 0 ||
	    func >= PCI_NFUNC)
		return NULL;
	bi = p->bus[bus];
	return bi ? bi->fn[slot][func] : NULL;
}

void pci_cfg_access(struct pci *p, int bus, int slot, int func, int reg, int bytes, bool write,
		    uint32_t *val)
{
	struct pci_devinst *pi = pci_lookup(p, bus, slot, func);
	uint32_t v = 0;
	int i;

	if (!pi || bytes < 1 || bytes > 4 || reg < 0 || reg > PCI_CFG_SIZE - bytes) {
		/* No function answers: master abort, all-ones (PCI 3.0 §6.1). */
		if (!write)
			*val = 0xffffffffu;
		return;
	}
	if (bytes != 3 && (reg & (bytes - 1)) == 0) {
		cfg_access_aligned(pi, reg, bytes, write, val);
		return;
	}
	for (i = 0; i < bytes; i++) {
		uint32_t b = (*val >> (8 * i)) & 0xff;

		cfg_access_aligned(pi, reg + i, 1, write, &b);
		v |= (b & 0xff) << (8 * i);
	}
	if (!write)
		*val = v;
}

/* ---- Mechanism #1 (PCI 3.0 §3.2.2.3.2) ---- */

/* Only a dword access at 0xCF8 reaches CONFIG_ADDRESS; narrower accesses in
 * the dword are ordinary I/O: the reset control register at 0xCF9 if the
 * platform has one, nothing otherwise. */
static int conf1_addr_io(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct pci *p = arg;

	if (port == PCI_CONF1_ADDR_PORT && bytes == 4) {
		if (in)
			*val = __atomic_load_n(&p->conf1_addr, __ATOMIC_RELAXED);
		else
			__atomic_store_n(&p->conf1_addr, *val & CONF1_ADDR_MASK, __ATOMIC_RELAXED);
		return 0;
	}
	if (port == PCI_CONF1_ADDR_PORT + 1 && bytes == 1 && p->plat.cf9_io)
		return p->plat.cf9_io(p->plat.cf9_arg, vcpu, in, port, bytes, val);
	if (in)
		*val = 0xffffffffu;
	return 0;
}

static int conf1_data_io(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct pci *p = arg;
	uint32_t a = __atomic_load_n(&p->conf1_addr, __ATOMIC_RELAXED);
	int reg;

	if (!(a & CONF1_ENABLE) || port < PCI_CONF1_DATA_PORT || bytes < 1 || bytes > 4 ||
	    port - PCI_CONF1_DATA_PORT + bytes > 4) {
		if (in)
			*val = 0xffffffffu;
		return 0;
	}
	reg = (int)(a & 0xfc) + (port - PCI_CONF1_DATA_PORT);
	pci_cfg_access(p, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 0x7, reg, bytes, !in, val);
	return 0;
}

/* ---- ECAM (PCIe base 4.0 §7.2.2) ---- */

static void ecam_access(struct pci *p, uint64_t off, int bytes, bool write, uint32_t *val)
{
	pci_cfg_access(p, (int)((off >> 20) & 0xff), (int)((off >> 15) & 0x1f),
		       (int)((off >> 12) & 0x7), (int)(off & 0xfff), bytes, write, val);
}

/* Accesses that cross a dword are not required to work (§7.2.2); an aligned
 * qword is done as two dwords, anything else odd one byte at a time. */
static int ecam_mmio(void *arg, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val)
{
	struct pci *p = arg;
	uint64_t off = gpa - LAYOUT_ECAM_BASE, v = 0;
	int i;

	if (gpa < LAYOUT_ECAM_BASE || off >= LAYOUT_ECAM_SIZE || bytes < 1 || bytes > 8) {
		if (!write)
			*val = ~0ull;
		return 0;
	}
	if ((bytes == 1 || bytes == 2 || bytes == 4) && (off & (uint64_t)(bytes - 1)) == 0) {
		uint32_t v32 = (uint32_t)*val;

		ecam_access(p, off, bytes, write, &v32);
		if (!write)
			*val = v32;
		return 0;
	}
	if (bytes == 8 && (off & 7) == 0) {
		for (i = 0; i < 2; i++) {
			uint32_t v32 = (uint32_t)(*val >> (32 * i));

			ecam_access(p, off + 4 * (uint64_t)i, 4, write, &v32);
			v |= (uint64_t)v32 << (32 * i);
		}
	} else {
		for (i = 0; i < bytes; i++) {
			uint32_t v8 = (uint32_t)(*val >> (8 * i)) & 0xff;

			if (off + (uint64_t)i < LAYOUT_ECAM_SIZE)
				ecam_access(p, off + (uint64_t)i, 1, write, &v8);
			else
				v8 = 0xff;
			v |= (uint64_t)(v8 & 0xff) << (8 * i);
		}
	}
	if (!write)
		*val = v;
	return 0;
}

/* ---- Capabilities (PCI 3.0 §6.7) ---- */

int pci_add_capability(struct pci_devinst *pi, const uint8_t *data, int len)
{
	int off, reallen;

	if (!data || len < 2 || len > PCI_CFG_STD_SIZE - CAP_START || pi->init_done)
		return -EINVAL;
	reallen = (len + 3) & ~3;
	off = pi->cap_last ? pi->cap_end : CAP_START;
	if (off + reallen > PCI_CFG_STD_SIZE)
		return -ENOSPC;
	memcpy(&pi->cfg[off], data, (size_t)len);
	pi->cfg[off + 1] = 0;
	if (pi->cap_last) {
		pi->cfg[pi->cap_last + 1] = (uint8_t)off;
	} else {
		pi->cfg[PCI_REG_CAP_PTR] = (uint8_t)off;
		pi->cfg[PCI_REG_STATUS] |= PCI_STS_CAPLIST;
	}
	pi->cap_last = off;
	pi->cap_end = off + reallen;
	return off;
}

/* The PCI Express capability, version 2 (PCIe base 4.0 §7.5.3): 60 bytes,
 * all read-only here.  Endpoints on bus 0 are root complex integrated (there
 * is no link); other types report a 2.5 GT/s x1 link. */
int pci_emul_add_pciecap(struct pci_devinst *pi, int type)
{
	uint8_t c[60];

	if (type < 0 || type > 0xf)
		return -EINVAL;
	if (type == PCI_PCIE_TYPE_ENDPOINT && pi->bus == 0)
		type = PCI_PCIE_TYPE_ROOT_INT_EP;
	memset(c, 0, sizeof(c));
	c[0] = PCI_CAP_PCIE;
	c[2] = (uint8_t)(0x2 | (type << 4));
	if (type != PCI_PCIE_TYPE_ROOT_INT_EP) {
		pci_cfg_put(c, 0x0c, 4, 0x411); /* link capabilities: L0s, x1, 2.5 GT/s */
		pci_cfg_put(c, 0x12, 2, 0x11);	/* link status: x1, 2.5 GT/s */
	}
	return pci_add_capability(pi, c, (int)sizeof(c));
}

/* ---- Start-up ---- */

static struct pci_devinst *devinst_new(struct pci *p, const struct pci_devemu *de, int bus,
				       int slot, int func)
{
	struct pci_devinst *pi = calloc(1, sizeof(*pi));
	int i;

	if (!pi)
		return NULL;
	pi->pci = p;
	pi->de = de;
	pi->bus = bus;
	pi->slot = slot;
	pi->func = func;
	pi->intx_pirq = -1;
	snprintf(pi->name, sizeof(pi->name), "%s@pci.%d.%d.%d", de->name, bus, slot, func);
	pthread_mutex_init(&pi->cfg_lock, NULL);
	pthread_mutex_init(&pi->msi_lock, NULL);
	pthread_mutex_init(&pi->intx_lock, NULL);
	for (i = 0; i < PCI_BAR_COUNT; i++) {
		pi->bar[i].pi = pi;
		pi->bar[i].idx = i;
	}
	pci_cfg_put(pi->wmask, PCI_REG_COMMAND, 2, CMD_WRITABLE);
	pci_cfg_put(pi->w1c, PCI_REG_STATUS, 2, STS_W1C);
	pi->wmask[PCI_REG_CACHELINE] = 0xff;
	pi->wmask[PCI_REG_INTLINE] = 0xff;
	/* 0xFF: not connected (PCI 3.0 §6.2.4, x86); set when INTx is routed. */
	pi->cfg[PCI_REG_INTLINE] = 0xff;
	if (p->enable_bars)
		pci_cfg_put(pi->cfg, PCI_REG_COMMAND, 2, PCI_CMD_BUSMASTER);
	return pi;
}

static void devinst_free(struct pci_devinst *pi)
{
	int i;

	for (i = 0; i < PCI_BAR_COUNT; i++)
		pci_bar_unmap(pi, &pi->bar[i]);
	if (pi->de->deinit)
		pi->de->deinit(pi);
	pci_ioev_free(pi);
	pci_msix_free(pi);
	pthread_mutex_destroy(&pi->cfg_lock);
	pthread_mutex_destroy(&pi->msi_lock);
	pthread_mutex_destroy(&pi->intx_lock);
	free(pi);
}

static int set_err(struct pci *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct pci *p, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p->err && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Run a model's init with pci_set_error() writing into reason. */
static int run_init(struct pci *p, struct pci_devinst *pi, const struct config *cfg,
		    const char *node, char *reason, size_t len)
{
	char *err = p->err;
	size_t errlen = p->errlen;
	int rc;

	reason[0] = '\0';
	p->err = reason;
	p->errlen = len;
	p->err_set = false;
	rc = pi->de->init(pi, cfg, node);
	p->err = err;
	p->errlen = errlen;
	return rc > 0 ? -EINVAL : rc;
}

static int init_function(struct pci *p, const struct config *cfg, int bus, int slot, int func)
{
	char node[48], key[64], reason[256];
	const struct pci_devemu *de;
	struct pci_devinst *pi;
	const char *name;
	int rc;

	snprintf(node, sizeof(node), "pci.%d.%d.%d", bus, slot, func);
	snprintf(key, sizeof(key), "%s.device", node);
	name = config_get(cfg, key);
	if (!name)
		return set_err(p, -EINVAL, "-s %d:%d:%d: no device emulation (%s is unset)", bus,
			       slot, func, key);
	de = pci_emul_find(name);
	if (!de || !de->init)
		return set_err(p, -EINVAL, "-s %d:%d:%d,%s: unknown device emulation", bus, slot,
			       func, name);
	pi = devinst_new(p, de, bus, slot, func);
	if (!pi)
		return set_err(p, -ENOMEM, "-s %d:%d:%d,%s: out of memory", bus, slot, func, name);
	p->bus[bus]->fn[slot][func] = pi;
	rc = run_init(p, pi, cfg, node, reason, sizeof(reason));
	if (rc == 0) {
		pi->init_done = true;
		return 0;
	}
	set_err(p, rc, "-s %d:%d:%d,%s: %s", bus, slot, func, name,
		reason[0] ? reason : strerror(-rc));
	p->bus[bus]->fn[slot][func] = NULL;
	devinst_free(pi);
	return rc;
}

static uint64_t roundup_clamp(uint64_t v, uint64_t slack, uint64_t limit)
{
	if (v > limit || limit - v < slack)
		return limit;
	v = (v + slack + slack - 1) & ~(slack - 1);
	return v > limit ? limit : v;
}

static int init_bus(struct pci *p, const struct config *cfg, int bus)
{
	struct pci_bus_info *bi = p->bus[bus];
	const struct pci_platform *pl = &p->plat;
	struct pci_bar *failed;
	int s, f, rc;

	bi->win.io_base = (uint32_t)p->io_next;
	bi->win.mem32_base = p->mem32_next;
	bi->win.mem64_base = p->mem64_next;
	for (s = 0; s < PCI_NSLOT; s++) {
		for (f = 0; f < PCI_NFUNC; f++) {
			if (!(bi->configured[s] & (1u << f)))
				continue;
			rc = init_function(p, cfg, bus, s, f);
			if (rc)
				return rc;
		}
	}
	rc = pci_place_bus_bars(p, bus, &failed);
	if (rc)
		return set_err(
		    p, rc, "-s %d:%d:%d,%s: no room for BAR %d (%llu bytes) in the PCI %s window",
		    bus, failed->pi->slot, failed->pi->func, failed->pi->de->name, failed->idx,
		    (unsigned long long)failed->size,
		    failed->type == PCI_BAR_IO ? "I/O" : "memory");
	p->io_next = roundup_clamp(p->io_next, BUS_IO_SLACK, pl->io_limit);
	p->mem32_next = roundup_clamp(p->mem32_next, BUS_MEM32_SLACK, pl->mem32_limit);
	p->mem64_next = roundup_clamp(p->mem64_next, BUS_MEM64_SLACK, pl->mem64_limit);
	bi->win.io_limit = (uint32_t)p->io_next;
	bi->win.mem32_limit = p->mem32_next;
	bi->win.mem64_limit = p->mem64_next;
	return 0;
}

struct walk {
	struct pci *p;
	const struct config *cfg;
	char prefix[48];
	int level; /* 0 buses, 1 slots, 2 functions */
	int bus, slot;
	int rc;
};

static struct pci_bus_info *bus_get(struct pci *p, int bus)
{
	struct pci_bus_info *bi = p->bus[bus];

	if (!bi) {
		bi = calloc(1, sizeof(*bi));
		if (!bi)
			return NULL;
		memset(bi->intx_pirq, -1, sizeof(bi->intx_pirq));
		p->bus[bus] = bi;
	}
	return bi;
}

/* pci.B.S.F nodes; non-numeric names under "pci" are other settings
 * ("pci.enable_bars"). */
static int walk_node(const char *name, const char *value, void *arg)
{
	static const unsigned long long max[3] = { PCI_NBUS - 1, PCI_NSLOT - 1, PCI_NFUNC - 1 };
	static const char *const what[3] = { "bus", "slot", "function" };
	struct walk *w = arg, sub;
	unsigned long long n;
	int rc;

	rc = parse_uint(name, max[w->level], &n);
	if (rc == -EINVAL && w->level == 0)
		return 0;
	if (rc < 0 || value)
		return set_err(w->p, -EINVAL, "%s.%s: not a PCI %s number (0-%llu)", w->prefix,
			       name, what[w->level], max[w->level]);
	if (w->level == 2) {
		struct pci_bus_info *bi = bus_get(w->p, w->bus);

		if (!bi)
			return set_err(w->p, -ENOMEM, "out of memory");
		bi->configured[w->slot] |= (uint8_t)(1u << n);
		return 0;
	}
	sub = *w;
	if (snprintf(sub.prefix, sizeof(sub.prefix), "%s.%d", w->prefix, (int)n) >=
	    (int)sizeof(sub.prefix))
		return -EINVAL;
	sub.level = w->level + 1;
	if (w->level == 0)
		sub.bus = (int)n;
	else
		sub.slot = (int)n;
	return config_foreach_child(w->cfg, sub.prefix, walk_node, &sub);
}

static void warn_lonely_functions(struct pci *p)
{
	int b, s, f;

	for (b = 0; b < PCI_NBUS; b++) {
		for (s = 0; p->bus[b] && s < PCI_NSLOT; s++) {
			if (p->bus[b]->fn[s][0])
				continue;
			for (f = 1; f < PCI_NFUNC; f++) {
				if (p->bus[b]->fn[s][f])
					log_warnx("pci %d:%d:%d: slot %d has no function 0, so "
						  "guests will not look for this function",
						  b, s, f, s);
			}
		}
	}
}

int pci_init_devices(struct pci *p, const struct config *cfg, char *err, size_t errlen)
{
	struct walk w = { .p = p, .cfg = cfg, .prefix = "pci" };
	const char *v;
	int b, rc;

	if (err && errlen)
		err[0] = '\0';
	p->err = err;
	p->errlen = errlen;
	if (p->inited)
		return set_err(p, -EBUSY, "PCI devices are already initialised");
	p->inited = true;
	if (config_get_bool(cfg, "pci.enable_bars", true, &p->enable_bars) < 0) {
		v = config_get(cfg, "pci.enable_bars");
		return set_err(p, -EINVAL, "pci.enable_bars=%s: expected true or false",
			       v ? v : "");
	}
	p->cold = true;
	/* Bus 0 always exists: it decodes the configuration ports. */
	rc = bus_get(p, 0) ? 0 : set_err(p, -ENOMEM, "out of memory");
	if (!rc) {
		rc = config_foreach_child(cfg, "pci", walk_node, &w);
		if (rc == -ENOENT || rc == -ENOTDIR)
			rc = 0;
	}
	for (b = 0; !rc && b < PCI_NBUS; b++) {
		if (p->bus[b])
			rc = init_bus(p, cfg, b);
	}
	if (!rc) {
		warn_lonely_functions(p);
		pci_irq_route_all(p);
	}
	p->cold = false;
	p->err = NULL;
	p->errlen = 0;
	return rc < 0 ? rc : (rc > 0 ? -EINVAL : 0);
}

int pci_claim_lpc(struct pci_devinst *pi)
{
	struct pci *p = pi->pci;

	if (p->lpc && p->lpc != pi)
		return -EEXIST;
	if (pi->bus != 0)
		return -EINVAL;
	p->lpc = pi;
	return 0;
}

bool pci_lpc_present(const struct pci *p)
{
	return p->lpc != NULL;
}

int pci_lpc_location(const struct pci *p, int *bus, int *slot, int *func)
{
	if (!p->lpc)
		return -ENOENT;
	if (bus)
		*bus = p->lpc->bus;
	if (slot)
		*slot = p->lpc->slot;
	if (func)
		*func = p->lpc->func;
	return 0;
}

bool pci_bus_present(const struct pci *p, int bus)
{
	return bus >= 0 && bus < PCI_NBUS && p->bus[bus] != NULL;
}

int pci_bus_windows(const struct pci *p, int bus, struct pci_windows *w)
{
	if (!pci_bus_present(p, bus))
		return -ENOENT;
	*w = p->bus[bus]->win;
	return 0;
}

/* ---- Creation ---- */

void pci_platform_set_windows(struct pci_platform *plat, uint64_t highmem)
{
	uint64_t top = LAYOUT_HIGHMEM_BASE + highmem;

	plat->io_base = PCI_IO_BASE;
	plat->io_limit = PCI_IO_LIMIT;
	plat->mem32_base = LAYOUT_PCI32_BASE;
	plat->mem32_limit = LAYOUT_PCI32_END;
	plat->mem64_base = (top + PCI_MEM64_SIZE - 1) & ~(PCI_MEM64_SIZE - 1);
	plat->mem64_limit = plat->mem64_base + PCI_MEM64_SIZE;
}

static bool platform_ok(const struct pci_platform *pl)
{
	return pl && pl->io && pl->mmio && pl->irq_line && pl->msi && pl->io_base < pl->io_limit &&
	       pl->io_limit <= 0x10000 && pl->mem32_base < pl->mem32_limit &&
	       pl->mem32_limit <= (1ull << 32) && pl->mem64_base <= pl->mem64_limit;
}

struct pci *pci_new(const struct pci_platform *plat)
{
	struct pci *p;
	int rc;

	if (!platform_ok(plat)) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->plat = *plat;
	p->enable_bars = true;
	p->io_next = plat->io_base;
	p->mem32_next = plat->mem32_base;
	p->mem64_next = plat->mem64_base;
	pci_irq_init(p);
	rc = inout_register(plat->io, PCI_CONF1_ADDR_PORT, 4, conf1_addr_io, p, "pci-conf1-addr");
	p->conf1_addr_mapped = rc == 0;
	if (!rc) {
		rc = inout_register(plat->io, PCI_CONF1_DATA_PORT, 4, conf1_data_io, p,
				    "pci-conf1-data");
		p->conf1_data_mapped = rc == 0;
	}
	if (!rc) {
		rc = mmio_register(plat->mmio, LAYOUT_ECAM_BASE, LAYOUT_ECAM_SIZE, ecam_mmio, p,
				   "pci-ecam");
		p->ecam_mapped = rc == 0;
	}
	if (rc) {
		pci_free(p);
		errno = -rc;
		return NULL;
	}
	return p;
}

void pci_free(struct pci *p)
{
	int b, s, f;

	if (!p)
		return;
	if (p->conf1_addr_mapped)
		inout_unregister(p->plat.io, PCI_CONF1_ADDR_PORT);
	if (p->conf1_data_mapped)
		inout_unregister(p->plat.io, PCI_CONF1_DATA_PORT);
	if (p->ecam_mapped)
		mmio_unregister(p->plat.mmio, LAYOUT_ECAM_BASE);
	for (b = 0; b < PCI_NBUS; b++) {
		if (!p->bus[b])
			continue;
		for (s = 0; s < PCI_NSLOT; s++) {
			for (f = 0; f < PCI_NFUNC; f++) {
				if (p->bus[b]->fn[s][f])
					devinst_free(p->bus[b]->fn[s][f]);
			}
		}
		free(p->bus[b]);
	}
	pthread_mutex_destroy(&p->irq_lock);
	free(p);
}
