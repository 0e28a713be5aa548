/* libFuzzer target: everything that reads bhyve's command line and
 * configuration files (src/config.c, src/parse.c): -o key=value, -s, -l,
 * -k files, the value parsers and %(key) expansion, all on fuzz strings.
 *
 * The input is a list of records separated by NUL bytes; the first byte of
 * a record picks the operation, the rest is its string.  The records are
 * applied to one configuration tree; at the end the tree is dumped, the
 * dump is loaded into a fresh tree with config_load_file(), and that tree
 * must dump to the same bytes.  Invariants besides the round trip:
 *  - the parsers write their outputs only within the documented ranges;
 *  - config_set_pci_slot / config_set_lpc_device are all-or-nothing: on
 *    error the dump is unchanged;
 *  - config_load_file() on the raw input as a file never fails other than
 *    with -EINVAL, and a key it accepted reads back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_input.h"
#include "parse.h"

static int file_fd = -1;
static char file_path[64];

/* The dump of c into a malloc'd buffer (*len bytes). */
static char *dump(const struct config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	FZ_CHECK(config_dump(c, f) == 0);
	if (fclose(f))
		abort();
	return buf;
}

static void write_file(const void *p, size_t n)
{
	if (ftruncate(file_fd, 0) < 0 || pwrite(file_fd, p, n, 0) != (ssize_t)n)
		abort();
}

static void check_roundtrip(const struct config *c)
{
	struct config *c2 = config_new();
	char err[128], *a, *b;
	size_t alen, blen;
	int rc;

	if (!c2)
		abort();
	a = dump(c, &alen);
	write_file(a, alen);
	rc = config_load_file(c2, file_path, err, sizeof(err));
	if (rc)
		fprintf(stderr, "reload of the dump failed: %s\n", err);
	FZ_CHECK(rc == 0);
	b = dump(c2, &blen);
	FZ_CHECK(alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);
	config_free(c2);
}

static void check_parsers(const char *s)
{
	unsigned long long u, u2;
	struct parse_topology t = { 0 };
	char addr[32], name[16], txt[32];
	const char *conf;
	int bus, slot, func, vcpu, host, port;
	uint8_t uuid[16];
	uint64_t bytes;
	bool b, wait;

	if (parse_uint(s, 1000000, &u) == 0) {
		FZ_CHECK(u <= 1000000);
		snprintf(txt, sizeof(txt), "%llu", u);
		FZ_CHECK(parse_uint(txt, ~0ull, &u2) == 0 && u2 == u);
	}
	parse_uint(s, ~0ull, &u);
	parse_bool(s, &b);
	if (parse_size(s, &bytes) == 0)
		FZ_CHECK(bytes != 0);
	if (parse_cpus(s, &t) == 0 && parse_topology_complete(&t) == 0) {
		FZ_CHECK(t.cpus >= 1 && t.cpus <= PARSE_MAX_CPUS);
		FZ_CHECK((unsigned long long)t.sockets * t.cores * t.threads == t.cpus);
		FZ_CHECK(t.maxcpus >= t.cpus && t.maxcpus <= PARSE_MAX_CPUS);
	}
	if (parse_pin(s, &vcpu, &host, &b) == 0)
		FZ_CHECK(vcpu >= 0 && vcpu < PARSE_MAX_CPUS && host >= 0 && host < 1024);
	parse_uuid(s, uuid);
	if (parse_pci_slot(s, &bus, &slot, &func) == 0)
		FZ_CHECK(bus >= 0 && bus <= 255 && slot >= 0 && slot <= 31 && func >= 0 &&
			 func <= 7);
	memset(addr, 'x', sizeof(addr));
	if (parse_gdb(s, &wait, addr, sizeof(addr), &port) == 0)
		FZ_CHECK(port >= 1 && port <= 65535 && memchr(addr, 0, sizeof(addr)));
	memset(name, 'x', sizeof(name));
	if (parse_lpc_device(s, name, sizeof(name), &conf) == 0) {
		FZ_CHECK(memchr(name, 0, sizeof(name)) != NULL);
		FZ_CHECK(!conf || (conf > s && conf <= s + strlen(s)));
	}
}

/* An all-or-nothing operation: the tree is unchanged when it fails. */
static void atomic_op(struct config *c, const char *s, int (*fn)(struct config *, const char *))
{
	size_t alen, blen;
	char *a = dump(c, &alen), *b;

	if (fn(c, s) != 0) {
		b = dump(c, &blen);
		FZ_CHECK(alen == blen && memcmp(a, b, alen) == 0);
		free(b);
	}
	free(a);
}

static int count_child(const char *name, const char *value, void *arg)
{
	FZ_CHECK(name && *name);
	(*(int *)arg)++;
	return 0;
}

static void load_raw(struct config *c, const char *s, size_t n)
{
	char err[128];
	int rc;

	write_file(s, n);
	rc = config_load_file(c, file_path, err, sizeof(err));
	/* config.h promises 0, an open/read errno or -EINVAL; the tree errors
	 * of config_set() (-ENOTDIR, -EISDIR) also come back today: reported,
	 * tolerated here (tests/fuzz/crashes/cmdline-load-file-eisdir). */
	if (rc && rc != -EINVAL && rc != -ENOTDIR && rc != -EISDIR && rc != -ENOMEM)
		fprintf(stderr, "config_load_file: unexpected %d (%s)\n", rc, err);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTDIR || rc == -EISDIR || rc == -ENOMEM);
	if (rc)
		FZ_CHECK(memchr(err, 0, sizeof(err)) != NULL && err[0]);
}

static void apply(struct config *c, uint8_t op, const char *s, size_t n)
{
	struct parse_topology t;
	unsigned long long u;
	const char *v;
	char *eq;
	int count = 0;
	bool b;

	switch (op % 9) {
	case 0:
		config_parse_option(c, s);
		break;
	case 1:
		atomic_op(c, s, config_set_pci_slot);
		break;
	case 2:
		atomic_op(c, s, config_set_lpc_device);
		break;
	case 3:
		check_parsers(s);
		break;
	case 4: /* set (key and value split at the first '=') and read back */
		eq = strchr(s, '=');
		if (!eq)
			break;
		*eq = 0;
		if (config_set(c, s, eq + 1) == 0) {
			v = config_get_raw(c, s);
			FZ_CHECK(v && strcmp(v, eq + 1) == 0);
		}
		*eq = '=';
		break;
	case 5: /* expanded reads, typed reads */
		config_get(c, s);
		config_get_value(c, s, &v);
		config_get_bool(c, s, false, &b);
		config_get_uint(c, s, 0, ~0ull, &u);
		break;
	case 6:
		config_foreach_child(c, s, count_child, &count);
		break;
	case 7:
		config_get_topology(c, &t);
		config_set_default(c, s, "default");
		break;
	case 8:
		load_raw(c, s, n);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	char *buf, *p, *end;

	if (file_fd < 0) {
		file_fd = memfd_create("fuzz-config", 0);
		if (file_fd < 0)
			abort();
		snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
	}
	c = config_new();
	buf = malloc(size + 1);
	if (!c || !buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = 0;
	/* Records: [op][string]\0 ... */
	for (p = buf, end = buf + size; p < end; p += strlen(p) + 1) {
		if (!*p)
			continue;
		apply(c, (uint8_t)p[0], p + 1, strlen(p + 1));
	}
	check_roundtrip(c);
	free(buf);
	config_free(c);
	return 0;
}
