/* virtio-blk's request engine over a temporary raw image: request parsing
 * (virtio 1.2 §5.2.6) and the checks of SECURITY.md "Device headers".
 * Every test runs twice: on the back end's threads (or inline) and with
 * aio=io_uring. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/blockif.h"
#include "virtio/virtio_blk.h"
#include "vq_test.h"

#define IMG_SECTORS 128
#define HDR	    T_BUF
#define DATA	    (T_BUF + 0x1000)
#define STATUS	    (T_BUF + 0x8000)
#define F_NEXT	    VIRTQ_DESC_F_NEXT
#define F_W	    VIRTQ_DESC_F_WRITE

struct fix {
	char path[64];
	struct vqt *t;
	struct blockif *bif;
	struct vblk *sc;
	int irqs;
	unsigned nused;
};

static void count_irq(void *arg, int q)
{
	struct fix *f = arg;

	(void)q;
	__atomic_fetch_add(&f->irqs, 1, __ATOMIC_RELAXED);
}

static uint8_t pattern_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

static bool use_uring; /* the second round */

static struct fix *fix_open(bool ro, int nthreads, const char *serial)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct blockif_opts o = { .ro = ro, .nthreads = nthreads, .uring = use_uring };
	uint8_t buf[IMG_SECTORS * 512];
	unsigned i;
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/test_virtio_blk.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = pattern_byte(i);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	o.path = f->path;
	assert_int_equal(blockif_open(&o, &f->bif), 0);
	assert_int_equal(vblk_new(f->bif, serial, count_irq, f, &f->sc), 0);
	f->t = vqt_new(16, true, false);
	assert_non_null(f->t);
	return f;
}

static int fix_setup(void **state)
{
	*state = fix_open(false, 0, NULL);
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	vblk_free(f->sc);
	blockif_close(f->bif);
	vqt_free(f->t);
	unlink(f->path);
	free(f);
	return 0;
}

static void put_hdr(struct fix *f, uint32_t type, uint64_t sector)
{
	uint8_t *h = vqt_host(f->t, HDR);

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
}

/* Offer header -> data (if len) -> status; run; return the status byte. */
static int run(struct fix *f, uint32_t type, uint64_t sector, uint32_t len, bool data_w)
{
	struct vqt *t = f->t;

	put_hdr(f, type, sector);
	*vqt_host(t, STATUS) = 0xee;
	if (len) {
		vqt_desc(t, 0, HDR, 16, F_NEXT, 1);
		vqt_desc(t, 1, DATA, len, (uint16_t)(F_NEXT | (data_w ? F_W : 0)), 2);
	} else {
		vqt_desc(t, 0, HDR, 16, F_NEXT, 2);
	}
	vqt_desc(t, 2, STATUS, 1, F_W, 0);
	vqt_offer(t, 0);
	assert_int_equal(vblk_process(f->sc, &t->vq, 0), 0);
	vblk_drain(f->sc);
	assert_int_equal(vqt_used_idx(t), (uint16_t)++f->nused);
	assert_int_equal(vqt_used_id(t, f->nused - 1), 0);
	return *vqt_host(t, STATUS);
}

static uint32_t last_len(struct fix *f)
{
	return vqt_used_len(f->t, f->nused - 1);
}

static void read_image(struct fix *f, uint64_t off, void *buf, size_t n)
{
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void test_config_and_features(void **state)
{
	struct fix *f = *state;
	const uint8_t *cfg = vblk_config(f->sc);
	uint64_t cap, feat = vblk_features(f->sc);
	uint32_t blk;

	memcpy(&cap, cfg, 8);
	memcpy(&blk, cfg + 20, 4);
	assert_int_equal(cap, IMG_SECTORS);
	assert_int_equal(blk, 512);
	assert_true(feat & (1ull << VIRTIO_BLK_F_FLUSH));
	assert_true(feat & (1ull << VIRTIO_BLK_F_DISCARD));
	assert_true(feat & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(feat & (1ull << VIRTIO_BLK_F_RO));
}

static void test_read(void **state)
{
	struct fix *f = *state;
	uint8_t *d = vqt_host(f->t, DATA);
	unsigned i;

	memset(d, 0, 1024);
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, 3, 1024, true), VIRTIO_BLK_S_OK);
	assert_int_equal(last_len(f), 1025);
	for (i = 0; i < 1024; i++)
		assert_int_equal(d[i], pattern_byte(3 * 512 + i));
	assert_true(f->irqs >= 1);
}

