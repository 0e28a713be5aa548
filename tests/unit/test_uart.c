/* Unit tests of the 16550A model (src/hw/uart.c) and its host back ends
 * (src/hw/uart_backend.c, exercised through a real mevent loop on a
 * thread). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw/uart.h"
#include "hw/uart_backend.h"
#include "mevent.h"

#define LCR_DLAB  0x80
#define MCR_DTR	  0x01
#define MCR_RTS	  0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define LSR_DR	  0x01
#define LSR_OE	  0x02
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08

struct fix {
	struct uart *u;
	int level;
	int irq_calls;
	uint8_t tx[256];
	size_t ntx;
	int notifies;
};

static void fix_irq(void *arg, int level)
{
	struct fix *f = arg;

	f->level = level;
	f->irq_calls++;
}

static void fix_tx(void *arg, uint8_t byte)
{
	struct fix *f = arg;

	if (f->ntx < sizeof(f->tx))
		f->tx[f->ntx++] = byte;
}

static void fix_notify(void *arg)
{
	struct fix *f = arg;

	f->notifies++;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->u = uart_new(fix_irq, f);
	assert_non_null(f->u);
	uart_set_tx(f->u, fix_tx, f);
	uart_set_rx_notify(f->u, fix_notify, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	uart_free(f->u);
	free(f);
	return 0;
}

static void put_str(struct uart *u, const char *s)
{
	assert_int_equal(uart_rx_put(u, (const uint8_t *)s, strlen(s)), (int)strlen(s));
}

static void test_divisor_latch(void **state)
{
	struct fix *f = *state;

	uart_write(f->u, UART_REG_LCR, LCR_DLAB | 0x03);
	uart_write(f->u, UART_REG_DLL, 0x01);
	uart_write(f->u, UART_REG_DLM, 0x02);
	assert_int_equal(uart_read(f->u, UART_REG_DLL), 0x01);
	assert_int_equal(uart_read(f->u, UART_REG_DLM), 0x02);
	assert_int_equal(uart_read(f->u, UART_REG_LCR), LCR_DLAB | 0x03);
	/* With DLAB set, offset 0 is not the transmitter. */
	assert_int_equal(f->ntx, 0);

	uart_write(f->u, UART_REG_LCR, 0x03);
	uart_write(f->u, UART_REG_IER, 0x05);
	assert_int_equal(uart_read(f->u, UART_REG_IER), 0x05);
	uart_write(f->u, UART_REG_THR, 'z');
	assert_int_equal(f->ntx, 1);

	uart_write(f->u, UART_REG_LCR, LCR_DLAB | 0x03);
	assert_int_equal(uart_read(f->u, UART_REG_DLL), 0x01);
	assert_int_equal(uart_read(f->u, UART_REG_DLM), 0x02);
	/* IER bits 4-7 are always 0 on the 16550A. */
	uart_write(f->u, UART_REG_LCR, 0x03);
	uart_write(f->u, UART_REG_IER, 0xff);
	assert_int_equal(uart_read(f->u, UART_REG_IER), 0x0f);
}

static void test_scratch(void **state)
{
	struct fix *f = *state;

	uart_write(f->u, UART_REG_SCR, 0x55);
	assert_int_equal(uart_read(f->u, UART_REG_SCR), 0x55);
	uart_write(f->u, UART_REG_SCR, 0xaa);
	assert_int_equal(uart_read(f->u, UART_REG_SCR), 0xaa);
	/* Out-of-range registers. */
	assert_int_equal(uart_read(f->u, 8), 0xff);
	assert_int_equal(uart_read(f->u, -1), 0xff);
	uart_write(f->u, 9, 0x12);
	assert_int_equal(uart_read(f->u, UART_REG_SCR), 0xaa);
}

