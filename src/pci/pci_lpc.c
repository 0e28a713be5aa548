/* The LPC (PCI-to-ISA) bridge, bhyve's "lpc": Intel's 82371SB PIIX3 ISA
 * bridge identity (8086:7000, class 06/01/00), with the PIRQ routing
 * registers of an ICH-style interrupt router in its configuration space
 * (PIRQA-D at 0x60-0x63, PIRQE-H at 0x68-0x6B; Intel ICH10 datasheet
 * §13.1, PIRQ[n]_ROUT).  The legacy devices behind it (COM ports, RTC, PM)
 * are created by the platform; this function reserves the COM ports' ISA
 * IRQs so PCI interrupts are not steered onto them.  One bridge per VM, on
 * bus 0 (bhyve: the DSDT describes the legacy ports below bus 0). */
#include <errno.h>

#include "pci/pci_emul.h"
#include "pci/pci_priv.h"

#define LPC_VENDOR 0x8086
#define LPC_DEVICE 0x7000

#define PIRQ_A_D 0x60
#define PIRQ_E_H 0x68

/* COM1-COM4 use IRQs 4, 3, 4, 3. */
static const unsigned com_irqs[] = { 3, 4 };

/* The PIRQ index of a register offset, or -1. */
static int pirq_of(int off)
{
	if (off >= PIRQ_A_D && off < PIRQ_A_D + 4)
		return off - PIRQ_A_D;
	if (off >= PIRQ_E_H && off < PIRQ_E_H + 4)
		return off - PIRQ_E_H + 4;
	return -1;
}

/* Accesses reach the hooks naturally aligned, so one that starts in a
 * group of four PIRQ registers stays in it. */
static int lpc_cfgread(struct pci_devinst *pi, int off, int bytes, uint32_t *val)
{
	uint32_t v = 0;
	int i;

	if (pirq_of(off) < 0)
		return 1;
	for (i = 0; i < bytes; i++)
		v |= (uint32_t)pci_pirq_read(pi->pci, pirq_of(off + i)) << (8 * i);
	*val = v;
	return 0;
}

static int lpc_cfgwrite(struct pci_devinst *pi, int off, int bytes, uint32_t val)
{
	int i;

	if (pirq_of(off) < 0)
		return 1;
	for (i = 0; i < bytes; i++)
		pci_pirq_write(pi->pci, pirq_of(off + i), (uint8_t)(val >> (8 * i)));
	return 0;
}

static int lpc_init(struct pci_devinst *pi, const struct config *cfg, const char *node)
{
	size_t i;
	int rc;

	(void)cfg;
	(void)node;
	rc = pci_claim_lpc(pi);
	if (rc == -EEXIST) {
		pci_set_error(pi, "only one LPC bridge is allowed");
		return rc;
	}
	if (rc) {
		pci_set_error(pi, "the LPC bridge must be on bus 0");
		return rc;
	}
	for (i = 0; i < sizeof(com_irqs) / sizeof(com_irqs[0]); i++)
		pci_irq_reserve(pi->pci, com_irqs[i]);
	pci_set_cfgdata16(pi, PCI_REG_VENDOR, LPC_VENDOR);
	pci_set_cfgdata16(pi, PCI_REG_DEVICE, LPC_DEVICE);
	pci_set_cfgdata8(pi, PCI_REG_CLASS, PCI_CLASS_BRIDGE);
	pci_set_cfgdata8(pi, PCI_REG_SUBCLASS, PCI_SUBCLASS_BRIDGE_ISA);
	return 0;
}

static void lpc_deinit(struct pci_devinst *pi)
{
	if (pi->pci->lpc == pi)
		pi->pci->lpc = NULL;
}

/* Not static: a unit test names it to pull this object out of the static
 * library. */
const struct pci_devemu pci_de_lpc = {
	.name = "lpc",
	.init = lpc_init,
	.deinit = lpc_deinit,
	.cfgread = lpc_cfgread,
	.cfgwrite = lpc_cfgwrite,
};
PCI_EMUL_REGISTER(pci_de_lpc);
