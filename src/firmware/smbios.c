/* SMBIOS 3.0 tables (DMTF DSP0134 3.0.0).  Section numbers below are that
 * document's.  The structure table is assembled in a host image of the
 * target range and written to guest memory in one checked write.
 *
 * Layout at base: the 32-bit entry point (§5.2.1, 0x1F bytes), the 64-bit
 * entry point (§5.2.2, 0x18 bytes) on the next 16-byte boundary, then the
 * structure table.  Handles are numbered from 0 in table order. */
#include "firmware/smbios.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/layout.h"
#include "le.h"

#define SMBIOS_MAJOR  3
#define SMBIOS_MINOR  0
#define SMBIOS_DOCREV 0

#define EP32_SIZE      0x1F
#define EP32_IEPS_OFF  0x10 /* intermediate ("_DMI_") part */
#define EP32_IEPS_SIZE 0x0F
#define EP64_OFF       0x20
#define EP64_SIZE      0x18
#define TABLE_OFF      0x40
#define IMAGE_MAX      0x100000
#define MAX_COUNT      0xFFFE

/* Structure types and their lengths in SMBIOS 3.0 (§7). */
#define T_BIOS	     0
#define T_SYSTEM     1
#define T_CHASSIS    3
#define T_PROCESSOR  4
#define T_MEM_ARRAY  16
#define T_MEM_DEVICE 17
#define T_MEM_MAPPED 19
#define T_BOOT	     32
#define T_END	     127
#define L_BIOS	     0x18 /* 2.4+ */
#define L_SYSTEM     0x1B /* 2.4+ */
#define L_CHASSIS    0x16 /* 2.7+, no contained elements */
#define L_PROCESSOR  0x30 /* 3.0 */
#define L_MEM_ARRAY  0x17 /* 2.7+ */
#define L_MEM_DEVICE 0x28 /* 2.8+ */
#define L_MEM_MAPPED 0x1F /* 2.7+ */
#define L_BOOT	     0x0B
#define L_END	     0x04

#define HANDLE_NONE	    0xFFFF
#define HANDLE_NOT_PROVIDED 0xFFFE

struct sbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	int err;
	size_t cur;	 /* start of the structure being written */
	unsigned nstr;	 /* strings it has so far */
	uint16_t count;	 /* structures */
	size_t max_size; /* largest structure, strings included */
};

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

/* ---- Structure writer (§6.1.2, §6.1.3) ---- */

/* Start a structure with a zeroed formatted area of len bytes; returns it,
 * or NULL (error recorded) when it does not fit. */
static uint8_t *st_begin(struct sbuf *b, uint8_t type, uint8_t len, uint16_t *handle)
{
	uint8_t *s;

	if (b->err)
		return NULL;
	if (b->count == HANDLE_NOT_PROVIDED || b->cap - b->len < len) {
		b->err = -ENOSPC;
		return NULL;
	}
	s = b->p + b->len;
	memset(s, 0, len);
	s[0] = type;
	s[1] = len;
	le16_put(s + 2, b->count);
	if (handle)
		*handle = b->count;
	b->cur = b->len;
	b->len += len;
	b->nstr = 0;
	return s;
}

/* Append a string to the current structure's set; returns its number, or 0
 * (no string) for NULL or "". */
static uint8_t st_string(struct sbuf *b, const char *str)
{
	size_t n;

	if (b->err || !str || !*str)
		return 0;
	n = strlen(str) + 1;
	if (b->nstr == 255 || b->cap - b->len < n) {
		b->err = -ENOSPC;
		return 0;
	}
	memcpy(b->p + b->len, str, n);
	b->len += n;
	return (uint8_t)++b->nstr;
}

/* Close the string set: one more NUL after the last string, or two NULs
 * when there are none. */
static void st_end(struct sbuf *b)
{
	size_t n = b->nstr ? 1 : 2;

	if (b->err)
		return;
	if (b->cap - b->len < n) {
		b->err = -ENOSPC;
		return;
	}
	memset(b->p + b->len, 0, n);
	b->len += n;
	b->count++;
	if (b->len - b->cur > b->max_size)
		b->max_size = b->len - b->cur;
}

/* Strings are numbered in the order they are added, so a structure's
 * string fields are filled after st_begin and before st_end; the formatted
 * area does not move (the buffer is fixed). */

static const char *def(const char *s, const char *fallback)
{
	return s ? s : fallback;
}

