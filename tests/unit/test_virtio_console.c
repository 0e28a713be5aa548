/* virtio-console: control messages (virtio 1.2 §5.3.6.2) parsed from and
 * built into guest chains, the bounded output ring, the port list. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "config.h"
#include "inout.h"
#include "mevent.h"
#include "mmio.h"
#include "pci/pci.h"
#include "pci/pci_emul.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_pci.h"
#include "vq_test.h"

extern const struct pci_devemu pci_de_virtio_rnd;
/* Referenced so that the linker pulls virtio-rnd out of the library. */
const struct pci_devemu *volatile t_keep_rnd = &pci_de_virtio_rnd;

static struct vq_chain chain;

static void put_hdr(uint8_t *p, uint32_t id, uint16_t ev, uint16_t val)
{
	memcpy(p, &id, 4);
	memcpy(p + 4, &ev, 2);
	memcpy(p + 6, &val, 2);
}

static void test_ctrl_parse_split_and_short(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	uint8_t hdr[8];
	struct vcon_ctrl m;

	(void)state;
	put_hdr(hdr, 5, VCON_PORT_READY, 1);
	/* The header split over two descriptors. */
	memcpy(vqt_host(t, T_BUF), hdr, 3);
	memcpy(vqt_host(t, T_BUF + 0x100), hdr + 3, 5);
	vqt_desc(t, 0, T_BUF, 3, VIRTQ_DESC_F_NEXT, 1);
	vqt_desc(t, 1, T_BUF + 0x100, 5, 0, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(vcon_ctrl_parse(&chain, &m), 0);
	assert_int_equal(m.id, 5);
	assert_int_equal(m.event, VCON_PORT_READY);
	assert_int_equal(m.value, 1);
	/* Seven bytes are not a message. */
	vqt_desc(t, 2, T_BUF, 7, 0, 0);
	vqt_offer(t, 2);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(vcon_ctrl_parse(&chain, &m), -EINVAL);
	/* Device-writable bytes are not read as a message. */
	vqt_desc(t, 3, T_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	vqt_offer(t, 3);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(vcon_ctrl_parse(&chain, &m), -EINVAL);
	vqt_free(t);
}

static void test_ctrl_build(void **state)
{
	uint8_t b[32];
	uint32_t id;
	uint16_t ev, val;

	(void)state;
	memset(b, 0xee, sizeof(b));
	assert_int_equal(vcon_ctrl_build(b, sizeof(b), 3, VCON_PORT_NAME, 1, "beta"), 12);
	memcpy(&id, b, 4);
	memcpy(&ev, b + 4, 2);
	memcpy(&val, b + 6, 2);
	assert_int_equal(id, 3);
	assert_int_equal(ev, VCON_PORT_NAME);
	assert_int_equal(val, 1);
	assert_memory_equal(b + 8, "beta", 4);
	assert_int_equal(b[12], 0xee);
	assert_int_equal(vcon_ctrl_build(b, 8, 0, VCON_DEVICE_ADD, 0, NULL), 8);
	assert_int_equal(vcon_ctrl_build(b, 7, 0, VCON_DEVICE_ADD, 0, NULL), 0);
	assert_int_equal(vcon_ctrl_build(b, 11, 0, VCON_PORT_NAME, 1, "beta"), 0);
}

static void test_chain_write_bounds(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	uint8_t *buf = vqt_host(t, T_BUF);
	uint8_t src[64];
	int i;

	(void)state;
	for (i = 0; i < 64; i++)
		src[i] = (uint8_t)i;
	memset(buf, 0xa5, 0x300);
	/* readable 8 bytes, then writable 4 + 6 */
	vqt_desc(t, 0, T_BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	vqt_desc(t, 1, T_BUF + 0x100, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vqt_desc(t, 2, T_BUF + 0x200, 6, VIRTQ_DESC_F_WRITE, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(vcon_chain_write(&chain, src, 64), 10);
	assert_int_equal(buf[0], 0xa5); /* the readable part untouched */
	assert_memory_equal(buf + 0x100, src, 4);
	assert_int_equal(buf[0x104], 0xa5);
	assert_memory_equal(buf + 0x200, src + 4, 6);
	assert_int_equal(buf[0x206], 0xa5);
	/* Less than the chain holds. */
	memset(buf + 0x200, 0xa5, 16);
	assert_int_equal(vcon_chain_write(&chain, src, 5), 5);
	assert_int_equal(buf[0x200], 4);
	assert_int_equal(buf[0x201], 0xa5);
	vqt_free(t);
}

static void test_ring(void **state)
{
	uint8_t store[8], data[20];
	struct vcon_ring r = { .buf = store, .cap = sizeof(store) };
	const uint8_t *p;
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		data[i] = (uint8_t)i;
	assert_int_equal(vcon_ring_put(&r, data, 5), 5);
	assert_int_equal(vcon_ring_peek(&r, &p), 5);
	vcon_ring_consume(&r, 3);
	/* 3 and 4 left; 6 more fit, wrapping; the rest is dropped. */
	assert_int_equal(vcon_ring_put(&r, data + 10, 10), 6);
	assert_int_equal(r.dropped, 4);
	assert_int_equal(r.len, 8);
	assert_int_equal(vcon_ring_peek(&r, &p), 5);
	assert_int_equal(p[0], 3);
	assert_int_equal(p[2], 10);
	vcon_ring_consume(&r, 5);
	assert_int_equal(vcon_ring_peek(&r, &p), 3);
	assert_int_equal(p[0], 13);
	vcon_ring_consume(&r, 100);
	assert_int_equal(r.len, 0);
	assert_int_equal(vcon_ring_peek(&r, &p), 0);
}

static int parse(struct config *c, struct vcon_port_spec *s)
{
	char err[160];

	return vcon_parse_ports(c, "pci.0.6.0", s, err, sizeof(err));
}

static void test_parse_ports(void **state)
{
	struct vcon_port_spec s[VCON_MAX_PORTS];
	struct config *c = config_new();
	char opt[64];
	int i;

	(void)state;
	assert_int_equal(config_set_pci_slot(c, "6,virtio-console,beta=/b,alpha=stdio"), 0);
	assert_int_equal(config_set(c, "pci.0.6.0.port.gamma.path", "/g"), 0);
	assert_int_equal(parse(c, s), 3);
	assert_string_equal(s[0].name, "alpha");
	assert_true(s[0].is_stdio);
	assert_string_equal(s[1].name, "beta");
	assert_string_equal(s[1].path, "/b");
	assert_false(s[1].is_stdio);
	assert_string_equal(s[2].name, "gamma");
	assert_string_equal(s[2].path, "/g");
	/* The same name both ways; a second stdio port. */
	assert_int_equal(config_set(c, "pci.0.6.0.port.beta.path", "/b2"), 0);
	assert_int_equal(parse(c, s), -EEXIST);
	config_free(c);

	c = config_new();
	assert_int_equal(config_set_pci_slot(c, "6,virtio-console,a=stdio,b=stdio"), 0);
	assert_int_equal(parse(c, s), -EEXIST);
	config_free(c);

	c = config_new();
	assert_int_equal(config_set_pci_slot(c, "6,virtio-console"), 0);
	assert_int_equal(parse(c, s), -EINVAL);
	assert_int_equal(config_set(c, "pci.0.6.0.port.x", "oops"), 0);
	assert_int_equal(parse(c, s), -EINVAL);
	config_free(c);

	c = config_new();
	for (i = 0; i < VCON_MAX_PORTS; i++) {
		snprintf(opt, sizeof(opt), "pci.0.6.0.p%d", i);
		assert_int_equal(config_set(c, opt, "/x"), 0);
	}
	assert_int_equal(parse(c, s), VCON_MAX_PORTS);
	assert_int_equal(config_set(c, "pci.0.6.0.p99", "/x"), 0);
	assert_int_equal(parse(c, s), -E2BIG);
	config_free(c);

	c = config_new();
	memset(opt, 'y', sizeof(opt));
	opt[0] = '/';
	opt[sizeof(opt) - 1] = '\0';
	assert_int_equal(config_set(c, "pci.0.6.0.long", opt), 0);
	assert_int_equal(parse(c, s), 1);
	{
		char big[VCON_PATH_MAX + 2];

		memset(big, 'z', sizeof(big));
		big[0] = '/';
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(config_set(c, "pci.0.6.0.long", big), 0);
		assert_int_equal(parse(c, s), -ENAMETOOLONG);
	}
	config_free(c);
}

/* ---- ioeventfd / irqfd bookkeeping of the PCI core and the transport,
 * through a virtio-rnd function and a platform that records the calls ---- */

#define T_MAXEV 16

struct t_ev {
	bool pio, dm;
	uint64_t addr, data;
	int len, fd;
};

struct efix {
	struct vqt *t;
	struct inout *io;
	struct mmio *mmio;
	struct mevent_loop *loop;
	struct config *cfg;
	struct pci *pci;
	struct t_ev ev[T_MAXEV];
	int nev;
	int route_gsi[8]; /* -1 free */
	uint64_t route_addr[8];
	int irqfd_gsi[8]; /* attached irqfd per gsi slot: fd or -1 */
	uint16_t io_base;
	uint64_t mem_base, msix_base;
};

static int e_irq(void *ctx, unsigned gsi, int level)
{
	(void)ctx;
	(void)gsi;
	(void)level;
	return 0;
}

static int e_msi(void *ctx, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)addr;
	(void)data;
	return 0;
}

static int e_ioeventfd(void *ctx, bool pio, uint64_t addr, int len, bool dm, uint64_t data, int fd,
		       bool assign)
{
	struct efix *f = ctx;
	int i;

	for (i = 0; i < f->nev; i++) {
		struct t_ev *e = &f->ev[i];

		if (e->pio == pio && e->addr == addr && e->len == len && e->dm == dm &&
		    e->data == data && e->fd == fd) {
			if (assign)
				return -EEXIST;
			f->ev[i] = f->ev[--f->nev];
			return 0;
		}
	}
	if (!assign || f->nev == T_MAXEV)
		return -ENOENT;
	f->ev[f->nev++] = (struct t_ev){ pio, dm, addr, data, len, fd };
	return 0;
}

static int e_route(void *ctx, int *gsi, uint64_t addr, uint32_t data)
{
	struct efix *f = ctx;
	int i;

	(void)data;
	if (*gsi < 0) {
		for (i = 0; i < 8 && f->route_gsi[i] >= 0; i++)
			;
		if (i == 8)
			return -ENOSPC;
		f->route_gsi[i] = 100 + i;
		*gsi = 100 + i;
	}
	f->route_addr[*gsi - 100] = addr;
	return 0;
}

static int e_route_del(void *ctx, int gsi)
{
	struct efix *f = ctx;

	f->route_gsi[gsi - 100] = -1;
	return 0;
}

static int e_irqfd(void *ctx, int gsi, int fd, bool assign)
{
	struct efix *f = ctx;

	f->irqfd_gsi[gsi - 100] = assign ? fd : -1;
	return 0;
}

static uint32_t e_cfg_rd(struct efix *f, int reg, int bytes)
{
	uint32_t v = 0;

	pci_cfg_access(f->pci, 0, 4, 0, reg, bytes, false, &v);
	return v;
}

static void e_cfg_wr(struct efix *f, int reg, int bytes, uint32_t v)
{
	pci_cfg_access(f->pci, 0, 4, 0, reg, bytes, true, &v);
}

static void e_io_wr(struct efix *f, uint16_t off, int bytes, uint32_t v)
{
	inout_dispatch(f->io, 0, false, (uint16_t)(f->io_base + off), bytes, &v);
}

static void e_mem_wr(struct efix *f, uint64_t gpa, uint32_t v)
{
	uint64_t x = v;

	mmio_dispatch(f->mmio, 0, true, gpa, 4, &x);
}

static int find_cap(struct efix *f, int id)
{
	int off = (int)e_cfg_rd(f, PCI_REG_CAP_PTR, 1);

	while (off) {
		if ((int)e_cfg_rd(f, off, 1) == id)
			return off;
		off = (int)e_cfg_rd(f, off + 1, 1);
	}
	return 0;
}

static struct efix *efix_new(void)
{
	struct efix *f = calloc(1, sizeof(*f));
	struct pci_platform pl;
	char err[256];
	int i;

	for (i = 0; i < 8; i++)
		f->route_gsi[i] = f->irqfd_gsi[i] = -1;
	f->t = vqt_new(VQ_MAX_SIZE, false, false);
	f->io = inout_new();
	f->mmio = mmio_new();
	f->loop = mevent_loop_new();
	f->cfg = config_new();
	memset(&pl, 0, sizeof(pl));
	pl.io = f->io;
	pl.mmio = f->mmio;
	pl.gmem = &f->t->mem;
	pl.loop = f->loop;
	pl.irq_line = e_irq;
	pl.msi = e_msi;
	pl.ioeventfd = e_ioeventfd;
	pl.msi_route = e_route;
	pl.msi_route_del = e_route_del;
	pl.irqfd = e_irqfd;
	pl.ctx = f;
	pci_platform_set_windows(&pl, 0);
	f->pci = pci_new(&pl);
	assert_non_null(f->pci);
	assert_int_equal(config_set(f->cfg, "pci.0.4.0.device", "virtio-rnd"), 0);
	if (pci_init_devices(f->pci, f->cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	e_cfg_wr(f, PCI_REG_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_BUSMASTER);
	f->io_base = (uint16_t)(e_cfg_rd(f, PCI_REG_BAR0, 4) & ~3u);
	f->msix_base = e_cfg_rd(f, PCI_REG_BAR0 + 4, 4) & ~15u;
	f->mem_base = (e_cfg_rd(f, PCI_REG_BAR0 + 16, 4) & ~15u) |
		      ((uint64_t)e_cfg_rd(f, PCI_REG_BAR0 + 20, 4) << 32);
	return f;
}

static void efix_free(struct efix *f)
{
	pci_free(f->pci);
	config_free(f->cfg);
	mevent_loop_free(f->loop);
	mmio_free(f->mmio);
	inout_free(f->io);
	vqt_free(f->t);
	free(f);
}

static bool has_ev(struct efix *f, bool pio, uint64_t addr, bool dm, uint64_t data)
{
	int i;

	for (i = 0; i < f->nev; i++)
		if (f->ev[i].pio == pio && f->ev[i].addr == addr && f->ev[i].len == 2 &&
		    f->ev[i].dm == dm && (!dm || f->ev[i].data == data))
			return true;
	return false;
}

static int attached(struct efix *f)
{
	int i, n = 0;

	for (i = 0; i < 8; i++)
		n += f->irqfd_gsi[i] >= 0;
	return n;
}

static void test_eventfds_follow_bars_and_masks(void **state)
{
	struct efix *f = efix_new();
	int msix = find_cap(f, PCI_CAP_MSIX);

	(void)state;
	assert_true(msix > 0);
	/* MSI-X on, then a legacy driver: queue 0 at a page, DRIVER_OK. */
	e_cfg_wr(f, msix + 2, 2, 0x8000);
	e_io_wr(f, 8, 4, (uint32_t)(T_DESC >> 12));
	e_io_wr(f, 18, 1, 0x0f);
	assert_int_equal(f->nev, 2);
	assert_true(has_ev(f, true, f->io_base + 16, true, 0));
	assert_true(has_ev(f, false, f->mem_base + 0x3000, false, 0));
	/* Two vectors routed; masked in the table, so no irqfd attached. */
	assert_int_equal(attached(f), 0);
	assert_true(f->route_gsi[0] >= 0 && f->route_gsi[1] >= 0);
	/* Unmask vector 1 with an address: attached, route follows. */
	e_mem_wr(f, f->msix_base + 16, 0xfee01000);
	e_mem_wr(f, f->msix_base + 16 + 12, 0);
	assert_int_equal(attached(f), 1);
	assert_int_equal(f->route_addr[1], 0xfee01000);
	/* Function mask: detached; cleared again: attached. */
	e_cfg_wr(f, msix + 2, 2, 0xc000);
	assert_int_equal(attached(f), 0);
	e_cfg_wr(f, msix + 2, 2, 0x8000);
	assert_int_equal(attached(f), 1);
	/* The guest moves the I/O BAR: the notify eventfd moves along. */
	e_cfg_wr(f, PCI_REG_BAR0, 4, 0x6000);
	assert_int_equal(f->nev, 2);
	assert_true(has_ev(f, true, 0x6000 + 16, true, 0));
	assert_false(has_ev(f, true, f->io_base + 16, true, 0));
	/* Memory decoding off: the modern one goes, the legacy one stays. */
	e_cfg_wr(f, PCI_REG_COMMAND, 2, PCI_CMD_IO | PCI_CMD_BUSMASTER);
	assert_int_equal(f->nev, 1);
	assert_true(has_ev(f, true, 0x6000 + 16, true, 0));
	e_cfg_wr(f, PCI_REG_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_BUSMASTER);
	assert_int_equal(f->nev, 2);
	/* Reset: every eventfd and route goes; writes trap again. */
	f->io_base = 0x6000;
	e_io_wr(f, 18, 1, 0);
	assert_int_equal(f->nev, 0);
	assert_int_equal(attached(f), 0);
	assert_true(f->route_gsi[0] < 0 && f->route_gsi[1] < 0);
	efix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctrl_parse_split_and_short),
		cmocka_unit_test(test_ctrl_build),
		cmocka_unit_test(test_chain_write_bounds),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_parse_ports),
		cmocka_unit_test(test_eventfds_follow_bars_and_masks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
