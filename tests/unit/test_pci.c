/* Unit tests of the PCI core (src/pci/pci.c, pci_irq.c, pci_msi.c) and of the
 * hostbridge, amd_hostbridge, lpc and uart models, through the real I/O-port
 * and MMIO dispatchers with fake interrupt and MSI callbacks.  A test device
 * model ("testdev") defined here registers itself in the same linker set. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "firmware/layout.h"
#include "inout.h"
#include "mevent.h"
#include "mmio.h"
#include "pci/pci.h"
#include "pci/pci_emul.h"

/* Name the models so the linker takes their objects from the archive. */
extern const struct pci_devemu pci_de_hostbridge, pci_de_lpc, pci_de_uart;
const struct pci_devemu *const linked_models[] = { &pci_de_hostbridge, &pci_de_lpc, &pci_de_uart };

#define ECAM(b, s, f, r)                                                                           \
	(LAYOUT_ECAM_BASE + ((uint64_t)(b) << 20) + ((uint64_t)(s) << 15) +                        \
	 ((uint64_t)(f) << 12) + (r))

/* ---- The test device ---- */

struct access {
	int count;
	int slot;
	int bar;
	uint64_t off;
	int size;
	uint64_t val;
	bool write;
};

static struct access last;
static struct pci_devinst *tdevs[PCI_NSLOT][PCI_NFUNC];

static unsigned long long key_num(const struct config *cfg, const char *node, const char *k)
{
	unsigned long long v = 0;
	char key[64];

	snprintf(key, sizeof(key), "%s.%s", node, k);
	if (config_get_uint(cfg, key, 0, ~0ull, &v) < 0)
		return 0;
	return v;
}

static int tdev_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	unsigned long long v;
	int rc = 0;

	if (key_num(cfg, node, "fail")) {
		pci_set_error(pi, "asked to fail");
		return -EIO;
	}
	pci_set_cfgdata16(pi, PCI_REG_VENDOR, 0x1af4);
	pci_set_cfgdata16(pi, PCI_REG_DEVICE, 0xbeef);
	pci_set_cfgdata8(pi, PCI_REG_CLASS, 0xff);
	if ((v = key_num(cfg, node, "io")))
		rc = pci_emul_alloc_bar(pi, 0, PCI_BAR_IO, v, 0);
	if (!rc && (v = key_num(cfg, node, "mem32")))
		rc = pci_emul_alloc_bar(pi, 1, PCI_BAR_MEM32, v, 0);
	if (!rc && (v = key_num(cfg, node, "mem64")))
		rc = pci_emul_alloc_bar(pi, 2, PCI_BAR_MEM64, v, 0);
	if (!rc && (v = key_num(cfg, node, "pf64")))
		rc = pci_emul_alloc_bar(pi, 2, PCI_BAR_MEM64, v, PCI_BAR_PREFETCH);
	if (!rc && (v = key_num(cfg, node, "msi")))
		rc = pci_emul_add_msicap(pi, (int)v) < 0;
	if (!rc && (v = key_num(cfg, node, "msix")))
		rc = pci_emul_add_msixcap(pi, (int)v, 4) < 0;
	if (!rc && key_num(cfg, node, "intx"))
		rc = pci_lintr_request(pi);
	if (rc)
		return rc < 0 ? rc : -EINVAL;
	if (pci_bus(pi) == 0)
		tdevs[pci_slot(pi)][pci_func(pi)] = pi;
	return 0;
}

static void tdev_deinit(struct pci_devinst *pi)
{
	if (pci_bus(pi) == 0)
		tdevs[pci_slot(pi)][pci_func(pi)] = NULL;
}

static void record(struct pci_devinst *pi, int bar, uint64_t off, int size, uint64_t val,
		   bool write)
{
	last.count++;
	last.slot = pci_slot(pi);
	last.bar = bar;
	last.off = off;
	last.size = size;
	last.val = val;
	last.write = write;
}

static uint64_t tdev_barread(struct pci_devinst *pi, int bar, uint64_t off, int size)
{
	record(pi, bar, off, size, 0, false);
	return 0x1000u * (uint64_t)bar + off;
}

static void tdev_barwrite(struct pci_devinst *pi, int bar, uint64_t off, int size, uint64_t val)
{
	record(pi, bar, off, size, val, true);
}

static const struct pci_devemu test_devemu = {
	.name = "testdev",
	.init = tdev_init,
	.deinit = tdev_deinit,
	.barread = tdev_barread,
	.barwrite = tdev_barwrite,
};
PCI_EMUL_REGISTER(test_devemu);

/* ---- Fixture: dispatchers, fake interrupt controllers ---- */

#define MAX_MSI 64

struct fix {
	struct inout *io;
	struct mmio *mmio;
	struct config *cfg;
	struct pci *pci;
	struct mevent_loop *loop;
	int gsi_level[24];
	int gsi_calls[24];
	int pic_level[16];
	int pic_calls[16];
	uint64_t msi_addr[MAX_MSI];
	uint32_t msi_data[MAX_MSI];
	int nmsi;
	int cf9_calls;
	char err[256];
};

static int fake_irq(void *ctx, unsigned gsi, int level)
{
	struct fix *f = ctx;

	if (gsi < 24) {
		f->gsi_level[gsi] = level;
		f->gsi_calls[gsi]++;
	}
	return 0;
}

static int fake_pic(void *ctx, unsigned irq, int level)
{
	struct fix *f = ctx;

	if (irq < 16) {
		f->pic_level[irq] = level;
		f->pic_calls[irq]++;
	}
	return 0;
}

static int fake_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct fix *f = ctx;

	int n = __atomic_fetch_add(&f->nmsi, 1, __ATOMIC_RELAXED);

	if (n < MAX_MSI) {
		f->msi_addr[n] = addr;
		f->msi_data[n] = data;
	}
	return 0;
}

static int fake_cf9(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct fix *f = arg;

	f->cf9_calls++;
	if (in)
		*val = 0x42;
	return 0;
}

static void platform(struct fix *f, struct pci_platform *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->io = f->io;
	pl->mmio = f->mmio;
	pl->loop = f->loop;
	pl->irq_line = fake_irq;
	pl->msi = fake_msi;
	pl->pic_line = fake_pic;
	pl->cf9_io = fake_cf9;
	pl->cf9_arg = f;
	pl->ctx = f;
	pci_platform_set_windows(pl, 0);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct pci_platform pl;

	assert_non_null(f);
	f->io = inout_new();
	f->mmio = mmio_new();
	f->cfg = config_new();
	f->loop = mevent_loop_new();
	assert_non_null(f->io);
	assert_non_null(f->mmio);
	assert_non_null(f->cfg);
	assert_non_null(f->loop);
	platform(f, &pl);
	f->pci = pci_new(&pl);
	assert_non_null(f->pci);
	memset(&last, 0, sizeof(last));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	pci_free(f->pci);
	config_free(f->cfg);
	mevent_loop_free(f->loop);
	mmio_free(f->mmio);
	inout_free(f->io);
	free(f);
	return 0;
}

static void set(struct fix *f, const char *key, const char *val)
{
	assert_int_equal(config_set(f->cfg, key, val), 0);
}

static int start(struct fix *f)
{
	return pci_init_devices(f->pci, f->cfg, f->err, sizeof(f->err));
}

static void start_ok(struct fix *f)
{
	int rc = start(f);

	if (rc)
		fprintf(stderr, "pci_init_devices: %s\n", f->err);
	assert_int_equal(rc, 0);
}

static uint32_t mask32(int bytes)
{
	return bytes == 4 ? 0xffffffffu : (1u << (8 * bytes)) - 1;
}

static uint32_t io_in(struct fix *f, uint16_t port, int bytes)
{
	uint32_t v = 0xffffffffu;

	assert_int_equal(inout_dispatch(f->io, 0, true, port, bytes, &v), 0);
	return v & mask32(bytes);
}

static void io_out(struct fix *f, uint16_t port, int bytes, uint32_t v)
{
	assert_int_equal(inout_dispatch(f->io, 0, false, port, bytes, &v), 0);
}

