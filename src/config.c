/*
 * The configuration tree of bhyve_config(5); see config.h for the rules.
 *
 * Each node keeps its children in a sorted array, so lookups are binary
 * searches and config_dump() needs no sorting.  Expanded values are cached
 * per node and tagged with the tree's generation, which every change bumps:
 * a cached string is reused until the next change and freed only when it is
 * recomputed after one, which is what makes config_get()'s pointers stable.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_COMPONENTS (CONFIG_KEY_MAX / 2 + 1)

struct node {
	char *name;
	char *value;	    /* a leaf's raw value; NULL for an internal node */
	char *expanded;	    /* cached expansion of value, or NULL */
	unsigned long gen;  /* tree generation expanded belongs to */
	bool busy;	    /* being expanded: a reference back to it is a loop */
	struct node **kids; /* sorted by name_cmp() */
	size_t nkids;
	size_t cap;
};

struct config {
	struct node root;
	unsigned long gen;
	pthread_mutex_t lock; /* recursive: foreach callbacks may read */
};

/* A growable string for expansions, bounded by CONFIG_VALUE_MAX. */
struct strbuf {
	char *p;
	size_t len;
	size_t cap;
};

static void lock(const struct config *c)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
}

static void unlock(const struct config *c)
{
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
}

/* ---- keys and values -------------------------------------------------- */

static bool key_char_ok(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && strchr(".=#%()", ch) == NULL;
}

/*
 * Check key and split a copy of it, in buf, into its components.  buf must
 * hold CONFIG_KEY_MAX + 1 bytes and comps MAX_COMPONENTS pointers.
 */
static int split_key(const char *key, char *buf, char **comps, size_t *n)
{
	size_t len, i, start = 0;

	if (key == NULL)
		return -EINVAL;
	len = strlen(key);
	if (len == 0 || len > CONFIG_KEY_MAX)
		return -EINVAL;
	memcpy(buf, key, len + 1);
	*n = 0;
	for (i = 0; i <= len; i++) {
		if (buf[i] == '.' || buf[i] == '\0') {
			if (i == start)
				return -EINVAL; /* empty component */
			buf[i] = '\0';
			comps[(*n)++] = buf + start;
			start = i + 1;
		} else if (!key_char_ok((unsigned char)buf[i])) {
			return -EINVAL;
		}
	}
	return 0;
}

static bool key_valid(const char *key)
{
	char buf[CONFIG_KEY_MAX + 1];
	char *comps[MAX_COMPONENTS];
	size_t n;

	return split_key(key, buf, comps, &n) == 0;
}

static bool value_valid(const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t len = 0;

	if (value == NULL || *p == ' ' || *p == '\t')
		return false;
	for (; *p != '\0'; p++, len++) {
		if ((*p < ' ' && *p != '\t') || *p == 0x7f)
			return false;
	}
	return len <= CONFIG_VALUE_MAX;
}

/* ---- nodes ------------------------------------------------------------- */

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

/* Numeric names first, in numeric order; then byte order. */
static int name_cmp(const char *a, const char *b)
{
	bool da = all_digits(a), db = all_digits(b);
	const char *x = a, *y = b;
	size_t lx, ly;
	int r;

	if (da != db)
		return da ? -1 : 1;
	if (!da)
		return strcmp(a, b);
	while (x[0] == '0' && x[1] != '\0')
		x++;
	while (y[0] == '0' && y[1] != '\0')
		y++;
	lx = strlen(x);
	ly = strlen(y);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	r = strcmp(x, y);
	return r != 0 ? r : strcmp(a, b); /* "01" and "1" are different names */
}

/* Index of name among n's children, or where it would be inserted. */
static size_t kid_pos(const struct node *n, const char *name, bool *found)
{
	size_t lo = 0, hi = n->nkids, mid;
	int r;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = name_cmp(name, n->kids[mid]->name);
		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static struct node *kid_find(const struct node *n, const char *name)
{
	bool found;
	size_t pos = kid_pos(n, name, &found);

	return found ? n->kids[pos] : NULL;
}

static void drop_cache(struct node *n)
{
	if (n->expanded != n->value)
		free(n->expanded);
	n->expanded = NULL;
}

static void node_free(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	drop_cache(n);
	free(n->value);
	free(n->name);
	free(n);
}

static struct node *node_new(const char *name)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->name = strdup(name);
	if (n->name == NULL) {
		free(n);
		return NULL;
	}
	return n;
}

