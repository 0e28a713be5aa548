#include "hw/pm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Status bits the guest can enable as SCI sources. */
#define PM1_EN_MASK (PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | PM1_SLPBTN_STS | PM1_RTC_STS)
/* PM1_CNT bits that read back (SLP_EN is write-only, GBL_RLS reads 0). */
#define PM1_CNT_RW_MASK (PM1_CNT_SCI_EN | 0x0002 | PM1_CNT_SLP_TYP_MASK)

struct pm {
	struct pm_config cfg;
	pthread_mutex_t lock;
	uint16_t sts;
	uint16_t en;
	uint16_t cnt;
	int sci_level;
	uint64_t t0_ns;
};

static uint64_t pm_now(struct pm *pm)
{
	struct timespec ts;

	if (pm->cfg.now_ns)
		return pm->cfg.now_ns(pm->cfg.now_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct pm *pm_new(const struct pm_config *cfg)
{
	struct pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->cfg = *cfg;
	pthread_mutex_init(&pm->lock, NULL);
	pm->t0_ns = pm_now(pm);
	return pm;
}

void pm_free(struct pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* The SCI is asserted while ACPI mode is on and an enabled event is
 * pending (ACPI 6.5 §4.8.2.1); returns the new level, -1 if unchanged. */
static int pm_sci_update_locked(struct pm *pm)
{
	int level = (pm->cnt & PM1_CNT_SCI_EN) && (pm->sts & pm->en & PM1_EN_MASK);

	if (level == pm->sci_level)
		return -1;
	pm->sci_level = level;
	return level;
}

static void pm_sci_signal(struct pm *pm, int level)
{
	if (level >= 0 && pm->cfg.sci)
		pm->cfg.sci(pm->cfg.sci_arg, level);
}

/* 24-bit counter at 3.579545 MHz (ACPI 6.5 §4.8.3.3), TMR_VAL_EXT clear. */
static uint32_t pm_timer(struct pm *pm)
{
	uint64_t ns = pm_now(pm) - pm->t0_ns;
	uint64_t ticks =
	    (ns / 1000000000ull) * PM_TIMER_HZ + (ns % 1000000000ull) * PM_TIMER_HZ / 1000000000ull;

	return (uint32_t)(ticks & 0xffffff);
}

/* Registers as a little-endian byte file so any access width works. */
static uint8_t pm_read_byte(struct pm *pm, uint16_t port)
{
	switch (port) {
	case PM_PORT_PM1_EVT:
	case PM_PORT_PM1_EVT + 1:
		return (uint8_t)(pm->sts >> ((port - PM_PORT_PM1_EVT) * 8));
	case PM_PORT_PM1_EVT + 2:
	case PM_PORT_PM1_EVT + 3:
		return (uint8_t)(pm->en >> ((port - PM_PORT_PM1_EVT - 2) * 8));
	case PM_PORT_PM1_CNT:
	case PM_PORT_PM1_CNT + 1:
		return (uint8_t)((pm->cnt & PM1_CNT_RW_MASK) >> ((port - PM_PORT_PM1_CNT) * 8));
	default:
		return 0xff;
	}
}

static void pm_write_byte(struct pm *pm, uint16_t port, uint8_t b, unsigned *sleep_typ)
{
	int shift = (port & 1) * 8;
	uint16_t mask = (uint16_t)(0xff << shift);
	uint16_t v = (uint16_t)(b << shift);
	uint16_t cnt;

	switch (port) {
	case PM_PORT_PM1_EVT:
	case PM_PORT_PM1_EVT + 1:
		pm->sts &= (uint16_t)~v; /* write 1 to clear */
		break;
	case PM_PORT_PM1_EVT + 2:
	case PM_PORT_PM1_EVT + 3:
		pm->en = (uint16_t)(((pm->en & ~mask) | v) & PM1_EN_MASK);
		break;
	case PM_PORT_PM1_CNT:
	case PM_PORT_PM1_CNT + 1:
		cnt = (uint16_t)((pm->cnt & ~mask) | v);
		pm->cnt = cnt & PM1_CNT_RW_MASK;
		if (v & PM1_CNT_SLP_EN)
			*sleep_typ = (cnt & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;
		break;
	default:
		break;
	}
}

int pm_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct pm *pm = arg;
	unsigned sleep_typ = ~0u;
	int level = -1, i;

	if (bytes != 1 && bytes != 2 && bytes != 4)
		return -1;
	if (port == PM_PORT_SMI_CMD) {
		if (in) {
			*val = 0;
			return 0;
		}
		pthread_mutex_lock(&pm->lock);
		if ((*val & 0xff) == PM_ACPI_ENABLE)
			pm->cnt |= PM1_CNT_SCI_EN;
		else if ((*val & 0xff) == PM_ACPI_DISABLE)
			pm->cnt &= (uint16_t)~PM1_CNT_SCI_EN;
		level = pm_sci_update_locked(pm);
		pthread_mutex_unlock(&pm->lock);
		pm_sci_signal(pm, level);
		return 0;
	}
	if (port >= PM_PORT_TMR && port < PM_PORT_TMR + 4) {
		if (in) {
			uint32_t t = pm_timer(pm) >> ((port - PM_PORT_TMR) * 8);

			*val = bytes == 4 ? t : t & ((1u << (bytes * 8)) - 1);
		}
		return 0; /* the timer is read-only */
	}
	pthread_mutex_lock(&pm->lock);
	if (in) {
		uint32_t v = 0;

		for (i = 0; i < bytes; i++)
			v |= (uint32_t)pm_read_byte(pm, (uint16_t)(port + i)) << (8 * i);
		*val = v;
	} else {
		/* Byte by byte, so a 4-byte write at 0x400 sets STS and EN. */
		for (i = 0; i < bytes; i++)
			pm_write_byte(pm, (uint16_t)(port + i), (uint8_t)(*val >> (8 * i)),
				      &sleep_typ);
	}
	level = pm_sci_update_locked(pm);
	pthread_mutex_unlock(&pm->lock);
	pm_sci_signal(pm, level);
	if (sleep_typ != ~0u && pm->cfg.sleep)
		pm->cfg.sleep(pm->cfg.sleep_arg, sleep_typ);
	return 0;
}

bool pm_power_button(struct pm *pm)
{
	bool seen;
	int level;

	pthread_mutex_lock(&pm->lock);
	pm->sts |= PM1_PWRBTN_STS;
	seen = (pm->cnt & PM1_CNT_SCI_EN) && (pm->en & PM1_PWRBTN_STS);
	level = pm_sci_update_locked(pm);
	pthread_mutex_unlock(&pm->lock);
	pm_sci_signal(pm, level);
	return seen;
}
