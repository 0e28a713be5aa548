/* MC146818 real-time clock and CMOS RAM, written from the Motorola MC146818A
 * data sheet (register map, "Update cycle", "Interrupts") and the PC
 * convention for the memory-size bytes.
 *
 * The model keeps no running clock of its own: the guest-visible time is the
 * host wall-clock time plus an offset in whole seconds.  Setting the time
 * (with register B's SET bit, or by writing a time register directly) only
 * changes the offset, never the host clock.  Without -u the RTC counts host
 * local time: "host seconds" are then the UTC seconds plus the local UTC
 * offset at that moment (localtime_r), and all fields are rendered with
 * gmtime_r/timegm from there, so the guest-set offset survives DST changes
 * of the host as a real local-time RTC would not (the guest OS corrects
 * those).
 *
 * While SET is 1, or the divider chain is held in reset (register A DV2-DV1 =
 * 11), the time registers are frozen bytes the guest may rewrite; leaving that
 * state turns those bytes back into an offset.
 *
 * Register C flags follow the clock: every access first evaluates what
 * happened since the previous evaluation (an update: UF, and AF when the new
 * time matches the alarm; a periodic tick: PF).  When an interrupt is enabled
 * and rtc_start() gave us an event loop, timers make that evaluation happen
 * on time, so the interrupt is raised without guest polling.  An evaluation
 * that spans several seconds checks the alarm against the latest second only. */
#include "hw/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

#define CMOS_SIZE  128
#define NS_PER_SEC 1000000000LL
/* UIP rises this long before each update (data sheet tBUC, 32.768 kHz). */
#define UIP_WINDOW_NS 244000LL
/* Fire the update timer just after the second boundary, never before it. */
#define UPDATE_SLACK_NS 50000LL

#define REG_A_DV_MASK	0x70
#define REG_A_DV_RESET	0x60 /* DV2 and DV1 set: divider chain held in reset */
#define REG_A_RS_MASK	0x0f
#define REG_B_INT_MASK	(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE)
#define ALARM_DONT_CARE 0xc0

/* PC memory-size bytes (IBM AT BIOS convention). */
#define CMOS_BASE_MEM	   0x15 /* KiB below 1 MiB, 16 bits */
#define CMOS_EXT_MEM	   0x17 /* KiB above 1 MiB, 16 bits, capped */
#define CMOS_EXT_MEM2	   0x30 /* same, as POST reports it */
#define CMOS_MEM_ABOVE_16M 0x34 /* 64 KiB units from 16 MiB to the top of low RAM */
#define CMOS_MEM_ABOVE_4G  0x5b /* 64 KiB units above 4 GiB, 24 bits */

#define KIB 1024ULL
#define MIB (1024 * KIB)

struct rtc {
	pthread_mutex_t lock;
	struct rtc_config cfg;
	uint8_t cmos[CMOS_SIZE];
	uint8_t index_reg; /* last byte written to port 0x70 */
	int64_t offset;	   /* RTC seconds minus host seconds */
	bool halted;	   /* time registers frozen (SET or divider reset) */
	int64_t last_ns;   /* host time of the previous flag evaluation */
	int irq_level;

	struct mevent *periodic_ev;
	struct mevent *update_ev;
	uint64_t periodic_armed_ns; /* 0: periodic timer off */
	bool update_armed;
};

static const uint8_t time_regs[] = { RTC_SEC,  RTC_MIN,	  RTC_HOUR, RTC_WDAY,
				     RTC_MDAY, RTC_MONTH, RTC_YEAR, RTC_CENTURY };

static bool is_time_reg(unsigned int idx)
{
	size_t i;

	for (i = 0; i < sizeof(time_regs); i++)
		if (time_regs[i] == idx)
			return true;
	return false;
}