static void put_bios(struct sbuf *b, const struct smbios_config *cfg)
{
	uint8_t *s = st_begin(b, T_BIOS, L_BIOS, NULL);

	if (!s)
		return;
	s[0x04] = st_string(b, def(cfg->bios_vendor, "BHYVE"));
	s[0x05] = st_string(b, def(cfg->bios_version, "1.00"));
	le16_put(s + 0x06, (uint16_t)(LAYOUT_BIOS_BASE >> 4)); /* starting segment */
	s[0x08] = st_string(b, def(cfg->bios_date, "01/01/2024"));
	s[0x09] = 0; /* ROM size: 64 KiB */
	/* §7.1.1 Table 7: ISA (bit 4) and PCI (bit 7) supported. */
	le64_put(s + 0x0A, 1u << 4 | 1u << 7);
	/* §7.1.2: extension byte 1 bit 0 ACPI; byte 2 bit 4 "describes a
	 * virtual machine". */
	s[0x12] = cfg->acpi ? 0x01 : 0x00;
	s[0x13] = 1u << 4;
	s[0x14] = 0xFF; /* system BIOS major/minor release: unknown */
	s[0x15] = 0xFF;
	s[0x16] = 0xFF; /* no embedded controller firmware */
	s[0x17] = 0xFF;
	st_end(b);
}

/* §7.2.1: the first three UUID fields are little-endian in SMBIOS 2.6+,
 * the rest is in the RFC 4122 byte order. */
static void put_uuid(uint8_t *d, const uint8_t u[16])
{
	d[0] = u[3];
	d[1] = u[2];
	d[2] = u[1];
	d[3] = u[0];
	d[4] = u[5];
	d[5] = u[4];
	d[6] = u[7];
	d[7] = u[6];
	memcpy(d + 8, u + 8, 8);
}

static void put_system(struct sbuf *b, const struct smbios_config *cfg)
{
	uint8_t *s = st_begin(b, T_SYSTEM, L_SYSTEM, NULL);

	if (!s)
		return;
	s[0x04] = st_string(b, def(cfg->manufacturer, "FreeBSD"));
	s[0x05] = st_string(b, def(cfg->product, "BHYVE"));
	s[0x06] = st_string(b, def(cfg->version, "1.0"));
	s[0x07] = st_string(b, def(cfg->serial, "None"));
	put_uuid(s + 0x08, cfg->uuid);
	s[0x18] = 0x06; /* wake-up type: power switch */
	s[0x19] = st_string(b, def(cfg->sku, "None"));
	s[0x1A] = st_string(b, def(cfg->family, "Virtual Machine"));
	st_end(b);
}

static void put_chassis(struct sbuf *b, const struct smbios_config *cfg)
{
	uint8_t *s = st_begin(b, T_CHASSIS, L_CHASSIS, NULL);

	if (!s)
		return;
	s[0x04] = st_string(b, def(cfg->manufacturer, "FreeBSD"));
	s[0x05] = 0x01; /* type: other */
	s[0x06] = st_string(b, def(cfg->version, "1.0"));
	s[0x07] = st_string(b, def(cfg->serial, "None"));
	s[0x08] = st_string(b, "None"); /* asset tag */
	s[0x09] = 0x03;			/* boot-up, power supply, thermal: safe */
	s[0x0A] = 0x03;
	s[0x0B] = 0x03;
	s[0x0C] = 0x03; /* security: none */
	/* OEM-defined 0, height and power cords unspecified, no contained
	 * elements. */
	s[0x15] = st_string(b, def(cfg->sku, "None"));
	st_end(b);
}