static uint32_t conf1_addr(int b, int s, int fn, int reg)
{
	return 0x80000000u | (uint32_t)b << 16 | (uint32_t)s << 11 | (uint32_t)fn << 8 |
	       ((uint32_t)reg & 0xfc);
}

static uint32_t c1_read(struct fix *f, int b, int s, int fn, int reg, int bytes)
{
	io_out(f, 0xcf8, 4, conf1_addr(b, s, fn, reg));
	return io_in(f, (uint16_t)(0xcfc + (reg & 3)), bytes);
}

static void c1_write(struct fix *f, int b, int s, int fn, int reg, int bytes, uint32_t v)
{
	io_out(f, 0xcf8, 4, conf1_addr(b, s, fn, reg));
	io_out(f, (uint16_t)(0xcfc + (reg & 3)), bytes, v);
}

static uint64_t mem_read(struct fix *f, uint64_t gpa, int bytes)
{
	uint64_t v = ~0ull;

	assert_int_equal(mmio_dispatch(f->mmio, 0, false, gpa, bytes, &v), 0);
	return bytes == 8 ? v : v & ((1ull << (8 * bytes)) - 1);
}

static void mem_write(struct fix *f, uint64_t gpa, int bytes, uint64_t v)
{
	assert_int_equal(mmio_dispatch(f->mmio, 0, true, gpa, bytes, &v), 0);
}

static uint64_t bar_of(struct fix *f, int s, int fn, int idx)
{
	uint32_t lo = c1_read(f, 0, s, fn, PCI_REG_BAR0 + 4 * idx, 4);

	if (lo & 1)
		return lo & 0xfffc;
	if ((lo & 6) == 4)
		return ((uint64_t)c1_read(f, 0, s, fn, PCI_REG_BAR0 + 4 * idx + 4, 4) << 32) |
		       (lo & ~0xfu);
	return lo & ~0xfu;
}

static int find_cap(struct fix *f, int s, int fn, int id)
{
	int off = c1_read(f, 0, s, fn, PCI_REG_CAP_PTR, 1), n = 0;

	while (off && n++ < 48) {
		if ((int)c1_read(f, 0, s, fn, off, 1) == id)
			return off;
		off = (int)c1_read(f, 0, s, fn, off + 1, 1);
	}
	return 0;
}

/* ---- Mechanism #1 ---- */

static void test_conf1_widths(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.0.0.device", "hostbridge");
	set(f, "pci.0.31.0.device", "lpc");
	start_ok(f);
	assert_int_equal(c1_read(f, 0, 0, 0, 0, 4), 0x12751275);
	assert_int_equal(c1_read(f, 0, 0, 0, 0, 1), 0x75);
	assert_int_equal(c1_read(f, 0, 0, 0, 1, 1), 0x12);
	assert_int_equal(c1_read(f, 0, 0, 0, 2, 1), 0x75);
	assert_int_equal(c1_read(f, 0, 0, 0, 3, 1), 0x12);
	assert_int_equal(c1_read(f, 0, 0, 0, 0, 2), 0x1275);
	assert_int_equal(c1_read(f, 0, 0, 0, 2, 2), 0x1275);
	/* A word at 0xCFD takes bytes 1 and 2 of the dword. */
	assert_int_equal(c1_read(f, 0, 0, 0, 1, 2), 0x7512);
	assert_int_equal(c1_read(f, 0, 0, 0, 8, 4), 0x06000000);
	assert_int_equal(c1_read(f, 0, 31, 0, 0, 4), 0x70008086);
	assert_int_equal(c1_read(f, 0, 31, 0, 8, 4), 0x06010000);

	/* CONFIG_ADDRESS: reserved bits read as zero; only dword accesses. */
	io_out(f, 0xcf8, 4, 0xffffffff);
	assert_int_equal(io_in(f, 0xcf8, 4), 0x80fffffc);
	io_out(f, 0xcf8, 4, conf1_addr(0, 0, 0, 0));
	io_out(f, 0xcf8, 1, 0x55);
	io_out(f, 0xcfa, 2, 0x5555);
	assert_int_equal(io_in(f, 0xcf8, 4), conf1_addr(0, 0, 0, 0));
	assert_int_equal(io_in(f, 0xcf8, 1), 0xff);
	assert_int_equal(io_in(f, 0xcf8, 2), 0xffff);
	/* The byte at 0xCF9 belongs to the reset control register. */
	assert_int_equal(io_in(f, 0xcf9, 1), 0x42);
	io_out(f, 0xcf9, 1, 0x06);
	assert_int_equal(f->cf9_calls, 2);
	assert_int_equal(io_in(f, 0xcf8, 4), conf1_addr(0, 0, 0, 0));
	assert_int_equal(io_in(f, 0xcf9, 2), 0xffff);
	assert_int_equal(f->cf9_calls, 2);

	/* Disabled: data reads all-ones. */
	io_out(f, 0xcf8, 4, 0x00000000);
	assert_int_equal(io_in(f, 0xcfc, 4), 0xffffffff);
	io_out(f, 0xcfc, 4, 0);
	/* Absent functions and buses. */
	assert_int_equal(c1_read(f, 0, 5, 0, 0, 4), 0xffffffff);
	assert_int_equal(c1_read(f, 0, 0, 3, 0, 2), 0xffff);
	assert_int_equal(c1_read(f, 7, 0, 0, 0, 4), 0xffffffff);
	assert_int_equal(c1_read(f, 255, 31, 7, 0xfc, 1), 0xff);
	c1_write(f, 0, 5, 0, 0x10, 4, 0xffffffff);
}

static void test_conf1_ports_shared_with_cf9(void **state)
{
	struct fix *f = *state;
	struct pci_platform pl;
	struct inout *io = inout_new();

	/* The core must own the whole dword 0xCF8-0xCFB. */
	assert_int_equal(inout_register(io, 0xcf9, 1, fake_cf9, f, "rcr"), 0);
	platform(f, &pl);
	pl.io = io;
	pl.mmio = mmio_new();
	assert_null(pci_new(&pl));
	assert_int_equal(errno, EEXIST);
	/* Nothing is left behind by the failed creation. */
	inout_unregister(io, 0xcf9);
	{
		uint32_t v;

		assert_int_equal(inout_dispatch(io, 0, true, 0xcfc, 4, &v), -ENOENT);
	}
	mmio_free(pl.mmio);
	inout_free(io);
	/* A second root complex on the same dispatchers is refused. */
	platform(f, &pl);
	assert_null(pci_new(&pl));
	assert_int_equal(errno, EEXIST);
	pl.irq_line = NULL;
	assert_null(pci_new(&pl));
	assert_int_equal(errno, EINVAL);
}

/* ---- ECAM ---- */

static void test_ecam(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.0.0.device", "hostbridge");
	set(f, "pci.0.31.0.device", "lpc");
	start_ok(f);
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 0), 4), 0x12751275);
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 2), 2), 0x1275);
	assert_int_equal(mem_read(f, ECAM(0, 31, 0, 0xb), 1), 0x06);
	assert_true(mem_read(f, ECAM(0, 0, 0, 0), 8) == (0x12751275ull | (0x00100004ull << 32)));
	assert_true(mem_read(f, ECAM(0, 0, 0, 8), 8) == 0x0000000006000000ull);
	/* Absent functions, absent buses, extended space of a present one. */
	assert_int_equal(mem_read(f, ECAM(0, 1, 0, 0), 4), 0xffffffff);
	assert_true(mem_read(f, ECAM(0, 1, 0, 0), 8) == ~0ull);
	assert_int_equal(mem_read(f, ECAM(200, 3, 2, 0x40), 2), 0xffff);
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 0x100), 4), 0);
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 0xffc), 4), 0);
	/* Writes through ECAM are seen through mechanism #1. */
	mem_write(f, ECAM(0, 31, 0, PCI_REG_CACHELINE), 1, 0x10);
	assert_int_equal(c1_read(f, 0, 31, 0, PCI_REG_CACHELINE, 1), 0x10);
	mem_write(f, ECAM(0, 31, 0, PCI_REG_INTLINE), 4, 0xffffff0b);
	assert_int_equal(c1_read(f, 0, 31, 0, PCI_REG_INTLINE, 4), 0x0000000b);
	/* Odd sizes and a dword that crosses into the next function. */
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 1), 4), 0x04127512);
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 0xffe), 4), 0xffff0000);
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 0), 3), 0x751275);
	assert_true(mem_read(f, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE - 4, 4) == 0xffffffff);
	assert_true(mem_read(f, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE - 8, 8) == ~0ull);
	mem_write(f, ECAM(0, 0, 0, 0), 8, ~0ull);
	assert_int_equal(c1_read(f, 0, 0, 0, 0, 4), 0x12751275);
}

