/* The interface between the PCI core (pci.c) and a PCI device model.
 *
 * A device model is one file: it defines a struct pci_devemu and registers it
 * with PCI_EMUL_REGISTER(), which puts a pointer to it in the ELF section
 * "pci_devemu_set" that the core walks; no list elsewhere names it.  (Objects
 * nothing references are dropped when linking from a static archive, so the
 * runner links src/pci objects directly.)
 *
 * Life of a function: the core calls init() once while the VM is being
 * built (single-threaded); init sets up the configuration header with
 * pci_set_cfgdata*(), asks for BARs, capabilities and an INTx pin.  The core
 * then gives BARs their addresses and routes INTx.  While the guest runs,
 * cfgread/cfgwrite are called with the function's configuration lock held
 * and barread/barwrite without any core lock: a model serialises its own
 * state.  The core bounds every guest offset before a model sees it.
 */
#ifndef BHYVE_PCI_PCI_EMUL_H
#define BHYVE_PCI_PCI_EMUL_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct gmem;
struct mevent_loop;
struct pci_devinst;

/* ---- Configuration header, type 0 (PCI Local Bus 3.0 §6.1) ---- */

#define PCI_CFG_SIZE	 4096 /* per function, PCIe extended space included */
#define PCI_CFG_STD_SIZE 256

#define PCI_REG_VENDOR	  0x00
#define PCI_REG_DEVICE	  0x02
#define PCI_REG_COMMAND	  0x04
#define PCI_REG_STATUS	  0x06
#define PCI_REG_REVID	  0x08
#define PCI_REG_PROGIF	  0x09
#define PCI_REG_SUBCLASS  0x0a
#define PCI_REG_CLASS	  0x0b
#define PCI_REG_CACHELINE 0x0c
#define PCI_REG_HDRTYPE	  0x0e
#define PCI_REG_BAR0	  0x10
#define PCI_REG_SUBVENDOR 0x2c
#define PCI_REG_SUBSYSTEM 0x2e
#define PCI_REG_CAP_PTR	  0x34
#define PCI_REG_INTLINE	  0x3c
#define PCI_REG_INTPIN	  0x3d

#define PCI_CMD_IO	     0x0001
#define PCI_CMD_MEM	     0x0002
#define PCI_CMD_BUSMASTER    0x0004
#define PCI_CMD_INTX_DISABLE 0x0400

#define PCI_STS_INTR	0x0008
#define PCI_STS_CAPLIST 0x0010

#define PCI_HDRTYPE_MULTIFUNCTION 0x80

#define PCI_CAP_MSI  0x05
#define PCI_CAP_PCIE 0x10
#define PCI_CAP_MSIX 0x11

/* PCIe capability, device/port type (PCIe base 4.0 §7.5.3.2). */
#define PCI_PCIE_TYPE_ENDPOINT	  0x0
#define PCI_PCIE_TYPE_ROOT_PORT	  0x4
#define PCI_PCIE_TYPE_ROOT_INT_EP 0x9

/* Class codes (PCI Code and ID Assignment 1.11). */
#define PCI_CLASS_BRIDGE	 0x06
#define PCI_SUBCLASS_BRIDGE_HOST 0x00
#define PCI_SUBCLASS_BRIDGE_ISA	 0x01
#define PCI_CLASS_SIMPLECOMM	 0x07
#define PCI_SUBCLASS_SERIAL	 0x00
#define PCI_PROGIF_16550	 0x02

/* ---- Device models ---- */

struct pci_devemu {
	const char *name; /* the emulation name of -s ("lpc") */
	/* 0 or a negative errno; pci_set_error() may give the reason.  node is
	 * the function's configuration node ("pci.0.31.0"). */
	int (*init)(struct pci_devinst *pi, const struct config *cfg, const char *node);
	/* Release what init allocated (also after a failed init); may be NULL. */
	void (*deinit)(struct pci_devinst *pi);
	/* Optional hooks for naturally aligned accesses of 1, 2 or 4 bytes at
	 * off < PCI_CFG_SIZE: return 0 when handled (a read stores *val), 1 to
	 * let the core apply its default semantics. */
	int (*cfgread)(struct pci_devinst *pi, int off, int bytes, uint32_t *val);
	int (*cfgwrite)(struct pci_devinst *pi, int off, int bytes, uint32_t val);
	/* BAR accesses of 1, 2 or 4 bytes with off + size <= the BAR's size
	 * (8-byte memory accesses arrive as two 4-byte halves).  MSI-X table and
	 * PBA accesses never reach the model. NULL: reads all-ones, writes
	 * dropped. */
	uint64_t (*barread)(struct pci_devinst *pi, int bar, uint64_t off, int size);
	void (*barwrite)(struct pci_devinst *pi, int bar, uint64_t off, int size, uint64_t val);
};

#define PCI_EMUL_REGISTER(de)                                                                      \
	static const struct pci_devemu *const pci_devemu_ptr_##de                                  \
	    __attribute__((used, section("pci_devemu_set"), aligned(sizeof(void *)))) = &(de)

/* ---- Identity and context ---- */

