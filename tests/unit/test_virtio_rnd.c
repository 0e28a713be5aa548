/* virtio-rnd's queue handler: fills only what the guest supplied. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "inout.h"
#include "mmio.h"
#include "pci/pci.h"
#include "pci/pci_emul.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_rnd.h"
#include "vq_test.h"

extern const struct pci_devemu pci_de_virtio_rnd;

static struct vq_chain chain;

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_fills_exactly_the_buffer(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	uint8_t *buf = vqt_host(t, T_BUF);
	bool irq;

	(void)state;
	memset(buf, 0xa5, 256);
	vqt_desc(t, 0, T_BUF + 16, 64, VIRTQ_DESC_F_WRITE, 0);
	vqt_offer(t, 0);
	assert_int_equal(vrnd_process(&t->vq, &chain, &irq), 0);
	assert_true(irq);
	assert_int_equal(vqt_used_idx(t), 1);
	assert_int_equal(vqt_used_len(t, 0), 64);
	/* The bytes around the buffer are untouched; inside, 64 random bytes
	 * are (with overwhelming probability) not all the canary. */
	assert_true(all_bytes(buf, 16, 0xa5));
	assert_true(all_bytes(buf + 80, 176, 0xa5));
	assert_false(all_bytes(buf + 16, 64, 0xa5));
	vqt_free(t);
}

static void test_readable_untouched_and_many(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	uint8_t *buf = vqt_host(t, T_BUF);
	bool irq;
	int i;

	(void)state;
	memset(buf, 0x5a, 4096);
	/* A device-readable buffer (a misbehaving driver): never written. */
	vqt_desc(t, 0, T_BUF, 32, VIRTQ_DESC_F_NEXT, 1);
	vqt_desc(t, 1, T_BUF + 100, 3, VIRTQ_DESC_F_WRITE, 0);
	vqt_desc(t, 2, T_BUF + 200, 1, VIRTQ_DESC_F_WRITE, 0);
	vqt_offer(t, 0);
	vqt_offer(t, 2);
	assert_int_equal(vrnd_process(&t->vq, &chain, &irq), 0);
	assert_int_equal(vqt_used_idx(t), 2);
	assert_int_equal(vqt_used_len(t, 0), 3);
	assert_int_equal(vqt_used_len(t, 1), 1);
	assert_true(all_bytes(buf, 32, 0x5a));
	assert_true(all_bytes(buf + 103, 97, 0x5a));
	assert_true(all_bytes(buf + 201, 4096 - 201, 0x5a));
	/* Nothing more to do. */
	for (i = 0; i < 2; i++)
		assert_int_equal(vrnd_process(&t->vq, &chain, &irq), 0);
	assert_int_equal(vqt_used_idx(t), 2);
	assert_false(irq);
	vqt_free(t);
}

static void test_bad_chain_breaks(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	bool irq;

	(void)state;
	vqt_desc(t, 0, T_RAM_END - 4, 64, VIRTQ_DESC_F_WRITE, 0);
	vqt_offer(t, 0);
	assert_int_equal(vrnd_process(&t->vq, &chain, &irq), -EIO);
	assert_int_equal(vqt_used_idx(t), 0);
	vqt_free(t);
}

/* ---- The whole device through the PCI core: legacy transport ---- */

struct tfix {
	struct vqt *t; /* guest memory and a driver-side view of its rings */
	struct inout *io;
	struct mmio *mmio;
	struct config *cfg;
	struct pci *pci;
	int gsi_level[24];
	int nmsi;
	uint16_t io_base;
	uint64_t mem_base;
};

static int t_irq(void *ctx, unsigned gsi, int level)
{
	struct tfix *f = ctx;

	if (gsi < 24)
		f->gsi_level[gsi] = level;
	return 0;
}

static int t_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct tfix *f = ctx;

	(void)addr;
	(void)data;
	f->nmsi++;
	return 0;
}

static uint32_t cfg_rd(struct tfix *f, int reg, int bytes)
{
	uint32_t v = 0;

	pci_cfg_access(f->pci, 0, 4, 0, reg, bytes, false, &v);
	return v;
}

static void cfg_wr(struct tfix *f, int reg, int bytes, uint32_t v)
{
	pci_cfg_access(f->pci, 0, 4, 0, reg, bytes, true, &v);
}

static struct tfix *tfix_new(bool msix)
{
	struct tfix *f = calloc(1, sizeof(*f));
	struct pci_platform pl;
	char err[256];

