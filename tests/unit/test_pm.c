/* ACPI PM1 registers, PM timer and SMI command port (src/hw/pm.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hw/pm.h"

struct fake {
	uint64_t now;
	int sci;
	int sci_changes;
	int sleeps;
	unsigned last_typ;
};

static uint64_t fake_now(void *arg)
{
	return ((struct fake *)arg)->now;
}

static void fake_sci(void *arg, int level)
{
	struct fake *f = arg;

	f->sci = level;
	f->sci_changes++;
}

static void fake_sleep(void *arg, unsigned typ)
{
	struct fake *f = arg;

	f->sleeps++;
	f->last_typ = typ;
}

static struct pm *mk(struct fake *f)
{
	struct pm_config cfg = { fake_sci, f, fake_sleep, f, fake_now, f };

	return pm_new(&cfg);
}

static uint32_t rd(struct pm *pm, uint16_t port, int bytes)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(pm_inout(pm, 0, true, port, bytes, &v), 0);
	return v;
}

static void wr(struct pm *pm, uint16_t port, int bytes, uint32_t v)
{
	assert_int_equal(pm_inout(pm, 0, false, port, bytes, &v), 0);
}

static void test_timer_rate_and_wrap(void **state)
{
	struct fake f = { .now = 1000 };
	struct pm *pm = mk(&f);

	assert_int_equal(rd(pm, PM_PORT_TMR, 4), 0);
	f.now += 1000000000ull; /* one second: 3579545 ticks */
	assert_int_equal(rd(pm, PM_PORT_TMR, 4), 3579545);
	/* 24-bit counter: wraps after 2^24 ticks (about 4.69 s). */
	f.now = 1000 + 5ull * 1000000000ull;
	assert_int_equal(rd(pm, PM_PORT_TMR, 4), (5ull * 3579545) & 0xffffff);
	/* Narrow reads see the low bytes; writes are ignored. */
	assert_int_equal(rd(pm, PM_PORT_TMR, 1), ((5ull * 3579545) & 0xff));
	wr(pm, PM_PORT_TMR, 4, 0);
	assert_int_equal(rd(pm, PM_PORT_TMR, 4), (5ull * 3579545) & 0xffffff);
	pm_free(pm);
}

static void test_power_button_needs_acpi_mode(void **state)
{
	struct fake f = { 0 };
	struct pm *pm = mk(&f);

	/* Without SCI_EN and PWRBTN_EN nobody sees the press. */
	assert_false(pm_power_button(pm));
	assert_int_equal(f.sci, 0);
	assert_int_equal(rd(pm, PM_PORT_PM1_EVT, 2) & PM1_PWRBTN_STS, PM1_PWRBTN_STS);
	wr(pm, PM_PORT_PM1_EVT, 2, PM1_PWRBTN_STS); /* write 1 to clear */
	assert_int_equal(rd(pm, PM_PORT_PM1_EVT, 2) & PM1_PWRBTN_STS, 0);

	/* The guest enables ACPI through the SMI command port, then the event. */
	wr(pm, PM_PORT_SMI_CMD, 1, PM_ACPI_ENABLE);
	assert_int_equal(rd(pm, PM_PORT_PM1_CNT, 2) & PM1_CNT_SCI_EN, PM1_CNT_SCI_EN);
	wr(pm, PM_PORT_PM1_EVT + 2, 2, PM1_PWRBTN_STS);
	assert_true(pm_power_button(pm));
	assert_int_equal(f.sci, 1);
	/* Clearing the status lowers the SCI. */
	wr(pm, PM_PORT_PM1_EVT, 2, PM1_PWRBTN_STS);
	assert_int_equal(f.sci, 0);
	/* ACPI disable masks everything. */
	pm_power_button(pm);
	assert_int_equal(f.sci, 1);
	wr(pm, PM_PORT_SMI_CMD, 1, PM_ACPI_DISABLE);
	assert_int_equal(f.sci, 0);
	pm_free(pm);
}

static void test_dword_write_sets_status_and_enable(void **state)
{
	struct fake f = { 0 };
	struct pm *pm = mk(&f);

	pm_power_button(pm);
	/* Low half clears PWRBTN_STS, high half enables it. */
	wr(pm, PM_PORT_PM1_EVT, 4, (uint32_t)PM1_PWRBTN_STS << 16 | PM1_PWRBTN_STS);
	assert_int_equal(rd(pm, PM_PORT_PM1_EVT, 4), (uint32_t)PM1_PWRBTN_STS << 16);
	/* Reserved enable bits do not stick. */
	wr(pm, PM_PORT_PM1_EVT + 2, 2, 0xffff);
	assert_int_equal(rd(pm, PM_PORT_PM1_EVT + 2, 2) & 0x80de, 0);
	pm_free(pm);
}

static void test_sleep_request(void **state)
{
	struct fake f = { 0 };
	struct pm *pm = mk(&f);

	/* SLP_TYP alone does nothing; with SLP_EN it requests the sleep. */
	wr(pm, PM_PORT_PM1_CNT, 2, PM_SLP_TYP_S5 << PM1_CNT_SLP_TYP_SHIFT);
	assert_int_equal(f.sleeps, 0);
	wr(pm, PM_PORT_PM1_CNT, 2,
	   PM_SLP_TYP_S5 << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SLP_EN | PM1_CNT_SCI_EN);
	assert_int_equal(f.sleeps, 1);
	assert_int_equal(f.last_typ, PM_SLP_TYP_S5);
	/* SLP_EN is write-only: it reads back as zero. */
	assert_int_equal(rd(pm, PM_PORT_PM1_CNT, 2) & PM1_CNT_SLP_EN, 0);
	/* A byte write of the high half alone works too. */
	wr(pm, PM_PORT_PM1_CNT + 1, 1, (PM1_CNT_SLP_EN | 3 << PM1_CNT_SLP_TYP_SHIFT) >> 8);
	assert_int_equal(f.sleeps, 2);
	assert_int_equal(f.last_typ, 3);
	pm_free(pm);
}

static void test_bad_widths(void **state)
{
	struct fake f = { 0 };
	struct pm *pm = mk(&f);
	uint32_t v = 0;

	assert_int_equal(pm_inout(pm, 0, true, PM_PORT_PM1_EVT, 3, &v), -1);
	assert_int_equal(pm_inout(pm, 0, false, PM_PORT_PM1_EVT, 8, &v), -1);
	/* Reserved bytes read all-ones. */
	assert_int_equal(rd(pm, PM_PORT_PM1_CNT + 2, 2), 0xffff);
	pm_free(pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_rate_and_wrap),
		cmocka_unit_test(test_power_button_needs_acpi_mode),
		cmocka_unit_test(test_dword_write_sets_status_and_enable),
		cmocka_unit_test(test_sleep_request),
		cmocka_unit_test(test_bad_widths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
