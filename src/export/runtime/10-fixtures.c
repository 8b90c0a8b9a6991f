/* ------------------------------------------------------------------ */
/* Fixtures: the fds a case watches                                   */
/* ------------------------------------------------------------------ */

/* Binds NAME.x and NAME.y to a pair of new fds. */
static struct ec_outcome ec_made_pair(struct ec_ctx *cx, const char *name, const char *x, const char *y, int a, int b, int kind)
{
	char base[200], n[256];
	ec_resolve(cx, name, base, sizeof base);
	snprintf(n, sizeof n, "%s.%s", base, x);
	ec_insert(n, a, kind);
	snprintf(n, sizeof n, "%s.%s", base, y);
	ec_insert(n, b, kind);
	return ec_value(cx, 0);
}

static struct ec_outcome ec_pipe(struct ec_ctx *cx, const char *name, int flags)
{
	int p[2];
	if (pipe2(p, flags) != 0)
		return ec_fixture_error(cx, "pipe2", errno);
	return ec_made_pair(cx, name, "r", "w", p[0], p[1], EC_PIPE);
}

/* A path in the case's temporary directory: `fifo-p`, `file-f`. */
static void ec_temp_path(struct ec_ctx *cx, const char *prefix, const char *name, char *out, size_t cap)
{
	char res[200];
	ec_resolve(cx, name, res, sizeof res);
	snprintf(out, cap, "%s/%s-%s", G.tempdir, prefix, res);
}

/* A FIFO opened both ways: the reader non-blocking first (so that opening
 * it does not wait for a writer), then made blocking like a pipe. */
static int ec_fifo_fds(struct ec_ctx *cx, const char *name, int fds[2], struct ec_outcome *err)
{
	char path[512];
	ec_temp_path(cx, "fifo", name, path, sizeof path);
	unlink(path);
	if (mkfifo(path, 0600) != 0) {
		*err = ec_fixture_error(cx, "mkfifo", errno);
		return -1;
	}
	if ((fds[0] = open(path, O_RDONLY | O_NONBLOCK, 0600)) < 0) {
		*err = ec_fixture_error(cx, "open FIFO for reading", errno);
		return -1;
	}
	if ((fds[1] = open(path, O_WRONLY, 0600)) < 0) {
		*err = ec_fixture_error(cx, "open FIFO for writing", errno);
		return -1;
	}
	int fl = fcntl(fds[0], F_GETFL, 0);
	fcntl(fds[0], F_SETFL, (fl < 0 ? 0 : fl) & ~O_NONBLOCK);
	return 0;
}

static struct ec_outcome ec_fifo(struct ec_ctx *cx, const char *name)
{
	int fds[2] = { -1, -1 };
	struct ec_outcome err = { 0 };
	if (ec_fifo_fds(cx, name, fds, &err) != 0)
		return err;
	return ec_made_pair(cx, name, "r", "w", fds[0], fds[1], EC_PIPE);
}

static struct ec_outcome ec_socketpair_ends(struct ec_ctx *cx, const char *name, int type, int nonblock, const char *x, const char *y)
{
	int sv[2];
	if (socketpair(AF_UNIX, type | (nonblock ? SOCK_NONBLOCK : 0), 0, sv) != 0)
		return ec_fixture_error(cx, "socketpair", errno);
	return ec_made_pair(cx, name, x, y, sv[0], sv[1], EC_SOCKET);
}

static struct ec_outcome ec_socketpair(struct ec_ctx *cx, const char *name, int type, int nonblock)
{
	return ec_socketpair_ends(cx, name, type, nonblock, "a", "b");
}

static struct ec_outcome ec_socket(struct ec_ctx *cx, const char *name, int family, int type, int nonblock)
{
	return ec_made(cx, name, EC_SOCKET, socket(family, type | (nonblock ? SOCK_NONBLOCK : 0), 0));
}

static struct ec_outcome ec_eventfd(struct ec_ctx *cx, const char *name, unsigned init, int flags)
{
	return ec_made(cx, name, EC_EVENTFD, eventfd(init, flags));
}

static struct ec_outcome ec_timerfd(struct ec_ctx *cx, const char *name, int flags)
{
	return ec_made(cx, name, EC_TIMERFD, timerfd_create(CLOCK_MONOTONIC, flags));
}

/* signalfd only sees blocked signals: they are blocked in this thread
 * first (threads started later inherit the mask). */
static struct ec_outcome ec_signalfd(struct ec_ctx *cx, const char *name, uint64_t sigs)
{
	sigset_t set;
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &sigs, NULL, 8) != 0)
		return ec_fixture_error(cx, "sigprocmask", errno);
	sigemptyset(&set);
	for (int s = 1; s <= 64; s++) {
		if (!(sigs & EC_SIG(s)))
			continue;
		if (s > 31) /* not a standard signal: epollcheck refuses it */
			return ec_fixture_error(cx, "signalfd", EINVAL);
		sigaddset(&set, s);
	}
	return ec_made(cx, name, EC_SIGNALFD, signalfd(-1, &set, 0));
}

