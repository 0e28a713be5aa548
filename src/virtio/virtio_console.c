/* virtio-console, virtio 1.2 §5.3, with VIRTIO_CONSOLE_F_MULTIPORT.
 *
 * Queues (§5.3.2): port 0 receive/transmit are 0 and 1, the control
 * receive (device to driver) and transmit queues are 2 and 3, port N >= 1
 * uses 2N + 2 and 2N + 3.
 *
 * Host side of a port: a listening Unix socket, one client at a time (a
 * second is accepted and closed), or the runner's stdin/stdout.  Guest
 * output goes straight to the client without blocking; the rest waits in a
 * bounded ring flushed by the main thread, and what does not fit (or has no
 * client) is dropped.  Host input is read on the main thread into a small
 * bounce buffer and handed to the guest's receive buffers; reading stops
 * while the guest has none posted, so nothing grows without bound.
 *
 * Threads: queue notifications arrive on a vCPU thread with the transport
 * lock held; socket events on the main thread.  sc->mtx serialises both
 * over the port state.  The main thread never takes the transport lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "le.h"
#include "log.h"
#include "mevent.h"
#include "pci/pci_emul.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_ID_CONSOLE	 3
#define VIRTIO_PCI_DEVID_CONSOLE 0x1003

/* Feature bits (§5.3.3). */
#define VIRTIO_CONSOLE_F_SIZE	   0
#define VIRTIO_CONSOLE_F_MULTIPORT 1

/* Device configuration (§5.3.4): le16 cols, le16 rows, le32 max_nr_ports,
 * le32 emerg_wr. */
#define VCON_CFG_SIZE	  12
#define VCON_CFG_MAXPORTS 4

#define VCON_OUTBUF ((size_t)64 * 1024)
#define VCON_INBUF  4096

#define Q_CTRL_RX 2
#define Q_CTRL_TX 3

enum { PEND_ADD = 1, PEND_NAME = 2, PEND_OPEN = 4 };

struct vcon;

struct vcon_port {
	struct vcon *sc;
	int id;
	struct vcon_port_spec spec;
	int lfd;      /* listening socket or -1 */
	int rfd, wfd; /* the connected client (one fd) or stdio; -1 */
	struct mevent *lev, *rev, *wev;
	bool connected;
	bool out_err;	  /* a write failed: the main thread hangs up */
	bool guest_ready; /* PORT_READY seen */
	bool guest_open;
	unsigned pending; /* PEND_* messages owed to the driver */
	struct vcon_ring out;
	uint8_t in[VCON_INBUF];
	uint32_t in_off, in_len;
};

struct vcon {
	struct virtio_pci *vp;
	struct mevent_loop *loop;
	struct virtio_dev_ops ops;
	pthread_mutex_t mtx;
	bool dev_ready;
	bool warned;
	int nports;
	struct vcon_port port[VCON_MAX_PORTS];
	struct vq_chain chain; /* scratch, under mtx */
};

/* The only stdio port of the process (the UART's stdio is checked through
 * the configuration in vcon_init). */
static bool vcon_stdio_busy;

/* ---- Pieces the unit tests drive ---- */

int vcon_ctrl_parse(const struct vq_chain *c, struct vcon_ctrl *m)
{
	uint8_t h[VCON_CTRL_HDR];

	if (vq_chain_read(c, 0, h, sizeof(h)) != sizeof(h))
		return -EINVAL;
	m->id = le32_get(h);
	m->event = le16_get(h + 4);
	m->value = le16_get(h + 6);
	return 0;
}

size_t vcon_ctrl_build(uint8_t *buf, size_t cap, uint32_t id, uint16_t event, uint16_t value,
		       const char *name)
{
	size_t nl = name ? strlen(name) : 0;

	if (cap < VCON_CTRL_HDR || nl > cap - VCON_CTRL_HDR)
		return 0;
	le32_put(buf, id);
	le16_put(buf + 4, event);
	le16_put(buf + 6, value);
	if (nl) {
		/* The name goes without its NUL: the message's length ends it. */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(buf + VCON_CTRL_HDR, name, nl);
	}
	return VCON_CTRL_HDR + nl;
}

uint32_t vcon_chain_write(const struct vq_chain *c, const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	uint32_t done = 0;
	int i;

	for (i = 0; i < c->nseg && done < len; i++) {
		uint32_t n = c->seg[i].len;

		if (!c->seg[i].writable)
			continue;
		if (n > len - done)
			n = len - done;
		memcpy(c->seg[i].base, p + done, n);
		done += n;
	}
	return done;
}

