/* I/O-port dispatch over a range map.  Handlers run without the map's lock
 * held; device state is never freed while vCPUs run, so a handler found here
 * stays valid even if its range moves concurrently. */
#include "inout.h"

#include <errno.h>
#include <stdlib.h>

#include "rangemap.h"

struct inout {
	struct rangemap map;
};

struct inout *inout_new(void)
{
	struct inout *io = calloc(1, sizeof(*io));

	if (io)
		rangemap_init(&io->map);
	return io;
}

void inout_free(struct inout *io)
{
	if (!io)
		return;
	rangemap_destroy(&io->map);
	free(io);
}

int inout_register(struct inout *io, uint16_t base, uint32_t len, inout_fn *fn, void *arg,
		   const char *name)
{
	struct rangemap_entry e = { base, len, (void *)fn, arg, name };

	if (len == 0 || (uint32_t)base + len > 0x10000 || !fn)
		return -EINVAL;
	return rangemap_add(&io->map, &e);
}

int inout_unregister(struct inout *io, uint16_t base)
{
	return rangemap_remove(&io->map, base);
}

int inout_dispatch(struct inout *io, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct rangemap_entry e;
	inout_fn *fn;

	if (rangemap_find(&io->map, port, (uint64_t)bytes, &e) < 0)
		return -ENOENT;
	fn = (inout_fn *)e.fn;
	return fn(e.arg, vcpu, in, port, bytes, val) < 0 ? -ENOENT : 0;
}
