/* QEMU fw_cfg (src/hw/fwcfg.c) and bhyve's fwctl (src/hw/fwctl.c): the
 * items through the data port, the file directory, -f files from the
 * configuration tree, the DMA interface with good and bad descriptors and
 * buffers, and fwctl's signature and request/response protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "gmem.h"
#include "hw/fwcfg.h"
#include "hw/fwctl.h"
#include "inout.h"

#define RAM_SIZE  (1u << 20)
#define GUARD	  4096
#define GUARD_VAL 0x5A
#define DESC	  0x1000 /* where the tests put FWCfgDmaAccess */
#define BUF	  0x2000

struct env {
	uint8_t *buf; /* guard, RAM, guard */
	uint8_t *ram;
	struct gmem m;
	struct fwcfg *f;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct fwcfg_config cfg;

	assert_non_null(e);
	e->buf = malloc(RAM_SIZE + 2 * GUARD);
	assert_non_null(e->buf);
	memset(e->buf, GUARD_VAL, RAM_SIZE + 2 * GUARD);
	e->ram = e->buf + GUARD;
	memset(e->ram, 0, RAM_SIZE);
	assert_int_equal(gmem_add_region(&e->m, 0, RAM_SIZE, e->ram), 0);
	cfg = (struct fwcfg_config){ &e->m, 0x123456789ull, 3, 3 };
	e->f = fwcfg_new(&cfg);
	assert_non_null(e->f);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	int i;

	for (i = 0; i < GUARD; i++) {
		assert_int_equal(e->buf[i], GUARD_VAL);
		assert_int_equal(e->buf[GUARD + RAM_SIZE + i], GUARD_VAL);
	}
	fwcfg_free(e->f);
	free(e->buf);
	free(e);
	return 0;
}

static uint32_t io_in(struct fwcfg *f, uint16_t port, int bytes)
{
	uint32_t v = 0xFFFFFFFF;

	assert_int_equal(fwcfg_inout(f, 0, true, port, bytes, &v), 0);
	return v;
}

static void io_out(struct fwcfg *f, uint16_t port, int bytes, uint32_t v)
{
	assert_int_equal(fwcfg_inout(f, 0, false, port, bytes, &v), 0);
}

static void sel(struct fwcfg *f, uint16_t key)
{
	io_out(f, FWCFG_PORT_SELECTOR, 2, key);
}

static void read_bytes(struct fwcfg *f, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = (uint8_t)io_in(f, FWCFG_PORT_DATA, 1);
}

