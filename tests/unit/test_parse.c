/* Unit tests for src/parse.c: every accepted and rejected form of each parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)
#define TIB (1024ULL * GIB)

static void test_uint(void **state)
{
	unsigned long long v = 7;

	assert_int_equal(parse_uint("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("42", 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_uint("010", 100, &v), 0); /* not octal */
	assert_int_equal(v, 10);
	assert_int_equal(parse_uint("0x1F", 100, &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(parse_uint("0Xff", 255, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(parse_uint("18446744073709551615", ~0ULL, &v), 0);
	assert_true(v == ~0ULL);

	v = 7;
	assert_int_equal(parse_uint("101", 100, &v), -ERANGE);
	assert_int_equal(parse_uint("18446744073709551616", ~0ULL, &v), -ERANGE);
	assert_int_equal(parse_uint("0x10000000000000000", ~0ULL, &v), -ERANGE);
	assert_int_equal(parse_uint(NULL, 10, &v), -EINVAL);
	assert_int_equal(parse_uint("5", 10, NULL), -EINVAL);
	assert_int_equal(parse_uint("", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("-1", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("+1", 10, &v), -EINVAL);
	assert_int_equal(parse_uint(" 1", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("1 ", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("1x", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("0x", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("0xg", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("x", 10, &v), -EINVAL);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "true", "TRUE", "True", "on", "ON", "yes", "Yes", "1" };
	static const char *const no[] = { "false", "FALSE", "off", "Off", "no", "NO", "0" };
	static const char *const bad[] = {
		"", "2", "y", "n", "truex", " true", "true ", "t", "-1"
	};
	bool b;
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_bool(bad[i], &b), -EINVAL);
	assert_int_equal(parse_bool(NULL, &b), -EINVAL);
	assert_int_equal(parse_bool("1", NULL), -EINVAL);
}

static void test_size_accepted(void **state)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} ok[] = {
		{ "512", 512 * MIB }, /* bare number: megabytes */
		{ "1", MIB },
		{ "1048575", 1048575 * MIB }, /* still below 1 MiB: megabytes */
		{ "1048576", 1048576 },	      /* 1 MiB or more: bytes, as bhyve */
		{ "4294967296", 4 * GIB },
		{ "0x200", 512 * MIB },
		{ "512M", 512 * MIB },
		{ "512m", 512 * MIB },
		{ "2G", 2 * GIB },
		{ "2g", 2 * GIB },
		{ "1t", TIB },
		{ "1T", TIB },
		{ "1024k", MIB },
		{ "1024K", MIB },
		{ "4096b", 4096 },
		{ "1p", 1024 * TIB },
		{ "15E", 15ULL << 60 },
		{ "16777215T", 16777215ULL << 40 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 0;
		assert_int_equal(parse_size(ok[i].s, &v), 0);
		assert_true(v == ok[i].bytes);
	}
}

static void test_size_rejected(void **state)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "0", -EINVAL },
		{ "0M", -EINVAL },
		{ "0x0", -EINVAL },
		{ "", -EINVAL },
		{ "5Q", -EINVAL },
		{ "12Q", -EINVAL },
		{ "-1", -EINVAL },
		{ "-512M", -EINVAL },
		{ "+512", -EINVAL },
		{ " 512", -EINVAL },
		{ "512 ", -EINVAL },
		{ "512MB", -EINVAL },
		{ "512MiB", -EINVAL },
		{ "M", -EINVAL },
		{ "1.5G", -EINVAL },
		{ "0x", -EINVAL },
		{ "abc", -EINVAL },
		{ "99999999999999999999G", -ERANGE },
		{ "99999999999999999999", -ERANGE },
		{ "16777216T", -ERANGE },
		{ "16E", -ERANGE },
		{ "18446744073709551615k", -ERANGE },
	};
	uint64_t v = 99;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_size(bad[i].s, &v), bad[i].err);
	assert_true(v == 99);
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
	assert_int_equal(parse_size("1G", NULL), -EINVAL);
}

static void check_topo(const char *s, unsigned cpus, unsigned sockets, unsigned cores,
		       unsigned threads, unsigned maxcpus)
{
	struct parse_topology t;

	memset(&t, 0xff, sizeof(t));
	assert_int_equal(parse_cpus(s, &t), 0);
	assert_int_equal(t.cpus, cpus);
	assert_int_equal(t.sockets, sockets);
	assert_int_equal(t.cores, cores);
	assert_int_equal(t.threads, threads);
	assert_int_equal(t.maxcpus, maxcpus);
}

static void test_cpus_accepted(void **state)
{
	check_topo("4", 4, 4, 1, 1, 4);
	check_topo("1", 1, 1, 1, 1, 1);
	check_topo("", 1, 1, 1, 1, 1); /* bhyve: -c "" is one vCPU */
	check_topo("cpus=4", 4, 4, 1, 1, 4);
	check_topo("0x10", 16, 16, 1, 1, 16);
	check_topo("cpus=4,sockets=2,cores=2", 4, 2, 2, 1, 4);
	check_topo("4,sockets=2,cores=2", 4, 2, 2, 1, 4);
	check_topo("sockets=2,cores=2,threads=2", 8, 2, 2, 2, 8);
	check_topo("sockets=2", 2, 2, 1, 1, 2);
	check_topo("cores=4", 4, 1, 4, 1, 4);
	check_topo("threads=2,cores=2", 4, 1, 2, 2, 4);
	check_topo("2,cpus=4", 4, 4, 1, 1, 4); /* the last setting wins */
	check_topo("cpus=2,maxcpus=8", 2, 2, 1, 1, 8);
	check_topo("1024", 1024, 1024, 1, 1, 1024);
	check_topo("sockets=4,cores=16,threads=16", 1024, 4, 16, 16, 1024);
}

static void test_cpus_rejected(void **state)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "0", -EINVAL },
		{ "x", -EINVAL },
		{ "-1", -EINVAL },
		{ "4x", -EINVAL },
		{ " 4", -EINVAL },
		{ "cpus=0", -EINVAL },
		{ "cpus=", -EINVAL },
		{ "sockets=0", -EINVAL },
		{ "cores=x", -EINVAL },
		{ "threads=-2", -EINVAL },
		{ "cpu=4", -EINVAL },
		{ "CPUS=4", -EINVAL },
		{ "bogus", -EINVAL },
		{ "4,", -EINVAL },
		{ ",4", -EINVAL },
		{ "4,,sockets=4", -EINVAL },
		{ ",", -EINVAL },
		{ "cpus=4,sockets=2", -EINVAL }, /* 4 != 2 * 1 * 1 */
		{ "cpus=3,sockets=2,cores=2", -EINVAL },
		{ "cpus=8,sockets=2,cores=2", -EINVAL },
		{ "cpus=4,maxcpus=2", -EINVAL },
		{ "1025", -ERANGE },
		{ "99999999999999999999", -ERANGE },
		{ "sockets=1025", -ERANGE },
		{ "sockets=64,cores=64", -ERANGE }, /* product above the limit */
		{ "maxcpus=2000", -ERANGE },
	};
	struct parse_topology t = { 9, 9, 9, 9, 9 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_cpus(bad[i].s, &t), bad[i].err);
	assert_int_equal(t.cpus, 9);
	assert_int_equal(parse_cpus(NULL, &t), -EINVAL);
	assert_int_equal(parse_cpus("4", NULL), -EINVAL);
}