static void test_lsr(void **state)
{
	struct fix *f = *state;

	assert_int_equal(uart_read(f->u, UART_REG_LSR), LSR_THRE | LSR_TEMT);
	put_str(f->u, "a");
	assert_int_equal(uart_read(f->u, UART_REG_LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	assert_int_equal(uart_read(f->u, UART_REG_RBR), 'a');
	assert_int_equal(uart_read(f->u, UART_REG_LSR), LSR_THRE | LSR_TEMT);
	uart_write(f->u, UART_REG_THR, 'b');
	assert_int_equal(uart_read(f->u, UART_REG_LSR), LSR_THRE | LSR_TEMT);
}

static void test_fifo_order_and_overflow(void **state)
{
	struct fix *f = *state;
	uint8_t many[20];
	int i;

	/* 16450 mode: one byte of room, no more. */
	assert_int_equal(uart_rx_room(f->u), 1);
	uart_write(f->u, UART_REG_FCR, 0x07);
	assert_int_equal(uart_rx_room(f->u), UART_FIFO_SIZE);

	put_str(f->u, "abcdef");
	assert_int_equal(uart_rx_room(f->u), UART_FIFO_SIZE - 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(uart_read(f->u, UART_REG_RBR), 'a' + i);
	assert_false(uart_read(f->u, UART_REG_LSR) & LSR_DR);

	for (i = 0; i < 20; i++)
		many[i] = (uint8_t)i;
	assert_int_equal(uart_rx_put(f->u, many, sizeof(many)), UART_FIFO_SIZE);
	assert_int_equal(uart_rx_room(f->u), 0);
	assert_int_equal(uart_rx_put(f->u, many, 1), 0);
	assert_int_equal(uart_read(f->u, UART_REG_LSR) & (LSR_OE | LSR_DR), LSR_OE | LSR_DR);
	/* OE clears on reading LSR. */
	assert_int_equal(uart_read(f->u, UART_REG_LSR) & LSR_OE, 0);
	for (i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(uart_read(f->u, UART_REG_RBR), i);
	assert_false(uart_read(f->u, UART_REG_LSR) & LSR_DR);

	/* FCR bit 1 empties the receive FIFO. */
	put_str(f->u, "xyz");
	uart_write(f->u, UART_REG_FCR, 0x03);
	assert_false(uart_read(f->u, UART_REG_LSR) & LSR_DR);
	/* Turning the FIFOs off empties them too. */
	put_str(f->u, "xyz");
	uart_write(f->u, UART_REG_FCR, 0x00);
	assert_false(uart_read(f->u, UART_REG_LSR) & LSR_DR);
	assert_int_equal(uart_rx_room(f->u), 1);
}

static void test_backpressure_notify(void **state)
{
	struct fix *f = *state;
	uint8_t buf[UART_FIFO_SIZE] = { 0 };

	uart_write(f->u, UART_REG_FCR, 0x01);
	assert_int_equal(uart_rx_put(f->u, buf, sizeof(buf)), UART_FIFO_SIZE);
	assert_int_equal(uart_rx_room(f->u), 0);
	assert_int_equal(f->notifies, 0);
	uart_read(f->u, UART_REG_RBR);
	assert_int_equal(f->notifies, 1);
	/* Only once per "full" episode. */
	uart_read(f->u, UART_REG_RBR);
	assert_int_equal(f->notifies, 1);
}

static uint8_t iir_id(struct uart *u)
{
	return uart_read(u, UART_REG_IIR) & 0x0f;
}

static void test_trigger_levels(void **state)
{
	static const struct {
		uint8_t fcr;
		int level;
	} t[] = { { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 } };
	struct fix *f = *state;
	uint8_t buf[UART_FIFO_SIZE] = { 0 };
	size_t i;

	uart_write(f->u, UART_REG_IER, IER_ERBFI);
	uart_write(f->u, UART_REG_MCR, MCR_OUT2);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uart_write(f->u, UART_REG_FCR, t[i].fcr | 0x02);
		assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc1);
		if (t[i].level > 1) {
			/* Below the trigger: only the (approximated) timeout. */
			uart_rx_put(f->u, buf, (size_t)t[i].level - 1);
			assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xcc);
			assert_int_equal(f->level, 1);
		}
		uart_rx_put(f->u, buf, 1);
		assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc4);
		/* One byte read drops below the trigger again. */
		uart_read(f->u, UART_REG_RBR);
		assert_int_equal(iir_id(f->u), t[i].level > 1 ? 0x0c : 0x01);
		while (uart_read(f->u, UART_REG_LSR) & LSR_DR)
			uart_read(f->u, UART_REG_RBR);
		assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc1);
		assert_int_equal(f->level, 0);
	}
	/* FIFOs off: no FIFO bits in IIR, any byte is "data available". */
	uart_write(f->u, UART_REG_FCR, 0x00);
	uart_rx_put(f->u, buf, 1);
	assert_int_equal(uart_read(f->u, UART_REG_IIR), 0x04);
}

