/* Linux bzImage loader for the 64-bit boot protocol.
 *
 * References are to Documentation/arch/x86/boot.rst ("boot.rst") and
 * Documentation/arch/x86/zero-page.rst ("zero-page.rst") of the Linux tree.
 * The file layout: (setup_sects + 1) sectors of real-mode setup, whose
 * setup header sits at 0x1F1, then the protected-mode kernel.  Only the
 * protected-mode part is loaded; the setup header is copied into boot_params
 * at the same offset.  The 64-bit entry point is 0x200 bytes into the
 * protected-mode kernel (boot.rst, "64-bit Boot Protocol").  What follows
 * the kernel image -- initrd, command line, boot_params, GDT, page tables --
 * is bzimage_boot64(), which the vmlinux loader shares. */
#include "firmware/bzimage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/layout.h"
#include "le.h"

#define SECTOR_SIZE    512
#define ZERO_PAGE_SIZE 4096
#define PAGE_SIZE      4096ULL
#define MIB	       (1ULL << 20)
#define GIB	       (1ULL << 30)

/* Setup header fields: offsets in the file and in boot_params alike
 * (boot.rst, "The Real-Mode Kernel Header"). */
#define HDR_START	     BZIMAGE_HDR_START
#define HDR_SETUP_SECTS	     0x1F1
#define HDR_SYSSIZE	     0x1F4
#define HDR_BOOT_FLAG	     0x1FE
#define HDR_JUMP	     0x200
#define HDR_MAGIC	     0x202
#define HDR_VERSION	     0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS	     0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21C
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22C
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE	     0x234
#define HDR_XLOADFLAGS	     0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_SETUP_DATA	     0x250
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE	     0x260
/* Protocol 2.12 ends the header after handover_offset. */
#define HDR_MIN_END 0x268
#define HDR_MAX_END BZIMAGE_HDR_END

/* boot_params fields outside the setup header (zero-page.rst). */
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE  0x0C4
#define BP_EXT_CMD_LINE_PTR  0x0C8
#define BP_E820_ENTRIES	     0x1E8
#define BP_E820_TABLE	     0x2D0
#define BP_E820_MAX	     128
#define BP_E820_ENTRY_SIZE   20

#define BOOT_FLAG	 0xAA55
#define HDRS_MAGIC	 0x53726448 /* "HdrS" */
#define PROTO_MIN	 0x0206
#define PROTO_64BIT	 0x020C
#define LOADED_HIGH	 0x01
#define CAN_USE_HEAP	 0x80
#define XLF_KERNEL_64	 0x0001
#define LOADER_UNDEFINED 0xFF
/* Heap end for a setup segment of 64 KiB, minus 0x200 (boot.rst). */
#define HEAP_END	   0xFE00
#define ENTRY64_OFFSET	   0x200
#define INITRD_MAX_DEFAULT 0x37FFFFFFULL

/* The GDT (boot.rst: __BOOT_CS and __BOOT_DS, flat 4 GiB segments).  The
 * accessed bits are preset so the CPU never writes to the table. */
#define GDT_ENTRIES 4
#define GDT_CODE64  0x00AF9B000000FFFFULL /* G, L, P, S, exec/read */
#define GDT_DATA    0x00CF93000000FFFFULL /* G, D/B, P, S, read/write */

/* Control registers for long mode (Intel SDM vol. 3 §9.8.5). */
#define CR0_PE	 (1ULL << 0)
#define CR0_ET	 (1ULL << 4)
#define CR0_NE	 (1ULL << 5)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define PTE_P	      0x001ULL
#define PTE_RW	      0x002ULL
#define PTE_PS	      0x080ULL
#define PT_ENTRIES    512ULL
#define IDENT_MAP_END (4 * GIB)

/* The bzImage file; its first HDR_MAX_END bytes go into bzimage_kernel's
 * hdr, its protected-mode part is load_size bytes from setup_size. */
struct image {
	uint64_t file_size;
	uint64_t setup_size; /* real-mode part, not loaded */
};

