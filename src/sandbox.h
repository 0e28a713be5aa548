/* The runner confines itself once started (issue 9): every thread drops its
 * capabilities, sets no_new_privs and installs the seccomp-bpf allow-list of
 * its kind, one filter per kind of thread as Firecracker does.  A system
 * call outside the list is not executed: the thread gets SIGSYS, one line
 * naming the VM, the thread and the call goes to stderr and the process
 * exits with status 4 (SPEC §3, "exited on an error").
 *
 * sandbox_configure() runs once, on the main thread, before any other
 * thread exists; until it has run, sandbox_enter() does nothing (unit tests
 * and tools that build VMs are never confined).  Each thread enters its
 * sandbox at its start (vcpu.c, blockif.c, gdb.c, net_slirp.c), the main
 * thread once start-up is over (vm_run()).  No confined thread may create
 * threads: every thread is started before its creator enters. */
#ifndef BHYVE_SANDBOX_H
#define BHYVE_SANDBOX_H

#include <stdbool.h>

enum sandbox_kind {
	SANDBOX_MAIN,	  /* the event loop: device back ends, signals, teardown */
	SANDBOX_VCPU,	  /* KVM_RUN and the device emulation of VM exits */
	SANDBOX_BLOCK_IO, /* blockif's I/O threads */
	SANDBOX_GDB,	  /* the GDB stub */
	SANDBOX_NET,	  /* libslirp's thread: host sockets for the guest's flows */
	SANDBOX_NKINDS,
};

/* The exit status after a forbidden system call. */
#define SANDBOX_EXIT_STATUS 4

/* Record the VM name for reports, install the SIGSYS reporter and compile
 * the filters.  With filters false, threads still drop their capabilities
 * but install no filter (-o seccomp=false, --no-seccomp).  cleanup, when
 * not NULL, runs before the process exits on a forbidden call; it must be
 * async-signal-safe (it runs in the SIGSYS handler).  0 or a negative
 * errno (-ENOSYS: the kernel has no seccomp filters). */
int sandbox_configure(const char *vm_name, bool filters, void (*cleanup)(void));
/* On the calling thread, for good: empty its capability sets (the bounding
 * set too when it holds CAP_SETPCAP), set no_new_privs, install the filter
 * of kind.  name ("vcpu 0", "blk io", "main") is what a report calls the
 * thread.  0 or a negative errno; nothing is done before configuration. */
int sandbox_enter(enum sandbox_kind kind, const char *name);
/* True once configured with filters. */
bool sandbox_filters_on(void);
/* The name of system call nr on this architecture ("execve"), or NULL when
 * unknown or not configured; safe in a signal handler. */
const char *sandbox_syscall_name(long nr);

#endif
