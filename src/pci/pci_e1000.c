/* Intel 82545EM gigabit Ethernet controller (see pci_e1000.h), from the
 * 8254x Software Developer's Manual ("SDM").
 *
 * What is modelled: the general registers (CTRL, STATUS with a 1000 Mb/s
 * full-duplex link that is always up), the Microwire EEPROM both through
 * EECD bit-banging (what Linux's e1000 does on this part) and through EERD,
 * an M88E1011 PHY behind MDIC, interrupt cause/mask with INTx, the legacy
 * receive ring with the address filters, and the transmit ring with legacy
 * and extended descriptors: checksum insertion and TCP segmentation (TSO)
 * done in the device, since neither back end is asked for offloads.
 * Interrupt moderation (ITR, RDTR, RADV, TIDV, TADV) is accepted and stored;
 * causes are raised at once.  Flow control, wake-up and manageability
 * registers only store what is written.  EEPROM writes are ignored.
 *
 * Every guest value is checked: ring bases, lengths, heads and tails
 * before a ring is used (a bad one stops the ring, logged once), each
 * descriptor's buffer through gmem, packet lengths against a bounded
 * buffer, checksum offsets and TSO contexts against the packet (a bad one
 * drops the packet and is counted).  Packets are copied out of guest
 * memory before they are parsed, so the guest cannot change a header
 * between the check and the use. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "config.h"
#include "gmem.h"
#include "le.h"
#include "log.h"
#include "net/netbe.h"
#include "pci/pci_e1000.h"
#include "pci/pci_emul.h"

/* ---- Registers (SDM ch. 13, the register summary) ---- */

#define R_CTRL	    0x0000
#define R_STATUS    0x0008
#define R_EECD	    0x0010
#define R_EERD	    0x0014
#define R_CTRL_EXT  0x0018
#define R_FLA	    0x001c
#define R_MDIC	    0x0020
#define R_FCAL	    0x0028
#define R_FCAH	    0x002c
#define R_FCT	    0x0030
#define R_VET	    0x0038
#define R_ICR	    0x00c0
#define R_ITR	    0x00c4
#define R_ICS	    0x00c8
#define R_IMS	    0x00d0
#define R_IMC	    0x00d8
#define R_RCTL	    0x0100
#define R_FCTTV	    0x0170
#define R_TXCW	    0x0178
#define R_RXCW	    0x0180
#define R_TCTL	    0x0400
#define R_TIPG	    0x0410
#define R_AIFS	    0x0458
#define R_LEDCTL    0x0e00
#define R_PBA	    0x1000
#define R_FCRTL	    0x2160
#define R_FCRTH	    0x2168
#define R_RDFH	    0x2410
#define R_RDFPC	    0x2430
#define R_RDBAL	    0x2800
#define R_RDBAH	    0x2804
#define R_RDLEN	    0x2808
#define R_RDH	    0x2810
#define R_RDT	    0x2818
#define R_RDTR	    0x2820
#define R_RXDCTL    0x2828
#define R_RADV	    0x282c
#define R_RSRPD	    0x2c00
#define R_TXDMAC    0x3000
#define R_TDFH	    0x3410
#define R_TDFPC	    0x3430
#define R_TDBAL	    0x3800
#define R_TDBAH	    0x3804
#define R_TDLEN	    0x3808
#define R_TDH	    0x3810
#define R_TDT	    0x3818
#define R_TIDV	    0x3820
#define R_TXDCTL    0x3828
#define R_TADV	    0x382c
#define R_TSPMT	    0x3830
#define R_STATS	    0x4000 /* statistics, to 0x40ff */
#define R_STATS_END 0x4100
#define R_RXCSUM    0x5000
#define R_MTA	    0x5200 /* 128 entries */
#define R_RAL0	    0x5400 /* 16 pairs RAL/RAH */
#define R_RAH0	    0x5404
#define R_VFTA	    0x5600 /* 128 entries */
#define R_WUC	    0x5800
#define R_WUFC	    0x5808
#define R_WUS	    0x5810
#define R_MANC	    0x5820
#define R_IPAV	    0x5838
#define R_IP4AT	    0x5840
#define R_IP6AT	    0x5880
#define R_WUPL	    0x5900
#define R_WUPM	    0x5a00
#define R_FFLT	    0x5f00
#define R_FFMT	    0x9000
#define R_FFVT	    0x9800
#define R_PBM	    0x10000 /* packet buffer memory, to the end of the BAR */

#define N_MTA  128
#define N_RA   16
#define N_VFTA 128

/* CTRL, the device control register (SDM ch. 13) */
#define CTRL_SLU     (1u << 6)
#define CTRL_RST     (1u << 26)
#define CTRL_VME     (1u << 30)
#define CTRL_PHY_RST (1u << 31)

/* STATUS: full duplex, link up, 1000 Mb/s (and as detected). */
#define STATUS_FD	  (1u << 0)
#define STATUS_LU	  (1u << 1)
#define STATUS_SPEED_1000 (2u << 6)
#define STATUS_ASDV_1000  (2u << 8)

/* EECD, EEPROM/flash control */
#define EECD_SK	     (1u << 0)
#define EECD_CS	     (1u << 1)
#define EECD_DI	     (1u << 2)
#define EECD_DO	     (1u << 3)
#define EECD_FWE     (3u << 4)
#define EECD_REQ     (1u << 6)
#define EECD_GNT     (1u << 7)
#define EECD_PRES    (1u << 8)
#define EECD_SW_MASK (EECD_SK | EECD_CS | EECD_DI | EECD_FWE | EECD_REQ)

/* EERD, EEPROM read, in the 8254x layout. */
#define EERD_START	(1u << 0)
#define EERD_DONE	(1u << 4)
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16

/* MDIC, MDI control */
#define MDIC_DATA_MASK 0xffffu
#define MDIC_REG_SHIFT 16
#define MDIC_PHY_SHIFT 21
#define MDIC_OP_WRITE  (1u << 26)
#define MDIC_OP_READ   (2u << 26)
#define MDIC_OP_MASK   (3u << 26)
#define MDIC_READY     (1u << 28)
#define MDIC_INT_EN    (1u << 29)
#define MDIC_ERROR     (1u << 30)
#define PHY_ADDR       1 /* the internal PHY */

/* Interrupt causes (ICR; ICS, IMS and IMC share the layout) */
#define ICR_TXDW   (1u << 0)
#define ICR_TXQE   (1u << 1)
#define ICR_LSC	   (1u << 2)
#define ICR_RXDMT0 (1u << 4)
#define ICR_RXO	   (1u << 6)
#define ICR_RXT0   (1u << 7)
#define ICR_MDAC   (1u << 9)
#define ICR_MASK   0x0001f6dfu /* the causes this part has */

/* RCTL, receive control */
#define RCTL_EN		 (1u << 1)
#define RCTL_UPE	 (1u << 3)
#define RCTL_MPE	 (1u << 4)
#define RCTL_LPE	 (1u << 5)
#define RCTL_RDMTS_SHIFT 8
#define RCTL_MO_SHIFT	 12
#define RCTL_BAM	 (1u << 15)
#define RCTL_BSIZE_SHIFT 16
#define RCTL_VFE	 (1u << 18)
#define RCTL_BSEX	 (1u << 25)
#define RCTL_SECRC	 (1u << 26)

/* TCTL, transmit control */
#define TCTL_EN (1u << 1)

/* RAH, receive address high */
#define RAH_AV (1u << 31)

/* Legacy receive descriptor (SDM ch. 3) */
#define RXD_STAT_DD   0x01
#define RXD_STAT_EOP  0x02
#define RXD_STAT_IXSM 0x04
#define RXD_STAT_VP   0x08
#define RXD_ERR_RXE   0x80

/* Transmit descriptors: legacy, context, data (SDM ch. 3) */
#define TXD_CMD_EOP    0x01
#define TXD_CMD_IC     0x04 /* legacy: insert checksum */
#define TXD_CMD_TSE    0x04 /* extended data: segmentation */
#define TXD_CMD_RS     0x08
#define TXD_CMD_DEXT   0x20
#define TXD_CMD_VLE    0x40
#define TXD_STAT_DD    0x01
#define TXD_DTYP_CTX   0x0
#define TXD_DTYP_DATA  0x1
#define TXD_POPTS_IXSM 0x01
#define TXD_POPTS_TXSM 0x02
#define TUCMD_TCP      0x01
#define TUCMD_IP       0x02

#define DESC_SIZE  16
#define RING_ALIGN 128	       /* RDLEN/TDLEN granularity */
#define LEN_MASK   0x000fff80u /* RDLEN/TDLEN bits 19:7 */

/* Frames: the longest accepted without RCTL.LPE (a VLAN-tagged 1518-byte
 * frame, CRC included) and with it (SDM ch. 3: up to 16 KiB). */
#define FRAME_MAX_NORMAL 1522
#define FRAME_MAX_LONG	 16384
#define CRC_LEN		 4
#define VLAN_LEN	 4
#define ETH_HLEN	 14

/* One transmitted packet gathered from its descriptors (a TSO packet is up
 * to 64 KiB of payload in practice; more is dropped). */
