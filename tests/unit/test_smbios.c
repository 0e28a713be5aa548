/* Unit tests for src/firmware/smbios.c (DMTF DSP0134 SMBIOS 3.0).  The
 * tables are built into a malloc-backed guest memory and walked here
 * (checksums, lengths, counts, handles, string sets), then decoded by
 * dmidecode --from-dump through each of the two entry points; that check is
 * skipped only when dmidecode is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/layout.h"
#include "firmware/smbios.h"
#include "gmem.h"
#include "le_test.h"

#define RAM_SIZE (1u << 20)
#define BIG_BASE 0x200000ULL /* a second, larger RAM region */
#define BIG_SIZE (4u << 20)
#define GIB	 (1ULL << 30)

struct fixture {
	struct gmem m;
	uint8_t *ram;
	uint8_t *big;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = calloc(1, RAM_SIZE);
	f->big = calloc(1, BIG_SIZE);
	assert_non_null(f->ram);
	assert_non_null(f->big);
	assert_int_equal(gmem_add_region(&f->m, 0, RAM_SIZE, f->ram), 0);
	assert_int_equal(gmem_add_region(&f->m, BIG_BASE, BIG_SIZE, f->big), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->ram);
	free(f->big);
	free(f);
	return 0;
}

static const uint8_t *host(const struct fixture *f, uint64_t gpa)
{
	const uint8_t *p = gmem_ptr(&f->m, gpa, 1);

	assert_non_null(p);
	return p;
}

