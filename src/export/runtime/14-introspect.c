/* ------------------------------------------------------------------ */
/* Introspection, time, limits, privileges                            */
/* ------------------------------------------------------------------ */

/* FD's registration in EP as /proc/self/fdinfo/EP shows it:
 * `tfd:        5 events:       19 data:                5  pos:0 ...`. */
static struct ec_outcome ec_fdinfo(struct ec_ctx *cx, const char *ep_ref, const char *fd_ref)
{
	int ep = -1, fd = -1;
	char path[64];
	EC_FD_OR_STOP(cx, ep_ref, ep);
	EC_FD_OR_STOP(cx, fd_ref, fd);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
	FILE *f = fopen(path, "r");
	if (!f)
		return ec_errno_outcome(cx, errno);
	char *text = ec_read_all(f);
	fclose(f);
	long long events = -1, data = -1, count = 0;
	for (char *line = text; line && *line;) {
		size_t n = strcspn(line, "\n");
		char saved = line[n], *w[32], *save = NULL;
		int nw = 0;
		line[n] = 0;
		for (char *t = strtok_r(line, " \t", &save); t && nw < 32; t = strtok_r(NULL, " \t", &save))
			w[nw++] = t;
		long long tfd = LLONG_MIN, ev = -1, d = -1;
		int seen_tfd = 0, seen_ev = 0, seen_d = 0;
		for (int i = 0; i + 1 < nw; i++) {
			char *end;
			if (!seen_tfd && strcmp(w[i], "tfd:") == 0) {
				long long v = strtoll(w[i + 1], &end, 10);
				if (!*end && *w[i + 1] && v >= INT32_MIN && v <= INT32_MAX)
					tfd = v;
				seen_tfd = 1;
			} else if (!seen_ev && strcmp(w[i], "events:") == 0) {
				unsigned long long v = strtoull(w[i + 1], &end, 16);
				if (!*end && *w[i + 1] && w[i + 1][0] != '-')
					ev = (long long)v;
				seen_ev = 1;
			} else if (!seen_d && strcmp(w[i], "data:") == 0) {
				unsigned long long v = strtoull(w[i + 1], &end, 16);
				if (!*end && *w[i + 1] && w[i + 1][0] != '-')
					d = (long long)v;
				seen_d = 1;
			}
		}
		if (tfd == fd) {
			if (count++ == 0)
				events = ev, data = d;
		}
		line[n] = saved;
		line += n + (saved == '\n');
	}
	free(text);
	if (count == 0)
		return ec_errno_outcome(cx, ENOENT);
	ec_done(cx);
	return (struct ec_outcome){ .kind = EC_FIELDS, .nfields = 3, .fkey = { "events", "data", "count" }, .fval = { events, data, count } };
}

/* kcmp(KCMP_EPOLL_TFD): 0 when FD's file is the one registered in EP
 * under FD's number. */
static struct ec_outcome ec_kcmp(struct ec_ctx *cx, const char *ep_ref, const char *fd_ref)
{
	int ep = -1, fd = -1;
	EC_FD_OR_STOP(cx, ep_ref, ep);
	EC_FD_OR_STOP(cx, fd_ref, fd);
	struct {
		uint32_t efd, tfd, toff;
	} slot = { (uint32_t)ep, (uint32_t)fd, 0 };
	pid_t pid = getpid();
	return ec_ret(cx, syscall(SYS_kcmp, pid, pid, 7L /* KCMP_EPOLL_TFD */, (long)fd, &slot));
}

/* `took OP DURATION`: how long this thread's previous step took. */
static struct ec_outcome ec_took(struct ec_ctx *cx, int op, long long ns, const char *text)
{
	long long last = cx->last_elapsed;
	if (ec_cmp_holds(op, last < ns ? -1 : last > ns))
		return (struct ec_outcome){ .kind = EC_RET, .ret = last / 1000 };
	char *took = ec_duration(last), *want = ec_fmt("the previous step to take %s", text), *got = ec_fmt("it took %s", took);
	struct ec_outcome o = ec_fail(cx, EC_FAIL, want, got, NULL);
	free(took);
	free(want);
	free(got);
	return o;
}

static struct ec_outcome ec_rlimit_nofile(struct ec_ctx *cx, unsigned long long value)
{
	struct rlimit rl;
	rlim_t hard = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_max : value;
	rl.rlim_cur = value;
	rl.rlim_max = hard > value ? hard : value;
	return ec_ret(cx, setrlimit(RLIMIT_NOFILE, &rl));
}

static struct ec_task *ec_task_named(const char *name);

static struct ec_outcome ec_pidfd(struct ec_ctx *cx, const char *name, const char *child)
{
	char res[256];
	ec_resolve(cx, child, res, sizeof res);
	struct ec_task *t = ec_task_named(res);
	if (!t || !t->is_fork)
		return ec_errorf(cx, "pidfd needs `%s` to be a fork", res);
	return ec_made(cx, name, EC_OTHER, syscall(SYS_pidfd_open, t->pid, 0));
}

/* SCM_RIGHTS over an AF_UNIX socket. */
static struct ec_outcome ec_sendfd(struct ec_ctx *cx, const char *sock_ref, const char *fd_ref)
{
	int s = -1, fd = -1;
	EC_FD_OR_STOP(cx, sock_ref, s);
	EC_FD_OR_STOP(cx, fd_ref, fd);
	char byte = 'F';
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return ec_ret(cx, sendmsg(s, &msg, 0));
}

