/* The e1000 (82545EM) engine, src/pci/pci_e1000.c, over a synthetic guest
 * memory and a fake network back end: EEPROM (checksum, MAC, EERD and the
 * Microwire bit-banging Linux does), PHY reads through MDIC, interrupt
 * cause/mask semantics, transmit with context and data descriptors
 * (checksum insertion, TSO split into correct segments, VLAN insertion),
 * receive into guest buffers (DD/EOP, lengths, CRC, filters, several
 * descriptors per frame, running out of descriptors), statistics, the I/O
 * BAR, and hostile rings, descriptors and contexts.  Register offsets and
 * bits are the SDM's (8254x Software Developer's Manual). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gmem.h"
#include "net/netbe.h"
#include "pci/pci_e1000.h"
#include "pci/pci_emul.h"

extern const struct pci_devemu pci_de_e1000;
/* Referenced so that the linker pulls the device out of the library. */
const struct pci_devemu *volatile t_keep_e1000 = &pci_de_e1000;

/* Registers (SDM table 13-2). */
#define CTRL	0x0000
#define STATUS	0x0008
#define EECD	0x0010
#define EERD	0x0014
#define MDIC	0x0020
#define VET	0x0038
#define ICR	0x00c0
#define ITR	0x00c4
#define ICS	0x00c8
#define IMS	0x00d0
#define IMC	0x00d8
#define RCTL	0x0100
#define TCTL	0x0400
#define RDBAL	0x2800
#define RDBAH	0x2804
#define RDLEN	0x2808
#define RDH	0x2810
#define RDT	0x2818
#define RDTR	0x2820
#define TDBAL	0x3800
#define TDBAH	0x3804
#define TDLEN	0x3808
#define TDH	0x3810
#define TDT	0x3818
#define GPRC	0x4074
#define GPTC	0x4080
#define GORCL	0x4088
#define GORCH	0x408c
#define RNBC	0x40a0
#define ROC	0x40ac
#define TPR	0x40d0
#define TPT	0x40d4
#define TSCTC	0x40f8
#define TSCTFC	0x40fc
#define CRCERRS 0x4000
#define MTA	0x5200
#define RAL0	0x5400
#define RAH0	0x5404
#define VFTA	0x5600

#define ICR_TXDW    0x01
#define ICR_LSC	    0x04
#define ICR_RXT0    0x80
#define ICR_MDAC    0x200
#define RCTL_EN	    0x02
#define RCTL_UPE    0x08
#define RCTL_MPE    0x10
#define RCTL_LPE    0x20
#define RCTL_BAM    0x8000
#define RCTL_SZ_256 (3u << 16)
#define RCTL_SECRC  (1u << 26)
#define TCTL_EN	    0x02
#define CTRL_RST    (1u << 26)
#define CTRL_VME    (1u << 30)

#define CMD_EOP	   0x01
#define CMD_IC	   0x04
#define CMD_TSE	   0x04
#define CMD_RS	   0x08
#define CMD_DEXT   0x20
#define CMD_VLE	   0x40
#define POPTS_IXSM 0x01
#define POPTS_TXSM 0x02
#define TUCMD_TCP  0x01
#define TUCMD_IP   0x02

/* Guest memory. */
#define RAM_GPA	  0x100000ull
#define RAM_SIZE  (1u << 20)
#define TX_RING	  (RAM_GPA + 0x1000)
#define RX_RING	  (RAM_GPA + 0x2000)
#define TX_BUF	  (RAM_GPA + 0x10000)
#define RX_BUF	  (RAM_GPA + 0x40000)
#define RX_STRIDE 0x4000
#define RAM_END	  (RAM_GPA + RAM_SIZE)

#define MAXF 64

