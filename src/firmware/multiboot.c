/* Multiboot version 1 loader (Multiboot Specification 0.6.96).  Section
 * numbers below are that document's. */
#include "firmware/multiboot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le.h"

#define MB_HDR_FIELDS  8  /* magic .. entry_addr, 32 bytes */
#define MB_MAX_SEGS    64 /* program headers that load something */
#define MB_PHNUM_MAX   256
#define MB_CMDLINE_MAX 0x10000 /* with its NUL */
#define MB_4G	       0x100000000ull
/* Below this the real-mode IVT and BIOS data area live; nothing goes there. */
#define MB_LOW_FLOOR 0x1000ull
#define MB_ONE_MIB   0x100000ull
#define MB_CONV_MAX  0xA0000ull /* conventional memory ends by 640 KiB */
/* Flag bits 0-15 are requirements a loader must meet or refuse (§3.1.2). */
#define MB_REQUIRED_MASK 0xFFFFu
#define MB_SUPPORTED	 (MULTIBOOT_HDR_PAGE_ALIGN | MULTIBOOT_HDR_MEMORY_INFO)

/* Flat descriptors for the courtesy GDT: limit 0xFFFFF with G set, base 0,
 * 32-bit (D/B), present, DPL 0; code execute/read, data read/write. */
#define GDT_CODE32 0x00CF9B000000FFFFull
#define GDT_DATA32 0x00CF93000000FFFFull
#define GDT_SIZE   24 /* null, code, data */

/* Multiboot memory map types (§3.3) from e820 types (ACPI 6.5 Table 15.1). */
#define MB_MMAP_RAM	 1
#define MB_MMAP_RESERVED 2
#define MB_MMAP_ACPI	 3
#define MB_MMAP_NVS	 4

struct mb_header {
	uint32_t off; /* file offset of the magic */
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_range {
	uint64_t start, end;
};

struct mb_loader {
	const struct gmem *m;
	int fd;
	uint64_t fsize;
	const char *path;
	char *err;
	size_t errlen;
	struct mb_range seg[MB_MAX_SEGS];
	int nseg;
};

/* A program header of either ELF class. */
struct mb_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct mb_loader *ld, int rc, const char *fmt, ...)
{
	va_list ap;