static struct ec_outcome ec_recvfd(struct ec_ctx *cx, const char *new_name, const char *sock_ref)
{
	int s = -1, got = -1;
	EC_FD_OR_STOP(cx, sock_ref, s);
	char byte;
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	if (recvmsg(s, &msg, 0) == -1)
		return ec_made(cx, new_name, EC_OTHER, -1);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c && got < 0; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&got, CMSG_DATA(c), sizeof got);
	if (got < 0)
		return ec_error(cx, "recvmsg returned no SCM_RIGHTS fd");
	ec_lock();
	int kind = ec_kind_of_fd(got);
	ec_unlock();
	return ec_made(cx, new_name, kind, got);
}

static void ec_sysctl_path(const char *name, char *path, size_t cap)
{
	snprintf(path, cap, "/proc/sys/%s", name);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
}

/* The file's text with surrounding white space trimmed; -1 and errno. */
static int ec_read_trimmed(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = 0;
	while (n > 0 && strchr(" \t\r\n", out[n - 1]))
		out[--n] = 0;
	size_t lead = strspn(out, " \t\r\n");
	memmove(out, out + lead, n - lead + 1);
	return 0;
}

static struct ec_outcome ec_sysctl_read(struct ec_ctx *cx, const char *name)
{
	char path[256], text[256], *end;
	ec_sysctl_path(name, path, sizeof path);
	if (ec_read_trimmed(path, text, sizeof text) != 0)
		return ec_errno_outcome(cx, errno);
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (!text[0] || *end || errno == ERANGE || text[0] == ' ')
		return ec_errno_outcome(cx, EINVAL);
	return ec_value(cx, v);
}

/* Writes /proc/sys/NAME; the old value is recorded first and written back
 * when the case ends, however it ends. */
static struct ec_outcome ec_sysctl_write(struct ec_ctx *cx, const char *name, long long value)
{
	char path[256], old[256], text[32];
	ec_sysctl_path(name, path, sizeof path);
	if (ec_read_trimmed(path, old, sizeof old) != 0) {
		char *n = ec_errno_name(errno);
		struct ec_outcome o = ec_errorf(cx, "cannot read %s: %s", path, n);
		free(n);
		return o;
	}
	if (!(G.own_netns && strncmp(path, "/proc/sys/net/", 14) == 0)) {
		/* (A setting of the case's own network namespace ends with it.) */
		int slot = atomic_fetch_add(&G.journal->n, 1);
		if (slot >= EC_MAX_JOURNAL)
			return ec_error(cx, "record the sysctl to restore failed: too many sysctls written");
		ec_copy(G.journal->e[slot].value, sizeof G.journal->e[slot].value, old);
		ec_copy(G.journal->e[slot].path, sizeof G.journal->e[slot].path, path);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return ec_errno_outcome(cx, errno);
	int len = snprintf(text, sizeof text, "%lld", value);
	long r = write(fd, text, (size_t)len);
	int e = errno;
	close(fd);
	return r == -1 ? ec_errno_outcome(cx, e) : ec_value(cx, 0);
}

static struct ec_outcome ec_setuid(struct ec_ctx *cx, unsigned uid)
{
	return ec_ret(cx, setresuid(uid, uid, uid));
}

/* Pins this thread to one CPU. */
static struct ec_outcome ec_pin(struct ec_ctx *cx, unsigned cpu)
{
	cpu_set_t set;
	if (cpu >= CPU_SETSIZE)
		return ec_errno_outcome(cx, EINVAL);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return ec_ret(cx, sched_setaffinity(0, sizeof set, &set));
}

static struct ec_outcome ec_watch(struct ec_ctx *cx, const char *ref)
{
	int fd = -1;
	EC_FD_OR_STOP(cx, ref, fd);
	return ec_ret(cx, inotify_add_watch(fd, G.tempdir, IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB));
}

static struct ec_outcome ec_touch(struct ec_ctx *cx, const char *name)
{
	char path[512];
	ec_temp_path(cx, "touch", name, path, sizeof path);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return ec_errno_outcome(cx, errno);
	close(fd);
	return ec_value(cx, 0);
}

/* A private mount namespace, every mount made private. */
static struct ec_outcome ec_unshare_mount(struct ec_ctx *cx)
{
	if (unshare(CLONE_NEWNS) != 0)
		return ec_errno_outcome(cx, errno);
	return ec_ret(cx, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
}

static struct ec_outcome ec_unshare_uts(struct ec_ctx *cx)
{
	return ec_ret(cx, unshare(CLONE_NEWUTS));
}

static struct ec_outcome ec_sethostname(struct ec_ctx *cx, const char *name)
{
	return ec_ret(cx, sethostname(name, strlen(name)));
}

/* A tmpfs on (or off) a directory of the case's. */
static struct ec_outcome ec_mount(struct ec_ctx *cx, const char *name, int on)
{
	char dir[512];
	ec_temp_path(cx, "mnt", name, dir, sizeof dir);
	if (!on)
		return ec_ret(cx, umount(dir));
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return ec_fixture_error(cx, "mkdir", errno);
	return ec_ret(cx, mount("tmpfs", dir, "tmpfs", 0, NULL));
}

