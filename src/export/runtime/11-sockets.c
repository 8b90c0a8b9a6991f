/* ------------------------------------------------------------------ */
/* Sockets and data                                                   */
/* ------------------------------------------------------------------ */

#define EC_FD_OR_STOP(cx, ref, fd) \
	do { \
		if (ec_fd((cx), (ref), &(fd))) \
			return (struct ec_outcome){ .kind = EC_STOP }; \
	} while (0)

/* Marks the syscall this thread is about to make, for `asleep`. */
static void ec_enter(struct ec_ctx *cx, long nr)
{
	if (cx->task)
		atomic_store(&cx->task->syscall, nr);
}

static void ec_left(struct ec_ctx *cx)
{
	if (cx->task) {
		atomic_store(&cx->task->syscall, -1);
		atomic_fetch_add(&cx->task->progress, 1);
	}
}

/* The classic BPF program `ret #k` for SO_ATTACH_REUSEPORT_CBPF. */
struct ec_sock_filter {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct ec_sock_fprog {
	unsigned short len;
	struct ec_sock_filter *filter;
};

static struct ec_outcome ec_setsockopt(struct ec_ctx *cx, const char *ref, int opt, long long value)
{
	int fd = -1, v = (int)value;
	EC_FD_OR_STOP(cx, ref, fd);
	static const int names[] = { SO_REUSEPORT, SO_REUSEADDR, SO_RCVBUF, SO_SNDBUF, SO_LINGER, SO_OOBINLINE, SO_INCOMING_CPU };
	if (opt == EC_SO_LINGER) {
		struct linger l = { 1, v };
		return ec_ret(cx, setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l));
	}
	if (opt == EC_SO_REUSEPORT_CBPF) {
		struct ec_sock_filter f = { 0x06 /* BPF_RET|BPF_K */, 0, 0, (uint32_t)v };
		struct ec_sock_fprog prog = { 1, &f };
		return ec_ret(cx, setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog));
	}
	if (opt == EC_SO_DETACH_BPF)
		v = 0;
	int name = opt == EC_SO_DETACH_BPF ? SO_DETACH_REUSEPORT_BPF : names[opt];
	return ec_ret(cx, setsockopt(fd, SOL_SOCKET, name, &v, sizeof v));
}

/* An address: `127.0.0.1:0`, `[::1]:0`, or the name of a bound socket. */
static int ec_address(struct ec_ctx *cx, const char *addr, struct sockaddr_storage *ss, socklen_t *len, struct ec_outcome *err)
{
	memset(ss, 0, sizeof *ss);
	if (addr[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		char host[128];
		const char *close = strchr(addr, ']');
		snprintf(host, sizeof host, "%.*s", (int)(close - addr - 1), addr + 1);
		char *pct = strchr(host, '%');
		if (pct) {
			*pct = 0;
			a->sin6_scope_id = (uint32_t)strtoul(pct + 1, NULL, 10);
		}
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &a->sin6_addr);
		a->sin6_port = htons((uint16_t)atoi(close + 2));
		*len = sizeof *a;
		return 0;
	}
	const char *colon = strchr(addr, ':');
	if (colon) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		char host[64];
		snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
		a->sin_family = AF_INET;
		inet_pton(AF_INET, host, &a->sin_addr);
		a->sin_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof *a;
		return 0;
	}
	int other;
	if (ec_fd(cx, addr, &other)) {
		*err = (struct ec_outcome){ .kind = EC_STOP };
		return -1;
	}
	*len = sizeof *ss;
	if (getsockname(other, (struct sockaddr *)ss, len) != 0) {
		char *d = ec_errno_desc(errno);
		*err = ec_errorf(cx, "getsockname of %s failed: %s", addr, d);
		free(d);
		return -1;
	}
	return 0;
}

static struct ec_outcome ec_bind(struct ec_ctx *cx, const char *ref, const char *addr)
{
	int fd = -1;
	struct sockaddr_storage ss;
	socklen_t len;
	struct ec_outcome err = { 0 };
	EC_FD_OR_STOP(cx, ref, fd);
	if (ec_address(cx, addr, &ss, &len, &err) != 0)
		return err;
	return ec_ret(cx, bind(fd, (struct sockaddr *)&ss, len));
}