static void put_processor(struct sbuf *b, const struct smbios_config *cfg, unsigned socket)
{
	unsigned cores = cfg->cores, threads = cfg->cores * cfg->threads;
	uint16_t chars = 1u << 2; /* 64-bit capable */
	char name[32];
	uint8_t *s = st_begin(b, T_PROCESSOR, L_PROCESSOR, NULL);

	if (!s)
		return;
	if (cores > 1)
		chars |= 1u << 3; /* multi-core */
	if (cfg->threads > 1)
		chars |= 1u << 4; /* hardware threads */
	snprintf(name, sizeof(name), "CPU #%u", socket);
	s[0x04] = st_string(b, name);
	s[0x05] = 0x03; /* central processor */
	s[0x06] = 0x01; /* family: other (see Processor Family 2) */
	s[0x07] = st_string(b, cfg->cpu_manufacturer);
	le32_put(s + 0x08, cfg->cpu_signature); /* §7.5.3: CPUID.1 EAX, EDX */
	le32_put(s + 0x0C, cfg->cpu_features);
	s[0x18] = 0x41;			 /* socket populated, CPU enabled */
	s[0x19] = 0x01;			 /* upgrade: other */
	le16_put(s + 0x1A, HANDLE_NONE); /* no cache structures */
	le16_put(s + 0x1C, HANDLE_NONE);
	le16_put(s + 0x1E, HANDLE_NONE);
	/* §7.5.6-7.5.8: counts above 255 go to the "2" fields only. */
	s[0x23] = cores > 255 ? 0xFF : (uint8_t)cores;
	s[0x24] = s[0x23];
	s[0x25] = threads > 255 ? 0xFF : (uint8_t)threads;
	le16_put(s + 0x26, chars);
	le16_put(s + 0x28, 0x01); /* Processor Family 2: other */
	le16_put(s + 0x2A, (uint16_t)cores);
	le16_put(s + 0x2C, (uint16_t)cores);
	le16_put(s + 0x2E, (uint16_t)threads);
	st_end(b);
}

static void put_mem_array(struct sbuf *b, const struct smbios_config *cfg, uint16_t *handle)
{
	uint64_t kib = (cfg->lowmem + cfg->highmem) >> 10;
	uint8_t *s = st_begin(b, T_MEM_ARRAY, L_MEM_ARRAY, handle);

	if (!s)
		return;
	s[0x04] = 0x03; /* location: system board */
	s[0x05] = 0x03; /* use: system memory */
	s[0x06] = 0x03; /* error correction: none */
	/* §7.17.4: capacity in KiB; 2 TiB and more in the extended field. */
	if (kib < 0x80000000ULL) {
		le32_put(s + 0x07, (uint32_t)kib);
	} else {
		le32_put(s + 0x07, 0x80000000u);
		le64_put(s + 0x0F, cfg->lowmem + cfg->highmem);
	}
	le16_put(s + 0x0B, HANDLE_NOT_PROVIDED); /* no error information */
	le16_put(s + 0x0D, 1);			 /* one memory device */
	st_end(b);
}

static void put_mem_device(struct sbuf *b, const struct smbios_config *cfg, uint16_t array)
{
	uint64_t bytes = cfg->lowmem + cfg->highmem;
	uint64_t mib = bytes >> 20;
	uint8_t *s = st_begin(b, T_MEM_DEVICE, L_MEM_DEVICE, NULL);

	if (!s)
		return;
	le16_put(s + 0x04, array);
	le16_put(s + 0x06, HANDLE_NOT_PROVIDED);
	le16_put(s + 0x08, 64); /* total and data width, bits */
	le16_put(s + 0x0A, 64);
	/* §7.18.5: MiB (bit 15 clear) up to 0x7FFE; KiB (bit 15 set) for a
	 * small size that is not whole MiB; 0x7FFF means the extended size
	 * field (MiB) at 0x1C holds it. */
	if (bytes % (1u << 20) && (bytes >> 10) < 0x8000)
		le16_put(s + 0x0C, (uint16_t)(0x8000 | (bytes >> 10)));
	else if (mib < 0x7FFF)
		le16_put(s + 0x0C, (uint16_t)mib);
	else {
		le16_put(s + 0x0C, 0x7FFF);
		le32_put(s + 0x1C, mib > 0x7FFFFFFF ? 0x7FFFFFFF : (uint32_t)mib);
	}
	s[0x0E] = 0x09; /* form factor: DIMM */
	s[0x10] = st_string(b, "DIMM 0");
	s[0x11] = st_string(b, "Bank 0");
	s[0x12] = 0x07;		     /* type: RAM */
	le16_put(s + 0x13, 1u << 1); /* type detail: other */
	st_end(b);
}

/* §7.20: one range of the memory array; addresses in KiB, or in bytes in
 * the extended fields when they do not fit in 32 bits. */
