/* Unit tests for src/firmware/bzimage.c: the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst, 64-bit entry) against synthetic
 * bzImages, the test guests and, when it is in the cache, the real kernel. */
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
#include "gmem.h"

#define MIB	   (1ULL << 20)
#define GUARD	   (64u << 10)
#define GUARD_BYTE 0xA5

/* Guest RAM [0, size) between two guard zones that must stay untouched. */
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

/* What goes into a synthetic bzImage. */
struct synth {
	uint8_t setup_sects;
	uint16_t boot_flag;
	uint32_t magic;
	uint16_t version;
	uint8_t jump_len;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t pm_size; /* protected-mode part, a multiple of 16 */
	uint32_t cut;	  /* bytes removed from the end of the file */
};

static const struct synth synth_default = {
	.setup_sects = 4,
	.boot_flag = 0xAA55,
	.magic = 0x53726448,
	.version = 0x020F,
	.jump_len = 0x6A,
	.loadflags = 0x01,
	.xloadflags = 0x0003,
	.relocatable = 1,
	.kernel_alignment = 0x200000,
	.pref_address = 0x1000000,
	.init_size = 8u << 20,
	.cmdline_size = 2047,
	.initrd_addr_max = 0x7FFFFFFF,
	.pm_size = 96u << 10,
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

static uint16_t get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}

static uint8_t pm_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Writes the image to tmpdir/name and returns its path (static buffer). */
static const char *make_image(const char *name, const struct synth *s)
{
	static char path[256];
	size_t setup = ((size_t)(s->setup_sects ? s->setup_sects : 4) + 1) * 512;
	size_t len = setup + s->pm_size, i;
	uint8_t *img = calloc(1, len);

	assert_non_null(img);
	img[0x1F1] = s->setup_sects;
	put32(img, 0x1F4, s->pm_size / 16);
	put16(img, 0x1FA, 0xFFFF);
	put16(img, 0x1FE, s->boot_flag);
	img[0x200] = 0xEB;
	img[0x201] = s->jump_len;
	put32(img, 0x202, s->magic);
	put16(img, 0x206, s->version);
	img[0x211] = s->loadflags;
	put32(img, 0x214, 0x100000);
	put32(img, 0x22C, s->initrd_addr_max);
	put32(img, 0x230, s->kernel_alignment);
	img[0x234] = s->relocatable;
	put16(img, 0x236, s->xloadflags);
	put32(img, 0x238, s->cmdline_size);
	put64(img, 0x250, 0xDEADBEEF); /* a stale setup_data the loader must clear */
	put64(img, 0x258, s->pref_address);
	put32(img, 0x260, s->init_size);
	for (i = 0; i < s->pm_size; i++)
		img[setup + i] = pm_byte(i);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(path, img, len - s->cut);
	free(img);
	return path;
}

static const char *make_initrd(const char *name, size_t len)
{
	static char path[256];
	uint8_t *buf = malloc(len ? len : 1);
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
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
	return bzimage_load(&g->m, kernel, initrd, cmdline, g->map, g->nmap, &g->boot, g->err,
			    sizeof(g->err));
}

/* Every nonzero byte of guest RAM lies in one of the ranges the loader
 * owns: it wrote nowhere else. */