#define TX_BUF_MAX ((size_t)128 * 1024)
/* Segments of one TSO packet: Linux's smallest MSS over 64 KiB needs ~1400. */
#define TSO_MAX_SEGS 4096
/* Frames moved per receive callback before the loop serves others. */
#define RX_BUDGET 64
/* rx_deliver() outcomes (rx_fetch() returns 0, 1 or -EIO). */
#define RX_DONE	    1
#define RX_NO_ROOM  2
#define RX_BAD_RING 3

/* ---- EEPROM (SDM ch. 5, the EEPROM address map) ---- */

#define EE_MAC0	     0x00
#define EE_ICW1	     0x0a
#define EE_SUBSYS    0x0b
#define EE_SUBVEN    0x0c
#define EE_DEVID     0x0d
#define EE_VENDOR    0x0e
#define EE_ICW2	     0x0f
#define EE_CHECKSUM  0x3f
#define EE_ADDR_BITS 6
#define EE_OP_READ   0x2 /* Microwire: start bit, then 10 */

#define INTEL_VENDOR  0x8086
#define DEV_82545EM_C 0x100f
#define SUBSYS_ID     0x1000

/* The Microwire serial protocol, as the EEPROM sees SK/CS/DI (SDM ch. 5). */
enum ee_state {
	EE_CMD,	   /* collecting start bit, opcode and address */
	EE_READ,   /* shifting a word out on DO */
	EE_IGNORE, /* another command: clocked, ignored until deselected */
};

struct eeprom {
	uint16_t word[E1000_EEPROM_WORDS];
	enum ee_state state;
	uint32_t bits; /* received so far, start bit included */
	int nbits;
	unsigned addr;
	int bitpos; /* next bit of word[addr] to put on DO, 15 first */
	bool dout;
};

/* ---- PHY: Marvell 88E1011 (SDM ch. 13, PHY registers) ---- */

#define PHY_NREGS	  32
#define PHY_BMCR	  0
#define PHY_BMSR	  1
#define PHY_ID1		  2
#define PHY_ID2		  3
#define PHY_ANAR	  4
#define PHY_LPAR	  5
#define PHY_ANER	  6
#define PHY_NPTX	  7
#define PHY_1000T_CTRL	  9
#define PHY_1000T_STATUS  10
#define PHY_EXT_STATUS	  15
#define PHY_SPEC_CTRL	  16
#define PHY_SPEC_STATUS	  17
#define PHY_EXT_SPEC_CTRL 20
#define BMCR_RESET	  0x8000
#define BMCR_RESTART_AN	  0x0200

struct tx_ctx {
	uint8_t ipcss, ipcso, tucss, tucso, tucmd, hdrlen;
	uint16_t ipcse, tucse, mss;
	uint32_t paylen;
};

/* The packet being gathered from the transmit ring. */
struct tx_pkt {
	uint32_t len;
	bool started;
	bool bad; /* a buffer outside guest RAM, or too much data */
	bool tse; /* from its first data descriptor */
	uint8_t popts;
};

struct ring_info {
	uint64_t base;
	uint32_t count;
};

struct e1000 {
	pthread_mutex_t mtx;
	struct netbe *be;
	const struct gmem *gm;
	struct e1000_hooks h;

	uint32_t regs[E1000_MMIO_SIZE / 4]; /* plain and ring registers */
	uint32_t icr, ims;
	bool irq_level;
	uint32_t ioaddr;
	struct eeprom ee;
	uint16_t phy[PHY_NREGS];
	uint64_t stat[(R_STATS_END - R_STATS) / 4];

	/* receive */
	uint8_t *rxbuf;	 /* one frame: back-end header, frame, room for the CRC */
	uint32_t rx_len; /* bytes in rxbuf; 0: none waits */
	bool rx_stalled; /* a frame waits for descriptors */
	bool rx_dead;	 /* the back end failed */
	int rx_err;	 /* its errno then */
	bool rx_warned, tx_warned;

	uint32_t tx_gen; /* bumped when the transmit ring or the device resets */

	struct e1000_stats st;

	/* Transmit, under tx_mtx (taken before mtx, never inside it): the
	 * packet work happens without mtx so that a guest's long transmit
	 * never holds up receive on the main loop. */
	pthread_mutex_t tx_mtx;
	uint32_t tx_seen_gen;
	bool tx_vme;	 /* CTRL.VME when the pass began */
	uint16_t tx_vet; /* VET when the pass began */
	struct tx_ctx ctx;
	struct tx_pkt pkt;
	uint8_t *txbuf;
	uint8_t seg[256 + 8]; /* one TSO segment's headers (HDRLEN is 8 bits) */
	/* Counts of this pass, added to stat[] and st under mtx at its end. */
	uint64_t tx_stat[(R_STATS_END - R_STATS) / 4];
	struct e1000_stats tx_st;
};

/* Statistics registers (0x4000-0x40FC) this model counts. */
enum {
	S_MPC = 0x10 / 4,
	S_PRC64 = 0x5c / 4,
	S_PRC127,
	S_PRC255,
	S_PRC511,
	S_PRC1023,
	S_PRC1522,
	S_GPRC,
	S_BPRC,
	S_MPRC,
	S_GPTC,
	S_GORCL = 0x88 / 4,
	S_GORCH,
	S_GOTCL,
	S_GOTCH,
	S_RNBC = 0xa0 / 4,
	S_ROC = 0xac / 4,
	S_TORL = 0xc0 / 4,
	S_TORH,
	S_TOTL,
	S_TOTH,
	S_TPR,
	S_TPT,
	S_PTC64,
	S_PTC127,
	S_PTC255,
	S_PTC511,
	S_PTC1023,
	S_PTC1522,
	S_MPTC,
	S_BPTC,
	S_TSCTC,
	S_TSCTFC,
};

/* ---- Small helpers ---- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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

static uint32_t reg(const struct e1000 *sc, uint32_t off)
{
	return sc->regs[off / 4];
}

static void set_reg(struct e1000 *sc, uint32_t off, uint32_t v)
{
	sc->regs[off / 4] = v;
}

/* 64-bit counters (GORC, TOR...) are kept in their low register's slot. */
static void stat_add(struct e1000 *sc, int idx, uint64_t n)
{
	sc->stat[idx] += n;
}

/* ---- Interrupts: ICR latches causes, IMS masks them, INTx is the OR ---- */

static void irq_update(struct e1000 *sc)
{
	bool level = (sc->icr & sc->ims) != 0;

	if (level == sc->irq_level)
		return;
	sc->irq_level = level;
	if (sc->h.irq)
		sc->h.irq(sc->h.arg, level);
}

static void irq_raise(struct e1000 *sc, uint32_t cause)
{
	sc->icr |= cause & ICR_MASK;
	irq_update(sc);
}

/* ---- Checksums ---- */

/* Ones' complement sum (RFC 1071) of p as big-endian 16-bit words; odd:
 * p[0] is the low half of a word begun before it. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len, bool odd)
{
	size_t i = 0;

	if (odd && len) {
		sum += p[0];
		i = 1;
	}
	for (; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The sum of bytes [s, e) of the concatenation a|b. */
static uint64_t csum_span(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen,
			  uint32_t s, uint32_t e)
{
	uint64_t sum = 0;
	uint32_t bs;

	if (e > alen + blen)
		e = alen + blen;
	if (s >= e)
		return 0;
	if (s < alen)
		sum = csum_add(sum, a + s, (e < alen ? e : alen) - s, false);
	if (e > alen) {
		bs = s > alen ? s - alen : 0;
		sum = csum_add(sum, b + bs, e - alen - bs, s < alen && ((alen - s) & 1));
	}
	return sum;
}

/* IEEE 802.3 CRC-32, for the FCS a receive buffer carries unless RCTL.SECRC. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t c, i;
	int k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_eth(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;
	size_t i;

	for (i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

/* ---- EEPROM ---- */

void e1000_eeprom_image(const uint8_t mac[6], uint16_t out[E1000_EEPROM_WORDS])
{
	uint16_t sum = 0;
	int i;

	memset(out, 0, E1000_EEPROM_WORDS * sizeof(out[0]));
	for (i = 0; i < 3; i++)
		out[EE_MAC0 + i] = le16_get(mac + 2 * (size_t)i);
	out[EE_SUBSYS] = SUBSYS_ID;
	out[EE_SUBVEN] = INTEL_VENDOR;
	out[EE_DEVID] = DEV_82545EM_C;
	out[EE_VENDOR] = INTEL_VENDOR;
	/* ICW1 and ICW2 zero: no flow control advertised, no wake-up. */
	out[EE_ICW1] = 0;
	out[EE_ICW2] = 0;
	for (i = 0; i < EE_CHECKSUM; i++)
		sum = (uint16_t)(sum + out[i]);
	out[EE_CHECKSUM] = (uint16_t)(E1000_EEPROM_SUM - sum);
}

static void ee_deselect(struct eeprom *ee)
{
	ee->state = EE_CMD;
	ee->bits = 0;
	ee->nbits = 0;
	/* A selected, idle part shows "ready" on DO (the end of a write). */
	ee->dout = true;
}

