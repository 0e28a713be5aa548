/* ACPI tables (ACPI 6.5 chapter 5).  Every table is assembled in a host
 * image of the whole target range, the pointers between them are filled in
 * once all are placed, each table is summed, and the image goes to guest
 * memory in one checked write.
 *
 * Choices worth knowing about:
 * - FACS: only the 32-bit FADT.FIRMWARE_CTRL is set; X_FIRMWARE_CTRL is 0,
 *   as §5.2.9 Table 5.9 requires when FIRMWARE_CTRL is non-zero (the tables
 *   are below 4 GiB).  The DSDT is given in both DSDT and X_DSDT, same value.
 * - The power button is the fixed-feature one (FADT PWR_BUTTON clear,
 *   §4.8.2.2.1): the PM device sets PWRBTN_STS and raises the SCI.  No
 *   PNP0C0C device is described; it would need a GPE and Notify() to work.
 * - The host bridge is PNP0A03 with no _CID, as bhyve has it, so Linux asks
 *   for no PCIe _OSC; MCFG still describes ECAM.
 * - PCI I/O windows are 0x0000-0x0CF7 and 0x0D00-0xFFFF: the root bridge of
 *   a PC forwards every port but its own configuration ports 0xCF8-0xCFF
 *   (the ISA devices decode below it, through the LPC bridge).
 * - \_SB.PCI0 has _HID but no _ADR (§6.1: one or the other); _PRT is left
 *   out rather than empty when no INTx is routed (ACPICA warns on an empty
 *   one).  A PNP0C02 device reserves the PM block, the SMI command port and
 *   the ECAM window.
 * - \_S5_ is {5, 5, 0, 0}: SLP_TYP 5 powers off, as in bhyve (ACPI_S5_SLP_TYP).
 * - MADT: IRQ 0 -> GSI 2 with ISA-default flags, the SCI (IRQ 9) level and
 *   active high; the I/O APIC ID is ncpus (the MP table's choice) while that
 *   fits in 8 bits, else 0.
 * - No GPE blocks, no processor objects, no sleep state but S5. */
#include "firmware/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/aml.h"
#include "firmware/layout.h"
#include "hw/pm.h"
#include "le.h"

#define OEM_ID	     "BHYVE " /* 6 bytes */
#define OEM_REVISION 1
#define CREATOR_ID   "BHYV"
#define CREATOR_REV  1

#define RSDP_SIZE    36	 /* §5.2.5.3, revision 2 */
#define RSDP_V1_SIZE 20	 /* covered by the first checksum */
#define HDR_SIZE     36	 /* §5.2.6 */
#define FADT_SIZE    276 /* §5.2.9, revision 6 */
#define FACS_SIZE    64	 /* §5.2.10 */
#define FACS_ALIGN   64
#define MCFG_SIZE    (HDR_SIZE + 8 + 16) /* PCI Firmware 3.2 §4.1.2 */
#define HPET_SIZE    56			 /* IA-PC HPET 1.0a §3.2.4 */
#define MAX_TABLES   4			 /* XSDT entries: FADT, MADT, MCFG, HPET */
#define IMAGE_MAX    0x100000		 /* host image; the largest table set is < 128 KiB */

#define FADT_REV     6
#define FADT_MINOR   5 /* ACPI 6.5 */
#define MADT_REV     5
#define FACS_VERSION 2

/* FADT Flags, §5.2.9.3 Table 5.10. */
#define FADT_WBINVD	   (1u << 0)
#define FADT_PROC_C1	   (1u << 2)
#define FADT_SLP_BUTTON	   (1u << 5) /* no fixed-feature sleep button */
#define FADT_FIX_RTC	   (1u << 6) /* no RTC wake status in PM1 */
#define FADT_TMR_VAL_EXT   (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
/* IA-PC Boot Architecture Flags, §5.2.9.3 Table 5.11. */
#define BOOT_LEGACY_DEVICES  (1u << 0)
#define BOOT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure, §5.2.3.2. */
#define GAS_SYSTEM_MEMORY 0
#define GAS_SYSTEM_IO	  1
#define GAS_ACCESS_BYTE	  1
#define GAS_ACCESS_WORD	  2
#define GAS_ACCESS_DWORD  3

