/* ------------------------------------------------------------------ */
/* The case process                                                   */
/* ------------------------------------------------------------------ */

/* Writes back every sysctl the case changed (the first recorded value of
 * each path). Async-signal-safe: the timeout handler calls it too. */
static int ec_restore_sysctls(void)
{
	int n = G.journal ? atomic_load(&G.journal->n) : 0, bad = -1;
	if (n > EC_MAX_JOURNAL)
		n = EC_MAX_JOURNAL;
	for (int i = 0; i < n; i++) {
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= strcmp(G.journal->e[j].path, G.journal->e[i].path) == 0;
		if (seen || strncmp(G.journal->e[i].path, "/proc/sys/", 10) != 0)
			continue;
		int fd = open(G.journal->e[i].path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0 || write(fd, G.journal->e[i].value, strlen(G.journal->e[i].value)) < 0)
			bad = i;
		if (fd >= 0)
			close(fd);
	}
	return bad;
}

static void ec_kill_children(void)
{
	int n = atomic_load(&G.nchildren);
	for (int i = 0; i < n && i < 256; i++)
		kill(G.children[i], SIGKILL);
}

static void ec_write_str(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* The case missed its deadline: say where each thread was, and leave. */
static void ec_on_timeout(int sig)
{
	(void)sig;
	int any = 0;
	ec_write_str(G.timeout_text);
	for (int i = 0; i < EC_MAX_SLOTS && i < atomic_load(&G.next_slot); i++) {
		int line = atomic_load(&G.slots[i].line);
		char num[16];
		int k = (int)sizeof num - 1;
		if (line == 0)
			continue;
		num[k] = 0;
		for (int v = line; v > 0 && k > 0; v /= 10)
			num[--k] = (char)('0' + v % 10);
		ec_write_str(any ? "; " : "it was at ");
		ec_write_str(G.c->path);
		ec_write_str(":");
		ec_write_str(num + k);
		ec_write_str(": ");
		ec_write_str(ec_line_text(line));
		ec_write_str(" (");
		ec_write_str(G.slots[i].who);
		ec_write_str(")");
		any = 1;
	}
	ec_write_str(any ? "\n" : "it never reached its first step\n");
	ec_kill_children();
	ec_restore_sysctls();
	_exit(124);
}

static int ec_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes the scratch directory, detaching a tmpfs a case left mounted. */
static void ec_remove_tempdir(void)
{
	DIR *d = opendir(G.tempdir);
	struct dirent *e;
	char path[600];
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "mnt-", 4) == 0) {
			snprintf(path, sizeof path, "%s/%s", G.tempdir, e->d_name);
			umount2(path, MNT_DETACH);
		}
	if (d)
		closedir(d);
	nftw(G.tempdir, ec_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* As root, a case that makes IP sockets runs in a network namespace of its
 * own with loopback up: its ports and net sysctls never meet the host's
 * (EPOLLCHECK_NO_NETNS=1 turns this off, as for epollcheck). */
static const char *ec_private_network(void)
{
	const char *off = getenv("EPOLLCHECK_NO_NETNS");
	if (geteuid() != 0 || !G.c->uses_ip || (off && strcmp(off, "1") == 0))
		return NULL;
	if (unshare(CLONE_NEWNET) != 0)
		return "cannot make a private network namespace";
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq req;
	memset(&req, 0, sizeof req);
	memcpy(req.ifr_name, "lo", 3);
	int ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &req) == 0;
	req.ifr_flags |= IFF_UP | IFF_RUNNING;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &req) == 0;
	if (s >= 0)
		close(s);
	if (!ok)
		return "cannot bring loopback up in the private network namespace";
	G.own_netns = 1;
	return NULL;
}

/* Lowers this process's limits as epollcheck's case processes do. */
static void ec_apply_limits(void)
{
	const struct {
		int res;
		rlim_t want;
	} lim[] = { { RLIMIT_NOFILE, 8192 }, { RLIMIT_AS, (rlim_t)64 << 30 }, { RLIMIT_CPU, 300 } };
	for (int i = 0; i < 3; i++) {
		struct rlimit rl;
		if (getrlimit(lim[i].res, &rl) != 0)
			continue;
		rlim_t soft = rl.rlim_cur < lim[i].want ? rl.rlim_cur : lim[i].want;
		rlim_t hard = rl.rlim_max < lim[i].want ? rl.rlim_max : lim[i].want;
		rl.rlim_cur = soft;
		rl.rlim_max = hard > soft ? hard : soft;
		setrlimit(lim[i].res, &rl);
	}
}