static void test_write(void **state)
{
	struct fix *f = *state;
	uint8_t *d = vqt_host(f->t, DATA), back[512];

	memset(d, 0x3c, 512);
	assert_int_equal(run(f, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, 512, false), VIRTIO_BLK_S_OK);
	assert_int_equal(last_len(f), 1);
	read_image(f, (IMG_SECTORS - 1) * 512, back, 512);
	assert_memory_equal(back, d, 512);
}

static void test_header_split_across_buffers(void **state)
{
	struct fix *f = *state;
	struct vqt *t = f->t;
	uint8_t *d = vqt_host(t, DATA);

	put_hdr(f, VIRTIO_BLK_T_IN, 1);
	/* Header in two pieces, data and status in one buffer (§2.7.4). */
	vqt_desc(t, 0, HDR, 5, F_NEXT, 1);
	vqt_desc(t, 1, HDR + 5, 11, F_NEXT, 2);
	vqt_desc(t, 2, DATA, 513, F_W, 0);
	vqt_offer(t, 0);
	assert_int_equal(vblk_process(f->sc, &t->vq, 0), 0);
	vblk_drain(f->sc);
	assert_int_equal(d[512], VIRTIO_BLK_S_OK);
	assert_int_equal(d[0], pattern_byte(512));
	assert_int_equal(vqt_used_len(t, 0), 513);
}

static void test_out_of_range(void **state)
{
	struct fix *f = *state;

	assert_int_equal(run(f, VIRTIO_BLK_T_IN, IMG_SECTORS, 512, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false), VIRTIO_BLK_S_IOERR);
	/* sector * 512 would wrap to a small offset. */
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, 1ull << 55, 512, true), VIRTIO_BLK_S_IOERR);
	/* Not a whole number of sectors. */
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, 0, 100, true), VIRTIO_BLK_S_IOERR);
	/* An empty read at the very end is fine. */
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, IMG_SECTORS, 0, true), VIRTIO_BLK_S_OK);
}

