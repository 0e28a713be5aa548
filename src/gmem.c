#include "gmem.h"

#include <errno.h>
#include <string.h>

int gmem_add_region(struct gmem *m, uint64_t gpa, uint64_t len, void *host)
{
	int i;

	if (m->nr >= GMEM_MAX_REGIONS || len == 0 || gpa + len < gpa || !host)
		return -EINVAL;
	for (i = 0; i < m->nr; i++) {
		if (gpa < m->r[i].gpa + m->r[i].len && m->r[i].gpa < gpa + len)
			return -EINVAL;
	}
	m->r[m->nr].gpa = gpa;
	m->r[m->nr].len = len;
	m->r[m->nr].host = host;
	m->nr++;
	return 0;
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	int i;

	if (len == 0)
		len = 1;
	if (gpa + len < gpa)
		return NULL;
	for (i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->len && len <= r->len - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *buf, size_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *buf, size_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

uint64_t gmem_region_end(const struct gmem *m, uint64_t gpa)
{
	int i;

	for (i = 0; i < m->nr; i++) {
		if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].len)
			return m->r[i].gpa + m->r[i].len;
	}
	return 0;
}
