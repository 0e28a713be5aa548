/* QEMU fw_cfg (docs/specs/fw_cfg.rst of QEMU; section names below are that
 * document's).  One lock serialises the selector, the data offset, the DMA
 * address register and DMA transfers, since every vCPU may use them. */
#include "hw/fwcfg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "gmem.h"
#include "inout.h"
#include "le.h"
#include "log.h"

#define SEL_ARCH	0x8000 /* "Bit15 ... architecture specific" */
#define SEL_KEY_MASK	0x3FFF /* bit 14, the write channel, is ignored */
#define ID_TRADITIONAL	0x01
#define ID_DMA		0x02
#define DIR_ENTRY_SIZE	64 /* struct FWCfgFile */
#define DMA_ACCESS_SIZE 16 /* struct FWCfgDmaAccess */
/* "QEMU CFG" as the big-endian DMA address register reads. */
static const uint8_t dma_signature[FWCFG_DMA_LEN] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };

struct fwcfg_file {
	char name[FWCFG_NAME_MAX + 1];
	uint8_t *data;
	uint32_t len;
};

struct fwcfg {
	struct fwcfg_config cfg;
	pthread_mutex_t lock;
	uint16_t selector;
	uint32_t offset;
	uint32_t dma_high; /* the high half written at 0x514 */
	uint8_t sig[4], id[4], ram[8], ncpus[2], max_cpus[2];
	uint8_t *dir; /* the file directory item */
	uint32_t dir_len;
	struct fwcfg_file *files; /* sorted by name; file i has selector 0x20 + i */
	unsigned nfiles;
};

struct item {
	const uint8_t *data;
	uint32_t len;
};

static void put_be(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* "File Directory": a big-endian count, then 64-byte entries of size,
 * selector, reserved and a NUL-terminated name. */
static int build_dir(struct fwcfg *f)
{
	uint32_t len = 4 + f->nfiles * DIR_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);
	unsigned i;

	if (!dir)
		return -ENOMEM;
	put_be(dir, f->nfiles, 4);
	for (i = 0; i < f->nfiles; i++) {
		uint8_t *e = dir + 4 + (size_t)i * DIR_ENTRY_SIZE;

		put_be(e, f->files[i].len, 4);
		put_be(e + 4, FWCFG_FILE_FIRST + i, 2);
		memcpy(e + 8, f->files[i].name, strlen(f->files[i].name));
	}
	free(f->dir);
	f->dir = dir;
	f->dir_len = len;
	return 0;
}

struct fwcfg *fwcfg_new(const struct fwcfg_config *cfg)
{
	struct fwcfg *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->cfg = *cfg;
	pthread_mutex_init(&f->lock, NULL);
	memcpy(f->sig, "QEMU", 4);
	le32_put(f->id, ID_TRADITIONAL | (cfg->gmem ? ID_DMA : 0));
	le64_put(f->ram, cfg->ram_size);
	le16_put(f->ncpus, cfg->ncpus);
	le16_put(f->max_cpus, cfg->max_cpus);
	if (build_dir(f) < 0) {
		fwcfg_free(f);
		return NULL;
	}
	return f;
}

void fwcfg_free(struct fwcfg *f)
{
	unsigned i;

	if (!f)
		return;
	for (i = 0; i < f->nfiles; i++)
		free(f->files[i].data);
	free(f->files);
	free(f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > FWCFG_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	}
	return true;
}

int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, size_t len)
{
	struct fwcfg_file *files, nf;
	unsigned pos;

	if (!f || !name || (!data && len) || !name_ok(name))
		return -EINVAL;
	if ((uint64_t)len > FWCFG_FILE_MAX)
		return -EFBIG;
	if (f->nfiles >= FWCFG_MAX_FILES)
		return -ENOSPC;
	for (pos = 0; pos < f->nfiles; pos++) {
		int c = strcmp(name, f->files[pos].name);

		if (c == 0)
			return -EEXIST;
		if (c < 0)
			break;
	}
	memset(&nf, 0, sizeof(nf));
	memcpy(nf.name, name, strlen(name));
	nf.len = (uint32_t)len;
	nf.data = malloc(len ? len : 1);
	if (!nf.data)
		return -ENOMEM;
	if (len)
		memcpy(nf.data, data, len);
	files = realloc(f->files, (f->nfiles + 1) * sizeof(*files));
	if (!files) {
		free(nf.data);
		return -ENOMEM;
	}
	f->files = files;
	memmove(&files[pos + 1], &files[pos], (f->nfiles - pos) * sizeof(*files));
	files[pos] = nf;
	f->nfiles++;
	return build_dir(f);
}

int fwcfg_check_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if ((uint64_t)st.st_size > FWCFG_FILE_MAX)
		rc = -EFBIG;
	close(fd);
	return rc;
}

