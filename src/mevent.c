/* The main thread's event loop over epoll.  Callbacks run only on the thread
 * that called mevent_loop_run(); enable/disable/timer_set may be called from
 * any thread (epoll_ctl and timerfd_settime are thread-safe).  Deletion is
 * deferred to the end of the current dispatch round so that an event freed
 * from its own (or another) callback is never touched afterwards. */
#include "mevent.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MEVENT_BATCH 32

enum mevent_kind { MEV_READ, MEV_WRITE, MEV_TIMER };

struct mevent {
	struct mevent_loop *loop;
	enum mevent_kind kind;
	int fd;
	mevent_cb *cb;
	void *arg;
	bool enabled;
	bool deleted;
	struct mevent *next_dead;
};

struct mevent_loop {
	int epfd;
	int wakefd;
	bool stop;	      /* set from any thread: atomic accesses only */
	pthread_mutex_t lock; /* guards the dead list */
	struct mevent *dead;
	bool running_dispatch;
	uint64_t wakeups; /* epoll_wait returns with events, loop thread only */
};

static uint32_t mevent_events(const struct mevent *ev)
{
	return ev->kind == MEV_WRITE ? EPOLLOUT : EPOLLIN;
}

struct mevent_loop *mevent_loop_new(void)
{
	struct mevent_loop *l = calloc(1, sizeof(*l));
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wakefd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &e) < 0) {
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wakefd >= 0)
			close(l->wakefd);
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

static void mevent_reap(struct mevent_loop *l)
{
	struct mevent *ev, *next;

	pthread_mutex_lock(&l->lock);
	ev = l->dead;
	l->dead = NULL;
	pthread_mutex_unlock(&l->lock);
	for (; ev; ev = next) {
		next = ev->next_dead;
		if (ev->kind == MEV_TIMER)
			close(ev->fd);
		free(ev);
	}
}

void mevent_loop_free(struct mevent_loop *l)
{
	if (!l)
		return;
	mevent_reap(l);
	close(l->epfd);
	close(l->wakefd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static struct mevent *mevent_add(struct mevent_loop *l, int fd, enum mevent_kind kind,
				 mevent_cb *cb, void *arg)
{
	struct mevent *ev = calloc(1, sizeof(*ev));
	struct epoll_event e;

	if (!ev)
		return NULL;
	ev->loop = l;
	ev->kind = kind;
	ev->fd = fd;
	ev->cb = cb;
	ev->arg = arg;
	ev->enabled = true;
	e.events = mevent_events(ev);
	e.data.ptr = ev;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		free(ev);
		return NULL;
	}
	return ev;
}

struct mevent *mevent_add_read(struct mevent_loop *l, int fd, mevent_cb *cb, void *arg)
{
	return mevent_add(l, fd, MEV_READ, cb, arg);
}

struct mevent *mevent_add_write(struct mevent_loop *l, int fd, mevent_cb *cb, void *arg)
{
	return mevent_add(l, fd, MEV_WRITE, cb, arg);
}

static void ns_to_ts(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ull);
	ts->tv_nsec = (long)(ns % 1000000000ull);
}

int mevent_timer_set(struct mevent *ev, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its;

	if (!ev || ev->kind != MEV_TIMER)
		return -EINVAL;
	if (first_ns == 0 && period_ns != 0)
		first_ns = period_ns;
	ns_to_ts(first_ns, &its.it_value);
	ns_to_ts(period_ns, &its.it_interval);
	if (timerfd_settime(ev->fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

struct mevent *mevent_add_timer(struct mevent_loop *l, uint64_t first_ns, uint64_t period_ns,
				mevent_cb *cb, void *arg)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct mevent *ev;

	if (fd < 0)
		return NULL;
	ev = mevent_add(l, fd, MEV_TIMER, cb, arg);
	if (!ev) {
		close(fd);
		return NULL;
	}
	if ((first_ns || period_ns) && mevent_timer_set(ev, first_ns, period_ns) < 0) {
		mevent_del(ev);
		return NULL;
	}
	return ev;
}

static int mevent_ctl(struct mevent *ev, bool enable)
{
	/* epoll reports EPOLLERR and EPOLLHUP whatever the mask says: a
	 * disabled fd in error (a deleted tap) would wake the loop at once,
	 * forever.  Disabled means one-shot with no events: at most one such
	 * report, which the loop ignores, and then nothing until enabled. */
	struct epoll_event e = { .events = enable ? mevent_events(ev) : EPOLLONESHOT,
				 .data.ptr = ev };

	if (__atomic_load_n(&ev->deleted, __ATOMIC_ACQUIRE))
		return -EINVAL;
	__atomic_store_n(&ev->enabled, enable, __ATOMIC_RELEASE);
	if (epoll_ctl(ev->loop->epfd, EPOLL_CTL_MOD, ev->fd, &e) < 0)
		return -errno;
	return 0;
}

int mevent_enable(struct mevent *ev)
{
	return ev ? mevent_ctl(ev, true) : -EINVAL;
}

int mevent_disable(struct mevent *ev)
{
	return ev ? mevent_ctl(ev, false) : -EINVAL;
}

void mevent_del(struct mevent *ev)
{
	struct mevent_loop *l;

	if (!ev || __atomic_exchange_n(&ev->deleted, true, __ATOMIC_ACQ_REL))
		return;
	l = ev->loop;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
	pthread_mutex_lock(&l->lock);
	ev->next_dead = l->dead;
	l->dead = ev;
	pthread_mutex_unlock(&l->lock);
}

void mevent_loop_stop(struct mevent_loop *l)
{
	uint64_t one = 1;

	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	if (write(l->wakefd, &one, sizeof(one)) < 0) {
		/* The counter is saturated: a wake-up is already pending. */
	}
}

int mevent_loop_run(struct mevent_loop *l)
{
	struct epoll_event evs[MEVENT_BATCH];

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(l->epfd, evs, MEVENT_BATCH, -1);
		int i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		l->wakeups++;
		for (i = 0; i < n; i++) {
			struct mevent *ev = evs[i].data.ptr;

			if (!ev) {
				uint64_t v;

				if (read(l->wakefd, &v, sizeof(v)) < 0) {
					/* Nothing pending: spurious wake-up. */
				}
				continue;
			}
			if (__atomic_load_n(&ev->deleted, __ATOMIC_ACQUIRE) ||
			    !__atomic_load_n(&ev->enabled, __ATOMIC_ACQUIRE))
				continue;
			if (ev->kind == MEV_TIMER) {
				uint64_t expirations;

				if (read(ev->fd, &expirations, sizeof(expirations)) < 0)
					continue;
			}
			ev->cb(ev->fd, ev->arg);
		}
		mevent_reap(l);
	}
	return 0;
}

uint64_t mevent_loop_wakeups(const struct mevent_loop *l)
{
	return l->wakeups;
}
