/* libFuzzer target: the guest-facing registers of issue 10's devices --
 * QEMU fw_cfg (src/hw/fwcfg.c) with its DMA interface, bhyve's fwctl
 * (src/hw/fwctl.c) and pc-testdev (src/hw/pc_testdev.c) -- driven through
 * their port and MMIO handlers with accesses of every width at and around
 * every port, guest-written DMA descriptors (selector, length, address
 * anywhere: inside the small fake RAM, across its end, wrapping) and fwctl
 * requests of any size (SECURITY.md "Transport registers").  Invariants:
 *  - fw_cfg: the data port gives bytes; the signature item reads "QEMU"
 *    from a fresh selection; the DMA register reads "QEMU CFG"; after a
 *    DMA whose descriptor is in RAM its control word is 0 or the error
 *    bit, and the error bit whenever the buffer is not wholly RAM or the
 *    operation is a write; RAM outside the buffer and descriptor is never
 *    written (checked against a shadow copy);
 *  - fwctl: a response's size word is at least 16 and a multiple of 4;
 *  - pc-testdev: exit statuses are odd and below 256; only pins below the
 *    count are driven, with level 0 or 1; the MMIO region keeps what was
 *    written and refuses what crosses its end. */
#include <string.h>

#include "fuzz_input.h"
#include "gmem.h"
#include "hw/fwcfg.h"
#include "hw/fwctl.h"
#include "hw/pc_testdev.h"

#define RAM_SIZE 0x4000
#define NPINS	 24

struct state {
	uint8_t *ram, *shadow;
	struct gmem m;
	struct fwcfg *f;
	struct fwctl *c;
	struct pc_testdev *t;
	int exits;
};

static int on_irq(void *ctx, unsigned pin, int level)
{
	(void)ctx;
	FZ_CHECK(pin < NPINS);
	FZ_CHECK(level == 0 || level == 1);
	return 0;
}

