/* Unit tests for src/hw/bvm.c: the port semantics of FreeBSD's bvm console
 * (0x220) and debug port (0x224), bounded buffers in both directions, and
 * the debug port's TCP listener.  The main thread's event loop runs in a
 * thread of its own; the test plays the vCPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hw/bvm.h"
#include "inout.h"
#include "mevent.h"

#define WAIT_MS 5000

struct fixture {
	struct inout *io;
	struct mevent_loop *loop;
	pthread_t thread;
	bool running;
	struct bvm *b;
	int in_w;  /* test writes guest input here */
	int out_r; /* test reads guest output here */
};

static void *loop_thread(void *arg)
{
	struct fixture *f = arg;

	mevent_loop_run(f->loop);
	return NULL;
}

static void start_loop(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
	f->running = true;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->io = inout_new();
	f->loop = mevent_loop_new();
	assert_non_null(f->io);
	assert_non_null(f->loop);
	f->in_w = f->out_r = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->running) {
		mevent_loop_stop(f->loop);
		pthread_join(f->thread, NULL);
	}
	bvm_close(f->io, f->b);
	if (f->in_w >= 0)
		close(f->in_w);
	if (f->out_r >= 0)
		close(f->out_r);
	mevent_loop_free(f->loop);
	inout_free(f->io);
	free(f);
	return 0;
}

