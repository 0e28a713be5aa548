/* bhyve's own firmware control interface, fwctl (bhyve -l fwcfg,bhyve, the
 * default flavour of bhyve's fw_cfg), as bhyve's UEFI firmware uses it to
 * learn the CPU count.  The protocol, on the fw_cfg ports:
 *   - a 16-bit write of 0 to 0x510 (re)starts the interface: the next four
 *     8-bit reads of 0x511 return the signature "BHYV", after which the
 *     interface takes requests; before that, reads give all-ones;
 *   - a request is a run of 32-bit writes (to 0x510 or 0x511): its total
 *     size in bytes (at least 12, the header included), the operation, a
 *     transaction ID, then size - 12 bytes of data padded to whole words;
 *   - the response is a run of 32-bit reads: its size in bytes (16 + the
 *     data padded to words), the operation, the transaction ID, an error
 *     number (FreeBSD's: 0, ENOENT 2, E2BIG 7), then the data; once it has
 *     been read, the next request may start.
 * Operations: GET (3) of a NUL-terminated name answers a 64-bit
 * little-endian length and the value; GET_LEN (4) the 64-bit length alone;
 * an unknown name ENOENT, a name longer than 80 bytes E2BIG, any other
 * operation ENOENT with no data.  Values are added with fwctl_add();
 * bhyve's is "hw.ncpu", the vCPU count as a 32-bit integer. */
#ifndef BHYVE_HW_FWCTL_H
#define BHYVE_HW_FWCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FWCTL_PORT    0x510
#define FWCTL_PORT_IN 0x511
/* 0x510-0x514, so that a 32-bit access at either port is covered. */
#define FWCTL_PORT_LEN	 5
#define FWCTL_OP_GET	 3
#define FWCTL_OP_GET_LEN 4
#define FWCTL_ENOENT	 2
#define FWCTL_E2BIG	 7
#define FWCTL_NAME_MAX	 80 /* request data bytes a name may take */
#define FWCTL_VALUE_MAX	 4096
#define FWCTL_MAX_VALUES 16

struct fwctl;
struct inout;

struct fwctl *fwctl_new(void);
void fwctl_free(struct fwctl *c);
/* Add a named value of len bytes (copied): 0, -EINVAL (bad name or len
 * above FWCTL_VALUE_MAX), -EEXIST, -ENOSPC, -ENOMEM. */
int fwctl_add(struct fwctl *c, const char *name, const void *data, size_t len);
int fwctl_register(struct fwctl *c, struct inout *io);
/* inout_fn for FWCTL_PORT..+FWCTL_PORT_LEN; arg is the struct fwctl. */
int fwctl_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);

#endif