static void test_iir_priority(void **state)
{
	struct fix *f = *state;
	uint8_t buf[UART_FIFO_SIZE + 1] = { 0 };

	uart_write(f->u, UART_REG_FCR, 0x01);
	uart_write(f->u, UART_REG_MCR, MCR_OUT2);
	/* Modem status delta: loopback with every output low drops CTS, DSR
	 * and DCD; back out of loopback they rise again. */
	uart_write(f->u, UART_REG_MCR, MCR_LOOP);
	uart_write(f->u, UART_REG_MCR, MCR_OUT2);
	/* Overrun plus data. */
	uart_rx_put(f->u, buf, sizeof(buf));
	uart_write(f->u, UART_REG_IER, IER_ERBFI | IER_ETBEI | IER_ELSI | IER_EDSSI);
	assert_int_equal(f->level, 1);

	assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc6); /* line status */
	uart_read(f->u, UART_REG_LSR);
	assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc4); /* data */
	while (uart_read(f->u, UART_REG_LSR) & LSR_DR)
		uart_read(f->u, UART_REG_RBR);
	assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc2); /* THRE, now cleared */
	assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc0); /* modem status */
	assert_int_equal(f->level, 1);
	assert_int_equal(uart_read(f->u, UART_REG_MSR) & 0x0f, 0x0b); /* DCD, DSR, CTS deltas */
	assert_int_equal(uart_read(f->u, UART_REG_IIR), 0xc1);
	assert_int_equal(f->level, 0);
}

static void test_thre(void **state)
{
	struct fix *f = *state;

	uart_write(f->u, UART_REG_MCR, MCR_OUT2);
	assert_int_equal(iir_id(f->u), 0x01);
	uart_write(f->u, UART_REG_IER, IER_ETBEI);
	assert_int_equal(f->level, 1);
	assert_int_equal(iir_id(f->u), 0x02);
	/* Reading IIR cleared it. */
	assert_int_equal(f->level, 0);
	assert_int_equal(iir_id(f->u), 0x01);
	/* A transmitted byte leaves THR empty again. */
	uart_write(f->u, UART_REG_THR, 'q');
	assert_int_equal(f->level, 1);
	assert_int_equal(iir_id(f->u), 0x02);
	assert_int_equal(iir_id(f->u), 0x01);
	/* Rewriting IER with ETBEI re-raises it (Linux relies on this). */
	uart_write(f->u, UART_REG_IER, IER_ETBEI);
	assert_int_equal(iir_id(f->u), 0x02);
	/* A higher-priority source hides THRE and reading IIR then keeps it. */
	uart_write(f->u, UART_REG_IER, IER_ETBEI | IER_ERBFI);
	put_str(f->u, "d");
	assert_int_equal(iir_id(f->u), 0x04);
	uart_read(f->u, UART_REG_RBR);
	assert_int_equal(iir_id(f->u), 0x02);
}

