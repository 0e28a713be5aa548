/* libFuzzer target: the ACPI fixed hardware (src/hw/pm.c) -- PM1 event and
 * control blocks, PM timer and SMI command port -- with accesses of every
 * width (1, 2, 4 and an invalid 3) at every port of its ranges and just
 * around them, a fake monotonic clock the input advances, and power-button
 * presses (SECURITY.md "Transport registers").  Invariants:
 *  - the SCI callback reports only changes, and its level always equals
 *    SCI_EN && (PM1_STS & PM1_EN) != 0 as read back through the ports;
 *  - PM1_CNT never reads back SLP_EN; the timer is 24 bits wide and never
 *    goes backwards unless it wrapped;
 *  - a sleep request reports the SLP_TYP that was written. */
#include <string.h>

#include "fuzz_input.h"
#include "hw/pm.h"

struct state {
	struct pm *pm;
	uint64_t now;
	int level;
	int sleeps;
	unsigned last_typ;
};

static struct state st;

static void on_sci(void *arg, int level)
{
	struct state *s = arg;

	FZ_CHECK(level == 0 || level == 1);
	FZ_CHECK(level != s->level);
	s->level = level;
}

static void on_sleep(void *arg, unsigned typ)
{
	struct state *s = arg;

	FZ_CHECK(typ <= 7);
	s->sleeps++;
	s->last_typ = typ;
}

static uint64_t fake_now(void *arg)
{
	return ((struct state *)arg)->now;
}

static uint32_t in(struct state *s, uint16_t port, int bytes)
{
	uint32_t v = 0xffffffffu;

	FZ_CHECK(pm_inout(s->pm, 0, true, port, bytes, &v) == 0);
	return bytes == 4 ? v : v & ((1u << (8 * bytes)) - 1);
}

static void check_sci(struct state *s)
{
	uint32_t evt = in(s, PM_PORT_PM1_EVT, 4);
	uint32_t cnt = in(s, PM_PORT_PM1_CNT, 2);
	uint16_t sts = (uint16_t)evt, en = (uint16_t)(evt >> 16);

	FZ_CHECK(!(cnt & PM1_CNT_SLP_EN));
	FZ_CHECK(s->level == ((cnt & PM1_CNT_SCI_EN) && (sts & en)));
}

static void check_timer(struct state *s, struct fz *f)
{
	uint32_t t0 = in(s, PM_PORT_TMR, 4), t1;
	uint64_t dt = fz_u16(f); /* well below one 24-bit wrap (4.7 s) */

	s->now += dt;
	t1 = in(s, PM_PORT_TMR, 4);
	FZ_CHECK(t0 <= 0xffffff && t1 <= 0xffffff);
	FZ_CHECK(((t1 - t0) & 0xffffff) <= dt * PM_TIMER_HZ / 1000000000ull + 1);
}

static void step(struct state *s, struct fz *f)
{
	static const uint16_t bases[] = { PM_PORT_PM1_EVT, PM_PORT_PM1_CNT, PM_PORT_TMR,
					  PM_PORT_SMI_CMD };
	uint8_t op = fz_u8(f);
	uint16_t port = (uint16_t)(bases[(op >> 2) & 3] + (int8_t)fz_u8(f) % 6);
	int bytes = fz_width(f), sleeps = s->sleeps;
	uint32_t v;
	int rc;

	switch (op & 3) {
	case 0: /* read */
		v = 0xffffffffu;
		rc = pm_inout(s->pm, 0, true, port, bytes, &v);
		FZ_CHECK(rc == 0 || (rc == -1 && bytes == 3));
		break;
	case 1: /* write */
		v = fz_u32(f);
		rc = pm_inout(s->pm, 0, false, port, bytes, &v);
		FZ_CHECK(rc == 0 || (rc == -1 && bytes == 3));
		if (s->sleeps != sleeps && port == PM_PORT_PM1_CNT && bytes >= 2)
			FZ_CHECK(s->last_typ == ((v & PM1_CNT_SLP_TYP_MASK) >>
						 PM1_CNT_SLP_TYP_SHIFT));
		break;
	case 2:
		if (op & 0x40)
			pm_power_button(s->pm);
		else
			check_timer(s, f);
		break;
	case 3:
		s->now += (uint64_t)fz_u32(f) << (op >> 5);
		break;
	}
	check_sci(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pm_config cfg = { 0 };
	struct fz f = { data, size };
	int steps = 0;

	memset(&st, 0, sizeof(st));
	st.now = fz_u64(&f) >> 8;
	cfg.sci = on_sci;
	cfg.sci_arg = &st;
	cfg.sleep = on_sleep;
	cfg.sleep_arg = &st;
	cfg.now_ns = fake_now;
	cfg.now_arg = &st;
	st.pm = pm_new(&cfg);
	if (!st.pm)
		return 0;
	while (fz_more(&f) && steps++ < 4096)
		step(&st, &f);
	pm_free(st.pm);
	return 0;
}
