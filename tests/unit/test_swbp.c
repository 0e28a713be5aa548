/* Unit tests for src/debug/swbp.c: the GDB stub's software breakpoints on
 * a guest memory of two small regions (no KVM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "debug/swbp.h"
#include "gmem.h"

#define LOW_GPA	 0x1000
#define HIGH_GPA 0x100000

static uint8_t low[4096], high[4096];
static struct gmem mem;
static struct swbp_table t;

static int setup(void **state)
{
	unsigned i;

	for (i = 0; i < sizeof(low); i++) {
		low[i] = (uint8_t)i;
		high[i] = (uint8_t)(0x80 + i);
	}
	memset(&mem, 0, sizeof(mem));
	memset(&t, 0, sizeof(t));
	assert_int_equal(gmem_add_region(&mem, LOW_GPA, sizeof(low), low), 0);
	assert_int_equal(gmem_add_region(&mem, HIGH_GPA, sizeof(high), high), 0);
	return 0;
}

static void test_insert_plants_int3_and_remove_restores(void **state)
{
	/* A guest-virtual address far from its guest-physical one. */
	assert_int_equal(swbp_insert(&t, &mem, 0xffffffff81000010ull, LOW_GPA + 0x10), 0);
	assert_int_equal(low[0x10], SWBP_INT3);
	assert_true(swbp_has(&t, 0xffffffff81000010ull));
	assert_false(swbp_has(&t, LOW_GPA + 0x10));
	/* Twice at one address: one entry, the original byte kept. */
	assert_int_equal(swbp_insert(&t, &mem, 0xffffffff81000010ull, LOW_GPA + 0x10), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.bp[0].orig, 0x10);
	swbp_remove(&t, &mem, 0xffffffff81000010ull);
	assert_int_equal(low[0x10], 0x10);
	assert_int_equal(t.n, 0);
	/* An unknown address: nothing happens. */
	swbp_remove(&t, &mem, 0x1234);
	assert_int_equal(t.n, 0);
}

static void test_insert_outside_ram_fails_cleanly(void **state)
{
	uint8_t before[sizeof(low)];

	memcpy(before, low, sizeof(low));
	assert_int_equal(swbp_insert(&t, &mem, 0x5000, 0x5000), -EFAULT);
	assert_int_equal(swbp_insert(&t, &mem, 1, UINT64_MAX), -EFAULT);
	assert_int_equal(swbp_insert(&t, &mem, 2, LOW_GPA + sizeof(low)), -EFAULT);
	assert_int_equal(t.n, 0);
	assert_memory_equal(before, low, sizeof(low));
}

static void test_table_full(void **state)
{
	unsigned i;

	for (i = 0; i < SWBP_MAX; i++)
		assert_int_equal(swbp_insert(&t, &mem, 0x1000 + i, LOW_GPA + i), 0);
	assert_int_equal(swbp_insert(&t, &mem, 0x9000, HIGH_GPA), -ENOSPC);
	assert_int_equal(high[0], 0x80);
	/* One already there is still fine. */
	assert_int_equal(swbp_insert(&t, &mem, 0x1005, LOW_GPA + 5), 0);
	swbp_remove_all(&t, &mem);
	assert_int_equal(t.n, 0);
	for (i = 0; i < SWBP_MAX; i++)
		assert_int_equal(low[i], (uint8_t)i);
}

static void test_hide_shows_original_bytes(void **state)
{
	uint8_t buf[17];

	assert_int_equal(swbp_insert(&t, &mem, 0x2004, LOW_GPA + 4), 0);
	assert_int_equal(swbp_insert(&t, &mem, 0x200f, LOW_GPA + 15), 0);
	assert_int_equal(swbp_insert(&t, &mem, 0x2010, LOW_GPA + 16), 0);
	memcpy(buf, low, sizeof(buf));
	assert_int_equal(buf[4], SWBP_INT3);
	/* 16 bytes: the breakpoint just past them is left alone. */
	swbp_hide(&t, 0x2000, buf, 16);
	assert_int_equal(buf[4], 4);
	assert_int_equal(buf[15], 15);
	assert_int_equal(buf[16], SWBP_INT3);
	/* A read that starts inside: offsets are relative to its start. */
	memcpy(buf, low + 8, 8);
	swbp_hide(&t, 0x2008, buf, 8);
	assert_int_equal(buf[7], 15);
	/* Near the top of the address space: no wrap-around match. */
	memset(buf, 0xAA, sizeof(buf));
	swbp_hide(&t, UINT64_MAX - 7, buf, 16);
	assert_int_equal(buf[0], 0xAA);
	assert_int_equal(buf[15], 0xAA);
	assert_int_equal(buf[16], 0xAA);
	/* Zero length touches nothing. */
	swbp_hide(&t, 0x2004, buf, 0);
	assert_int_equal(buf[0], 0xAA);
}

static void test_rewrite_keeps_int3(void **state)
{
	uint8_t data[4] = { 0x90, 0x90, 0x90, 0x90 };

	assert_int_equal(swbp_insert(&t, &mem, 0x3001, HIGH_GPA + 1), 0);
	/* The debugger writes over the breakpoint (gdb's "set var"). */
	memcpy(high, data, sizeof(data));
	swbp_rewrite(&t, &mem, 0x3000, data, sizeof(data));
	assert_int_equal(high[1], SWBP_INT3);
	assert_int_equal(t.bp[0].orig, 0x90);
	swbp_remove(&t, &mem, 0x3001);
	assert_int_equal(high[1], 0x90);
}

static void test_remove_leaves_guest_rewrite(void **state)
{
	assert_int_equal(swbp_insert(&t, &mem, 0x4002, LOW_GPA + 2), 0);
	/* The guest overwrote the INT3 (self-modifying code, a module load). */
	low[2] = 0x55;
	swbp_remove(&t, &mem, 0x4002);
	assert_int_equal(low[2], 0x55);
	assert_int_equal(t.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_insert_plants_int3_and_remove_restores, setup),
		cmocka_unit_test_setup(test_insert_outside_ram_fails_cleanly, setup),
		cmocka_unit_test_setup(test_table_full, setup),
		cmocka_unit_test_setup(test_hide_shows_original_bytes, setup),
		cmocka_unit_test_setup(test_rewrite_keeps_int3, setup),
		cmocka_unit_test_setup(test_remove_leaves_guest_rewrite, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