static const uint8_t MAC[6] = { 0x02, 0xe1, 0x00, 0x00, 0x10, 0x0f };
static const uint8_t OTHER[6] = { 0x02, 0, 0, 0, 0, 9 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- A fake back end ---- */

struct fbe {
	struct netbe be;
	int nsent;
	uint8_t *sent[MAXF];
	size_t sent_len[MAXF];
	int nin, inpos;
	uint8_t *in[MAXF];
	size_t in_len[MAXF];
};

static ssize_t fbe_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	struct fbe *f = (struct fbe *)be;
	size_t len = 0;
	int i;

	assert_true(f->nsent < MAXF);
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	f->sent[f->nsent] = malloc(len);
	for (len = 0, i = 0; i < iovcnt; i++) {
		memcpy(f->sent[f->nsent] + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	f->sent_len[f->nsent++] = len;
	return (ssize_t)len;
}

static ssize_t fbe_recv(struct netbe *be, void *buf, size_t len)
{
	struct fbe *f = (struct fbe *)be;
	size_t n;

	if (f->inpos == f->nin)
		return -EAGAIN;
	n = f->in_len[f->inpos];
	memcpy(buf, f->in[f->inpos], n < len ? n : len);
	f->inpos++;
	return (ssize_t)n;
}

static void fbe_close(struct netbe *be)
{
	(void)be;
}

static const struct netbe_ops fbe_ops = {
	.name = "fake",
	.send = fbe_send,
	.recv = fbe_recv,
	.close = fbe_close,
};

/* ---- Fixture ---- */

struct fix {
	struct fbe fb;
	struct gmem mem;
	uint8_t *ram;
	struct e1000 *sc;
	bool level;
	int edges;
};

static void h_irq(void *arg, bool level)
{
	struct fix *f = arg;

	f->level = level;
	f->edges++;
}

static struct fix *fix_new(unsigned hdr_len)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct e1000_hooks h = { h_irq, f };

	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(gmem_add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	netbe_init(&f->fb.be, &fbe_ops);
	f->fb.be.hdr_len = hdr_len;
	assert_int_equal(e1000_new(&f->fb.be, &f->mem, MAC, &h, &f->sc), 0);
	return f;
}

static void fix_free(struct fix *f)
{
	int i;

	e1000_free(f->sc);
	for (i = 0; i < f->fb.nsent; i++)
		free(f->fb.sent[i]);
	for (i = 0; i < f->fb.nin; i++)
		free(f->fb.in[i]);
	free(f->ram);
	free(f);
}

static uint32_t rd(struct fix *f, uint32_t off)
{
	return e1000_mmio_read(f->sc, off, 4);
}

static void wr(struct fix *f, uint32_t off, uint32_t v)
{
	e1000_mmio_write(f->sc, off, 4, v);
}

static uint8_t *host(struct fix *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

/* RFC 1071 sum, folded. */
static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += get_be16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* ---- EEPROM ---- */

static void test_eeprom_image(void **state)
{
	uint16_t w[E1000_EEPROM_WORDS];
	uint32_t sum = 0;
	int i;

	(void)state;
	e1000_eeprom_image(MAC, w);
	for (i = 0; i < E1000_EEPROM_WORDS; i++)
		sum += w[i];
	assert_int_equal(sum & 0xffff, E1000_EEPROM_SUM);
	assert_int_equal(w[0], 0xe102);
	assert_int_equal(w[1], 0x0000);
	assert_int_equal(w[2], 0x0f10);
	assert_int_equal(w[0x0d], 0x100f); /* device */
	assert_int_equal(w[0x0e], 0x8086); /* vendor */
}

static uint16_t eerd_read(struct fix *f, unsigned addr)
{
	uint32_t v;

	wr(f, EERD, addr << 8 | 1);
	v = rd(f, EERD);
	assert_true(v & 0x10); /* DONE */
	assert_int_equal((v >> 8) & 0xff, addr);
	return (uint16_t)(v >> 16);
}

/* What Linux's e1000 does on this part (Microwire, 6 address bits). */
static void ee_out(struct fix *f, uint32_t *eecd, uint32_t data, int count)
{
	int i;

	for (i = count - 1; i >= 0; i--) {
		*eecd = (*eecd & ~4u) | ((data >> i) & 1 ? 4u : 0);
		wr(f, EECD, *eecd);
		wr(f, EECD, *eecd | 1); /* SK up */
		wr(f, EECD, *eecd);	/* SK down */
	}
	*eecd &= ~4u;
	wr(f, EECD, *eecd);
}

static uint16_t ee_in(struct fix *f, uint32_t *eecd)
{
	uint16_t d = 0;
	int i;

	for (i = 0; i < 16; i++) {
		wr(f, EECD, *eecd | 1);
		d = (uint16_t)(d << 1 | ((rd(f, EECD) >> 3) & 1));
		wr(f, EECD, *eecd);
	}
	return d;
}

static uint16_t microwire_read(struct fix *f, unsigned addr)
{
	uint32_t eecd = rd(f, EECD) & ~0xfu;
	uint16_t d;

	/* Request and grant, select. */
	eecd |= 0x40;
	wr(f, EECD, eecd);
	assert_true(rd(f, EECD) & 0x80);
	eecd |= 2;
	wr(f, EECD, eecd);
	ee_out(f, &eecd, 6, 3); /* start bit and READ */
	ee_out(f, &eecd, addr, 6);
	d = ee_in(f, &eecd);
	/* Deselect and release. */
	eecd &= ~(2u | 0x40u);
	wr(f, EECD, eecd);
	return d;
}

static void test_eeprom_registers(void **state)
{
	struct fix *f = fix_new(0);
	uint16_t w[E1000_EEPROM_WORDS];
	uint32_t sum = 0;
	unsigned i;

	(void)state;
	e1000_eeprom_image(MAC, w);
	assert_true(rd(f, EECD) & 0x100);  /* EEPROM present */
	assert_false(rd(f, EECD) & 0x200); /* 64 words */
	for (i = 0; i < E1000_EEPROM_WORDS; i++) {
		uint16_t v = eerd_read(f, i);

		assert_int_equal(v, w[i]);
		assert_int_equal(microwire_read(f, i), v);
		sum += v;
	}
	assert_int_equal(sum & 0xffff, 0xbaba);
	assert_int_equal(eerd_read(f, 200), 0xffff); /* beyond the part */
	/* Leading zeros before the start bit are ignored. */
	{
		uint32_t eecd = 0x42;

		wr(f, EECD, eecd);
		ee_out(f, &eecd, 0x06, 5); /* 00110 */
		ee_out(f, &eecd, 2, 6);
		assert_int_equal(ee_in(f, &eecd), w[2]);
		/* Sequential read goes on to word 3. */
		assert_int_equal(ee_in(f, &eecd), w[3]);
		wr(f, EECD, 0);
	}
	/* A write command is clocked and ignored; DO says ready. */
	{
		uint32_t eecd = 0x42;

		wr(f, EECD, eecd);
		ee_out(f, &eecd, 5, 3); /* start, WRITE */
		ee_out(f, &eecd, 0, 6);
		ee_out(f, &eecd, 0x1234, 16);
		wr(f, EECD, 0x40);
		wr(f, EECD, 0x42);
		assert_true(rd(f, EECD) & 0x08);
		wr(f, EECD, 0);
		assert_int_equal(eerd_read(f, 0), w[0]);
	}
	/* The MAC is also in receive address 0, valid. */
	assert_int_equal(rd(f, RAL0), 0x0000e102);
	assert_int_equal(rd(f, RAH0), 0x80000f10);
	fix_free(f);
}

/* ---- PHY ---- */

static uint32_t mdic(struct fix *f, unsigned op, unsigned phy, unsigned reg, uint16_t data)
{
	wr(f, MDIC, op << 26 | phy << 21 | reg << 16 | data);
	return rd(f, MDIC);
}

static uint16_t phy_rd(struct fix *f, unsigned reg)
{
	uint32_t v = mdic(f, 2, 1, reg, 0);

	assert_true(v & (1u << 28));  /* ready */
	assert_false(v & (1u << 30)); /* no error */
	return (uint16_t)v;
}

static void test_phy(void **state)
{
	struct fix *f = fix_new(0);
	uint32_t v;

	(void)state;
	assert_int_equal(phy_rd(f, 2), 0x0141);
	assert_int_equal(phy_rd(f, 3), 0x0c20);
	assert_true(phy_rd(f, 1) & 0x0004);		  /* link */
	assert_true(phy_rd(f, 1) & 0x0020);		  /* autonegotiation complete */
	assert_int_equal(phy_rd(f, 10) & 0x3c00, 0x3c00); /* 1000BASE-T status */
	assert_int_equal(phy_rd(f, 17) & 0xec00, 0xac00); /* M88: 1000, FD, link */
	/* Writable and read-only registers. */
	mdic(f, 1, 1, 4, 0x01e1);
	assert_int_equal(phy_rd(f, 4), 0x01e1);
	mdic(f, 1, 1, 1, 0);
	assert_true(phy_rd(f, 1) & 0x0004);
	mdic(f, 1, 1, 16, 0x0868);
	/* A reset through BMCR keeps the vendor register; restart AN clears. */
	mdic(f, 1, 1, 0, 0x8000);
	assert_int_equal(phy_rd(f, 0), 0x1140);
	assert_int_equal(phy_rd(f, 16), 0x0868);
	mdic(f, 1, 1, 0, 0x1340);
	assert_int_equal(phy_rd(f, 0), 0x1140);
	/* Another PHY address: error. */
	v = mdic(f, 2, 3, 2, 0);
	assert_true(v & (1u << 30));
	assert_true(v & (1u << 28));
	/* MDIC.I raises MDAC. */
	wr(f, IMS, ICR_MDAC);
	wr(f, MDIC, 1u << 29 | 2u << 26 | 1u << 21 | 2u << 16);
	assert_true(f->level);
	assert_true(rd(f, ICR) & ICR_MDAC);
	assert_false(f->level);
	fix_free(f);
}

/* ---- Interrupts, STATUS, I/O BAR, reset ---- */

static void test_interrupts(void **state)
{
	struct fix *f = fix_new(0);

	(void)state;
	assert_int_equal(rd(f, STATUS) & 0xc3, 0x83); /* FD, LU, 1000 */
	assert_int_equal(rd(f, IMS), 0);
	wr(f, ICS, ICR_LSC);
	assert_false(f->level); /* masked */
	wr(f, IMS, ICR_LSC | ICR_RXT0);
	assert_true(f->level);
	assert_int_equal(rd(f, IMS), ICR_LSC | ICR_RXT0);
	/* Read to clear. */
	assert_int_equal(rd(f, ICR), ICR_LSC);
	assert_false(f->level);
	assert_int_equal(rd(f, ICR), 0);
	/* IMC masks; the cause stays latched. */
	wr(f, ICS, ICR_RXT0);
	assert_true(f->level);
	wr(f, IMC, ICR_RXT0);
	assert_false(f->level);
	assert_int_equal(rd(f, IMS), ICR_LSC);
	wr(f, IMS, ICR_RXT0);
	assert_true(f->level);
	/* Writing 1 to ICR clears that cause. */
	wr(f, ICR, ICR_RXT0);
	assert_false(f->level);
	assert_int_equal(rd(f, ICR), 0);
	/* Throttling registers are accepted. */
	wr(f, ITR, 1000);
	assert_int_equal(rd(f, ITR), 1000);
	wr(f, RDTR, 0x80000010);
	assert_int_equal(rd(f, RDTR), 0x10);
	/* Write-only registers read 0; narrow reads see a register's bytes. */
	assert_int_equal(rd(f, ICS), 0);
	assert_int_equal(e1000_mmio_read(f->sc, STATUS, 1), 0x83);
	assert_int_equal(e1000_mmio_read(f->sc, ITR + 1, 1), 0x03);
	assert_int_equal(e1000_mmio_read(f->sc, ITR + 2, 4), 0); /* across two */
	e1000_mmio_write(f->sc, ITR, 2, 5);			 /* not a whole register */
	assert_int_equal(rd(f, ITR), 1000);
	/* Unknown registers read 0 and drop writes. */
	wr(f, 0x0004, 0x1234);
	assert_int_equal(rd(f, 0x0004), 0);
	fix_free(f);
}

static void test_io_bar_and_reset(void **state)
{
	struct fix *f = fix_new(0);

	(void)state;
	e1000_io_write(f->sc, 0, 4, STATUS);
	assert_int_equal(e1000_io_read(f->sc, 0, 4), STATUS);
	assert_int_equal(e1000_io_read(f->sc, 4, 4) & 3, 3);
	wr(f, IMS, ICR_LSC);
	wr(f, RCTL, RCTL_EN | RCTL_BAM);
	wr(f, RAL0, 0x12345678);
	/* Reset through IOADDR/IODATA, as Linux does on this part. */
	e1000_io_write(f->sc, 0, 4, CTRL);
	e1000_io_write(f->sc, 4, 4, rd(f, CTRL) | CTRL_RST);
	assert_false(rd(f, CTRL) & CTRL_RST);
	assert_int_equal(rd(f, IMS), 0);
	assert_int_equal(rd(f, RCTL), 0);
	assert_int_equal(rd(f, RAL0), 0x0000e102);
	/* Other widths and offsets are not decoded. */
	assert_int_equal(e1000_io_read(f->sc, 2, 2), 0);
	e1000_io_write(f->sc, 1, 1, 0xff);
	fix_free(f);
}

/* ---- Transmit ---- */

static void tx_setup(struct fix *f, uint32_t ndesc)
{
	wr(f, TDBAL, (uint32_t)TX_RING);
	wr(f, TDBAH, 0);
	wr(f, TDLEN, ndesc * 16);
	wr(f, TDH, 0);
	wr(f, TDT, 0);
	wr(f, TCTL, TCTL_EN);
	wr(f, IMS, ICR_TXDW);
}

static uint8_t *txd(struct fix *f, unsigned i)
{
	return host(f, TX_RING + 16 * i);
}

static void txd_legacy(struct fix *f, unsigned i, uint64_t addr, uint16_t len, uint8_t cmd,
		       uint8_t cso, uint8_t css, uint16_t special)
{
	uint8_t *d = txd(f, i);

	memset(d, 0, 16);
	put_le64(d, addr);
	put_le16(d + 8, len);
	d[10] = cso;
	d[11] = cmd;
	d[13] = css;
	put_le16(d + 14, special);
}

static void txd_data(struct fix *f, unsigned i, uint64_t addr, uint32_t len, uint8_t dcmd,
		     uint8_t popts)
{
	uint8_t *d = txd(f, i);

	memset(d, 0, 16);
	put_le64(d, addr);
	put_le32(d + 8, (len & 0xfffff) | 1u << 20);
	d[11] = (uint8_t)(dcmd | CMD_DEXT);
	d[13] = popts;
}

static void txd_ctx(struct fix *f, unsigned i, uint8_t ipcss, uint8_t ipcso, uint16_t ipcse,
		    uint8_t tucss, uint8_t tucso, uint16_t tucse, uint32_t paylen, uint8_t tucmd,
		    uint8_t hdrlen, uint16_t mss)
{
	uint8_t *d = txd(f, i);

	memset(d, 0, 16);
	d[0] = ipcss;
	d[1] = ipcso;
	put_le16(d + 2, ipcse);
	d[4] = tucss;
	d[5] = tucso;
	put_le16(d + 6, tucse);
	put_le32(d + 8, paylen & 0xfffff);
	d[11] = (uint8_t)(tucmd | CMD_DEXT);
	d[13] = hdrlen;
	put_le16(d + 14, mss);
}

/* An Ethernet/IPv4 header and a TCP (proto 6) or UDP (17) header after it. */
static size_t build_ip(uint8_t *p, uint8_t proto, size_t payload, bool tso)
{
	size_t l4 = proto == 6 ? 20 : 8, i, len = 14 + 20 + l4 + payload;
	uint32_t ps;

	memset(p, 0, 14 + 20 + l4);
	memcpy(p, OTHER, 6);
	memcpy(p + 6, MAC, 6);
	put_be16(p + 12, 0x0800);
	p[14] = 0x45;
	put_be16(p + 16, tso ? 0 : (uint16_t)(20 + l4 + payload));
	put_be16(p + 18, 0x1234); /* id */
	p[22] = 64;
	p[23] = proto;
	put_be32(p + 26, 0x0a00020f);
	put_be32(p + 30, 0x0a000202);
	if (!tso)
		put_be16(p + 24, (uint16_t)~fold(sum16(0, p + 14, 20)));
	put_be16(p + 34, 40000);
	put_be16(p + 36, 5001);
	if (proto == 6) {
		put_be32(p + 38, 0x10000000); /* seq */
		put_be32(p + 42, 0x2000);
		p[46] = 0x50;
		p[47] = 0x19; /* FIN PSH ACK */
		put_be16(p + 48, 0xffff);
	} else {
		put_be16(p + 38, (uint16_t)(8 + payload));
	}
	for (i = 14 + 20 + l4; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	/* The pseudo-header sum a driver leaves in the L4 field: without the
	 * length for TSO, with it otherwise. */
	ps = sum16(0, p + 26, 8) + proto + (tso ? 0 : (uint32_t)(l4 + payload));
	put_be16(p + 34 + (proto == 6 ? 16 : 6), fold(ps));
	return len;
}

static bool ip_csum_ok(const uint8_t *f)
{
	return fold(sum16(0, f + 14, 20)) == 0xffff;
}

static bool l4_csum_ok(const uint8_t *f, size_t len)
{
	uint32_t s = sum16(0, f + 26, 8) + f[23] + (uint32_t)(len - 34);

	return fold(sum16(s, f + 34, len - 34)) == 0xffff;
}

static void test_tx_legacy_and_csum(void **state)
{
	struct fix *f = fix_new(0);
	uint8_t pkt[200];
	size_t len = build_ip(pkt, 17, 100, false);

	(void)state;
	tx_setup(f, 8);
	/* Legacy, two buffers, no offload. */
	memcpy(host(f, TX_BUF), pkt, 50);
	memcpy(host(f, TX_BUF + 0x1000), pkt + 50, len - 50);
	txd_legacy(f, 0, TX_BUF, 50, 0, 0, 0, 0);
	txd_legacy(f, 1, TX_BUF + 0x1000, (uint16_t)(len - 50), CMD_EOP | CMD_RS, 0, 0, 0);
	wr(f, TDT, 2);
	assert_int_equal(f->fb.nsent, 1);
	assert_int_equal(f->fb.sent_len[0], len);
	assert_memory_equal(f->fb.sent[0], pkt, len);
	assert_int_equal(rd(f, TDH), 2);
	assert_int_equal(txd(f, 1)[12] & 1, 1); /* DD */
	assert_int_equal(txd(f, 0)[12] & 1, 0); /* no RS, no write-back */
	assert_true(f->level);
	assert_true(rd(f, ICR) & ICR_TXDW);

	/* Context + data descriptors: IP and UDP checksums inserted. */
	put_be16(pkt + 24, 0xdead);
	memcpy(host(f, TX_BUF), pkt, len);
	txd_ctx(f, 2, 14, 24, 33, 34, 40, 0, 0, TUCMD_IP, 0, 0);
	txd_data(f, 3, TX_BUF, 20, 0, POPTS_IXSM | POPTS_TXSM);
	txd_data(f, 4, TX_BUF + 20, (uint32_t)len - 20, CMD_EOP | CMD_RS, 0);
	wr(f, TDT, 5);
	assert_int_equal(f->fb.nsent, 2);
	assert_true(ip_csum_ok(f->fb.sent[1]));
	assert_true(l4_csum_ok(f->fb.sent[1], len));
	assert_memory_equal(f->fb.sent[1] + 42, pkt + 42, len - 42);

	/* Legacy IC: the sum from CSS to the end, at CSO (UDP here, over the
	 * pseudo-header sum the driver left in the field). */
	memcpy(host(f, TX_BUF), pkt, len);
	txd_legacy(f, 5, TX_BUF, (uint16_t)len, CMD_EOP | CMD_IC | CMD_RS, 40, 34, 0);
	wr(f, TDT, 6);
	assert_int_equal(f->fb.nsent, 3);
	assert_true(l4_csum_ok(f->fb.sent[2], len));

	assert_int_equal(rd(f, GPTC), 3);
	assert_int_equal(rd(f, GPTC), 0); /* read to clear */
	assert_int_equal(rd(f, TPT), 3);
	assert_int_equal(rd(f, CRCERRS), 0);
	fix_free(f);
}

static void test_tx_tso(void **state)
{
	struct fix *f = fix_new(12);
	enum { PAY = 5000, MSS = 1460, HL = 54 };
	static uint8_t pkt[HL + PAY];
	size_t len = build_ip(pkt, 6, PAY, true);
	uint32_t off = 0;
	int i;

	(void)state;
	tx_setup(f, 16);
	memcpy(host(f, TX_BUF), pkt, len);
	txd_ctx(f, 0, 14, 24, 33, 34, 50, 0, PAY, TUCMD_IP | TUCMD_TCP | CMD_TSE, HL, MSS);
	/* Header alone, then the payload in two pieces (an odd split). */
	txd_data(f, 1, TX_BUF, HL, CMD_TSE, POPTS_IXSM | POPTS_TXSM);
	txd_data(f, 2, TX_BUF + HL, 1001, CMD_TSE, POPTS_IXSM | POPTS_TXSM);
	txd_data(f, 3, TX_BUF + HL + 1001, PAY - 1001, CMD_TSE | CMD_EOP | CMD_RS,
		 POPTS_IXSM | POPTS_TXSM);
	wr(f, TDT, 4);
	assert_int_equal(f->fb.nsent, 4);
	for (i = 0; i < 4; i++) {
		const uint8_t *s = f->fb.sent[i] + 12; /* the back end's header */
		uint32_t sl = i < 3 ? MSS : PAY - 3 * MSS;
		size_t seglen = HL + sl;

		/* A zero virtio-net header: no offload asked of the back end. */
		assert_memory_equal(f->fb.sent[i], (uint8_t[12]){ 0 }, 12);
		assert_int_equal(f->fb.sent_len[i], 12 + seglen);
		assert_int_equal(get_be16(s + 16), seglen - 14); /* IP length */
		assert_int_equal(get_be16(s + 18), 0x1234 + i);	 /* IP id */
		assert_true(ip_csum_ok(s));
		assert_int_equal(get_be32(s + 38), 0x10000000 + off); /* seq */
		assert_int_equal(s[47], i < 3 ? 0x10 : 0x19);	      /* FIN/PSH last */
		assert_true(l4_csum_ok(s, seglen));
		assert_memory_equal(s + HL, pkt + HL + off, sl);
		off += sl;
	}
	assert_int_equal(rd(f, TSCTC), 1);
	assert_int_equal(rd(f, GPTC), 4);
	assert_int_equal(txd(f, 3)[12] & 1, 1);
	fix_free(f);
}

static void test_tx_tso_bad_context(void **state)
{
	struct fix *f = fix_new(0);
	enum { PAY = 5000 };
	static uint8_t pkt[54 + PAY];
	size_t len = build_ip(pkt, 6, PAY, true);
	struct e1000_stats st;
	/* hdrlen, mss, paylen, ipcss, tucss, tucso */
	static const uint32_t bad[][6] = {
		{ 10, 1460, PAY + 44, 0, 0, 0 },   /* shorter than Ethernet */
		{ 54, 0, PAY, 14, 34, 50 },	   /* no MSS */
		{ 54, 1460, PAY - 1, 14, 34, 50 }, /* PAYLEN disagrees */
		{ 54, 65535, PAY, 14, 34, 50 },	   /* segments too long */
		{ 54, 1460, PAY, 40, 34, 50 },	   /* IP header beyond HDRLEN */
		{ 54, 1460, PAY, 14, 40, 50 },	   /* TCP header beyond HDRLEN */
		{ 54, 1460, PAY, 14, 34, 60 },	   /* checksum beyond HDRLEN */
		{ 54, 1, PAY, 14, 34, 50 },	   /* too many segments */
	};
	unsigned i, n = sizeof(bad) / sizeof(bad[0]), t = 0;

	(void)state;
	tx_setup(f, 64);
	memcpy(host(f, TX_BUF), pkt, len);
	for (i = 0; i < n; i++) {
		txd_ctx(f, t, (uint8_t)bad[i][3], 24, 33, (uint8_t)bad[i][4], (uint8_t)bad[i][5], 0,
			bad[i][2], TUCMD_IP | TUCMD_TCP | CMD_TSE, (uint8_t)bad[i][0],
			(uint16_t)bad[i][1]);
		txd_data(f, t + 1, TX_BUF, (uint32_t)len, CMD_TSE | CMD_EOP | CMD_RS,
			 POPTS_IXSM | POPTS_TXSM);
		t += 2;
		wr(f, TDT, t);
		assert_int_equal(f->fb.nsent, 0);
		assert_int_equal(txd(f, t - 1)[12] & 1, 1); /* still completed */
	}
	/* A header as long as the whole packet (nothing to segment). */
	txd_ctx(f, t, 14, 24, 33, 34, 50, 0, 0, TUCMD_IP | TUCMD_TCP | CMD_TSE, 54, 1460);
	txd_data(f, t + 1, TX_BUF, 54, CMD_TSE | CMD_EOP | CMD_RS, POPTS_IXSM | POPTS_TXSM);
	t += 2;
	wr(f, TDT, t);
	assert_int_equal(f->fb.nsent, 0);
	assert_int_equal(rd(f, TSCTFC), n + 1);
	e1000_get_stats(f->sc, &st);
	assert_int_equal(st.tx_dropped, n + 1);
	/* The same packet with a sane context goes out in four segments. */
	txd_ctx(f, t, 14, 24, 33, 34, 50, 0, PAY, TUCMD_IP | TUCMD_TCP | CMD_TSE, 54, 1460);
	txd_data(f, t + 1, TX_BUF, (uint32_t)len, CMD_TSE | CMD_EOP | CMD_RS,
		 POPTS_IXSM | POPTS_TXSM);
	wr(f, TDT, t + 2);
	assert_int_equal(f->fb.nsent, 4);
	for (i = 0; i < 4; i++)
		assert_true(l4_csum_ok(f->fb.sent[i], f->fb.sent_len[i]));
	fix_free(f);
}

static void test_tx_vlan(void **state)
{
	struct fix *f = fix_new(0);
	uint8_t pkt[100];
	size_t len = build_ip(pkt, 17, 30, false);

	(void)state;
	tx_setup(f, 8);
	memcpy(host(f, TX_BUF), pkt, len);
	/* VLE without CTRL.VME: no tag. */
	txd_legacy(f, 0, TX_BUF, (uint16_t)len, CMD_EOP | CMD_VLE, 0, 0, 0x0123);
	wr(f, TDT, 1);
	assert_int_equal(f->fb.sent_len[0], len);
	wr(f, CTRL, rd(f, CTRL) | CTRL_VME);
	txd_legacy(f, 1, TX_BUF, (uint16_t)len, CMD_EOP | CMD_VLE, 0, 0, 0x0123);
	wr(f, TDT, 2);
	assert_int_equal(f->fb.nsent, 2);
	assert_int_equal(f->fb.sent_len[1], len + 4);
	assert_memory_equal(f->fb.sent[1], pkt, 12);
	assert_int_equal(get_be16(f->fb.sent[1] + 12), 0x8100);
	assert_int_equal(get_be16(f->fb.sent[1] + 14), 0x0123);
	assert_memory_equal(f->fb.sent[1] + 16, pkt + 12, len - 12);
	fix_free(f);
}

static void test_tx_hostile(void **state)
{
	struct fix *f = fix_new(0);
	uint8_t pkt[100];
	size_t len = build_ip(pkt, 17, 30, false);
	struct e1000_stats st;

	(void)state;
	tx_setup(f, 8);
	memcpy(host(f, TX_BUF), pkt, len);
	/* A buffer outside RAM, one straddling its end, a huge length. */
	txd_legacy(f, 0, 0x10, 60, CMD_EOP | CMD_RS, 0, 0, 0);
	txd_legacy(f, 1, RAM_END - 8, 60, CMD_EOP | CMD_RS, 0, 0, 0);
	txd_data(f, 2, TX_BUF, 0xfffff, CMD_EOP | CMD_RS, 0);
	/* Too short for Ethernet; zero-length pieces at a bogus address. */
	txd_legacy(f, 3, TX_BUF, 10, CMD_EOP | CMD_RS, 0, 0, 0);
	txd_legacy(f, 4, 0xffffffffffff0000ull, 0, 0, 0, 0, 0);
	txd_legacy(f, 5, TX_BUF, (uint16_t)len, CMD_EOP | CMD_RS, 0, 0, 0);
	wr(f, TDT, 6);
	assert_int_equal(f->fb.nsent, 1);
	assert_memory_equal(f->fb.sent[0], pkt, len);
	assert_int_equal(rd(f, TDH), 6);
	e1000_get_stats(f->sc, &st);
	assert_int_equal(st.tx_dropped, 4);
	/* Checksum offsets past the packet: dropped. */
	txd_ctx(f, 6, 14, 250, 0, 34, 40, 0, 0, TUCMD_IP, 0, 0);
	txd_data(f, 7, TX_BUF, (uint32_t)len, CMD_EOP | CMD_RS, POPTS_IXSM);
	wr(f, TDT, 0);
	assert_int_equal(f->fb.nsent, 1);
	/* Legacy CSO past the packet: dropped. */
	txd_legacy(f, 0, TX_BUF, (uint16_t)len, CMD_EOP | CMD_IC, 250, 14, 0);
	wr(f, TDT, 1);
	assert_int_equal(f->fb.nsent, 1);
	/* A packet without EOP yet: nothing sent until its end arrives. */
	txd_legacy(f, 1, TX_BUF, 20, 0, 0, 0, 0);
	wr(f, TDT, 2);
	assert_int_equal(f->fb.nsent, 1);
	txd_legacy(f, 2, TX_BUF + 20, (uint16_t)(len - 20), CMD_EOP, 0, 0, 0);
	wr(f, TDT, 3);
	assert_int_equal(f->fb.nsent, 2);
	assert_memory_equal(f->fb.sent[1], pkt, len);
	/* A reserved descriptor type is skipped. */
	txd_data(f, 3, TX_BUF, (uint32_t)len, CMD_EOP | CMD_RS, 0);
	txd(f, 3)[10] = 0x70;
	wr(f, TDT, 4);
	assert_int_equal(f->fb.nsent, 2);
	assert_int_equal(rd(f, TDH), 4);
	fix_free(f);
}

static void test_tx_bad_rings(void **state)
{
	struct fix *f = fix_new(0);
	uint8_t pkt[100];
	size_t len = build_ip(pkt, 17, 30, false);
	struct e1000_stats st;

	(void)state;
	memcpy(host(f, TX_BUF), pkt, len);
	txd_legacy(f, 0, TX_BUF, (uint16_t)len, CMD_EOP | CMD_RS, 0, 0, 0);
	tx_setup(f, 8);
	/* Length not a multiple of 128: the low bits do not exist. */
	wr(f, TDLEN, 100);
	assert_int_equal(rd(f, TDLEN), 0);
	wr(f, TDT, 1);
	assert_int_equal(f->fb.nsent, 0);
	/* Base outside RAM, and a ring running off its end. */
	wr(f, TDLEN, 128);
	wr(f, TDBAL, 0x1000);
	wr(f, TDT, 1);
	assert_int_equal(f->fb.nsent, 0);
	wr(f, TDBAL, (uint32_t)(RAM_END - 64));
	wr(f, TDT, 1);
	assert_int_equal(f->fb.nsent, 0);
	wr(f, TDBAL, (uint32_t)TX_RING);
	wr(f, TDBAH, 1);
	wr(f, TDT, 1);
	assert_int_equal(f->fb.nsent, 0);
	wr(f, TDBAH, 0);
	/* Tail and head beyond the ring. */
	wr(f, TDT, 8);
	assert_int_equal(f->fb.nsent, 0);
	wr(f, TDH, 9);
	wr(f, TDT, 1);
	assert_int_equal(f->fb.nsent, 0);
	/* Logged and counted once. */
	e1000_get_stats(f->sc, &st);
	assert_int_equal(st.ring_errors, 1);
	/* Put right, it runs. */
	wr(f, TDH, 0);
	wr(f, TDT, 1);
	assert_int_equal(f->fb.nsent, 1);
	/* TCTL.EN off: nothing moves. */
	wr(f, TCTL, 0);
	txd_legacy(f, 1, TX_BUF, (uint16_t)len, CMD_EOP | CMD_RS, 0, 0, 0);
	wr(f, TDT, 2);
	assert_int_equal(f->fb.nsent, 1);
	wr(f, TCTL, TCTL_EN);
	assert_int_equal(f->fb.nsent, 2);
	fix_free(f);
}

/* ---- Receive ---- */

static void rx_setup(struct fix *f, uint32_t ndesc, uint32_t rctl)
{
	uint32_t i;

	for (i = 0; i < ndesc; i++) {
		uint8_t *d = host(f, RX_RING + 16 * i);

		memset(d, 0, 16);
		put_le64(d, RX_BUF + (uint64_t)RX_STRIDE * i);
	}
	wr(f, RDBAL, (uint32_t)RX_RING);
	wr(f, RDBAH, 0);
	wr(f, RDLEN, ndesc * 16);
	wr(f, RDH, 0);
	wr(f, RDT, ndesc - 1);
	wr(f, IMS, ICR_RXT0);
	wr(f, RCTL, rctl);
}

/* A frame of len bytes to dst, queued in the fake back end. */
static uint8_t *queue_frame(struct fix *f, const uint8_t *dst, size_t len)
{
	size_t hl = f->fb.be.hdr_len, i;
	uint8_t *p = calloc(1, hl + len);

	memcpy(p + hl, dst, 6);
	memcpy(p + hl + 6, OTHER, 6);
	for (i = 12; i < len; i++)
		p[hl + i] = (uint8_t)(i * 13 + f->fb.nin);
	f->fb.in[f->fb.nin] = p;
	f->fb.in_len[f->fb.nin++] = hl + len;
	return p + hl;
}

static void rx_kick(struct fix *f)
{
	assert_non_null(f->fb.be.rx_cb);
	f->fb.be.rx_cb(f->fb.be.rx_arg);
}

static const uint8_t *rxd(struct fix *f, unsigned i)
{
	return host(f, RX_RING + 16 * i);
}

static uint32_t crc32_ref(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffff;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320 & -(c & 1));
	}
	return ~c;
}

static void test_rx_basic(void **state)
{
	struct fix *f = fix_new(0);
	const uint8_t *fr;
	uint32_t crc;

	(void)state;
	rx_setup(f, 8, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	assert_true(f->fb.be.rx_on);
	fr = queue_frame(f, MAC, 100);
	rx_kick(f);
	assert_int_equal(f->fb.inpos, 1);
	assert_memory_equal(host(f, RX_BUF), fr, 100);
	assert_int_equal(get_le16(rxd(f, 0) + 8), 100);
	assert_int_equal(rxd(f, 0)[12] & 0x07, 0x07); /* DD, EOP, IXSM */
	assert_int_equal(rxd(f, 0)[13], 0);
	assert_int_equal(rd(f, RDH), 1);
	assert_true(f->level);
	assert_true(rd(f, ICR) & ICR_RXT0);
	/* Without SECRC the buffer carries the CRC. */
	wr(f, RCTL, RCTL_EN | RCTL_BAM);
	fr = queue_frame(f, BCAST, 60);
	rx_kick(f);
	assert_int_equal(get_le16(rxd(f, 1) + 8), 64);
	crc = crc32_ref(fr, 60);
	assert_memory_equal(host(f, RX_BUF + RX_STRIDE), fr, 60);
	assert_int_equal(get_le16(host(f, RX_BUF + RX_STRIDE) + 60), crc & 0xffff);
	assert_int_equal(get_le16(host(f, RX_BUF + RX_STRIDE) + 62), crc >> 16);
	/* Statistics, read to clear. */
	assert_int_equal(rd(f, GPRC), 2);
	assert_int_equal(rd(f, GPRC), 0);
	assert_int_equal(rd(f, TPR), 2);
	assert_int_equal(rd(f, GORCL), 104 + 64);
	assert_int_equal(rd(f, GORCH), 0);
	fix_free(f);
}

static void test_rx_backend_header(void **state)
{
	struct fix *f = fix_new(12);
	const uint8_t *fr;
	uint8_t *raw;

	(void)state;
	rx_setup(f, 8, RCTL_EN | RCTL_SECRC);
	fr = queue_frame(f, MAC, 80);
	rx_kick(f);
	assert_int_equal(get_le16(rxd(f, 0) + 8), 80);
	assert_memory_equal(host(f, RX_BUF), fr, 80);
	/* A segmented frame was never asked for: dropped. */
	queue_frame(f, MAC, 80);
	f->fb.in[1][1] = 1;
	/* A partial checksum is completed: sum [20, 80) stored at 30. */
	fr = queue_frame(f, MAC, 80);
	raw = f->fb.in[2];
	raw[0] = 1;
	/* The field holds the partial sum: zero here. */
	raw[12 + 30] = 0;
	raw[12 + 31] = 0;
	put_le16(raw + 6, 20);
	put_le16(raw + 8, 10);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 2);
	{
		const uint8_t *b = host(f, RX_BUF + RX_STRIDE);

		assert_int_equal(fold(sum16(0, b + 20, 60)), 0xffff);
		assert_memory_equal(b, fr, 30);
	}
	fix_free(f);
}

static void test_rx_filters(void **state)
{
	struct fix *f = fix_new(0);
	static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	static const uint8_t second[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint32_t h;

	(void)state;
	rx_setup(f, 16, RCTL_EN | RCTL_SECRC);
	queue_frame(f, OTHER, 60); /* not ours */
	queue_frame(f, BCAST, 60); /* no BAM */
	queue_frame(f, mc, 60);	   /* not in the table */
	rx_kick(f);
	assert_int_equal(f->fb.inpos, 3);
	assert_int_equal(rd(f, RDH), 0);
	/* Broadcast with BAM, the multicast hash (MO 0: bits 47:36), a second
	 * exact address, unicast promiscuous. */
	wr(f, RCTL, RCTL_EN | RCTL_SECRC | RCTL_BAM);
	h = ((uint32_t)mc[4] >> 4 | (uint32_t)mc[5] << 4) & 0xfff;
	wr(f, MTA + 4 * (h >> 5), 1u << (h & 31));
	wr(f, RAL0 + 8, 0x33221102);
	wr(f, RAH0 + 8, 0x80005544);
	queue_frame(f, BCAST, 60);
	queue_frame(f, mc, 60);
	queue_frame(f, second, 60);
	queue_frame(f, OTHER, 60);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 3);
	wr(f, RCTL, RCTL_EN | RCTL_SECRC | RCTL_UPE);
	queue_frame(f, OTHER, 60);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 4);
	/* Multicast promiscuous. */
	wr(f, RCTL, RCTL_EN | RCTL_SECRC | RCTL_MPE);
	queue_frame(f, (const uint8_t[6]){ 0x33, 0x33, 0, 0, 0, 1 }, 60);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 5);
	/* VLAN filter: a tagged frame passes only with its VID in VFTA. */
	wr(f, RCTL, RCTL_EN | RCTL_SECRC | RCTL_UPE | (1u << 18));
	{
		uint8_t *p = queue_frame(f, MAC, 60);

		put_be16(p + 12, 0x8100);
		put_be16(p + 14, 0x0005);
		p = queue_frame(f, MAC, 60);
		put_be16(p + 12, 0x8100);
		put_be16(p + 14, 0x0006);
	}
	wr(f, VFTA, 1u << 6);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 6);
	/* Receiver off: frames are dropped, not held. */
	wr(f, RCTL, 0);
	queue_frame(f, MAC, 60);
	rx_kick(f);
	assert_int_equal(f->fb.inpos, f->fb.nin);
	assert_int_equal(rd(f, RDH), 6);
	assert_true(f->fb.be.rx_on);
	fix_free(f);
}

