/* virtio-net's engine (virtio 1.2 §5.1) over a fake back end: transmit and
 * receive paths, mergeable buffers, the control queue, hostile chains,
 * configuration space; and the option parsers of src/net (MAC derivation,
 * MTU, hostfwd) with MD5 against RFC 1321's test suite. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "net/md5.h"
#include "net/netbe.h"
#include "pci/pci_emul.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"
#include "vq_test.h"

extern const struct pci_devemu pci_de_virtio_net;
/* Referenced so that the linker pulls virtio-net out of the library. */
const struct pci_devemu *volatile t_keep_net = &pci_de_virtio_net;

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_W    VIRTQ_DESC_F_WRITE
#define BIT(n) (1ull << (n))

#define MAXF 64

/* ---- A fake back end ---- */

struct fbe {
	struct netbe be;
	/* Frames the device sent. */
	int nsent;
	uint8_t *sent[MAXF];
	size_t sent_len[MAXF];
	/* Frames waiting to be received. */
	int nin, inpos;
	uint8_t *in[MAXF];
	size_t in_len[MAXF];
	unsigned offload;
	int recv_err; /* returned once the queue is empty, if not 0 */
};

static ssize_t fbe_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	struct fbe *f = (struct fbe *)be;
	size_t len = 0;
	int i;

	assert_true(f->nsent < MAXF);
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	f->sent[f->nsent] = malloc(len ? len : 1);
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
		return f->recv_err ? f->recv_err : -EAGAIN;
	n = f->in_len[f->inpos];
	memcpy(buf, f->in[f->inpos], n < len ? n : len);
	f->inpos++;
	return (ssize_t)n;
}

static int fbe_set_offload(struct netbe *be, unsigned off)
{
	((struct fbe *)be)->offload = off;
	return 0;
}

static void fbe_close(struct netbe *be)
{
	(void)be;
}

static const struct netbe_ops fbe_ops = {
	.name = "fake",
	.send = fbe_send,
	.recv = fbe_recv,
	.set_offload = fbe_set_offload,
	.close = fbe_close,
};

/* A frame for the device to receive: hdr_len bytes of header (hdr may be
 * NULL: zeros), then an Ethernet frame of len bytes to dst. */
static void fbe_queue(struct fbe *f, const uint8_t *hdr, const uint8_t *dst, size_t len)
{
	size_t hl = f->be.hdr_len, i;
	uint8_t *p = calloc(1, hl + len);

	assert_true(f->nin < MAXF);
	if (hdr)
		memcpy(p, hdr, hl);
	memcpy(p + hl, dst, 6);
	for (i = 6; i < len; i++)
		p[hl + i] = (uint8_t)(i * 13 + f->nin);
	f->in[f->nin] = p;
	f->in_len[f->nin++] = hl + len;
}

/* ---- Fixture ---- */

struct fix {
	struct fbe fb;
	struct vnet *sc;
	struct vqt *rx, *tx, *ctrl;
	uint64_t feat;
	int irqs[VNET_NQUEUES];
	int broken;
	unsigned rx_used; /* used entries seen so far */
};

static const uint8_t MAC[6] = { 0x58, 0x9c, 0xfc, 1, 2, 3 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t OTHER[6] = { 0x02, 0, 0, 0, 0, 9 };

static void h_irq(void *arg, int q)
{
	((struct fix *)arg)->irqs[q]++;
}

static void h_broken(void *arg)
{
	((struct fix *)arg)->broken++;
}

static uint64_t h_negotiated(void *arg)
{
	return ((struct fix *)arg)->feat;
}

static struct fix *fix_new(unsigned hdr_len, unsigned offloads, unsigned mtu, uint64_t feat)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct vnet_hooks h = { h_irq, h_broken, h_negotiated, f };

	netbe_init(&f->fb.be, &fbe_ops);
	f->fb.be.hdr_len = hdr_len;
	f->fb.be.offloads = offloads;
	f->feat = feat;
	assert_int_equal(vnet_new(&f->fb.be, MAC, mtu, &h, &f->sc), 0);
	f->rx = vqt_new(16, true, false);
	f->tx = vqt_new(16, true, false);
	f->ctrl = vqt_new(16, true, false);
	vnet_set_queues(f->sc, &f->rx->vq, &f->tx->vq, &f->ctrl->vq);
	return f;
}

static void fix_free(struct fix *f)
{
	int i;

	vnet_free(f->sc);
	vqt_free(f->rx);
	vqt_free(f->tx);
	vqt_free(f->ctrl);
	for (i = 0; i < f->fb.nsent; i++)
		free(f->fb.sent[i]);
	for (i = 0; i < f->fb.nin; i++)
		free(f->fb.in[i]);
	free(f);
}

/* Modern driver: VERSION_1 and what a Linux guest takes. */
#define FEAT_MODERN                                                                                \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_CTRL_VQ) |             \
	 BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_STATUS))

/* Post an rx chain of one writable buffer at gpa. */
static void post_rx(struct fix *f, unsigned idx, uint64_t gpa, uint32_t len)
{
	vqt_desc(f->rx, idx, gpa, len, F_W, 0);
	vqt_offer(f->rx, (uint16_t)idx);
}

/* Transmit: a chain header (ghl bytes at T_BUF) + frame (at T_BUF + 0x100). */
static void post_tx(struct fix *f, unsigned idx, const uint8_t *hdr, unsigned ghl,
		    const uint8_t *frame, uint32_t flen)
{
	uint64_t h = T_BUF + 0x1000ull * idx, d = h + 0x100;

	memcpy(vqt_host(f->tx, h), hdr, ghl);
	memcpy(vqt_host(f->tx, d), frame, flen);
	vqt_desc(f->tx, 2 * idx, h, ghl, F_NEXT, (uint16_t)(2 * idx + 1));
	vqt_desc(f->tx, 2 * idx + 1, d, flen, 0, 0);
	vqt_offer(f->tx, (uint16_t)(2 * idx));
}

