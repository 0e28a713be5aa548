/* Unit tests for src/firmware/vmlinux.c: ELF64 vmlinux images (gABI ELF
 * header and program headers) made up here, placed into a guest RAM buffer
 * between guard zones, and the zero page of the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, zero-page.rst) they get; every
 * malformed image is refused before anything is written.  The real kernel
 * is loaded too when scripts/assets has extracted it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/bzimage.h"
#include "firmware/e820.h"
#include "firmware/layout.h"
#include "firmware/vmlinux.h"
#include "gmem.h"
#include "le_test.h"

#define MIB	   (1ULL << 20)
#define GUARD	   (64u << 10)
#define GUARD_BYTE 0xA5
#define MAX_SEGS   8
#define KVIRT	   0xFFFFFFFF80000000ULL /* __START_KERNEL_map */

struct guest {
	uint8_t *buf;
	uint8_t *ram;
	uint64_t size;
	struct gmem m;
	struct e820_entry map[E820_MAX_ENTRIES];
	int nmap;
	char err[256];
	struct bzimage_boot boot;
};

struct seg {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

/* What goes into a synthetic vmlinux. */
struct image {
	uint8_t cls, data, version;
	uint16_t type, machine, ehsize, phentsize, phnum;
	uint64_t entry, phoff;
	int nseg;
	struct seg s[MAX_SEGS];
	size_t cut; /* bytes removed from the end of the file */
};

static char tmpdir[128];

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = v & 0xFF;
	p[off + 1] = v >> 8;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, v & 0xFFFF);
	put16(p, off + 2, v >> 16);
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

/* File byte at offset i of segment n: distinct per segment. */
static uint8_t seg_byte(int n, uint64_t i)
{
	return (uint8_t)(i * 7 + 3 + n * 40) | 1;
}

/* A kernel laid out like Linux's: text and data linked at KVIRT + paddr,
 * a per-CPU segment linked at 0, entry = physical startup_64; the last
 * segment has a .bss tail. */
static struct image image_default(void)
{
	struct image im = {
		.cls = 2,
		.data = 1,
		.version = 1,
		.type = 2,
		.machine = 62,
		.ehsize = 64,
		.phentsize = 56,
		.phoff = 64,
		.entry = 0x1000000,
		.nseg = 4,
	};

