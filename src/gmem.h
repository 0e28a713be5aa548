/* Guest memory: the one door through which device models and loaders reach
 * guest-physical memory.  A range is translated only when it lies entirely
 * inside one RAM region; nothing else computes host pointers from guest
 * addresses. */
#ifndef BHYVE_GMEM_H
#define BHYVE_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4

struct gmem_region {
	uint64_t gpa;
	uint64_t len;
	uint8_t *host;
};

struct gmem {
	struct gmem_region r[GMEM_MAX_REGIONS];
	int nr;
};

/* Add a RAM region; returns 0 or -EINVAL (overlap, overflow, table full). */
int gmem_add_region(struct gmem *m, uint64_t gpa, uint64_t len, void *host);
/* Host address of [gpa, gpa+len) or NULL if any byte is outside RAM or the
 * range wraps.  len 0 is treated as 1 for the lookup. */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);
/* Copy to/from guest memory; 0 or -EFAULT (nothing copied). */
int gmem_read(const struct gmem *m, uint64_t gpa, void *buf, size_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *buf, size_t len);
/* End of the RAM region holding gpa, or 0 if gpa is not RAM. */
uint64_t gmem_region_end(const struct gmem *m, uint64_t gpa);

#endif
