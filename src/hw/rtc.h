/* MC146818-compatible RTC and CMOS RAM at I/O ports 0x70 (index) and 0x71
 * (data), interrupting on IRQ 8.  The register model needs no KVM and no
 * event loop: time comes from a callback, the interrupt line goes out
 * through one, and periodic/alarm/update interrupts are timed by mevent
 * timers only once rtc_start() has been called.  Without rtc_start() the
 * flags in register C still follow the clock, evaluated on each access.
 *
 * Threads: vCPU threads (rtc_inout) and the main thread (timers) are
 * serialised by a mutex; the irq callback is called with it held and must not
 * call back into the RTC. */
#ifndef BHYVE_HW_RTC_H
#define BHYVE_HW_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "mevent.h"

#define RTC_PORT_INDEX 0x70
#define RTC_PORT_DATA  0x71
#define RTC_IRQ	       8

/* CMOS offsets (MC146818 data sheet; memory bytes as PC BIOSes set them). */
#define RTC_SEC	       0x00
#define RTC_SEC_ALARM  0x01
#define RTC_MIN	       0x02
#define RTC_MIN_ALARM  0x03
#define RTC_HOUR       0x04
#define RTC_HOUR_ALARM 0x05
#define RTC_WDAY       0x06
#define RTC_MDAY       0x07
#define RTC_MONTH      0x08
#define RTC_YEAR       0x09
#define RTC_REG_A      0x0a
#define RTC_REG_B      0x0b
#define RTC_REG_C      0x0c
#define RTC_REG_D      0x0d
#define RTC_CENTURY    0x32

#define RTC_A_UIP	0x80
#define RTC_B_SET	0x80
#define RTC_B_PIE	0x40
#define RTC_B_AIE	0x20
#define RTC_B_UIE	0x10
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H	0x02
#define RTC_C_IRQF	0x80
#define RTC_C_PF	0x40
#define RTC_C_AF	0x20
#define RTC_C_UF	0x10
#define RTC_D_VRT	0x80

struct rtc;

/* level 1: IRQ 8 asserted. */
typedef void rtc_irq_fn(void *arg, int level);
/* Host wall-clock time (CLOCK_REALTIME). */
typedef void rtc_now_fn(void *arg, struct timespec *ts);

struct rtc_config {
	rtc_now_fn *now; /* NULL: clock_gettime(CLOCK_REALTIME) */
	void *now_arg;
	bool utc;	 /* -u: the RTC keeps UTC; otherwise host local time */
	rtc_irq_fn *irq; /* may be NULL */
	void *irq_arg;
	uint64_t lowmem;  /* bytes of guest RAM below 4 GiB, from address 0 */
	uint64_t highmem; /* bytes of guest RAM from 4 GiB up */
};

/* NULL with errno set on failure. */
struct rtc *rtc_new(const struct rtc_config *cfg);
/* Main thread (it deletes the timers). */
void rtc_free(struct rtc *r);
/* Create the interrupt timers on loop (main thread); 0 or a negative errno. */
int rtc_start(struct rtc *r, struct mevent_loop *loop);
/* inout_fn for ports 0x70-0x71; arg is the struct rtc. */
int rtc_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);

#endif
