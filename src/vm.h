/* The virtual machine: guest memory, dispatchers, devices and vCPU threads.
 * One struct vm is passed explicitly everywhere; nothing here is global. */
#ifndef BHYVE_VM_H
#define BHYVE_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "vmm/vmm.h"

struct inout;
struct mmio;
struct mevent_loop;
struct uart;
struct uart_backend;
struct rtc;
struct pm;
struct pci;
struct config;
struct mevent;
struct gdb;
struct bvm;
struct pc_testdev;
struct fwcfg;
struct fwctl;

/* Exit statuses of the process, bhyve(8). */
enum vm_exit_status {
	VM_EXIT_RUNNING = -1,
	VM_EXIT_REBOOT = 0,
	VM_EXIT_POWEROFF = 1,
	VM_EXIT_HALT = 2,
	VM_EXIT_TRIPLEFAULT = 3,
	VM_EXIT_ERROR = 4,
};

#define VM_NCOM	     4
#define VM_MAX_VCPUS 1024

/* Everything the runner was asked for, resolved from the config tree. */
struct vm_options {
	const char *name;
	unsigned ncpus;
	struct vmm_topology topo;
	uint64_t memsize;
	bool x2apic;
	bool strict_io;
	bool strict_msr;
	bool hlt_exit;
	bool pause_exit;
	bool wired;
	bool guest_in_core;
	bool mptable;
	bool rtc_localtime;
	bool lpc;
	int lpc_slot, lpc_func;
	bool acpi;
	bool have_uuid;
	uint8_t uuid[16]; /* -U, RFC 4122 byte order */
	int *pin;	  /* [ncpus]: host CPU or -1 */
	const char *com[VM_NCOM];
	bool bvm_console;   /* -b */
	int bvm_debug_port; /* -g, -1: none */
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *kvm_path;
	const struct config *cfg; /* the tree, for device models (pci.B.S.F...) */
};

/* Counters kept per VM (SPEC §3). */
struct vm_stats {
	uint64_t bogus;
	uint64_t hlt;
	uint64_t pause;
	uint64_t mtrap;
	uint64_t inst_emul;
	uint64_t io_reset;
	uint64_t unhandled_io;
	uint64_t unhandled_msr;
};

struct vcpu {
	struct vm *vm;
	int id;
	struct vmm_vcpu *v;
	/* KVM's statistics of this vCPU (vmm_stats.h), NULL when the kernel has
	 * none: opened before the vCPU runs, since KVM_GET_STATS_FD waits for
	 * KVM_RUN to return. */
	struct vmm_stats *kvm_stats;
	pthread_t thread;
	bool started;
	/* Halt detection (vm.c): the main thread asks for a sample by bumping
	 * sample_req and kicking; the vCPU thread answers in sample_seq. */
	unsigned sample_req;
	unsigned sample_seq;
	bool halted;
	uint64_t halted_rip;
};

struct vm_irq {
	struct vm *vm;
	unsigned irq;
};

struct vm {
	struct vm_options opt;
	struct vmm *vmm;
	struct gmem gmem;
	uint8_t *mem;
	uint64_t lowmem;
	uint64_t highmem;
	struct inout *io;
	struct mmio *mmio;
	struct mevent_loop *loop;
	struct vcpu *vcpus;
	int exit_status;
	uint8_t reset_control; /* port 0xCF9 */
	struct vm_stats stats;
	struct uart *com[VM_NCOM];
	struct uart_backend *com_be[VM_NCOM];
	struct vm_irq com_irq[VM_NCOM];
	struct bvm *bvm_cons;
	struct bvm *bvm_dbg;
	struct rtc *rtc;
	struct vm_irq rtc_irq;
	struct pm *pm;
	struct pc_testdev *pc_testdev; /* -l pc-testdev */
	struct fwcfg *fwcfg;	       /* -l fwcfg,qemu */
	struct fwctl *fwctl;	       /* -l fwcfg,bhyve */
	struct pci *pci;
	struct vm_irq sci_irq;
	struct mevent *halt_timer;
	unsigned halt_round;
	unsigned halt_streak;
	int sigfd;
	struct mevent *sig_ev;
	struct gdb *gdb; /* -G: the GDB stub, or NULL */
};

/* Build the VM: KVM, memory, devices, firmware tables, boot state. On error
 * a message has been printed and the return is negative. */
int vm_create(const struct vm_options *opt, struct vm **out);
/* Run until the guest's outcome is known; returns the exit status. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);
/* First caller wins: record the outcome and stop every vCPU and the loop. */
void vm_request_exit(struct vm *vm, int status);
/* Interrupt line callback for ISA devices (arg is a struct vm_irq). */
void vm_isa_irq(void *arg, int level);
/* Run a vCPU thread (vcpu.c). */
void *vcpu_thread(void *arg);
void vm_stats_add(uint64_t *counter);
/* On the vCPU's own thread: record whether it sits halted with interrupts
 * disabled (vcpu.c). */
void vcpu_sample_halt(struct vcpu *c);
/* Kick a vCPU out of guest mode (vm.c). */
void vm_kick_vcpu(struct vcpu *c);

#endif