	im.s[0] = (struct seg){ 1, 0x1000, KVIRT + 0x1000000, 0x1000000, 0x3000, 0x3000 };
	im.s[1] = (struct seg){ 1, 0x4000, KVIRT + 0x1200000, 0x1200000, 0x2000, 0x2000 };
	im.s[2] = (struct seg){ 1, 0x6000, 0, 0x1202000, 0x1000, 0x1000 };
	im.s[3] = (struct seg){ 1, 0x7000, KVIRT + 0x1400000, 0x1400000, 0x1800, 0x5000 };
	im.phnum = (uint16_t)im.nseg;
	return im;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* tmpdir/name in one of four static buffers, so a kernel's and an
 * initrd's paths can be held at once. */
static const char *tmp_path(const char *name)
{
	static char path[4][256];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

/* Writes the image to tmpdir/name and returns its path (static buffer). */
static const char *make_image(const char *name, const struct image *im)
{
	size_t len = 64 + (size_t)im->nseg * 56, i;
	const char *path;
	uint8_t *f;
	int n;

	/* Absurd offsets (the malformed cases) make no file bytes. */
	for (n = 0; n < im->nseg; n++) {
		if (im->s[n].offset < MIB && im->s[n].filesz < MIB &&
		    im->s[n].offset + im->s[n].filesz > len)
			len = im->s[n].offset + im->s[n].filesz;
	}
	f = calloc(1, len);
	assert_non_null(f);
	memcpy(f, "\177ELF", 4);
	f[4] = im->cls;
	f[5] = im->data;
	f[6] = im->version;
	put16(f, 16, im->type);
	put16(f, 18, im->machine);
	put32(f, 20, 1);
	put64(f, 24, im->entry);
	put64(f, 32, im->phoff);
	put16(f, 52, im->ehsize);
	put16(f, 54, im->phentsize);
	put16(f, 56, im->phnum);
	for (n = 0; n < im->nseg; n++) {
		const struct seg *s = &im->s[n];
		size_t ph = 64 + (size_t)n * 56;

		put32(f, ph, s->type);
		put32(f, ph + 4, 7);
		put64(f, ph + 8, s->offset);
		put64(f, ph + 16, s->vaddr);
		put64(f, ph + 24, s->paddr);
		put64(f, ph + 32, s->filesz);
		put64(f, ph + 40, s->memsz);
		put64(f, ph + 48, 0x200000);
		for (i = 0; i < s->filesz && s->offset >= 64 + (size_t)im->nseg * 56 &&
			    s->offset + i < len;
		     i++)
			f[s->offset + i] = seg_byte(n, i);
	}
	path = tmp_path(name);
	write_file(path, f, len - (im->cut < len ? im->cut : len));
	free(f);
	return path;
}

static const char *make_initrd(const char *name, size_t len)
{
	const char *path = tmp_path(name);
	uint8_t *buf = malloc(len ? len : 1);
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	write_file(path, buf, len);
	free(buf);
	return path;
}

static struct guest *guest_new(uint64_t size)
{
	struct guest *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->size = size;
	g->buf = calloc(1, size + 2 * GUARD);
	assert_non_null(g->buf);
	memset(g->buf, GUARD_BYTE, GUARD);
	memset(g->buf + GUARD + size, GUARD_BYTE, GUARD);
	g->ram = g->buf + GUARD;
	assert_int_equal(gmem_add_region(&g->m, 0, size, g->ram), 0);
	g->nmap = e820_build(size, 0, g->map, E820_MAX_ENTRIES);
	assert_true(g->nmap > 0);
	return g;
}

static void guest_free(struct guest *g)
{
	uint32_t i;

	for (i = 0; i < GUARD; i++) {
		assert_int_equal(g->buf[i], GUARD_BYTE);
		assert_int_equal(g->buf[GUARD + g->size + i], GUARD_BYTE);
	}
	free(g->buf);
	free(g);
}

static int load(struct guest *g, const char *kernel, const char *initrd, const char *cmdline)
{
	return vmlinux_load(&g->m, kernel, initrd, cmdline, g->map, g->nmap, &g->boot, g->err,
			    sizeof(g->err));
}

static int ram_untouched(const struct guest *g)
{
	uint64_t a;

	for (a = 0; a < g->size; a++) {
		if (g->ram[a])
			return 0;
	}
	return 1;
}

static void check_segments(const struct guest *g, const struct image *im)
{
	int n;
	uint64_t i;

	for (n = 0; n < im->nseg; n++) {
		const struct seg *s = &im->s[n];

		for (i = 0; i < s->filesz; i++)
			assert_int_equal(g->ram[s->paddr + i], seg_byte(n, i));
		for (; i < s->memsz; i++)
			assert_int_equal(g->ram[s->paddr + i], 0);
	}
}

/* The vCPU state of the 64-bit entry (boot.rst, "64-bit Boot Protocol"). */
static void check_cpu(const struct guest *g, uint64_t entry)
{
	const struct bzimage_boot *b = &g->boot;

	assert_int_equal(b->rip, entry);
	assert_int_equal(b->rsi, LAYOUT_ZERO_PAGE);
	assert_int_equal(b->cr3, LAYOUT_PML4);
	assert_int_equal(b->cr0, 0x80000031);
	assert_int_equal(b->cr4, 0x20);
	assert_int_equal(b->efer, 0x500);
	assert_int_equal(b->rflags & 0x200, 0);
	assert_int_equal(b->cs.selector, 0x10);
	assert_int_equal(b->cs.l, 1);
	assert_int_equal(b->ds.selector, 0x18);
	assert_int_equal(b->gdt_base, LAYOUT_GDT_BASE);
	assert_int_equal(le64_get(g->ram + LAYOUT_GDT_BASE + 0x10), 0x00AF9B000000FFFFULL);
	/* Identity map: the entry's 2 MiB page maps to itself. */
	assert_int_equal(le64_get(g->ram + LAYOUT_PML4) & ~0xFFFULL, LAYOUT_PDPT);
	assert_int_equal(le64_get(g->ram + LAYOUT_PD + (entry >> 21) * 8),
			 (entry & ~0x1FFFFFULL) | 0x83);
}

/* zero-page.rst and boot.rst field offsets. */
static void check_zero_page(const struct guest *g, const char *cmdline, uint64_t lo, uint64_t hi)
{
	const uint8_t *bp = g->ram + LAYOUT_ZERO_PAGE;
	uint64_t cmd;
	int i;

	assert_int_equal(le16_get(bp + 0x1FE), 0xAA55);	    /* boot_flag */
	assert_int_equal(le32_get(bp + 0x202), 0x53726448); /* "HdrS" */
	assert_int_equal(le16_get(bp + 0x206), 0x020C);	    /* version */
	assert_int_equal(g->boot.protocol, 0x020C);
	assert_int_equal(bp[0x201], 0x66);		    /* header ends at 0x268 */
	assert_int_equal(bp[0x210], 0xFF);		    /* type_of_loader */
	assert_int_equal(bp[0x211], 0x81);		    /* LOADED_HIGH, CAN_USE_HEAP */
	assert_int_equal(le16_get(bp + 0x224), 0xFE00);	    /* heap_end_ptr */
	assert_int_equal(le32_get(bp + 0x22C), 0x7FFFFFFF); /* initrd_addr_max */
	assert_int_equal(le32_get(bp + 0x230), 0x200000);   /* kernel_alignment */
	assert_int_equal(le16_get(bp + 0x236), 0x0001);	    /* XLF_KERNEL_64 */
	assert_int_equal(le32_get(bp + 0x238), 2047);	    /* cmdline_size */
	assert_int_equal(le64_get(bp + 0x258), lo);	    /* pref_address */
	assert_int_equal(le32_get(bp + 0x260), hi - lo);    /* init_size */
	assert_int_equal(le64_get(bp + 0x250), 0);	    /* setup_data */
	assert_int_equal(le32_get(bp + 0x268), 0);	    /* past the header */
	cmd = le32_get(bp + 0x228) | (uint64_t)le32_get(bp + 0x0C8) << 32;
	assert_int_equal(cmd, LAYOUT_CMDLINE);
	assert_string_equal((const char *)g->ram + cmd, cmdline);
	assert_int_equal(le32_get(bp + 0x218) | (uint64_t)le32_get(bp + 0x0C0) << 32,
			 g->boot.initrd_gpa);
	assert_int_equal(le32_get(bp + 0x21C) | (uint64_t)le32_get(bp + 0x0C4) << 32,
			 g->boot.initrd_size);
	assert_int_equal(bp[0x1E8], g->nmap);
	for (i = 0; i < g->nmap; i++) {
		const uint8_t *e = bp + 0x2D0 + i * 20;

		assert_int_equal(le64_get(e), g->map[i].addr);
		assert_int_equal(le64_get(e + 8), g->map[i].size);
		assert_int_equal(le32_get(e + 16), g->map[i].type);
	}
}

/* Every nonzero byte of guest RAM is one the loader owns. */
static void check_only_expected_writes(const struct guest *g, uint64_t lo, uint64_t hi)
{
	const struct bzimage_boot *b = &g->boot;
	const uint64_t r[][2] = {
		{ LAYOUT_GDT_BASE, LAYOUT_GDT_BASE + 32 },
		{ LAYOUT_ZERO_PAGE, LAYOUT_ZERO_PAGE + 4096 },
		{ LAYOUT_PML4, LAYOUT_PD + LAYOUT_PD_COUNT * 4096 },
		{ LAYOUT_CMDLINE, LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX },
		{ lo, hi },
		{ b->initrd_gpa, b->initrd_gpa + b->initrd_size },
	};
	uint64_t a;
	size_t i;

	for (a = 0; a < g->size; a++) {
		int ok = 0;

		if (!g->ram[a])
			continue;
		for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
			ok |= a >= r[i][0] && a < r[i][1];
		if (!ok)
			fail_msg("stray write at 0x%llx", (unsigned long long)a);
	}
}

static void test_good_image(void **state)
{
	struct image im = image_default();
	const char *k = make_image("good", &im);
	const char *rd = make_initrd("good-initrd", 200000);
	const char *cmdline = "console=ttyS0 root=/dev/ram0";
	struct guest *g = guest_new(64 * MIB);
	uint64_t i;

	(void)state;
	/* A stale .bss must read as zero after loading. */
	memset(g->ram + 0x1401800, 0xCC, 0x3800);
	assert_int_equal(load(g, k, rd, cmdline), 0);
	assert_string_equal(g->err, "");
	check_segments(g, &im);
	check_cpu(g, 0x1000000);
	assert_int_equal(g->boot.kernel_gpa, 0x1000000);
	assert_int_equal(g->boot.kernel_size, 0x405000);
	check_zero_page(g, cmdline, 0x1000000, 0x1405000);
	/* The initrd is page aligned, at the top of RAM, above the kernel. */
	assert_int_equal(g->boot.initrd_size, 200000);
	assert_int_equal(g->boot.initrd_gpa % 4096, 0);
	assert_true(g->boot.initrd_gpa >= 0x1405000);
	assert_true(g->boot.initrd_gpa + 200000 <= 64 * MIB);
	assert_true(g->boot.initrd_gpa + 200000 > 64 * MIB - 4096);
	for (i = 0; i < 200000; i++)
		assert_int_equal(g->ram[g->boot.initrd_gpa + i], (uint8_t)(i * 13 + 1));
	check_only_expected_writes(g, 0x1000000, 0x1405000);
	guest_free(g);
}

/* No initrd, no command line: both fields zero, an empty string. */
static void test_no_initrd_no_cmdline(void **state)
{
	struct image im = image_default();
	const char *k = make_image("bare", &im);
	struct guest *g = guest_new(32 * MIB);

	(void)state;
	assert_int_equal(load(g, k, NULL, NULL), 0);
	assert_int_equal(g->boot.initrd_gpa, 0);
	assert_int_equal(g->boot.initrd_size, 0);
	check_zero_page(g, "", 0x1000000, 0x1405000);
	check_only_expected_writes(g, 0x1000000, 0x1405000);
	guest_free(g);
}

/* An entry point given as a virtual address goes through its segment. */
static void test_virtual_entry(void **state)
{
	struct image im = image_default();
	struct guest *g = guest_new(32 * MIB);

	(void)state;
	im.entry = KVIRT + 0x1200010;
	assert_int_equal(load(g, make_image("ventry", &im), NULL, NULL), 0);
	check_cpu(g, 0x1200010);
	guest_free(g);
	/* Per-CPU data linked at 0: a small physical entry is physical. */
	im = image_default();
	im.s[2].paddr = 0x100000;
	im.s[2].vaddr = 0x1000000; /* as if it covered the physical entry */
	im.entry = 0x1000000;
	g = guest_new(32 * MIB);
	assert_int_equal(load(g, make_image("pentry", &im), NULL, NULL), 0);
	check_cpu(g, 0x1000000);
	guest_free(g);
}

/* Program headers other than PT_LOAD, and empty PT_LOADs, are skipped. */
static void test_other_phdrs(void **state)
{
	struct image im = image_default();
	struct guest *g = guest_new(32 * MIB);

	(void)state;
	im.s[4] = (struct seg){ 4, 0x1000, KVIRT + 0x1000100, 0x1000100, 0x40, 0x40 };
	im.s[5] = (struct seg){ 1, 0x1000, 0, 0x7000, 0, 0 }; /* empty: no overlap */
	im.nseg = 6;
	im.phnum = 6;
	assert_int_equal(load(g, make_image("note", &im), NULL, NULL), 0);
	assert_int_equal(g->boot.kernel_gpa, 0x1000000);
	guest_free(g);
}

struct bad {
	const char *name;
	void (*edit)(struct image *im);
	int rc;
	const char *words;
	int flat; /* a map with all of RAM as one entry: BIOS areas "RAM" too */
};

static void bad_class(struct image *im)
{
	im->cls = 1;
}
static void bad_data(struct image *im)
{
	im->data = 2;
}
static void bad_version(struct image *im)
{
	im->version = 0;
}
static void bad_machine(struct image *im)
{
	im->machine = 3;
}
static void bad_type(struct image *im)
{
	im->type = 3;
}
static void bad_phentsize(struct image *im)
{
	im->phentsize = 32;
}
static void bad_ehsize(struct image *im)
{
	im->ehsize = 52;
}
static void no_phdrs(struct image *im)
{
	im->phnum = 0;
}
static void many_phdrs(struct image *im)
{
	im->phnum = VMLINUX_MAX_PHDRS + 1;
}
static void xnum_phdrs(struct image *im)
{
	im->phnum = 0xFFFF;
}
static void phoff_far(struct image *im)
{
	im->phoff = 1ULL << 40;
}
static void phoff_wrap(struct image *im)
{
	im->phoff = UINT64_MAX - 8;
}
static void cut_phdrs(struct image *im)
{
	im->phoff = 0x8800 - 100;
}
static void cut_segment(struct image *im)
{
	im->cut = 0x100;
}
static void seg_past_file(struct image *im)
{
	im->s[1].offset = 1ULL << 62;
}
static void seg_offset_wrap(struct image *im)
{
	im->s[1].offset = UINT64_MAX - 0x10;
}
static void filesz_big(struct image *im)
{
	im->s[3].memsz = 0x1000;
}
static void above_ram(struct image *im)
{
	im->s[3].paddr = 0x3000000;
}
static void straddle_ram(struct image *im)
{
	im->s[3].paddr = 0x2000000 - 0x1000;
}
static void paddr_wrap(struct image *im)
{
	im->s[3].paddr = UINT64_MAX - 0x100;
}
static void above_4g(struct image *im)
{
	im->s[3].paddr = 0x100000000ULL;
}
static void in_vga_hole(struct image *im)
{
	im->s[2].paddr = 0xA0000;
}
static void on_ivt(struct image *im)
{
	im->s[2].paddr = 0;
}
static void on_gdt(struct image *im)
{
	im->s[2].paddr = LAYOUT_GDT_BASE;
}
static void on_zero_page(struct image *im)
{
	im->s[2].paddr = LAYOUT_ZERO_PAGE + 0x800;
}
static void on_page_tables(struct image *im)
{
	im->s[2].paddr = LAYOUT_PD + 0x3000;
}
static void on_cmdline(struct image *im)
{
	im->s[2].paddr = LAYOUT_CMDLINE + 0xF800;
}
static void on_acpi(struct image *im)
{
	im->s[2].paddr = LAYOUT_ACPI_BASE;
}
static void on_bios(struct image *im)
{
	im->s[2].paddr = LAYOUT_MPTABLE_BASE + 0x4000;
}
static void on_ebda(struct image *im)
{
	im->s[2].paddr = LAYOUT_EBDA_BASE - 0x800;
}
static void overlap(struct image *im)
{
	im->s[2].paddr = 0x1201800;
}
static void overlap_inside(struct image *im)
{
	im->s[1].paddr = 0x1401000;
}
static void no_load(struct image *im)
{
	int n;

	for (n = 0; n < im->nseg; n++)
		im->s[n].type = 4;
}
static void entry_nowhere(struct image *im)
{
	im->entry = 0x5000000;
}
static void entry_in_bss(struct image *im)
{
	im->entry = 0x1402000;
}

static const struct bad bad_images[] = {
	{ "class", bad_class, -ENOEXEC, "ELF class 1", 0 },
	{ "data", bad_data, -ENOEXEC, "little-endian", 0 },
	{ "version", bad_version, -ENOEXEC, "little-endian", 0 },
	{ "machine", bad_machine, -ENOEXEC, "machine 3", 0 },
	{ "type", bad_type, -ENOEXEC, "type 3", 0 },
	{ "phentsize", bad_phentsize, -ENOEXEC, "program header size", 0 },
	{ "ehsize", bad_ehsize, -ENOEXEC, "header size", 0 },
	{ "nophdrs", no_phdrs, -ENOEXEC, "no program headers", 0 },
	{ "manyphdrs", many_phdrs, -ENOEXEC, "65 program headers", 0 },
	{ "xnum", xnum_phdrs, -ENOEXEC, "65535 program headers", 0 },
	{ "phofffar", phoff_far, -ENOEXEC, "past the end of the file", 0 },
	{ "phoffwrap", phoff_wrap, -ENOEXEC, "past the end of the file", 0 },
	{ "cutphdrs", cut_phdrs, -ENOEXEC, "past the end of the file", 0 },
	{ "cutseg", cut_segment, -ENOEXEC, "segment 3 lies past the end", 0 },
	{ "segfar", seg_past_file, -ENOEXEC, "segment 1 lies past the end", 0 },
	{ "segwrap", seg_offset_wrap, -ENOEXEC, "segment 1 lies past the end", 0 },
	{ "filesz", filesz_big, -ENOEXEC, "more file bytes", 0 },
	{ "aboveram", above_ram, -ENOMEM, "segment 3 at 0x3000000-0x3004fff is not in guest RAM",
	  0 },
	{ "straddle", straddle_ram, -ENOMEM, "not in guest RAM", 0 },
	{ "wrap", paddr_wrap, -ENOMEM, "not in guest RAM", 0 },
	{ "above4g", above_4g, -ENOMEM, "below 4 GiB", 0 },
	{ "vgahole", in_vga_hole, -ENOMEM, "not in guest RAM", 0 },
	{ "ivt", on_ivt, -EINVAL, "IVT", 0 },
	{ "gdt", on_gdt, -EINVAL, "overlaps the GDT", 0 },
	{ "zeropage", on_zero_page, -EINVAL, "overlaps the zero page", 0 },
	{ "pagetables", on_page_tables, -EINVAL, "overlaps the page tables", 0 },
	{ "cmdline", on_cmdline, -EINVAL, "overlaps the command line", 0 },
	{ "acpi", on_acpi, -EINVAL, "overlaps the ACPI tables", 1 },
	{ "bios", on_bios, -EINVAL, "overlaps the MP table and SMBIOS area", 1 },
	{ "ebda", on_ebda, -EINVAL, "overlaps the EBDA", 1 },
	{ "acpi-map", on_acpi, -ENOMEM, "not in guest RAM", 0 },
	{ "overlap", overlap, -ENOEXEC, "segments 1 and 2 overlap", 0 },
	{ "inside", overlap_inside, -ENOEXEC, "segments 1 and 3 overlap", 0 },
	{ "noload", no_load, -ENOEXEC, "no loadable segment", 0 },
	{ "entry", entry_nowhere, -ENOEXEC, "entry point 0x5000000", 0 },
	{ "bssentry", entry_in_bss, -ENOEXEC, "entry point", 0 },
};

/* Each malformed image: the expected error, a message naming the file and
 * the problem, and not one byte of guest RAM written. */
static void test_rejects_malformed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_images) / sizeof(bad_images[0]); i++) {
		const struct bad *b = &bad_images[i];
		struct image im = image_default();
		struct guest *g = guest_new(32 * MIB);
		const char *k;
		int rc;

		b->edit(&im);
		if (b->flat) {
			g->map[0] = (struct e820_entry){ 0, 32 * MIB, E820_RAM };
			g->nmap = 1;
		}
		k = make_image(b->name, &im);
		rc = load(g, k, NULL, "x");
		if (rc != b->rc || !strstr(g->err, k) || !strstr(g->err, b->words))
			fail_msg("%s: rc %d, err \"%s\"", b->name, rc, g->err);
		if (!ram_untouched(g))
			fail_msg("%s: guest RAM written", b->name);
		guest_free(g);
	}
}

