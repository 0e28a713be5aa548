/* The guest's e820 map (ACPI 6.5 §15) for the platform of SPEC §2 and §4. */
#include "firmware/e820.h"

#include <errno.h>
#include <string.h>

#include "firmware/layout.h"

#define PAGE_MASK 0xFFFULL

static int e820_push(struct e820_entry *map, int n, int max, uint64_t addr, uint64_t end,
		     uint32_t type)
{
	if (n < 0 || end <= addr)
		return n;
	if (n >= max)
		return -ENOSPC;
	map[n].addr = addr;
	map[n].size = end - addr;
	map[n].type = type;
	return n + 1;
}

int e820_build(uint64_t lowmem, uint64_t highmem, struct e820_entry *map, int max)
{
	int n = 0;

	/* Low RAM must cover the BIOS area that holds the MP table. */
	if (lowmem < LAYOUT_BIOS_END || lowmem > LAYOUT_ECAM_BASE || (lowmem & PAGE_MASK) ||
	    (highmem & PAGE_MASK) || highmem > UINT64_MAX - LAYOUT_HIGHMEM_BASE || max < 0)
		return -EINVAL;

	/* 0xA0000-0xEFFFF (VGA and option-ROM holes) is simply not listed,
	 * as on a PC. */
	n = e820_push(map, n, max, 0, LAYOUT_EBDA_BASE, E820_RAM);
	n = e820_push(map, n, max, LAYOUT_EBDA_BASE, LAYOUT_EBDA_BASE + LAYOUT_EBDA_SIZE,
		      E820_RESERVED);
	n = e820_push(map, n, max, LAYOUT_BIOS_BASE, LAYOUT_BIOS_END, E820_RESERVED);
	n = e820_push(map, n, max, LAYOUT_BIOS_END, lowmem, E820_RAM);
	/* PCI Firmware spec 3.2 §4.1.2: the ECAM window must be reserved in
	 * the memory map, or Linux refuses MMCONFIG. */
	n = e820_push(map, n, max, LAYOUT_ECAM_BASE, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE,
		      E820_RESERVED);
	n = e820_push(map, n, max, LAYOUT_HIGHMEM_BASE, LAYOUT_HIGHMEM_BASE + highmem, E820_RAM);
	return n;
}

int e820_add(struct e820_entry *map, int n, int max, uint64_t addr, uint64_t size, uint32_t type)
{
	int i, at;

	if (n < 0 || n > max || size == 0 || addr + size < addr)
		return -EINVAL;
	at = n;
	for (i = 0; i < n; i++) {
		if (addr < map[i].addr + map[i].size && map[i].addr < addr + size)
			return -EINVAL;
		if (at == n && addr < map[i].addr)
			at = i;
	}
	if (n >= max)
		return -ENOSPC;
	memmove(&map[at + 1], &map[at], (size_t)(n - at) * sizeof(map[0]));
	map[at].addr = addr;
	map[at].size = size;
	map[at].type = type;
	return n + 1;
}
