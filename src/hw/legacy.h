/* Fixed legacy PC ports that every guest expects: the POST diagnostic port
 * 0x80, the keyboard controller's reset command (port 0x64, 0xFE), the reset
 * control register 0xCF9 (reached through the PCI core), and the guest
 * notification port 0x488. */
#ifndef BHYVE_HW_LEGACY_H
#define BHYVE_HW_LEGACY_H

struct vm;

#include <stdbool.h>
#include <stdint.h>

int legacy_init(struct vm *vm);
/* The reset control register at 0xCF9 (byte accesses, arg is the vm): its
 * port lies inside the PCI configuration address dword 0xCF8-0xCFB, so the
 * PCI core owns the range and forwards byte accesses at 0xCF9 here. */
int legacy_reset_control_io(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);

#endif