/* Platform facts (SPEC §4) not already named in pm.h or layout.h. */
#define PM1_EVT_LEN	4
#define PM1_CNT_LEN	2
#define PM_TMR_LEN	4
#define PM_BLOCK_LEN	0x10 /* what the motherboard device reserves */
#define RESET_PORT	0xCF9
#define RESET_VALUE	0x06 /* full reset: SYS_RST | RST_CPU */
#define CMOS_CENTURY	0x32
#define NO_C2_LATENCY	101	    /* > 100: C2 not supported */
#define NO_C3_LATENCY	1001	    /* > 1000: C3 not supported */
#define HPET_DEFAULT_ID 0x8086A201u /* 3 64-bit timers, legacy routing */
#define HPET_MIN_TICK	128
#define HPET_MMIO_LEN	0x400

/* MADT, §5.2.12. */
#define MADT_PCAT_COMPAT 1
#define MADT_LAPIC	 0
#define MADT_IOAPIC	 1
#define MADT_ISO	 2
#define MADT_LAPIC_NMI	 4
#define MADT_X2APIC	 9
#define MADT_X2APIC_NMI	 10
#define MADT_ENABLED	 1
#define MPS_HIGH_EDGE	 0x0005 /* polarity 01 active high, trigger 01 edge */
#define MPS_HIGH_LEVEL	 0x000D /* polarity 01 active high, trigger 11 level */
#define MPS_CONFORMING	 0x0000
#define MAX_XAPIC_ID	 254 /* 255 is the broadcast ID */
#define ALL_XAPIC_UIDS	 0xFF
#define ALL_X2APIC_UIDS	 0xFFFFFFFFu

struct image {
	uint8_t *p;
	size_t cap;
	size_t used;
};

struct layout {
	size_t facs, dsdt, fadt, madt, mcfg, hpet, xsdt, rsdt;
	size_t dsdt_len, madt_len, xsdt_len, rsdt_len;
	size_t tables[MAX_TABLES];
	int ntables;
};

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

/* Room for size bytes at the next multiple of align; -ENOSPC past the end. */
static long image_alloc(struct image *im, size_t size, size_t align)
{
	size_t off = (im->used + align - 1) & ~(align - 1);

	if (off > im->cap || size > im->cap - off)
		return -ENOSPC;
	im->used = off + size;
	return (long)off;
}

/* Signatures and OEM/creator IDs are fixed-width character fields with no
 * NUL (§5.2.5.3, §5.2.6): n characters of s, not its terminator. */
static void put_chars(uint8_t *p, const char *s, size_t n)
{
	memcpy(p, s, n);
}

/* §5.2.6 System Description Table Header; the checksum is set last. */
static void sdt_header(uint8_t *p, const char *sig, size_t len, uint8_t rev)
{
	char table_id[9];

	put_chars(p, sig, 4);
	le32_put(p + 4, (uint32_t)len);
	p[8] = rev;
	put_chars(p + 10, OEM_ID, 6);
	snprintf(table_id, sizeof(table_id), "BV%-6.4s", sig);
	put_chars(p + 16, table_id, 8);
	le32_put(p + 24, OEM_REVISION);
	put_chars(p + 28, CREATOR_ID, 4);
	le32_put(p + 32, CREATOR_REV);
}

static void sdt_sum(uint8_t *p)
{
	uint32_t len = le32_get(p + 4);

	p[9] = 0;
	p[9] = checksum(p, len);
}

static void gas(uint8_t *p, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
	p[0] = space;
	p[1] = bits;
	p[2] = 0; /* bit offset */
	p[3] = access;
	le64_put(p + 4, addr);
}

/* ---- DSDT ---- */

static void name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

static void name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

/* A legacy device with one I/O range and one ISA IRQ (or none, irq < 0). */
static void isa_device(struct aml *a, const char *name, const char *hid, int uid, uint16_t port,
		       uint8_t len, int irq)
{
	aml_device(a, name);
	name_eisaid(a, "_HID", hid);
	if (uid >= 0)
		name_int(a, "_UID", (uint64_t)uid);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, port, port, 1, len);
	if (irq >= 0)
		aml_rt_irq_noflags(a, (unsigned)irq);
	aml_rt_end(a);
	aml_end(a);
}

