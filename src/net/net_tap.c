/* The tap back end: an existing tap interface attached through /dev/net/tun
 * (Linux Documentation/networking/tuntap.rst).
 *
 * The interface must exist (made by "ip tuntap add" or a network manager)
 * and be free: the runner never creates interfaces, so a mistyped name is an
 * error, not a new unconfigured device.  With IFF_VNET_HDR every frame
 * carries a 12-byte virtio-net header (TUNSETVNETHDRSZ); the checksum and
 * segmentation offloads the kernel accepts (TUNSETOFFLOAD) are what the
 * front end may offer the guest.  Received offloads start off and follow
 * what the guest negotiates (netbe_set_offload). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/netbe.h"
#include "net/netbe_impl.h"

struct net_tap {
	struct netbe be; /* first: the interface hands us &be */
	int fd;
	char name[IFNAMSIZ];
};

static struct net_tap *to_tap(struct netbe *be)
{
	return (struct net_tap *)be;
}

static ssize_t tap_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do {
		n = writev(to_tap(be)->fd, iov, iovcnt);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t tap_recv(struct netbe *be, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(to_tap(be)->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static unsigned tun_flags(unsigned off)
{
	unsigned f = 0;

	/* The kernel takes segmentation only together with checksums. */
	if (off & NETBE_OFF_CSUM) {
		f |= TUN_F_CSUM;
		if (off & NETBE_OFF_TSO4)
			f |= TUN_F_TSO4;
		if (off & NETBE_OFF_TSO6)
			f |= TUN_F_TSO6;
		if ((off & NETBE_OFF_ECN) && (f & (TUN_F_TSO4 | TUN_F_TSO6)))
			f |= TUN_F_TSO_ECN;
	}
	return f;
}

static int tap_set_offload(struct netbe *be, unsigned off)
{
	if (ioctl(to_tap(be)->fd, TUNSETOFFLOAD, (unsigned long)tun_flags(off)) < 0)
		return -errno;
	return 0;
}

static void tap_close(struct netbe *be)
{
	struct net_tap *t = to_tap(be);

	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct netbe_ops tap_ops = {
	.name = "tap",
	.send = tap_send,
	.recv = tap_recv,
	.set_offload = tap_set_offload,
	.close = tap_close,
};

/* The largest offload set the kernel accepts, tried from the richest. */
static unsigned probe_offloads(int fd)
{
	static const unsigned sets[] = {
		NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6 | NETBE_OFF_ECN,
		NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6,
		NETBE_OFF_CSUM,
	};
	unsigned i, got = 0;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags(sets[i])) == 0) {
			got = sets[i];
			break;
		}
	}
	/* Nothing offloaded towards the guest until it negotiates. */
	if (ioctl(fd, TUNSETOFFLOAD, 0ul) < 0)
		got = 0;
	return got;
}

static const char *attach_error(int e)
{
	switch (e) {
	case EBUSY:
		return "tap interface busy (in use by another process)";
	case EINVAL:
		return "not a tap interface";
	case EPERM:
	case EACCES:
		return "permission denied (needs CAP_NET_ADMIN or the tap's owner)";
	default:
		return strerror(e);
	}
}

/* TUNSETIFF on an existing interface, with a virtio-net header when the
 * kernel has them. */
static int tap_attach(struct net_tap *t, char *err, size_t errlen)
{
	unsigned int features = 0;
	struct ifreq ifr;
	int hdr = NETBE_HDR_LEN;

	if (ioctl(t->fd, TUNGETFEATURES, &features) < 0)
		features = IFF_TAP | IFF_NO_PI;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (features & IFF_VNET_HDR));
	memcpy(ifr.ifr_name, t->name, sizeof(ifr.ifr_name));
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		snprintf(err, errlen, "backend=%s: %s", t->name, attach_error(e));
		return -e;
	}
	if (!(features & IFF_VNET_HDR))
		return 0;
	/* Without TUNSETVNETHDRSZ the kernel uses the 10-byte header. */
	t->be.hdr_len = ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) == 0 ? NETBE_HDR_LEN : 10;
	t->be.offloads = probe_offloads(t->fd);
	return 0;
}

int net_tap_open(const char *ifname, struct netbe **out, char *err, size_t errlen)
{
	struct net_tap *t;
	int rc;

	if (strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) {
		snprintf(err, errlen, "backend=%s: not a valid interface name", ifname);
		return -EINVAL;
	}
	/* TUNSETIFF would create a missing interface: say so instead. */
	if (if_nametoindex(ifname) == 0) {
		snprintf(err, errlen,
			 "backend=%s: no such tap interface (create it first, "
			 "e.g. ip tuntap add %s mode tap)",
			 ifname, ifname);
		return -ENODEV;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	netbe_init(&t->be, &tap_ops);
	snprintf(t->name, sizeof(t->name), "%s", ifname); /* length checked above */
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "backend=%s: /dev/net/tun: %s", ifname, strerror(-rc));
		free(t);
		return rc;
	}
	rc = tap_attach(t, err, errlen);
	if (rc < 0) {
		tap_close(&t->be);
		return rc;
	}
	t->be.rx_fd = t->fd;
	*out = &t->be;
	return 0;
}