static void put_mem_mapped(struct sbuf *b, uint64_t start, uint64_t size, uint16_t array)
{
	uint64_t end = start + size - 1;
	uint8_t *s = st_begin(b, T_MEM_MAPPED, L_MEM_MAPPED, NULL);

	if (!s)
		return;
	if ((end >> 10) < 0xFFFFFFFFULL) {
		le32_put(s + 0x04, (uint32_t)(start >> 10));
		le32_put(s + 0x08, (uint32_t)(end >> 10));
	} else {
		le32_put(s + 0x04, 0xFFFFFFFFu);
		le32_put(s + 0x08, 0xFFFFFFFFu);
		le64_put(s + 0x0F, start);
		le64_put(s + 0x17, end);
	}
	le16_put(s + 0x0C, array);
	s[0x0E] = 1; /* partition width */
	st_end(b);
}

static void put_simple(struct sbuf *b, uint8_t type, uint8_t len)
{
	/* Type 32 (§7.33) with boot status 0 "no errors", and type 127. */
	if (st_begin(b, type, len, NULL))
		st_end(b);
}

static void put_structures(struct sbuf *b, const struct smbios_config *cfg)
{
	uint16_t array = 0;
	unsigned i;

	put_bios(b, cfg);
	put_system(b, cfg);
	put_chassis(b, cfg);
	for (i = 0; i < cfg->sockets; i++)
		put_processor(b, cfg, i);
	put_mem_array(b, cfg, &array);
	put_mem_device(b, cfg, array);
	put_mem_mapped(b, 0, cfg->lowmem, array);
	if (cfg->highmem)
		put_mem_mapped(b, LAYOUT_HIGHMEM_BASE, cfg->highmem, array);
	put_simple(b, T_BOOT, L_BOOT);
	put_simple(b, T_END, L_END);
}

static void put_ep32(uint8_t *e, const struct sbuf *b, uint32_t table)
{
	memcpy(e, "_SM_", 4);
	e[0x05] = EP32_SIZE;
	e[0x06] = SMBIOS_MAJOR;
	e[0x07] = SMBIOS_MINOR;
	le16_put(e + 0x08, (uint16_t)b->max_size);
	memcpy(e + 0x10, "_DMI_", 5);
	le16_put(e + 0x16, (uint16_t)b->len);
	le32_put(e + 0x18, table);
	le16_put(e + 0x1C, b->count);
	e[0x1E] = SMBIOS_MAJOR << 4 | SMBIOS_MINOR; /* BCD revision */
	e[0x15] = checksum(e + EP32_IEPS_OFF, EP32_IEPS_SIZE);
	e[0x04] = checksum(e, EP32_SIZE);
}

static void put_ep64(uint8_t *e, const struct sbuf *b, uint64_t table)
{
	memcpy(e, "_SM3_", 5);
	e[0x06] = EP64_SIZE;
	e[0x07] = SMBIOS_MAJOR;
	e[0x08] = SMBIOS_MINOR;
	e[0x09] = SMBIOS_DOCREV;
	e[0x0A] = 0x01;			      /* entry point revision: 3.0 */
	le32_put(e + 0x0C, (uint32_t)b->len); /* table maximum size */
	le64_put(e + 0x10, table);
	e[0x05] = checksum(e, EP64_SIZE);
}

static bool string_ok(const char *s)
{
	return !s || strnlen(s, SMBIOS_MAX_STRING + 1) <= SMBIOS_MAX_STRING;
}

static int check_config(uint64_t base, uint64_t len, const struct smbios_config *cfg)
{
	const char *const strs[] = { cfg->cpu_manufacturer,
				     cfg->bios_vendor,
				     cfg->bios_version,
				     cfg->bios_date,
				     cfg->manufacturer,
				     cfg->product,
				     cfg->version,
				     cfg->serial,
				     cfg->sku,
				     cfg->family };
	size_t i;

	if ((base & 15) || len > LAYOUT_HIGHMEM_BASE || base > LAYOUT_HIGHMEM_BASE - len)
		return -EINVAL;
	/* Core and thread counts per socket must fit the 16-bit "2" fields,
	 * where 0xFFFF is reserved (§7.5.6-7.5.8). */
	if (cfg->sockets == 0 || cfg->sockets > MAX_COUNT || cfg->cores == 0 || cfg->threads == 0 ||
	    cfg->cores > MAX_COUNT || cfg->threads > MAX_COUNT ||
	    (uint64_t)cfg->cores * cfg->threads > MAX_COUNT)
		return -EINVAL;
	if (cfg->lowmem == 0 || cfg->lowmem > LAYOUT_HIGHMEM_BASE ||
	    cfg->highmem > UINT64_MAX - LAYOUT_HIGHMEM_BASE)
		return -EINVAL;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (!string_ok(strs[i]))
			return -EINVAL;
	}
	return 0;
}

