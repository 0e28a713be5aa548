/* The PCI root complex as the platform sees it: configuration mechanism #1
 * (ports 0xCF8/0xCFC) and ECAM, the functions configured under pci.B.S.F,
 * BAR windows, INTx routing and MSI delivery.  The core never calls KVM: it
 * registers its handlers in the dispatchers it is given and reaches the
 * interrupt controllers through the platform's callbacks.
 *
 * Address map (bhyve's, SPEC §4):
 *   I/O BARs              [0x2000, 0x10000)
 *   32-bit memory BARs    [LAYOUT_PCI32_BASE, LAYOUT_ECAM_BASE)
 *   64-bit memory BARs    32 GiB from roundup(4 GiB + highmem, 32 GiB)
 * 64-bit BARs of 128 MiB or less go in the 32-bit window, as in bhyve,
 * because some guests mishandle BARs above 4 GiB; larger ones (or any that no
 * longer fit below 4 GiB) go above.  BARs are placed largest first, each
 * naturally aligned.  Each bus gets its own slice of every window (its ACPI
 * _CRS), followed by some slack the guest may use when reprogramming.
 *
 * INTx (bhyve's PIIX/ICH-style router): every (bus, slot, pin) in use is tied
 * to one of eight PIRQ lines A-H, the least used one; PIRQ n is wired to I/O
 * APIC input 16 + n (level, active low), and is also steered to an ISA IRQ
 * by its PIRQ register (LPC bridge, 0x60-0x63 and 0x68-0x6B: bit 7 disables,
 * bits 3:0 the IRQ; IRQs 3-7, 9-12 and 14-15 are valid).  The function's
 * Interrupt Line register holds that ISA IRQ.
 *
 * PIC: bhyve drives both the I/O APIC input and the PIRQ's ISA IRQ.  With
 * KVM's in-kernel irqchip a GSI below 16 reaches the PIC *and* the I/O APIC
 * input of the same number, which would disturb the ISA device there.  So the
 * core drives the PIC only through the optional pic_line callback, which the
 * platform must route to the PIC alone (e.g. KVM_SET_GSI_ROUTING with a
 * PIC-only entry); without it PCI INTx reaches the guest only via the I/O
 * APIC, which is what every guest that uses ACPI or the MP table programs.
 */
#ifndef BHYVE_PCI_PCI_H
#define BHYVE_PCI_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inout.h"

struct config;
struct gmem;
struct mevent_loop;
struct mmio;
struct pci;
struct pci_devemu;

#define PCI_NBUS	  256
#define PCI_NSLOT	  32
#define PCI_NFUNC	  8
#define PCI_NPIRQ	  8
#define PCI_PIRQ_GSI_BASE 16 /* PIRQ A -> I/O APIC input 16 */

#define PCI_IO_BASE    0x2000u
#define PCI_IO_LIMIT   0x10000u
#define PCI_MEM64_SIZE (32ull << 30)

#define PCI_CONF1_ADDR_PORT 0xcf8
#define PCI_CONF1_DATA_PORT 0xcfc

struct pci_platform {
	struct inout *io;
	struct mmio *mmio;
	const struct gmem *gmem;  /* handed to device models */
	struct mevent_loop *loop; /* for device back ends; may be NULL */
	/* Level of an I/O APIC input (GSI 16-23 here).  Must not call back
	 * into the PCI core. */
	int (*irq_line)(void *ctx, unsigned gsi, int level);
	/* One MSI write (address, data). */
	int (*msi)(void *ctx, uint64_t addr, uint32_t data);
	/* Optional: level of a PIC input (ISA IRQ 3-15), see above. */
	int (*pic_line)(void *ctx, unsigned isa_irq, int level);
	void *ctx;
	/* Optional: the byte register at 0xCF9 (reset control), which shares
	 * the dword 0xCF8-0xCFB that the core must own because the dispatcher
	 * hands an access to one range only.  Gets 1-byte accesses at 0xCF9. */
	inout_fn *cf9_io;
	void *cf9_arg;
	/* BAR windows, [base, limit). */
	uint32_t io_base, io_limit;
	uint64_t mem32_base, mem32_limit;
	uint64_t mem64_base, mem64_limit;
	/* Optional, for pci_ioeventfd(): have fd signalled (instead of an exit
	 * to user space) when the guest writes len bytes at addr in I/O (pio)
	 * or memory space, only the value data when datamatch (KVM_IOEVENTFD);
	 * assign false removes it.  0 or a negative errno. */
	int (*ioeventfd)(void *ctx, bool pio, uint64_t addr, int len, bool datamatch, uint64_t data,
			 int fd, bool assign);
	/* Optional, all three for pci_msix_irqfd(): an MSI route (*gsi < 0
	 * allocates one and stores it), its removal, and an eventfd that
	 * raises the route's GSI when written (KVM_IRQFD). */
	int (*msi_route)(void *ctx, int *gsi, uint64_t addr, uint32_t data);
	int (*msi_route_del)(void *ctx, int gsi);
	int (*irqfd)(void *ctx, int gsi, int fd, bool assign);
};

