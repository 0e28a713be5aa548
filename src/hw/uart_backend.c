/* UART host back ends (see uart_backend.h for the spec syntax).
 *
 * Flow control, host to guest: the read event is enabled only while the
 * UART's receive FIFO has room, and each read takes at most that room, so no
 * host byte is ever buffered outside the 16-byte FIFO.  When the FIFO fills,
 * the read event is disabled; the UART's rx-notify callback (from a vCPU
 * thread reading RBR) enables it again.
 *
 * Guest to host: a vCPU's THR write tries one non-blocking write; when the
 * file would block, bytes go to a 64 KiB ring flushed by a write event on the
 * main thread.  A full ring drops bytes: a stuck terminal never stalls a vCPU.
 *
 * Non-blocking I/O on the runner's stdin/stdout must not leak to the shell
 * that shares their open file descriptions, so those are re-opened through
 * /proc/self/fd (a private description); only when that fails is O_NONBLOCK
 * set on the shared one, and then recorded so that uart_backend_restore_all()
 * puts it back, with every tty's termios. */
#include "hw/uart_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"

#define TX_RING_SIZE ((size_t)64 * 1024)
#define SAVED_MAX    16

enum backend_kind { BK_STDIO, BK_PATH, BK_PTY, BK_TCP, BK_UNIX };

struct uart_backend {
	struct uart *uart;
	struct mevent_loop *loop;
	enum backend_kind kind;

	/* Guards the fields below: vCPU threads transmit and re-enable input
	 * while the main thread reads, flushes and (for sockets) swaps
	 * clients. */
	pthread_mutex_t lock;
	int rfd;	    /* input, -1: none */
	int wfd;	    /* output, -1: none (never equal to rfd) */
	bool wsock;	    /* wfd is a socket: send(MSG_NOSIGNAL) */
	struct mevent *rev; /* read event on rfd */
	struct mevent *wev; /* write event on wfd, enabled while the ring holds data */
	uint8_t *ring;
	size_t ring_head, ring_len;
	uint64_t dropped;

	int listen_fd; /* tcp/unix */
	struct mevent *lev;
	int hold_fd;	 /* pty slave kept open (no hang-up while nobody's attached) */
	int tty_slot;	 /* saved[] entry of a tty we put in raw mode, -1: none */
	char *unix_path; /* socket file to unlink on close */
	char addr[INET6_ADDRSTRLEN + 16];
	char pty_path[64];
};

/* What must be put back at exit.  Filled before "used" is set, read from
 * signal handlers: no locks, only plain stores and async-signal-safe calls. */
struct saved_state {
	volatile sig_atomic_t used;
	int fd;
	struct termios tio; /* when has_tio */
	int fl;		    /* when has_fl */
	bool has_tio;
	bool has_fl;
};

static struct saved_state saved[SAVED_MAX];
static bool stdio_busy;

static int saved_add(int fd, const struct termios *tio, int fl)
{
	int i;

	for (i = 0; i < SAVED_MAX; i++) {
		if (saved[i].used)
			continue;
		saved[i].fd = fd;
		saved[i].has_tio = tio != NULL;
		if (tio)
			saved[i].tio = *tio;
		saved[i].has_fl = fl >= 0;
		saved[i].fl = fl;
		__atomic_store_n(&saved[i].used, 1, __ATOMIC_RELEASE);
		return i;
	}
	return -1;
}

static void saved_restore(int i)
{
	if (!saved[i].used)
		return;
	if (saved[i].has_tio)
		tcsetattr(saved[i].fd, TCSANOW, &saved[i].tio);
	if (saved[i].has_fl)
		fcntl(saved[i].fd, F_SETFL, saved[i].fl);
}

static void saved_drop(int i)
{
	if (i < 0)
		return;
	saved_restore(i);
	__atomic_store_n(&saved[i].used, 0, __ATOMIC_RELEASE);
}

void uart_backend_restore_all(void)
{
	int saved_errno = errno;
	int i;

	for (i = 0; i < SAVED_MAX; i++)
		saved_restore(i);
	errno = saved_errno;
}

/* Raw mode, remembering the old settings.  Returns the saved[] slot, or -1
 * (not a tty, or the settings could not be saved: the tty is left as it is,
 * never changed without a way back). */
static int tty_make_raw(int fd)
{
	struct termios old, raw;
	int slot;

	if (!isatty(fd) || tcgetattr(fd, &old) < 0)
		return -1;
	slot = saved_add(fd, &old, -1);
	if (slot < 0)
		return -1;
	raw = old;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		saved_drop(slot);
		return -1;
	}
	return slot;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* A descriptor for fd (0 or 1) on which non-blocking I/O does not affect the
 * file description the runner inherited. */
