/* The split-virtqueue walker against hostile rings: every class of
 * shared/SECURITY.md "Descriptor chains" and "Ring indices". */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vq_test.h"

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_W    VIRTQ_DESC_F_WRITE
#define F_IND  VIRTQ_DESC_F_INDIRECT

static struct vq_chain chain;

/* Pop the one offered chain expecting a breakage, and check it sticks. */
static void expect_broken(struct vqt *t)
{
	assert_int_equal(vq_pop(&t->vq, &chain), -EIO);
	assert_true(t->vq.broken);
	assert_int_equal(vq_pop(&t->vq, &chain), -EIO);
	/* Nothing was given back. */
	assert_int_equal(vqt_used_idx(t), 0);
}

static void test_simple_chain(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 3, T_BUF, 100, F_NEXT, 5);
	vqt_desc(t, 5, T_BUF + 0x1000, 200, F_W, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 0);
	vqt_offer(t, 3);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(chain.head, 3);
	assert_int_equal(chain.nseg, 2);
	assert_ptr_equal(chain.seg[0].base, vqt_host(t, T_BUF));
	assert_false(chain.seg[0].writable);
	assert_true(chain.seg[1].writable);
	assert_int_equal(chain.nread, 100);
	assert_int_equal(chain.nwrite, 200);
	assert_int_equal(vq_pop(&t->vq, &chain), 0);
	assert_int_equal(vq_push(&t->vq, chain.head, 42), 0);
	assert_int_equal(vqt_used_idx(t), 1);
	assert_int_equal(vqt_used_id(t, 0), 3);
	assert_int_equal(vqt_used_len(t, 0), 42);
	assert_true(vq_need_interrupt(&t->vq));
	assert_false(vq_need_interrupt(&t->vq)); /* nothing new since */
	vqt_free(t);
}

static void test_wraparound(void **state)
{
	struct vqt *t = vqt_new(4, false, false);
	int i;

	(void)state;
	vqt_desc(t, 0, T_BUF, 8, F_W, 0);
	/* Many times round the 16-bit indices and the ring. */
	for (i = 0; i < 70000; i++) {
		vqt_offer(t, 0);
		assert_int_equal(vq_pop(&t->vq, &chain), 1);
		vq_push(&t->vq, 0, 8);
	}
	assert_int_equal(vqt_used_idx(t), (uint16_t)70000);
	vqt_free(t);
}

static void test_next_out_of_range(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_BUF, 16, F_NEXT, 8);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_head_out_of_range(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_offer(t, 200);
	expect_broken(t);
	vqt_free(t);
}