static void test_rejects_files(void **state)
{
	struct guest *g = guest_new(32 * MIB);
	struct image im = image_default();
	static const uint8_t elf_only[] = { 0x7F, 'E', 'L', 'F', 2, 1, 1 };

	(void)state;
	assert_int_equal(load(g, tmp_path("missing"), NULL, NULL), -ENOENT);
	assert_non_null(strstr(g->err, "missing"));
	assert_int_equal(load(g, tmpdir, NULL, NULL), -EINVAL);
	assert_non_null(strstr(g->err, "not a regular file"));
	write_file(tmp_path("short"), elf_only, sizeof(elf_only));
	assert_int_equal(load(g, tmp_path("short"), NULL, NULL), -ENOEXEC);
	assert_non_null(strstr(g->err, "truncated ELF header"));
	write_file(tmp_path("empty"), "", 0);
	assert_int_equal(load(g, tmp_path("empty"), NULL, NULL), -ENOEXEC);
	write_file(tmp_path("notelf"),
		   "MZ not an ELF file at all, but long enough for a header"
		   "................",
		   72);
	assert_int_equal(load(g, tmp_path("notelf"), NULL, NULL), -ENOEXEC);
	assert_non_null(strstr(g->err, "not an ELF file"));
	assert_true(ram_untouched(g));
	/* A bad initrd after a good kernel: the initrd's error. */
	assert_int_equal(load(g, make_image("k", &im), tmp_path("no-initrd"), NULL), -ENOENT);
	assert_non_null(strstr(g->err, "no-initrd"));
	guest_free(g);
	/* Bad arguments. */
	g = guest_new(32 * MIB);
	assert_int_equal(
	    vmlinux_load(NULL, "x", NULL, NULL, g->map, g->nmap, &g->boot, g->err, sizeof(g->err)),
	    -EINVAL);
	assert_int_equal(vmlinux_load(&g->m, "x", NULL, NULL, NULL, 3, &g->boot, NULL, 0), -EINVAL);
	guest_free(g);
}

