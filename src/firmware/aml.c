/* AML byte-code builder (ACPI 6.5 §20 "ACPI Machine Language Specification";
 * resource descriptors §6.4).  Objects with a PkgLength are written with
 * their contents first; aml_end() then measures the contents and inserts the
 * PkgLength (whose own size depends on what it encodes) in front of them. */
#include "firmware/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

/* Opcodes, §20.2. */
#define AML_ZERO	0x00
#define AML_ONE		0x01
#define AML_NAME_OP	0x08
#define AML_BYTE_PFX	0x0A
#define AML_WORD_PFX	0x0B
#define AML_DWORD_PFX	0x0C
#define AML_STRING_PFX	0x0D
#define AML_QWORD_PFX	0x0E
#define AML_SCOPE_OP	0x10
#define AML_BUFFER_OP	0x11
#define AML_PACKAGE_OP	0x12
#define AML_METHOD_OP	0x14
#define AML_DUAL_PFX	0x2E
#define AML_MULTI_PFX	0x2F
#define AML_EXT_PFX	0x5B
#define AML_DEVICE_OP	0x82 /* after AML_EXT_PFX */
#define AML_ROOT_CHAR	'\\'
#define AML_PARENT_CHAR '^'
#define AML_RETURN_OP	0xA4
#define AML_ONES	0xFF

/* Resource descriptor tags, §6.4.2 (small) and §6.4.3 (large). */
#define RD_IRQ_NOFLAGS 0x22 /* IRQ, 2 bytes of body */
#define RD_IO	       0x47 /* I/O port, 7 bytes */
#define RD_FIXED_IO    0x4B /* fixed I/O port, 3 bytes */
#define RD_END_TAG     0x79 /* end tag, 1 byte (checksum) */
#define RD_MEM32_FIXED 0x86
#define RD_DWORD_ADDR  0x87
#define RD_WORD_ADDR   0x88
#define RD_QWORD_ADDR  0x8A

/* Address space descriptor fields, §6.4.3.5.1 Table 6.45. */
#define RD_SPACE_MEM	 0
#define RD_SPACE_IO	 1
#define RD_SPACE_BUS	 2
#define RD_GEN_MIF	 0x04 /* minimum address fixed */
#define RD_GEN_MAF	 0x08 /* maximum address fixed */
#define RD_MEM_RW	 0x01
#define RD_MEM_CACHEABLE 0x02
#define RD_IO_ENTIRE	 0x03 /* _RNG: both ISA and non-ISA ranges */

#define PKGLEN_MAX  0x0FFFFFFFu /* 28 bits, §20.2.4 */
#define MAX_DEPTH   16
#define MAX_PACKAGE 255 /* NumElements is a ByteData */
#define MAX_STRING  4096

enum frame_kind { FR_SCOPE, FR_DEVICE, FR_METHOD, FR_PACKAGE, FR_BUFFER, FR_RT };

struct frame {
	enum frame_kind kind;
	size_t start;	/* where the PkgLength goes */
	unsigned count; /* package elements */
};

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;
	int depth;
	struct frame st[MAX_DEPTH];
};

struct aml *aml_new(void)
{
	return calloc(1, sizeof(struct aml));
}

void aml_free(struct aml *a)
{
	if (!a)
		return;
	free(a->buf);
	free(a);
}

