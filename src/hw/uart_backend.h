/* Host back ends of a UART: where its bytes go and come from.  The spec is
 * what bhyve(8) accepts after "-l comN,":
 *   stdio        the runner's stdin/stdout; a tty stdin is put in raw mode
 *   pty          a new pseudo-terminal; its /dev/pts path is logged
 *   tcp=IP:PORT  listen on IP:PORT ("[v6addr]:PORT" for IPv6), one client at
 *                a time (a second one is accepted and closed at once)
 *   unix=PATH    listen on a Unix stream socket, one client at a time
 *   PATH         an existing tty or other character device, read and
 *                written (a tty is put in raw mode); an existing fifo is read
 *                only (guest input); an existing regular file is appended to
 *                (output only); a path that does not exist is created (mode
 *                0600) as a regular file for output logging
 * Input is read on the main thread (mevent) only while the UART's receive
 * FIFO has room; guest output is written without blocking the vCPU, through a
 * bounded 64 KiB ring flushed by the main thread (bytes beyond that are
 * dropped). */
#ifndef BHYVE_HW_UART_BACKEND_H
#define BHYVE_HW_UART_BACKEND_H

#include "hw/uart.h"
#include "mevent.h"

struct uart_backend;

/* Attach u to the back end named by spec.  0 or a negative errno: -EINVAL for
 * a malformed spec, -EBUSY for a second "stdio" user, -EISDIR, -EADDRINUSE,
 * -ENAMETOOLONG... (the caller prints "-l com1,SPEC: strerror(-err)").  Main
 * thread only. */
int uart_backend_open(struct uart *u, const char *spec, struct mevent_loop *loop,
		      struct uart_backend **out);
/* Detach from the UART, restore any tty, close everything.  Main thread, and
 * only once no vCPU can touch the UART any more (its callbacks point here). */
void uart_backend_close(struct uart_backend *b);
/* The slave path of a "pty" back end, else NULL. */
const char *uart_backend_pty_path(const struct uart_backend *b);
/* The bound address of a "tcp=" back end ("127.0.0.1:PORT", "[::1]:PORT",
 * useful with port 0), else NULL. */
const char *uart_backend_tcp_addr(const struct uart_backend *b);
/* Bytes of guest output dropped so far (output ring full, no client...). */
uint64_t uart_backend_dropped(struct uart_backend *b);
/* Put back every terminal setting and file-status flag the back ends changed.
 * Async-signal-safe: call it from atexit() and from fatal-signal handlers. */
void uart_backend_restore_all(void);

#endif
