/*
 * Value parsers for bhyve(8)'s command-line options; see parse.h for the
 * accepted forms.  Numbers are scanned by hand rather than with strtoull()
 * so that blanks, signs and octal never slip through.
 */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <strings.h>

#define MIB (1024ULL * 1024)

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Scan the number at the start of s (decimal, or 0x hex) and report where
 * it ends.  -EINVAL when there are no digits, -ERANGE on 64-bit overflow.
 */
static int scan_number(const char *s, unsigned long long *out, const char **end)
{
	unsigned long long v = 0;
	unsigned base = 10;
	const char *p = s;
	const char *first;
	int d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	first = p;
	for (;; p++) {
		d = base == 16 ? hex_digit(*p) : (*p >= '0' && *p <= '9' ? *p - '0' : -1);
		if (d < 0)
			break;
		if (v > (ULLONG_MAX - (unsigned)d) / base)
			return -ERANGE;
		v = v * base + (unsigned)d;
	}
	if (p == first)
		return -EINVAL;
	*out = v;
	*end = p;
	return 0;
}

int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	const char *end;
	int rc;

	if (s == NULL || out == NULL)
		return -EINVAL;
	rc = scan_number(s, &v, &end);
	if (rc != 0)
		return rc;
	if (*end != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "on", "yes", "1" };
	static const char *const no[] = { "false", "off", "no", "0" };
	size_t i;

	if (s == NULL || out == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* expand_number(3) units; each is a power of 1024. */
static int unit_shift(char c)
{
	switch (tolower((unsigned char)c)) {
	case 'b':
		return 0;
	case 'k':
		return 10;
	case 'm':
		return 20;
	case 'g':
		return 30;
	case 't':
		return 40;
	case 'p':
		return 50;
	case 'e':
		return 60;
	default:
		return -1;
	}
}

int parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	const char *end;
	int shift;
	int rc;

	if (s == NULL || bytes == NULL)
		return -EINVAL;
	rc = scan_number(s, &v, &end);
	if (rc != 0)
		return rc;
	if (*end == '\0') {
		/* bhyve: a bare number below one megabyte counts megabytes. */
		if (v < MIB)
			v *= MIB;
	} else {
		shift = unit_shift(*end);
		if (shift < 0 || end[1] != '\0')
			return -EINVAL;
		if (v > (ULLONG_MAX >> shift))
			return -ERANGE;
		v <<= shift;
	}
	if (v == 0)
		return -EINVAL;
	*bytes = v;
	return 0;
}

