/* Internals shared by the files of the PCI core (pci.c, pci_irq.c,
 * pci_msi.c) and the LPC bridge, which owns the PIRQ registers.  Nothing
 * outside src/pci includes this.
 *
 * Locks, always taken in this order:
 *   pi->cfg_lock   configuration space, BAR state and mappings, capability
 *                  registers; held while a model's cfgread/cfgwrite runs
 *   pi->msi_lock   MSI/MSI-X state, the MSI-X table and PBA
 *   pi->intx_lock  the function's INTx state
 *   p->irq_lock    the PIRQ router (counts, registers)
 * Platform callbacks run under the innermost lock held at the time; they must
 * not call back into the core.  BAR handlers of models run with no core
 * lock, so a model may raise interrupts from them. */
#ifndef BHYVE_PCI_PCI_PRIV_H
#define BHYVE_PCI_PCI_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "le.h"
#include "pci/pci.h"
#include "pci/pci_emul.h"

#define PCI_BAR_COUNT	    6
#define PCI_MSIX_MAX	    2048
#define PCI_MSIX_ENTRY_SIZE 16

struct pci_bar {
	struct pci_devinst *pi;
	int idx;
	enum pci_bar_type type;
	bool prefetch;
	bool pending; /* asked for, not placed yet */
	uint64_t size;
	uint64_t addr;	      /* as the registers say now */
	bool mapped;	      /* a handler is registered at mapped_addr */
	uint64_t mapped_addr; /* read by handlers without cfg_lock */
	bool warned;	      /* registration failure already logged */
};

enum pci_intx_state { PCI_INTX_IDLE, PCI_INTX_ASSERTED, PCI_INTX_PENDING };

struct pci_msi {
	int cap;  /* offset of the capability, 0 = none */
	int nvec; /* vectors supported (power of two) */
	bool enabled;
	unsigned nenabled; /* 1 << MME */
	uint64_t addr;
	uint16_t data;
	uint32_t mask;
	uint32_t pending;
};

struct pci_msix_entry {
	uint32_t addr_lo;
	uint32_t addr_hi;
	uint32_t data;
	uint32_t ctrl;
};

struct pci_msix_irqfd {
	int fd;	 /* -1: none */
	int gsi; /* the platform's MSI route, -1: none */
	bool attached;
	bool warned;
};

struct pci_ioev {
	int bar;
	uint64_t off;
	int len;
	bool datamatch;
	uint64_t data;
	int fd;
	bool registered;
	uint64_t reg_addr; /* where it is registered */
};

struct pci_msix {
	int cap; /* 0 = none */
	int bar;
	int nvec;
	uint64_t table_off, table_len;
	uint64_t pba_off, pba_len;
	bool enabled;
	bool fmask;
	struct pci_msix_entry *table;
	uint64_t *pba;
	struct pci_msix_irqfd *irqfd; /* nvec entries once one is asked for */
};

struct pci_devinst {
	struct pci *pci;
	const struct pci_devemu *de;
	int bus, slot, func;
	char name[64];
	void *arg;
	bool init_done;
	pthread_mutex_t cfg_lock;
	pthread_mutex_t msi_lock;
	pthread_mutex_t intx_lock;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may write */
	uint8_t w1c[PCI_CFG_SIZE];   /* bits a guest 1 clears */
	int cap_last;		     /* offset of the last capability, 0 = none */
	int cap_end;		     /* first byte after the capabilities */
	struct pci_bar bar[PCI_BAR_COUNT];
	int intx_pin;  /* 0 none, 1-4 INTA#-INTD# */
	int intx_pirq; /* -1 until routed */
	enum pci_intx_state intx_state;
	bool intx_masked; /* INTx Disable, or MSI/MSI-X on */
	int intx_status;  /* atomic: Interrupt Status bit */
	struct pci_msi msi;
	struct pci_msix msix;
	struct pci_ioev *ioev; /* under cfg_lock */
	int nioev;
};

struct pci_bus_info {
	struct pci_devinst *fn[PCI_NSLOT][PCI_NFUNC];
	uint8_t configured[PCI_NSLOT]; /* functions named in the config */
	int intx_users[PCI_NSLOT][4];
	int intx_pirq[PCI_NSLOT][4]; /* -1 unrouted */
	struct pci_windows win;
};

struct pci {
	struct pci_platform plat;
	struct pci_bus_info *bus[PCI_NBUS];
	uint32_t conf1_addr; /* atomic */
	bool conf1_addr_mapped, conf1_data_mapped, ecam_mapped;
	bool cold;   /* pci_init_devices running */
	bool inited; /* pci_init_devices was called */
	bool enable_bars;
	uint64_t io_next, mem32_next, mem64_next;
	struct pci_devinst *lpc;
	char *err;
	size_t errlen;
	bool err_set;
	/* PIRQ router */
	pthread_mutex_t irq_lock;
	uint8_t pirq_reg[PCI_NPIRQ];
	int pirq_users[PCI_NPIRQ];
	int pirq_active[PCI_NPIRQ];
	uint8_t isa_users[16]; /* PCI_ISA_RESERVED: not for PIRQs */
	int isa_active[16];
};

#define PCI_ISA_RESERVED  0xff
#define PCI_PIRQ_DISABLE  0x80
#define PCI_PIRQ_IRQ_MASK 0x0f

/* Little-endian fields of configuration bytes (n is 1 to 4). */
static inline uint32_t pci_cfg_get(const uint8_t *a, int off, int n)
{
	return (uint32_t)le_get(a + off, (unsigned)n);
}

static inline void pci_cfg_put(uint8_t *a, int off, int n, uint32_t v)
{
	le_put(a + off, v, (unsigned)n);
}

/* pci_bar.c (cfg_lock held, or start-up) */
void pci_bar_remap(struct pci_devinst *pi, int idx);
/* The guest wrote BAR register idx: decode the new address, move. */
void pci_bar_reprogram(struct pci_devinst *pi, int idx);
void pci_bar_unmap(struct pci_devinst *pi, struct pci_bar *b);
/* Forget every ioeventfd (after deinit). */
void pci_ioev_free(struct pci_devinst *pi);
/* Place the bus's pending BARs; on -ENOSPC *failed is the one that did not
 * fit. */
int pci_place_bus_bars(struct pci *p, int bus, struct pci_bar **failed);

/* pci_irq.c */
void pci_irq_init(struct pci *p);
void pci_irq_route_all(struct pci *p);
/* Recompute intx_masked after a command/MSI change (cfg_lock held). */
void pci_intx_update(struct pci_devinst *pi);
uint8_t pci_pirq_read(struct pci *p, int pirq);
void pci_pirq_write(struct pci *p, int pirq, uint8_t val);

/* pci_msi.c */
int pci_msi_cfg_len(const struct pci_devinst *pi);
void pci_msi_cfg_changed(struct pci_devinst *pi);
void pci_msix_cfg_changed(struct pci_devinst *pi);
/* MSI pending bits as read through config space. */
uint32_t pci_msi_pending_read(struct pci_devinst *pi);
/* true when [off, off + size) of BAR bar belongs to the MSI-X table or
 * PBA; the access has then been done. */
bool pci_msix_bar_access(struct pci_devinst *pi, int bar, uint64_t off, int size, bool write,
			 uint64_t *val);
void pci_msix_free(struct pci_devinst *pi);

/* pci.c, for the LPC bridge */
int pci_claim_lpc(struct pci_devinst *pi);

#endif
