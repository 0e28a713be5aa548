/* pc-testdev (src/hw/pc_testdev.c): the exit rule, the scratch and byte
 * registers at every offset and width, the flush port, the IRQ-line ports
 * and their pin bound, the MMIO region and its end, and registration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>

#include "hw/pc_testdev.h"
#include "inout.h"
#include "mmio.h"

#define NPINS 24

struct fake {
	int exits;
	int status;
	int irq_calls;
	unsigned pin;
	int level;
};

static int fake_irq(void *ctx, unsigned pin, int level)
{
	struct fake *f = ctx;

	f->irq_calls++;
	f->pin = pin;
	f->level = level;
	return 0;
}

static void fake_exit(void *ctx, int status)
{
	struct fake *f = ctx;

	f->exits++;
	f->status = status;
}

static struct pc_testdev *mk(struct fake *f)
{
	struct pc_testdev_config cfg = { fake_irq, fake_exit, f, NPINS };
	struct pc_testdev *d = pc_testdev_new(&cfg);

	assert_non_null(d);
	return d;
}

static uint32_t in(struct pc_testdev *d, uint16_t port, int bytes)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(pc_testdev_inout(d, 0, true, port, bytes, &v), 0);
	return v;
}

static void out(struct pc_testdev *d, uint16_t port, int bytes, uint32_t v)
{
	assert_int_equal(pc_testdev_inout(d, 0, false, port, bytes, &v), 0);
}

static void test_exit_rule(void **state)
{
	static const struct {
		uint32_t v;
		int status;
	} cases[] = { { 0, 1 }, { 1, 3 }, { 38, 77 }, { 63, 127 }, { 127, 255 }, { 128, 1 } };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(pc_testdev_exit_status(cases[i].v), cases[i].status);
}

static void test_exit_port_any_width(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev *d = mk(&f);
	uint32_t v;

	(void)state;
	assert_int_equal(in(d, PC_TESTDEV_EXIT_PORT, 1), 0);
	assert_int_equal(in(d, PC_TESTDEV_EXIT_PORT, 4), 0);
	assert_int_equal(f.exits, 0);
	/* A byte OUT leaves the upper bytes of the value all-ones (vcpu.c
	 * pre-fills it): only the written byte counts. */
	v = 0xFFFFFF26;
	assert_int_equal(pc_testdev_inout(d, 0, false, PC_TESTDEV_EXIT_PORT, 1, &v), 0);
	assert_int_equal(f.exits, 1);
	assert_int_equal(f.status, 77);
	v = 0xFFFF003F;
	assert_int_equal(pc_testdev_inout(d, 0, false, PC_TESTDEV_EXIT_PORT, 2, &v), 0);
	assert_int_equal(f.status, 127);
	out(d, PC_TESTDEV_EXIT_PORT, 4, 1);
	assert_int_equal(f.status, 3);
	assert_int_equal(f.exits, 3);
	pc_testdev_free(d);
}

static void test_scratch_register(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev *d = mk(&f);

	(void)state;
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT, 4), 0);
	out(d, PC_TESTDEV_SCRATCH_PORT, 4, 0x12345678);
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT, 4), 0x12345678);
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT + 1, 1), 0x56);
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT + 2, 2), 0x1234);
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT + 1, 2), 0x3456);
	out(d, PC_TESTDEV_SCRATCH_PORT + 3, 1, 0xFFFFFFAB);
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT, 4), 0xAB345678);
	out(d, PC_TESTDEV_SCRATCH_PORT + 1, 2, 0xCDEF);
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT, 4), 0xABCDEF78);
	/* The byte registers are separate storage. */
	assert_int_equal(in(d, PC_TESTDEV_BYTES_PORT, 4), 0);
	out(d, PC_TESTDEV_BYTES_PORT + 0, 1, 0x11);
	out(d, PC_TESTDEV_BYTES_PORT + 1, 1, 0x22);
	out(d, PC_TESTDEV_BYTES_PORT + 2, 1, 0x33);
	out(d, PC_TESTDEV_BYTES_PORT + 3, 1, 0x44);
	assert_int_equal(in(d, PC_TESTDEV_BYTES_PORT, 4), 0x44332211);
	assert_int_equal(in(d, PC_TESTDEV_BYTES_PORT + 2, 1), 0x33);
	assert_int_equal(in(d, PC_TESTDEV_SCRATCH_PORT, 4), 0xABCDEF78);
	pc_testdev_free(d);
}

