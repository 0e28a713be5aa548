/* Thread confinement (src/sandbox.c): each filter lets its thread kind's
 * calls through and ends the process on anything else with exit status 4
 * and one line naming the VM, the thread and the call; capabilities are
 * empty afterwards.  Every check runs in a forked child, the test process
 * itself is never confined; each child configures the sandbox itself, after
 * cmocka has installed its own SIGSYS handler for the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

#define VM	     "testvm"
#define CLEANUP_MARK "cleanup ran\n"
/* Child exit statuses that are not the sandbox's 4. */
#define CHILD_OK	     0
#define CHILD_ENTER_FAILED   20
#define CHILD_ALLOWED_FAILED 21
#define CHILD_SURVIVED	     22

struct outcome {
	int status; /* from waitpid */
	char err[2048];
};

/* Async-signal-safe, as sandbox.h asks of it. */
static void mark_cleanup(void)
{
	if (write(STDERR_FILENO, CLEANUP_MARK, strlen(CLEANUP_MARK)) < 0)
		return;
}

/* Run fn in a child whose stderr comes back in o->err. */
static void run_child(int (*fn)(void *), void *arg, struct outcome *o)
{
	int p[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		_exit(fn(arg));
	}
	close(p[1]);
	while ((n = read(p[0], o->err + len, sizeof(o->err) - 1 - len)) > 0)
		len += (size_t)n;
	o->err[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void assert_killed_for(const struct outcome *o, const char *thread, long nr,
			      const char *name)
{
	char want[128];

	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != SANDBOX_EXIT_STATUS)
		fail_msg("child status 0x%x, stderr: %s", o->status, o->err);
	snprintf(want, sizeof(want), "bhyve: " VM ": seccomp: thread \"%s\"", thread);
	if (!strstr(o->err, want))
		fail_msg("no '%s' in: %s", want, o->err);
	snprintf(want, sizeof(want), "forbidden system call %ld (%s); exiting\r\n", nr, name);
	if (!strstr(o->err, want))
		fail_msg("no '%s' in: %s", want, o->err);
	/* One report, then the cleanup hook (the terminal's restore). */
	assert_int_equal(count(o->err, ": seccomp: "), 1);
	assert_non_null(strstr(strstr(o->err, "exiting"), CLEANUP_MARK));
}

/* ---- A child per case ---- */

struct probe {
	enum sandbox_kind kind;
	const char *name;
	int (*allowed)(void); /* 0 when every allowed call behaved */
	void (*forbidden)(void);
};

static int configure(void)
{
	return sandbox_configure(VM, true, mark_cleanup);
}

static int probe_child(void *arg)
{
	const struct probe *p = arg;

	if (configure() < 0 || sandbox_enter(p->kind, p->name) < 0)
		return CHILD_ENTER_FAILED;
	if (p->allowed && p->allowed() != 0)
		return CHILD_ALLOWED_FAILED;
	if (p->forbidden)
		p->forbidden();
	return p->forbidden ? CHILD_SURVIVED : CHILD_OK;
}

static void run_probe(const struct probe *p, struct outcome *o)
{
	run_child(probe_child, (void *)p, o);
}

/* What every thread may do: memory, time, its descriptors. */
static int common_calls(void)
{
	struct timespec ts;
	void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *heap = malloc(1 << 20);

	if (m == MAP_FAILED || !heap || munmap(m, 65536) < 0)
		return -1;
	free(heap);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0)
		return -1;
	return write(STDERR_FILENO, "", 0) == 0 ? 0 : -1;
}

static int vcpu_calls(void)
{
	/* KVM_RUN is allowed: only the descriptor is wrong. */
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		return -1;
	return common_calls();
}

static int block_calls(void)
{
	struct iovec iov = { NULL, 0 };

	if (fdatasync(-1) != -1 || errno != EBADF || preadv(-1, &iov, 1, 0) != -1)
		return -1;
	return common_calls();
}

static int gdb_calls(void)
{
	if (poll(NULL, 0, 0) != 0)
		return -1;
	return common_calls();
}

static int main_calls(void)
{
	struct epoll_event ev;

	if (epoll_wait(-1, &ev, 1, 0) != -1 || errno != EBADF)
		return -1;
	/* Clients of the listeners bound at start-up. */
	if (accept4(-1, NULL, NULL, SOCK_CLOEXEC) != -1 || errno != EBADF)
		return -1;
	return common_calls();
}

static int net_calls(void)
{
	int s;

	if (poll(NULL, 0, 0) != 0)
		return -1;
	/* slirp's sockets for the guest's flows: Internet families only. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	close(s);
	s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0)
		close(s);
	else if (errno != EAFNOSUPPORT)
		return -1;
	return common_calls();
}

static void do_socket_inet(void)
{
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

static void do_socket_unix(void)
{
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
}

static void do_execve(void)
{
	static char *const argv[] = { "/bin/true", NULL };

	syscall(SYS_execve, "/bin/true", argv, NULL);
}

static void do_openat(void)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
}

static void do_ptrace(void)
{
	syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
}

static void do_kvm_run(void)
{
	syscall(SYS_ioctl, -1, KVM_RUN, 0);
}

static void do_tiocsti(void)
{
	char c = 'x';

	/* An ioctl request no thread needs (terminal input injection). */
	syscall(SYS_ioctl, STDIN_FILENO, TIOCSTI, &c);
}

