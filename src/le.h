/* Little-endian loads and stores on byte buffers.  Device registers and
 * descriptors (virtio, e1000), firmware tables (ACPI, SMBIOS, MP, boot
 * protocol headers), fw_cfg items, CMOS and the GDB register packet are
 * little-endian whatever the host is, and their fields sit at any
 * alignment, so they are read and written a byte at a time here.  The
 * fixed-width helpers compile to single loads and stores on x86; le_get and
 * le_put are for widths known only at run time (a guest access of 1 to 8
 * bytes) or odd ones (3). */
#ifndef BHYVE_LE_H
#define BHYVE_LE_H

#include <stdint.h>

/* The n bytes at p (n is 0 to 8; 0 gives 0), least significant first. */
static inline uint64_t le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* The low n bytes of v (n is 0 to 8) to p, least significant first. */
static inline void le_put(uint8_t *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32_get(const uint8_t *p)
{
	return le16_get(p) | (uint32_t)le16_get(p + 2) << 16;
}

static inline uint64_t le64_get(const uint8_t *p)
{
	return le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

static inline void le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void le32_put(uint8_t *p, uint32_t v)
{
	le16_put(p, (uint16_t)v);
	le16_put(p + 2, (uint16_t)(v >> 16));
}

static inline void le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v);
	le32_put(p + 4, (uint32_t)(v >> 32));
}

#endif
