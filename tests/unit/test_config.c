/*
 * Unit tests for src/config.c: keys, values, the leaf/internal rules,
 * %(key) expansion (loops included), -o, -k files with their error lines,
 * dump round trips, child walks, and the -s / -l translations.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static int setup(void **state)
{
	*state = config_new();
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	config_free(*state);
	return 0;
}

/* A temporary file holding text; the caller unlinks and frees the name. */
static char *write_tmp(const char *text, size_t len)
{
	char *path = strdup("/tmp/test_config.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* config_dump() into a malloc'ed string. */
static char *dump_str(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(config_dump(c, f), 0);
	fclose(f);
	return buf;
}

static int load_str(struct config *c, const char *text, char *err, size_t errlen)
{
	char *path = write_tmp(text, strlen(text));
	int rc = config_load_file(c, path, err, errlen);

	unlink(path);
	free(path);
	return rc;
}

/* ---- set / get ------------------------------------------------------------ */

static void test_set_get(void **state)
{
	struct config *c = *state;
	const char *v;

	assert_null(config_get(c, "cpus"));
	assert_int_equal(config_get_value(c, "cpus", &v), -ENOENT);
	assert_int_equal(config_set(c, "cpus", "2"), 0);
	assert_string_equal(config_get(c, "cpus"), "2");
	assert_int_equal(config_set(c, "cpus", "4"), 0); /* the last one wins */
	assert_string_equal(config_get(c, "cpus"), "4");

	assert_int_equal(config_set(c, "pci.0.31.0.device", "lpc"), 0);
	assert_string_equal(config_get(c, "pci.0.31.0.device"), "lpc");
	assert_null(config_get(c, "pci.0.31.0")); /* an internal node has no value */
	assert_null(config_get(c, "pci"));
	assert_null(config_get(c, "pci.0.31.0.device.x"));
	assert_int_equal(config_get_value(c, "pci.0", &v), -ENOENT);

	assert_int_equal(config_set(c, "lpc.com1.path", "stdio"), 0);
	assert_int_equal(config_set(c, "lpc.com2.path", "/dev/nmdm0A"), 0);
	assert_string_equal(config_get(c, "lpc.com1.path"), "stdio");
	assert_string_equal(config_get(c, "lpc.com2.path"), "/dev/nmdm0A");

	assert_int_equal(config_set(c, "empty", ""), 0);
	assert_string_equal(config_get(c, "empty"), "");
	assert_int_equal(config_set(c, "system.family_name", "Virtual Machine\t1 "), 0);
	assert_string_equal(config_get(c, "system.family_name"), "Virtual Machine\t1 ");
	assert_int_equal(config_set(c, "Name", "A"), 0); /* names are case-sensitive */
	assert_null(config_get(c, "name"));

	assert_int_equal(config_set(NULL, "a", "b"), -EINVAL);
	assert_int_equal(config_set(c, NULL, "b"), -EINVAL);
	assert_int_equal(config_set(c, "a", NULL), -EINVAL);
	assert_null(config_get(NULL, "a"));
	assert_null(config_get(c, NULL));
	config_free(NULL);
}

static void test_bad_keys(void **state)
{
	static const char *const bad[] = {
		"",    ".",   "a.",   ".a",   "a..b",  "a=b",	"=",
		"a b", " a",  "a ",   "a\tb", "a#b",   "#a",	"a%b",
		"a(b", "a)b", "%(x)", "a\nb", "a\x01", "a\x7f", "caf\xc3\xa9",
	};
	struct config *c = *state;
	char key[CONFIG_KEY_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(config_set(c, bad[i], "v"), -EINVAL);
		assert_null(config_get(c, bad[i]));
	}
	memset(key, 'k', sizeof(key));
	key[CONFIG_KEY_MAX + 1] = '\0';
	assert_int_equal(config_set(c, key, "v"), -EINVAL); /* 256 bytes */
	key[CONFIG_KEY_MAX] = '\0';
	assert_int_equal(config_set(c, key, "v"), 0); /* 255 bytes */
	assert_string_equal(config_get(c, key), "v");
	for (i = 1; i < CONFIG_KEY_MAX; i += 2)
		key[i] = '.';
	assert_int_equal(config_set(c, key, "deep"), 0); /* 128 components */
	assert_string_equal(config_get(c, key), "deep");

	/* Characters other projects' keys use are fine. */
	assert_int_equal(config_set(c, "lpc.pc-testdev", "true"), 0);
	assert_int_equal(config_set(c, "pci.0.1.0.port_1:x/y+z@w[0],v", "1"), 0);
	assert_int_equal(config_set(c, "x86.vmexit_on_hlt", "1"), 0);
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = { "a\nb", "a\r", "\x01", "x\x7f", " lead", "\tlead" };
	struct config *c = *state;
	char *big;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_set(c, "k", bad[i]), -EINVAL);
	assert_null(config_get(c, "k"));

	big = malloc(CONFIG_VALUE_MAX + 2);
	assert_non_null(big);
	memset(big, 'v', CONFIG_VALUE_MAX + 1);
	big[CONFIG_VALUE_MAX + 1] = '\0';
	assert_int_equal(config_set(c, "k", big), -EINVAL);
	big[CONFIG_VALUE_MAX] = '\0';
	assert_int_equal(config_set(c, "k", big), 0);
	free(big);
	assert_int_equal(config_set(c, "k", "caf\xc3\xa9 trailing "), 0);
}

static void test_leaf_rules(void **state)
{
	struct config *c = *state;

	assert_int_equal(config_set(c, "a", "1"), 0);
	assert_int_equal(config_set(c, "a.b", "2"), -ENOTDIR);
	assert_int_equal(config_set(c, "a.b.c", "2"), -ENOTDIR);
	assert_string_equal(config_get(c, "a"), "1");

	assert_int_equal(config_set(c, "x.y", "1"), 0);
	assert_int_equal(config_set(c, "x", "2"), -EISDIR);
	assert_int_equal(config_set_default(c, "x", "2"), -EISDIR);
	assert_null(config_get(c, "x"));
	assert_string_equal(config_get(c, "x.y"), "1");
	assert_int_equal(config_set(c, "x.z", "3"), 0);
}

static void test_set_default(void **state)
{
	struct config *c = *state;

	assert_int_equal(config_set_default(c, "memory.size", "256M"), 0);
	assert_string_equal(config_get(c, "memory.size"), "256M");
	assert_int_equal(config_set(c, "memory.size", "1G"), 0);
	assert_int_equal(config_set_default(c, "memory.size", "256M"), 0);
	assert_string_equal(config_get(c, "memory.size"), "1G");
	assert_int_equal(config_set_default(c, "memory", "x"), -EISDIR);
	assert_int_equal(config_set_default(c, "bad..key", "x"), -EINVAL);
	assert_int_equal(config_set_default(NULL, "k", "x"), -EINVAL);
}

/* ---- expansion -------------------------------------------------------- */

static void test_expand(void **state)
{
	struct config *c = *state;
	const char *v, *again;

	assert_int_equal(config_set(c, "name", "vm1"), 0);
	assert_int_equal(config_set(c, "disk", "/dev/zvol/bhyve/%(name)"), 0);
	assert_string_equal(config_get(c, "disk"), "/dev/zvol/bhyve/vm1");
	assert_string_equal(config_get_raw(c, "disk"), "/dev/zvol/bhyve/%(name)");

	assert_int_equal(config_set(c, "a.b", "B"), 0);
	assert_int_equal(config_set(c, "two", "%(name)-%(a.b)-%(name)"), 0);
	assert_string_equal(config_get(c, "two"), "vm1-B-vm1");
	assert_int_equal(config_set(c, "chain", "[%(disk)]"), 0);
	assert_string_equal(config_get(c, "chain"), "[/dev/zvol/bhyve/vm1]");

	/* Escapes and literal percent signs. */
	assert_int_equal(config_set(c, "pct", "100%% of %%(name) is %(name)"), 0);
	assert_string_equal(config_get(c, "pct"), "100% of %(name) is vm1");
	assert_int_equal(config_set(c, "lit", "50% %x %"), 0);
	assert_string_equal(config_get(c, "lit"), "50% %x %");
	assert_int_equal(config_set(c, "pp", "%%%%"), 0);
	assert_string_equal(config_get(c, "pp"), "%%");
	assert_int_equal(config_set(c, "emptyref", "<%(empty)>"), 0);
	assert_int_equal(config_set(c, "empty", ""), 0);
	assert_string_equal(config_get(c, "emptyref"), "<>");

	/* The expansion follows later changes of the referenced key. */
	v = config_get(c, "disk");
	again = config_get(c, "disk");
	assert_ptr_equal(v, again); /* cached until the tree changes */
	assert_int_equal(config_set(c, "name", "vm2"), 0);
	assert_string_equal(config_get(c, "disk"), "/dev/zvol/bhyve/vm2");
	assert_string_equal(config_get(c, "chain"), "[/dev/zvol/bhyve/vm2]");
}

static void test_expand_errors(void **state)
{
	struct config *c = *state;
	const char *v = NULL;
	char key[16], val[32];
	int i;

	assert_int_equal(config_set(c, "open", "x%(name"), 0);
	assert_int_equal(config_get_value(c, "open", &v), -EINVAL);
	assert_null(config_get(c, "open"));
	assert_int_equal(config_set(c, "unset", "%(nothere)"), 0);
	assert_int_equal(config_get_value(c, "unset", &v), -EINVAL);
	assert_int_equal(config_set(c, "emptyname", "%()"), 0);
	assert_int_equal(config_get_value(c, "emptyname", &v), -EINVAL);
	assert_int_equal(config_set(c, "badname", "%(a..b)"), 0);
	assert_int_equal(config_get_value(c, "badname", &v), -EINVAL);
	assert_int_equal(config_set(c, "dir.x", "1"), 0);
	assert_int_equal(config_set(c, "todir", "%(dir)"), 0);
	assert_int_equal(config_get_value(c, "todir", &v), -EINVAL);

	/* Loops: to itself, through two keys, through three. */
	assert_int_equal(config_set(c, "self", "a%(self)"), 0);
	assert_int_equal(config_get_value(c, "self", &v), -ELOOP);
	assert_null(config_get(c, "self"));
	assert_int_equal(config_set(c, "p", "%(q)"), 0);
	assert_int_equal(config_set(c, "q", "%(p)"), 0);
	assert_int_equal(config_get_value(c, "p", &v), -ELOOP);
	assert_int_equal(config_get_value(c, "q", &v), -ELOOP);
	assert_int_equal(config_set(c, "l1", "%(l2)"), 0);
	assert_int_equal(config_set(c, "l2", "%(l3)"), 0);
	assert_int_equal(config_set(c, "l3", "x%(l1)"), 0);
	assert_int_equal(config_get_value(c, "l2", &v), -ELOOP);
	/* A key that refers to a looping key fails too, but others still work. */
	assert_int_equal(config_set(c, "user", "%(p)"), 0);
	assert_int_equal(config_get_value(c, "user", &v), -ELOOP);
	assert_int_equal(config_set(c, "fine", "ok"), 0);
	assert_string_equal(config_get(c, "fine"), "ok");
	/* Breaking the loop heals it. */
	assert_int_equal(config_set(c, "q", "end"), 0);
	assert_string_equal(config_get(c, "p"), "end");
	assert_string_equal(config_get(c, "user"), "end");

	/* A chain deeper than CONFIG_EXPAND_DEPTH, without a loop. */
	for (i = 0; i <= CONFIG_EXPAND_DEPTH + 1; i++) {
		snprintf(key, sizeof(key), "d%d", i);
		snprintf(val, sizeof(val), "%%(d%d)", i + 1);
		assert_int_equal(config_set(c, key, val), 0);
	}
	snprintf(key, sizeof(key), "d%d", CONFIG_EXPAND_DEPTH + 2);
	assert_int_equal(config_set(c, key, "bottom"), 0);
	assert_int_equal(config_get_value(c, "d0", &v), -ELOOP);
	assert_string_equal(config_get(c, "d10"), "bottom");

	/* Doubling at each level: bounded by CONFIG_VALUE_MAX, not memory. */
	assert_int_equal(config_set(c, "e0", "0123456789abcdef"), 0);
	for (i = 1; i <= 20; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		snprintf(val, sizeof(val), "%%(e%d)%%(e%d)", i - 1, i - 1);
		assert_int_equal(config_set(c, key, val), 0);
	}
	assert_int_equal(config_get_value(c, "e12", &v), 0);
	assert_int_equal(strlen(v), 16 << 12);
	assert_int_equal(config_get_value(c, "e20", &v), -E2BIG);

	assert_int_equal(config_get_value(c, "bad..key", &v), -EINVAL);
	assert_int_equal(config_get_value(NULL, "x", &v), -EINVAL);
	assert_int_equal(config_get_value(c, "x", NULL), -EINVAL);
}

struct reader_arg {
	struct config *c;
	int failures;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	const char *v;
	int i;

	for (i = 0; i < 20000; i++) {
		v = config_get(a->c, "path");
		if (v == NULL || strcmp(v, "/vm/guest/disk.img") != 0)
			a->failures++;
	}
	return NULL;
}

static void test_expand_threads(void **state)
{
	struct reader_arg a[4];
	pthread_t t[4];
	int i;

	assert_int_equal(config_set(*state, "name", "guest"), 0);
	assert_int_equal(config_set(*state, "path", "/vm/%(name)/disk.img"), 0);
	for (i = 0; i < 4; i++) {
		a[i].c = *state;
		a[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, reader, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
}

/* ---- typed reads ---------------------------------------------------------- */

static void test_get_bool(void **state)
{
	struct config *c = *state;
	bool b;

	b = false;
	assert_int_equal(config_get_bool(c, "x86.x2apic", true, &b), 0);
	assert_true(b);
	assert_int_equal(config_get_bool(c, "x86.x2apic", false, &b), 0);
	assert_false(b);
	assert_int_equal(config_set(c, "x86.x2apic", "YES"), 0);
	assert_int_equal(config_get_bool(c, "x86.x2apic", false, &b), 0);
	assert_true(b);
	assert_int_equal(config_set(c, "x86.strictmsr", "off"), 0);
	assert_int_equal(config_get_bool(c, "x86.strictmsr", true, &b), 0);
	assert_false(b);
	assert_int_equal(config_set(c, "flag", "%(x86.x2apic)"), 0);
	b = false;
	assert_int_equal(config_get_bool(c, "flag", false, &b), 0);
	assert_true(b);

	assert_int_equal(config_set(c, "bad", "maybe"), 0);
	b = true;
	assert_int_equal(config_get_bool(c, "bad", false, &b), -EINVAL);
	assert_true(b);
	assert_int_equal(config_set(c, "loop", "%(loop)"), 0);
	assert_int_equal(config_get_bool(c, "loop", false, &b), -ELOOP);
	assert_int_equal(config_get_bool(c, "bad", false, NULL), -EINVAL);
}

static void test_get_uint(void **state)
{
	struct config *c = *state;
	unsigned long long v = 0;

	assert_int_equal(config_get_uint(c, "gdb.port", 0, 65535, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(config_set(c, "gdb.port", "1234"), 0);
	assert_int_equal(config_get_uint(c, "gdb.port", 0, 65535, &v), 0);
	assert_int_equal(v, 1234);
	assert_int_equal(config_set(c, "gdb.port", "0x10"), 0);
	assert_int_equal(config_get_uint(c, "gdb.port", 0, 65535, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(config_set(c, "gdb.port", "70000"), 0);
	assert_int_equal(config_get_uint(c, "gdb.port", 0, 65535, &v), -ERANGE);
	assert_int_equal(config_set(c, "gdb.port", "12x"), 0);
	assert_int_equal(config_get_uint(c, "gdb.port", 0, 65535, &v), -EINVAL);
	assert_int_equal(v, 16);
}

static void check_topology(struct config *c, unsigned cpus, unsigned sockets, unsigned cores,
			   unsigned threads)
{
	struct parse_topology t;

	assert_int_equal(config_get_topology(c, &t), 0);
	assert_int_equal(t.cpus, cpus);
	assert_int_equal(t.sockets, sockets);
	assert_int_equal(t.cores, cores);
	assert_int_equal(t.threads, threads);
	assert_int_equal(t.maxcpus, cpus);
}

static void test_topology(void **state)
{
	struct config *c = *state;
	struct parse_topology t;

	check_topology(c, 1, 1, 1, 1);
	assert_int_equal(config_set(c, "cpus", "4"), 0);
	check_topology(c, 4, 4, 1, 1);
	assert_int_equal(config_set(c, "sockets", "2"), 0);
	assert_int_equal(config_get_topology(c, &t), -EINVAL); /* 4 != 2 */
	assert_int_equal(config_set(c, "cores", "2"), 0);
	check_topology(c, 4, 2, 2, 1);

	assert_int_equal(config_set(c, "cpus", "0"), 0);
	assert_int_equal(config_get_topology(c, &t), -EINVAL);
	assert_int_equal(config_set(c, "cpus", "abc"), 0);
	assert_int_equal(config_get_topology(c, &t), -EINVAL);
	assert_int_equal(config_set(c, "cpus", "5000"), 0);
	assert_int_equal(config_get_topology(c, &t), -ERANGE);
	assert_int_equal(config_set(c, "cpus", "%(n)"), 0);
	assert_int_equal(config_set(c, "n", "4"), 0);
	check_topology(c, 4, 2, 2, 1);
	assert_int_equal(config_get_topology(c, NULL), -EINVAL);
}

/* ---- -o and -k --------------------------------------------------------- */

static void test_parse_option(void **state)
{
	static const char *const bad[] = {
		"novalue", "=v", "a =b", "a= b", " a=b", "a\t=b", "a..b=c", ".a=b", "a b=c", "",
	};
	struct config *c = *state;
	size_t i;

	assert_int_equal(config_parse_option(c, "config.dump=1"), 0);
	assert_string_equal(config_get(c, "config.dump"), "1");
	assert_int_equal(config_parse_option(c, "a.b.c=d e"), 0);
	assert_string_equal(config_get(c, "a.b.c"), "d e");
	assert_int_equal(config_parse_option(c, "eq==x=y"), 0);
	assert_string_equal(config_get(c, "eq"), "=x=y");
	assert_int_equal(config_parse_option(c, "empty="), 0);
	assert_string_equal(config_get(c, "empty"), "");
	assert_int_equal(config_parse_option(c, "trail=v "), 0);
	assert_string_equal(config_get(c, "trail"), "v ");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_parse_option(c, bad[i]), -EINVAL);
	assert_int_equal(config_parse_option(c, "z.b=x"), 0);
	assert_int_equal(config_parse_option(c, "z.b.c.d=x"), -ENOTDIR);
	assert_int_equal(config_parse_option(c, "z=x"), -EISDIR);
	assert_int_equal(config_parse_option(c, NULL), -EINVAL);
	assert_int_equal(config_parse_option(NULL, "a=b"), -EINVAL);
}

static void test_load_file(void **state)
{
	static const char text[] = "# a bhyve_config(5) file\n"
				   "\n"
				   "name=vm0\n"
				   "   \t\n"
				   "  # an indented comment\n"
				   "cpus=2\n"
				   "memory.size=1G\n"
				   "system.family_name=Virtual Machine\n"
				   "pci.0.0.0.device=hostbridge\r\n"
				   "lpc.com1.path=stdio\n"
				   "disk=/vm/%(name).img\n"
				   "url=http://x/#frag\n"
				   "cpus=4"; /* no final newline; the last one wins */
	struct config *c = *state;
	char err[128] = "";

	assert_int_equal(load_str(c, text, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(config_get(c, "name"), "vm0");
	assert_string_equal(config_get(c, "cpus"), "4");
	assert_string_equal(config_get(c, "memory.size"), "1G");
	assert_string_equal(config_get(c, "system.family_name"), "Virtual Machine");
	assert_string_equal(config_get(c, "pci.0.0.0.device"), "hostbridge");
	assert_string_equal(config_get(c, "lpc.com1.path"), "stdio");
	assert_string_equal(config_get(c, "disk"), "/vm/vm0.img");
	assert_string_equal(config_get(c, "url"), "http://x/#frag");

	/* An empty file is fine. */
	assert_int_equal(load_str(c, "", err, sizeof(err)), 0);
}

static void check_load_error(const char *text, size_t len, int rc, const char *msg)
{
	struct config *c = config_new();
	char err[160] = "";
	char *path = write_tmp(text, len);

	assert_int_equal(config_load_file(c, path, err, sizeof(err)), rc);
	assert_string_equal(err, msg);
	unlink(path);
	free(path);
	config_free(c);
}

static void test_load_file_errors(void **state)
{
	char err[160];
	struct config *c = *state;

	check_load_error("a=1\nnovalue\n", 12, -EINVAL, "line 2: expected key=value");
	check_load_error("a=1\n\n# c\nb = 2\n", 15, -EINVAL,
			 "line 4: blanks are not permitted around the key or '='");
	check_load_error(" a=1\n", 5, -EINVAL,
			 "line 1: blanks are not permitted around the key or '='");
	check_load_error("a= 1\n", 5, -EINVAL,
			 "line 1: blanks are not permitted around the key or '='");
	check_load_error("=1\n", 3, -EINVAL, "line 1: empty key");
	check_load_error("a..b=1\n", 7, -EINVAL, "line 1: invalid key 'a..b'");
	check_load_error("a=1\na.b=2\n", 10, -ENOTDIR,
			 "line 2: 'a.b' is below a key that already has a value");
	check_load_error("a.b=1\na=2\n", 10, -EISDIR,
			 "line 2: 'a' has sub-keys and cannot take a value");
	check_load_error("a=1\nb=x\0y\n", 10, -EINVAL, "line 2: NUL byte in line");
	check_load_error("a=1\nb=x\x01y\n", 10, -EINVAL, "line 2: invalid value for 'b'");

	/* Lines before the bad one stay applied. */
	err[0] = '\0';
	assert_int_equal(load_str(c, "ok=1\nbad\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(config_get(c, "ok"), "1");

	assert_int_equal(config_load_file(c, "/nonexistent/bhyve.conf", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "No such file or directory");
	assert_int_equal(config_load_file(c, "/", err, sizeof(err)), -EIO);
	assert_int_equal(config_load_file(c, "/nonexistent", NULL, 0), -ENOENT);
	assert_int_equal(config_load_file(c, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_load_file(NULL, "/", err, sizeof(err)), -EINVAL);
}

/* ---- dump ------------------------------------------------------------------ */

static void test_dump_sorted(void **state)
{
	struct config *c = *state;
	char *out;

	assert_int_equal(config_set(c, "pci.0.10.0.device", "virtio-net"), 0);
	assert_int_equal(config_set(c, "pci.0.2.0.device", "virtio-blk"), 0);
	assert_int_equal(config_set(c, "pci.0.2.0.path", "/img"), 0);
	assert_int_equal(config_set(c, "pci.0.0.0.device", "hostbridge"), 0);
	assert_int_equal(config_set(c, "pci.0.31.0.device", "lpc"), 0);
	assert_int_equal(config_set(c, "name", "vm"), 0);
	assert_int_equal(config_set(c, "disk", "/z/%(name)"), 0);
	assert_int_equal(config_set(c, "cpus", "2"), 0);
	assert_int_equal(config_set(c, "a.b", "1"), 0);
	assert_int_equal(config_set(c, "a0", "2"), 0);
	assert_int_equal(config_set(c, "Z", "3"), 0);
	out = dump_str(c);
	assert_string_equal(out, "Z=3\n"
				 "a.b=1\n"
				 "a0=2\n"
				 "cpus=2\n"
				 "disk=/z/%(name)\n"
				 "name=vm\n"
				 "pci.0.0.0.device=hostbridge\n"
				 "pci.0.2.0.device=virtio-blk\n"
				 "pci.0.2.0.path=/img\n"
				 "pci.0.10.0.device=virtio-net\n"
				 "pci.0.31.0.device=lpc\n");
	free(out);
	assert_int_equal(config_dump(NULL, stdout), -EINVAL);
	assert_int_equal(config_dump(c, NULL), -EINVAL);
}

static void test_dump_round_trip(void **state)
{
	struct config *c = *state, *back = config_new();
	char err[128] = "";
	char *first, *second, *path;

	assert_non_null(back);
	assert_int_equal(config_set_pci_slot(c, "0,hostbridge"), 0);
	assert_int_equal(config_set_pci_slot(c, "2,virtio-blk,/my/image,ro"), 0);
	assert_int_equal(config_set_lpc_device(c, "com1,stdio"), 0);
	assert_int_equal(config_set(c, "system.family_name", "Virtual Machine "), 0);
	assert_int_equal(config_set(c, "pct", "100%% %(name) 5%"), 0);
	assert_int_equal(config_set(c, "name", "vm0"), 0);
	assert_int_equal(config_set(c, "empty", ""), 0);
	assert_int_equal(config_set(c, "tab", "a\tb"), 0);
	assert_int_equal(config_set(c, "hash", "#not a comment"), 0);
	assert_int_equal(config_set(c, "eq", "=a=b"), 0);
	assert_int_equal(config_set(c, "utf8", "caf\xc3\xa9"), 0);

	first = dump_str(c);
	path = write_tmp(first, strlen(first));
	assert_int_equal(config_load_file(back, path, err, sizeof(err)), 0);
	second = dump_str(back);
	assert_string_equal(first, second);
	assert_string_equal(config_get(back, "pct"), "100% vm0 5%");
	assert_string_equal(config_get(back, "system.family_name"), "Virtual Machine ");
	assert_string_equal(config_get(back, "hash"), "#not a comment");
	unlink(path);
	free(path);
	free(first);
	free(second);
	config_free(back);
}

/* ---- foreach --------------------------------------------------------------- */

struct collect {
	char text[512];
	int stop_after;
	int calls;
	const struct config *c;
};

static int collect_fn(const char *name, const char *value, void *arg)
{
	struct collect *col = arg;
	size_t len = strlen(col->text);

	snprintf(col->text + len, sizeof(col->text) - len, "%s=%s;", name,
		 value != NULL ? value : "(node)");
	col->calls++;
	if (col->c != NULL)
		assert_non_null(config_get(col->c, "name")); /* reading from fn is fine */
	return col->stop_after != 0 && col->calls == col->stop_after ? 42 : 0;
}

static void test_foreach(void **state)
{
	struct config *c = *state;
	struct collect col;

	assert_int_equal(config_set(c, "name", "vm"), 0);
	assert_int_equal(config_set(c, "pci.0.31.0.device", "lpc"), 0);
	assert_int_equal(config_set(c, "pci.0.3.0.device", "virtio-blk"), 0);
	assert_int_equal(config_set(c, "pci.0.3.0.path", "/d/%(name)"), 0);
	assert_int_equal(config_set(c, "pci.0.3.1.device", "virtio-rnd"), 0);
	assert_int_equal(config_set(c, "pci.0.12.0.device", "e1000"), 0);
	assert_int_equal(config_set(c, "pci.1.0.0.device", "virtio-rnd"), 0);

	memset(&col, 0, sizeof(col));
	col.c = c;
	assert_int_equal(config_foreach_child(c, "pci.0", collect_fn, &col), 0);
	assert_string_equal(col.text, "3=(node);12=(node);31=(node);");

	memset(&col, 0, sizeof(col));
	assert_int_equal(config_foreach_child(c, "pci.0.3.0", collect_fn, &col), 0);
	assert_string_equal(col.text, "device=virtio-blk;path=/d/vm;");

	memset(&col, 0, sizeof(col));
	assert_int_equal(config_foreach_child(c, NULL, collect_fn, &col), 0);
	assert_string_equal(col.text, "name=vm;pci=(node);");
	memset(&col, 0, sizeof(col));
	assert_int_equal(config_foreach_child(c, "", collect_fn, &col), 0);
	assert_string_equal(col.text, "name=vm;pci=(node);");

	memset(&col, 0, sizeof(col));
	col.stop_after = 2;
	assert_int_equal(config_foreach_child(c, "pci.0", collect_fn, &col), 42);
	assert_int_equal(col.calls, 2);

	assert_int_equal(config_foreach_child(c, "pci.7", collect_fn, &col), -ENOENT);
	assert_int_equal(config_foreach_child(c, "name", collect_fn, &col), -ENOTDIR);
	assert_int_equal(config_foreach_child(c, "pci..0", collect_fn, &col), -EINVAL);
	assert_int_equal(config_foreach_child(c, "pci", NULL, &col), -EINVAL);

	/* A child whose value cannot be expanded stops the walk. */
	assert_int_equal(config_set(c, "pci.0.3.0.bad", "%(bad"), 0);
	memset(&col, 0, sizeof(col));
	assert_int_equal(config_foreach_child(c, "pci.0.3.0", collect_fn, &col), -EINVAL);
}

/* ---- -s ---------------------------------------------------------------------- */

static void expect(const struct config *c, const char *key, const char *value)
{
	const char *v = config_get(c, key);

	if (v == NULL || strcmp(v, value) != 0)
		fail_msg("%s: expected '%s', got '%s'", key, value, v != NULL ? v : "(unset)");
}

static void test_pci_slot_basic(void **state)
{
	struct config *c = *state;

	assert_int_equal(config_set_pci_slot(c, "0,hostbridge"), 0);
	expect(c, "pci.0.0.0.device", "hostbridge");
	assert_int_equal(config_set_pci_slot(c, "31,lpc"), 0);
	expect(c, "pci.0.31.0.device", "lpc");
	assert_int_equal(config_set_pci_slot(c, "1:2:3,virtio-rnd"), 0);
	expect(c, "pci.1.2.3.device", "virtio-rnd");
	assert_int_equal(config_set_pci_slot(c, "4:7,virtio-rnd"), 0);
	expect(c, "pci.0.4.7.device", "virtio-rnd");
	assert_int_equal(config_set_pci_slot(c, "29,fbuf,tcp=0.0.0.0:5900,w=800,h=600,wait"), 0);
	expect(c, "pci.0.29.0.device", "fbuf");
	expect(c, "pci.0.29.0.tcp", "0.0.0.0:5900");
	expect(c, "pci.0.29.0.w", "800");
	expect(c, "pci.0.29.0.h", "600");
	expect(c, "pci.0.29.0.wait", "true");
	assert_int_equal(config_set_pci_slot(c, "28,virtio-console,port1=/tmp/p.sock"), 0);
	expect(c, "pci.0.28.0.port1", "/tmp/p.sock");

	/* Duplicates, in any spelling of the same slot. */
	assert_int_equal(config_set_pci_slot(c, "0,hostbridge"), -EEXIST);
	assert_int_equal(config_set_pci_slot(c, "0:0,virtio-rnd"), -EEXIST);
	assert_int_equal(config_set_pci_slot(c, "0:31:0,virtio-rnd"), -EEXIST);
	expect(c, "pci.0.31.0.device", "lpc");
	/* A different function of a used slot is a different device. */
	assert_int_equal(config_set_pci_slot(c, "31:1,virtio-rnd"), 0);
}

static void test_pci_slot_errors(void **state)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "3", -EINVAL },
		{ "3,", -EINVAL },
		{ ",virtio-rnd", -EINVAL },
		{ "x,virtio-rnd", -EINVAL },
		{ "32,virtio-rnd", -ERANGE },
		{ "0:8,virtio-rnd", -ERANGE },
		{ "256:0:0,virtio-rnd", -ERANGE },
		{ "1:2:3:4,virtio-rnd", -EINVAL },
		{ "3,,/img", -EINVAL },
		{ "3,virtio.blk", -EINVAL },
		{ "3,virtio blk", -EINVAL },
		{ "3,virtio-blk,", -EINVAL },
		{ "3,virtio-blk,/img,", -EINVAL },
		{ "3,virtio-blk,/img,,ro", -EINVAL },
		{ "3,virtio-blk,/img,a b", -EINVAL },
		{ "3,virtio-blk,/img,=x", -EINVAL },
		{ "3,virtio-blk,/img,k= x", -EINVAL },
		{ "3,virtio-9p,/nosharename", -EINVAL },
		{ "3,virtio-9p,=/p", -EINVAL },
		{ "3,virtio-9p,share=", -EINVAL },
		{ "3,passthru,1/2", -EINVAL },
		{ "3,passthru,1/2/3/4", -EINVAL },
		{ "3,passthru,1/32/0", -ERANGE },
		{ "3,passthru,x/0/0", -EINVAL },
		{ "3,passthru,pci1/2/3", -EINVAL },
		{ "3,ahci,/no/type", -EINVAL },
		{ "3,ahci,hd:", -EINVAL },
		{ "3,virtio-blk,ro.x=1,ro=2", -EISDIR }, /* conflicting items */
		{ "3,virtio-blk,path=/a,path.x=1", -ENOTDIR },
	};
	struct config *c = *state;
	char *before, *after;
	size_t i;

	assert_int_equal(config_set(c, "name", "vm"), 0);
	assert_int_equal(config_set(c, "pci.0.5", "leaf"), 0);
	before = dump_str(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = config_set_pci_slot(c, bad[i].s);

		if (rc != bad[i].err)
			fail_msg("-s %s: expected %d, got %d", bad[i].s, bad[i].err, rc);
	}
	/* A slot node that is a leaf cannot take a device. */
	assert_int_equal(config_set_pci_slot(c, "5,virtio-rnd"), -ENOTDIR);
	after = dump_str(c);
	assert_string_equal(before, after); /* all or nothing */
	free(before);
	free(after);
	assert_int_equal(config_set_pci_slot(NULL, "3,x"), -EINVAL);
	assert_int_equal(config_set_pci_slot(c, NULL), -EINVAL);
}

static void test_pci_slot_legacy(void **state)
{
	struct config *c = *state;

	assert_int_equal(
	    config_set_pci_slot(c, "2,virtio-blk,/my/image,ro,nocache,sectorsize=512/4096"), 0);
	expect(c, "pci.0.2.0.device", "virtio-blk");
	expect(c, "pci.0.2.0.path", "/my/image");
	expect(c, "pci.0.2.0.ro", "true");
	expect(c, "pci.0.2.0.nocache", "true");
	expect(c, "pci.0.2.0.sectorsize", "512/4096");

	assert_int_equal(config_set_pci_slot(c, "2:1,virtio-net,tap1,mac=00:be:fa:76:45:00"), 0);
	expect(c, "pci.0.2.1.device", "virtio-net");
	expect(c, "pci.0.2.1.backend", "tap1");
	expect(c, "pci.0.2.1.mac", "00:be:fa:76:45:00");
	assert_int_equal(config_set_pci_slot(c, "2:2,e1000,tap2"), 0);
	expect(c, "pci.0.2.2.backend", "tap2");
	assert_int_equal(config_set_pci_slot(c, "2:3,virtio-net,netgraph,path=a:,peerhook=b"), 0);
	expect(c, "pci.0.2.3.backend", "netgraph");
	expect(c, "pci.0.2.3.path", "a:");
	expect(c, "pci.0.2.3.peerhook", "b");
	/* A first item with '=' is a plain setting. */
	assert_int_equal(config_set_pci_slot(c, "2:4,virtio-blk,path=/x,ro"), 0);
	expect(c, "pci.0.2.4.path", "/x");
	expect(c, "pci.0.2.4.ro", "true");

	assert_int_equal(config_set_pci_slot(c, "3,nvme,ram=1024,maxq=4"), 0);
	expect(c, "pci.0.3.0.ram", "1024");
	expect(c, "pci.0.3.0.maxq", "4");
	assert_null(config_get(c, "pci.0.3.0.path"));
	assert_int_equal(config_set_pci_slot(c, "3:1,nvme,/dev/nvd0,ser=ABC"), 0);
	expect(c, "pci.0.3.1.path", "/dev/nvd0");
	expect(c, "pci.0.3.1.ser", "ABC");
	assert_int_equal(config_set_pci_slot(c, "3:2,uart,/dev/nmdm1A"), 0);
	expect(c, "pci.0.3.2.path", "/dev/nmdm1A");
	assert_int_equal(config_set_pci_slot(c, "3:3,virtio-input,/dev/input/event0"), 0);
	expect(c, "pci.0.3.3.path", "/dev/input/event0");
	assert_int_equal(config_set_pci_slot(c, "3:4,virtio-scsi,/dev/cam/ctl,iid=3"), 0);
	expect(c, "pci.0.3.4.dev", "/dev/cam/ctl");
	expect(c, "pci.0.3.4.iid", "3");

	assert_int_equal(config_set_pci_slot(c, "4,virtio-9p,share=/export/dir,ro"), 0);
	expect(c, "pci.0.4.0.sharename", "share");
	expect(c, "pci.0.4.0.path", "/export/dir");
	expect(c, "pci.0.4.0.ro", "true");

	assert_int_equal(config_set_pci_slot(c, "5,passthru,ppt0,rom=/r.bin"), 0);
	expect(c, "pci.0.5.0.pptdev", "ppt0");
	expect(c, "pci.0.5.0.rom", "/r.bin");
	assert_int_equal(config_set_pci_slot(c, "5:1,passthru,2/3/4"), 0);
	expect(c, "pci.0.5.1.bus", "2");
	expect(c, "pci.0.5.1.slot", "3");
	expect(c, "pci.0.5.1.func", "4");
	assert_int_equal(config_set_pci_slot(c, "5:2,passthru,pci10:0:1"), 0);
	expect(c, "pci.0.5.2.bus", "10");
	expect(c, "pci.0.5.2.slot", "0");
	expect(c, "pci.0.5.2.func", "1");

	assert_int_equal(config_set_pci_slot(c, "6,ahci-hd,/disk.img,ser=S1"), 0);
	expect(c, "pci.0.6.0.device", "ahci-hd");
	expect(c, "pci.0.6.0.port.0.type", "hd");
	expect(c, "pci.0.6.0.port.0.path", "/disk.img");
	expect(c, "pci.0.6.0.port.0.ser", "S1");
	assert_int_equal(config_set_pci_slot(c, "6:1,ahci-cd,/install.iso"), 0);
	expect(c, "pci.0.6.1.port.0.type", "cd");
	expect(c, "pci.0.6.1.port.0.path", "/install.iso");
	assert_int_equal(config_set_pci_slot(c, "7,ahci,hd:/a,nmrr=1,cd:/b,hd:/c"), 0);
	expect(c, "pci.0.7.0.port.0.type", "hd");
	expect(c, "pci.0.7.0.port.0.path", "/a");
	expect(c, "pci.0.7.0.port.0.nmrr", "1");
	expect(c, "pci.0.7.0.port.1.type", "cd");
	expect(c, "pci.0.7.0.port.1.path", "/b");
	expect(c, "pci.0.7.0.port.2.type", "hd");
	expect(c, "pci.0.7.0.port.2.path", "/c");

	assert_int_equal(config_set_pci_slot(c, "30,xhci,tablet"), 0);
	expect(c, "pci.0.30.0.slot.1.device", "tablet");

	assert_int_equal(config_set_pci_slot(c, "8,virtio-rnd,verbose"), 0);
	expect(c, "pci.0.8.0.verbose", "true");
	assert_int_equal(config_set_pci_slot(c, "9,virtio-blk,/v/%(name).img"), 0);
	assert_int_equal(config_set(c, "name", "g"), 0);
	expect(c, "pci.0.9.0.path", "/v/g.img");
}

/* ---- -l ------------------------------------------------------------------------ */

static void test_lpc(void **state)
{
	static const char *const bad[] = {
		"com1",		 "com1,",    "com5,stdio",    "pc-testdev,x",
		"bootrom",	 "bootrom,", "bootrom,,v",    "bootrom,a,",
		"bootrom,a,b,c", "fwcfg",    "fwcfg,a,b",     "tpm",
		"tpm,swtpm",	 "tpm,,/s",  "tpm,swtpm,/s,", "tpm,swtpm,/s,a b",
		"help",		 "",	     "com1, stdio",
	};
	struct config *c = *state;
	char *before, *after;
	size_t i;

	assert_int_equal(config_set_lpc_device(c, "com1,stdio"), 0);
	expect(c, "lpc.com1.path", "stdio");
	assert_int_equal(config_set_lpc_device(c, "COM2,/dev/nmdm0A"), 0);
	expect(c, "lpc.com2.path", "/dev/nmdm0A");
	assert_int_equal(config_set_lpc_device(c, "com3,tcp=127.0.0.1:1234"), 0);
	expect(c, "lpc.com3.path", "tcp=127.0.0.1:1234");
	assert_int_equal(config_set_lpc_device(c, "com1,/dev/ttyS0"), 0); /* last wins */
	expect(c, "lpc.com1.path", "/dev/ttyS0");
	assert_int_equal(config_set_lpc_device(c, "bootrom,/u/CODE.fd,VARS.fd"), 0);
	expect(c, "lpc.bootrom", "/u/CODE.fd");
	expect(c, "lpc.bootvars", "VARS.fd");
	assert_int_equal(config_set_lpc_device(c, "fwcfg,qemu"), 0);
	expect(c, "lpc.fwcfg", "qemu");
	assert_int_equal(config_set_lpc_device(c, "pc-testdev"), 0);
	expect(c, "lpc.pc-testdev", "true");
	assert_int_equal(config_set_lpc_device(c, "tpm,swtpm,/var/run/swtpm.sock,version=2.0"), 0);
	expect(c, "lpc.tpm.type", "swtpm");
	expect(c, "lpc.tpm.path", "/var/run/swtpm.sock");
	expect(c, "lpc.tpm.version", "2.0");

	before = dump_str(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_set_lpc_device(c, bad[i]) != -EINVAL)
			fail_msg("-l %s was accepted", bad[i]);
	}
	assert_int_equal(config_set_lpc_device(c, NULL), -EINVAL);
	assert_int_equal(config_set_lpc_device(NULL, "com1,stdio"), -EINVAL);
	/* lpc.com4 being a leaf blocks lpc.com4.path, and changes nothing. */
	assert_int_equal(config_set(c, "lpc.com4", "x"), 0);
	free(before);
	before = dump_str(c);
	assert_int_equal(config_set_lpc_device(c, "com4,stdio"), -ENOTDIR);
	after = dump_str(c);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* The bhyve(8) config.dump example, as this tree writes it. */
static void test_manual_example(void **state)
{
	struct config *c = *state;
	char *out;

	assert_int_equal(config_set(c, "cpus", "2"), 0);
	assert_int_equal(config_set(c, "memory.size", "256"), 0);
	assert_int_equal(config_set(c, "x86.vmexit_on_hlt", "true"), 0);
	assert_int_equal(config_set(c, "x86.vmexit_on_pause", "true"), 0);
	assert_int_equal(config_set_pci_slot(c, "0:0,hostbridge"), 0);
	assert_int_equal(config_set_pci_slot(c, "1:0,virtio-net,tap0"), 0);
	assert_int_equal(config_set_pci_slot(c, "2:0,ahci-hd,./vm0.img"), 0);
	assert_int_equal(config_set_pci_slot(c, "31,lpc"), 0);
	assert_int_equal(config_set_lpc_device(c, "com1,stdio"), 0);
	assert_int_equal(config_set(c, "name", "vm0"), 0);
	out = dump_str(c);
	assert_string_equal(out, "cpus=2\n"
				 "lpc.com1.path=stdio\n"
				 "memory.size=256\n"
				 "name=vm0\n"
				 "pci.0.0.0.device=hostbridge\n"
				 "pci.0.1.0.backend=tap0\n"
				 "pci.0.1.0.device=virtio-net\n"
				 "pci.0.2.0.device=ahci-hd\n"
				 "pci.0.2.0.port.0.path=./vm0.img\n"
				 "pci.0.2.0.port.0.type=hd\n"
				 "pci.0.31.0.device=lpc\n"
				 "x86.vmexit_on_hlt=true\n"
				 "x86.vmexit_on_pause=true\n");
	free(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_set_get),	 T(test_bad_keys),	   T(test_bad_values),
		T(test_leaf_rules),	 T(test_set_default),	   T(test_expand),
		T(test_expand_errors),	 T(test_expand_threads),   T(test_get_bool),
		T(test_get_uint),	 T(test_topology),	   T(test_parse_option),
		T(test_load_file),	 T(test_load_file_errors), T(test_dump_sorted),
		T(test_dump_round_trip), T(test_foreach),	   T(test_pci_slot_basic),
		T(test_pci_slot_errors), T(test_pci_slot_legacy),  T(test_lpc),
		T(test_manual_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
