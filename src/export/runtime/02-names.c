/* ------------------------------------------------------------------ */
/* Names of numbers: event bits, errnos, signals                      */
/* ------------------------------------------------------------------ */

struct ec_bit {
	const char *name;
	uint32_t value;
};

static const struct ec_bit ec_epoll_bits[] = {
	{ "EPOLLIN", 0x1 }, { "EPOLLPRI", 0x2 }, { "EPOLLOUT", 0x4 }, { "EPOLLERR", 0x8 },
	{ "EPOLLHUP", 0x10 }, { "EPOLLNVAL", 0x20 }, { "EPOLLRDNORM", 0x40 }, { "EPOLLRDBAND", 0x80 },
	{ "EPOLLWRNORM", 0x100 }, { "EPOLLWRBAND", 0x200 }, { "EPOLLMSG", 0x400 }, { "EPOLLRDHUP", 0x2000 },
	{ "EPOLLEXCLUSIVE", 1u << 28 }, { "EPOLLWAKEUP", 1u << 29 }, { "EPOLLONESHOT", 1u << 30 }, { "EPOLLET", 1u << 31 },
	{ NULL, 0 },
};

static const struct ec_bit ec_poll_bits[] = {
	{ "POLLIN", 0x1 }, { "POLLPRI", 0x2 }, { "POLLOUT", 0x4 }, { "POLLERR", 0x8 },
	{ "POLLHUP", 0x10 }, { "POLLNVAL", 0x20 }, { "POLLRDNORM", 0x40 }, { "POLLRDBAND", 0x80 },
	{ "POLLWRNORM", 0x100 }, { "POLLWRBAND", 0x200 }, { "POLLMSG", 0x400 }, { "POLLRDHUP", 0x2000 },
	{ NULL, 0 },
};

/* EPOLLIN|EPOLLRDHUP, unknown bits in hex, the empty mask as 0. */
static void ec_put_mask(struct ec_buf *b, int poll, uint32_t mask)
{
	const struct ec_bit *t = poll ? ec_poll_bits : ec_epoll_bits;
	uint32_t rest = mask;
	int any = 0;
	for (; t->name; t++) {
		if (mask & t->value) {
			ec_put(b, any ? "|" : "");
			ec_put(b, t->name);
			rest &= ~t->value;
			any = 1;
		}
	}
	if (rest)
		ec_putf(b, "%s0x%x", any ? "|" : "", rest);
	else if (!any)
		ec_put(b, "0");
}

static char *ec_mask_name(int poll, uint32_t mask)
{
	struct ec_buf b = { 0 };
	ec_put_mask(&b, poll, mask);
	return ec_take(&b);
}

/* Parses IN|EPOLLOUT|POLLPRI|0x2000; -1 when a part is unknown. */
static long long ec_parse_mask(const char *s, int *poll)
{
	uint32_t mask = 0;
	int first = 1;
	while (*s) {
		size_t n = strcspn(s, "|");
		char part[64];
		if (n >= sizeof part)
			return -1;
		memcpy(part, s, n);
		part[n] = 0;
		s += n + (s[n] == '|');
		if (part[0] >= '0' && part[0] <= '9') {
			mask |= (uint32_t)strtoull(part, NULL, 0);
			continue;
		}
		int is_poll = strncmp(part, "POLL", 4) == 0;
		if (first && poll)
			*poll = is_poll;
		first = 0;
		const char *shortname = part + (is_poll ? 4 : strncmp(part, "EPOLL", 5) == 0 ? 5 : 0);
		const struct ec_bit *t = ec_epoll_bits;
		for (; t->name; t++)
			if (strcmp(t->name + 5, shortname) == 0)
				break;
		if (!t->name)
			return -1;
		mask |= t->value;
	}
	return mask;
}