static void test_accesses_crossing_a_register_are_refused(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev *d = mk(&f);
	uint32_t v = 0;

	(void)state;
	assert_int_equal(pc_testdev_inout(d, 0, true, PC_TESTDEV_SCRATCH_PORT + 2, 4, &v), -1);
	assert_int_equal(pc_testdev_inout(d, 0, false, PC_TESTDEV_BYTES_PORT + 3, 2, &v), -1);
	assert_int_equal(pc_testdev_inout(d, 0, true, PC_TESTDEV_SCRATCH_PORT, 3, &v), -1);
	assert_int_equal(pc_testdev_inout(d, 0, true, 0xEC, 1, &v), -1);
	assert_int_equal(pc_testdev_inout(d, 0, false, PC_TESTDEV_IRQ_PORT + NPINS, 1, &v), -1);
	assert_int_equal(pc_testdev_inout(d, 0, false, PC_TESTDEV_IRQ_PORT + NPINS - 1, 2, &v), -1);
	assert_int_equal(f.irq_calls, 0);
	assert_int_equal(f.exits, 0);
	pc_testdev_free(d);
}

static void test_flush_port(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev *d = mk(&f);

	(void)state;
	out(d, PC_TESTDEV_FLUSH_PORT, 4, 0x1000);
	assert_int_equal(in(d, PC_TESTDEV_FLUSH_PORT, 4), 0);
	assert_int_equal(f.exits + f.irq_calls, 0);
	pc_testdev_free(d);
}

static void test_irq_lines(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev *d = mk(&f);
	unsigned pin;

	(void)state;
	for (pin = 0; pin < NPINS; pin++) {
		out(d, PC_TESTDEV_IRQ_PORT + pin, 1, 0xFFFFFF01);
		assert_int_equal(f.pin, pin);
		assert_int_equal(f.level, 1);
		out(d, PC_TESTDEV_IRQ_PORT + pin, 1, 0xFFFFFF00);
		assert_int_equal(f.level, 0);
		/* Any non-zero byte raises the line. */
		out(d, PC_TESTDEV_IRQ_PORT + pin, 1, 0x80);
		assert_int_equal(f.level, 1);
	}
	assert_int_equal(f.irq_calls, 3 * NPINS);
	/* Only byte writes drive a line; reads give 0. */
	out(d, PC_TESTDEV_IRQ_PORT, 2, 0x0101);
	out(d, PC_TESTDEV_IRQ_PORT, 4, 1);
	assert_int_equal(f.irq_calls, 3 * NPINS);
	assert_int_equal(in(d, PC_TESTDEV_IRQ_PORT + 5, 1), 0);
	pc_testdev_free(d);
}

