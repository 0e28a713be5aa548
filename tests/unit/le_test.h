/* Helpers the firmware-table unit tests share: little-endian field reads
 * from a table image (src/le.h) and the byte sum every ACPI, SMBIOS and MP
 * table checksum makes zero. */
#ifndef BHYVE_TESTS_LE_TEST_H
#define BHYVE_TESTS_LE_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "le.h"

static inline uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

#endif
