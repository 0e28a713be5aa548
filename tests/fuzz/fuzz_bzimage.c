/* libFuzzer target: the Linux bzImage loader (src/firmware/bzimage.c) on
 * hostile kernel files, initrds, command lines and e820 maps (SECURITY.md
 * "Host-side input": a kernel image is untrusted bytes too).
 *
 * Guest RAM is one region that is exactly a malloc'd buffer of 1-4 MiB at
 * gpa 0, so AddressSanitizer reports any write outside guest memory; the
 * e820 map handed to the loader may claim much more RAM than exists, or be
 * any list of entries, as a confused caller would pass.
 *
 * The kernel file is a valid 64-bit-capable setup header (protocol 2.15)
 * XORed with input bytes, then a protected-mode body from the input, so the
 * fuzzer starts past the magic checks.  Invariants on success: the kernel,
 * initrd, command line, boot_params, GDT and page tables all lie in guest
 * RAM; rip is kernel + 0x200; the command line in RAM is the one given.
 * On failure: a message was written, NUL-terminated within errlen. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "firmware/bzimage.h"
#include "firmware/e820.h"
#include "firmware/layout.h"
#include "fuzz_input.h"
#include "gmem.h"

#define SETUP_SECTS 1
#define SETUP_SIZE  ((SETUP_SECTS + 1) * 512)
#define HDR_FROM    0x1f1
#define HDR_TO	    0x290

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

/* A setup header a 64-bit kernel would have (boot.rst field offsets). */
static void template(uint8_t *h, size_t body)
{
	memset(h, 0, SETUP_SIZE);
	h[0x1f1] = SETUP_SECTS;
	put32(h, 0x1f4, (uint32_t)((body + 15) / 16)); /* syssize */
	put16(h, 0x1fe, 0xaa55);
	h[0x200] = 0xeb;
	h[0x201] = 0x66; /* header ends at 0x268 */
	put32(h, 0x202, 0x53726448);
	put16(h, 0x206, 0x020f);
	h[0x211] = 0x01;		   /* LOADED_HIGH */
	put32(h, 0x22c, 0x7fffffff);	   /* initrd_addr_max */
	put32(h, 0x230, 0x200000);	   /* kernel_alignment */
	h[0x234] = 1;			   /* relocatable */
	put16(h, 0x236, 0x0001);	   /* XLF_KERNEL_64 */
	put32(h, 0x238, 0x7ff);		   /* cmdline_size */
	put32(h, 0x258, 0x100000);	   /* pref_address */
	put32(h, 0x260, (uint32_t)body);   /* init_size */
}

static void put_file(int fd, const void *a, size_t an, const void *b, size_t bn)
{
	if (ftruncate(fd, 0) < 0 || pwrite(fd, a, an, 0) != (ssize_t)an ||
	    (bn && pwrite(fd, b, bn, (off_t)an) != (ssize_t)bn))
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

static void check_in_ram(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	FZ_CHECK(gmem_ptr(m, gpa, len) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t hdr[SETUP_SIZE];
	struct e820_entry map[E820_MAX_ENTRIES];
	struct fz f = { data, size };
	struct bzimage_boot boot;
	struct gmem m = { 0 };
	uint8_t flags = fz_u8(&f), mode = fz_u8(&f);
	uint64_t ram = (uint64_t)(fz_u8(&f) % 13 + 4) << 18; /* 1-4 MiB */
	const uint8_t *x, *body, *init;
	size_t nx, nbody, ninit, i;
	char cmdline[4096], err[96];
	const uint8_t *cl;
	size_t ncl;
	uint8_t *mem;
	int nmap, rc;

	if (kfd < 0) {
		kfd = memfd_create("fuzz-kernel", 0);
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
	ninit = fz_take(&f, fz_u16(&f), &init);
	nx = fz_take(&f, fz_u8(&f), &x);
	nbody = fz_take(&f, (size_t)fz_u16(&f) << (flags >> 6), &body);
	template(hdr, nbody);
	for (i = 0; i < nx; i++) /* the patch covers the setup header */
		hdr[HDR_FROM + i % (HDR_TO - HDR_FROM)] ^= x[i];
	put_file(kfd, hdr, (flags & 4) ? (size_t)(HDR_TO - (flags & 3)) : sizeof(hdr), body,
		 (flags & 4) ? 0 : nbody);
	put_file(ifd, init, ninit, NULL, 0);

	mem = malloc(ram);
	if (!mem || gmem_add_region(&m, 0, ram, mem))
		abort();
	memset(&boot, 0x5a, sizeof(boot));
	memset(err, 'x', sizeof(err));
	rc = bzimage_load(&m, kpath, (flags & 8) ? ipath : NULL, (flags & 16) ? cmdline : NULL,
			  map, nmap, &boot, err, sizeof(err));
	FZ_CHECK(memchr(err, 0, sizeof(err)) != NULL);
	if (getenv("FUZZ_VERBOSE")) /* to see what a seed reaches */
		fprintf(stderr, "bzimage_load: %d %s\n", rc, rc ? err : "");
	if (rc == 0) {
		check_in_ram(&m, boot.kernel_gpa, boot.kernel_size);
		FZ_CHECK(boot.kernel_gpa >= LAYOUT_KERNEL_LOW);
		FZ_CHECK(boot.rip == boot.kernel_gpa + 0x200);
		FZ_CHECK(boot.rsi == LAYOUT_ZERO_PAGE);
		check_in_ram(&m, LAYOUT_ZERO_PAGE, 4096);
		check_in_ram(&m, boot.gdt_base, (uint64_t)boot.gdt_limit + 1);
		check_in_ram(&m, boot.cr3, 4096);
		check_in_ram(&m, boot.cmdline_gpa, 1);
		if (flags & 8) {
			FZ_CHECK(boot.initrd_size == ninit);
			check_in_ram(&m, boot.initrd_gpa, boot.initrd_size);
			FZ_CHECK(boot.initrd_gpa >= boot.kernel_gpa + boot.kernel_size);
			FZ_CHECK(memcmp(mem + boot.initrd_gpa, init, ninit) == 0);
		}
		FZ_CHECK(strcmp((char *)mem + boot.cmdline_gpa,
				(flags & 16) ? cmdline : "") == 0);
	} else {
		FZ_CHECK(rc < 0 && err[0] != 0);
	}
	free(mem);
	return 0;
}
