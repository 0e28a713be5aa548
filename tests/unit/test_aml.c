/* Unit tests for src/firmware/aml.c (ACPI 6.5 §20 AML encodings, §6.4
 * resource descriptors).  Byte-exact checks for the tricky encodings, then a
 * definition block using every builder call is handed to Debian's iasl: it
 * must disassemble it and compile the disassembly back without a warning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firmware/aml.h"

/* ---- helpers ---- */

static void expect_bytes(struct aml *a, const uint8_t *want, size_t n)
{
	const uint8_t *got;
	size_t len = 0;
	int err = 1;

	got = aml_data(a, &len, &err);
	assert_int_equal(err, 0);
	assert_non_null(got);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
}

static int build_error(struct aml *a)
{
	size_t len;
	int err = 0;

	assert_null(aml_data(a, &len, &err));
	return err;
}

#define EXPECT(a, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t want_[] = { __VA_ARGS__ };                                    \
		expect_bytes((a), want_, sizeof(want_));                                           \
	} while (0)

/* ---- PkgLength (§20.2.4) ---- */

static void check_pkglength(size_t len, const uint8_t *want, int n)
{
	uint8_t out[4];

	assert_int_equal(aml_pkglength(len, out), n);
	assert_memory_equal(out, want, (size_t)n);
}

static void test_pkglength(void **state)
{
	uint8_t out[4];

	(void)state;
	/* The encoded value counts the PkgLength bytes themselves. */
	check_pkglength(0, (const uint8_t[]){ 0x01 }, 1);
	check_pkglength(62, (const uint8_t[]){ 0x3F }, 1);
	check_pkglength(63, (const uint8_t[]){ 0x41, 0x04 }, 2);	  /* 65 */
	check_pkglength(0xFFD, (const uint8_t[]){ 0x4F, 0xFF }, 2);	  /* 0xFFF */
	check_pkglength(0xFFE, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3); /* 0x1001 */
	check_pkglength(0xFFFFC, (const uint8_t[]){ 0x8F, 0xFF, 0xFF }, 3);
	check_pkglength(0xFFFFD, (const uint8_t[]){ 0xC1, 0x00, 0x00, 0x01 }, 4);
	check_pkglength(0xFFFFFFB, (const uint8_t[]){ 0xCF, 0xFF, 0xFF, 0xFF }, 4);
	assert_int_equal(aml_pkglength(0xFFFFFFC, out), -E2BIG);
}

/* ---- Integers ---- */

static void check_int(uint64_t v, const uint8_t *want, size_t n)
{
	struct aml *a = aml_new();

	assert_non_null(a);
	aml_integer(a, v);
	expect_bytes(a, want, n);
	aml_free(a);
}

