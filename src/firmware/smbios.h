/* SMBIOS tables (DMTF DSP0134, SMBIOS 3.0): the 32-bit ("_SM_") and 64-bit
 * ("_SM3_") entry points and a structure table describing the BIOS, the
 * system, its chassis, processors and memory. */
#ifndef BHYVE_FIRMWARE_SMBIOS_H
#define BHYVE_FIRMWARE_SMBIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"

#define SMBIOS_MAX_STRING 255 /* longest string accepted from the config */

struct smbios_config {
	uint8_t uuid[16];	/* system UUID, RFC 4122 (network) byte order */
	uint64_t lowmem;	/* RAM bytes at 0 */
	uint64_t highmem;	/* RAM bytes at 4 GiB */
	unsigned sockets;	/* one type 4 structure each */
	unsigned cores;		/* per socket */
	unsigned threads;	/* per core */
	uint32_t cpu_signature; /* CPUID.1:EAX, the Processor ID's first half */
	uint32_t cpu_features;	/* CPUID.1:EDX, its second half */
	bool acpi;		/* BIOS characteristics: ACPI supported */
	/* Strings; NULL picks bhyve's value, "" leaves the field empty. */
	const char *cpu_manufacturer; /* NULL: none */
	const char *bios_vendor;      /* "BHYVE" */
	const char *bios_version;
	const char *bios_date;	  /* mm/dd/yyyy */
	const char *manufacturer; /* system and chassis manufacturer */
	const char *product;	  /* "BHYVE" */
	const char *version;
	const char *serial;
	const char *sku;
	const char *family;
};

/* Write the entry points at base (16-byte aligned; a guest scanning for them
 * looks in 0xF0000-0xFFFFF) and the structure table behind them, all in
 * [base, base + len) below 4 GiB.  The 32-bit entry point is left out if the
 * table outgrows its 16-bit length field.  Returns the number of bytes used,
 * -EINVAL for a bad config or range, -ENOSPC if it does not fit, -EFAULT if
 * the range is not guest RAM, -ENOMEM. */
int smbios_build(const struct gmem *m, uint64_t base, uint64_t len,
		 const struct smbios_config *cfg);

/* A stable UUID for a VM without one: RFC 4122 §4.3 name-based, version 5
 * (SHA-1), over a fixed namespace and hostname, a NUL byte, vmname. */
void smbios_default_uuid(const char *hostname, const char *vmname, uint8_t out[16]);

#endif