static void frame_bytes(uint8_t *p, size_t len)
{
	size_t i;

	memcpy(p, OTHER, 6);
	memcpy(p + 6, MAC, 6);
	for (i = 12; i < len; i++)
		p[i] = (uint8_t)(i ^ 0x5a);
}

/* ---- MD5, MAC, MTU, hostfwd ---- */

static void hex(const uint8_t *d, char *out)
{
	int i;

	for (i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_md5_rfc1321(void **state)
{
	/* RFC 1321 Appendix A.5. */
	static const char *const in[] = {
		"",
		"a",
		"abc",
		"message digest",
		"abcdefghijklmnopqrstuvwxyz",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
		"0",
	};
	static const char *const out[] = {
		"d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
		"900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
		"c3fcd3d76192e4007dfb496cca67e13b", "d174ab98d277d9f5a5611c2c9f419d9f",
		"57edf4a22be3c955ac49da2e2107b67a",
	};
	struct md5_ctx c;
	uint8_t d[16];
	char h[33];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		md5_digest(in[i], strlen(in[i]), d);
		hex(d, h);
		assert_string_equal(h, out[i]);
		/* The same byte by byte. */
		md5_init(&c);
		for (j = 0; j < strlen(in[i]); j++)
			md5_update(&c, in[i] + j, 1);
		md5_final(&c, d);
		hex(d, h);
		assert_string_equal(h, out[i]);
	}
}

static void test_mac_derive(void **state)
{
	uint8_t m[6], m2[6];

	(void)state;
	/* md5("2-0-testvm") = 4bab2b72...: OUI 58:9c:fc, then 4b:ab:2b. */
	netbe_derive_mac(2, 0, "testvm", m);
	assert_memory_equal(m, ((uint8_t[]){ 0x58, 0x9c, 0xfc, 0x4b, 0xab, 0x2b }), 6);
	/* Stable, and different per function and per VM. */
	netbe_derive_mac(2, 0, "testvm", m2);
	assert_memory_equal(m, m2, 6);
	netbe_derive_mac(2, 1, "testvm", m2);
	assert_memory_not_equal(m, m2, 6);
	netbe_derive_mac(2, 0, "othervm", m2);
	assert_memory_not_equal(m, m2, 6);
	/* Unicast, and a name longer than the buffer does not overflow. */
	netbe_derive_mac(31, 7,
			 "a-very-long-name-a-very-long-name-a-very-long-name-a-very-long-"
			 "name-a-very-long-name-a-very-long-name-a-very-long-name-x",
			 m2);
	assert_int_equal(m2[0] & 1, 0);
	netbe_derive_mac(3, 0, NULL, m2);
}

static void test_mac_parse(void **state)
{
	uint8_t m[6];

	(void)state;
	assert_int_equal(netbe_parse_mac("00:a0:98:12:34:56", m), 0);
	assert_memory_equal(m, ((uint8_t[]){ 0, 0xa0, 0x98, 0x12, 0x34, 0x56 }), 6);
	assert_int_equal(netbe_parse_mac("2:0:0:0:0:A", m), 0);
	assert_memory_equal(m, ((uint8_t[]){ 2, 0, 0, 0, 0, 0xa }), 6);
	assert_int_equal(netbe_parse_mac("52-54-00-ab-cd-ef", m), 0);
	assert_int_equal(netbe_parse_mac("01:00:5e:00:00:01", m), -EINVAL); /* multicast */
	assert_int_equal(netbe_parse_mac("00:00:00:00:00:00", m), -EINVAL);
	assert_int_equal(netbe_parse_mac("00:a0:98:12:34", m), -EINVAL);
	assert_int_equal(netbe_parse_mac("00:a0:98:12:34:56:78", m), -EINVAL);
	assert_int_equal(netbe_parse_mac("00:a0:98:12:34:567", m), -EINVAL);
	assert_int_equal(netbe_parse_mac("0g:a0:98:12:34:56", m), -EINVAL);
	assert_int_equal(netbe_parse_mac("", m), -EINVAL);
}

static void test_mtu_parse(void **state)
{
	unsigned mtu = 0;

	(void)state;
	assert_int_equal(netbe_parse_mtu("9000", &mtu), 0);
	assert_int_equal(mtu, 9000);
	assert_int_equal(netbe_parse_mtu("68", &mtu), 0);
	assert_int_equal(netbe_parse_mtu("65535", &mtu), 0);
	assert_int_equal(netbe_parse_mtu("67", &mtu), -EINVAL);
	assert_int_equal(netbe_parse_mtu("65536", &mtu), -EINVAL);
	assert_int_equal(netbe_parse_mtu("abc", &mtu), -EINVAL);
	assert_int_equal(netbe_parse_mtu("", &mtu), -EINVAL);
	assert_int_equal(netbe_parse_mtu(NULL, &mtu), -EINVAL);
	assert_int_equal(mtu, 65535);
}

static void test_hostfwd_parse(void **state)
{
	struct netbe_hostfwd r[4];
	char err[256];

	(void)state;
	assert_int_equal(netbe_parse_hostfwd("tcp::2222-:22", r, 4, err, sizeof(err)), 1);
	assert_false(r[0].udp);
	assert_int_equal(r[0].host_addr, 0);
	assert_int_equal(r[0].host_port, 2222);
	assert_int_equal(r[0].guest_addr, 0);
	assert_int_equal(r[0].guest_port, 22);
	assert_int_equal(netbe_parse_hostfwd("tcp:127.0.0.1:8080-10.0.2.15:80;udp::5353-:53", r, 4,
					     err, sizeof(err)),
			 2);
	assert_int_equal(r[0].host_addr, htonl(0x7f000001));
	assert_int_equal(r[0].guest_addr, htonl(0x0a00020f));
	assert_true(r[1].udp);
	assert_int_equal(r[1].guest_port, 53);
	assert_int_equal(netbe_parse_hostfwd("", r, 4, err, sizeof(err)), 0);
	assert_int_equal(netbe_parse_hostfwd("sctp::1-:2", r, 4, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sctp::1-:2"));
	assert_int_equal(netbe_parse_hostfwd("tcp::0-:22", r, 4, err, sizeof(err)), -EINVAL);
	assert_int_equal(netbe_parse_hostfwd("tcp::65536-:22", r, 4, err, sizeof(err)), -EINVAL);
	assert_int_equal(netbe_parse_hostfwd("tcp::22:22", r, 4, err, sizeof(err)), -EINVAL);
	assert_int_equal(netbe_parse_hostfwd("tcp:1.2.3:22-:22", r, 4, err, sizeof(err)), -EINVAL);
	assert_int_equal(netbe_parse_hostfwd("tcp::1-:2;;tcp::3-:4", r, 4, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(
	    netbe_parse_hostfwd("tcp::1-:2;tcp::3-:4;tcp::5-:6", r, 2, err, sizeof(err)), -E2BIG);
}

/* ---- Features and configuration space ---- */

static void test_features_and_config(void **state)
{
	struct fix *f =
	    fix_new(12, NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6, 9000, FEAT_MODERN);
	struct fix *g = fix_new(0, 0, 0, FEAT_MODERN);
	uint64_t ff = vnet_features(f->sc), gf = vnet_features(g->sc);

	(void)state;
	assert_true(ff & BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(ff & BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_true(ff & BIT(VIRTIO_NET_F_STATUS));
	assert_true(ff & BIT(VIRTIO_NET_F_MTU));
	assert_true(ff & BIT(VIRTIO_NET_F_CSUM));
	assert_true(ff & BIT(VIRTIO_NET_F_GUEST_TSO4));
	assert_true(ff & BIT(VIRTIO_NET_F_HOST_TSO6));
	assert_false(ff & BIT(VIRTIO_NET_F_HOST_ECN)); /* the back end has no ECN */
	assert_false(ff & BIT(VIRTIO_NET_F_HOST_UFO));
	/* No header from the back end: no offloads, and no MTU unless given. */
	assert_false(gf & (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
			   BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO4)));
	assert_false(gf & BIT(VIRTIO_NET_F_MTU));
	/* mac, status, max_virtqueue_pairs, mtu at any width. */
	assert_int_equal(vnet_cfgread(f->sc, 0, 4), 0x01fc9c58);
	assert_int_equal(vnet_cfgread(f->sc, 4, 2), 0x0302);
	assert_int_equal(vnet_cfgread(f->sc, 5, 1), 0x03);
	assert_int_equal(vnet_cfgread(f->sc, 6, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vnet_cfgread(f->sc, 8, 2), 1);
	assert_int_equal(vnet_cfgread(f->sc, 10, 2), 9000);
	assert_int_equal(vnet_cfgread(g->sc, 10, 2), 0);
	/* Out of range reads nothing. */
	assert_int_equal(vnet_cfgread(f->sc, 11, 2), 0);
	assert_int_equal(vnet_cfgread(f->sc, 12, 1), 0);
	assert_int_equal(vnet_cfgread(f->sc, 0xfffffffe, 4), 0);
	/* A modern driver cannot write the MAC; a legacy one can. */
	vnet_cfgwrite(f->sc, 0, 1, 0x02);
	assert_int_equal(vnet_cfgread(f->sc, 0, 1), 0x58);
	f->feat = BIT(VIRTIO_NET_F_MAC);
	vnet_cfgwrite(f->sc, 0, 1, 0x02);
	vnet_cfgwrite(f->sc, 6, 2, 0); /* status stays read-only */
	assert_int_equal(vnet_cfgread(f->sc, 0, 1), 0x02);
	assert_int_equal(vnet_cfgread(f->sc, 6, 2), VIRTIO_NET_S_LINK_UP);
	/* Reset restores the configured address. */
	vnet_reset(f->sc);
	assert_int_equal(vnet_cfgread(f->sc, 0, 1), 0x58);
	fix_free(f);
	fix_free(g);
}

/* ---- Transmit ---- */

static void test_tx_header_conversion(void **state)
{
	uint8_t hdr[12] = { 0 }, fr[100];
	struct fix *f = fix_new(12, NETBE_OFF_CSUM, 0, FEAT_MODERN | BIT(VIRTIO_NET_F_CSUM));
	struct fix *g = fix_new(0, 0, 0, BIT(VIRTIO_NET_F_MAC)); /* legacy, 10-byte header */
	struct vnet_stats st;

	(void)state;
	frame_bytes(fr, sizeof(fr));
	/* A 12-byte header with a partial checksum goes to the back end as is. */
	hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr[6] = 34; /* csum_start */
	hdr[8] = 16; /* csum_offset */
	post_tx(f, 0, hdr, 12, fr, sizeof(fr));
	post_tx(f, 1, hdr, 12, fr, 60);
	vnet_notify(f->sc, VNET_Q_TX);
	assert_int_equal(f->fb.nsent, 2);
	assert_int_equal(f->fb.sent_len[0], 12 + sizeof(fr));
	assert_memory_equal(f->fb.sent[0], hdr, 10);
	assert_memory_equal(f->fb.sent[0] + 12, fr, sizeof(fr));
	assert_int_equal(f->fb.sent_len[1], 12 + 60);
	assert_int_equal(vqt_used_idx(f->tx), 2);
	assert_int_equal(vqt_used_len(f->tx, 0), 0);
	assert_int_equal(f->irqs[VNET_Q_TX], 1); /* one interrupt for the batch */
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.tx_frames, 2);
	assert_int_equal(st.tx_bytes, sizeof(fr) + 60);
	/* Without a back-end header the 10-byte one is stripped. */
	memset(hdr, 0, sizeof(hdr));
	post_tx(g, 0, hdr, 10, fr, sizeof(fr));
	vnet_notify(g->sc, VNET_Q_TX);
	assert_int_equal(g->fb.nsent, 1);
	assert_int_equal(g->fb.sent_len[0], sizeof(fr));
	assert_memory_equal(g->fb.sent[0], fr, sizeof(fr));
	fix_free(f);
	fix_free(g);
}

static void test_tx_any_layout(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);
	uint8_t fr[80];
	unsigned i;

	(void)state;
	frame_bytes(fr, sizeof(fr));
	/* Header and frame in one buffer, then split over 7-byte pieces with
	 * the header straddling two of them. */
	memset(vqt_host(f->tx, T_BUF), 0, 12);
	memcpy(vqt_host(f->tx, T_BUF + 12), fr, sizeof(fr));
	vqt_desc(f->tx, 0, T_BUF, 12 + sizeof(fr), 0, 0);
	vqt_offer(f->tx, 0);
	for (i = 0; i < 14; i++)
		vqt_desc(f->tx, 1 + i, T_BUF + 7 * i, 7, i < 13 ? F_NEXT : 0, (uint16_t)(2 + i));
	vqt_offer(f->tx, 1);
	vnet_notify(f->sc, VNET_Q_TX);
	assert_int_equal(f->fb.nsent, 2);
	assert_int_equal(f->fb.sent_len[0], 12 + sizeof(fr));
	assert_memory_equal(f->fb.sent[0] + 12, fr, sizeof(fr));
	assert_int_equal(f->fb.sent_len[1], 14 * 7);
	assert_memory_equal(f->fb.sent[1] + 12, fr, sizeof(fr));
	fix_free(f);
}

static void test_tx_bad_headers(void **state)
{
	struct fix *f = fix_new(12, NETBE_OFF_CSUM | NETBE_OFF_TSO4, 0, FEAT_MODERN);
	uint8_t hdr[12] = { 0 }, fr[200];
	struct vnet_stats st;
	unsigned n = 0;

	(void)state;
	frame_bytes(fr, sizeof(fr));
	/* Partial checksum without CSUM negotiated. */
	hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	post_tx(f, n++, hdr, 12, fr, sizeof(fr));
	/* DATA_VALID is for the receive side. */
	hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	post_tx(f, n++, hdr, 12, fr, sizeof(fr));
	/* TSO without HOST_TSO4. */
	hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	post_tx(f, n++, hdr, 12, fr, sizeof(fr));
	/* A runt and a chain shorter than its header. */
	memset(hdr, 0, sizeof(hdr));
	post_tx(f, n++, hdr, 12, fr, 13);
	post_tx(f, n++, hdr, 8, fr, 0);
	vnet_notify(f->sc, VNET_Q_TX);
	assert_int_equal(f->fb.nsent, 0);
	assert_int_equal(vqt_used_idx(f->tx), n); /* every buffer is given back */
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.tx_bad, n);
	assert_int_equal(f->broken, 0);
	fix_free(f);
}

static void test_tx_check_hdr(void **state)
{
	uint64_t all =
	    BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6);
	uint8_t h[10] = { 0 };

	(void)state;
	assert_int_equal(vnet_check_tx_hdr(h, 60, 0), 0);
	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h[6] = 58; /* csum_start + csum_offset + 2 must fit in 60 */
	h[8] = 0;
	assert_int_equal(vnet_check_tx_hdr(h, 60, all), 0);
	h[8] = 1;
	assert_int_equal(vnet_check_tx_hdr(h, 60, all), -EINVAL);
	h[6] = 0xff;
	h[7] = 0xff;
	h[8] = 0xff;
	h[9] = 0xff;
	assert_int_equal(vnet_check_tx_hdr(h, 60, all), -EINVAL);
	/* TSO: needs the feature, NEEDS_CSUM, a segment size, headers inside. */
	memset(h, 0, sizeof(h));
	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	h[2] = 54;   /* hdr_len */
	h[4] = 0xa8; /* gso_size 1448 */
	h[5] = 0x05;
	h[6] = 34;
	h[8] = 16;
	assert_int_equal(vnet_check_tx_hdr(h, 3000, all), 0);
	assert_int_equal(vnet_check_tx_hdr(h, 3000, all & ~BIT(VIRTIO_NET_F_HOST_TSO4)), -EINVAL);
	assert_int_equal(vnet_check_tx_hdr(h, 53, all), -EINVAL);
	h[1] = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(vnet_check_tx_hdr(h, 3000, all), -EINVAL); /* no HOST_ECN */
	assert_int_equal(vnet_check_tx_hdr(h, 3000, all | BIT(VIRTIO_NET_F_HOST_ECN)), 0);
	h[1] = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(vnet_check_tx_hdr(h, 3000, all), -EINVAL);
	h[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	h[4] = h[5] = 0;
	assert_int_equal(vnet_check_tx_hdr(h, 3000, all), -EINVAL);
	h[4] = 1;
	h[0] = 0;
	assert_int_equal(vnet_check_tx_hdr(h, 3000, all), -EINVAL);
	memset(h, 0, sizeof(h));
	h[1] = VIRTIO_NET_HDR_GSO_ECN; /* ECN alone */
	assert_int_equal(vnet_check_tx_hdr(h, 60, all | BIT(VIRTIO_NET_F_HOST_ECN)), -EINVAL);
}

static void test_tx_bad_descriptor_breaks(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);

	(void)state;
	/* next out of range: the ring is broken, the device says so. */
	vqt_desc(f->tx, 0, T_BUF, 12, F_NEXT, 99);
	vqt_offer(f->tx, 0);
	vnet_notify(f->sc, VNET_Q_TX);
	assert_int_equal(f->broken, 1);
	assert_int_equal(f->fb.nsent, 0);
	fix_free(f);
}

/* ---- Receive ---- */

static void test_rx_waits_for_kick(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);
	uint8_t *p;

	(void)state;
	fbe_queue(&f->fb, NULL, MAC, 100);
	post_rx(f, 0, T_BUF, 2048);
	/* Until the driver kicks the receive queue nothing is read. */
	assert_false(f->fb.be.rx_on);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(vqt_used_len(f->rx, 0), 12 + 100);
	p = vqt_host(f->rx, T_BUF);
	assert_int_equal(p[10], 1); /* num_buffers */
	assert_int_equal(p[11], 0);
	assert_memory_equal(p + 12, f->fb.in[0] + 12, 100);
	assert_int_equal(f->irqs[VNET_Q_RX], 1);
	/* Drained: the back end is watched again. */
	assert_true(f->fb.be.rx_on);
	fix_free(f);
}

static void test_rx_no_buffers_stops_polling(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);
	struct vnet_stats st;

	(void)state;
	vnet_notify(f->sc, VNET_Q_RX);
	assert_true(f->fb.be.rx_on);
	fbe_queue(&f->fb, NULL, MAC, 200);
	fbe_queue(&f->fb, NULL, MAC, 300);
	/* No buffers: the first frame waits and the fd is no longer watched. */
	f->fb.be.rx_cb(f->fb.be.rx_arg);
	assert_false(f->fb.be.rx_on);
	assert_int_equal(vqt_used_idx(f->rx), 0);
	/* Another call changes nothing and loses nothing. */
	f->fb.be.rx_cb(f->fb.be.rx_arg);
	assert_int_equal(f->fb.inpos, 1);
	/* One buffer and a kick: the waiting frame goes; the second waits. */
	post_rx(f, 0, T_BUF, 2048);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(vqt_used_len(f->rx, 0), 12 + 200);
	assert_false(f->fb.be.rx_on);
	post_rx(f, 1, T_BUF + 0x1000, 2048);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 2);
	assert_int_equal(vqt_used_len(f->rx, 1), 12 + 300);
	assert_true(f->fb.be.rx_on);
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.rx_frames, 2);
	assert_int_equal(st.rx_bytes, 500);
	fix_free(f);
}