static int private_fd(int fd, int acc)
{
	char path[32];
	struct stat st;
	int nfd, fl;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		/* Regular files never block. */
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return nfd < 0 ? -errno : nfd;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, acc | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (nfd >= 0)
		return nfd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK)) {
		if (saved_add(fd, NULL, fl) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			close(nfd);
			return -EBUSY;
		}
	}
	return nfd;
}

static ssize_t out_write(struct uart_backend *b, const void *buf, size_t len)
{
	if (b->wsock)
		return send(b->wfd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return write(b->wfd, buf, len);
}

static bool would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* vCPU thread, from uart_write(): never blocks. */
static void backend_tx(void *arg, uint8_t byte)
{
	struct uart_backend *b = arg;
	ssize_t n;

	pthread_mutex_lock(&b->lock);
	if (b->wfd < 0)
		goto drop;
	if (b->ring_len == 0) {
		n = out_write(b, &byte, 1);
		if (n == 1)
			goto out;
		if (n == 0 || !would_block(errno) || !b->wev)
			goto drop;
	}
	if (b->ring_len == TX_RING_SIZE)
		goto drop;
	b->ring[(b->ring_head + b->ring_len) % TX_RING_SIZE] = byte;
	if (b->ring_len++ == 0)
		mevent_enable(b->wev);
	goto out;
drop:
	b->dropped++;
out:
	pthread_mutex_unlock(&b->lock);
}

/* Main thread: the output file can take more. */
static void backend_flush(int fd, void *arg)
{
	struct uart_backend *b = arg;

	(void)fd;
	pthread_mutex_lock(&b->lock);
	while (b->ring_len > 0 && b->wfd >= 0) {
		size_t chunk = TX_RING_SIZE - b->ring_head;
		ssize_t n;

		if (chunk > b->ring_len)
			chunk = b->ring_len;
		n = out_write(b, b->ring + b->ring_head, chunk);
		if (n < 0 && would_block(errno))
			break;
		if (n <= 0) {
			/* The peer is gone: what is queued cannot be delivered. */
			b->dropped += b->ring_len;
			b->ring_len = 0;
			break;
		}
		b->ring_head = (b->ring_head + (size_t)n) % TX_RING_SIZE;
		b->ring_len -= (size_t)n;
	}
	if (b->ring_len == 0) {
		b->ring_head = 0;
		if (b->wev)
			mevent_disable(b->wev);
	}
	pthread_mutex_unlock(&b->lock);
}

/* vCPU thread, from uart_read(): the guest made room in the FIFO. */
static void backend_rx_notify(void *arg)
{
	struct uart_backend *b = arg;

	pthread_mutex_lock(&b->lock);
	if (b->rev)
		mevent_enable(b->rev);
	pthread_mutex_unlock(&b->lock);
}

static void client_detach(struct uart_backend *b);

/* Stop reading for good (end of file, hang-up, error). */
static void input_stop(struct uart_backend *b)
{
	if (b->kind == BK_TCP || b->kind == BK_UNIX) {
		client_detach(b);
		return;
	}
	pthread_mutex_lock(&b->lock);
	if (b->rev)
		mevent_del(b->rev);
	b->rev = NULL;
	pthread_mutex_unlock(&b->lock);
}

/* Main thread: input is readable. */
static void backend_read(int fd, void *arg)
{
	struct uart_backend *b = arg;
	uint8_t buf[UART_FIFO_SIZE];
	size_t room = uart_rx_room(b->uart);
	ssize_t n;

	if (room == 0) {
		/* Backpressure: stop polling until the guest drains the FIFO.
		 * Re-check after disabling, in case it did so meanwhile. */
		pthread_mutex_lock(&b->lock);
		if (b->rev)
			mevent_disable(b->rev);
		pthread_mutex_unlock(&b->lock);
		if (uart_rx_room(b->uart) > 0)
			backend_rx_notify(b);
		return;
	}
	if (room > sizeof(buf))
		room = sizeof(buf);
	n = read(fd, buf, room);
	if (n > 0) {
		uart_rx_put(b->uart, buf, (size_t)n);
		return;
	}
	if (n < 0 && would_block(errno))
		return;
	input_stop(b);
}

static int output_attach(struct uart_backend *b, int wfd, bool sock)
{
	struct stat st;

	b->wfd = wfd;
	b->wsock = sock;
	/* epoll refuses regular files; those never block anyway. */
	if (fstat(wfd, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	b->wev = mevent_add_write(b->loop, wfd, backend_flush, b);
	if (b->wev)
		mevent_disable(b->wev);
	return 0;
}

static void input_attach(struct uart_backend *b, int rfd)
{
	b->rfd = rfd;
	b->rev = mevent_add_read(b->loop, rfd, backend_read, b);
	if (!b->rev)
		log_debug("%s: input not pollable, ignored", uart_name(b->uart));
}

/* A second descriptor for output on the same file: epoll registers each
 * (file, fd) pair once, and the read and write events are separate. */
static int attach_rw(struct uart_backend *b, int fd, bool sock)
{
	int wfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (wfd < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	input_attach(b, fd);
	return output_attach(b, wfd, sock);
}

static int open_stdio(struct uart_backend *b)
{
	int in, outfd;

	if (stdio_busy)
		return -EBUSY;
	/* A closed stdin or stdout (a daemon) is simply no input or output. */
	in = private_fd(STDIN_FILENO, O_RDONLY);
	if (in < 0 && in != -EBADF)
		return in;
	outfd = private_fd(STDOUT_FILENO, O_WRONLY);
	if (outfd < 0 && outfd != -EBADF) {
		if (in >= 0)
			close(in);
		return outfd;
	}
	if (in >= 0) {
		b->tty_slot = tty_make_raw(STDIN_FILENO);
		input_attach(b, in);
	}
	if (outfd >= 0)
		output_attach(b, outfd, false);
	stdio_busy = true;
	return 0;
}

static int open_path(struct uart_backend *b, const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
			  0600);
		if (fd < 0)
			return -errno;
		return output_attach(b, fd, false);
	}
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISSOCK(st.st_mode))
		return -ENOTSUP;
	if (S_ISREG(st.st_mode)) {
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		return output_attach(b, fd, false);
	}
	if (S_ISFIFO(st.st_mode)) {
		/* Input only: read-write keeps a writer, so the fifo never reads
		 * end-of-file, and the guest's output is not read back. */
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		input_attach(b, fd);
		return 0;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b->tty_slot = tty_make_raw(fd);
	return attach_rw(b, fd, false);
}

static int open_pty(struct uart_backend *b)
{
	struct termios tio;
	int m, err;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, b->pty_path, sizeof(b->pty_path)) != 0 || set_nonblock(m) < 0)
		goto fail;
	/* Hold the slave open: with no slave open the master reports a
	 * hang-up forever.  Raw, so that its line discipline never echoes the
	 * guest's output back in as input. */
	b->hold_fd = open(b->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (b->hold_fd < 0 || tcgetattr(b->hold_fd, &tio) < 0)
		goto fail;
	cfmakeraw(&tio);
	if (tcsetattr(b->hold_fd, TCSANOW, &tio) < 0)
		goto fail;
	err = attach_rw(b, m, false);
	if (err < 0)
		return err;
	log_warnx("%s attached to %s", uart_name(b->uart), b->pty_path);
	return 0;
fail:
	err = -errno;
	close(m);
	return err ? err : -EIO;
}

/* ---- listening sockets (tcp=, unix=) ---- */

static void client_detach(struct uart_backend *b)
{
	pthread_mutex_lock(&b->lock);
	if (b->rev)
		mevent_del(b->rev);
	if (b->wev)
		mevent_del(b->wev);
	b->rev = b->wev = NULL;
	if (b->rfd >= 0)
		close(b->rfd);
	if (b->wfd >= 0)
		close(b->wfd);
	b->rfd = b->wfd = -1;
	b->ring_len = 0;
	b->ring_head = 0;
	pthread_mutex_unlock(&b->lock);
}

/* The attached client hung up, though its end-of-file event may not have
 * been dispatched yet (a quick reconnect). */
static bool client_gone(const struct uart_backend *b)
{
	struct pollfd p = { .fd = b->rfd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void backend_accept(int fd, void *arg)
{
	struct uart_backend *b = arg;
	int c, wfd;

	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (b->rfd >= 0 && client_gone(b))
		client_detach(b);
	if (b->rfd >= 0) {
		/* One client at a time. */
		close(c);
		return;
	}
	wfd = fcntl(c, F_DUPFD_CLOEXEC, 3);
	if (wfd < 0) {
		close(c);
		return;
	}
	pthread_mutex_lock(&b->lock);
	b->ring_len = 0;
	b->ring_head = 0;
	output_attach(b, wfd, true);
	input_attach(b, c);
	pthread_mutex_unlock(&b->lock);
}

static int listen_on(struct uart_backend *b, int fd)
{
	if (listen(fd, 1) < 0)
		return -errno;
	b->listen_fd = fd;
	b->lev = mevent_add_read(b->loop, fd, backend_accept, b);
	if (!b->lev)
		return errno ? -errno : -ENOMEM;
	return 0;
}

/* "IP:PORT" or "[IPv6]:PORT" into host and port strings. */
static int split_host_port(const char *s, char *host, size_t hostlen, const char **port)
{
	const char *colon, *start = s, *end;

	if (*s == '[') {
		start = s + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		end = colon;
	}
	if (end == start || (size_t)(end - start) >= hostlen || colon[1] == '\0')
		return -EINVAL;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	*port = colon + 1;
	return 0;
}

static void record_tcp_addr(struct uart_backend *b, int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN], port[8];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	snprintf(b->addr, sizeof(b->addr), ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
		 port);
}

static int open_tcp(struct uart_backend *b, const char *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	char host[256], *endp;
	const char *port;
	unsigned long pnum;
	int fd, err, one = 1;

	if (split_host_port(arg, host, sizeof(host), &port) < 0)
		return -EINVAL;
	errno = 0;
	pnum = strtoul(port, &endp, 10);
	if (port[0] < '0' || port[0] > '9' || *endp != '\0' || errno || pnum > 65535)
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EADDRNOTAVAIL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		err = -errno;
		close(fd);
		goto out;
	}
	record_tcp_addr(b, fd);
	err = listen_on(b, fd);
out:
	freeaddrinfo(res);
	return err;
}

/* A socket file nobody listens on (left by a killed runner) may be replaced;
 * a live one, or any other kind of file, may not. */
static bool unix_path_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	return r < 0 && errno == ECONNREFUSED;
}

