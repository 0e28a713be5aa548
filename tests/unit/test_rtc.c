/* Unit tests of the MC146818 RTC/CMOS model (src/hw/rtc.c), driven through
 * its port handler with an injected clock; one test runs the interrupt
 * timers on a real mevent loop. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw/rtc.h"
#include "mevent.h"

#define MIB (1024ULL * 1024)
#define GIB (1024 * MIB)

struct fix {
	struct rtc *r;
	struct timespec now;
	bool use_real_clock;
	pthread_mutex_t lock;
	int level;
	int rises;
	int falls;
};

static void fake_now(void *arg, struct timespec *ts)
{
	struct fix *f = arg;

	if (f->use_real_clock) {
		clock_gettime(CLOCK_REALTIME, ts);
		return;
	}
	*ts = f->now;
}

static void fake_irq(void *arg, int level)
{
	struct fix *f = arg;

	pthread_mutex_lock(&f->lock);
	if (level && !f->level)
		f->rises++;
	if (!level && f->level)
		f->falls++;
	f->level = level;
	pthread_mutex_unlock(&f->lock);
}

/* 2024-03-15 13:45:56 UTC, a Friday. */
static time_t base_time(void)
{
	struct tm tm = { .tm_year = 124,
			 .tm_mon = 2,
			 .tm_mday = 15,
			 .tm_hour = 13,
			 .tm_min = 45,
			 .tm_sec = 56 };

	return timegm(&tm);
}

static struct fix *fix_new(bool utc, uint64_t lowmem, uint64_t highmem)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct rtc_config cfg = { 0 };

	assert_non_null(f);
	pthread_mutex_init(&f->lock, NULL);
	f->now.tv_sec = base_time();
	f->now.tv_nsec = 100000000;
	cfg.now = fake_now;
	cfg.now_arg = f;
	cfg.utc = utc;
	cfg.irq = fake_irq;
	cfg.irq_arg = f;
	cfg.lowmem = lowmem;
	cfg.highmem = highmem;
	f->r = rtc_new(&cfg);
	assert_non_null(f->r);
	return f;
}

