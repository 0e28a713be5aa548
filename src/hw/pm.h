/* ACPI fixed hardware (ACPI 6.5 §4.8): the PM1a event and control blocks,
 * the PM timer and the SMI command port that switches the platform into
 * ACPI mode, at bhyve's I/O addresses.  The power button and sleep requests
 * reach the runner through callbacks; the SCI is a level interrupt. */
#ifndef BHYVE_HW_PM_H
#define BHYVE_HW_PM_H

#include <stdbool.h>
#include <stdint.h>

#define PM_PORT_PM1_EVT 0x400 /* PM1a_STS (2 bytes) + PM1a_EN (2 bytes) */
#define PM_PORT_PM1_CNT 0x404 /* 2 bytes */
#define PM_PORT_TMR	0x408 /* 4 bytes */
#define PM_PORT_SMI_CMD 0xb2
#define PM_ACPI_ENABLE	0xa0
#define PM_ACPI_DISABLE 0xa1
#define PM_SCI_IRQ	9
#define PM_TIMER_HZ	3579545ull
#define PM_SLP_TYP_S5	5 /* the value the DSDT's \_S5_ object gives */

#define PM1_TMR_STS	      0x0001
#define PM1_GBL_STS	      0x0020
#define PM1_PWRBTN_STS	      0x0100
#define PM1_SLPBTN_STS	      0x0200
#define PM1_RTC_STS	      0x0400
#define PM1_WAK_STS	      0x8000
#define PM1_CNT_SCI_EN	      0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  0x1c00
#define PM1_CNT_SLP_EN	      0x2000

struct pm;

struct pm_config {
	void (*sci)(void *arg, int level); /* the SCI line, may be NULL */
	void *sci_arg;
	void (*sleep)(void *arg, unsigned slp_typ); /* SLP_EN written */
	void *sleep_arg;
	uint64_t (*now_ns)(void *arg); /* NULL: CLOCK_MONOTONIC */
	void *now_arg;
};

struct pm *pm_new(const struct pm_config *cfg);
void pm_free(struct pm *pm);
/* inout_fn for 0x400-0x40b and 0xb2; arg is the struct pm. */
int pm_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val);
/* Press the power button (ACPI 6.5 §4.8.2.2.1.1): PWRBTN_STS, and an SCI when
 * the guest enabled it. Returns true if the guest has ACPI enabled and the
 * button event enabled, i.e. someone will see it. */
bool pm_power_button(struct pm *pm);

#endif