static void test_rx_mergeable(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN | BIT(VIRTIO_NET_F_MRG_RXBUF));
	uint8_t *src, *p;
	unsigned i;

	(void)state;
	fbe_queue(&f->fb, NULL, MAC, 3000);
	src = f->fb.in[0] + 12;
	/* Two 1024-byte buffers: not enough, the frame is held half-copied. */
	post_rx(f, 0, T_BUF, 1024);
	post_rx(f, 1, T_BUF + 0x1000, 1024);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 0);
	assert_false(f->fb.be.rx_on);
	/* A third: all three are used, num_buffers says 3. */
	post_rx(f, 2, T_BUF + 0x2000, 1024);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(vqt_used_id(f->rx, i), i);
	assert_int_equal(vqt_used_len(f->rx, 0), 1024);
	assert_int_equal(vqt_used_len(f->rx, 1), 1024);
	assert_int_equal(vqt_used_len(f->rx, 2), 3000 + 12 - 2048);
	p = vqt_host(f->rx, T_BUF);
	assert_int_equal(p[10] | p[11] << 8, 3);
	assert_memory_equal(p + 12, src, 1012);
	assert_memory_equal(vqt_host(f->rx, T_BUF + 0x1000), src + 1012, 1024);
	assert_memory_equal(vqt_host(f->rx, T_BUF + 0x2000), src + 2036, 3000 - 2036);
	assert_int_equal(f->irqs[VNET_Q_RX], 1);
	fix_free(f);
}

