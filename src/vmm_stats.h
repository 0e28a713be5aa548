/* KVM's binary statistics (KVM API documentation 4.133, KVM_GET_STATS_FD):
 * named counters that KVM keeps per VM and per vCPU, read without stopping
 * the vCPU.  The runner uses them for the exits that the kernel handles by
 * itself and user space never sees, such as HLT with the in-kernel local
 * APIC ("halt_exits"). */
#ifndef BHYVE_VMM_STATS_H
#define BHYVE_VMM_STATS_H

#include <stdint.h>

struct vmm_stats;

/* Called for each statistic: its name, the number of values (1 for a
 * counter, more for a histogram) and the first value. Return non-zero to
 * stop the walk. */
typedef int vmm_stats_fn(const char *name, unsigned size, uint64_t value, void *arg);

/* Open the statistics of a VM or vCPU file descriptor (KVM_GET_STATS_FD)
 * and read its descriptors.  0, or -ENOTTY when the kernel has no binary
 * statistics, -EPROTO for a malformed statistics file, other -errno. */
int vmm_stats_open(int kvm_fd, struct vmm_stats **out);
/* Read a statistics file already open (for tests, or a saved fd); takes
 * ownership of stats_fd, also on failure. */
int vmm_stats_open_fd(int stats_fd, struct vmm_stats **out);
void vmm_stats_close(struct vmm_stats *s);
/* The current value of the named statistic (its first value for a
 * histogram): 0, -ENOENT when this kernel does not keep it, other -errno. */
int vmm_stats_get(struct vmm_stats *s, const char *name, uint64_t *value);
/* Walk every statistic with its current value: 0, the callback's non-zero
 * return, or -errno. */
int vmm_stats_foreach(struct vmm_stats *s, vmm_stats_fn *fn, void *arg);

#endif