/* Threads must have been joined and children reaped by the end. */
static void ec_finish(struct ec_ctx *cx)
{
	if (!ec_stopped()) {
		char *live = ec_live_threads(NULL);
		if (live)
			ec_errorf(cx, "thread(s) still running at the end of the case: %s (join them)", live);
		free(live);
	}
	for (size_t i = 0; i < G.ntasks; i++) {
		struct ec_task *t = G.tasks[i].task;
		if (!t->is_fork || t->reaped)
			continue;
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->reaped = 1;
		if (!ec_stopped())
			ec_errorf(cx, "child pid %d was never joined", (int)t->pid);
	}
}

static int ec_in_range(const struct ec_xfail *x)
{
	return (!x->has_from || ec_version_cmp(G.kernel, x->from) >= 0) && (!x->has_to || ec_version_cmp(G.kernel, x->to) < 0);
}

/* Prints the verdict as epollcheck would report it; returns the exit status. */
static int ec_verdict(void)
{
	const struct ec_xfail *known = NULL;
	for (const struct ec_xfail *x = G.c->xfail; G.have_kernel && x->xfail_reason && !known; x++)
		if (ec_in_range(x))
			known = x;
	struct ec_failure *f = G.failure;
	if (f) {
		ec_print_failure(stdout, f);
		for (const char *const *h = G.c->hints; *h; h++)
			printf("    hint: %s\n", *h);
	}
	for (size_t i = 0; i < G.nnotes; i++)
		printf("%snote: %s\n", f ? "    " : "", G.notes[i]);
	if (f && f->kind == EC_ERROR)
		return 2;
	if (f && !known)
		return 1;
	if (f)
		printf("XFAIL: %s\n", known->xfail_reason);
	else if (known)
		printf("XPASS: %s\n", known->xpass_reason);
	else
		printf("PASS\n");
	return 0;
}

/* Fails the whole case before its first step. */
static int ec_setup_error(const char *what)
{
	printf("%s: setup failed\n    expected: the case to start\n    observed: %s\n", G.c->path, what);
	return 2;
}

/* The suite runner's cross-process locks (flock on
 * $TMPDIR/epollcheck-serial-KEY.lock): every case holds "alone" shared, a
 * `serial: alone` case holds it exclusively and a `serial: KEY` case holds
 * KEY, so this program never overlaps a running suite's case that changes
 * the same global state. The fds go high, so the case's fd numbers are
 * those the interpreter's case process sees. */
static void ec_serial_locks(const char *key)
{
	const char *tmp = getenv("TMPDIR");
	int alone = key && strcmp(key, "alone") == 0;
	const char *keys[2] = { "alone", key && !alone ? key : NULL };
	for (int i = 0; i < 2; i++) {
		char path[512];
		if (!keys[i])
			continue;
		snprintf(path, sizeof path, "%s/epollcheck-serial-%s.lock", tmp && *tmp ? tmp : "/tmp", keys[i]);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			continue; /* as in the runner: a lock costs isolation only */
		int high = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
		close(fd);
		if (high >= 0 && flock(high, i == 0 && !alone ? LOCK_SH : LOCK_EX) != 0)
			close(high);
	}
}