static uint64_t read_le(struct fwcfg *f, uint16_t key, int n)
{
	uint8_t b[8];
	uint64_t v = 0;
	int i;

	sel(f, key);
	read_bytes(f, b, (size_t)n);
	for (i = n - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void test_items(void **state)
{
	struct env *e = *state;
	uint8_t b[8];

	sel(e->f, FWCFG_SIGNATURE);
	read_bytes(e->f, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	/* Past the end: zeros. */
	assert_int_equal(io_in(e->f, FWCFG_PORT_DATA, 1), 0);
	/* The data port also answers at 0x510 (the two overlap). */
	sel(e->f, FWCFG_SIGNATURE);
	assert_int_equal(io_in(e->f, FWCFG_PORT_SELECTOR, 1), 'Q');
	assert_int_equal(read_le(e->f, FWCFG_ID, 4), 3);
	assert_true(read_le(e->f, FWCFG_RAM_SIZE, 8) == 0x123456789ull);
	assert_int_equal(read_le(e->f, FWCFG_NB_CPUS, 2), 3);
	assert_int_equal(read_le(e->f, FWCFG_MAX_CPUS, 2), 3);
	/* The write-channel bit does not change what is read. */
	assert_int_equal(read_le(e->f, 0x4000 | FWCFG_NB_CPUS, 2), 3);
	/* Nothing behind these selectors: zeros. */
	assert_int_equal(read_le(e->f, 0x8000 | FWCFG_NB_CPUS, 2), 0);
	assert_int_equal(read_le(e->f, 0x02, 4), 0);
	assert_int_equal(read_le(e->f, FWCFG_FILE_FIRST, 4), 0);
	assert_int_equal(read_le(e->f, 0x3FFF, 4), 0);
	/* Empty directory: a count of 0. */
	assert_int_equal(read_le(e->f, FWCFG_FILE_DIR, 4), 0);
	/* Data writes are ignored; wide reads of the data port give all-ones. */
	sel(e->f, FWCFG_SIGNATURE);
	io_out(e->f, FWCFG_PORT_DATA, 1, 'X');
	assert_int_equal(io_in(e->f, FWCFG_PORT_DATA, 1), 'Q');
	assert_int_equal(io_in(e->f, FWCFG_PORT_SELECTOR, 2), 0xFFFFFFFF);
}

static void test_files_sorted_in_directory(void **state)
{
	struct env *e = *state;
	uint8_t dir[4 + 3 * 64], b[16];
	int i;

	assert_int_equal(fwcfg_add_file(e->f, "opt/b", "BBBB", 4), 0);
	assert_int_equal(fwcfg_add_file(e->f, "opt/a", "hello", 6), 0);
	assert_int_equal(fwcfg_add_file(e->f, "opt/c", NULL, 0), 0);
	assert_int_equal(fwcfg_add_file(e->f, "opt/a", "x", 1), -EEXIST);
	assert_int_equal(fwcfg_add_file(e->f, "", "x", 1), -EINVAL);
	assert_int_equal(fwcfg_add_file(e->f, "bad\nname", "x", 1), -EINVAL);
	assert_int_equal(
	    fwcfg_add_file(e->f, "0123456789012345678901234567890123456789012345678901234", "x", 1),
	    0);
	assert_int_equal(fwcfg_add_file(e->f,
					"01234567890123456789012345678901234567890123456789012345",
					"x", 1),
			 -EINVAL);
	sel(e->f, FWCFG_FILE_DIR);
	read_bytes(e->f, dir, sizeof(dir));
	assert_int_equal(be32(dir), 4);
	/* "0123..." sorts first, then opt/a, opt/b, opt/c. */
	assert_string_equal((char *)dir + 4 + 64 + 8, "opt/a");
	assert_int_equal(be32(dir + 4 + 64), 6);
	assert_int_equal(dir[4 + 64 + 4] << 8 | dir[4 + 64 + 5], 0x21);
	assert_string_equal((char *)dir + 4 + 128 + 8, "opt/b");
	assert_int_equal(dir[4 + 128 + 4] << 8 | dir[4 + 128 + 5], 0x22);
	sel(e->f, 0x21);
	read_bytes(e->f, b, 8);
	assert_memory_equal(b, "hello\0\0\0", 8);
	sel(e->f, 0x22);
	read_bytes(e->f, b, 4);
	assert_memory_equal(b, "BBBB", 4);
	assert_int_equal(read_le(e->f, 0x23, 4), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(dir[4 + 64 + 8 + 5 + i], 0);
}

static void dma_start(struct fwcfg *f, uint64_t desc)
{
	io_out(f, FWCFG_PORT_DMA, 4, __builtin_bswap32((uint32_t)(desc >> 32)));
	io_out(f, FWCFG_PORT_DMA + 4, 4, __builtin_bswap32((uint32_t)desc));
}

static void dma_desc(struct env *e, uint32_t control, uint32_t length, uint64_t addr)
{
	uint8_t *d = e->ram + DESC;

	put_be32(d, control);
	put_be32(d + 4, length);
	put_be32(d + 8, (uint32_t)(addr >> 32));
	put_be32(d + 12, (uint32_t)addr);
}

static void test_dma_signature(void **state)
{
	struct env *e = *state;

	/* Bytes "QEMU CFG" in memory order, as 32-bit reads see them. */
	assert_int_equal(io_in(e->f, FWCFG_PORT_DMA, 4), 0x554D4551);
	assert_int_equal(io_in(e->f, FWCFG_PORT_DMA + 4, 4), 0x47464320);
	assert_int_equal(io_in(e->f, FWCFG_PORT_DMA + 7, 1), 'G');
}

static void test_dma_read_select_skip(void **state)
{
	struct env *e = *state;

	assert_int_equal(fwcfg_add_file(e->f, "opt/x", "0123456789", 10), 0);
	dma_desc(e, (0x20u << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, BUF);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), 0);
	assert_memory_equal(e->ram + BUF, "0123", 4);
	/* Without select: the offset continues. */
	dma_desc(e, FWCFG_DMA_SKIP, 2, 0);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), 0);
	memset(e->ram + BUF, 0xEE, 16);
	dma_desc(e, FWCFG_DMA_READ, 8, BUF);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), 0);
	/* Four bytes left, then zeros; nothing written past length. */
	assert_memory_equal(e->ram + BUF, "6789\0\0\0\0\xEE", 9);
	/* The port interface shares the offset: the item is exhausted. */
	assert_int_equal(io_in(e->f, FWCFG_PORT_DATA, 1), 0);
	/* The 32-bit feature word through DMA. */
	dma_desc(e, (FWCFG_ID << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, BUF);
	dma_start(e->f, DESC);
	assert_memory_equal(e->ram + BUF, "\3\0\0\0", 4);
}

