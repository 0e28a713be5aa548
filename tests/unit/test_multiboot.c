/* Unit tests for src/firmware/multiboot.c (Multiboot Specification 0.6.96)
 * against synthetic ELF32, ELF64 and address-field ("a.out kludge") images,
 * and the Multiboot test guests when they are built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/e820.h"
#include "firmware/multiboot.h"
#include "gmem.h"
#include "le.h"

#define MIB	     (1ULL << 20)
#define RAM_SIZE     (16 * MIB)
#define GUARD	     (64u << 10)
#define GUARD_BYTE   0xA5
#define FILL_BYTE    0xCC
#define SEG_FILE_OFF 0x400

/* Guest RAM [0, RAM_SIZE) between two guard zones that must stay
 * untouched, pre-filled so that zeroing (bss) shows. */
struct guest {
	uint8_t *buf;
	uint8_t *ram;
	struct gmem m;
	struct e820_entry map[E820_MAX_ENTRIES];
	int nmap;
	char err[256];
	struct multiboot_boot boot;
};

struct seg {
	uint64_t vaddr, paddr, filesz, memsz;
};

/* What goes into a synthetic ELF image. */
struct synth {
	int cls; /* 32 or 64 */
	uint32_t magic;
	uint32_t flags;
	int32_t sum_delta; /* added to the correct checksum */
	uint64_t hdr_off;  /* file offset of the Multiboot header */
	uint64_t entry;
	int nseg;
	struct seg seg[4];
	uint64_t cut; /* bytes removed from the end */
};

static char path[64];

static struct synth synth_default(void)
{
	struct synth s = {
		.cls = 32,
		.magic = MULTIBOOT_HEADER_MAGIC,
		.flags = MULTIBOOT_HDR_MEMORY_INFO,
		.hdr_off = SEG_FILE_OFF,
		.entry = 0x100020,
		.nseg = 2,
		.seg = { { 0x100000, 0x100000, 0x3000, 0x3000 },
			 { 0x104000, 0x104000, 0x100, 0x2000 } },
	};
	return s;
}

/* Segment data: byte i of segment k is (k * 37 + i) & 0xFF, so misplaced
 * copies show. */
static uint8_t seg_byte(int k, uint64_t i)
{
	return (uint8_t)(k * 37 + i);
}

static size_t synth_size(const struct synth *s)
{
	uint64_t off = SEG_FILE_OFF, end = SEG_FILE_OFF;
	int k;

	for (k = 0; k < s->nseg; k++) {
		end = off + s->seg[k].filesz;
		off = end;
	}
	if (s->hdr_off + 12 > end)
		end = s->hdr_off + 12;
	return (size_t)end;
}