#define EC_E(x) { x, #x }
static const struct {
	int value;
	const char *name;
} ec_errnos[] = {
	EC_E(EPERM), EC_E(ENOENT), EC_E(ESRCH), EC_E(EINTR), EC_E(EIO), EC_E(ENXIO), EC_E(E2BIG), EC_E(ENOEXEC),
	EC_E(EBADF), EC_E(ECHILD), EC_E(EAGAIN), EC_E(ENOMEM), EC_E(EACCES), EC_E(EFAULT), EC_E(ENOTBLK), EC_E(EBUSY),
	EC_E(EEXIST), EC_E(EXDEV), EC_E(ENODEV), EC_E(ENOTDIR), EC_E(EISDIR), EC_E(EINVAL), EC_E(ENFILE), EC_E(EMFILE),
	EC_E(ENOTTY), EC_E(ETXTBSY), EC_E(EFBIG), EC_E(ENOSPC), EC_E(ESPIPE), EC_E(EROFS), EC_E(EMLINK), EC_E(EPIPE),
	EC_E(EDOM), EC_E(ERANGE), EC_E(EDEADLK), EC_E(ENAMETOOLONG), EC_E(ENOLCK), EC_E(ENOSYS), EC_E(ENOTEMPTY),
	EC_E(ELOOP), EC_E(ENOMSG), EC_E(EIDRM), EC_E(ENOSTR), EC_E(ENODATA), EC_E(ETIME), EC_E(ENOSR), EC_E(ENOLINK),
	EC_E(EPROTO), EC_E(EBADMSG), EC_E(EOVERFLOW), EC_E(EILSEQ), EC_E(EUSERS), EC_E(ENOTSOCK), EC_E(EDESTADDRREQ),
	EC_E(EMSGSIZE), EC_E(EPROTOTYPE), EC_E(ENOPROTOOPT), EC_E(EPROTONOSUPPORT), EC_E(ESOCKTNOSUPPORT),
	EC_E(EOPNOTSUPP), EC_E(EPFNOSUPPORT), EC_E(EAFNOSUPPORT), EC_E(EADDRINUSE), EC_E(EADDRNOTAVAIL),
	EC_E(ENETDOWN), EC_E(ENETUNREACH), EC_E(ENETRESET), EC_E(ECONNABORTED), EC_E(ECONNRESET), EC_E(ENOBUFS),
	EC_E(EISCONN), EC_E(ENOTCONN), EC_E(ESHUTDOWN), EC_E(ETOOMANYREFS), EC_E(ETIMEDOUT), EC_E(ECONNREFUSED),
	EC_E(EHOSTDOWN), EC_E(EHOSTUNREACH), EC_E(EALREADY), EC_E(EINPROGRESS), EC_E(ESTALE), EC_E(EDQUOT),
	EC_E(ECANCELED), EC_E(EOWNERDEAD), EC_E(ENOTRECOVERABLE), EC_E(ERFKILL), EC_E(EHWPOISON), { 0, NULL },
};

static const struct {
	int value;
	const char *name;
} ec_signals[] = {
	EC_E(SIGHUP), EC_E(SIGINT), EC_E(SIGQUIT), EC_E(SIGILL), EC_E(SIGTRAP), EC_E(SIGABRT), EC_E(SIGBUS),
	EC_E(SIGFPE), EC_E(SIGKILL), EC_E(SIGUSR1), EC_E(SIGSEGV), EC_E(SIGUSR2), EC_E(SIGPIPE), EC_E(SIGALRM),
	EC_E(SIGTERM), EC_E(SIGCHLD), EC_E(SIGCONT), EC_E(SIGSTOP), EC_E(SIGTSTP), EC_E(SIGTTIN), EC_E(SIGTTOU),
	EC_E(SIGURG), EC_E(SIGXCPU), EC_E(SIGXFSZ), EC_E(SIGVTALRM), EC_E(SIGPROF), EC_E(SIGWINCH), EC_E(SIGIO),
	EC_E(SIGPWR), EC_E(SIGSYS), { 0, NULL },
};

/* EINVAL, or `errno 999` for a number without a name. */
static char *ec_errno_name(int e)
{
	for (int i = 0; ec_errnos[i].name; i++)
		if (ec_errnos[i].value == e)
			return ec_strdup(ec_errnos[i].name);
	return ec_fmt("errno %d", e);
}

static int ec_errno_value(const char *name)
{
	if (strcmp(name, "EWOULDBLOCK") == 0)
		return EAGAIN;
	if (strcmp(name, "ENOTSUP") == 0)
		return EOPNOTSUPP;
	for (int i = 0; ec_errnos[i].name; i++)
		if (strcmp(ec_errnos[i].name, name) == 0)
			return ec_errnos[i].value;
	return -1;
}

static char *ec_signal_name(int s)
{
	for (int i = 0; ec_signals[i].name; i++)
		if (ec_signals[i].value == s)
			return ec_strdup(ec_signals[i].name);
	return ec_fmt("signal %d", s);
}

/* `EMFILE: Too many open files`, as a fixture error shows an errno. */
static char *ec_errno_desc(int e)
{
	char *n = ec_errno_name(e), *s = ec_fmt("%s: %s", n, strerror(e));
	free(n);
	return s;
}

static const char *ec_syscall_name(long long nr)
{
	static const struct {
		long nr;
		const char *name;
	} known[] = {
		{ SYS_read, "read" }, { SYS_write, "write" }, { SYS_poll, "poll" }, { SYS_select, "select" },
		{ SYS_epoll_wait, "epoll_wait" }, { SYS_epoll_pwait, "epoll_pwait" }, { SYS_epoll_pwait2, "epoll_pwait2" },
		{ SYS_accept4, "accept4" }, { SYS_connect, "connect" }, { SYS_recvfrom, "recvfrom" }, { SYS_futex, "futex" },
		{ SYS_wait4, "wait4" }, { SYS_nanosleep, "nanosleep" }, { SYS_clock_nanosleep, "clock_nanosleep" },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (known[i].nr == nr)
			return known[i].name;
	return NULL;
}

