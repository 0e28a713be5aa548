/* The slirp back end: user-mode networking through libslirp, no privileges
 * and no host configuration needed.
 *
 * The guest sees 10.0.2.0/24 (and fec0::/64): the gateway 10.0.2.2, which
 * also reaches the host's loopback, a DNS forwarder at 10.0.2.3 and DHCP
 * handing out addresses from 10.0.2.15.  "hostfwd" rules (netbe.h) make
 * host ports reach guest ports.  Unlike bhyve, whose slirp back end is
 * restricted to inbound connections unless "open" is given, the guest may
 * connect out by default (the gateway and DNS forwarding need it); the key
 * "restrict" (boolean) turns that off, "open" is accepted for bhyve's sake.
 *
 * Threads: libslirp is not thread-safe, and it opens host sockets for the
 * guest's flows, which only a thread confined for that may do (sandbox.h).
 * So one thread of its own makes every call into libslirp: it polls
 * slirp's sockets, runs its timers (slirp_pollfds_fill/poll,
 * slirp_handle_timer) and feeds it the guest's frames, which the front end
 * queues from whatever thread it transmits on.  Frames for the guest are
 * queued too and announced through an eventfd that the front end watches on
 * the main loop.  Both queues are bounded: a full receive queue drops, as a
 * wire would (TCP resends); a full transmit queue makes the sender wait a
 * little, then drops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "net/netbe.h"
#include "net/netbe_impl.h"

#ifdef BHYVE_NO_SLIRP

int net_slirp_open(const struct config *cfg, const char *node, struct netbe **out, char *err,
		   size_t errlen)
{
	(void)cfg;
	(void)node;
	(void)out;
	snprintf(err, errlen, "backend=slirp: this bhyve was built without libslirp");
	return -ENOTSUP;
}

#else

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "thread.h"

#define RXQ_MAX_FRAMES 1024
#define RXQ_MAX_BYTES  (4u << 20)
#define TXQ_MAX_FRAMES 512
#define TXQ_WAIT_NS    100000000 /* how long a sender waits for room */
/* libslirp's accepted interface MTU range (IF_MTU_MIN..IF_MTU_MAX). */
#define SLIRP_MTU_MIN  68
#define SLIRP_MTU_MAX  65521

struct slirp_frame {
	struct slirp_frame *next;
	uint32_t len;
	uint8_t data[];
};

/* A bounded FIFO of frames. */
struct frame_queue {
	struct slirp_frame *head, *tail;
	unsigned frames;
	size_t bytes;
};

struct slirp_timer {
	struct slirp_timer *next;
	SlirpTimerCb cb; /* the timer_new kind; NULL: timer_new_opaque */
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;
	bool armed;
};

struct net_slirp {
	struct netbe be;     /* first: the interface hands us &be */
	pthread_mutex_t mtx; /* everything below that touches slirp */
	Slirp *slirp;
	struct slirp_timer *timers;
	bool stop;
	bool thread_started;
	pthread_t thread;
	int wake_fd;
	/* The poll set, rebuilt each round by the thread. */
	struct pollfd *pfd;
	int npfd, cap;
	/* Frames to the guest. */
	pthread_mutex_t qmtx;
	struct frame_queue rxq;
	uint64_t dropped;
	/* Frames from the guest, for the thread. */
	pthread_mutex_t tmtx;
	pthread_cond_t tx_room;
	struct frame_queue txq;
	uint64_t tx_dropped;
};

static struct net_slirp *to_slirp(struct netbe *be)
{
	return (struct net_slirp *)be;
}

static void fq_push(struct frame_queue *q, struct slirp_frame *f)
{
	f->next = NULL;
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->frames++;
	q->bytes += f->len;
}

static struct slirp_frame *fq_pop(struct frame_queue *q)
{
	struct slirp_frame *f = q->head;

	if (!f)
		return NULL;
	q->head = f->next;
	if (!q->head)
		q->tail = NULL;
	q->frames--;
	q->bytes -= f->len;
	return f;
}

static void fq_free(struct frame_queue *q)
{
	struct slirp_frame *f;

	while ((f = fq_pop(q)))
		free(f);
}