uint32_t vcon_ring_put(struct vcon_ring *r, const void *p, uint32_t n)
{
	const uint8_t *s = p;
	uint32_t room = r->cap - r->len, take = n < room ? n : room, i;

	for (i = 0; i < take; i++)
		r->buf[(r->head + r->len + i) % r->cap] = s[i];
	r->len += take;
	r->dropped += n - take;
	return take;
}

uint32_t vcon_ring_peek(const struct vcon_ring *r, const uint8_t **p)
{
	uint32_t n = r->cap - r->head;

	*p = r->buf + r->head;
	return r->len < n ? r->len : n;
}

void vcon_ring_consume(struct vcon_ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->head = r->cap ? (r->head + n) % r->cap : 0;
	r->len -= n;
	if (!r->len)
		r->head = 0;
}

/* ---- Configuration ---- */

struct parse_ctx {
	const struct config *cfg;
	const char *node;
	struct vcon_port_spec *out;
	int n, rc;
	bool have_stdio;
	char *err;
	size_t errlen;
};

static bool name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > VCON_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int add_spec(struct parse_ctx *x, const char *name, const char *path)
{
	struct vcon_port_spec *s;
	int i;

	if (!name_ok(name) || !path || !*path) {
		snprintf(x->err, x->errlen, "bad port '%s'", name);
		return -EINVAL;
	}
	for (i = 0; i < x->n; i++) {
		if (strcmp(x->out[i].name, name) == 0) {
			snprintf(x->err, x->errlen, "port '%s' given twice", name);
			return -EEXIST;
		}
	}
	if (x->n >= VCON_MAX_PORTS) {
		snprintf(x->err, x->errlen, "more than %d ports", VCON_MAX_PORTS);
		return -E2BIG;
	}
	if (strlen(path) > VCON_PATH_MAX) {
		snprintf(x->err, x->errlen, "port '%s': socket path too long", name);
		return -ENAMETOOLONG;
	}
	s = &x->out[x->n++];
	memset(s, 0, sizeof(*s));
	/* Lengths checked above (name_ok, VCON_PATH_MAX). */
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->is_stdio = strcmp(path, "stdio") == 0;
	if (s->is_stdio) {
		if (x->have_stdio) {
			snprintf(x->err, x->errlen, "only one port may use stdio");
			return -EEXIST;
		}
		x->have_stdio = true;
	}
	return 0;
}

/* NAME=PATH items of -s. */
static int flat_child(const char *name, const char *value, void *arg)
{
	struct parse_ctx *x = arg;

	if (!value || strcmp(name, "device") == 0)
		return 0;
	return add_spec(x, name, value);
}

/* bhyve_config(5): port.NAME.path. */
static int port_child(const char *name, const char *value, void *arg)
{
	struct parse_ctx *x = arg;
	char key[CONFIG_KEY_MAX + 1];

	if (value) {
		snprintf(x->err, x->errlen, "port.%s needs .path", name);
		return -EINVAL;
	}
	if ((size_t)snprintf(key, sizeof(key), "%s.port.%s.path", x->node, name) >= sizeof(key))
		return -ENAMETOOLONG;
	return add_spec(x, name, config_get(x->cfg, key));
}

int vcon_parse_ports(const struct config *cfg, const char *node, struct vcon_port_spec *out,
		     char *err, size_t errlen)
{
	struct parse_ctx x = { .cfg = cfg, .node = node, .out = out, .err = err, .errlen = errlen };
	char key[CONFIG_KEY_MAX + 1];
	int rc;

	if (errlen)
		err[0] = '\0';
	rc = config_foreach_child(cfg, node, flat_child, &x);
	if (rc < 0)
		return rc;
	if ((size_t)snprintf(key, sizeof(key), "%s.port", node) >= sizeof(key))
		return -ENAMETOOLONG;
	rc = config_foreach_child(cfg, key, port_child, &x);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (x.n == 0) {
		snprintf(err, errlen, "no ports (NAME=/path/to/socket)");
		return -EINVAL;
	}
	return x.n;
}

/* ---- Queues ---- */

static int rxq(const struct vcon_port *p)
{
	return p->id == 0 ? 0 : 2 * p->id + 2;
}