static int open_unix(struct uart_backend *b, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd, err;

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		if (err != -EADDRINUSE || !unix_path_stale(&sa) || unlink(path) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			return err;
		}
	}
	/* The console is not for other users (umask may be lax). */
	chmod(path, 0600);
	b->unix_path = strdup(path);
	if (!b->unix_path) {
		unlink(path);
		close(fd);
		return -ENOMEM;
	}
	return listen_on(b, fd);
}

static int backend_dispatch(struct uart_backend *b, const char *spec)
{
	if (strcmp(spec, "stdio") == 0) {
		b->kind = BK_STDIO;
		return open_stdio(b);
	}
	if (strcmp(spec, "pty") == 0) {
		b->kind = BK_PTY;
		return open_pty(b);
	}
	if (strncmp(spec, "tcp=", 4) == 0) {
		b->kind = BK_TCP;
		return open_tcp(b, spec + 4);
	}
	if (strncmp(spec, "unix=", 5) == 0) {
		b->kind = BK_UNIX;
		return open_unix(b, spec + 5);
	}
	b->kind = BK_PATH;
	return open_path(b, spec);
}

static void backend_release(struct uart_backend *b)
{
	if (b->lev)
		mevent_del(b->lev);
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	saved_drop(b->tty_slot); /* before its fd is closed */
	client_detach(b);	 /* rfd/wfd and their events, for every kind */
	if (b->hold_fd >= 0)
		close(b->hold_fd);
	if (b->unix_path) {
		unlink(b->unix_path);
		free(b->unix_path);
	}
	if (b->kind == BK_STDIO && stdio_busy)
		stdio_busy = false;
	pthread_mutex_destroy(&b->lock);
	free(b->ring);
	free(b);
}