static void test_flush_and_get_id(void **state)
{
	struct fix *f = *state;
	uint8_t *d = vqt_host(f->t, DATA);

	assert_int_equal(run(f, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
	memset(d, 0xff, 64);
	assert_int_equal(run(f, VIRTIO_BLK_T_GET_ID, 0, 64, true), VIRTIO_BLK_S_OK);
	assert_int_equal(last_len(f), 21);
	assert_memory_equal(d, "BHYVE-", 6);
	assert_int_equal(d[20], 0xff); /* never more than 20 bytes */
	/* A short buffer gets only what fits. */
	memset(d, 0xff, 64);
	assert_int_equal(run(f, VIRTIO_BLK_T_GET_ID, 0, 4, true), VIRTIO_BLK_S_OK);
	assert_int_equal(last_len(f), 5);
	assert_int_equal(d[4], 0xff);
}

static void test_serial_option(void **state)
{
	struct fix *f = fix_open(false, 0, "my-disk");
	uint8_t *d = vqt_host(f->t, DATA);

	(void)state;
	assert_int_equal(run(f, VIRTIO_BLK_T_GET_ID, 0, 20, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(d, "my-disk\0", 8);
	fix_teardown((void **)&f);
}

static void put_seg(struct fix *f, uint64_t sector, uint32_t n, uint32_t flags)
{
	uint8_t *d = vqt_host(f->t, DATA);

	memcpy(d, &sector, 8);
	memcpy(d + 8, &n, 4);
	memcpy(d + 12, &flags, 4);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct fix *f = *state;
	uint8_t back[1024], zero[1024] = { 0 };

	put_seg(f, 8, 2, 0);
	assert_int_equal(run(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), VIRTIO_BLK_S_OK);
	read_image(f, 8 * 512, back, 1024);
	assert_memory_equal(back, zero, 1024);
	put_seg(f, 16, 2, 0);
	assert_int_equal(run(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_OK);
	/* Out of range, reserved flags, unmap on discard, bad payload size. */
	put_seg(f, IMG_SECTORS - 1, 2, 0);
	assert_int_equal(run(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_IOERR);
	put_seg(f, UINT64_MAX, 2, 0);
	assert_int_equal(run(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), VIRTIO_BLK_S_IOERR);
	put_seg(f, 0, 1, 2);
	assert_int_equal(run(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
	put_seg(f, 0, 1, 1);
	assert_int_equal(run(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run(f, VIRTIO_BLK_T_DISCARD, 0, 32, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, VIRTIO_BLK_T_DISCARD, 0, 0, false), VIRTIO_BLK_S_IOERR);
}

static void test_unknown_type(void **state)
{
	struct fix *f = *state;

	assert_int_equal(run(f, 99, 0, 512, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run(f, 0xffffffffu, 0, 0, true), VIRTIO_BLK_S_UNSUPP);
}

static void test_short_header(void **state)
{
	struct fix *f = *state;
	struct vqt *t = f->t;

	put_hdr(f, VIRTIO_BLK_T_IN, 0);
	vqt_desc(t, 0, HDR, 8, F_NEXT, 1);
	vqt_desc(t, 1, STATUS, 1, F_W, 0);
	*vqt_host(t, STATUS) = 0xee;
	vqt_offer(t, 0);
	assert_int_equal(vblk_process(f->sc, &t->vq, 0), 0);
	assert_int_equal(*vqt_host(t, STATUS), VIRTIO_BLK_S_IOERR);
	/* No header at all: only the status byte. */
	vqt_desc(t, 0, STATUS, 1, F_W, 0);
	vqt_offer(t, 0);
	assert_int_equal(vblk_process(f->sc, &t->vq, 0), 0);
	assert_int_equal(*vqt_host(t, STATUS), VIRTIO_BLK_S_IOERR);
	assert_int_equal(vqt_used_idx(t), 2);
}

static void test_missing_status_byte(void **state)
{
	struct fix *f = *state;
	struct vqt *t = f->t;

	/* Header and data, all device-readable: nowhere to write a status. */
	put_hdr(f, VIRTIO_BLK_T_OUT, 0);
	vqt_desc(t, 0, HDR, 16, F_NEXT, 1);
	vqt_desc(t, 1, DATA, 512, 0, 0);
	vqt_offer(t, 0);
	assert_int_equal(vblk_process(f->sc, &t->vq, 0), 0);
	assert_int_equal(vqt_used_idx(t), 1);
	assert_int_equal(vqt_used_len(t, 0), 0);
	/* And nothing was written to the image. */
	{
		uint8_t back[16];

		read_image(f, 0, back, 16);
		assert_int_equal(back[1], pattern_byte(1));
	}
}

static void test_read_only(void **state)
{
	struct fix *f = fix_open(true, 0, NULL);
	uint8_t back[512];

	(void)state;
	assert_true(vblk_features(f->sc) & (1ull << VIRTIO_BLK_F_RO));
	assert_false(vblk_features(f->sc) & (1ull << VIRTIO_BLK_F_DISCARD));
	memset(vqt_host(f->t, DATA), 0, 512);
	assert_int_equal(run(f, VIRTIO_BLK_T_OUT, 0, 512, false), VIRTIO_BLK_S_IOERR);
	put_seg(f, 0, 1, 0);
	assert_int_equal(run(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
	read_image(f, 0, back, 512);
	assert_int_equal(back[5], pattern_byte(5));
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
	fix_teardown((void **)&f);
}

static void test_threads_many_in_flight(void **state)
{
	struct fix *f = fix_open(false, 3, NULL);
	struct vqt *t = f->t;
	int i;

	(void)state;
	/* 8 reads of one sector each, on 3 threads. */
	for (i = 0; i < 8; i++) {
		uint64_t hdr = HDR + 16ull * i, sector = (uint64_t)i;
		uint32_t type = VIRTIO_BLK_T_IN;

		memcpy(vqt_host(t, hdr), &type, 4);
		memcpy(vqt_host(t, hdr + 8), &sector, 8);
		vqt_desc(t, 3 * i, hdr, 16, F_NEXT, (uint16_t)(3 * i + 1));
		vqt_desc(t, 3 * i + 1, DATA + 512ull * i, 512, F_NEXT | F_W, (uint16_t)(3 * i + 2));
		vqt_desc(t, 3 * i + 2, STATUS + i, 1, F_W, 0);
		*vqt_host(t, STATUS + i) = 0xee;
	}
	t->vq.size = 16;
	for (i = 0; i < 5; i++)
		vqt_offer(t, (uint16_t)(3 * i));
	assert_int_equal(vblk_process(f->sc, &t->vq, 0), 0);
	vblk_drain(f->sc);
	assert_int_equal(vqt_used_idx(t), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(*vqt_host(t, STATUS + i), VIRTIO_BLK_S_OK);
		assert_int_equal(*vqt_host(t, DATA + 512ull * i + 7), pattern_byte(512ull * i + 7));
	}
	assert_true(f->irqs >= 1);
	fix_teardown((void **)&f);
}

static void test_bad_chain_reports_eio(void **state)
{
	struct fix *f = *state;
	struct vqt *t = f->t;

	vqt_desc(t, 0, HDR, 16, F_NEXT, 40);
	vqt_offer(t, 0);
	assert_int_equal(vblk_process(f->sc, &t->vq, 0), -EIO);
	assert_int_equal(vqt_used_idx(t), 0);
}

static void test_blockif_options(void **state)
{
	struct blockif_opts o = { .path = "/nonexistent/image", .nthreads = 1, .uring = use_uring };
	struct blockif *b;

	(void)state;
	assert_int_equal(blockif_open(&o, &b), -ENOENT);
	o.path = "/dev/null"; /* a character device is not an image */
	assert_int_equal(blockif_open(&o, &b), -EINVAL);
	assert_int_equal(blockif_parse_aio("io_uring", &o), 0);
	assert_true(o.uring);
	assert_int_equal(blockif_parse_aio("threads", &o), 0);
	assert_false(o.uring);
	assert_int_equal(blockif_parse_aio("native", &o), -EINVAL);
}

/* The image shrinks under the device: a read past the new end is an I/O
 * error, not a short read passed off as data. */
static void test_image_shrinks(void **state)
{
	struct fix *f = fix_open(false, 1, NULL);

	(void)state;
	assert_int_equal(truncate(f->path, 512), 0);
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, 2, 512, true), VIRTIO_BLK_S_IOERR);
	/* Half of a two-sector read is there: still an error. */
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, 0, 1024, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
	fix_teardown((void **)&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_features, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_read, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_write, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_header_split_across_buffers, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_flush_and_get_id, fix_setup, fix_teardown),
		cmocka_unit_test(test_serial_option),
		cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_type, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_short_header, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_missing_status_byte, fix_setup, fix_teardown),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_threads_many_in_flight),
		cmocka_unit_test_setup_teardown(test_bad_chain_reports_eio, fix_setup,
						fix_teardown),
		cmocka_unit_test(test_blockif_options),
		cmocka_unit_test(test_image_shrinks),
	};
	int failed = cmocka_run_group_tests_name("threads", tests, NULL, NULL);

	use_uring = true;
	return failed + cmocka_run_group_tests_name("io_uring", tests, NULL, NULL);
}