static void test_loop(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_BUF, 16, F_NEXT, 1);
	vqt_desc(t, 1, T_BUF, 16, F_NEXT, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_self_loop_zero_length(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	/* Zero-length descriptors pointing at themselves: bounded by count. */
	vqt_desc(t, 2, 0, 0, F_NEXT, 2);
	vqt_offer(t, 2);
	expect_broken(t);
	vqt_free(t);
}

static void test_full_length_chain_ok(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		vqt_desc(t, i, T_BUF + 64ull * i, 64, i < 7 ? F_NEXT : 0, (uint16_t)(i + 1));
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(chain.nseg, 8);
	assert_int_equal(chain.nread, 512);
	vqt_free(t);
}

static void test_zero_length_skipped(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	/* A zero-length descriptor, even at an address outside RAM, carries
	 * nothing and is skipped. */
	vqt_desc(t, 0, 0xdead0000000ull, 0, F_NEXT, 1);
	vqt_desc(t, 1, T_BUF, 32, F_W, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(chain.nseg, 1);
	assert_int_equal(chain.nwrite, 32);
	vqt_free(t);
}

static void test_huge_length(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_BUF, 0xffffffffu, 0, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_address_overflow(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, 0xfffffffffffffff0ull, 0x20, 0, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_straddles_end_of_ram(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_RAM_END - 8, 16, F_W, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_ends_at_end_of_ram_ok(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_RAM_END - 16, 16, F_W, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	vqt_free(t);
}

static void test_below_ram(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, 0x1000, 16, 0, 0); /* MMIO / a hole, not RAM */
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_readable_after_writable(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_BUF, 16, F_W | F_NEXT, 1);
	vqt_desc(t, 1, T_BUF, 16, 0, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_avail_runs_ahead(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_BUF, 16, 0, 0);
	vqt_put16(t, T_AVAIL + 2, 9); /* 9 entries in an 8-entry ring */
	expect_broken(t);
	vqt_free(t);
}

static void test_avail_exactly_full_ok(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	int i;

	(void)state;
	vqt_desc(t, 0, T_BUF, 16, 0, 0);
	for (i = 0; i < 8; i++)
		vqt_offer(t, 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(vq_pop(&t->vq, &chain), 0);
	vqt_free(t);
}

static void test_indirect_ok(void **state)
{
	struct vqt *t = vqt_new(8, true, false);

	(void)state;
	vqt_desc_at(t, T_INDIRECT, 0, T_BUF, 16, F_NEXT, 2);
	vqt_desc_at(t, T_INDIRECT, 2, T_BUF + 16, 512, F_NEXT, 1);
	vqt_desc_at(t, T_INDIRECT, 1, T_BUF + 1024, 1, F_W, 0);
	vqt_desc(t, 4, T_INDIRECT, 3 * 16, F_IND, 0);
	vqt_offer(t, 4);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(chain.head, 4);
	assert_int_equal(chain.nseg, 3);
	assert_int_equal(chain.nread, 528);
	assert_int_equal(chain.nwrite, 1);
	vqt_free(t);
}

static void test_direct_then_indirect_ok(void **state)
{
	struct vqt *t = vqt_new(8, true, false);

	(void)state;
	vqt_desc_at(t, T_INDIRECT, 0, T_BUF + 16, 8, F_W, 0);
	vqt_desc(t, 0, T_BUF, 16, F_NEXT, 1);
	vqt_desc(t, 1, T_INDIRECT, 16, F_IND, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(chain.nseg, 2);
	vqt_free(t);
}

static void indirect_bad(uint64_t addr, uint32_t len, uint16_t flags, bool negotiated)
{
	struct vqt *t = vqt_new(8, negotiated, false);

	vqt_desc_at(t, T_INDIRECT, 0, T_BUF, 16, 0, 0);
	vqt_desc_at(t, T_INDIRECT, 1, T_BUF, 16, 0, 0);
	vqt_desc(t, 0, addr, len, flags, 1);
	vqt_desc(t, 1, T_BUF, 16, 0, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_indirect_bad_lengths(void **state)
{
	(void)state;
	indirect_bad(T_INDIRECT, 0, F_IND, true);
	indirect_bad(T_INDIRECT, 24, F_IND, true);
	indirect_bad(T_INDIRECT, 17, F_IND, true);
	indirect_bad(T_INDIRECT, 16 * (VQ_MAX_SEGS + 1), F_IND, true);
	indirect_bad(T_RAM_END - 16, 32, F_IND, true);
	indirect_bad(0xfffffffffffffff0ull, 32, F_IND, true);
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	indirect_bad(T_INDIRECT, 32, F_IND | F_NEXT, true);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	indirect_bad(T_INDIRECT, 32, F_IND, false);
}

static void test_indirect_nested(void **state)
{
	struct vqt *t = vqt_new(8, true, false);

	(void)state;
	vqt_desc_at(t, T_INDIRECT, 0, T_BUF, 16, F_NEXT, 1);
	vqt_desc_at(t, T_INDIRECT, 1, T_INDIRECT, 32, F_IND, 0);
	vqt_desc(t, 0, T_INDIRECT, 32, F_IND, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_indirect_loop_and_next(void **state)
{
	struct vqt *t = vqt_new(8, true, false);

	(void)state;
	vqt_desc_at(t, T_INDIRECT, 0, T_BUF, 16, F_NEXT, 1);
	vqt_desc_at(t, T_INDIRECT, 1, T_BUF, 16, F_NEXT, 0);
	vqt_desc(t, 0, T_INDIRECT, 32, F_IND, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);

	t = vqt_new(8, true, false);
	vqt_desc_at(t, T_INDIRECT, 0, T_BUF, 16, F_NEXT, 2); /* table has 2 */
	vqt_desc(t, 0, T_INDIRECT, 32, F_IND, 0);
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_too_many_segments(void **state)
{
	struct vqt *t = vqt_new(256, true, false);
	int i;

	(void)state;
	/* 200 direct + an indirect table of 100: more than VQ_MAX_SEGS. */
	for (i = 0; i < 200; i++)
		vqt_desc(t, i, T_BUF, 16, F_NEXT, (uint16_t)(i + 1));
	vqt_desc(t, 200, T_INDIRECT, 100 * 16, F_IND, 0);
	for (i = 0; i < 100; i++)
		vqt_desc_at(t, T_INDIRECT, i, T_BUF, 16, i < 99 ? F_NEXT : 0, (uint16_t)(i + 1));
	vqt_offer(t, 0);
	expect_broken(t);
	vqt_free(t);
}

static void test_enable_checks(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	struct virtqueue *vq = &t->vq;
	const uint16_t bad_sizes[] = { 0, 3, 100, 512, 32768 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		vq->size = bad_sizes[i];
		assert_int_equal(vq_enable(vq), -EINVAL);
	}
	vq->size = 8;
	vq->desc_gpa = T_DESC + 8; /* §2.7: 16-byte aligned */
	assert_int_equal(vq_enable(vq), -EINVAL);
	vq->desc_gpa = T_DESC;
	vq->used_gpa = T_USED + 2;
	assert_int_equal(vq_enable(vq), -EINVAL);
	vq->used_gpa = T_RAM_END - 16; /* 6 + 8 * 8 bytes don't fit */
	assert_int_equal(vq_enable(vq), -EINVAL);
	vq->used_gpa = T_RAM_END - (6 + 8 * 8) - 2; /* fits, 4-aligned */
	assert_int_equal(vq_enable(vq), 0);
	vq->avail_gpa = 0;
	assert_int_equal(vq_enable(vq), -EINVAL);
	assert_int_equal(vq_pop(vq, &chain), -EINVAL);
	vqt_free(t);
}

static void test_pop_not_ready(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vq_reset(&t->vq);
	assert_int_equal(vq_pop(&t->vq, &chain), -EINVAL);
	assert_int_equal(vq_push(&t->vq, 0, 0), -EINVAL);
	assert_false(vq_need_interrupt(&t->vq));
	vqt_free(t);
}

static void test_event_idx(void **state)
{
	struct vqt *t = vqt_new(8, false, true);
	uint64_t used_event = T_AVAIL + 4 + 2 * 8, avail_event = T_USED + 4 + 8 * 8;
	int i;

	(void)state;
	vqt_desc(t, 0, T_BUF, 16, F_W, 0);
	for (i = 0; i < 3; i++)
		vqt_offer(t, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_false(vq_done_popping(&t->vq));
	assert_int_equal(vqt_get16(t, avail_event), 3);
	/* The driver wants an interrupt once used entry 2 is there. */
	vqt_put16(t, used_event, 2);
	vq_push(&t->vq, 0, 1);
	assert_false(vq_need_interrupt(&t->vq)); /* used 1: entry 0 only */
	vq_push(&t->vq, 0, 1);
	assert_false(vq_need_interrupt(&t->vq)); /* used 2: entry 1 */
	vq_push(&t->vq, 0, 1);
	assert_true(vq_need_interrupt(&t->vq)); /* used 3: entry 2 crossed */
	/* More offered after the last look: done_popping says so. */
	vqt_offer(t, 0);
	assert_true(vq_done_popping(&t->vq));
	vqt_free(t);
}

static void test_no_interrupt_flag(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_desc(t, 0, T_BUF, 16, F_W, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	vqt_put16(t, T_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq_push(&t->vq, 0, 1);
	assert_false(vq_need_interrupt(&t->vq));
	vqt_free(t);
}

static void test_legacy_layout(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	struct virtqueue *vq = &t->vq;

	(void)state;
	vq_reset(vq);
	assert_int_equal(vq->size, VQ_MAX_SIZE);
	assert_int_equal(vq_set_legacy_pfn(vq, (uint32_t)(T_RAM_GPA / 4096) + 4), 0);
	assert_int_equal(vq->desc_gpa, T_RAM_GPA + 0x4000);
	assert_int_equal(vq->avail_gpa, T_RAM_GPA + 0x4000 + 16 * VQ_MAX_SIZE);
	/* §2.7.2 legacy: used ring on the next 4096-byte boundary. */
	assert_int_equal(vq->used_gpa, T_RAM_GPA + 0x6000);
	/* Rings past the end of RAM. */
	assert_int_equal(vq_set_legacy_pfn(vq, (uint32_t)(T_RAM_END / 4096) - 1), -EINVAL);
	assert_int_equal(vq_set_legacy_pfn(vq, 0xffffffffu), -EINVAL);
	vqt_free(t);
}

static void test_reset_clears_broken(void **state)
{
	struct vqt *t = vqt_new(8, false, false);

	(void)state;
	vqt_offer(t, 100);
	expect_broken(t);
	vq_reset(&t->vq);
	t->vq.size = 8;
	t->vq.desc_gpa = T_DESC;
	t->vq.avail_gpa = T_AVAIL;
	t->vq.used_gpa = T_USED;
	memset(vqt_host(t, T_AVAIL), 0, 0x2000);
	t->avail_idx = 0;
	assert_int_equal(vq_enable(&t->vq), 0);
	assert_false(t->vq.broken);
	vqt_desc(t, 0, T_BUF, 16, 0, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	vqt_free(t);
}

static void test_chain_read(void **state)
{
	struct vqt *t = vqt_new(8, false, false);
	uint8_t buf[8];

	(void)state;
	memcpy(vqt_host(t, T_BUF), "abc", 3);
	memcpy(vqt_host(t, T_BUF + 0x100), "defgh", 5);
	vqt_desc(t, 0, T_BUF, 3, F_NEXT, 1);
	vqt_desc(t, 1, T_BUF + 0x100, 5, F_NEXT, 2);
	vqt_desc(t, 2, T_BUF + 0x200, 5, F_W, 0);
	vqt_offer(t, 0);
	assert_int_equal(vq_pop(&t->vq, &chain), 1);
	assert_int_equal(vq_chain_read(&chain, 2, buf, 4), 4);
	assert_memory_equal(buf, "cdef", 4);
	/* Never past the readable bytes. */
	assert_int_equal(vq_chain_read(&chain, 6, buf, 8), 2);
	vqt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_chain),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_self_loop_zero_length),
		cmocka_unit_test(test_full_length_chain_ok),
		cmocka_unit_test(test_zero_length_skipped),
		cmocka_unit_test(test_huge_length),
		cmocka_unit_test(test_address_overflow),
		cmocka_unit_test(test_straddles_end_of_ram),
		cmocka_unit_test(test_ends_at_end_of_ram_ok),
		cmocka_unit_test(test_below_ram),
		cmocka_unit_test(test_readable_after_writable),
		cmocka_unit_test(test_avail_runs_ahead),
		cmocka_unit_test(test_avail_exactly_full_ok),
		cmocka_unit_test(test_indirect_ok),
		cmocka_unit_test(test_direct_then_indirect_ok),
		cmocka_unit_test(test_indirect_bad_lengths),
		cmocka_unit_test(test_indirect_with_next),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_nested),
		cmocka_unit_test(test_indirect_loop_and_next),
		cmocka_unit_test(test_too_many_segments),
		cmocka_unit_test(test_enable_checks),
		cmocka_unit_test(test_pop_not_ready),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_legacy_layout),
		cmocka_unit_test(test_reset_clears_broken),
		cmocka_unit_test(test_chain_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
