/* MD5 (RFC 1321), only for deriving stable default MAC addresses the way
 * bhyve(8) does; not for anything that needs a secure hash. */
#ifndef BHYVE_NET_MD5_H
#define BHYVE_NET_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_LEN 16

struct md5_ctx {
	uint32_t state[4];
	uint64_t nbytes; /* total message length so far */
	uint8_t block[64];
	size_t fill; /* bytes waiting in block */
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t len);
void md5_final(struct md5_ctx *c, uint8_t digest[MD5_DIGEST_LEN]);
/* One-shot convenience. */
void md5_digest(const void *data, size_t len, uint8_t digest[MD5_DIGEST_LEN]);

#endif