	if (ld->err && ld->errlen) {
		va_start(ap, fmt);
		vsnprintf(ld->err, ld->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Read exactly len bytes at off; -EIO for a short file. */
static int read_at(int fd, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
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

/* Read up to len bytes from the start of the file; returns the count. */
static ssize_t read_head(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* §3.1.1: the header is 32-bit aligned within the first 8192 bytes, and
 * magic + flags + checksum is zero modulo 2^32. */
static bool find_header(const uint8_t *buf, size_t len, struct mb_header *h)
{
	size_t off;

	for (off = 0; off + 12 <= len; off += 4) {
		uint32_t magic = le32_get(buf + off);
		uint32_t flags = le32_get(buf + off + 4);
		uint32_t sum = le32_get(buf + off + 8);

		if (magic == MULTIBOOT_HEADER_MAGIC && (uint32_t)(magic + flags + sum) == 0) {
			memset(h, 0, sizeof(*h));
			h->off = (uint32_t)off;
			h->magic = magic;
			h->flags = flags;
			h->checksum = sum;
			return true;
		}
	}
	return false;
}

int multiboot_probe(const char *path)
{
	uint8_t buf[MULTIBOOT_SEARCH];
	struct mb_header h;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read_head(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return (int)n;
	return find_header(buf, (size_t)n, &h) ? 1 : 0;
}

static int read_header(struct mb_loader *ld, struct mb_header *h)
{
	uint8_t buf[MULTIBOOT_SEARCH];
	uint8_t f[MB_HDR_FIELDS * 4];
	ssize_t n;
	int rc;

	n = read_head(ld->fd, buf, sizeof(buf));
	if (n < 0)
		return fail(ld, (int)n, "cannot read %s: %s", ld->path, strerror((int)-n));
	if (!find_header(buf, (size_t)n, h))
		return fail(ld, -ENOEXEC, "%s: no Multiboot header in its first %d bytes", ld->path,
			    MULTIBOOT_SEARCH);
	if ((h->flags & MB_REQUIRED_MASK) & ~MB_SUPPORTED)
		return fail(ld, -ENOTSUP,
			    "%s: the Multiboot header requires features this loader lacks "
			    "(flags 0x%x; only 0x%x are offered: no video mode)",
			    ld->path, h->flags, MB_SUPPORTED);
	if (!(h->flags & MULTIBOOT_HDR_AOUT_KLUDGE))
		return 0;
	rc = read_at(ld->fd, h->off, f, sizeof(f));
	if (rc < 0)
		return fail(ld, -ENOEXEC, "%s: the Multiboot header's address fields are cut off",
			    ld->path);
	h->header_addr = le32_get(f + 12);
	h->load_addr = le32_get(f + 16);
	h->load_end_addr = le32_get(f + 20);
	h->bss_end_addr = le32_get(f + 24);
	h->entry_addr = le32_get(f + 28);
	return 0;
}

/* Check that [gpa, gpa + len) is guest RAM below 4 GiB and remember it, so
 * that the information structure avoids it. */
static int claim(struct mb_loader *ld, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return 0;
	if (gpa >= MB_4G || len > MB_4G - gpa)
		return fail(ld, -ERANGE,
			    "%s: segment at 0x%llx (%llu bytes) is not below 4 GiB, where a "
			    "Multiboot kernel starts",
			    ld->path, (unsigned long long)gpa, (unsigned long long)len);
	if (!gmem_ptr(ld->m, gpa, len))
		return fail(ld, -ERANGE,
			    "%s: segment at 0x%llx (%llu bytes) does not fit in guest RAM",
			    ld->path, (unsigned long long)gpa, (unsigned long long)len);
	if (ld->nseg >= MB_MAX_SEGS)
		return fail(ld, -E2BIG, "%s: more than %d loadable segments", ld->path,
			    MB_MAX_SEGS);
	ld->seg[ld->nseg].start = gpa;
	ld->seg[ld->nseg].end = gpa + len;
	ld->nseg++;
	return 0;
}

/* Copy filesz bytes at file offset off to gpa and zero up to memsz; the
 * range has been claimed. */
static int copy_segment(struct mb_loader *ld, uint64_t off, uint64_t gpa, uint64_t filesz,
			uint64_t memsz)
{
	uint8_t *host;
	int rc;

	if (filesz > memsz)
		return fail(ld, -ENOEXEC, "%s: segment at 0x%llx has more file bytes than memory",
			    ld->path, (unsigned long long)gpa);
	if (off > ld->fsize || filesz > ld->fsize - off)
		return fail(ld, -ENOEXEC,
			    "%s: truncated: segment at 0x%llx wants file bytes 0x%llx-0x%llx, the "
			    "file has %llu",
			    ld->path, (unsigned long long)gpa, (unsigned long long)off,
			    (unsigned long long)off + filesz, (unsigned long long)ld->fsize);
	rc = claim(ld, gpa, memsz);
	if (rc < 0 || memsz == 0)
		return rc;
	host = gmem_ptr(ld->m, gpa, memsz);
	if (!host)
		return fail(ld, -ERANGE, "%s: segment at 0x%llx is outside guest RAM", ld->path,
			    (unsigned long long)gpa);
	rc = read_at(ld->fd, off, host, (size_t)filesz);
	if (rc < 0)
		return fail(ld, rc, "cannot read %s: %s", ld->path, strerror(-rc));
	memset(host + filesz, 0, (size_t)(memsz - filesz));
	return 0;
}

static bool in_loaded(const struct mb_loader *ld, uint64_t gpa)
{
	int i;

	for (i = 0; i < ld->nseg; i++) {
		if (gpa >= ld->seg[i].start && gpa < ld->seg[i].end)
			return true;
	}
	return false;
}

/* §3.1.3: with flag 16 the header's address fields say where the image
 * goes: the file from header offset - (header_addr - load_addr) is loaded
 * at load_addr up to load_end_addr (0: the end of the file), then zeroed up
 * to bss_end_addr (0: no bss). */
static int load_kludge(struct mb_loader *ld, const struct mb_header *h, uint32_t *entry)
{
	uint64_t off, filesz, memsz;

	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > h->off)
		return fail(ld, -ENOEXEC,
			    "%s: Multiboot load_addr 0x%x / header_addr 0x%x put the image before "
			    "the start of the file",
			    ld->path, h->load_addr, h->header_addr);
	off = h->off - (h->header_addr - h->load_addr);
	if (h->load_end_addr == 0) {
		filesz = ld->fsize - off;
	} else {
		if (h->load_end_addr < h->load_addr)
			return fail(ld, -ENOEXEC, "%s: Multiboot load_end_addr below load_addr",
				    ld->path);
		filesz = h->load_end_addr - h->load_addr;
	}
	memsz = filesz;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < h->load_addr + filesz)
			return fail(ld, -ENOEXEC, "%s: Multiboot bss_end_addr below load_end_addr",
				    ld->path);
		memsz = h->bss_end_addr - h->load_addr;
	}
	*entry = h->entry_addr;
	return copy_segment(ld, off, h->load_addr, filesz, memsz);
}

static int read_ehdr(struct mb_loader *ld, unsigned char *ident, Elf64_Ehdr *e64, Elf32_Ehdr *e32)
{
	int rc = read_at(ld->fd, 0, ident, EI_NIDENT);

	if (rc < 0 || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return fail(ld, -ENOEXEC,
			    "%s: neither an ELF file nor a Multiboot header with address fields "
			    "(flag 16)",
			    ld->path);
	if (ident[EI_DATA] != ELFDATA2LSB)
		return fail(ld, -ENOEXEC, "%s: not a little-endian ELF file", ld->path);
	if (ident[EI_CLASS] == ELFCLASS32)
		rc = read_at(ld->fd, 0, e32, sizeof(*e32));
	else if (ident[EI_CLASS] == ELFCLASS64)
		rc = read_at(ld->fd, 0, e64, sizeof(*e64));
	else
		return fail(ld, -ENOEXEC, "%s: unknown ELF class %u", ld->path, ident[EI_CLASS]);
	if (rc < 0)
		return fail(ld, -ENOEXEC, "%s: truncated ELF header", ld->path);
	return 0;
}

static int read_phdr(struct mb_loader *ld, int cls, uint64_t off, struct mb_phdr *p)
{
	Elf32_Phdr p32;
	Elf64_Phdr p64;
	int rc;

	if (cls == ELFCLASS32) {
		rc = read_at(ld->fd, off, &p32, sizeof(p32));
		*p = (struct mb_phdr){ p32.p_type,  p32.p_offset, p32.p_vaddr,
				       p32.p_paddr, p32.p_filesz, p32.p_memsz };
	} else {
		rc = read_at(ld->fd, off, &p64, sizeof(p64));
		*p = (struct mb_phdr){ p64.p_type,  p64.p_offset, p64.p_vaddr,
				       p64.p_paddr, p64.p_filesz, p64.p_memsz };
	}
	return rc;
}

/* §3.1.3: an ELF image is loaded by its program headers, at their physical
 * addresses.  The entry point is e_entry; when it falls in a segment whose
 * virtual and physical addresses differ it is translated, since the kernel
 * starts with paging off. */
static int load_elf(struct mb_loader *ld, uint32_t *entry, int *elf_class)
{
	unsigned char ident[EI_NIDENT];
	Elf64_Ehdr e64 = { 0 };
	Elf32_Ehdr e32 = { 0 };
	uint64_t phoff, e_entry, phys_entry;
	unsigned phnum, phentsize, machine, i;
	int cls, rc;

	rc = read_ehdr(ld, ident, &e64, &e32);
	if (rc < 0)
		return rc;
	cls = ident[EI_CLASS];
	if (cls == ELFCLASS32) {
		phoff = e32.e_phoff, phnum = e32.e_phnum, phentsize = e32.e_phentsize;
		machine = e32.e_machine, e_entry = e32.e_entry;
	} else {
		phoff = e64.e_phoff, phnum = e64.e_phnum, phentsize = e64.e_phentsize;
		machine = e64.e_machine, e_entry = e64.e_entry;
	}
	if (machine != EM_386 && machine != EM_X86_64)
		return fail(ld, -ENOEXEC, "%s: ELF file for machine %u, not x86", ld->path,
			    machine);
	if (phnum == 0 || phnum > MB_PHNUM_MAX ||
	    phentsize < (cls == ELFCLASS32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr)) ||
	    phoff > ld->fsize || (uint64_t)phnum * phentsize > ld->fsize - phoff)
		return fail(ld, -ENOEXEC, "%s: bad ELF program header table", ld->path);
	phys_entry = e_entry;
	for (i = 0; i < phnum; i++) {
		struct mb_phdr p;

		if (read_phdr(ld, cls, phoff + (uint64_t)i * phentsize, &p) < 0)
			return fail(ld, -ENOEXEC, "%s: truncated ELF program header", ld->path);
		if (p.type != PT_LOAD)
			continue;
		rc = copy_segment(ld, p.offset, p.paddr, p.filesz, p.memsz);
		if (rc < 0)
			return rc;
		if (e_entry >= p.vaddr && e_entry - p.vaddr < p.memsz)
			phys_entry = p.paddr + (e_entry - p.vaddr);
	}
	if (ld->nseg == 0)
		return fail(ld, -ENOEXEC, "%s: no loadable ELF segment", ld->path);
	if (phys_entry >= MB_4G)
		return fail(ld, -ENOEXEC, "%s: entry point 0x%llx is above 4 GiB", ld->path,
			    (unsigned long long)phys_entry);
	*entry = (uint32_t)phys_entry;
	*elf_class = cls == ELFCLASS32 ? 32 : 64;
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* First place of size bytes in RAM of the e820 map, below 4 GiB, above the
 * IVT and BIOS data area, and clear of the loaded image.  The map is sorted,
 * so conventional memory below 640 KiB is tried first. */
static int place_info(struct mb_loader *ld, const struct e820_entry *map, int nmap, uint64_t size,
		      uint64_t *gpa)
{
	int i, j;

	for (i = 0; i < nmap; i++) {
		uint64_t end = map[i].addr + map[i].size;
		uint64_t at;
		bool moved = true;

		if (map[i].type != E820_RAM)
			continue;
		if (end > MB_4G)
			end = MB_4G;
		at = align_up(map[i].addr > MB_LOW_FLOOR ? map[i].addr : MB_LOW_FLOOR, 16);
		while (moved && at < end && size <= end - at) {
			moved = false;
			for (j = 0; j < ld->nseg; j++) {
				if (at < ld->seg[j].end && ld->seg[j].start < at + size) {
					at = align_up(ld->seg[j].end, 16);
					moved = true;
				}
			}
		}
		if (!moved && at < end && size <= end - at && gmem_ptr(ld->m, at, size)) {
			*gpa = at;
			return 0;
		}
	}
	return fail(ld, -ENOMEM,
		    "%s: no room in guest RAM below 4 GiB for the Multiboot information (%llu "
		    "bytes)",
		    ld->path, (unsigned long long)size);
}

static uint32_t mmap_type(uint32_t e820_type)
{
	switch (e820_type) {
	case E820_RAM:
		return MB_MMAP_RAM;
	case E820_ACPI:
		return MB_MMAP_ACPI;
	case E820_NVS:
		return MB_MMAP_NVS;
	default:
		return MB_MMAP_RESERVED;
	}
}

/* §3.3 mem_lower / mem_upper: KiB of RAM from 0 (at most 640) and of RAM
 * contiguous from 1 MiB. */
static void mem_sizes(const struct e820_entry *map, int nmap, uint32_t *lower, uint32_t *upper)
{
	int i;

	*lower = *upper = 0;
	for (i = 0; i < nmap; i++) {
		uint64_t end = map[i].addr + map[i].size;

		if (map[i].type != E820_RAM)
			continue;
		if (map[i].addr == 0)
			*lower = (uint32_t)((end < MB_CONV_MAX ? end : MB_CONV_MAX) >> 10);
		if (map[i].addr <= MB_ONE_MIB && end > MB_ONE_MIB) {
			uint64_t kib = (end - MB_ONE_MIB) >> 10;

			*upper = kib > UINT32_MAX ? UINT32_MAX : (uint32_t)kib;
		}
	}
}

/* The area the loader writes, in this order: information structure, memory
 * map, loader name, command line, module list (4-byte aligned), module
 * string, GDT (8-byte aligned). */
struct mb_info_layout {
	uint64_t info, mmap, name, cmdline, mods, modstr, gdt, size;
	size_t cmdline_len; /* with the NUL */
	size_t modstr_len;  /* with the NUL; 0 without a module */
};

static void info_layout(int nmap, const char *cmdline, const char *module, struct mb_info_layout *l)
{
	l->info = 0;
	l->mmap = MULTIBOOT_INFO_SIZE;
	l->name = l->mmap + (uint64_t)nmap * MULTIBOOT_MMAP_ENTRY_SIZE;
	l->cmdline = l->name + sizeof(MULTIBOOT_LOADER_NAME);
	l->cmdline_len = cmdline ? strlen(cmdline) + 1 : 0;
	l->mods = align_up(l->cmdline + l->cmdline_len, 4);
	l->modstr = l->mods + (module ? MULTIBOOT_MOD_ENTRY_SIZE : 0);
	l->modstr_len = module ? strlen(module) + 1 : 0;
	l->gdt = align_up(l->modstr + l->modstr_len, 8);
	l->size = l->gdt + GDT_SIZE;
}

/* §3.3 mods: one entry, its string after it. */
static void write_module(uint8_t *p, uint64_t base, const struct mb_info_layout *l,
			 const char *module, struct multiboot_boot *out)
{
	uint8_t *e = p + l->mods;

	le32_put(e, (uint32_t)out->mod_start);
	le32_put(e + 4, (uint32_t)out->mod_end);
	le32_put(e + 8, (uint32_t)(base + l->modstr));
	le32_put(e + 12, 0);
	memcpy(p + l->modstr, module, l->modstr_len);
	le32_put(p + MULTIBOOT_INFO_OFF_MODS_COUNT, 1);
	le32_put(p + MULTIBOOT_INFO_OFF_MODS_ADDR, (uint32_t)(base + l->mods));
	out->mods_gpa = base + l->mods;
}

static int write_info(struct mb_loader *ld, const struct e820_entry *map, int nmap,
		      const char *cmdline, const char *module, struct multiboot_boot *out)
{
	struct mb_info_layout l;
	uint32_t flags =
	    MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_LOADER_NAME;
	uint32_t lower, upper;
	uint64_t base = 0;
	uint8_t *p;
	int i, rc;

	info_layout(nmap, cmdline, module, &l);
	if (l.cmdline_len > MB_CMDLINE_MAX)
		return fail(ld, -E2BIG, "command line longer than %d bytes", MB_CMDLINE_MAX - 1);
	if (l.modstr_len > MB_CMDLINE_MAX)
		return fail(ld, -E2BIG, "module name longer than %d bytes", MB_CMDLINE_MAX - 1);
	rc = place_info(ld, map, nmap, l.size, &base);
	if (rc < 0)
		return rc;
	p = gmem_ptr(ld->m, base, l.size);
	if (!p)
		return fail(ld, -ERANGE, "Multiboot information outside guest RAM");
	memset(p, 0, (size_t)l.size);
	mem_sizes(map, nmap, &lower, &upper);
	le32_put(p + MULTIBOOT_INFO_OFF_MEM_LOWER, lower);
	le32_put(p + MULTIBOOT_INFO_OFF_MEM_UPPER, upper);
	/* §3.3: mmap_addr points at the first entry's size field; each entry
	 * is followed by the next at size + 4 bytes. */
	for (i = 0; i < nmap; i++) {
		uint8_t *e = p + l.mmap + (size_t)i * MULTIBOOT_MMAP_ENTRY_SIZE;

		le32_put(e, MULTIBOOT_MMAP_ENTRY_SIZE - 4);
		le64_put(e + 4, map[i].addr);
		le64_put(e + 12, map[i].size);
		le32_put(e + 20, mmap_type(map[i].type));
	}
	le32_put(p + MULTIBOOT_INFO_OFF_MMAP_LENGTH, (uint32_t)nmap * MULTIBOOT_MMAP_ENTRY_SIZE);
	le32_put(p + MULTIBOOT_INFO_OFF_MMAP_ADDR, (uint32_t)(base + l.mmap));
	memcpy(p + l.name, MULTIBOOT_LOADER_NAME, sizeof(MULTIBOOT_LOADER_NAME));
	le32_put(p + MULTIBOOT_INFO_OFF_LOADER_NAME, (uint32_t)(base + l.name));
	if (cmdline) {
		memcpy(p + l.cmdline, cmdline, l.cmdline_len);
		le32_put(p + MULTIBOOT_INFO_OFF_CMDLINE, (uint32_t)(base + l.cmdline));
		flags |= MULTIBOOT_INFO_CMDLINE;
		out->cmdline_gpa = base + l.cmdline;
	}
	if (module) {
		write_module(p, base, &l, module, out);
		flags |= MULTIBOOT_INFO_MODS;
	}
	le32_put(p + MULTIBOOT_INFO_OFF_FLAGS, flags);
	le64_put(p + l.gdt + 8, GDT_CODE32);
	le64_put(p + l.gdt + 16, GDT_DATA32);
	out->info_gpa = base;
	out->info_size = l.size;
	out->mmap_gpa = base + l.mmap;
	out->loader_name_gpa = base + l.name;
	out->gdt_base = base + l.gdt;
	out->gdt_limit = GDT_SIZE - 1;
	return 0;
}

static void flat_segment(struct bzimage_seg *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xFFFFFFFFu;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/* §3.2 "Machine state": flat 32-bit CS (execute/read) and data segments,
 * A20 on (always, under KVM), CR0.PG clear and PE set, EFLAGS.VM and IF
 * clear.  ET is set as on every processor since the 486; CD and NW are
 * clear so that caching works.  TR: VM entry wants a usable TSS type in
 * protected mode (SDM vol. 3, "Checks on Guest Segment Registers"). */
static void machine_state(struct multiboot_boot *b)
{
	b->eax = MULTIBOOT_BOOTLOADER_MAGIC;
	b->eflags = 0x2;
	b->cr0 = 0x11;
	b->cr4 = 0;
	b->efer = 0;
	flat_segment(&b->cs, MULTIBOOT_SEL_CS, 0xB);
	flat_segment(&b->ds, MULTIBOOT_SEL_DS, 0x3);
	memset(&b->tr, 0, sizeof(b->tr));
	b->tr.type = 11;
	b->tr.present = 1;
	b->tr.limit = 0x67;
}

static void load_bounds(const struct mb_loader *ld, struct multiboot_boot *b)
{
	int i;

	b->load_start = UINT64_MAX;
	b->load_end = 0;
	for (i = 0; i < ld->nseg; i++) {
		if (ld->seg[i].start < b->load_start)
			b->load_start = ld->seg[i].start;
		if (ld->seg[i].end > b->load_end)
			b->load_end = ld->seg[i].end;
	}
}

/* Where a module of size bytes goes: the first page boundary at or after
 * from that starts size bytes of e820 RAM below 4 GiB. */
static int place_module(struct mb_loader *ld, const struct e820_entry *map, int nmap, uint64_t from,
			uint64_t size, uint64_t *gpa)
{
	uint64_t need = size ? size : 1;
	int i;

	for (i = 0; i < nmap; i++) {
		uint64_t end = map[i].addr + map[i].size;
		uint64_t at = map[i].addr > from ? map[i].addr : from;

		at = align_up(at, MULTIBOOT_MOD_ALIGN);
		if (map[i].type != E820_RAM)
			continue;
		if (end > MB_4G)
			end = MB_4G;
		if (at < end && need <= end - at && gmem_ptr(ld->m, at, need)) {
			*gpa = at;
			return 0;
		}
	}
	return fail(ld, -ENOMEM,
		    "no room in guest RAM below 4 GiB after the kernel for the Multiboot "
		    "module (%llu bytes)",
		    (unsigned long long)size);
}

/* §3.3 "mods": the file at module, page aligned after the image (as the
 * header's flag 0 may demand), and kept clear of the information area. */
static int load_module(struct mb_loader *ld, const char *module, const struct e820_entry *map,
		       int nmap, struct multiboot_boot *out)
{
	struct stat st;
	uint64_t gpa = 0, size;
	int fd, rc;

	if (ld->nseg >= MB_MAX_SEGS)
		return fail(ld, -E2BIG, "%s: too many loadable segments to add a module", ld->path);
	fd = open(module, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(ld, -errno, "Multiboot module %s: %s", module, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = fail(ld, -EINVAL, "Multiboot module %s: not a regular file", module);
		goto out;
	}
	size = (uint64_t)st.st_size;
	rc = place_module(ld, map, nmap, out->load_end, size, &gpa);
	if (rc < 0)
		goto out;
	rc = read_at(fd, 0, gmem_ptr(ld->m, gpa, size ? size : 1), (size_t)size);
	if (rc < 0) {
		rc = fail(ld, rc, "Multiboot module %s: %s", module, strerror(-rc));
		goto out;
	}
	out->mod_start = gpa;
	out->mod_end = gpa + size;
	ld->seg[ld->nseg].start = gpa;
	ld->seg[ld->nseg].end = gpa + (size ? size : 1);
	ld->nseg++;
out:
	close(fd);
	return rc;
}

int multiboot_load(const struct gmem *m, const char *path, const char *cmdline,
		   const struct e820_entry *map, int nmap, struct multiboot_boot *out, char *err,
		   size_t errlen)
{
	return multiboot_load_module(m, path, cmdline, NULL, map, nmap, out, err, errlen);
}

int multiboot_load_module(const struct gmem *m, const char *path, const char *cmdline,
			  const char *module, const struct e820_entry *map, int nmap,
			  struct multiboot_boot *out, char *err, size_t errlen)
{
	struct mb_loader ld = { .m = m, .path = path, .err = err, .errlen = errlen };
	struct mb_header h = { 0 };
	struct stat st;
	uint32_t entry = 0;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	ld.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ld.fd < 0)
		return fail(&ld, -errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(ld.fd, &st) < 0) {
		rc = fail(&ld, -errno, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	ld.fsize = (uint64_t)st.st_size;
	rc = read_header(&ld, &h);
	if (rc < 0)
		goto out;
	if (h.flags & MULTIBOOT_HDR_AOUT_KLUDGE)
		rc = load_kludge(&ld, &h, &entry);
	else
		rc = load_elf(&ld, &entry, &out->elf_class);
	if (rc < 0)
		goto out;
	if (!in_loaded(&ld, entry)) {
		rc = fail(&ld, -ENOEXEC, "%s: entry point 0x%x is outside the loaded image", path,
			  entry);
		goto out;
	}
	load_bounds(&ld, out);
	if (module) {
		rc = load_module(&ld, module, map, nmap, out);
		if (rc < 0)
			goto out;
	}
	rc = write_info(&ld, map, nmap, cmdline, module, out);
	if (rc < 0)
		goto out;
	machine_state(out);
	out->eip = entry;
	out->ebx = (uint32_t)out->info_gpa;
out:
	close(ld.fd);
	return rc;
}