/* ---- Headers of the models ---- */

static void test_hostbridges(void **state)
{
	struct fix *f = *state;
	int cap;

	set(f, "pci.0.0.0.device", "hostbridge");
	set(f, "pci.0.1.0.device", "amd_hostbridge");
	set(f, "pci.0.2.0.device", "hostbridge");
	set(f, "pci.0.2.0.vendor", "0x8086");
	set(f, "pci.0.2.0.devid", "4660");
	start_ok(f);
	assert_int_equal(c1_read(f, 0, 0, 0, 0, 4), 0x12751275);
	assert_int_equal(c1_read(f, 0, 1, 0, 0, 4), 0x74321022);
	assert_int_equal(c1_read(f, 0, 2, 0, 0, 4), 0x12348086);
	assert_int_equal(c1_read(f, 0, 0, 0, 8, 4) >> 8, 0x060000);
	assert_int_equal(c1_read(f, 0, 0, 0, PCI_REG_HDRTYPE, 1), 0);
	assert_int_equal(c1_read(f, 0, 0, 0, PCI_REG_STATUS, 2) & PCI_STS_CAPLIST, PCI_STS_CAPLIST);
	cap = find_cap(f, 0, 0, PCI_CAP_PCIE);
	assert_int_equal(cap, 0x40);
	/* PCIe capabilities register: version 2, root port. */
	assert_int_equal(c1_read(f, 0, 0, 0, cap + 2, 2), 0x0042);
	/* Read-only: vendor, class, capability bytes. */
	c1_write(f, 0, 0, 0, 0, 4, 0);
	c1_write(f, 0, 0, 0, 8, 4, 0);
	c1_write(f, 0, 0, 0, cap, 4, 0);
	assert_int_equal(c1_read(f, 0, 0, 0, 0, 4), 0x12751275);
	assert_int_equal(c1_read(f, 0, 0, 0, 8, 4), 0x06000000);
	assert_int_equal(c1_read(f, 0, 0, 0, cap, 2), 0x0010);
	/* No interrupt: line 0xFF, pin 0; no BARs. */
	assert_int_equal(c1_read(f, 0, 0, 0, PCI_REG_INTLINE, 2), 0x00ff);
	assert_int_equal(c1_read(f, 0, 0, 0, PCI_REG_BAR0, 4), 0);
	c1_write(f, 0, 0, 0, PCI_REG_BAR0, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 0, 0, PCI_REG_BAR0, 4), 0);
}

static void test_hostbridge_bad_id(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.0.0.device", "hostbridge");
	set(f, "pci.0.0.0.vendor", "0x12345");
	assert_int_equal(start(f), -EINVAL);
	assert_string_equal(f->err, "-s 0:0:0,hostbridge: pci.0.0.0.vendor=0x12345: expected a "
				    "16-bit number");
	assert_int_equal(c1_read(f, 0, 0, 0, 0, 4), 0xffffffff);
}

static void test_lpc(void **state)
{
	struct fix *f = *state;
	int b, s, fn;

	set(f, "pci.0.31.0.device", "lpc");
	start_ok(f);
	assert_true(pci_lpc_present(f->pci));
	assert_int_equal(pci_lpc_location(f->pci, &b, &s, &fn), 0);
	assert_int_equal(b, 0);
	assert_int_equal(s, 31);
	assert_int_equal(fn, 0);
	assert_int_equal(c1_read(f, 0, 31, 0, 0, 4), 0x70008086);
	assert_int_equal(c1_read(f, 0, 31, 0, 8, 4), 0x06010000);
	/* No PCI interrupt in use: every PIRQ is disabled. */
	assert_int_equal(c1_read(f, 0, 31, 0, 0x60, 4), 0x80808080);
	assert_int_equal(c1_read(f, 0, 31, 0, 0x68, 4), 0x80808080);
	c1_write(f, 0, 31, 0, 0x61, 1, 0x0b);
	assert_int_equal(c1_read(f, 0, 31, 0, 0x60, 4), 0x80800b80);
	assert_int_equal(pci_pirq_irq(f->pci, 1), 11);
	c1_write(f, 0, 31, 0, 0x68, 4, 0xffff0a05);
	assert_int_equal(c1_read(f, 0, 31, 0, 0x68, 4), 0x8f8f0a05);
	assert_int_equal(pci_pirq_irq(f->pci, 4), 5);
	assert_int_equal(pci_pirq_irq(f->pci, 5), 10);
	assert_int_equal(pci_pirq_irq(f->pci, 6), -1);
	/* IRQ 8 is not a valid PIRQ target: reads back, steers nowhere. */
	c1_write(f, 0, 31, 0, 0x62, 2, 0x0808);
	assert_int_equal(c1_read(f, 0, 31, 0, 0x62, 1), 0x08);
	assert_int_equal(pci_pirq_irq(f->pci, 2), -1);
	assert_int_equal(pci_pirq_irq(f->pci, 8), -1);
	/* Other device-specific registers are read-only. */
	c1_write(f, 0, 31, 0, 0x64, 4, 0x12345678);
	assert_int_equal(c1_read(f, 0, 31, 0, 0x64, 4), 0);
}

static void test_lpc_twice(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.1.0.device", "lpc");
	set(f, "pci.0.30.0.device", "lpc");
	assert_int_equal(start(f), -EEXIST);
	assert_string_equal(f->err, "-s 0:30:0,lpc: only one LPC bridge is allowed");
}

static void test_lpc_not_bus0(void **state)
{
	struct fix *f = *state;

	set(f, "pci.1.0.0.device", "lpc");
	assert_int_equal(start(f), -EINVAL);
	assert_string_equal(f->err, "-s 1:0:0,lpc: the LPC bridge must be on bus 0");
	assert_false(pci_lpc_present(f->pci));
	assert_int_equal(pci_lpc_location(f->pci, NULL, NULL, NULL), -ENOENT);
}

/* ---- PCI 16550 ---- */

