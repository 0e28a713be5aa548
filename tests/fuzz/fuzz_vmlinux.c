/* libFuzzer target: the ELF64 vmlinux loader (src/firmware/vmlinux.c) on
 * hostile kernel files, initrds, command lines and e820 maps (SECURITY.md
 * "Host-side input": a kernel image is untrusted bytes too).
 *
 * Guest RAM is one region that is exactly a malloc'd buffer of 1-4 MiB at
 * gpa 0, so AddressSanitizer reports any write outside guest memory; the
 * e820 map may tell the truth, claim more RAM than exists, or be any list.
 *
 * The kernel file is either the input's bytes as they are, or (more often)
 * a valid three-segment vmlinux -- text, data with a .bss tail, a per-CPU
 * segment linked at 0 -- whose ELF and program headers are XORed with
 * input bytes, so the fuzzer starts past the magic checks.
 *
 * Invariants on success: every PT_LOAD segment of the file (read here by an
 * independent parser) holds its file bytes followed by zeros in guest RAM,
 * so nothing the loader wrote afterwards (initrd, command line, zero page,
 * GDT, page tables) landed on it; rip is inside one segment's file bytes;
 * the zero page says "HdrS" and points at the command line given; the
 * initrd lies above the kernel with the bytes given.  On failure: rc < 0
 * and a message, NUL-terminated within errlen. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "firmware/e820.h"
#include "firmware/layout.h"
#include "firmware/vmlinux.h"
#include "fuzz_input.h"
#include "gmem.h"
#include "le_test.h"

#define NSEG	  3
#define PH_END	  (64 + NSEG * 56)
#define DATA_OFF  0x200
#define FILE_MAX  0x3000

static int kfd = -1, ifd = -1;
static char kpath[64], ipath[64];

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

static void phdr(uint8_t *f, int n, uint64_t off, uint64_t vaddr, uint64_t paddr,
		 uint64_t filesz, uint64_t memsz)
{
	size_t p = 64 + (size_t)n * 56;

	put32(f, p, 1); /* PT_LOAD */
	put32(f, p + 4, 7);
	put64(f, p + 8, off);
	put64(f, p + 16, vaddr);
	put64(f, p + 24, paddr);
	put64(f, p + 32, filesz);
	put64(f, p + 40, memsz);
	put64(f, p + 48, 0x1000);
}

/* A vmlinux in miniature (gABI ELF64 layout), loaded from 1 MiB. */
static void template(uint8_t *f)
{
	memset(f, 0, PH_END);
	memcpy(f, "\177ELF\2\1\1", 7);
	put16(f, 16, 2);	/* ET_EXEC */
	put16(f, 18, 62);	/* EM_X86_64 */
	put32(f, 20, 1);
	put64(f, 24, 0x100000); /* physical startup_64 */
	put64(f, 32, 64);
	put16(f, 52, 64);
	put16(f, 54, 56);
	put16(f, 56, NSEG);
	phdr(f, 0, DATA_OFF, 0xFFFFFFFF80100000ULL, 0x100000, 0x800, 0x1000);
	phdr(f, 1, DATA_OFF + 0x800, 0xFFFFFFFF80101000ULL, 0x101000, 0x400, 0x3000);
	phdr(f, 2, DATA_OFF + 0xC00, 0, 0x104000, 0x100, 0x100);
}

static void put_file(int fd, const void *a, size_t an)
{
	if (ftruncate(fd, 0) < 0 || (an && pwrite(fd, a, an, 0) != (ssize_t)an))
		abort();
}

static int make_map(struct fz *f, uint8_t mode, uint64_t ram, struct e820_entry *map)
{
	int n, i;

	switch (mode % 4) {
	case 0: /* the truth */
		return e820_build(ram, 0, map, E820_MAX_ENTRIES);
	case 1: /* more low RAM than the guest has */
		return e820_build((uint64_t)(fz_u8(f) + 1) << 24, (uint64_t)fz_u8(f) << 30, map,
				  E820_MAX_ENTRIES);
	default: /* anything */
		n = fz_u8(f) % 9;
		for (i = 0; i < n; i++) {
			map[i].addr = (mode & 4) ? fz_u64(f) : (uint64_t)fz_u32(f);
			map[i].size = (mode & 8) ? fz_u64(f) : (uint64_t)fz_u32(f);
			map[i].type = fz_u8(f) % 6;
		}
		return n;
	}
}

/* What the runner writes below 1 MiB besides the kernel (layout.h). */
static int clear_of_fixed_areas(uint64_t start, uint64_t end)
{
	static const uint64_t r[][2] = {
		{ 0, 0x500 },
		{ LAYOUT_GDT_BASE, LAYOUT_ZERO_PAGE + 4096 },
		{ LAYOUT_PML4, LAYOUT_PD + LAYOUT_PD_COUNT * 4096 },
		{ LAYOUT_CMDLINE, LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX },
		{ LAYOUT_EBDA_BASE, LAYOUT_EBDA_BASE + LAYOUT_EBDA_SIZE },
		{ LAYOUT_ACPI_BASE, LAYOUT_BIOS_END },
	};
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (start < r[i][1] && r[i][0] < end)
			return 0;
	}
	return 1;
}

/* The file's PT_LOAD segments as the harness reads them, checked against
 * guest RAM; returns whether rip lies in one segment's file bytes. */