static void write_file(const uint8_t *img, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put_header(uint8_t *img, uint64_t off, uint32_t magic, uint32_t flags,
		       int32_t sum_delta)
{
	le32_put(img + off, magic);
	le32_put(img + off + 4, flags);
	le32_put(img + off + 8, (uint32_t)(0u - magic - flags) + (uint32_t)sum_delta);
}

/* ELF header, program headers at 64, segment data from SEG_FILE_OFF one
 * after the other, the Multiboot header written over it at hdr_off. */
static void synth_write(const struct synth *s)
{
	size_t len = synth_size(s);
	uint8_t *img = calloc(1, len);
	uint64_t off = SEG_FILE_OFF;
	int k;

	assert_non_null(img);
	for (k = 0; k < s->nseg; k++) {
		uint64_t i;

		for (i = 0; i < s->seg[k].filesz; i++)
			img[off + i] = seg_byte(k, i);
		if (s->cls == 32) {
			Elf32_Phdr p = { .p_type = PT_LOAD,
					 .p_offset = (Elf32_Off)off,
					 .p_vaddr = (Elf32_Addr)s->seg[k].vaddr,
					 .p_paddr = (Elf32_Addr)s->seg[k].paddr,
					 .p_filesz = (Elf32_Word)s->seg[k].filesz,
					 .p_memsz = (Elf32_Word)s->seg[k].memsz,
					 .p_flags = PF_R };
			memcpy(img + 64 + k * sizeof(p), &p, sizeof(p));
		} else {
			Elf64_Phdr p = { .p_type = PT_LOAD,
					 .p_offset = off,
					 .p_vaddr = s->seg[k].vaddr,
					 .p_paddr = s->seg[k].paddr,
					 .p_filesz = s->seg[k].filesz,
					 .p_memsz = s->seg[k].memsz,
					 .p_flags = PF_R };
			memcpy(img + 64 + k * sizeof(p), &p, sizeof(p));
		}
		off += s->seg[k].filesz;
	}
	if (s->cls == 32) {
		Elf32_Ehdr e = { .e_type = ET_EXEC,
				 .e_machine = EM_386,
				 .e_version = EV_CURRENT,
				 .e_entry = (Elf32_Addr)s->entry,
				 .e_phoff = 64,
				 .e_ehsize = sizeof(e),
				 .e_phentsize = sizeof(Elf32_Phdr),
				 .e_phnum = (Elf32_Half)s->nseg };
		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS32;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(img, &e, sizeof(e));
	} else {
		Elf64_Ehdr e = { .e_type = ET_EXEC,
				 .e_machine = EM_X86_64,
				 .e_version = EV_CURRENT,
				 .e_entry = s->entry,
				 .e_phoff = 64,
				 .e_ehsize = sizeof(e),
				 .e_phentsize = sizeof(Elf64_Phdr),
				 .e_phnum = (Elf64_Half)s->nseg };
		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS64;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(img, &e, sizeof(e));
	}
	put_header(img, s->hdr_off, s->magic, s->flags, s->sum_delta);
	write_file(img, len - (size_t)s->cut);
	free(img);
}

static int setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));
	int fd;

	assert_non_null(g);
	g->buf = malloc(RAM_SIZE + 2 * GUARD);
	assert_non_null(g->buf);
	memset(g->buf, GUARD_BYTE, GUARD);
	memset(g->buf + GUARD + RAM_SIZE, GUARD_BYTE, GUARD);
	g->ram = g->buf + GUARD;
	memset(g->ram, FILL_BYTE, RAM_SIZE);
	assert_int_equal(gmem_add_region(&g->m, 0, RAM_SIZE, g->ram), 0);
	g->nmap = e820_build(RAM_SIZE, 0, g->map, E820_MAX_ENTRIES);
	assert_true(g->nmap > 0);
	snprintf(path, sizeof(path), "/tmp/test_multiboot.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct guest *g = *state;

	unlink(path);
	free(g->buf);
	free(g);
	return 0;
}

static void assert_guards(const struct guest *g)
{
	size_t i;

	for (i = 0; i < GUARD; i++) {
		assert_int_equal(g->buf[i], GUARD_BYTE);
		assert_int_equal(g->buf[GUARD + RAM_SIZE + i], GUARD_BYTE);
	}
}

static int load(struct guest *g, const char *cmdline)
{
	return multiboot_load(&g->m, path, cmdline, g->map, g->nmap, &g->boot, g->err,
			      sizeof(g->err));
}

static void assert_segment(const struct guest *g, int k, const struct seg *s)
{
	uint64_t i;

	for (i = 0; i < s->filesz; i++) {
		/* The Multiboot header was written over segment 0's data. */
		if (k == 0 && i < 12)
			continue;
		assert_int_equal(g->ram[s->paddr + i], seg_byte(k, i));
	}
	for (; i < s->memsz; i++)
		assert_int_equal(g->ram[s->paddr + i], 0);
}

static void assert_no_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	assert_true(a + alen <= b || b + blen <= a);
}

static void test_probe(void **state)
{
	struct synth s = synth_default();

	(void)state;
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 1);
	s.magic = 0x1BADB003;
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 0);
	s = synth_default();
	s.sum_delta = 1;
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 0);
	/* Not 32-bit aligned. */
	s = synth_default();
	s.hdr_off = SEG_FILE_OFF + 2;
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 0);
	assert_int_equal(multiboot_probe("/nonexistent/kernel"), -ENOENT);
}

