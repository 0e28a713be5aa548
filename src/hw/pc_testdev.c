/* pc-testdev: see pc_testdev.h for the register map.  The registers are
 * shared by every vCPU, so one lock serialises them; the exit and IRQ
 * callbacks run without it. */
#include "hw/pc_testdev.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "inout.h"
#include "le.h"
#include "log.h"
#include "mmio.h"

struct pc_testdev {
	struct pc_testdev_config cfg;
	pthread_mutex_t lock;
	uint8_t scratch[PC_TESTDEV_REG_LEN]; /* 0xE0-0xE3, little-endian */
	uint8_t bytes[PC_TESTDEV_REG_LEN];   /* 0xE8-0xEB */
	uint8_t *iomem;			     /* PC_TESTDEV_IOMEM_SIZE bytes */
};

struct pc_testdev *pc_testdev_new(const struct pc_testdev_config *cfg)
{
	struct pc_testdev *d;

	if (!cfg || !cfg->irq_line || !cfg->exit || cfg->npins == 0 ||
	    cfg->npins > PC_TESTDEV_MAX_PINS) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->iomem = calloc(1, PC_TESTDEV_IOMEM_SIZE);
	if (!d->iomem) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	d->cfg = *cfg;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

void pc_testdev_free(struct pc_testdev *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d->iomem);
	free(d);
}

int pc_testdev_exit_status(uint32_t value)
{
	/* What exit((V << 1) | 1) shows a parent: the low 8 bits. */
	return (int)(((value << 1) | 1u) & 0xFFu);
}

/* Little-endian copy of bytes bytes at reg + off into or out of *val. */
static void reg_access(struct pc_testdev *d, uint8_t *reg, unsigned off, bool in, int bytes,
		       uint32_t *val)
{
	pthread_mutex_lock(&d->lock);
	if (in)
		*val = (uint32_t)le_get(reg + off, (unsigned)bytes);
	else
		le_put(reg + off, *val, (unsigned)bytes);
	pthread_mutex_unlock(&d->lock);
}

static int exit_port(struct pc_testdev *d, bool in, int bytes, uint32_t *val)
{
	uint32_t v;

	if (in) {
		*val = 0;
		return 0;
	}
	v = bytes == 4 ? *val : *val & ((1u << (8 * bytes)) - 1);
	log_debug("pc-testdev: exit port written with 0x%x: exit status %d", v,
		  pc_testdev_exit_status(v));
	d->cfg.exit(d->cfg.ctx, pc_testdev_exit_status(v));
	return 0;
}

/* GSI N to the level written (any non-zero value is 1).  Only byte writes
 * count, as the interface defines; the pin was range-checked by the
 * caller, and once more here. */
static int irq_port(struct pc_testdev *d, unsigned pin, bool in, int bytes, uint32_t *val)
{
	int rc;

	if (in) {
		*val = 0;
		return 0;
	}
	if (bytes != 1 || pin >= d->cfg.npins)
		return 0;
	rc = d->cfg.irq_line(d->cfg.ctx, pin, (*val & 0xFF) != 0);
	if (rc < 0)
		log_debug("pc-testdev: cannot set GSI %u: %d", pin, rc);
	return 0;
}

static bool in_range(uint16_t port, int bytes, uint32_t base, uint32_t len)
{
	return port >= base && (uint32_t)port - base < len &&
	       (uint32_t)bytes <= len - (port - base);
}

int pc_testdev_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct pc_testdev *d = arg;

	(void)vcpu;
	if (bytes != 1 && bytes != 2 && bytes != 4)
		return -1;
	if (in_range(port, bytes, PC_TESTDEV_EXIT_PORT, PC_TESTDEV_EXIT_LEN))
		return exit_port(d, in, bytes, val);
	if (in_range(port, bytes, PC_TESTDEV_SCRATCH_PORT, PC_TESTDEV_REG_LEN)) {
		reg_access(d, d->scratch, port - PC_TESTDEV_SCRATCH_PORT, in, bytes, val);
		return 0;
	}
	if (in_range(port, bytes, PC_TESTDEV_BYTES_PORT, PC_TESTDEV_REG_LEN)) {
		reg_access(d, d->bytes, port - PC_TESTDEV_BYTES_PORT, in, bytes, val);
		return 0;
	}
	if (in_range(port, bytes, PC_TESTDEV_FLUSH_PORT, PC_TESTDEV_REG_LEN)) {
		/* A page flush asks the emulator to drop cached translations;
		 * KVM keeps none here, so the write needs no work. */
		if (in)
			*val = 0;
		return 0;
	}
	if (in_range(port, bytes, PC_TESTDEV_IRQ_PORT, d->cfg.npins))
		return irq_port(d, port - PC_TESTDEV_IRQ_PORT, in, bytes, val);
	return -1;
}

int pc_testdev_mmio(void *arg, int vcpu, bool write, uint64_t gpa, int bytes, uint64_t *val)
{
	struct pc_testdev *d = arg;
	uint64_t off;

	(void)vcpu;
	if (bytes < 1 || bytes > 8 || gpa < PC_TESTDEV_IOMEM_BASE)
		return -1;
	off = gpa - PC_TESTDEV_IOMEM_BASE;
	if (off >= PC_TESTDEV_IOMEM_SIZE || (uint64_t)bytes > PC_TESTDEV_IOMEM_SIZE - off)
		return -1;
	pthread_mutex_lock(&d->lock);
	if (write)
		le_put(d->iomem + off, *val, (unsigned)bytes);
	else
		*val = le_get(d->iomem + off, (unsigned)bytes);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int pc_testdev_register(struct pc_testdev *d, struct inout *io, struct mmio *mmio)
{
	static const struct {
		uint16_t base;
		uint32_t len;
		const char *name;
	} ranges[] = {
		{ PC_TESTDEV_EXIT_PORT, PC_TESTDEV_EXIT_LEN, "pc-testdev-exit" },
		{ PC_TESTDEV_SCRATCH_PORT, PC_TESTDEV_REG_LEN, "pc-testdev-scratch" },
		{ PC_TESTDEV_FLUSH_PORT, PC_TESTDEV_REG_LEN, "pc-testdev-flush" },
		{ PC_TESTDEV_BYTES_PORT, PC_TESTDEV_REG_LEN, "pc-testdev-bytes" },
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		rc = inout_register(io, ranges[i].base, ranges[i].len, pc_testdev_inout, d,
				    ranges[i].name);
		if (rc < 0)
			return rc;
	}
	rc = inout_register(io, PC_TESTDEV_IRQ_PORT, d->cfg.npins, pc_testdev_inout, d,
			    "pc-testdev-irq");
	if (rc < 0)
		return rc;
	return mmio_register(mmio, PC_TESTDEV_IOMEM_BASE, PC_TESTDEV_IOMEM_SIZE, pc_testdev_mmio, d,
			     "pc-testdev-iomem");
}