static void test_cmdline_limit(void **state)
{
	struct image im = image_default();
	const char *k = make_image("cl", &im);
	struct guest *g = guest_new(32 * MIB);
	char line[2049];

	(void)state;
	memset(line, 'a', sizeof(line) - 1);
	line[2047] = '\0';
	assert_int_equal(load(g, k, NULL, line), 0);
	assert_int_equal(strlen((char *)g->ram + LAYOUT_CMDLINE), 2047);
	line[2047] = 'a';
	line[2048] = '\0';
	assert_int_equal(load(g, k, NULL, line), -E2BIG);
	assert_non_null(strstr(g->err, "command line too long"));
	guest_free(g);
}

/* The initrd needs room between the kernel and the top of low RAM. */
static void test_initrd_no_room(void **state)
{
	struct image im = image_default();
	const char *k = make_image("ir", &im);
	struct guest *g = guest_new(24 * MIB);

	(void)state;
	assert_int_equal(load(g, k, make_initrd("big-initrd", 3 * MIB), NULL), 0);
	assert_true(g->boot.initrd_gpa >= 0x1405000);
	assert_int_equal(load(g, k, make_initrd("huge-initrd", 8 * MIB), NULL), -ENOMEM);
	assert_non_null(strstr(g->err, "initrd too large"));
	guest_free(g);
}