static void test_dma_bad_addresses(void **state)
{
	struct env *e = *state;

	/* A buffer outside RAM, one crossing its end, one wrapping: the
	 * error bit, and nothing written. */
	dma_desc(e, (FWCFG_SIGNATURE << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, 0xD0000000);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), FWCFG_DMA_ERROR);
	dma_desc(e, (FWCFG_SIGNATURE << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 8, RAM_SIZE - 4);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), FWCFG_DMA_ERROR);
	dma_desc(e, (FWCFG_SIGNATURE << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 0xFFFFFFFF,
		 0xFFFFFFFFFFFFFF00ull);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), FWCFG_DMA_ERROR);
	/* A write: every item is read-only. */
	dma_desc(e, (FWCFG_SIGNATURE << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 4, BUF);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), FWCFG_DMA_ERROR);
	/* A descriptor outside RAM, or crossing its end: ignored. */
	dma_start(e->f, 0xD0000000);
	dma_start(e->f, RAM_SIZE - 8);
	dma_start(e->f, 0xFFFFFFFFFFFFFFF8ull);
	/* Zero-length read: success, nothing written. */
	dma_desc(e, (FWCFG_SIGNATURE << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 0, 0xD0000000);
	dma_start(e->f, DESC);
	assert_int_equal(be32(e->ram + DESC), 0);
}

static void test_dma_needs_both_halves(void **state)
{
	struct env *e = *state;

	dma_desc(e, (FWCFG_SIGNATURE << 16) | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, BUF);
	/* The high half alone starts nothing; 16-bit writes are ignored. */
	io_out(e->f, FWCFG_PORT_DMA, 4, 0);
	io_out(e->f, FWCFG_PORT_DMA + 4, 2, 0x0010);
	assert_int_equal(be32(e->ram + DESC), (FWCFG_SIGNATURE << 16) | 0x0A);
	/* A high half of 1 puts the descriptor above 4 GiB: not RAM. */
	io_out(e->f, FWCFG_PORT_DMA, 4, __builtin_bswap32(1));
	io_out(e->f, FWCFG_PORT_DMA + 4, 4, __builtin_bswap32(DESC));
	assert_int_equal(be32(e->ram + DESC), (FWCFG_SIGNATURE << 16) | 0x0A);
	/* ... and the register is 0 again after an operation. */
	io_out(e->f, FWCFG_PORT_DMA + 4, 4, __builtin_bswap32(DESC));
	assert_int_equal(be32(e->ram + DESC), 0);
	assert_memory_equal(e->ram + BUF, "QEMU", 4);
}