/* The rfc4122 text of 16 bytes in RFC 4122 order. */
static void uuid_text(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

/* ---- Walking the table ---- */

struct walk {
	unsigned count;
	size_t len;
	size_t max_size;
	unsigned by_type[128];
	const uint8_t *type1, *type16, *type17;
	const uint8_t *type19[2];
	uint16_t type16_handle;
};

/* The string number n of structure s (1-based), or NULL. */
static const char *st_str(const uint8_t *s, unsigned n)
{
	const char *p = (const char *)s + s[1];

	if (!n)
		return NULL;
	while (--n)
		p += strlen(p) + 1;
	return p;
}

/* Every string field of the types we write numbers a string of the set. */
static void check_string_refs(const uint8_t *s, unsigned nstr)
{
	static const uint8_t fields[][8] = {
		[0] = { 0x04, 0x05, 0x08 },
		[1] = { 0x04, 0x05, 0x06, 0x07, 0x19, 0x1A },
		[3] = { 0x04, 0x06, 0x07, 0x08, 0x15 },
		[4] = { 0x04, 0x07, 0x10, 0x20, 0x21, 0x22 },
		[17] = { 0x10, 0x11, 0x17, 0x18, 0x19, 0x1A },
	};

	if (s[0] >= sizeof(fields) / sizeof(fields[0]))
		return;
	for (int i = 0; i < 8 && fields[s[0]][i]; i++) {
		assert_true(fields[s[0]][i] < s[1]);
		assert_true(s[fields[s[0]][i]] <= nstr);
	}
}

static void walk_table(const uint8_t *t, size_t len, struct walk *w)
{
	size_t off = 0;
	bool handles[0x10000] = { false };

	memset(w, 0, sizeof(*w));
	while (off < len) {
		const uint8_t *s = t + off, *p;
		unsigned nstr = 0;
		size_t size;

		assert_true(off + 4 <= len);
		assert_true(s[1] >= 4);
		assert_false(handles[le16_get(s + 2)]); /* unique */
		handles[le16_get(s + 2)] = true;
		/* String set: strings, then one more NUL; none: two NULs. */
		p = s + s[1];
		if (p[0] == 0) {
			assert_int_equal(p[1], 0);
			p += 2;
		} else {
			while (*p) {
				size_t n = strnlen((const char *)p, len - (size_t)(p - t));

				assert_true(n > 0 && n < 256);
				p += n + 1;
				nstr++;
			}
			p++;
		}
		size = (size_t)(p - s);
		assert_true(off + size <= len);
		if (size > w->max_size)
			w->max_size = size;
		w->by_type[s[0] & 0x7F]++;
		w->count++;
		switch (s[0]) {
		case 1:
			w->type1 = s;
			break;
		case 16:
			w->type16 = s;
			w->type16_handle = le16_get(s + 2);
			break;
		case 17:
			w->type17 = s;
			break;
		case 19:
			assert_true(w->by_type[19] <= 2);
			w->type19[w->by_type[19] - 1] = s;
			break;
		}
		check_string_refs(s, nstr);
		off += size;
		if (s[0] == 127)
			break;
	}
	assert_int_equal(off, len); /* type 127 is the last */
	w->len = off;
}

static void check_memory(const struct walk *w, const struct smbios_config *cfg)
{
	uint64_t total = cfg->lowmem + cfg->highmem;
	const uint8_t *s;

	/* Type 16: capacity = guest memory. */
	s = w->type16;
	assert_non_null(s);
	if (le32_get(s + 7) == 0x80000000u)
		assert_int_equal(le64_get(s + 0x0F), total);
	else
		assert_int_equal((uint64_t)le32_get(s + 7) << 10, total & ~0x3FFULL);
	assert_int_equal(le16_get(s + 0x0D), 1);

	/* Type 17: the size, in the extended field from 32 GiB up. */
	s = w->type17;
	assert_non_null(s);
	assert_int_equal(le16_get(s + 4), w->type16_handle);
	if (total >= 32 * GIB) {
		assert_int_equal(le16_get(s + 0x0C), 0x7FFF);
		assert_int_equal(le32_get(s + 0x1C), total >> 20);
	} else {
		assert_int_equal(le16_get(s + 0x0C), total >> 20);
	}

	/* Type 19: one range per RAM range, addresses in KiB or extended. */
	assert_int_equal(w->by_type[19], cfg->highmem ? 2 : 1);
	for (unsigned i = 0; i < w->by_type[19]; i++) {
		uint64_t start = i ? LAYOUT_HIGHMEM_BASE : 0;
		uint64_t size = i ? cfg->highmem : cfg->lowmem;

		s = w->type19[i];
		assert_int_equal(le16_get(s + 0x0C), w->type16_handle);
		if (le32_get(s + 4) == 0xFFFFFFFFu) {
			assert_int_equal(le64_get(s + 0x0F), start);
			assert_int_equal(le64_get(s + 0x17), start + size - 1);
		} else {
			assert_int_equal((uint64_t)le32_get(s + 4) << 10, start);
			assert_int_equal(((uint64_t)le32_get(s + 8) << 10) + 1023,
					 start + size - 1);
		}
	}
}

/* Check both entry points and the table at base; returns the table. */
static const uint8_t *check_smbios(const struct fixture *f, uint64_t base, int rc,
				   const struct smbios_config *cfg, struct walk *w)
{
	const uint8_t *ep32 = host(f, base), *ep64 = host(f, base + 0x20), *t, *s;
	uint64_t table;
	uint8_t uuid[16];

	assert_true(rc > 0x40);
	/* 64-bit entry point (§5.2.2). */
	assert_memory_equal(ep64, "_SM3_", 5);
	assert_int_equal(ep64[6], 0x18);
	assert_int_equal(sum(ep64, 0x18), 0);
	assert_int_equal(ep64[7], 3);
	assert_int_equal(ep64[0x0A], 1);
	table = le64_get(ep64 + 0x10);
	assert_int_equal(table, base + 0x40);
	t = host(f, table);
	walk_table(t, le32_get(ep64 + 0x0C), w);
	assert_int_equal(w->len, (size_t)rc - 0x40);

	/* 32-bit entry point (§5.2.1) while the table fits its 16 bits. */
	if (w->len <= 0xFFFF) {
		assert_memory_equal(ep32, "_SM_", 4);
		assert_int_equal(ep32[5], 0x1F);
		assert_int_equal(sum(ep32, 0x1F), 0);
		assert_memory_equal(ep32 + 0x10, "_DMI_", 5);
		assert_int_equal(sum(ep32 + 0x10, 0x0F), 0);
		assert_int_equal(le16_get(ep32 + 0x16), w->len);
		assert_int_equal(le32_get(ep32 + 0x18), table);
		assert_int_equal(le16_get(ep32 + 0x1C), w->count);
		assert_int_equal(le16_get(ep32 + 0x08), w->max_size);
	} else {
		assert_memory_not_equal(ep32, "_SM_", 4);
	}

	assert_int_equal(w->by_type[0], 1);
	assert_int_equal(w->by_type[1], 1);
	assert_int_equal(w->by_type[3], 1);
	assert_int_equal(w->by_type[4], cfg->sockets);
	assert_int_equal(w->by_type[16], 1);
	assert_int_equal(w->by_type[17], 1);
	assert_int_equal(w->by_type[32], 1);
	assert_int_equal(w->by_type[127], 1);

	/* Type 1: UUID in SMBIOS order (first three fields little-endian). */
	s = w->type1;
	uuid[0] = s[11];
	uuid[1] = s[10];
	uuid[2] = s[9];
	uuid[3] = s[8];
	uuid[4] = s[13];
	uuid[5] = s[12];
	uuid[6] = s[15];
	uuid[7] = s[14];
	memcpy(uuid + 8, s + 16, 8);
	assert_memory_equal(uuid, cfg->uuid, 16);
	if (cfg->product && !*cfg->product)
		assert_int_equal(s[5], 0); /* "" is no string */
	else
		assert_string_equal(st_str(s, s[5]), cfg->product ? cfg->product : "BHYVE");
	check_memory(w, cfg);
	return t;
}

/* Type 4 of socket i: counts and the processor ID. */
static void check_processors(const uint8_t *t, const struct walk *w,
			     const struct smbios_config *cfg)
{
	size_t off = 0;
	unsigned seen = 0;

	while (off < w->len) {
		const uint8_t *s = t + off, *p = s + s[1];

		if (s[0] == 4) {
			char name[32];
			unsigned threads = cfg->cores * cfg->threads;

			snprintf(name, sizeof(name), "CPU #%u", seen);
			assert_string_equal(st_str(s, s[4]), name);
			assert_int_equal(le32_get(s + 8), cfg->cpu_signature);
			assert_int_equal(le32_get(s + 12), cfg->cpu_features);
			assert_int_equal(s[0x23], cfg->cores > 255 ? 255 : cfg->cores);
			assert_int_equal(s[0x25], threads > 255 ? 255 : threads);
			assert_int_equal(le16_get(s + 0x2A), cfg->cores);
			assert_int_equal(le16_get(s + 0x2E), threads);
			seen++;
		}
		if (!p[0])
			p += 2;
		else {
			while (*p)
				p += strlen((const char *)p) + 1;
			p++;
		}
		off = (size_t)(p - t);
	}
	assert_int_equal(seen, cfg->sockets);
}

/* ---- dmidecode ---- */

static bool have_dmidecode(void)
{
	return system("command -v dmidecode >/dev/null 2>&1") == 0;
}

static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, cap = 8192, n;
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

/* dmidecode's dump format (what --dump-bin writes): an entry point at
 * offset 0 whose table address is 0x20, and the table at 0x20. */
static void dmidecode_check(const struct fixture *f, uint64_t base, const struct walk *w,
			    const struct smbios_config *cfg, bool ep64)
{
	char path[] = "/tmp/test_smbios.XXXXXX", cmd[256], uuid[37];
	uint8_t ep[0x20] = { 0 };
	const uint8_t *t = host(f, base + 0x40);
	char *out;
	int fd, status;
	FILE *fp;

	if (ep64) {
		memcpy(ep, host(f, base + 0x20), 0x18);
		memset(ep + 0x10, 0, 8);
		ep[0x10] = 0x20;
		ep[5] = 0;
		ep[5] = (uint8_t)-sum(ep, 0x18);
	} else {
		memcpy(ep, host(f, base), 0x1F);
		memset(ep + 0x18, 0, 4);
		ep[0x18] = 0x20;
		ep[0x15] = 0;
		ep[0x15] = (uint8_t)-sum(ep + 0x10, 0x0F);
		ep[4] = 0;
		ep[4] = (uint8_t)-sum(ep, 0x1F);
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(ep, 1, sizeof(ep), fp), sizeof(ep));
	assert_int_equal(fwrite(t, 1, w->len, fp), w->len);
	fclose(fp);

	snprintf(cmd, sizeof(cmd), "dmidecode --from-dump %s 2>&1", path);
	out = run(cmd, &status);
	uuid_text(cfg->uuid, uuid);
	if (status != 0 || !strstr(out, uuid) ||
	    !strstr(out, ep64 ? "SMBIOS 3.0.0 present" : "SMBIOS 3.0 present") ||
	    strstr(out, "OUT OF SPEC") || strstr(out, "Invalid") || strstr(out, "Wrong") ||
	    strstr(out, "broken") || strstr(out, "Truncated") || strstr(out, "Bad ") ||
	    strstr(out, "not fully supported") || !strstr(out, "End Of Table"))
		fail_msg("dmidecode (%s entry point), want UUID %s:\n%s", ep64 ? "64" : "32", uuid,
			 out);
	free(out);
	/* The type 4 count as dmidecode sees it. */
	snprintf(cmd, sizeof(cmd),
		 "dmidecode --from-dump %s -t 4 | grep -c 'Processor Information'", path);
	out = run(cmd, &status);
	assert_int_equal(strtoul(out, NULL, 10), cfg->sockets);
	free(out);
	unlink(path);
}

/* ---- Tests ---- */

static void base_config(struct smbios_config *c)
{
	memset(c, 0, sizeof(*c));
	smbios_default_uuid("testhost", "testvm", c->uuid);
	c->lowmem = 256ULL << 20;
	c->sockets = 1;
	c->cores = 1;
	c->threads = 1;
	c->cpu_signature = 0x000906EA;
	c->cpu_features = 0x178BFBFF;
	c->acpi = true;
}

static void build_and_check(struct fixture *f, uint64_t base, uint64_t len,
			    const struct smbios_config *cfg, bool external)
{
	struct walk w;
	const uint8_t *t;
	int rc;

	rc = smbios_build(&f->m, base, len, cfg);
	assert_true(rc > 0);
	t = check_smbios(f, base, rc, cfg, &w);
	check_processors(t, &w, cfg);
	if (external) {
		if (!have_dmidecode())
			skip();
		dmidecode_check(f, base, &w, cfg, true);
		if (w.len <= 0xFFFF)
			dmidecode_check(f, base, &w, cfg, false);
	}
}

static void test_small(void **state)
{
	struct smbios_config c;

	base_config(&c);
	build_and_check(*state, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c, true);
}

static void test_two_sockets_5g(void **state)
{
	struct smbios_config c;

	base_config(&c);
	c.sockets = 2;
	c.cores = 2;
	c.threads = 2;
	c.lowmem = 3 * GIB;
	c.highmem = 2 * GIB;
	c.cpu_manufacturer = "GenuineIntel";
	c.product = "Custom Product";
	c.serial = ""; /* empty: no string */
	build_and_check(*state, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c, true);
}

static void test_four_cpus_64g(void **state)
{
	struct smbios_config c;

	base_config(&c);
	c.sockets = 4;
	c.lowmem = 3 * GIB;
	c.highmem = 61 * GIB;
	build_and_check(*state, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c, true);
}

static void test_huge_memory_and_cores(void **state)
{
	struct smbios_config c;

	/* 5 TiB: extended capacity (type 16) and addresses (type 19). */
	base_config(&c);
	c.lowmem = 3 * GIB;
	c.highmem = 5 * 1024 * GIB;
	c.cores = 300; /* past the 8-bit count fields */
	c.threads = 2;
	build_and_check(*state, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c, true);
}

static void test_many_sockets(void **state)
{
	struct fixture *f = *state;
	struct smbios_config c;

	/* 512 sockets fit the F-segment window... */
	base_config(&c);
	c.sockets = 512;
	build_and_check(f, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c, false);
	/* ...4096 do not, but do in a bigger range, where the table outgrows
	 * the 32-bit entry point's 16-bit length and only "_SM3_" remains. */
	c.sockets = 4096;
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c), -ENOSPC);
	build_and_check(f, BIG_BASE, BIG_SIZE, &c, true);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct smbios_config c;
	char longstr[SMBIOS_MAX_STRING + 2];

	base_config(&c);
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, NULL),
			 -EINVAL);
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE + 4, 0x1000, &c), -EINVAL);
	assert_int_equal(smbios_build(&f->m, 0xFFFFF000, 0x2000, &c), -EINVAL);
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, 0x30, &c), -ENOSPC);
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, 0x100, &c), -ENOSPC);
	assert_int_equal(smbios_build(&f->m, 0x8000000, 0x1000, &c), -EFAULT);
	c.sockets = 0;
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c), -EINVAL);
	c.sockets = 1;
	c.cores = 0x10000;
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c), -EINVAL);
	c.cores = 256;
	c.threads = 256; /* 65536 threads per socket */
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c), -EINVAL);
	c.cores = c.threads = 1;
	c.lowmem = 0;
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c), -EINVAL);
	c.lowmem = GIB;
	memset(longstr, 'x', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = 0;
	c.serial = longstr;
	assert_int_equal(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c), -EINVAL);
	longstr[SMBIOS_MAX_STRING] = 0; /* exactly the limit is fine */
	assert_true(smbios_build(&f->m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c) > 0);
}