/* The map is what counts as RAM, not only guest memory: a segment in RAM
 * that the map leaves out is refused, and one in RAM the map claims but
 * guest memory lacks too. */
static void test_map_and_gmem(void **state)
{
	struct image im = image_default();
	const char *k = make_image("mapped", &im);
	struct guest *g = guest_new(32 * MIB);
	struct e820_entry lying[E820_MAX_ENTRIES];
	int n;

	(void)state;
	/* Low RAM that ends at 18 MiB: segment 1 (from 18 MiB) lies outside. */
	n = e820_build(18 * MIB, 0, lying, E820_MAX_ENTRIES);
	assert_int_equal(
	    vmlinux_load(&g->m, k, NULL, NULL, lying, n, &g->boot, g->err, sizeof(g->err)),
	    -ENOMEM);
	assert_non_null(strstr(g->err, "segment 1 at 0x1200000"));
	/* A map that claims 64 MiB of a 16 MiB guest: caught by gmem. */
	guest_free(g);
	g = guest_new(16 * MIB);
	n = e820_build(64 * MIB, 0, lying, E820_MAX_ENTRIES);
	assert_int_equal(
	    vmlinux_load(&g->m, k, NULL, NULL, lying, n, &g->boot, g->err, sizeof(g->err)),
	    -ENOMEM);
	assert_non_null(strstr(g->err, "not in guest RAM"));
	assert_true(ram_untouched(g));
	guest_free(g);
}