static bool multiport(struct vcon *sc)
{
	return virtio_pci_negotiated(sc->vp) & (1ull << VIRTIO_CONSOLE_F_MULTIPORT);
}

static void queue_irq(struct vcon *sc, int q, int rc, bool pushed)
{
	if (pushed && vq_need_interrupt(virtio_pci_queue(sc->vp, q)))
		virtio_pci_queue_interrupt(sc->vp, q);
	if (rc == -EIO)
		virtio_pci_set_broken(sc->vp);
}

/* Owed control messages, in order ADD, NAME, OPEN per port (§5.3.6.2). */
static void ctrl_flush(struct vcon *sc)
{
	struct virtqueue *vq = virtio_pci_queue(sc->vp, Q_CTRL_RX);
	uint8_t msg[VCON_CTRL_HDR + VCON_NAME_MAX];
	bool pushed = false;
	int i, rc = 0;

	if (!sc->dev_ready || !multiport(sc))
		return;
	for (i = 0; i < sc->nports; i++) {
		struct vcon_port *p = &sc->port[i];

		while (p->pending) {
			unsigned bit = p->pending & -p->pending;
			size_t n;

			if (bit == PEND_ADD)
				n = vcon_ctrl_build(msg, sizeof(msg), (uint32_t)i, VCON_DEVICE_ADD,
						    0, NULL);
			else if (bit == PEND_NAME)
				n = vcon_ctrl_build(msg, sizeof(msg), (uint32_t)i, VCON_PORT_NAME,
						    1, p->spec.name);
			else
				n = vcon_ctrl_build(msg, sizeof(msg), (uint32_t)i, VCON_PORT_OPEN,
						    p->connected, NULL);
			rc = vq_pop(vq, &sc->chain);
			if (rc != 1)
				goto out;
			/* A buffer too small for the header carries nothing. */
			if (sc->chain.nwrite < VCON_CTRL_HDR)
				n = 0;
			vq_push(vq, sc->chain.head, vcon_chain_write(&sc->chain, msg, (uint32_t)n));
			pushed = true;
			p->pending &= ~bit;
		}
	}
	rc = 0;
out:
	queue_irq(sc, Q_CTRL_RX, rc, pushed);
}

static void ctrl_handle(struct vcon *sc, const struct vcon_ctrl *m)
{
	struct vcon_port *p;
	int i;

	if (m->event == VCON_DEVICE_READY) {
		if (m->value != 1) {
			/* Once: the guest could repeat it at will. */
			if (!sc->warned)
				log_warnx("%s: driver failed to set up", virtio_pci_name(sc->vp));
			sc->warned = true;
			return;
		}
		sc->dev_ready = true;
		for (i = 0; i < sc->nports; i++)
			sc->port[i].pending |= PEND_ADD;
		return;
	}
	if (m->id >= (uint32_t)sc->nports)
		return; /* a port we never added: ignore */
	p = &sc->port[m->id];
	switch (m->event) {
	case VCON_PORT_READY:
		if (m->value != 1)
			break;
		p->guest_ready = true;
		p->pending |= PEND_NAME | (p->connected ? PEND_OPEN : 0);
		break;
	case VCON_PORT_OPEN:
		p->guest_open = m->value != 0;
		break;
	default:
		break;
	}
}

static void ctrl_tx(struct vcon *sc)
{
	struct virtqueue *vq = virtio_pci_queue(sc->vp, Q_CTRL_TX);
	struct vcon_ctrl m;
	bool pushed = false;
	int rc;

	while ((rc = vq_pop(vq, &sc->chain)) == 1) {
		if (vcon_ctrl_parse(&sc->chain, &m) == 0)
			ctrl_handle(sc, &m);
		vq_push(vq, sc->chain.head, 0);
		pushed = true;
	}
	queue_irq(sc, Q_CTRL_TX, rc, pushed);
	ctrl_flush(sc);
}

/* ---- Host side ---- */

static void port_ctrl_open(struct vcon_port *p)
{
	if (p->guest_ready) {
		p->pending |= PEND_OPEN;
		ctrl_flush(p->sc);
	}
}

