/* The bvm console and debug ports (see bvm.h for the guest-visible
 * semantics).
 *
 * Threads: vCPU threads run bvm_inout; the main thread runs the mevent
 * callbacks that read input, flush output and accept debugger clients.  One
 * mutex per port guards the buffers and descriptors.  Flow control: the read
 * event is disabled while the input buffer is full and enabled again by the
 * vCPU that takes a byte out; the write event is enabled only while output
 * is pending. */
#include "hw/bvm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"

struct bvm_ring {
	uint8_t *buf;
	size_t cap, head, len;
};

struct bvm {
	uint16_t port;
	uint16_t sig;
	bool byte_probe; /* 8-bit reads answer 0xFF (console) */
	const char *name;
	struct mevent_loop *loop;

	pthread_mutex_t lock; /* everything below */
	int rfd, wfd;	      /* -1: none; never the same descriptor */
	bool wsock;	      /* wfd is a socket: send(MSG_NOSIGNAL) */
	bool direct;	      /* wfd cannot be polled (regular file): write at once */
	struct mevent *rev, *wev;
	bool rev_off; /* read event disabled: input buffer full */
	struct bvm_ring in, out;
	uint64_t dropped;

	int listen_fd; /* debug port */
	struct mevent *lev;
	int tcp_port;
};

/* The terminal mode of stdin before the console made it raw; read from
 * signal handlers, so set before the flag and restored with plain calls. */
static struct termios saved_tio;
static volatile sig_atomic_t saved_tio_valid;

void bvm_restore_terminal(void)
{
	int saved_errno = errno;

	if (saved_tio_valid)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	errno = saved_errno;
}

static int ring_init(struct bvm_ring *r, size_t cap)
{
	r->buf = malloc(cap);
	r->cap = cap;
	r->head = r->len = 0;
	return r->buf ? 0 : -ENOMEM;
}

static bool ring_put(struct bvm_ring *r, uint8_t c)
{
	if (r->len == r->cap)
		return false;
	r->buf[(r->head + r->len) % r->cap] = c;
	r->len++;
	return true;
}

static bool ring_get(struct bvm_ring *r, uint8_t *c)
{
	if (r->len == 0)
		return false;
	*c = r->buf[r->head];
	r->head = (r->head + 1) % r->cap;
	r->len--;
	return true;
}

/* The contiguous run of free space after the data (for read()). */
static size_t ring_space(const struct bvm_ring *r, uint8_t **at)
{
	size_t tail = (r->head + r->len) % r->cap;
	size_t n = r->cap - r->len;

	if (tail + n > r->cap)
		n = r->cap - tail;
	*at = r->buf + tail;
	return n;
}

/* The contiguous run of data at the head (for write()). */
static size_t ring_data(const struct bvm_ring *r, uint8_t **at)
{
	size_t n = r->len;

	if (r->head + n > r->cap)
		n = r->cap - r->head;
	*at = r->buf + r->head;
	return n;
}

static void ring_consume(struct bvm_ring *r, size_t n)
{
	r->head = (r->head + n) % r->cap;
	r->len -= n;
	if (r->len == 0)
		r->head = 0;
}

