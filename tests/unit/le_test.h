/* Helpers the firmware-table unit tests share: little-endian field reads
 * from a table image and the byte sum every ACPI, SMBIOS and MP table
 * checksum makes zero. */
#ifndef BHYVE_TESTS_LE_TEST_H
#define BHYVE_TESTS_LE_TEST_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static inline uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

#endif
