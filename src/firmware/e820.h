/* The BIOS e820 memory map that the guest sees (ACPI 6.5 §15, "System
 * Address Map Interfaces"): handed to Linux in boot_params and to firmware
 * tables that describe RAM. */
#ifndef BHYVE_FIRMWARE_E820_H
#define BHYVE_FIRMWARE_E820_H

#include <stdint.h>

/* Address range types, ACPI 6.5 Table 15.1. */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4

/* Enough for the map e820_build makes plus a few e820_add ranges. */
#define E820_MAX_ENTRIES 32

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Build the platform map for lowmem bytes of RAM at 0 and highmem bytes at
 * 4 GiB (SPEC §2): conventional RAM up to the EBDA, the EBDA and the BIOS
 * area reserved, RAM from 1 MiB to lowmem, ECAM reserved, high RAM.  Entries
 * are sorted by address.  Returns the entry count, -EINVAL if lowmem is below
 * 1 MiB, runs into ECAM (above 0xE0000000) or is not page aligned, or if
 * highmem is not page aligned; -ENOSPC if max is too small. */
int e820_build(uint64_t lowmem, uint64_t highmem, struct e820_entry *map, int max);

/* Insert [addr, addr+size) of the given type into a sorted map of n entries
 * (room for max).  Returns the new count, -EINVAL for an empty, wrapping or
 * overlapping range, -ENOSPC when the map is full. */
int e820_add(struct e820_entry *map, int n, int max, uint64_t addr, uint64_t size, uint32_t type);

#endif
