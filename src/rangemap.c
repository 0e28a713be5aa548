#include "rangemap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rangemap_init(struct rangemap *m)
{
	memset(m, 0, sizeof(*m));
	pthread_rwlock_init(&m->lock, NULL);
}

void rangemap_destroy(struct rangemap *m)
{
	pthread_rwlock_destroy(&m->lock);
	free(m->r);
	m->r = NULL;
	m->nr = m->cap = 0;
}

/* Index of the first range whose last byte is at or above addr. */
static int rangemap_search(const struct rangemap *m, uint64_t addr)
{
	int lo = 0, hi = m->nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (m->r[mid].base + (m->r[mid].len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int rangemap_add(struct rangemap *m, const struct rangemap_entry *e)
{
	uint64_t last;
	int i, err = 0;

	if (e->len == 0 || e->base + (e->len - 1) < e->base)
		return -EINVAL;
	last = e->base + (e->len - 1);
	pthread_rwlock_wrlock(&m->lock);
	i = rangemap_search(m, e->base);
	if (i < m->nr && m->r[i].base <= last) {
		err = -EEXIST;
		goto out;
	}
	if (m->nr == m->cap) {
		int cap = m->cap ? m->cap * 2 : 32;
		struct rangemap_entry *r = realloc(m->r, (size_t)cap * sizeof(*r));

		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		m->r = r;
		m->cap = cap;
	}
	memmove(&m->r[i + 1], &m->r[i], (size_t)(m->nr - i) * sizeof(*m->r));
	m->r[i] = *e;
	m->nr++;
out:
	pthread_rwlock_unlock(&m->lock);
	return err;
}

int rangemap_remove(struct rangemap *m, uint64_t base)
{
	int i, err = -ENOENT;

	pthread_rwlock_wrlock(&m->lock);
	i = rangemap_search(m, base);
	if (i < m->nr && m->r[i].base == base) {
		memmove(&m->r[i], &m->r[i + 1], (size_t)(m->nr - i - 1) * sizeof(*m->r));
		m->nr--;
		err = 0;
	}
	pthread_rwlock_unlock(&m->lock);
	return err;
}

int rangemap_find(struct rangemap *m, uint64_t addr, uint64_t len, struct rangemap_entry *out)
{
	int i, err = -ENOENT;

	if (len == 0 || addr + (len - 1) < addr)
		return -ENOENT;
	pthread_rwlock_rdlock(&m->lock);
	i = rangemap_search(m, addr);
	if (i < m->nr && m->r[i].base <= addr &&
	    addr + (len - 1) <= m->r[i].base + (m->r[i].len - 1)) {
		*out = m->r[i];
		err = 0;
	}
	pthread_rwlock_unlock(&m->lock);
	return err;
}
