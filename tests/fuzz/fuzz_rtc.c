/* libFuzzer target: the MC146818 RTC and CMOS RAM (src/hw/rtc.c) through
 * its ports 0x70/0x71 with accesses of every width, while a fake wall clock
 * moves as the input says (forwards, by large steps, and backwards).
 * The interrupt timers run on a real event loop (rtc_start), never
 * dispatched, so arming and disarming them is exercised too; the loop is
 * made per input because mevent_del() only frees (and closes timerfds) when
 * the loop runs or is freed.  Invariants:
 *  - while the clock runs (register B SET clear, divider not held in reset)
 *    every time register reads as a valid value in the current mode: BCD
 *    digits or binary, seconds/minutes 0-59, hours 0-23 or 1-12 with the PM
 *    bit in 12-hour mode, weekday 1-7, day 1-31, month 1-12, year and
 *    century 0-99;
 *  - register C's IRQF equals (C & B & 0x70) != 0 as read, and the irq
 *    callback only reports changes and matches IRQF;
 *  - register D always reads VRT only. */
#include <string.h>

#include "fuzz_input.h"
#include "hw/rtc.h"
#include "mevent.h"

#define NS 1000000000LL

struct state {
	struct rtc *r;
	int64_t now_ns;
	int level;
};

static struct state st;

static void on_irq(void *arg, int level)
{
	struct state *s = arg;

	FZ_CHECK(level == 0 || level == 1);
	FZ_CHECK(level != s->level);
	s->level = level;
}

static void fake_now(void *arg, struct timespec *ts)
{
	struct state *s = arg;

	ts->tv_sec = s->now_ns / NS;
	ts->tv_nsec = s->now_ns % NS;
}

static uint8_t cmos_rd(struct state *s, uint8_t idx)
{
	uint32_t v = idx;

	FZ_CHECK(rtc_inout(s->r, 0, false, RTC_PORT_INDEX, 1, &v) == 0);
	v = 0xffffffffu;
	FZ_CHECK(rtc_inout(s->r, 0, true, RTC_PORT_DATA, 1, &v) == 0);
	return (uint8_t)v;
}

static int field(uint8_t v, bool binary, int lo, int hi)
{
	int n;

	if (binary) {
		n = v;
	} else {
		FZ_CHECK((v & 0x0f) <= 9 && (v >> 4) <= 9);
		n = (v >> 4) * 10 + (v & 0x0f);
	}
	FZ_CHECK(n >= lo && n <= hi);
	return n;
}

static void check_time(struct state *s)
{
	uint8_t a = cmos_rd(s, RTC_REG_A), b = cmos_rd(s, RTC_REG_B), h;
	bool bin = b & RTC_B_DM_BINARY;

	FZ_CHECK(cmos_rd(s, RTC_REG_D) == RTC_D_VRT);
	if ((b & RTC_B_SET) || (a & 0x60) == 0x60)
		return; /* frozen: the guest's own bytes */
	field(cmos_rd(s, RTC_SEC), bin, 0, 59);
	field(cmos_rd(s, RTC_MIN), bin, 0, 59);
	h = cmos_rd(s, RTC_HOUR);
	if (b & RTC_B_24H)
		field(h, bin, 0, 23);
	else
		field(h & 0x7f, bin, 1, 12);
	field(cmos_rd(s, RTC_WDAY), bin, 1, 7);
	field(cmos_rd(s, RTC_MDAY), bin, 1, 31);
	field(cmos_rd(s, RTC_MONTH), bin, 1, 12);
	field(cmos_rd(s, RTC_YEAR), bin, 0, 99);
	field(cmos_rd(s, RTC_CENTURY), bin, 0, 99);
}

/* Reading C clears it, so look at it last. */
static void check_irq(struct state *s)
{
	uint8_t b = cmos_rd(s, RTC_REG_B), c;
	int before = s->level;

	c = cmos_rd(s, RTC_REG_C);
	FZ_CHECK(!!(c & RTC_C_IRQF) == !!(c & b & 0x70));
	FZ_CHECK((c & 0x0f) == 0);
	FZ_CHECK(before == !!(c & RTC_C_IRQF));
	FZ_CHECK(s->level == 0);
}

static void advance(struct state *s, struct fz *f, uint8_t op)
{
	int64_t d = (int64_t)fz_u32(f);

	switch ((op >> 4) & 3) {
	case 0: /* sub-second steps, the periodic interrupt's scale */
		s->now_ns += d % NS;
		break;
	case 1: /* seconds to a month */
		s->now_ns += (d % (31LL * 86400)) * NS;
		break;
	case 2: /* the host clock steps back */
		s->now_ns -= (d % 100000) * NS / 16;
		break;
	case 3: /* up to a century */
		s->now_ns += (d % (100LL * 366 * 86400)) * NS;
		break;
	}
	if (s->now_ns < 0)
		s->now_ns = 0;
}

static void step(struct state *s, struct fz *f)
{
	uint8_t op = fz_u8(f);
	uint32_t v;
	int bytes, rc;

	switch (op & 7) {
	case 0: /* index (the NMI bit and indices >= 0x80 too) */
	case 1:
		v = fz_u8(f);
		rtc_inout(s->r, 0, false, RTC_PORT_INDEX, 1, &v);
		break;
	case 2: /* data write */
	case 3:
		v = fz_u8(f);
		rtc_inout(s->r, 0, false, RTC_PORT_DATA, 1, &v);
		break;
	case 4: /* any access at 0x70/0x71 (a word spans both ports) */
		bytes = fz_width(f);
		v = fz_u32(f);
		rc = rtc_inout(s->r, 0, op & 0x80, (uint16_t)(RTC_PORT_INDEX + ((op >> 3) & 1)),
			       bytes, &v);
		FZ_CHECK(rc == 0 || (rc == -1 && bytes == 3));
		break;
	case 5:
		advance(s, f, op);
		break;
	case 6:
		check_time(s);
		break;
	case 7:
		check_irq(s);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtc_config cfg = { 0 };
	struct fz f = { data, size };
	uint8_t flags = fz_u8(&f);
	struct mevent_loop *loop = NULL;
	int steps = 0;

	setenv("TZ", "UTC", 1); /* deterministic local time */
	memset(&st, 0, sizeof(st));
	/* Start between 1970 and ~2106. */
	st.now_ns = (int64_t)fz_u32(&f) * NS + fz_u32(&f) % NS;
	cfg.now = fake_now;
	cfg.now_arg = &st;
	cfg.utc = flags & 1;
	cfg.irq = on_irq;
	cfg.irq_arg = &st;
	cfg.lowmem = (uint64_t)fz_u16(&f) << 20;
	cfg.highmem = (uint64_t)fz_u16(&f) << 30;
	st.r = rtc_new(&cfg);
	if (!st.r)
		return 0;
	if (flags & 2) {
		loop = mevent_loop_new();
		if (!loop || rtc_start(st.r, loop))
			abort();
	}
	while (fz_more(&f) && steps++ < 4096)
		step(&st, &f);
	check_time(&st);
	rtc_free(st.r);
	mevent_loop_free(loop);
	return 0;
}