static void test_ports_and_registration(void **state)
{
	struct env *e = *state;
	struct inout *io = inout_new();
	uint32_t v = 0;

	assert_int_equal(fwcfg_inout(e->f, 0, true, 0x512, 1, &v), -1);
	assert_int_equal(fwcfg_inout(e->f, 0, true, 0x513, 1, &v), -1);
	assert_int_equal(fwcfg_inout(e->f, 0, true, 0x51C, 1, &v), -1);
	assert_int_equal(fwcfg_inout(e->f, 0, true, FWCFG_PORT_DMA + 6, 4, &v), -1);
	assert_int_equal(fwcfg_inout(e->f, 0, true, FWCFG_PORT_DATA, 3, &v), -1);
	assert_int_equal(fwcfg_register(e->f, io), 0);
	v = FWCFG_NB_CPUS;
	assert_int_equal(inout_dispatch(io, 0, false, FWCFG_PORT_SELECTOR, 2, &v), 0);
	assert_int_equal(inout_dispatch(io, 0, true, FWCFG_PORT_DATA, 1, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(inout_dispatch(io, 0, true, FWCFG_PORT_DATA, 4, &v), -ENOENT);
	inout_free(io);
}

static void test_config_files(void **state)
{
	struct env *e = *state;
	struct config *c = config_new();
	char path[] = "/tmp/test_fwcfg.XXXXXX", err[256];
	uint8_t dir[4 + 2 * 64], b[8];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "file!", 5), 5);
	close(fd);
	assert_int_equal(fwcfg_check_file(path), 0);
	assert_int_equal(fwcfg_check_file("/nonexistent/x"), -ENOENT);
	assert_int_equal(fwcfg_check_file("/tmp"), -EINVAL);
	assert_int_equal(config_set_fwcfg_file(c, "name=opt/s,string=str"), 0);
	snprintf((char *)b, sizeof(b), "x");
	{
		char arg[128];

		snprintf(arg, sizeof(arg), "opt/f,file=%s", path);
		assert_int_equal(config_set_fwcfg_file(c, arg), 0);
	}
	assert_int_equal(config_set_fwcfg_file(c, "opt/s,string=again"), -EEXIST);
	assert_int_equal(config_set_fwcfg_file(c, "opt/s"), -EINVAL);
	assert_int_equal(config_set_fwcfg_file(c, ",string=x"), -EINVAL);
	assert_int_equal(config_set_fwcfg_file(c, "opt/y,file="), -EINVAL);
	assert_int_equal(config_set_fwcfg_file(c, "opt/y,path=x"), -EINVAL);
	assert_int_equal(
	    config_set_fwcfg_file(c, "0123456789012345678901234567890123456789012345678901234567,"
				     "string=x"),
	    -ENAMETOOLONG);
	assert_string_equal(config_get(c, "fw_cfg.0.name"), "opt/s");
	assert_string_equal(config_get(c, "fw_cfg.1.file"), path);
	assert_int_equal(fwcfg_add_config_files(e->f, c, err, sizeof(err)), 0);
	sel(e->f, FWCFG_FILE_DIR);
	read_bytes(e->f, dir, sizeof(dir));
	assert_int_equal(be32(dir), 2);
	assert_string_equal((char *)dir + 4 + 8, "opt/f");
	assert_int_equal(be32(dir + 4), 5);
	assert_string_equal((char *)dir + 4 + 64 + 8, "opt/s");
	assert_int_equal(be32(dir + 4 + 64), 4); /* "str" and its NUL, as bhyve */
	sel(e->f, 0x20);
	read_bytes(e->f, b, 5);
	assert_memory_equal(b, "file!", 5);
	/* The same names again: refused, with a message. */
	assert_int_equal(fwcfg_add_config_files(e->f, c, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "opt/"));
	unlink(path);
	assert_int_equal(config_set(c, "fw_cfg.1.name", "opt/g"), 0);
	assert_int_equal(fwcfg_add_config_files(e->f, c, err, sizeof(err)), -EEXIST);
	config_free(c);
	/* A file that vanished, and an entry with both kinds. */
	c = config_new();
	assert_int_equal(config_set(c, "fw_cfg.0.name", "opt/gone"), 0);
	assert_int_equal(config_set(c, "fw_cfg.0.file", path), 0);
	assert_int_equal(fwcfg_add_config_files(e->f, c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(config_set(c, "fw_cfg.0.string", "s"), 0);
	assert_int_equal(fwcfg_add_config_files(e->f, c, err, sizeof(err)), -EINVAL);
	config_free(c);
	c = config_new();
	assert_int_equal(fwcfg_add_config_files(e->f, c, err, sizeof(err)), 0);
	config_free(c);
}

/* ---- fwctl ----------------------------------------------------------- */

static uint32_t ctl_in(struct fwctl *c, int bytes)
{
	uint32_t v = 0;

	assert_int_equal(fwctl_inout(c, 0, true, FWCTL_PORT_IN, bytes, &v), 0);
	return v;
}

static void ctl_out(struct fwctl *c, int bytes, uint32_t v)
{
	assert_int_equal(fwctl_inout(c, 0, false, FWCTL_PORT, bytes, &v), 0);
}

static void ctl_reset(struct fwctl *c)
{
	int i;

	ctl_out(c, 2, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(ctl_in(c, 1), "BHYV"[i]);
}

/* Send op with a NUL-terminated name (padded to words), read the reply. */
static uint32_t ctl_request(struct fwctl *c, uint32_t op, const char *name, uint32_t *data,
			    unsigned max, unsigned *n)
{
	uint32_t len = (uint32_t)strlen(name) + 1, words = (len + 3) / 4, hdr[4], i;
	uint8_t buf[128] = { 0 };

	memcpy(buf, name, len);
	ctl_out(c, 4, 12 + words * 4);
	ctl_out(c, 4, op);
	ctl_out(c, 4, 0xA5);
	for (i = 0; i < words; i++) {
		uint32_t w;

		memcpy(&w, buf + 4 * i, 4);
		ctl_out(c, 4, w);
	}
	for (i = 0; i < 4; i++)
		hdr[i] = ctl_in(c, 4);
	assert_true(hdr[0] >= 16 && hdr[0] % 4 == 0);
	assert_int_equal(hdr[1], op);
	assert_int_equal(hdr[2], 0xA5);
	*n = (hdr[0] - 16) / 4;
	assert_true(*n <= max);
	for (i = 0; i < *n; i++)
		data[i] = ctl_in(c, 4);
	return hdr[3];
}

static void test_fwctl(void **state)
{
	struct fwctl *c = fwctl_new();
	uint32_t ncpu = 3, d[32];
	unsigned n;

	(void)state;
	assert_non_null(c);
	assert_int_equal(fwctl_add(c, "hw.ncpu", &ncpu, sizeof(ncpu)), 0);
	assert_int_equal(fwctl_add(c, "hw.ncpu", &ncpu, sizeof(ncpu)), -EEXIST);
	assert_int_equal(fwctl_add(c, "", &ncpu, sizeof(ncpu)), -EINVAL);
	/* Before the reset: all-ones. */
	assert_int_equal(ctl_in(c, 1), 0xFF);
	assert_int_equal(ctl_in(c, 4), 0xFFFFFFFF);
	ctl_reset(c);
	assert_int_equal(ctl_in(c, 1), 0xFF);
	assert_int_equal(ctl_request(c, FWCTL_OP_GET_LEN, "hw.ncpu", d, 32, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0], 4);
	assert_int_equal(d[1], 0);
	assert_int_equal(ctl_request(c, FWCTL_OP_GET, "hw.ncpu", d, 32, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(d[0], 4);
	assert_int_equal(d[2], 3);
	assert_int_equal(ctl_request(c, FWCTL_OP_GET, "hw.nope", d, 32, &n), FWCTL_ENOENT);
	assert_int_equal(n, 0);
	/* A prefix is not the name. */
	assert_int_equal(ctl_request(c, FWCTL_OP_GET, "hw.n", d, 32, &n), FWCTL_ENOENT);
	assert_int_equal(ctl_request(c, 1, "hw.ncpu", d, 32, &n), FWCTL_ENOENT);
	assert_int_equal(ctl_request(c, 0xFFFFFFFF, "x", d, 32, &n), FWCTL_ENOENT);
	assert_int_equal(
	    ctl_request(c, FWCTL_OP_GET,
			"hw.ncpu.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			"aaaaaaaaaaaaaaaaaaaaaaaaa",
			d, 32, &n),
	    FWCTL_E2BIG);
	/* Still in step after all that. */
	assert_int_equal(ctl_request(c, FWCTL_OP_GET, "hw.ncpu", d, 32, &n), 0);
	assert_int_equal(d[2], 3);
	/* A size below the header is ignored; the next word starts over. */
	ctl_out(c, 4, 4);
	assert_int_equal(ctl_request(c, FWCTL_OP_GET_LEN, "hw.ncpu", d, 32, &n), 0);
	/* A header-only request answers at once. */
	ctl_out(c, 4, 12);
	ctl_out(c, 4, FWCTL_OP_GET);
	ctl_out(c, 4, 7);
	assert_int_equal(ctl_in(c, 4), 16);
	assert_int_equal(ctl_in(c, 4), FWCTL_OP_GET);
	assert_int_equal(ctl_in(c, 4), 7);
	assert_int_equal(ctl_in(c, 4), FWCTL_ENOENT);
	assert_int_equal(ctl_in(c, 4), 0xFFFFFFFF);
	/* A huge request is counted, not stored; a reset ends it. */
	ctl_out(c, 4, 0xFFFFFFFF);
	ctl_out(c, 4, FWCTL_OP_GET);
	ctl_out(c, 4, 1);
	for (n = 0; n < 1000; n++)
		ctl_out(c, 4, 0x41414141);
	assert_int_equal(ctl_in(c, 4), 0xFFFFFFFF);
	ctl_reset(c);
	assert_int_equal(ctl_request(c, FWCTL_OP_GET, "hw.ncpu", d, 32, &n), 0);
	/* Ports and widths. */
	assert_int_equal(ctl_in(c, 2), 0xFFFF);
	assert_int_equal(fwctl_inout(c, 0, true, 0x512, 1, d), -1);
	assert_int_equal(fwctl_inout(c, 0, true, FWCTL_PORT_IN, 3, d), -1);
	fwctl_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_sorted_in_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_read_select_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_bad_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_needs_both_halves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_and_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_files, setup, teardown),
		cmocka_unit_test(test_fwctl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