static struct ec_outcome ec_connect(struct ec_ctx *cx, const char *ref, const char *addr)
{
	int fd = -1;
	struct sockaddr_storage ss;
	socklen_t len;
	struct ec_outcome err = { 0 };
	ec_enter(cx, SYS_connect);
	EC_FD_OR_STOP(cx, ref, fd);
	if (ec_address(cx, addr, &ss, &len, &err) != 0)
		return err;
	long r = connect(fd, (struct sockaddr *)&ss, len);
	int e = errno;
	ec_left(cx);
	errno = e;
	return ec_ret(cx, r);
}

static struct ec_outcome ec_listen(struct ec_ctx *cx, const char *ref, int backlog)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	long r = listen(fd, backlog);
	int e = errno;
	if (r == 0) {
		ec_lock();
		for (size_t i = 0; i < G.nfds; i++)
			if (G.fds[i].live && G.fds[i].fd == fd)
				G.fds[i].kind = EC_LISTENING;
		ec_unlock();
	}
	errno = e;
	return ec_ret(cx, r);
}

static struct ec_outcome ec_accept(struct ec_ctx *cx, const char *new_name, const char *listener, int nonblock)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, listener, fd);
	ec_enter(cx, SYS_accept4);
	long r = accept4(fd, NULL, NULL, nonblock ? SOCK_NONBLOCK : 0);
	int e = errno;
	ec_left(cx);
	errno = e;
	return ec_made(cx, new_name, EC_SOCKET, r);
}

static struct ec_outcome ec_shutdown(struct ec_ctx *cx, const char *ref, int how)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	return ec_ret(cx, shutdown(fd, how));
}

static struct ec_outcome ec_send(struct ec_ctx *cx, const char *ref, size_t len, int oob)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	char *buf = ec_alloc(len);
	memset(buf, 'x', len);
	long r = send(fd, buf, len, oob ? MSG_OOB : 0);
	int e = errno;
	free(buf);
	errno = e;
	return ec_ret(cx, r);
}

static struct ec_outcome ec_recv(struct ec_ctx *cx, const char *ref, size_t len, int oob)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	char *buf = ec_alloc(len);
	ec_enter(cx, SYS_recvfrom);
	long r = recv(fd, buf, len, oob ? MSG_OOB : 0);
	int e = errno;
	ec_left(cx);
	free(buf);
	errno = e;
	return ec_ret(cx, r);
}

static struct ec_outcome ec_write_bytes(struct ec_ctx *cx, int fd, const void *buf, size_t len)
{
	ec_enter(cx, SYS_write);
	long r = syscall(SYS_write, fd, buf, len);
	int e = errno;
	ec_left(cx);
	errno = e;
	return ec_ret(cx, r);
}

/* `write FD N`: N bytes, or for an eventfd the 8-byte value N. */
static struct ec_outcome ec_write(struct ec_ctx *cx, const char *ref, unsigned long long n)
{
	int fd = -1, kind = EC_OTHER;
	if (ec_entry(cx, ref, &fd, &kind))
		return (struct ec_outcome){ .kind = EC_STOP };
	if (kind == EC_EVENTFD)
		return ec_write_bytes(cx, fd, &n, sizeof n);
	char *buf = ec_alloc((size_t)n);
	memset(buf, 'x', (size_t)n);
	struct ec_outcome o = ec_write_bytes(cx, fd, buf, (size_t)n);
	free(buf);
	return o;
}

static struct ec_outcome ec_write_text(struct ec_ctx *cx, const char *ref, const char *text)
{
	int fd = -1, kind = EC_OTHER;
	if (ec_entry(cx, ref, &fd, &kind))
		return (struct ec_outcome){ .kind = EC_STOP };
	return ec_write_bytes(cx, fd, text, strlen(text));
}

/* What a read returned: the value of an eventfd or timerfd, the signal
 * number for a signalfd, else the byte count. */
static long long ec_decode_read(int kind, const unsigned char *buf, long n)
{
	if ((kind == EC_EVENTFD || kind == EC_TIMERFD) && n == 8) {
		uint64_t v;
		memcpy(&v, buf, 8);
		return (long long)v;
	}
	if (kind == EC_SIGNALFD && n >= 4) {
		uint32_t v;
		memcpy(&v, buf, 4);
		return v;
	}
	return n;
}

