/* The vCPU loop (SPEC §3): run the guest, dispatch each exit by its code to
 * a handler, and act on the handler's answer. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "debug/gdb.h"
#include "inout.h"
#include "log.h"
#include "mmio.h"
#include "sandbox.h"
#include "vm.h"

enum vcpu_action {
	VCPU_CONTINUE,
	VCPU_EXIT, /* the VM's outcome is decided; leave the loop */
};

void vm_stats_add(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static enum vcpu_action vcpu_abort(struct vcpu *c)
{
	vm_request_exit(c->vm, VM_EXIT_ERROR);
	return VCPU_EXIT;
}

static uint64_t vcpu_rip(struct vcpu *c)
{
	struct kvm_regs regs;

	return vmm_vcpu_get_regs(c->v, &regs) == 0 ? regs.rip : 0;
}

/* Port I/O, including string and REP forms: KVM hands over `count`
 * consecutive elements of `size` bytes in the run area. */
static enum vcpu_action vcpu_exit_io(struct vcpu *c, struct kvm_run *run)
{
	struct vm *vm = c->vm;
	bool in = run->io.direction == KVM_EXIT_IO_IN;
	int size = run->io.size;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	if ((size != 1 && size != 2 && size != 4) || run->io.data_offset < sizeof(*run) ||
	    (uint64_t)run->io.data_offset + (uint64_t)run->io.count * (uint64_t)size >
		vmm_vcpu_run_size(c->v)) {
		vm_stats_add(&vm->stats.bogus);
		log_warnx("vcpu %d: malformed I/O exit (port 0x%x, size %d, count %u)", c->id,
			  run->io.port, size, run->io.count);
		return vcpu_abort(c);
	}
	for (i = 0; i < run->io.count; i++, data += size) {
		uint32_t val = 0xffffffffu;

		if (!in)
			memcpy(&val, data, (size_t)size);
		if (inout_dispatch(vm->io, c->id, in, run->io.port, size, &val) < 0) {
			vm_stats_add(&vm->stats.unhandled_io);
			if (vm->opt.strict_io) {
				log_warnx(
				    "vcpu %d: unhandled %s port 0x%x (%d byte%s) at rip 0x%" PRIx64
				    ", strict I/O (-e) aborts",
				    c->id, in ? "read of" : "write to", run->io.port, size,
				    size > 1 ? "s" : "", vcpu_rip(c));
				return vcpu_abort(c);
			}
			val = 0xffffffffu;
		}
		if (in)
			memcpy(data, &val, (size_t)size);
		if (__atomic_load_n(&vm->exit_status, __ATOMIC_ACQUIRE) != VM_EXIT_RUNNING)
			return VCPU_EXIT;
	}
	return VCPU_CONTINUE;
}

static enum vcpu_action vcpu_exit_mmio(struct vcpu *c, struct kvm_run *run)
{
	struct vm *vm = c->vm;
	uint64_t val = 0;
	int len = (int)run->mmio.len;

	vm_stats_add(&vm->stats.inst_emul);
	if (len < 1 || len > 8) {
		vm_stats_add(&vm->stats.bogus);
		return vcpu_abort(c);
	}
	if (run->mmio.is_write)
		memcpy(&val, run->mmio.data, (size_t)len);
	if (mmio_dispatch(vm->mmio, c->id, run->mmio.is_write, run->mmio.phys_addr, len, &val) <
	    0) {
		log_warnx("vcpu %d: unhandled memory %s at guest-physical address 0x%llx "
			  "(%d bytes) at rip 0x%" PRIx64,
			  c->id, run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr, len, vcpu_rip(c));
		return vcpu_abort(c);
	}
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &val, (size_t)len);
	return VCPU_CONTINUE;
}

/* Only MSRs KVM does not know reach user space (KVM_MSR_EXIT_REASON_UNKNOWN):
 * bhyve's default injects #GP; -w reads 0 and drops writes. */
static enum vcpu_action vcpu_exit_msr(struct vcpu *c, struct kvm_run *run, bool write)
{
	struct vm *vm = c->vm;

	vm_stats_add(&vm->stats.unhandled_msr);
	if (vm->opt.strict_msr) {
		log_debug("vcpu %d: %s of unimplemented MSR 0x%x: #GP", c->id,
			  write ? "wrmsr" : "rdmsr", run->msr.index);
		run->msr.error = 1;
	} else {
		run->msr.error = 0;
		if (!write)
			run->msr.data = 0;
	}
	return VCPU_CONTINUE;
}

static enum vcpu_action vcpu_exit_system_event(struct vcpu *c, struct kvm_run *run)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_exit(c->vm, VM_EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_exit(c->vm, VM_EXIT_REBOOT);
		break;
	default:
		log_warnx("vcpu %d: system event %u", c->id, run->system_event.type);
		vm_request_exit(c->vm, VM_EXIT_ERROR);
		break;
	}
	return VCPU_EXIT;
}

