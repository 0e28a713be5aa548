/* Software breakpoints: see swbp.h. */
#include "debug/swbp.h"

#include <errno.h>

static int index_of(const struct swbp_table *t, uint64_t addr)
{
	unsigned i;

	for (i = 0; i < t->n; i++) {
		if (t->bp[i].addr == addr)
			return (int)i;
	}
	return -1;
}

bool swbp_has(const struct swbp_table *t, uint64_t addr)
{
	return index_of(t, addr) >= 0;
}

int swbp_insert(struct swbp_table *t, struct gmem *m, uint64_t addr, uint64_t gpa)
{
	struct swbp bp = { .addr = addr, .gpa = gpa };
	uint8_t int3 = SWBP_INT3;

	if (swbp_has(t, addr))
		return 0;
	if (t->n >= SWBP_MAX)
		return -ENOSPC;
	if (gmem_read(m, gpa, &bp.orig, 1) < 0 || gmem_write(m, gpa, &int3, 1) < 0)
		return -EFAULT;
	t->bp[t->n++] = bp;
	return 0;
}

static void remove_at(struct swbp_table *t, struct gmem *m, struct swbp *bp)
{
	uint8_t cur;

	if (gmem_read(m, bp->gpa, &cur, 1) == 0 && cur == SWBP_INT3)
		gmem_write(m, bp->gpa, &bp->orig, 1);
	*bp = t->bp[--t->n];
}

void swbp_remove(struct swbp_table *t, struct gmem *m, uint64_t addr)
{
	int i = index_of(t, addr);

	if (i >= 0)
		remove_at(t, m, &t->bp[i]);
}

void swbp_remove_all(struct swbp_table *t, struct gmem *m)
{
	while (t->n)
		remove_at(t, m, &t->bp[t->n - 1]);
}

/* Whether addr lies in [start, start + len), without overflow. */
static bool inside(uint64_t addr, uint64_t start, uint64_t len)
{
	return addr >= start && addr - start < len;
}

void swbp_hide(const struct swbp_table *t, uint64_t addr, uint8_t *buf, uint64_t len)
{
	unsigned i;

	for (i = 0; i < t->n; i++) {
		if (inside(t->bp[i].addr, addr, len))
			buf[t->bp[i].addr - addr] = t->bp[i].orig;
	}
}

void swbp_rewrite(struct swbp_table *t, struct gmem *m, uint64_t addr, const uint8_t *buf,
		  uint64_t len)
{
	uint8_t int3 = SWBP_INT3;
	unsigned i;

	for (i = 0; i < t->n; i++) {
		struct swbp *bp = &t->bp[i];

		if (!inside(bp->addr, addr, len))
			continue;
		bp->orig = buf[bp->addr - addr];
		gmem_write(m, bp->gpa, &int3, 1);
	}
}
