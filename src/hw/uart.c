/* 16550A UART register model, written from the National Semiconductor PC16550D
 * data sheet (register tables 2 and 4, "FIFO interrupt mode operation").
 *
 * Choices where the data sheet leaves room or the model simplifies:
 * - Transmission is instantaneous: a THR write hands the byte to the host at
 *   once, so THR and the shift register are always empty (LSR.THRE and
 *   LSR.TEMT always read 1) and a THRE interrupt is pending again after every
 *   THR write.
 * - Character timeout (IIR 0x0C): the real part raises it when data has sat
 *   below the trigger level for four character times.  Here each host batch
 *   (one uart_rx_put call, or one looped-back byte) counts as "the line went
 *   quiet": data left below the trigger level raises the timeout indication at
 *   once, and it stays raised until the FIFO is empty (reading one byte on
 *   the real part restarts the timer, which would expire again).
 * - Interrupt line: on PCs the 16550 INTR pin reaches the interrupt controller
 *   only through a buffer enabled by the OUT2 output.  So the line is driven
 *   only while MCR.OUT2 is set, and not in loopback mode, where the data sheet
 *   forces the OUT1/OUT2 pins inactive.
 * - Modem inputs: outside loopback, CTS, DSR and DCD are reported asserted
 *   (a connected null-modem peer) and RI deasserted.
 * - With FIFOs disabled (16450 mode) the receiver holds one byte, so the host
 *   side sees room for one byte: input is then slowed down, not lost.
 * - In loopback the serial input is disconnected from the line (data sheet,
 *   MCR bit 4): the host sees no room, and its bytes wait in the host until
 *   loopback ends. */
#include "hw/uart.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f

#define IIR_NONE    0x01
#define IIR_MSR	    0x00
#define IIR_THRE    0x02
#define IIR_RDA	    0x04
#define IIR_RLS	    0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE	  0x01
#define FCR_CLEAR_RX	  0x02
#define FCR_TRIGGER_SHIFT 6

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_RI	   0x40
#define MSR_DCD	   0x80
#define MSR_DELTAS 0x0f

#define UART_NAME_MAX 16

struct uart {
	pthread_mutex_t lock;

	uint8_t rx_fifo[UART_FIFO_SIZE];
	unsigned int rx_head;  /* index of the oldest byte */
	unsigned int rx_count; /* bytes held */
	uint8_t rbr_last;      /* what RBR reads when the FIFO is empty */
	bool rx_timeout;       /* character-timeout indication (see above) */
	bool rx_blocked;       /* the host was told there is no room */

	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool fifo_on;
	unsigned int trigger; /* receive trigger level, in bytes */
	bool overrun;	      /* LSR.OE, cleared by reading LSR */
	bool thre_pending;    /* THRE interrupt condition */
	uint8_t msr_delta;    /* MSR bits 0..3 */

	uart_irq_fn *irq;
	void *irq_arg;
	int irq_level;
	uart_tx_fn *tx;
	void *tx_arg;
	uart_rx_notify_fn *rx_notify;
	void *rx_notify_arg;
	char name[UART_NAME_MAX];
};

/* What the caller must do once the lock is dropped. */
struct uart_after {
	bool tx;
	uint8_t tx_byte;
	bool notify;
};

static const unsigned int fcr_trigger_bytes[4] = { 1, 4, 8, 14 };

struct uart *uart_new(uart_irq_fn *irq, void *irq_arg)
{
	struct uart *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return NULL;
	err = pthread_mutex_init(&u->lock, NULL);
	if (err) {
		free(u);
		errno = err;
		return NULL;
	}
	u->irq = irq;
	u->irq_arg = irq_arg;
	u->trigger = 1;
	u->dll = 12; /* 9600 baud from the PC's 1.8432 MHz clock */
	strcpy(u->name, "uart");
	return u;
}