static struct ec_outcome ec_open_as(struct ec_ctx *cx, const char *name, const char *path, int flags, int kind)
{
	return ec_made(cx, name, kind, open(path, flags, 0600));
}

/* A new regular file in the temporary directory, or PATH read-only. */
static struct ec_outcome ec_file(struct ec_ctx *cx, const char *name, const char *path)
{
	char p[512];
	if (path)
		return ec_open_as(cx, name, path, O_RDONLY, EC_FILE);
	ec_temp_path(cx, "file", name, p, sizeof p);
	return ec_open_as(cx, name, p, O_RDWR | O_CREAT, EC_FILE);
}

static struct ec_outcome ec_dir(struct ec_ctx *cx, const char *name, const char *path)
{
	char p[512];
	if (path)
		return ec_open_as(cx, name, path, O_RDONLY | O_DIRECTORY, EC_DIR);
	ec_temp_path(cx, "dir", name, p, sizeof p);
	if (mkdir(p, 0777) != 0 && errno != EEXIST)
		return ec_fixture_error(cx, "mkdir", errno);
	return ec_open_as(cx, name, p, O_RDONLY | O_DIRECTORY, EC_DIR);
}

static struct ec_outcome ec_open(struct ec_ctx *cx, const char *name, const char *path, int flags)
{
	return ec_open_as(cx, name, path, flags, EC_OTHER);
}

/* A pty pair with the slave in raw mode, so single bytes written to the
 * master are readable at once. */
static int ec_pty_fds(struct ec_ctx *cx, int *master, int *slave, struct ec_outcome *err)
{
	char path[128];
	struct termios tio;
	const char *what = "posix_openpt";
	if ((*master = posix_openpt(O_RDWR | O_NOCTTY)) < 0)
		goto fail;
	what = "grantpt";
	if (grantpt(*master) != 0)
		goto fail;
	what = "unlockpt";
	if (unlockpt(*master) != 0)
		goto fail;
	what = "ptsname_r";
	if ((errno = ptsname_r(*master, path, sizeof path)) != 0)
		goto fail;
	what = "open pty slave";
	if ((*slave = open(path, O_RDWR | O_NOCTTY)) < 0)
		goto fail;
	what = "tcgetattr";
	if (tcgetattr(*slave, &tio) != 0)
		goto fail;
	cfmakeraw(&tio);
	what = "tcsetattr";
	if (tcsetattr(*slave, TCSANOW, &tio) != 0)
		goto fail;
	return 0;
fail:
	*err = ec_fixture_error(cx, what, errno);
	return -1;
}

static struct ec_outcome ec_pty(struct ec_ctx *cx, const char *name)
{
	int m = -1, s = -1;
	struct ec_outcome err = { 0 };
	if (ec_pty_fds(cx, &m, &s, &err) != 0)
		return err;
	return ec_made_pair(cx, name, "m", "s", m, s, EC_OTHER);
}

static struct ec_outcome ec_inotify(struct ec_ctx *cx, const char *name)
{
	return ec_made(cx, name, EC_INOTIFY, inotify_init1(0));
}

static struct ec_outcome ec_memfd(struct ec_ctx *cx, const char *name)
{
	return ec_made(cx, name, EC_FILE, syscall(SYS_memfd_create, "epollcheck", 0));
}

/* A connected TCP pair over loopback: .r the accepted side, .w the client
 * (made the way Rust's std::net makes them: close-on-exec, SO_REUSEADDR on
 * the listener, which is closed afterwards). */
static struct ec_outcome ec_tcp_pair(struct ec_ctx *cx, const char *name, int v6)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int one = 1, fam = v6 ? AF_INET6 : AF_INET;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	int l = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 128) != 0)
		return ec_fixture_error(cx, v6 ? "bind [::1]:0" : "bind 127.0.0.1:0", errno);
	if (getsockname(l, (struct sockaddr *)&ss, &len) != 0)
		return ec_fixture_error(cx, "getsockname", errno);
	int c = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return ec_fixture_error(cx, "connect", errno);
	int r;
	while ((r = connect(c, (struct sockaddr *)&ss, len)) != 0 && errno == EINTR)
		;
	if (r != 0)
		return ec_fixture_error(cx, "connect", errno);
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return ec_fixture_error(cx, "accept", errno);
	close(l);
	return ec_made_pair(cx, name, "r", "w", s, c, EC_SOCKET);
}

