/* INTx: pins, the PIRQ router and the level of each line.
 *
 * A function's INTx pin is the least used pin of its slot (bhyve), so the
 * functions of a multifunction slot spread over INTA#-INTD#.  Every (bus,
 * slot, pin) in use is tied to the least used of the eight PIRQ lines,
 * which are wired to I/O APIC inputs 16-23 and steered to ISA IRQs by the
 * PIRQ registers of an ICH-style router (Intel ICH10 datasheet, PIRQ[n]_ROUT:
 * bit 7 IRQEN#, bits 3:0 the IRQ; bhyve accepts IRQs 3-7, 9-12 and 14-15).
 * Lines are shared, so each PIRQ counts the functions asserting it and its
 * output follows "any of them". */
#include <errno.h>
#include <stdint.h>

#include "log.h"
#include "pci/pci_priv.h"

#define PIRQ_PERMITTED_IRQS 0xdef8u /* 3-7, 9-12, 14-15 */

static bool pirq_reg_valid(uint8_t reg)
{
	return !(reg & PCI_PIRQ_DISABLE) &&
	       ((PIRQ_PERMITTED_IRQS >> (reg & PCI_PIRQ_IRQ_MASK)) & 1);
}

void pci_irq_init(struct pci *p)
{
	int i;

	pthread_mutex_init(&p->irq_lock, NULL);
	for (i = 0; i < PCI_NPIRQ; i++)
		p->pirq_reg[i] = PCI_PIRQ_DISABLE;
	for (i = 0; i < 16; i++)
		p->isa_users[i] = ((PIRQ_PERMITTED_IRQS >> i) & 1) ? 0 : PCI_ISA_RESERVED;
}

int pci_irq_reserve(struct pci *p, unsigned isa_irq)
{
	if (isa_irq >= 16)
		return -EINVAL;
	p->isa_users[isa_irq] = PCI_ISA_RESERVED;
	return 0;
}

/* Only the PIC side is counted per ISA IRQ: the guest may steer two PIRQs
 * to the same IRQ. irq_lock held. */
static void pic_level(struct pci *p, uint8_t reg, int delta)
{
	const struct pci_platform *pl = &p->plat;
	unsigned irq = reg & PCI_PIRQ_IRQ_MASK;

	if (!pl->pic_line || !pirq_reg_valid(reg))
		return;
	p->isa_active[irq] += delta;
	if (delta > 0 && p->isa_active[irq] == 1)
		pl->pic_line(pl->ctx, irq, 1);
	else if (delta < 0 && p->isa_active[irq] == 0)
		pl->pic_line(pl->ctx, irq, 0);
}

static void pirq_assert(struct pci *p, int pirq)
{
	const struct pci_platform *pl = &p->plat;

	pthread_mutex_lock(&p->irq_lock);
	if (++p->pirq_active[pirq] == 1) {
		pl->irq_line(pl->ctx, PCI_PIRQ_GSI_BASE + (unsigned)pirq, 1);
		pic_level(p, p->pirq_reg[pirq], +1);
	}
	pthread_mutex_unlock(&p->irq_lock);
}

static void pirq_deassert(struct pci *p, int pirq)
{
	const struct pci_platform *pl = &p->plat;

	pthread_mutex_lock(&p->irq_lock);
	if (p->pirq_active[pirq] > 0 && --p->pirq_active[pirq] == 0) {
		pl->irq_line(pl->ctx, PCI_PIRQ_GSI_BASE + (unsigned)pirq, 0);
		pic_level(p, p->pirq_reg[pirq], -1);
	}
	pthread_mutex_unlock(&p->irq_lock);
}

uint8_t pci_pirq_read(struct pci *p, int pirq)
{
	uint8_t v;

	if (pirq < 0 || pirq >= PCI_NPIRQ)
		return 0xff;
	pthread_mutex_lock(&p->irq_lock);
	v = p->pirq_reg[pirq];
	pthread_mutex_unlock(&p->irq_lock);
	return v;
}

/* Steering moves with the register: an asserted line leaves its old IRQ
 * and appears on the new one. */