/* The whole of a regular file, in a buffer the caller frees. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0, size;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > FWCFG_FILE_MAX) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO; /* the file shrank */
			goto out;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = size;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

struct file_walk {
	struct fwcfg *f;
	const struct config *cfg;
	char *err;
	size_t errlen;
	int rc; /* the first error */
};

static int add_config_file(const char *idx, const char *value, void *arg);

/* config_foreach_child() callback: stop (1) at the first error, kept in
 * w->rc so that it cannot be taken for the walk's own -ENOENT. */
static int add_config_file_walk(const char *idx, const char *value, void *arg)
{
	struct file_walk *w = arg;

	w->rc = add_config_file(idx, value, arg);
	return w->rc < 0 ? 1 : 0;
}

static int add_config_file(const char *idx, const char *value, void *arg)
{
	struct file_walk *w = arg;
	const char *name, *str, *path;
	char key[64];
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if (value) {
		snprintf(w->err, w->errlen, "fw_cfg.%s: expected .name and .string or .file", idx);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "fw_cfg.%s.name", idx);
	name = config_get(w->cfg, key);
	snprintf(key, sizeof(key), "fw_cfg.%s.string", idx);
	str = config_get(w->cfg, key);
	snprintf(key, sizeof(key), "fw_cfg.%s.file", idx);
	path = config_get(w->cfg, key);
	if (!name || (str != NULL) == (path != NULL)) {
		snprintf(w->err, w->errlen, "fw_cfg.%s: expected a name and a string or a file",
			 idx);
		return -EINVAL;
	}
	if (path) {
		rc = read_file(path, &data, &len);
		if (rc < 0) {
			snprintf(w->err, w->errlen, "-f %s,file=%s: %s", name, path,
				 rc == -EINVAL ? "not a regular file" : strerror(-rc));
			return rc;
		}
		rc = fwcfg_add_file(w->f, name, data, len);
		free(data);
	} else {
		rc = fwcfg_add_file(w->f, name, str, strlen(str) + 1);
	}
	if (rc < 0)
		snprintf(w->err, w->errlen, "-f %s: %s", name,
			 rc == -EEXIST	 ? "a fw_cfg file of that name exists already"
			 : rc == -EINVAL ? "invalid fw_cfg file name"
					 : strerror(-rc));
	return rc;
}

int fwcfg_add_config_files(struct fwcfg *f, const struct config *cfg, char *err, size_t errlen)
{
	char dummy[1];
	struct file_walk w = { f, cfg, err ? err : dummy, err ? errlen : sizeof(dummy), 0 };
	int rc;

	w.err[0] = '\0';
	rc = config_foreach_child(cfg, "fw_cfg", add_config_file_walk, &w);
	if (rc == 1)
		return w.rc;
	if (rc == -ENOENT)
		return 0;
	if (rc == -ENOTDIR)
		snprintf(w.err, w.errlen, "fw_cfg: expected fw_cfg.<N>.name and .string or .file");
	return rc;
}

/* The selected item; NULL for a selector with nothing behind it. */
static bool item_locked(const struct fwcfg *f, struct item *it)
{
	unsigned key = f->selector & SEL_KEY_MASK;

	if (f->selector & SEL_ARCH)
		return false;
	switch (key) {
	case FWCFG_SIGNATURE:
		*it = (struct item){ f->sig, sizeof(f->sig) };
		return true;
	case FWCFG_ID:
		*it = (struct item){ f->id, sizeof(f->id) };
		return true;
	case FWCFG_RAM_SIZE:
		*it = (struct item){ f->ram, sizeof(f->ram) };
		return true;
	case FWCFG_NB_CPUS:
		*it = (struct item){ f->ncpus, sizeof(f->ncpus) };
		return true;
	case FWCFG_MAX_CPUS:
		*it = (struct item){ f->max_cpus, sizeof(f->max_cpus) };
		return true;
	case FWCFG_FILE_DIR:
		*it = (struct item){ f->dir, f->dir_len };
		return true;
	default:
		break;
	}
	if (key < FWCFG_FILE_FIRST || key - FWCFG_FILE_FIRST >= f->nfiles)
		return false;
	*it = (struct item){ f->files[key - FWCFG_FILE_FIRST].data,
			     f->files[key - FWCFG_FILE_FIRST].len };
	return true;
}

/* "Data Register": the next byte, 0 once past the end. */
static uint8_t data_byte_locked(struct fwcfg *f)
{
	struct item it;

	if (!item_locked(f, &it) || f->offset >= it.len)
		return 0;
	return it.data[f->offset++];
}

/* "Guest-side DMA Interface", read: length bytes from the current offset
 * to guest RAM at addr, zeros past the item's end.  The whole buffer must
 * be RAM, or nothing is written. */