/* A port bridged to two pipes: the test's ends are in_w and out_r. */
static void attach_pipes(struct fixture *f, uint16_t port)
{
	int in[2], out[2];

	assert_int_equal(pipe2(in, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(bvm_attach_fds(f->io, f->loop, port, in[0], out[1], &f->b), 0);
	f->in_w = in[1];
	f->out_r = out[0];
}

static int io(struct fixture *f, bool in, uint16_t port, int bytes, uint32_t *val)
{
	return inout_dispatch(f->io, 0, in, port, bytes, val);
}

static uint32_t in32(struct fixture *f, uint16_t port)
{
	uint32_t v = 0;

	assert_int_equal(io(f, true, port, 4, &v), 0);
	return v;
}

static void out32(struct fixture *f, uint16_t port, uint32_t v)
{
	assert_int_equal(io(f, false, port, 4, &v), 0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll the port until a byte arrives (the loop thread moves it in). */
static uint32_t in32_wait(struct fixture *f, uint16_t port)
{
	long end = now_ms() + WAIT_MS;
	uint32_t v;

	while ((v = in32(f, port)) == BVM_NO_DATA && now_ms() < end)
		usleep(100);
	return v;
}

static void read_exact(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	long end = now_ms() + WAIT_MS;

	while (len > 0 && now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		poll(&pfd, 1, 100);
		n = read(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	assert_int_equal(len, 0);
}

static void test_console_signature_and_widths(void **state)
{
	struct fixture *f = *state;
	uint32_t v;

	attach_pipes(f, BVM_CONS_PORT);
	v = 0;
	assert_int_equal(io(f, true, BVM_CONS_PORT, 2, &v), 0);
	assert_int_equal(v, 0x6276); /* 'b' << 8 | 'v' */
	assert_int_equal(v, ('b' << 8) | 'v');
	/* ISA-style byte probes see no device, without tripping -e. */
	v = 0;
	assert_int_equal(io(f, true, BVM_CONS_PORT, 1, &v), 0);
	assert_int_equal(v, 0xFF);
	/* No input yet. */
	assert_int_equal(in32(f, BVM_CONS_PORT), BVM_NO_DATA);
	/* Byte and word writes, and the other three ports, are not the
	 * device's: the dispatcher reports them unhandled. */
	v = 'x';
	assert_int_equal(io(f, false, BVM_CONS_PORT, 1, &v), -ENOENT);
	assert_int_equal(io(f, false, BVM_CONS_PORT, 2, &v), -ENOENT);
	assert_int_equal(io(f, true, BVM_CONS_PORT + 1, 1, &v), -ENOENT);
	assert_int_equal(io(f, true, BVM_CONS_PORT + 2, 2, &v), -ENOENT);
	/* A 32-bit access at 0x221 runs past the device's four ports. */
	assert_int_equal(io(f, true, BVM_CONS_PORT + 1, 4, &v), -ENOENT);
	/* A second console cannot claim the same ports. */
	{
		struct bvm *b2;
		int p[2];

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		assert_int_equal(bvm_attach_fds(f->io, f->loop, BVM_CONS_PORT, p[0], p[1], &b2),
				 -EEXIST);
	}
	assert_int_equal(bvm_attach_fds(f->io, f->loop, 0x3F8, -1, -1, &f->b), -EINVAL);
	assert_int_equal(bvm_tcp_port(f->b), 0);
}

static void test_debug_signature(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0;

	attach_pipes(f, BVM_DBG_PORT);
	assert_int_equal(io(f, true, BVM_DBG_PORT, 2, &v), 0);
	assert_int_equal(v, ('B' << 8) | 'V');
	/* Only the console answers byte reads. */
	assert_int_equal(io(f, true, BVM_DBG_PORT, 1, &v), -ENOENT);
	assert_int_equal(in32(f, BVM_DBG_PORT), BVM_NO_DATA);
	/* The console's ports are not the debug port's. */
	assert_int_equal(io(f, true, BVM_CONS_PORT, 2, &v), -ENOENT);
}

static void test_output(void **state)
{
	struct fixture *f = *state;
	const char *msg = "Hello, bvm\r\n";
	char got[32] = "";
	size_t i;

	attach_pipes(f, BVM_CONS_PORT);
	start_loop(f);
	for (i = 0; i < strlen(msg); i++)
		out32(f, BVM_CONS_PORT,
		      (uint32_t)(uint8_t)msg[i] | 0xABCDEF00u); /* low byte only */
	read_exact(f->out_r, got, strlen(msg));
	assert_string_equal(got, msg);
	assert_int_equal(bvm_dropped(f->b), 0);
}

static void test_input(void **state)
{
	struct fixture *f = *state;
	const char *msg = "abc\n\xff";
	size_t i;

	attach_pipes(f, BVM_CONS_PORT);
	start_loop(f);
	assert_int_equal(write(f->in_w, msg, 5), 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(in32_wait(f, BVM_CONS_PORT), (uint8_t)msg[i]);
	assert_int_equal(in32(f, BVM_CONS_PORT), BVM_NO_DATA);
}

/* More input than the buffer holds: reading pauses while it is full and
 * resumes as the guest takes bytes; nothing is lost or reordered. */
static void test_input_backpressure(void **state)
{
	struct fixture *f = *state;
	enum { N = 3 * BVM_IN_SIZE + 123 };
	uint8_t *data = malloc(N);
	size_t i;

	assert_non_null(data);
	for (i = 0; i < N; i++)
		data[i] = (uint8_t)(i * 7 + i / 256);
	attach_pipes(f, BVM_CONS_PORT);
	assert_int_equal(write(f->in_w, data, N), N);
	start_loop(f);
	usleep(50000); /* let the loop fill the buffer */
	for (i = 0; i < N; i++)
		assert_int_equal(in32_wait(f, BVM_CONS_PORT), data[i]);
	assert_int_equal(in32(f, BVM_CONS_PORT), BVM_NO_DATA);
	free(data);
}

/* Output that nobody reads: the vCPU never blocks, the buffer stays
 * bounded and the excess is counted as dropped; what was kept arrives in
 * order once the reader wakes up. */
static void test_output_bounded(void **state)
{
	struct fixture *f = *state;
	enum { N = 4 * BVM_OUT_SIZE };
	uint8_t buf[4096];
	size_t i, got = 0;
	long end;

	attach_pipes(f, BVM_CONS_PORT);
	start_loop(f);
	for (i = 0; i < N; i++)
		out32(f, BVM_CONS_PORT, (uint32_t)(i & 0xFF));
	assert_true(bvm_dropped(f->b) > 0);
	end = now_ms() + WAIT_MS;
	while (now_ms() < end) {
		struct pollfd pfd = { .fd = f->out_r, .events = POLLIN };
		ssize_t n;
		size_t k;

		if (poll(&pfd, 1, 200) <= 0)
			break;
		n = read(f->out_r, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (k = 0; k < (size_t)n; k++)
			assert_int_equal(buf[k], (got + k) & 0xFF);
		got += (size_t)n;
	}
	assert_int_equal(got + bvm_dropped(f->b), N);
	assert_true(got >= BVM_OUT_SIZE);
}

/* End of file on the input: no more input, output still works. */
static void test_input_eof(void **state)
{
	struct fixture *f = *state;
	char c = 0;

	attach_pipes(f, BVM_CONS_PORT);
	start_loop(f);
	assert_int_equal(write(f->in_w, "z", 1), 1);
	close(f->in_w);
	f->in_w = -1;
	assert_int_equal(in32_wait(f, BVM_CONS_PORT), 'z');
	usleep(20000);
	assert_int_equal(in32(f, BVM_CONS_PORT), BVM_NO_DATA);
	out32(f, BVM_CONS_PORT, 'k');
	read_exact(f->out_r, &c, 1);
	assert_int_equal(c, 'k');
}

static int connect_local(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* The peer closed: a read returns 0 within the wait. */
static bool closed_by_peer(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&pfd, 1, WAIT_MS) == 1 && read(fd, &c, 1) == 0;
}

static void test_debug_tcp(void **state)
{
	struct fixture *f = *state;
	char got[8] = "";
	int c1, c2, c3, port;
	long end;

	assert_int_equal(bvm_debug_init(f->io, f->loop, 0, &f->b), 0);
	port = bvm_tcp_port(f->b);
	assert_true(port > 0);
	start_loop(f);
	/* Nobody connected: no input, output dropped. */
	assert_int_equal(in32(f, BVM_DBG_PORT), BVM_NO_DATA);
	out32(f, BVM_DBG_PORT, '$');
	assert_int_equal(bvm_dropped(f->b), 1);
	c1 = connect_local(port);
	assert_int_equal(write(c1, "+$g#67", 6), 6);
	assert_int_equal(in32_wait(f, BVM_DBG_PORT), '+');
	assert_int_equal(in32_wait(f, BVM_DBG_PORT), '$');
	/* One client at a time: the second is closed at once. */
	c2 = connect_local(port);
	assert_true(closed_by_peer(c2));
	close(c2);
	out32(f, BVM_DBG_PORT, 'O');
	out32(f, BVM_DBG_PORT, 'K');
	read_exact(c1, got, 2);
	assert_string_equal(got, "OK");
	/* The first client leaves; its unread input goes with it, and a new
	 * client is served. */
	close(c1);
	end = now_ms() + WAIT_MS;
	while (in32(f, BVM_DBG_PORT) != BVM_NO_DATA && now_ms() < end)
		usleep(1000);
	usleep(50000);
	assert_int_equal(in32(f, BVM_DBG_PORT), BVM_NO_DATA);
	c3 = connect_local(port);
	assert_int_equal(write(c3, "x", 1), 1);
	assert_int_equal(in32_wait(f, BVM_DBG_PORT), 'x');
	out32(f, BVM_DBG_PORT, 'y');
	memset(got, 0, sizeof(got));
	read_exact(c3, got, 1);
	assert_string_equal(got, "y");
	close(c3);
}

static void test_debug_port_in_use(void **state)
{
	struct fixture *f = *state;
	struct bvm *b2 = NULL;
	struct inout *io2 = inout_new();

	assert_non_null(io2);
	assert_int_equal(bvm_debug_init(f->io, f->loop, 0, &f->b), 0);
	assert_int_equal(bvm_debug_init(io2, f->loop, bvm_tcp_port(f->b), &b2), -EADDRINUSE);
	assert_int_equal(bvm_debug_init(io2, f->loop, 70000, &b2), -EINVAL);
	inout_free(io2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_console_signature_and_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_port_in_use, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
