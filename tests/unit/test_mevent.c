/* The main event loop (src/mevent.c): callbacks, enable/disable, timers,
 * and a disabled fd in error (a deleted tap) not waking the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "mevent.h"

#define MS 1000000ull

struct counts {
	struct mevent_loop *loop;
	int reads;
	int ticks;
	int stop_after; /* ticks */
};

static void on_read(int fd, void *arg)
{
	struct counts *c = arg;
	char b[16];

	c->reads++;
	if (read(fd, b, sizeof(b)) < 0) {
		/* EOF or error: the test looks at the count only. */
	}
}

static void on_tick(int fd, void *arg)
{
	struct counts *c = arg;

	if (++c->ticks >= c->stop_after)
		mevent_loop_stop(c->loop);
}

/* A loop with a pipe's read end registered (callback on_read). */
static struct mevent *setup(struct counts *c, int p[2])
{
	struct mevent *ev;

	c->stop_after = 1;
	c->loop = mevent_loop_new();
	assert_non_null(c->loop);
	assert_int_equal(pipe(p), 0);
	ev = mevent_add_read(c->loop, p[0], on_read, c);
	assert_non_null(ev);
	return ev;
}

/* Run the loop until a one-shot timer fires after ms milliseconds. */
static void run_for(struct counts *c, uint64_t ms)
{
	assert_non_null(mevent_add_timer(c->loop, ms * MS, 0, on_tick, c));
	assert_int_equal(mevent_loop_run(c->loop), 0);
}

static void teardown(struct counts *c, int p[2])
{
	mevent_loop_free(c->loop);
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

static void test_read_and_timer(void **state)
{
	struct counts c = { 0 };
	int p[2];

	setup(&c, p);
	assert_int_equal(write(p[1], "x", 1), 1);
	run_for(&c, 20);
	assert_int_equal(c.reads, 1);
	assert_int_equal(c.ticks, 1);
	teardown(&c, p);
}

static void test_disabled_event_gets_no_callback(void **state)
{
	struct counts c = { 0 };
	int p[2];

	assert_int_equal(mevent_disable(setup(&c, p)), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	run_for(&c, 20);
	assert_int_equal(c.reads, 0);
	teardown(&c, p);
}

static void test_enabled_again_sees_waiting_data(void **state)
{
	struct counts c = { 0 };
	struct mevent *ev;
	int p[2];

	ev = setup(&c, p);
	assert_int_equal(mevent_disable(ev), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(mevent_enable(ev), 0);
	run_for(&c, 20);
	assert_int_equal(c.reads, 1);
	teardown(&c, p);
}

/* The read end of a pipe whose write end is closed reports EPOLLHUP, which
 * epoll delivers whatever the event mask: disabled, it must not make the
 * loop spin.  Over 100 ms the loop wakes for the timer and at most once for
 * the hang-up; a spinning loop wakes thousands of times. */
static void test_disabled_hangup_does_not_spin(void **state)
{
	struct counts c = { 0 };
	int p[2];

	assert_int_equal(mevent_disable(setup(&c, p)), 0);
	close(p[1]);
	p[1] = -1;
	run_for(&c, 100);
	assert_int_equal(c.reads, 0);
	assert_true(mevent_loop_wakeups(c.loop) <= 3);
	teardown(&c, p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_and_timer),
		cmocka_unit_test(test_disabled_event_gets_no_callback),
		cmocka_unit_test(test_enabled_again_sees_waiting_data),
		cmocka_unit_test(test_disabled_hangup_does_not_spin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