/* Two UDP sockets on loopback connected to each other. */
static struct ec_outcome ec_udp_pair(struct ec_ctx *cx, const char *name)
{
	struct sockaddr_in a[2];
	int fd[2];
	for (int i = 0; i < 2; i++) {
		socklen_t len = sizeof a[i];
		memset(&a[i], 0, sizeof a[i]);
		a[i].sin_family = AF_INET;
		a[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&a[i], sizeof a[i]) != 0)
			return ec_fixture_error(cx, "bind udp", errno);
		if (getsockname(fd[i], (struct sockaddr *)&a[i], &len) != 0)
			return ec_fixture_error(cx, "getsockname", errno);
	}
	if (connect(fd[1], (struct sockaddr *)&a[0], sizeof a[0]) != 0 || connect(fd[0], (struct sockaddr *)&a[1], sizeof a[1]) != 0)
		return ec_fixture_error(cx, "connect udp", errno);
	return ec_made_pair(cx, name, "r", "w", fd[0], fd[1], EC_SOCKET);
}

/* `source NAME KIND`: NAME.r (watched) and NAME.w (written) of any kind. */
static struct ec_outcome ec_source(struct ec_ctx *cx, const char *name, int kind)
{
	int fds[2] = { -1, -1 }, m = -1, s = -1;
	struct ec_outcome err = { 0 };
	switch (kind) {
	case EC_SRC_PIPE:
		return ec_pipe(cx, name, 0);
	case EC_SRC_FIFO:
		if (ec_fifo_fds(cx, name, fds, &err) != 0)
			return err;
		return ec_made_pair(cx, name, "r", "w", fds[0], fds[1], EC_PIPE);
	case EC_SRC_STREAM:
		return ec_socketpair_ends(cx, name, SOCK_STREAM, 0, "r", "w");
	case EC_SRC_DGRAM:
		return ec_socketpair_ends(cx, name, SOCK_DGRAM, 0, "r", "w");
	case EC_SRC_SEQPACKET:
		return ec_socketpair_ends(cx, name, SOCK_SEQPACKET, 0, "r", "w");
	case EC_SRC_TCP:
	case EC_SRC_TCP6:
		return ec_tcp_pair(cx, name, kind == EC_SRC_TCP6);
	case EC_SRC_UDP:
		return ec_udp_pair(cx, name);
	case EC_SRC_EVENTFD: {
		/* One fd under both names: writing "the other end" of an eventfd
		 * is writing the eventfd itself. */
		int ev = eventfd(0, 0);
		if (ev < 0)
			return ec_fixture_error(cx, "eventfd", errno);
		return ec_made_pair(cx, name, "r", "w", ev, ev, EC_EVENTFD);
	}
	default:
		if (ec_pty_fds(cx, &m, &s, &err) != 0)
			return err;
		return ec_made_pair(cx, name, "r", "w", s, m, EC_OTHER);
	}
}

static struct ec_outcome ec_dup(struct ec_ctx *cx, const char *new_name, const char *old)
{
	int fd = -1, kind = EC_OTHER;
	if (ec_entry(cx, old, &fd, &kind))
		return (struct ec_outcome){ .kind = EC_STOP };
	return ec_made(cx, new_name, kind, syscall(SYS_dup, fd));
}

/* `dup2 OLD NEW`: NEW names an open fd whose number now refers to OLD's file. */
static struct ec_outcome ec_dup2(struct ec_ctx *cx, const char *old, const char *new_name)
{
	int fd = -1, kind = EC_OTHER, target = -1;
	char res[256];
	if (ec_entry(cx, old, &fd, &kind))
		return (struct ec_outcome){ .kind = EC_STOP };
	ec_resolve(cx, new_name, res, sizeof res);
	ec_lock();
	struct ec_entry *e = ec_find_name(res, 1);
	if (e)
		target = e->fd;
	ec_unlock();
	if (!e)
		return ec_errorf(cx, "dup2 needs `%s` to name an open fd whose number it replaces", res);
	return ec_made(cx, new_name, kind, dup2(fd, target));
}

/* close(2); the name keeps standing for the number it had. Closing an
 * epoll fd by name forgets its registrations. */
static struct ec_outcome ec_close(struct ec_ctx *cx, const char *ref)
{
	int fd = -1;
	char name[256];
	if (ec_fd(cx, ref, &fd))
		return (struct ec_outcome){ .kind = EC_STOP };
	long r = syscall(SYS_close, fd);
	int e = errno;
	if (!ec_is_raw(ref)) {
		ec_resolve(cx, ref, name, sizeof name);
		int alias = -1;
		for (int i = 0; i < cx->naliases; i++)
			if (strcmp(cx->aliases[i].name, name) == 0)
				alias = i;
		if (alias >= 0) {
			free(cx->aliases[alias].name);
			cx->aliases[alias] = cx->aliases[--cx->naliases];
		} else {
			ec_lock();
			struct ec_entry *en = ec_find_name(name, 1);
			if (en) {
				en->live = 0;
				if (en->kind == EC_EPOLL)
					for (size_t i = G.nregs; i-- > 0;)
						if (G.regs[i].ep == fd)
							G.regs[i] = G.regs[--G.nregs];
			}
			ec_unlock();
		}
	}
	errno = e;
	return ec_ret(cx, r);
}