static void test_uart(void **state)
{
	struct fix *f = *state;
	uint32_t bar;
	uint16_t port;
	int gsi, line;
	uint8_t prt[PCI_NSLOT][4];

	set(f, "pci.0.31.0.device", "lpc");
	set(f, "pci.0.2.0.device", "uart");
	start_ok(f);
	assert_int_equal(c1_read(f, 0, 2, 0, 0, 4), 0x2000131f);
	assert_int_equal(c1_read(f, 0, 2, 0, 8, 4), 0x07000200);
	bar = c1_read(f, 0, 2, 0, PCI_REG_BAR0, 4);
	assert_int_equal(bar & 1, 1);
	port = (uint16_t)(bar & 0xfffc);
	assert_true(port >= PCI_IO_BASE && (port & 7) == 0);
	assert_int_equal(c1_read(f, 0, 2, 0, PCI_REG_COMMAND, 2), PCI_CMD_BUSMASTER | PCI_CMD_IO);
	assert_int_equal(c1_read(f, 0, 2, 0, PCI_REG_INTPIN, 1), 1);
	line = (int)c1_read(f, 0, 2, 0, PCI_REG_INTLINE, 1);
	/* Steered to a PCI-capable ISA IRQ that is not a COM port's. */
	assert_true(line != 3 && line != 4 && line >= 5 && line <= 15 && line != 8 && line != 13);
	gsi = pci_intx_gsi(f->pci, 0, 2, 0);
	assert_true(gsi >= 16 && gsi <= 23);
	assert_int_equal(pci_pirq_irq(f->pci, pci_intx_pirq(f->pci, 0, 2, 0)), line);
	assert_int_equal(pci_intx_gsi(f->pci, 0, 2, 1), -ENOENT);
	assert_int_equal(pci_intx_gsi(f->pci, 0, 31, 0), -ENOENT);
	pci_prt(f->pci, prt);
	assert_int_equal(prt[2][0], gsi);
	assert_int_equal(prt[2][1], PCI_PRT_NONE);
	assert_int_equal(prt[31][0], PCI_PRT_NONE);

	/* Scratch register through the BAR, byte and word wide. */
	io_out(f, port + 7, 1, 0x5a);
	assert_int_equal(io_in(f, port + 7, 1), 0x5a);
	io_out(f, port + 3, 1, 0x03); /* LCR: 8N1 */
	assert_int_equal(io_in(f, port + 3, 1), 0x03);
	/* THR empty interrupt: IER.ETBEI with MCR.OUT2. */
	io_out(f, port + 4, 1, 0x08);
	io_out(f, port + 1, 1, 0x02);
	assert_int_equal(f->gsi_level[gsi], 1);
	assert_int_equal(c1_read(f, 0, 2, 0, PCI_REG_STATUS, 2) & PCI_STS_INTR, PCI_STS_INTR);
	/* INTx Disable gates the line, not the status bit. */
	c1_write(f, 0, 2, 0, PCI_REG_COMMAND, 2, 0x0407);
	assert_int_equal(f->gsi_level[gsi], 0);
	assert_int_equal(c1_read(f, 0, 2, 0, PCI_REG_STATUS, 2) & PCI_STS_INTR, PCI_STS_INTR);
	c1_write(f, 0, 2, 0, PCI_REG_COMMAND, 2, 0x0007);
	assert_int_equal(f->gsi_level[gsi], 1);
	io_out(f, port + 1, 1, 0x00);
	assert_int_equal(f->gsi_level[gsi], 0);
	assert_int_equal(c1_read(f, 0, 2, 0, PCI_REG_STATUS, 2) & PCI_STS_INTR, 0);
	/* The PIC side follows the PIRQ register. */
	assert_int_equal(f->pic_level[line], 0);
	assert_true(f->pic_calls[line] >= 2);
	/* I/O decode off: the ports go away. */
	c1_write(f, 0, 2, 0, PCI_REG_COMMAND, 2, 0x0006);
	{
		uint32_t v;

		assert_int_equal(inout_dispatch(f->io, 0, true, port, 1, &v), -ENOENT);
	}
}

static void test_uart_backend_error(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.2.0.device", "uart");
	set(f, "pci.0.2.0.path", "/nonexistent-dir/for/uart");
	assert_true(start(f) < 0);
	static const char want[] = "-s 0:2:0,uart: /nonexistent-dir/for/uart: ";

	assert_true(strncmp(f->err, want, strlen(want)) == 0);
}

static void test_uart_backend_file(void **state)
{
	struct fix *f = *state;
	char path[] = "/tmp/test_pci_uartXXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	set(f, "pci.0.2.0.device", "uart");
	set(f, "pci.0.2.0.path", path);
	start_ok(f);
	close(fd);
	unlink(path);
}

/* ---- BARs ---- */

static void test_bar_sizing(void **state)
{
	struct fix *f = *state;
	uint32_t orig;
	uint64_t a;

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.io", "20"); /* rounded up to 32 */
	set(f, "pci.0.3.0.mem32", "4096");
	set(f, "pci.0.3.0.mem64", "0x10000000");
	set(f, "pci.0.4.0.device", "testdev");
	set(f, "pci.0.4.0.pf64", "65536");
	start_ok(f);

	/* I/O BAR: 32 ports in the I/O window, bits 31:16 hardwired to 0. */
	orig = c1_read(f, 0, 3, 0, PCI_REG_BAR0, 4);
	assert_int_equal(orig & 0x1f, 1);
	assert_true((orig & 0xfffc) >= PCI_IO_BASE);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0, 4), 0x0000ffe1);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0, 4, orig);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0, 4), orig);

	/* 32-bit memory BAR in the 32-bit window. */
	orig = c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4);
	assert_int_equal(orig & 0xfff, 0);
	assert_true(orig >= LAYOUT_PCI32_BASE && orig < LAYOUT_PCI32_END);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4), 0xfffff000);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4, orig);

	/* 256 MiB 64-bit BAR: above 4 GiB, in the 64-bit window. */
	a = bar_of(f, 3, 0, 2);
	assert_true(a >= (32ull << 30) && a < (64ull << 30) && (a & 0xfffffff) == 0);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 8, 4) & 0xf, 0x4);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 8, 4, 0xffffffff);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 12, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 8, 4), 0xf0000004);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 12, 4), 0xffffffff);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 8, 4, (uint32_t)a);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 12, 4, (uint32_t)(a >> 32));
	assert_true(bar_of(f, 3, 0, 2) == a);

	/* Small prefetchable 64-bit BAR: below 4 GiB, as bhyve places it. */
	a = bar_of(f, 4, 0, 2);
	assert_true(a >= LAYOUT_PCI32_BASE && a < LAYOUT_PCI32_END && (a & 0xffff) == 0);
	assert_int_equal(c1_read(f, 0, 4, 0, PCI_REG_BAR0 + 8, 4) & 0xf, 0xc);
	c1_write(f, 0, 4, 0, PCI_REG_BAR0 + 8, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 4, 0, PCI_REG_BAR0 + 8, 4), 0xffff000c);

	/* Unimplemented BARs and the ROM BAR read as zero. */
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 20, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 20, 4), 0);
	c1_write(f, 0, 3, 0, 0x30, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, 0x30, 4), 0);
	/* Byte writes to a BAR are merged into it. */
	orig = c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 4 + 3, 1, 0xd1);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4),
			 (orig & 0x00ffffff) | 0xd1000000);
}

static void test_bar_move(void **state)
{
	struct fix *f = *state;
	uint64_t io, mem, m64, v;
	uint32_t x;

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.io", "32");
	set(f, "pci.0.3.0.mem32", "4096");
	set(f, "pci.0.3.0.mem64", "0x10000000");
	start_ok(f);
	io = bar_of(f, 3, 0, 0);
	mem = bar_of(f, 3, 0, 1);
	m64 = bar_of(f, 3, 0, 2);

	assert_int_equal(io_in(f, (uint16_t)(io + 4), 2), 4);
	assert_int_equal(last.bar, 0);
	assert_int_equal(last.off, 4);
	assert_int_equal(last.size, 2);
	io_out(f, (uint16_t)(io + 31), 1, 0xab);
	assert_true(last.write && last.off == 31 && last.val == 0xab);
	/* An access running past the BAR is not the BAR's. */
	assert_int_equal(inout_dispatch(f->io, 0, true, (uint16_t)(io + 30), 4, &x), -ENOENT);

	/* Reprogram the I/O BAR: the handler moves. */
	c1_write(f, 0, 3, 0, PCI_REG_BAR0, 4, 0x3000);
	assert_int_equal(io_in(f, 0x3004, 4), 4);
	assert_int_equal(inout_dispatch(f->io, 0, true, (uint16_t)(io + 4), 4, &x), -ENOENT);

	/* The memory BAR too; an 8-byte access reaches the model as two
	 * dwords. */
	assert_int_equal(mem_read(f, mem + 0x10, 4), 0x1010);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4, 0xd0000000);
	assert_int_equal(mem_read(f, 0xd0000010, 4), 0x1010);
	assert_int_equal(mmio_dispatch(f->mmio, 0, false, mem + 0x10, 4, &v), -ENOENT);
	last.count = 0;
	assert_true(mem_read(f, 0xd0000ff8, 8) == (0x1ff8ull | (0x1ffcull << 32)));
	assert_int_equal(last.count, 2);
	assert_int_equal(last.off, 0xffc);
	mem_write(f, 0xd0000100, 8, 0x1122334455667788ull);
	assert_true(last.write && last.off == 0x104 && last.val == 0x11223344);

	/* The 64-bit BAR, by its upper dword. */
	assert_int_equal(mem_read(f, m64 + 8, 4), 0x2008);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 12, 4, 0x20);
	assert_int_equal(mem_read(f, 0x2000000000ull + (m64 & 0xffffffff) + 8, 4), 0x2008);
	assert_int_equal(mmio_dispatch(f->mmio, 0, false, m64 + 8, 4, &v), -ENOENT);
	/* Moving onto another range (ECAM) leaves the BAR unmapped, quietly
	 * for the guest; ECAM keeps working. */
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 12, 4, 0);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 8, 4, (uint32_t)LAYOUT_ECAM_BASE);
	assert_int_equal(mem_read(f, ECAM(0, 3, 0, 0), 4), 0xbeef1af4);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4, 0xc0000000);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 8, 4, 0xd0000000);
	assert_int_equal(mem_read(f, 0xd0000004, 4), 0x2004);
	/* The I/O BAR onto the configuration ports: refused, ports intact. */
	c1_write(f, 0, 3, 0, PCI_REG_BAR0, 4, 0x0ce0);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0, 4), 0x0ce1);
	assert_int_equal(c1_read(f, 0, 3, 0, 0, 4), 0xbeef1af4);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0, 4, 0x3000);
	assert_int_equal(io_in(f, 0x3000, 1), 0);
	/* Address 0 means unassigned. */
	c1_write(f, 0, 3, 0, PCI_REG_BAR0, 4, 0);
	assert_int_equal(inout_dispatch(f->io, 0, true, 0x0, 1, &x), -ENOENT);
	assert_true(pci_bar_addr(tdevs[3][0], 1) == 0xc0000000);
}