/* A rising edge of SK with CS high. */
static void ee_clock(struct eeprom *ee, bool di)
{
	switch (ee->state) {
	case EE_CMD:
		/* Leading zeros before the start bit are not part of it. */
		if (ee->nbits == 0 && !di)
			return;
		ee->bits = ee->bits << 1 | di;
		ee->nbits++;
		ee->dout = false;
		if (ee->nbits < 3 + EE_ADDR_BITS)
			return;
		if (((ee->bits >> EE_ADDR_BITS) & 3) == EE_OP_READ) {
			ee->state = EE_READ;
			ee->addr = ee->bits & (E1000_EEPROM_WORDS - 1);
			ee->bitpos = 15;
			/* The dummy zero before the data. */
			ee->dout = false;
		} else {
			ee->state = EE_IGNORE;
			ee->dout = true;
		}
		return;
	case EE_READ:
		ee->dout = (ee->word[ee->addr] >> ee->bitpos) & 1;
		if (--ee->bitpos < 0) {
			/* Sequential read goes on with the next word. */
			ee->addr = (ee->addr + 1) % E1000_EEPROM_WORDS;
			ee->bitpos = 15;
		}
		return;
	case EE_IGNORE:
		return;
	}
}

static void eecd_write(struct e1000 *sc, uint32_t v)
{
	uint32_t old = reg(sc, R_EECD);
	struct eeprom *ee = &sc->ee;

	set_reg(sc, R_EECD, v & EECD_SW_MASK);
	if (!(v & EECD_CS)) {
		ee_deselect(ee);
		return;
	}
	if (!(old & EECD_CS))
		ee_deselect(ee);
	if ((v & EECD_SK) && !(old & EECD_SK))
		ee_clock(ee, (v & EECD_DI) != 0);
}

static uint32_t eecd_read(const struct e1000 *sc)
{
	uint32_t v = reg(sc, R_EECD) | EECD_PRES;

	/* Software owns the EEPROM as soon as it asks (no firmware here). */
	if (v & EECD_REQ)
		v |= EECD_GNT;
	if (sc->ee.dout)
		v |= EECD_DO;
	return v;
}

static void eerd_write(struct e1000 *sc, uint32_t v)
{
	uint32_t addr = (v >> EERD_ADDR_SHIFT) & 0xff;
	uint16_t data = 0xffff; /* beyond the part: erased */

	if (!(v & EERD_START)) {
		set_reg(sc, R_EERD, v & 0xff00u);
		return;
	}
	if (addr < E1000_EEPROM_WORDS)
		data = sc->ee.word[addr];
	set_reg(sc, R_EERD,
		(uint32_t)data << EERD_DATA_SHIFT | addr << EERD_ADDR_SHIFT | EERD_DONE);
}

/* ---- PHY ---- */

static const uint16_t phy_defaults[PHY_NREGS] = {
	[PHY_BMCR] = 0x1140, /* autonegotiation on, full duplex, 1000 */
	[PHY_BMSR] = 0x796d, /* link up, autonegotiation complete */
	[PHY_ID1] = 0x0141,  /* Marvell */
	[PHY_ID2] = 0x0c20,  /* 88E1011, revision 0 */
	[PHY_ANAR] = 0x0de1,
	[PHY_LPAR] = 0x41e1, /* partner: 10/100 both duplexes, no pause */
	[PHY_ANER] = 0x0001,
	[PHY_NPTX] = 0x2001,
	[PHY_1000T_CTRL] = 0x0300,
	[PHY_1000T_STATUS] = 0x3c00, /* receivers OK, partner 1000 FD/HD */
	[PHY_EXT_STATUS] = 0x3000,
	[PHY_SPEC_CTRL] = 0x0068,
	[PHY_SPEC_STATUS] = 0xac00, /* 1000, full duplex, resolved, link */
	[PHY_EXT_SPEC_CTRL] = 0x0c60,
};

/* Registers the driver may change; the rest report the fixed link. */
static bool phy_writable(unsigned r)
{
	switch (r) {
	case PHY_BMCR:
	case PHY_ANAR:
	case PHY_NPTX:
	case PHY_1000T_CTRL:
	case PHY_SPEC_CTRL:
	case 18: /* interrupt enable */
	case PHY_EXT_SPEC_CTRL:
	case 22: /* LED control */
	case 24:
	case 25:
	case 26:
	case 29: /* page / address of the hidden registers */
	case 30:
		return true;
	default:
		return false;
	}
}

static void phy_reset(struct e1000 *sc)
{
	memcpy(sc->phy, phy_defaults, sizeof(sc->phy));
}

static void phy_write(struct e1000 *sc, unsigned r, uint16_t v)
{
	if (!phy_writable(r))
		return;
	if (r == PHY_BMCR) {
		/* A software reset puts the control register back; the
		 * vendor registers keep what was written, which it makes take
		 * effect (88E1011 data sheet, register 0.15). */
		if (v & BMCR_RESET)
			v = phy_defaults[PHY_BMCR];
		/* Restarting autonegotiation completes at once. */
		v &= (uint16_t)~BMCR_RESTART_AN;
	}
	sc->phy[r] = v;
}

static void mdic_write(struct e1000 *sc, uint32_t v)
{
	unsigned r = (v >> MDIC_REG_SHIFT) & 0x1f, phy = (v >> MDIC_PHY_SHIFT) & 0x1f;
	uint32_t op = v & MDIC_OP_MASK, out = v & ~(MDIC_READY | MDIC_ERROR);

	if (phy != PHY_ADDR || (op != MDIC_OP_READ && op != MDIC_OP_WRITE)) {
		out |= MDIC_ERROR;
	} else if (op == MDIC_OP_READ) {
		out = (out & ~MDIC_DATA_MASK) | sc->phy[r];
	} else {
		phy_write(sc, r, (uint16_t)v);
	}
	set_reg(sc, R_MDIC, out | MDIC_READY);
	if (v & MDIC_INT_EN)
		irq_raise(sc, ICR_MDAC);
}

/* ---- Rings ---- */

/* The ring at bal/bah/len with head and tail checked: false when it cannot
 * be used, logged once per ring until the device is reset (a guest cannot
 * flood the host's log). */
static bool ring_get(struct e1000 *sc, bool tx, struct ring_info *ri)
{
	uint32_t bal = tx ? R_TDBAL : R_RDBAL, bah = tx ? R_TDBAH : R_RDBAH;
	uint32_t len = reg(sc, tx ? R_TDLEN : R_RDLEN);
	uint32_t head = reg(sc, tx ? R_TDH : R_RDH), tail = reg(sc, tx ? R_TDT : R_RDT);
	bool *warned = tx ? &sc->tx_warned : &sc->rx_warned;
	const char *why = NULL;

	ri->base = (uint64_t)reg(sc, bah) << 32 | reg(sc, bal);
	ri->count = len / DESC_SIZE;
	if (len == 0 || len % RING_ALIGN)
		why = "length";
	else if (!gmem_ptr(sc->gm, ri->base, len))
		why = "base (not in guest RAM)";
	else if (head >= ri->count)
		why = "head";
	else if (tail >= ri->count)
		why = "tail";
	if (!why)
		return true;
	if (!*warned) {
		*warned = true;
		sc->st.ring_errors++;
		log_warnx("e1000: %s ring stopped: bad %s (base 0x%llx, length %u, head %u, "
			  "tail %u)",
			  tx ? "transmit" : "receive", why, (unsigned long long)ri->base, len, head,
			  tail);
	}
	return false;
}

/* ---- Receive (SDM ch. 3) ---- */

static uint32_t rx_buf_size(uint32_t rctl)
{
	static const uint32_t normal[4] = { 2048, 1024, 512, 256 };
	static const uint32_t ext[4] = { 2048, 16384, 8192, 4096 }; /* 00 reserved */
	unsigned sz = (rctl >> RCTL_BSIZE_SHIFT) & 3;

	return rctl & RCTL_BSEX ? ext[sz] : normal[sz];
}

static bool ra_match(const struct e1000 *sc, const uint8_t *dst)
{
	int i;

	for (i = 0; i < N_RA; i++) {
		uint32_t hi = reg(sc, R_RAH0 + 8 * i);
		uint8_t a[6];

		le32_put(a, reg(sc, R_RAL0 + 8 * i));
		le16_put(a + 4, (uint16_t)hi);

		/* Address select 00: destination address (RAH.AS). */
		if ((hi & RAH_AV) && ((hi >> 16) & 3) == 0 && memcmp(a, dst, 6) == 0)
			return true;
	}
	return false;
}

/* The multicast table array: 12 bits of the address picked by RCTL.MO
 * (MTA, RCTL.MO). */
static bool mta_match(const struct e1000 *sc, const uint8_t *dst)
{
	static const int shift[4] = { 4, 3, 2, 0 };
	unsigned mo = (reg(sc, R_RCTL) >> RCTL_MO_SHIFT) & 3;
	uint32_t h = ((uint32_t)dst[4] >> shift[mo] | (uint32_t)dst[5] << (8 - shift[mo])) & 0xfff;

	return (reg(sc, R_MTA + 4 * (h >> 5)) >> (h & 31)) & 1;
}

static bool is_bcast(const uint8_t *d)
{
	return (d[0] & d[1] & d[2] & d[3] & d[4] & d[5]) == 0xff;
}

static bool vlan_tagged(const struct e1000 *sc, const uint8_t *f, uint32_t len)
{
	return len >= ETH_HLEN + VLAN_LEN && get_be16(f + 12) == (reg(sc, R_VET) & 0xffff);
}

