/* The test bed's first proof: through the project's VMM layer, run a few
 * real-mode instructions that write bytes to an I/O port and halt.  Prints
 * the bytes seen on the port and "HLT", exits 0 on success. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/vmm.h"

#define PORT 0x3f8
#define LOAD 0x1000

int main(void)
{
	/* mov dx,0x3f8; mov al,'O'; out dx,al; mov al,'K'; out dx,al; hlt */
	static const unsigned char code[] = { 0xba, 0xf8, 0x03, 0xb0, 'O', 0xee,
					      0xb0, 'K',  0xee, 0xf4 };
	struct vmm *vm;
	struct vmm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = LOAD, .rflags = 2 };
	struct kvm_run *run;
	unsigned char *mem;
	char seen[16] = "";
	size_t n = 0;
	int rc;

	rc = vmm_create(NULL, &vm);
	if (rc < 0) {
		fprintf(stderr, "vmm_create: %s\n", strerror(-rc));
		return 2;
	}
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	memcpy(mem, code, sizeof(code));
	if (vmm_map_memory(vm, 0, LOAD, 0x1000, mem) < 0 || vmm_vcpu_create(vm, 0, &vcpu) < 0 ||
	    vmm_vcpu_get_sregs(vcpu, &sregs) < 0)
		return 2;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (vmm_vcpu_set_sregs(vcpu, &sregs) < 0 || vmm_vcpu_set_regs(vcpu, &regs) < 0)
		return 2;
	run = vmm_vcpu_run_area(vcpu);
	for (;;) {
		rc = vmm_vcpu_run(vcpu);
		if (rc < 0) {
			fprintf(stderr, "KVM_RUN: %s\n", strerror(-rc));
			return 2;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == PORT && n + 1 < sizeof(seen)) {
			seen[n++] = *((char *)run + run->io.data_offset);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	printf("%s HLT\n", seen);
	vmm_vcpu_destroy(vcpu);
	vmm_destroy(vm);
	return strcmp(seen, "OK") == 0 ? 0 : 1;
}