static int check_segments(const uint8_t *file, size_t len, const uint8_t *mem, uint64_t ram,
			  uint64_t rip)
{
	unsigned phnum = le16_get(file + 56), i;
	uint64_t phoff = le64_get(file + 32);
	int rip_ok = 0;

	FZ_CHECK(len >= 64 && phnum <= VMLINUX_MAX_PHDRS && phoff <= len &&
		 phnum * 56ULL <= len - phoff);
	for (i = 0; i < phnum; i++) {
		const uint8_t *p = file + phoff + i * 56ULL;
		uint64_t off = le64_get(p + 8), paddr = le64_get(p + 24);
		uint64_t filesz = le64_get(p + 32), memsz = le64_get(p + 40), j;

		if (le32_get(p) != 1 || memsz == 0)
			continue;
		FZ_CHECK(filesz <= memsz && off <= len && filesz <= len - off);
		FZ_CHECK(paddr <= ram && memsz <= ram - paddr);
		FZ_CHECK(clear_of_fixed_areas(paddr, paddr + memsz));
		FZ_CHECK(memcmp(mem + paddr, file + off, filesz) == 0);
		for (j = filesz; j < memsz; j++)
			FZ_CHECK(mem[paddr + j] == 0);
		rip_ok |= rip >= paddr && rip - paddr < filesz;
	}
	return rip_ok;
}

static void check_boot(const struct bzimage_boot *b, const uint8_t *mem, uint64_t ram,
		       const char *cmdline, const uint8_t *init, size_t ninit, int with_initrd)
{
	const uint8_t *bp = mem + LAYOUT_ZERO_PAGE;

	FZ_CHECK(b->rsi == LAYOUT_ZERO_PAGE && b->cr3 == LAYOUT_PML4);
	FZ_CHECK(le32_get(bp + 0x202) == 0x53726448 && le16_get(bp + 0x1FE) == 0xAA55);
	FZ_CHECK(bp[0x210] == 0xFF);
	FZ_CHECK(le32_get(bp + 0x228) == LAYOUT_CMDLINE);
	FZ_CHECK(strcmp((const char *)mem + LAYOUT_CMDLINE, cmdline ? cmdline : "") == 0);
	FZ_CHECK(b->kernel_gpa <= ram && b->kernel_size <= ram - b->kernel_gpa);
	if (with_initrd) {
		FZ_CHECK(b->initrd_size == ninit);
		FZ_CHECK(b->initrd_gpa <= ram && ninit <= ram - b->initrd_gpa);
		FZ_CHECK(b->initrd_gpa >= b->kernel_gpa + b->kernel_size);
		FZ_CHECK(memcmp(mem + b->initrd_gpa, init, ninit) == 0);
	} else {
		FZ_CHECK(b->initrd_size == 0 && le32_get(bp + 0x21C) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t file[FILE_MAX];
	struct e820_entry map[E820_MAX_ENTRIES];
	struct fz f = { data, size };
	struct bzimage_boot boot;
	struct gmem m = { 0 };
	uint8_t flags = fz_u8(&f), mode = fz_u8(&f);
	uint64_t ram = (uint64_t)(fz_u8(&f) % 13 + 4) << 18; /* 1-4 MiB */
	const uint8_t *x, *body, *init, *cl;
	size_t nx, nbody, ninit, ncl, len, cut, i;
	char cmdline[4096], err[96];
	uint8_t *mem;
	int nmap, rc;

	if (kfd < 0) {
		kfd = memfd_create("fuzz-vmlinux", 0);
		ifd = memfd_create("fuzz-initrd", 0);
		if (kfd < 0 || ifd < 0)
			abort();
		snprintf(kpath, sizeof(kpath), "/proc/self/fd/%d", kfd);
		snprintf(ipath, sizeof(ipath), "/proc/self/fd/%d", ifd);
	}
	nmap = make_map(&f, mode, ram, map);
	if (nmap < 0)
		return 0;
	ncl = fz_take(&f, fz_u16(&f) % 3000, &cl);
	memcpy(cmdline, cl, ncl);
	cmdline[ncl] = 0;
	ninit = fz_take(&f, fz_u16(&f) % 0x8000, &init);
	if (flags & 1) { /* the rest of the input is the file */
		len = fz_take(&f, FILE_MAX, &body);
		memcpy(file, body, len);
	} else {
		template(file);
		nx = fz_take(&f, fz_u8(&f), &x);
		for (i = 0; i < nx; i++) /* the patch covers the ELF and program headers */
			file[i % PH_END] ^= x[i];
		len = DATA_OFF + 0xD00;
		cut = fz_u16(&f) % len;
		if (flags & 2) /* cut short */
			len -= cut;
		memset(file + PH_END, 0, FILE_MAX - PH_END);
		nbody = fz_take(&f, FILE_MAX - DATA_OFF, &body);
		memcpy(file + DATA_OFF, body, nbody);
	}
	put_file(kfd, file, len);
	put_file(ifd, init, ninit);

	mem = calloc(1, ram);
	if (!mem || gmem_add_region(&m, 0, ram, mem))
		abort();
	memset(&boot, 0x5a, sizeof(boot));
	memset(err, 'x', sizeof(err));
	rc = vmlinux_load(&m, kpath, (flags & 8) ? ipath : NULL, (flags & 16) ? cmdline : NULL,
			  map, nmap, &boot, err, sizeof(err));
	FZ_CHECK(memchr(err, 0, sizeof(err)) != NULL);
	if (getenv("FUZZ_VERBOSE")) /* to see what a seed reaches */
		fprintf(stderr, "vmlinux_load: %d %s\n", rc, rc ? err : "");
	if (rc == 0) {
		FZ_CHECK(check_segments(file, len, mem, ram, boot.rip));
		check_boot(&boot, mem, ram, (flags & 16) ? cmdline : NULL, init, ninit,
			   (flags & 8) != 0);
	} else {
		FZ_CHECK(rc < 0 && err[0] != 0);
	}
	free(mem);
	return 0;
}