/* The address filters, then the VLAN filter (SDM ch. 3 and 8). */
static bool rx_filter(const struct e1000 *sc, const uint8_t *f, uint32_t len)
{
	uint32_t rctl = reg(sc, R_RCTL);
	bool pass;

	if (is_bcast(f))
		pass = (rctl & (RCTL_BAM | RCTL_MPE)) || ra_match(sc, f);
	else if (f[0] & 1)
		pass = (rctl & RCTL_MPE) || ra_match(sc, f) || mta_match(sc, f);
	else
		pass = (rctl & RCTL_UPE) || ra_match(sc, f);
	if (pass && (rctl & RCTL_VFE) && vlan_tagged(sc, f, len)) {
		unsigned vid = get_be16(f + 14) & 0xfff;

		pass = (reg(sc, R_VFTA + 4 * (vid >> 5)) >> (vid & 31)) & 1;
	}
	return pass;
}

/* Finish a checksum the back end left partial (virtio-net header flag
 * NEEDS_CSUM); false if its offsets do not fit the frame. */
static bool rx_complete_csum(uint8_t *f, uint32_t len, const uint8_t *hdr)
{
	uint32_t start = le16_get(hdr + 6), off = le16_get(hdr + 8);
	uint16_t v;

	if (start >= len || off > len - start || len - start - off < 2)
		return false;
	v = (uint16_t)~csum_fold(csum_add(0, f + start, len - start, false));
	put_be16(f + start + off, v);
	return true;
}

/* The frame in rxbuf is one the device takes: sane length and header,
 * receiver on, for this station.  Otherwise it is counted and dropped. */
static bool rx_accept(struct e1000 *sc)
{
	unsigned bh = sc->be->hdr_len;
	uint32_t rctl = reg(sc, R_RCTL), flen, max;
	uint8_t *f;

	if (sc->rx_len < bh + NETBE_MIN_FRAME || sc->rx_len > bh + NETBE_MAX_FRAME)
		goto drop;
	f = sc->rxbuf + bh;
	flen = sc->rx_len - bh;
	if (bh && sc->rxbuf[1] != 0) /* segmented: never asked for */
		goto drop;
	if (bh && (sc->rxbuf[0] & 1) && !rx_complete_csum(f, flen, sc->rxbuf))
		goto drop;
	if (!(rctl & RCTL_EN))
		goto drop;
	stat_add(sc, S_TPR, 1);
	stat_add(sc, S_TORL, flen + CRC_LEN);
	max = rctl & RCTL_LPE ? FRAME_MAX_LONG : FRAME_MAX_NORMAL;
	if (flen + CRC_LEN > max) {
		stat_add(sc, S_ROC, 1);
		goto drop;
	}
	if (!rx_filter(sc, f, flen)) {
		sc->st.rx_filtered++;
		return false;
	}
	return true;
drop:
	sc->st.rx_dropped++;
	return false;
}

static void rx_count(struct e1000 *sc, const uint8_t *f, uint32_t wire)
{
	static const uint32_t lim[] = { 64, 127, 255, 511, 1023 };
	int i;

	sc->st.rx_frames++;
	stat_add(sc, S_GPRC, 1);
	stat_add(sc, S_GORCL, wire);
	if (is_bcast(f))
		stat_add(sc, S_BPRC, 1);
	else if (f[0] & 1)
		stat_add(sc, S_MPRC, 1);
	for (i = 0; i < 5 && wire > lim[i]; i++)
		;
	stat_add(sc, S_PRC64 + i, 1);
}

/* The frame's bytes as delivered: VLAN tag removed into *tci when CTRL.VME
 * (SDM ch. 8), the CRC appended unless RCTL.SECRC.  Returns the length. */
static uint32_t rx_shape(struct e1000 *sc, uint8_t *f, uint32_t flen, bool *vp, uint16_t *tci)
{
	uint32_t crc;

	*vp = false;
	*tci = 0;
	if ((reg(sc, R_CTRL) & CTRL_VME) && vlan_tagged(sc, f, flen)) {
		*vp = true;
		*tci = get_be16(f + 14);
		memmove(f + 12, f + 16, flen - 16);
		flen -= VLAN_LEN;
	}
	if (!(reg(sc, R_RCTL) & RCTL_SECRC)) {
		crc = crc32_eth(f, flen);
		le32_put(f + flen, crc);
		flen += CRC_LEN;
	}
	return flen;
}

