/* The guest-physical address map of the platform: fixed device addresses
 * (SPEC §4) and where the firmware side puts its tables before the first
 * instruction runs.  Everything the loaders write below 1 MiB lives in low
 * RAM between the real-mode IVT/BDA (0x0-0x4FF, left untouched) and the EBDA;
 * Linux keeps the whole first MiB reserved, so none of it is reused by the
 * kernel before it has copied boot_params and the command line. */
#ifndef BHYVE_FIRMWARE_LAYOUT_H
#define BHYVE_FIRMWARE_LAYOUT_H

/* ---- Guest RAM (SPEC §2) ---- */

/* Low RAM is [0, min(memsize, LAYOUT_LOWMEM_MAX)); the rest starts at 4 GiB.
 * The gap [LAYOUT_LOWMEM_MAX, 4 GiB) holds ECAM, the 32-bit PCI window and the
 * fixed devices below. */
#define LAYOUT_LOWMEM_MAX   0xC0000000ULL
#define LAYOUT_HIGHMEM_BASE 0x100000000ULL

/* ---- Fixed platform devices (SPEC §4) ---- */

#define LAYOUT_ECAM_BASE   0xE0000000ULL /* PCI ECAM, buses 0-255 (MCFG) */
#define LAYOUT_ECAM_SIZE   0x10000000ULL /* 256 buses * 1 MiB; e820-reserved */
#define LAYOUT_IOAPIC_BASE 0xFEC00000ULL
#define LAYOUT_IOAPIC_PINS 24 /* as KVM's in-kernel I/O APIC */
#define LAYOUT_HPET_BASE   0xFED00000ULL
#define LAYOUT_LAPIC_BASE  0xFEE00000ULL
/* 32-bit PCI MMIO window: from the end of low RAM up to ECAM. */
#define LAYOUT_PCI32_BASE LAYOUT_LOWMEM_MAX
#define LAYOUT_PCI32_END  LAYOUT_ECAM_BASE

/* ---- Legacy PC areas below 1 MiB ---- */

/* Extended BIOS Data Area: the last KiB of conventional memory (e820 type 2).
 * The MP spec §4 lists it as one place the floating pointer may be. */
#define LAYOUT_EBDA_BASE 0x9FC00ULL
#define LAYOUT_EBDA_SIZE 0x400ULL
/* End of conventional memory (VGA hole starts here). */
#define LAYOUT_CONV_END 0xA0000ULL
/* BIOS ROM area: e820-reserved; holds the MP table and other BIOS-area
 * tables (SMBIOS entry point, ACPI RSDP) whose owners place them above
 * LAYOUT_BIOS_FREE_BASE. */
#define LAYOUT_BIOS_BASE 0xF0000ULL
#define LAYOUT_BIOS_END	 0x100000ULL

/* MP floating pointer at the start of the BIOS area (MP spec 1.4 §4: the OS
 * scans 0xF0000-0xFFFFF on 16-byte boundaries; Linux does too), with the
 * configuration table right behind it.  8 KiB is room for 254 processors,
 * the buses, the I/O APIC and every interrupt entry. */
#define LAYOUT_MPTABLE_BASE 0xF0000ULL
#define LAYOUT_MPTABLE_SIZE 0x2000ULL
/* First byte of the BIOS area that no module of this file claims. */
#define LAYOUT_BIOS_FREE_BASE (LAYOUT_MPTABLE_BASE + LAYOUT_MPTABLE_SIZE)

/* SMBIOS (DSP0134 3.x §5.2): both entry points must sit on 16-byte
 * boundaries in 0xF0000-0xFFFFF, where the OS scans for them; the structure
 * table follows them.  56 KiB holds several hundred type 4 (socket)
 * structures. */
#define LAYOUT_SMBIOS_BASE LAYOUT_BIOS_FREE_BASE
#define LAYOUT_SMBIOS_SIZE (LAYOUT_BIOS_END - LAYOUT_SMBIOS_BASE)

/* ACPI tables (RSDP first) in the 64 KiB below the BIOS area: ACPI 6.5
 * §5.2.5.1 lets the RSDP be on any 16-byte boundary in 0xE0000-0xFFFFF, and
 * the rest of the tables (a MADT for many vCPUs is the big one) need not be
 * in the F segment.  The e820 map leaves 0xA0000-0xEFFFF out altogether, so
 * no OS takes it for RAM. */
#define LAYOUT_ACPI_BASE 0xE0000ULL
#define LAYOUT_ACPI_SIZE 0x10000ULL

/* ---- Direct Linux boot (Linux boot protocol, 64-bit entry) ---- */

/* GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18). */
#define LAYOUT_GDT_BASE 0x6000ULL
/* boot_params ("zero page"), one page, address passed in %rsi. */
#define LAYOUT_ZERO_PAGE 0x7000ULL
/* Identity map of [0, 4 GiB) with 2 MiB pages (no 1 GiB pages: those need
 * CPUID pdpe1gb): one PML4, one PDPT, four page directories. */
#define LAYOUT_PML4	0x9000ULL
#define LAYOUT_PDPT	0xA000ULL
#define LAYOUT_PD	0xB000ULL /* 4 pages: 0xB000-0xEFFF */
#define LAYOUT_PD_COUNT 4
/* Kernel command line, NUL included (the kernel's own limit, cmdline_size
 * from its setup header, is usually far smaller). */
#define LAYOUT_CMDLINE	   0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
/* A kernel that cannot take its preferred address is loaded here. */
#define LAYOUT_KERNEL_LOW 0x100000ULL

#endif