static bool dma_read_locked(struct fwcfg *f, uint64_t addr, uint32_t length)
{
	struct item it = { NULL, 0 };
	uint8_t *dst;
	uint32_t n = 0;

	if (length == 0)
		return true;
	dst = gmem_ptr(f->cfg.gmem, addr, length);
	if (!dst)
		return false;
	if (item_locked(f, &it) && f->offset < it.len) {
		n = it.len - f->offset < length ? it.len - f->offset : length;
		memcpy(dst, it.data + f->offset, n);
		f->offset += n;
	}
	memset(dst + n, 0, length - n);
	return true;
}

static void dma_skip_locked(struct fwcfg *f, uint32_t length)
{
	struct item it;

	if (!item_locked(f, &it) || f->offset >= it.len)
		return;
	f->offset += it.len - f->offset < length ? it.len - f->offset : length;
}

/* Run the FWCfgDmaAccess at desc: select, then read, write or skip; the
 * control word becomes 0 or the error bit.  A descriptor outside RAM is
 * ignored: there is nowhere to report to. */
static void dma_run_locked(struct fwcfg *f, uint64_t desc)
{
	uint8_t d[DMA_ACCESS_SIZE], status[4];
	uint32_t control, length;
	uint64_t addr;
	bool ok = true;

	if (gmem_read(f->cfg.gmem, desc, d, sizeof(d)) < 0) {
		log_debug("fw_cfg: DMA descriptor at 0x%llx is not in RAM",
			  (unsigned long long)desc);
		return;
	}
	control = (uint32_t)get_be(d, 4);
	length = (uint32_t)get_be(d + 4, 4);
	addr = get_be(d + 8, 8);
	if (control & FWCFG_DMA_SELECT) {
		f->selector = (uint16_t)(control >> 16);
		f->offset = 0;
	}
	if (control & FWCFG_DMA_READ)
		ok = dma_read_locked(f, addr, length);
	else if (control & FWCFG_DMA_WRITE)
		ok = false; /* every item is read-only */
	else if (control & FWCFG_DMA_SKIP)
		dma_skip_locked(f, length);
	if (!ok)
		log_debug("fw_cfg: DMA %s of %u bytes at 0x%llx refused",
			  control & FWCFG_DMA_READ ? "read" : "write", length,
			  (unsigned long long)addr);
	put_be(status, ok ? 0 : FWCFG_DMA_ERROR, 4);
	gmem_write(f->cfg.gmem, desc, status, sizeof(status));
}

static int ctl_io(struct fwcfg *f, bool in, uint16_t port, int bytes, uint32_t *val)
{
	if (in) {
		/* The data register is 8 bits wide; the two ports overlap
		 * (fw_cfg.rst, "Data Register"). */
		if (bytes == 1)
			*val = data_byte_locked(f);
		return 0;
	}
	if (bytes == 2 && port == FWCFG_PORT_SELECTOR) {
		f->selector = (uint16_t)*val;
		f->offset = 0;
	}
	/* Data writes are ignored, as QEMU has done since 2.4. */
	return 0;
}

/* The address register is big-endian: a 32-bit OUT carries its bytes in
 * memory order, so the value is byte-swapped. */
static int dma_io(struct fwcfg *f, bool in, unsigned off, int bytes, uint32_t *val)
{
	uint32_t v;

	if (in) {
		*val = (uint32_t)le_get(dma_signature + off, (unsigned)bytes);
		return 0;
	}
	if (bytes != 4 || !f->cfg.gmem)
		return 0; /* only 32-bit halves start anything */
	v = __builtin_bswap32(*val);
	if (off == 0) {
		f->dma_high = v;
	} else if (off == 4) {
		dma_run_locked(f, (uint64_t)f->dma_high << 32 | v);
		f->dma_high = 0; /* "0 ... after an operation" */
	}
	return 0;
}

int fwcfg_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct fwcfg *f = arg;
	int rc = -1;

	(void)vcpu;
	if (bytes != 1 && bytes != 2 && bytes != 4)
		return -1;
	pthread_mutex_lock(&f->lock);
	if (port >= FWCFG_PORT_SELECTOR && port + bytes <= FWCFG_PORT_DATA + 1)
		rc = ctl_io(f, in, port, bytes, val);
	else if (port >= FWCFG_PORT_DMA && port + bytes <= FWCFG_PORT_DMA + FWCFG_DMA_LEN)
		rc = dma_io(f, in, port - FWCFG_PORT_DMA, bytes, val);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int fwcfg_register(struct fwcfg *f, struct inout *io)
{
	int rc = inout_register(io, FWCFG_PORT_SELECTOR, 2, fwcfg_inout, f, "fw_cfg");

	/* Without guest memory there is no DMA interface (ID bit 1 clear). */
	if (rc || !f->cfg.gmem)
		return rc;
	return inout_register(io, FWCFG_PORT_DMA, FWCFG_DMA_LEN, fwcfg_inout, f, "fw_cfg-dma");
}
