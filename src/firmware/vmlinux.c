/* Uncompressed Linux kernel (vmlinux, ELF64) loader.
 *
 * The ELF layout is the System V ABI's (gABI "ELF Header" and "Program
 * Header"; x86-64 psABI for EM_X86_64).  Linux links vmlinux with the
 * kernel's virtual addresses in p_vaddr and its load addresses in p_paddr
 * (arch/x86/kernel/vmlinux.lds.S: AT() on every output section), so the
 * physical addresses are the ones to load at; the per-CPU segment even has
 * p_vaddr 0.  Its entry point is startup_64 as a physical address
 * (ENTRY(phys_startup_64)), which arch/x86/kernel/head_64.S documents as
 * the place a 64-bit boot loader may jump to: 64-bit mode, an identity map
 * covering the kernel, RSI the physical address of boot_params -- the same
 * state as the bzImage's 64-bit entry (boot.rst, "64-bit Boot Protocol"),
 * so everything after the segments is bzimage_boot64().
 *
 * Every value in the file is untrusted (SECURITY.md, "Host-side input"):
 * all segments are checked before the first byte is written. */
#include "firmware/vmlinux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/layout.h"
#include "le.h"

/* ELF64 header (gABI, "ELF Header"). */
#define EHDR_SIZE   64
#define EI_CLASS    4
#define EI_DATA	    5
#define EI_VERSION  6
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define EV_CURRENT  1
#define E_TYPE	    16
#define E_MACHINE   18
#define E_ENTRY	    24
#define E_PHOFF	    32
#define E_EHSIZE    52
#define E_PHENTSIZE 54
#define E_PHNUM	    56
#define ET_EXEC	    2
#define EM_X86_64   62
#define PN_XNUM	    0xFFFF /* real count elsewhere: never a kernel */

/* ELF64 program header (gABI, "Program Header"). */
#define PHDR_SIZE 56
#define P_TYPE	  0
#define P_OFFSET  8
#define P_VADDR	  16
#define P_PADDR	  24
#define P_FILESZ  32
#define P_MEMSZ	  40
#define PT_LOAD	  1

/* The setup header fields a kernel without one is given (boot.rst, "The
 * Real-Mode Kernel Header", offsets in boot_params). */
#define HDR_BOOT_FLAG	     0x1FE
#define HDR_JUMP	     0x200
#define HDR_MAGIC	     0x202
#define HDR_VERSION	     0x206
#define HDR_LOADFLAGS	     0x211
#define HDR_INITRD_ADDR_MAX  0x22C
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_XLOADFLAGS	     0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE	     0x260
/* Protocol 2.12 (the first with a 64-bit entry and xloadflags) ends its
 * header at 0x268: the jump at 0x200 is "EB 66". */
#define HDR_END_2_12  0x268
#define PROTO_2_12    0x020C
#define BOOT_FLAG     0xAA55
#define HDRS_MAGIC    0x53726448 /* "HdrS" */
#define LOADED_HIGH   0x01
#define XLF_KERNEL_64 0x0001
/* A 64-bit kernel takes an initrd anywhere below 2 GiB (boot.rst,
 * initrd_addr_max); its command line buffer is COMMAND_LINE_SIZE, 2048
 * bytes on x86, NUL included (boot.rst, cmdline_size). */
#define INITRD_ADDR_MAX 0x7FFFFFFFU
#define CMDLINE_SIZE	2047U
/* CONFIG_PHYSICAL_ALIGN's default on x86-64 (the segments' p_align). */
#define KERNEL_ALIGNMENT 0x200000U

#define PAGE_SIZE     4096ULL
#define IDENT_MAP_END (1ULL << 32) /* what bzimage_boot64 maps */