/* The devices behind the LPC bridge (PC/AT legacy, ISA IRQs). */
static void dsdt_isa(struct aml *a, const struct acpi_config *cfg)
{
	static const uint16_t com_port[ACPI_NCOM] = { 0x3F8, 0x2F8, 0x3E8, 0x2E8 };
	static const uint8_t com_irq[ACPI_NCOM] = { 4, 3, 4, 3 };
	static const char *const com_name[ACPI_NCOM] = { "COM1", "COM2", "COM3", "COM4" };
	int i;

	aml_device(a, "ISA");
	name_int(a, "_ADR", (uint64_t)cfg->lpc_slot << 16 | cfg->lpc_func);
	for (i = 0; i < ACPI_NCOM; i++) {
		if (cfg->com[i])
			isa_device(a, com_name[i], "PNP0501", i + 1, com_port[i], 8, com_irq[i]);
	}
	isa_device(a, "RTC", "PNP0B00", -1, 0x70, 2, 8);
	isa_device(a, "TIMR", "PNP0100", -1, 0x40, 4, 0);

	/* Both 8259s and their edge/level control registers (ELCR); IRQ 2 is
	 * the cascade input, listed as PC firmware conventionally does. */
	aml_device(a, "PIC");
	name_eisaid(a, "_HID", "PNP0000");
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, 0x20, 0x20, 1, 2);
	aml_rt_io(a, 0xA0, 0xA0, 1, 2);
	aml_rt_io(a, 0x4D0, 0x4D0, 1, 2);
	aml_rt_irq_noflags(a, 2);
	aml_rt_end(a);
	aml_end(a);

	aml_end(a);
}

/* Motherboard resources (PNP0C02, §9.13 of the PCI Firmware spec usage):
 * ports that belong to no device the OS enumerates, so it never hands them
 * out.  The FADT describes their function. */
static void dsdt_sysres(struct aml *a)
{
	aml_device(a, "SYSR");
	name_eisaid(a, "_HID", "PNP0C02");
	name_int(a, "_UID", 1);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, PM_PORT_PM1_EVT, PM_PORT_PM1_EVT, 1, PM_BLOCK_LEN);
	aml_rt_io(a, PM_PORT_SMI_CMD, PM_PORT_SMI_CMD, 1, 1);
	/* The ECAM window of the MCFG: Linux uses it only when a motherboard
	 * resource reserves it (PCI Firmware 3.2 §4.1.2). */
	aml_rt_memory32_fixed(a, (uint32_t)LAYOUT_ECAM_BASE, (uint32_t)LAYOUT_ECAM_SIZE, true);
	aml_rt_end(a);
	aml_end(a);
}

/* §6.2.13 _PRT: {Address 0xSSSSFFFF, Pin, Source 0, Source Index = GSI}. */
static void dsdt_prt(struct aml *a, const struct acpi_config *cfg)
{
	int slot, pin, n = 0;

	/* No _PRT rather than an empty one, which ACPICA (so Linux) warns
	 * about. */
	for (slot = 0; slot < ACPI_PCI_SLOTS; slot++)
		for (pin = 0; pin < ACPI_PCI_PINS; pin++)
			n += cfg->prt_gsi[slot][pin] != ACPI_PRT_NONE;
	if (!n)
		return;
	aml_name(a, "_PRT");
	aml_package(a);
	for (slot = 0; slot < ACPI_PCI_SLOTS; slot++) {
		for (pin = 0; pin < ACPI_PCI_PINS; pin++) {
			if (cfg->prt_gsi[slot][pin] == ACPI_PRT_NONE)
				continue;
			aml_package(a);
			aml_integer(a, (uint64_t)slot << 16 | 0xFFFF);
			aml_integer(a, (uint64_t)pin);
			aml_integer(a, 0);
			aml_integer(a, cfg->prt_gsi[slot][pin]);
			aml_end(a);
		}
	}
	aml_end(a);
}