static void test_rx_mergeable_header_split(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN | BIT(VIRTIO_NET_F_MRG_RXBUF));
	uint8_t *p;

	(void)state;
	fbe_queue(&f->fb, NULL, MAC, 64);
	/* One chain of a 5-byte and a 100-byte buffer: num_buffers at bytes
	 * 10-11 lands in the second. */
	vqt_desc(f->rx, 0, T_BUF, 5, F_W | F_NEXT, 1);
	vqt_desc(f->rx, 1, T_BUF + 0x100, 100, F_W, 0);
	vqt_offer(f->rx, 0);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(vqt_used_len(f->rx, 0), 12 + 64);
	p = vqt_host(f->rx, T_BUF + 0x100);
	assert_int_equal(p[5], 1);
	assert_int_equal(p[6], 0);
	assert_memory_equal(p + 7, f->fb.in[0] + 12, 64);
	fix_free(f);
}

static void test_rx_too_big_without_mrg(void **state)
{
	struct fix *f = fix_new(0, 0, 0, BIT(VIRTIO_NET_F_MAC)); /* legacy: 10-byte header */
	struct vnet_stats st;

	(void)state;
	fbe_queue(&f->fb, NULL, MAC, 1500);
	fbe_queue(&f->fb, NULL, MAC, 90);
	post_rx(f, 0, T_BUF, 100);
	vnet_notify(f->sc, VNET_Q_RX);
	/* The big frame is dropped; the buffer is kept for the small one. */
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(vqt_used_len(f->rx, 0), 10 + 90);
	assert_memory_equal(vqt_host(f->rx, T_BUF + 10), f->fb.in[1], 90);
	/* The header the back end could not give is zeros. */
	assert_memory_equal(vqt_host(f->rx, T_BUF), ((uint8_t[10]){ 0 }), 10);
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.rx_too_big, 1);
	assert_int_equal(st.rx_frames, 1);
	fix_free(f);
}

