/* GDB remote serial protocol stub on KVM guest debugging.
 *
 * References: GDB manual appendix E (packets, acks, stop replies, thread
 * ids), gdb's features/i386/64bit-core.xml (the amd64 'g' layout), KVM API
 * documentation 4.88 (KVM_SET_GUEST_DEBUG) and 5 (KVM_EXIT_DEBUG), Intel SDM
 * vol. 3 §18.2 (DR7 fields).
 *
 * A dedicated thread owns the listener and the one debugger connection.
 * vCPU threads never talk to the debugger: they park in gdb_vcpu_check()
 * while the VM is held, so the stub thread may read and write their state.
 * Hardware breakpoints (Z1) and watchpoints (Z2 write, Z3/Z4 access: x86
 * has no read-only watchpoint) use DR0-DR3 (SDM vol. 3 §18.2).  Software
 * breakpoints (Z0) take a free debug register too, which leaves guest
 * memory untouched; beyond four they patch an INT3 into guest memory
 * (debug/swbp.c keeps them), with KVM intercepting #BP
 * (KVM_GUESTDBG_USE_SW_BP), and a #BP at an address the stub did not
 * patch is the guest's own and goes back to it.  Stop replies
 * carry the reason (swbreak, hwbreak, watch, awatch) so gdb never adjusts
 * the PC after an INT3 itself.  'k' closes the connection and lets the
 * guest run on, as bhyve's stub does; 'D' resumes it too; both take every
 * breakpoint out first. */
#include "debug/gdb.h"
#include "debug/swbp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "le.h"
#include "log.h"
#include "parse.h"
#include "sandbox.h"
#include "thread.h"
#include "vm.h"

#define GDB_SIGINT  2
#define GDB_SIGTRAP 5
#define GDB_NHWBP   4
#define BP_VECTOR   3
#define DB_VECTOR   1
/* DR6 (SDM vol. 3 §18.2.3): B0-B3 say which DR0-DR3 condition hit. */
#define DR6_B(i) (1ull << (i))
/* How long the stub waits for every vCPU to park (the test bed is slow). */
#define GDB_PARK_TIMEOUT_S 30
#define GDB_PAGE	   4096ull
/* Core registers in the 'g' packet: 16 GPRs + rip (8 bytes), eflags and six
 * segment selectors (4 bytes), gdb's 64bit-core.xml order.  Byte offsets. */
enum {
	GDB_G_NGPR = 17,
	GDB_G_EFLAGS = GDB_G_NGPR * 8,
	GDB_G_SEGS = GDB_G_EFLAGS + 4,
	GDB_G_BYTES = GDB_G_SEGS + 6 * 4,
};

/* DR7 (SDM vol. 3 §18.2.4): L0-L3 enable bits at 2i, R/W and LEN at 16+4i
 * (00/00 = instruction execution), GE at bit 9 as the SDM recommends. */
#define DR7_LOCAL(i)	 (1ull << (2 * (i)))
#define DR7_GE		 (1ull << 9)
#define DR7_FIXED1	 (1ull << 10)
#define DR7_RW_SHIFT(i)	 (16 + 4 * (i))
#define DR7_LEN_SHIFT(i) (18 + 4 * (i))

/* The kinds of DR0-DR3 slot, numbered as the Z packet types. */
enum hw_kind { HW_EXEC = 1, HW_WRITE = 2, HW_READ = 3, HW_ACCESS = 4 };

struct hw_slot {
	bool used;
	enum hw_kind kind;
	uint64_t addr;
	unsigned len; /* 1, 2, 4 or 8; 1 for HW_EXEC */
};

enum rx_state { RX_IDLE, RX_DATA, RX_CSUM1, RX_CSUM2 };

struct gdb {
	struct vm *vm;
	int listen_fd;
	int client_fd;
	int wake_fd; /* eventfd: a vCPU reported a stop */
	pthread_t thread;
	struct gdb_rx rx;
	char last[GDB_PKT_MAX * 2 + 8]; /* last frame sent, for '-' */
	char reply[GDB_PKT_MAX + 1];
	int last_len;
	bool running; /* the debugger waits for a stop reply */
	int g_thread; /* vCPU index for g/m/M, from Hg */
	int c_thread; /* vCPU index for s, from Hc; -1 any */
	struct hw_slot hw[GDB_NHWBP];

	/* Shared with the vCPU threads (their #BP exits), under lock. */
	struct swbp_table sw;

	/* Shared with the vCPU threads, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool hold;	 /* the VM is stopped for the debugger */
	int step_vcpu;	 /* runs while held (single step), or -1 */
	unsigned parked; /* vCPU threads parked */
	bool stop_pending;
	int stop_vcpu;
	int stop_signal;
	char stop_reason[48]; /* "swbreak:;" etc., appended to the stop reply */
};

