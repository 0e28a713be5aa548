/* A cursor over a libFuzzer input, shared by the fuzz targets: every read
 * past the end yields zeros, so a short input is simply a short program. */
#ifndef BHYVE_TESTS_FUZZ_INPUT_H
#define BHYVE_TESTS_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_more(const struct fz *f)
{
	return f->n > 0;
}

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v;

	if (!f->n)
		return 0;
	v = *f->p++;
	f->n--;
	return v;
}

/* Little-endian; the halves are read in order (operand order is unspecified
 * in C, hence the temporaries). */
static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t lo = fz_u16(f);

	return lo | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t lo = fz_u32(f);

	return lo | (uint64_t)fz_u32(f) << 32;
}

/* Up to max bytes of the input, as they are (may be fewer). */
static inline size_t fz_take(struct fz *f, size_t max, const uint8_t **out)
{
	size_t n = f->n < max ? f->n : max;

	*out = f->p;
	f->p += n;
	f->n -= n;
	return n;
}

/* An access width as the CPU makes them: 1, 2 or 4 (and, rarely, a bad 3). */
static inline int fz_width(struct fz *f)
{
	static const int w[8] = { 1, 1, 2, 2, 4, 4, 4, 3 };

	return w[fz_u8(f) & 7];
}

/* A broken invariant: print it and abort, so libFuzzer saves the input. */
#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