static void fix_free(struct fix *f)
{
	rtc_free(f->r);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static int setup(void **state)
{
	*state = fix_new(true, 256 * MIB, 0);
	return 0;
}

static int teardown(void **state)
{
	fix_free(*state);
	return 0;
}

static uint8_t rd(struct fix *f, uint8_t idx)
{
	uint32_t v = idx;

	assert_int_equal(rtc_inout(f->r, 0, false, RTC_PORT_INDEX, 1, &v), 0);
	v = 0xffffffff;
	assert_int_equal(rtc_inout(f->r, 0, true, RTC_PORT_DATA, 1, &v), 0);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

static void wr(struct fix *f, uint8_t idx, uint8_t val)
{
	uint32_t v = idx;

	assert_int_equal(rtc_inout(f->r, 0, false, RTC_PORT_INDEX, 1, &v), 0);
	v = val;
	assert_int_equal(rtc_inout(f->r, 0, false, RTC_PORT_DATA, 1, &v), 0);
}

static void advance_ns(struct fix *f, int64_t ns)
{
	int64_t t = (int64_t)f->now.tv_sec * 1000000000LL + f->now.tv_nsec + ns;

	f->now.tv_sec = (time_t)(t / 1000000000LL);
	f->now.tv_nsec = (long)(t % 1000000000LL);
}

static void test_bcd_and_binary(void **state)
{
	struct fix *f = *state;

	/* Power-on default: BCD, 24 hour. */
	assert_int_equal(rd(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(f, RTC_SEC), 0x56);
	assert_int_equal(rd(f, RTC_MIN), 0x45);
	assert_int_equal(rd(f, RTC_HOUR), 0x13);
	assert_int_equal(rd(f, RTC_WDAY), 6); /* Sunday = 1 */
	assert_int_equal(rd(f, RTC_MDAY), 0x15);
	assert_int_equal(rd(f, RTC_MONTH), 0x03);
	assert_int_equal(rd(f, RTC_YEAR), 0x24);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);

	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	assert_int_equal(rd(f, RTC_SEC), 56);
	assert_int_equal(rd(f, RTC_MIN), 45);
	assert_int_equal(rd(f, RTC_HOUR), 13);
	assert_int_equal(rd(f, RTC_MDAY), 15);
	assert_int_equal(rd(f, RTC_MONTH), 3);
	assert_int_equal(rd(f, RTC_YEAR), 24);
	assert_int_equal(rd(f, RTC_CENTURY), 20);

	/* The clock runs. */
	advance_ns(f, 5 * 1000000000LL);
	assert_int_equal(rd(f, RTC_SEC), 1);
	assert_int_equal(rd(f, RTC_MIN), 46);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
}

static void test_12_hour(void **state)
{
	struct fix *f = *state;

	wr(f, RTC_REG_B, 0);			  /* 12 hour, BCD */
	assert_int_equal(rd(f, RTC_HOUR), 0x81);  /* 1 PM */
	advance_ns(f, -13 * 3600 * 1000000000LL); /* 00:45 */
	assert_int_equal(rd(f, RTC_HOUR), 0x12);  /* 12 AM */
	advance_ns(f, 12 * 3600 * 1000000000LL);  /* 12:45 */
	assert_int_equal(rd(f, RTC_HOUR), 0x92);  /* 12 PM */
	advance_ns(f, 11 * 3600 * 1000000000LL);  /* 23:45 */
	wr(f, RTC_REG_B, RTC_B_DM_BINARY);	  /* 12 hour, binary */
	assert_int_equal(rd(f, RTC_HOUR), 0x80 | 11);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	assert_int_equal(rd(f, RTC_HOUR), 23);
}

static void test_utc_vs_local(void **state)
{
	char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	struct fix *local, *utc;

	(void)state;
	/* POSIX TZ: three hours east of UTC, no DST, no tz database needed. */
	setenv("TZ", "XYZ-3", 1);
	tzset();
	local = fix_new(false, 256 * MIB, 0);
	utc = fix_new(true, 256 * MIB, 0);
	assert_int_equal(rd(local, RTC_HOUR), 0x16);
	assert_int_equal(rd(utc, RTC_HOUR), 0x13);
	assert_int_equal(rd(local, RTC_MIN), rd(utc, RTC_MIN));

	/* A guest setting local time keeps counting in local time. */
	wr(local, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	wr(local, RTC_HOUR, 0x08);
	wr(local, RTC_REG_B, RTC_B_24H);
	advance_ns(local, 3600 * 1000000000LL);
	assert_int_equal(rd(local, RTC_HOUR), 0x09);

	fix_free(local);
	fix_free(utc);
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

static void test_uip(void **state)
{
	struct fix *f = *state;

	f->now.tv_nsec = 500000000;
	assert_int_equal(rd(f, RTC_REG_A), 0x26);
	f->now.tv_nsec = 999755999;
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	f->now.tv_nsec = 999756000; /* 244 us before the update */
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, RTC_A_UIP);
	f->now.tv_nsec = 999999999;
	assert_int_equal(rd(f, RTC_REG_A), 0x26 | RTC_A_UIP);
	f->now.tv_sec++;
	f->now.tv_nsec = 0;
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	/* UIP is read-only. */
	wr(f, RTC_REG_A, 0xa6);
	assert_int_equal(rd(f, RTC_REG_A), 0x26);
	/* No updates while SET: no UIP either. */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	f->now.tv_nsec = 999900000;
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
}

static void test_guest_sets_time(void **state)
{
	struct fix *f = *state;
	time_t host = f->now.tv_sec;

	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	wr(f, RTC_SEC, 0x58);
	wr(f, RTC_MIN, 0x59);
	wr(f, RTC_HOUR, 0x23);
	wr(f, RTC_MDAY, 0x28);
	wr(f, RTC_MONTH, 0x02);
	wr(f, RTC_YEAR, 0x23);
	wr(f, RTC_CENTURY, 0x20);
	/* Frozen while SET. */
	advance_ns(f, 10 * 1000000000LL);
	assert_int_equal(rd(f, RTC_SEC), 0x58);
	assert_int_equal(rd(f, RTC_HOUR), 0x23);
	wr(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(f, RTC_SEC), 0x58);

	/* 2023-02-28 23:59:58 + 3 s = 2023-03-01 00:00:01, a Wednesday. */
	advance_ns(f, 3 * 1000000000LL);
	assert_int_equal(rd(f, RTC_SEC), 0x01);
	assert_int_equal(rd(f, RTC_MIN), 0x00);
	assert_int_equal(rd(f, RTC_HOUR), 0x00);
	assert_int_equal(rd(f, RTC_WDAY), 4);
	assert_int_equal(rd(f, RTC_MDAY), 0x01);
	assert_int_equal(rd(f, RTC_MONTH), 0x03);
	assert_int_equal(rd(f, RTC_YEAR), 0x23);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	/* The host clock was not touched; the offset holds a day later. */
	assert_int_equal(f->now.tv_sec, host + 13);
	advance_ns(f, 86400 * 1000000000LL);
	assert_int_equal(rd(f, RTC_MDAY), 0x02);

	/* A direct write to a running clock takes effect at once. */
	wr(f, RTC_MIN, 0x30);
	assert_int_equal(rd(f, RTC_MIN), 0x30);
	assert_int_equal(rd(f, RTC_MDAY), 0x02);
	advance_ns(f, 60 * 1000000000LL);
	assert_int_equal(rd(f, RTC_MIN), 0x31);

	/* Setting SET drops UIE (data sheet). */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_UIE | RTC_B_24H);
	assert_int_equal(rd(f, RTC_REG_B), RTC_B_SET | RTC_B_24H);
	/* Garbage from a hostile guest: no crash, the clock still reads. */
	wr(f, RTC_MONTH, 0xff);
	wr(f, RTC_CENTURY, 0xff);
	wr(f, RTC_REG_B, RTC_B_24H);
	(void)rd(f, RTC_YEAR);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY | RTC_B_SET);
	wr(f, RTC_CENTURY, 0xff);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	(void)rd(f, RTC_YEAR);
}

static void test_reg_c(void **state)
{
	struct fix *f = *state;

	/* Rate select 0: no periodic flag to mix in. */
	wr(f, RTC_REG_A, 0x20);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	/* Update-ended interrupt. */
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	assert_int_equal(f->level, 0);
	advance_ns(f, 1000000000LL);
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0); /* any access evaluates */
	assert_int_equal(f->level, 1);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_int_equal(f->level, 0);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	/* C and D are read-only. */
	wr(f, RTC_REG_C, 0xff);
	wr(f, RTC_REG_D, 0x00);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);

	/* Periodic flag without PIE: PF but no IRQF; enabling PIE then
	 * raises the line. */
	wr(f, RTC_REG_B, RTC_B_24H);
	wr(f, RTC_REG_A, 0x26); /* 976.5625 us */
	advance_ns(f, 2000000);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
	assert_int_equal(f->level, 0);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	assert_int_equal(f->level, 1);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
	assert_int_equal(f->level, 0);
	/* Rate select 0: no periodic flag. */
	wr(f, RTC_REG_A, 0x20);
	advance_ns(f, 2000000);
	assert_int_equal(rd(f, RTC_REG_C), 0);
}