static bool would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static ssize_t out_write(struct bvm *b, const void *buf, size_t len)
{
	if (b->wsock)
		return send(b->wfd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return write(b->wfd, buf, len);
}

/* Drop the descriptors and events of the current peer (lock held).  For
 * the debug port the next client starts afresh: nothing of the previous
 * session is kept. */
static void peer_detach(struct bvm *b)
{
	if (b->rev)
		mevent_del(b->rev);
	if (b->wev)
		mevent_del(b->wev);
	b->rev = b->wev = NULL;
	b->rev_off = false;
	if (b->rfd >= 0)
		close(b->rfd);
	if (b->wfd >= 0)
		close(b->wfd);
	b->rfd = b->wfd = -1;
	b->direct = false;
	b->in.len = b->in.head = 0;
	b->out.len = b->out.head = 0;
}

/* Stop reading for good: end of file, hang-up or error.  The console keeps
 * its output; a debugger client is gone altogether. */
static void input_stop(struct bvm *b)
{
	if (b->listen_fd >= 0) {
		peer_detach(b);
		return;
	}
	if (b->rev)
		mevent_del(b->rev);
	b->rev = NULL;
	if (b->rfd >= 0)
		close(b->rfd);
	b->rfd = -1;
}

/* Main thread: input is readable. */
static void bvm_read_cb(int fd, void *arg)
{
	struct bvm *b = arg;
	uint8_t *at;
	size_t room;
	ssize_t n;

	pthread_mutex_lock(&b->lock);
	if (fd != b->rfd)
		goto out;
	room = ring_space(&b->in, &at);
	if (room == 0) {
		if (b->rev && !b->rev_off) {
			mevent_disable(b->rev);
			b->rev_off = true;
		}
		goto out;
	}
	n = read(fd, at, room);
	if (n > 0)
		b->in.len += (size_t)n;
	else if (n == 0 || !would_block(errno))
		input_stop(b);
out:
	pthread_mutex_unlock(&b->lock);
}

/* Write what the output buffer holds (lock held).  Returns false when the
 * peer is gone. */
static bool flush_locked(struct bvm *b)
{
	uint8_t *at;
	size_t n;

	while ((n = ring_data(&b->out, &at)) > 0) {
		ssize_t w = out_write(b, at, n);

		if (w > 0) {
			ring_consume(&b->out, (size_t)w);
			continue;
		}
		if (w < 0 && would_block(errno))
			return true;
		return false;
	}
	return true;
}

/* Main thread: the output descriptor is writable again. */
static void bvm_write_cb(int fd, void *arg)
{
	struct bvm *b = arg;

	pthread_mutex_lock(&b->lock);
	if (fd != b->wfd)
		goto out;
	if (!flush_locked(b)) {
		if (b->listen_fd >= 0) {
			peer_detach(b);
			goto out;
		}
		/* The console's stdout is gone: drop output from now on. */
		b->dropped += b->out.len;
		b->out.len = b->out.head = 0;
	}
	if (b->out.len == 0 && b->wev)
		mevent_disable(b->wev);
out:
	pthread_mutex_unlock(&b->lock);
}

static uint32_t take_input(struct bvm *b)
{
	uint32_t v = BVM_NO_DATA;
	uint8_t c;

	pthread_mutex_lock(&b->lock);
	if (ring_get(&b->in, &c))
		v = c;
	if (b->rev_off && b->rev && b->in.len < b->in.cap) {
		mevent_enable(b->rev);
		b->rev_off = false;
	}
	pthread_mutex_unlock(&b->lock);
	return v;
}

/* A byte from the guest: written at once when nothing is queued and the
 * descriptor takes it (so output is not lost when the VM stops right
 * after), else queued for the main thread, which also deals with errors.
 * False when the byte is dropped.  Called with the lock held. */
static bool output_locked(struct bvm *b, uint8_t c)
{
	if (b->wfd < 0)
		return false;
	if (b->direct)
		return out_write(b, &c, 1) == 1;
	if (b->out.len == 0 && out_write(b, &c, 1) == 1)
		return true;
	if (!ring_put(&b->out, c))
		return false;
	if (b->out.len == 1 && b->wev)
		mevent_enable(b->wev);
	return true;
}

static void put_output(struct bvm *b, uint8_t c)
{
	pthread_mutex_lock(&b->lock);
	if (!output_locked(b, c))
		b->dropped++;
	pthread_mutex_unlock(&b->lock);
}

int bvm_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct bvm *b = arg;

	(void)vcpu;
	if (port != b->port)
		return -1;
	if (in && bytes == 2) {
		*val = b->sig;
		return 0;
	}
	if (in && bytes == 1 && b->byte_probe) {
		*val = 0xff;
		return 0;
	}
	if (bytes != 4)
		return -1;
	if (in)
		*val = take_input(b);
	else
		put_output(b, (uint8_t)*val);
	return 0;
}

/* Attach output (lock held or not yet shared). */
static void output_attach(struct bvm *b, int wfd, bool sock)
{
	struct stat st;

	b->wfd = wfd;
	b->wsock = sock;
	if (wfd < 0)
		return;
	/* epoll refuses regular files; writes to those never wait long. */
	if (fstat(wfd, &st) == 0 && S_ISREG(st.st_mode)) {
		b->direct = true;
		return;
	}
	b->wev = mevent_add_write(b->loop, wfd, bvm_write_cb, b);
	if (b->wev)
		mevent_disable(b->wev);
	else
		b->direct = true;
}

static void input_attach(struct bvm *b, int rfd)
{
	b->rfd = rfd;
	if (rfd < 0)
		return;
	b->rev = mevent_add_read(b->loop, rfd, bvm_read_cb, b);
	if (!b->rev) {
		/* /dev/null and regular files cannot be polled: no input. */
		log_debug("%s: input not pollable, ignored", b->name);
		close(rfd);
		b->rfd = -1;
	}
}

static void bvm_free(struct bvm *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	peer_detach(b);
	if (b->lev)
		mevent_del(b->lev);
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_destroy(&b->lock);
	free(b->in.buf);
	free(b->out.buf);
	free(b);
}