static void test_decode_bits(void **state)
{
	struct fix *f = *state;
	uint64_t io, mem, v;
	uint32_t x;

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.io", "16");
	set(f, "pci.0.3.0.mem32", "256");
	start_ok(f);
	io = bar_of(f, 3, 0, 0);
	mem = bar_of(f, 3, 0, 1);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_COMMAND, 2), 0x0007);
	c1_write(f, 0, 3, 0, PCI_REG_COMMAND, 2, PCI_CMD_MEM);
	assert_int_equal(inout_dispatch(f->io, 0, true, (uint16_t)io, 1, &x), -ENOENT);
	assert_int_equal(mem_read(f, mem, 1), 0);
	c1_write(f, 0, 3, 0, PCI_REG_COMMAND, 1, PCI_CMD_IO);
	assert_int_equal(mmio_dispatch(f->mmio, 0, false, mem, 1, &v), -ENOENT);
	assert_int_equal(io_in(f, (uint16_t)io + 2, 1), 2);
	/* While off, the BAR can be moved and sized without being decoded. */
	c1_write(f, 0, 3, 0, PCI_REG_COMMAND, 2, 0);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4), 0xffffff00);
	assert_int_equal(mmio_dispatch(f->mmio, 0, false, 0xffffff00, 4, &v), -ENOENT);
	c1_write(f, 0, 3, 0, PCI_REG_BAR0 + 4, 4, 0xc8000000);
	c1_write(f, 0, 3, 0, PCI_REG_COMMAND, 2, 0x0003);
	assert_int_equal(mem_read(f, 0xc8000010, 2), 0x1010);
	/* Writable command bits only; status bits are not writable by 0/1. */
	c1_write(f, 0, 3, 0, PCI_REG_COMMAND, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_COMMAND, 2), 0x0547);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_STATUS, 2), 0);
}

static void test_pci_enable_bars_off(void **state)
{
	struct fix *f = *state;
	uint32_t x;
	uint64_t io;

	set(f, "pci.enable_bars", "false");
	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.io", "16");
	start_ok(f);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_COMMAND, 2), 0);
	io = bar_of(f, 3, 0, 0);
	assert_true(io >= PCI_IO_BASE);
	assert_int_equal(inout_dispatch(f->io, 0, true, (uint16_t)io, 1, &x), -ENOENT);
}

/* ---- Capabilities, MSI, MSI-X ---- */

static void test_caplist(void **state)
{
	struct fix *f = *state;
	int off, n = 0;
	int ids[4];

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.msi", "4");
	set(f, "pci.0.3.0.msix", "8");
	start_ok(f);
	assert_int_equal(c1_read(f, 0, 3, 0, PCI_REG_STATUS, 2) & PCI_STS_CAPLIST, PCI_STS_CAPLIST);
	off = (int)c1_read(f, 0, 3, 0, PCI_REG_CAP_PTR, 1);
	while (off && n < 4) {
		assert_true(off >= 0x40 && (off & 3) == 0);
		ids[n++] = (int)c1_read(f, 0, 3, 0, off, 1);
		off = (int)c1_read(f, 0, 3, 0, off + 1, 1);
	}
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], PCI_CAP_MSI);
	assert_int_equal(ids[1], PCI_CAP_MSIX);
	/* IDs and next pointers are read-only. */
	off = find_cap(f, 3, 0, PCI_CAP_MSI);
	c1_write(f, 0, 3, 0, off, 2, 0);
	assert_int_equal(c1_read(f, 0, 3, 0, off, 1), PCI_CAP_MSI);
	assert_int_equal(find_cap(f, 3, 0, PCI_CAP_MSIX), off + 24);
}

static void test_msi(void **state)
{
	struct fix *f = *state;
	struct pci_devinst *pi;
	int cap;

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.msi", "4");
	set(f, "pci.0.3.0.intx", "1");
	start_ok(f);
	pi = tdevs[3][0];
	assert_non_null(pi);
	cap = find_cap(f, 3, 0, PCI_CAP_MSI);
	/* 64-bit, per-vector masking, 4 vectors (MMC 2), disabled. */
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 2, 2), 0x0184);
	assert_false(pci_msi_enabled(pi));
	assert_int_equal(pci_generate_msi(pi, 0), -EINVAL);
	c1_write(f, 0, 3, 0, cap + 4, 4, 0xfee00003);
	c1_write(f, 0, 3, 0, cap + 8, 4, 0x1);
	c1_write(f, 0, 3, 0, cap + 12, 2, 0x4041);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 4, 4), 0xfee00000);
	/* Read-only control bits survive; MME above MMC grants MMC. */
	c1_write(f, 0, 3, 0, cap + 2, 2, 0xffff);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 2, 2), 0x01f5);
	assert_true(pci_msi_enabled(pi));
	assert_int_equal(pci_msi_nvec(pi), 4);
	c1_write(f, 0, 3, 0, cap + 2, 2, 0x0021); /* MME 2: 4 vectors */
	assert_int_equal(pci_generate_msi(pi, 3), 0);
	assert_int_equal(f->nmsi, 1);
	assert_true(f->msi_addr[0] == 0x1fee00000ull);
	assert_int_equal(f->msi_data[0], 0x4043);
	assert_int_equal(pci_generate_msi(pi, 4), -EINVAL);
	/* Masked: held in the pending bits, sent when unmasked. */
	c1_write(f, 0, 3, 0, cap + 16, 4, 0xffffffff);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 16, 4), 0xf);
	assert_int_equal(pci_generate_msi(pi, 1), 1);
	assert_int_equal(pci_generate_msi(pi, 2), 1);
	assert_int_equal(f->nmsi, 1);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 20, 4), 0x6);
	c1_write(f, 0, 3, 0, cap + 20, 4, 0); /* pending bits are read-only */
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 20, 4), 0x6);
	c1_write(f, 0, 3, 0, cap + 16, 4, 0x4);
	assert_int_equal(f->nmsi, 2);
	assert_int_equal(f->msi_data[1], 0x4041);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 20, 4), 0x4);
	c1_write(f, 0, 3, 0, cap + 16, 1, 0);
	assert_int_equal(f->nmsi, 3);
	assert_int_equal(f->msi_data[2], 0x4042);
	/* INTx is not signalled while MSI is on. */
	pci_lintr_assert(pi);
	assert_int_equal(f->gsi_level[pci_intx_gsi(f->pci, 0, 3, 0)], 0);
	c1_write(f, 0, 3, 0, cap + 2, 2, 0);
	assert_int_equal(f->gsi_level[pci_intx_gsi(f->pci, 0, 3, 0)], 1);
	assert_int_equal(pci_generate_msi(pi, 0), -EINVAL);
	pci_lintr_deassert(pi);
	assert_int_equal(f->gsi_level[pci_intx_gsi(f->pci, 0, 3, 0)], 0);
}

