/* MMIO dispatch by guest-physical address. */
#ifndef BHYVE_MMIO_H
#define BHYVE_MMIO_H

#include <stdbool.h>
#include <stdint.h>

/* One access of 1, 2, 4 or 8 bytes at gpa (inside the registered range). */
typedef int mmio_fn(void *arg, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val);

struct mmio;

struct mmio *mmio_new(void);
void mmio_free(struct mmio *m);
int mmio_register(struct mmio *m, uint64_t base, uint64_t len, mmio_fn *fn, void *arg,
		  const char *name);
int mmio_unregister(struct mmio *m, uint64_t base);
int mmio_dispatch(struct mmio *m, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val);

#endif
