/* libFuzzer target: the e1000 (82545EM) engine, src/pci/pci_e1000.c
 * (SECURITY.md "Descriptor chains", "Ring indices", "Device headers",
 * "Transport registers", "Exhaustion").
 *
 * Guest RAM is an exact 64 KiB malloc (AddressSanitizer sees any byte
 * outside it): the transmit ring's usual place at its start, the receive
 * ring's 4 KiB later, packet buffers after that.  The input is a program
 * of one-byte opcodes: register reads and writes (a table of the
 * interesting ones, or any offset, of any width), I/O BAR accesses, raw
 * RAM writes, transmit descriptors (legacy, context, data, raw) and
 * receive descriptors, ring set-ups with any base, length, head and tail
 * (in RAM, straddling its end, anywhere), TDT/RDT kicks, frames from a
 * fake back end of any length and header (a receive error too), EECD
 * bit-banging, MDIC commands, and a ready-made TSO packet whose context
 * the input perturbs.
 *
 * Checks: every frame handed to the back end is an Ethernet header at
 * least and at most NETBE_MAX_FRAME, behind a zero back-end header; the
 * interrupt hook reports changes only; after a TDT write on an enabled,
 * valid ring the head has caught up with the tail; the receive head stays
 * inside a valid ring; each frame taken from the back end is counted once
 * at most; EERD returns the EEPROM image; MDIC always completes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "gmem.h"
#include "net/netbe.h"
#include "pci/pci_e1000.h"

#define RAM_GPA	 0x10000ull
#define RAM_SIZE 0x10000u
#define TXR_OFF	 0x0000u
#define RXR_OFF	 0x1000u
#define DATA_OFF 0x2000u

/* Registers (SDM table 13-2). */
#define CTRL  0x0000
#define EECD  0x0010
#define EERD  0x0014
#define MDIC  0x0020
#define ICR   0x00c0
#define ICS   0x00c8
#define IMS   0x00d0
#define IMC   0x00d8
#define RCTL  0x0100
#define TCTL  0x0400
#define RDBAL 0x2800
#define RDBAH 0x2804
#define RDLEN 0x2808
#define RDH   0x2810
#define RDT   0x2818
#define TDBAL 0x3800
#define TDBAH 0x3804
#define TDLEN 0x3808
#define TDH   0x3810
#define TDT   0x3818

static const uint32_t regs[] = {
	CTRL,	0x0008, EECD,	EERD,	0x0018, MDIC,	0x0038, ICR,	0x00c4,	 ICS,
	IMS,	IMC,	RCTL,	TCTL,	RDBAL,	RDBAH,	RDLEN,	RDH,	RDT,	 0x2820,
	TDBAL,	TDBAH,	TDLEN,	TDH,	TDT,	0x4000, 0x4074, 0x4088, 0x408c,	 0x40f8,
	0x40fc, 0x5200, 0x5400, 0x5404, 0x5408, 0x540c, 0x5600, 0x5000, 0x10000, 0x1fffc,
};

struct fzbe {
	struct netbe be;
	const uint8_t *frame;
	size_t frame_len;
	bool have_frame;
	int recv_err;
	uint64_t nread;
	uint8_t sink;
};

static uint8_t big[NETBE_HDR_LEN + NETBE_MAX_FRAME + 64];

static ssize_t fz_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	struct fzbe *f = (struct fzbe *)be;
	size_t len = 0, seen = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	FZ_CHECK(len >= be->hdr_len + NETBE_MIN_FRAME);
	FZ_CHECK(len <= be->hdr_len + NETBE_MAX_FRAME);
	for (i = 0; i < iovcnt; i++) {
		const volatile uint8_t *b = iov[i].iov_base;
		size_t j;

		/* The back end's header: never an offload request. */
		for (j = 0; j < iov[i].iov_len && seen + j < be->hdr_len; j++)
			FZ_CHECK(b[j] == 0);
		seen += iov[i].iov_len;
		/* Touch both ends of every piece: ASan checks the pointers. */
		if (iov[i].iov_len)
			f->sink += b[0] + b[iov[i].iov_len - 1];
	}
	return (ssize_t)len;
}

static ssize_t fz_recv(struct netbe *be, void *buf, size_t len)
{
	struct fzbe *f = (struct fzbe *)be;

	if (!f->have_frame)
		return f->recv_err ? f->recv_err : -EAGAIN;
	f->have_frame = false;
	f->nread++;
	memcpy(buf, f->frame, f->frame_len < len ? f->frame_len : len);
	return (ssize_t)f->frame_len;
}

static void fz_close(struct netbe *be)
{
	(void)be;
}

static const struct netbe_ops fz_ops = {
	.name = "fuzz",
	.send = fz_send,
	.recv = fz_recv,
	.close = fz_close,
};