static void test_rx_vlan_strip(void **state)
{
	struct fix *f = fix_new(0);
	uint8_t *p, want[60];

	(void)state;
	rx_setup(f, 8, RCTL_EN | RCTL_SECRC);
	wr(f, CTRL, rd(f, CTRL) | CTRL_VME);
	p = queue_frame(f, MAC, 64);
	put_be16(p + 12, 0x8100);
	put_be16(p + 14, 0x2007);
	memcpy(want, p, 12);
	memcpy(want + 12, p + 16, 48);
	rx_kick(f);
	assert_int_equal(get_le16(rxd(f, 0) + 8), 60);
	assert_true(rxd(f, 0)[12] & 0x08); /* VP */
	assert_int_equal(get_le16(rxd(f, 0) + 14), 0x2007);
	assert_memory_equal(host(f, RX_BUF), want, 60);
	fix_free(f);
}

static void test_rx_multi_desc_and_long(void **state)
{
	struct fix *f = fix_new(0);
	const uint8_t *fr;
	struct e1000_stats st;

	(void)state;
	/* 256-byte buffers: a 600-byte frame (+CRC) takes three. */
	rx_setup(f, 8, RCTL_EN | RCTL_SZ_256);
	fr = queue_frame(f, MAC, 600);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 3);
	assert_int_equal(get_le16(rxd(f, 0) + 8), 256);
	assert_int_equal(get_le16(rxd(f, 1) + 8), 256);
	assert_int_equal(get_le16(rxd(f, 2) + 8), 92);
	assert_int_equal(rxd(f, 0)[12] & 0x03, 0x01); /* DD, no EOP */
	assert_int_equal(rxd(f, 1)[12] & 0x03, 0x01);
	assert_int_equal(rxd(f, 2)[12] & 0x03, 0x03);
	assert_memory_equal(host(f, RX_BUF), fr, 256);
	assert_memory_equal(host(f, RX_BUF + RX_STRIDE), fr + 256, 256);
	assert_memory_equal(host(f, RX_BUF + 2 * RX_STRIDE), fr + 512, 88);
	/* Longer than 1522 with the CRC: dropped unless LPE. */
	wr(f, RCTL, RCTL_EN | RCTL_SECRC | (1u << 25) | (1u << 16)); /* 16 KiB buffers */
	queue_frame(f, MAC, 1519);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 3);
	assert_int_equal(rd(f, ROC), 1);
	wr(f, RCTL, RCTL_EN | RCTL_SECRC | RCTL_LPE | (1u << 25) | (1u << 16));
	queue_frame(f, MAC, 9000);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 4);
	assert_int_equal(get_le16(rxd(f, 3) + 8), 9000);
	/* A frame that could never fit the ring is dropped, not waited for. */
	wr(f, RCTL, RCTL_EN | RCTL_SECRC | RCTL_LPE | RCTL_SZ_256);
	queue_frame(f, MAC, 2000);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 4);
	assert_true(f->fb.be.rx_on);
	e1000_get_stats(f->sc, &st);
	assert_int_equal(st.rx_dropped, 2);
	fix_free(f);
}

