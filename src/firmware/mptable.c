/* MP spec 1.4 tables (Intel MultiProcessor Specification, version 1.4,
 * chapter 4): a floating pointer structure followed by the base
 * configuration table.  The table is assembled in a host buffer, summed, and
 * copied into guest memory in one checked write. */
#include "firmware/mptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/layout.h"
#include "le.h"

#define MPFP_SIZE     16 /* §4.1 floating pointer structure */
#define MPCT_HDR_SIZE 44 /* §4.2 configuration table header */
#define MP_SPEC_REV   4	 /* revision 1.4 */

/* Entry types and lengths, §4.3 Table 4-3. */
#define MPE_PROCESSOR 0
#define MPE_BUS	      1
#define MPE_IOAPIC    2
#define MPE_IOINT     3
#define MPE_LINT      4
#define MPE_PROC_SIZE 20
#define MPE_SIZE      8

/* Interrupt types, Table 4-10. */
#define MPI_INT	   0
#define MPI_NMI	   1
#define MPI_EXTINT 3

/* I/O interrupt flags, Table 4-11: polarity bits 0-1, trigger bits 2-3. */
#define MPF_CONFORMING 0x0
#define MPF_PCI	       (0x3 | 0x3 << 2) /* active low, level */

#define MP_BUS_PCI	0
#define MP_BUS_ISA	1
#define LAPIC_VERSION	0x14 /* integrated xAPIC */
#define IOAPIC_VERSION	0x11 /* as KVM's I/O APIC reports */
#define ISA_IRQS	16
#define ISA_IRQ_CASCADE 2
#define LAPIC_ALL	0xFF

struct mpbuf {
	uint8_t *p;
	size_t off;
};

static void put8(struct mpbuf *b, uint8_t v)
{
	b->p[b->off++] = v;
}

static void put16(struct mpbuf *b, uint16_t v)
{
	le16_put(b->p + b->off, v);
	b->off += 2;
}

static void put32(struct mpbuf *b, uint32_t v)
{
	le32_put(b->p + b->off, v);
	b->off += 4;
}

static void put_str(struct mpbuf *b, const char *s, size_t width)
{
	size_t n = strlen(s);

	/* Fixed-width ID strings are padded with spaces (§4.2, Table 4-2). */
	memset(b->p + b->off, ' ', width);
	memcpy(b->p + b->off, s, n < width ? n : width);
	b->off += width;
}

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static int isa_irq_count(void)
{
	return ISA_IRQS - 1; /* IRQ 2 is the 8259 cascade, never an input */
}

static size_t table_size(const struct mptable_config *cfg)
{
	size_t entries = 2 /* buses */ + 1 /* I/O APIC */ + (size_t)isa_irq_count() +
			 (size_t)cfg->npci_intr + 2 /* LINT0, LINT1 */;

	return MPCT_HDR_SIZE + (size_t)cfg->ncpus * MPE_PROC_SIZE + entries * MPE_SIZE;
}

static void put_processors(struct mpbuf *b, const struct mptable_config *cfg)
{
	uint32_t sig = cfg->cpu_signature ? cfg->cpu_signature : 0x600;
	uint32_t feat = cfg->cpu_features ? cfg->cpu_features : (1u << 0 | 1u << 9);
	int i;

	for (i = 0; i < cfg->ncpus; i++) {
		put8(b, MPE_PROCESSOR);
		put8(b, (uint8_t)i); /* local APIC ID */
		put8(b, LAPIC_VERSION);
		put8(b, 0x01 | (i == 0 ? 0x02 : 0)); /* EN, BP on the BSP */
		put32(b, sig);
		put32(b, feat);
		put32(b, 0);
		put32(b, 0);
	}
}

static void put_bus(struct mpbuf *b, uint8_t id, const char *type)
{
	put8(b, MPE_BUS);
	put8(b, id);
	put_str(b, type, 6);
}

static void put_intr(struct mpbuf *b, uint8_t kind, uint8_t itype, uint16_t flags, uint8_t bus,
		     uint8_t irq, uint8_t dst_id, uint8_t dst_pin)
{
	put8(b, kind);
	put8(b, itype);
	put16(b, flags);
	put8(b, bus);
	put8(b, irq);
	put8(b, dst_id);
	put8(b, dst_pin);
}