static void dsdt_pci0(struct aml *a, const struct acpi_config *cfg)
{
	aml_device(a, "PCI0");
	/* No _ADR next to the _HID: §6.1 wants one or the other. */
	name_eisaid(a, "_HID", "PNP0A03");
	name_int(a, "_UID", 0);
	name_int(a, "_BBN", 0);
	name_int(a, "_SEG", 0);

	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_word_bus(a, 0, cfg->last_bus);
	aml_rt_io(a, 0xCF8, 0xCF8, 1, 8); /* consumed: configuration mechanism #1 */
	aml_rt_word_io(a, 0x0000, 0x0CF7);
	aml_rt_word_io(a, 0x0D00, 0xFFFF);
	aml_rt_dword_memory(a, (uint32_t)cfg->pci32_base, (uint32_t)(cfg->pci32_end - 1), false);
	if (cfg->pci64_size)
		aml_rt_qword_memory(a, cfg->pci64_base, cfg->pci64_base + cfg->pci64_size - 1,
				    true);
	aml_rt_end(a);

	dsdt_prt(a, cfg);
	dsdt_sysres(a);
	if (cfg->lpc)
		dsdt_isa(a, cfg);
	aml_end(a);
}

static void dsdt_hpet(struct aml *a)
{
	aml_device(a, "HPET");
	name_eisaid(a, "_HID", "PNP0103");
	name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_memory32_fixed(a, (uint32_t)LAYOUT_HPET_BASE, HPET_MMIO_LEN, false);
	aml_rt_end(a);
	aml_end(a);
}

static void build_dsdt_aml(struct aml *a, const struct acpi_config *cfg)
{
	/* §7.4.2 \_S5_: SLP_TYPa, SLP_TYPb, two reserved values. */
	aml_name(a, "\\_S5");
	aml_package(a);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);

	aml_scope(a, "\\_SB");
	dsdt_pci0(a, cfg);
	if (cfg->hpet)
		dsdt_hpet(a);
	aml_end(a);
}

static long put_dsdt(struct image *im, const struct acpi_config *cfg, size_t *len)
{
	struct aml *a = aml_new();
	const uint8_t *code;
	size_t n = 0;
	long off;
	int err;

	if (!a)
		return -ENOMEM;
	build_dsdt_aml(a, cfg);
	code = aml_data(a, &n, &err);
	if (!code) {
		off = err;
		goto out;
	}
	off = image_alloc(im, HDR_SIZE + n, 16);
	if (off < 0)
		goto out;
	/* Revision 2: integers are 64 bits wide (§5.2.11.1). */
	sdt_header(im->p + off, "DSDT", HDR_SIZE + n, 2);
	memcpy(im->p + off + HDR_SIZE, code, n);
	*len = HDR_SIZE + n;
out:
	aml_free(a);
	return off;
}

/* ---- Fixed tables ---- */

static void put_facs(uint8_t *p)
{
	/* §5.2.10: no checksum; no wake vector, global lock or S4BIOS. */
	put_chars(p, "FACS", 4);
	le32_put(p + 4, FACS_SIZE);
	p[32] = FACS_VERSION;
}

