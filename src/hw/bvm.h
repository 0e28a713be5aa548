/* FreeBSD's "bvm" paravirtual ports (bhyve -b and -g; removed from bhyve by
 * 13.0, kept here, SPEC §1):
 *   0x220  bvm console  (FreeBSD sys/dev/bvm/bvm_console.c), signature "bv"
 *   0x224  bvm debug port for the kernel's gdb back end (bvm_dbg.c), "BV"
 * Both are byte streams through one 4-byte I/O port, with the guest driver's
 * semantics:
 *   16-bit IN at the port        the signature, 'b' << 8 | 'v' (console) or
 *                                'B' << 8 | 'V' (debug): how the guest probes
 *   32-bit IN                    the next input byte, or 0xFFFFFFFF when none
 *   32-bit OUT                   the low byte is output
 *   8-bit IN (console only)      0xFF, as for a missing ISA device, so that
 *                                ISA probes do not trip -e
 * Every other access is left unhandled (all-ones, or -e aborts).
 *
 * The console is bridged to the runner's stdin/stdout (a tty stdin is put in
 * raw mode); the debug port to a TCP listener on 127.0.0.1 (bhyve listened
 * on every address; a debug port controls the guest's kernel, so it stays
 * local), one client at a time.  Input waits in a bounded 4 KiB buffer
 * (reading stops while it is full); output goes through a bounded 64 KiB
 * buffer flushed by the main thread, and bytes beyond it are dropped, so a
 * stuck reader never stalls a vCPU.  Unlike bhyve, a vCPU never waits for
 * the debugger to connect: until then reads see no data and writes are
 * dropped (FreeBSD's gdb back end polls and retransmits). */
#ifndef BHYVE_HW_BVM_H
#define BHYVE_HW_BVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inout.h"
#include "mevent.h"

#define BVM_CONS_PORT 0x220
#define BVM_DBG_PORT  0x224
#define BVM_PORT_LEN  4
#define BVM_CONS_SIG  0x6276 /* 'b' << 8 | 'v' */
#define BVM_DBG_SIG   0x4256 /* 'B' << 8 | 'V' */
#define BVM_NO_DATA   0xFFFFFFFFu
#define BVM_IN_SIZE   4096
#define BVM_OUT_SIZE  ((size_t)64 * 1024)

struct bvm;

/* The bvm console on port 0x220, on stdin/stdout.  The caller makes sure
 * nothing else (a COM port) uses stdio.  0 or a negative errno. */
int bvm_console_init(struct inout *io, struct mevent_loop *loop, struct bvm **out);
/* The bvm debug port on 0x224, listening on 127.0.0.1:tcp_port (0: any free
 * port, see bvm_tcp_port).  0 or a negative errno (-EADDRINUSE...). */
int bvm_debug_init(struct inout *io, struct mevent_loop *loop, int tcp_port, struct bvm **out);
/* A bvm port (BVM_CONS_PORT or BVM_DBG_PORT) bridged to the given
 * descriptors (either may be -1), which it owns from then on: the building
 * block of the two above, and a way for tests to drive a port. */
int bvm_attach_fds(struct inout *io, struct mevent_loop *loop, uint16_t port, int rfd, int wfd,
		   struct bvm **out);
/* The port handler registered for the port (an inout_fn). */
int bvm_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);
/* The TCP port the debug port listens on, 0 for the console. */
int bvm_tcp_port(const struct bvm *b);
/* Output bytes dropped so far (buffer full, no client). */
uint64_t bvm_dropped(struct bvm *b);
/* Unregister the port and close everything; main thread, no vCPU running. */
void bvm_close(struct inout *io, struct bvm *b);
/* Put back the terminal mode of stdin if the console changed it.
 * Async-signal-safe: for atexit() and fatal-signal handlers. */
void bvm_restore_terminal(void);

#endif
