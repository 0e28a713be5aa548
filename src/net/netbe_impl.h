/* Constructors of the back ends, for netbe.c only.  On failure each fills
 * err with the whole message, naming the key at fault ("backend=tap7: ...",
 * "hostfwd=...: ..."), and returns a negative errno. */
#ifndef BHYVE_NET_NETBE_IMPL_H
#define BHYVE_NET_NETBE_IMPL_H

#include <stddef.h>

struct config;
struct netbe;

int net_tap_open(const char *ifname, struct netbe **out, char *err, size_t errlen);
int net_slirp_open(const struct config *cfg, const char *node, struct netbe **out, char *err,
		   size_t errlen);

#endif
