/* libFuzzer target: the PCI root complex (src/pci/) with hostbridge, lpc,
 * uart, virtio-rnd and virtio-blk (over a memfd image) functions, driven by
 * a hostile guest (SECURITY.md "Transport registers", "Re-entrancy"):
 * configuration mechanism #1 and ECAM accesses of every width (ECAM up to 8
 * bytes, any bus/slot/function/offset), BAR sizing and reprogramming
 * (including over platform devices and over each other), command register
 * toggles, accesses inside and around every BAR, MSI-X table and PBA
 * accesses, and guest RAM the virtio rings live in.
 *
 * Platform devices that are not PCI (a fake COM1, RTC, PM block, I/O APIC
 * and local APIC) are registered in the same dispatchers first.
 * Invariants, checked after every step:
 *  - the I/O and MMIO dispatch tables stay sorted and non-overlapping, I/O
 *    ranges end at or below 0x10000 and no MMIO range wraps;
 *  - every fixed platform range still dispatches to its own handler (a BAR
 *    never steals or unregisters it);
 *  - interrupt lines are only driven for GSIs 16-23 and PIC IRQs 3-15.
 *
 * The dispatch tables are opaque (src/inout.c and src/mmio.c); the check
 * relies on both holding a struct rangemap as their only member, which is
 * stated by a static layout mirror below -- revisit it if that changes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "firmware/layout.h"
#include "fuzz_input.h"
#include "gmem.h"
#include "inout.h"
#include "mmio.h"
#include "pci/pci.h"
#include "pci/pci_emul.h"
#include "rangemap.h"

#define RAM_SIZE (1u << 20)

/* Layout mirror of struct inout / struct mmio (see the head comment). */
struct dispatch_mirror {
	struct rangemap map;
};

struct fixed {
	uint64_t base, len;
};

static const struct fixed fixed_io[] = {
	{ 0x3f8, 8 }, { 0x70, 2 }, { 0x400, 12 }, { 0xb2, 1 }, { 0x510, 12 },
};
static const struct fixed fixed_mmio[] = {
	{ LAYOUT_IOAPIC_BASE, 0x1000 },
	{ LAYOUT_LAPIC_BASE, 0x1000 },
	{ LAYOUT_PCI32_BASE + 0x100000, 0x1000 }, /* something in the BAR window */
};

static const int slots[] = { 0, 2, 3, 4, 5, 31 };
#define NSLOTS ((int)(sizeof(slots) / sizeof(slots[0])))

struct state {
	struct inout *io;
	struct mmio *mmio;
	struct config *cfg;
	struct pci *pci;
	struct gmem gmem;
	uint8_t *ram;
	char err[256];
};

static struct state st;
static int image_fd = -1;
static char image_path[64];
static uint8_t ram_buf[RAM_SIZE];

static int fake_irq(void *ctx, unsigned gsi, int level)
{
	FZ_CHECK(gsi >= PCI_PIRQ_GSI_BASE && gsi < PCI_PIRQ_GSI_BASE + PCI_NPIRQ);
	FZ_CHECK(level == 0 || level == 1);
	return 0;
}

static int fake_pic(void *ctx, unsigned irq, int level)
{
	FZ_CHECK(irq >= 3 && irq <= 15);
	FZ_CHECK(level == 0 || level == 1);
	return 0;
}

static int fake_msi(void *ctx, uint64_t addr, uint32_t data)
{
	return 0;
}

static int fixed_io_fn(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	if (in)
		*val = 0x5a5a5a5a;
	return 0;
}

static int fixed_mmio_fn(void *arg, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val)
{
	if (!write)
		*val = 0xa5a5a5a5a5a5a5a5ull;
	return 0;
}

static void check_map(struct rangemap *m, uint64_t limit)
{
	int i;

	pthread_rwlock_rdlock(&m->lock);
	FZ_CHECK(m->nr >= 0 && m->nr <= m->cap);
	for (i = 0; i < m->nr; i++) {
		const struct rangemap_entry *e = &m->r[i];

		FZ_CHECK(e->len > 0);
		FZ_CHECK(e->base + e->len - 1 >= e->base);
		FZ_CHECK(e->base + e->len - 1 < limit || limit == 0);
		if (i > 0)
			FZ_CHECK(m->r[i - 1].base + m->r[i - 1].len <= e->base);
	}
	pthread_rwlock_unlock(&m->lock);
}