struct world {
	struct gmem mem;
	uint8_t *ram;
	struct fzbe fb;
	struct e1000 *sc;
	bool has_be;
	bool level;
	uint16_t ee[E1000_EEPROM_WORDS];
};

static void w_irq(void *arg, bool level)
{
	struct world *w = arg;

	FZ_CHECK(level != w->level);
	w->level = level;
}

static uint32_t rd(struct world *w, uint32_t off)
{
	return e1000_mmio_read(w->sc, off, 4);
}

static void wr(struct world *w, uint32_t off, uint32_t v)
{
	e1000_mmio_write(w->sc, off, 4, v);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A guest address: mostly a buffer in the data area, sometimes anything. */
static uint64_t buf_addr(struct fz *f)
{
	uint8_t k = fz_u8(f);

	if (k < 0xe0)
		return RAM_GPA + DATA_OFF + fz_u16(f) % (RAM_SIZE - DATA_OFF);
	if (k < 0xf0)
		return RAM_GPA + RAM_SIZE - (fz_u8(f) & 0x3f); /* straddling the end */
	return fz_u64(f);
}

/* A ring as the device would see it: false when it cannot be used. */
static bool ring_valid(struct world *w, bool tx, uint32_t *count)
{
	uint64_t base = (uint64_t)rd(w, tx ? TDBAH : RDBAH) << 32 | rd(w, tx ? TDBAL : RDBAL);
	uint32_t len = rd(w, tx ? TDLEN : RDLEN);

	*count = len / 16;
	return len && gmem_ptr(&w->mem, base, len) && rd(w, tx ? TDH : RDH) < *count &&
	       rd(w, tx ? TDT : RDT) < *count;
}

static void check_tdt(struct world *w)
{
	uint32_t count;

	if ((rd(w, TCTL) & 2) && ring_valid(w, true, &count))
		FZ_CHECK(rd(w, TDH) == rd(w, TDT));
}

static void check_rx(struct world *w)
{
	struct e1000_stats st;
	uint32_t count;

	e1000_get_stats(w->sc, &st);
	FZ_CHECK(st.rx_frames + st.rx_filtered + st.rx_dropped <= w->fb.nread);
	if (ring_valid(w, false, &count))
		FZ_CHECK(rd(w, RDH) < count);
}

static void reg_write(struct world *w, uint32_t off, int size, uint32_t v)
{
	bool tdt = off == TDT || off == TCTL;

	e1000_mmio_write(w->sc, off, size, v);
	if (off == EERD && size == 4 && (v & 1)) {
		uint32_t r = rd(w, EERD), a = (v >> 8) & 0xff;

		FZ_CHECK(r & 0x10);
		FZ_CHECK((r >> 16) == (a < E1000_EEPROM_WORDS ? w->ee[a] : 0xffff));
	}
	if (off == MDIC && size == 4)
		FZ_CHECK(rd(w, MDIC) & (1u << 28));
	if (tdt && size == 4)
		check_tdt(w);
	check_rx(w);
}

static uint32_t pick_reg(struct fz *f)
{
	uint8_t s = fz_u8(f);

	if (s < 0xc0)
		return regs[s % (sizeof(regs) / sizeof(regs[0]))];
	return fz_u32(f) % E1000_MMIO_SIZE;
}

static void op_reg(struct world *w, struct fz *f, uint8_t op)
{
	uint32_t off = pick_reg(f);
	int size = (op & 0x80) ? fz_width(f) : 4;

	if (size == 3 || off + (uint32_t)size > E1000_MMIO_SIZE)
		return;
	if (op & 0x40)
		e1000_mmio_read(w->sc, off, size);
	else
		reg_write(w, off, size, fz_u32(f));
}

static void op_txdesc(struct world *w, struct fz *f)
{
	uint8_t *d = w->ram + TXR_OFF + 16u * fz_u8(f);
	uint8_t kind = fz_u8(f);
	const uint8_t *p;

	memset(d, 0, 16);
	switch (kind & 3) {
	case 0: /* legacy */
		put_le(d, buf_addr(f), 8);
		put_le(d + 8, fz_u16(f) % 0x1800, 2);
		d[10] = fz_u8(f);
		d[11] = (uint8_t)(fz_u8(f) & ~0x20);
		d[13] = fz_u8(f);
		put_le(d + 14, fz_u16(f), 2);
		break;
	case 1: /* context */
		d[0] = fz_u8(f);
		d[1] = fz_u8(f);
		put_le(d + 2, fz_u16(f), 2);
		d[4] = fz_u8(f);
		d[5] = fz_u8(f);
		put_le(d + 6, fz_u16(f), 2);
		put_le(d + 8, fz_u32(f) & 0xfffff, 3);
		d[11] = (uint8_t)(fz_u8(f) | 0x20);
		d[13] = fz_u8(f);
		put_le(d + 14, fz_u16(f), 2);
		break;
	case 2: /* data */
		put_le(d, buf_addr(f), 8);
		put_le(d + 8, ((kind & 4) ? fz_u32(f) & 0xfffff : fz_u16(f) % 0x2000) | 1u << 20,
		       3);
		d[11] = (uint8_t)(fz_u8(f) | 0x20);
		d[13] = fz_u8(f);
		put_le(d + 14, fz_u16(f), 2);
		break;
	default: {
		size_t n = fz_take(f, 16, &p);

		memcpy(d, p, n);
		break;
	}
	}
}

static void op_rxdesc(struct world *w, struct fz *f)
{
	uint8_t *d = w->ram + RXR_OFF + 16u * fz_u8(f);

	memset(d, 0, 16);
	put_le(d, buf_addr(f), 8);
	if (fz_u8(f) == 0x5a)
		d[12] = 0xff; /* stale status the device must overwrite */
}

/* Bases: the usual place, straddling the end of RAM, or anywhere. */
static void op_ring(struct world *w, struct fz *f, uint8_t op)
{
	bool tx = op & 0x80;
	uint8_t k = fz_u8(f);
	uint64_t base;
	uint32_t len;

	if (k < 0xc0)
		base = RAM_GPA + (tx ? TXR_OFF : RXR_OFF);
	else if (k < 0xe0)
		base = RAM_GPA + RAM_SIZE - 16u * (fz_u8(f) + 1u);
	else
		base = fz_u64(f);
	len = (k & 1) ? fz_u32(f) : 128u * (fz_u8(f) % 33);
	reg_write(w, tx ? TDBAL : RDBAL, 4, (uint32_t)base);
	reg_write(w, tx ? TDBAH : RDBAH, 4, (uint32_t)(base >> 32));
	reg_write(w, tx ? TDLEN : RDLEN, 4, len);
	reg_write(w, tx ? TDH : RDH, 4, fz_u8(f) & 0x7f ? fz_u8(f) : fz_u16(f));
	reg_write(w, tx ? TDT : RDT, 4, fz_u8(f) & 0x7f ? fz_u8(f) : fz_u16(f));
	reg_write(w, tx ? TCTL : RCTL, 4, fz_u32(f) | 2);
}

static void op_frame(struct world *w, struct fz *f)
{
	uint8_t how = fz_u8(f);
	unsigned hl = w->fb.be.hdr_len;
	const uint8_t *p;
	size_t n;

	if (how == 0xff) {
		/* A frame past the largest one, addressed to everyone. */
		n = sizeof(big) - (fz_u8(f) & 63);
		memset(big, 0x11, n);
		memset(big, 0, hl);
		memset(big + hl, 0xff, 6);
		w->fb.frame = big;
	} else if (how & 0x80 && hl) {
		/* A back-end header from the input over a frame to everyone. */
		n = fz_take(f, hl, &p);
		memset(big, 0, NETBE_HDR_LEN + 2048);
		memcpy(big, p, n);
		memset(big + hl, 0xff, 6);
		n = hl + fz_u16(f) % 2048;
		w->fb.frame = big;
	} else {
		n = fz_take(f, fz_u16(f) % 2048, &p);
		w->fb.frame = p;
	}
	w->fb.frame_len = n;
	w->fb.have_frame = true;
	if (w->has_be && w->fb.be.rx_cb && (how & 1))
		w->fb.be.rx_cb(w->fb.be.rx_arg);
	w->fb.have_frame = false;
	check_rx(w);
}

static void op_eecd(struct world *w, struct fz *f)
{
	unsigned n = fz_u8(f) % 48, i;

	for (i = 0; i < n; i++) {
		uint8_t b = fz_u8(f);

		wr(w, EECD, (b & 7) | (b & 8 ? 0x40u : 0));
		if (b & 0x80)
			rd(w, EECD);
	}
}

/* A well-formed TCP/IPv4 TSO packet with the input's MSS, sizes and a
 * perturbed context, queued as context + header + payload descriptors. */
static void op_tso(struct world *w, struct fz *f)
{
	uint32_t pay = fz_u16(f) % 12000, hl = 54, off = DATA_OFF + 0x100, mss = fz_u16(f);
	uint8_t *pk = w->ram + off, *d = w->ram + TXR_OFF, pert = fz_u8(f);
	uint32_t i;

	if (hl + pay > RAM_SIZE - off)
		pay = RAM_SIZE - off - hl;
	memset(pk, 0, hl);
	pk[12] = 0x08;
	pk[14] = 0x45;
	pk[23] = 6;
	pk[46] = 0x50;
	pk[47] = fz_u8(f);
	for (i = 0; i < pay; i++)
		pk[hl + i] = (uint8_t)i;
	memset(d, 0, 64);
	d[0] = 14;
	d[1] = 24;
	put_le(d + 2, 33, 2);
	d[4] = 34;
	d[5] = 50;
	put_le(d + 8, pay, 3);
	d[11] = 0x20 | 0x04 | 0x02 | 0x01;
	d[13] = (uint8_t)hl;
	put_le(d + 14, mss, 2);
	/* Perturb one context byte. */
	if (pert & 0x80)
		d[pert & 15] = fz_u8(f);
	put_le(d + 16, RAM_GPA + off, 8);
	put_le(d + 24, hl | 1u << 20, 3);
	d[27] = 0x20 | 0x04;
	d[29] = 3;
	put_le(d + 32, RAM_GPA + off + hl, 8);
	put_le(d + 40, pay | 1u << 20, 3);
	d[43] = 0x20 | 0x04 | 0x08 | 0x01;
	d[45] = 3;
	reg_write(w, TDBAL, 4, (uint32_t)(RAM_GPA + TXR_OFF));
	reg_write(w, TDBAH, 4, 0);
	reg_write(w, TDLEN, 4, 128u * 4);
	reg_write(w, TDH, 4, 0);
	reg_write(w, TCTL, 4, 2);
	reg_write(w, TDT, 4, 3);
}

static void run(struct world *w, struct fz *f)
{
	int steps = 0;

	while (fz_more(f) && steps++ < 256) {
		uint8_t op = fz_u8(f);

		switch (op % 12) {
		case 0: {
			uint16_t off = fz_u16(f) % RAM_SIZE;
			const uint8_t *p;
			size_t n = fz_take(f, fz_u8(f) % 64, &p);

			if (n > RAM_SIZE - off)
				n = RAM_SIZE - off;
			memcpy(w->ram + off, p, n);
			break;
		}
		case 1:
		case 2:
			op_reg(w, f, op);
			break;
		case 3:
			op_txdesc(w, f);
			break;
		case 4:
			op_rxdesc(w, f);
			break;
		case 5:
			op_ring(w, f, op);
			break;
		case 6:
			reg_write(w, (op & 0x80) ? TDT : RDT, 4, fz_u8(f));
			break;
		case 7:
			op_frame(w, f);
			break;
		case 8: {
			uint64_t off = fz_u8(f) % E1000_IO_SIZE;
			int size = fz_width(f);

			uint32_t target = e1000_io_read(w->sc, 0, 4);

			if (op & 0x80)
				e1000_io_write(w->sc, off, size, fz_u32(f));
			else
				e1000_io_read(w->sc, off, size);
			/* IODATA reaches the register IOADDR selects. */
			if (off == 4 && size == 4 && (target == TDT || target == TCTL))
				check_tdt(w);
			check_rx(w);
			break;
		}
		case 9:
			op_eecd(w, f);
			break;
		case 10:
			reg_write(w, MDIC, 4, fz_u32(f));
			break;
		default:
			if (op & 0x80)
				w->fb.recv_err = (op & 0x40) ? -EIO : 0;
			else
				op_tso(w, f);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned hdrs[4] = { 0, 10, 12, 0 };
	static const uint8_t mac[6] = { 0x02, 0xe1, 0, 0, 0x10, 0x0f };
	struct fz f = { data, size };
	struct e1000_hooks h;
	struct world *w;
	uint8_t cfg;

	if (size < 2)
		return 0;
	w = calloc(1, sizeof(*w));
	w->ram = malloc(RAM_SIZE);
	memset(w->ram, 0, RAM_SIZE);
	gmem_add_region(&w->mem, RAM_GPA, RAM_SIZE, w->ram);
	cfg = fz_u8(&f);
	netbe_init(&w->fb.be, &fz_ops);
	w->fb.be.hdr_len = hdrs[cfg & 3];
	w->has_be = !(cfg & 0x80);
	e1000_eeprom_image(mac, w->ee);
	h = (struct e1000_hooks){ w_irq, w };
	if (e1000_new(w->has_be ? &w->fb.be : NULL, &w->mem, mac, &h, &w->sc))
		abort();
	run(w, &f);
	if (getenv("FUZZ_VERBOSE")) {
		struct e1000_stats st;

		e1000_get_stats(w->sc, &st);
		fprintf(stderr,
			"rx %llu (filtered %llu, dropped %llu, dma %llu), tx %llu (dropped %llu, "
			"tso %llu, csum %llu), ring errors %llu\n",
			(unsigned long long)st.rx_frames, (unsigned long long)st.rx_filtered,
			(unsigned long long)st.rx_dropped, (unsigned long long)st.rx_dma_errors,
			(unsigned long long)st.tx_frames, (unsigned long long)st.tx_dropped,
			(unsigned long long)st.tx_tso, (unsigned long long)st.tx_csum,
			(unsigned long long)st.ring_errors);
	}
	e1000_free(w->sc);
	free(w->ram);
	free(w);
	return 0;
}