static void do_mmap_exec(void)
{
	syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void test_vcpu_filter(void **state)
{
	struct probe p = { SANDBOX_VCPU, "vcpu 0", vcpu_calls, do_socket_inet };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "vcpu 0", SYS_socket, "socket");
}

static void test_vcpu_ioctl_by_request(void **state)
{
	struct probe p = { SANDBOX_VCPU, "vcpu 3", vcpu_calls, do_tiocsti };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "vcpu 3", SYS_ioctl, "ioctl");
}

static void test_block_filter(void **state)
{
	struct probe p = { SANDBOX_BLOCK_IO, "blk io", block_calls, do_socket_inet };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "blk io", SYS_socket, "socket");
}

static void test_block_filter_no_open(void **state)
{
	struct probe p = { SANDBOX_BLOCK_IO, "blk io", block_calls, do_openat };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "blk io", SYS_openat, "openat");
}

static void test_gdb_filter(void **state)
{
	struct probe p = { SANDBOX_GDB, "gdb", gdb_calls, do_execve };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "gdb", SYS_execve, "execve");
}

static void test_main_filter(void **state)
{
	struct probe p = { SANDBOX_MAIN, "main", main_calls, do_execve };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "main", SYS_execve, "execve");
}

static void test_main_no_ptrace(void **state)
{
	struct probe p = { SANDBOX_MAIN, "main", main_calls, do_ptrace };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "main", SYS_ptrace, "ptrace");
}

static void test_main_opens_no_socket(void **state)
{
	struct probe p = { SANDBOX_MAIN, "main", main_calls, do_socket_inet };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "main", SYS_socket, "socket");
}

static void test_net_sockets_inet_only(void **state)
{
	struct probe p = { SANDBOX_NET, "slirp", net_calls, do_socket_unix };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "slirp", SYS_socket, "socket");
}

static void test_net_no_kvm(void **state)
{
	struct probe p = { SANDBOX_NET, "slirp", net_calls, do_kvm_run };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "slirp", SYS_ioctl, "ioctl");
}

static void test_no_executable_memory(void **state)
{
	struct probe p = { SANDBOX_MAIN, "main", NULL, do_mmap_exec };
	struct outcome o;

	(void)state;
	run_probe(&p, &o);
	assert_killed_for(&o, "main", SYS_mmap, "mmap");
}

/* ---- Threads: each has its own filter ---- */

static void *vcpu_thread_forbidden(void *arg)
{
	(void)arg;
	if (sandbox_enter(SANDBOX_VCPU, "vcpu 1") == 0)
		do_socket_inet();
	return NULL;
}

static void *vcpu_thread_quiet(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)sandbox_enter(SANDBOX_VCPU, "vcpu 1");
}

static int thread_child(void *arg)
{
	void *(*fn)(void *) = (void *(*)(void *))arg;
	pthread_t t;
	void *ret = NULL;
	int s;

	if (configure() < 0)
		return CHILD_ENTER_FAILED;
	if (pthread_create(&t, NULL, fn, NULL) != 0 || pthread_join(t, &ret) != 0 || ret)
		return CHILD_ENTER_FAILED;
	/* The creating thread never entered: it may still open sockets. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		return CHILD_ALLOWED_FAILED;
	close(s);
	return CHILD_OK;
}

static void test_report_names_the_thread(void **state)
{
	struct outcome o;

	(void)state;
	run_child(thread_child, (void *)vcpu_thread_forbidden, &o);
	assert_killed_for(&o, "vcpu 1", SYS_socket, "socket");
}

static void test_filters_are_per_thread(void **state)
{
	struct outcome o;

	(void)state;
	run_child(thread_child, (void *)vcpu_thread_quiet, &o);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != CHILD_OK)
		fail_msg("child status 0x%x, stderr: %s", o.status, o.err);
}

/* ---- Capabilities and the status of a confined process ---- */

struct status {
	unsigned long long inh, prm, eff, bnd, amb;
	int nnp, seccomp;
};

static void read_status(pid_t pid, struct status *s)
{
	char path[64], line[256];
	FILE *f;

	memset(s, 0xff, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "CapInh: %llx", &s->inh);
		sscanf(line, "CapPrm: %llx", &s->prm);
		sscanf(line, "CapEff: %llx", &s->eff);
		sscanf(line, "CapBnd: %llx", &s->bnd);
		sscanf(line, "CapAmb: %llx", &s->amb);
		sscanf(line, "NoNewPrivs: %d", &s->nnp);
		sscanf(line, "Seccomp: %d", &s->seccomp);
	}
	fclose(f);
}

/* A child that enters the blk io sandbox, says so on a pipe and waits to
 * be released; meanwhile the parent reads its /proc status. */