static void test_rx_mergeable_tiny_buffers(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN | BIT(VIRTIO_NET_F_MRG_RXBUF));
	struct vnet_stats st;
	unsigned i;

	(void)state;
	/* A first buffer smaller than the header: dropped, buffer returned. */
	fbe_queue(&f->fb, NULL, MAC, 100);
	post_rx(f, 0, T_BUF, 4);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(vqt_used_len(f->rx, 0), 0);
	/* A 1000-byte frame needs 12 + 1000 bytes: 15 buffers of 64 (960)
	 * are not enough, so it waits for a 16th. */
	fbe_queue(&f->fb, NULL, MAC, 1000);
	for (i = 1; i < 16; i++)
		post_rx(f, i, T_BUF + 0x100 * i, 64);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	post_rx(f, 0, T_BUF + 0x2000, 64);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 17);
	assert_int_equal(vqt_host(f->rx, T_BUF + 0x100)[10], 16);
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.rx_too_big, 1);
	assert_int_equal(st.rx_frames, 1);
	fix_free(f);
}

static void test_rx_offloads_follow_guest(void **state)
{
	unsigned all = NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6 | NETBE_OFF_ECN;
	struct fix *f = fix_new(
	    12, all, 0, FEAT_MODERN | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4));
	uint8_t hdr[12] = { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6 };
	struct vnet_stats st;

	(void)state;
	vnet_notify(f->sc, VNET_Q_RX);
	/* The back end is told what the guest accepted. */
	assert_int_equal(f->fb.offload, NETBE_OFF_CSUM | NETBE_OFF_TSO4);
	/* A TSO6 frame it did not accept is dropped; TSO4 passes. */
	fbe_queue(&f->fb, hdr, MAC, 100);
	hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	fbe_queue(&f->fb, hdr, MAC, 100);
	post_rx(f, 0, T_BUF, 2048);
	post_rx(f, 1, T_BUF + 0x1000, 2048);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(vqt_host(f->rx, T_BUF)[1], VIRTIO_NET_HDR_GSO_TCPV4);
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.rx_bad, 1);
	/* Reset: nothing offloaded until the next negotiation. */
	vnet_reset(f->sc);
	assert_int_equal(f->fb.offload, 0);
	assert_false(f->fb.be.rx_on);
	fix_free(f);
}

