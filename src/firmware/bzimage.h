/* Direct boot of a Linux bzImage through the 64-bit entry point of the Linux
 * x86 boot protocol (Documentation/arch/x86/boot.rst, "64-bit Boot
 * Protocol", protocol 2.12 or later), and the boot_params, GDT and page
 * tables of that entry for other kernel formats (firmware/vmlinux.h). */
#ifndef BHYVE_FIRMWARE_BZIMAGE_H
#define BHYVE_FIRMWARE_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/e820.h"
#include "gmem.h"

/* GDT selectors the protocol requires: __BOOT_CS and __BOOT_DS. */
#define BZIMAGE_SEL_CS 0x10
#define BZIMAGE_SEL_DS 0x18

/* A segment register's hidden part, as plain values: copy them one by one
 * into struct kvm_segment.  limit is in bytes (granularity already applied),
 * as KVM wants it. */
struct bzimage_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type; /* descriptor type field, bits 0-3 */
	uint8_t present;
	uint8_t dpl;
	uint8_t db;
	uint8_t s; /* 1: code/data, 0: system */
	uint8_t l; /* 64-bit code */
	uint8_t g;
};

enum bzimage_seg_id {
	BZIMAGE_SEG_CS, /* flat 64-bit code, selector 0x10 */
	BZIMAGE_SEG_DS, /* flat data, selector 0x18: DS, ES, SS (and FS, GS) */
	BZIMAGE_SEG_TR, /* a minimal busy 64-bit TSS: VMX needs a usable TR */
};

/* The vCPU state at the 64-bit entry point. */
struct bzimage_boot {
	uint64_t rip;	 /* bzImage: protected-mode kernel + 0x200 */
	uint64_t rsi;	 /* boot_params (zero page) */
	uint64_t cr0;	 /* PE | ET | NE | PG */
	uint64_t cr3;	 /* identity map of [0, 4 GiB) */
	uint64_t cr4;	 /* PAE */
	uint64_t efer;	 /* LME | LMA */
	uint64_t rflags; /* 0x2: interrupts disabled */
	uint64_t gdt_base;
	uint16_t gdt_limit;
	struct bzimage_seg cs, ds, tr;
	/* Where things went, for logs and tests. */
	uint64_t kernel_gpa, kernel_size;
	uint64_t initrd_gpa, initrd_size;
	uint64_t cmdline_gpa;
	uint16_t protocol; /* boot protocol version, e.g. 0x020f */
};

/* The setup header as it sits in boot_params (boot.rst, "The Real-Mode
 * Kernel Header"; zero-page.rst): bytes [BZIMAGE_HDR_START, hdr_end) of
 * struct bzimage_kernel's hdr, at their boot_params offsets. */
#define BZIMAGE_HDR_START 0x1F1
#define BZIMAGE_HDR_END	  0x290 /* room boot_params has for the header */

/* A kernel already loaded into guest memory, handed to bzimage_boot64()
 * for the rest of a 64-bit boot.  The bzImage loader copies hdr from the
 * file; a loader of an image without one (vmlinux) writes the fields the
 * kernel reads: boot_flag, "HdrS", version, loadflags, cmdline_size,
 * initrd_addr_max, kernel_alignment. */
struct bzimage_kernel {
	uint8_t hdr[BZIMAGE_HDR_END];
	size_t hdr_end;	    /* end of the setup header, <= BZIMAGE_HDR_END */
	uint64_t load_gpa;  /* first byte of the loaded image */
	uint64_t load_size; /* bytes from load_gpa the image occupies */
	uint64_t end_gpa;   /* end of all RAM the kernel claims: the initrd goes above */
	uint64_t entry;	    /* guest-physical 64-bit entry point */
};

/* Load kernel_path (a bzImage) into guest memory, with initrd_path and
 * cmdline when not NULL, and build boot_params (with the e820 map given),
 * the GDT and the identity-map page tables at the addresses of
 * firmware/layout.h.  Kernel and initrd go into the RAM entry of map that
 * holds 1 MiB.  On success fills *out and returns 0; on failure returns a
 * negative errno with a message in err (errlen bytes; err may be NULL). */
int bzimage_load(const struct gmem *m, const char *kernel_path, const char *initrd_path,
		 const char *cmdline, const struct e820_entry *map, int nmap,
		 struct bzimage_boot *out, char *err, size_t errlen);

/* The second half of every 64-bit boot: with the kernel k in guest memory,
 * load initrd_path (when not NULL) as high as the map's low RAM entry and
 * k's initrd_addr_max allow, above k->end_gpa; write cmdline (NULL: empty;
 * at most k's cmdline_size bytes), boot_params (k's setup header, the
 * loader's fields, the e820 map), the GDT and the identity-map page tables
 * at the addresses of firmware/layout.h; fill *out with the vCPU state for
 * entry at k->entry with RSI = boot_params.  0, or a negative errno with a
 * message in err (errlen bytes; err may be NULL). */
int bzimage_boot64(const struct gmem *m, const struct bzimage_kernel *k, const char *initrd_path,
		   const char *cmdline, const struct e820_entry *map, int nmap,
		   struct bzimage_boot *out, char *err, size_t errlen);

/* The hidden segment state that matches the GDT bzimage_load writes. */
void bzimage_segment(enum bzimage_seg_id id, struct bzimage_seg *out);

#endif