static void test_probe(void **state)
{
	struct image im = image_default();

	(void)state;
	assert_int_equal(vmlinux_probe(make_image("probe", &im)), 1);
	write_file(tmp_path("probe-mz"), "MZ\0\0", 4);
	assert_int_equal(vmlinux_probe(tmp_path("probe-mz")), 0);
	write_file(tmp_path("probe-short"), "\177EL", 3);
	assert_int_equal(vmlinux_probe(tmp_path("probe-short")), 0);
	assert_int_equal(vmlinux_probe(tmp_path("probe-missing")), -ENOENT);
}

static const char *cached_vmlinux(char *buf, size_t len)
{
	const char *cache = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (cache && *cache)
		snprintf(buf, len, "%s/bhyve-linux/kernel/vmlinux", cache);
	else
		snprintf(buf, len, "%s/.cache/bhyve-linux/kernel/vmlinux", home ? home : "");
	return access(buf, R_OK) == 0 ? buf : NULL;
}

/* Debian's kernel, as scripts/assets extracts it: entered at the physical
 * startup_64, the first bytes of its first segment in place. */
static void test_real_vmlinux(void **state)
{
	char path[512];
	const char *k = cached_vmlinux(path, sizeof(path));
	uint8_t eh[64], ph[56], text[64];
	struct guest *g;
	FILE *f;

	(void)state;
	if (!k)
		skip();
	f = fopen(k, "rb");
	assert_non_null(f);
	assert_int_equal(fread(eh, 1, sizeof(eh), f), sizeof(eh));
	assert_int_equal(fseek(f, (long)le64_get(eh + 32), SEEK_SET), 0);
	assert_int_equal(fread(ph, 1, sizeof(ph), f), sizeof(ph));
	assert_int_equal(le32_get(ph), 1); /* the text segment comes first */
	assert_int_equal(fseek(f, (long)le64_get(ph + 8), SEEK_SET), 0);
	assert_int_equal(fread(text, 1, sizeof(text), f), sizeof(text));
	fclose(f);

	g = guest_new(256 * MIB);
	assert_int_equal(load(g, k, NULL, "console=ttyS0"), 0);
	assert_int_equal(g->boot.rip, le64_get(eh + 24));
	assert_int_equal(g->boot.kernel_gpa, le64_get(ph + 24));
	assert_memory_equal(g->ram + le64_get(ph + 24), text, sizeof(text));
	check_cpu(g, le64_get(eh + 24));
	guest_free(g);

	/* Its segments end near 74 MiB: 48 MiB of RAM is too little. */
	g = guest_new(48 * MIB);
	assert_int_equal(load(g, k, NULL, NULL), -ENOMEM);
	assert_non_null(strstr(g->err, "not in guest RAM"));
	guest_free(g);
}

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(tmpdir, sizeof(tmpdir), "%s/test_vmlinux.XXXXXX",
			 base && *base ? base : "/tmp");

	(void)state;
	if (n < 0 || (size_t)n >= sizeof(tmpdir))
		return -1;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_image),
		cmocka_unit_test(test_no_initrd_no_cmdline),
		cmocka_unit_test(test_virtual_entry),
		cmocka_unit_test(test_other_phdrs),
		cmocka_unit_test(test_rejects_malformed),
		cmocka_unit_test(test_rejects_files),
		cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_initrd_no_room),
		cmocka_unit_test(test_map_and_gmem),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_real_vmlinux),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