static void test_elf32_good(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();
	const uint8_t *info, *e;
	uint64_t gdt0, gdt1, gdt2;
	int i;

	synth_write(&s);
	assert_int_equal(load(g, "console=bvm -v"), 0);
	assert_string_equal(g->err, "");
	assert_segment(g, 0, &s.seg[0]);
	assert_segment(g, 1, &s.seg[1]);
	assert_guards(g);
	/* §3.2 machine state. */
	assert_int_equal(g->boot.eip, 0x100020);
	assert_int_equal(g->boot.eax, 0x2BADB002);
	assert_int_equal(g->boot.ebx, g->boot.info_gpa);
	assert_int_equal(g->boot.eflags & ((1u << 9) | (1u << 17)), 0);
	assert_int_equal(g->boot.cr0 & 1, 1);
	assert_int_equal(g->boot.cr0 & (1ull << 31), 0);
	assert_int_equal(g->boot.cs.base, 0);
	assert_int_equal(g->boot.cs.limit, 0xFFFFFFFF);
	assert_int_equal(g->boot.cs.type & 0xA, 0xA); /* code, readable */
	assert_int_equal(g->boot.cs.db, 1);
	assert_int_equal(g->boot.cs.l, 0);
	assert_int_equal(g->boot.ds.base, 0);
	assert_int_equal(g->boot.ds.limit, 0xFFFFFFFF);
	assert_int_equal(g->boot.ds.type & 0xA, 0x2); /* data, writable */
	assert_int_equal(g->boot.ds.db, 1);
	assert_int_equal(g->boot.elf_class, 32);
	assert_int_equal(g->boot.load_start, 0x100000);
	assert_int_equal(g->boot.load_end, 0x106000);
	/* The information structure (§3.3), in low RAM, clear of the image. */
	assert_true(g->boot.info_gpa >= 0x1000);
	assert_true(g->boot.info_gpa + g->boot.info_size <= 0x9FC00);
	assert_no_overlap(g->boot.info_gpa, g->boot.info_size, 0x100000, 0x6000);
	info = g->ram + g->boot.info_gpa;
	assert_int_equal(le32_get(info), 0x1 | 0x4 | 0x40 | 0x200);
	assert_int_equal(le32_get(info + 4), 639);
	assert_int_equal(le32_get(info + 8), (RAM_SIZE - MIB) >> 10);
	assert_string_equal((const char *)g->ram + le32_get(info + 16), "console=bvm -v");
	assert_int_equal(le32_get(info + 16), g->boot.cmdline_gpa);
	assert_string_equal((const char *)g->ram + le32_get(info + 64), "bhyve");
	assert_int_equal(le32_get(info + 44), g->nmap * 24);
	assert_int_equal(le32_get(info + 48), g->boot.mmap_gpa);
	e = g->ram + le32_get(info + 48);
	for (i = 0; i < g->nmap; i++, e += le32_get(e) + 4) {
		assert_int_equal(le32_get(e), 20);
		assert_int_equal(le64_get(e + 4), g->map[i].addr);
		assert_int_equal(le64_get(e + 12), g->map[i].size);
		assert_int_equal(le32_get(e + 20), g->map[i].type == E820_RAM ? 1 : 2);
	}
	/* The courtesy GDT matches the segments. */
	assert_int_equal(g->boot.gdt_limit, 23);
	memcpy(&gdt0, g->ram + g->boot.gdt_base, 8);
	memcpy(&gdt1, g->ram + g->boot.gdt_base + 8, 8);
	memcpy(&gdt2, g->ram + g->boot.gdt_base + 16, 8);
	assert_int_equal(gdt0, 0);
	assert_int_equal(gdt1, 0x00CF9B000000FFFFull);
	assert_int_equal(gdt2, 0x00CF93000000FFFFull);
	assert_int_equal(g->boot.cs.selector, 0x08);
	assert_int_equal(g->boot.ds.selector, 0x10);
}