static void test_alarm(void **state)
{
	struct fix *f = *state;

	/* Time is 13:45:56; alarm at 13:45:58.  No periodic flag. */
	wr(f, RTC_REG_A, 0x20);
	wr(f, RTC_SEC_ALARM, 0x58);
	wr(f, RTC_MIN_ALARM, 0x45);
	wr(f, RTC_HOUR_ALARM, 0x13);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	advance_ns(f, 1000000000LL);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_UF);
	assert_int_equal(f->level, 0);
	advance_ns(f, 1000000000LL);
	assert_int_equal(f->rises, 0);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	assert_int_equal(f->rises, 1);
	assert_int_equal(f->level, 0);
	advance_ns(f, 1000000000LL);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_UF);

	/* Don't-care seconds (0xc0-0xff): every second of 13:46. */
	wr(f, RTC_SEC_ALARM, 0xc0);
	wr(f, RTC_MIN_ALARM, 0x46);
	advance_ns(f, 1000000000LL); /* 13:46:00 */
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	advance_ns(f, 1000000000LL);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	/* Every field don't-care: once a second. */
	wr(f, RTC_MIN_ALARM, 0xff);
	wr(f, RTC_HOUR_ALARM, 0xd5);
	advance_ns(f, 60 * 1000000000LL);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
}

static void expect_mem(struct fix *f, const uint8_t *idx, const uint8_t *val, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(rd(f, idx[i]), val[i]);
}