static int kid_insert(struct node *parent, struct node *kid)
{
	struct node **k;
	bool found;
	size_t pos = kid_pos(parent, kid->name, &found);
	size_t cap;

	if (parent->nkids == parent->cap) {
		cap = parent->cap != 0 ? parent->cap * 2 : 4;
		k = realloc(parent->kids, cap * sizeof(struct node *));
		if (k == NULL)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	memmove(&parent->kids[pos + 1], &parent->kids[pos],
		(parent->nkids - pos) * sizeof(struct node *));
	parent->kids[pos] = kid;
	parent->nkids++;
	return 0;
}

/* A detached chain comps[0] -> ... -> comps[n-1] = value (n >= 1). */
static struct node *chain_new(char **comps, size_t n, const char *value)
{
	struct node *top = NULL, *cur = NULL, *k;
	size_t i;

	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++) {
		k = node_new(comps[i]);
		if (k == NULL || (cur != NULL && kid_insert(cur, k) != 0)) {
			if (k != NULL)
				node_free(k);
			goto fail;
		}
		if (top == NULL)
			top = k;
		cur = k;
	}
	cur->value = strdup(value);
	if (cur->value != NULL)
		return top;
fail:
	if (top != NULL)
		node_free(top);
	return NULL;
}

/* The node named key (validated), or NULL. */
static struct node *lookup(const struct config *c, const char *key)
{
	char buf[CONFIG_KEY_MAX + 1];
	char *comps[MAX_COMPONENTS];
	const struct node *cur = &c->root;
	size_t n, i;

	if (key == NULL || *key == '\0')
		return (struct node *)cur;
	if (split_key(key, buf, comps, &n) != 0)
		return NULL;
	for (i = 0; i < n && cur != NULL; i++)
		cur = kid_find(cur, comps[i]);
	return (struct node *)cur;
}

/*
 * Where key would go: the deepest existing node on its path, and how many
 * components exist.  -ENOTDIR when the path runs through a leaf, -EISDIR
 * when key itself has children.
 */
static int walk_for_set(struct config *c, char **comps, size_t n, struct node **at, size_t *depth)
{
	struct node *cur = &c->root, *k;
	size_t i;

	for (i = 0; i < n; i++) {
		k = kid_find(cur, comps[i]);
		if (k == NULL)
			break;
		if (k->value != NULL && i + 1 < n)
			return -ENOTDIR;
		cur = k;
	}
	if (i == n && cur->nkids != 0)
		return -EISDIR;
	*at = cur;
	*depth = i;
	return 0;
}

static int set_locked(struct config *c, const char *key, const char *value, bool keep)
{
	char buf[CONFIG_KEY_MAX + 1];
	char *comps[MAX_COMPONENTS];
	struct node *at, *chain;
	size_t n, depth;
	char *v;
	int rc;

	rc = split_key(key, buf, comps, &n);
	if (rc != 0)
		return rc;
	if (!value_valid(value))
		return -EINVAL;
	rc = walk_for_set(c, comps, n, &at, &depth);
	if (rc != 0)
		return rc;
	if (depth == n) {
		if (keep && at->value != NULL)
			return 0;
		v = strdup(value);
		if (v == NULL)
			return -ENOMEM;
		drop_cache(at);
		free(at->value);
		at->value = v;
	} else {
		chain = chain_new(comps + depth, n - depth, value);
		if (chain == NULL)
			return -ENOMEM;
		rc = kid_insert(at, chain);
		if (rc != 0) {
			node_free(chain);
			return rc;
		}
	}
	c->gen++;
	return 0;
}

/* ---- public: life cycle and setting ------------------------------------ */

struct config *config_new(void)
{
	pthread_mutexattr_t attr;
	struct config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (pthread_mutexattr_init(&attr) != 0)
		goto fail;
	if (pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) != 0 ||
	    pthread_mutex_init(&c->lock, &attr) != 0) {
		pthread_mutexattr_destroy(&attr);
		goto fail;
	}
	pthread_mutexattr_destroy(&attr);
	return c;
fail:
	free(c);
	return NULL;
}

void config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->root.nkids; i++)
		node_free(c->root.kids[i]);
	free(c->root.kids);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int config_set(struct config *c, const char *key, const char *value)
{
	int rc;

	if (c == NULL)
		return -EINVAL;
	lock(c);
	rc = set_locked(c, key, value, false);
	unlock(c);
	return rc;
}

int config_set_default(struct config *c, const char *key, const char *value)
{
	int rc;

	if (c == NULL)
		return -EINVAL;
	lock(c);
	rc = set_locked(c, key, value, true);
	unlock(c);
	return rc;
}

/* ---- expansion --------------------------------------------------------- */

