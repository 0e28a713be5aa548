/* Software breakpoints of the GDB stub: INT3 bytes patched into guest
 * memory, with the bytes they replaced kept, so that the debugger reads and
 * writes memory as if they were not there.  The table works on guest-physical
 * addresses through the guest-memory interface; the caller translates the
 * debugger's guest-virtual address and serialises the calls. */
#ifndef BHYVE_DEBUG_SWBP_H
#define BHYVE_DEBUG_SWBP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

#define SWBP_MAX  64
#define SWBP_INT3 0xCC

struct swbp {
	uint64_t addr; /* guest-virtual, as the debugger gave it */
	uint64_t gpa;  /* where the INT3 was written */
	uint8_t orig;  /* the byte it replaced */
};

struct swbp_table {
	struct swbp bp[SWBP_MAX];
	unsigned n;
};

/* Plant an INT3 at gpa for the breakpoint at addr.  0 (also when addr has
 * one already), -ENOSPC when the table is full, -EFAULT when gpa is not
 * guest RAM (nothing changed). */
int swbp_insert(struct swbp_table *t, struct gmem *m, uint64_t addr, uint64_t gpa);
/* Take the breakpoint at addr out: the original byte goes back where the
 * INT3 still is (the guest may have overwritten it meanwhile).  Removing
 * an unknown addr does nothing. */
void swbp_remove(struct swbp_table *t, struct gmem *m, uint64_t addr);
void swbp_remove_all(struct swbp_table *t, struct gmem *m);
bool swbp_has(const struct swbp_table *t, uint64_t addr);
/* buf holds len bytes just read from guest-virtual addr: each breakpoint's
 * INT3 in it becomes the original byte again. */
void swbp_hide(const struct swbp_table *t, uint64_t addr, uint8_t *buf, uint64_t len);
/* buf holds len bytes the debugger just wrote at guest-virtual addr: a
 * breakpoint inside keeps the new byte as its original and its INT3 is
 * written back over it. */
void swbp_rewrite(struct swbp_table *t, struct gmem *m, uint64_t addr, const uint8_t *buf,
		  uint64_t len);

#endif