/* The windows of the address map above for a guest with highmem bytes of
 * RAM above 4 GiB. */
void pci_platform_set_windows(struct pci_platform *plat, uint64_t highmem);

/* Registers 0xCF8 (4 bytes), 0xCFC (4 bytes) and the ECAM range.  NULL with
 * errno set: EINVAL (bad platform), EEXIST (a range is taken), ENOMEM. */
struct pci *pci_new(const struct pci_platform *plat);
/* Unregister everything, deinit and free the functions. No vCPU may run. */
void pci_free(struct pci *p);

/* Call before pci_init_devices: keep this ISA IRQ (an SCI...) out of PIRQ
 * steering.  0 or -EINVAL. */
int pci_irq_reserve(struct pci *p, unsigned isa_irq);

/* Create every function configured as pci.B.S.F.device=emulation, in bus,
 * slot, function order, then place the BARs and route INTx.  On error err
 * holds "-s B:S:F,name: reason" and the return is a negative errno; the
 * caller then frees p.  Functions above 0 need no function 0 (as in bhyve),
 * but guests look for them only when function 0 exists. */
int pci_init_devices(struct pci *p, const struct config *cfg, char *err, size_t errlen);

/* Device emulations linked in: by name, and the list for "-s help". */
const struct pci_devemu *pci_emul_find(const char *name);
void pci_emul_list(FILE *f);

/* Guest accesses, for callers other than the dispatchers (tests, the GDB
 * stub): one configuration access of 1, 2 or 4 bytes. */
void pci_cfg_access(struct pci *p, int bus, int slot, int func, int reg, int bytes, bool write,
		    uint32_t *val);

/* ---- Facts for the firmware tables (after pci_init_devices) ---- */

bool pci_bus_present(const struct pci *p, int bus);
/* The windows given to a bus (its _CRS); -ENOENT when the bus is absent. */
struct pci_windows {
	uint32_t io_base, io_limit;
	uint64_t mem32_base, mem32_limit;
	uint64_t mem64_base, mem64_limit;
};
int pci_bus_windows(const struct pci *p, int bus, struct pci_windows *w);
/* pin 0-3 is INTA#-INTD#.  The GSI (16-23) or the PIRQ (0-7) a slot's pin
 * is routed to, or -ENOENT when no function of the slot uses that pin. */
int pci_intx_gsi(const struct pci *p, int bus, int slot, int pin);
int pci_intx_pirq(const struct pci *p, int bus, int slot, int pin);
/* Bus 0 as a table for the ACPI _PRT: gsi[slot][pin], PCI_PRT_NONE where
 * nothing is routed. */
#define PCI_PRT_NONE 0xff
void pci_prt(const struct pci *p, uint8_t gsi[PCI_NSLOT][4]);
/* Every routed (bus, slot, pin) in order, for the MP table. */
void pci_intx_walk(const struct pci *p,
		   void (*cb)(void *arg, int bus, int slot, int pin, unsigned gsi), void *arg);
/* The ISA IRQ a PIRQ register steers to now, or -1 when disabled. */
int pci_pirq_irq(struct pci *p, int pirq);
/* The LPC bridge (bus 0, for the DSDT): present, and where. */
bool pci_lpc_present(const struct pci *p);
int pci_lpc_location(const struct pci *p, int *bus, int *slot, int *func);

#endif