/* "lpc@pci.0.31.0", for messages. */
const char *pci_name(const struct pci_devinst *pi);
int pci_bus(const struct pci_devinst *pi);
int pci_slot(const struct pci_devinst *pi);
int pci_func(const struct pci_devinst *pi);
void pci_set_arg(struct pci_devinst *pi, void *arg);
void *pci_get_arg(const struct pci_devinst *pi);
/* The platform's guest memory and event loop (the loop may be NULL). */
const struct gmem *pci_gmem(const struct pci_devinst *pi);
struct mevent_loop *pci_loop(const struct pci_devinst *pi);
/* From init only: the reason printed after "-s B:S:F,name: ". */
void pci_set_error(struct pci_devinst *pi, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- Configuration space (init, or hooks: the lock is then held) ---- */

/* Out-of-range offsets read 0 and are not written. */
uint8_t pci_get_cfgdata8(const struct pci_devinst *pi, int off);
uint16_t pci_get_cfgdata16(const struct pci_devinst *pi, int off);
uint32_t pci_get_cfgdata32(const struct pci_devinst *pi, int off);
void pci_set_cfgdata8(struct pci_devinst *pi, int off, uint8_t val);
void pci_set_cfgdata16(struct pci_devinst *pi, int off, uint16_t val);
void pci_set_cfgdata32(struct pci_devinst *pi, int off, uint32_t val);
/* Let the guest write the bits of mask in the bytes [off, off + bytes)
 * (device-specific registers, 0x40 and up; read-only by default). */
int pci_set_cfgwmask(struct pci_devinst *pi, int off, int bytes, uint32_t mask);

/* ---- BARs (init only) ---- */

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,
	PCI_BAR_MEM64_HI, /* the upper half of a 64-bit BAR; not for callers */
};

#define PCI_BAR_PREFETCH 0x1

/* Ask for BAR idx (0-5; a 64-bit BAR also takes idx + 1) of at least size
 * bytes; the size becomes a power of two, at least 4 (I/O, at most 256) or
 * 16 (memory).  The address is chosen once every function is initialised.
 * 0, -EINVAL or -EBUSY (index taken). */
int pci_emul_alloc_bar(struct pci_devinst *pi, int idx, enum pci_bar_type type, uint64_t size,
		       unsigned flags);
/* Current guest address of a BAR (0 when unassigned). */
uint64_t pci_bar_addr(struct pci_devinst *pi, int idx);

/* ---- Capabilities (init only) ---- */

/* Append a capability (data[0] is its ID, data[1] is filled in) to the list
 * that starts at 0x40; returns its offset or -ENOSPC / -EINVAL.  Its bytes
 * are read-only to the guest unless pci_set_cfgwmask() says otherwise. */
int pci_add_capability(struct pci_devinst *pi, const uint8_t *data, int len);
/* MSI with 64-bit addresses and per-vector masking; nvec a power of two in
 * 1..32.  Returns the offset or a negative errno. */
int pci_emul_add_msicap(struct pci_devinst *pi, int nvec);
/* MSI-X with nvec (1..2048) vectors: the table at offset 0 of a 32-bit
 * memory BAR bar that the core allocates, the PBA on the next 4 KiB. */
int pci_emul_add_msixcap(struct pci_devinst *pi, int nvec, int bar);
/* PCI Express capability of the given device/port type. */
int pci_emul_add_pciecap(struct pci_devinst *pi, int type);

/* ---- Interrupts ---- */

/* Init only: give the function an INTx pin (the least used of the slot). */
int pci_lintr_request(struct pci_devinst *pi);
/* Level of the function's INTx line (any thread).  The line reaches the
 * interrupt controller only while the command register's INTx Disable bit
 * is clear and MSI/MSI-X are off; the status register's Interrupt Status
 * bit follows the level regardless (PCI 3.0 §6.2.3). */
void pci_lintr_assert(struct pci_devinst *pi);
void pci_lintr_deassert(struct pci_devinst *pi);
bool pci_msi_enabled(struct pci_devinst *pi);
/* Vectors the guest enabled (0 when MSI is off). */
int pci_msi_nvec(struct pci_devinst *pi);
bool pci_msix_enabled(struct pci_devinst *pi);
/* Send vector (any thread).  0 sent, 1 held pending because masked,
 * -EINVAL when that vector is not enabled. */
int pci_generate_msi(struct pci_devinst *pi, unsigned vector);
int pci_generate_msix(struct pci_devinst *pi, unsigned vector);

/* ---- Event file descriptors (optional; -ENOTSUP without platform help) ---- */

/* Have fd (an eventfd) signalled when the guest writes len (1, 2, 4 or 8)
 * bytes at offset off of BAR bar, only the value data when datamatch; the
 * write then never reaches barwrite.  The core keeps it at the BAR's
 * current address while the BAR decodes (moved or dropped with the BAR).
 * assign false removes the same registration.  Any thread, no core lock
 * held.  0, -ENOTSUP, -EINVAL, -EEXIST, or the platform's error. */
int pci_ioeventfd(struct pci_devinst *pi, int bar, uint64_t off, int len, bool datamatch,
		  uint64_t data, int fd, bool assign);
/* Writing to fd (an eventfd) sends MSI-X vector: the core keeps an MSI
 * route in step with the table entry, attached only while MSI-X is on and
 * the vector and function are unmasked (a write while masked stays counted
 * in fd and is delivered on unmask).  Callers use fd only while
 * pci_msix_enabled().  0, -ENOTSUP, -EINVAL, -EBUSY (vector has one). */
int pci_msix_irqfd(struct pci_devinst *pi, int vector, int fd, bool assign);

#endif