/* ---- Framing, checksums and hex (appendix E.1, "Overview") ---- */

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char hex_digit[] = "0123456789abcdef";

void gdb_rx_init(struct gdb_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->state = RX_IDLE;
}

static enum gdb_rx_event rx_idle(struct gdb_rx *rx, uint8_t byte)
{
	switch (byte) {
	case '+':
		return GDB_RX_ACK;
	case '-':
		return GDB_RX_NAK;
	case 0x03:
		return GDB_RX_INTR;
	case '$':
		rx->state = RX_DATA;
		rx->len = 0;
		rx->sum = 0;
		rx->overflow = false;
		return GDB_RX_NONE;
	default:
		return GDB_RX_NONE; /* noise between packets is ignored */
	}
}

enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t byte)
{
	int v;

	switch (rx->state) {
	case RX_DATA:
		if (byte == '#') {
			rx->state = RX_CSUM1;
		} else if (byte == '$') {
			rx->len = 0; /* a new start abandons the old packet */
			rx->sum = 0;
			rx->overflow = false;
		} else {
			rx->sum = (uint8_t)(rx->sum + byte);
			if (rx->len < GDB_PKT_MAX)
				rx->buf[rx->len++] = (char)byte;
			else
				rx->overflow = true;
		}
		return GDB_RX_NONE;
	case RX_CSUM1:
	case RX_CSUM2:
		v = hex_val(byte);
		if (v < 0) {
			rx->state = RX_IDLE;
			return GDB_RX_BAD;
		}
		if (rx->state == RX_CSUM1) {
			rx->csum = (uint8_t)(v << 4);
			rx->state = RX_CSUM2;
			return GDB_RX_NONE;
		}
		rx->csum |= (uint8_t)v;
		rx->state = RX_IDLE;
		rx->buf[rx->len] = '\0';
		if (rx->overflow || rx->csum != rx->sum)
			return GDB_RX_BAD;
		return GDB_RX_PACKET;
	default:
		return rx_idle(rx, byte);
	}
}

int gdb_frame(const char *data, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0;
	uint8_t sum = 0;

	if (outlen < 4)
		return -ENOSPC;
	out[n++] = '$';
	for (i = 0; i < len; i++) {
		uint8_t c = (uint8_t)data[i];
		bool esc = c == '#' || c == '$' || c == '}' || c == '*';

		if (n + (esc ? 2 : 1) + 3 > outlen)
			return -ENOSPC;
		if (esc) {
			out[n++] = '}';
			sum = (uint8_t)(sum + '}');
			c ^= 0x20;
		}
		out[n++] = (char)c;
		sum = (uint8_t)(sum + c);
	}
	out[n++] = '#';
	out[n++] = hex_digit[sum >> 4];
	out[n++] = hex_digit[sum & 0xf];
	return (int)n;
}

int gdb_unescape(char *data, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (data[i] == '}') {
			if (++i >= len)
				return -EINVAL;
			data[n++] = (char)(data[i] ^ 0x20);
		} else {
			data[n++] = data[i];
		}
	}
	return (int)n;
}