static void put_entries(struct mpbuf *b, const struct mptable_config *cfg)
{
	uint8_t ioapic_id = (uint8_t)cfg->ncpus;
	uint64_t ioapic_base = cfg->ioapic_base ? cfg->ioapic_base : LAYOUT_IOAPIC_BASE;
	int irq, i;

	put_processors(b, cfg);
	put_bus(b, MP_BUS_PCI, "PCI");
	put_bus(b, MP_BUS_ISA, "ISA");

	put8(b, MPE_IOAPIC);
	put8(b, ioapic_id);
	put8(b, IOAPIC_VERSION);
	put8(b, 0x01); /* EN */
	put32(b, (uint32_t)ioapic_base);

	/* The PIT (ISA IRQ 0) is wired to I/O APIC pin 2 on PCs; every other
	 * ISA IRQ to the pin of the same number. */
	for (irq = 0; irq < ISA_IRQS; irq++) {
		if (irq == ISA_IRQ_CASCADE)
			continue;
		put_intr(b, MPE_IOINT, MPI_INT, MPF_CONFORMING, MP_BUS_ISA, (uint8_t)irq, ioapic_id,
			 irq == 0 ? 2 : (uint8_t)irq);
	}
	/* §4.3.4: a PCI source IRQ is the device number in bits 2-6 and the
	 * pin (INTA# = 0) in bits 0-1. */
	for (i = 0; i < cfg->npci_intr; i++) {
		const struct mptable_pci_intr *pi = &cfg->pci_intr[i];

		put_intr(b, MPE_IOINT, MPI_INT, MPF_PCI, pi->bus,
			 (uint8_t)(pi->slot << 2 | pi->pin), ioapic_id, pi->ioapic_pin);
	}
	/* Virtual wire mode (§3.6.2.2): the 8259 reaches every local APIC
	 * through LINT0, NMI through LINT1. */
	put_intr(b, MPE_LINT, MPI_EXTINT, MPF_CONFORMING, MP_BUS_ISA, 0, LAPIC_ALL, 0);
	put_intr(b, MPE_LINT, MPI_NMI, MPF_CONFORMING, MP_BUS_ISA, 0, LAPIC_ALL, 1);
}

static int config_valid(const struct mptable_config *cfg)
{
	int pins = cfg->ioapic_pins ? cfg->ioapic_pins : LAYOUT_IOAPIC_PINS;
	int i;

	if (cfg->ncpus < 1 || cfg->ncpus > MPTABLE_MAX_CPUS || pins < ISA_IRQS || pins > 240 ||
	    cfg->npci_intr < 0 || cfg->npci_intr > 1024 || (cfg->npci_intr > 0 && !cfg->pci_intr) ||
	    cfg->ioapic_base > UINT32_MAX)
		return 0;
	for (i = 0; i < cfg->npci_intr; i++) {
		const struct mptable_pci_intr *pi = &cfg->pci_intr[i];

		if (pi->slot > 31 || pi->pin > 3 || pi->ioapic_pin >= pins)
			return 0;
	}
	return 1;
}

static void put_header(struct mpbuf *b, const struct mptable_config *cfg, uint16_t len,
		       uint16_t count)
{
	put_str(b, "PCMP", 4);
	put16(b, len);
	put8(b, MP_SPEC_REV);
	put8(b, 0); /* checksum, filled in last */
	put_str(b, "BHYVE", 8);
	put_str(b, "1.0", 12);
	put32(b, 0); /* no OEM table */
	put16(b, 0);
	put16(b, count);
	put32(b, (uint32_t)LAYOUT_LAPIC_BASE);
	put16(b, 0); /* no extended table: length and checksum 0 */
	put8(b, 0);
	put8(b, 0);
}

static void put_floating(struct mpbuf *b, uint64_t table_gpa)
{
	put_str(b, "_MP_", 4);
	put32(b, (uint32_t)table_gpa);
	put8(b, 1); /* length in 16-byte units */
	put8(b, MP_SPEC_REV);
	put8(b, 0); /* checksum, filled in last */
	/* Feature byte 1 = 0: a configuration table is present.  Feature byte 2
	 * bit 7 (IMCR) clear: the platform runs in virtual wire mode. */
	put8(b, 0);
	put32(b, 0);
}

int mptable_build(const struct gmem *m, uint64_t gpa, uint64_t len,
		  const struct mptable_config *cfg)
{
	struct mpbuf b = { 0 };
	size_t tlen, total;
	uint16_t count;
	int rc;

	if (!m || !cfg || !config_valid(cfg) || (gpa & 0xF) || gpa + MPFP_SIZE > UINT32_MAX)
		return -EINVAL;
	tlen = table_size(cfg);
	total = MPFP_SIZE + tlen;
	if (tlen > UINT16_MAX || total > len)
		return -ENOSPC;
	b.p = calloc(1, total);
	if (!b.p)
		return -ENOMEM;

	count = (uint16_t)(cfg->ncpus + 2 + 1 + isa_irq_count() + cfg->npci_intr + 2);
	put_floating(&b, gpa + MPFP_SIZE);
	put_header(&b, cfg, (uint16_t)tlen, count);
	put_entries(&b, cfg);
	b.p[10] = mp_checksum(b.p, MPFP_SIZE);
	b.p[MPFP_SIZE + 7] = mp_checksum(b.p + MPFP_SIZE, tlen);

	rc = b.off == total ? gmem_write(m, gpa, b.p, total) : -EINVAL;
	free(b.p);
	return rc < 0 ? rc : (int)total;
}
