/* MMIO dispatch by guest-physical address over a range map (see inout.c for
 * the locking rule). */
#include "mmio.h"

#include <errno.h>
#include <stdlib.h>

#include "rangemap.h"

struct mmio {
	struct rangemap map;
};

struct mmio *mmio_new(void)
{
	struct mmio *m = calloc(1, sizeof(*m));

	if (m)
		rangemap_init(&m->map);
	return m;
}

void mmio_free(struct mmio *m)
{
	if (!m)
		return;
	rangemap_destroy(&m->map);
	free(m);
}

int mmio_register(struct mmio *m, uint64_t base, uint64_t len, mmio_fn *fn, void *arg,
		  const char *name)
{
	struct rangemap_entry e = { base, len, (void *)fn, arg, name };

	if (!fn)
		return -EINVAL;
	return rangemap_add(&m->map, &e);
}

int mmio_unregister(struct mmio *m, uint64_t base)
{
	return rangemap_remove(&m->map, base);
}

int mmio_dispatch(struct mmio *m, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val)
{
	struct rangemap_entry e;
	mmio_fn *fn;

	if (bytes <= 0 || rangemap_find(&m->map, gpa, (uint64_t)bytes, &e) < 0)
		return -ENOENT;
	fn = (mmio_fn *)e.fn;
	return fn(e.arg, vcpu, write, gpa, bytes, val) < 0 ? -ENOENT : 0;
}