static void test_iomem(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev *d = mk(&f);
	const uint64_t base = PC_TESTDEV_IOMEM_BASE, end = base + PC_TESTDEV_IOMEM_SIZE;
	uint64_t v;
	int w;

	(void)state;
	v = 0x0123456789ABCDEFull;
	assert_int_equal(pc_testdev_mmio(d, 0, true, base, 8, &v), 0);
	v = 0;
	assert_int_equal(pc_testdev_mmio(d, 0, false, base, 8, &v), 0);
	assert_true(v == 0x0123456789ABCDEFull);
	assert_int_equal(pc_testdev_mmio(d, 0, false, base + 2, 2, &v), 0);
	assert_true(v == 0x89AB);
	for (w = 1; w <= 8; w *= 2) {
		v = 0xA5A5A5A5A5A5A5A5ull >> (64 - 8 * w);
		assert_int_equal(pc_testdev_mmio(d, 0, true, end - (uint64_t)w, w, &v), 0);
		v = 0;
		assert_int_equal(pc_testdev_mmio(d, 0, false, end - (uint64_t)w, w, &v), 0);
		assert_true(v == 0xA5A5A5A5A5A5A5A5ull >> (64 - 8 * w));
		/* One byte further crosses the end. */
		assert_int_equal(pc_testdev_mmio(d, 0, false, end - (uint64_t)w + 1, w, &v), -1);
	}
	assert_int_equal(pc_testdev_mmio(d, 0, false, base - 1, 1, &v), -1);
	assert_int_equal(pc_testdev_mmio(d, 0, false, end, 1, &v), -1);
	assert_int_equal(pc_testdev_mmio(d, 0, false, base, 9, &v), -1);
	assert_int_equal(pc_testdev_mmio(d, 0, false, base, 0, &v), -1);
	assert_int_equal(pc_testdev_mmio(d, 0, false, UINT64_MAX, 8, &v), -1);
	pc_testdev_free(d);
}

static void test_bad_config(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev_config cfg = { fake_irq, fake_exit, &f, 0 };

	(void)state;
	assert_null(pc_testdev_new(&cfg));
	assert_int_equal(errno, EINVAL);
	cfg.npins = PC_TESTDEV_MAX_PINS + 1;
	assert_null(pc_testdev_new(&cfg));
	cfg.npins = NPINS;
	cfg.exit = NULL;
	assert_null(pc_testdev_new(&cfg));
	assert_null(pc_testdev_new(NULL));
	pc_testdev_free(NULL);
}

static void test_register(void **state)
{
	struct fake f = { 0 };
	struct pc_testdev *d = mk(&f);
	struct inout *io = inout_new();
	struct mmio *m = mmio_new();
	uint32_t v = 0;
	uint64_t q = 0x55;

	(void)state;
	assert_int_equal(pc_testdev_register(d, io, m), 0);
	v = 0x77;
	assert_int_equal(inout_dispatch(io, 0, false, PC_TESTDEV_SCRATCH_PORT, 1, &v), 0);
	assert_int_equal(inout_dispatch(io, 0, true, PC_TESTDEV_SCRATCH_PORT, 4, &v), 0);
	assert_int_equal(v, 0x77);
	assert_int_equal(inout_dispatch(io, 0, false, PC_TESTDEV_IRQ_PORT + 17, 1, &v), 0);
	assert_int_equal(f.pin, 17);
	assert_int_equal(inout_dispatch(io, 0, false, PC_TESTDEV_IRQ_PORT + NPINS, 1, &v), -ENOENT);
	assert_int_equal(inout_dispatch(io, 0, true, PC_TESTDEV_SCRATCH_PORT + 2, 4, &v), -ENOENT);
	assert_int_equal(mmio_dispatch(m, 0, true, PC_TESTDEV_IOMEM_BASE + 0x100, 1, &q), 0);
	q = 0;
	assert_int_equal(mmio_dispatch(m, 0, false, PC_TESTDEV_IOMEM_BASE + 0x100, 1, &q), 0);
	assert_true(q == 0x55);
	assert_int_equal(mmio_dispatch(m, 0, false, PC_TESTDEV_IOMEM_BASE + 0xFFFE, 4, &q),
			 -ENOENT);
	/* A second instance finds its ports taken. */
	assert_int_equal(pc_testdev_register(d, io, m), -EEXIST);
	inout_free(io);
	mmio_free(m);
	pc_testdev_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_rule),
		cmocka_unit_test(test_exit_port_any_width),
		cmocka_unit_test(test_scratch_register),
		cmocka_unit_test(test_accesses_crossing_a_register_are_refused),
		cmocka_unit_test(test_flush_port),
		cmocka_unit_test(test_irq_lines),
		cmocka_unit_test(test_iomem),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_register),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