static void test_rx_no_descriptors(void **state)
{
	struct fix *f = fix_new(0);
	const uint8_t *a, *b;

	(void)state;
	rx_setup(f, 8, RCTL_EN | RCTL_SECRC);
	wr(f, RDT, 1); /* one free descriptor */
	a = queue_frame(f, MAC, 70);
	b = queue_frame(f, MAC, 80);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 1);
	/* The second frame waits; the back end is no longer watched. */
	assert_int_equal(f->fb.inpos, 2);
	assert_false(f->fb.be.rx_on);
	assert_int_equal(rd(f, RNBC), 1);
	assert_memory_equal(host(f, RX_BUF), a, 70);
	/* The guest gives a buffer back: the frame goes in, watching resumes. */
	wr(f, RDT, 3);
	assert_int_equal(rd(f, RDH), 2);
	assert_memory_equal(host(f, RX_BUF + RX_STRIDE), b, 80);
	assert_true(f->fb.be.rx_on);
	fix_free(f);
}

static void test_rx_bad_rings(void **state)
{
	struct fix *f = fix_new(0);
	struct e1000_stats st;

	(void)state;
	rx_setup(f, 8, RCTL_EN | RCTL_SECRC);
	wr(f, RDLEN, 100);
	assert_int_equal(rd(f, RDLEN), 0);
	queue_frame(f, MAC, 60);
	rx_kick(f);
	assert_false(f->fb.be.rx_on);
	assert_int_equal(rd(f, RDH), 0);
	/* Outside RAM, beyond its end, head or tail out of range: the frame
	 * keeps waiting. */
	wr(f, RDBAL, 0x2000);
	wr(f, RDLEN, 128);
	assert_false(f->fb.be.rx_on);
	wr(f, RDBAL, (uint32_t)(RAM_END - 64));
	assert_false(f->fb.be.rx_on);
	wr(f, RDT, 8);
	wr(f, RDBAL, (uint32_t)RX_RING);
	assert_false(f->fb.be.rx_on);
	wr(f, RDH, 100);
	wr(f, RDT, 5);
	assert_false(f->fb.be.rx_on);
	assert_int_equal(f->fb.inpos, 1);
	e1000_get_stats(f->sc, &st);
	assert_int_equal(st.ring_errors, 1);
	/* A buffer outside RAM: the descriptor says so, nothing is written. */
	wr(f, RDH, 0);
	assert_true(f->fb.be.rx_on);
	assert_int_equal(rd(f, RDH), 1);
	put_le64(host(f, RX_RING + 16), 0xfff00000);
	queue_frame(f, MAC, 60);
	rx_kick(f);
	assert_int_equal(rd(f, RDH), 2);
	assert_int_equal(rxd(f, 1)[13], 0x80); /* RXE */
	e1000_get_stats(f->sc, &st);
	assert_int_equal(st.rx_dma_errors, 1);
	fix_free(f);
}