static void test_irq_follows_ier_out2(void **state)
{
	struct fix *f = *state;

	uart_write(f->u, UART_REG_IER, IER_ERBFI);
	put_str(f->u, "x");
	/* No OUT2: the PC's interrupt buffer is off. */
	assert_int_equal(f->level, 0);
	assert_int_equal(iir_id(f->u), 0x04);
	uart_write(f->u, UART_REG_MCR, MCR_OUT2);
	assert_int_equal(f->level, 1);
	uart_write(f->u, UART_REG_IER, 0);
	assert_int_equal(f->level, 0);
	uart_write(f->u, UART_REG_IER, IER_ERBFI);
	assert_int_equal(f->level, 1);
	uart_write(f->u, UART_REG_MCR, 0);
	assert_int_equal(f->level, 0);
	uart_write(f->u, UART_REG_MCR, MCR_OUT2);
	assert_int_equal(f->level, 1);
	/* Loopback forces OUT2 inactive at the pin. */
	uart_write(f->u, UART_REG_MCR, MCR_OUT2 | MCR_LOOP);
	assert_int_equal(f->level, 0);
	uart_write(f->u, UART_REG_MCR, MCR_OUT2);
	assert_int_equal(f->level, 1);
	uart_read(f->u, UART_REG_RBR);
	assert_int_equal(f->level, 0);
}