void uart_free(struct uart *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

void uart_set_name(struct uart *u, const char *name)
{
	pthread_mutex_lock(&u->lock);
	snprintf(u->name, sizeof(u->name), "%s", name ? name : "uart");
	pthread_mutex_unlock(&u->lock);
}

const char *uart_name(const struct uart *u)
{
	return u->name;
}

static unsigned int rx_capacity(const struct uart *u)
{
	return u->fifo_on ? UART_FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct uart *u)
{
	return u->fifo_on ? u->trigger : 1;
}

/* The modem-status input pins as MSR bits 4..7.  In loopback the outputs are
 * wired to the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD (data sheet,
 * MCR bit 4). */
static uint8_t msr_lines(const struct uart *u)
{
	uint8_t m = 0;

	if (!(u->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (u->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

/* Latch the delta bits for a change of the input pins from old to now. */
static void msr_track(struct uart *u, uint8_t old, uint8_t now)
{
	uint8_t changed = old ^ now;

	if (changed & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		u->msr_delta |= MSR_TERI; /* trailing edge only */
	if (changed & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
}

/* The interrupt identification, by the data sheet's priority order. */
static uint8_t iir_id(const struct uart *u)
{
	if ((u->ier & IER_ELSI) && u->overrun)
		return IIR_RLS;
	if (u->ier & IER_ERBFI) {
		if (u->rx_count >= rx_trigger(u))
			return IIR_RDA;
		if (u->fifo_on && u->rx_timeout && u->rx_count > 0)
			return IIR_TIMEOUT;
	}
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_EDSSI) && u->msr_delta)
		return IIR_MSR;
	return IIR_NONE;
}

/* Called with the lock held after every state change. */
static void irq_update(struct uart *u)
{
	int level = 0;

	if ((u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP) && iir_id(u) != IIR_NONE)
		level = 1;
	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->irq)
		u->irq(u->irq_arg, level);
}

static void rx_clear(struct uart *u, struct uart_after *after)
{
	u->rx_count = 0;
	u->rx_head = 0;
	u->rx_timeout = false;
	if (u->rx_blocked) {
		u->rx_blocked = false;
		after->notify = true;
	}
}

/* Store one received byte; a byte that finds the FIFO full is lost (OE). */
static bool rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->overrun = true;
		return false;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart *u, struct uart_after *after)
{
	if (u->rx_count == 0)
		return u->rbr_last;
	u->rbr_last = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	if (u->rx_count == 0)
		u->rx_timeout = false;
	if (u->rx_blocked) {
		u->rx_blocked = false;
		after->notify = true;
	}
	return u->rbr_last;
}

static uint8_t lsr_value(const struct uart *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT;

	if (u->rx_count > 0)
		lsr |= LSR_DR;
	if (u->overrun)
		lsr |= LSR_OE;
	return lsr;
}

static uint8_t read_locked(struct uart *u, int reg, struct uart_after *after)
{
	uint8_t v, id;

	switch (reg) {
	case UART_REG_RBR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		return rx_pop(u, after);
	case UART_REG_IER:
		if (u->lcr & LCR_DLAB)
			return u->dlm;
		return u->ier;
	case UART_REG_IIR:
		id = iir_id(u);
		/* Reading IIR while it reports THRE clears that condition. */
		if (id == IIR_THRE)
			u->thre_pending = false;
		return id | (u->fifo_on ? IIR_FIFO_ON : 0);
	case UART_REG_LCR:
		return u->lcr;
	case UART_REG_MCR:
		return u->mcr;
	case UART_REG_LSR:
		v = lsr_value(u);
		u->overrun = false; /* error bits clear on read */
		return v;
	case UART_REG_MSR:
		v = msr_lines(u) | u->msr_delta;
		u->msr_delta = 0;
		return v;
	case UART_REG_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

static void write_fcr(struct uart *u, uint8_t val, struct uart_after *after)
{
	/* FCR0 gates every other bit, and changing it empties the FIFOs. */
	if (!(val & FCR_ENABLE)) {
		if (u->fifo_on)
			rx_clear(u, after);
		u->fifo_on = false;
		return;
	}
	if (!u->fifo_on || (val & FCR_CLEAR_RX))
		rx_clear(u, after);
	u->fifo_on = true;
	u->trigger = fcr_trigger_bytes[(val >> FCR_TRIGGER_SHIFT) & 3];
}

static void write_mcr(struct uart *u, uint8_t val, struct uart_after *after)
{
	uint8_t old = msr_lines(u);

	u->mcr = val & MCR_MASK;
	msr_track(u, old, msr_lines(u));
	/* Leaving loopback reconnects the line: the host may send again. */
	if (!(u->mcr & MCR_LOOP) && u->rx_blocked && u->rx_count < rx_capacity(u)) {
		u->rx_blocked = false;
		after->notify = true;
	}
}

static void write_thr(struct uart *u, uint8_t val, struct uart_after *after)
{
	if (u->mcr & MCR_LOOP) {
		rx_push(u, val);
		u->rx_timeout = true;
	} else {
		after->tx = true;
		after->tx_byte = val;
	}
	/* The byte left THR at once: THR is empty again. */
	u->thre_pending = true;
}

static void write_locked(struct uart *u, int reg, uint8_t val, struct uart_after *after)
{
	switch (reg) {
	case UART_REG_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = val;
		else
			write_thr(u, val, after);
		break;
	case UART_REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			break;
		}
		u->ier = val & IER_MASK;
		/* Enabling ETBEI with THR empty raises THRE (THR is always
		 * empty here). */
		if (u->ier & IER_ETBEI)
			u->thre_pending = true;
		break;
	case UART_REG_FCR:
		write_fcr(u, val, after);
		break;
	case UART_REG_LCR:
		u->lcr = val;
		break;
	case UART_REG_MCR:
		write_mcr(u, val, after);
		break;
	case UART_REG_SCR:
		u->scr = val;
		break;
	default:
		/* LSR and MSR are read-only here (factory test on the part). */
		break;
	}
}

static void run_after(const struct uart_after *after, uart_tx_fn *tx, void *tx_arg,
		      uart_rx_notify_fn *notify, void *notify_arg)
{
	if (after->tx && tx)
		tx(tx_arg, after->tx_byte);
	if (after->notify && notify)
		notify(notify_arg);
}

uint8_t uart_read(struct uart *u, int reg)
{
	struct uart_after after = { 0 };
	uart_rx_notify_fn *notify;
	void *notify_arg;
	uint8_t v;

	if (reg < 0 || reg > 7)
		return 0xff;
	pthread_mutex_lock(&u->lock);
	v = read_locked(u, reg, &after);
	irq_update(u);
	notify = u->rx_notify;
	notify_arg = u->rx_notify_arg;
	pthread_mutex_unlock(&u->lock);
	run_after(&after, NULL, NULL, notify, notify_arg);
	return v;
}

void uart_write(struct uart *u, int reg, uint8_t val)
{
	struct uart_after after = { 0 };
	uart_rx_notify_fn *notify;
	void *notify_arg, *tx_arg;
	uart_tx_fn *tx;

	if (reg < 0 || reg > 7)
		return;
	pthread_mutex_lock(&u->lock);
	write_locked(u, reg, val, &after);
	irq_update(u);
	tx = u->tx;
	tx_arg = u->tx_arg;
	notify = u->rx_notify;
	notify_arg = u->rx_notify_arg;
	pthread_mutex_unlock(&u->lock);
	/* Outside the lock: a guest's own writes are already ordered by its
	 * vCPU, and the back end may take its own locks. */
	run_after(&after, tx, tx_arg, notify, notify_arg);
}

int uart_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct uart *u = arg;
	int reg = port & 7;
	uint32_t v = 0;
	int i;

	(void)vcpu;
	if (bytes != 1 && bytes != 2 && bytes != 4)
		return -1;
	for (i = 0; i < bytes; i++, reg++) {
		uint32_t b = 0xff;

		if (in) {
			if (reg <= 7)
				b = uart_read(u, reg);
			v |= b << (8 * i);
		} else if (reg <= 7) {
			uart_write(u, reg, (uint8_t)(*val >> (8 * i)));
		}
	}
	if (in)
		*val = v;
	return 0;
}

int uart_rx_put(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t i;
	int taken = 0;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&u->lock);
	if (u->mcr & MCR_LOOP) {
		/* The line is disconnected: nothing arrives. */
		u->rx_blocked = true;
		pthread_mutex_unlock(&u->lock);
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (!rx_push(u, buf[i])) {
			/* The rest of the batch is lost with this byte. */
			u->rx_blocked = true;
			break;
		}
		taken++;
	}
	if (u->rx_count >= rx_capacity(u))
		u->rx_blocked = true;
	/* The batch ended: data below the trigger level times out now. */
	u->rx_timeout = u->rx_count > 0;
	irq_update(u);
	pthread_mutex_unlock(&u->lock);
	return taken;
}

size_t uart_rx_room(struct uart *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = (u->mcr & MCR_LOOP) ? 0 : rx_capacity(u) - u->rx_count;
	if (room == 0)
		u->rx_blocked = true;
	pthread_mutex_unlock(&u->lock);
	return room;
}

void uart_set_tx(struct uart *u, uart_tx_fn *tx, void *arg)
{
	pthread_mutex_lock(&u->lock);
	u->tx = tx;
	u->tx_arg = arg;
	pthread_mutex_unlock(&u->lock);
}

void uart_set_rx_notify(struct uart *u, uart_rx_notify_fn *fn, void *arg)
{
	pthread_mutex_lock(&u->lock);
	u->rx_notify = fn;
	u->rx_notify_arg = arg;
	pthread_mutex_unlock(&u->lock);
}