static void test_no_backend(void **state)
{
	struct e1000 *sc;
	struct gmem mem = { 0 };
	uint8_t *ram = calloc(1, RAM_SIZE);
	struct e1000_stats st;

	(void)state;
	gmem_add_region(&mem, RAM_GPA, RAM_SIZE, ram);
	assert_int_equal(e1000_new(NULL, &mem, MAC, NULL, &sc), 0);
	e1000_mmio_write(sc, TDBAL, 4, (uint32_t)TX_RING);
	e1000_mmio_write(sc, TDLEN, 4, 128);
	put_le64(ram + 0x1000, TX_BUF);
	put_le16(ram + 0x1000 + 8, 60);
	ram[0x1000 + 11] = CMD_EOP;
	e1000_mmio_write(sc, TCTL, 4, TCTL_EN);
	e1000_mmio_write(sc, TDT, 4, 1);
	e1000_mmio_write(sc, ICS, 4, ICR_LSC);
	e1000_mmio_write(sc, IMS, 4, ICR_LSC);
	e1000_get_stats(sc, &st);
	assert_int_equal(st.tx_errors, 1);
	e1000_free(sc);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eeprom_image),
		cmocka_unit_test(test_eeprom_registers),
		cmocka_unit_test(test_phy),
		cmocka_unit_test(test_interrupts),
		cmocka_unit_test(test_io_bar_and_reset),
		cmocka_unit_test(test_tx_legacy_and_csum),
		cmocka_unit_test(test_tx_tso),
		cmocka_unit_test(test_tx_tso_bad_context),
		cmocka_unit_test(test_tx_vlan),
		cmocka_unit_test(test_tx_hostile),
		cmocka_unit_test(test_tx_bad_rings),
		cmocka_unit_test(test_rx_basic),
		cmocka_unit_test(test_rx_backend_header),
		cmocka_unit_test(test_rx_filters),
		cmocka_unit_test(test_rx_vlan_strip),
		cmocka_unit_test(test_rx_multi_desc_and_long),
		cmocka_unit_test(test_rx_no_descriptors),
		cmocka_unit_test(test_rx_bad_rings),
		cmocka_unit_test(test_no_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