static int64_t host_now_ns(struct rtc *r)
{
	struct timespec ts;

	if (r->cfg.now)
		r->cfg.now(r->cfg.now_arg, &ts);
	else
		clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Floor division, for host times before 1970 in tests. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Host seconds on the RTC's scale: UTC, or UTC shifted to local time. */
static int64_t host_base_secs(struct rtc *r, int64_t now_ns)
{
	time_t t = (time_t)floor_div(now_ns, NS_PER_SEC);
	struct tm tm;

	if (r->cfg.utc || !localtime_r(&t, &tm))
		return t;
	return t + tm.tm_gmtoff;
}

static bool binary_mode(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t to_reg(const struct rtc *r, unsigned int v)
{
	v %= 100;
	return binary_mode(r) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Guest bytes may hold anything: each nibble is at most 15, so the result
 * stays small and timegm() normalises what is out of range. */
static int from_reg(const struct rtc *r, uint8_t b)
{
	return binary_mode(r) ? b : (b >> 4) * 10 + (b & 0x0f);
}

static uint8_t hour_to_reg(const struct rtc *r, int hour)
{
	int h12;

	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return to_reg(r, (unsigned int)hour);
	h12 = hour % 12;
	if (h12 == 0)
		h12 = 12;
	return to_reg(r, (unsigned int)h12) | (hour >= 12 ? 0x80 : 0);
}

static int hour_from_reg(const struct rtc *r, uint8_t b)
{
	int h;

	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return from_reg(r, b);
	h = from_reg(r, b & 0x7f) % 12;
	return (b & 0x80) ? h + 12 : h;
}

static void render_secs(struct rtc *r, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;
	long year;

	if (!gmtime_r(&t, &tm))
		return;
	year = (long)tm.tm_year + 1900;
	if (year < 0)
		year = 0;
	r->cmos[RTC_SEC] = to_reg(r, (unsigned int)tm.tm_sec);
	r->cmos[RTC_MIN] = to_reg(r, (unsigned int)tm.tm_min);
	r->cmos[RTC_HOUR] = hour_to_reg(r, tm.tm_hour);
	r->cmos[RTC_WDAY] = to_reg(r, (unsigned int)tm.tm_wday + 1);
	r->cmos[RTC_MDAY] = to_reg(r, (unsigned int)tm.tm_mday);
	r->cmos[RTC_MONTH] = to_reg(r, (unsigned int)tm.tm_mon + 1);
	r->cmos[RTC_YEAR] = to_reg(r, (unsigned int)(year % 100));
	r->cmos[RTC_CENTURY] = to_reg(r, (unsigned int)((year / 100) % 100));
}

static void render_now(struct rtc *r, int64_t now_ns)
{
	render_secs(r, host_base_secs(r, now_ns) + r->offset);
}

/* Turn the time registers back into an offset; a time timegm() cannot
 * represent leaves the offset as it was. */
static void parse_time(struct rtc *r, int64_t now_ns)
{
	struct tm tm = { 0 };
	time_t t;

	tm.tm_sec = from_reg(r, r->cmos[RTC_SEC]);
	tm.tm_min = from_reg(r, r->cmos[RTC_MIN]);
	tm.tm_hour = hour_from_reg(r, r->cmos[RTC_HOUR]);
	tm.tm_mday = from_reg(r, r->cmos[RTC_MDAY]);
	tm.tm_mon = from_reg(r, r->cmos[RTC_MONTH]) - 1;
	tm.tm_year =
	    from_reg(r, r->cmos[RTC_CENTURY]) * 100 + from_reg(r, r->cmos[RTC_YEAR]) - 1900;
	errno = 0;
	t = timegm(&tm);
	if (t == (time_t)-1 && errno != 0)
		return;
	r->offset = (int64_t)t - host_base_secs(r, now_ns);
}

static bool divider_reset(const struct rtc *r)
{
	return (r->cmos[RTC_REG_A] & REG_A_DV_RESET) == REG_A_DV_RESET;
}

static bool want_halt(const struct rtc *r)
{
	return (r->cmos[RTC_REG_B] & RTC_B_SET) || divider_reset(r);
}

/* Periodic interrupt period for rate select rs (data sheet table 5, 32.768
 * kHz time base): rs 1 and 2 repeat rs 8 and 9; rs n >= 3 gives 2^(n-1)
 * cycles of 32768 Hz. 0: off. */
static uint64_t periodic_ns(const struct rtc *r)
{
	unsigned int rs = r->cmos[RTC_REG_A] & REG_A_RS_MASK;

	if (rs == 0 || divider_reset(r))
		return 0;
	if (rs < 3)
		rs += 7;
	return ((1ULL << (rs - 1)) * (uint64_t)NS_PER_SEC) / 32768;
}

static bool alarm_matches(struct rtc *r)
{
	static const uint8_t pairs[][2] = { { RTC_SEC_ALARM, RTC_SEC },
					    { RTC_MIN_ALARM, RTC_MIN },
					    { RTC_HOUR_ALARM, RTC_HOUR } };
	size_t i;

	for (i = 0; i < 3; i++) {
		uint8_t a = r->cmos[pairs[i][0]];

		if ((a & ALARM_DONT_CARE) != ALARM_DONT_CARE && a != r->cmos[pairs[i][1]])
			return false;
	}
	return true;
}

/* Called with the lock held whenever flags or enables may have changed. */
static void irq_update(struct rtc *r)
{
	int level;

	if (r->cmos[RTC_REG_C] & r->cmos[RTC_REG_B] & REG_B_INT_MASK)
		r->cmos[RTC_REG_C] |= RTC_C_IRQF;
	else
		r->cmos[RTC_REG_C] &= (uint8_t)~RTC_C_IRQF;
	level = (r->cmos[RTC_REG_C] & RTC_C_IRQF) ? 1 : 0;
	if (level == r->irq_level)
		return;
	r->irq_level = level;
	if (r->cfg.irq)
		r->cfg.irq(r->cfg.irq_arg, level);
}

/* Latch what happened between the previous evaluation and now_ns. */
static void evaluate(struct rtc *r, int64_t now_ns)
{
	uint64_t p;

	if (now_ns <= r->last_ns) {
		/* Host clock stepped back (or no time passed): no event. */
		r->last_ns = now_ns;
		irq_update(r);
		return;
	}
	if (!r->halted && floor_div(now_ns, NS_PER_SEC) != floor_div(r->last_ns, NS_PER_SEC)) {
		r->cmos[RTC_REG_C] |= RTC_C_UF;
		render_now(r, now_ns);
		if (alarm_matches(r))
			r->cmos[RTC_REG_C] |= RTC_C_AF;
	}
	/* The periodic timer, when armed, sets PF itself at its own pace. */
	p = periodic_ns(r);
	if (p && !r->periodic_armed_ns &&
	    floor_div(now_ns, (int64_t)p) != floor_div(r->last_ns, (int64_t)p))
		r->cmos[RTC_REG_C] |= RTC_C_PF;
	r->last_ns = now_ns;
	irq_update(r);
}

/* Run the timers only while an interrupt they serve is enabled. */
static void timers_rearm(struct rtc *r, int64_t now_ns)
{
	uint64_t p = 0;
	bool want_update;

	if (!r->periodic_ev || !r->update_ev)
		return;
	if (r->cmos[RTC_REG_B] & RTC_B_PIE)
		p = periodic_ns(r);
	if (p != r->periodic_armed_ns) {
		mevent_timer_set(r->periodic_ev, p, p);
		r->periodic_armed_ns = p;
	}
	want_update = (r->cmos[RTC_REG_B] & (RTC_B_UIE | RTC_B_AIE)) && !r->halted;
	if (want_update && !r->update_armed) {
		int64_t into = now_ns - floor_div(now_ns, NS_PER_SEC) * NS_PER_SEC;

		mevent_timer_set(r->update_ev, (uint64_t)(NS_PER_SEC - into + UPDATE_SLACK_NS), 0);
		r->update_armed = true;
	} else if (!want_update && r->update_armed) {
		mevent_timer_set(r->update_ev, 0, 0);
		r->update_armed = false;
	}
}

static void halt_track(struct rtc *r, int64_t now_ns)
{
	bool halt = want_halt(r);

	if (halt && !r->halted)
		render_now(r, now_ns); /* freeze the registers at this time */
	else if (!halt && r->halted)
		parse_time(r, now_ns); /* counting resumes from what the guest left */
	r->halted = halt;
}

static void write_reg_b(struct rtc *r, uint8_t val, int64_t now_ns)
{
	/* Setting SET clears UIE (data sheet, register B bit 7). */
	if (val & RTC_B_SET)
		val &= (uint8_t)~RTC_B_UIE;
	r->cmos[RTC_REG_B] = val;
	halt_track(r, now_ns);
}

static void cmos_write(struct rtc *r, unsigned int idx, uint8_t val, int64_t now_ns)
{
	switch (idx) {
	case RTC_REG_A:
		r->cmos[RTC_REG_A] = val & (uint8_t)~RTC_A_UIP;
		halt_track(r, now_ns);
		break;
	case RTC_REG_B:
		write_reg_b(r, val, now_ns);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		if (is_time_reg(idx) && !r->halted) {
			/* A running clock takes the new field at once. */
			render_now(r, now_ns);
			r->cmos[idx] = val;
			parse_time(r, now_ns);
		} else {
			r->cmos[idx] = val;
		}
		break;
	}
	irq_update(r);
	timers_rearm(r, now_ns);
}

static bool uip_now(const struct rtc *r, int64_t now_ns)
{
	int64_t into = now_ns - floor_div(now_ns, NS_PER_SEC) * NS_PER_SEC;

	return !r->halted && into >= NS_PER_SEC - UIP_WINDOW_NS;
}

static uint8_t cmos_read(struct rtc *r, unsigned int idx, int64_t now_ns)
{
	uint8_t v;

	switch (idx) {
	case RTC_REG_A:
		return r->cmos[RTC_REG_A] | (uip_now(r, now_ns) ? RTC_A_UIP : 0);
	case RTC_REG_C:
		v = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0; /* reading clears every flag and IRQF */
		irq_update(r);
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		if (is_time_reg(idx) && !r->halted)
			render_now(r, now_ns);
		return r->cmos[idx];
	}
}

static void data_access(struct rtc *r, bool in, uint8_t *val)
{
	int64_t now_ns = host_now_ns(r);
	unsigned int idx = r->index_reg & (CMOS_SIZE - 1);

	evaluate(r, now_ns);
	if (in)
		*val = cmos_read(r, idx, now_ns);
	else
		cmos_write(r, idx, *val, now_ns);
}

int rtc_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct rtc *r = arg;
	uint32_t out = 0;
	int i;

	(void)vcpu;
	if (bytes != 1 && bytes != 2 && bytes != 4)
		return -1;
	pthread_mutex_lock(&r->lock);
	/* A wide access is the byte accesses to consecutive ports it spans. */
	for (i = 0; i < bytes; i++) {
		unsigned int p = (unsigned int)port + (unsigned int)i;
		uint8_t b = in ? 0xff : (uint8_t)(*val >> (8 * i));

		if (p == RTC_PORT_INDEX) {
			if (in)
				b = r->index_reg;
			else
				r->index_reg = b; /* bit 7 (NMI disable) kept, ignored */
		} else if (p == RTC_PORT_DATA) {
			data_access(r, in, &b);
		}
		out |= (uint32_t)b << (8 * i);
	}
	pthread_mutex_unlock(&r->lock);
	if (in)
		*val = out;
	return 0;
}

static uint64_t cap(uint64_t v, uint64_t max)
{
	return v > max ? max : v;
}

static void set_memory_bytes(struct rtc *r)
{
	uint64_t low = r->cfg.lowmem, ext = 0, above16 = 0;

	le16_put(&r->cmos[CMOS_BASE_MEM], 640);
	if (low > MIB)
		ext = cap((low - MIB) / KIB, 0xffff);
	le16_put(&r->cmos[CMOS_EXT_MEM], ext);
	le16_put(&r->cmos[CMOS_EXT_MEM2], ext);
	if (low > 16 * MIB)
		above16 = cap((low - 16 * MIB) / (64 * KIB), 0xffff);
	le16_put(&r->cmos[CMOS_MEM_ABOVE_16M], above16);
	le_put(&r->cmos[CMOS_MEM_ABOVE_4G], cap(r->cfg.highmem / (64 * KIB), 0xffffff), 3);
}

struct rtc *rtc_new(const struct rtc_config *cfg)
{
	struct rtc *r;
	int err;

	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	err = pthread_mutex_init(&r->lock, NULL);
	if (err) {
		free(r);
		errno = err;
		return NULL;
	}
	r->cfg = *cfg;
	if (!r->cfg.utc)
		tzset();
	r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz divider, 1024 Hz rate */
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->cmos[RTC_REG_D] = RTC_D_VRT;
	set_memory_bytes(r);
	r->last_ns = host_now_ns(r);
	render_now(r, r->last_ns);
	return r;
}

static void rtc_periodic_cb(int fd, void *arg)
{
	struct rtc *r = arg;

	(void)fd;
	pthread_mutex_lock(&r->lock);
	r->cmos[RTC_REG_C] |= RTC_C_PF;
	evaluate(r, host_now_ns(r));
	pthread_mutex_unlock(&r->lock);
}

static void rtc_update_cb(int fd, void *arg)
{
	struct rtc *r = arg;
	int64_t now_ns;

	(void)fd;
	pthread_mutex_lock(&r->lock);
	now_ns = host_now_ns(r);
	r->update_armed = false;
	evaluate(r, now_ns);
	timers_rearm(r, now_ns);
	pthread_mutex_unlock(&r->lock);
}

int rtc_start(struct rtc *r, struct mevent_loop *loop)
{
	struct mevent *p, *u;

	if (!r || !loop || r->periodic_ev)
		return -EINVAL;
	p = mevent_add_timer(loop, 0, 0, rtc_periodic_cb, r);
	u = mevent_add_timer(loop, 0, 0, rtc_update_cb, r);
	if (!p || !u) {
		if (p)
			mevent_del(p);
		if (u)
			mevent_del(u);
		return -ENOMEM;
	}
	pthread_mutex_lock(&r->lock);
	r->periodic_ev = p;
	r->update_ev = u;
	timers_rearm(r, host_now_ns(r));
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void rtc_free(struct rtc *r)
{
	if (!r)
		return;
	if (r->periodic_ev)
		mevent_del(r->periodic_ev);
	if (r->update_ev)
		mevent_del(r->update_ev);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