static void check_fixed(struct state *s)
{
	struct rangemap_entry e;
	size_t i;

	for (i = 0; i < sizeof(fixed_io) / sizeof(fixed_io[0]); i++) {
		FZ_CHECK(rangemap_find(&((struct dispatch_mirror *)s->io)->map, fixed_io[i].base,
				       fixed_io[i].len, &e) == 0);
		FZ_CHECK(e.fn == (void *)fixed_io_fn && e.base == fixed_io[i].base);
	}
	for (i = 0; i < sizeof(fixed_mmio) / sizeof(fixed_mmio[0]); i++) {
		FZ_CHECK(rangemap_find(&((struct dispatch_mirror *)s->mmio)->map,
				       fixed_mmio[i].base, fixed_mmio[i].len, &e) == 0);
		FZ_CHECK(e.fn == (void *)fixed_mmio_fn && e.base == fixed_mmio[i].base);
	}
}

static void check_all(struct state *s)
{
	check_map(&((struct dispatch_mirror *)s->io)->map, 0x10000);
	check_map(&((struct dispatch_mirror *)s->mmio)->map, 0);
	check_fixed(s);
}

static uint32_t cfg_rd(struct state *s, int slot, int func, int reg, int bytes)
{
	uint32_t v = 0xffffffffu;

	pci_cfg_access(s->pci, 0, slot, func, reg, bytes, false, &v);
	return v;
}

static void cfg_wr(struct state *s, int slot, int func, int reg, int bytes, uint32_t v)
{
	pci_cfg_access(s->pci, 0, slot, func, reg, bytes, true, &v);
}

/* Decoded address of BAR idx (I/O or memory, 64-bit aware). */
static uint64_t bar_addr(struct state *s, int slot, int idx, bool *io)
{
	uint32_t lo = cfg_rd(s, slot, 0, PCI_REG_BAR0 + 4 * idx, 4);

	*io = lo & 1;
	if (lo & 1)
		return lo & 0xfffc;
	if ((lo & 6) == 4 && idx < 5)
		return ((uint64_t)cfg_rd(s, slot, 0, PCI_REG_BAR0 + 4 * idx + 4, 4) << 32) |
		       (lo & ~0xfu);
	return lo & ~0xfu;
}

static int find_cap(struct state *s, int slot, int id)
{
	int off = (int)cfg_rd(s, slot, 0, PCI_REG_CAP_PTR, 1), n = 0;

	while (off >= 0x40 && off < 0x100 && n++ < 48) {
		if ((int)cfg_rd(s, slot, 0, off, 1) == id)
			return off;
		off = (int)cfg_rd(s, slot, 0, off + 1, 1) & 0xfc;
	}
	return 0;
}

static int pick_slot(struct fz *f)
{
	return slots[fz_u8(f) % NSLOTS];
}

static uint32_t conf1_addr(struct fz *f, uint8_t mode)
{
	uint32_t a;

	if (mode & 1)
		return fz_u32(f); /* anything, reserved bits too */
	a = 0x80000000u | (uint32_t)pick_slot(f) << 11;
	a |= (uint32_t)(fz_u8(f) & 7) << 8 | (fz_u8(f) & 0xfc);
	return a;
}

static void op_conf1(struct state *s, struct fz *f, uint8_t op)
{
	uint32_t v = conf1_addr(f, op >> 4);
	int bytes = fz_width(f);
	uint16_t port = (uint16_t)(PCI_CONF1_DATA_PORT + (fz_u8(f) & 3));

	inout_dispatch(s->io, 0, false, PCI_CONF1_ADDR_PORT, 4, &v);
	v = (op & 0x80) ? fz_u32(f) : 0xffffffffu;
	inout_dispatch(s->io, 0, !(op & 0x80), port, bytes, &v);
	if (op & 0x40) { /* odd-width accesses to the address register itself */
		v = fz_u32(f);
		inout_dispatch(s->io, 0, op & 0x20, (uint16_t)(PCI_CONF1_ADDR_PORT + (op & 3)),
			       fz_width(f), &v);
	}
}