static void test_rx_bad_descriptor(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);

	(void)state;
	fbe_queue(&f->fb, NULL, MAC, 100);
	/* A buffer that straddles the end of guest RAM. */
	vqt_desc(f->rx, 0, T_RAM_END - 50, 100, F_W, 0);
	vqt_offer(f->rx, 0);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(f->broken, 1);
	assert_int_equal(vqt_used_idx(f->rx), 0);
	assert_false(f->fb.be.rx_on);
	/* The back end's callback does not touch the broken ring. */
	f->fb.be.rx_cb(f->fb.be.rx_arg);
	assert_int_equal(f->broken, 1);
	fix_free(f);
}

static void test_rx_backend_error_stops(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);
	struct vnet_stats st;

	(void)state;
	f->fb.recv_err = -EIO;
	post_rx(f, 0, T_BUF, 2048);
	vnet_notify(f->sc, VNET_Q_RX);
	/* No spinning on a back end that keeps failing. */
	assert_false(f->fb.be.rx_on);
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.rx_errors, 1);
	assert_int_equal(f->broken, 0);
	fix_free(f);
}

/* ---- Control queue and the filter ---- */

/* Send class/cmd with data; return the ack byte (0xee when none). */
static int ctrl(struct fix *f, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
	uint8_t *b = vqt_host(f->ctrl, T_BUF);
	uint8_t *ack = vqt_host(f->ctrl, T_BUF + 0x8000);
	uint16_t used = vqt_used_idx(f->ctrl);

	b[0] = cls;
	b[1] = cmd;
	memcpy(b + 2, data, len);
	*ack = 0xee;
	vqt_desc(f->ctrl, 0, T_BUF, 2 + len, F_NEXT, 1);
	vqt_desc(f->ctrl, 1, T_BUF + 0x8000, 1, F_W, 0);
	vqt_offer(f->ctrl, 0);
	vnet_notify(f->sc, VNET_Q_CTRL);
	assert_int_equal(vqt_used_idx(f->ctrl), (uint16_t)(used + 1));
	assert_int_equal(vqt_used_len(f->ctrl, used), 1);
	return *ack;
}

static uint32_t put_table(uint8_t *p, const uint8_t (*macs)[6], uint32_t n)
{
	memcpy(p, &n, 4);
	if (n)
		memcpy(p + 4, macs, 6 * n);
	return 4 + 6 * n;
}