static void put_fadt(uint8_t *p, const struct acpi_config *cfg, uint64_t facs, uint64_t dsdt)
{
	uint32_t flags =
	    FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_RESET_REG_SUP;
	uint16_t boot = BOOT_LEGACY_DEVICES; /* 8042 flag clear: no keyboard controller */

	if (cfg->pm_tmr_32bit)
		flags |= FADT_TMR_VAL_EXT;
	if (!cfg->vga)
		boot |= BOOT_VGA_NOT_PRESENT;

	/* Offsets from §5.2.9 Table 5.9. */
	sdt_header(p, "FACP", FADT_SIZE, FADT_REV);
	le32_put(p + 36, (uint32_t)facs);  /* FIRMWARE_CTRL */
	le32_put(p + 40, (uint32_t)dsdt);  /* DSDT */
	le16_put(p + 46, PM_SCI_IRQ);	   /* SCI_INT */
	le32_put(p + 48, PM_PORT_SMI_CMD); /* SMI_CMD */
	p[52] = PM_ACPI_ENABLE;
	p[53] = PM_ACPI_DISABLE;
	le32_put(p + 56, PM_PORT_PM1_EVT); /* PM1a_EVT_BLK */
	le32_put(p + 64, PM_PORT_PM1_CNT); /* PM1a_CNT_BLK */
	le32_put(p + 76, PM_PORT_TMR);	   /* PM_TMR_BLK */
	p[88] = PM1_EVT_LEN;
	p[89] = PM1_CNT_LEN;
	p[91] = PM_TMR_LEN;
	le16_put(p + 96, NO_C2_LATENCY); /* P_LVL2_LAT */
	le16_put(p + 98, NO_C3_LATENCY); /* P_LVL3_LAT */
	p[108] = CMOS_CENTURY;
	le16_put(p + 109, boot); /* IAPC_BOOT_ARCH */
	le32_put(p + 112, flags);
	gas(p + 116, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE, RESET_PORT); /* RESET_REG */
	p[128] = RESET_VALUE;
	p[131] = FADT_MINOR;
	/* X_FIRMWARE_CTRL (132) stays 0: FIRMWARE_CTRL is set. */
	le64_put(p + 140, dsdt); /* X_DSDT */
	gas(p + 148, GAS_SYSTEM_IO, PM1_EVT_LEN * 8, GAS_ACCESS_WORD, PM_PORT_PM1_EVT);
	gas(p + 172, GAS_SYSTEM_IO, PM1_CNT_LEN * 8, GAS_ACCESS_WORD, PM_PORT_PM1_CNT);
	gas(p + 208, GAS_SYSTEM_IO, PM_TMR_LEN * 8, GAS_ACCESS_DWORD, PM_PORT_TMR);
}

static size_t madt_size(unsigned ncpus)
{
	unsigned nx = ncpus > MAX_XAPIC_ID + 1 ? ncpus - (MAX_XAPIC_ID + 1) : 0;
	size_t n = HDR_SIZE + 8 + 8 * (size_t)(ncpus - nx) + 16 * (size_t)nx;

	n += 12 + 2 * 10 + 6; /* I/O APIC, two overrides, LAPIC NMI */
	if (nx)
		n += 12; /* x2APIC NMI */
	return n;
}

static uint8_t *madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0; /* bus: ISA */
	e[3] = irq;
	le32_put(e + 4, gsi);
	le16_put(e + 8, flags);
	return e + 10;
}

static void put_madt(uint8_t *p, size_t len, const struct acpi_config *cfg)
{
	uint8_t *e = p + HDR_SIZE + 8;
	unsigned i;

	sdt_header(p, "APIC", len, MADT_REV);
	le32_put(p + 36, (uint32_t)LAYOUT_LAPIC_BASE);
	le32_put(p + 40, MADT_PCAT_COMPAT); /* dual 8259s present */

	/* §5.2.12.2 / §5.2.12.12: xAPIC entries while the ID fits 8 bits
	 * (255 is the broadcast ID), x2APIC entries beyond.  UID = APIC ID. */
	for (i = 0; i < cfg->ncpus; i++) {
		if (i <= MAX_XAPIC_ID) {
			e[0] = MADT_LAPIC;
			e[1] = 8;
			e[2] = (uint8_t)i;
			e[3] = (uint8_t)i;
			le32_put(e + 4, MADT_ENABLED);
			e += 8;
		} else {
			e[0] = MADT_X2APIC;
			e[1] = 16;
			le16_put(e + 2, 0);
			le32_put(e + 4, i);
			le32_put(e + 8, MADT_ENABLED);
			le32_put(e + 12, i);
			e += 16;
		}
	}

	/* §5.2.12.3: one I/O APIC, GSIs 0-23.  Its ID follows the MP table's
	 * rule (the first ID after the processors) while that fits. */
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = cfg->ncpus <= MAX_XAPIC_ID ? (uint8_t)cfg->ncpus : 0;
	e[3] = 0;
	le32_put(e + 4, (uint32_t)LAYOUT_IOAPIC_BASE);
	le32_put(e + 8, 0);
	e += 12;

	/* §5.2.12.5: the PIT's IRQ 0 is wired to input 2 (ISA default
	 * polarity and trigger); the SCI is level-triggered, active high. */
	e = madt_iso(e, 0, 2, MPS_CONFORMING);
	e = madt_iso(e, PM_SCI_IRQ, PM_SCI_IRQ, MPS_HIGH_LEVEL);

	/* §5.2.12.7 / §5.2.12.13: NMI on LINT1 of every processor. */
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = ALL_XAPIC_UIDS;
	le16_put(e + 3, MPS_HIGH_EDGE);
	e[5] = 1;
	e += 6;
	if (cfg->ncpus > MAX_XAPIC_ID + 1) {
		e[0] = MADT_X2APIC_NMI;
		e[1] = 12;
		le16_put(e + 2, MPS_HIGH_EDGE);
		le32_put(e + 4, ALL_X2APIC_UIDS);
		e[8] = 1;
	}
}