static void on_exit_port(void *ctx, int status)
{
	struct state *s = ctx;

	FZ_CHECK(status & 1);
	FZ_CHECK(status >= 1 && status <= 255);
	s->exits++;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void fwcfg_port(struct state *s, struct fz *f)
{
	uint16_t port = (uint16_t)(0x50C + fz_u8(f) % 20);
	int w = fz_width(f);
	bool in = fz_u8(f) & 1;
	uint32_t v = fz_u32(f);
	int rc = fwcfg_inout(s->f, 0, in, port, w, &v);

	if (rc == 0 && in && w == 1 && port <= FWCFG_PORT_DATA)
		FZ_CHECK(v <= 0xFF);
	if (!in && rc == 0 && port >= FWCFG_PORT_DMA)
		memcpy(s->shadow, s->ram, RAM_SIZE); /* a DMA may have run */
}

static void fwcfg_signature(struct state *s)
{
	uint32_t v = FWCFG_SIGNATURE;
	int i;

	FZ_CHECK(fwcfg_inout(s->f, 0, false, FWCFG_PORT_SELECTOR, 2, &v) == 0);
	for (i = 0; i < 4; i++) {
		FZ_CHECK(fwcfg_inout(s->f, 0, true, FWCFG_PORT_DATA, 1, &v) == 0);
		FZ_CHECK(v == (uint32_t) "QEMU"[i]);
	}
	FZ_CHECK(fwcfg_inout(s->f, 0, true, FWCFG_PORT_DMA, 4, &v) == 0);
	FZ_CHECK(v == 0x554D4551);
}

static bool in_ram(uint64_t gpa, uint64_t len)
{
	return len == 0 || (gpa < RAM_SIZE && len <= RAM_SIZE - gpa);
}

/* A descriptor in RAM (or, sometimes, anywhere), then the two writes. */
static void fwcfg_dma(struct state *s, struct fz *f)
{
	uint64_t desc = fz_u8(f) & 1 ? fz_u64(f) : fz_u16(f) % RAM_SIZE;
	uint32_t control = fz_u32(f), length = fz_u8(f) & 1 ? fz_u32(f) : fz_u8(f);
	uint64_t addr = fz_u8(f) & 1 ? fz_u64(f) : fz_u16(f) % RAM_SIZE;
	bool desc_ok = in_ram(desc, 16);
	uint32_t v;

	if (desc_ok) {
		put_be32(s->ram + desc, control);
		put_be32(s->ram + desc + 4, length);
		put_be32(s->ram + desc + 8, (uint32_t)(addr >> 32));
		put_be32(s->ram + desc + 12, (uint32_t)addr);
	}
	memcpy(s->shadow, s->ram, RAM_SIZE);
	v = __builtin_bswap32((uint32_t)(desc >> 32));
	FZ_CHECK(fwcfg_inout(s->f, 0, false, FWCFG_PORT_DMA, 4, &v) == 0);
	v = __builtin_bswap32((uint32_t)desc);
	FZ_CHECK(fwcfg_inout(s->f, 0, false, FWCFG_PORT_DMA + 4, 4, &v) == 0);
	if (!desc_ok) {
		FZ_CHECK(memcmp(s->shadow, s->ram, RAM_SIZE) == 0);
		return;
	}
	v = be32(s->ram + desc);
	if (!(control & FWCFG_DMA_READ) && (control & FWCFG_DMA_WRITE))
		FZ_CHECK(v == FWCFG_DMA_ERROR);
	else if ((control & FWCFG_DMA_READ) && !in_ram(addr, length))
		FZ_CHECK(v == FWCFG_DMA_ERROR);
	else
		FZ_CHECK(v == 0);
	/* Nothing written outside the control word and a good buffer: take
	 * those two from RAM into the shadow, then the rest must match. */
	if ((control & FWCFG_DMA_READ) && in_ram(addr, length) && length)
		memcpy(s->shadow + addr, s->ram + addr, length);
	memcpy(s->shadow + desc, s->ram + desc, 4);
	FZ_CHECK(memcmp(s->shadow, s->ram, RAM_SIZE) == 0);
}

static void fwctl_port(struct state *s, struct fz *f)
{
	uint16_t port = (uint16_t)(0x50E + fz_u8(f) % 8);
	int w = fz_width(f);
	bool in = fz_u8(f) & 1;
	uint32_t v = fz_u8(f) & 1 ? 0 : fz_u32(f);

	fwctl_inout(s->c, 0, in, port, w, &v);
}

/* A whole request, then its response. */
static void fwctl_request(struct state *s, struct fz *f)
{
	uint32_t v = 0, words = fz_u8(f) % 32, i, size;

	FZ_CHECK(fwctl_inout(s->c, 0, false, FWCTL_PORT, 2, &v) == 0);
	for (i = 0; i < 4; i++) {
		FZ_CHECK(fwctl_inout(s->c, 0, true, FWCTL_PORT_IN, 1, &v) == 0);
		FZ_CHECK(v == (uint32_t) "BHYV"[i]);
	}
	v = 12 + words * 4;
	FZ_CHECK(fwctl_inout(s->c, 0, false, FWCTL_PORT, 4, &v) == 0);
	v = fz_u8(f) % 6;
	FZ_CHECK(fwctl_inout(s->c, 0, false, FWCTL_PORT, 4, &v) == 0);
	v = fz_u32(f);
	FZ_CHECK(fwctl_inout(s->c, 0, false, FWCTL_PORT, 4, &v) == 0);
	for (i = 0; i < words; i++) {
		v = fz_u32(f);
		FZ_CHECK(fwctl_inout(s->c, 0, false, FWCTL_PORT, 4, &v) == 0);
	}
	FZ_CHECK(fwctl_inout(s->c, 0, true, FWCTL_PORT, 4, &size) == 0);
	FZ_CHECK(size >= 16 && size % 4 == 0 && size <= 16 + 8 + FWCTL_VALUE_MAX + 4);
	for (i = 4; i < size / 4; i++)
		FZ_CHECK(fwctl_inout(s->c, 0, true, FWCTL_PORT, 4, &v) == 0);
}

static void testdev_port(struct state *s, struct fz *f)
{
	static const uint16_t bases[] = { PC_TESTDEV_EXIT_PORT,	 PC_TESTDEV_SCRATCH_PORT,
					  PC_TESTDEV_FLUSH_PORT, PC_TESTDEV_BYTES_PORT,
					  PC_TESTDEV_IRQ_PORT,	 PC_TESTDEV_IRQ_PORT + NPINS };
	uint16_t port = (uint16_t)(bases[fz_u8(f) % 6] + fz_u8(f) % 8 - 2);
	int w = fz_width(f);
	bool in = fz_u8(f) & 1;
	uint32_t v = fz_u32(f);

	pc_testdev_inout(s->t, 0, in, port, w, &v);
}

static void testdev_mmio(struct state *s, struct fz *f)
{
	uint64_t gpa = fz_u8(f) & 1
			   ? PC_TESTDEV_IOMEM_BASE + fz_u16(f) % 16
			   : PC_TESTDEV_IOMEM_BASE + PC_TESTDEV_IOMEM_SIZE - 16 + fz_u8(f) % 24;
	int w = 1 + fz_u8(f) % 9; /* 1-9: 9 is always refused */
	uint64_t v = fz_u64(f), back = 0;
	int rc = pc_testdev_mmio(s->t, 0, true, gpa, w, &v);
	bool fits = w <= 8 && gpa + (uint64_t)w <= PC_TESTDEV_IOMEM_BASE + PC_TESTDEV_IOMEM_SIZE;

	FZ_CHECK((rc == 0) == fits);
	if (!fits)
		return;
	FZ_CHECK(pc_testdev_mmio(s->t, 0, false, gpa, w, &back) == 0);
	if (w < 8)
		v &= (1ull << (8 * w)) - 1;
	FZ_CHECK(back == v);
}

static int setup(struct state *s)
{
	struct fwcfg_config fc;
	struct pc_testdev_config tc = { on_irq, on_exit_port, s, NPINS };
	uint32_t ncpu = 4;

	memset(s, 0, sizeof(*s));
	s->ram = calloc(1, RAM_SIZE);
	s->shadow = calloc(1, RAM_SIZE);
	if (!s->ram || !s->shadow || gmem_add_region(&s->m, 0, RAM_SIZE, s->ram) < 0)
		return -1;
	fc = (struct fwcfg_config){ &s->m, 1ull << 30, 4, 4 };
	s->f = fwcfg_new(&fc);
	s->c = fwctl_new();
	s->t = pc_testdev_new(&tc);
	if (!s->f || !s->c || !s->t)
		return -1;
	fwcfg_add_file(s->f, "opt/a", "hello", 6);
	fwcfg_add_file(s->f, "opt/b", NULL, 0);
	fwctl_add(s->c, "hw.ncpu", &ncpu, sizeof(ncpu));
	return 0;
}

static void teardown(struct state *s)
{
	fwcfg_free(s->f);
	fwctl_free(s->c);
	pc_testdev_free(s->t);
	free(s->ram);
	free(s->shadow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct state s;
	int steps = 0;

	if (setup(&s) < 0) {
		teardown(&s);
		return 0;
	}
	while (fz_more(&f) && steps++ < 256) {
		switch (fz_u8(&f) % 8) {
		case 0:
			fwcfg_port(&s, &f);
			break;
		case 1:
			fwcfg_signature(&s);
			break;
		case 2:
			fwcfg_dma(&s, &f);
			break;
		case 3:
			fwctl_port(&s, &f);
			break;
		case 4:
			fwctl_request(&s, &f);
			break;
		case 5:
			testdev_port(&s, &f);
			break;
		default:
			testdev_mmio(&s, &f);
			break;
		}
	}
	teardown(&s);
	return 0;
}
