/* Building and running the VM, in the start-up order of SPEC §2. */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"
#include "debug/gdb.h"
#include "firmware/acpi.h"
#include "firmware/bzimage.h"
#include "firmware/e820.h"
#include "firmware/layout.h"
#include "firmware/mptable.h"
#include "firmware/multiboot.h"
#include "firmware/smbios.h"
#include "firmware/vmlinux.h"
#include "hw/bvm.h"
#include "hw/fwcfg.h"
#include "hw/fwctl.h"
#include "hw/legacy.h"
#include "hw/pc_testdev.h"
#include "hw/pm.h"
#include "hw/rtc.h"
#include "hw/uart.h"
#include "hw/uart_backend.h"
#include "inout.h"
#include "log.h"
#include "mevent.h"
#include "mmio.h"
#include "pci/pci.h"
#include "sandbox.h"
#include "thread.h"
#include "vmm_stats.h"

#define HUGE_2M (2ull << 20)
/* Kicks interrupt KVM_RUN; a real-time signal keeps SIGUSR1 for the user. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)
/* How often the main thread samples for "every vCPU halted for good". */
#define HALT_CHECK_NS 250000000ull

static const uint16_t com_port[VM_NCOM] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const unsigned com_irq[VM_NCOM] = { 4, 3, 4, 3 };