static void put_mcfg(uint8_t *p, const struct acpi_config *cfg)
{
	uint8_t *e = p + HDR_SIZE + 8;

	/* PCI Firmware spec 3.2 §4.1.2: one allocation, segment 0. */
	sdt_header(p, "MCFG", MCFG_SIZE, 1);
	le64_put(e, LAYOUT_ECAM_BASE);
	le16_put(e + 8, 0);
	e[10] = 0;
	e[11] = cfg->last_bus;
}

static void put_hpet(uint8_t *p, const struct acpi_config *cfg)
{
	/* IA-PC HPET spec 1.0a §3.2.4. */
	sdt_header(p, "HPET", HPET_SIZE, 1);
	le32_put(p + 36, cfg->hpet_id ? cfg->hpet_id : HPET_DEFAULT_ID);
	gas(p + 40, GAS_SYSTEM_MEMORY, 64, 0, LAYOUT_HPET_BASE);
	p[52] = 0; /* HPET number */
	le16_put(p + 53, HPET_MIN_TICK);
	p[55] = 0; /* no page protection */
}

static void put_rsdp(uint8_t *p, uint64_t rsdt, uint64_t xsdt)
{
	/* §5.2.5.3. */
	put_chars(p, "RSD PTR ", 8);
	put_chars(p + 9, OEM_ID, 6);
	p[15] = 2;
	le32_put(p + 16, (uint32_t)rsdt);
	le32_put(p + 20, RSDP_SIZE);
	le64_put(p + 24, xsdt);
	p[8] = checksum(p, RSDP_V1_SIZE);
	p[32] = checksum(p, RSDP_SIZE);
}

