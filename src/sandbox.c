/* Confinement of the runner's threads (sandbox.h, issue 9).
 *
 * The filters are built with libseccomp (seccomp(2), seccomp_rule_add(3)):
 * it generates the architecture check, compares 64-bit arguments correctly
 * and names any system call number for the report, which a hand-written
 * BPF program would have to duplicate.  It runs only in
 * sandbox_configure(): each kind's program is exported to memory there, so
 * a thread entering its sandbox only drops its capabilities and loads its
 * program (capset(2), prctl(2), seccomp(2)): no allocation, no lock.
 *
 * A forbidden call returns SECCOMP_RET_TRAP: the call is not executed, the
 * kernel sends SIGSYS to the thread, and the handler writes the report with
 * write(2) only, then ends the process with _exit(4).  The same handler
 * guards every thread, so this module keeps process-wide state: written
 * once before any other thread exists, read-only afterwards.
 *
 * Capabilities and no_new_privs are per thread in Linux (capset(2),
 * PR_SET_NO_NEW_PRIVS): each thread drops its own in sandbox_enter(), and
 * the threads created later inherit the emptied sets. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SB_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_SANITIZER 1
#endif
#endif

#define SB_NR_MAX   512 /* x86-64 numbers in use are below 460 */
#define SB_NAME_MAX 32	/* the longest x86-64 name has 22 characters */
#define SB_NO_ARG   6	/* sb_rule.arg: allowed whatever the arguments */
#define SB_ARG32    0xffffffffull

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS (linux/signal.h) */
#endif

/* Allowed when (argument arg & mask) == value, or always with SB_NO_ARG. */
struct sb_rule {
	const char *call;
	unsigned arg;
	uint64_t mask;
	uint64_t value;
};

/* A piece of a filter: calls allowed outright, calls allowed by argument,
 * ioctl request numbers allowed on any descriptor. */
struct sb_set {
	const char *const *calls;
	size_t ncalls;
	const struct sb_rule *rules;
	size_t nrules;
	const unsigned long *ioctls;
	size_t nioctls;
};

#define N(a)	     (sizeof(a) / sizeof((a)[0]))
#define SB_CALLS(a)  .calls = (a), .ncalls = N(a)
#define SB_RULES(a)  .rules = (a), .nrules = N(a)
#define SB_IOCTLS(a) .ioctls = (a), .nioctls = N(a)

/* ---- What every thread does ---- */

/* glibc's own needs (malloc, locks, time, signals, exit) and I/O on the
 * descriptors the thread was given; the kick signal and fatal_signal()
 * (main.c) run on any thread. */
/* clang-format off */
static const char *const base_calls[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fstat",
	"futex", "sched_yield", "getrandom", "madvise", "munmap", "mremap", "brk",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"rt_sigprocmask", "rt_sigreturn", "rt_sigaction", "sigaltstack", "restart_syscall",
	"getpid", "gettid", "tgkill", "exit", "exit_group",
};
/* clang-format on */

static const struct sb_rule base_rules[] = {
	/* No new executable memory: malloc and thread stacks never need it. */
	{ "mmap", 2, PROT_EXEC, 0 },
	{ "mprotect", 2, PROT_EXEC, 0 },
	/* glibc's fstat(fd) is newfstatat(fd, "", buf, AT_EMPTY_PATH). */
	{ "newfstatat", 3, AT_EMPTY_PATH, AT_EMPTY_PATH },
	{ "fcntl", 1, SB_ARG32, F_GETFD },
	{ "fcntl", 1, SB_ARG32, F_SETFD },
	{ "fcntl", 1, SB_ARG32, F_GETFL },
	{ "fcntl", 1, SB_ARG32, F_SETFL },
	{ "fcntl", 1, SB_ARG32, F_DUPFD_CLOEXEC },
};

/* Terminal attributes: isatty() and the restoring of a raw console. */
static const unsigned long tty_ioctls[] = { TCGETS, TCSETS, TCSETSW, TCSETSF };

