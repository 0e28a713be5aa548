/* virtio-console (virtio 1.2 §5.3), bhyve's "virtio-console", registered as
 * that PCI emulation.  Ports are named; each is a listening Unix stream
 * socket (one client at a time) or the runner's stdio:
 *   -s N,virtio-console,NAME=/path/sock[,NAME2=stdio...]
 *   (config keys pci.B.S.F.NAME=PATH, or bhyve_config(5)'s
 *    pci.B.S.F.port.NAME.path=PATH)
 * Up to VCON_MAX_PORTS ports, numbered in the configuration tree's sorted
 * order of their names.  This header exposes the pieces the unit tests
 * drive: control-message parsing and building, chain copying, the bounded
 * output ring and the port list parser. */
#ifndef BHYVE_VIRTIO_VIRTIO_CONSOLE_H
#define BHYVE_VIRTIO_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

struct config;

#define VCON_MAX_PORTS 16
#define VCON_NAME_MAX  127
#define VCON_PATH_MAX  107 /* sun_path less its NUL */

/* Control events (§5.3.6.2). */
#define VCON_DEVICE_READY  0
#define VCON_DEVICE_ADD	   1
#define VCON_DEVICE_REMOVE 2
#define VCON_PORT_READY	   3
#define VCON_CONSOLE_PORT  4
#define VCON_RESIZE	   5
#define VCON_PORT_OPEN	   6
#define VCON_PORT_NAME	   7

#define VCON_CTRL_HDR 8 /* le32 id, le16 event, le16 value */

struct vcon_ctrl {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};

/* The header of a driver-to-device control message: 0, or -EINVAL when the
 * chain holds fewer than VCON_CTRL_HDR readable bytes. */
int vcon_ctrl_parse(const struct vq_chain *c, struct vcon_ctrl *m);
/* Encode a device-to-driver message (name appended for PORT_NAME, may be
 * NULL) into buf; returns the length, or 0 when it does not fit in cap. */
size_t vcon_ctrl_build(uint8_t *buf, size_t cap, uint32_t id, uint16_t event, uint16_t value,
		       const char *name);
/* Copy len bytes into the chain's writable segments; returns bytes copied
 * (never more than those segments hold). */
uint32_t vcon_chain_write(const struct vq_chain *c, const void *buf, uint32_t len);

/* A fixed-size byte ring: what does not fit is dropped and counted. */
struct vcon_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
	uint64_t dropped;
};

uint32_t vcon_ring_put(struct vcon_ring *r, const void *p, uint32_t n);
/* The contiguous bytes at the head: their address in *p, count returned. */
uint32_t vcon_ring_peek(const struct vcon_ring *r, const uint8_t **p);
void vcon_ring_consume(struct vcon_ring *r, uint32_t n);

struct vcon_port_spec {
	char name[VCON_NAME_MAX + 1];
	char path[VCON_PATH_MAX + 1];
	bool is_stdio; /* path "stdio" */
};

/* Collect the ports of the function node: returns their count (1 to
 * VCON_MAX_PORTS) or -EINVAL (none, bad name), -E2BIG (too many),
 * -ENAMETOOLONG, -EEXIST (a name twice, or two stdio ports); err says why. */
int vcon_parse_ports(const struct config *cfg, const char *node, struct vcon_port_spec *out,
		     char *err, size_t errlen);

#endif