static void test_memory_bytes(void **state)
{
	static const uint8_t idx[] = { 0x15, 0x16, 0x17, 0x18, 0x30, 0x31,
				       0x34, 0x35, 0x5b, 0x5c, 0x5d };
	static const uint8_t m256[] = { 0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
					0x00, 0x0f, 0x00, 0x00, 0x00 };
	static const uint8_t m1g[] = { 0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
				       0x00, 0x3f, 0x00, 0x00, 0x00 };
	static const uint8_t m3_5g[] = { 0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
					 0x00, 0xbf, 0x00, 0x20, 0x00 };
	static const uint8_t m8m[] = { 0x80, 0x02, 0x00, 0x1c, 0x00, 0x1c,
				       0x00, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t m64g[] = { 0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
					0x00, 0xbf, 0x00, 0x40, 0x0f };
	struct fix *f;

	(void)state;
	f = fix_new(true, 256 * MIB, 0);
	expect_mem(f, idx, m256, sizeof(idx));
	fix_free(f);
	f = fix_new(true, 1 * GIB, 0);
	expect_mem(f, idx, m1g, sizeof(idx));
	fix_free(f);
	f = fix_new(true, 3 * GIB, 512 * MIB);
	expect_mem(f, idx, m3_5g, sizeof(idx));
	fix_free(f);
	f = fix_new(true, 8 * MIB, 0);
	expect_mem(f, idx, m8m, sizeof(idx));
	fix_free(f);
	/* 61 GiB above 4 GiB: 0x0f4000 units of 64 KiB. */
	f = fix_new(true, 3 * GIB, 61 * GIB);
	expect_mem(f, idx, m64g, sizeof(idx));
	fix_free(f);
}

static void test_nvram(void **state)
{
	struct fix *f = *state;
	unsigned int i;

	for (i = 0x0e; i < 0x80; i++)
		if (i != RTC_CENTURY)
			wr(f, (uint8_t)i, (uint8_t)(i * 3 + 1));
	for (i = 0x0e; i < 0x80; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(rd(f, (uint8_t)i), (uint8_t)(i * 3 + 1));
	/* The time registers were not disturbed. */
	assert_int_equal(rd(f, RTC_MIN), 0x45);
}

static void test_index_and_widths(void **state)
{
	struct fix *f = *state;
	uint32_t v;

	/* Bit 7 of the index is NMI disable: ignored for addressing. */
	wr(f, 0x80 | 0x40, 0x5a);
	assert_int_equal(rd(f, 0x40), 0x5a);
	wr(f, 0xff, 0xa5);
	assert_int_equal(rd(f, 0x7f), 0xa5);
	/* Port 0x70 reads back what was written. */
	v = 0x8e;
	rtc_inout(f->r, 0, false, RTC_PORT_INDEX, 1, &v);
	v = 0;
	rtc_inout(f->r, 0, true, RTC_PORT_INDEX, 1, &v);
	assert_int_equal(v, 0x8e);
	/* A word write to 0x70 is index then data. */
	v = 0x3341;
	assert_int_equal(rtc_inout(f->r, 0, false, RTC_PORT_INDEX, 2, &v), 0);
	assert_int_equal(rd(f, 0x41), 0x33);
	/* A dword read at 0x71: the data byte, all-ones past the device. */
	wr(f, 0x42, 0x77);
	v = 0;
	assert_int_equal(rtc_inout(f->r, 0, true, RTC_PORT_DATA, 4, &v), 0);
	assert_int_equal(v, 0xffffff77);
	assert_int_equal(rtc_inout(f->r, 0, true, RTC_PORT_DATA, 3, &v), -1);
	assert_int_equal(rtc_inout(f->r, 0, true, RTC_PORT_DATA, 0, &v), -1);
}

/* ---- timers on a real loop and the real clock ---- */

static void *loop_main(void *arg)
{
	mevent_loop_run(arg);
	return NULL;
}

static int level(struct fix *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->level;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static int rises(struct fix *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->rises;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static void test_timers(void **state)
{
	struct fix *f = *state;
	struct mevent_loop *loop = mevent_loop_new();
	pthread_t t;
	int i, n;

	assert_non_null(loop);
	f->use_real_clock = true;
	assert_int_equal(rtc_start(f->r, loop), 0);
	assert_int_equal(rtc_start(f->r, loop), -EINVAL);
	assert_int_equal(pthread_create(&t, NULL, loop_main, loop), 0);

	/* Periodic at 1024 Hz: the guest acks by reading C. */
	wr(f, RTC_REG_A, 0x26);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	for (i = 0; i < 200; i++) {
		usleep(1000);
		if (level(f))
			rd(f, RTC_REG_C);
	}
	n = rises(f);
	assert_true(n >= 20);

	/* Nothing enabled: the line stays low. */
	wr(f, RTC_REG_B, RTC_B_24H);
	rd(f, RTC_REG_C);
	usleep(50000);
	assert_int_equal(rises(f), n);

	/* Update-ended interrupt within a second and a bit. */
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	for (i = 0; i < 150 && rises(f) == n; i++)
		usleep(10000);
	assert_int_equal(rises(f), n + 1);
	assert_int_equal(rd(f, RTC_REG_C) & (RTC_C_IRQF | RTC_C_UF), RTC_C_IRQF | RTC_C_UF);

	mevent_loop_stop(loop);
	pthread_join(t, NULL);
	rtc_free(f->r);
	f->r = NULL;
	mevent_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bcd_and_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_12_hour, setup, teardown),
		cmocka_unit_test(test_utc_vs_local),
		cmocka_unit_test_setup_teardown(test_uip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_sets_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reg_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm, setup, teardown),
		cmocka_unit_test(test_memory_bytes),
		cmocka_unit_test_setup_teardown(test_nvram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_and_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