static const struct sb_set base_set = {
	SB_CALLS(base_calls),
	SB_RULES(base_rules),
	SB_IOCTLS(tty_ioctls),
};

/* ---- Sets by duty ---- */

/* Interrupts from devices: KVM_IRQ_LINE and KVM_SIGNAL_MSI from whichever
 * thread completes a request; ioeventfd, irqfd and MSI routes change when
 * the guest programs a device (vCPU) or a device starts (main loop). */
static const unsigned long irq_ioctls[] = {
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IOEVENTFD, KVM_IRQFD, KVM_SET_GSI_ROUTING,
};

static const struct sb_set irq_set = { SB_IOCTLS(irq_ioctls) };

/* A vCPU's state, read and written by its own thread (halt sampling, debug
 * exits) and by the GDB stub while the vCPU is parked. */
static const unsigned long vcpu_state_ioctls[] = {
	KVM_GET_REGS,	     KVM_SET_REGS,	  KVM_GET_SREGS,     KVM_SET_SREGS,
	KVM_GET_MSRS,	     KVM_SET_MSRS,	  KVM_GET_MP_STATE,  KVM_SET_MP_STATE,
	KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
	KVM_TRANSLATE,	     KVM_SET_GUEST_DEBUG,
};

static const struct sb_set vcpu_state_set = { SB_IOCTLS(vcpu_state_ioctls) };

static const unsigned long run_ioctls[] = { KVM_RUN };

static const struct sb_set run_set = { SB_IOCTLS(run_ioctls) };

/* mevent (src/mevent.c) from any thread: device emulation on a vCPU thread
 * arms timers and watches, and creates the eventfds of ioeventfd/irqfd
 * when the guest starts a virtio device. */
static const char *const loop_calls[] = {
	"epoll_ctl", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
};

static const struct sb_set loop_set = { SB_CALLS(loop_calls) };

/* Device back ends, driven from the main loop or straight from a vCPU
 * thread: console output (uart, bvm, virtio-console) to sockets without
 * blocking; a tap's offloads follow the features the guest accepts. */
static const char *const dev_io_calls[] = { "sendto", "sendmsg" };
static const unsigned long tun_ioctls[] = { TUNSETOFFLOAD };

static const struct sb_set dev_io_set = { SB_CALLS(dev_io_calls), SB_IOCTLS(tun_ioctls) };

/* The main loop: epoll, signalfd, listeners already bound at start-up
 * (uart tcp/unix, virtio-console ports, bvm -g) and their clients; the
 * removal of the console socket files at exit. */
/* clang-format off */
static const char *const main_calls[] = {
	"epoll_wait", "epoll_pwait", "poll", "ppoll", "accept", "accept4", "recvfrom", "recvmsg",
	"shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername", "unlink",
	"unlinkat",
};
/* clang-format on */

/* User-mode networking (libslirp, src/net/net_slirp.c) opens and connects
 * sockets for the guest's flows, Internet families only, on its own thread:
 * no other thread may create a socket. */
static const char *const inet_calls[] = { "connect", "bind", "listen" };
static const struct sb_rule inet_rules[] = {
	{ "socket", 0, SB_ARG32, AF_INET },
	{ "socket", 0, SB_ARG32, AF_INET6 },
};

static const struct sb_set main_set = { SB_CALLS(main_calls) };
static const struct sb_set inet_set = { SB_CALLS(inet_calls), SB_RULES(inet_rules) };

/* libslirp's own thread (src/net/net_slirp.c): polling and serving the
 * sockets of the guest's flows; the size of a waiting UDP datagram
 * (FIONREAD); re-reading /etc/resolv.conf for its DNS forwarder (stat, then
 * a read-only open). */
/* clang-format off */
static const char *const net_calls[] = {
	"poll", "ppoll", "accept", "accept4", "recvfrom", "recvmsg", "sendto", "sendmsg",
	"shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername", "newfstatat",
};
/* clang-format on */
static const struct sb_rule net_rules[] = {
	{ "openat", 2, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY },
};
static const unsigned long net_ioctls[] = { FIONREAD };

