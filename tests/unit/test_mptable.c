/* Unit tests for src/firmware/mptable.c (Intel MP spec 1.4, chapter 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/layout.h"
#include "firmware/mptable.h"
#include "gmem.h"
#include "le_test.h"

#define RAM_SIZE (2u << 20)

struct fixture {
	struct gmem m;
	uint8_t *ram;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = calloc(1, RAM_SIZE);
	assert_non_null(f->ram);
	assert_int_equal(gmem_add_region(&f->m, 0, RAM_SIZE, f->ram), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

static size_t entry_len(uint8_t type)
{
	return type == 0 ? 20 : 8;
}

/* Checks both checksums and returns the configuration table. */
static const uint8_t *check_structure(const struct fixture *f, uint64_t gpa)
{
	const uint8_t *fp = f->ram + gpa;
	const uint8_t *ct;

	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1); /* length: 16 bytes */
	assert_int_equal(fp[9], 4); /* spec revision 1.4 */
	assert_int_equal(sum(fp, 16), 0);
	assert_int_equal(fp[11], 0); /* a configuration table is present */
	assert_int_equal(le32_get(fp + 4), gpa + 16);
	ct = f->ram + le32_get(fp + 4);
	assert_memory_equal(ct, "PCMP", 4);
	assert_int_equal(ct[6], 4);
	assert_int_equal(sum(ct, le16_get(ct + 4)), 0);
	assert_memory_equal(ct + 8, "BHYVE   ", 8);
	assert_int_equal(le32_get(ct + 36), 0xFEE00000);
	assert_int_equal(le16_get(ct + 40), 0); /* no extended table */
	assert_int_equal(ct[42], 0);
	return ct;
}

struct counts {
	int cpus, bsp, buses, ioapics, ioints, lints, pci_ints;
	int isa_pin_of[16];
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	uint8_t pci_irq, pci_pin, pci_flags;
};

static void walk(const uint8_t *ct, struct counts *c)
{
	const uint8_t *p = ct + 44, *end = ct + le16_get(ct + 4);
	int n = 0, last_type = 0;

	memset(c, 0, sizeof(*c));
	memset(c->isa_pin_of, -1, sizeof(c->isa_pin_of));
	while (p < end) {
		/* Entries come sorted by type (§4.3). */
		assert_true(p[0] >= last_type);
		assert_true(p[0] <= 4);
		last_type = p[0];
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], c->cpus); /* APIC IDs 0..n-1 */
			assert_true(p[3] & 1);
			if (p[3] & 2) {
				c->bsp++;
				assert_int_equal(p[1], 0);
			}
			c->cpus++;
			break;
		case 1:
			assert_true(!memcmp(p + 2, "PCI   ", 6) || !memcmp(p + 2, "ISA   ", 6));
			c->buses++;
			break;
		case 2:
			c->ioapics++;
			c->ioapic_id = p[1];
			c->ioapic_addr = le32_get(p + 4);
			assert_int_equal(p[3] & 1, 1);
			break;
		case 3:
			c->ioints++;
			assert_int_equal(p[6], c->ioapic_id);
			if (p[4] == 1) { /* ISA */
				assert_int_equal(le16_get(p + 2), 0);
				c->isa_pin_of[p[5]] = p[7];
			} else {
				c->pci_ints++;
				c->pci_irq = p[5];
				c->pci_pin = p[7];
				c->pci_flags = p[2];
			}
			break;
		case 4:
			assert_int_equal(p[6], 0xFF);
			assert_int_equal(p[1], p[7] == 0 ? 3 : 1); /* ExtINT, NMI */
			c->lints++;
			break;
		}
		p += entry_len(p[0]);
		n++;
	}
	assert_ptr_equal(p, end);
	assert_int_equal(n, le16_get(ct + 34));
}