static int ec_run(const struct ec_case *c)
{
	G.c = c;
	double scale = 1;
	const char *env = getenv("EPOLLCHECK_TIMEOUT_SCALE");
	if (env) {
		char *end;
		scale = strtod(env, &end);
		if (*end || !(scale > 0)) {
			fprintf(stderr, "epollcheck: error: EPOLLCHECK_TIMEOUT_SCALE=%s is not a positive number\n", env);
			return 2;
		}
	}
	for (const char *const *r = c->requires; *r; r++) {
		char *why;
		if (ec_probe(*r, &why) != 0) {
			printf("SKIP: %s\n", why);
			return 77;
		}
	}
	G.scale = scale;
	ec_serial_locks(c->serial);
	long long limit = (long long)((double)c->timeout_ns * scale);
	char *shown = ec_duration(limit);
	G.timeout_text = ec_fmt("TIMEOUT: no result within %s; ", shown);
	free(shown);
	G.journal = mmap(NULL, sizeof *G.journal, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (G.journal == MAP_FAILED)
		return ec_setup_error("cannot map the sysctl journal");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ec_on_timeout;
	sigfillset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { (time_t)(limit / 1000000000LL), (suseconds_t)(limit % 1000000000LL / 1000) } };
	if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
	if (ec_set_disposition(EC_INTERRUPT_SIG, EC_SIG_HANDLER) != 0)
		return ec_setup_error("cannot install the interrupt handler");
	ec_apply_limits();
	signal(SIGPIPE, SIG_IGN); /* as in Rust programs: a broken pipe is EPIPE */
	G.have_kernel = ec_kernel_version(G.kernel);
	const char *tmp = getenv("TMPDIR");
	snprintf(G.tempdir, sizeof G.tempdir, "%s/epollcheck-case-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(G.tempdir))
		return ec_setup_error("cannot make a temporary directory");
	const char *netns = ec_private_network();
	if (netns) {
		ec_remove_tempdir();
		return ec_setup_error(netns);
	}
	G.main_tid = ec_gettid();
	struct ec_ctx *cx = ec_alloc(sizeof *cx);
	cx->thread = ec_strdup("main");
	cx->slot = ec_new_slot("main");
	c->body(cx);
	ec_finish(cx);
	int status = ec_verdict();
	fflush(stdout);
	ec_kill_children();
	if (ec_restore_sysctls() >= 0 && status != 2) {
		printf("%s: could not restore a sysctl the case changed\n", c->path);
		status = 2;
	}
	ec_remove_tempdir();
	fflush(stdout);
	_exit(status);
}

/* Statement helpers for the case below: each returns from the case
 * function when the step failed or the case is stopping. */
#define STEP(line) \
	do { \
		if (ec_step(cx, (line))) \
			return; \
	} while (0)
#define BLOCK(line) \
	do { \
		if (ec_block(cx, (line))) \
			return; \
	} while (0)
#define FD(ref) ({ \
	int fd_; \
	if (ec_fd(cx, (ref), &fd_)) \
		return; \
	fd_; \
})
#define RUN(call) \
	do { \
		o = (call); \
		if (o.kind == EC_STOP) \
			return; \
	} while (0)
#define EXPECT(text) \
	do { \
		static struct ec_expect *_Atomic expect_; \
		if (ec_judge(cx, &o, &expect_, (text))) \
			return; \
	} while (0)
#define EXPECT_SUCCESS() \
	do { \
		if (ec_judge_success(cx, &o, EC_FAIL)) \
			return; \
	} while (0)
#define FIXTURE_OK() \
	do { \
		if (ec_judge_success(cx, &o, EC_ERROR)) \
			return; \
	} while (0)
#define CAPTURE(name) ec_capture(cx, &o, (name))
#define BIND(name) ec_bind_first(cx, &o, (name))
#define ENTER(nr) ec_enter(cx, (nr))
#define LEFT() ec_left(cx)
#define VAR(name) ec_var(cx, (name))
#define COUNTER(name) ec_counter(cx, (name))
#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define SPAWN(name, fn) \
	do { \
		if (ec_spawn(cx, (name), (fn))) \
			return; \
	} while (0)
#define FORK(name, fn) \
	do { \
		if (ec_fork(cx, (name), (fn))) \
			return; \
	} while (0)
#define EVENT_BUFFER(n) ({ \
	struct epoll_event *evs_ = ec_event_buffer(cx, (n)); \
	if (!evs_) \
		return; \
	evs_; \
})
#define READONLY_PAGE() ({ \
	void *page_ = ec_readonly_page(cx); \
	if (!page_) \
		return; \
	page_; \
})

#pragma GCC diagnostic pop

/* ---------------------------- the case ---------------------------- */
