/* The GDB stub (bhyve -G [w][addr:]port): a GDB remote serial protocol
 * server on TCP (GDB manual, appendix E "GDB Remote Serial Protocol").
 * One debugger at a time; each vCPU is one thread (ids 1..n).  While the
 * debugger holds the VM, every vCPU thread parks in gdb_vcpu_check(). */
#ifndef BHYVE_DEBUG_GDB_H
#define BHYVE_DEBUG_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gdb;
struct vm;
struct vcpu;
struct kvm_run;

/* Reads gdb.port, gdb.address (default 127.0.0.1) and gdb.wait from the
 * VM's config tree (bhyve_config(5)).  *out is NULL when gdb.port is not
 * set.  With gdb.wait the vCPUs park before their first instruction until a
 * debugger attaches.  0 or a negative errno (message printed). */
int gdb_start(struct vm *vm, struct gdb **out);
/* On each vCPU thread before KVM_RUN: park while the debugger holds the VM. */
void gdb_vcpu_check(struct gdb *g, struct vcpu *c);
/* On a vCPU thread after KVM_EXIT_DEBUG: report the stop and hold the VM. */
void gdb_vcpu_debug_exit(struct gdb *g, struct vcpu *c, const struct kvm_run *run);

/* ---- Protocol pieces, exported for the unit tests ---- */

/* Largest packet payload accepted or sent (qSupported PacketSize). */
#define GDB_PKT_MAX 4096

enum gdb_rx_event {
	GDB_RX_NONE,   /* byte consumed, nothing complete */
	GDB_RX_ACK,    /* '+' */
	GDB_RX_NAK,    /* '-': resend the last packet */
	GDB_RX_INTR,   /* 0x03 outside a packet: Ctrl-C */
	GDB_RX_PACKET, /* a packet with a good checksum: rx->buf, rx->len */
	GDB_RX_BAD,    /* a packet with a bad checksum or too long: answer '-' */
};

struct gdb_rx {
	int state;
	size_t len;
	uint8_t sum;
	uint8_t csum;
	bool overflow;
	char buf[GDB_PKT_MAX + 1]; /* NUL-terminated payload, still escaped */
};

void gdb_rx_init(struct gdb_rx *rx);
enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t byte);
/* "$" payload "#xx" with '#', '$', '}' and '*' escaped as '}' c^0x20.
 * Returns the frame length, or -ENOSPC. */
int gdb_frame(const char *data, size_t len, char *out, size_t outlen);
/* Undo '}' escapes in place (binary data of X packets); returns the new
 * length or -EINVAL for a trailing '}'. */
int gdb_unescape(char *data, size_t len);
void gdb_hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2n hex digits into n bytes; 0 or -EINVAL. */
int gdb_hex_decode(const char *in, size_t n, uint8_t *out);
/* Hex number at *p (1-16 digits); *p is left after it.  0 or -EINVAL. */
int gdb_parse_hex(const char **p, uint64_t *v);

#endif
