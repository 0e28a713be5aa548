/* Network back ends: where a guest NIC's Ethernet frames go and come from.
 *
 *   tap    any tap interface (tapN or another name), through /dev/net/tun with
 *          IFF_TAP | IFF_NO_PI and, when the kernel has it, IFF_VNET_HDR
 *   slirp  user-mode networking (libslirp): guest network 10.0.2.0/24,
 *          gateway and host loopback 10.0.2.2, DNS 10.0.2.3, DHCP from
 *          10.0.2.15, optional hostfwd rules; no privileges needed
 *
 * A front end (virtio-net, e1000) opens one with netbe_open(), sends frames
 * with netbe_send() and pulls received ones with netbe_recv() when its
 * receive callback says some may be waiting.  The callback runs on the main
 * event loop; netbe_rx_enable(false) stops it until the front end has room
 * again (no busy polling while the guest has no receive buffers).
 *
 * Frames to and from a back end whose hdr_len is not 0 start with a
 * virtio-net header of that many bytes (virtio 1.2 §5.1.6: flags, gso_type,
 * hdr_len, gso_size, csum_start, csum_offset and, at 12 bytes, num_buffers);
 * its offloads say which of those the back end can take.
 *
 * struct netbe is public so that the unit tests and fuzz targets can build
 * fake back ends from their own netbe_ops. */
#ifndef BHYVE_NET_NETBE_H
#define BHYVE_NET_NETBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct config;
struct mevent;
struct mevent_loop;
struct netbe;

/* The largest frame a back end passes either way, virtio-net header
 * excluded: a 64 KiB GSO packet plus an Ethernet header and a VLAN tag. */
#define NETBE_MAX_FRAME (65535 + 14 + 4)
#define NETBE_MIN_FRAME 14 /* an Ethernet header */
#define NETBE_HDR_LEN	12 /* the largest virtio-net header */

/* Offloads (the tap's TUN_F_* meaning, as virtio-net features name them). */
#define NETBE_OFF_CSUM 0x01
#define NETBE_OFF_TSO4 0x02
#define NETBE_OFF_TSO6 0x04
#define NETBE_OFF_ECN  0x08

typedef void netbe_rx_cb(void *arg);

struct netbe_ops {
	const char *name;
	/* One frame (header included when hdr_len), gathered from iov.  The
	 * frame's length or a negative errno; may drop silently. */
	ssize_t (*send)(struct netbe *be, const struct iovec *iov, int iovcnt);
	/* One frame into buf: its length (header included), -EAGAIN when none
	 * waits, another negative errno for a frame lost.  A frame longer than
	 * len is cut to len; the length returned is then > len when known. */
	ssize_t (*recv)(struct netbe *be, void *buf, size_t len);
	/* Offloads the guest accepts for received frames (NETBE_OFF_*). */
	int (*set_offload)(struct netbe *be, unsigned off);
	void (*close)(struct netbe *be);
};

struct netbe {
	const struct netbe_ops *ops;
	unsigned hdr_len;  /* 0, 10 or 12 */
	unsigned offloads; /* NETBE_OFF_* the back end can take */
	/* Readable when frames may wait (a tap fd, an eventfd); -1 none. */
	int rx_fd;
	struct mevent *rx_ev;
	netbe_rx_cb *rx_cb;
	void *rx_arg;
	bool rx_on;
};

/* Open the back end named by value (the "backend" key): "slirp" or a tap
 * interface name.  node is the device's configuration node, for the back
 * end's own keys (slirp: hostfwd, restrict; both: mtu).  loop receives the
 * back end's fd.  On error err holds "backend=VALUE: reason" (or names the
 * key at fault) and a negative errno is returned. */
int netbe_open(const char *value, const struct config *cfg, const char *node,
	       struct mevent_loop *loop, struct netbe **out, char *err, size_t errlen);
void netbe_close(struct netbe *be);

/* For back-end constructors: zero be, set ops and no rx fd. */
void netbe_init(struct netbe *be, const struct netbe_ops *ops);
/* Register be->rx_fd on loop (disabled until netbe_rx_enable). */
int netbe_attach_loop(struct netbe *be, struct mevent_loop *loop);

/* Where to report that frames may be waiting; starts disabled. */
void netbe_set_rx_cb(struct netbe *be, netbe_rx_cb *cb, void *arg);
void netbe_rx_enable(struct netbe *be, bool on);
ssize_t netbe_send(struct netbe *be, const struct iovec *iov, int iovcnt);
ssize_t netbe_recv(struct netbe *be, void *buf, size_t len);
int netbe_set_offload(struct netbe *be, unsigned off);

/* ---- MAC addresses (bhyve(8) "mac=") ---- */

/* "xx:xx:xx:xx:xx:xx" (one or two hex digits per byte, ':' or '-'); a
 * multicast or all-zero address is -EINVAL. */
int netbe_parse_mac(const char *s, uint8_t mac[6]);
/* bhyve's default: OUI 58:9c:fc, then the first three bytes of the MD5 of
 * "<slot>-<func>-<vmname>", so the address stays the same across runs. */
void netbe_derive_mac(int slot, int func, const char *vmname, uint8_t mac[6]);

/* ---- MTU ("mtu=") ---- */

#define NETBE_MTU_MIN 68
#define NETBE_MTU_MAX 65535
/* A decimal number in NETBE_MTU_MIN..NETBE_MTU_MAX, else -EINVAL. */
int netbe_parse_mtu(const char *s, unsigned *mtu);

/* ---- slirp port forwarding ("hostfwd=") ---- */

#define NETBE_MAX_HOSTFWD 32

struct netbe_hostfwd {
	uint32_t host_addr; /* IPv4, network order; 0 = any */
	uint16_t host_port;
	uint32_t guest_addr; /* network order; 0 = the first DHCP address */
	uint16_t guest_port;
	bool udp;
};

/* "tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT[;udp:...]" (addresses may be
 * empty, ports 1-65535).  Returns the number of rules, or -EINVAL / -E2BIG
 * with the offending rule in err. */
int netbe_parse_hostfwd(const char *s, struct netbe_hostfwd *out, int max, char *err,
			size_t errlen);

#endif