static void test_ctrl_commands(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);
	static const uint8_t mc[1][6] = { { 0x33, 0x33, 0, 0, 0, 1 } };
	uint8_t on = 1, b[64], m[6] = { 0x02, 1, 2, 3, 4, 5 };
	struct vnet_stats st;
	uint32_t n;

	(void)state;
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
			 VIRTIO_NET_OK);
	/* Malformed: no data, two bytes, a value that is not 0/1, unknown
	 * commands and classes. */
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, b, 2),
			 VIRTIO_NET_ERR);
	on = 2;
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, 5, &on, 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, 2 /* VLAN */, 0, b, 2), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, 0x7f, 0, b, 0), VIRTIO_NET_ERR);
	/* MAC table: empty unicast, one multicast. */
	n = put_table(b, NULL, 0);
	n += put_table(b + n, mc, 1);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, b, n),
			 VIRTIO_NET_OK);
	/* Trailing bytes, a count past the data, a missing second table. */
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, b, n + 1),
			 VIRTIO_NET_ERR);
	memcpy(b, &(uint32_t){ 0x40000000 }, 4);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, b, n),
			 VIRTIO_NET_ERR);
	memcpy(b, &(uint32_t){ 0 }, 4);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, b, 4),
			 VIRTIO_NET_ERR);
	/* Address set: unicast only, exactly six bytes. */
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, m, 6),
			 VIRTIO_NET_OK);
	assert_int_equal(vnet_cfgread(f->sc, 0, 1), 0x02);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, m, 5),
			 VIRTIO_NET_ERR);
	m[0] = 1;
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, m, 6),
			 VIRTIO_NET_ERR);
	/* Guest offloads were not negotiated. */
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, b, 8), VIRTIO_NET_ERR);
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.ctrl_ok, 4);
	assert_int_equal(st.ctrl_err, 12);
	fix_free(f);
}

static void test_ctrl_needs_features(void **state)
{
	struct fix *f = fix_new(12, 0, 0, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CTRL_VQ));
	uint8_t on = 0, b[8] = { 0 };

	(void)state;
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, b, 8),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, b, 6),
			 VIRTIO_NET_ERR);
	fix_free(f);
}

static void test_ctrl_no_ack_byte(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);
	uint8_t *b = vqt_host(f->ctrl, T_BUF);

	(void)state;
	/* Only device-readable bytes, then a lone writable one with no
	 * command: neither crashes; the first is answered with length 0. */
	b[0] = 0;
	b[1] = 0;
	b[2] = 1;
	vqt_desc(f->ctrl, 0, T_BUF, 3, 0, 0);
	vqt_offer(f->ctrl, 0);
	vqt_desc(f->ctrl, 1, T_BUF + 0x100, 1, F_W, 0);
	vqt_offer(f->ctrl, 1);
	vnet_notify(f->sc, VNET_Q_CTRL);
	assert_int_equal(vqt_used_idx(f->ctrl), 2);
	assert_int_equal(vqt_used_len(f->ctrl, 0), 0);
	assert_int_equal(vqt_used_len(f->ctrl, 1), 1);
	assert_int_equal(*vqt_host(f->ctrl, T_BUF + 0x100), VIRTIO_NET_ERR);
	fix_free(f);
}

static void test_ctrl_guest_offloads(void **state)
{
	unsigned all = NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6;
	struct fix *f = fix_new(12, all, 0,
				FEAT_MODERN | BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |
				    BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4));
	uint64_t off = BIT(VIRTIO_NET_F_GUEST_CSUM);

	(void)state;
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(f->fb.offload, NETBE_OFF_CSUM | NETBE_OFF_TSO4);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, &off, 8), VIRTIO_NET_OK);
	assert_int_equal(f->fb.offload, NETBE_OFF_CSUM);
	/* TSO6 was never negotiated: refused, nothing changes. */
	off = BIT(VIRTIO_NET_F_GUEST_TSO6);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, &off, 8), VIRTIO_NET_ERR);
	assert_int_equal(f->fb.offload, NETBE_OFF_CSUM);
	off = 0;
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, &off, 8), VIRTIO_NET_OK);
	assert_int_equal(f->fb.offload, 0);
	/* The receive path now refuses frames needing a checksum. */
	fbe_queue(&f->fb, (uint8_t[12]){ VIRTIO_NET_HDR_F_NEEDS_CSUM }, MAC, 100);
	post_rx(f, 0, T_BUF, 2048);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 0);
	fix_free(f);
}

