/* ACPI tables for the platform of SPEC §4 (ACPI 6.5 chapter 5): RSDP, XSDT
 * and RSDT, FADT and FACS, MADT, MCFG, optionally HPET, and a DSDT written
 * with the AML builder (firmware/aml.h). */
#ifndef BHYVE_FIRMWARE_ACPI_H
#define BHYVE_FIRMWARE_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"

#define ACPI_MAX_CPUS  4096
#define ACPI_NCOM      4 /* COM1-COM4 */
#define ACPI_PCI_SLOTS 32
#define ACPI_PCI_PINS  4    /* INTA#-INTD# */
#define ACPI_PRT_NONE  0xFF /* prt_gsi: this slot/pin has no route */

/* \_S5_ gives SLP_TYPa = SLP_TYPb = 5 (as bhyve does); a PM1a_CNT write with
 * SLP_EN and this SLP_TYP powers the VM off. */
#define ACPI_S5_SLP_TYP 5

struct acpi_config {
	unsigned ncpus;	   /* vCPUs, APIC IDs 0..ncpus-1; IDs >= 255 get x2APIC entries */
	bool hpet;	   /* HPET table and device for an HPET at LAYOUT_HPET_BASE */
	uint32_t hpet_id;  /* its capabilities register bits 31:0; 0 means 0x8086A201 */
	bool pm_tmr_32bit; /* FADT TMR_VAL_EXT: a 32-bit PM timer (the runner's is 24) */
	bool vga;	   /* a VGA device exists: clear IAPC_BOOT_ARCH "VGA Not Present" */
	/* PCI host bridge windows, DSDT \_SB.PCI0._CRS: 32-bit MMIO [pci32_base,
	 * pci32_end), below 4 GiB; 64-bit MMIO [pci64_base, +pci64_size), omitted
	 * when the size is 0. */
	uint64_t pci32_base;
	uint64_t pci32_end;
	uint64_t pci64_base;
	uint64_t pci64_size;
	/* LPC bridge at 0:lpc_slot.lpc_func: when present, the ISA devices
	 * (COMx, RTC, PIT, PIC) are described below it. */
	bool lpc;
	uint8_t lpc_slot;
	uint8_t lpc_func;
	bool com[ACPI_NCOM]; /* which of COM1-COM4 exist (needs lpc) */
	/* _PRT: INTx# of each bus-0 slot -> I/O APIC input, ACPI_PRT_NONE if
	 * none; no _PRT at all when no entry is routed. */
	uint8_t prt_gsi[ACPI_PCI_SLOTS][ACPI_PCI_PINS];
	/* The highest PCI bus number in use: the MCFG's end bus and the end
	 * of PCI0's bus range.  Linux probes every bus up to the MCFG's end
	 * for peer host bridges, 32 configuration reads each. */
	uint8_t last_bus;
};

/* Defaults: 1 vCPU, no HPET, 24-bit PM timer, no VGA, the 32-bit window of
 * layout.h, no 64-bit window, no LPC, no COM port, no _PRT entry,
 * bus 0 the last bus. */
void acpi_config_init(struct acpi_config *cfg);

/* Write the tables into [base, base + len), which must lie below 4 GiB
 * (RSDT entries are 32 bits) with base 64-byte aligned (the FACS needs
 * it): the RSDP is at base, where a guest scanning 0xE0000-0xFFFFF finds it if base is in that
 * range. *rsdp_gpa (may be NULL) receives its address.  Returns the number of bytes used from base,
 * -EINVAL for a bad config or range, -ENOSPC if the tables do not fit, -EFAULT if the range is not
 * guest RAM, -ENOMEM. */
int acpi_build(const struct gmem *m, uint64_t base, uint64_t len, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

#endif