int smbios_build(const struct gmem *m, uint64_t base, uint64_t len, const struct smbios_config *cfg)
{
	struct sbuf b = { 0 };
	uint8_t *img;
	size_t cap;
	int rc;

	if (!cfg)
		return -EINVAL;
	rc = check_config(base, len, cfg);
	if (rc)
		return rc;
	if (len < TABLE_OFF)
		return -ENOSPC;
	cap = len > IMAGE_MAX ? IMAGE_MAX : (size_t)len;
	img = calloc(1, cap);
	if (!img)
		return -ENOMEM;
	b.p = img + TABLE_OFF;
	b.cap = cap - TABLE_OFF;
	put_structures(&b, cfg);
	rc = b.err;
	if (rc)
		goto out;
	/* §5.2.1: the 32-bit entry point's table length is 16 bits. */
	if (b.len <= UINT16_MAX)
		put_ep32(img, &b, (uint32_t)(base + TABLE_OFF));
	put_ep64(img + EP64_OFF, &b, base + TABLE_OFF);
	rc = gmem_write(m, base, img, TABLE_OFF + b.len);
	if (!rc)
		rc = (int)(TABLE_OFF + b.len);
out:
	free(img);
	return rc;
}

/* ---- Default UUID: SHA-1 (FIPS 180-4 §6.1) and RFC 4122 §4.3 ---- */

struct sha1 {
	uint32_t h[5];
	uint8_t block[64];
	size_t fill;
	uint64_t total;
};

static uint32_t rol32(uint32_t v, int n)
{
	return v << n | v >> (32 - n);
}

static void sha1_block(struct sha1 *c)
{
	uint32_t w[80], a, b, d, e, f, k, t, cc;
	size_t i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)c->block[4 * i] << 24 | (uint32_t)c->block[4 * i + 1] << 16 |
		       (uint32_t)c->block[4 * i + 2] << 8 | c->block[4 * i + 3];
	for (i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = c->h[0];
	b = c->h[1];
	cc = c->h[2];
	d = c->h[3];
	e = c->h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & cc) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ cc ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & cc) | (b & d) | (cc & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ cc ^ d;
			k = 0xCA62C1D6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = cc;
		cc = rol32(b, 30);
		b = a;
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
	c->h[4] += e;
}

static void sha1_init(struct sha1 *c)
{
	static const uint32_t iv[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
					0xC3D2E1F0 };

	memset(c, 0, sizeof(*c));
	memcpy(c->h, iv, sizeof(iv));
}

static void sha1_update(struct sha1 *c, const void *data, size_t n)
{
	const uint8_t *p = data;

	c->total += n;
	while (n--) {
		c->block[c->fill++] = *p++;
		if (c->fill == 64) {
			sha1_block(c);
			c->fill = 0;
		}
	}
}

static void sha1_final(struct sha1 *c, uint8_t out[20])
{
	uint64_t bits = c->total * 8;
	uint8_t pad = 0x80, zero = 0, len[8];
	int i;

	sha1_update(c, &pad, 1);
	while (c->fill != 56)
		sha1_update(c, &zero, 1);
	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(c, len, 8);
	for (i = 0; i < 20; i++)
		out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

void smbios_default_uuid(const char *hostname, const char *vmname, uint8_t out[16])
{
	/* This project's own name space (a random version 4 UUID). */
	static const uint8_t ns[16] = { 0xd1, 0x23, 0x7d, 0x6d, 0xda, 0x0f, 0x46, 0x7b,
					0xa4, 0x2d, 0x86, 0x73, 0x04, 0xf9, 0xd5, 0xe0 };
	struct sha1 c;
	uint8_t hash[20], nul = 0;

	sha1_init(&c);
	sha1_update(&c, ns, sizeof(ns));
	sha1_update(&c, hostname ? hostname : "", hostname ? strlen(hostname) : 0);
	sha1_update(&c, &nul, 1);
	sha1_update(&c, vmname ? vmname : "", vmname ? strlen(vmname) : 0);
	sha1_final(&c, hash);
	memcpy(out, hash, 16);
	out[6] = (uint8_t)((out[6] & 0x0F) | 0x50); /* version 5 */
	out[8] = (uint8_t)((out[8] & 0x3F) | 0x80); /* RFC 4122 variant */
}