	(void)pci_de_virtio_rnd;
	f->t = vqt_new(VQ_MAX_SIZE, false, false);
	f->io = inout_new();
	f->mmio = mmio_new();
	f->cfg = config_new();
	memset(&pl, 0, sizeof(pl));
	pl.io = f->io;
	pl.mmio = f->mmio;
	pl.gmem = &f->t->mem;
	pl.irq_line = t_irq;
	pl.msi = t_msi;
	pl.ctx = f;
	pci_platform_set_windows(&pl, 0);
	f->pci = pci_new(&pl);
	assert_non_null(f->pci);
	assert_int_equal(config_set(f->cfg, "pci.0.4.0.device", "virtio-rnd"), 0);
	if (!msix)
		assert_int_equal(config_set(f->cfg, "virtio_msix", "false"), 0);
	assert_int_equal(pci_init_devices(f->pci, f->cfg, err, sizeof(err)), 0);
	cfg_wr(f, PCI_REG_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_BUSMASTER);
	f->io_base = (uint16_t)(cfg_rd(f, PCI_REG_BAR0, 4) & ~3u);
	f->mem_base = (cfg_rd(f, PCI_REG_BAR0 + 16, 4) & ~15u) |
		      ((uint64_t)cfg_rd(f, PCI_REG_BAR0 + 20, 4) << 32);
	return f;
}

static void tfix_free(struct tfix *f)
{
	pci_free(f->pci);
	config_free(f->cfg);
	mmio_free(f->mmio);
	inout_free(f->io);
	vqt_free(f->t);
	free(f);
}

static uint32_t io_rd(struct tfix *f, uint16_t off, int bytes)
{
	uint32_t v = 0;

	inout_dispatch(f->io, 0, true, (uint16_t)(f->io_base + off), bytes, &v);
	return bytes == 4 ? v : v & ((1u << (8 * bytes)) - 1);
}

static void io_wr(struct tfix *f, uint16_t off, int bytes, uint32_t v)
{
	inout_dispatch(f->io, 0, false, (uint16_t)(f->io_base + off), bytes, &v);
}

static uint64_t mm_rd(struct tfix *f, uint64_t off, int bytes)
{
	uint64_t v = 0;

	mmio_dispatch(f->mmio, 0, false, f->mem_base + off, bytes, &v);
	return v;
}

static void mm_wr(struct tfix *f, uint64_t off, int bytes, uint64_t v)
{
	mmio_dispatch(f->mmio, 0, true, f->mem_base + off, bytes, &v);
}

static void test_pci_identity(void **state)
{
	struct tfix *f = tfix_new(true);

	(void)state;
	assert_int_equal(cfg_rd(f, PCI_REG_VENDOR, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, PCI_REG_DEVICE, 2), 0x1005);
	assert_int_equal(cfg_rd(f, PCI_REG_SUBSYSTEM, 2), VIRTIO_ID_ENTROPY);
	assert_int_equal(cfg_rd(f, PCI_REG_REVID, 1), 0);
	assert_true(f->io_base != 0);
	assert_true(f->mem_base != 0);
	tfix_free(f);
}