static const struct sb_set net_set = { SB_CALLS(net_calls), SB_RULES(net_rules),
				       SB_IOCTLS(net_ioctls) };

/* blockif's aio=io_uring: requests are submitted from the main loop and
 * vCPU threads and reaped on its completion thread.  Only io_uring_enter:
 * the one ring was made and restricted to its operations at start-up
 * (IORING_REGISTER_RESTRICTIONS), no thread can set up another. */
static const char *const aio_calls[] = { "io_uring_enter" };

static const struct sb_set aio_set = { SB_CALLS(aio_calls) };

/* blockif: vectored I/O on the image, flushes, holes and zeroes. */
static const char *const block_calls[] = {
	"preadv", "pwritev", "preadv2", "pwritev2", "fdatasync", "fsync", "fallocate",
};
static const unsigned long block_ioctls[] = { BLKDISCARD, BLKZEROOUT };

static const struct sb_set block_set = { SB_CALLS(block_calls), SB_IOCTLS(block_ioctls) };

/* The GDB stub: its listener and the one debugger connection. */
static const char *const gdb_calls[] = {
	"poll", "ppoll", "accept", "accept4", "recvfrom", "sendto", "setsockopt", "shutdown",
};

static const struct sb_set gdb_set = { SB_CALLS(gdb_calls) };

#ifdef SB_SANITIZER
/* The sanitizers' run-time (make asan): a report reads /proc/self/maps and
 * the executable to symbolize its stacks, and LeakSanitizer's check at exit
 * stops the threads from a helper it clone()s, which ptrace()s them and
 * lists /proc/PID/task (getdents).  Never part of a normal build. */
/* clang-format off */
static const char *const san_calls[] = {
	"open", "openat", "readlink", "lseek", "getdents", "getdents64", "newfstatat", "pipe2",
	"prctl", "getppid", "clone", "ptrace", "wait4",
};
/* clang-format on */

static const struct sb_set san_set = { SB_CALLS(san_calls) };
#define SB_SAN &san_set,
#else
#define SB_SAN
#endif

#define SB_MAX_SETS 10

static const struct sb_set *const kind_sets[SANDBOX_NKINDS][SB_MAX_SETS] = {
	[SANDBOX_MAIN] = { &base_set, &irq_set, &loop_set, &dev_io_set, &aio_set, &main_set,
			   SB_SAN },
	[SANDBOX_VCPU] = { &base_set, &irq_set, &vcpu_state_set, &run_set, &loop_set, &dev_io_set,
			   &aio_set, SB_SAN },
	[SANDBOX_BLOCK_IO] = { &base_set, &irq_set, &aio_set, &block_set, SB_SAN },
	[SANDBOX_GDB] = { &base_set, &vcpu_state_set, &gdb_set, SB_SAN },
	[SANDBOX_NET] = { &base_set, &net_set, &inet_set, SB_SAN },
};

/* ---- Process-wide state (see the top of the file) ---- */

static struct {
	bool configured;
	bool filters;
	int last_cap;
	uint32_t arch; /* AUDIT_ARCH_* of the native calls, as SIGSYS reports it */
	void (*cleanup)(void);
	char vm_name[64];
	struct sock_fprog prog[SANDBOX_NKINDS];
	char names[SB_NR_MAX][SB_NAME_MAX];
} sb;

static __thread char sb_thread_name[16];
static __thread int sb_in_handler;
static int sb_reported;

/* ---- Building the filters ---- */