static void test_msix(void **state)
{
	struct fix *f = *state;
	struct pci_devinst *pi;
	uint64_t bar, v;
	int cap;

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.msix", "8");
	start_ok(f);
	pi = tdevs[3][0];
	cap = find_cap(f, 3, 0, PCI_CAP_MSIX);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 2, 2), 7);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 4, 4), 4);	   /* table: BAR 4 @ 0 */
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 8, 4), 0x1004); /* PBA: BAR 4 @ 4K */
	bar = bar_of(f, 3, 0, 4);
	assert_true(bar >= LAYOUT_PCI32_BASE && (bar & 0x1fff) == 0);
	/* All vectors start masked. */
	assert_int_equal(mem_read(f, bar + 12, 4), 1);
	assert_int_equal(mem_read(f, bar + 7 * 16 + 12, 4), 1);

	mem_write(f, bar + 2 * 16, 4, 0xfee01000);
	mem_write(f, bar + 2 * 16 + 4, 4, 0);
	mem_write(f, bar + 2 * 16 + 8, 4, 0x30);
	mem_write(f, bar + 2 * 16 + 12, 4, 0xfffffffe);
	mem_write(f, bar + 3 * 16, 8, 0x00000000fee02000ull);
	mem_write(f, bar + 3 * 16 + 8, 8, 0x0000000100000031ull); /* masked */
	assert_true(mem_read(f, bar + 3 * 16, 8) == 0xfee02000ull);
	assert_int_equal(mem_read(f, bar + 3 * 16 + 8, 4), 0x31);
	assert_int_equal(mem_read(f, bar + 2 * 16 + 12, 4), 0);
	assert_int_equal(mem_read(f, bar + 2 * 16 + 8, 1), 0x30);

	assert_int_equal(pci_generate_msix(pi, 2), -EINVAL); /* not enabled */
	c1_write(f, 0, 3, 0, cap + 2, 2, 0xffff);
	assert_int_equal(c1_read(f, 0, 3, 0, cap + 2, 2), 0xc007);
	assert_int_equal(pci_generate_msix(pi, 2), 1); /* function masked */
	c1_write(f, 0, 3, 0, cap + 2, 2, 0x8000);
	assert_true(pci_msix_enabled(pi));
	assert_int_equal(f->nmsi, 1);
	assert_int_equal(f->msi_data[0], 0x30);
	assert_int_equal(pci_generate_msix(pi, 2), 0);
	assert_int_equal(f->nmsi, 2);
	assert_true(f->msi_addr[1] == 0xfee01000);

	/* A masked vector: its PBA bit, then delivery on unmask. */
	assert_int_equal(pci_generate_msix(pi, 3), 1);
	assert_true(mem_read(f, bar + 4096, 8) == 0x8);
	assert_int_equal(mem_read(f, bar + 4096, 4), 0x8);
	mem_write(f, bar + 4096, 8, 0); /* the PBA is read-only */
	assert_true(mem_read(f, bar + 4096, 8) == 0x8);
	mem_write(f, bar + 3 * 16 + 12, 4, 0);
	assert_int_equal(f->nmsi, 3);
	assert_int_equal(f->msi_data[2], 0x31);
	assert_true(f->msi_addr[2] == 0xfee02000);
	assert_true(mem_read(f, bar + 4096, 8) == 0);
	assert_int_equal(pci_generate_msix(pi, 8), -EINVAL);
	assert_int_equal(pci_generate_msix(pi, 1u << 31), -EINVAL);

	/* Odd accesses: ignored writes, all-ones reads. */
	mem_write(f, bar + 2 * 16 + 8, 2, 0xffff);
	mem_write(f, bar + 2 * 16 + 9, 1, 0xff);
	mem_write(f, bar + 2 * 16 + 6, 4, 0xffffffff);
	assert_int_equal(mem_read(f, bar + 2 * 16 + 8, 4), 0x30);
	assert_int_equal(mem_read(f, bar + 2 * 16 + 6, 4), 0xffffffff);
	assert_true(mem_read(f, bar + 2 * 16 + 4, 8) == ~0ull);
	assert_int_equal(mem_read(f, bar + 8 * 16, 4), 0); /* past the table */
	assert_int_equal(mem_read(f, bar + 4096 + 4, 8) == ~0ull, 1);
	assert_int_equal(mem_read(f, bar + 4096 + 8, 4), 0); /* past the PBA */
	assert_int_equal(mmio_dispatch(f->mmio, 0, false, bar + 8192 - 2, 4, &v), -ENOENT);
	/* Function mask holds every vector. */
	c1_write(f, 0, 3, 0, cap + 2, 2, 0xc000);
	assert_int_equal(pci_generate_msix(pi, 2), 1);
	assert_int_equal(f->nmsi, 3);
	assert_true(mem_read(f, bar + 4096, 8) == 0x4);
	c1_write(f, 0, 3, 0, cap + 3, 1, 0x80);
	assert_int_equal(f->nmsi, 4);
	assert_true(mem_read(f, bar + 4096, 8) == 0);
	/* The model never sees MSI-X BAR accesses. */
	assert_int_equal(last.count, 0);
}

/* ---- INTx ---- */

static void test_intx_shared(void **state)
{
	struct fix *f = *state;
	struct pci_devinst *a = NULL, *b = NULL;
	int s, t, gsi = -1, line;
	char key[64];

	set(f, "pci.0.31.0.device", "lpc");
	for (s = 3; s < 13; s++) {
		snprintf(key, sizeof(key), "pci.0.%d.0.device", s);
		set(f, key, "testdev");
		snprintf(key, sizeof(key), "pci.0.%d.0.intx", s);
		set(f, key, "1");
	}
	start_ok(f);
	/* Ten slots on eight PIRQs: some pair shares a line. */
	for (s = 3; s < 13 && !a; s++) {
		for (t = s + 1; t < 13; t++) {
			if (pci_intx_gsi(f->pci, 0, s, 0) == pci_intx_gsi(f->pci, 0, t, 0)) {
				a = tdevs[s][0];
				b = tdevs[t][0];
				gsi = pci_intx_gsi(f->pci, 0, s, 0);
				break;
			}
		}
	}
	assert_non_null(a);
	assert_non_null(b);
	line = (int)c1_read(f, 0, pci_slot(a), 0, PCI_REG_INTLINE, 1);
	assert_int_equal(line, (int)c1_read(f, 0, pci_slot(b), 0, PCI_REG_INTLINE, 1));
	pci_lintr_assert(a);
	pci_lintr_assert(a);
	pci_lintr_assert(b);
	assert_int_equal(f->gsi_level[gsi], 1);
	assert_int_equal(f->gsi_calls[gsi], 1);
	assert_int_equal(f->pic_level[line], 1);
	pci_lintr_deassert(a);
	assert_int_equal(f->gsi_level[gsi], 1);
	/* Re-steering the PIRQ moves the PIC input while asserted. */
	c1_write(f, 0, 31, 0, 0x60 + (gsi - 16 < 4 ? gsi - 16 : gsi - 16 + 4), 1,
		 line == 11 ? 10 : 11);
	assert_int_equal(f->pic_level[line], 0);
	assert_int_equal(f->pic_level[line == 11 ? 10 : 11], 1);
	pci_lintr_deassert(b);
	assert_int_equal(f->gsi_level[gsi], 0);
	assert_int_equal(f->gsi_calls[gsi], 2);
	assert_int_equal(f->pic_level[line == 11 ? 10 : 11], 0);
	pci_lintr_deassert(b);
	assert_int_equal(f->gsi_calls[gsi], 2);
	/* Disabled PIRQ: the I/O APIC input still works, the PIC is left. */
	c1_write(f, 0, 31, 0, 0x60 + (gsi - 16 < 4 ? gsi - 16 : gsi - 16 + 4), 1, 0x80);
	s = f->pic_calls[10] + f->pic_calls[11];
	pci_lintr_assert(a);
	assert_int_equal(f->gsi_level[gsi], 1);
	assert_int_equal(f->pic_calls[10] + f->pic_calls[11], s);
	pci_lintr_deassert(a);
}