struct segment {
	int index; /* program header number, for messages */
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct elf_image {
	uint64_t file_size;
	uint64_t entry; /* e_entry as found in the file */
	uint64_t phoff;
	unsigned phnum;
	struct segment seg[VMLINUX_MAX_PHDRS];
	int nseg; /* PT_LOAD segments with memsz > 0 */
};

struct loader {
	const struct gmem *m;
	const char *path;
	const struct e820_entry *map;
	int nmap;
	char *err;
	size_t errlen;
};

/* What the runner itself puts in low RAM (firmware/layout.h): a segment
 * there would be overwritten by, or overwrite, the loader and the tables. */
static const struct {
	uint64_t start, end;
	const char *what;
} reserved[] = {
	{ 0, 0x500, "the real-mode IVT and BIOS data area" },
	{ LAYOUT_GDT_BASE, LAYOUT_ZERO_PAGE, "the GDT" },
	{ LAYOUT_ZERO_PAGE, LAYOUT_ZERO_PAGE + PAGE_SIZE, "the zero page" },
	{ LAYOUT_PML4, LAYOUT_PD + LAYOUT_PD_COUNT *PAGE_SIZE, "the page tables" },
	{ LAYOUT_CMDLINE, LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX, "the command line" },
	{ LAYOUT_EBDA_BASE, LAYOUT_EBDA_BASE + LAYOUT_EBDA_SIZE, "the EBDA" },
	{ LAYOUT_ACPI_BASE, LAYOUT_ACPI_BASE + LAYOUT_ACPI_SIZE, "the ACPI tables" },
	{ LAYOUT_BIOS_BASE, LAYOUT_BIOS_END, "the MP table and SMBIOS area" },
};

__attribute__((format(printf, 3, 4))) static int fail(const struct loader *ld, int rc,
						      const char *fmt, ...)
{
	va_list ap;

	if (ld->err && ld->errlen) {
		va_start(ap, fmt);
		vsnprintf(ld->err, ld->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Read exactly len bytes at off; 0, -errno, or -EIO on a short file. */
static int read_at(int fd, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* O_NONBLOCK: a FIFO given by mistake must not hang start-up. */
static int open_kernel(const struct loader *ld, uint64_t *size)
{
	struct stat st;
	int fd, rc;

	fd = open(ld->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		return fail(ld, rc, "cannot read %s: %s", ld->path, strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return fail(ld, rc, "cannot read %s: %s", ld->path, strerror(-rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(ld, -EINVAL, "cannot read %s: not a regular file", ld->path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int vmlinux_probe(const char *path)
{
	uint8_t magic[4];
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	rc = read_at(fd, 0, magic, sizeof(magic));
	close(fd);
	if (rc == -EIO)
		return 0; /* shorter than the magic */
	if (rc < 0)
		return rc;
	return memcmp(magic, "\177ELF", 4) == 0;
}

/* gABI "ELF Identification" and "ELF Header": a little-endian ELF64
 * executable for x86-64, with program headers of the ELF64 size. */
static int check_ehdr(const struct loader *ld, const uint8_t *e, struct elf_image *img)
{
	unsigned phentsize = le16_get(e + E_PHENTSIZE);
	uint64_t table;

	if (memcmp(e, "\177ELF", 4) != 0)
		return fail(ld, -ENOEXEC, "%s: not an ELF file", ld->path);
	if (e[EI_CLASS] != ELFCLASS64)
		return fail(ld, -ENOEXEC, "%s: ELF class %u, not ELF64: not an x86-64 vmlinux",
			    ld->path, e[EI_CLASS]);
	if (e[EI_DATA] != ELFDATA2LSB || e[EI_VERSION] != EV_CURRENT)
		return fail(ld, -ENOEXEC, "%s: not a little-endian ELF version 1 file", ld->path);
	if (le16_get(e + E_MACHINE) != EM_X86_64)
		return fail(ld, -ENOEXEC, "%s: ELF machine %u, not x86-64 (62)", ld->path,
			    le16_get(e + E_MACHINE));
	if (le16_get(e + E_TYPE) != ET_EXEC)
		return fail(ld, -ENOEXEC, "%s: ELF type %u, not an executable (2)", ld->path,
			    le16_get(e + E_TYPE));
	if (le16_get(e + E_EHSIZE) < EHDR_SIZE || phentsize != PHDR_SIZE)
		return fail(ld, -ENOEXEC, "%s: bad ELF64 header or program header size", ld->path);
	img->entry = le64_get(e + E_ENTRY);
	img->phoff = le64_get(e + E_PHOFF);
	img->phnum = le16_get(e + E_PHNUM);
	if (img->phnum == 0)
		return fail(ld, -ENOEXEC, "%s: no program headers", ld->path);
	if (img->phnum > VMLINUX_MAX_PHDRS || img->phnum == PN_XNUM)
		return fail(ld, -ENOEXEC, "%s: %u program headers (at most %d)", ld->path,
			    img->phnum, VMLINUX_MAX_PHDRS);
	table = (uint64_t)img->phnum * PHDR_SIZE;
	if (img->phoff > img->file_size || table > img->file_size - img->phoff)
		return fail(ld, -ENOEXEC,
			    "%s: program headers past the end of the file "
			    "(truncated?)",
			    ld->path);
	return 0;
}

static int read_phdrs(const struct loader *ld, int fd, struct elf_image *img)
{
	uint8_t tab[VMLINUX_MAX_PHDRS * PHDR_SIZE];
	size_t len = (size_t)img->phnum * PHDR_SIZE, off;
	int rc;

	rc = read_at(fd, img->phoff, tab, len);
	if (rc < 0)
		return fail(ld, rc, "cannot read %s: %s", ld->path,
			    rc == -EIO ? "file shrank while loading" : strerror(-rc));
	/* Each of the phnum entries just read. */
	for (off = 0; off < len; off += PHDR_SIZE) {
		const uint8_t *p = tab + off;
		struct segment *s = &img->seg[img->nseg];

		if (le32_get(p + P_TYPE) != PT_LOAD || le64_get(p + P_MEMSZ) == 0)
			continue;
		s->index = (int)(off / PHDR_SIZE);
		s->offset = le64_get(p + P_OFFSET);
		s->vaddr = le64_get(p + P_VADDR);
		s->paddr = le64_get(p + P_PADDR);
		s->filesz = le64_get(p + P_FILESZ);
		s->memsz = le64_get(p + P_MEMSZ);
		img->nseg++;
	}
	if (img->nseg == 0)
		return fail(ld, -ENOEXEC, "%s: no loadable segment", ld->path);
	return 0;
}

static bool in_ram_entry(const struct loader *ld, uint64_t start, uint64_t end)
{
	int i;

	for (i = 0; i < ld->nmap; i++) {
		const struct e820_entry *e = &ld->map[i];

		if (e->type == E820_RAM && start >= e->addr && end - e->addr <= e->size)
			return true;
	}
	return false;
}

/* One segment: its bytes in the file, its memory in guest RAM below the
 * identity map's end, clear of what the loader and the tables occupy. */
static int check_segment(const struct loader *ld, const struct elf_image *img,
			 const struct segment *s)
{
	uint64_t end = s->paddr + s->memsz;
	size_t i;

	if (s->filesz > s->memsz)
		return fail(ld, -ENOEXEC, "%s: segment %d has more file bytes than memory bytes",
			    ld->path, s->index);
	if (s->offset > img->file_size || s->filesz > img->file_size - s->offset)
		return fail(ld, -ENOEXEC,
			    "%s: segment %d lies past the end of the file "
			    "(truncated?)",
			    ld->path, s->index);
	if (end < s->paddr || end > IDENT_MAP_END || !in_ram_entry(ld, s->paddr, end) ||
	    !gmem_ptr(ld->m, s->paddr, s->memsz))
		return fail(ld, -ENOMEM,
			    "%s: segment %d at 0x%llx-0x%llx is not in guest RAM "
			    "below 4 GiB (too little memory?)",
			    ld->path, s->index, (unsigned long long)s->paddr,
			    (unsigned long long)(end - 1));
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (s->paddr < reserved[i].end && reserved[i].start < end)
			return fail(ld, -EINVAL, "%s: segment %d at 0x%llx-0x%llx overlaps %s",
				    ld->path, s->index, (unsigned long long)s->paddr,
				    (unsigned long long)(end - 1), reserved[i].what);
	}
	return 0;
}

static int check_segments(const struct loader *ld, const struct elf_image *img)
{
	int i, j, rc;

	for (i = 0; i < img->nseg; i++) {
		rc = check_segment(ld, img, &img->seg[i]);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < img->nseg; i++) {
		const struct segment *a = &img->seg[i];

		for (j = i + 1; j < img->nseg; j++) {
			const struct segment *b = &img->seg[j];

			if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
				return fail(ld, -ENOEXEC, "%s: segments %d and %d overlap",
					    ld->path, a->index, b->index);
		}
	}
	return 0;
}

/* e_entry is physical in vmlinux (see the head comment); an image linked
 * with a virtual entry point is translated through the segment that holds
 * it.  Either way the entry must be a byte loaded from the file. */
static int find_entry(const struct loader *ld, const struct elf_image *img, uint64_t *gpa)
{
	uint64_t e = img->entry;
	int i;

	for (i = 0; i < img->nseg; i++) {
		const struct segment *s = &img->seg[i];

		if (e >= s->paddr && e - s->paddr < s->filesz) {
			*gpa = e;
			return 0;
		}
	}
	for (i = 0; i < img->nseg; i++) {
		const struct segment *s = &img->seg[i];

		if (e >= s->vaddr && e - s->vaddr < s->filesz) {
			*gpa = s->paddr + (e - s->vaddr);
			return 0;
		}
	}
	return fail(ld, -ENOEXEC, "%s: entry point 0x%llx is in no loaded segment", ld->path,
		    (unsigned long long)e);
}

static int load_segments(const struct loader *ld, int fd, const struct elf_image *img)
{
	int i, rc;

	for (i = 0; i < img->nseg; i++) {
		const struct segment *s = &img->seg[i];
		uint8_t *host = gmem_ptr(ld->m, s->paddr, s->memsz);

		if (!host) /* checked already; kept for the reader */
			return fail(ld, -EFAULT, "%s: segment %d is not in guest RAM", ld->path,
				    s->index);
		rc = read_at(fd, s->offset, host, s->filesz);
		if (rc < 0)
			return fail(ld, rc, "cannot read %s: %s", ld->path,
				    rc == -EIO ? "file shrank while loading" : strerror(-rc));
		/* gABI: the bytes past p_filesz up to p_memsz are zero (.bss). */
		memset(host + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

/* vmlinux has no setup header (that lives in the bzImage's real-mode
 * part): give boot_params the one a protocol 2.12 kernel would carry. */
static void fill_header(struct bzimage_kernel *k, const struct elf_image *img)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	uint8_t *h = k->hdr;
	int i;

	for (i = 0; i < img->nseg; i++) {
		if (img->seg[i].paddr < lo)
			lo = img->seg[i].paddr;
		if (img->seg[i].paddr + img->seg[i].memsz > hi)
			hi = img->seg[i].paddr + img->seg[i].memsz;
	}
	k->load_gpa = lo;
	k->load_size = hi - lo;
	k->end_gpa = (hi + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	k->hdr_end = HDR_END_2_12;
	le16_put(h + HDR_BOOT_FLAG, BOOT_FLAG);
	h[HDR_JUMP] = 0xEB;
	h[HDR_JUMP + 1] = HDR_END_2_12 - (HDR_JUMP + 2);
	le32_put(h + HDR_MAGIC, HDRS_MAGIC);
	le16_put(h + HDR_VERSION, PROTO_2_12);
	h[HDR_LOADFLAGS] = LOADED_HIGH;
	le32_put(h + HDR_INITRD_ADDR_MAX, INITRD_ADDR_MAX);
	le32_put(h + HDR_KERNEL_ALIGNMENT, KERNEL_ALIGNMENT);
	le16_put(h + HDR_XLOADFLAGS, XLF_KERNEL_64);
	le32_put(h + HDR_CMDLINE_SIZE, CMDLINE_SIZE);
	/* Below 4 GiB (check_segment), so both fit their fields. */
	le64_put(h + HDR_PREF_ADDRESS, lo);
	le32_put(h + HDR_INIT_SIZE, (uint32_t)(hi - lo));
}

static int parse(const struct loader *ld, int fd, struct elf_image *img, uint64_t *entry)
{
	uint8_t ehdr[EHDR_SIZE];
	int rc;

	if (img->file_size < EHDR_SIZE)
		return fail(ld, -ENOEXEC, "%s: truncated ELF header (%llu bytes)", ld->path,
			    (unsigned long long)img->file_size);
	rc = read_at(fd, 0, ehdr, sizeof(ehdr));
	if (rc < 0)
		return fail(ld, rc, "cannot read %s: %s", ld->path, strerror(-rc));
	rc = check_ehdr(ld, ehdr, img);
	if (rc == 0)
		rc = read_phdrs(ld, fd, img);
	if (rc == 0)
		rc = check_segments(ld, img);
	if (rc == 0)
		rc = find_entry(ld, img, entry);
	return rc;
}

int vmlinux_load(const struct gmem *m, const char *kernel_path, const char *initrd_path,
		 const char *cmdline, const struct e820_entry *map, int nmap,
		 struct bzimage_boot *out, char *err, size_t errlen)
{
	struct loader ld = {
		.m = m,
		.path = kernel_path,
		.map = map,
		.nmap = nmap,
		.err = err,
		.errlen = errlen,
	};
	struct bzimage_kernel k = { 0 };
	struct elf_image img;
	int fd, rc;

	if (err && errlen)
		err[0] = '\0';
	if (!m || !kernel_path || !out || (!map && nmap) || nmap < 0)
		return fail(&ld, -EINVAL, "bad arguments to the kernel loader");
	memset(&img, 0, sizeof(img));
	fd = open_kernel(&ld, &img.file_size);
	if (fd < 0)
		return fd;
	rc = parse(&ld, fd, &img, &k.entry);
	if (rc == 0)
		rc = load_segments(&ld, fd, &img);
	close(fd);
	if (rc < 0)
		return rc;
	fill_header(&k, &img);
	return bzimage_boot64(m, &k, initrd_path, cmdline, map, nmap, out, err, errlen);
}