static int bvm_new(struct mevent_loop *loop, uint16_t port, struct bvm **out)
{
	struct bvm *b;

	if (port != BVM_CONS_PORT && port != BVM_DBG_PORT)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->port = port;
	b->sig = port == BVM_CONS_PORT ? BVM_CONS_SIG : BVM_DBG_SIG;
	b->byte_probe = port == BVM_CONS_PORT;
	b->name = port == BVM_CONS_PORT ? "bvm console" : "bvm debug port";
	b->loop = loop;
	b->rfd = b->wfd = b->listen_fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	if (ring_init(&b->in, BVM_IN_SIZE) < 0 || ring_init(&b->out, BVM_OUT_SIZE) < 0) {
		bvm_free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

static int bvm_register(struct inout *io, struct bvm *b)
{
	return inout_register(io, b->port, BVM_PORT_LEN, bvm_inout, b,
			      b->port == BVM_CONS_PORT ? "bvmcons" : "bvmdbg");
}

int bvm_attach_fds(struct inout *io, struct mevent_loop *loop, uint16_t port, int rfd, int wfd,
		   struct bvm **out)
{
	struct bvm *b;
	int rc;

	rc = bvm_new(loop, port, &b);
	if (rc < 0) {
		if (rfd >= 0)
			close(rfd);
		if (wfd >= 0)
			close(wfd);
		return rc;
	}
	input_attach(b, rfd);
	output_attach(b, wfd, false);
	rc = bvm_register(io, b);
	if (rc < 0) {
		bvm_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* A non-blocking descriptor of our own for stdin or stdout: re-opened
 * through /proc so that O_NONBLOCK does not reach the shell sharing the
 * open file; a plain duplicate when that is impossible (a regular file, a
 * socket), which the loop only touches when it is ready. */
static int private_fd(int fd, int acc)
{
	char path[32];
	struct stat st;
	int nfd;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, acc | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (nfd >= 0)
			return nfd;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return nfd < 0 ? -errno : nfd;
}

/* bhyve put the terminal in raw mode so that every key reaches the guest
 * at once. */
static void stdin_make_raw(void)
{
	struct termios raw;

	if (saved_tio_valid || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	saved_tio_valid = 1;
	raw = saved_tio;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		saved_tio_valid = 0;
}

int bvm_console_init(struct inout *io, struct mevent_loop *loop, struct bvm **out)
{
	int in, outfd;

	/* A closed stdin or stdout is simply no input or no output. */
	in = private_fd(STDIN_FILENO, O_RDONLY);
	if (in < 0 && in != -EBADF)
		return in;
	outfd = private_fd(STDOUT_FILENO, O_WRONLY);
	if (outfd < 0 && outfd != -EBADF) {
		if (in >= 0)
			close(in);
		return outfd;
	}
	if (in >= 0)
		stdin_make_raw();
	return bvm_attach_fds(io, loop, BVM_CONS_PORT, in, outfd, out);
}

/* Main thread: a debugger connects.  One client at a time: a second one is
 * accepted and closed at once, so it sees the refusal instead of hanging. */
static void bvm_accept_cb(int fd, void *arg)
{
	struct bvm *b = arg;
	int one = 1;
	int c, w;

	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	pthread_mutex_lock(&b->lock);
	if (b->rfd >= 0 || b->wfd >= 0) {
		pthread_mutex_unlock(&b->lock);
		close(c);
		return;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* epoll watches each (file, descriptor) pair once: reading and writing
	 * get a descriptor each. */
	w = fcntl(c, F_DUPFD_CLOEXEC, 3);
	if (w < 0) {
		pthread_mutex_unlock(&b->lock);
		close(c);
		return;
	}
	b->in.len = b->in.head = 0;
	b->out.len = b->out.head = 0;
	input_attach(b, c);
	output_attach(b, w, true);
	if (b->rfd < 0 || !b->wev)
		peer_detach(b);
	pthread_mutex_unlock(&b->lock);
}

static int listen_local(int tcp_port, int *bound)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)tcp_port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);
	int one = 1;
	int fd, rc;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

int bvm_debug_init(struct inout *io, struct mevent_loop *loop, int tcp_port, struct bvm **out)
{
	struct bvm *b;
	int rc;

	if (tcp_port < 0 || tcp_port > 65535)
		return -EINVAL;
	rc = bvm_new(loop, BVM_DBG_PORT, &b);
	if (rc < 0)
		return rc;
	rc = listen_local(tcp_port, &b->tcp_port);
	if (rc < 0)
		goto fail;
	b->listen_fd = rc;
	b->lev = mevent_add_read(loop, b->listen_fd, bvm_accept_cb, b);
	if (!b->lev) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = bvm_register(io, b);
	if (rc < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	bvm_free(b);
	return rc;
}

int bvm_tcp_port(const struct bvm *b)
{
	return b->tcp_port;
}

uint64_t bvm_dropped(struct bvm *b)
{
	uint64_t n;

	pthread_mutex_lock(&b->lock);
	n = b->dropped;
	pthread_mutex_unlock(&b->lock);
	return n;
}

void bvm_close(struct inout *io, struct bvm *b)
{
	if (!b)
		return;
	if (io)
		inout_unregister(io, b->port);
	if (b->port == BVM_CONS_PORT)
		bvm_restore_terminal();
	bvm_free(b);
}
