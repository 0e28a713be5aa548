/* MD5, written from RFC 1321 §3: 64-byte blocks, four rounds of sixteen
 * steps, little-endian words, the message padded with 0x80, zeros and its
 * bit length. */
#include <string.h>

#include "le.h"
#include "net/md5.h"

/* §3.4: T[i] = floor(2^32 * |sin(i + 1)|), precomputed. */
static const uint32_t md5_t[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
	0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
	0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
	0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
	0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
	0xeb86d391,
};

/* Rotation amounts per round, four per round repeating (§3.4). */
static const uint8_t md5_s[4][4] = {
	{ 7, 12, 17, 22 },
	{ 5, 9, 14, 20 },
	{ 4, 11, 16, 23 },
	{ 6, 10, 15, 21 },
};

static uint32_t rotl(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* The auxiliary function of step i and the message word it takes. */
static uint32_t round_fn(unsigned i, uint32_t b, uint32_t c, uint32_t d, unsigned *k)
{
	switch (i / 16) {
	case 0:
		*k = i;
		return (b & c) | (~b & d);
	case 1:
		*k = (5 * i + 1) % 16;
		return (b & d) | (c & ~d);
	case 2:
		*k = (3 * i + 5) % 16;
		return b ^ c ^ d;
	default:
		*k = (7 * i) % 16;
		return c ^ (b | ~d);
	}
}

static void md5_block(uint32_t st[4], const uint8_t *blk)
{
	uint32_t x[16], a = st[0], b = st[1], c = st[2], d = st[3];
	unsigned i, k;

	for (i = 0; i < 16; i++)
		x[i] = le32_get(blk + 4 * (size_t)i);
	for (i = 0; i < 64; i++) {
		uint32_t f = round_fn(i, b, c, d, &k);
		uint32_t t = d;

		d = c;
		c = b;
		b = b + rotl(a + f + x[k] + md5_t[i], md5_s[i / 16][i % 4]);
		a = t;
	}
	st[0] += a;
	st[1] += b;
	st[2] += c;
	st[3] += d;
}

void md5_init(struct md5_ctx *c)
{
	/* §3.3: the initial buffer A, B, C, D. */
	c->state[0] = 0x67452301;
	c->state[1] = 0xefcdab89;
	c->state[2] = 0x98badcfe;
	c->state[3] = 0x10325476;
	c->nbytes = 0;
	c->fill = 0;
}

void md5_update(struct md5_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->nbytes += len;
	while (len) {
		size_t n = sizeof(c->block) - c->fill;

		if (n > len)
			n = len;
		memcpy(c->block + c->fill, p, n);
		c->fill += n;
		p += n;
		len -= n;
		if (c->fill == sizeof(c->block)) {
			md5_block(c->state, c->block);
			c->fill = 0;
		}
	}
}

void md5_final(struct md5_ctx *c, uint8_t digest[MD5_DIGEST_LEN])
{
	uint64_t bits = c->nbytes * 8;
	uint8_t pad = 0x80, zero = 0, len[8];
	size_t i;

	/* §3.1-3.2: 0x80, zeros to 56 mod 64, then the length in bits. */
	md5_update(c, &pad, 1);
	while (c->fill != 56)
		md5_update(c, &zero, 1);
	le64_put(len, bits);
	md5_update(c, len, sizeof(len));
	for (i = 0; i < 4; i++)
		le32_put(digest + i * 4, c->state[i]);
}

void md5_digest(const void *data, size_t len, uint8_t digest[MD5_DIGEST_LEN])
{
	struct md5_ctx c;

	md5_init(&c);
	md5_update(&c, data, len);
	md5_final(&c, digest);
}