void pci_pirq_write(struct pci *p, int pirq, uint8_t val)
{
	if (pirq < 0 || pirq >= PCI_NPIRQ)
		return;
	val &= PCI_PIRQ_DISABLE | PCI_PIRQ_IRQ_MASK;
	pthread_mutex_lock(&p->irq_lock);
	if (p->pirq_reg[pirq] != val) {
		if (p->pirq_active[pirq])
			pic_level(p, p->pirq_reg[pirq], -1);
		p->pirq_reg[pirq] = val;
		if (p->pirq_active[pirq])
			pic_level(p, val, +1);
	}
	pthread_mutex_unlock(&p->irq_lock);
}

int pci_pirq_irq(struct pci *p, int pirq)
{
	uint8_t reg;

	if (pirq < 0 || pirq >= PCI_NPIRQ)
		return -1;
	reg = pci_pirq_read(p, pirq);
	return pirq_reg_valid(reg) ? reg & PCI_PIRQ_IRQ_MASK : -1;
}

int pci_lintr_request(struct pci_devinst *pi)
{
	struct pci_bus_info *bi = pi->pci->bus[pi->bus];
	int pin, best = 0;

	if (!pi->pci->cold || pi->init_done || !bi)
		return -EBUSY;
	if (pi->intx_pin)
		return 0;
	for (pin = 1; pin < 4; pin++) {
		if (bi->intx_users[pi->slot][pin] < bi->intx_users[pi->slot][best])
			best = pin;
	}
	bi->intx_users[pi->slot][best]++;
	pi->intx_pin = best + 1;
	pi->cfg[PCI_REG_INTPIN] = (uint8_t)(best + 1);
	return 0;
}

static int least_used_pirq(const struct pci *p)
{
	int i, best = 0;

	for (i = 1; i < PCI_NPIRQ; i++) {
		if (p->pirq_users[i] < p->pirq_users[best])
			best = i;
	}
	return best;
}

static int least_used_isa_irq(const struct pci *p)
{
	int i, best = -1;

	for (i = 0; i < 16; i++) {
		if (p->isa_users[i] == PCI_ISA_RESERVED)
			continue;
		if (best < 0 || p->isa_users[i] < p->isa_users[best])
			best = i;
	}
	return best;
}

static void route_slot_pin(struct pci *p, struct pci_bus_info *bi, int slot, int pin)
{
	int pirq = least_used_pirq(p), irq;

	p->pirq_users[pirq]++;
	bi->intx_pirq[slot][pin] = pirq;
	if (!(p->pirq_reg[pirq] & PCI_PIRQ_DISABLE))
		return;
	irq = least_used_isa_irq(p);
	if (irq < 0)
		return;
	p->isa_users[irq]++;
	p->pirq_reg[pirq] = (uint8_t)irq;
}

/* After every function is initialised (so the LPC bridge has reserved its
 * ISA IRQs): tie pins to PIRQs and fill in the Interrupt Line registers. */
void pci_irq_route_all(struct pci *p)
{
	int b, s, f, pin;

	for (b = 0; b < PCI_NBUS; b++) {
		struct pci_bus_info *bi = p->bus[b];

		for (s = 0; bi && s < PCI_NSLOT; s++) {
			for (pin = 0; pin < 4; pin++) {
				if (bi->intx_users[s][pin] && bi->intx_pirq[s][pin] < 0)
					route_slot_pin(p, bi, s, pin);
			}
			for (f = 0; f < PCI_NFUNC; f++) {
				struct pci_devinst *pi = bi->fn[s][f];
				uint8_t reg;

				if (!pi || !pi->intx_pin)
					continue;
				pthread_mutex_lock(&pi->intx_lock);
				pi->intx_pirq = bi->intx_pirq[s][pi->intx_pin - 1];
				reg = p->pirq_reg[pi->intx_pirq];
				pi->cfg[PCI_REG_INTLINE] =
				    pirq_reg_valid(reg) ? reg & PCI_PIRQ_IRQ_MASK : 0xff;
				if (pi->intx_state == PCI_INTX_PENDING && !pi->intx_masked) {
					pi->intx_state = PCI_INTX_ASSERTED;
					pirq_assert(p, pi->intx_pirq);
				}
				pthread_mutex_unlock(&pi->intx_lock);
			}
		}
	}
}