static void port_disconnect(struct vcon_port *p)
{
	mevent_del(p->rev);
	mevent_del(p->wev);
	p->rev = p->wev = NULL;
	if (p->rfd >= 0)
		close(p->rfd);
	if (p->wfd >= 0 && p->wfd != p->rfd)
		close(p->wfd);
	p->rfd = p->wfd = -1;
	p->connected = false;
	p->out_err = false;
	p->in_len = p->in_off = 0;
	vcon_ring_consume(&p->out, p->out.len);
	port_ctrl_open(p);
}

static ssize_t port_write(struct vcon_port *p, const void *b, size_t n)
{
	ssize_t w;

	do {
		w = p->spec.is_stdio ? write(p->wfd, b, n)
				     : send(p->wfd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return w;
}

/* Guest output: to the client now, else into the ring, else dropped. */
static void port_output(struct vcon_port *p, const uint8_t *b, uint32_t n)
{
	ssize_t w = 0;

	if (!p->connected || p->out_err) {
		p->out.dropped += n;
		return;
	}
	if (p->out.len == 0) {
		w = port_write(p, b, n);
		if (w < 0) {
			p->out_err = true;
			mevent_enable(p->wev);
			return;
		}
	}
	if ((uint32_t)w < n) {
		vcon_ring_put(&p->out, b + w, n - (uint32_t)w);
		mevent_enable(p->wev);
	}
}

static void port_flush_cb(int fd, void *arg)
{
	struct vcon_port *p = arg;
	struct vcon *sc = p->sc;
	const uint8_t *b;
	uint32_t n;
	ssize_t w;

	(void)fd;
	pthread_mutex_lock(&sc->mtx);
	while (!p->out_err && (n = vcon_ring_peek(&p->out, &b)) > 0) {
		w = port_write(p, b, n);
		if (w < 0)
			p->out_err = true;
		if (w <= 0)
			break;
		vcon_ring_consume(&p->out, (uint32_t)w);
	}
	if (p->out_err && !p->spec.is_stdio)
		port_disconnect(p);
	else if (p->out_err || p->out.len == 0)
		mevent_disable(p->wev);
	pthread_mutex_unlock(&sc->mtx);
}

/* Host input waiting in p->in into the guest's receive buffers; reading
 * goes on only while nothing waits. */
static void port_deliver(struct vcon_port *p)
{
	struct vcon *sc = p->sc;
	struct virtqueue *vq = virtio_pci_queue(sc->vp, rxq(p));
	bool pushed = false;
	int rc = 0;

	while (p->in_len) {
		uint32_t n;

		rc = vq_pop(vq, &sc->chain);
		if (rc != 1)
			break;
		n = vcon_chain_write(&sc->chain, p->in + p->in_off, p->in_len);
		vq_push(vq, sc->chain.head, n);
		pushed = true;
		p->in_off += n;
		p->in_len -= n;
	}
	if (!p->in_len)
		p->in_off = 0;
	queue_irq(sc, rxq(p), rc == 1 ? 0 : rc, pushed);
	if (p->rev) {
		if (p->in_len)
			mevent_disable(p->rev);
		else
			mevent_enable(p->rev);
	}
}

static void port_read_cb(int fd, void *arg)
{
	struct vcon_port *p = arg;
	struct vcon *sc = p->sc;
	ssize_t n;

	pthread_mutex_lock(&sc->mtx);
	if (p->in_len == 0) {
		do {
			n = read(fd, p->in, sizeof(p->in));
		} while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pthread_mutex_unlock(&sc->mtx);
			return;
		}
		if (n <= 0) {
			if (p->spec.is_stdio) {
				/* End of stdin: keep the output side. */
				mevent_del(p->rev);
				p->rev = NULL;
			} else {
				port_disconnect(p);
			}
			pthread_mutex_unlock(&sc->mtx);
			return;
		}
		p->in_len = (uint32_t)n;
		p->in_off = 0;
	}
	port_deliver(p);
	pthread_mutex_unlock(&sc->mtx);
}

static int port_attach(struct vcon_port *p, int rfd, int wfd)
{
	struct vcon *sc = p->sc;

	p->rfd = rfd;
	p->wfd = wfd;
	p->rev = mevent_add_read(sc->loop, rfd, port_read_cb, p);
	p->wev = mevent_add_write(sc->loop, wfd, port_flush_cb, p);
	if (!p->rev || !p->wev) {
		mevent_del(p->rev);
		mevent_del(p->wev);
		p->rev = p->wev = NULL;
		p->rfd = p->wfd = -1;
		return -ENOMEM;
	}
	mevent_disable(p->wev);
	p->connected = true;
	return 0;
}

static void port_accept_cb(int fd, void *arg)
{
	struct vcon_port *p = arg;
	struct vcon *sc = p->sc;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int w;

	if (c < 0)
		return;
	pthread_mutex_lock(&sc->mtx);
	/* epoll takes an fd once: writing goes through a duplicate. */
	w = p->connected ? -1 : fcntl(c, F_DUPFD_CLOEXEC, 3);
	if (w < 0 || port_attach(p, c, w) < 0) {
		close(c); /* one client at a time */
		if (w >= 0)
			close(w);
	} else {
		port_ctrl_open(p);
		port_deliver(p);
	}
	pthread_mutex_unlock(&sc->mtx);
}

/* A socket file nobody listens on any more is replaced. */
static int unlink_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

static int port_listen(struct vcon_port *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	/* Length checked by the parser: VCON_PATH_MAX + 1 == sizeof(sun_path). */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->spec.path);
	rc = unlink_stale(&sa);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	p->lfd = fd;
	p->lev = mevent_add_read(p->sc->loop, fd, port_accept_cb, p);
	return p->lev ? 0 : -ENOMEM;
}

