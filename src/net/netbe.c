/* The network back-end interface (netbe.h): choosing a back end, the
 * receive notification on the main loop, and the option parsers the NIC
 * front ends share (MAC, MTU, slirp port forwarding). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mevent.h"
#include "net/md5.h"
#include "net/netbe.h"
#include "net/netbe_impl.h"
#include "parse.h"

/* ---- Life cycle ---- */

void netbe_init(struct netbe *be, const struct netbe_ops *ops)
{
	memset(be, 0, sizeof(*be));
	be->ops = ops;
	be->rx_fd = -1;
}

static void netbe_rx_event(int fd, void *arg)
{
	struct netbe *be = arg;

	(void)fd;
	if (be->rx_cb)
		be->rx_cb(be->rx_arg);
}

int netbe_attach_loop(struct netbe *be, struct mevent_loop *loop)
{
	if (be->rx_fd < 0)
		return 0;
	if (!loop)
		return -ENOTSUP;
	be->rx_ev = mevent_add_read(loop, be->rx_fd, netbe_rx_event, be);
	if (!be->rx_ev)
		return -ENOMEM;
	mevent_disable(be->rx_ev);
	return 0;
}

int netbe_open(const char *value, const struct config *cfg, const char *node,
	       struct mevent_loop *loop, struct netbe **out, char *err, size_t errlen)
{
	struct netbe *be = NULL;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (!value || !*value) {
		snprintf(err, errlen, "backend: missing (tapN or slirp)");
		return -EINVAL;
	}
	if (strcmp(value, "slirp") == 0)
		rc = net_slirp_open(cfg, node, &be, err, errlen);
	else
		rc = net_tap_open(value, &be, err, errlen);
	if (rc < 0)
		return rc;
	rc = netbe_attach_loop(be, loop);
	if (rc < 0) {
		snprintf(err, errlen, "backend=%s: %s", value,
			 rc == -ENOTSUP ? "no event loop" : strerror(-rc));
		netbe_close(be);
		return rc;
	}
	*out = be;
	return 0;
}

void netbe_close(struct netbe *be)
{
	if (!be)
		return;
	/* Off the loop before the back end closes the fd under it. */
	mevent_del(be->rx_ev);
	be->rx_ev = NULL;
	be->ops->close(be);
}

/* ---- Data path ---- */

void netbe_set_rx_cb(struct netbe *be, netbe_rx_cb *cb, void *arg)
{
	be->rx_cb = cb;
	be->rx_arg = arg;
}

void netbe_rx_enable(struct netbe *be, bool on)
{
	/* The caller serialises its calls: this only saves epoll_ctl calls
	 * that would change nothing. */
	if (be->rx_on == on)
		return;
	be->rx_on = on;
	if (!be->rx_ev)
		return;
	if (on)
		mevent_enable(be->rx_ev);
	else
		mevent_disable(be->rx_ev);
}

ssize_t netbe_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	return be->ops->send(be, iov, iovcnt);
}

ssize_t netbe_recv(struct netbe *be, void *buf, size_t len)
{
	return be->ops->recv(be, buf, len);
}

int netbe_set_offload(struct netbe *be, unsigned off)
{
	if (off & ~be->offloads)
		return -EINVAL;
	return be->ops->set_offload ? be->ops->set_offload(be, off) : 0;
}

/* ---- MAC ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int netbe_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	int i, h, v;

	for (i = 0; i < 6; i++) {
		if ((h = hexval(*s)) < 0)
			return -EINVAL;
		v = h;
		s++;
		if ((h = hexval(*s)) >= 0) {
			v = v * 16 + h;
			s++;
		}
		m[i] = (uint8_t)v;
		if (i < 5) {
			if (*s != ':' && *s != '-')
				return -EINVAL;
			s++;
		}
	}
	if (*s)
		return -EINVAL;
	/* A NIC's own address is unicast and not zero. */
	if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

void netbe_derive_mac(int slot, int func, const char *vmname, uint8_t mac[6])
{
	uint8_t d[MD5_DIGEST_LEN];
	char s[128];
	int n;

	n = snprintf(s, sizeof(s), "%d-%d-%s", slot, func, vmname ? vmname : "");
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(s))
		n = sizeof(s) - 1;
	md5_digest(s, (size_t)n, d);
	mac[0] = 0x58;
	mac[1] = 0x9c;
	mac[2] = 0xfc;
	mac[3] = d[0];
	mac[4] = d[1];
	mac[5] = d[2];
}

/* ---- MTU ---- */

int netbe_parse_mtu(const char *s, unsigned *mtu)
{
	unsigned long long v;

	if (!s || parse_uint(s, NETBE_MTU_MAX, &v) < 0 || v < NETBE_MTU_MIN)
		return -EINVAL;
	*mtu = (unsigned)v;
	return 0;
}

/* ---- hostfwd ---- */

/* "ADDR:PORT" with ADDR possibly empty, the text [s, end). */
static int parse_endpoint(const char *s, const char *end, uint32_t *addr, uint16_t *port)
{
	const char *colon = memchr(s, ':', (size_t)(end - s));
	char a[INET_ADDRSTRLEN], p[8];
	unsigned long long v;
	struct in_addr ia;
	size_t al, pl;

	if (!colon)
		return -EINVAL;
	al = (size_t)(colon - s);
	pl = (size_t)(end - colon - 1);
	if (al >= sizeof(a) || pl == 0 || pl >= sizeof(p))
		return -EINVAL;
	memcpy(a, s, al);
	a[al] = '\0';
	memcpy(p, colon + 1, pl);
	p[pl] = '\0';
	if (al == 0)
		ia.s_addr = 0;
	else if (inet_pton(AF_INET, a, &ia) != 1)
		return -EINVAL;
	if (parse_uint(p, 65535, &v) < 0 || v == 0)
		return -EINVAL;
	*addr = ia.s_addr;
	*port = (uint16_t)v;
	return 0;
}

static int parse_rule(const char *s, const char *end, struct netbe_hostfwd *r)
{
	const char *dash;

	memset(r, 0, sizeof(*r));
	if ((size_t)(end - s) > 4 && memcmp(s, "tcp:", 4) == 0) {
		r->udp = false;
	} else if ((size_t)(end - s) > 4 && memcmp(s, "udp:", 4) == 0) {
		r->udp = true;
	} else {
		return -EINVAL;
	}
	s += 4;
	dash = memchr(s, '-', (size_t)(end - s));
	if (!dash)
		return -EINVAL;
	if (parse_endpoint(s, dash, &r->host_addr, &r->host_port) < 0 ||
	    parse_endpoint(dash + 1, end, &r->guest_addr, &r->guest_port) < 0)
		return -EINVAL;
	return 0;
}

int netbe_parse_hostfwd(const char *s, struct netbe_hostfwd *out, int max, char *err, size_t errlen)
{
	int n = 0;

	if (errlen)
		err[0] = '\0';
	while (*s) {
		const char *end = strchr(s, ';');
		int len;

		if (!end)
			end = s + strlen(s);
		len = (int)(end - s > 200 ? 200 : end - s);
		if (n >= max) {
			snprintf(err, errlen, "more than %d rules", max);
			return -E2BIG;
		}
		if (parse_rule(s, end, &out[n]) < 0) {
			snprintf(
			    err, errlen,
			    "bad rule '%.*s' (tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport)",
			    len, s);
			return -EINVAL;
		}
		n++;
		s = *end ? end + 1 : end;
	}
	return n;
}