void pci_intx_update(struct pci_devinst *pi)
{
	uint16_t cmd = pci_get_cfgdata16(pi, PCI_REG_COMMAND);
	bool masked = (cmd & PCI_CMD_INTX_DISABLE) || pi->msi.enabled || pi->msix.enabled;

	pthread_mutex_lock(&pi->intx_lock);
	pi->intx_masked = masked;
	if (pi->intx_pirq >= 0) {
		if (pi->intx_state == PCI_INTX_ASSERTED && masked) {
			pirq_deassert(pi->pci, pi->intx_pirq);
			pi->intx_state = PCI_INTX_PENDING;
		} else if (pi->intx_state == PCI_INTX_PENDING && !masked) {
			pirq_assert(pi->pci, pi->intx_pirq);
			pi->intx_state = PCI_INTX_ASSERTED;
		}
	}
	pthread_mutex_unlock(&pi->intx_lock);
}

void pci_lintr_assert(struct pci_devinst *pi)
{
	if (!pi->intx_pin)
		return;
	pthread_mutex_lock(&pi->intx_lock);
	if (pi->intx_state == PCI_INTX_IDLE) {
		if (!pi->intx_masked && pi->intx_pirq >= 0) {
			pi->intx_state = PCI_INTX_ASSERTED;
			pirq_assert(pi->pci, pi->intx_pirq);
		} else {
			pi->intx_state = PCI_INTX_PENDING;
		}
	}
	__atomic_store_n(&pi->intx_status, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pi->intx_lock);
}

void pci_lintr_deassert(struct pci_devinst *pi)
{
	if (!pi->intx_pin)
		return;
	pthread_mutex_lock(&pi->intx_lock);
	if (pi->intx_state == PCI_INTX_ASSERTED)
		pirq_deassert(pi->pci, pi->intx_pirq);
	pi->intx_state = PCI_INTX_IDLE;
	__atomic_store_n(&pi->intx_status, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pi->intx_lock);
}

/* ---- Facts for the firmware tables ---- */

static int route_of(const struct pci *p, int bus, int slot, int pin)
{
	if (bus < 0 || bus >= PCI_NBUS || slot < 0 || slot >= PCI_NSLOT || pin < 0 || pin > 3 ||
	    !p->bus[bus] || p->bus[bus]->intx_pirq[slot][pin] < 0)
		return -ENOENT;
	return p->bus[bus]->intx_pirq[slot][pin];
}

int pci_intx_pirq(const struct pci *p, int bus, int slot, int pin)
{
	return route_of(p, bus, slot, pin);
}

int pci_intx_gsi(const struct pci *p, int bus, int slot, int pin)
{
	int pirq = route_of(p, bus, slot, pin);

	return pirq < 0 ? pirq : PCI_PIRQ_GSI_BASE + pirq;
}

void pci_prt(const struct pci *p, uint8_t gsi[PCI_NSLOT][4])
{
	int s, pin;

	for (s = 0; s < PCI_NSLOT; s++) {
		for (pin = 0; pin < 4; pin++) {
			int g = pci_intx_gsi(p, 0, s, pin);

			gsi[s][pin] = g < 0 ? PCI_PRT_NONE : (uint8_t)g;
		}
	}
}

void pci_intx_walk(const struct pci *p,
		   void (*cb)(void *arg, int bus, int slot, int pin, unsigned gsi), void *arg)
{
	int b, s, pin;

	for (b = 0; b < PCI_NBUS; b++) {
		for (s = 0; p->bus[b] && s < PCI_NSLOT; s++) {
			for (pin = 0; pin < 4; pin++) {
				int g = pci_intx_gsi(p, b, s, pin);

				if (g >= 0)
					cb(arg, b, s, pin, (unsigned)g);
			}
		}
	}
}
