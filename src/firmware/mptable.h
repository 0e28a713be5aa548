/* Intel MultiProcessor Specification 1.4 tables: the floating pointer
 * structure and the base configuration table, for guests that look for them
 * instead of (or before) ACPI. */
#ifndef BHYVE_FIRMWARE_MPTABLE_H
#define BHYVE_FIRMWARE_MPTABLE_H

#include <stdint.h>

#include "gmem.h"

/* Highest vCPU count the table can describe: 8-bit APIC IDs, 0xFF is the
 * broadcast ID and the I/O APIC takes ID ncpus. */
#define MPTABLE_MAX_CPUS 254

/* One PCI INTx line routed to an I/O APIC input (MP spec §4.3.4, PCI bus
 * interrupt source encoding). */
struct mptable_pci_intr {
	uint8_t bus;	    /* PCI bus number (only bus 0 has a bus entry) */
	uint8_t slot;	    /* device number, 0-31 */
	uint8_t pin;	    /* 0 = INTA# .. 3 = INTD# */
	uint8_t ioapic_pin; /* I/O APIC input */
};

struct mptable_config {
	int ncpus;				 /* processors, APIC IDs 0..ncpus-1, BSP is 0 */
	uint32_t cpu_signature;			 /* CPUID.1:EAX; 0 means family 6 */
	uint32_t cpu_features;			 /* CPUID.1:EDX; 0 means FPU and APIC */
	uint64_t ioapic_base;			 /* 0 means 0xFEC00000 */
	int ioapic_pins;			 /* 0 means 24 */
	const struct mptable_pci_intr *pci_intr; /* may be NULL */
	int npci_intr;
};

/* Write the floating pointer at gpa (16-byte aligned) and the configuration
 * table right after it, all within [gpa, gpa + len).  Buses: PCI 0 (MP bus
 * 0) and ISA (MP bus 1).  ISA IRQs 0-15 go to the I/O APIC, IRQ 0 on pin 2
 * and IRQ 2 (the cascade) omitted; LINT0 is ExtINT, LINT1 NMI.  Returns the
 * number of bytes written, -EINVAL for a bad config or address, -ENOSPC if
 * the table does not fit in len, -EFAULT if the range is not guest RAM,
 * -ENOMEM. */
int mptable_build(const struct gmem *m, uint64_t gpa, uint64_t len,
		  const struct mptable_config *cfg);

#endif
