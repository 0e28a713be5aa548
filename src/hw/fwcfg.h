/* QEMU's firmware configuration interface, fw_cfg (bhyve -l fwcfg,qemu;
 * QEMU docs/specs/fw_cfg.rst), on the x86 I/O ports:
 *   0x510       selector, 16-bit writes (bit 15: architecture-specific
 *               items, of which there are none; bit 14, the old write
 *               channel, is ignored)
 *   0x511       data, 8-bit reads: the next byte of the selected item, 0
 *               past its end; writes are ignored
 *   0x514-0x51b DMA address, big-endian: a 32-bit write at 0x514 sets the
 *               high half, one at 0x518 the low half and starts the
 *               transfer the FWCfgDmaAccess at that guest address
 *               describes; reads give the signature "QEMU CFG" (only with
 *               guest memory to reach: fwcfg_config.gmem)
 * Items: signature "QEMU" (0x00), feature bitmap 3: traditional and DMA
 * interfaces (0x01), RAM size (0x03, 64-bit), CPU count (0x05, 16-bit),
 * maximum CPUs (0x0f, 16-bit), the file directory (0x19) and the files
 * added with fwcfg_add_file() (-f), at selectors 0x20 and up, sorted by
 * name.  Every item is read-only: a DMA write sets the error bit.
 * DMA reaches guest RAM only, through gmem: a descriptor or buffer outside
 * RAM is never touched (for a bad buffer the error bit is set in the
 * descriptor's control word). */
#ifndef BHYVE_HW_FWCFG_H
#define BHYVE_HW_FWCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FWCFG_PORT_SELECTOR 0x510
#define FWCFG_PORT_DATA	    0x511
#define FWCFG_PORT_DMA	    0x514
#define FWCFG_DMA_LEN	    8

/* Items (fw_cfg.rst "Firmware Configuration Items"; QEMU's numbering). */
#define FWCFG_SIGNATURE	 0x00
#define FWCFG_ID	 0x01
#define FWCFG_RAM_SIZE	 0x03
#define FWCFG_NB_CPUS	 0x05
#define FWCFG_MAX_CPUS	 0x0f
#define FWCFG_FILE_DIR	 0x19
#define FWCFG_FILE_FIRST 0x20

/* FWCfgDmaAccess.control bits. */
#define FWCFG_DMA_ERROR	 0x01
#define FWCFG_DMA_READ	 0x02
#define FWCFG_DMA_SKIP	 0x04
#define FWCFG_DMA_SELECT 0x08
#define FWCFG_DMA_WRITE	 0x10

#define FWCFG_NAME_MAX	55 /* bytes of a file name, NUL excluded */
#define FWCFG_MAX_FILES 1024
#define FWCFG_FILE_MAX	0xFFFFFFFFull /* the directory's size field */

struct fwcfg;
struct gmem;
struct inout;
struct config;

struct fwcfg_config {
	const struct gmem *gmem; /* DMA target; NULL: the DMA interface is off */
	uint64_t ram_size;
	uint16_t ncpus;
	uint16_t max_cpus;
};

struct fwcfg *fwcfg_new(const struct fwcfg_config *cfg);
void fwcfg_free(struct fwcfg *f);
/* Add a file of len bytes (copied).  0, -EINVAL (empty name, longer than
 * FWCFG_NAME_MAX, or control characters), -EEXIST (the name is taken),
 * -EFBIG (len above FWCFG_FILE_MAX), -ENOSPC (FWCFG_MAX_FILES reached),
 * -ENOMEM. */
int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, size_t len);
/* 0 if path names a regular file that can be read and is no larger than
 * FWCFG_FILE_MAX; else a negative errno (-EINVAL: not a regular file,
 * -EFBIG: too large). */
int fwcfg_check_file(const char *path);
/* Add the files of the configuration tree: fw_cfg.<N>.name with either
 * fw_cfg.<N>.string (the string and its terminating NUL, as bhyve) or
 * fw_cfg.<N>.file (a host file's contents).  On error err (errlen bytes)
 * says which and why. */
int fwcfg_add_config_files(struct fwcfg *f, const struct config *cfg, char *err, size_t errlen);
/* Register ports 0x510-0x511 and 0x514-0x51b. */
int fwcfg_register(struct fwcfg *f, struct inout *io);
/* inout_fn for both ranges; arg is the struct fwcfg.  -1 for a port
 * outside them. */
int fwcfg_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);

#endif
