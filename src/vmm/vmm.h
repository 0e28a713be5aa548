/* The VMM layer: the only code that issues KVM ioctls (our libvmmapi).
 * Every function returns 0 or a negative errno; none prints. */
#ifndef BHYVE_VMM_H
#define BHYVE_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

struct vmm;
struct vmm_vcpu;

/* The CPU topology the guest sees (CPUID) — bhyve's -c. */
struct vmm_topology {
	unsigned sockets, cores, threads;
};

/* Open /dev/kvm (path may be NULL for the default) and create a VM. */
int vmm_create(const char *kvm_path, struct vmm **out);
void vmm_destroy(struct vmm *vm);
/* Largest vCPU count this host's KVM allows. */
int vmm_max_vcpus(struct vmm *vm);
/* In-kernel local APIC, I/O APIC, PIC and PIT, and the real-mode TSS and
 * identity-map pages KVM needs on Intel hosts (placed just below the BIOS
 * area at the top of 4 GiB). */
int vmm_setup_platform(struct vmm *vm);
/* Unknown MSRs exit to user space instead of KVM injecting #GP itself. */
int vmm_enable_user_msr(struct vmm *vm);
/* KVM_CAP_X86_DISABLE_EXITS: let the guest execute HLT / PAUSE natively. */
int vmm_disable_exits(struct vmm *vm, bool hlt, bool pause);
/* Whether this host's KVM intercepts PAUSE loops at all: kvm_amd without
 * the CPU's pause filter (pause_filter_count 0) and kvm_intel with ple_gap 0
 * never do, -P or not.  1 yes, 0 no, -1 unknown (neither module's
 * parameter readable). */
int vmm_pause_loop_exiting(void);
int vmm_map_memory(struct vmm *vm, int slot, uint64_t gpa, uint64_t size, void *host);
int vmm_irq_line(struct vmm *vm, unsigned irq, int level);
int vmm_signal_msi(struct vmm *vm, uint64_t addr, uint32_t data);

int vmm_vcpu_create(struct vmm *vm, int id, struct vmm_vcpu **out);
void vmm_vcpu_destroy(struct vmm_vcpu *vcpu);
struct kvm_run *vmm_vcpu_run_area(struct vmm_vcpu *vcpu);
/* Size in bytes of the run area mapping (kvm_run plus the PIO data page). */
size_t vmm_vcpu_run_size(const struct vmm_vcpu *vcpu);
/* One KVM_RUN; -EINTR when interrupted by a signal or immediate_exit. */
int vmm_vcpu_run(struct vmm_vcpu *vcpu);
/* Ask the vCPU to leave (or not enter) guest mode soon; pair with a signal to
 * the thread. */
void vmm_vcpu_kick(struct vmm_vcpu *vcpu);
/* CPUID from KVM_GET_SUPPORTED_CPUID, shaped for this vCPU's APIC ID and the
 * topology; x2APIC advertised only when asked (bhyve -x). */
int vmm_vcpu_set_cpuid(struct vmm_vcpu *vcpu, const struct vmm_topology *topo, bool x2apic);
int vmm_vcpu_get_regs(struct vmm_vcpu *vcpu, struct kvm_regs *regs);
int vmm_vcpu_set_regs(struct vmm_vcpu *vcpu, const struct kvm_regs *regs);
int vmm_vcpu_get_sregs(struct vmm_vcpu *vcpu, struct kvm_sregs *sregs);
int vmm_vcpu_set_sregs(struct vmm_vcpu *vcpu, const struct kvm_sregs *sregs);
int vmm_vcpu_get_msr(struct vmm_vcpu *vcpu, uint32_t index, uint64_t *value);
int vmm_vcpu_set_msr(struct vmm_vcpu *vcpu, uint32_t index, uint64_t value);
int vmm_vcpu_get_mp_state(struct vmm_vcpu *vcpu, uint32_t *state);
/* Guest-virtual to guest-physical through the vCPU's current paging mode;
 * -EFAULT when the address is not mapped. */
int vmm_vcpu_translate(struct vmm_vcpu *vcpu, uint64_t gva, uint64_t *gpa);
/* Queue exception vector (with an error code when has_error) for delivery
 * at the next entry: a #BP the debugger did not plant goes back to the
 * guest this way. */
int vmm_vcpu_inject_exception(struct vmm_vcpu *vcpu, uint8_t vector, bool has_error,
			      uint32_t error);
int vmm_vcpu_id(const struct vmm_vcpu *vcpu);
/* The vCPU's KVM file descriptor, for KVM's statistics (vmm_stats.h) only. */
int vmm_vcpu_fd(const struct vmm_vcpu *vcpu);

/* An eventfd KVM signals when the guest writes len bytes (1, 2, 4 or 8; 0
 * any) at addr in I/O (pio) or memory space, without exiting to user
 * space; with match only when the value equals datamatch (KVM_IOEVENTFD). */
struct vmm_ioeventfd {
	uint64_t addr;
	uint32_t len;
	bool pio;
	bool match;
	uint64_t datamatch;
	int fd;
};
int vmm_ioeventfd(struct vmm *vm, const struct vmm_ioeventfd *e, bool assign);
/* Writing to fd raises GSI gsi (KVM_IRQFD); a level-triggered line with
 * resample_fd >= 0 is lowered at EOI, which KVM reports on resample_fd. */
int vmm_irqfd(struct vmm *vm, int fd, uint32_t gsi, int resample_fd, bool assign);

/* MSI routes in KVM's GSI routing table (for irqfd), added to the irqchip
 * routes vmm_setup_platform installs.  *gsi < 0 allocates a GSI above the
 * I/O APIC pins and stores it; otherwise that route is updated.  Thread
 * safe; 0 or a negative errno (the table is then unchanged). */
int vmm_msi_route_set(struct vmm *vm, int *gsi, uint64_t addr, uint32_t data);
int vmm_msi_route_del(struct vmm *vm, int gsi);

/* KVM_SET_GUEST_DEBUG: control is KVM_GUESTDBG_* (0 turns debugging off);
 * dr, when not NULL, gives DR0-DR3 and DR7 (index 7) for
 * KVM_GUESTDBG_USE_HW_BP.  Call while the vCPU is not in KVM_RUN. */
int vmm_vcpu_set_guest_debug(struct vmm_vcpu *vcpu, uint32_t control, const uint64_t dr[8]);

#endif