static void op_ecam(struct state *s, struct fz *f, uint8_t op)
{
	static const int widths[4] = { 1, 2, 4, 8 };
	uint64_t off, v = fz_u64(f);
	int bytes = widths[fz_u8(f) & 3];

	if (op & 0x10)
		off = fz_u32(f) % LAYOUT_ECAM_SIZE; /* any bus */
	else
		off = ((uint64_t)pick_slot(f) << 15) | ((uint64_t)(fz_u8(f) & 7) << 12) |
		      (fz_u16(f) & 0xfff);
	if (op & 0x20) /* naturally aligned, as a CPU would mostly issue */
		off &= ~(uint64_t)(bytes - 1);
	mmio_dispatch(s->mmio, 0, op & 0x80, LAYOUT_ECAM_BASE + off, bytes, &v);
}

static void op_bar_program(struct state *s, struct fz *f, uint8_t op)
{
	int slot = pick_slot(f), idx = fz_u8(f) % 6;
	uint32_t v;
	bool io;

	switch ((op >> 4) & 7) {
	case 0: /* size it */
		v = 0xffffffffu;
		break;
	case 1: /* onto another BAR */
		v = (uint32_t)bar_addr(s, pick_slot(f), fz_u8(f) % 6, &io) + (fz_u8(f) & 0xf0);
		break;
	case 2: /* onto a fixed platform range */
		v = (op & 0x80) ? (uint32_t)fixed_io[fz_u8(f) % 5].base
				: (uint32_t)fixed_mmio[fz_u8(f) % 3].base;
		break;
	case 3: /* near the top of the I/O space or of 4 GiB */
		v = (op & 0x80) ? 0xfff0u + (fz_u8(f) & 0xf) : 0xfffff000u + fz_u16(f);
		break;
	default:
		v = fz_u32(f);
		break;
	}
	cfg_wr(s, slot, 0, PCI_REG_BAR0 + 4 * idx, (op & 0x08) ? 2 : 4, v);
}

static void op_command(struct state *s, struct fz *f)
{
	int slot = pick_slot(f);

	cfg_wr(s, slot, fz_u8(f) & 1, PCI_REG_COMMAND, 2, fz_u16(f));
}

static void op_bar_access(struct state *s, struct fz *f, uint8_t op)
{
	static const int widths[8] = { 1, 2, 4, 8, 1, 2, 4, 3 };
	int slot = pick_slot(f), idx = fz_u8(f) % 6;
	int bytes = widths[fz_u8(f) & 7];
	uint64_t addr, off = fz_u16(f), v = fz_u64(f);
	uint32_t v32 = (uint32_t)v;
	bool io;

	addr = bar_addr(s, slot, idx, &io);
	if (!addr)
		return;
	if (op & 0x10)
		off = (uint64_t)(int64_t)(int16_t)off; /* before the BAR too */
	if (io) {
		if (bytes <= 4)
			inout_dispatch(s->io, 0, !(op & 0x80), (uint16_t)(addr + off), bytes, &v32);
	} else {
		mmio_dispatch(s->mmio, 0, op & 0x80, addr + off, bytes, &v);
	}
}

/* MSI-X: the table and PBA where the capability says, any entry, any
 * width, with the enable and function-mask bits toggled. */
static void op_msix(struct state *s, struct fz *f, uint8_t op)
{
	int slot = pick_slot(f), cap = find_cap(s, slot, PCI_CAP_MSIX);
	uint32_t tbl, pba, where;
	uint64_t base, v = fz_u64(f);
	int bytes = (op & 0x20) ? 8 : 4;
	bool io;

	if (!cap)
		return;
	if (op & 0x40)
		cfg_wr(s, slot, 0, cap + 2, 2, fz_u16(f)); /* message control */
	tbl = cfg_rd(s, slot, 0, cap + 4, 4);
	pba = cfg_rd(s, slot, 0, cap + 8, 4);
	where = (op & 0x10) ? pba : tbl;
	if ((where & 7) > 5)
		return;
	base = bar_addr(s, slot, where & 7, &io);
	if (!base || io)
		return;
	mmio_dispatch(s->mmio, 0, op & 0x80, base + (where & ~7u) + (fz_u16(f) & 0x3ffc),
		      (op & 0x08) ? 2 : bytes, &v);
}

static void op_raw(struct state *s, struct fz *f, uint8_t op)
{
	uint64_t v = fz_u64(f);
	uint32_t v32 = (uint32_t)v;

	if (op & 0x10)
		inout_dispatch(s->io, 0, op & 0x80, fz_u16(f), fz_width(f), &v32);
	else
		mmio_dispatch(s->mmio, 0, op & 0x80, LAYOUT_PCI32_BASE + (fz_u32(f) & 0x1fffffff),
			      1 << (fz_u8(f) & 3), &v);
}