static void test_one_cpu(void **state)
{
	struct fixture *f = *state;
	struct mptable_config cfg = { .ncpus = 1 };
	struct counts c;
	const uint8_t *ct;
	int rc;

	rc = mptable_build(&f->m, LAYOUT_MPTABLE_BASE, LAYOUT_MPTABLE_SIZE, &cfg);
	assert_true(rc > 16);
	ct = check_structure(f, LAYOUT_MPTABLE_BASE);
	assert_int_equal(rc, 16 + le16_get(ct + 4));
	walk(ct, &c);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.bsp, 1);
	assert_int_equal(c.buses, 2);
	assert_int_equal(c.ioapics, 1);
	assert_int_equal(c.ioapic_id, 1);
	assert_int_equal(c.ioapic_addr, 0xFEC00000);
	assert_int_equal(c.ioints, 15);
	assert_int_equal(c.lints, 2);
	assert_int_equal(c.isa_pin_of[0], 2);
	assert_int_equal(c.isa_pin_of[2], -1);
	assert_int_equal(c.isa_pin_of[1], 1);
	assert_int_equal(c.isa_pin_of[4], 4);
	assert_int_equal(c.isa_pin_of[15], 15);
	/* Nothing written past the table. */
	assert_int_equal(f->ram[LAYOUT_MPTABLE_BASE + rc], 0);
}

static void test_many_cpus(void **state)
{
	struct fixture *f = *state;
	struct mptable_config cfg = { .ncpus = MPTABLE_MAX_CPUS };
	struct counts c;
	int rc;

	rc = mptable_build(&f->m, LAYOUT_MPTABLE_BASE, LAYOUT_MPTABLE_SIZE, &cfg);
	assert_true(rc > 0);
	walk(check_structure(f, LAYOUT_MPTABLE_BASE), &c);
	assert_int_equal(c.cpus, MPTABLE_MAX_CPUS);
	assert_int_equal(c.bsp, 1);
	assert_int_equal(c.ioapic_id, MPTABLE_MAX_CPUS);
}

static void test_pci_intr(void **state)
{
	struct fixture *f = *state;
	const struct mptable_pci_intr pi = { .bus = 0, .slot = 3, .pin = 1, .ioapic_pin = 17 };
	struct mptable_config cfg = { .ncpus = 4, .pci_intr = &pi, .npci_intr = 1 };
	struct counts c;

	assert_true(mptable_build(&f->m, 0xF0100, 0x1000, &cfg) > 0);
	walk(check_structure(f, 0xF0100), &c);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.pci_ints, 1);
	assert_int_equal(c.pci_irq, 3 << 2 | 1);
	assert_int_equal(c.pci_pin, 17);
	assert_int_equal(c.pci_flags, 0x0F); /* active low, level */
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct mptable_config cfg = { .ncpus = 2 };
	struct mptable_pci_intr bad = { .slot = 32 };
	uint8_t before[64];

	memcpy(before, f->ram + RAM_SIZE - 64, sizeof(before));
	assert_int_equal(mptable_build(&f->m, 0xF0008, 0x2000, &cfg), -EINVAL);
	assert_int_equal(mptable_build(&f->m, 0xF0000, 64, &cfg), -ENOSPC);
	/* Runs past the end of RAM: refused, nothing written. */
	assert_int_equal(mptable_build(&f->m, RAM_SIZE - 64, 0x2000, &cfg), -EFAULT);
	assert_memory_equal(before, f->ram + RAM_SIZE - 64, sizeof(before));
	cfg.ncpus = 0;
	assert_int_equal(mptable_build(&f->m, 0xF0000, 0x2000, &cfg), -EINVAL);
	cfg.ncpus = MPTABLE_MAX_CPUS + 1;
	assert_int_equal(mptable_build(&f->m, 0xF0000, 0x10000, &cfg), -EINVAL);
	cfg.ncpus = 1;
	cfg.pci_intr = &bad;
	cfg.npci_intr = 1;
	assert_int_equal(mptable_build(&f->m, 0xF0000, 0x2000, &cfg), -EINVAL);
	cfg.pci_intr = NULL;
	assert_int_equal(mptable_build(&f->m, 0xF0000, 0x2000, &cfg), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_intr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