static void test_loopback(void **state)
{
	struct fix *f = *state;
	int i;

	uart_write(f->u, UART_REG_FCR, 0x01);
	uart_write(f->u, UART_REG_MCR, MCR_LOOP);
	uart_write(f->u, UART_REG_THR, 'L');
	uart_write(f->u, UART_REG_THR, 'B');
	assert_int_equal(f->ntx, 0);
	assert_true(uart_read(f->u, UART_REG_LSR) & LSR_DR);
	assert_int_equal(uart_read(f->u, UART_REG_RBR), 'L');
	assert_int_equal(uart_read(f->u, UART_REG_RBR), 'B');

	/* Outputs mirrored on the inputs. */
	uart_read(f->u, UART_REG_MSR);
	uart_write(f->u, UART_REG_MCR, MCR_LOOP | MCR_DTR);
	assert_int_equal(uart_read(f->u, UART_REG_MSR) & 0xf0, 0x20);
	uart_write(f->u, UART_REG_MCR, MCR_LOOP | MCR_RTS);
	assert_int_equal(uart_read(f->u, UART_REG_MSR), 0x10 | 0x03); /* CTS; DCTS, DDSR */
	uart_write(f->u, UART_REG_MCR, MCR_LOOP | MCR_OUT1);
	assert_int_equal(uart_read(f->u, UART_REG_MSR) & 0xf0, 0x40);
	uart_write(f->u, UART_REG_MCR, MCR_LOOP | MCR_OUT2);
	/* RI fell: trailing-edge indicator; DCD rose. */
	assert_int_equal(uart_read(f->u, UART_REG_MSR), 0x80 | 0x04 | 0x08);
	/* The probe Linux's 8250 driver runs. */
	uart_write(f->u, UART_REG_MCR, MCR_LOOP | 0x0a);
	assert_int_equal(uart_read(f->u, UART_REG_MSR) & 0xf0, 0x90);

	/* Looped-back bytes overrun a full FIFO like host bytes. */
	for (i = 0; i < UART_FIFO_SIZE + 2; i++)
		uart_write(f->u, UART_REG_THR, (uint8_t)i);
	assert_int_equal(uart_read(f->u, UART_REG_LSR) & LSR_OE, LSR_OE);
	for (i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(uart_read(f->u, UART_REG_RBR), i);
	assert_int_equal(f->ntx, 0);

	/* The line is disconnected in loopback: host bytes wait outside. */
	assert_int_equal(uart_rx_room(f->u), 0);
	assert_int_equal(uart_rx_put(f->u, (const uint8_t *)"h", 1), 0);
	assert_false(uart_read(f->u, UART_REG_LSR) & LSR_DR);
	f->notifies = 0;

	/* Leaving loopback: the modem inputs report a connected peer, and
	 * the host is told it may send again. */
	uart_write(f->u, UART_REG_MCR, 0);
	assert_int_equal(uart_read(f->u, UART_REG_MSR) & 0xf0, 0xb0);
	assert_int_equal(f->notifies, 1);
	assert_int_equal(uart_rx_room(f->u), UART_FIFO_SIZE);
	put_str(f->u, "h");
	assert_int_equal(uart_read(f->u, UART_REG_RBR), 'h');
}

static void test_tx_callback(void **state)
{
	struct fix *f = *state;
	const char *msg = "hello, world\r\n";
	size_t i;

	for (i = 0; msg[i]; i++)
		uart_write(f->u, UART_REG_THR, (uint8_t)msg[i]);
	assert_int_equal(f->ntx, strlen(msg));
	assert_memory_equal(f->tx, msg, strlen(msg));
	uart_set_tx(f->u, NULL, NULL);
	uart_write(f->u, UART_REG_THR, '!');
	assert_int_equal(f->ntx, strlen(msg));
}

static void test_inout(void **state)
{
	struct fix *f = *state;
	uint32_t v;

	v = 0x42;
	assert_int_equal(uart_inout(f->u, 0, false, 0x3ff, 1, &v), 0);
	v = 0xffffffff;
	assert_int_equal(uart_inout(f->u, 0, true, 0x3ff, 1, &v), 0);
	assert_int_equal(v, 0x42);
	assert_int_equal(uart_inout(f->u, 0, true, 0x3fd, 1, &v), 0);
	assert_int_equal(v, LSR_THRE | LSR_TEMT);
	/* Word read of MSR and SCR. */
	assert_int_equal(uart_inout(f->u, 0, true, 0x3fe, 2, &v), 0);
	assert_int_equal(v, 0x42b0);
	/* A dword at the last register: bytes past it read all-ones. */
	assert_int_equal(uart_inout(f->u, 0, true, 0x3ff, 4, &v), 0);
	assert_int_equal(v, 0xffffff42);
	assert_int_equal(uart_inout(f->u, 0, true, 0x3ff, 3, &v), -1);
	/* Same model at a PCI-style base. */
	v = 0x99;
	assert_int_equal(uart_inout(f->u, 0, false, 0xc007, 1, &v), 0);
	assert_int_equal(uart_read(f->u, UART_REG_SCR), 0x99);
}

/* Host side and guest side on two threads: every byte arrives, in order,
 * and the FIFO never holds more than its size. */
struct stream {
	struct uart *u;
	int count;
};

static void *producer(void *arg)
{
	struct stream *s = arg;
	int sent = 0;

	while (sent < s->count) {
		uint8_t b = (uint8_t)(sent * 7);

		if (uart_rx_room(s->u) == 0) {
			sched_yield();
			continue;
		}
		if (uart_rx_put(s->u, &b, 1) == 1)
			sent++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fix *f = *state;
	struct stream s = { f->u, 20000 };
	pthread_t t;
	int got = 0;

	uart_write(f->u, UART_REG_FCR, 0x01);
	assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
	while (got < s.count) {
		uint8_t lsr = uart_read(f->u, UART_REG_LSR);

		assert_false(lsr & LSR_OE);
		if (!(lsr & LSR_DR))
			continue;
		assert_int_equal(uart_read(f->u, UART_REG_RBR), (uint8_t)(got * 7));
		got++;
	}
	pthread_join(t, NULL);
}

/* ---- back ends, with a real event loop on a thread ---- */

struct loop_thread {
	struct mevent_loop *loop;
	pthread_t t;
};

static void *loop_main(void *arg)
{
	struct loop_thread *lt = arg;

	mevent_loop_run(lt->loop);
	return NULL;
}

static void loop_start(struct loop_thread *lt)
{
	assert_int_equal(pthread_create(&lt->t, NULL, loop_main, lt), 0);
}

static void loop_stop(struct loop_thread *lt)
{
	mevent_loop_stop(lt->loop);
	pthread_join(lt->t, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Guest side: read n bytes through the registers, waiting up to 5 s. */
static size_t guest_read(struct uart *u, uint8_t *buf, size_t n)
{
	int64_t end = mono_ms() + 5000;
	size_t got = 0;

	while (got < n && mono_ms() < end) {
		if (uart_read(u, UART_REG_LSR) & LSR_DR)
			buf[got++] = uart_read(u, UART_REG_RBR);
		else
			usleep(200);
	}
	return got;
}

static void guest_write(struct uart *u, const char *s)
{
	while (*s)
		uart_write(u, UART_REG_THR, (uint8_t)*s++);
}

/* Host side: read exactly n bytes from fd, waiting up to 5 s. */
static size_t host_read(int fd, uint8_t *buf, size_t n)
{
	int64_t end = mono_ms() + 5000;
	size_t got = 0;

	while (got < n && mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* A client counts as attached once a byte it sent reached the guest. */
static void wait_attached(struct uart *u, int peer)
{
	uint8_t c;

	assert_int_equal(write(peer, "!", 1), 1);
	assert_int_equal(guest_read(u, &c, 1), 1);
	assert_int_equal(c, '!');
}

static void exchange(struct uart *u, int peer)
{
	uint8_t buf[300];
	char big[201];
	size_t i;

	guest_write(u, "boot ok");
	assert_int_equal(host_read(peer, buf, 7), 7);
	assert_memory_equal(buf, "boot ok", 7);

	/* More than the FIFO holds: backpressure, nothing lost. */
	for (i = 0; i < 200; i++)
		big[i] = (char)('A' + i % 26);
	big[200] = '\0';
	assert_int_equal(write(peer, big, 200), 200);
	for (i = 0; i < 2000 && uart_rx_room(u) != 0; i++)
		usleep(1000);
	assert_true(uart_rx_room(u) == 0); /* full, and the rest waits in the kernel */
	assert_int_equal(guest_read(u, buf, 200), 200);
	assert_memory_equal(buf, big, 200);
}

static void test_backend_pty(void **state)
{
	struct loop_thread lt = { .loop = mevent_loop_new() };
	struct uart *u = uart_new(NULL, NULL);
	struct uart_backend *b;
	struct termios tio;
	const char *path;
	int s;

	(void)state;
	assert_non_null(lt.loop);
	uart_write(u, UART_REG_FCR, 0x01);
	uart_set_name(u, "com1");
	assert_int_equal(uart_backend_open(u, "pty", lt.loop, &b), 0);
	path = uart_backend_pty_path(b);
	assert_non_null(path);
	assert_int_equal(strncmp(path, "/dev/pts/", 9), 0);
	s = open(path, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_int_equal(tcgetattr(s, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(s, TCSANOW, &tio), 0);
	loop_start(&lt);
	exchange(u, s);
	loop_stop(&lt);
	close(s);
	uart_backend_close(b);
	assert_null(uart_backend_pty_path(NULL));
	mevent_loop_free(lt.loop);
	uart_free(u);
}

static void test_backend_unix(void **state)
{
	struct loop_thread lt = { .loop = mevent_loop_new() };
	struct uart *u = uart_new(NULL, NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct uart_backend *b;
	char spec[128];
	uint8_t c;
	int s, s2;
	struct stat st;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/test_uart.%d.sock", (int)getpid());
	snprintf(spec, sizeof(spec), "unix=%s", sa.sun_path);
	unlink(sa.sun_path);
	uart_write(u, UART_REG_FCR, 0x01);
	assert_int_equal(uart_backend_open(u, spec, lt.loop, &b), 0);
	assert_int_equal(stat(sa.sun_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	loop_start(&lt);

	/* Nobody connected: output is dropped, not queued without bound. */
	guest_write(u, "lost");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	wait_attached(u, s);
	exchange(u, s);

	/* A second client is turned away. */
	s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(s2, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(host_read(s2, &c, 1), 0);
	close(s2);

	/* The first leaves; a new one gets the port. */
	close(s);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	wait_attached(u, s);
	guest_write(u, "again");
	{
		uint8_t buf[5];

		assert_int_equal(host_read(s, buf, 5), 5);
		assert_memory_equal(buf, "again", 5);
	}
	close(s);
	loop_stop(&lt);
	assert_true(uart_backend_dropped(b) >= 4);
	uart_backend_close(b);
	/* The socket file goes with the back end. */
	assert_int_equal(stat(sa.sun_path, &st), -1);
	mevent_loop_free(lt.loop);
	uart_free(u);
}

static void test_backend_tcp(void **state)
{
	struct loop_thread lt = { .loop = mevent_loop_new() };
	struct uart *u = uart_new(NULL, NULL);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct uart_backend *b;
	const char *addr;
	int s;

	(void)state;
	uart_write(u, UART_REG_FCR, 0x01);
	assert_int_equal(uart_backend_open(u, "tcp=127.0.0.1:0", lt.loop, &b), 0);
	addr = uart_backend_tcp_addr(b);
	assert_non_null(addr);
	assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
	sin.sin_port = htons((uint16_t)atoi(addr + 10));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(ntohs(sin.sin_port) != 0);
	loop_start(&lt);
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	wait_attached(u, s);
	exchange(u, s);
	close(s);
	loop_stop(&lt);
	uart_backend_close(b);
	mevent_loop_free(lt.loop);
	uart_free(u);
}

static void test_backend_file(void **state)
{
	struct mevent_loop *loop = mevent_loop_new();
	struct uart *u = uart_new(NULL, NULL);
	struct uart_backend *b;
	char path[64], buf[16];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_uart.%d.log", (int)getpid());
	unlink(path);
	assert_int_equal(uart_backend_open(u, path, loop, &b), 0);
	guest_write(u, "logged");
	uart_backend_close(b);
	/* An existing file is appended to. */
	assert_int_equal(uart_backend_open(u, path, loop, &b), 0);
	guest_write(u, "+more");
	uart_backend_close(b);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "logged+more", 11);
	close(fd);
	unlink(path);
	mevent_loop_free(loop);
	uart_free(u);
}

static void test_backend_errors(void **state)
{
	struct mevent_loop *loop = mevent_loop_new();
	struct uart *u = uart_new(NULL, NULL);
	struct uart_backend *b = NULL, *b2 = NULL;
	char spec[200];

	(void)state;
	assert_int_equal(uart_backend_open(u, "", loop, &b), -EINVAL);
	assert_int_equal(uart_backend_open(u, "tcp=nope", loop, &b), -EINVAL);
	assert_int_equal(uart_backend_open(u, "tcp=127.0.0.1:", loop, &b), -EINVAL);
	assert_int_equal(uart_backend_open(u, "tcp=127.0.0.1:99999", loop, &b), -EINVAL);
	assert_int_equal(uart_backend_open(u, "tcp=127.0.0.1:-5", loop, &b), -EINVAL);
	assert_int_equal(uart_backend_open(u, "unix=", loop, &b), -EINVAL);
	memset(spec, 'a', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	memcpy(spec, "unix=/tmp/", 10);
	assert_int_equal(uart_backend_open(u, spec, loop, &b), -ENAMETOOLONG);
	assert_int_equal(uart_backend_open(u, "/tmp", loop, &b), -EISDIR);
	assert_int_equal(uart_backend_open(u, "/nonexistent-dir/x", loop, &b), -ENOENT);
	assert_int_equal(uart_backend_open(u, NULL, loop, &b), -EINVAL);

	/* One stdio user only. */
	assert_int_equal(uart_backend_open(u, "stdio", loop, &b), 0);
	assert_int_equal(uart_backend_open(u, "stdio", loop, &b2), -EBUSY);
	uart_backend_close(b);
	assert_int_equal(uart_backend_open(u, "stdio", loop, &b), 0);
	uart_backend_close(b);
	uart_backend_restore_all();
	mevent_loop_free(loop);
	uart_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lsr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_order_and_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_follows_ier_out2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test(test_backend_pty),
		cmocka_unit_test(test_backend_unix),
		cmocka_unit_test(test_backend_tcp),
		cmocka_unit_test(test_backend_file),
		cmocka_unit_test(test_backend_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