struct waiter {
	int ready[2], release[2];
	int configure; /* -1: none (entering does nothing), else the filters flag */
};

static int waiter_child(void *arg)
{
	struct waiter *w = arg;
	char c = 0;

	if (w->configure >= 0 && sandbox_configure(VM, w->configure, mark_cleanup) < 0)
		return CHILD_ENTER_FAILED;
	if (sandbox_enter(SANDBOX_BLOCK_IO, "blk io") < 0)
		return CHILD_ENTER_FAILED;
	if (write(w->ready[1], "r", 1) != 1 || read(w->release[0], &c, 1) != 1)
		return CHILD_ALLOWED_FAILED;
	return CHILD_OK;
}

static bool have_setpcap(void)
{
	struct status me;

	read_status(getpid(), &me);
	return me.eff & (1ull << 8); /* CAP_SETPCAP */
}

static void observe(int configure, struct status *s, struct outcome *o)
{
	struct waiter w = { .configure = configure };
	char c;
	pid_t pid;
	int st;

	assert_int_equal(pipe(w.ready), 0);
	assert_int_equal(pipe(w.release), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(waiter_child(&w));
	assert_int_equal(read(w.ready[0], &c, 1), 1);
	read_status(pid, s);
	assert_int_equal(write(w.release[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	o->status = st;
	close(w.ready[0]);
	close(w.ready[1]);
	close(w.release[0]);
	close(w.release[1]);
}

static void assert_no_caps(const struct status *s)
{
	assert_int_equal(s->inh, 0);
	assert_int_equal(s->prm, 0);
	assert_int_equal(s->eff, 0);
	assert_int_equal(s->amb, 0);
	/* Dropping the bounding set takes CAP_SETPCAP; without it the
	 * thread had no capability to begin with. */
	if (have_setpcap())
		assert_int_equal(s->bnd, 0);
	assert_int_equal(s->nnp, 1);
}

static void test_caps_dropped_and_filter_on(void **state)
{
	struct status s;
	struct outcome o;

	(void)state;
	observe(1, &s, &o);
	assert_true(WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_OK);
	assert_no_caps(&s);
	assert_int_equal(s.seccomp, 2);
}

static void test_filters_off_still_drops_caps(void **state)
{
	struct status s;
	struct outcome o;

	(void)state;
	observe(0, &s, &o);
	assert_true(WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_OK);
	assert_no_caps(&s);
	assert_int_equal(s.seccomp, 0);
}

static void test_unconfigured_enter_does_nothing(void **state)
{
	struct status before, s;
	struct outcome o;

	(void)state;
	read_status(getpid(), &before);
	observe(-1, &s, &o);
	assert_true(WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_OK);
	assert_int_equal(s.seccomp, 0);
	assert_int_equal(s.eff, before.eff);
	assert_int_equal(s.nnp, before.nnp);
	assert_false(sandbox_filters_on());
	assert_null(sandbox_syscall_name(SYS_execve));
}

/* ---- Configuration ---- */

static int names_child(void *arg)
{
	(void)arg;
	if (sandbox_syscall_name(SYS_execve) || configure() < 0 || !sandbox_filters_on())
		return CHILD_ENTER_FAILED;
	if (strcmp(sandbox_syscall_name(SYS_execve), "execve") != 0 ||
	    strcmp(sandbox_syscall_name(SYS_ioctl), "ioctl") != 0 ||
	    strcmp(sandbox_syscall_name(SYS_read), "read") != 0 || sandbox_syscall_name(-1) ||
	    sandbox_syscall_name(1 << 20))
		return CHILD_ALLOWED_FAILED;
	if (configure() != -EALREADY || sandbox_enter(SANDBOX_NKINDS, "x") != -EINVAL)
		return CHILD_SURVIVED;
	return CHILD_OK;
}

static void test_configuration(void **state)
{
	struct outcome o;

	(void)state;
	run_child(names_child, NULL, &o);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != CHILD_OK)
		fail_msg("child status 0x%x, stderr: %s", o.status, o.err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configuration),
		cmocka_unit_test(test_unconfigured_enter_does_nothing),
		cmocka_unit_test(test_filters_off_still_drops_caps),
		cmocka_unit_test(test_caps_dropped_and_filter_on),
		cmocka_unit_test(test_vcpu_filter),
		cmocka_unit_test(test_vcpu_ioctl_by_request),
		cmocka_unit_test(test_block_filter),
		cmocka_unit_test(test_block_filter_no_open),
		cmocka_unit_test(test_gdb_filter),
		cmocka_unit_test(test_main_filter),
		cmocka_unit_test(test_main_no_ptrace),
		cmocka_unit_test(test_main_opens_no_socket),
		cmocka_unit_test(test_net_sockets_inet_only),
		cmocka_unit_test(test_net_no_kvm),
		cmocka_unit_test(test_no_executable_memory),
		cmocka_unit_test(test_report_names_the_thread),
		cmocka_unit_test(test_filters_are_per_thread),
	};

	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
