/* A virtio-blk driver in a test guest (legacy interface, virtio 1.2 §4.1.4.8
 * and §2.7 split virtqueues, polled), for the durability and fault tests of
 * tests/integration/test_blk_faults.py.  Command line (see README):
 *   durable N  write 64 KiB of pattern N at sector 0 (4 KiB requests), FLUSH,
 *              print "durable N", then keep writing elsewhere until killed
 *   faults     print "ready" once the last sector reads, wait for a byte on
 *              COM1, read the last sector 64 times ("reads ok=X err=Y"),
 *              write sector 0 ("write status S"), reset (exit 0)
 *   print N    print N numbered lines, reset */
#include "mbc.h"

#define VIRTIO_VENDOR	0x1AF4
#define VIRTIO_BLK_LEGACY 0x1001

/* Legacy register block in BAR 0 (no MSI-X enabled: config at 0x14). */
#define VL_DEV_FEATURES	0x00
#define VL_DRV_FEATURES	0x04
#define VL_QUEUE_PFN	0x08
#define VL_QUEUE_SIZE	0x0C
#define VL_QUEUE_SEL	0x0E
#define VL_QUEUE_NOTIFY	0x10
#define VL_STATUS	0x12
#define VL_CONFIG	0x14

#define ST_ACK		1
#define ST_DRIVER	2
#define ST_DRIVER_OK	4

#define F_BLK_FLUSH	(1u << 9)

#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4

#define D_NEXT		1
#define D_WRITE		2

#define QMAX		256
#define SECTOR		512
#define CHUNK		4096

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* The legacy layout: descriptors, the available ring, then the used ring on
 * the next 4 KiB boundary (§2.7, "Legacy Interfaces: A Note on Virtqueue
 * Layout"). */
static uint8_t ring_mem[3 * 4096 + 16 * QMAX] __attribute__((aligned(4096)));
static uint8_t buf[CHUNK] __attribute__((aligned(16)));
static struct req_hdr hdr;
static volatile uint8_t status;

static uint16_t io, qsize, avail_idx, used_seen;
static struct desc *desc;
static volatile uint16_t *avail;	/* flags, idx, ring[] */
static volatile uint16_t *used;		/* flags, idx, then {u32 id, u32 len}[] */

static void die(const char *why)
{
	putstr("blkguest: ");
	putstr(why);
	putch('\n');
	for (;;)
		__asm__ volatile("cli; hlt");
}

static int find_device(void)
{
	int dev;

	for (dev = 0; dev < 32; dev++) {
		uint32_t id = pci_read32(0, dev, 0, 0);
		uint32_t bar;

		if ((id & 0xFFFF) != VIRTIO_VENDOR || (id >> 16) != VIRTIO_BLK_LEGACY)
			continue;
		bar = pci_read32(0, dev, 0, 0x10);
		if (!(bar & 1))
			die("BAR 0 is not an I/O BAR");
		io = (uint16_t)(bar & ~3u);
		pci_write16(0, dev, 0, 0x04, 0x0005); /* I/O space, bus master */
		return dev;
	}
	return -1;
}

static void setup(void)
{
	uint32_t used_off;

	if (find_device() < 0)
		die("no virtio-blk device");
	outb(io + VL_STATUS, 0);
	outb(io + VL_STATUS, ST_ACK);
	outb(io + VL_STATUS, ST_ACK | ST_DRIVER);
	outl(io + VL_DRV_FEATURES, inl(io + VL_DEV_FEATURES) & F_BLK_FLUSH);
	outw(io + VL_QUEUE_SEL, 0);
	qsize = inw(io + VL_QUEUE_SIZE);
	if (qsize == 0 || qsize > QMAX || (qsize & (qsize - 1)))
		die("unexpected queue size");
	desc = (struct desc *)ring_mem;
	avail = (volatile uint16_t *)(ring_mem + 16u * qsize);
	used_off = (16u * qsize + 6u + 2u * qsize + 4095u) & ~4095u;
	used = (volatile uint16_t *)(ring_mem + used_off);
	avail[0] = 1; /* VRING_AVAIL_F_NO_INTERRUPT: we poll */
	outl(io + VL_QUEUE_PFN, (uint32_t)ring_mem >> 12);
	outb(io + VL_STATUS, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
}

static uint64_t capacity(void)
{
	return (uint64_t)inl(io + VL_CONFIG) | (uint64_t)inl(io + VL_CONFIG + 4) << 32;
}

/* One request (header, optional data, status), polled to completion:
 * returns the status byte the device wrote. */
static int request(uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	int n = 0;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xFF;
	desc[n] = (struct desc){ (uint32_t)&hdr, sizeof(hdr), D_NEXT, (uint16_t)(n + 1) };
	n++;
	if (len) {
		desc[n] = (struct desc){ (uint32_t)data, len,
					 (uint16_t)(D_NEXT | (type == T_IN ? D_WRITE : 0)),
					 (uint16_t)(n + 1) };
		n++;
	}
	desc[n] = (struct desc){ (uint32_t)&status, 1, D_WRITE, 0 };
	avail[2 + avail_idx % qsize] = 0;
	barrier();
	avail[1] = ++avail_idx;
	barrier();
	outw(io + VL_QUEUE_NOTIFY, 0);
	while (used[1] == used_seen)
		cpu_relax();
	used_seen++;
	barrier();
	return status;
}

static uint8_t pattern_byte(uint32_t run, uint32_t j)
{
	return (uint8_t)(j * 31u + run * 17u + (j >> 9));
}

static void durable(uint32_t run)
{
	uint32_t off, j, k = 0;

	for (off = 0; off < 65536; off += CHUNK) {
		for (j = 0; j < CHUNK; j++)
			buf[j] = pattern_byte(run, off + j);
		if (request(T_OUT, off / SECTOR, buf, CHUNK) != 0)
			die("write failed");
	}
	if (request(T_FLUSH, 0, 0, 0) != 0)
		die("flush failed");
	putstr("durable ");
	putnum(run);
	putch('\n');
	/* Keep the device busy: the kill lands in the middle of writes. */
	for (;;) {
		for (j = 0; j < CHUNK; j++)
			buf[j] = (uint8_t)(k + j);
		request(T_OUT, 2048 + (k++ % 64) * (CHUNK / SECTOR), buf, CHUNK);
	}
}

static void faults(void)
{
	uint64_t last = capacity() - 1;
	uint32_t i, ok = 0, err = 0;

	if (request(T_IN, last, buf, SECTOR) != 0)
		die("first read failed");
	putstr("ready\n");
	getch();
	for (i = 0; i < 64; i++) {
		if (request(T_IN, last, buf, SECTOR) == 0)
			ok++;
		else
			err++;
	}
	putstr("reads ok=");
	putnum(ok);
	putstr(" err=");
	putnum(err);
	putch('\n');
	for (i = 0; i < CHUNK; i++)
		buf[i] = 0xA5;
	putstr("write status ");
	putnum((uint32_t)request(T_OUT, 0, buf, CHUNK));
	putch('\n');
}

void guest_main(void);

void guest_main(void)
{
	const char *c = cmdline();

	if (c[0] == 'p' && c[1] == 'r') { /* print N */
		uint32_t i, n;

		c += 6;
		n = parse_num(&c);
		for (i = 0; i < n; i++) {
			putstr("line ");
			putnum(i);
			putch('\n');
		}
		return;
	}
	setup();
	if (c[0] == 'd') { /* durable N */
		c += 8;
		durable(parse_num(&c));
	} else if (c[0] == 'f') {
		faults();
	} else {
		die("unknown command line");
	}
}
