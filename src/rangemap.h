/* A set of non-overlapping address ranges kept sorted, looked up by
 * bisection; shared by the I/O-port and MMIO dispatchers. Thread-safe:
 * lookups take a read lock, changes a write lock. */
#ifndef BHYVE_RANGEMAP_H
#define BHYVE_RANGEMAP_H

#include <pthread.h>
#include <stdint.h>

struct rangemap_entry {
	uint64_t base;
	uint64_t len;
	void *fn;
	void *arg;
	const char *name;
};

struct rangemap {
	pthread_rwlock_t lock;
	struct rangemap_entry *r;
	int nr;
	int cap;
};

void rangemap_init(struct rangemap *m);
void rangemap_destroy(struct rangemap *m);
/* 0, -EINVAL (empty or wrapping range), -EEXIST (overlap) or -ENOMEM. */
int rangemap_add(struct rangemap *m, const struct rangemap_entry *e);
int rangemap_remove(struct rangemap *m, uint64_t base);
/* Copies the entry covering [addr, addr+len) into *out; -ENOENT if none. */
int rangemap_find(struct rangemap *m, uint64_t addr, uint64_t len, struct rangemap_entry *out);

#endif