static void test_no_cmdline(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();
	const uint8_t *info;

	synth_write(&s);
	assert_int_equal(load(g, NULL), 0);
	info = g->ram + g->boot.info_gpa;
	assert_int_equal(le32_get(info) & 0x4, 0);
	assert_int_equal(le32_get(info + 16), 0);
}

/* ELF64, linked high: e_entry is virtual and is translated through the
 * segment that holds it. */
static void test_elf64_high_entry(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	s.cls = 64;
	s.seg[0].vaddr = 0xFFFFFFFF80100000ull;
	s.seg[1].vaddr = 0xFFFFFFFF80104000ull;
	s.entry = 0xFFFFFFFF80100040ull;
	synth_write(&s);
	assert_int_equal(load(g, ""), 0);
	assert_int_equal(g->boot.eip, 0x100040);
	assert_int_equal(g->boot.elf_class, 64);
	assert_segment(g, 0, &s.seg[0]);
	assert_segment(g, 1, &s.seg[1]);
	assert_guards(g);
}

static void test_bad_magic_or_checksum(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	s.sum_delta = -1;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	assert_non_null(strstr(g->err, "no Multiboot header"));
	s = synth_default();
	s.magic = 0xE85250D6; /* Multiboot 2: not this loader's */
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	assert_guards(g);
}

static void test_header_beyond_8k(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	s.seg[0].filesz = s.seg[0].memsz = 0x3000;
	s.hdr_off = SEG_FILE_OFF + 0x2000; /* 0x2400: past the first 8192 bytes */
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 0);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	/* The last word that still counts: offset 8188 holds the magic, but
	 * flags and checksum lie beyond: not a header either. */
	s.hdr_off = 8188;
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 0);
	s.hdr_off = 8180;
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 1);
}

static void test_segment_outside_ram(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	s.seg[1].paddr = RAM_SIZE - 0x100;
	s.seg[1].vaddr = s.seg[1].paddr;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ERANGE);
	assert_non_null(strstr(g->err, "does not fit in guest RAM"));
	assert_guards(g);
	/* In the 32-bit address space but where there is no RAM. */
	s.seg[1].paddr = 0xD0000000;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ERANGE);
	/* ELF64 segment above 4 GiB, and one that wraps. */
	s = synth_default();
	s.cls = 64;
	s.seg[1].paddr = 0x100000000ull;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ERANGE);
	s.seg[1].paddr = 0xFFFFFFFFFFFFF000ull;
	s.seg[1].memsz = 0x2000;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ERANGE);
	assert_guards(g);
}

static void test_truncated(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	s.cut = 0x80; /* the end of segment 1's file bytes */
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 1);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	assert_non_null(strstr(g->err, "truncated"));
	/* Cut inside the program header table. */
	s.cut = synth_size(&s) - 70;
	synth_write(&s);
	assert_int_equal(multiboot_probe(path), 0);
	assert_guards(g);
}

static void test_bad_elf(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	/* filesz > memsz */
	s.seg[1].filesz = 0x3000;
	s.seg[1].memsz = 0x100;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	/* The entry point outside every segment. */
	s = synth_default();
	s.entry = 0x200000;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	assert_non_null(strstr(g->err, "entry point"));
	/* No segment at all. */
	s = synth_default();
	s.nseg = 0;
	s.hdr_off = 0x100;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	assert_guards(g);
}

static void test_unsupported_flags(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	s.flags |= MULTIBOOT_HDR_VIDEO_MODE;
	synth_write(&s);
	assert_int_equal(load(g, NULL), -ENOTSUP);
	/* Bits 16-31 are optional: an unknown one is ignored. */
	s.flags = MULTIBOOT_HDR_MEMORY_INFO | (1u << 20);
	synth_write(&s);
	assert_int_equal(load(g, NULL), 0);
}