static int add_rule(scmp_filter_ctx ctx, const char *call, unsigned arg, uint64_t mask,
		    uint64_t value)
{
	struct scmp_arg_cmp cmp = {
		.arg = arg,
		.op = SCMP_CMP_MASKED_EQ,
		.datum_a = mask,
		.datum_b = value,
	};
	int nr = seccomp_syscall_resolve_name(call);
	int rc;

	/* A name this libseccomp does not know cannot be made either. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	if (arg == SB_NO_ARG)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	else
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
	return rc == -EEXIST ? 0 : rc;
}

static int add_set(scmp_filter_ctx ctx, const struct sb_set *s)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < s->ncalls && !rc; i++)
		rc = add_rule(ctx, s->calls[i], SB_NO_ARG, 0, 0);
	for (i = 0; i < s->nrules && !rc; i++)
		rc = add_rule(ctx, s->rules[i].call, s->rules[i].arg, s->rules[i].mask,
			      s->rules[i].value);
	/* The kernel reads the request as an unsigned int (ioctl(2)). */
	for (i = 0; i < s->nioctls && !rc; i++)
		rc = add_rule(ctx, "ioctl", 1, SB_ARG32, s->ioctls[i]);
	return rc;
}

/* The BPF program libseccomp generated, copied into memory. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	struct sock_filter *insns = NULL;
	int fd = memfd_create("bhyve-seccomp", MFD_CLOEXEC);
	off_t len;
	int rc;

	if (fd < 0)
		return -errno;
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		goto out;
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % (off_t)sizeof(*insns) || len / (off_t)sizeof(*insns) > BPF_MAXINSNS) {
		rc = -E2BIG;
		goto out;
	}
	insns = malloc((size_t)len);
	if (!insns) {
		rc = -ENOMEM;
		goto out;
	}
	if (pread(fd, insns, (size_t)len, 0) != len) {
		rc = -EIO;
		goto out;
	}
	prog->len = (unsigned short)(len / (off_t)sizeof(*insns));
	prog->filter = insns;
	insns = NULL;
out:
	free(insns);
	close(fd);
	return rc;
}

static int build_filter(enum sandbox_kind kind, struct sock_fprog *prog)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	size_t i;
	int rc;

	if (!ctx)
		return -ENOMEM;
	/* Another architecture's calls (x32, i386 through int 0x80) are
	 * refused and reported the same way. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	/* A binary tree of the call numbers where libseccomp has one. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (i = 0; i < SB_MAX_SETS && kind_sets[kind][i] && !rc; i++)
		rc = add_set(ctx, kind_sets[kind][i]);
	if (!rc)
		rc = export_prog(ctx, prog);
	seccomp_release(ctx);
	return rc;
}

/* Names for the report, resolved now: the SIGSYS handler may not allocate. */
static void resolve_names(void)
{
	int nr;

	for (nr = 0; nr < SB_NR_MAX; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (!name)
			continue;
		strncpy(sb.names[nr], name, SB_NAME_MAX - 1);
		free(name);
	}
}

const char *sandbox_syscall_name(long nr)
{
	if (nr < 0 || nr >= SB_NR_MAX || !sb.names[nr][0])
		return NULL;
	return sb.names[nr];
}

/* ---- The report ---- */

struct sb_line {
	char buf[256];
	size_t len;
};