int uart_backend_open(struct uart *u, const char *spec, struct mevent_loop *loop,
		      struct uart_backend **out)
{
	struct uart_backend *b;
	int err;

	if (!u || !spec || !loop || !out || spec[0] == '\0')
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ring = malloc(TX_RING_SIZE);
	if (!b->ring) {
		free(b);
		return -ENOMEM;
	}
	pthread_mutex_init(&b->lock, NULL);
	b->uart = u;
	b->loop = loop;
	b->rfd = b->wfd = b->listen_fd = b->hold_fd = -1;
	b->tty_slot = -1;
	b->kind = BK_PATH;
	err = backend_dispatch(b, spec);
	if (err < 0) {
		if (err == -EBUSY && b->kind == BK_STDIO)
			b->kind = BK_PATH; /* not ours to release */
		backend_release(b);
		return err;
	}
	uart_set_tx(u, backend_tx, b);
	uart_set_rx_notify(u, backend_rx_notify, b);
	*out = b;
	return 0;
}

void uart_backend_close(struct uart_backend *b)
{
	if (!b)
		return;
	uart_set_tx(b->uart, NULL, NULL);
	uart_set_rx_notify(b->uart, NULL, NULL);
	backend_release(b);
}

const char *uart_backend_pty_path(const struct uart_backend *b)
{
	return b && b->kind == BK_PTY ? b->pty_path : NULL;
}

const char *uart_backend_tcp_addr(const struct uart_backend *b)
{
	return b && b->kind == BK_TCP && b->addr[0] ? b->addr : NULL;
}

uint64_t uart_backend_dropped(struct uart_backend *b)
{
	uint64_t n;

	pthread_mutex_lock(&b->lock);
	n = b->dropped;
	pthread_mutex_unlock(&b->lock);
	return n;
}