static int check_config(uint64_t base, uint64_t len, const struct acpi_config *cfg)
{
	int slot, pin;

	if (!cfg || cfg->ncpus == 0 || cfg->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	if ((base & 63) || len > LAYOUT_HIGHMEM_BASE || base > LAYOUT_HIGHMEM_BASE - len)
		return -EINVAL;
	if (cfg->pci32_base >= cfg->pci32_end || cfg->pci32_end > LAYOUT_HIGHMEM_BASE)
		return -EINVAL;
	if (cfg->pci64_size && cfg->pci64_base > UINT64_MAX - (cfg->pci64_size - 1))
		return -EINVAL;
	if (cfg->lpc && (cfg->lpc_slot >= ACPI_PCI_SLOTS || cfg->lpc_func > 7))
		return -EINVAL;
	for (slot = 0; slot < ACPI_PCI_SLOTS; slot++) {
		for (pin = 0; pin < ACPI_PCI_PINS; pin++) {
			uint8_t gsi = cfg->prt_gsi[slot][pin];

			if (gsi != ACPI_PRT_NONE && gsi >= LAYOUT_IOAPIC_PINS)
				return -EINVAL;
		}
	}
	return 0;
}

/* Place every table in the image; fills in lay. */
static int place_tables(struct image *im, const struct acpi_config *cfg, struct layout *lay)
{
	long off;

	if (image_alloc(im, RSDP_SIZE, 16) != 0)
		return -ENOSPC;
	off = image_alloc(im, FACS_SIZE, FACS_ALIGN);
	if (off < 0)
		return (int)off;
	lay->facs = (size_t)off;
	off = put_dsdt(im, cfg, &lay->dsdt_len);
	if (off < 0)
		return (int)off;
	lay->dsdt = (size_t)off;

	lay->madt_len = madt_size(cfg->ncpus);
	off = image_alloc(im, FADT_SIZE, 16);
	if (off >= 0) {
		lay->fadt = (size_t)off;
		lay->tables[lay->ntables++] = lay->fadt;
		off = image_alloc(im, lay->madt_len, 16);
	}
	if (off >= 0) {
		lay->madt = (size_t)off;
		lay->tables[lay->ntables++] = lay->madt;
		off = image_alloc(im, MCFG_SIZE, 16);
	}
	if (off >= 0) {
		lay->mcfg = (size_t)off;
		lay->tables[lay->ntables++] = lay->mcfg;
		if (cfg->hpet)
			off = image_alloc(im, HPET_SIZE, 16);
	}
	if (off < 0)
		return (int)off;
	if (cfg->hpet) {
		lay->hpet = (size_t)off;
		lay->tables[lay->ntables++] = lay->hpet;
	}
	lay->xsdt_len = HDR_SIZE + 8 * (size_t)lay->ntables;
	off = image_alloc(im, lay->xsdt_len, 16);
	if (off < 0)
		return (int)off;
	lay->xsdt = (size_t)off;
	lay->rsdt_len = HDR_SIZE + 4 * (size_t)lay->ntables;
	off = image_alloc(im, lay->rsdt_len, 16);
	if (off < 0)
		return (int)off;
	lay->rsdt = (size_t)off;
	return 0;
}

static void fill_tables(uint8_t *p, uint64_t base, const struct acpi_config *cfg,
			const struct layout *lay)
{
	int i;

	put_facs(p + lay->facs);
	put_fadt(p + lay->fadt, cfg, base + lay->facs, base + lay->dsdt);
	put_madt(p + lay->madt, lay->madt_len, cfg);
	put_mcfg(p + lay->mcfg, cfg);
	if (cfg->hpet)
		put_hpet(p + lay->hpet, cfg);

	sdt_header(p + lay->xsdt, "XSDT", lay->xsdt_len, 1);
	sdt_header(p + lay->rsdt, "RSDT", lay->rsdt_len, 1);
	for (i = 0; i < lay->ntables; i++) {
		le64_put(p + lay->xsdt + HDR_SIZE + 8 * (size_t)i, base + lay->tables[i]);
		le32_put(p + lay->rsdt + HDR_SIZE + 4 * (size_t)i,
			 (uint32_t)(base + lay->tables[i]));
	}

	for (i = 0; i < lay->ntables; i++)
		sdt_sum(p + lay->tables[i]);
	sdt_sum(p + lay->dsdt);
	sdt_sum(p + lay->xsdt);
	sdt_sum(p + lay->rsdt);
	put_rsdp(p, base + lay->rsdt, base + lay->xsdt);
}

void acpi_config_init(struct acpi_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ncpus = 1;
	cfg->pci32_base = LAYOUT_PCI32_BASE;
	cfg->pci32_end = LAYOUT_PCI32_END;
	memset(cfg->prt_gsi, ACPI_PRT_NONE, sizeof(cfg->prt_gsi));
}

int acpi_build(const struct gmem *m, uint64_t base, uint64_t len, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	struct layout lay = { 0 };
	struct image im = { 0 };
	int rc;

	rc = check_config(base, len, cfg);
	if (rc)
		return rc;
	/* The largest table set (4096 vCPUs) is under 128 KiB; a larger range
	 * is not all needed in the host image. */
	im.cap = len > IMAGE_MAX ? IMAGE_MAX : (size_t)len;
	im.p = calloc(1, im.cap ? im.cap : 1);
	if (!im.p)
		return -ENOMEM;
	rc = place_tables(&im, cfg, &lay);
	if (rc)
		goto out;
	fill_tables(im.p, base, cfg, &lay);
	rc = gmem_write(m, base, im.p, im.used);
	if (rc)
		goto out;
	if (rsdp_gpa)
		*rsdp_gpa = base;
	rc = (int)im.used;
out:
	free(im.p);
	return rc;
}