static void put_str(struct sb_line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_num(struct sb_line *l, long v)
{
	char digits[24];
	size_t n = 0;
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		put_str(l, "-");
	while (n > 0 && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = digits[--n];
}

/* Async-signal-safe: a raw write(2), the name table, _exit(2). */
static void on_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	const char *name;
	struct sb_line l = { .len = 0 };

	(void)ucontext;
	if (si->si_code != SYS_SECCOMP) {
		/* Not from a filter (kill -SYS): the default action. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	/* A forbidden call inside the cleanup: no second report. */
	if (sb_in_handler)
		_exit(SANDBOX_EXIT_STATUS);
	sb_in_handler = 1;
	name = (uint32_t)si->si_arch == sb.arch ? sandbox_syscall_name(si->si_syscall) : NULL;
	put_str(&l, "bhyve: ");
	put_str(&l, sb.vm_name);
	put_str(&l, ": seccomp: thread \"");
	put_str(&l, sb_thread_name[0] ? sb_thread_name : "?");
	put_str(&l, "\" (tid ");
	put_num(&l, (long)gettid());
	put_str(&l, ") made the forbidden system call ");
	put_num(&l, si->si_syscall);
	put_str(&l, " (");
	put_str(&l, name ? name : "unknown");
	if ((uint32_t)si->si_arch != sb.arch)
		put_str(&l, ", foreign architecture");
	put_str(&l, "); exiting\r\n");
	/* The raw call: no sanitizer interceptor runs in the handler (it may
	 * run in LeakSanitizer's tracer, where those must not). */
	if (syscall(SYS_write, STDERR_FILENO, l.buf, l.len) < 0)
		l.len = 0;
	/* The first report restores what cleanup restores (the terminal). */
	if (!__atomic_exchange_n(&sb_reported, 1, __ATOMIC_SEQ_CST) && sb.cleanup)
		sb.cleanup();
	_exit(SANDBOX_EXIT_STATUS);
}

/* ---- Configuration ---- */

/* The highest capability number this kernel knows (capabilities(7)). */
static int probe_last_cap(void)
{
	int c = 0;

	while (c < 64 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0)
		c++;
	return c - 1;
}

static int probe_seccomp(void)
{
	uint32_t action = SECCOMP_RET_TRAP;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
		return -ENOSYS;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS ? -ENOSYS : -errno;
	return 0;
}

int sandbox_configure(const char *vm_name, bool filters, void (*cleanup)(void))
{
	struct sigaction sa;
	int i, rc;

	if (sb.configured)
		return -EALREADY;
	strncpy(sb.vm_name, vm_name ? vm_name : "", sizeof(sb.vm_name) - 1);
	sb.cleanup = cleanup;
	sb.last_cap = probe_last_cap();
	/* localtime_r() reads the time zone file once, at its first use,
	 * which may be a vCPU thread reading the RTC: read it now. */
	tzset();
	if (filters) {
		rc = probe_seccomp();
		for (i = 0; i < SANDBOX_NKINDS && !rc; i++)
			rc = build_filter((enum sandbox_kind)i, &sb.prog[i]);
		if (rc < 0)
			return rc;
		resolve_names();
		sb.arch = seccomp_arch_native();
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0)
			return -errno;
	}
	sb.filters = filters;
	sb.configured = true;
	return 0;
}

bool sandbox_filters_on(void)
{
	return sb.configured && sb.filters;
}

/* ---- Entering ---- */

static int cap_get(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

static int cap_set(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* Empty this thread's bounding set (needs CAP_SETPCAP, raised from the
 * permitted set when it is there), then its effective, permitted and
 * inheritable sets, which also empties the ambient set (capabilities(7)). */
static int drop_caps(void)
{
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const uint32_t setpcap = 1u << CAP_SETPCAP;
	int c, rc;

	memset(data, 0, sizeof(data));
	rc = cap_get(data);
	if (rc < 0)
		return rc;
	if ((data[0].permitted & setpcap) && !(data[0].effective & setpcap)) {
		data[0].effective |= setpcap;
		rc = cap_set(data);
		if (rc < 0)
			return rc;
	}
	if (data[0].permitted & setpcap) {
		for (c = 0; c <= sb.last_cap; c++) {
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
				return -errno;
		}
	}
	memset(data, 0, sizeof(data));
	return cap_set(data);
}

int sandbox_enter(enum sandbox_kind kind, const char *name)
{
	int rc;

	if (!sb.configured)
		return 0;
	if ((unsigned)kind >= SANDBOX_NKINDS)
		return -EINVAL;
	strncpy(sb_thread_name, name ? name : "", sizeof(sb_thread_name) - 1);
	rc = drop_caps();
	if (rc < 0)
		return rc;
	/* Nothing this thread runs from now on may gain privileges, and
	 * seccomp(2) without CAP_SYS_ADMIN requires it. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (!sb.filters)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sb.prog[kind]) < 0)
		return -errno;
	return 0;
}
