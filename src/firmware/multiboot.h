/* Loading a Multiboot kernel (Multiboot Specification version 0.6.96): an
 * ELF32 or ELF64 image, or any image with the header's address fields (the
 * "a.out kludge", header flag 16), entered in 32-bit protected mode with
 * paging off, EAX = 0x2BADB002 and EBX = the Multiboot information
 * structure; optionally with one boot module (--initrd on a Multiboot
 * kernel, as QEMU's -initrd), page aligned after the image.  Application
 * processors are not touched: they wait for INIT/SIPI. */
#ifndef BHYVE_FIRMWARE_MULTIBOOT_H
#define BHYVE_FIRMWARE_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/bzimage.h"
#include "firmware/e820.h"
#include "gmem.h"

/* Multiboot 0.6.96 §3.1.1 and §3.2. */
#define MULTIBOOT_HEADER_MAGIC	   0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH	   8192 /* the header lies in these bytes */

/* Header flags (§3.1.2) this loader honours. */
#define MULTIBOOT_HDR_PAGE_ALIGN  (1u << 0)  /* modules page aligned */
#define MULTIBOOT_HDR_MEMORY_INFO (1u << 1)  /* mem_* and mmap wanted */
#define MULTIBOOT_HDR_VIDEO_MODE  (1u << 2)  /* not offered: refused */
#define MULTIBOOT_HDR_AOUT_KLUDGE (1u << 16) /* address fields valid */

/* Information structure flags (§3.3). */
#define MULTIBOOT_INFO_MEMORY	   (1u << 0)
#define MULTIBOOT_INFO_CMDLINE	   (1u << 2)
#define MULTIBOOT_INFO_MODS	   (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP	   (1u << 6)
#define MULTIBOOT_INFO_LOADER_NAME (1u << 9)

/* Byte offsets of the information structure's fields (§3.3). */
#define MULTIBOOT_INFO_OFF_FLAGS       0
#define MULTIBOOT_INFO_OFF_MEM_LOWER   4
#define MULTIBOOT_INFO_OFF_MEM_UPPER   8
#define MULTIBOOT_INFO_OFF_CMDLINE     16
#define MULTIBOOT_INFO_OFF_MODS_COUNT  20
#define MULTIBOOT_INFO_OFF_MODS_ADDR   24
#define MULTIBOOT_INFO_OFF_MMAP_LENGTH 44
#define MULTIBOOT_INFO_OFF_MMAP_ADDR   48
#define MULTIBOOT_INFO_OFF_LOADER_NAME 64
#define MULTIBOOT_INFO_SIZE	       88 /* up to the VBE fields */
/* One memory map entry: size (4, not counting itself), base_addr (8),
 * length (8), type (4). */
#define MULTIBOOT_MMAP_ENTRY_SIZE 24
/* One module entry (§3.3 mods): mod_start, mod_end (the first byte after
 * the module), string, reserved. */
#define MULTIBOOT_MOD_ENTRY_SIZE 16
#define MULTIBOOT_MOD_ALIGN	 4096

/* GDT selectors of the flat segments the loader sets up (the spec only
 * wants the hidden parts to be flat; the GDT is a courtesy). */
#define MULTIBOOT_SEL_CS 0x08
#define MULTIBOOT_SEL_DS 0x10

#define MULTIBOOT_LOADER_NAME "bhyve"

/* The machine state at the kernel's entry (§3.2), as plain values: copy
 * the segments into struct kvm_sregs (CS; DS into DS, ES, FS, GS and SS;
 * TR) and the rest into struct kvm_regs / kvm_sregs. */
struct multiboot_boot {
	uint32_t eip;	 /* entry point */
	uint32_t eax;	 /* MULTIBOOT_BOOTLOADER_MAGIC */
	uint32_t ebx;	 /* information structure */
	uint32_t eflags; /* 0x2: VM and IF clear */
	uint64_t cr0;	 /* PE | ET: paging off */
	uint64_t cr4;	 /* 0 */
	uint64_t efer;	 /* 0 */
	uint64_t gdt_base;
	uint16_t gdt_limit;
	struct bzimage_seg cs; /* flat 32-bit code, execute/read */
	struct bzimage_seg ds; /* flat 32-bit data, read/write */
	struct bzimage_seg tr; /* a busy 32-bit TSS: VMX wants a usable TR */
	/* Where things went, for logs and tests. */
	uint64_t load_start, load_end; /* lowest and highest byte + 1 */
	uint64_t info_gpa, info_size;  /* everything the loader wrote */
	uint64_t mmap_gpa, cmdline_gpa, loader_name_gpa;
	uint64_t mods_gpa;	     /* the module list, 0 without a module */
	uint64_t mod_start, mod_end; /* the module's bytes */
	int elf_class;		     /* 32 or 64, 0 for the address fields */
};

/* 1 if the first MULTIBOOT_SEARCH bytes of path hold a Multiboot header
 * (32-bit aligned magic with a valid checksum), 0 if not, negative errno
 * when the file cannot be read. */
int multiboot_probe(const char *path);

/* Load the Multiboot kernel at path into guest memory (every byte checked
 * against RAM through gmem), build the information structure (memory sizes
 * and map from the e820 map given, the command line when not NULL, the
 * loader name) and a flat GDT in low RAM that the image does not use, and
 * fill *out.  0, or a negative errno with a message in err (errlen bytes;
 * err may be NULL). */
int multiboot_load(const struct gmem *m, const char *path, const char *cmdline,
		   const struct e820_entry *map, int nmap, struct multiboot_boot *out, char *err,
		   size_t errlen);

/* As multiboot_load(), and when module is not NULL, load that file as the
 * one boot module (§3.3 mods_count = 1): on the first page boundary after
 * the image that starts a stretch of e820 RAM below 4 GiB big enough for
 * it, with the module path itself as its string. */
int multiboot_load_module(const struct gmem *m, const char *path, const char *cmdline,
			  const char *module, const struct e820_entry *map, int nmap,
			  struct multiboot_boot *out, char *err, size_t errlen);

#endif
