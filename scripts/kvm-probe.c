/* Is /dev/kvm usable for running guests at hardware speed?  Some machines
 * offer a /dev/kvm implemented in software that runs guest code a thousand
 * times slower than the host; real Linux guests never finish booting there.
 * This runs a real-mode loop of about two hundred thousand instructions
 * (well under a millisecond on hardware virtualization) and exits 0 if it
 * took under 50 ms, 1 if slower, 2 if KVM does not work at all.
 * Built and run by scripts/kvm-run; -v prints the time. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LOOPS 100000
#define LIMIT_NS 50000000L

int main(int argc, char **argv)
{
	/* mov ecx, LOOPS; 1: dec ecx; jnz 1b; hlt */
	unsigned char code[] = { 0x66, 0xb9, LOOPS & 0xff, (LOOPS >> 8) & 0xff,
				 (LOOPS >> 16) & 0xff, (LOOPS >> 24) & 0xff,
				 0x66, 0x49, 0x75, 0xfc, 0xf4 };
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct timespec t0, t1;
	struct kvm_run *run;
	unsigned char *mem;
	int kvm, vm, vcpu, size;
	long ns;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return 2;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED)
		return 2;
	memcpy(mem, code, sizeof(code));
	region.guest_phys_addr = 0x1000;
	region.memory_size = 0x1000;
	region.userspace_addr = (unsigned long)mem;
	vcpu = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -1 :
								   ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		return 2;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 2;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	regs.rip = 0x1000;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return 2;
	} while (run->exit_reason == KVM_EXIT_INTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (run->exit_reason != KVM_EXIT_HLT)
		return 2;
	ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
	if (argc > 1 && strcmp(argv[1], "-v") == 0)
		printf("kvm-probe: %d loop iterations in %.3f ms\n", LOOPS, ns / 1e6);
	return ns < LIMIT_NS ? 0 : 1;
}