static struct ec_outcome ec_read(struct ec_ctx *cx, const char *ref, size_t len)
{
	int fd = -1, kind = EC_OTHER;
	if (ec_entry(cx, ref, &fd, &kind))
		return (struct ec_outcome){ .kind = EC_STOP };
	size_t size = kind == EC_EVENTFD || kind == EC_TIMERFD ? 8 : kind == EC_SIGNALFD ? 128 : len;
	unsigned char *buf = ec_alloc(size);
	ec_enter(cx, SYS_read);
	long r = syscall(SYS_read, fd, buf, size);
	int e = errno;
	ec_left(cx);
	struct ec_outcome o = r == -1 ? ec_errno_outcome(cx, e) : ec_value(cx, ec_decode_read(kind, buf, r));
	free(buf);
	return o;
}

static int ec_set_nonblock(int fd, int on, int *old)
{
	int fl = fcntl(fd, F_GETFL, 0);
	if (fl < 0)
		return -1;
	if (old)
		*old = fl;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0 ? -1 : 0;
}

static struct ec_outcome ec_nonblock(struct ec_ctx *cx, const char *ref, int on)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	return ec_ret(cx, ec_set_nonblock(fd, on, NULL));
}

/* `fill`: writes until the fd would block (big writes, then single bytes
 * for the room a partial write leaves); the outcome is the byte count. */
static struct ec_outcome ec_fill(struct ec_ctx *cx, const char *ref)
{
	int fd = -1, kind = EC_OTHER, old = 0;
	if (ec_entry(cx, ref, &fd, &kind))
		return (struct ec_outcome){ .kind = EC_STOP };
	if (ec_set_nonblock(fd, 1, &old) != 0) {
		char *n = ec_errno_name(errno);
		struct ec_outcome o = ec_errorf(cx, "fcntl(F_SETFL, O_NONBLOCK) on %d failed: %s", fd, n);
		free(n);
		return o;
	}
	static const char chunk[65536] = { 'x' };
	size_t size = sizeof chunk;
	long long total = 0;
	int err = 0;
	for (;;) {
		long n = syscall(SYS_write, fd, chunk, size);
		if (n >= 0) {
			total += n;
		} else if (errno == EAGAIN && size > 1) {
			size = 1;
		} else {
			err = errno == EAGAIN ? 0 : errno;
			break;
		}
	}
	fcntl(fd, F_SETFL, old);
	return err ? ec_errno_outcome(cx, err) : ec_value(cx, total);
}

/* `drain`: reads until it would block or EOF (an eventfd's value counts),
 * or on a listening socket accepts and closes every pending connection. */
static struct ec_outcome ec_drain(struct ec_ctx *cx, const char *ref)
{
	int fd = -1, kind = EC_OTHER, old = 0;
	if (ec_entry(cx, ref, &fd, &kind))
		return (struct ec_outcome){ .kind = EC_STOP };
	if (ec_set_nonblock(fd, 1, &old) != 0) {
		char *n = ec_errno_name(errno);
		struct ec_outcome o = ec_errorf(cx, "fcntl(F_SETFL, O_NONBLOCK) on %d failed: %s", fd, n);
		free(n);
		return o;
	}
	long long total = 0;
	int err = 0;
	if (kind == EC_LISTENING) {
		for (;;) {
			int c = accept4(fd, NULL, NULL, 0);
			if (c < 0) {
				err = errno == EAGAIN ? 0 : errno;
				break;
			}
			close(c);
			total++;
		}
	} else {
		unsigned char *buf = ec_alloc(65536);
		for (;;) {
			long n = syscall(SYS_read, fd, buf, 65536);
			if (n == 0)
				break;
			if (n < 0) {
				err = errno == EAGAIN ? 0 : errno;
				break;
			}
			total += ec_decode_read(kind, buf, n);
		}
		free(buf);
	}
	fcntl(fd, F_SETFL, old);
	return err ? ec_errno_outcome(cx, err) : ec_value(cx, total);
}

static struct ec_outcome ec_arm(struct ec_ctx *cx, const char *ref, long long after_ns, long long every_ns)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	struct itimerspec its = {
		.it_interval = { (time_t)(every_ns / 1000000000LL), (long)(every_ns % 1000000000LL) },
		.it_value = { (time_t)(after_ns / 1000000000LL), (long)(after_ns % 1000000000LL) },
	};
	return ec_ret(cx, syscall(SYS_timerfd_settime, fd, 0, &its, NULL));
}

static struct ec_outcome ec_getfd(struct ec_ctx *cx, const char *ref)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	return ec_ret(cx, fcntl(fd, F_GETFD, 0));
}