struct loader {
	const struct gmem *m;
	char *err;
	size_t errlen;
	uint64_t low_end; /* end of the low RAM entry holding 1 MiB */
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

static uint64_t mib_up(uint64_t v)
{
	return (v + MIB - 1) / MIB;
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

static int open_file(const struct loader *ld, const char *what, const char *path, uint64_t *size)
{
	struct stat st;
	int fd, rc;

	/* O_NONBLOCK: a FIFO given by mistake must not hang start-up. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		return fail(ld, rc, "cannot read %s %s: %s", what, path, strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return fail(ld, rc, "cannot read %s %s: %s", what, path, strerror(-rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(ld, -EINVAL, "cannot read %s %s: not a regular file", what, path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Copy len bytes of the file at off into guest memory at gpa. */
static int load_to_guest(const struct loader *ld, int fd, const char *path, uint64_t off,
			 uint64_t gpa, uint64_t len)
{
	void *host = gmem_ptr(ld->m, gpa, len);
	int rc;

	if (!host)
		return fail(ld, -EFAULT, "cannot load %s at 0x%llx: not guest RAM", path,
			    (unsigned long long)gpa);
	rc = read_at(fd, off, host, len);
	if (rc < 0)
		return fail(ld, rc, "cannot read %s: %s", path,
			    rc == -EIO ? "file shrank while loading" : strerror(-rc));
	return 0;
}

/* Check the setup header (boot.rst, "Details of Header Fields"). */
static int check_header(const struct loader *ld, const char *path, struct image *img,
			struct bzimage_kernel *k)
{
	const uint8_t *h = k->hdr;
	uint64_t setup_sects, syssize;
	uint16_t version;

	if (le16_get(h + HDR_BOOT_FLAG) != BOOT_FLAG)
		return fail(ld, -ENOEXEC, "%s: not a bzImage (no 0xAA55 boot flag)", path);
	if (le32_get(h + HDR_MAGIC) != HDRS_MAGIC)
		return fail(ld, -ENOEXEC, "%s: not a bzImage (no HdrS magic)", path);
	version = le16_get(h + HDR_VERSION);
	if (version < PROTO_MIN)
		return fail(ld, -ENOEXEC, "%s: boot protocol %u.%02u is too old (need 2.12)", path,
			    version >> 8, version & 0xFF);
	if (version < PROTO_64BIT)
		return fail(ld, -ENOEXEC,
			    "%s: boot protocol %u.%02u has no 64-bit entry point (need 2.12)", path,
			    version >> 8, version & 0xFF);
	if (!(le16_get(h + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return fail(ld, -ENOEXEC,
			    "%s: kernel has no 64-bit entry point "
			    "(XLF_KERNEL_64 not set)",
			    path);
	if (!(h[HDR_LOADFLAGS] & LOADED_HIGH))
		return fail(ld, -ENOEXEC, "%s: a zImage, not a bzImage (LOADED_HIGH clear)", path);
	/* The header ends at 0x202 + the jump's displacement byte. */
	k->hdr_end = 0x202 + (size_t)h[HDR_JUMP + 1];
	if (k->hdr_end < HDR_MIN_END)
		return fail(ld, -ENOEXEC, "%s: setup header too short for protocol 2.12", path);
	if (k->hdr_end > HDR_MAX_END)
		k->hdr_end = HDR_MAX_END;

	setup_sects = h[HDR_SETUP_SECTS] ? h[HDR_SETUP_SECTS] : 4;
	img->setup_size = (setup_sects + 1) * SECTOR_SIZE;
	syssize = le32_get(h + HDR_SYSSIZE);
	if (syssize == 0)
		return fail(ld, -ENOEXEC, "%s: bad bzImage (syssize is 0)", path);
	k->load_size = syssize * 16;
	if (img->file_size < img->setup_size + k->load_size)
		return fail(ld, -ENOEXEC, "%s: truncated bzImage (%llu bytes, header says %llu)",
			    path, (unsigned long long)img->file_size,
			    (unsigned long long)img->setup_size + k->load_size);
	return 0;
}

/* Choose the load address and check that the kernel fits in low RAM.  A
 * relocatable kernel goes to pref_address; otherwise to 1 MiB, from where
 * the 64-bit kernel moves itself to its run-time address.  The run-time
 * address is the load address rounded up to kernel_alignment, but not below
 * pref_address; init_size bytes are needed from there (boot.rst, init_size
 * and pref_address). */
static int place_kernel(const struct loader *ld, struct bzimage_kernel *k)
{
	const uint8_t *h = k->hdr;
	uint64_t align = le32_get(h + HDR_KERNEL_ALIGNMENT);
	uint64_t pref = le64_get(h + HDR_PREF_ADDRESS);
	uint64_t init_size = le32_get(h + HDR_INIT_SIZE);
	uint64_t run, need;

	if (!h[HDR_RELOCATABLE] || align == 0 || (align & (align - 1)) || align > GIB)
		align = 1;
	if (init_size < k->load_size)
		init_size = k->load_size;
	if (pref >= ld->low_end)
		return fail(ld, -ENOMEM,
			    "kernel runs at 0x%llx, above the guest's %llu MiB of "
			    "low memory",
			    (unsigned long long)pref, (unsigned long long)(ld->low_end / MIB));

	k->load_gpa = LAYOUT_KERNEL_LOW;
	if (align > 1 && pref >= LAYOUT_KERNEL_LOW && pref % align == 0)
		k->load_gpa = pref;
	run = (k->load_gpa + align - 1) & ~(align - 1);
	if (run < pref)
		run = pref;
	need = run + init_size;
	if (need < k->load_gpa + k->load_size)
		need = k->load_gpa + k->load_size;
	if (need > ld->low_end)
		return fail(ld, -ENOMEM, "kernel needs %llu MiB, guest has %llu MiB of low memory",
			    (unsigned long long)mib_up(need),
			    (unsigned long long)(ld->low_end / MIB));
	k->end_gpa = (need + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	return 0;
}

static int find_low_ram(struct loader *ld, const struct e820_entry *map, int nmap)
{
	int i;

	if (!map || nmap < 1)
		return fail(ld, -EINVAL, "no memory map for the kernel");
	if (nmap > BP_E820_MAX)
		return fail(ld, -E2BIG, "memory map has %d entries, boot_params holds %d", nmap,
			    BP_E820_MAX);
	for (i = 0; i < nmap; i++) {
		if (map[i].type == E820_RAM && map[i].addr <= LAYOUT_KERNEL_LOW &&
		    LAYOUT_KERNEL_LOW - map[i].addr < map[i].size) {
			ld->low_end = map[i].addr + map[i].size;
			if (ld->low_end < map[i].addr || ld->low_end > IDENT_MAP_END)
				ld->low_end = IDENT_MAP_END;
			return 0;
		}
	}
	return fail(ld, -EINVAL, "memory map has no RAM at 1 MiB for the kernel");
}

/* The initrd goes as high as possible in low RAM, page aligned, not above
 * initrd_addr_max (the highest byte it may occupy) and above the kernel. */
static int place_initrd(const struct loader *ld, const struct bzimage_kernel *k, const char *path,
			uint64_t size, uint64_t *gpa)
{
	uint64_t top = ld->low_end;
	uint64_t max = (uint64_t)le32_get(k->hdr + HDR_INITRD_ADDR_MAX) + 1;

	/* boot.rst, initrd_addr_max: a kernel that leaves it 0 means
	 * 0x37FFFFFF. */
	if (max == 1)
		max = INITRD_MAX_DEFAULT + 1;
	if (size == 0)
		return fail(ld, -EINVAL, "initrd %s is empty", path);
	if (max < top)
		top = max;
	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < k->end_gpa)
		return fail(ld, -ENOMEM,
			    "initrd too large for guest memory (%llu MiB initrd, "
			    "%llu MiB free between the kernel and 0x%llx)",
			    (unsigned long long)mib_up(size),
			    (unsigned long long)(top > k->end_gpa ? (top - k->end_gpa) / MIB : 0),
			    (unsigned long long)top);
	*gpa = (top - size) & ~(PAGE_SIZE - 1);
	return 0;
}

static int write_guest(const struct loader *ld, const char *what, uint64_t gpa, const void *buf,
		       size_t len)
{
	if (gmem_write(ld->m, gpa, buf, len) < 0)
		return fail(ld, -EFAULT, "cannot write the %s at 0x%llx: not guest RAM", what,
			    (unsigned long long)gpa);
	return 0;
}

static int write_cmdline(const struct loader *ld, const struct bzimage_kernel *k,
			 const char *cmdline)
{
	uint64_t max = le32_get(k->hdr + HDR_CMDLINE_SIZE);
	size_t len = cmdline ? strlen(cmdline) : 0;

	/* cmdline_size excludes the terminating NUL (boot.rst). */
	if (max > LAYOUT_CMDLINE_MAX - 1)
		max = LAYOUT_CMDLINE_MAX - 1;
	if (len > max)
		return fail(ld, -E2BIG, "kernel command line too long (%zu bytes, at most %llu)",
			    len, (unsigned long long)max);
	return write_guest(ld, "command line", LAYOUT_CMDLINE, cmdline ? cmdline : "", len + 1);
}

static int write_gdt(const struct loader *ld, struct bzimage_boot *out)
{
	uint8_t gdt[GDT_ENTRIES * 8] = { 0 };

	le64_put(gdt + BZIMAGE_SEL_CS, GDT_CODE64);
	le64_put(gdt + BZIMAGE_SEL_DS, GDT_DATA);
	out->gdt_base = LAYOUT_GDT_BASE;
	out->gdt_limit = sizeof(gdt) - 1;
	return write_guest(ld, "GDT", LAYOUT_GDT_BASE, gdt, sizeof(gdt));
}

/* Identity map [0, 4 GiB) with 2 MiB pages: the protocol wants the kernel,
 * boot_params, the command line and the initrd identity mapped, all of
 * which lie in low RAM. */
static int write_page_tables(const struct loader *ld)
{
	static const uint64_t pd_bytes = LAYOUT_PD_COUNT * PAGE_SIZE;
	uint8_t top[2 * PAGE_SIZE] = { 0 };
	uint8_t *pd;
	uint64_t i;
	int rc;

	/* PML4 and PDPT are adjacent pages in layout.h; so are the PDs. */
	le64_put(top, LAYOUT_PDPT | PTE_P | PTE_RW);
	for (i = 0; i < LAYOUT_PD_COUNT; i++)
		le64_put(top + PAGE_SIZE + i * 8, (LAYOUT_PD + i * PAGE_SIZE) | PTE_P | PTE_RW);
	pd = calloc(1, pd_bytes);
	if (!pd)
		return fail(ld, -ENOMEM, "out of memory for page tables");
	for (i = 0; i < LAYOUT_PD_COUNT * PT_ENTRIES; i++)
		le64_put(pd + i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
	rc = write_guest(ld, "page tables", LAYOUT_PML4, top, sizeof(top));
	if (rc == 0)
		rc = write_guest(ld, "page tables", LAYOUT_PD, pd, pd_bytes);
	free(pd);
	return rc;
}

static int write_zero_page(const struct loader *ld, const struct bzimage_kernel *k,
			   const struct e820_entry *map, int nmap, const struct bzimage_boot *b)
{
	uint8_t bp[ZERO_PAGE_SIZE] = { 0 };
	int i;

	/* 64-bit boot protocol: boot_params zeroed, setup header copied in. */
	memcpy(bp + HDR_START, k->hdr + HDR_START, k->hdr_end - HDR_START);
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	le16_put(bp + HDR_HEAP_END_PTR, HEAP_END);
	le32_put(bp + HDR_CMD_LINE_PTR, (uint32_t)b->cmdline_gpa);
	le32_put(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(b->cmdline_gpa >> 32));
	le32_put(bp + HDR_RAMDISK_IMAGE, (uint32_t)b->initrd_gpa);
	le32_put(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(b->initrd_gpa >> 32));
	le32_put(bp + HDR_RAMDISK_SIZE, (uint32_t)b->initrd_size);
	le32_put(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(b->initrd_size >> 32));
	le64_put(bp + HDR_SETUP_DATA, 0);

	bp[BP_E820_ENTRIES] = (uint8_t)nmap;
	for (i = 0; i < nmap; i++) {
		size_t off = BP_E820_TABLE + (size_t)i * BP_E820_ENTRY_SIZE;

		le64_put(bp + off, map[i].addr);
		le64_put(bp + off + 8, map[i].size);
		le32_put(bp + off + 16, map[i].type);
	}
	return write_guest(ld, "boot_params", LAYOUT_ZERO_PAGE, bp, sizeof(bp));
}

static void fill_cpu_state(struct bzimage_boot *b, uint64_t entry)
{
	b->rip = entry;
	b->rsi = LAYOUT_ZERO_PAGE;
	b->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	b->cr3 = LAYOUT_PML4;
	b->cr4 = CR4_PAE;
	b->efer = EFER_LME | EFER_LMA;
	b->rflags = 0x2;
	bzimage_segment(BZIMAGE_SEG_CS, &b->cs);
	bzimage_segment(BZIMAGE_SEG_DS, &b->ds);
	bzimage_segment(BZIMAGE_SEG_TR, &b->tr);
}

static int load_kernel(struct loader *ld, int fd, const char *path, struct image *img,
		       struct bzimage_kernel *k)
{
	int rc;

	if (img->file_size < HDR_MAX_END)
		return fail(ld, -ENOEXEC, "%s: not a bzImage (only %llu bytes)", path,
			    (unsigned long long)img->file_size);
	rc = read_at(fd, 0, k->hdr, sizeof(k->hdr));
	if (rc < 0)
		return fail(ld, rc, "cannot read kernel %s: %s", path, strerror(-rc));
	rc = check_header(ld, path, img, k);
	if (rc == 0)
		rc = place_kernel(ld, k);
	if (rc < 0)
		return rc;
	k->entry = k->load_gpa + ENTRY64_OFFSET;
	return load_to_guest(ld, fd, path, img->setup_size, k->load_gpa, k->load_size);
}

static int load_initrd(struct loader *ld, const char *path, const struct bzimage_kernel *k,
		       struct bzimage_boot *b)
{
	uint64_t size = 0;
	int fd, rc;

	fd = open_file(ld, "initrd", path, &size);
	if (fd < 0)
		return fd;
	rc = place_initrd(ld, k, path, size, &b->initrd_gpa);
	if (rc == 0) {
		b->initrd_size = size;
		rc = load_to_guest(ld, fd, path, 0, b->initrd_gpa, size);
	}
	close(fd);
	return rc;
}

int bzimage_load(const struct gmem *m, const char *kernel_path, const char *initrd_path,
		 const char *cmdline, const struct e820_entry *map, int nmap,
		 struct bzimage_boot *out, char *err, size_t errlen)
{
	struct loader ld = { .m = m, .err = err, .errlen = errlen };
	struct bzimage_kernel k = { 0 };
	struct image img = { 0 };
	int fd, rc;

	if (err && errlen)
		err[0] = '\0';
	if (!m || !kernel_path || !out)
		return fail(&ld, -EINVAL, "bad arguments to the kernel loader");
	rc = find_low_ram(&ld, map, nmap);
	if (rc < 0)
		return rc;
	fd = open_file(&ld, "kernel", kernel_path, &img.file_size);
	if (fd < 0)
		return fd;
	rc = load_kernel(&ld, fd, kernel_path, &img, &k);
	close(fd);
	if (rc < 0)
		return rc;
	return bzimage_boot64(m, &k, initrd_path, cmdline, map, nmap, out, err, errlen);
}

int bzimage_boot64(const struct gmem *m, const struct bzimage_kernel *k, const char *initrd_path,
		   const char *cmdline, const struct e820_entry *map, int nmap,
		   struct bzimage_boot *out, char *err, size_t errlen)
{
	struct loader ld = { .m = m, .err = err, .errlen = errlen };
	struct bzimage_boot b = { 0 };
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!m || !k || !out || k->hdr_end < HDR_START || k->hdr_end > HDR_MAX_END)
		return fail(&ld, -EINVAL, "bad arguments to the kernel loader");
	rc = find_low_ram(&ld, map, nmap);
	if (rc < 0)
		return rc;
	b.protocol = le16_get(k->hdr + HDR_VERSION);
	b.kernel_gpa = k->load_gpa;
	b.kernel_size = k->load_size;
	if (initrd_path) {
		rc = load_initrd(&ld, initrd_path, k, &b);
		if (rc < 0)
			return rc;
	}
	b.cmdline_gpa = LAYOUT_CMDLINE;
	rc = write_cmdline(&ld, k, cmdline);
	if (rc == 0)
		rc = write_zero_page(&ld, k, map, nmap, &b);
	if (rc == 0)
		rc = write_gdt(&ld, &b);
	if (rc == 0)
		rc = write_page_tables(&ld);
	if (rc < 0)
		return rc;
	fill_cpu_state(&b, k->entry);
	*out = b;
	return 0;
}

static void seg_from_descriptor(uint64_t d, uint16_t sel, struct bzimage_seg *s)
{
	uint32_t limit = (uint32_t)((d & 0xFFFF) | ((d >> 48) & 0xF) << 16);

	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = ((d >> 16) & 0xFFFFFF) | ((d >> 56) & 0xFF) << 24;
	s->type = (d >> 40) & 0xF;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->g = (d >> 55) & 1;
	s->limit = s->g ? limit << 12 | 0xFFF : limit;
}

void bzimage_segment(enum bzimage_seg_id id, struct bzimage_seg *out)
{
	switch (id) {
	case BZIMAGE_SEG_CS:
		seg_from_descriptor(GDT_CODE64, BZIMAGE_SEL_CS, out);
		break;
	case BZIMAGE_SEG_DS:
		seg_from_descriptor(GDT_DATA, BZIMAGE_SEL_DS, out);
		break;
	default:
		/* No TSS in the GDT: a TR that VM entry accepts in IA-32e
		 * mode (SDM vol. 3, "Checks on Guest Segment Registers":
		 * type 11, present, S clear) until the kernel loads its own. */
		memset(out, 0, sizeof(*out));
		out->type = 11;
		out->present = 1;
		out->limit = 0x67;
		break;
	}
}