static void check_only_expected_writes(const struct guest *g)
{
	const struct bzimage_boot *b = &g->boot;
	const uint64_t r[][2] = {
		{ LAYOUT_GDT_BASE, LAYOUT_GDT_BASE + 32 },
		{ LAYOUT_ZERO_PAGE, LAYOUT_ZERO_PAGE + 4096 },
		{ LAYOUT_PML4, LAYOUT_PD + LAYOUT_PD_COUNT * 4096 },
		{ LAYOUT_CMDLINE, LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX },
		{ b->kernel_gpa, b->kernel_gpa + b->kernel_size },
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

static void check_tables(const struct guest *g)
{
	const struct bzimage_boot *b = &g->boot;
	const uint8_t *ram = g->ram;
	struct bzimage_seg s;
	uint64_t i;

	assert_int_equal(b->rsi, LAYOUT_ZERO_PAGE);
	assert_int_equal(b->rip, b->kernel_gpa + 0x200);
	assert_int_equal(b->cr3, LAYOUT_PML4);
	assert_int_equal(b->cr0, 0x80000031);
	assert_int_equal(b->cr4, 0x20);
	assert_int_equal(b->efer, 0x500);
	assert_int_equal(b->rflags & 0x200, 0); /* interrupts off */
	assert_int_equal(b->gdt_base, LAYOUT_GDT_BASE);
	assert_int_equal(b->gdt_limit, 31);

	/* GDT: 0x10 flat 64-bit code, 0x18 flat data, decoded both ways. */
	assert_int_equal(get64(ram, LAYOUT_GDT_BASE), 0);
	assert_int_equal(get64(ram, LAYOUT_GDT_BASE + 0x10), 0x00AF9B000000FFFFULL);
	assert_int_equal(get64(ram, LAYOUT_GDT_BASE + 0x18), 0x00CF93000000FFFFULL);
	assert_int_equal(b->cs.selector, 0x10);
	assert_int_equal(b->cs.base, 0);
	assert_int_equal(b->cs.limit, 0xFFFFFFFF);
	assert_int_equal(b->cs.type, 0xB);
	assert_int_equal(b->cs.l, 1);
	assert_int_equal(b->cs.db, 0);
	assert_int_equal(b->cs.s, 1);
	assert_int_equal(b->cs.present, 1);
	assert_int_equal(b->cs.g, 1);
	assert_int_equal(b->cs.dpl, 0);
	assert_int_equal(b->ds.selector, 0x18);
	assert_int_equal(b->ds.type, 0x3);
	assert_int_equal(b->ds.l, 0);
	assert_int_equal(b->ds.db, 1);
	assert_int_equal(b->ds.limit, 0xFFFFFFFF);
	assert_int_equal(b->tr.type, 11);
	assert_int_equal(b->tr.s, 0);
	assert_int_equal(b->tr.present, 1);
	bzimage_segment(BZIMAGE_SEG_CS, &s);
	assert_memory_equal(&s, &b->cs, sizeof(s));

	/* Page tables: identity map of [0, 4 GiB) with 2 MiB pages. */
	assert_int_equal(get64(ram, LAYOUT_PML4), LAYOUT_PDPT | 3);
	for (i = 1; i < 512; i++)
		assert_int_equal(get64(ram, LAYOUT_PML4 + i * 8), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(get64(ram, LAYOUT_PDPT + i * 8), (LAYOUT_PD + i * 4096) | 3);
	assert_int_equal(get64(ram, LAYOUT_PDPT + 4 * 8), 0);
	for (i = 0; i < 2048; i++)
		assert_int_equal(get64(ram, LAYOUT_PD + i * 8), (i << 21) | 0x83);
}

static void check_zero_page(const struct guest *g, const char *cmdline)
{
	const uint8_t *bp = g->ram + LAYOUT_ZERO_PAGE;
	uint64_t cmd;
	int i;

	assert_int_equal(get32(bp, 0x202), 0x53726448);
	assert_int_equal(get16(bp, 0x1FE), 0xAA55);
	assert_int_equal(get16(bp, 0x206), g->boot.protocol);
	assert_int_equal(bp[0x210], 0xFF);	  /* type_of_loader */
	assert_int_equal(bp[0x211] & 0x81, 0x81); /* LOADED_HIGH, CAN_USE_HEAP */
	assert_int_equal(get16(bp, 0x224), 0xFE00);
	assert_int_equal(get64(bp, 0x250), 0); /* setup_data */
	cmd = get32(bp, 0x228) | (uint64_t)get32(bp, 0x0C8) << 32;
	assert_int_equal(cmd, LAYOUT_CMDLINE);
	assert_string_equal((const char *)g->ram + cmd, cmdline);
	assert_int_equal(get32(bp, 0x218) | (uint64_t)get32(bp, 0x0C0) << 32, g->boot.initrd_gpa);
	assert_int_equal(get32(bp, 0x21C) | (uint64_t)get32(bp, 0x0C4) << 32, g->boot.initrd_size);
	assert_int_equal(bp[0x1E8], g->nmap);
	for (i = 0; i < g->nmap; i++) {
		const uint8_t *e = bp + 0x2D0 + i * 20;

		assert_int_equal(get64(e, 0), g->map[i].addr);
		assert_int_equal(get64(e, 8), g->map[i].size);
		assert_int_equal(get32(e, 16), g->map[i].type);
	}
	assert_int_equal(get64(bp + 0x2D0 + g->nmap * 20, 8), 0);
}

static void check_kernel_bytes(const struct guest *g, uint32_t pm_size)
{
	uint32_t i;

	assert_int_equal(g->boot.kernel_size, pm_size);
	for (i = 0; i < pm_size; i++)
		assert_int_equal(g->ram[g->boot.kernel_gpa + i], pm_byte(i));
}

static void check_initrd_bytes(const struct guest *g)
{
	uint64_t i;

	for (i = 0; i < g->boot.initrd_size; i++)
		assert_int_equal(g->ram[g->boot.initrd_gpa + i], (uint8_t)(i * 13 + 1));
}

static void test_relocatable(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	struct synth s = synth_default;
	const char *cmd = "console=ttyS0 root=/dev/vda rw";
	const char *k = make_image("reloc", &s);
	const char *ird = make_initrd("initrd", 3 * MIB + 123);

	(void)state;
	assert_int_equal(load(g, k, ird, cmd), 0);
	assert_string_equal(g->err, "");
	assert_int_equal(g->boot.kernel_gpa, 0x1000000);
	assert_int_equal(g->boot.rip, 0x1000200);
	assert_int_equal(g->boot.protocol, 0x020F);
	check_kernel_bytes(g, s.pm_size);
	/* initrd: page aligned, as high as it goes, above the kernel's
	 * init_size, within low RAM. */
	assert_int_equal(g->boot.initrd_size, 3 * MIB + 123);
	assert_int_equal(g->boot.initrd_gpa & 0xFFF, 0);
	assert_true(g->boot.initrd_gpa + g->boot.initrd_size <= 64 * MIB);
	assert_true(g->boot.initrd_gpa + g->boot.initrd_size > 64 * MIB - 4096);
	assert_true(g->boot.initrd_gpa >= 0x1000000 + s.init_size);
	check_initrd_bytes(g);
	check_zero_page(g, cmd);
	check_tables(g);
	check_only_expected_writes(g);
	guest_free(g);
}

static void test_not_relocatable(void **state)
{
	struct guest *g = guest_new(32 * MIB);
	struct synth s = synth_default;

	(void)state;
	s.relocatable = 0;
	s.pref_address = 0x100000;
	s.init_size = 1 * MIB;
	assert_int_equal(load(g, make_image("fixed", &s), NULL, NULL), 0);
	assert_int_equal(g->boot.kernel_gpa, 0x100000);
	assert_int_equal(g->boot.rip, 0x100200);
	assert_int_equal(g->boot.initrd_gpa, 0);
	assert_int_equal(g->boot.initrd_size, 0);
	check_kernel_bytes(g, s.pm_size);
	check_zero_page(g, "");
	check_tables(g);
	check_only_expected_writes(g);
	guest_free(g);
}

static void test_unaligned_pref_falls_back(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	struct synth s = synth_default;

	(void)state;
	s.pref_address = 0x1000800;
	assert_int_equal(load(g, make_image("unaligned", &s), NULL, "x"), 0);
	assert_int_equal(g->boot.kernel_gpa, 0x100000);
	guest_free(g);
}

static void test_initrd_addr_max(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	struct synth s = synth_default;

	(void)state;
	s.initrd_addr_max = 0x1FFFFFF;
	assert_int_equal(load(g, make_image("iam", &s), make_initrd("small", 5000), "a=b"), 0);
	assert_int_equal(g->boot.initrd_gpa, (0x2000000 - 5000) & ~0xFFFULL);
	check_initrd_bytes(g);
	check_zero_page(g, "a=b");
	guest_free(g);

	/* initrd_addr_max 0 stands for 0x37FFFFFF (boot.rst). */
	g = guest_new(1024 * MIB);
	s.initrd_addr_max = 0;
	assert_int_equal(load(g, make_image("iam0", &s), make_initrd("small", 5000), NULL), 0);
	assert_int_equal(g->boot.initrd_gpa, (0x38000000 - 5000) & ~0xFFFULL);
	guest_free(g);
}

static void expect_error(const struct synth *s, int rc, const char *msg)
{
	struct guest *g = guest_new(64 * MIB);

	assert_int_equal(load(g, make_image("bad", s), NULL, NULL), rc);
	if (!strstr(g->err, msg))
		fail_msg("error \"%s\" does not contain \"%s\"", g->err, msg);
	guest_free(g);
}

static void test_rejects_bad_headers(void **state)
{
	struct synth s;

	(void)state;
	s = synth_default;
	s.magic = 0x53726449;
	expect_error(&s, -ENOEXEC, "no HdrS magic");
	s = synth_default;
	s.boot_flag = 0;
	expect_error(&s, -ENOEXEC, "boot flag");
	s = synth_default;
	s.version = 0x0205;
	expect_error(&s, -ENOEXEC, "2.05 is too old");
	s = synth_default;
	s.version = 0x020A;
	expect_error(&s, -ENOEXEC, "no 64-bit entry point");
	s = synth_default;
	s.xloadflags = 0x0002;
	expect_error(&s, -ENOEXEC, "XLF_KERNEL_64");
	s = synth_default;
	s.loadflags = 0;
	expect_error(&s, -ENOEXEC, "zImage");
	s = synth_default;
	s.jump_len = 0x20;
	expect_error(&s, -ENOEXEC, "header too short");
	s = synth_default;
	s.cut = 16;
	expect_error(&s, -ENOEXEC, "truncated");
	s = synth_default;
	s.pm_size = 0;
	expect_error(&s, -ENOEXEC, "syssize is 0");
}

static void test_rejects_files(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	const char *k = make_image("good", &synth_default);
	char path[256], kpath[256];
	uint8_t tiny[100] = { 0 };

	(void)state;
	snprintf(kpath, sizeof(kpath), "%s", k);
	snprintf(path, sizeof(path), "%s/tiny", tmpdir);
	write_file(path, tiny, sizeof(tiny));
	assert_int_equal(load(g, path, NULL, NULL), -ENOEXEC);
	assert_non_null(strstr(g->err, "not a bzImage"));

	assert_int_equal(load(g, "/nonexistent/vmlinuz", NULL, NULL), -ENOENT);
	assert_non_null(strstr(g->err, "cannot read kernel /nonexistent/vmlinuz"));
	assert_non_null(strstr(g->err, strerror(ENOENT)));
	assert_int_equal(load(g, tmpdir, NULL, NULL), -EINVAL);
	assert_non_null(strstr(g->err, "not a regular file"));
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(load(g, kpath, path, NULL), -EINVAL);
	assert_non_null(strstr(g->err, "not a regular file"));

	assert_int_equal(load(g, kpath, "/nonexistent/initrd", NULL), -ENOENT);
	assert_non_null(strstr(g->err, "cannot read initrd"));
	assert_int_equal(load(g, kpath, make_initrd("empty", 0), NULL), -EINVAL);
	assert_non_null(strstr(g->err, "empty"));
	guest_free(g);
}

static void test_cmdline_limit(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	struct synth s = synth_default;
	const char *k;

	(void)state;
	s.cmdline_size = 10;
	k = make_image("cmd", &s);
	assert_int_equal(load(g, k, NULL, "0123456789"), 0);
	check_zero_page(g, "0123456789");
	assert_int_equal(load(g, k, NULL, "0123456789a"), -E2BIG);
	assert_non_null(strstr(g->err, "command line too long (11 bytes, at most 10)"));
	guest_free(g);
}

static void test_too_big(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	struct synth s = synth_default;
	char kpath[256];

	(void)state;
	/* Runs at 48 MiB and needs 32 MiB from there. */
	s.pref_address = 48 * MIB;
	s.init_size = 32u << 20;
	assert_int_equal(load(g, make_image("big", &s), NULL, NULL), -ENOMEM);
	assert_non_null(strstr(g->err, "kernel needs 80 MiB, guest has 64 MiB"));
	s.pref_address = 128 * MIB;
	assert_int_equal(load(g, make_image("high", &s), NULL, NULL), -ENOMEM);
	assert_non_null(strstr(g->err, "above the guest's 64 MiB of low memory"));

	snprintf(kpath, sizeof(kpath), "%s", make_image("ok", &synth_default));
	/* 16 MiB kernel + 8 MiB init_size leave 40 MiB: 41 MiB is too much. */
	assert_int_equal(load(g, kpath, make_initrd("huge", 41 * MIB), NULL), -ENOMEM);
	assert_non_null(strstr(g->err, "initrd too large for guest memory"));
	assert_int_equal(load(g, kpath, make_initrd("fits", 39 * MIB), NULL), 0);
	assert_true(g->boot.initrd_gpa >= 24 * MIB);
	guest_free(g);
}

static void test_bad_map(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	const char *k = make_image("map", &synth_default);
	struct e820_entry many[130];

	(void)state;
	memset(many, 0, sizeof(many));
	assert_int_equal(
	    bzimage_load(&g->m, k, NULL, NULL, g->map, 0, &g->boot, g->err, sizeof(g->err)),
	    -EINVAL);
	assert_int_equal(
	    bzimage_load(&g->m, k, NULL, NULL, many, 130, &g->boot, g->err, sizeof(g->err)),
	    -E2BIG);
	/* A map without RAM at 1 MiB. */
	assert_int_equal(
	    bzimage_load(&g->m, k, NULL, NULL, g->map, 3, &g->boot, g->err, sizeof(g->err)),
	    -EINVAL);
	assert_non_null(strstr(g->err, "no RAM at 1 MiB"));
	/* NULL err is allowed. */
	assert_int_equal(bzimage_load(&g->m, k, NULL, NULL, g->map, 0, &g->boot, NULL, 0), -EINVAL);
	guest_free(g);
}

/* The map claims RAM that gmem does not back: the loader fails cleanly and
 * writes nothing outside gmem's RAM. */
static void test_outside_gmem(void **state)
{
	struct guest *g = guest_new(64 * MIB);
	struct gmem high = { 0 };
	const char *k = make_image("gm", &synth_default);

	(void)state;
	assert_int_equal(gmem_add_region(&high, 0x100000, 64 * MIB - 0x100000, g->ram + 0x100000),
			 0);
	assert_int_equal(
	    bzimage_load(&high, k, NULL, NULL, g->map, g->nmap, &g->boot, g->err, sizeof(g->err)),
	    -EFAULT);
	assert_non_null(strstr(g->err, "not guest RAM"));
	/* 32 MiB of RAM but a map that says 64 MiB: the initrd lands at the
	 * top of the map, where gmem has nothing. */
	memset(&high, 0, sizeof(high));
	assert_int_equal(gmem_add_region(&high, 0, 32 * MIB, g->ram), 0);
	assert_int_equal(bzimage_load(&high, k, make_initrd("gm-initrd", 4096), NULL, g->map,
				      g->nmap, &g->boot, g->err, sizeof(g->err)),
			 -EFAULT);
	guest_free(g);
}

static const char *cached_kernel(char *buf, size_t len)
{
	const char *env = getenv("BHYVE_TEST_KERNEL");
	const char *cache = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (cache && *cache)
		snprintf(buf, len, "%s/bhyve-linux/kernel/vmlinuz", cache);
	else
		snprintf(buf, len, "%s/.cache/bhyve-linux/kernel/vmlinuz", home ? home : "");
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static void test_real_kernel(void **state)
{
	char path[512];
	const char *k = cached_kernel(path, sizeof(path));
	struct guest *g;
	uint8_t hdr[0x290];
	FILE *f;

	(void)state;
	if (!k)
		skip();
	f = fopen(k, "rb");
	assert_non_null(f);
	assert_int_equal(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));

	g = guest_new(256 * MIB);
	assert_int_equal(load(g, k, NULL, "console=ttyS0 panic=-1"), 0);
	assert_true(g->boot.protocol >= 0x020C);
	if (hdr[0x234])
		assert_int_equal(g->boot.kernel_gpa, get64(hdr, 0x258));
	assert_int_equal(g->boot.rip, g->boot.kernel_gpa + 0x200);
	/* The first bytes of the protected-mode part landed at the load address. */
	{
		uint8_t pm[64];
		size_t setup = ((size_t)(hdr[0x1F1] ? hdr[0x1F1] : 4) + 1) * 512;

		assert_int_equal(fseek(f, (long)setup, SEEK_SET), 0);
		assert_int_equal(fread(pm, 1, sizeof(pm), f), sizeof(pm));
		assert_memory_equal(g->ram + g->boot.kernel_gpa, pm, sizeof(pm));
	}
	check_zero_page(g, "console=ttyS0 panic=-1");
	check_tables(g);
	guest_free(g);
	fclose(f);

	/* Far too little memory for its init_size. */
	g = guest_new(24 * MIB);
	assert_int_equal(load(g, k, NULL, NULL), -ENOMEM);
	assert_non_null(strstr(g->err, "kernel needs"));
	guest_free(g);
}

/* build/guests/hello.bin, when built: the linker script makes a bzImage. */
static void test_guest_image(void **state)
{
	const char *path = "build/guests/hello.bin";
	struct guest *g;

	(void)state;
	if (access(path, R_OK) != 0)
		skip();
	g = guest_new(16 * MIB);
	assert_int_equal(load(g, path, NULL, NULL), 0);
	assert_int_equal(g->boot.kernel_gpa, 0x100000);
	assert_int_equal(g->boot.rip, 0x100200);
	assert_int_equal(g->boot.protocol, 0x020C);
	assert_int_equal(g->ram[g->boot.rip], 0xFA); /* cli */
	check_tables(g);
	guest_free(g);
}

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(tmpdir, sizeof(tmpdir), "%s/test_bzimage.XXXXXX",
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
		cmocka_unit_test(test_relocatable),
		cmocka_unit_test(test_not_relocatable),
		cmocka_unit_test(test_unaligned_pref_falls_back),
		cmocka_unit_test(test_initrd_addr_max),
		cmocka_unit_test(test_rejects_bad_headers),
		cmocka_unit_test(test_rejects_files),
		cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_bad_map),
		cmocka_unit_test(test_outside_gmem),
		cmocka_unit_test(test_real_kernel),
		cmocka_unit_test(test_guest_image),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