static void test_rx_filter(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN);
	static const uint8_t uc[1][6] = { { 0x02, 0xaa, 0, 0, 0, 1 } };
	static const uint8_t mc[1][6] = { { 0x01, 0x00, 0x5e, 0, 0, 1 } };
	static const uint8_t mc_other[6] = { 0x01, 0x00, 0x5e, 0, 0, 2 };
	uint8_t off = 0, b[64];
	struct vnet_stats st;
	uint32_t n;
	unsigned i;

	(void)state;
	/* Promiscuous until the driver says otherwise. */
	fbe_queue(&f->fb, NULL, OTHER, 60);
	post_rx(f, 0, T_BUF, 2048);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &off, 1),
			 VIRTIO_NET_OK);
	n = put_table(b, uc, 1);
	n += put_table(b + n, mc, 1);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, b, n),
			 VIRTIO_NET_OK);
	fbe_queue(&f->fb, NULL, OTHER, 61);    /* dropped */
	fbe_queue(&f->fb, NULL, MAC, 62);      /* ours */
	fbe_queue(&f->fb, NULL, BCAST, 63);    /* broadcast */
	fbe_queue(&f->fb, NULL, uc[0], 64);    /* in the unicast table */
	fbe_queue(&f->fb, NULL, mc[0], 65);    /* in the multicast table */
	fbe_queue(&f->fb, NULL, mc_other, 66); /* dropped */
	for (i = 1; i < 8; i++)
		post_rx(f, i, T_BUF + 0x1000 * i, 2048);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 5);
	assert_int_equal(vqt_used_len(f->rx, 1), 12 + 62);
	assert_int_equal(vqt_used_len(f->rx, 4), 12 + 65);
	vnet_get_stats(f->sc, &st);
	assert_int_equal(st.rx_filtered, 2);
	/* More entries than the table keeps: that class is accepted whole. */
	memset(b, 0, sizeof(b));
	n = 4 + 4 + 6 * (VNET_MAC_TABLE + 1);
	{
		uint8_t *big = calloc(1, n);
		uint8_t *cb = vqt_host(f->ctrl, T_BUF);
		uint32_t cnt = VNET_MAC_TABLE + 1;

		memcpy(big + 4, &cnt, 4);
		for (i = 0; i <= VNET_MAC_TABLE; i++)
			big[8 + 6 * i] = 1;
		cb[0] = VIRTIO_NET_CTRL_MAC;
		cb[1] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
		memcpy(cb + 2, big, n);
		vqt_desc(f->ctrl, 0, T_BUF, 2 + n, F_NEXT, 1);
		vqt_desc(f->ctrl, 1, T_BUF + 0x8000, 1, F_W, 0);
		vqt_offer(f->ctrl, 0);
		vnet_notify(f->sc, VNET_Q_CTRL);
		assert_int_equal(*vqt_host(f->ctrl, T_BUF + 0x8000), VIRTIO_NET_OK);
		free(big);
	}
	fbe_queue(&f->fb, NULL, mc_other, 67);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 6);
	assert_int_equal(vqt_used_len(f->rx, 5), 12 + 67);
	fix_free(f);
}

static void test_reset_drops_held(void **state)
{
	struct fix *f = fix_new(12, 0, 0, FEAT_MODERN | BIT(VIRTIO_NET_F_MRG_RXBUF));

	(void)state;
	fbe_queue(&f->fb, NULL, MAC, 3000);
	post_rx(f, 0, T_BUF, 1024);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 0);
	/* Reset with a frame half-copied into a held buffer: forgotten, and
	 * nothing is read until the next receive kick. */
	vnet_reset(f->sc);
	vq_reset(&f->rx->vq);
	f->rx->vq.size = 16;
	f->rx->vq.desc_gpa = T_DESC;
	f->rx->vq.avail_gpa = T_AVAIL;
	f->rx->vq.used_gpa = T_USED;
	assert_int_equal(vq_enable(&f->rx->vq), 0);
	memset(vqt_host(f->rx, T_AVAIL), 0, 4);
	f->rx->avail_idx = 0;
	fbe_queue(&f->fb, NULL, MAC, 100);
	f->fb.be.rx_cb(f->fb.be.rx_arg);
	assert_int_equal(f->fb.inpos, 1);
	post_rx(f, 0, T_BUF, 1024);
	vnet_notify(f->sc, VNET_Q_RX);
	assert_int_equal(vqt_used_idx(f->rx), 1);
	assert_int_equal(vqt_used_len(f->rx, 0), 12 + 100);
	fix_free(f);
}

static void test_no_backend(void **state)
{
	struct vnet_hooks h = { 0 };
	struct vnet *sc;
	struct vqt *tx = vqt_new(8, false, false);
	uint8_t fr[60] = { 0 };

	(void)state;
	assert_int_equal(vnet_new(NULL, MAC, 0, &h, &sc), 0);
	vnet_set_queues(sc, NULL, &tx->vq, NULL);
	memcpy(vqt_host(tx, T_BUF + 12), fr, sizeof(fr));
	vqt_desc(tx, 0, T_BUF, 12 + 60, 0, 0);
	vqt_offer(tx, 0);
	vnet_notify(sc, VNET_Q_TX);
	vnet_notify(sc, VNET_Q_RX);
	vnet_notify(sc, VNET_Q_CTRL);
	vnet_notify(sc, 7);
	/* Frames go nowhere but buffers come back. */
	assert_int_equal(vqt_used_idx(tx), 1);
	vnet_free(sc);
	vqt_free(tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_rfc1321),
		cmocka_unit_test(test_mac_derive),
		cmocka_unit_test(test_mac_parse),
		cmocka_unit_test(test_mtu_parse),
		cmocka_unit_test(test_hostfwd_parse),
		cmocka_unit_test(test_features_and_config),
		cmocka_unit_test(test_tx_header_conversion),
		cmocka_unit_test(test_tx_any_layout),
		cmocka_unit_test(test_tx_bad_headers),
		cmocka_unit_test(test_tx_check_hdr),
		cmocka_unit_test(test_tx_bad_descriptor_breaks),
		cmocka_unit_test(test_rx_waits_for_kick),
		cmocka_unit_test(test_rx_no_buffers_stops_polling),
		cmocka_unit_test(test_rx_mergeable),
		cmocka_unit_test(test_rx_mergeable_header_split),
		cmocka_unit_test(test_rx_too_big_without_mrg),
		cmocka_unit_test(test_rx_mergeable_tiny_buffers),
		cmocka_unit_test(test_rx_offloads_follow_guest),
		cmocka_unit_test(test_rx_bad_descriptor),
		cmocka_unit_test(test_rx_backend_error_stops),
		cmocka_unit_test(test_ctrl_commands),
		cmocka_unit_test(test_ctrl_needs_features),
		cmocka_unit_test(test_ctrl_no_ack_byte),
		cmocka_unit_test(test_ctrl_guest_offloads),
		cmocka_unit_test(test_rx_filter),
		cmocka_unit_test(test_reset_drops_held),
		cmocka_unit_test(test_no_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