static void op_ram(struct state *s, struct fz *f)
{
	const uint8_t *p;
	uint32_t at = fz_u32(f) % RAM_SIZE;
	size_t n = fz_take(f, fz_u8(f), &p);

	if (n > RAM_SIZE - at)
		n = RAM_SIZE - at;
	memcpy(s->ram + at, p, n);
}

static void step(struct state *s, struct fz *f)
{
	uint8_t op = fz_u8(f);

	switch (op & 7) {
	case 0:
		op_conf1(s, f, op);
		break;
	case 1:
		op_ecam(s, f, op);
		break;
	case 2:
		op_bar_program(s, f, op);
		break;
	case 3:
		op_command(s, f);
		break;
	case 4:
		op_bar_access(s, f, op);
		break;
	case 5:
		op_msix(s, f, op);
		break;
	case 6:
		op_raw(s, f, op);
		break;
	case 7:
		op_ram(s, f);
		break;
	}
	check_all(s);
}

static void once(void)
{
	image_fd = memfd_create("fuzz-pci-image", 0);
	if (image_fd < 0 || ftruncate(image_fd, 64 * 1024) < 0)
		abort();
	snprintf(image_path, sizeof(image_path), "/proc/self/fd/%d", image_fd);
}

static void set(struct state *s, const char *k, const char *v)
{
	if (config_set(s->cfg, k, v))
		abort();
}

static int setup(struct state *s, uint8_t flags)
{
	struct pci_platform pl;
	size_t i;

	memset(s, 0, sizeof(*s));
	memset(ram_buf, 0, sizeof(ram_buf));
	s->ram = ram_buf;
	if (gmem_add_region(&s->gmem, 0, RAM_SIZE, s->ram))
		abort();
	s->io = inout_new();
	s->mmio = mmio_new();
	s->cfg = config_new();
	if (!s->io || !s->mmio || !s->cfg)
		abort();
	for (i = 0; i < sizeof(fixed_io) / sizeof(fixed_io[0]); i++)
		if (inout_register(s->io, (uint16_t)fixed_io[i].base, (uint32_t)fixed_io[i].len,
				   fixed_io_fn, NULL, "fixed"))
			abort();
	for (i = 0; i < sizeof(fixed_mmio) / sizeof(fixed_mmio[0]); i++)
		if (mmio_register(s->mmio, fixed_mmio[i].base, fixed_mmio[i].len, fixed_mmio_fn,
				  NULL, "fixed"))
			abort();
	memset(&pl, 0, sizeof(pl));
	pl.io = s->io;
	pl.mmio = s->mmio;
	pl.gmem = &s->gmem;
	pl.irq_line = fake_irq;
	pl.msi = fake_msi;
	pl.pic_line = (flags & 1) ? fake_pic : NULL;
	pl.ctx = s;
	pci_platform_set_windows(&pl, (flags & 2) ? (1ull << 30) : 0);
	s->pci = pci_new(&pl);
	if (!s->pci)
		abort();
	set(s, "pci.0.0.0.device", "hostbridge");
	set(s, "pci.0.31.0.device", "lpc");
	set(s, "pci.0.2.0.device", "uart");
	set(s, "pci.0.3.0.device", "virtio-rnd");
	set(s, "pci.0.4.0.device", "virtio-blk");
	set(s, "pci.0.4.0.path", image_path);
	if (flags & 4) { /* a multi-function slot */
		set(s, "pci.0.5.0.device", "virtio-rnd");
		set(s, "pci.0.5.1.device", "uart");
	}
	if (flags & 8)
		set(s, "virtio_msix", "false");
	if (pci_init_devices(s->pci, s->cfg, s->err, sizeof(s->err))) {
		fprintf(stderr, "pci_init_devices: %s\n", s->err);
		abort();
	}
	return 0;
}

static void teardown(struct state *s)
{
	pci_free(s->pci);
	config_free(s->cfg);
	mmio_free(s->mmio);
	inout_free(s->io);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	int steps = 0;

	if (image_fd < 0)
		once();
	setup(&st, fz_u8(&f));
	check_all(&st);
	while (fz_more(&f) && steps++ < 2048)
		step(&st, &f);
	teardown(&st);
	return 0;
}