static void rx_desc_done(struct e1000 *sc, uint64_t da, uint32_t len, uint8_t status,
			 uint8_t errors, uint16_t tci)
{
	uint8_t wb[8];

	le16_put(wb, (uint16_t)len);
	le16_put(wb + 2, 0); /* packet checksum: not computed (IXSM) */
	wb[4] = status;
	wb[5] = errors;
	le16_put(wb + 6, tci);
	/* The buffer before the status that hands it back (DD). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	gmem_write(sc->gm, da + 8, wb, sizeof(wb));
}

/* Descriptors free for the device: from head up to, not including, tail. */
static uint32_t rx_free(const struct e1000 *sc, uint32_t count)
{
	return (reg(sc, R_RDT) + count - reg(sc, R_RDH)) % count;
}

/* Put the frame in rxbuf into the guest: RX_DONE (delivered or dropped;
 * rxbuf is free again), RX_NO_ROOM, RX_BAD_RING. */
static int rx_deliver(struct e1000 *sc, bool *delivered)
{
	unsigned bh = sc->be->hdr_len;
	uint8_t *f = sc->rxbuf + bh, d[DESC_SIZE], status;
	uint32_t flen = sc->rx_len - bh, bsize, need, len, off, head, n;
	struct ring_info ri;
	uint16_t tci;
	bool vp;

	if (!ring_get(sc, false, &ri))
		return RX_BAD_RING;
	bsize = rx_buf_size(reg(sc, R_RCTL));
	/* Worst case: the CRC still to be added, no tag removed. */
	need = (flen + CRC_LEN + bsize - 1) / bsize;
	if (need > ri.count - 1) {
		/* Would never fit: waiting would stop receiving for good. */
		sc->st.rx_dropped++;
		sc->rx_len = 0;
		return RX_DONE;
	}
	if (need > rx_free(sc, ri.count)) {
		if (!sc->rx_stalled)
			stat_add(sc, S_RNBC, 1);
		return RX_NO_ROOM;
	}
	rx_count(sc, f, flen + CRC_LEN);
	len = rx_shape(sc, f, flen, &vp, &tci);
	head = reg(sc, R_RDH);
	for (off = 0; off < len; off += n) {
		uint64_t da = ri.base + (uint64_t)head * DESC_SIZE;
		uint8_t err = 0;

		n = len - off < bsize ? len - off : bsize;
		status = RXD_STAT_DD | RXD_STAT_IXSM | (vp ? RXD_STAT_VP : 0);
		if (off + n == len)
			status |= RXD_STAT_EOP;
		gmem_read(sc->gm, da, d, sizeof(d)); /* inside the checked ring */
		if (gmem_write(sc->gm, le64_get(d), f + off, n) < 0) {
			sc->st.rx_dma_errors++;
			err = RXD_ERR_RXE;
		}
		rx_desc_done(sc, da, n, status, err, tci);
		head = (head + 1) % ri.count;
		set_reg(sc, R_RDH, head);
	}
	sc->rx_len = 0;
	*delivered = true;
	return RX_DONE;
}

/* Read the next frame into rxbuf: 1 there is one (or it was dropped), 0
 * none waits, -EIO the back end failed. */
static int rx_fetch(struct e1000 *sc)
{
	size_t cap = sc->be->hdr_len + NETBE_MAX_FRAME + 1;
	ssize_t n = netbe_recv(sc->be, sc->rxbuf, cap);

	if (n == -EAGAIN)
		return 0;
	if (n < 0) {
		sc->rx_err = (int)-n;
		return -EIO;
	}
	/* Longer than cap: cut, and rx_accept() drops it. */
	sc->rx_len = (uint32_t)((size_t)n > cap ? cap : (size_t)n);
	if (!rx_accept(sc))
		sc->rx_len = 0;
	return 1;
}

/* Receive-descriptor minimum threshold (RCTL.RDMTS): 1/2, 1/4, 1/8. */
static void rx_check_threshold(struct e1000 *sc)
{
	struct ring_info ri;
	unsigned rdmts = (reg(sc, R_RCTL) >> RCTL_RDMTS_SHIFT) & 3;

	if (rdmts == 3 || !ring_get(sc, false, &ri))
		return;
	if (rx_free(sc, ri.count) <= ri.count >> (rdmts + 1))
		irq_raise(sc, ICR_RXDMT0);
}

/* Lock held: move frames from the back end to the guest until one side
 * runs dry or the budget is spent, then say whether to keep watching. */
static void rx_process(struct e1000 *sc)
{
	bool delivered = false, watch = true;
	int i, rc = RX_DONE;

	if (!sc->be)
		return;
	if (sc->rx_dead) {
		netbe_rx_enable(sc->be, false);
		return;
	}
	for (i = 0; i < RX_BUDGET; i++) {
		if (sc->rx_len && !(reg(sc, R_RCTL) & RCTL_EN))
			sc->rx_len = 0; /* the receiver went off while it waited */
		if (!sc->rx_len) {
			rc = rx_fetch(sc);
			if (rc <= 0)
				break;
			if (!sc->rx_len)
				continue;
		}
		rc = rx_deliver(sc, &delivered);
		if (rc != RX_DONE)
			break;
		sc->rx_stalled = false;
	}
	if (rc == -EIO) {
		log_warnx("e1000: the network back end failed (%s); receiving stops",
			  strerror(sc->rx_err));
		sc->rx_dead = true;
		watch = false;
	} else if (rc == RX_NO_ROOM) {
		/* Out of descriptors: the guest's next RDT write resumes. */
		sc->rx_stalled = true;
		watch = false;
	} else if (rc == RX_BAD_RING) {
		watch = false; /* the ring's next register write retries */
	}
	netbe_rx_enable(sc->be, watch);
	if (delivered) {
		irq_raise(sc, ICR_RXT0);
		rx_check_threshold(sc);
	}
}

static void e1000_rx_ready(void *arg)
{
	struct e1000 *sc = arg;

	pthread_mutex_lock(&sc->mtx);
	rx_process(sc);
	pthread_mutex_unlock(&sc->mtx);
}

/* ---- Transmit (SDM ch. 3: descriptors, checksum offload, TSO) ---- */

static void tx_count(struct e1000 *sc, const uint8_t *f, uint32_t len)
{
	static const uint32_t lim[] = { 64, 127, 255, 511, 1023 };
	uint32_t wire = len + CRC_LEN;
	int i;

	sc->tx_st.tx_frames++;
	sc->tx_stat[S_GPTC]++;
	sc->tx_stat[S_TPT]++;
	sc->tx_stat[S_GOTCL] += wire;
	sc->tx_stat[S_TOTL] += wire;
	if (is_bcast(f))
		sc->tx_stat[S_BPTC]++;
	else if (f[0] & 1)
		sc->tx_stat[S_MPTC]++;
	for (i = 0; i < 5 && wire > lim[i]; i++)
		;
	sc->tx_stat[S_PTC64 + i]++;
}

/* One frame, a|b, to the back end, with the VLAN tag tci inserted after
 * the addresses when vle (SDM ch. 8: CTRL.VME and the descriptor's VLE).
 * a holds at least the Ethernet header. */
static void tx_send(struct e1000 *sc, const uint8_t *a, uint32_t alen, const uint8_t *b,
		    uint32_t blen, bool vle, uint16_t tci)
{
	static const uint8_t zero_hdr[NETBE_HDR_LEN];
	uint32_t len = alen + blen + (vle ? VLAN_LEN : 0);
	struct iovec iov[5];
	uint8_t tag[VLAN_LEN];
	int n = 0;

	if (alen < ETH_HLEN || len > NETBE_MAX_FRAME) {
		sc->tx_st.tx_dropped++;
		return;
	}
	if (!sc->be) {
		sc->tx_st.tx_errors++;
		return;
	}
	/* No offloads are ever asked of the back end: a zero header. */
	if (sc->be->hdr_len)
		iov[n++] = (struct iovec){ (void *)zero_hdr, sc->be->hdr_len };
	if (vle) {
		put_be16(tag, sc->tx_vet);
		put_be16(tag + 2, tci);
		iov[n++] = (struct iovec){ (void *)a, 12 };
		iov[n++] = (struct iovec){ tag, VLAN_LEN };
		iov[n++] = (struct iovec){ (void *)(a + 12), alen - 12 };
	} else {
		iov[n++] = (struct iovec){ (void *)a, alen };
	}
	if (blen)
		iov[n++] = (struct iovec){ (void *)b, blen };
	if (netbe_send(sc->be, iov, n) < 0) {
		sc->tx_st.tx_errors++;
		return;
	}
	tx_count(sc, a, len);
}

/* End (exclusive) of a checksum range whose inclusive end is cse, 0
 * meaning the end of the packet (context descriptor, IPCSE/TUCSE). */
static uint32_t cs_end(uint16_t cse, uint32_t len)
{
	return cse == 0 || (uint32_t)cse + 1 > len ? len : (uint32_t)cse + 1;
}

/* Checksum ranges of the context that fit a packet of len bytes. */
static bool ctx_ip_ok(const struct tx_ctx *c, uint32_t len)
{
	return c->ipcss < len && (uint32_t)c->ipcso + 2 <= len &&
	       (c->ipcse == 0 || c->ipcse >= c->ipcss);
}

static bool ctx_tu_ok(const struct tx_ctx *c, uint32_t len)
{
	return c->tucss < len && (uint32_t)c->tucso + 2 <= len &&
	       (c->tucse == 0 || c->tucse >= c->tucss);
}

static void insert_ip_csum(uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen,
			   const struct tx_ctx *c)
{
	put_be16(a + c->ipcso, 0);
	put_be16(a + c->ipcso, (uint16_t)~csum_fold(csum_span(a, alen, b, blen, c->ipcss,
							      cs_end(c->ipcse, alen + blen))));
}

/* The field holds the pseudo-header sum the driver put there; l4len, when
 * not 0, is added to it (segmentation: the driver leaves the length out). */
static void insert_tu_csum(uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen,
			   const struct tx_ctx *c, uint32_t l4len)
{
	uint64_t sum = csum_span(a, alen, b, blen, c->tucss, cs_end(c->tucse, alen + blen));
	uint16_t v = (uint16_t)~csum_fold(sum + l4len);

	/* UDP sends a computed zero as all-ones (RFC 768). */
	if (v == 0 && !(c->tucmd & TUCMD_TCP))
		v = 0xffff;
	put_be16(a + c->tucso, v);
}

/* A TSO context that fits the gathered packet: otherwise the packet
 * is dropped, never a header or buffer overrun. */
static bool tso_ok(const struct tx_ctx *c, uint32_t len, uint8_t popts)
{
	uint32_t hl = c->hdrlen, plen, l3min = c->tucmd & TUCMD_IP ? 20 : 40;
	uint32_t l4min = c->tucmd & TUCMD_TCP ? 20 : 8;

	if (hl < ETH_HLEN || hl >= len || c->mss == 0)
		return false;
	plen = len - hl;
	if (c->paylen != plen || hl + c->mss + VLAN_LEN > NETBE_MAX_FRAME)
		return false;
	if ((plen + c->mss - 1) / c->mss > TSO_MAX_SEGS)
		return false;
	if ((uint32_t)c->ipcss + l3min > hl || (uint32_t)c->tucss + l4min > hl)
		return false;
	if ((popts & TXD_POPTS_IXSM) && ((uint32_t)c->ipcso + 2 > hl || !ctx_ip_ok(c, hl)))
		return false;
	if ((popts & TXD_POPTS_TXSM) && ((uint32_t)c->tucso + 2 > hl || !ctx_tu_ok(c, hl)))
		return false;
	return true;
}

/* Fix one segment's headers (SDM ch. 3, TCP segmentation): IP length and identification, TCP
 * sequence number and flags (or UDP length), then the checksums. */
static void tso_fix(struct e1000 *sc, const uint8_t *pay, uint32_t sl, uint32_t off, bool last,
		    uint8_t popts)
{
	const struct tx_ctx *c = &sc->ctx;
	uint8_t *h = sc->seg, *ip = h + c->ipcss, *tu = h + c->tucss;
	uint32_t hl = c->hdrlen, seglen = hl + sl, segno = off / c->mss;

	if (c->tucmd & TUCMD_IP) {
		put_be16(ip + 2, (uint16_t)(seglen - c->ipcss));
		put_be16(ip + 4, (uint16_t)(get_be16(ip + 4) + segno));
	} else {
		put_be16(ip + 4, (uint16_t)(seglen - c->ipcss - 40));
	}
	if (c->tucmd & TUCMD_TCP) {
		put_be32(tu + 4, get_be32(tu + 4) + off);
		if (!last)
			tu[13] &= (uint8_t)~0x09; /* FIN and PSH on the last only */
	} else {
		put_be16(tu + 4, (uint16_t)(seglen - c->tucss));
	}
	if (popts & TXD_POPTS_IXSM)
		insert_ip_csum(h, hl, pay, sl, c);
	if (popts & TXD_POPTS_TXSM)
		insert_tu_csum(h, hl, pay, sl, c, seglen - c->tucss);
}

static void tx_tso(struct e1000 *sc, uint32_t len, uint8_t popts, bool vle, uint16_t tci)
{
	const struct tx_ctx *c = &sc->ctx;
	uint32_t hl = c->hdrlen, plen, off, sl;

	if (!tso_ok(c, len, popts)) {
		sc->tx_stat[S_TSCTFC]++;
		sc->tx_st.tx_dropped++;
		return;
	}
	plen = len - hl;
	for (off = 0; off < plen; off += sl) {
		sl = plen - off < c->mss ? plen - off : c->mss;
		memcpy(sc->seg, sc->txbuf, hl);
		tso_fix(sc, sc->txbuf + hl + off, sl, off, off + sl == plen, popts);
		tx_send(sc, sc->seg, hl, sc->txbuf + hl + off, sl, vle, tci);
	}
	sc->tx_stat[S_TSCTC]++;
	sc->tx_st.tx_tso++;
}

/* A packet that goes out as it is, checksums inserted as asked. */
static void tx_single(struct e1000 *sc, uint32_t len, uint8_t popts, bool vle, uint16_t tci)
{
	const struct tx_ctx *c = &sc->ctx;
	uint8_t *f = sc->txbuf;

	if (((popts & TXD_POPTS_IXSM) && !ctx_ip_ok(c, len)) ||
	    ((popts & TXD_POPTS_TXSM) && !ctx_tu_ok(c, len))) {
		sc->tx_st.tx_dropped++;
		return;
	}
	if (popts & TXD_POPTS_IXSM)
		insert_ip_csum(f, len, NULL, 0, c);
	if (popts & TXD_POPTS_TXSM)
		insert_tu_csum(f, len, NULL, 0, c, 0);
	if (popts & (TXD_POPTS_IXSM | TXD_POPTS_TXSM))
		sc->tx_st.tx_csum++;
	tx_send(sc, f, len, NULL, 0, vle, tci);
}

/* Legacy checksum insertion: from CSS to the end, at CSO. */
static bool tx_legacy_csum(uint8_t *f, uint32_t len, uint8_t css, uint8_t cso)
{
	if (css >= len || (uint32_t)cso + 2 > len)
		return false;
	put_be16(f + cso, (uint16_t)~csum_fold(csum_add(0, f + css, len - css, false)));
	return true;
}

/* The descriptor with EOP closes the packet; VLE and the tag, and a legacy
 * descriptor's checksum fields, are taken from it. */
static void tx_finish(struct e1000 *sc, const uint8_t *d, bool ext)
{
	struct tx_pkt p = sc->pkt;
	uint8_t cmd = d[11];
	bool vle = (cmd & TXD_CMD_VLE) && sc->tx_vme;
	uint16_t tci = le16_get(d + 14);

	memset(&sc->pkt, 0, sizeof(sc->pkt));
	if (p.bad || p.len == 0) {
		sc->tx_st.tx_dropped++;
		return;
	}
	if (p.tse) {
		tx_tso(sc, p.len, p.popts, vle, tci);
		return;
	}
	if (!ext && (cmd & TXD_CMD_IC) && !tx_legacy_csum(sc->txbuf, p.len, d[13], d[10])) {
		sc->tx_st.tx_dropped++;
		return;
	}
	tx_single(sc, p.len, ext ? p.popts : 0, vle, tci);
}

/* A legacy or extended data descriptor: its buffer joins the packet. */
static void tx_data(struct e1000 *sc, const uint8_t *d, bool ext)
{
	struct tx_pkt *p = &sc->pkt;
	uint32_t blen = ext ? le32_get(d + 8) & 0xfffff : le16_get(d + 8);

	if (!p->started) {
		p->started = true;
		p->tse = ext && (d[11] & TXD_CMD_TSE);
		p->popts = ext ? d[13] : 0;
	}
	if (!p->bad && blen) {
		if (blen > TX_BUF_MAX - p->len ||
		    gmem_read(sc->gm, le64_get(d), sc->txbuf + p->len, blen) < 0)
			p->bad = true;
		else
			p->len += blen;
	}
	if (d[11] & TXD_CMD_EOP)
		tx_finish(sc, d, ext);
}

static void tx_context(struct e1000 *sc, const uint8_t *d)
{
	struct tx_ctx *c = &sc->ctx;

	c->ipcss = d[0];
	c->ipcso = d[1];
	c->ipcse = le16_get(d + 2);
	c->tucss = d[4];
	c->tucso = d[5];
	c->tucse = le16_get(d + 6);
	c->paylen = le32_get(d + 8) & 0xfffff;
	c->tucmd = d[11];
	c->hdrlen = d[13];
	c->mss = le16_get(d + 14);
}

/* One descriptor; true when it asks for a status write-back (RS). */
static bool tx_desc(struct e1000 *sc, const uint8_t *d)
{
	uint8_t cmd = d[11], dtyp = d[10] >> 4;

	if (!(cmd & TXD_CMD_DEXT)) {
		tx_data(sc, d, false);
	} else if (dtyp == TXD_DTYP_CTX) {
		tx_context(sc, d);
	} else if (dtyp == TXD_DTYP_DATA) {
		tx_data(sc, d, true);
	} else if (sc->pkt.started) {
		/* Reserved type: the packet it is part of is lost. */
		sc->pkt.bad = true;
	} else {
		sc->tx_st.tx_dropped++;
	}
	return cmd & TXD_CMD_RS;
}

/* The ring as this pass sees it, taken under mtx. */
struct tx_pass {
	struct ring_info ri;
	uint32_t head, tail, gen;
};

/* mtx held: whether the transmitter may run, and on what. */
static bool tx_begin(struct e1000 *sc, struct tx_pass *tp)
{
	if (!(reg(sc, R_TCTL) & TCTL_EN) || !ring_get(sc, true, &tp->ri))
		return false;
	tp->head = reg(sc, R_TDH);
	tp->tail = reg(sc, R_TDT);
	tp->gen = sc->tx_gen;
	if (tp->gen != sc->tx_seen_gen) {
		/* A packet half-gathered from the old ring is lost. */
		sc->tx_seen_gen = tp->gen;
		memset(&sc->pkt, 0, sizeof(sc->pkt));
		memset(&sc->ctx, 0, sizeof(sc->ctx));
	}
	sc->tx_vme = reg(sc, R_CTRL) & CTRL_VME;
	sc->tx_vet = (uint16_t)reg(sc, R_VET);
	return true;
}

/* mtx held: the pass's counts, its head (unless the ring was reset
 * meanwhile) and interrupts. */
static void tx_end(struct e1000 *sc, const struct tx_pass *tp, uint32_t n, bool done)
{
	struct e1000_stats *a = &sc->st, *d = &sc->tx_st;
	size_t i;

	for (i = 0; i < sizeof(sc->stat) / sizeof(sc->stat[0]); i++)
		sc->stat[i] += sc->tx_stat[i];
	memset(sc->tx_stat, 0, sizeof(sc->tx_stat));
	a->tx_frames += d->tx_frames;
	a->tx_dropped += d->tx_dropped;
	a->tx_errors += d->tx_errors;
	a->tx_tso += d->tx_tso;
	a->tx_csum += d->tx_csum;
	memset(d, 0, sizeof(*d));
	if (n == 0 || sc->tx_gen != tp->gen)
		return;
	set_reg(sc, R_TDH, tp->head);
	irq_raise(sc, (done ? ICR_TXDW : 0) | (tp->head == reg(sc, R_TDT) ? ICR_TXQE : 0));
}

/* Neither lock held: every descriptor from TDH up to TDT, at most one
 * ring's worth, on the thread that wrote TDT (or TCTL). */
static void tx_run(struct e1000 *sc)
{
	struct tx_pass tp;
	uint8_t d[DESC_SIZE];
	bool done = false, go;
	uint32_t n = 0;

	pthread_mutex_lock(&sc->tx_mtx);
	pthread_mutex_lock(&sc->mtx);
	go = tx_begin(sc, &tp);
	pthread_mutex_unlock(&sc->mtx);
	for (; go && tp.head != tp.tail && n < tp.ri.count; n++) {
		uint64_t da = tp.ri.base + (uint64_t)tp.head * DESC_SIZE;

		gmem_read(sc->gm, da, d, sizeof(d)); /* inside the checked ring */
		if (tx_desc(sc, d)) {
			uint8_t sta = (uint8_t)((d[12] & 0xf0) | TXD_STAT_DD);

			gmem_write(sc->gm, da + 12, &sta, 1);
			done = true;
		}
		tp.head = (tp.head + 1) % tp.ri.count;
	}
	if (go) {
		pthread_mutex_lock(&sc->mtx);
		tx_end(sc, &tp, n, done);
		pthread_mutex_unlock(&sc->mtx);
	}
	pthread_mutex_unlock(&sc->tx_mtx);
}

/* ---- Reset ---- */

static void load_mac(struct e1000 *sc)
{
	const uint16_t *w = sc->ee.word;

	/* RAL0/RAH0 come from the EEPROM at reset (SDM ch. 5). */
	set_reg(sc, R_RAL0, (uint32_t)w[0] | (uint32_t)w[1] << 16);
	set_reg(sc, R_RAH0, w[2] | RAH_AV);
}

/* Lock held.  Everything but the PCI configuration and the EEPROM. */
static void dev_reset(struct e1000 *sc)
{
	memset(sc->regs, 0, sizeof(sc->regs));
	memset(sc->stat, 0, sizeof(sc->stat));
	sc->tx_gen++; /* the transmitter drops its packet and context */
	sc->icr = 0;
	sc->ims = 0;
	irq_update(sc);
	set_reg(sc, R_CTRL, CTRL_SLU | 1u /* FD */);
	set_reg(sc, R_VET, 0x8100);
	set_reg(sc, R_PBA, 0x00100030); /* 48 KiB receive, 16 KiB transmit */
	set_reg(sc, R_LEDCTL, 0x07068302);
	set_reg(sc, R_TXDCTL, 0x00010000);
	set_reg(sc, R_RXDCTL, 0x00010000);
	set_reg(sc, R_TIPG, 0x00602008);
	ee_deselect(&sc->ee);
	phy_reset(sc);
	load_mac(sc);
	sc->rx_len = 0;
	sc->rx_stalled = false;
	sc->rx_warned = false;
	sc->tx_warned = false;
	if (sc->be && !sc->rx_dead)
		netbe_rx_enable(sc->be, true); /* receiver off: frames are dropped */
}

/* ---- Register access ---- */

/* Registers that only hold what is written: offset, number, write mask. */
struct plain_reg {
	uint32_t off, n, mask;
};

static const struct plain_reg plain_regs[] = {
	{ R_CTRL_EXT, 1, 0xffffffff },
	{ R_FLA, 1, 0xffffffff },
	{ R_FCAL, 1, 0xffffffff },
	{ R_FCAH, 1, 0xffff },
	{ R_FCT, 1, 0xffff },
	{ R_VET, 1, 0xffff },
	{ R_ITR, 1, 0xffff },
	{ R_FCTTV, 1, 0xffff },
	{ R_TXCW, 1, 0xffffffff },
	{ R_RXCW, 1, 0 },
	{ R_TIPG, 1, 0x3fffffff },
	{ R_AIFS, 1, 0xffff },
	{ R_LEDCTL, 1, 0xffffffff },
	{ R_PBA, 1, 0xffff },
	{ R_FCRTL, 1, 0x8000fff8 },
	{ R_FCRTH, 1, 0xfff8 },
	{ R_RDFH, 9, 0x1fff },
	{ R_RDBAL, 1, 0xfffffff0 },
	{ R_RDBAH, 1, 0xffffffff },
	{ R_RDLEN, 1, LEN_MASK },
	{ R_RDTR, 1, 0xffff },
	{ R_RXDCTL, 1, 0x013f3f3f },
	{ R_RADV, 1, 0xffff },
	{ R_RSRPD, 1, 0xfff },
	{ R_TXDMAC, 1, 1 },
	{ R_TDFH, 9, 0x1fff },
	{ R_TDBAL, 1, 0xfffffff0 },
	{ R_TDBAH, 1, 0xffffffff },
	{ R_TDLEN, 1, LEN_MASK },
	{ R_TIDV, 1, 0xffff },
	{ R_TXDCTL, 1, 0x013f3f3f },
	{ R_TADV, 1, 0xffff },
	{ R_TSPMT, 1, 0xffffffff },
	{ R_RXCSUM, 1, 0x7ff },
	{ R_MTA, N_MTA, 0xffffffff },
	{ R_RAL0, 2 * N_RA, 0xffffffff },
	{ R_VFTA, N_VFTA, 0xffffffff },
	{ R_WUC, 1, 0xf },
	{ R_WUFC, 1, 0xffffffff },
	{ R_WUS, 1, 0 },
	{ R_MANC, 1, 0xffffffff },
	{ R_IPAV, 1, 0x1000f },
	{ R_IP4AT, 8, 0xffffffff },
	{ R_IP6AT, 4, 0xffffffff },
	{ R_WUPL, 1, 0xfff },
	{ R_WUPM, 32, 0xffffffff },
	{ R_FFLT, 8, 0xffffffff },
	{ R_FFMT, 256, 0xffffffff },
	{ R_FFVT, 256, 0xffffffff },
	{ R_PBM, (E1000_MMIO_SIZE - R_PBM) / 4, 0xffffffff },
};

static const struct plain_reg *plain_find(uint32_t off)
{
	size_t i;

	for (i = 0; i < sizeof(plain_regs) / sizeof(plain_regs[0]); i++) {
		const struct plain_reg *p = &plain_regs[i];

		if (off >= p->off && off < p->off + 4 * p->n)
			return p;
	}
	return NULL;
}

static uint32_t stat_read(struct e1000 *sc, uint32_t off)
{
	unsigned i = (off - R_STATS) / 4;
	uint64_t v;

	switch (i) {
	case S_GORCH:
	case S_GOTCH:
	case S_TORH:
	case S_TOTH:
		/* The upper half of the 64-bit count kept in the lower slot. */
		v = sc->stat[i - 1] >> 32;
		sc->stat[i - 1] &= 0xffffffffull;
		return (uint32_t)v;
	case S_GORCL:
	case S_GOTCL:
	case S_TORL:
	case S_TOTL:
		v = sc->stat[i] & 0xffffffffull;
		sc->stat[i] &= ~0xffffffffull;
		return (uint32_t)v;
	default:
		/* Read to clear (SDM ch. 13, statistics), sticking at all-ones. */
		v = sc->stat[i];
		sc->stat[i] = 0;
		return v > 0xffffffffull ? 0xffffffffu : (uint32_t)v;
	}
}

/* Lock held; off is 4-byte aligned and inside the BAR. */
static uint32_t reg_read(struct e1000 *sc, uint32_t off)
{
	uint32_t v;

	switch (off) {
	case R_CTRL:
		return reg(sc, R_CTRL);
	case R_STATUS:
		return STATUS_FD | STATUS_LU | STATUS_SPEED_1000 | STATUS_ASDV_1000;
	case R_EECD:
		return eecd_read(sc);
	case R_EERD:
	case R_MDIC:
	case R_RCTL:
	case R_TCTL:
	case R_RDH:
	case R_RDT:
	case R_TDH:
	case R_TDT:
		return reg(sc, off);
	case R_ICR:
		/* Read to clear (ICR). */
		v = sc->icr;
		sc->icr = 0;
		irq_update(sc);
		return v;
	case R_IMS:
		return sc->ims;
	case R_ICS:
	case R_IMC:
		return 0; /* write-only */
	default:
		break;
	}
	if (off >= R_STATS && off < R_STATS_END)
		return stat_read(sc, off);
	if (plain_find(off))
		return reg(sc, off);
	return 0;
}

static void ctrl_write(struct e1000 *sc, uint32_t v)
{
	uint32_t old = reg(sc, R_CTRL);

	if (v & CTRL_RST) {
		/* Self-clearing global reset (CTRL.RST). */
		dev_reset(sc);
		return;
	}
	/* PHY_RST only holds the PHY in reset; it comes back at defaults. */
	if (v & CTRL_PHY_RST)
		phy_reset(sc);
	set_reg(sc, R_CTRL, v & ~CTRL_RST);
	if ((v & CTRL_SLU) && !(old & CTRL_SLU))
		irq_raise(sc, ICR_LSC);
}

/* True when the transmitter should run (TDT written). */
static bool ring_reg_write(struct e1000 *sc, uint32_t off, uint32_t v, bool tx)
{
	const struct plain_reg *p = plain_find(off);

	if (off == R_RDH || off == R_RDT || off == R_TDH || off == R_TDT)
		set_reg(sc, off, v & 0xffff);
	else
		set_reg(sc, off, v & (p ? p->mask : 0));
	if (tx) {
		if (off == R_TDT)
			return true;
		/* A new ring: a pass under way leaves its head alone. */
		sc->tx_gen++;
	} else {
		/* Room or a new ring for a frame that may be waiting. */
		rx_process(sc);
	}
	return false;
}

/* mtx held; off is 4-byte aligned and inside the BAR.  True when the
 * caller, once mtx is released, must run the transmitter (tx_run). */
static bool reg_write(struct e1000 *sc, uint32_t off, uint32_t v)
{
	const struct plain_reg *p;

	switch (off) {
	case R_CTRL:
		ctrl_write(sc, v);
		return false;
	case R_EECD:
		eecd_write(sc, v);
		return false;
	case R_EERD:
		eerd_write(sc, v);
		return false;
	case R_MDIC:
		mdic_write(sc, v);
		return false;
	case R_ICR:
		sc->icr &= ~v; /* write 1 to clear */
		irq_update(sc);
		return false;
	case R_ICS:
		irq_raise(sc, v);
		return false;
	case R_IMS:
		sc->ims |= v & ICR_MASK;
		irq_update(sc);
		return false;
	case R_IMC:
		sc->ims &= ~v;
		irq_update(sc);
		return false;
	case R_RCTL:
		set_reg(sc, R_RCTL, v & 0x07ffb3fe);
		rx_process(sc);
		return false;
	case R_TCTL:
		set_reg(sc, R_TCTL, v & 0x03fffffa);
		return true;
	case R_RDBAL:
	case R_RDBAH:
	case R_RDLEN:
	case R_RDH:
	case R_RDT:
		return ring_reg_write(sc, off, v, false);
	case R_TDBAL:
	case R_TDBAH:
	case R_TDLEN:
	case R_TDH:
	case R_TDT:
		return ring_reg_write(sc, off, v, true);
	default:
		break;
	}
	p = plain_find(off);
	if (p)
		set_reg(sc, off, (reg(sc, off) & ~p->mask) | (v & p->mask));
	return false;
}

uint32_t e1000_mmio_read(struct e1000 *sc, uint64_t off, int size)
{
	uint32_t v;

	/* Registers are 32 bits wide (SDM ch. 13); a narrower read sees its bytes
	 * of one, an access across two is not decoded. */
	if (size < 1 || size > 4 || off >= E1000_MMIO_SIZE || (off & 3) + (uint64_t)size > 4)
		return 0;
	pthread_mutex_lock(&sc->mtx);
	v = reg_read(sc, (uint32_t)off & ~3u);
	pthread_mutex_unlock(&sc->mtx);
	v >>= 8 * (off & 3);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void e1000_mmio_write(struct e1000 *sc, uint64_t off, int size, uint32_t val)
{
	bool tx;

	/* Only whole registers are written (SDM ch. 13: 32-bit accesses). */
	if (size != 4 || (off & 3) || off >= E1000_MMIO_SIZE)
		return;
	pthread_mutex_lock(&sc->mtx);
	tx = reg_write(sc, (uint32_t)off, val);
	pthread_mutex_unlock(&sc->mtx);
	if (tx)
		tx_run(sc);
}

/* I/O BAR (SDM ch. 13): IOADDR at 0 selects a register, IODATA at 4 reaches
 * it; both 32-bit. */
uint32_t e1000_io_read(struct e1000 *sc, uint64_t off, int size)
{
	uint32_t v = 0;

	if (size != 4 || (off != 0 && off != 4))
		return 0;
	pthread_mutex_lock(&sc->mtx);
	if (off == 0)
		v = sc->ioaddr;
	else if (sc->ioaddr < E1000_MMIO_SIZE)
		v = reg_read(sc, sc->ioaddr & ~3u);
	pthread_mutex_unlock(&sc->mtx);
	return v;
}

void e1000_io_write(struct e1000 *sc, uint64_t off, int size, uint32_t val)
{
	bool tx = false;

	if (size != 4 || (off != 0 && off != 4))
		return;
	pthread_mutex_lock(&sc->mtx);
	if (off == 0)
		sc->ioaddr = val & 0x1fffc;
	else
		tx = reg_write(sc, sc->ioaddr & ~3u, val);
	pthread_mutex_unlock(&sc->mtx);
	if (tx)
		tx_run(sc);
}

void e1000_get_stats(struct e1000 *sc, struct e1000_stats *st)
{
	pthread_mutex_lock(&sc->mtx);
	*st = sc->st;
	pthread_mutex_unlock(&sc->mtx);
}

/* ---- Life cycle ---- */

int e1000_new(struct netbe *be, const struct gmem *gm, const uint8_t mac[6],
	      const struct e1000_hooks *h, struct e1000 **out)
{
	struct e1000 *sc;

	pthread_once(&crc_once, crc_init);
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	/* Receive: back-end header, the largest frame plus one (a longer one
	 * shows as too long), and the CRC the device may append. */
	sc->rxbuf = malloc(NETBE_HDR_LEN + NETBE_MAX_FRAME + 1 + CRC_LEN);
	sc->txbuf = malloc(TX_BUF_MAX);
	if (!sc->rxbuf || !sc->txbuf) {
		free(sc->rxbuf);
		free(sc->txbuf);
		free(sc);
		return -ENOMEM;
	}
	pthread_mutex_init(&sc->mtx, NULL);
	pthread_mutex_init(&sc->tx_mtx, NULL);
	sc->be = be;
	sc->gm = gm;
	if (h)
		sc->h = *h;
	e1000_eeprom_image(mac, sc->ee.word);
	if (be)
		netbe_set_rx_cb(be, e1000_rx_ready, sc);
	pthread_mutex_lock(&sc->mtx);
	dev_reset(sc);
	pthread_mutex_unlock(&sc->mtx);
	*out = sc;
	return 0;
}

void e1000_free(struct e1000 *sc)
{
	struct e1000_stats *s;

	if (!sc)
		return;
	s = &sc->st;
	if (sc->be)
		netbe_set_rx_cb(sc->be, NULL, NULL);
	log_debug("e1000: rx %llu frames (%llu filtered, %llu dropped, %llu DMA errors), "
		  "tx %llu frames (%llu dropped, %llu errors, %llu TSO packets, %llu checksummed), "
		  "%llu ring errors",
		  (unsigned long long)s->rx_frames, (unsigned long long)s->rx_filtered,
		  (unsigned long long)s->rx_dropped, (unsigned long long)s->rx_dma_errors,
		  (unsigned long long)s->tx_frames, (unsigned long long)s->tx_dropped,
		  (unsigned long long)s->tx_errors, (unsigned long long)s->tx_tso,
		  (unsigned long long)s->tx_csum, (unsigned long long)s->ring_errors);
	pthread_mutex_destroy(&sc->mtx);
	pthread_mutex_destroy(&sc->tx_mtx);
	free(sc->rxbuf);
	free(sc->txbuf);
	free(sc);
}

/* ---- PCI device ---- */

#define BAR_MEM 0
#define BAR_IO	2

struct pci_e1000 {
	struct pci_devinst *pi;
	struct netbe *be;
	struct e1000 *sc;
};

/* Called with the device's lock held; only reaches the PCI core. */
static void pci_e1000_irq(void *arg, bool level)
{
	struct pci_devinst *pi = arg;

	if (level)
		pci_lintr_assert(pi);
	else
		pci_lintr_deassert(pi);
}

static uint64_t pci_e1000_barread(struct pci_devinst *pi, int bar, uint64_t off, int size)
{
	struct pci_e1000 *p = pci_get_arg(pi);

	if (bar == BAR_MEM)
		return e1000_mmio_read(p->sc, off, size);
	if (bar == BAR_IO)
		return e1000_io_read(p->sc, off, size);
	return ~0ull;
}

static void pci_e1000_barwrite(struct pci_devinst *pi, int bar, uint64_t off, int size,
			       uint64_t val)
{
	struct pci_e1000 *p = pci_get_arg(pi);

	if (bar == BAR_MEM)
		e1000_mmio_write(p->sc, off, size, (uint32_t)val);
	else if (bar == BAR_IO)
		e1000_io_write(p->sc, off, size, (uint32_t)val);
}

static const char *node_get(const struct config *cfg, const char *node, const char *name)
{
	char key[CONFIG_KEY_MAX + 1];

	if ((size_t)snprintf(key, sizeof(key), "%s.%s", node, name) >= sizeof(key))
		return NULL;
	return config_get(cfg, key);
}

static int pci_e1000_mac(struct pci_devinst *pi, const struct config *cfg, const char *node,
			 uint8_t mac[6])
{
	const char *v = node_get(cfg, node, "mac");

	if (!v) {
		netbe_derive_mac(pci_slot(pi), pci_func(pi), config_get(cfg, "name"), mac);
		return 0;
	}
	if (netbe_parse_mac(v, mac) < 0) {
		pci_set_error(pi, "mac=%s: not a unicast MAC address (xx:xx:xx:xx:xx:xx)", v);
		return -EINVAL;
	}
	return 0;
}

static void pci_e1000_identity(struct pci_devinst *pi)
{
	pci_set_cfgdata16(pi, PCI_REG_VENDOR, INTEL_VENDOR);
	pci_set_cfgdata16(pi, PCI_REG_DEVICE, DEV_82545EM_C);
	pci_set_cfgdata16(pi, PCI_REG_SUBVENDOR, INTEL_VENDOR);
	pci_set_cfgdata16(pi, PCI_REG_SUBSYSTEM, SUBSYS_ID);
	pci_set_cfgdata8(pi, PCI_REG_CLASS, 0x02);    /* network controller */
	pci_set_cfgdata8(pi, PCI_REG_SUBCLASS, 0x00); /* Ethernet */
	pci_set_cfgdata8(pi, PCI_REG_PROGIF, 0x00);
}

static int pci_e1000_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	struct e1000_hooks h = { pci_e1000_irq, pi };
	struct pci_e1000 *p;
	const char *backend;
	uint8_t mac[6];
	char err[320];
	int rc;

	rc = pci_e1000_mac(pi, cfg, node, mac);
	if (rc < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pi = pi;
	pci_set_arg(pi, p);
	pci_e1000_identity(pi);
	rc = pci_emul_alloc_bar(pi, BAR_MEM, PCI_BAR_MEM32, E1000_MMIO_SIZE, 0);
	if (!rc)
		rc = pci_emul_alloc_bar(pi, BAR_IO, PCI_BAR_IO, E1000_IO_SIZE, 0);
	if (!rc)
		rc = pci_lintr_request(pi);
	if (rc)
		return rc;
	/* No back end is allowed (as in bhyve): a NIC with no wire. */
	backend = node_get(cfg, node, "backend");
	if (backend) {
		rc = netbe_open(backend, cfg, node, pci_loop(pi), &p->be, err, sizeof(err));
		if (rc < 0) {
			pci_set_error(pi, "%s", err);
			return rc;
		}
	}
	return e1000_new(p->be, pci_gmem(pi), mac, &h, &p->sc);
}

static void pci_e1000_deinit(struct pci_devinst *pi)
{
	struct pci_e1000 *p = pci_get_arg(pi);

	if (!p)
		return;
	/* Off the event loop before the device it calls goes away. */
	netbe_close(p->be);
	if (p->sc)
		p->sc->be = NULL;
	e1000_free(p->sc);
	free(p);
	pci_set_arg(pi, NULL);
}

/* Not static: a unit test names it to pull this object out of the static
 * library. */
const struct pci_devemu pci_de_e1000 = {
	.name = "e1000",
	.init = pci_e1000_init,
	.deinit = pci_e1000_deinit,
	.barread = pci_e1000_barread,
	.barwrite = pci_e1000_barwrite,
};
PCI_EMUL_REGISTER(pci_de_e1000);