static void test_default_uuid(void **state)
{
	uint8_t a[16], b[16];
	char s[37];

	(void)state;
	/* Reference values: Python's uuid.uuid5(ns, "host\0vm") with this
	 * project's name space d1237d6d-da0f-467b-a42d-867304f9d5e0. */
	smbios_default_uuid("host", "vm", a);
	uuid_text(a, s);
	assert_string_equal(s, "f4bbc47d-36fa-5349-9eec-7aaeaa9285c4");
	smbios_default_uuid("testhost", "testvm", a);
	uuid_text(a, s);
	assert_string_equal(s, "c552318f-b639-54a2-99b9-7768c8f08a4d");

	/* Stable, version 5, RFC 4122 variant, name-sensitive. */
	smbios_default_uuid("host", "vm", a);
	smbios_default_uuid("host", "vm", b);
	assert_memory_equal(a, b, 16);
	assert_int_equal(a[6] >> 4, 5);
	assert_int_equal(a[8] >> 6, 2);
	smbios_default_uuid("hos", "tvm", b);
	assert_memory_not_equal(a, b, 16);
	smbios_default_uuid(NULL, NULL, b);
	uuid_text(b, s);
	assert_string_equal(s, "05ab0438-1237-5390-9786-d947b11a1a8f"); /* "" and "" */
}