static void test_integers(void **state)
{
	(void)state;
	check_int(0, (const uint8_t[]){ 0x00 }, 1);
	check_int(1, (const uint8_t[]){ 0x01 }, 1);
	check_int(2, (const uint8_t[]){ 0x0A, 0x02 }, 2);
	check_int(0xFF, (const uint8_t[]){ 0x0A, 0xFF }, 2);
	check_int(0x100, (const uint8_t[]){ 0x0B, 0x00, 0x01 }, 3);
	check_int(0xFFFF, (const uint8_t[]){ 0x0B, 0xFF, 0xFF }, 3);
	check_int(0x10000, (const uint8_t[]){ 0x0C, 0x00, 0x00, 0x01, 0x00 }, 5);
	check_int(0xFFFFFFFF, (const uint8_t[]){ 0x0C, 0xFF, 0xFF, 0xFF, 0xFF }, 5);
	check_int(0x100000000ULL,
		  (const uint8_t[]){ 0x0E, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 }, 9);
	check_int(UINT64_MAX - 1,
		  (const uint8_t[]){ 0x0E, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, 9);
	check_int(UINT64_MAX, (const uint8_t[]){ 0xFF }, 1); /* OnesOp */
}

static void test_string_and_eisaid(void **state)
{
	struct aml *a = aml_new();
	uint32_t v = 0;

	(void)state;
	assert_int_equal(aml_eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030AD041);
	assert_int_equal(aml_eisaid_value("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105D041);
	assert_int_equal(aml_eisaid_value("pnp0a03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0A0", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0A033", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0G03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value(NULL, &v), -EINVAL);

	aml_eisaid(a, "PNP0A03");
	aml_string(a, "Hi");
	aml_string(a, "");
	EXPECT(a, 0x0C, 0x41, 0xD0, 0x0A, 0x03, 0x0D, 'H', 'i', 0x00, 0x0D, 0x00);
	aml_free(a);

	a = aml_new();
	aml_string(a, "caf\xc3\xa9"); /* not ASCII */
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);
}

/* ---- NameStrings (§20.2.2) ---- */

static void check_name(const char *path, const uint8_t *want, size_t n)
{
	struct aml *a = aml_new();

	aml_name_string(a, path);
	expect_bytes(a, want, n);
	aml_free(a);
}

static void check_bad_name(const char *path)
{
	struct aml *a = aml_new();

	aml_name_string(a, path);
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);
}

static void test_names(void **state)
{
	(void)state;
	check_name("_S5", (const uint8_t[]){ '_', 'S', '5', '_' }, 4);
	check_name("PCI0", (const uint8_t[]){ 'P', 'C', 'I', '0' }, 4);
	check_name("\\", (const uint8_t[]){ '\\', 0x00 }, 2);
	check_name("\\_SB", (const uint8_t[]){ '\\', '_', 'S', 'B', '_' }, 5);
	check_name("\\_SB.PCI0",
		   (const uint8_t[]){ '\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0' }, 10);
	check_name("_SB.PCI0.ISA",
		   (const uint8_t[]){ 0x2F, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S',
				      'A', '_' },
		   14);
	check_name("^^COM1", (const uint8_t[]){ '^', '^', 'C', 'O', 'M', '1' }, 6);
	check_bad_name("");
	check_bad_name("1ABC");
	check_bad_name("ABCDE");
	check_bad_name("abc");
	check_bad_name("A..B");
	check_bad_name("A.");
	check_bad_name(".A");
	check_bad_name("\\\\A");
	check_bad_name(NULL);
}

/* ---- Named objects with contents ---- */

static void test_s5_package(void **state)
{
	struct aml *a = aml_new();

	(void)state;
	aml_name(a, "\\_S5");
	aml_package(a);
	aml_integer(a, 5);
	aml_integer(a, 5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
	EXPECT(a, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00,
	       0x00);
	aml_free(a);
}

static void test_nested_packages(void **state)
{
	struct aml *a = aml_new();

	(void)state;
	/* The outer package has 2 elements: a package and a name reference;
	 * elements of the inner one do not count for the outer. */
	aml_package(a);
	aml_package(a);
	aml_integer(a, 1);
	aml_string(a, "x");
	aml_end(a);
	aml_name_string(a, "ABCD");
	aml_end(a);
	EXPECT(a, 0x12, 0x0D, 0x02, 0x12, 0x06, 0x02, 0x01, 0x0D, 'x', 0x00, 'A', 'B', 'C', 'D');
	aml_free(a);
}

static void test_method_and_device(void **state)
{
	struct aml *a = aml_new();

	(void)state;
	aml_method(a, "_STA", 0, true);
	aml_return(a);
	aml_integer(a, 0x0F);
	aml_end(a);
	EXPECT(a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x08, 0xA4, 0x0A, 0x0F);
	aml_free(a);

	a = aml_new();
	aml_method(a, "M", 3, false);
	aml_end(a);
	EXPECT(a, 0x14, 0x06, 'M', '_', '_', '_', 0x03);
	aml_free(a);

	a = aml_new();
	aml_method(a, "M", 8, false);
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_device(a, "DEV");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_end(a);
	EXPECT(a, 0x5B, 0x82, 0x0B, 'D', 'E', 'V', '_', 0x08, '_', 'U', 'I', 'D', 0x01);
	aml_free(a);
}

/* Contents that grow past 63 bytes move behind a 2-byte PkgLength. */
static void test_pkglength_in_place(void **state)
{
	uint8_t filler[200], want[220];
	struct aml *a = aml_new();
	size_t n = 0;

	(void)state;
	memset(filler, 0xAB, sizeof(filler));
	aml_scope(a, "\\");
	aml_bytes(a, filler, 100);
	aml_end(a);
	/* 2 name bytes + 100 = 102 bytes of contents, +2 = 104 = 0x68. */
	want[n++] = 0x10;
	want[n++] = 0x48;
	want[n++] = 0x06;
	want[n++] = '\\';
	want[n++] = 0x00;
	memcpy(want + n, filler, 100);
	n += 100;
	expect_bytes(a, want, n);
	aml_free(a);
}

static void test_large_buffer(void **state)
{
	struct aml *a = aml_new();
	uint8_t *big = calloc(1, 70000);
	const uint8_t *got;
	size_t len = 0;
	int err;

	(void)state;
	assert_non_null(big);
	aml_buffer(a);
	aml_bytes(a, big, 70000);
	aml_end(a);
	got = aml_data(a, &len, &err);
	assert_non_null(got);
	/* BufferOp, 3-byte PkgLength, DWord size (5 bytes), the bytes. */
	assert_int_equal(len, 1 + 3 + 5 + 70000);
	assert_int_equal(got[0], 0x11);
	assert_int_equal(got[1] >> 6, 2);
	assert_int_equal((got[1] & 0x0F) | got[2] << 4 | got[3] << 12, 3 + 5 + 70000);
	assert_int_equal(got[4], 0x0C);
	assert_int_equal(got[5] | got[6] << 8 | got[7] << 16, 70000);
	aml_free(a);
	free(big);
}

/* ---- Resource templates ---- */

static void test_resource_template(void **state)
{
	struct aml *a = aml_new();
	const uint8_t *got;
	size_t len = 0, i;
	uint8_t sum = 0;
	int err;

	(void)state;
	aml_rt_begin(a);
	aml_rt_io(a, 0x3F8, 0x3F8, 1, 8);
	aml_rt_irq_noflags(a, 4);
	aml_rt_end(a);
	got = aml_data(a, &len, &err);
	assert_non_null(got);
	/* Buffer(13) { IO, IRQNoFlags, EndTag + checksum } */
	assert_int_equal(len, 17);
	assert_memory_equal(got,
			    ((const uint8_t[]){ 0x11, 0x10, 0x0A, 0x0D, 0x47, 0x01, 0xF8, 0x03,
						0xF8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79 }),
			    16);
	for (i = 4; i < len; i++)
		sum = (uint8_t)(sum + got[i]);
	assert_int_equal(sum, 0);
	aml_free(a);

	a = aml_new();
	aml_rt_begin(a);
	aml_rt_word_bus(a, 0, 255);
	aml_rt_end(a);
	EXPECT(a, 0x11, 0x15, 0x0A, 0x12, 0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00,
	       0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x01, 0x79,
	       (uint8_t)(0x400 - (0x88 + 0x0D + 0x02 + 0x0C + 0xFF + 0x01 + 0x79)));
	aml_free(a);
}

static void test_errors(void **state)
{
	struct aml *a;

	(void)state;
	a = aml_new();
	aml_end(a); /* nothing open */
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_device(a, "DEV"); /* never closed */
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_rt_io(a, 0, 0, 1, 1); /* outside a template */
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_rt_begin(a);
	aml_end(a); /* templates close with aml_rt_end */
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_buffer(a);
	aml_rt_end(a); /* not a template */
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_rt_begin(a);
	aml_rt_word_io(a, 0, 0xFFFF); /* length 0x10000 does not fit a word */
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_rt_begin(a);
	aml_rt_qword_memory(a, 2, 1, false);
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_rt_begin(a);
	aml_rt_irq_noflags(a, 16);
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	a = aml_new();
	aml_package(a);
	for (int i = 0; i < 256; i++)
		aml_integer(a, 0);
	aml_end(a);
	assert_int_equal(build_error(a), -E2BIG);
	aml_free(a);

	a = aml_new();
	for (int i = 0; i < 17; i++)
		aml_package(a);
	assert_int_equal(build_error(a), -E2BIG);
	aml_free(a);

	/* Errors stick: later valid calls do not clear them. */
	a = aml_new();
	aml_name_string(a, "bad");
	aml_integer(a, 1);
	assert_int_equal(build_error(a), -EINVAL);
	aml_free(a);

	/* Empty is fine. */
	a = aml_new();
	{
		size_t len = 1;
		int err = 1;

		assert_non_null(aml_data(a, &len, &err));
		assert_int_equal(len, 0);
		assert_int_equal(err, 0);
	}
	aml_free(a);
}

/* ---- Whole definition block through iasl ---- */

static bool have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, cap = 4096, n;
	char *out = malloc(cap);

	assert_non_null(p);
	assert_non_null(out);
	while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
	}
	out[len] = 0;
	*status = pclose(p);
	return out;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void sample_block(struct aml *a)
{
	aml_name(a, "\\_S5");
	aml_package(a);
	aml_integer(a, 5);
	aml_integer(a, 5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
	aml_scope(a, "\\_SB");
	aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_word_bus(a, 0, 0xFF);
	aml_rt_io(a, 0xCF8, 0xCF8, 1, 8);
	aml_rt_word_io(a, 0, 0xCF7);
	aml_rt_dword_io(a, 0xD00, 0xFFFF);
	aml_rt_dword_memory(a, 0xC0000000, 0xDFFFFFFF, false);
	aml_rt_qword_memory(a, 0x100000000ULL, 0x1FFFFFFFFULL, true);
	aml_rt_end(a);
	aml_device(a, "DEV0");
	aml_name(a, "_ADR");
	aml_integer(a, 0x001F0000);
	aml_name(a, "VALS");
	aml_package(a);
	aml_integer(a, UINT64_MAX);
	aml_integer(a, 0x123456789ULL);
	aml_string(a, "text");
	aml_name_string(a, "^^PCI0");
	aml_package(a);
	aml_integer(a, 0x1000);
	aml_end(a);
	aml_end(a);
	aml_name(a, "BUF0");
	aml_buffer(a);
	aml_bytes(a, "\x01\x02\x03", 3);
	aml_end(a);
	aml_method(a, "_STA", 0, true);
	aml_return(a);
	aml_integer(a, 0x0F);
	aml_end(a);
	aml_method(a, "MTH1", 0, false);
	aml_return(a);
	aml_name_string(a, "\\_SB.PCI0.DEV0.BUF0");
	aml_end(a);
	aml_end(a);
	aml_device(a, "RES0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_fixed_io(a, 0x80, 1);
	aml_rt_irq_noflags(a, 15);
	aml_rt_memory32_fixed(a, 0xFED00000, 0x400, true);
	aml_rt_end(a);
	aml_end(a);
	aml_end(a);
	aml_end(a);
}

static void test_iasl_accepts_block(void **state)
{
	char dir[] = "/tmp/test_aml.XXXXXX", cmd[512];
	struct aml *a = aml_new();
	const uint8_t *code;
	uint8_t *table;
	size_t len = 0;
	uint8_t sum = 0;
	char *out;
	int err, status;
	FILE *f;

	(void)state;
	if (!have_tool("iasl"))
		skip();
	sample_block(a);
	code = aml_data(a, &len, &err);
	assert_non_null(code);

	/* A DSDT header (ACPI 6.5 §5.2.6) around the code. */
	table = calloc(1, 36 + len);
	assert_non_null(table);
	memcpy(table, "DSDT", 4);
	put_le32(table + 4, (uint32_t)(36 + len));
	table[8] = 2;
	memcpy(table + 10, "BHYVE TESTAML ", 14);
	put_le32(table + 24, 1);
	memcpy(table + 28, "TEST", 4);
	put_le32(table + 32, 1);
	memcpy(table + 36, code, len);
	for (size_t i = 0; i < 36 + len; i++)
		sum = (uint8_t)(sum + table[i]);
	table[9] = (uint8_t)-sum;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "%s/dsdt.dat", dir);
	f = fopen(cmd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(table, 1, 36 + len, f), 36 + len);
	fclose(f);

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat 2>&1", dir);
	out = run(cmd, &status);
	if (status != 0 || !strstr(out, "Disassembly completed") || strstr(out, "Error") ||
	    strstr(out, "Warning"))
		fail_msg("iasl -d:\n%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p re dsdt.dsl 2>&1", dir);
	out = run(cmd, &status);
	if (status != 0 || !strstr(out, "0 Errors, 0 Warnings, 0 Remarks"))
		fail_msg("iasl recompile:\n%s", out);
	free(out);
	/* The disassembly shows what the builder meant. */
	snprintf(cmd, sizeof(cmd), "cat %s/dsdt.dsl", dir);
	out = run(cmd, &status);
	assert_non_null(strstr(out, "EisaId (\"PNP0A03\")"));
	assert_non_null(strstr(out, "Serialized"));
	assert_non_null(strstr(out, "QWordMemory (ResourceProducer"));
	assert_non_null(strstr(out, "DWordIO (ResourceProducer"));
	assert_non_null(strstr(out, "FixedIO ("));
	assert_non_null(strstr(out, "Memory32Fixed (ReadWrite"));
	assert_non_null(strstr(out, "^^PCI0"));
	free(out);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(table);
	aml_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglength),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_string_and_eisaid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_s5_package),
		cmocka_unit_test(test_nested_packages),
		cmocka_unit_test(test_method_and_device),
		cmocka_unit_test(test_pkglength_in_place),
		cmocka_unit_test(test_large_buffer),
		cmocka_unit_test(test_resource_template),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_iasl_accepts_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
