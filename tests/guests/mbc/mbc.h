/* Helpers for the Multiboot test guests written in C (see README): port
 * I/O, COM1 output and input, the command line, PCI configuration
 * mechanism #1.  32-bit ring 0, paging off, interrupts off; nothing else is
 * assumed.  Everything is static inline: each guest is one .c file. */
#ifndef MBC_H
#define MBC_H

#include <stdint.h>

#define COM1		0x3F8
#define COM1_LSR	(COM1 + 5)
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define MB_LOADER_MAGIC	0x2BADB002u
#define MB_FLAG_CMDLINE	(1u << 2)

extern uint32_t mb_magic, mb_info;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* A compiler barrier; x86 keeps stores in order (SDM vol. 3 §8.2.2). */
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void putch(char c)
{
	int spin = 100000;

	while (!(inb(COM1_LSR) & LSR_THRE) && --spin)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

static inline void putstr(const char *s)
{
	while (*s)
		putch(*s++);
}

static inline void putnum(uint32_t v)
{
	char b[21];
	int i = 0;

	do {
		b[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putch(b[--i]);
}

/* Wait for one byte on COM1 (the runner's stdin). */
static inline uint8_t getch(void)
{
	while (!(inb(COM1_LSR) & LSR_DR))
		cpu_relax();
	return inb(COM1);
}

static inline const char *cmdline(void)
{
	const uint32_t *info = (const uint32_t *)mb_info;

	if (mb_magic != MB_LOADER_MAGIC || !(info[0] & MB_FLAG_CMDLINE))
		return "";
	return (const char *)info[4];
}

/* The number at *s, advancing *s past it and one following space. */
static inline uint32_t parse_num(const char **s)
{
	uint32_t v = 0;

	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint32_t)(*(*s)++ - '0');
	if (**s == ' ')
		(*s)++;
	return v;
}

static inline uint32_t pci_cfg_addr(int bus, int dev, int fn, int reg)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
	       (uint32_t)(reg & 0xFC);
}

static inline uint32_t pci_read32(int bus, int dev, int fn, int reg)
{
	outl(0xCF8, pci_cfg_addr(bus, dev, fn, reg));
	return inl(0xCFC);
}

static inline void pci_write16(int bus, int dev, int fn, int reg, uint16_t v)
{
	outl(0xCF8, pci_cfg_addr(bus, dev, fn, reg));
	outw((uint16_t)(0xCFC + (reg & 2)), v);
}

#endif
