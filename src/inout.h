/* I/O-port dispatch: devices register port ranges; the vCPU loop looks them
 * up (binary search over a sorted table). */
#ifndef BHYVE_INOUT_H
#define BHYVE_INOUT_H

#include <stdbool.h>
#include <stdint.h>

/* One access of 1, 2 or 4 bytes at port. For an IN the handler stores the
 * value in *val (the caller pre-fills all-ones); for an OUT *val holds the
 * value. Return 0, or -1 for "not handled" (treated as an unhandled port). */
typedef int inout_fn(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);

struct inout;

struct inout *inout_new(void);
void inout_free(struct inout *io);
/* 0, or -EEXIST when it overlaps a registered range, -EINVAL when empty or
 * past 0xffff. */
int inout_register(struct inout *io, uint16_t base, uint32_t len, inout_fn *fn, void *arg,
		   const char *name);
int inout_unregister(struct inout *io, uint16_t base);
/* Dispatch; returns 0 when handled, -ENOENT when no handler covers the port,
 * or the handler's error. */
int inout_dispatch(struct inout *io, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);

#endif