struct walked {
	int n;
	int slot[16];
	unsigned gsi[16];
};

static void walk_cb(void *arg, int bus, int slot, int pin, unsigned gsi)
{
	struct walked *w = arg;

	if (w->n < 16 && bus == 0 && pin == 0) {
		w->slot[w->n] = slot;
		w->gsi[w->n] = gsi;
	}
	w->n++;
}

static void test_multifunction(void **state)
{
	struct fix *f = *state;
	struct walked w = { 0 };
	struct pci_windows win;

	set(f, "pci.0.5.0.device", "testdev");
	set(f, "pci.0.5.0.intx", "1");
	set(f, "pci.0.5.1.device", "testdev");
	set(f, "pci.0.5.1.intx", "1");
	set(f, "pci.0.6.0.device", "testdev");
	set(f, "pci.0.7.3.device", "testdev");
	set(f, "pci.2.0.0.device", "testdev");
	set(f, "pci.2.0.0.io", "8");
	start_ok(f);
	assert_int_equal(c1_read(f, 0, 5, 0, PCI_REG_HDRTYPE, 1), 0x80);
	assert_int_equal(c1_read(f, 0, 5, 1, PCI_REG_HDRTYPE, 1), 0x80);
	assert_int_equal(c1_read(f, 0, 5, 0, 0xc, 4) >> 16, 0x0080);
	assert_int_equal(c1_read(f, 0, 6, 0, PCI_REG_HDRTYPE, 1), 0x00);
	/* Function 3 without function 0 exists, as in bhyve. */
	assert_int_equal(c1_read(f, 0, 7, 0, 0, 4), 0xffffffff);
	assert_int_equal(c1_read(f, 0, 7, 3, 0, 4), 0xbeef1af4);
	/* Functions of a slot spread over the pins. */
	assert_int_equal(c1_read(f, 0, 5, 0, PCI_REG_INTPIN, 1), 1);
	assert_int_equal(c1_read(f, 0, 5, 1, PCI_REG_INTPIN, 1), 2);
	assert_int_equal(c1_read(f, 0, 6, 0, PCI_REG_INTPIN, 1), 0);
	assert_true(pci_intx_gsi(f->pci, 0, 5, 0) != pci_intx_gsi(f->pci, 0, 5, 1));
	pci_intx_walk(f->pci, walk_cb, &w);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.slot[0], 5);
	/* Buses: 0 always, 2 configured, 1 not; their windows. */
	assert_true(pci_bus_present(f->pci, 0));
	assert_false(pci_bus_present(f->pci, 1));
	assert_true(pci_bus_present(f->pci, 2));
	assert_false(pci_bus_present(f->pci, 256));
	assert_int_equal(pci_bus_windows(f->pci, 1, &win), -ENOENT);
	assert_int_equal(pci_bus_windows(f->pci, 2, &win), 0);
	assert_true(win.io_base >= PCI_IO_BASE && win.io_limit > win.io_base);
	io_out(f, 0xcf8, 4, conf1_addr(2, 0, 0, PCI_REG_BAR0));
	{
		uint32_t b2 = io_in(f, 0xcfc, 4) & 0xfffc;

		assert_true(b2 >= win.io_base && b2 + 8 <= win.io_limit);
	}
	assert_int_equal(pci_bus_windows(f->pci, 0, &win), 0);
	assert_true(win.mem32_base == LAYOUT_PCI32_BASE);
}

/* ---- Start-up errors ---- */

static void test_init_failure(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.0.0.device", "hostbridge");
	set(f, "pci.0.9.0.device", "testdev");
	set(f, "pci.0.9.0.fail", "1");
	assert_int_equal(start(f), -EIO);
	assert_string_equal(f->err, "-s 0:9:0,testdev: asked to fail");
	assert_int_equal(start(f), -EBUSY);
}

static void test_unknown_emulation(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.9.0.device", "nosuch");
	assert_int_equal(start(f), -EINVAL);
	assert_string_equal(f->err, "-s 0:9:0,nosuch: unknown device emulation");
}

static void test_missing_device_key(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.9.1.path", "x");
	assert_int_equal(start(f), -EINVAL);
	assert_string_equal(f->err, "-s 0:9:1: no device emulation (pci.0.9.1.device is unset)");
}

static void test_bad_addresses(void **state)
{
	struct fix *f = *state;

	set(f, "pci.300.0.0.device", "testdev");
	assert_int_equal(start(f), -EINVAL);
	assert_string_equal(f->err, "pci.300: not a PCI bus number (0-255)");
}

static void test_bad_slot(void **state)
{
	struct fix *f = *state;

	set(f, "pci.0.32.0.device", "testdev");
	assert_int_equal(start(f), -EINVAL);
	assert_string_equal(f->err, "pci.0.32: not a PCI slot number (0-31)");
}

static void test_other_pci_keys(void **state)
{
	struct fix *f = *state;

	set(f, "pci.foo.bar", "1");
	set(f, "pci.0.3.0.device", "testdev");
	start_ok(f);
	assert_int_equal(c1_read(f, 0, 3, 0, 0, 4), 0xbeef1af4);
}

static void test_no_room(void **state)
{
	struct fix *f = *state;
	char key[64];
	int s;

	/* 512 MiB of 32-bit window: the fifth 128 MiB BAR does not fit. */
	for (s = 1; s <= 5; s++) {
		snprintf(key, sizeof(key), "pci.0.%d.0.device", s);
		set(f, key, "testdev");
		snprintf(key, sizeof(key), "pci.0.%d.0.mem32", s);
		set(f, key, "0x8000000");
	}
	assert_int_equal(start(f), -ENOSPC);
	assert_string_equal(f->err, "-s 0:5:0,testdev: no room for BAR 1 (134217728 bytes) in "
				    "the PCI memory window");
}

static void test_big_bar_above_4g(void **state)
{
	struct fix *f = *state;
	char key[64];
	int s;

	/* 64-bit BARs overflow from the 32-bit window into the 64-bit one. */
	for (s = 1; s <= 5; s++) {
		snprintf(key, sizeof(key), "pci.0.%d.0.device", s);
		set(f, key, "testdev");
		snprintf(key, sizeof(key), "pci.0.%d.0.mem64", s);
		set(f, key, "0x8000000");
	}
	start_ok(f);
	assert_true(bar_of(f, 1, 0, 2) < (1ull << 32));
	assert_true(bar_of(f, 5, 0, 2) >= (32ull << 30));
}

static void test_emul_list(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(m);
	pci_emul_list(m);
	fclose(m);
	assert_string_equal(buf, "amd_hostbridge\nhostbridge\nlpc\ntestdev\nuart\n");
	free(buf);
	assert_non_null(pci_emul_find("uart"));
	assert_null(pci_emul_find("virtio-nothing"));
	assert_null(pci_emul_find(NULL));
	assert_int_equal(linked_models[0] != NULL, 1);
}

static void test_free_unregisters(void **state)
{
	struct fix *f = *state;
	uint32_t x;
	uint64_t v;

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.io", "16");
	start_ok(f);
	pci_free(f->pci);
	f->pci = NULL;
	assert_int_equal(inout_dispatch(f->io, 0, true, 0xcf8, 4, &x), -ENOENT);
	assert_int_equal(inout_dispatch(f->io, 0, true, PCI_IO_BASE, 1, &x), -ENOENT);
	assert_int_equal(mmio_dispatch(f->mmio, 0, false, LAYOUT_ECAM_BASE, 4, &v), -ENOENT);
}

static void test_windows(void **state)
{
	struct pci_platform pl;

	(void)state;
	memset(&pl, 0, sizeof(pl));
	pci_platform_set_windows(&pl, 0);
	assert_int_equal(pl.io_base, 0x2000);
	assert_int_equal(pl.io_limit, 0x10000);
	assert_true(pl.mem32_base == 0xc0000000ull && pl.mem32_limit == 0xe0000000ull);
	assert_true(pl.mem64_base == (32ull << 30) && pl.mem64_limit == (64ull << 30));
	pci_platform_set_windows(&pl, 29ull << 30);
	assert_true(pl.mem64_base == (64ull << 30));
	pci_platform_set_windows(&pl, 28ull << 30);
	assert_true(pl.mem64_base == (32ull << 30));
}