/* A count for one -c field, s[0..len): 1..PARSE_MAX_CPUS. */
static int parse_count(const char *s, size_t len, unsigned *out)
{
	unsigned long long v;
	const char *end;
	int rc;

	rc = scan_number(s, &v, &end);
	if (rc != 0)
		return rc;
	if (end != s + len)
		return -EINVAL;
	if (v > PARSE_MAX_CPUS)
		return -ERANGE;
	if (v == 0)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static bool item_is(const char *item, size_t nlen, const char *name)
{
	return strlen(name) == nlen && memcmp(item, name, nlen) == 0;
}

/* Apply one "name=value" or bare "n" item of -c, item[0..len), to t. */
static int parse_cpus_item(const char *item, size_t len, struct parse_topology *t)
{
	const char *eq = memchr(item, '=', len);
	const char *val = eq != NULL ? eq + 1 : item;
	size_t nlen = eq != NULL ? (size_t)(eq - item) : 0;
	size_t vlen = len - (size_t)(val - item);

	if (eq == NULL)
		return parse_count(val, vlen, &t->cpus);
	if (item_is(item, nlen, "cpus"))
		return parse_count(val, vlen, &t->cpus);
	if (item_is(item, nlen, "sockets"))
		return parse_count(val, vlen, &t->sockets);
	if (item_is(item, nlen, "cores"))
		return parse_count(val, vlen, &t->cores);
	if (item_is(item, nlen, "threads"))
		return parse_count(val, vlen, &t->threads);
	if (item_is(item, nlen, "maxcpus"))
		return parse_count(val, vlen, &t->maxcpus);
	return -EINVAL;
}

int parse_cpus(const char *s, struct parse_topology *t)
{
	struct parse_topology tmp = { 0 };
	const char *p, *comma;
	int rc;

	if (s == NULL || t == NULL)
		return -EINVAL;
	/* bhyve accepts -c "" on purpose (the syntax has every part optional). */
	for (p = s; *p != '\0'; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		rc = parse_cpus_item(p, (size_t)(comma - p), &tmp);
		if (rc != 0)
			return rc;
		if (*comma == '\0')
			break;
		if (comma[1] == '\0')
			return -EINVAL; /* trailing comma: an empty item */
	}
	rc = parse_topology_complete(&tmp);
	if (rc != 0)
		return rc;
	*t = tmp;
	return 0;
}

int parse_topology_complete(struct parse_topology *t)
{
	unsigned long long product;

	if (t == NULL)
		return -EINVAL;
	if (t->cpus > PARSE_MAX_CPUS || t->sockets > PARSE_MAX_CPUS || t->cores > PARSE_MAX_CPUS ||
	    t->threads > PARSE_MAX_CPUS || t->maxcpus > PARSE_MAX_CPUS)
		return -ERANGE;
	if (t->sockets == 0 && t->cores == 0 && t->threads == 0) {
		if (t->cpus == 0)
			t->cpus = 1;
		t->sockets = t->cpus;
	}
	if (t->sockets == 0)
		t->sockets = 1;
	if (t->cores == 0)
		t->cores = 1;
	if (t->threads == 0)
		t->threads = 1;
	product = (unsigned long long)t->sockets * t->cores * t->threads;
	if (product > PARSE_MAX_CPUS)
		return -ERANGE;
	if (t->cpus == 0)
		t->cpus = (unsigned)product;
	else if (t->cpus != product)
		return -EINVAL;
	if (t->maxcpus == 0)
		t->maxcpus = t->cpus;
	else if (t->maxcpus < t->cpus)
		return -EINVAL;
	return 0;
}

/* A decimal number with no sign and nothing after it, at most max. */
static int parse_decimal(const char *s, size_t len, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_pin(const char *s, int *vcpu, int *hostcpu, bool *old_form)
{
	unsigned long long v = 0, h;
	const char *colon;
	int rc;

	if (s == NULL || vcpu == NULL || hostcpu == NULL || old_form == NULL)
		return -EINVAL;
	colon = strchr(s, ':');
	if (colon != NULL) {
		rc = parse_decimal(s, (size_t)(colon - s), PARSE_MAX_CPUS - 1, &v);
		if (rc == 0)
			rc = parse_decimal(colon + 1, strlen(colon + 1), CPU_SETSIZE - 1, &h);
	} else {
		rc = parse_decimal(s, strlen(s), CPU_SETSIZE - 1, &h);
	}
	if (rc != 0)
		return rc;
	*vcpu = (int)v;
	*hostcpu = (int)h;
	*old_form = colon == NULL;
	return 0;
}

int parse_uuid(const char *s, uint8_t out[16])
{
	uint8_t tmp[16];
	size_t i, n = 0;
	int hi, lo;

	if (s == NULL || out == NULL || strlen(s) != 36)
		return -EINVAL;
	for (i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = hex_digit(s[i]);
		lo = hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		tmp[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(out, tmp, sizeof(tmp));
	return 0;
}

int parse_pci_slot(const char *s, int *bus, int *slot, int *func)
{
	/* Limits per field, for 1, 2 and 3 fields (bhyve(8) -s). */
	static const unsigned long long limits[3][3] = {
		{ 31 },
		{ 31, 7 },
		{ 255, 31, 7 },
	};
	unsigned long long v[3] = { 0, 0, 0 };
	const char *p, *colon;
	size_t n = 1, i;
	int rc;

	if (s == NULL || bus == NULL || slot == NULL || func == NULL)
		return -EINVAL;
	for (p = s; (p = strchr(p, ':')) != NULL; p++)
		n++;
	if (n > 3)
		return -EINVAL;
	for (p = s, i = 0; i < n; i++, p = colon + 1) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		rc = parse_decimal(p, (size_t)(colon - p), limits[n - 1][i], &v[i]);
		if (rc != 0)
			return rc;
	}
	/* Fewer than three fields: no bus; with one field, no function. */
	if (n < 3) {
		v[2] = n == 2 ? v[1] : 0;
		v[1] = v[0];
		v[0] = 0;
	}
	*bus = (int)v[0];
	*slot = (int)v[1];
	*func = (int)v[2];
	return 0;
}

int parse_gdb(const char *s, bool *wait, char *addr, size_t addrlen, int *port)
{
	unsigned long long v;
	const char *colon, *a;
	size_t alen = 0;
	bool w = false;
	int rc;

	if (s == NULL || wait == NULL || addr == NULL || addrlen == 0 || port == NULL)
		return -EINVAL;
	if (*s == 'w') {
		w = true;
		s++;
	}
	colon = strrchr(s, ':');
	a = s;
	if (colon != NULL) {
		alen = (size_t)(colon - s);
		if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
			a++;
			alen -= 2;
		}
		if (alen == 0 || memchr(a, '[', alen) != NULL || memchr(a, ']', alen) != NULL)
			return -EINVAL;
	}
	rc = parse_decimal(colon != NULL ? colon + 1 : s, strlen(colon != NULL ? colon + 1 : s),
			   65535, &v);
	if (rc != 0)
		return rc;
	if (v == 0)
		return -EINVAL;
	if (alen >= addrlen)
		return -ERANGE;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	*wait = w;
	*port = (int)v;
	return 0;
}

int parse_lpc_device(const char *s, char *name, size_t namelen, const char **conf)
{
	static const char *const devices[] = {
		"com1", "com2", "com3", "com4", "bootrom", "fwcfg", "pc-testdev", "tpm",
	};
	const char *comma;
	size_t len, i, j;

	if (s == NULL || name == NULL || conf == NULL)
		return -EINVAL;
	comma = strchr(s, ',');
	len = comma != NULL ? (size_t)(comma - s) : strlen(s);
	if (comma != NULL && comma[1] == '\0')
		return -EINVAL;
	for (i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		if (strlen(devices[i]) != len || strncasecmp(s, devices[i], len) != 0)
			continue;
		if (len >= namelen)
			return -ERANGE;
		for (j = 0; j < len; j++)
			name[j] = devices[i][j];
		name[len] = '\0';
		*conf = comma != NULL ? comma + 1 : NULL;
		return 0;
	}
	return -EINVAL;
}
