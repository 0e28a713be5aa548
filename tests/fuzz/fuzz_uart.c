/* libFuzzer target: the 16550A model (src/hw/uart.c) driven as a hostile
 * guest and a busy host at once (SECURITY.md "Exhaustion", "Transport
 * registers").  The input is a program of one-byte opcodes: register reads
 * and writes (any register number, in or out of 0..7), port accesses of any
 * width through uart_inout, host receive batches, loopback toggles and
 * consistency checks.  Invariants:
 *  - the host never gets more room than UART_FIFO_SIZE and uart_rx_put never
 *    takes more than it was offered or than the room it reported;
 *  - draining RBR empties the FIFO in at most UART_FIFO_SIZE reads;
 *  - the irq callback only reports level changes, and the level equals
 *    "an interrupt is identified in IIR, OUT2 set, not in loopback";
 *  - no byte is transmitted to the host in loopback mode. */
#include <string.h>

#include "fuzz_input.h"
#include "hw/uart.h"

struct state {
	struct uart *u;
	int level;	/* last level the irq callback reported */
	int irq_calls;
	int tx_bytes;
	int notifies;
};

static struct state st;

static void on_irq(void *arg, int level)
{
	struct state *s = arg;

	FZ_CHECK(level == 0 || level == 1);
	FZ_CHECK(level != s->level); /* only changes are reported */
	s->level = level;
	s->irq_calls++;
}

static void on_tx(void *arg, uint8_t byte)
{
	struct state *s = arg;

	(void)byte;
	s->tx_bytes++;
}

static void on_notify(void *arg)
{
	struct state *s = arg;

	s->notifies++;
}

/* MCR has no read side effects; IIR reports the identification that was
 * pending before the read (a THRE read then clears it, which may lower the
 * line through the callback, as it should). */
static void check_irq(struct state *s)
{
	uint8_t mcr = uart_read(s->u, UART_REG_MCR);
	int before = s->level;
	uint8_t iir = uart_read(s->u, UART_REG_IIR);
	bool gate = (mcr & 0x08) && !(mcr & 0x10);

	FZ_CHECK((mcr & ~0x1f) == 0);
	FZ_CHECK(before == (gate && !(iir & 1)));
}

static void check_drain(struct state *s)
{
	uint8_t lcr = uart_read(s->u, UART_REG_LCR);
	int n = 0;

	uart_write(s->u, UART_REG_LCR, lcr & 0x7f); /* DLAB off: RBR */
	while (uart_read(s->u, UART_REG_LSR) & 0x01) {
		uart_read(s->u, UART_REG_RBR);
		FZ_CHECK(++n <= UART_FIFO_SIZE);
	}
	FZ_CHECK(uart_rx_room(s->u) <= UART_FIFO_SIZE);
	uart_write(s->u, UART_REG_LCR, lcr);
}

static void host_rx(struct state *s, struct fz *f)
{
	const uint8_t *buf;
	size_t want = fz_u8(f) % 40, n, room;
	int taken;

	n = fz_take(f, want, &buf);
	room = uart_rx_room(s->u);
	FZ_CHECK(room <= UART_FIFO_SIZE);
	taken = uart_rx_put(s->u, buf, n);
	FZ_CHECK(taken >= 0 && (size_t)taken <= n && (size_t)taken <= room);
	FZ_CHECK(uart_rx_room(s->u) <= UART_FIFO_SIZE);
}

static void loopback(struct state *s, bool on)
{
	uint8_t mcr = uart_read(s->u, UART_REG_MCR);

	uart_write(s->u, UART_REG_MCR, on ? (mcr | 0x10) : (mcr & ~0x10));
}

static void step(struct state *s, struct fz *f)
{
	uint8_t op = fz_u8(f);
	uint32_t v;
	int tx0, reg;

	switch (op % 10) {
	case 0:
	case 1: /* register write (register numbers out of range too) */
		reg = (op & 0x80) ? (int8_t)fz_u8(f) : (op >> 4) & 7;
		v = fz_u8(f);
		tx0 = s->tx_bytes;
		uart_write(s->u, reg, (uint8_t)v);
		if (uart_read(s->u, UART_REG_MCR) & 0x10)
			FZ_CHECK(s->tx_bytes == tx0);
		break;
	case 2:
	case 3: /* register read */
		reg = (op & 0x80) ? (int8_t)fz_u8(f) : (op >> 4) & 7;
		v = uart_read(s->u, reg);
		if (reg < 0 || reg > 7)
			FZ_CHECK(v == 0xff);
		break;
	case 4: /* port access of any width at any offset of the 8 ports */
		reg = fz_u8(f);
		v = fz_u32(f);
		uart_inout(s->u, 0, reg & 0x80, (uint16_t)(0x3f8 + (reg & 7)), fz_width(f), &v);
		break;
	case 5:
		host_rx(s, f);
		break;
	case 6:
		loopback(s, op & 0x10);
		break;
	case 7:
		check_irq(s);
		break;
	case 8:
		check_drain(s);
		break;
	case 9: /* FIFO control: enable/disable, clear, trigger level */
		uart_write(s->u, UART_REG_FCR, fz_u8(f));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	int steps = 0;

	memset(&st, 0, sizeof(st));
	st.u = uart_new(on_irq, &st);
	if (!st.u)
		return 0;
	uart_set_name(st.u, "com1");
	uart_set_tx(st.u, on_tx, &st);
	uart_set_rx_notify(st.u, on_notify, &st);
	while (fz_more(&f) && steps++ < 4096)
		step(&st, &f);
	check_irq(&st);
	check_drain(&st);
	uart_free(st.u);
	return 0;
}
