#include "hw/legacy.h"

#include <stdbool.h>
#include <stdint.h>

#include "inout.h"
#include "vm.h"

#define POST_PORT	    0x80
#define KBC_DATA_PORT	    0x60
#define KBC_CMD_PORT	    0x64
#define KBC_CMD_PULSE_RESET 0xfe
#define RCR_RST_CPU	    0x04
#define NOTIFY_PORT	    0x488

/* Writes to the POST port are progress codes for a diagnostic card; reads
 * see no card. */
static int post_io(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	if (in)
		*val = 0xffffffffu;
	return 0;
}

/* No PS/2 controller is emulated: the status and data registers read as
 * all-ones, which guests take for "no controller", but the pulse-reset
 * command that BIOSes and kernels use to reboot is honoured (8042 command
 * 0xFE pulses the CPU reset line). */
static int kbc_io(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct vm *vm = arg;

	if (in) {
		*val = 0xffffffffu;
		return 0;
	}
	if (port == KBC_CMD_PORT && (*val & 0xff) == KBC_CMD_PULSE_RESET) {
		vm_stats_add(&vm->stats.io_reset);
		vm_request_exit(vm, VM_EXIT_REBOOT);
	}
	return 0;
}

/* The reset control register (Intel PCH datasheets, RST_CNT at 0xCF9): a
 * write with RST_CPU set resets the system; the other bits are kept so a
 * read-modify-write sequence sees them. A 32-bit access at 0xCF8 is the PCI
 * configuration address, not this register, so only byte accesses count. */
int legacy_reset_control_io(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct vm *vm = arg;

	if (bytes != 1)
		return -1;
	if (in) {
		*val = __atomic_load_n(&vm->reset_control, __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_store_n(&vm->reset_control, (uint8_t)(*val & ~RCR_RST_CPU), __ATOMIC_RELAXED);
	if (*val & RCR_RST_CPU) {
		vm_stats_add(&vm->stats.io_reset);
		vm_request_exit(vm, VM_EXIT_REBOOT);
	}
	return 0;
}

/* Port 0x488: a guest notification that carries nothing we act on. */
static int notify_io(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	if (in)
		*val = 0xffffffffu;
	return 0;
}

int legacy_init(struct vm *vm)
{
	int rc;

	rc = inout_register(vm->io, POST_PORT, 1, post_io, vm, "post");
	if (!rc)
		rc = inout_register(vm->io, KBC_DATA_PORT, 1, kbc_io, vm, "atkbdc");
	if (!rc)
		rc = inout_register(vm->io, KBC_CMD_PORT, 1, kbc_io, vm, "atkbdc");
	if (!rc)
		rc = inout_register(vm->io, NOTIFY_PORT, 1, notify_io, vm, "notify");
	return rc;
}