static void wake(struct net_slirp *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* Saturated: a wake-up is pending anyway. */
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- Callbacks from libslirp (s->mtx held) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;
	struct slirp_frame *f;
	uint64_t one = 1;
	bool was_empty;

	if (len > NETBE_MAX_FRAME)
		return (ssize_t)len;
	pthread_mutex_lock(&s->qmtx);
	if (s->rxq.frames >= RXQ_MAX_FRAMES || s->rxq.bytes + len > RXQ_MAX_BYTES ||
	    !(f = malloc(sizeof(*f) + len))) {
		s->dropped++;
		pthread_mutex_unlock(&s->qmtx);
		return (ssize_t)len;
	}
	f->len = (uint32_t)len;
	memcpy(f->data, buf, len);
	was_empty = !s->rxq.head;
	fq_push(&s->rxq, f);
	/* The eventfd is readable exactly while the queue is not empty. */
	if (was_empty && write(s->be.rx_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail for a counter of 1. */
	}
	pthread_mutex_unlock(&s->qmtx);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	log_debug("slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static struct slirp_timer *timer_add(struct net_slirp *s, SlirpTimerCb cb, SlirpTimerId id,
				     void *cb_opaque)
{
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cb = cb;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	return timer_add(opaque, cb, SLIRP_TIMER_NUM, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	return timer_add(opaque, NULL, id, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *s = opaque;
	struct slirp_timer **pp;

	for (pp = &s->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = ((struct slirp_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;

	t->expire_ms = expire_ms;
	t->armed = true;
	/* The poll thread recomputes its timeout. */
	wake(opaque);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	/* Every round asks slirp for its fds afresh (slirp_pollfds_fill). */
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	wake(opaque);
}

static void cb_init_completed(Slirp *slirp, void *opaque)
{
	(void)slirp;
	(void)opaque;
}

static const SlirpCb slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_register_poll_fd,
	.notify = cb_notify,
	.init_completed = cb_init_completed,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- The poll thread ---- */

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	short ev = 0;

	if (s->npfd == s->cap) {
		int cap = s->cap ? 2 * s->cap : 64;
		struct pollfd *p = realloc(s->pfd, (size_t)cap * sizeof(*p));

		if (!p)
			return -1;
		s->pfd = p;
		s->cap = cap;
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	s->pfd[s->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || idx >= s->npfd)
		return 0;
	r = s->pfd[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Milliseconds to the next armed timer, at most cur. */
static uint32_t timers_timeout(struct net_slirp *s, uint32_t cur)
{
	int64_t now = now_ns() / 1000000;
	struct slirp_timer *t;

	for (t = s->timers; t; t = t->next) {
		int64_t left;

		if (!t->armed)
			continue;
		left = t->expire_ms - now;
		if (left < 0)
			left = 0;
		if ((uint64_t)left < cur)
			cur = (uint32_t)left;
	}
	return cur;
}

static void timers_run(struct net_slirp *s)
{
	int64_t now = now_ns() / 1000000;
	struct slirp_timer *t;
	bool again = true;

	/* A callback may free or re-arm timers: restart the walk after each. */
	while (again) {
		again = false;
		for (t = s->timers; t; t = t->next) {
			if (!t->armed || t->expire_ms > now)
				continue;
			t->armed = false;
			if (t->cb)
				t->cb(t->cb_opaque);
			else
				slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
			again = true;
			break;
		}
	}
}

/* The guest's frames into slirp (s->mtx held). */
static void tx_flush(struct net_slirp *s)
{
	struct frame_queue q;
	struct slirp_frame *f;

	pthread_mutex_lock(&s->tmtx);
	q = s->txq;
	memset(&s->txq, 0, sizeof(s->txq));
	pthread_cond_broadcast(&s->tx_room);
	pthread_mutex_unlock(&s->tmtx);
	while ((f = fq_pop(&q))) {
		slirp_input(s->slirp, f->data, (int)f->len);
		free(f);
	}
}

static void *slirp_thread(void *arg)
{
	struct net_slirp *s = arg;
	uint64_t v;
	int rc;

	/* From here on this thread touches only the network. */
	rc = sandbox_enter(SANDBOX_NET, "slirp");
	if (rc < 0) {
		log_warnx("slirp: cannot confine the network thread: %s", strerror(-rc));
		return NULL;
	}
	pthread_mutex_lock(&s->mtx);
	while (!s->stop) {
		uint32_t timeout = UINT32_MAX;
		int n;

		s->npfd = 0;
		add_poll(s->wake_fd, SLIRP_POLL_IN, s);
		slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
		timeout = timers_timeout(s, timeout);
		pthread_mutex_unlock(&s->mtx);
		n = poll(s->pfd, (nfds_t)s->npfd, timeout == UINT32_MAX ? -1 : (int)timeout);
		pthread_mutex_lock(&s->mtx);
		if (s->stop)
			break;
		if (n > 0 && s->npfd > 0 && (s->pfd[0].revents & POLLIN) &&
		    read(s->wake_fd, &v, sizeof(v)) < 0) {
			/* Already drained. */
		}
		tx_flush(s);
		slirp_pollfds_poll(s->slirp, n < 0, get_revents, s);
		timers_run(s);
	}
	pthread_mutex_unlock(&s->mtx);
	return NULL;
}

/* ---- netbe operations ---- */

/* Room in the transmit queue, waiting up to TXQ_WAIT_NS (tmtx held). */
static bool tx_wait_room(struct net_slirp *s)
{
	struct timespec ts;

	if (s->txq.frames < TXQ_MAX_FRAMES)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += TXQ_WAIT_NS;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (s->txq.frames >= TXQ_MAX_FRAMES)
		if (pthread_cond_timedwait(&s->tx_room, &s->tmtx, &ts) != 0)
			return false;
	return true;
}

static ssize_t slirp_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	struct net_slirp *s = to_slirp(be);
	struct slirp_frame *f;
	size_t len = 0;
	bool was_empty;
	int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > NETBE_MAX_FRAME)
		return -EMSGSIZE;
	f = malloc(sizeof(*f) + len);
	if (!f)
		return -ENOMEM;
	f->len = (uint32_t)len;
	for (len = 0, i = 0; i < iovcnt; i++) {
		memcpy(f->data + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	pthread_mutex_lock(&s->tmtx);
	if (!tx_wait_room(s)) {
		s->tx_dropped++;
		pthread_mutex_unlock(&s->tmtx);
		free(f);
		return -ENOBUFS;
	}
	/* The thread takes the whole queue at each wake-up: waking it when
	 * the queue turns non-empty is enough. */
	was_empty = !s->txq.head;
	fq_push(&s->txq, f);
	pthread_mutex_unlock(&s->tmtx);
	if (was_empty)
		wake(s);
	return (ssize_t)len;
}

static ssize_t slirp_recv(struct netbe *be, void *buf, size_t len)
{
	struct net_slirp *s = to_slirp(be);
	struct slirp_frame *f;
	uint64_t v;
	ssize_t n;

	pthread_mutex_lock(&s->qmtx);
	f = fq_pop(&s->rxq);
	if (!s->rxq.head && read(be->rx_fd, &v, sizeof(v)) < 0) {
		/* Already zero. */
	}
	pthread_mutex_unlock(&s->qmtx);
	if (!f)
		return -EAGAIN;
	memcpy(buf, f->data, f->len < len ? f->len : len);
	n = f->len;
	free(f);
	return n;
}

static void slirp_free(struct net_slirp *s)
{
	if (s->thread_started) {
		pthread_mutex_lock(&s->mtx);
		s->stop = true;
		pthread_mutex_unlock(&s->mtx);
		wake(s);
		pthread_join(s->thread, NULL);
	}
	if (s->slirp)
		slirp_cleanup(s->slirp);
	while (s->timers)
		cb_timer_free(s->timers, s);
	fq_free(&s->rxq);
	fq_free(&s->txq);
	if (s->dropped || s->tx_dropped)
		log_debug("slirp: frames dropped, queues full: %llu to the guest, %llu from it",
			  (unsigned long long)s->dropped, (unsigned long long)s->tx_dropped);
	if (s->be.rx_fd >= 0)
		close(s->be.rx_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->pfd);
	pthread_mutex_destroy(&s->mtx);
	pthread_mutex_destroy(&s->qmtx);
	pthread_mutex_destroy(&s->tmtx);
	pthread_cond_destroy(&s->tx_room);
	free(s);
}

static void slirp_close(struct netbe *be)
{
	slirp_free(to_slirp(be));
}

static const struct netbe_ops slirp_ops = {
	.name = "slirp",
	.send = slirp_send,
	.recv = slirp_recv,
	.close = slirp_close,
};

/* ---- Set-up ---- */

static int read_options(const struct config *cfg, const char *node, SlirpConfig *sc,
			const char **hostfwd, char *err, size_t errlen)
{
	char key[CONFIG_KEY_MAX + 1];
	const char *v;
	bool restrict_ = false, open_ = true;
	unsigned mtu;

	snprintf(key, sizeof(key), "%s.restrict", node);
	if (config_get_bool(cfg, key, false, &restrict_) < 0) {
		snprintf(err, errlen, "restrict=%s: not a boolean", config_get(cfg, key));
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%s.open", node);
	if (config_get_bool(cfg, key, true, &open_) < 0) {
		snprintf(err, errlen, "open=%s: not a boolean", config_get(cfg, key));
		return -EINVAL;
	}
	sc->restricted = restrict_ || !open_;
	snprintf(key, sizeof(key), "%s.mtu", node);
	v = config_get(cfg, key);
	if (v) {
		if (netbe_parse_mtu(v, &mtu) < 0 || mtu < SLIRP_MTU_MIN || mtu > SLIRP_MTU_MAX) {
			snprintf(err, errlen, "mtu=%s: slirp takes %d..%d", v, SLIRP_MTU_MIN,
				 SLIRP_MTU_MAX);
			return -EINVAL;
		}
		sc->if_mtu = sc->if_mru = mtu;
	}
	snprintf(key, sizeof(key), "%s.hostfwd", node);
	*hostfwd = config_get(cfg, key);
	return 0;
}

static void fill_config(SlirpConfig *sc)
{
	memset(sc, 0, sizeof(*sc));
	/* The newest layout that both this file (4) and the headers know. */
#if SLIRP_CONFIG_VERSION_MAX < 4
	sc->version = SLIRP_CONFIG_VERSION_MAX;
#else
	sc->version = 4;
#endif
	sc->in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &sc->vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc->vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &sc->vhost);
	inet_pton(AF_INET, "10.0.2.15", &sc->vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &sc->vnameserver);
	sc->in6_enabled = true;
	inet_pton(AF_INET6, "fec0::", &sc->vprefix_addr6);
	sc->vprefix_len = 64;
	inet_pton(AF_INET6, "fec0::2", &sc->vhost6);
	inet_pton(AF_INET6, "fec0::3", &sc->vnameserver6);
	sc->vhostname = "bhyve";
}

static int add_hostfwd(struct net_slirp *s, const char *spec, struct in_addr dhcp, char *err,
		       size_t errlen)
{
	struct netbe_hostfwd r[NETBE_MAX_HOSTFWD];
	char why[256];
	int i, n;

	n = netbe_parse_hostfwd(spec, r, NETBE_MAX_HOSTFWD, why, sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "hostfwd=%.200s: %s", spec, why);
		return n;
	}
	for (i = 0; i < n; i++) {
		struct in_addr h = { .s_addr = r[i].host_addr };
		struct in_addr g = { .s_addr = r[i].guest_addr ? r[i].guest_addr : dhcp.s_addr };
		char hs[INET_ADDRSTRLEN];

		errno = 0;
		if (slirp_add_hostfwd(s->slirp, r[i].udp, h, r[i].host_port, g, r[i].guest_port) <
		    0) {
			int e = errno ? errno : EADDRINUSE;

			inet_ntop(AF_INET, &h, hs, sizeof(hs));
			snprintf(err, errlen, "hostfwd=%.200s: cannot listen on %s %s:%u: %s", spec,
				 r[i].udp ? "udp" : "tcp", hs, r[i].host_port, strerror(e));
			return -e;
		}
	}
	return 0;
}

int net_slirp_open(const struct config *cfg, const char *node, struct netbe **out, char *err,
		   size_t errlen)
{
	struct net_slirp *s;
	const char *hostfwd = NULL;
	SlirpConfig sc;
	int rc;

	fill_config(&sc);
	rc = read_options(cfg, node, &sc, &hostfwd, err, errlen);
	if (rc < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	netbe_init(&s->be, &slirp_ops);
	pthread_mutex_init(&s->mtx, NULL);
	pthread_mutex_init(&s->qmtx, NULL);
	pthread_mutex_init(&s->tmtx, NULL);
	pthread_cond_init(&s->tx_room, NULL);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->be.rx_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0 || s->be.rx_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "backend=slirp: eventfd: %s", strerror(-rc));
		goto fail;
	}
	s->slirp = slirp_new(&sc, &slirp_callbacks, s);
	if (!s->slirp) {
		rc = -EINVAL;
		snprintf(err, errlen, "backend=slirp: libslirp refused the configuration");
		goto fail;
	}
	if (hostfwd && (rc = add_hostfwd(s, hostfwd, sc.vdhcp_start, err, errlen)) < 0)
		goto fail;
	rc = -thread_create(&s->thread, slirp_thread, s);
	if (rc < 0) {
		snprintf(err, errlen, "backend=slirp: thread: %s", strerror(-rc));
		goto fail;
	}
	s->thread_started = true;
	pthread_setname_np(s->thread, "slirp");
	*out = &s->be;
	return 0;
fail:
	slirp_free(s);
	return rc;
}

#endif