void gdb_hex_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex_digit[in[i] >> 4];
		out[2 * i + 1] = hex_digit[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int gdb_hex_decode(const char *in, size_t n, uint8_t *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = hex_val((unsigned char)in[2 * i]);
		int lo = hi < 0 ? -1 : hex_val((unsigned char)in[2 * i + 1]);

		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int gdb_parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0, d;

	while ((d = hex_val((unsigned char)*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (n == 0)
		return -EINVAL;
	*v = x;
	*p = s;
	return 0;
}

/* ---- Holding and releasing the vCPUs ---- */

static bool vm_exiting(const struct vm *vm)
{
	return __atomic_load_n(&vm->exit_status, __ATOMIC_ACQUIRE) != VM_EXIT_RUNNING;
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void gdb_vcpu_check(struct gdb *g, struct vcpu *c)
{
	struct timespec ts;

	if (!__atomic_load_n(&g->hold, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&g->lock);
	if (g->hold && g->step_vcpu != c->id) {
		g->parked++;
		pthread_cond_broadcast(&g->cv);
		/* Timed, so a VM exit decided elsewhere (vm_request_exit only
		 * kicks) still releases the thread. */
		while (g->hold && g->step_vcpu != c->id && !vm_exiting(c->vm)) {
			deadline_in(&ts, 100);
			pthread_cond_timedwait(&g->cv, &g->lock, &ts);
		}
		g->parked--;
	}
	pthread_mutex_unlock(&g->lock);
}

static void gdb_wake(struct gdb *g)
{
	uint64_t one = 1;

	if (write(g->wake_fd, &one, sizeof(one)) < 0)
		log_debug("gdb: cannot wake the stub thread");
}

static void kick_all(struct gdb *g)
{
	unsigned i;

	for (i = 0; i < g->vm->opt.ncpus; i++)
		vm_kick_vcpu(&g->vm->vcpus[i]);
}

/* Why a KVM_EXIT_DEBUG stopped the vCPU, as a stop-reply reason
 * (appendix E.3): "" for a single step or an unknown cause. */
static void stop_reason(struct gdb *g, const struct kvm_debug_exit_arch *d, char *out, size_t n)
{
	unsigned i;

	out[0] = '\0';
	if (d->exception == BP_VECTOR) {
		snprintf(out, n, "swbreak:;");
		return;
	}
	for (i = 0; i < GDB_NHWBP; i++) {
		const struct hw_slot *h = &g->hw[i];

		if (!h->used || !(d->dr6 & DR6_B(i)))
			continue;
		if (h->kind == HW_EXEC)
			snprintf(out, n, "hwbreak:;");
		else
			snprintf(out, n, "%s:%llx;",
				 h->kind == HW_WRITE  ? "watch"
				 : h->kind == HW_READ ? "rwatch"
						      : "awatch",
				 (unsigned long long)h->addr);
		return;
	}
}

/* A #BP the stub did not plant: the guest's own INT3 (Linux patches code
 * with them), handed back to the guest.  If the byte is no INT3 any more,
 * the debugger removed its breakpoint meanwhile: run the instruction. */
static bool foreign_int3(struct gdb *g, struct vcpu *c, uint64_t pc)
{
	uint64_t gpa;
	uint8_t byte;

	if (swbp_has(&g->sw, pc))
		return false;
	if (vmm_vcpu_translate(c->v, pc, &gpa) == 0 &&
	    gmem_read(&g->vm->gmem, gpa, &byte, 1) == 0 && byte == SWBP_INT3 &&
	    vmm_vcpu_inject_exception(c->v, BP_VECTOR, false, 0) < 0)
		log_warnx("gdb: vcpu %d: cannot give the guest its #BP back", c->id);
	return true;
}

void gdb_vcpu_debug_exit(struct gdb *g, struct vcpu *c, const struct kvm_run *run)
{
	bool report = false;

	pthread_mutex_lock(&g->lock);
	if (run->debug.arch.exception == BP_VECTOR && foreign_int3(g, c, run->debug.arch.pc)) {
		pthread_mutex_unlock(&g->lock);
		return;
	}
	/* A second vCPU hitting a breakpoint while the VM is being stopped
	 * drops its event: it runs the instruction again after resuming and
	 * the breakpoint fires again (an INT3 exit leaves RIP on the INT3). */
	if (!g->hold || g->step_vcpu == c->id) {
		__atomic_store_n(&g->hold, true, __ATOMIC_RELEASE);
		g->step_vcpu = -1;
		g->stop_pending = true;
		g->stop_vcpu = c->id;
		g->stop_signal = GDB_SIGTRAP;
		stop_reason(g, &run->debug.arch, g->stop_reason, sizeof(g->stop_reason));
		report = true;
	}
	pthread_mutex_unlock(&g->lock);
	if (report) {
		kick_all(g);
		gdb_wake(g);
	}
}

/* With the lock held: wait until every vCPU thread is parked.  False when
 * the VM is exiting or a thread does not come. */
static bool wait_parked(struct gdb *g)
{
	struct timespec end, now;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += GDB_PARK_TIMEOUT_S;
	while (g->parked < g->vm->opt.ncpus) {
		struct timespec ts;

		if (vm_exiting(g->vm))
			return false;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > end.tv_sec)
			return false;
		deadline_in(&ts, 100);
		pthread_cond_timedwait(&g->cv, &g->lock, &ts);
	}
	return true;
}

static bool stop_all(struct gdb *g, int sig, int vcpu)
{
	bool ok;

	pthread_mutex_lock(&g->lock);
	if (!g->hold) {
		g->stop_vcpu = vcpu;
		g->stop_signal = sig;
		g->stop_reason[0] = '\0';
	}
	/* A vCPU in the middle of a single step parks too (Ctrl-C). */
	__atomic_store_n(&g->hold, true, __ATOMIC_RELEASE);
	g->step_vcpu = -1;
	g->stop_pending = false;
	pthread_mutex_unlock(&g->lock);
	kick_all(g);
	pthread_mutex_lock(&g->lock);
	ok = wait_parked(g);
	pthread_mutex_unlock(&g->lock);
	return ok;
}

/* The DR7 bits of one slot: enable, R/W (00 execute, 01 write, 11 read or
 * write) and LEN (00 1 byte, 01 2, 11 4, 10 8), SDM vol. 3 §18.2.4. */
static uint64_t hw_dr7(const struct hw_slot *h, unsigned i)
{
	static const unsigned len_bits[9] = { [1] = 0, [2] = 1, [4] = 3, [8] = 2 };
	uint64_t rw = h->kind == HW_EXEC ? 0 : h->kind == HW_WRITE ? 1 : 3;
	uint64_t len = h->kind == HW_EXEC ? 0 : len_bits[h->len];

	return DR7_LOCAL(i) | rw << DR7_RW_SHIFT(i) | len << DR7_LEN_SHIFT(i);
}

/* KVM_SET_GUEST_DEBUG on every vCPU (all parked): the breakpoints, and the
 * single-step flag on the one vCPU that steps. */
static int apply_debug(struct gdb *g, bool attached, int step)
{
	uint64_t dr[8] = { 0 };
	uint32_t base = 0;
	unsigned i;
	int rc = 0;

	if (attached) {
		base = KVM_GUESTDBG_ENABLE;
		for (i = 0; i < GDB_NHWBP; i++) {
			if (g->hw[i].used)
				dr[7] |= hw_dr7(&g->hw[i], i);
			dr[i] = g->hw[i].addr;
		}
		if (dr[7]) {
			dr[7] |= DR7_GE | DR7_FIXED1;
			base |= KVM_GUESTDBG_USE_HW_BP;
		}
		pthread_mutex_lock(&g->lock);
		if (g->sw.n)
			base |= KVM_GUESTDBG_USE_SW_BP;
		pthread_mutex_unlock(&g->lock);
	}
	for (i = 0; i < g->vm->opt.ncpus && !rc; i++) {
		uint32_t ctl = base;

		if (attached && (int)i == step)
			ctl |= KVM_GUESTDBG_SINGLESTEP;
		rc = vmm_vcpu_set_guest_debug(g->vm->vcpus[i].v, ctl, dr);
	}
	if (rc)
		log_warnx("gdb: KVM_SET_GUEST_DEBUG: %s", strerror(-rc));
	return rc;
}

static void resume(struct gdb *g, bool attached, int step)
{
	apply_debug(g, attached, step);
	pthread_mutex_lock(&g->lock);
	g->stop_pending = false;
	if (step >= 0) {
		g->step_vcpu = step; /* the others stay parked */
	} else {
		__atomic_store_n(&g->hold, false, __ATOMIC_RELEASE);
		g->step_vcpu = -1;
	}
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->lock);
}

/* ---- Sending ---- */

static int send_raw(struct gdb *g, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(g->client_fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_packet(struct gdb *g, const char *data)
{
	int n = gdb_frame(data, strlen(data), g->last, sizeof(g->last));

	if (n < 0)
		return n;
	g->last_len = n;
	return send_raw(g, g->last, (size_t)n);
}

static int send_stop_reply(struct gdb *g)
{
	char buf[128], reason[sizeof(g->stop_reason)];
	int sig, vcpu;

	pthread_mutex_lock(&g->lock);
	sig = g->stop_signal;
	vcpu = g->stop_vcpu;
	memcpy(reason, g->stop_reason, sizeof(reason));
	g->stop_reason[0] = '\0';
	g->stop_pending = false;
	pthread_mutex_unlock(&g->lock);
	if (vcpu < 0 || vcpu >= (int)g->vm->opt.ncpus)
		vcpu = 0;
	g->g_thread = vcpu;
	g->running = false;
	snprintf(buf, sizeof(buf), "T%02xthread:%x;%s", sig, vcpu + 1, reason);
	return send_packet(g, buf);
}

/* ---- Registers (64bit-core.xml order) ---- */

static struct vcpu *cur_vcpu(struct gdb *g)
{
	int i = g->g_thread;

	if (i < 0 || i >= (int)g->vm->opt.ncpus)
		i = 0;
	return &g->vm->vcpus[i];
}

static int cmd_read_regs(struct gdb *g, char *reply)
{
	struct vcpu *c = cur_vcpu(g);
	struct kvm_regs r;
	struct kvm_sregs s;
	uint8_t b[GDB_G_BYTES];
	size_t i;

	if (vmm_vcpu_get_regs(c->v, &r) < 0 || vmm_vcpu_get_sregs(c->v, &s) < 0)
		return -EIO;
	const uint64_t v[GDB_G_NGPR] = { r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
					 r.rbp, r.rsp, r.r8,  r.r9,  r.r10, r.r11,
					 r.r12, r.r13, r.r14, r.r15, r.rip };
	const uint16_t sv[6] = { s.cs.selector, s.ss.selector, s.ds.selector,
				 s.es.selector, s.fs.selector, s.gs.selector };

	for (i = 0; i < GDB_G_NGPR; i++)
		le64_put(b + i * 8, v[i]);
	le32_put(b + GDB_G_EFLAGS, (uint32_t)r.rflags);
	for (i = 0; i < 6; i++)
		le32_put(b + GDB_G_SEGS + i * 4, sv[i]);
	gdb_hex_encode(b, sizeof(b), reply);
	return 0;
}

/* G: the general registers and eflags; segment selectors are ignored (a
 * selector without its descriptor would give the vCPU an inconsistent
 * state). */
static int cmd_write_regs(struct gdb *g, const char *hex)
{
	struct vcpu *c = cur_vcpu(g);
	size_t n = strlen(hex);
	uint8_t b[GDB_G_BYTES];
	struct kvm_regs r;
	__u64 *dst[GDB_G_NGPR] = { &r.rax, &r.rbx, &r.rcx, &r.rdx, &r.rsi, &r.rdi,
				   &r.rbp, &r.rsp, &r.r8,  &r.r9,  &r.r10, &r.r11,
				   &r.r12, &r.r13, &r.r14, &r.r15, &r.rip };
	size_t i;

	if (n % 2 || n / 2 < GDB_G_SEGS)
		return -EINVAL;
	if (n / 2 > sizeof(b))
		n = 2 * sizeof(b);
	if (gdb_hex_decode(hex, n / 2, b) < 0)
		return -EINVAL;
	if (vmm_vcpu_get_regs(c->v, &r) < 0)
		return -EIO;
	for (i = 0; i < GDB_G_NGPR; i++)
		*dst[i] = le64_get(b + i * 8);
	r.rflags = (r.rflags & ~0xffffffffull) | le32_get(b + GDB_G_EFLAGS);
	return vmm_vcpu_set_regs(c->v, &r) < 0 ? -EIO : 0;
}

/* ---- Memory, by guest-virtual address through the vCPU's page tables ---- */

static int mem_access(struct gdb *g, uint64_t gva, uint8_t *buf, size_t len, bool write)
{
	struct vcpu *c = cur_vcpu(g);

	while (len > 0) {
		uint64_t gpa, n = GDB_PAGE - (gva & (GDB_PAGE - 1));
		int rc;

		if (n > len)
			n = len;
		if (vmm_vcpu_translate(c->v, gva, &gpa) < 0)
			return -EFAULT;
		rc = write ? gmem_write(&g->vm->gmem, gpa, buf, n)
			   : gmem_read(&g->vm->gmem, gpa, buf, n);
		if (rc < 0)
			return -EFAULT;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
	if (gdb_parse_hex(p, addr) < 0 || **p != ',')
		return -EINVAL;
	(*p)++;
	return gdb_parse_hex(p, len);
}

static int cmd_read_mem(struct gdb *g, const char *args, char *reply)
{
	uint8_t buf[GDB_PKT_MAX / 2];
	uint64_t addr, len;

	if (parse_addr_len(&args, &addr, &len) < 0 || *args)
		return -EINVAL;
	if (len > sizeof(buf))
		len = sizeof(buf); /* a short reply is allowed (appendix E.2 'm') */
	if (mem_access(g, addr, buf, len, false) < 0)
		return -EFAULT;
	/* The debugger's INT3s read as the bytes they replaced. */
	pthread_mutex_lock(&g->lock);
	swbp_hide(&g->sw, addr, buf, len);
	pthread_mutex_unlock(&g->lock);
	gdb_hex_encode(buf, len, reply);
	return 0;
}

static int cmd_write_mem(struct gdb *g, const char *args)
{
	uint8_t buf[GDB_PKT_MAX / 2];
	uint64_t addr, len;

	if (parse_addr_len(&args, &addr, &len) < 0 || *args != ':')
		return -EINVAL;
	args++;
	if (len > sizeof(buf) || strlen(args) != 2 * len || gdb_hex_decode(args, len, buf) < 0)
		return -EINVAL;
	if (mem_access(g, addr, buf, len, true) < 0)
		return -EFAULT;
	/* A write over one of them changes the byte kept; the INT3 stays. */
	pthread_mutex_lock(&g->lock);
	swbp_rewrite(&g->sw, &g->vm->gmem, addr, buf, len);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* ---- Breakpoints and watchpoints ---- */

/* Z0: an INT3 at addr, the original byte kept.  The VM is held, so no
 * vCPU runs the byte while it changes. */
static int sw_insert(struct gdb *g, uint64_t addr)
{
	uint64_t gpa;
	int rc;

	if (vmm_vcpu_translate(cur_vcpu(g)->v, addr, &gpa) < 0)
		return -EFAULT;
	pthread_mutex_lock(&g->lock);
	rc = swbp_insert(&g->sw, &g->vm->gmem, addr, gpa);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static void sw_remove(struct gdb *g, uint64_t addr)
{
	pthread_mutex_lock(&g->lock);
	swbp_remove(&g->sw, &g->vm->gmem, addr);
	pthread_mutex_unlock(&g->lock);
}

static void sw_remove_all(struct gdb *g)
{
	pthread_mutex_lock(&g->lock);
	swbp_remove_all(&g->sw, &g->vm->gmem);
	pthread_mutex_unlock(&g->lock);
}

/* Z1-Z4 in DR0-DR3. */
static int hw_set(struct gdb *g, enum hw_kind kind, uint64_t addr, uint64_t len, bool insert)
{
	int i, slot = -1;

	if (kind == HW_EXEC)
		len = 1;
	else if ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1)))
		return -EINVAL; /* DR7 LEN: naturally aligned 1, 2, 4 or 8 bytes */
	for (i = 0; i < GDB_NHWBP; i++) {
		const struct hw_slot *h = &g->hw[i];

		if (h->used && h->kind == kind && h->addr == addr && h->len == len)
			slot = i;
	}
	if (!insert) {
		if (slot >= 0)
			g->hw[slot].used = false;
		return 0;
	}
	if (slot >= 0)
		return 0;
	for (i = 0; i < GDB_NHWBP && slot < 0; i++) {
		if (!g->hw[i].used)
			slot = i;
	}
	if (slot < 0)
		return -ENOSPC;
	g->hw[slot] =
	    (struct hw_slot){ .used = true, .kind = kind, .addr = addr, .len = (unsigned)len };
	return 0;
}

static int cmd_breakpoint(struct gdb *g, const char *args, bool insert)
{
	uint64_t type, addr, kind;

	if (gdb_parse_hex(&args, &type) < 0 || *args++ != ',' ||
	    parse_addr_len(&args, &addr, &kind) < 0)
		return -EINVAL;
	if (type == 0 && insert) {
		/* A debug register while one is free, else an INT3. */
		if (hw_set(g, HW_EXEC, addr, 1, true) == -ENOSPC)
			return sw_insert(g, addr);
		return 0;
	}
	if (type == 0) {
		sw_remove(g, addr);
		return hw_set(g, HW_EXEC, addr, 1, false);
	}
	if (type > HW_ACCESS)
		return -ENOSYS;
	return hw_set(g, (enum hw_kind)type, addr, kind, insert);
}

/* ---- Threads: thread id i+1 is vCPU i ---- */

/* "-1" (all), "0" (any) or a thread id; returns the vCPU index, -1 for
 * all/any, or -EINVAL. */
static int parse_thread(struct gdb *g, const char *s)
{
	uint64_t id;

	if (strcmp(s, "-1") == 0)
		return -1;
	if (gdb_parse_hex(&s, &id) < 0 || *s)
		return -EINVAL;
	if (id == 0)
		return -1;
	if (id > g->vm->opt.ncpus)
		return -EINVAL;
	return (int)id - 1;
}

/* A fixed reply, bounded like the formatted ones. */
static void set_reply(char *reply, const char *s)
{
	snprintf(reply, GDB_PKT_MAX, "%s", s);
}

static void cmd_set_thread(struct gdb *g, const char *args, char *reply)
{
	int t = parse_thread(g, args + 1);

	if (t < -1 || (args[0] != 'g' && args[0] != 'c')) {
		set_reply(reply, "E22");
		return;
	}
	if (args[0] == 'g')
		g->g_thread = t < 0 ? g->g_thread : t;
	else
		g->c_thread = t;
	set_reply(reply, "OK");
}

static void cmd_thread_list(struct gdb *g, char *reply)
{
	size_t n = 0;
	unsigned i;

	reply[n++] = 'm';
	for (i = 0; i < g->vm->opt.ncpus && n + 12 < GDB_PKT_MAX; i++)
		n += (size_t)snprintf(reply + n, 12, "%s%x", i ? "," : "", i + 1);
	reply[n] = '\0';
}

static void cmd_query(struct gdb *g, const char *q, char *reply)
{
	if (strncmp(q, "qSupported", 10) == 0)
		snprintf(reply, GDB_PKT_MAX, "PacketSize=%x;swbreak+;hwbreak+", GDB_PKT_MAX);
	else if (strcmp(q, "qfThreadInfo") == 0)
		cmd_thread_list(g, reply);
	else if (strcmp(q, "qsThreadInfo") == 0)
		set_reply(reply, "l");
	else if (strcmp(q, "qC") == 0)
		snprintf(reply, GDB_PKT_MAX, "QC%x", cur_vcpu(g)->id + 1);
	else if (strcmp(q, "qAttached") == 0)
		set_reply(reply, "1"); /* attached to a running VM: detach on quit */
	else
		reply[0] = '\0';
}

/* ---- Dispatch ---- */

static void reply_rc(int rc, char *reply)
{
	if (rc == 0)
		set_reply(reply, "OK");
	else if (rc == -ENOSYS)
		reply[0] = '\0';
	else if (rc == -EFAULT)
		set_reply(reply, "E14");
	else
		set_reply(reply, "E22");
}

static int step_target(struct gdb *g)
{
	if (g->c_thread >= 0)
		return g->c_thread;
	return cur_vcpu(g)->id;
}

/* Returns 1 when the client is gone (k, D), else 0; *reply is "" with
 * *no_reply set for c and s, which answer later with a stop reply. */
static int handle_packet(struct gdb *g, char *pkt, char *reply, bool *no_reply)
{
	const char *a = pkt + 1;
	uint64_t tid;

	reply[0] = '\0';
	*no_reply = false;
	switch (pkt[0]) {
	case '?':
		snprintf(reply, GDB_PKT_MAX, "T%02xthread:%x;", g->stop_signal,
			 (g->stop_vcpu >= 0 ? g->stop_vcpu : 0) + 1);
		break;
	case 'g':
		if (cmd_read_regs(g, reply) < 0)
			set_reply(reply, "E05");
		break;
	case 'G':
		reply_rc(cmd_write_regs(g, a), reply);
		break;
	case 'm':
		if (cmd_read_mem(g, a, reply) < 0)
			set_reply(reply, "E14");
		break;
	case 'M':
		reply_rc(cmd_write_mem(g, a), reply);
		break;
	case 'c':
	case 's':
		if (*a) { /* resume address */
			uint64_t rip;
			struct kvm_regs r;
			struct vcpu *c = cur_vcpu(g);

			if (gdb_parse_hex(&a, &rip) == 0 && vmm_vcpu_get_regs(c->v, &r) == 0) {
				r.rip = rip;
				vmm_vcpu_set_regs(c->v, &r);
			}
		}
		g->running = true;
		*no_reply = true;
		resume(g, true, pkt[0] == 's' ? step_target(g) : -1);
		break;
	case 'Z':
	case 'z':
		reply_rc(cmd_breakpoint(g, a, pkt[0] == 'Z'), reply);
		break;
	case 'H':
		cmd_set_thread(g, a, reply);
		break;
	case 'T':
		if (gdb_parse_hex(&a, &tid) == 0 && !*a && tid >= 1 && tid <= g->vm->opt.ncpus)
			set_reply(reply, "OK");
		else
			set_reply(reply, "E22");
		break;
	case 'q':
		cmd_query(g, pkt, reply);
		break;
	case 'D':
		set_reply(reply, "OK");
		return 1;
	case 'k':
		*no_reply = true;
		return 1;
	default:
		break; /* unsupported: empty reply (vCont?, X, p, P, ...) */
	}
	return 0;
}

/* ---- The session ---- */

static void end_session(struct gdb *g)
{
	/* Guest debug state can only be changed with every vCPU parked. */
	if (stop_all(g, GDB_SIGTRAP, 0)) {
		memset(g->hw, 0, sizeof(g->hw));
		sw_remove_all(g);
		resume(g, false, -1);
	}
	close(g->client_fd);
	g->client_fd = -1;
	g->running = false;
}

static void accept_client(struct gdb *g)
{
	int fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	int one = 1;

	if (fd < 0)
		return;
	if (g->client_fd >= 0) {
		close(fd); /* one debugger at a time */
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	g->client_fd = fd;
	gdb_rx_init(&g->rx);
	g->last_len = 0;
	g->running = false;
	g->c_thread = -1;
	/* The debugger expects a stopped target ('?'). */
	if (!stop_all(g, GDB_SIGTRAP, 0)) {
		close(fd);
		g->client_fd = -1;
		return;
	}
	g->g_thread = g->stop_vcpu >= 0 ? g->stop_vcpu : 0;
}

static void on_wake(struct gdb *g)
{
	uint64_t n;
	bool pending, ok;

	if (read(g->wake_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&g->lock);
	pending = g->stop_pending;
	ok = pending && wait_parked(g);
	pthread_mutex_unlock(&g->lock);
	if (!pending)
		return;
	if (g->client_fd < 0) {
		resume(g, false, -1); /* a stale event after a detach */
		return;
	}
	if (ok && g->running && send_stop_reply(g) < 0)
		end_session(g);
}

/* One packet while the VM is held; false when the session ended. */
static bool on_packet(struct gdb *g)
{
	bool no_reply;
	int done;

	if (send_raw(g, "+", 1) < 0)
		return false;
	if (g->running)
		return true; /* all-stop: nothing but Ctrl-C is expected now */
	done = handle_packet(g, g->rx.buf, g->reply, &no_reply);
	if (!no_reply && send_packet(g, g->reply) < 0)
		done = 1;
	if (done)
		end_session(g);
	return !done;
}

static void on_client(struct gdb *g)
{
	uint8_t buf[1024];
	ssize_t n = recv(g->client_fd, buf, sizeof(buf), 0);
	ssize_t i;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		end_session(g);
		return;
	}
	for (i = 0; i < n && g->client_fd >= 0; i++) {
		switch (gdb_rx_feed(&g->rx, buf[i])) {
		case GDB_RX_NAK:
			if (g->last_len > 0 && send_raw(g, g->last, (size_t)g->last_len) < 0)
				end_session(g);
			break;
		case GDB_RX_BAD:
			if (send_raw(g, "-", 1) < 0)
				end_session(g);
			break;
		case GDB_RX_INTR:
			if (g->running && stop_all(g, GDB_SIGINT, g->g_thread) &&
			    send_stop_reply(g) < 0)
				end_session(g);
			break;
		case GDB_RX_PACKET:
			on_packet(g);
			break;
		default:
			break;
		}
	}
}

static void *gdb_thread(void *arg)
{
	struct gdb *g = arg;
	int rc;

	pthread_setname_np(pthread_self(), "gdb");
	rc = sandbox_enter(SANDBOX_GDB, "gdb");
	if (rc < 0) {
		log_warnx("gdb: cannot confine the stub thread: %s", strerror(-rc));
		vm_request_exit(g->vm, VM_EXIT_ERROR);
		return NULL;
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = g->listen_fd, .events = POLLIN },
			{ .fd = g->wake_fd, .events = POLLIN },
			{ .fd = g->client_fd, .events = POLLIN },
		};
		nfds_t nfds = g->client_fd >= 0 ? 3 : 2;

		if (poll(p, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("gdb: poll");
			return NULL;
		}
		if (p[1].revents)
			on_wake(g);
		if (nfds == 3 && p[2].revents && g->client_fd >= 0)
			on_client(g);
		if (p[0].revents)
			accept_client(g);
	}
	return NULL;
}

static int gdb_listen(const char *addr, int port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char service[8];
	int fd = -1, one = 1, rc;

	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(addr, service, &hints, &res);
	if (rc != 0)
		return -EADDRNOTAVAIL;
	rc = -EADDRNOTAVAIL;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
			rc = -errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : rc;
}

int gdb_start(struct vm *vm, struct gdb **out)
{
	const struct config *cfg = vm->opt.cfg;
	const char *port_s = cfg ? config_get(cfg, "gdb.port") : NULL;
	const char *addr = cfg ? config_get(cfg, "gdb.address") : NULL;
	unsigned long long port;
	bool wait = false;
	struct gdb *g;
	int rc;

	*out = NULL;
	if (!port_s)
		return 0;
	if (parse_uint(port_s, 65535, &port) < 0 || port == 0) {
		log_warnx("gdb.port=%s: expected a TCP port", port_s);
		return -EINVAL;
	}
	if (config_get_bool(cfg, "gdb.wait", false, &wait) < 0) {
		log_warnx("gdb.wait: expected true or false");
		return -EINVAL;
	}
	if (!addr || !*addr)
		addr = "127.0.0.1";
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->vm = vm;
	g->client_fd = -1;
	g->step_vcpu = -1;
	g->stop_vcpu = 0;
	g->stop_signal = GDB_SIGTRAP;
	g->c_thread = -1;
	g->hold = wait; /* -G w: park before the first instruction */
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->listen_fd = gdb_listen(addr, (int)port);
	if (g->listen_fd < 0 || g->wake_fd < 0) {
		rc = g->listen_fd < 0 ? g->listen_fd : -errno;
		log_warnx("-G %s:%llu: %s", addr, port, strerror(-rc));
		goto fail;
	}
	rc = thread_create(&g->thread, gdb_thread, g);
	if (rc != 0) {
		rc = -rc;
		log_warnx("gdb: cannot start the stub thread: %s", strerror(-rc));
		goto fail;
	}
	pthread_detach(g->thread);
	if (wait)
		log_warnx("waiting for a debugger on %s:%llu", addr, port);
	*out = g;
	return 0;
fail:
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	if (g->wake_fd >= 0)
		close(g->wake_fd);
	free(g);
	return rc;
}