/* ---- Hostile guest: random accesses ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible across runs. */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dull;
}

static int rnd_width(void)
{
	static const int w[] = { 1, 2, 4, 8, 3 };

	return w[rnd() % 5];
}

/* One random guest or device action.  Every random number is drawn in a
 * fixed order (never two in one argument list) so a seed replays the same
 * sequence with any compiler. */
static void fuzz_step(struct fix *f)
{
	static const int slots[] = { 0, 2, 3, 4, 5, 31, 9 };
	struct pci_devinst *fuzz_devs[3] = { tdevs[3][0], tdevs[3][1], tdevs[4][0] };
	uint64_t r = rnd(), v = rnd(), x = rnd(), y = rnd(), z = rnd(), a;
	int s = slots[x % 7], fn = (int)(y % 3 == 0 ? (y >> 8) % 8 : 0);
	int reg = (int)(z % 4 ? (z >> 8) % 0x80 : (z >> 8) % 0x1000), w = rnd_width();
	bool rd = (r >> 32) & 1;
	uint32_t v32 = (uint32_t)v;
	struct pci_devinst *pi;

	switch (r % 9) {
	case 0:
		io_out(f, 0xcf8, 4, x % 5 ? conf1_addr(0, s, fn, reg) : (uint32_t)v);
		break;
	case 1:
		w = 1 << (y % 3);
		reg = (int)(z % 4);
		if (reg + w > 4)
			reg = 0;
		inout_dispatch(f->io, 0, rd, (uint16_t)(0xcfc + reg), w, &v32);
		break;
	case 2:
		/* Configuration writes with random values: BARs move around,
		 * decode and masks toggle. */
		mmio_dispatch(f->mmio, 0, true, ECAM(0, s, fn, reg), w, &v);
		break;
	case 3:
		mmio_dispatch(f->mmio, 0, rd, ECAM(x % 256, y % 32, z % 8, (x >> 16) % 4096), w,
			      &v);
		break;
	case 4:
		a = x % 2 ? 0x2000 + y % 0x400 : y % 0x10000;
		inout_dispatch(f->io, 0, rd, (uint16_t)a, 1 << (z % 3), &v32);
		break;
	case 5:
		/* Wherever a BAR is now, and around it. */
		pi = fuzz_devs[x % 3];
		a = pi ? pci_bar_addr(pi, (int)(y % 6)) : 0;
		a += z % 0x2010 - 8;
		if (a < 0x10000 && (x >> 8) % 2)
			inout_dispatch(f->io, 0, rd, (uint16_t)a, w < 4 ? w : 4, &v32);
		else
			mmio_dispatch(f->mmio, 0, rd, a, w, &v);
		break;
	case 6:
		pi = tdevs[x % 2 ? 3 : 4][0];
		if (pi) {
			pci_generate_msi(pi, (unsigned)(y % 40));
			pci_generate_msix(pi, (unsigned)(z % 40));
		}
		break;
	case 7:
		pi = tdevs[x % 2 ? 3 : 4][0];
		if (pi && y % 2)
			pci_lintr_assert(pi);
		else if (pi)
			pci_lintr_deassert(pi);
		break;
	default:
		/* Decode back on now and then, so BAR handlers get traffic. */
		c1_write(f, 0, s, fn, PCI_REG_COMMAND, 2, 0x0007);
		break;
	}
}

static void test_fuzz(void **state)
{
	struct fix *f = *state;
	int i;

	set(f, "pci.0.0.0.device", "hostbridge");
	set(f, "pci.0.31.0.device", "lpc");
	set(f, "pci.0.2.0.device", "uart");
	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.io", "64");
	set(f, "pci.0.3.0.mem32", "8192");
	set(f, "pci.0.3.0.msi", "8");
	set(f, "pci.0.3.0.msix", "16");
	set(f, "pci.0.3.0.intx", "1");
	set(f, "pci.0.3.1.device", "testdev");
	set(f, "pci.0.3.1.mem64", "0x20000000");
	set(f, "pci.0.4.0.device", "testdev");
	set(f, "pci.0.4.0.msix", "70");
	set(f, "pci.0.4.0.intx", "1");
	set(f, "pci.0.4.0.pf64", "4096");
	start_ok(f);
	for (i = 0; i < 200000; i++)
		fuzz_step(f);
	/* The BAR handlers, MSI and INTx paths all saw traffic. */
	assert_true(last.count > 1000);
	assert_true(f->nmsi > 100);
	/* Still answering sensibly afterwards. */
	assert_int_equal(c1_read(f, 0, 31, 0, 0, 4), 0x70008086);
	assert_int_equal(mem_read(f, ECAM(0, 0, 0, 0), 4), 0x12751275);
}

/* ---- Concurrency: vCPUs touching config space and BARs while a device
 * thread raises interrupts (run under TSan in development). ---- */

struct race {
	struct fix *f;
	struct pci_devinst *pi;
	int cap;
	uint64_t bar;
	int stop;
};

static void *race_device(void *arg)
{
	struct race *r = arg;
	unsigned i;

	for (i = 0; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE); i++) {
		if (i & 1)
			pci_lintr_assert(r->pi);
		else
			pci_lintr_deassert(r->pi);
		pci_generate_msix(r->pi, i % 8);
	}
	return NULL;
}

static void *race_vcpu(void *arg)
{
	struct race *r = arg;
	struct fix *f = r->f;
	unsigned i;

	for (i = 0; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE); i++) {
		uint64_t v = i & 1 ? 0 : 1;

		mmio_dispatch(f->mmio, 1, true, r->bar + 16 * (i % 8) + 12, 4, &v);
		mmio_dispatch(f->mmio, 1, false, r->bar + 4096, 8, &v);
		v = 0;
		mmio_dispatch(f->mmio, 1, false, ECAM(0, 3, 0, PCI_REG_STATUS), 2, &v);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fix *f = *state;
	struct race r = { .f = f };
	pthread_t dev, vcpu;
	int i;

	set(f, "pci.0.3.0.device", "testdev");
	set(f, "pci.0.3.0.msix", "8");
	set(f, "pci.0.3.0.io", "16");
	set(f, "pci.0.3.0.intx", "1");
	start_ok(f);
	r.pi = tdevs[3][0];
	r.cap = find_cap(f, 3, 0, PCI_CAP_MSIX);
	r.bar = bar_of(f, 3, 0, 4);
	assert_int_equal(pthread_create(&dev, NULL, race_device, &r), 0);
	assert_int_equal(pthread_create(&vcpu, NULL, race_vcpu, &r), 0);
	for (i = 0; i < 3000; i++) {
		uint64_t v = i % 3 == 0 ? 0x8000 : (i % 3 == 1 ? 0xc000 : 0);

		mmio_dispatch(f->mmio, 0, true, ECAM(0, 3, 0, r.cap + 2), 2, &v);
		v = i & 1 ? 0x0407 : 0x0007;
		mmio_dispatch(f->mmio, 0, true, ECAM(0, 3, 0, PCI_REG_COMMAND), 2, &v);
		v = 0x3000 + 16 * (uint64_t)(i % 4);
		mmio_dispatch(f->mmio, 0, true, ECAM(0, 3, 0, PCI_REG_BAR0), 4, &v);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(dev, NULL);
	pthread_join(vcpu, NULL);
	/* Quiesce: every line low again once the device deasserts. */
	pci_lintr_deassert(r.pi);
	assert_int_equal(f->gsi_level[pci_intx_gsi(f->pci, 0, 3, 0)], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conf1_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf1_ports_shared_with_cf9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecam, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostbridges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostbridge_bad_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lpc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lpc_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lpc_not_bus0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart_backend_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart_backend_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_enable_bars_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caplist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multifunction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_emulation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_device_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_pci_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_bar_above_4g, setup, teardown),
		cmocka_unit_test(test_emul_list),
		cmocka_unit_test_setup_teardown(test_free_unregisters, setup, teardown),
		cmocka_unit_test(test_windows),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