const uint8_t *aml_data(const struct aml *a, size_t *len, int *err)
{
	int e = a->err ? a->err : a->depth ? -EINVAL : 0;

	if (err)
		*err = e;
	if (e)
		return NULL;
	*len = a->len;
	/* An empty builder still yields a valid (non-NULL) empty result. */
	return a->buf ? a->buf : (const uint8_t *)"";
}

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static int reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return a->err;
	if (a->len + n <= a->cap)
		return 0;
	if (a->len + n > PKGLEN_MAX) {
		fail(a, -E2BIG);
		return a->err;
	}
	cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		fail(a, -ENOMEM);
		return a->err;
	}
	a->buf = p;
	a->cap = cap;
	return 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void put8(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

static void put_le(struct aml *a, uint64_t v, int bytes)
{
	uint8_t b[8];

	le_put(b, v, (unsigned)bytes);
	aml_bytes(a, b, (size_t)bytes);
}

/* A data object inside a Package is one of its elements. */
static void count_element(struct aml *a)
{
	if (a->depth > 0 && a->st[a->depth - 1].kind == FR_PACKAGE)
		a->st[a->depth - 1].count++;
}

int aml_pkglength(size_t len, uint8_t out[4])
{
	size_t total;
	int n, i;

	/* One byte holds up to 63 (6 bits); otherwise the lead byte keeps
	 * 4 bits and 1-3 more bytes follow, 8 bits each. */
	if (len + 1 <= 0x3F) {
		out[0] = (uint8_t)(len + 1);
		return 1;
	}
	if (len + 2 <= 0xFFF)
		n = 2;
	else if (len + 3 <= 0xFFFFF)
		n = 3;
	else if (len + 4 <= PKGLEN_MAX)
		n = 4;
	else
		return -E2BIG;
	total = len + (size_t)n;
	out[0] = (uint8_t)((n - 1) << 6 | (total & 0x0F));
	for (i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* §20.2.3 ComputationalData: the shortest encoding of v. */
static size_t encode_integer(uint64_t v, uint8_t out[9])
{
	int bytes;

	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE : AML_ZERO;
		return 1;
	}
	if (v == UINT64_MAX) {
		/* OnesOp is all ones in a revision 2 (64-bit) definition block. */
		out[0] = AML_ONES;
		return 1;
	}
	if (v <= 0xFF) {
		out[0] = AML_BYTE_PFX;
		bytes = 1;
	} else if (v <= 0xFFFF) {
		out[0] = AML_WORD_PFX;
		bytes = 2;
	} else if (v <= 0xFFFFFFFF) {
		out[0] = AML_DWORD_PFX;
		bytes = 4;
	} else {
		out[0] = AML_QWORD_PFX;
		bytes = 8;
	}
	le_put(out + 1, v, (unsigned)bytes);
	return 1 + (size_t)bytes;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];

	if (a->err)
		return;
	count_element(a);
	aml_bytes(a, b, encode_integer(v, b));
}

void aml_string(struct aml *a, const char *s)
{
	size_t n, i;

	if (a->err)
		return;
	n = s ? strnlen(s, MAX_STRING + 1) : MAX_STRING + 1;
	if (n > MAX_STRING) {
		fail(a, -EINVAL);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] > 0x7F) {
			fail(a, -EINVAL);
			return;
		}
	}
	count_element(a);
	put8(a, AML_STRING_PFX);
	aml_bytes(a, s, n + 1);
}

int aml_eisaid_value(const char *id, uint32_t *out)
{
	uint32_t product = 0;
	uint16_t vendor = 0;
	int i;

	if (!id || strlen(id) != 7)
		return -EINVAL;
	/* Three letters, 5 bits each ('A' = 1), then four hex digits. */
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		vendor = (uint16_t)(vendor << 5 | (id[i] - '@'));
	}
	for (i = 3; i < 7; i++) {
		char c = id[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		product = product << 4 | d;
	}
	/* The 32-bit ID is stored big-endian: vendor word, then product. */
	*out = (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xFF) << 8 | (product >> 8) << 16 |
	       (product & 0xFF) << 24;
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;
	int rc;

	if (a->err)
		return;
	rc = aml_eisaid_value(id, &v);
	if (rc) {
		fail(a, rc);
		return;
	}
	count_element(a);
	/* Always a DWord, as ASL compilers emit it, whatever its value. */
	put8(a, AML_DWORD_PFX);
	put_le(a, v, 4);
}

static int name_seg(const char *s, size_t n, uint8_t out[4])
{
	size_t i;

	if (n == 0 || n > 4)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		char c = i < n ? s[i] : '_';
		int ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return -EINVAL;
		out[i] = (uint8_t)c;
	}
	return 0;
}

/* §20.2.2 NameString: prefix, then NullName, one NameSeg, DualNamePath or
 * MultiNamePath. */