static int sb_add(struct strbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (n > CONFIG_VALUE_MAX - b->len)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int expand_node(struct config *c, struct node *n, unsigned depth, const char **out);

/* Append the value of the reference "%(name)" whose name is s[0..len). */
static int expand_ref(struct config *c, const char *s, size_t len, unsigned depth, struct strbuf *b)
{
	char key[CONFIG_KEY_MAX + 1];
	struct node *ref;
	const char *v;
	int rc;

	if (len == 0 || len > CONFIG_KEY_MAX)
		return -EINVAL;
	memcpy(key, s, len);
	key[len] = '\0';
	ref = lookup(c, key);
	if (ref == NULL || ref->value == NULL)
		return -EINVAL; /* an unset key, or one with children */
	rc = expand_node(c, ref, depth + 1, &v);
	if (rc != 0)
		return rc;
	return sb_add(b, v, strlen(v));
}

/* bhyve_config(5) "VARIABLE VALUES": %(var) is var's value, %% is '%'. */
static int expand_text(struct config *c, const char *v, unsigned depth, struct strbuf *b)
{
	const char *pct, *close;
	int rc;

	while ((pct = strchr(v, '%')) != NULL) {
		rc = sb_add(b, v, (size_t)(pct - v));
		if (rc != 0)
			return rc;
		if (pct[1] != '(') {
			/* "%%" is one '%'; any other '%' stands for itself. */
			rc = sb_add(b, "%", 1);
			v = pct + (pct[1] == '%' ? 2 : 1);
		} else {
			close = strchr(pct + 2, ')');
			if (close == NULL)
				return -EINVAL;
			rc = expand_ref(c, pct + 2, (size_t)(close - pct - 2), depth, b);
			v = close + 1;
		}
		if (rc != 0)
			return rc;
	}
	return sb_add(b, v, strlen(v));
}

static int expand_node(struct config *c, struct node *n, unsigned depth, const char **out)
{
	struct strbuf b = { NULL, 0, 0 };
	int rc;

	if (strchr(n->value, '%') == NULL) {
		*out = n->value;
		return 0;
	}
	if (n->expanded != NULL && n->gen == c->gen) {
		*out = n->expanded;
		return 0;
	}
	if (n->busy || depth > CONFIG_EXPAND_DEPTH)
		return -ELOOP;
	n->busy = true;
	rc = expand_text(c, n->value, depth, &b);
	n->busy = false;
	if (rc == 0 && b.p == NULL)
		rc = sb_add(&b, "", 0);
	if (rc != 0) {
		free(b.p);
		return rc;
	}
	drop_cache(n);
	n->expanded = b.p;
	n->gen = c->gen;
	*out = b.p;
	return 0;
}

/* ---- public: reading ----------------------------------------------------- */

int config_get_value(const struct config *c, const char *key, const char **out)
{
	struct node *n;
	int rc;

	if (c == NULL || out == NULL || !key_valid(key))
		return -EINVAL;
	lock(c);
	n = lookup(c, key);
	if (n == NULL || n->value == NULL)
		rc = -ENOENT;
	else
		rc = expand_node((struct config *)c, n, 0, out);
	unlock(c);
	return rc;
}

const char *config_get(const struct config *c, const char *key)
{
	const char *v;
	int rc = config_get_value(c, key, &v);

	if (rc == 0)
		return v;
	if (rc == -ELOOP)
		log_warnx("config: %s: %%(...) references loop or nest too deep", key);
	else if (rc == -E2BIG)
		log_warnx("config: %s: expanded value is too long", key);
	else if (rc == -EINVAL && c != NULL && key_valid(key))
		log_warnx("config: %s: unterminated %%( or reference to an unset key", key);
	else if (rc == -ENOMEM)
		log_warnx("config: %s: out of memory", key);
	return NULL;
}

const char *config_get_raw(const struct config *c, const char *key)
{
	struct node *n;
	const char *v = NULL;

	if (c == NULL || !key_valid(key))
		return NULL;
	lock(c);
	n = lookup(c, key);
	if (n != NULL)
		v = n->value;
	unlock(c);
	return v;
}

int config_get_bool(const struct config *c, const char *key, bool dflt, bool *out)
{
	const char *v;
	int rc;

	if (out == NULL)
		return -EINVAL;
	rc = config_get_value(c, key, &v);
	if (rc == -ENOENT) {
		*out = dflt;
		return 0;
	}
	if (rc != 0)
		return rc;
	return parse_bool(v, out);
}

int config_get_uint(const struct config *c, const char *key, unsigned long long dflt,
		    unsigned long long max, unsigned long long *out)
{
	const char *v;
	int rc;

	if (out == NULL)
		return -EINVAL;
	rc = config_get_value(c, key, &v);
	if (rc == -ENOENT) {
		*out = dflt;
		return 0;
	}
	if (rc != 0)
		return rc;
	return parse_uint(v, max, out);
}

int config_get_topology(const struct config *c, struct parse_topology *t)
{
	static const char *const keys[] = { "cpus", "sockets", "cores", "threads", "maxcpus" };
	struct parse_topology tmp = { 0 }; /* 0: not given */
	unsigned *fields[] = { &tmp.cpus, &tmp.sockets, &tmp.cores, &tmp.threads, &tmp.maxcpus };
	unsigned long long v;
	size_t i;
	int rc;

	if (t == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		/* 0 means "not given" to parse_topology_complete(). */
		rc = config_get_uint(c, keys[i], 0, PARSE_MAX_CPUS, &v);
		if (rc != 0)
			return rc;
		if (v == 0 && config_get_raw(c, keys[i]) != NULL)
			return -EINVAL;
		*fields[i] = (unsigned)v;
	}
	rc = parse_topology_complete(&tmp);
	if (rc == 0)
		*t = tmp;
	return rc;
}

/* ---- -o and -k --------------------------------------------------------- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Set "key=value"; on failure why gets a reason naming the key. */
static int set_kv(struct config *c, const char *kv, char *why, size_t whylen)
{
	char key[CONFIG_KEY_MAX + 1];
	const char *eq = strchr(kv, '=');
	size_t klen;
	int rc;

	if (eq == NULL) {
		snprintf(why, whylen, "expected key=value");
		return -EINVAL;
	}
	klen = (size_t)(eq - kv);
	if (klen == 0 || klen > CONFIG_KEY_MAX) {
		snprintf(why, whylen, "%s", klen == 0 ? "empty key" : "key too long");
		return -EINVAL;
	}
	if (is_blank(kv[0]) || is_blank(eq[-1]) || is_blank(eq[1])) {
		snprintf(why, whylen, "blanks are not permitted around the key or '='");
		return -EINVAL;
	}
	memcpy(key, kv, klen);
	key[klen] = '\0';
	if (!key_valid(key)) {
		snprintf(why, whylen, "invalid key '%s'", key);
		return -EINVAL;
	}
	rc = config_set(c, key, eq + 1);
	if (rc == -ENOTDIR)
		snprintf(why, whylen, "'%s' is below a key that already has a value", key);
	else if (rc == -EISDIR)
		snprintf(why, whylen, "'%s' has sub-keys and cannot take a value", key);
	else if (rc == -EINVAL)
		snprintf(why, whylen, "invalid value for '%s'", key);
	else if (rc != 0)
		snprintf(why, whylen, "%s", strerror(-rc));
	return rc;
}

int config_parse_option(struct config *c, const char *kv)
{
	char why[CONFIG_KEY_MAX + 64];

	if (c == NULL || kv == NULL)
		return -EINVAL;
	return set_kv(c, kv, why, sizeof(why));
}

static bool line_ignored(const char *line)
{
	while (is_blank(*line))
		line++;
	return *line == '\0' || *line == '#';
}

/* "line N: why", or just why for lineno 0 (the file as a whole). */
static void set_err(char *err, size_t errlen, unsigned lineno, const char *why)
{
	if (err == NULL || errlen == 0)
		return;
	if (lineno == 0)
		snprintf(err, errlen, "%s", why);
	else
		snprintf(err, errlen, "line %u: %s", lineno, why);
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char why[CONFIG_KEY_MAX + 64];
	char *line = NULL;
	size_t cap = 0, len;
	unsigned lineno = 0;
	ssize_t got;
	FILE *f;
	int rc = 0;

	if (c == NULL || path == NULL)
		return -EINVAL;
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		set_err(err, errlen, 0, strerror(-rc));
		return rc;
	}
	while ((got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		len = (size_t)got;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strlen(line) != len) {
			set_err(err, errlen, lineno, "NUL byte in line");
			rc = -EINVAL;
			break;
		}
		if (len > CONFIG_KEY_MAX + 1 + CONFIG_VALUE_MAX) {
			set_err(err, errlen, lineno, "line too long");
			rc = -EINVAL;
			break;
		}
		if (line_ignored(line))
			continue;
		rc = set_kv(c, line, why, sizeof(why));
		if (rc != 0) {
			set_err(err, errlen, lineno, why);
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		set_err(err, errlen, lineno + 1, "read error");
	}
	free(line);
	fclose(f);
	return rc;
}

/* ---- dump and walk ------------------------------------------------------ */

static int dump_node(const struct node *n, char *path, size_t plen, FILE *f)
{
	size_t i, nlen;
	int rc;

	for (i = 0; i < n->nkids; i++) {
		const struct node *k = n->kids[i];

		nlen = strlen(k->name);
		if (plen + 1 + nlen > CONFIG_KEY_MAX + 1)
			return -EIO; /* cannot happen: keys were checked on set */
		if (plen != 0)
			path[plen] = '.';
		memcpy(path + plen + (plen != 0), k->name, nlen + 1);
		if (k->value != NULL)
			rc = fprintf(f, "%s=%s\n", path, k->value) < 0 ? -EIO : 0;
		else
			rc = dump_node(k, path, plen + (plen != 0) + nlen, f);
		path[plen] = '\0';
		if (rc != 0)
			return rc;
	}
	return 0;
}

int config_dump(const struct config *c, FILE *f)
{
	char path[CONFIG_KEY_MAX + 2] = "";
	int rc;

	if (c == NULL || f == NULL)
		return -EINVAL;
	lock(c);
	rc = dump_node(&c->root, path, 0, f);
	unlock(c);
	if (rc == 0 && (fflush(f) != 0 || ferror(f)))
		rc = -EIO;
	return rc;
}

int config_foreach_child(const struct config *c, const char *prefix,
			 int (*fn)(const char *name, const char *value, void *arg), void *arg)
{
	struct node *n;
	const char *v;
	size_t i;
	int rc = 0;

	if (c == NULL || fn == NULL)
		return -EINVAL;
	if (prefix != NULL && *prefix != '\0' && !key_valid(prefix))
		return -EINVAL;
	lock(c);
	n = lookup(c, prefix);
	if (n == NULL)
		rc = -ENOENT;
	else if (n->value != NULL)
		rc = -ENOTDIR;
	for (i = 0; rc == 0 && n != NULL && i < n->nkids; i++) {
		v = NULL;
		if (n->kids[i]->value != NULL)
			rc = expand_node((struct config *)c, n->kids[i], 0, &v);
		if (rc == 0)
			rc = fn(n->kids[i]->name, v, arg);
	}
	unlock(c);
	return rc;
}

/* ---- -s and -l ---------------------------------------------------------- */

/*
 * Copy every leaf of the scratch tree src into c under prefix.  A first
 * pass checks that every key fits, so only ENOMEM can stop the second pass
 * half-way.
 */
static int merge_pass(struct config *c, const struct node *n, char *key, size_t klen, bool apply)
{
	char buf[CONFIG_KEY_MAX + 1];
	char *comps[MAX_COMPONENTS];
	struct node *at;
	size_t i, nlen, cn, depth;
	int rc;

	for (i = 0; i < n->nkids; i++) {
		const struct node *k = n->kids[i];

		nlen = strlen(k->name);
		if (klen + 1 + nlen > CONFIG_KEY_MAX)
			return -EINVAL;
		key[klen] = '.';
		memcpy(key + klen + 1, k->name, nlen + 1);
		if (k->value == NULL) {
			rc = merge_pass(c, k, key, klen + 1 + nlen, apply);
		} else if (apply) {
			rc = set_locked(c, key, k->value, false);
		} else {
			rc = split_key(key, buf, comps, &cn);
			if (rc == 0)
				rc = walk_for_set(c, comps, cn, &at, &depth);
		}
		key[klen] = '\0';
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int merge(struct config *c, const char *prefix, const struct config *src)
{
	char key[CONFIG_KEY_MAX + 1];
	size_t plen = strlen(prefix);
	int rc;

	if (plen > CONFIG_KEY_MAX)
		return -EINVAL;
	memcpy(key, prefix, plen + 1);
	rc = merge_pass(c, &src->root, key, plen, false);
	if (rc == 0)
		rc = merge_pass(c, &src->root, key, plen, true);
	return rc;
}

/* Set prefix.rel = value in the scratch tree (prefix may be ""). */
static int set_rel(struct config *s, const char *prefix, const char *rel, size_t rlen,
		   const char *value)
{
	char key[CONFIG_KEY_MAX + 1];
	size_t plen = strlen(prefix);

	if (rlen == 0 || plen + 1 + rlen > CONFIG_KEY_MAX)
		return -EINVAL;
	memcpy(key, prefix, plen);
	if (plen != 0)
		key[plen++] = '.';
	memcpy(key + plen, rel, rlen);
	key[plen + rlen] = '\0';
	return config_set(s, key, value);
}

/* The generic legacy item: "k=v" sets k, a bare word w sets w=true. */
static int set_item(struct config *s, const char *prefix, const char *item)
{
	const char *eq = strchr(item, '=');

	if (eq == NULL)
		return set_rel(s, prefix, item, strlen(item), "true");
	return set_rel(s, prefix, item, (size_t)(eq - item), eq + 1);
}

enum legacy_kind {
	LEGACY_PLAIN, /* only generic items */
	LEGACY_FIRST, /* the first bare item is the value of .first */
	LEGACY_9P,
	LEGACY_PASSTHRU,
	LEGACY_AHCI,
	LEGACY_AHCI_HD,
	LEGACY_AHCI_CD,
	LEGACY_XHCI,
};

struct legacy {
	const char *emul;
	enum legacy_kind kind;
	const char *first;
};

/* bhyve(8) "PCI EMULATION": how each device's positional conf is named. */
static const struct legacy legacy_table[] = {
	{ "virtio-blk", LEGACY_FIRST, "path" }, { "nvme", LEGACY_FIRST, "path" },
	{ "uart", LEGACY_FIRST, "path" },	{ "virtio-input", LEGACY_FIRST, "path" },
	{ "virtio-scsi", LEGACY_FIRST, "dev" }, { "virtio-net", LEGACY_FIRST, "backend" },
	{ "e1000", LEGACY_FIRST, "backend" },	{ "virtio-9p", LEGACY_9P, NULL },
	{ "passthru", LEGACY_PASSTHRU, NULL },	{ "ahci", LEGACY_AHCI, NULL },
	{ "ahci-hd", LEGACY_AHCI_HD, NULL },	{ "ahci-cd", LEGACY_AHCI_CD, NULL },
	{ "xhci", LEGACY_XHCI, NULL },
};

static const struct legacy *legacy_find(const char *emul)
{
	static const struct legacy plain = { NULL, LEGACY_PLAIN, NULL };
	size_t i;

	for (i = 0; i < sizeof(legacy_table) / sizeof(legacy_table[0]); i++) {
		if (strcmp(legacy_table[i].emul, emul) == 0)
			return &legacy_table[i];
	}
	return &plain;
}

/* Host device for passthru: "pptN", "B/S/F" or "pciB:S:F". */
static int passthru_host(struct config *s, const char *item)
{
	static const char *const names[] = { "bus", "slot", "func" };
	static const unsigned long long max[] = { 255, 31, 7 };
	char field[8];
	unsigned long long v;
	const char *end;
	char sep = '/';
	size_t i, len;
	int rc;

	if (strncmp(item, "ppt", 3) == 0)
		return config_set(s, "pptdev", item);
	if (strncmp(item, "pci", 3) == 0) {
		item += 3;
		sep = ':';
	}
	for (i = 0; i < 3; i++, item = end + 1) {
		end = i < 2 ? strchr(item, sep) : item + strlen(item);
		if (end == NULL)
			return -EINVAL;
		len = (size_t)(end - item);
		if (len == 0 || len >= sizeof(field) || memchr(item, sep, len) != NULL)
			return -EINVAL;
		memcpy(field, item, len);
		field[len] = '\0';
		rc = parse_uint(field, max[i], &v);
		if (rc == 0)
			rc = config_set(s, names[i], field);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* "share=/path" for virtio-9p. */
static int share_item(struct config *s, const char *item)
{
	const char *eq = strchr(item, '=');
	char *share;
	int rc;

	if (eq == NULL || eq == item || eq[1] == '\0')
		return -EINVAL;
	share = strndup(item, (size_t)(eq - item));
	if (share == NULL)
		return -ENOMEM;
	rc = config_set(s, "sharename", share);
	free(share);
	return rc != 0 ? rc : config_set(s, "path", eq + 1);
}

/* State carried across the items of one -s conf. */
struct legacy_state {
	const struct legacy *dev;
	unsigned index;	   /* items seen so far */
	int port;	   /* ahci: last port opened, -1 for none */
	unsigned usb_slot; /* xhci: last USB slot used */
};

static int ahci_port_item(struct config *s, struct legacy_state *st, const char *item)
{
	char prefix[32];
	int rc;

	if (strncmp(item, "hd:", 3) == 0 || strncmp(item, "cd:", 3) == 0) {
		if (item[3] == '\0')
			return -EINVAL;
		st->port++;
		snprintf(prefix, sizeof(prefix), "port.%d.type", st->port);
		rc = config_set(s, prefix, item[0] == 'h' ? "hd" : "cd");
		snprintf(prefix, sizeof(prefix), "port.%d.path", st->port);
		return rc != 0 ? rc : config_set(s, prefix, item + 3);
	}
	if (st->port < 0)
		return -EINVAL; /* an option before any hd:/cd: port */
	snprintf(prefix, sizeof(prefix), "port.%d", st->port);
	return set_item(s, prefix, item);
}

static int legacy_item(struct config *s, struct legacy_state *st, const char *item)
{
	bool first_bare = st->index == 0 && strchr(item, '=') == NULL;
	char key[32];

	switch (st->dev->kind) {
	case LEGACY_FIRST:
		if (first_bare)
			return config_set(s, st->dev->first, item);
		break;
	case LEGACY_9P:
		if (st->index == 0)
			return share_item(s, item);
		break;
	case LEGACY_PASSTHRU:
		if (first_bare)
			return passthru_host(s, item);
		break;
	case LEGACY_AHCI:
		return ahci_port_item(s, st, item);
	case LEGACY_AHCI_HD:
	case LEGACY_AHCI_CD:
		if (first_bare)
			return config_set(s, "port.0.path", item);
		return set_item(s, "port.0", item);
	case LEGACY_XHCI:
		if (strchr(item, '=') == NULL) {
			snprintf(key, sizeof(key), "slot.%u.device", ++st->usb_slot);
			return config_set(s, key, item);
		}
		break;
	case LEGACY_PLAIN:
		break;
	}
	return set_item(s, "", item);
}

/* Translate the comma list conf (may be NULL) into the scratch tree. */
static int legacy_conf(struct config *s, const char *emul, const char *conf)
{
	struct legacy_state st = { legacy_find(emul), 0, -1, 0 };
	const char *p, *comma;
	char *item;
	size_t len;
	int rc = 0;

	if (st.dev->kind == LEGACY_AHCI_HD || st.dev->kind == LEGACY_AHCI_CD)
		rc = config_set(s, "port.0.type", st.dev->kind == LEGACY_AHCI_HD ? "hd" : "cd");
	for (p = conf; rc == 0 && p != NULL; p = *comma != '\0' ? comma + 1 : NULL, st.index++) {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		len = (size_t)(comma - p);
		if (len == 0)
			return -EINVAL;
		item = strndup(p, len);
		if (item == NULL)
			return -ENOMEM;
		rc = legacy_item(s, &st, item);
		free(item);
	}
	return rc;
}

int config_set_pci_slot(struct config *c, const char *optarg)
{
	char slotbuf[16], emul[64], base[32];
	const char *comma, *e, *conf;
	int bus, slot, func, rc;
	struct config *s;
	size_t len;

	if (c == NULL || optarg == NULL)
		return -EINVAL;
	comma = strchr(optarg, ',');
	if (comma == NULL || (size_t)(comma - optarg) >= sizeof(slotbuf))
		return -EINVAL;
	memcpy(slotbuf, optarg, (size_t)(comma - optarg));
	slotbuf[comma - optarg] = '\0';
	rc = parse_pci_slot(slotbuf, &bus, &slot, &func);
	if (rc != 0)
		return rc;
	e = strchr(comma + 1, ',');
	conf = e != NULL ? e + 1 : NULL;
	len = e != NULL ? (size_t)(e - comma - 1) : strlen(comma + 1);
	if (len == 0 || len >= sizeof(emul))
		return -EINVAL;
	memcpy(emul, comma + 1, len);
	emul[len] = '\0';
	if (!key_valid(emul) || strchr(emul, '.') != NULL)
		return -EINVAL;
	snprintf(base, sizeof(base), "pci.%d.%d.%d", bus, slot, func);

	s = config_new();
	if (s == NULL)
		return -ENOMEM;
	rc = config_set(s, "device", emul);
	if (rc == 0)
		rc = legacy_conf(s, emul, conf);
	lock(c);
	if (rc == 0 && lookup(c, base) != NULL)
		rc = -EEXIST;
	if (rc == 0)
		rc = merge(c, base, s);
	unlock(c);
	config_free(s);
	return rc;
}

/* "romfile[,varfile]" for -l bootrom. */
static int lpc_bootrom(struct config *s, const char *conf)
{
	const char *comma = strchr(conf, ',');
	char *rom;
	int rc;

	if (comma == NULL)
		return config_set(s, "bootrom", conf);
	if (comma == conf || comma[1] == '\0' || strchr(comma + 1, ',') != NULL)
		return -EINVAL;
	rom = strndup(conf, (size_t)(comma - conf));
	if (rom == NULL)
		return -ENOMEM;
	rc = config_set(s, "bootrom", rom);
	free(rom);
	return rc != 0 ? rc : config_set(s, "bootvars", comma + 1);
}

/* "type,path[,k=v...]" for -l tpm. */
static int lpc_tpm(struct config *s, const char *conf)
{
	static const char *const keys[] = { "tpm.type", "tpm.path" };
	const char *p = conf, *comma;
	unsigned i = 0;
	char *item;
	int rc = 0;

	for (; rc == 0 && p != NULL; i++, p = *comma != '\0' ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		if (comma == p)
			return -EINVAL;
		item = strndup(p, (size_t)(comma - p));
		if (item == NULL)
			return -ENOMEM;
		rc = i < 2 ? config_set(s, keys[i], item) : set_item(s, "tpm", item);
		free(item);
	}
	return rc == 0 && i < 2 ? -EINVAL : rc;
}

static int lpc_conf(struct config *s, const char *name, const char *conf)
{
	char key[32];

	if (strcmp(name, "pc-testdev") == 0)
		return conf == NULL ? config_set(s, "pc-testdev", "true") : -EINVAL;
	if (conf == NULL)
		return -EINVAL;
	if (strncmp(name, "com", 3) == 0) {
		snprintf(key, sizeof(key), "%s.path", name);
		return config_set(s, key, conf);
	}
	if (strcmp(name, "bootrom") == 0)
		return lpc_bootrom(s, conf);
	if (strcmp(name, "fwcfg") == 0)
		return strcmp(conf, "bhyve") == 0 || strcmp(conf, "qemu") == 0
			   ? config_set(s, "fwcfg", conf)
			   : -EINVAL;
	return lpc_tpm(s, conf);
}

int config_set_lpc_device(struct config *c, const char *optarg)
{
	char name[16];
	const char *conf;
	struct config *s;
	int rc;

	if (c == NULL)
		return -EINVAL;
	rc = parse_lpc_device(optarg, name, sizeof(name), &conf);
	if (rc != 0)
		return rc;
	s = config_new();
	if (s == NULL)
		return -ENOMEM;
	rc = lpc_conf(s, name, conf);
	if (rc == 0) {
		lock(c);
		/* pc-testdev is one device at fixed addresses: no second one. */
		if (strcmp(name, "pc-testdev") == 0 && lookup(c, "lpc.pc-testdev") != NULL)
			rc = -EEXIST;
		if (rc == 0)
			rc = merge(c, "lpc", s);
		unlock(c);
	}
	config_free(s);
	return rc;
}

/* ---- -f ------------------------------------------------------------------ */

struct fwcfg_find {
	const struct config *c;
	const char *name;
	size_t len;
	unsigned long next; /* one past the highest index in use */
};

static int fwcfg_scan(const char *idx, const char *value, void *arg)
{
	struct fwcfg_find *f = arg;
	unsigned long long n;
	const char *other;
	char key[CONFIG_KEY_MAX + 1];

	if (parse_uint(idx, 1000000, &n) == 0 && n + 1 > f->next)
		f->next = (unsigned long)n + 1;
	if (value)
		return 0;
	snprintf(key, sizeof(key), "fw_cfg.%s.name", idx);
	other = config_get(f->c, key);
	if (other && strlen(other) == f->len && strncmp(other, f->name, f->len) == 0)
		return -EEXIST;
	return 0;
}

int config_set_fwcfg_file(struct config *c, const char *optarg)
{
	struct fwcfg_find find = { c, NULL, 0, 0 };
	const char *comma, *value, *kind;
	char key[64], *name;
	int rc;

	if (c == NULL || optarg == NULL)
		return -EINVAL;
	if (strncmp(optarg, "name=", 5) == 0)
		optarg += 5;
	comma = strchr(optarg, ',');
	if (comma == NULL || comma == optarg)
		return -EINVAL;
	if ((size_t)(comma - optarg) > CONFIG_FWCFG_NAME_MAX)
		return -ENAMETOOLONG;
	if (strncmp(comma + 1, "string=", 7) == 0) {
		kind = "string";
		value = comma + 8;
	} else if (strncmp(comma + 1, "file=", 5) == 0 && comma[6] != '\0') {
		kind = "file";
		value = comma + 6;
	} else {
		return -EINVAL;
	}
	find.name = optarg;
	find.len = (size_t)(comma - optarg);
	name = strndup(optarg, find.len);
	if (name == NULL)
		return -ENOMEM;
	lock(c);
	rc = config_foreach_child(c, "fw_cfg", fwcfg_scan, &find);
	if (rc == -ENOENT)
		rc = 0;
	/* Both keys or neither: check both before setting either. */
	if (rc == 0 && (!value_valid(name) || !value_valid(value)))
		rc = -EINVAL;
	if (rc == 0) {
		snprintf(key, sizeof(key), "fw_cfg.%lu.%s", find.next, kind);
		rc = config_set(c, key, value);
	}
	if (rc == 0) {
		snprintf(key, sizeof(key), "fw_cfg.%lu.name", find.next);
		rc = config_set(c, key, name);
	}
	unlock(c);
	free(name);
	return rc;
}
