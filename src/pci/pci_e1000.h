/* "e1000": an Intel 82545EM gigabit Ethernet controller (PCI 8086:100F,
 * copper), for guests without virtio drivers, over a network back end
 * (src/net/netbe.h).  Modelled from Intel's "PCI/PCI-X Family of Gigabit
 * Ethernet Controllers Software Developer's Manual" (8254x, rev. 4.x; "SDM"
 * below).
 *
 * The device engine is separate from its PCI glue so that tests can drive
 * it with a synthetic guest memory and a fake back end: BAR 0 (128 KiB of
 * memory-mapped registers) goes to e1000_mmio_read/write, BAR 2 (8 bytes of
 * I/O ports, IOADDR and IODATA, SDM ch. 13) to e1000_io_read/write.
 *
 * Threads: register accesses come from vCPU threads, the back end's receive
 * callback from the main loop; one lock inside serialises them.  Transmit
 * runs on the thread that writes TDT, bounded by the ring's size. */
#ifndef BHYVE_PCI_PCI_E1000_H
#define BHYVE_PCI_PCI_E1000_H

#include <stdbool.h>
#include <stdint.h>

struct gmem;
struct netbe;
struct e1000;

#define E1000_MMIO_SIZE	   0x20000 /* BAR 0 */
#define E1000_IO_SIZE	   8	   /* BAR 2 */
#define E1000_EEPROM_WORDS 64	   /* a 1 Kbit Microwire EEPROM */
#define E1000_EEPROM_SUM   0xBABA  /* words 0x00-0x3F add up to this */

struct e1000_hooks {
	/* The INTx level changed (called with the device's lock held). */
	void (*irq)(void *arg, bool level);
	void *arg;
};

/* What the guest cannot see in its statistics registers. */
struct e1000_stats {
	uint64_t rx_frames;	/* delivered to the guest */
	uint64_t rx_filtered;	/* not for this station */
	uint64_t rx_dropped;	/* too long, malformed, receiver off, ring too small */
	uint64_t rx_dma_errors; /* a buffer outside guest RAM */
	uint64_t tx_frames;	/* handed to the back end */
	uint64_t tx_dropped;	/* bad descriptor, buffer, offsets or TSO context */
	uint64_t tx_errors;	/* the back end refused a frame, or there is none */
	uint64_t tx_tso;	/* packets segmented by the device */
	uint64_t tx_csum;	/* unsegmented packets given checksums */
	uint64_t ring_errors;	/* a ring stopped for a bad base, length, head or tail */
};

/* be may be NULL (a NIC with no wire).  gm is the guest memory every
 * descriptor and buffer is reached through.  0 or -ENOMEM. */
int e1000_new(struct netbe *be, const struct gmem *gm, const uint8_t mac[6],
	      const struct e1000_hooks *h, struct e1000 **out);
void e1000_free(struct e1000 *sc);

/* BAR accesses of 1, 2 or 4 bytes (off + size within the BAR). */
uint32_t e1000_mmio_read(struct e1000 *sc, uint64_t off, int size);
void e1000_mmio_write(struct e1000 *sc, uint64_t off, int size, uint32_t val);
uint32_t e1000_io_read(struct e1000 *sc, uint64_t off, int size);
void e1000_io_write(struct e1000 *sc, uint64_t off, int size, uint32_t val);

void e1000_get_stats(struct e1000 *sc, struct e1000_stats *st);

/* The EEPROM the device presents for mac (SDM ch. 5): the address in words
 * 0-2, the identity words, the checksum in word 0x3F. */
void e1000_eeprom_image(const uint8_t mac[6], uint16_t out[E1000_EEPROM_WORDS]);

#endif