/* A private open file description, so O_NONBLOCK does not leak to the
 * shell that shares our stdin/stdout. */
static int private_fd(int fd, int acc)
{
	char path[32];
	int n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = open(path, acc | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (n < 0)
		n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return n < 0 ? -errno : n;
}

static int port_stdio(struct vcon_port *p)
{
	int r, w;

	if (vcon_stdio_busy)
		return -EBUSY;
	r = private_fd(0, O_RDONLY);
	if (r < 0)
		return r;
	w = private_fd(1, O_WRONLY);
	if (w < 0) {
		close(r);
		return w;
	}
	if (port_attach(p, r, w) < 0) {
		close(r);
		close(w);
		return -ENOMEM;
	}
	vcon_stdio_busy = true;
	return 0;
}

/* ---- Device ---- */

static void vcon_notify(void *dev, int q)
{
	struct vcon *sc = dev;
	struct vcon_port *p;
	struct virtqueue *vq;
	bool pushed = false;
	int rc, i;

	pthread_mutex_lock(&sc->mtx);
	if (q == Q_CTRL_RX) {
		ctrl_flush(sc);
		goto out;
	}
	if (q == Q_CTRL_TX) {
		ctrl_tx(sc);
		goto out;
	}
	i = q < 2 ? 0 : (q - 2) / 2;
	if (i >= sc->nports)
		goto out;
	p = &sc->port[i];
	if (!(q & 1)) {
		port_deliver(p);
		goto out;
	}
	vq = virtio_pci_queue(sc->vp, q);
	while ((rc = vq_pop(vq, &sc->chain)) == 1) {
		int s;

		for (s = 0; s < sc->chain.nseg; s++)
			if (!sc->chain.seg[s].writable)
				port_output(p, sc->chain.seg[s].base, sc->chain.seg[s].len);
		vq_push(vq, sc->chain.head, 0);
		pushed = true;
	}
	queue_irq(sc, q, rc, pushed);
out:
	pthread_mutex_unlock(&sc->mtx);
}

static void vcon_reset(void *dev)
{
	struct vcon *sc = dev;
	int i;

	pthread_mutex_lock(&sc->mtx);
	sc->dev_ready = false;
	for (i = 0; i < sc->nports; i++) {
		struct vcon_port *p = &sc->port[i];

		p->guest_ready = p->guest_open = false;
		p->pending = 0;
		p->in_len = p->in_off = 0;
	}
	pthread_mutex_unlock(&sc->mtx);
}

static uint32_t vcon_cfgread(void *dev, uint32_t off, int size)
{
	struct vcon *sc = dev;
	uint8_t b[VCON_CFG_SIZE] = { 0 };

	le32_put(b + VCON_CFG_MAXPORTS, (uint32_t)sc->nports);
	return (uint32_t)le_get(b + off, (unsigned)size);
}

static const struct virtio_dev_ops vcon_ops_template = {
	.name = "virtio-console",
	.device_type = VIRTIO_ID_CONSOLE,
	.pci_devid = VIRTIO_PCI_DEVID_CONSOLE,
	.pci_class = PCI_CLASS_SIMPLECOMM,
	.pci_subclass = 0x80, /* "other communications device" */
	.cfg_size = VCON_CFG_SIZE,
	.features = (1ull << VIRTIO_CONSOLE_F_MULTIPORT) | (1ull << VIRTIO_RING_F_INDIRECT_DESC),
	.notify = vcon_notify,
	.reset = vcon_reset,
	.cfgread = vcon_cfgread,
};

static void vcon_free(struct vcon *sc)
{
	int i;

	for (i = 0; i < sc->nports; i++) {
		struct vcon_port *p = &sc->port[i];

		mevent_del(p->lev);
		mevent_del(p->rev);
		mevent_del(p->wev);
		if (p->lfd >= 0) {
			close(p->lfd);
			unlink(p->spec.path);
		}
		if (p->rfd >= 0)
			close(p->rfd);
		if (p->wfd >= 0 && p->wfd != p->rfd)
			close(p->wfd);
		if (p->spec.is_stdio && p->connected)
			vcon_stdio_busy = false;
		free(p->out.buf);
	}
	pthread_mutex_destroy(&sc->mtx);
	free(sc);
}

/* The UART back ends own stdio when a COM port uses it (uart_backend's
 * one-user rule). */
static bool uart_has_stdio(const struct config *cfg)
{
	char key[32];
	const char *v;
	int i;

	for (i = 1; i <= 4; i++) {
		snprintf(key, sizeof(key), "lpc.com%d.path", i);
		v = config_get_raw(cfg, key);
		if (v && strcmp(v, "stdio") == 0)
			return true;
	}
	return false;
}

static int vcon_open_ports(struct pci_devinst *pi, struct vcon *sc, const struct config *cfg,
			   struct vcon_port_spec *specs)
{
	int i, rc;

	for (i = 0; i < sc->nports; i++) {
		struct vcon_port *p = &sc->port[i];

		p->spec = specs[i];
		p->out.buf = malloc(VCON_OUTBUF);
		if (!p->out.buf)
			return -ENOMEM;
		p->out.cap = VCON_OUTBUF;
		if (p->spec.is_stdio && uart_has_stdio(cfg))
			rc = -EBUSY;
		else
			rc = p->spec.is_stdio ? port_stdio(p) : port_listen(p);
		if (rc < 0) {
			pci_set_error(pi, "port %s=%s: %s", p->spec.name, p->spec.path,
				      strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int vcon_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	struct vcon_port_spec specs[VCON_MAX_PORTS];
	char err[160];
	struct vcon *sc;
	int i, n, rc;

	n = vcon_parse_ports(cfg, node, specs, err, sizeof(err));
	if (n < 0) {
		pci_set_error(pi, "%s", err[0] ? err : strerror(-n));
		return n;
	}
	if (!pci_loop(pi)) {
		pci_set_error(pi, "no event loop");
		return -ENOTSUP;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	pthread_mutex_init(&sc->mtx, NULL);
	sc->loop = pci_loop(pi);
	sc->nports = n;
	for (i = 0; i < n; i++) {
		sc->port[i].sc = sc;
		sc->port[i].id = i;
		sc->port[i].lfd = sc->port[i].rfd = sc->port[i].wfd = -1;
	}
	rc = vcon_open_ports(pi, sc, cfg, specs);
	if (rc < 0) {
		vcon_free(sc);
		return rc;
	}
	sc->ops = vcon_ops_template;
	sc->ops.nqueues = 2 * n + 2;
	rc = virtio_pci_init(pi, cfg, &sc->ops, sc, &sc->vp);
	if (rc < 0 && !pci_get_arg(pi))
		vcon_free(sc);
	return rc;
}

static void vcon_deinit(struct pci_devinst *pi)
{
	struct virtio_pci *vp = pci_get_arg(pi);
	struct vcon *sc;

	if (!vp)
		return;
	/* The transport reads sc->ops while it frees the queues. */
	sc = virtio_pci_dev(vp);
	virtio_pci_free(vp);
	vcon_free(sc);
}

/* Not static: a unit test names it to pull this object out of the static
 * library. */
const struct pci_devemu pci_de_virtio_console = {
	.name = "virtio-console",
	.init = vcon_init,
	.deinit = vcon_deinit,
	.barread = virtio_pci_barread,
	.barwrite = virtio_pci_barwrite,
};
PCI_EMUL_REGISTER(pci_de_virtio_console);