/* ---- Random configurations ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static void test_random_configs(void **state)
{
	static const char *const strs[] = { NULL, "", "x", "A longer string value", "None" };
	struct smbios_config c;

	rng_state = 0x0123456789ABCDEFULL;
	for (int i = 0; i < 200; i++) {
		memset(&c, 0, sizeof(c));
		for (int j = 0; j < 16; j++)
			c.uuid[j] = (uint8_t)rnd();
		c.lowmem = (1 + rnd() % 3072ULL) << 20;
		c.highmem = rnd() % 2 ? (uint64_t)(rnd() % 0x100000) << 20 : 0;
		c.sockets = 1 + rnd() % (rnd() % 4 ? 8 : 300);
		c.cores = 1 + rnd() % (rnd() % 4 ? 8 : 400);
		c.threads = 1 + rnd() % 4;
		c.cpu_signature = rnd();
		c.cpu_features = rnd();
		c.acpi = rnd() & 1;
		c.cpu_manufacturer = strs[rnd() % 5];
		c.bios_vendor = strs[rnd() % 5];
		c.manufacturer = strs[rnd() % 5];
		c.product = strs[1 + rnd() % 4];
		c.serial = strs[rnd() % 5];
		c.family = strs[rnd() % 5];
		/* A handful also go through dmidecode. */
		build_and_check(*state, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &c,
				i < 4 && have_dmidecode());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_sockets_5g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_cpus_64g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_memory_and_cores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_default_uuid),
		cmocka_unit_test_setup_teardown(test_random_configs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