/* Flag 16: the header's address fields place a flat binary. */
static void test_aout_kludge(void **state)
{
	struct guest *g = *state;
	uint8_t img[0x200];
	uint32_t flags = MULTIBOOT_HDR_MEMORY_INFO | MULTIBOOT_HDR_AOUT_KLUDGE;
	size_t i;

	for (i = 0; i < sizeof(img); i++)
		img[i] = seg_byte(3, i);
	put_header(img, 0x40, MULTIBOOT_HEADER_MAGIC, flags, 0);
	le32_put(img + 0x4C, 0x200040); /* header_addr */
	le32_put(img + 0x50, 0x200000); /* load_addr */
	le32_put(img + 0x54, 0);	/* load_end_addr: the whole file */
	le32_put(img + 0x58, 0x203000); /* bss_end_addr */
	le32_put(img + 0x5C, 0x200080); /* entry_addr */
	write_file(img, sizeof(img));
	assert_int_equal(load(g, NULL), 0);
	assert_int_equal(g->boot.eip, 0x200080);
	assert_int_equal(g->boot.elf_class, 0);
	assert_memory_equal(g->ram + 0x200000, img, sizeof(img));
	for (i = sizeof(img); i < 0x3000; i++)
		assert_int_equal(g->ram[0x200000 + i], 0);
	assert_int_equal(g->ram[0x203000], FILL_BYTE);
	/* load_addr after header_addr: the image would start before the file. */
	le32_put(img + 0x50, 0x100000);
	write_file(img, sizeof(img));
	assert_int_equal(load(g, NULL), -ENOEXEC);
	/* load_end_addr past the end of the file. */
	le32_put(img + 0x50, 0x200000);
	le32_put(img + 0x54, 0x201000);
	write_file(img, sizeof(img));
	assert_int_equal(load(g, NULL), -ENOEXEC);
	/* Address fields cut off by the end of the file. */
	write_file(img, 0x50);
	assert_int_equal(load(g, NULL), -ENOEXEC);
	assert_guards(g);
}

/* An image filling conventional memory from 0x1000 pushes the information
 * structure past it. */
static void test_info_avoids_image(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();

	s.seg[1].paddr = s.seg[1].vaddr = 0x1000;
	s.seg[1].filesz = 0x100;
	s.seg[1].memsz = 0x9E000;
	synth_write(&s);
	assert_int_equal(load(g, "x"), 0);
	assert_no_overlap(g->boot.info_gpa, g->boot.info_size, 0x1000, 0x9E000);
	assert_no_overlap(g->boot.info_gpa, g->boot.info_size, 0x100000, 0x3000);
	assert_int_equal(g->boot.load_start, 0x1000);
	/* Image over all of conventional memory: the info goes above 1 MiB. */
	s.seg[1].memsz = 0x9EC00;
	synth_write(&s);
	assert_int_equal(load(g, "x"), 0);
	assert_true(g->boot.info_gpa >= 0x103000);
	assert_guards(g);
}

static void test_cmdline_too_long(void **state)
{
	struct guest *g = *state;
	struct synth s = synth_default();
	char *big = malloc(0x10001);

	assert_non_null(big);
	memset(big, 'a', 0x10000);
	big[0x10000] = '\0';
	synth_write(&s);
	assert_int_equal(load(g, big), -E2BIG);
	big[0xFFFF] = '\0';
	assert_int_equal(load(g, big), 0);
	assert_int_equal(strlen((const char *)g->ram + g->boot.cmdline_gpa), 0xFFFF);
	free(big);
}

/* The test guests, when `make guests` has built them. */
static void test_guest_image(void **state)
{
	struct guest *g = *state;
	const char *elf = "build/guests/mb/reset.elf";

	if (access(elf, R_OK) != 0)
		skip();
	assert_int_equal(multiboot_probe(elf), 1);
	assert_int_equal(
	    multiboot_load(&g->m, elf, "1", g->map, g->nmap, &g->boot, g->err, sizeof(g->err)), 0);
	assert_int_equal(g->boot.load_start, 0x100000);
	assert_true(g->boot.eip >= 0x100000 && g->boot.eip < g->boot.load_end);
	assert_int_equal(le32_get(g->ram + 0x100000), MULTIBOOT_HEADER_MAGIC);
	assert_int_equal(multiboot_probe("build/guests/hello.bin"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf32_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf64_high_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic_or_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_beyond_8k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segment_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aout_kludge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_avoids_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_image, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
