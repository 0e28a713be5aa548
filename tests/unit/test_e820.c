/* Unit tests for src/firmware/e820.c: the guest memory map of SPEC §2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>

#include "firmware/e820.h"
#include "firmware/layout.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void expect_entry(const struct e820_entry *e, uint64_t addr, uint64_t end, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->addr + e->size, end);
	assert_int_equal(e->type, type);
}

/* Entries sorted, non-empty and disjoint. */
static void check_sorted(const struct e820_entry *map, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		assert_true(map[i].size > 0);
		if (i > 0)
			assert_true(map[i - 1].addr + map[i - 1].size <= map[i].addr);
	}
}

static void test_256m(void **state)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(256 * MIB, 0, map, E820_MAX_ENTRIES);

	(void)state;
	assert_int_equal(n, 5);
	expect_entry(&map[0], 0, 0x9FC00, E820_RAM);
	expect_entry(&map[1], 0x9FC00, 0xA0000, E820_RESERVED);
	expect_entry(&map[2], 0xF0000, 0x100000, E820_RESERVED);
	expect_entry(&map[3], 0x100000, 256 * MIB, E820_RAM);
	expect_entry(&map[4], 0xE0000000, 0xF0000000, E820_RESERVED);
	check_sorted(map, n);
}

static void test_3g(void **state)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(3 * GIB, 0, map, E820_MAX_ENTRIES);

	(void)state;
	assert_int_equal(n, 5);
	expect_entry(&map[3], 0x100000, 3 * GIB, E820_RAM);
	expect_entry(&map[4], LAYOUT_ECAM_BASE, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE, E820_RESERVED);
	check_sorted(map, n);
}

static void test_4g(void **state)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(3 * GIB, 1 * GIB, map, E820_MAX_ENTRIES);

	(void)state;
	assert_int_equal(n, 6);
	expect_entry(&map[3], 0x100000, 3 * GIB, E820_RAM);
	expect_entry(&map[4], 0xE0000000, 0xF0000000, E820_RESERVED);
	expect_entry(&map[5], 4 * GIB, 5 * GIB, E820_RAM);
	check_sorted(map, n);
}

static void test_1m_edge(void **state)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(1 * MIB, 0, map, E820_MAX_ENTRIES);

	(void)state;
	/* No RAM above 1 MiB: that entry is left out, not listed empty. */
	assert_int_equal(n, 4);
	expect_entry(&map[0], 0, 0x9FC00, E820_RAM);
	expect_entry(&map[2], 0xF0000, 0x100000, E820_RESERVED);
	expect_entry(&map[3], 0xE0000000, 0xF0000000, E820_RESERVED);
	check_sorted(map, n);
}

static void test_bad_args(void **state)
{
	struct e820_entry map[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(e820_build(1 * MIB - 4096, 0, map, E820_MAX_ENTRIES), -EINVAL);
	assert_int_equal(e820_build(LAYOUT_ECAM_BASE + 4096, 0, map, E820_MAX_ENTRIES), -EINVAL);
	assert_int_equal(e820_build(256 * MIB + 1, 0, map, E820_MAX_ENTRIES), -EINVAL);
	assert_int_equal(e820_build(3 * GIB, 1, map, E820_MAX_ENTRIES), -EINVAL);
	assert_int_equal(e820_build(256 * MIB, 0, map, 3), -ENOSPC);
	assert_int_equal(e820_build(256 * MIB, 0, map, 5), 5);
}

static void test_add(void **state)
{
	struct e820_entry map[8];
	int n = e820_build(256 * MIB, 0, map, 7);

	(void)state;
	assert_int_equal(n, 5);
	/* A boot ROM at the top of 4 GiB goes last. */
	n = e820_add(map, n, 7, 0xFFE00000, 0x200000, E820_RESERVED);
	assert_int_equal(n, 6);
	expect_entry(&map[5], 0xFFE00000, 0x100000000ULL, E820_RESERVED);
	/* ACPI tables in the middle keep the order. */
	n = e820_add(map, n, 7, 0xA0000, 0x1000, E820_ACPI);
	assert_int_equal(n, 7);
	expect_entry(&map[2], 0xA0000, 0xA1000, E820_ACPI);
	expect_entry(&map[3], 0xF0000, 0x100000, E820_RESERVED);
	check_sorted(map, n);
	/* Full, overlapping, empty, wrapping. */
	assert_int_equal(e820_add(map, n, 7, 0xC0000, 0x1000, E820_NVS), -ENOSPC);
	assert_int_equal(e820_add(map, 6, 7, 0x9F000, 0x1000, E820_NVS), -EINVAL);
	assert_int_equal(e820_add(map, 6, 7, 0xC0000, 0, E820_NVS), -EINVAL);
	assert_int_equal(e820_add(map, 6, 7, ~0ULL - 4095, 0x2000, E820_NVS), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_256m),	 cmocka_unit_test(test_3g),
		cmocka_unit_test(test_4g),	 cmocka_unit_test(test_1m_edge),
		cmocka_unit_test(test_bad_args), cmocka_unit_test(test_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