static void emit_name(struct aml *a, const char *path)
{
	uint8_t segs[255][4];
	unsigned nseg = 0;
	const char *p, *dot;
	bool prefixed = false;
	int rc;

	if (a->err)
		return;
	if (!path) {
		fail(a, -EINVAL);
		return;
	}
	p = path;
	if (*p == AML_ROOT_CHAR) {
		put8(a, AML_ROOT_CHAR);
		p++;
		prefixed = true;
	} else {
		while (*p == AML_PARENT_CHAR) {
			put8(a, AML_PARENT_CHAR);
			p++;
			prefixed = true;
		}
	}
	while (*p) {
		dot = strchr(p, '.');
		if (!dot)
			dot = p + strlen(p);
		if (nseg == 255) {
			fail(a, -E2BIG);
			return;
		}
		rc = name_seg(p, (size_t)(dot - p), segs[nseg]);
		if (rc) {
			fail(a, rc);
			return;
		}
		nseg++;
		p = *dot ? dot + 1 : dot;
		if (*dot && !*p) { /* trailing dot */
			fail(a, -EINVAL);
			return;
		}
	}
	if (nseg == 0) {
		/* Only "\" or "^" alone name something (the root, the parent). */
		if (!prefixed)
			fail(a, -EINVAL);
		put8(a, AML_ZERO);
		return;
	}
	if (nseg == 2) {
		put8(a, AML_DUAL_PFX);
	} else if (nseg > 2) {
		put8(a, AML_MULTI_PFX);
		put8(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, 4 * (size_t)nseg);
}

void aml_name_string(struct aml *a, const char *path)
{
	if (a->err)
		return;
	count_element(a);
	emit_name(a, path);
}

void aml_name(struct aml *a, const char *path)
{
	put8(a, AML_NAME_OP);
	emit_name(a, path);
}

void aml_return(struct aml *a)
{
	put8(a, AML_RETURN_OP);
}

static void open_frame(struct aml *a, enum frame_kind kind)
{
	if (a->err)
		return;
	if (a->depth == MAX_DEPTH) {
		fail(a, -E2BIG);
		return;
	}
	a->st[a->depth].kind = kind;
	a->st[a->depth].start = a->len;
	a->st[a->depth].count = 0;
	a->depth++;
}

void aml_scope(struct aml *a, const char *path)
{
	put8(a, AML_SCOPE_OP);
	open_frame(a, FR_SCOPE);
	emit_name(a, path);
}

void aml_device(struct aml *a, const char *path)
{
	put8(a, AML_EXT_PFX);
	put8(a, AML_DEVICE_OP);
	open_frame(a, FR_DEVICE);
	emit_name(a, path);
}

void aml_method(struct aml *a, const char *path, unsigned nargs, bool serialized)
{
	if (nargs > 7) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, AML_METHOD_OP);
	open_frame(a, FR_METHOD);
	emit_name(a, path);
	/* MethodFlags: ArgCount bits 0-2, SerializeFlag bit 3, SyncLevel 0. */
	put8(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_package(struct aml *a)
{
	if (a->err)
		return;
	count_element(a);
	put8(a, AML_PACKAGE_OP);
	open_frame(a, FR_PACKAGE);
}

void aml_buffer(struct aml *a)
{
	if (a->err)
		return;
	count_element(a);
	put8(a, AML_BUFFER_OP);
	open_frame(a, FR_BUFFER);
}

/* Insert the PkgLength (and the NumElements or BufferSize that precedes the
 * contents) at the frame's start. */
static void close_frame(struct aml *a)
{
	struct frame *f;
	uint8_t head[4 + 9];
	size_t nhead, content;
	uint8_t extra[9];
	size_t nextra = 0;
	int n;

	if (a->err)
		return;
	if (a->depth == 0) {
		fail(a, -EINVAL);
		return;
	}
	f = &a->st[a->depth - 1];
	content = a->len - f->start;
	if (f->kind == FR_PACKAGE) {
		if (f->count > MAX_PACKAGE) {
			fail(a, -E2BIG);
			return;
		}
		extra[0] = (uint8_t)f->count;
		nextra = 1;
	} else if (f->kind == FR_BUFFER || f->kind == FR_RT) {
		nextra = encode_integer(content, extra);
	}
	n = aml_pkglength(content + nextra, head);
	if (n < 0) {
		fail(a, n);
		return;
	}
	memcpy(head + n, extra, nextra);
	nhead = (size_t)n + nextra;
	if (reserve(a, nhead))
		return;
	memmove(a->buf + f->start + nhead, a->buf + f->start, content);
	memcpy(a->buf + f->start, head, nhead);
	a->len += nhead;
	a->depth--;
}

void aml_end(struct aml *a)
{
	if (!a->err && a->depth > 0 && a->st[a->depth - 1].kind == FR_RT) {
		fail(a, -EINVAL); /* templates close with aml_rt_end() */
		return;
	}
	close_frame(a);
}

/* ---- Resource templates ---- */

void aml_rt_begin(struct aml *a)
{
	if (a->err)
		return;
	count_element(a);
	put8(a, AML_BUFFER_OP);
	open_frame(a, FR_RT);
}

static bool in_rt(struct aml *a)
{
	if (a->err)
		return false;
	if (a->depth == 0 || a->st[a->depth - 1].kind != FR_RT) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

void aml_rt_end(struct aml *a)
{
	struct frame *f;
	uint8_t sum = RD_END_TAG;
	size_t i;

	if (!in_rt(a))
		return;
	/* §6.4.2.9: the checksum byte makes all the template's bytes sum to
	 * zero (a zero checksum would also be accepted). */
	f = &a->st[a->depth - 1];
	for (i = f->start; i < a->len; i++)
		sum = (uint8_t)(sum + a->buf[i]);
	put8(a, RD_END_TAG);
	put8(a, (uint8_t)-sum);
	close_frame(a);
}

void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	if (!in_rt(a))
		return;
	if (min > max) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RD_IO);
	put8(a, 0x01); /* 16-bit decode */
	put_le(a, min, 2);
	put_le(a, max, 2);
	put8(a, align);
	put8(a, len);
}

void aml_rt_fixed_io(struct aml *a, uint16_t base, uint8_t len)
{
	if (!in_rt(a))
		return;
	if (base > 0x3FF) { /* the descriptor decodes 10 address bits */
		fail(a, -EINVAL);
		return;
	}
	put8(a, RD_FIXED_IO);
	put_le(a, base, 2);
	put8(a, len);
}

void aml_rt_irq_noflags(struct aml *a, unsigned irq)
{
	if (!in_rt(a))
		return;
	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RD_IRQ_NOFLAGS);
	put_le(a, 1u << irq, 2);
}