static enum vcpu_action vcpu_dispatch(struct vcpu *c, struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return vcpu_exit_io(c, run);
	case KVM_EXIT_MMIO:
		return vcpu_exit_mmio(c, run);
	case KVM_EXIT_X86_RDMSR:
		return vcpu_exit_msr(c, run, false);
	case KVM_EXIT_X86_WRMSR:
		return vcpu_exit_msr(c, run, true);
	case KVM_EXIT_HLT:
		vm_stats_add(&c->vm->stats.hlt);
		return VCPU_CONTINUE;
	case KVM_EXIT_DEBUG:
		vm_stats_add(&c->vm->stats.mtrap);
		if (c->vm->gdb)
			gdb_vcpu_debug_exit(c->vm->gdb, c, run);
		return VCPU_CONTINUE;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return VCPU_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: the processor shut down. */
		log_debug("vcpu %d: triple fault", c->id);
		vm_request_exit(c->vm, VM_EXIT_TRIPLEFAULT);
		return VCPU_EXIT;
	case KVM_EXIT_SYSTEM_EVENT:
		return vcpu_exit_system_event(c, run);
	case KVM_EXIT_FAIL_ENTRY:
		log_warnx("vcpu %d: VM entry failed at rip 0x%" PRIx64
			  ": hardware entry failure reason 0x%llx on host cpu %u",
			  c->id, vcpu_rip(c),
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			  run->fail_entry.cpu);
		return vcpu_abort(c);
	case KVM_EXIT_INTERNAL_ERROR:
		log_warnx("vcpu %d: KVM internal error at rip 0x%" PRIx64 ": suberror %u%s", c->id,
			  vcpu_rip(c), run->internal.suberror,
			  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
			      ? " (instruction emulation failed)"
			      : "");
		return vcpu_abort(c);
	default:
		vm_stats_add(&c->vm->stats.bogus);
		log_warnx("vcpu %d: unexpected exit code %u at rip 0x%" PRIx64, c->id,
			  run->exit_reason, vcpu_rip(c));
		return vcpu_abort(c);
	}
}

#define RFLAGS_IF  0x200
#define OPCODE_HLT 0xf4

/* A vCPU is halted for good when interrupts are disabled and it sits just
 * after a HLT instruction; one never started by INIT/SIPI counts too. */
void vcpu_sample_halt(struct vcpu *c)
{
	unsigned req = __atomic_load_n(&c->sample_req, __ATOMIC_ACQUIRE);
	struct kvm_regs regs;
	uint32_t mp;
	uint64_t gpa;
	uint8_t op;
	bool halted = false;

	if (vmm_vcpu_get_mp_state(c->v, &mp) == 0 &&
	    (mp == KVM_MP_STATE_UNINITIALIZED || mp == KVM_MP_STATE_INIT_RECEIVED)) {
		halted = c->id != 0;
		c->halted_rip = 0;
	} else if (vmm_vcpu_get_regs(c->v, &regs) == 0 && !(regs.rflags & RFLAGS_IF) &&
		   vmm_vcpu_translate(c->v, regs.rip - 1, &gpa) == 0 &&
		   gmem_read(&c->vm->gmem, gpa, &op, 1) == 0 && op == OPCODE_HLT) {
		halted = true;
		c->halted_rip = regs.rip;
	}
	c->halted = halted;
	__atomic_store_n(&c->sample_seq, req, __ATOMIC_RELEASE);
}

static void vcpu_pin(struct vcpu *c)
{
	cpu_set_t set;
	int host = c->vm->opt.pin ? c->vm->opt.pin[c->id] : -1;
	int rc;

	if (host < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(host, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc != 0)
		log_warnx("vcpu %d: cannot pin to host CPU %d: %s", c->id, host, strerror(rc));
}

/* The vCPU filter (sandbox.h), on every vCPU thread, those of the APs too. */
static int vcpu_confine(struct vcpu *c, const char *name)
{
	int rc = sandbox_enter(SANDBOX_VCPU, name);

	if (rc < 0) {
		log_warnx("vcpu %d: cannot confine the thread: %s", c->id, strerror(-rc));
		vm_request_exit(c->vm, VM_EXIT_ERROR);
	}
	return rc;
}

void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vm *vm = c->vm;
	struct kvm_run *run = vmm_vcpu_run_area(c->v);
	char name[16];

	snprintf(name, sizeof(name), "vcpu %d", c->id);
	pthread_setname_np(pthread_self(), name);
	vcpu_pin(c);
	if (vcpu_confine(c, name) < 0)
		return NULL;
	while (__atomic_load_n(&vm->exit_status, __ATOMIC_ACQUIRE) == VM_EXIT_RUNNING) {
		int rc;

		if (vm->gdb)
			gdb_vcpu_check(vm->gdb, c);
		rc = vmm_vcpu_run(c->v);

		if (rc == -EINTR || rc == -EAGAIN) {
			__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&c->sample_req, __ATOMIC_ACQUIRE) != c->sample_seq)
				vcpu_sample_halt(c);
			continue;
		}
		if (rc < 0) {
			log_warnx("vcpu %d: KVM_RUN failed: %s", c->id, strerror(-rc));
			vm_request_exit(vm, VM_EXIT_ERROR);
			break;
		}
		if (vcpu_dispatch(c, run) == VCPU_EXIT)
			break;
	}
	return NULL;
}
