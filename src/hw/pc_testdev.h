/* pc-testdev (bhyve -l pc-testdev): the legacy test and debug interfaces the
 * KVM project's x86 test suite (kvm-unit-tests) expects of a PC, at their
 * customary addresses:
 *   0xF4-0xF7       exit port: a write of V ends the runner with status
 *                   (V << 1) | 1 (as the shell sees it: the low 8 bits);
 *                   reads return 0
 *   0xE0-0xE3       a 32-bit scratch register, any byte offset and size
 *   0xE4-0xE7       "page flush": 4-byte writes accepted, nothing to do on
 *                   KVM; reads return 0
 *   0xE8-0xEB       four byte-wide scratch registers
 *   0x2000+N        1-byte write: GSI N (ISA IRQ N below 16, I/O APIC pin
 *                   N from 16) set to the level written, for every pin of
 *                   the I/O APIC; reads return 0
 *   0xFF000000      64 KiB of RAM-like MMIO: reads return what was written;
 *                   an access that crosses the end is refused
 * Everything the guest sends is checked: ports and MMIO offsets against the
 * ranges above, sizes against the register, pin numbers against npins. */
#ifndef BHYVE_HW_PC_TESTDEV_H
#define BHYVE_HW_PC_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#define PC_TESTDEV_EXIT_PORT	0xF4
#define PC_TESTDEV_EXIT_LEN	4
#define PC_TESTDEV_SCRATCH_PORT 0xE0
#define PC_TESTDEV_FLUSH_PORT	0xE4
#define PC_TESTDEV_BYTES_PORT	0xE8
#define PC_TESTDEV_REG_LEN	4
#define PC_TESTDEV_IRQ_PORT	0x2000
#define PC_TESTDEV_IOMEM_BASE	0xFF000000ULL
#define PC_TESTDEV_IOMEM_SIZE	0x10000ULL
#define PC_TESTDEV_MAX_PINS	256

struct pc_testdev;
struct inout;
struct mmio;

struct pc_testdev_config {
	/* Drive GSI pin to level (0 or 1); 0 or a negative errno. */
	int (*irq_line)(void *ctx, unsigned pin, int level);
	/* The guest wrote the exit port: end the runner with status. */
	void (*exit)(void *ctx, int status);
	void *ctx;
	unsigned npins; /* I/O APIC pins, 1 to PC_TESTDEV_MAX_PINS */
};

/* NULL with errno set (EINVAL for a bad config, ENOMEM). */
struct pc_testdev *pc_testdev_new(const struct pc_testdev_config *cfg);
void pc_testdev_free(struct pc_testdev *d);
/* Register every port range and the MMIO region: 0 or a negative errno
 * (-EEXIST when something else already holds one of them). */
int pc_testdev_register(struct pc_testdev *d, struct inout *io, struct mmio *mmio);
/* The handlers, for tests: inout_fn and mmio_fn with arg the device.  Both
 * return -1 for an access outside the device's ranges. */
int pc_testdev_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);
int pc_testdev_mmio(void *arg, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val);
/* The exit status for a value written to the exit port. */
int pc_testdev_exit_status(uint32_t value);

#endif