static void test_topology_complete(void **state)
{
	struct parse_topology t = { 0, 0, 0, 0, 0 };

	assert_int_equal(parse_topology_complete(&t), 0);
	assert_int_equal(t.cpus, 1);
	assert_int_equal(t.sockets, 1);
	assert_int_equal(t.maxcpus, 1);

	t = (struct parse_topology){ 0, 0, 3, 0, 0 };
	assert_int_equal(parse_topology_complete(&t), 0);
	assert_int_equal(t.cpus, 3);
	assert_int_equal(t.sockets, 1);
	assert_int_equal(t.cores, 3);
	assert_int_equal(t.threads, 1);

	t = (struct parse_topology){ 6, 0, 3, 0, 0 };
	assert_int_equal(parse_topology_complete(&t), -EINVAL);

	t = (struct parse_topology){ 6, 2, 3, 0, 0 };
	assert_int_equal(parse_topology_complete(&t), 0);
	assert_int_equal(t.threads, 1);

	t = (struct parse_topology){ 2000, 0, 0, 0, 0 };
	assert_int_equal(parse_topology_complete(&t), -ERANGE);
	assert_int_equal(parse_topology_complete(NULL), -EINVAL);
}

static void test_pin(void **state)
{
	int vcpu = -5, host = -5;
	bool old = true;

	assert_int_equal(parse_pin("0:2", &vcpu, &host, &old), 0);
	assert_int_equal(vcpu, 0);
	assert_int_equal(host, 2);
	assert_false(old);
	assert_int_equal(parse_pin("3:15", &vcpu, &host, &old), 0);
	assert_int_equal(vcpu, 3);
	assert_int_equal(host, 15);
	assert_int_equal(parse_pin("2", &vcpu, &host, &old), 0);
	assert_int_equal(vcpu, 0);
	assert_int_equal(host, 2);
	assert_true(old);
	assert_int_equal(parse_pin("1023:1023", &vcpu, &host, &old), 0);

	vcpu = host = -5;
	assert_int_equal(parse_pin("0:x", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("x:0", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("0:", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin(":0", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("0:1:2", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("-1:2", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("0:-2", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin(" 1:2", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("1:2 ", &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("1024:0", &vcpu, &host, &old), -ERANGE);
	assert_int_equal(parse_pin("0:1024", &vcpu, &host, &old), -ERANGE);
	assert_int_equal(parse_pin("0:99999999999999999999", &vcpu, &host, &old), -ERANGE);
	assert_int_equal(parse_pin(NULL, &vcpu, &host, &old), -EINVAL);
	assert_int_equal(parse_pin("0:1", NULL, &host, &old), -EINVAL);
	assert_int_equal(vcpu, -5);
	assert_int_equal(host, -5);
}

static void test_uuid(void **state)
{
	static const uint8_t want[16] = {
		0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	};
	static const char *const bad[] = {
		"",
		"12345678-9abc-def0-0123-456789abcde",	 /* short */
		"12345678-9abc-def0-0123-456789abcdef0", /* long */
		"123456789abcdef0123456789abcdef0",	 /* no hyphens */
		"12345678-9abc-def0-0123_456789abcdef",
		"12345678-9abc-def0-0123-456789abcdeg",
		"1234567-89abc-def0-0123-456789abcdef", /* hyphen misplaced */
		"{2345678-9abc-def0-0123-456789abcdef",
		" 2345678-9abc-def0-0123-456789abcdef",
	};
	uint8_t out[16];
	size_t i;

	assert_int_equal(parse_uuid("12345678-9abc-def0-0123-456789abcdef", out), 0);
	assert_memory_equal(out, want, 16);
	memset(out, 0, sizeof(out));
	assert_int_equal(parse_uuid("12345678-9ABC-DEF0-0123-456789ABCDEF", out), 0);
	assert_memory_equal(out, want, 16);

	memset(out, 0x55, sizeof(out));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_uuid(bad[i], out), -EINVAL);
	assert_int_equal(parse_uuid(NULL, out), -EINVAL);
	assert_int_equal(out[0], 0x55);
}

static void check_slot(const char *s, int bus, int slot, int func)
{
	int b = -1, sl = -1, f = -1;

	assert_int_equal(parse_pci_slot(s, &b, &sl, &f), 0);
	assert_int_equal(b, bus);
	assert_int_equal(sl, slot);
	assert_int_equal(f, func);
}

static void test_pci_slot(void **state)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "", -EINVAL },
		{ "x", -EINVAL },
		{ "-1", -EINVAL },
		{ "1:", -EINVAL },
		{ ":1", -EINVAL },
		{ "1::2", -EINVAL },
		{ "1:2:3:4", -EINVAL },
		{ "0x1", -EINVAL },
		{ " 1", -EINVAL },
		{ "1 ", -EINVAL },
		{ "1,2", -EINVAL },
		{ "32", -ERANGE },
		{ "0:8", -ERANGE },
		{ "256:0:0", -ERANGE },
		{ "0:32:0", -ERANGE },
		{ "0:0:8", -ERANGE },
		{ "99999999999999999999", -ERANGE },
	};
	int b = 9, s = 9, f = 9;
	size_t i;

	check_slot("0", 0, 0, 0);
	check_slot("31", 0, 31, 0);
	check_slot("3:1", 0, 3, 1);
	check_slot("2:7", 0, 2, 7);
	check_slot("1:2:3", 1, 2, 3);
	check_slot("255:31:7", 255, 31, 7);
	check_slot("01", 0, 1, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_pci_slot(bad[i].s, &b, &s, &f), bad[i].err);
	assert_int_equal(parse_pci_slot(NULL, &b, &s, &f), -EINVAL);
	assert_int_equal(b, 9);
}

static void test_gdb(void **state)
{
	char addr[64];
	bool wait = true;
	int port = -1;

	assert_int_equal(parse_gdb("1234", &wait, addr, sizeof(addr), &port), 0);
	assert_false(wait);
	assert_string_equal(addr, "");
	assert_int_equal(port, 1234);
	assert_int_equal(parse_gdb("w1234", &wait, addr, sizeof(addr), &port), 0);
	assert_true(wait);
	assert_int_equal(port, 1234);
	assert_int_equal(parse_gdb("127.0.0.1:5555", &wait, addr, sizeof(addr), &port), 0);
	assert_false(wait);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(port, 5555);
	assert_int_equal(parse_gdb("wlocalhost:65535", &wait, addr, sizeof(addr), &port), 0);
	assert_true(wait);
	assert_string_equal(addr, "localhost");
	assert_int_equal(port, 65535);
	assert_int_equal(parse_gdb("[::1]:1", &wait, addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(port, 1);
	assert_int_equal(parse_gdb("::1:22", &wait, addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(port, 22);

	port = -1;
	assert_int_equal(parse_gdb("", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("w", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("0", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("x", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("ww1", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("host:", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb(":1234", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("[]:1234", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("[::1:1234", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("h:-1", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("65536", &wait, addr, sizeof(addr), &port), -ERANGE);
	assert_int_equal(parse_gdb("h:1x", &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("averyveryverylonghostname:1", &wait, addr, 8, &port), -ERANGE);
	assert_int_equal(parse_gdb(NULL, &wait, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(parse_gdb("1", &wait, NULL, 0, &port), -EINVAL);
	assert_int_equal(port, -1);
}

static void test_lpc_device(void **state)
{
	static const char *const names[] = {
		"com1", "com2", "com3", "com4", "bootrom", "fwcfg", "pc-testdev", "tpm",
	};
	char name[16], buf[32];
	const char *conf = "x";
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(parse_lpc_device(names[i], name, sizeof(name), &conf), 0);
		assert_string_equal(name, names[i]);
		assert_null(conf);
	}
	assert_int_equal(parse_lpc_device("com1,stdio", name, sizeof(name), &conf), 0);
	assert_string_equal(name, "com1");
	assert_string_equal(conf, "stdio");
	assert_int_equal(parse_lpc_device("COM2,/dev/nmdm0A", name, sizeof(name), &conf), 0);
	assert_string_equal(name, "com2");
	assert_string_equal(conf, "/dev/nmdm0A");
	assert_int_equal(parse_lpc_device("BootROM,/a.fd,/b.fd", name, sizeof(name), &conf), 0);
	assert_string_equal(name, "bootrom");
	assert_string_equal(conf, "/a.fd,/b.fd");
	snprintf(buf, sizeof(buf), "tpm,swtpm,/s");
	assert_int_equal(parse_lpc_device(buf, name, sizeof(name), &conf), 0);
	assert_ptr_equal(conf, buf + 4);

	assert_int_equal(parse_lpc_device("com5,stdio", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device("com", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device("com1,", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device(",stdio", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device("", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device("help", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device("com10", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device(" com1", name, sizeof(name), &conf), -EINVAL);
	assert_int_equal(parse_lpc_device("pc-testdev", name, 4, &conf), -ERANGE);
	assert_int_equal(parse_lpc_device(NULL, name, sizeof(name), &conf), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_size_accepted),
		cmocka_unit_test(test_size_rejected),
		cmocka_unit_test(test_cpus_accepted),
		cmocka_unit_test(test_cpus_rejected),
		cmocka_unit_test(test_topology_complete),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_pci_slot),
		cmocka_unit_test(test_gdb),
		cmocka_unit_test(test_lpc_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
