/* A 16550A UART register model (PC16550D data sheet).  It knows nothing of KVM
 * or of host file descriptors: the interrupt line, the transmitted bytes and
 * "receive room appeared" are reported through callbacks, and the host feeds
 * received bytes with uart_rx_put().
 *
 * Threads: vCPU threads call uart_read/uart_write/uart_inout while the main
 * thread calls uart_rx_put/uart_rx_room; a mutex inside struct uart
 * serialises them.  The irq callback is called WITH that mutex held (so two
 * threads can never deliver line levels out of order) and must not call back
 * into the same uart.  The tx and rx-notify callbacks are called without it. */
#ifndef BHYVE_HW_UART_H
#define BHYVE_HW_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register offsets from the base port. */
#define UART_REG_RBR 0 /* read, DLAB=0 */
#define UART_REG_THR 0 /* write, DLAB=0 */
#define UART_REG_DLL 0 /* DLAB=1 */
#define UART_REG_IER 1 /* DLAB=0 */
#define UART_REG_DLM 1 /* DLAB=1 */
#define UART_REG_IIR 2 /* read */
#define UART_REG_FCR 2 /* write */
#define UART_REG_LCR 3
#define UART_REG_MCR 4
#define UART_REG_LSR 5
#define UART_REG_MSR 6
#define UART_REG_SCR 7

/* Depth of the receive FIFO: at most this many host bytes are ever held. */
#define UART_FIFO_SIZE 16

struct uart;

/* level 1: the interrupt output is asserted (already gated by MCR.OUT2). */
typedef void uart_irq_fn(void *arg, int level);
/* One byte transmitted by the guest (never called in loopback mode). */
typedef void uart_tx_fn(void *arg, uint8_t byte);
/* Receive room appeared after uart_rx_room() reported 0 or uart_rx_put() could
 * not take every byte: the back end may read its input again. */
typedef void uart_rx_notify_fn(void *arg);

/* NULL with errno set on failure. irq may be NULL. */
struct uart *uart_new(uart_irq_fn *irq, void *irq_arg);
void uart_free(struct uart *u);
/* A name for messages ("com1"); the string is copied. Default "uart". */
void uart_set_name(struct uart *u, const char *name);
const char *uart_name(const struct uart *u);

/* Guest side: reg is 0..7; anything else reads 0xff and writes are dropped. */
uint8_t uart_read(struct uart *u, int reg);
void uart_write(struct uart *u, int reg, uint8_t val);
/* inout_fn for a UART registered at an 8-aligned base (0x3f8, a PCI BAR...):
 * the register is port & 7.  Wider accesses are split into byte accesses to
 * consecutive registers, as the ISA bus does; bytes past register 7 read
 * 0xff. arg is the struct uart. */
int uart_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);

/* Host side: store up to uart_rx_room() bytes; returns how many were taken.
 * Bytes that do not fit are lost and set LSR.OE, as a real overrun does.
 * Never buffers more than UART_FIFO_SIZE bytes (1 when FIFOs are off); in
 * loopback mode the room is 0 and offered bytes are ignored (the line is
 * disconnected). */
int uart_rx_put(struct uart *u, const uint8_t *buf, size_t len);
size_t uart_rx_room(struct uart *u);
void uart_set_tx(struct uart *u, uart_tx_fn *tx, void *arg);
void uart_set_rx_notify(struct uart *u, uart_rx_notify_fn *fn, void *arg);

#endif