void aml_rt_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw)
{
	if (!in_rt(a))
		return;
	put8(a, RD_MEM32_FIXED);
	put_le(a, 9, 2); /* body length */
	put8(a, rw ? 1 : 0);
	put_le(a, base, 4);
	put_le(a, len, 4);
}

/* Word (2), DWord (4) and QWord (8) address space descriptors share one
 * layout that differs only in the width of its five numbers, §6.4.3.5. */
static void rt_addr(struct aml *a, int width, uint8_t space, uint8_t tflags, uint64_t min,
		    uint64_t max)
{
	static const uint8_t tag[9] = {
		[2] = RD_WORD_ADDR, [4] = RD_DWORD_ADDR, [8] = RD_QWORD_ADDR
	};

	uint64_t limit = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;

	if (!in_rt(a))
		return;
	/* The length max - min + 1 must fit the field as well. */
	if (min > max || max > limit || max - min >= limit) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, tag[width]);
	put_le(a, 3 + 5 * (unsigned)width, 2);
	put8(a, space);
	put8(a, RD_GEN_MIF | RD_GEN_MAF); /* producer, positive decode */
	put8(a, tflags);
	put_le(a, 0, width); /* granularity */
	put_le(a, min, width);
	put_le(a, max, width);
	put_le(a, 0, width); /* translation offset */
	put_le(a, max - min + 1, width);
}

void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	rt_addr(a, 2, RD_SPACE_BUS, 0, min, max);
}

void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	rt_addr(a, 2, RD_SPACE_IO, RD_IO_ENTIRE, min, max);
}

void aml_rt_dword_io(struct aml *a, uint32_t min, uint32_t max)
{
	rt_addr(a, 4, RD_SPACE_IO, RD_IO_ENTIRE, min, max);
}

void aml_rt_dword_memory(struct aml *a, uint32_t min, uint32_t max, bool cacheable)
{
	rt_addr(a, 4, RD_SPACE_MEM, RD_MEM_RW | (cacheable ? RD_MEM_CACHEABLE : 0), min, max);
}

void aml_rt_qword_memory(struct aml *a, uint64_t min, uint64_t max, bool cacheable)
{
	rt_addr(a, 8, RD_SPACE_MEM, RD_MEM_RW | (cacheable ? RD_MEM_CACHEABLE : 0), min, max);
}
