/* KVM binary statistics, KVM API documentation 4.133 (KVM_GET_STATS_FD): the
 * file holds a header, an id string, a block of descriptors (each a struct
 * kvm_stats_desc followed by name_size bytes of name) and a data block of
 * 64-bit values that the kernel keeps current.  The header and descriptors
 * never change for an open file, so they are read once; values are read
 * with pread at each query. */
#include "vmm_stats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Bounds on what a sane kernel reports; anything larger is rejected rather
 * than allocated. */
#define STATS_MAX_DESC 4096
#define STATS_MAX_NAME 1024

struct vmm_stats {
	int fd;
	struct kvm_stats_header hdr;
	size_t desc_size; /* one descriptor with its name */
	uint8_t *desc;	  /* hdr.num_desc descriptors */
};

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static const struct kvm_stats_desc *stats_desc(const struct vmm_stats *s, unsigned i)
{
	return (const struct kvm_stats_desc *)(s->desc + (size_t)i * s->desc_size);
}

int vmm_stats_open_fd(int stats_fd, struct vmm_stats **out)
{
	struct vmm_stats *s;
	size_t total;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		close(stats_fd);
		return -ENOMEM;
	}
	s->fd = stats_fd;
	rc = pread_full(stats_fd, &s->hdr, sizeof(s->hdr), 0);
	if (rc < 0)
		goto fail;
	rc = -EPROTO;
	if (s->hdr.num_desc > STATS_MAX_DESC || s->hdr.name_size == 0 ||
	    s->hdr.name_size > STATS_MAX_NAME)
		goto fail;
	s->desc_size = sizeof(struct kvm_stats_desc) + s->hdr.name_size;
	/* Keep descriptors 4-byte aligned in our copy, as in the file. */
	if (s->desc_size % 4)
		goto fail;
	total = s->desc_size * s->hdr.num_desc;
	s->desc = calloc(1, total ? total : 1);
	if (!s->desc) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = pread_full(stats_fd, s->desc, total, (off_t)s->hdr.desc_offset);
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	vmm_stats_close(s);
	return rc;
}

int vmm_stats_open(int kvm_fd, struct vmm_stats **out)
{
	int fd = ioctl(kvm_fd, KVM_GET_STATS_FD, NULL);

	if (fd < 0)
		return -errno;
	return vmm_stats_open_fd(fd, out);
}

void vmm_stats_close(struct vmm_stats *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->desc);
	free(s);
}

/* The descriptor's name, which the kernel NUL-terminates within name_size;
 * a name that is not terminated is treated as absent. */
static const char *desc_name(const struct vmm_stats *s, const struct kvm_stats_desc *d)
{
	if (!memchr(d->name, '\0', s->hdr.name_size))
		return NULL;
	return d->name;
}

static int desc_value(const struct vmm_stats *s, const struct kvm_stats_desc *d, uint64_t *v)
{
	if (d->size == 0)
		return -EPROTO;
	return pread_full(s->fd, v, sizeof(*v), (off_t)s->hdr.data_offset + (off_t)d->offset);
}

int vmm_stats_get(struct vmm_stats *s, const char *name, uint64_t *value)
{
	unsigned i;

	for (i = 0; i < s->hdr.num_desc; i++) {
		const struct kvm_stats_desc *d = stats_desc(s, i);
		const char *n = desc_name(s, d);

		if (n && strcmp(n, name) == 0)
			return desc_value(s, d, value);
	}
	return -ENOENT;
}

int vmm_stats_foreach(struct vmm_stats *s, vmm_stats_fn *fn, void *arg)
{
	unsigned i;
	int rc;

	for (i = 0; i < s->hdr.num_desc; i++) {
		const struct kvm_stats_desc *d = stats_desc(s, i);
		const char *n = desc_name(s, d);
		uint64_t v;

		if (!n)
			continue;
		rc = desc_value(s, d, &v);
		if (rc < 0)
			return rc;
		rc = fn(n, d->size, v, arg);
		if (rc)
			return rc;
	}
	return 0;
}
