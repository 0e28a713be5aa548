/* The event loop of the main thread (bhyve's mevent): devices register file
 * descriptors and timers; callbacks run on the main thread only. */
#ifndef BHYVE_MEVENT_H
#define BHYVE_MEVENT_H

#include <stdint.h>

struct mevent_loop;
struct mevent;

typedef void mevent_cb(int fd, void *arg);

struct mevent_loop *mevent_loop_new(void);
void mevent_loop_free(struct mevent_loop *l);
/* Call cb on the main thread whenever fd is readable (level-triggered). */
struct mevent *mevent_add_read(struct mevent_loop *l, int fd, mevent_cb *cb, void *arg);
/* Call cb whenever fd is writable; meant to be enabled only while output is
 * pending (see mevent_enable/disable). */
struct mevent *mevent_add_write(struct mevent_loop *l, int fd, mevent_cb *cb, void *arg);
/* A timer: cb runs every period_ns (0: once) starting after first_ns. The fd
 * passed to cb is the timerfd; the callback need not read it. */
struct mevent *mevent_add_timer(struct mevent_loop *l, uint64_t first_ns, uint64_t period_ns,
				mevent_cb *cb, void *arg);
/* Re-arm a timer (first_ns 0 and period_ns 0 disarm it). Thread-safe. */
int mevent_timer_set(struct mevent *ev, uint64_t first_ns, uint64_t period_ns);
int mevent_enable(struct mevent *ev);
int mevent_disable(struct mevent *ev);
/* Remove and free; safe to call from within the event's own callback. */
void mevent_del(struct mevent *ev);
/* Run until mevent_loop_stop() (any thread). Returns 0, or -errno. */
int mevent_loop_run(struct mevent_loop *l);
void mevent_loop_stop(struct mevent_loop *l);
/* How many times the loop woke up with events (for tests: a disabled event
 * must not keep waking it). Read after mevent_loop_run returned. */
uint64_t mevent_loop_wakeups(const struct mevent_loop *l);

#endif