static void test_legacy_intx_flow(void **state)
{
	struct tfix *f = tfix_new(false);
	struct vqt *t = f->t;
	int gsi;

	(void)state;
	io_wr(f, 18, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* The ring features are offered (VERSION_1, bit 32, cannot be). */
	assert_true(io_rd(f, 0, 4) & (1u << VIRTIO_RING_F_INDIRECT_DESC));
	io_wr(f, 4, 4, 0);
	/* Out-of-range queues read as absent and ignore writes. */
	io_wr(f, 14, 2, 7);
	assert_int_equal(io_rd(f, 12, 2), 0);
	io_wr(f, 8, 4, (uint32_t)(T_DESC / 4096));
	io_wr(f, 16, 2, 7);
	io_wr(f, 16, 2, 0xffff);
	io_wr(f, 14, 2, 0);
	assert_int_equal(io_rd(f, 12, 2), VQ_MAX_SIZE);
	io_wr(f, 8, 4, (uint32_t)(T_DESC / 4096));
	assert_int_equal(io_rd(f, 8, 4), T_DESC / 4096);
	io_wr(f, 18, 1, 0x07);
	/* No device configuration: reads past the header are 0. */
	assert_int_equal(io_rd(f, 20, 4), 0);
	vqt_desc(t, 0, T_BUF, 32, VIRTQ_DESC_F_WRITE, 0);
	vqt_offer(t, 0);
	io_wr(f, 16, 2, 0);
	assert_int_equal(vqt_used_idx(t), 1);
	assert_int_equal(vqt_used_len(t, 0), 32);
	gsi = pci_intx_gsi(f->pci, 0, 4, (int)cfg_rd(f, PCI_REG_INTPIN, 1) - 1);
	assert_true(gsi >= 16 && gsi < 24);
	/* INTx is up until the ISR is read, which clears it. */
	assert_int_equal(f->gsi_level[gsi], 1);
	assert_int_equal(io_rd(f, 19, 1), 1);
	assert_int_equal(f->gsi_level[gsi], 0);
	assert_int_equal(io_rd(f, 19, 1), 0);
	/* A bad chain: NEEDS_RESET and a configuration interrupt. */
	vqt_offer(t, 300);
	io_wr(f, 16, 2, 0);
	assert_true(io_rd(f, 18, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(io_rd(f, 19, 1), 2);
	/* Reset forgets it all. */
	io_wr(f, 18, 1, 0);
	assert_int_equal(io_rd(f, 18, 1), 0);
	assert_int_equal(io_rd(f, 8, 4), 0);
	tfix_free(f);
}

static void test_modern_negotiation_and_bounds(void **state)
{
	struct tfix *f = tfix_new(true);

	(void)state;
	mm_wr(f, 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mm_wr(f, 0, 4, 1);
	assert_int_equal(mm_rd(f, 4, 4) & 1, 1); /* VERSION_1 (bit 32) */
	assert_int_equal(mm_rd(f, 18, 2), 1);	 /* num_queues */
	/* Without VERSION_1, FEATURES_OK does not stick (§3.1.1). */
	mm_wr(f, 20, 1, 0x0b);
	assert_false(mm_rd(f, 20, 1) & VIRTIO_STATUS_FEATURES_OK);
	mm_wr(f, 8, 4, 1);
	mm_wr(f, 12, 4, 1);
	mm_wr(f, 20, 1, 0x0b);
	assert_true(mm_rd(f, 20, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* A feature we never offered. */
	mm_wr(f, 8, 4, 0);
	mm_wr(f, 12, 4, 1u << 3);
	/* Queue select out of range: size 0, writes ignored. */
	mm_wr(f, 22, 2, 9);
	assert_int_equal(mm_rd(f, 24, 2), 0);
	mm_wr(f, 28, 2, 1);
	/* A queue with a bad size cannot be enabled. */
	mm_wr(f, 22, 2, 0);
	mm_wr(f, 24, 2, 3);
	mm_wr(f, 32, 4, (uint32_t)T_DESC);
	mm_wr(f, 40, 4, (uint32_t)T_AVAIL);
	mm_wr(f, 48, 4, (uint32_t)T_USED);
	mm_wr(f, 28, 2, 1);
	assert_int_equal(mm_rd(f, 28, 2), 0);
	assert_true(mm_rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset, then a good queue. */
	mm_wr(f, 20, 1, 0);
	assert_int_equal(mm_rd(f, 20, 1), 0);
	mm_wr(f, 22, 2, 0);
	mm_wr(f, 24, 2, 16);
	mm_wr(f, 32, 4, (uint32_t)T_DESC);
	mm_wr(f, 40, 4, (uint32_t)T_AVAIL);
	mm_wr(f, 48, 4, (uint32_t)T_USED);
	mm_wr(f, 28, 2, 1);
	assert_int_equal(mm_rd(f, 28, 2), 1);
	/* MSI-X is off: vectors cannot be mapped and read back NO_VECTOR. */
	mm_wr(f, 26, 2, 0);
	assert_int_equal(mm_rd(f, 26, 2), VIRTIO_MSI_NO_VECTOR);
	/* Odd offsets and sizes of every region are harmless. */
	mm_wr(f, 0x3000 + 4 * 63, 4, 0);
	mm_wr(f, 0x3ffc, 4, 0);
	assert_int_equal(mm_rd(f, 0x2000, 4), 0);
	mm_wr(f, 33, 1, 0xff);
	assert_int_equal(mm_rd(f, 32, 4), (uint32_t)T_DESC);
	tfix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fills_exactly_the_buffer),
		cmocka_unit_test(test_readable_untouched_and_many),
		cmocka_unit_test(test_bad_chain_breaks),
		cmocka_unit_test(test_pci_identity),
		cmocka_unit_test(test_legacy_intx_flow),
		cmocka_unit_test(test_modern_negotiation_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
