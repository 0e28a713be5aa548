/* libFuzzer target: hostile split rings (SECURITY.md "Descriptor chains",
 * "Ring indices", "Device headers").  The input is laid over the descriptor
 * table, the available ring, an indirect area and the data buffers of a
 * small guest RAM; the chains are then walked by the virtqueue core and
 * served by virtio-blk (over a memfd image) or virtio-rnd.  Build:
 *   clang -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -g -O1 \
 *     -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_virtqueue.c \
 *     src/virtio/virtqueue.c src/virtio/virtio_blk.c src/virtio/virtio_rnd.c \
 *     src/virtio/virtio_pci.c src/block/blockif.c src/gmem.c src/log.c \
 *     src/config.c src/parse.c build/libbhyve.a -pthread -o build/fuzz_virtqueue
 *   build/fuzz_virtqueue -max_total_time=60 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/blockif.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_rnd.h"
#include "vq_test.h"

static struct blockif *bif;
static struct vblk *blk;
static struct vq_chain chain;

static void setup(void)
{
	struct blockif_opts o = {0};
	char path[64];
	int fd = memfd_create("fuzz-image", 0);

	if (fd < 0 || ftruncate(fd, 64 * 1024) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o.path = path;
	if (blockif_open(&o, &bif) || vblk_new(bif, NULL, NULL, NULL, &blk))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vqt *t;
	uint16_t qsize;
	bool irq;
	size_t n;

	if (!bif)
		setup();
	if (size < 2)
		return 0;
	qsize = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
	t = vqt_new(qsize, data[1] & 1, data[1] & 2);
	if (!t)
		return 0;
	data += 2;
	size -= 2;
	/* The available ring first (flags, idx, ring), then the descriptor
	 * table, then the indirect area and buffers: short inputs reach deep. */
	n = 4 + 2u * qsize;
	n = size < n ? size : n;
	memcpy(vqt_host(t, T_AVAIL), data, n);
	data += n;
	size -= n;
	n = 16u * qsize;
	n = size < n ? size : n;
	memcpy(vqt_host(t, T_DESC), data, n);
	data += n;
	size -= n;
	n = size < 0x10000 ? size : 0x10000;
	memcpy(vqt_host(t, T_INDIRECT), data, n);
	if (t->vq.indirect)
		vblk_process(blk, &t->vq, 0);
	else
		vrnd_process(&t->vq, &chain, &irq);
	vblk_drain(blk);
	vqt_free(t);
	return 0;
}
