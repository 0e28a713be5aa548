/* Direct boot of an uncompressed x86-64 Linux kernel, the ELF64 "vmlinux"
 * image: no decompressor runs in the guest.  Each PT_LOAD segment goes to
 * its physical address (p_paddr) and the kernel is entered at its ELF entry
 * point (startup_64) with the vCPU state, boot_params, GDT and page tables
 * of the 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit
 * Boot Protocol"), shared with the bzImage loader (firmware/bzimage.h). */
#ifndef BHYVE_FIRMWARE_VMLINUX_H
#define BHYVE_FIRMWARE_VMLINUX_H

#include <stddef.h>

#include "firmware/bzimage.h"
#include "firmware/e820.h"
#include "gmem.h"

/* More program headers than this is not a kernel (Linux has about 5). */
#define VMLINUX_MAX_PHDRS 64

/* 1 if the file at path starts with the ELF magic, 0 if not, a negative
 * errno if it cannot be read.  Only the magic is looked at: whether the ELF
 * file is a bootable x86-64 kernel is vmlinux_load()'s to say. */
int vmlinux_probe(const char *path);

/* Load the vmlinux at kernel_path: check its ELF header and every PT_LOAD
 * segment (inside the file, inside a RAM entry of map and guest memory,
 * below 4 GiB, clear of each other and of the loader's fixed areas of
 * firmware/layout.h) before writing anything, copy the segments and zero
 * their memsz - filesz tails; then, as bzimage_boot64(), the initrd (above
 * the kernel), the command line (at most 2047 bytes), boot_params, GDT and
 * page tables.  On success *out holds the vCPU state for entry at the
 * physical address of e_entry with RSI = boot_params, kernel_gpa and
 * kernel_size the span of the segments, and 0 is returned; otherwise a
 * negative errno with a message naming the file in err (errlen bytes; err
 * may be NULL). */
int vmlinux_load(const struct gmem *m, const char *kernel_path, const char *initrd_path,
		 const char *cmdline, const struct e820_entry *map, int nmap,
		 struct bzimage_boot *out, char *err, size_t errlen);

#endif