void vm_isa_irq(void *arg, int level)
{
	struct vm_irq *irq = arg;

	vmm_irq_line(irq->vm->vmm, irq->irq, level);
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

void vm_kick_vcpu(struct vcpu *c)
{
	if (!c->v)
		return;
	vmm_vcpu_kick(c->v);
	if (c->started && !pthread_equal(c->thread, pthread_self()))
		pthread_kill(c->thread, VCPU_KICK_SIGNAL);
}

void vm_request_exit(struct vm *vm, int status)
{
	int expected = VM_EXIT_RUNNING;
	unsigned i;

	if (!__atomic_compare_exchange_n(&vm->exit_status, &expected, status, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	for (i = 0; i < vm->opt.ncpus; i++)
		vm_kick_vcpu(&vm->vcpus[i]);
	if (vm->loop)
		mevent_loop_stop(vm->loop);
}

/* bhyve's "halted" outcome: every vCPU stopped with interrupts disabled.
 * With the local APIC in the kernel, HLT never reaches us, so the main
 * thread samples: each round kicks every vCPU, which records its state;
 * two rounds in a row with every vCPU halted at the same place decide. */
static void vm_halt_check(int fd, void *arg)
{
	struct vm *vm = arg;
	bool all = vm->halt_round > 0;
	unsigned i;

	for (i = 0; i < vm->opt.ncpus && all; i++) {
		struct vcpu *c = &vm->vcpus[i];

		if (__atomic_load_n(&c->sample_seq, __ATOMIC_ACQUIRE) != vm->halt_round ||
		    !c->halted)
			all = false;
	}
	vm->halt_streak = all ? vm->halt_streak + 1 : 0;
	if (vm->halt_streak >= 2) {
		log_debug("every vCPU halted with interrupts disabled");
		vm_request_exit(vm, VM_EXIT_HALT);
		return;
	}
	vm->halt_round++;
	for (i = 0; i < vm->opt.ncpus; i++) {
		__atomic_store_n(&vm->vcpus[i].sample_req, vm->halt_round, __ATOMIC_RELEASE);
		vm_kick_vcpu(&vm->vcpus[i]);
	}
}

/* Sum a KVM statistic over every vCPU (KVM API 4.133, binary statistics):
 * exits that the kernel handles itself never reach vcpu.c.  Reading them
 * does not disturb a running vCPU. */
static uint64_t vm_kvm_stat(const struct vm *vm, const char *name)
{
	uint64_t sum = 0, v;
	unsigned i;

	for (i = 0; i < vm->opt.ncpus; i++) {
		if (vm->vcpus[i].kvm_stats && vmm_stats_get(vm->vcpus[i].kvm_stats, name, &v) == 0)
			sum += v;
	}
	return sum;
}

/* With the in-kernel local APIC, KVM handles HLT (-H) and PAUSE (-P) exits
 * itself: HLT is counted from KVM's "halt_exits".  KVM keeps no PAUSE
 * counter, so "pause" counts only exits seen here, and "kvm_exits" (every
 * exit KVM took, PAUSE ones included) is printed beside it. */
static void vm_print_stats(const struct vm *vm)
{
	uint64_t hlt = vm->stats.hlt + vm_kvm_stat(vm, "halt_exits");

	fprintf(stderr,
		"bhyve: %s: vm exits: bogus %" PRIu64 ", hlt %" PRIu64 ", pause %" PRIu64
		", mtrap %" PRIu64 ", inst_emul %" PRIu64 ", io_reset %" PRIu64
		", unhandled_io %" PRIu64 ", unhandled_msr %" PRIu64 ", kvm_exits %" PRIu64 "\r\n",
		vm->opt.name, vm->stats.bogus, hlt, vm->stats.pause, vm->stats.mtrap,
		vm->stats.inst_emul, vm->stats.io_reset, vm->stats.unhandled_io,
		vm->stats.unhandled_msr, vm_kvm_stat(vm, "exits"));
}

/* Signals for the VM arrive on the main thread's loop through a signalfd:
 * SIGTERM presses the ACPI power button (SPEC §5), SIGUSR1 prints the
 * exit statistics. */
static void vm_signal(int fd, void *arg)
{
	struct vm *vm = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM) {
			if (!pm_power_button(vm->pm))
				log_debug("SIGTERM: the guest has not enabled ACPI power-button "
					  "events");
		} else if (si.ssi_signo == SIGUSR1) {
			vm_print_stats(vm);
		}
	}
}

static void vm_sleep_request(void *arg, unsigned slp_typ)
{
	struct vm *vm = arg;

	/* bhyve acts on S5 only; other sleep states are ignored. */
	if (slp_typ == PM_SLP_TYP_S5)
		vm_request_exit(vm, VM_EXIT_POWEROFF);
}

static int vm_init_pm(struct vm *vm)
{
	struct pm_config cfg = {
		.sci = vm_isa_irq,
		.sci_arg = &vm->sci_irq,
		.sleep = vm_sleep_request,
		.sleep_arg = vm,
	};
	int rc;

	vm->sci_irq = (struct vm_irq){ vm, PM_SCI_IRQ };
	vm->pm = pm_new(&cfg);
	if (!vm->pm)
		return -ENOMEM;
	rc = inout_register(vm->io, PM_PORT_PM1_EVT, 12, pm_inout, vm->pm, "acpi-pm");
	if (!rc)
		rc = inout_register(vm->io, PM_PORT_SMI_CMD, 1, pm_inout, vm->pm, "smi-cmd");
	return rc;
}

/* Guest RAM: [0, lowmem) and [4 GiB, 4 GiB + highmem) backed by one
 * anonymous shared mapping, 2 MiB aligned so huge pages can back it. */
static int vm_setup_memory(struct vm *vm)
{
	uint64_t size = vm->opt.memsize;
	uint8_t *raw, *mem;
	int rc;

	vm->lowmem = size < LAYOUT_LOWMEM_MAX ? size : LAYOUT_LOWMEM_MAX;
	vm->highmem = size - vm->lowmem;
	raw = mmap(NULL, size + HUGE_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		log_warn("cannot allocate %" PRIu64 " MiB of guest memory", size >> 20);
		return -ENOMEM;
	}
	mem = (uint8_t *)(((uintptr_t)raw + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	if (mem > raw)
		munmap(raw, (size_t)(mem - raw));
	munmap(mem + size, (size_t)(raw + HUGE_2M - mem));
	vm->mem = mem;
	madvise(mem, size, MADV_HUGEPAGE);
	madvise(mem, size, vm->opt.guest_in_core ? MADV_DODUMP : MADV_DONTDUMP);
	if (vm->opt.wired && mlock(mem, size) < 0) {
		log_warn("-S: cannot wire %" PRIu64 " MiB of guest memory", size >> 20);
		return -errno;
	}
	rc = vmm_map_memory(vm->vmm, 0, 0, vm->lowmem, mem);
	if (!rc)
		rc = gmem_add_region(&vm->gmem, 0, vm->lowmem, mem);
	if (!rc && vm->highmem) {
		rc = vmm_map_memory(vm->vmm, 1, LAYOUT_HIGHMEM_BASE, vm->highmem, mem + vm->lowmem);
		if (!rc)
			rc = gmem_add_region(&vm->gmem, LAYOUT_HIGHMEM_BASE, vm->highmem,
					     mem + vm->lowmem);
	}
	if (rc)
		log_warnx("cannot map guest memory: %s", strerror(-rc));
	return rc;
}

static int vm_setup_kvm(struct vm *vm)
{
	int rc, max;

	rc = vmm_create(vm->opt.kvm_path, &vm->vmm);
	if (rc < 0) {
		log_warnx("cannot use %s: %s", vm->opt.kvm_path ? vm->opt.kvm_path : "/dev/kvm",
			  strerror(-rc));
		return rc;
	}
	max = vmm_max_vcpus(vm->vmm);
	if ((int)vm->opt.ncpus > max) {
		log_warnx("%u vCPUs requested, but this host's KVM allows at most %d",
			  vm->opt.ncpus, max);
		return -EINVAL;
	}
	/* Exits must be chosen before any vCPU exists (KVM API 7.14). */
	rc = vmm_disable_exits(vm->vmm, !vm->opt.hlt_exit, !vm->opt.pause_exit);
	if (rc < 0)
		log_debug("cannot disable HLT/PAUSE exits: %s", strerror(-rc));
	if (vm->opt.pause_exit && vmm_pause_loop_exiting() == 0)
		log_warnx("-P: this host's KVM does not intercept PAUSE (no pause filter or "
			  "pause-loop exiting): PAUSE never exits the guest");
	rc = vmm_setup_platform(vm->vmm);
	if (rc < 0) {
		log_warnx("cannot create the in-kernel interrupt controllers: %s", strerror(-rc));
		return rc;
	}
	rc = vmm_enable_user_msr(vm->vmm);
	if (rc < 0) {
		log_warnx("KVM lacks user-space MSR exits (KVM_CAP_X86_USER_SPACE_MSR): %s",
			  strerror(-rc));
		return rc;
	}
	return 0;
}

static int vm_create_vcpus(struct vm *vm)
{
	unsigned i;
	int rc;

	vm->vcpus = calloc(vm->opt.ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->opt.ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		c->vm = vm;
		c->id = (int)i;
		rc = vmm_vcpu_create(vm->vmm, c->id, &c->v);
		if (!rc)
			rc = vmm_vcpu_set_cpuid(c->v, &vm->opt.topo, vm->opt.x2apic);
		if (rc) {
			log_warnx("cannot create vcpu %u: %s", i, strerror(-rc));
			return rc;
		}
		rc = vmm_stats_open(vmm_vcpu_fd(c->v), &c->kvm_stats);
		if (rc < 0)
			log_debug("vcpu %u: no KVM statistics: %s", i, strerror(-rc));
	}
	return 0;
}

/* The LPC devices: COM1-COM4 exist when the lpc bridge is configured and a
 * back end is given (bhyve -l comN,...). */
static int vm_init_com(struct vm *vm)
{
	static const char *const names[VM_NCOM] = { "com1", "com2", "com3", "com4" };
	int i, rc;

	for (i = 0; i < VM_NCOM; i++) {
		if (!vm->opt.com[i])
			continue;
		vm->com_irq[i] = (struct vm_irq){ vm, com_irq[i] };
		vm->com[i] = uart_new(vm_isa_irq, &vm->com_irq[i]);
		if (!vm->com[i])
			return -ENOMEM;
		uart_set_name(vm->com[i], names[i]);
		rc = uart_backend_open(vm->com[i], vm->opt.com[i], vm->loop, &vm->com_be[i]);
		if (rc < 0) {
			log_warnx("-l %s,%s: %s", names[i], vm->opt.com[i], strerror(-rc));
			return rc;
		}
		rc = inout_register(vm->io, com_port[i], 8, uart_inout, vm->com[i], names[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* SPEC §2 step 7: the bvm debug port (-g) and console (-b). */
static int vm_init_bvm(struct vm *vm)
{
	int rc;

	if (vm->opt.bvm_debug_port >= 0) {
		rc = bvm_debug_init(vm->io, vm->loop, vm->opt.bvm_debug_port, &vm->bvm_dbg);
		if (rc < 0) {
			log_warnx("-g %d: cannot listen on 127.0.0.1:%d: %s",
				  vm->opt.bvm_debug_port, vm->opt.bvm_debug_port, strerror(-rc));
			return rc;
		}
	}
	if (vm->opt.bvm_console) {
		rc = bvm_console_init(vm->io, vm->loop, &vm->bvm_cons);
		if (rc < 0) {
			log_warnx("-b: cannot set up the bvm console: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int vm_init_rtc(struct vm *vm)
{
	struct rtc_config cfg = {
		.irq = vm_isa_irq,
		.irq_arg = &vm->rtc_irq,
		.utc = !vm->opt.rtc_localtime,
		.lowmem = vm->lowmem,
		.highmem = vm->highmem,
	};
	int rc;

	vm->rtc_irq = (struct vm_irq){ vm, 8 };
	vm->rtc = rtc_new(&cfg);
	if (!vm->rtc)
		return -ENOMEM;
	rc = inout_register(vm->io, 0x70, 2, rtc_inout, vm->rtc, "rtc");
	if (!rc)
		rc = rtc_start(vm->rtc, vm->loop);
	return rc;
}

static int vm_pci_irq(void *ctx, unsigned gsi, int level)
{
	struct vm *vm = ctx;

	return vmm_irq_line(vm->vmm, gsi, level);
}

static int vm_pci_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;

	return vmm_signal_msi(vm->vmm, addr, data);
}

/* ioeventfd and irqfd for the PCI core (virtio notifications and MSI-X
 * vectors that bypass the vCPU thread). */
static int vm_pci_ioeventfd(void *ctx, bool pio, uint64_t addr, int len, bool datamatch,
			    uint64_t data, int fd, bool assign)
{
	struct vm *vm = ctx;
	struct vmm_ioeventfd e = {
		.addr = addr,
		.len = (uint32_t)len,
		.pio = pio,
		.match = datamatch,
		.datamatch = data,
		.fd = fd,
	};

	return vmm_ioeventfd(vm->vmm, &e, assign);
}

static int vm_pci_msi_route(void *ctx, int *gsi, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;

	return vmm_msi_route_set(vm->vmm, gsi, addr, data);
}

static int vm_pci_msi_route_del(void *ctx, int gsi)
{
	struct vm *vm = ctx;

	return vmm_msi_route_del(vm->vmm, gsi);
}

static int vm_pci_irqfd(void *ctx, int gsi, int fd, bool assign)
{
	struct vm *vm = ctx;

	return vmm_irqfd(vm->vmm, fd, (uint32_t)gsi, -1, assign);
}

/* The PCI bus exists always (configuration mechanism #1 and ECAM); the
 * devices are the -s slots. PCI INTx reaches the guest through the I/O APIC
 * (GSI 16-23), as ACPI's _PRT and the MP table say. */
static int vm_init_pci(struct vm *vm)
{
	struct pci_platform plat = {
		.io = vm->io,
		.mmio = vm->mmio,
		.gmem = &vm->gmem,
		.loop = vm->loop,
		.irq_line = vm_pci_irq,
		.msi = vm_pci_msi,
		.ctx = vm,
		.cf9_io = legacy_reset_control_io,
		.cf9_arg = vm,
		.ioeventfd = vm_pci_ioeventfd,
		.msi_route = vm_pci_msi_route,
		.msi_route_del = vm_pci_msi_route_del,
		.irqfd = vm_pci_irqfd,
	};
	char err[256] = "";
	int rc;

	pci_platform_set_windows(&plat, vm->highmem);
	vm->pci = pci_new(&plat);
	if (!vm->pci) {
		rc = -errno;
		log_warnx("cannot create the PCI bus: %s", strerror(errno));
		return rc;
	}
	pci_irq_reserve(vm->pci, PM_SCI_IRQ);
	rc = pci_init_devices(vm->pci, vm->opt.cfg, err, sizeof(err));
	if (rc < 0)
		log_warnx("%s", err[0] ? err : strerror(-rc));
	return rc;
}

static int vm_testdev_irq(void *ctx, unsigned pin, int level)
{
	struct vm *vm = ctx;

	return vmm_irq_line(vm->vmm, pin, level);
}

static void vm_testdev_exit(void *ctx, int status)
{
	vm_request_exit(ctx, status);
}

/* The test and firmware interfaces of the LPC bridge (bhyve(8) -l
 * pc-testdev, -l fwcfg,bhyve|qemu, -f), as main.c checked them. */
static int vm_init_fw_devices(struct vm *vm)
{
	const struct config *cfg = vm->opt.cfg;
	const char *flavour = cfg ? config_get(cfg, "lpc.fwcfg") : NULL;
	bool testdev = false;
	char err[256] = "";
	int rc = 0;

	if (cfg && config_get_bool(cfg, "lpc.pc-testdev", false, &testdev) == 0 && testdev) {
		struct pc_testdev_config tc = { vm_testdev_irq, vm_testdev_exit, vm,
						LAYOUT_IOAPIC_PINS };

		vm->pc_testdev = pc_testdev_new(&tc);
		rc = vm->pc_testdev ? pc_testdev_register(vm->pc_testdev, vm->io, vm->mmio)
				    : -ENOMEM;
		if (rc < 0) {
			log_warnx("-l pc-testdev: %s", strerror(-rc));
			return rc;
		}
	}
	if (flavour && strcmp(flavour, "qemu") == 0) {
		struct fwcfg_config fc = { &vm->gmem, vm->lowmem + vm->highmem,
					   (uint16_t)vm->opt.ncpus, (uint16_t)vm->opt.ncpus };

		vm->fwcfg = fwcfg_new(&fc);
		rc = vm->fwcfg ? fwcfg_add_config_files(vm->fwcfg, cfg, err, sizeof(err)) : -ENOMEM;
		if (!rc)
			rc = fwcfg_register(vm->fwcfg, vm->io);
	} else if (flavour && strcmp(flavour, "bhyve") == 0) {
		uint32_t ncpu = vm->opt.ncpus; /* bhyve's "hw.ncpu", an int */

		vm->fwctl = fwctl_new();
		rc = vm->fwctl ? fwctl_add(vm->fwctl, "hw.ncpu", &ncpu, sizeof(ncpu)) : -ENOMEM;
		if (!rc)
			rc = fwctl_register(vm->fwctl, vm->io);
	}
	if (rc < 0)
		log_warnx("-l fwcfg,%s: %s", flavour, err[0] ? err : strerror(-rc));
	return rc;
}

static int vm_init_devices(struct vm *vm)
{
	int rc;

	vm->io = inout_new();
	vm->mmio = mmio_new();
	vm->loop = mevent_loop_new();
	if (!vm->io || !vm->mmio || !vm->loop)
		return -ENOMEM;
	rc = legacy_init(vm);
	if (!rc)
		rc = vm_init_rtc(vm);
	if (!rc)
		rc = vm_init_pm(vm);
	if (rc < 0) {
		log_warnx("cannot initialise the platform devices: %s", strerror(-rc));
		return rc;
	}
	rc = vm_init_com(vm);
	if (!rc)
		rc = vm_init_fw_devices(vm);
	if (!rc)
		rc = vm_init_pci(vm);
	if (!rc)
		rc = vm_init_bvm(vm);
	return rc;
}

static void seg_to_kvm(const struct bzimage_seg *s, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->type;
	k->present = s->present;
	k->dpl = s->dpl;
	k->db = s->db;
	k->s = s->s;
	k->l = s->l;
	k->g = s->g;
}

static int vm_kernel_error(const struct vm *vm, int rc, const char *err)
{
	if (err[0])
		log_warnx("--kernel: %s", err);
	else
		log_warnx("--kernel %s: %s", vm->opt.kernel, strerror(-rc));
	return rc;
}

/* Multiboot (Multiboot Specification 0.6.96 §3.2): 32-bit protected mode,
 * paging off, flat segments, EAX the boot loader magic, EBX the
 * information structure. */
static int vm_load_multiboot(struct vm *vm, const struct e820_entry *map, int n)
{
	struct multiboot_boot boot;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	char err[256] = "";
	int rc;

	/* --initrd is the one boot module, as QEMU's -initrd does. */
	rc = multiboot_load_module(&vm->gmem, vm->opt.kernel, vm->opt.cmdline, vm->opt.initrd, map,
				   n, &boot, err, sizeof(err));
	if (rc < 0)
		return vm_kernel_error(vm, rc, err);
	rc = vmm_vcpu_get_sregs(vm->vcpus[0].v, &sregs);
	if (rc < 0)
		return rc;
	seg_to_kvm(&boot.cs, &sregs.cs);
	seg_to_kvm(&boot.ds, &sregs.ds);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	seg_to_kvm(&boot.tr, &sregs.tr);
	sregs.gdt.base = boot.gdt_base;
	sregs.gdt.limit = boot.gdt_limit;
	sregs.cr0 = boot.cr0;
	sregs.cr4 = boot.cr4;
	sregs.efer = boot.efer;
	rc = vmm_vcpu_set_sregs(vm->vcpus[0].v, &sregs);
	if (rc < 0)
		return rc;
	memset(&regs, 0, sizeof(regs));
	regs.rip = boot.eip;
	regs.rax = boot.eax;
	regs.rbx = boot.ebx;
	regs.rflags = boot.eflags;
	return vmm_vcpu_set_regs(vm->vcpus[0].v, &regs);
}

/* Direct Linux boot: the 64-bit boot protocol wants long mode with paging,
 * the kernel's code and data segments and RSI pointing at boot_params
 * (Linux boot protocol, "64-bit boot protocol"); a vmlinux is entered the
 * same way at its ELF entry point. */
static int vm_enter_64bit(struct vm *vm, const struct bzimage_boot *boot)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int rc;

	rc = vmm_vcpu_get_sregs(vm->vcpus[0].v, &sregs);
	if (rc < 0)
		return rc;
	seg_to_kvm(&boot->cs, &sregs.cs);
	seg_to_kvm(&boot->ds, &sregs.ds);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = boot->gdt_base;
	sregs.gdt.limit = boot->gdt_limit;
	seg_to_kvm(&boot->tr, &sregs.tr);
	sregs.cr0 = boot->cr0;
	sregs.cr3 = boot->cr3;
	sregs.cr4 = boot->cr4;
	sregs.efer = boot->efer;
	rc = vmm_vcpu_set_sregs(vm->vcpus[0].v, &sregs);
	if (rc < 0)
		return rc;
	memset(&regs, 0, sizeof(regs));
	regs.rip = boot->rip;
	regs.rsi = boot->rsi;
	regs.rflags = boot->rflags;
	return vmm_vcpu_set_regs(vm->vcpus[0].v, &regs);
}

static int vm_load_bzimage(struct vm *vm, const struct e820_entry *map, int n)
{
	struct bzimage_boot boot;
	char err[256] = "";
	int rc;

	rc = bzimage_load(&vm->gmem, vm->opt.kernel, vm->opt.initrd, vm->opt.cmdline, map, n, &boot,
			  err, sizeof(err));
	if (rc < 0)
		return vm_kernel_error(vm, rc, err);
	return vm_enter_64bit(vm, &boot);
}

/* An uncompressed ELF64 vmlinux: no decompressor runs in the guest. */
static int vm_load_vmlinux(struct vm *vm, const struct e820_entry *map, int n)
{
	struct bzimage_boot boot;
	char err[256] = "";
	int rc;

	rc = vmlinux_load(&vm->gmem, vm->opt.kernel, vm->opt.initrd, vm->opt.cmdline, map, n, &boot,
			  err, sizeof(err));
	if (rc < 0)
		return vm_kernel_error(vm, rc, err);
	log_debug("vmlinux: 0x%llx-0x%llx, entry 0x%llx", (unsigned long long)boot.kernel_gpa,
		  (unsigned long long)boot.kernel_gpa + boot.kernel_size,
		  (unsigned long long)boot.rip);
	return vm_enter_64bit(vm, &boot);
}

/* --kernel takes a Multiboot kernel (found by its header, Multiboot 0.6.96
 * §3.1.1), an ELF64 Linux vmlinux (any other ELF file: the Multiboot
 * header is looked for first) or a Linux bzImage. */
static int vm_load_kernel(struct vm *vm)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n, rc;

	n = e820_build(vm->lowmem, vm->highmem, map, E820_MAX_ENTRIES);
	if (n < 0) {
		log_warnx("cannot build the memory map: %s", strerror(-n));
		return n;
	}
	rc = multiboot_probe(vm->opt.kernel);
	if (rc < 0) {
		log_warnx("--kernel %s: %s", vm->opt.kernel, strerror(-rc));
		return rc;
	}
	if (rc > 0)
		return vm_load_multiboot(vm, map, n);
	rc = vmlinux_probe(vm->opt.kernel);
	if (rc < 0) {
		log_warnx("--kernel %s: %s", vm->opt.kernel, strerror(-rc));
		return rc;
	}
	if (rc > 0)
		return vm_load_vmlinux(vm, map, n);
	return vm_load_bzimage(vm, map, n);
}

struct intx_list {
	struct mptable_pci_intr e[PCI_NSLOT * 4];
	int n;
};

static void vm_collect_intx(void *arg, int bus, int slot, int pin, unsigned gsi)
{
	struct intx_list *l = arg;

	if (l->n >= (int)(sizeof(l->e) / sizeof(l->e[0])) || bus != 0)
		return;
	l->e[l->n++] =
	    (struct mptable_pci_intr){ (uint8_t)bus, (uint8_t)slot, (uint8_t)pin, (uint8_t)gsi };
}

static int vm_build_mptable(struct vm *vm)
{
	struct mptable_config cfg = { .ncpus = (int)vm->opt.ncpus };
	struct intx_list intx = { .n = 0 };
	int rc;

	/* The same INTx routing as ACPI's _PRT (SPEC §4: consistent tables). */
	pci_intx_walk(vm->pci, vm_collect_intx, &intx);
	cfg.pci_intr = intx.e;
	cfg.npci_intr = intx.n;
	if (!vm->opt.mptable)
		return 0;
	if (vm->opt.ncpus > MPTABLE_MAX_CPUS) {
		log_warnx("the MP table holds at most %d vCPUs; use -Y to omit it",
			  MPTABLE_MAX_CPUS);
		return -EINVAL;
	}
	rc = mptable_build(&vm->gmem, LAYOUT_MPTABLE_BASE, LAYOUT_MPTABLE_SIZE, &cfg);
	if (rc < 0)
		log_warnx("cannot build the MP table: %s", strerror(-rc));
	return rc < 0 ? rc : 0;
}

/* SMBIOS is always built (SPEC §4); the UUID is -U's or one derived from
 * the host and VM names, so it is stable across runs. */
static int vm_build_smbios(struct vm *vm)
{
	struct smbios_config cfg = {
		.lowmem = vm->lowmem,
		.highmem = vm->highmem,
		.sockets = vm->opt.topo.sockets,
		.cores = vm->opt.topo.cores,
		.threads = vm->opt.topo.threads,
		.acpi = vm->opt.acpi,
	};
	char host[256] = "";
	int rc;

	if (vm->opt.have_uuid) {
		memcpy(cfg.uuid, vm->opt.uuid, sizeof(cfg.uuid));
	} else {
		gethostname(host, sizeof(host) - 1);
		smbios_default_uuid(host, vm->opt.name, cfg.uuid);
	}
	rc = smbios_build(&vm->gmem, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &cfg);
	if (rc < 0)
		log_warnx("cannot build the SMBIOS tables: %s", strerror(-rc));
	return rc < 0 ? rc : 0;
}

static int vm_build_acpi(struct vm *vm)
{
	struct acpi_config cfg;
	struct pci_windows win;
	uint64_t rsdp;
	int i, rc;

	if (!vm->opt.acpi)
		return 0;
	acpi_config_init(&cfg);
	cfg.ncpus = vm->opt.ncpus;
	cfg.lpc = vm->opt.lpc;
	cfg.lpc_slot = (uint8_t)vm->opt.lpc_slot;
	cfg.lpc_func = (uint8_t)vm->opt.lpc_func;
	for (i = 0; i < VM_NCOM && i < ACPI_NCOM; i++)
		cfg.com[i] = vm->opt.com[i] != NULL;
	if (pci_bus_windows(vm->pci, 0, &win) == 0) {
		cfg.pci32_base = win.mem32_base;
		cfg.pci32_end = win.mem32_limit;
		cfg.pci64_base = win.mem64_base;
		cfg.pci64_size = win.mem64_limit - win.mem64_base;
	}
	pci_prt(vm->pci, cfg.prt_gsi);
	for (i = PCI_NBUS - 1; i > 0; i--)
		if (pci_bus_present(vm->pci, i))
			break;
	cfg.last_bus = (uint8_t)i;
	rc = acpi_build(&vm->gmem, LAYOUT_ACPI_BASE, LAYOUT_ACPI_SIZE, &cfg, &rsdp);
	if (rc < 0)
		log_warnx("cannot build the ACPI tables: %s", strerror(-rc));
	return rc < 0 ? rc : 0;
}

static int vm_build_tables(struct vm *vm)
{
	int rc = vm_build_mptable(vm);

	if (!rc)
		rc = vm_build_smbios(vm);
	if (!rc)
		rc = vm_build_acpi(vm);
	return rc;
}

int vm_create(const struct vm_options *opt, struct vm **out)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int rc;

	if (!vm)
		return -ENOMEM;
	vm->opt = *opt;
	vm->exit_status = VM_EXIT_RUNNING;
	vm->sigfd = -1;
	*out = vm;
	rc = vm_setup_kvm(vm);
	if (!rc)
		rc = vm_create_vcpus(vm);
	if (!rc)
		rc = vm_setup_memory(vm);
	if (!rc)
		rc = vm_init_devices(vm);
	if (!rc)
		rc = vm_build_tables(vm);
	if (!rc)
		rc = vm_load_kernel(vm);
	if (!rc)
		rc = gdb_start(vm, &vm->gdb);
	return rc;
}

int vm_run(struct vm *vm)
{
	struct sigaction sa;
	sigset_t mask;
	char pname[16];
	unsigned i;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler; /* no SA_RESTART: KVM_RUN must return */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	/* Blocked before any vCPU thread exists, so only the signalfd sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	vm->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (vm->sigfd >= 0)
		vm->sig_ev = mevent_add_read(vm->loop, vm->sigfd, vm_signal, vm);
	if (!vm->sig_ev)
		log_warn("cannot watch for SIGTERM and SIGUSR1");
	vm->halt_timer =
	    mevent_add_timer(vm->loop, HALT_CHECK_NS, HALT_CHECK_NS, vm_halt_check, vm);
	if (!vm->halt_timer)
		log_warn("cannot start the halt detector");
	snprintf(pname, sizeof(pname), "bhyve: %s", vm->opt.name);
	prctl(PR_SET_NAME, pname);
	for (i = 0; i < vm->opt.ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		rc = thread_create(&c->thread, vcpu_thread, c);
		if (rc != 0) {
			log_warnx("cannot start vcpu %u: %s", i, strerror(rc));
			vm_request_exit(vm, VM_EXIT_ERROR);
			break;
		}
		c->started = true;
	}
	/* Start-up is over: from here the main thread only serves devices. */
	rc = sandbox_enter(SANDBOX_MAIN, "main");
	if (rc < 0) {
		log_warnx("cannot confine the main thread: %s", strerror(-rc));
		vm_request_exit(vm, VM_EXIT_ERROR);
	}
	rc = mevent_loop_run(vm->loop);
	if (rc < 0) {
		log_warnx("event loop failed: %s", strerror(-rc));
		vm_request_exit(vm, VM_EXIT_ERROR);
	}
	for (i = 0; i < vm->opt.ncpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	}
	if (getenv("BHYVE_DEBUG"))
		vm_print_stats(vm);
	return vm->exit_status;
}

/* Release everything vm_create() and vm_run() made, devices before the
 * dispatchers and the loop they registered with. No vCPU thread may run. */
void vm_destroy(struct vm *vm)
{
	unsigned i;

	if (!vm)
		return;
	if (vm->pci)
		pci_free(vm->pci);
	bvm_close(vm->io, vm->bvm_dbg);
	bvm_close(vm->io, vm->bvm_cons);
	for (i = 0; i < VM_NCOM; i++) {
		uart_backend_close(vm->com_be[i]);
		uart_free(vm->com[i]);
	}
	rtc_free(vm->rtc);
	pc_testdev_free(vm->pc_testdev);
	fwcfg_free(vm->fwcfg);
	fwctl_free(vm->fwctl);
	pm_free(vm->pm);
	if (vm->halt_timer)
		mevent_del(vm->halt_timer);
	if (vm->sig_ev)
		mevent_del(vm->sig_ev);
	if (vm->sigfd >= 0)
		close(vm->sigfd);
	mevent_loop_free(vm->loop);
	for (i = 0; vm->vcpus && i < vm->opt.ncpus; i++) {
		vmm_stats_close(vm->vcpus[i].kvm_stats);
		vmm_vcpu_destroy(vm->vcpus[i].v);
	}
	free(vm->vcpus);
	vmm_destroy(vm->vmm);
	if (vm->mem)
		munmap(vm->mem, vm->opt.memsize);
	inout_free(vm->io);
	mmio_free(vm->mmio);
	free(vm);
}
