/* ------------------------------------------------------------------ */
/* Threads and forked children                                        */
/* ------------------------------------------------------------------ */

static struct ec_task *ec_task_named(const char *name)
{
	struct ec_task *t = NULL;
	ec_lock();
	for (size_t i = 0; i < G.ntasks; i++)
		if (strcmp(G.tasks[i].name, name) == 0)
			t = G.tasks[i].task;
	ec_unlock();
	return t;
}

static void ec_task_insert(const char *name, struct ec_task *t)
{
	ec_lock();
	size_t i = 0;
	while (i < G.ntasks && strcmp(G.tasks[i].name, name) != 0)
		i++;
	if (i == G.ntasks) {
		G.tasks = ec_grow(G.tasks, (G.ntasks + 1) * sizeof *G.tasks);
		G.tasks[G.ntasks++].name = ec_strdup(name);
	}
	G.tasks[i].task = t;
	ec_unlock();
}

static struct ec_task *ec_task_new(const char *name)
{
	struct ec_task *t = ec_alloc(sizeof *t);
	pthread_condattr_t ca;
	t->name = ec_strdup(name);
	atomic_init(&t->syscall, -1);
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	return t;
}

static int ec_task_done(struct ec_task *t)
{
	pthread_mutex_lock(&t->mu);
	int d = t->done;
	pthread_mutex_unlock(&t->mu);
	return d;
}

static void ec_task_finish(struct ec_task *t)
{
	pthread_mutex_lock(&t->mu);
	t->done = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* Waits until the thread is done or the deadline (CLOCK_MONOTONIC) passes. */
static int ec_task_wait_done(struct ec_task *t, long long deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000LL), (long)(deadline % 1000000000LL) };
	pthread_mutex_lock(&t->mu);
	while (!t->done && pthread_cond_timedwait(&t->cv, &t->mu, &ts) != ETIMEDOUT)
		;
	int d = t->done;
	pthread_mutex_unlock(&t->mu);
	return d;
}

/* Threads not finished, sorted, joined by ", " (NULL when none). */
static char *ec_live_threads(int *count)
{
	size_t n = 0;
	struct ec_buf b = { 0 };
	ec_lock();
	const char **names = ec_alloc((G.ntasks + 1) * sizeof *names);
	for (size_t i = 0; i < G.ntasks; i++)
		if (!G.tasks[i].task->is_fork && !ec_task_done(G.tasks[i].task))
			names[n++] = G.tasks[i].task->name;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j], names[j - 1]) < 0; j--) {
			const char *x = names[j];
			names[j] = names[j - 1];
			names[j - 1] = x;
		}
	for (size_t i = 0; i < n; i++) {
		ec_put(&b, i ? ", " : "");
		ec_put(&b, names[i]);
	}
	ec_unlock();
	free(names);
	if (count)
		*count = (int)n;
	return b.s;
}

/* A blocking control step's deadline: `within`, else 80 % of the case's
 * timeout or 5 s, whichever is less. */
static long long ec_default_span(void)
{
	long long span = (long long)((double)G.c->timeout_ns * 0.8);
	return span < 5000000000LL ? span : 5000000000LL;
}

/* Scaled by EPOLLCHECK_TIMEOUT_SCALE, as the case's own deadline is. */
static long long ec_deadline(long long within_ns)
{
	long long span = within_ns >= 0 ? within_ns : ec_default_span();
	return ec_now() + (long long)((double)span * G.scale);
}

enum { EC_ASLEEP, EC_NOT_YET, EC_GONE };

/* A thread's scheduler state and syscall from /proc; -1 when it is gone. */
static int ec_read_task(int tid, char *state, long long *nr, int *has_nr)
{
	char path[96], text[1024];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)getpid(), tid);
	if (ec_read_trimmed(path, text, sizeof text) != 0)
		return -1;
	char *close = strrchr(text, ')');
	if (!close)
		return -1;
	close++;
	while (*close == ' ')
		close++;
	if (!*close)
		return -1;
	*state = *close;
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)getpid(), tid);
	*has_nr = 0;
	if (ec_read_trimmed(path, text, sizeof text) == 0) {
		char *end;
		text[strcspn(text, " ")] = 0;
		*nr = strtoll(text, &end, 10);
		*has_nr = end != text && !*end;
	}
	return 0;
}

static char *ec_describe_task(int tid)
{
	char state = 0;
	long long nr = 0;
	int has_nr = 0;
	if (ec_read_task(tid, &state, &nr, &has_nr) != 0)
		return ec_strdup("no longer running");
	if (!has_nr)
		return ec_fmt("state %c", state);
	const char *name = ec_syscall_name(nr);
	return name ? ec_fmt("state %c in syscall %s", state, name) : ec_fmt("state %c in syscall #%lld", state, nr);
}

/* State S, inside the call its current step makes: asleep in the kernel. */
static int ec_sleeping(struct ec_task *t)
{
	int tid = atomic_load(&t->tid);
	char state = 0;
	long long nr = 0;
	int has_nr = 0;
	if (tid == 0)
		return EC_NOT_YET;
	if (ec_task_done(t))
		return EC_GONE;
	long long want = atomic_load(&t->syscall);
	if (want < 0)
		return EC_NOT_YET;
	if (ec_read_task(tid, &state, &nr, &has_nr) != 0)
		return EC_GONE;
	return state == 'S' && (!has_nr || nr == want) ? EC_ASLEEP : EC_NOT_YET;
}

struct ec_start {
	struct ec_ctx *cx;
	void (*body)(struct ec_ctx *);
};

static void *ec_thread_start(void *arg)
{
	struct ec_start *s = arg;
	struct ec_task *t = s->cx->task;
	atomic_store(&t->tid, ec_gettid());
	s->body(s->cx);
	ec_task_finish(t);
	free(s);
	return NULL;
}

static int ec_new_slot(const char *who)
{
	int slot = atomic_fetch_add(&G.next_slot, 1);
	if (slot >= EC_MAX_SLOTS)
		return -1;
	ec_copy(G.slots[slot].who, sizeof G.slots[slot].who, who);
	return slot;
}

/* `thread NAME { ... }`: runs the block on a new thread, now. */
static int ec_spawn(struct ec_ctx *cx, const char *name_tpl, void (*body)(struct ec_ctx *))
{
	char name[256], who[300];
	ec_resolve(cx, name_tpl, name, sizeof name);
	struct ec_task *old = ec_task_named(name);
	if (old && !old->is_fork && !ec_task_done(old)) {
		ec_errorf(cx, "thread %s is still running; join it before starting it again", name);
		return 1;
	}
	int nlive = 0;
	free(ec_live_threads(&nlive));
	if (nlive >= EC_MAX_THREADS) {
		ec_errorf(cx, "a case may run at most %d threads at once (%d are alive)", EC_MAX_THREADS, nlive);
		return 1;
	}
	struct ec_task *t = ec_task_new(name);
	ec_task_insert(name, t);
	struct ec_ctx *child = ec_alloc(sizeof *child);
	memcpy(child->vars, cx->vars, sizeof cx->vars);
	child->nvars = cx->nvars;
	memcpy(child->iters, cx->iters, sizeof cx->iters);
	child->niters = cx->niters;
	child->aliases = ec_alloc((size_t)cx->naliases * sizeof *child->aliases + 1);
	for (int i = 0; i < cx->naliases; i++) {
		child->aliases[i].name = ec_strdup(cx->aliases[i].name);
		child->aliases[i].fd = cx->aliases[i].fd;
	}
	child->naliases = cx->naliases;
	child->thread = ec_strdup(name);
	child->task = t;
	child->line = cx->line;
	snprintf(who, sizeof who, "thread %s", name);
	child->slot = ec_new_slot(who);
	struct ec_start *s = ec_alloc(sizeof *s);
	s->cx = child;
	s->body = body;
	pthread_attr_t attr;
	pthread_t th;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 2 << 20);
	int e = pthread_create(&th, &attr, ec_thread_start, s);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		ec_task_finish(t);
		ec_errorf(cx, "cannot start thread %s: %s (os error %d)", name, strerror(e), e);
		return 1;
	}
	return 0;
}

/* The failure a forked child sends back: fields separated by NUL bytes. */
static void ec_send_report(int fd, const struct ec_failure *f)
{
	char line[16];
	snprintf(line, sizeof line, "%d", f->line);
	const char *parts[] = { f->kind == EC_ERROR ? "E" : "F", line, f->thread, f->step, f->expected, f->observed, f->detail ? "1" : "0", f->detail ? f->detail : "", f->where };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		const char *p = parts[i];
		size_t left = strlen(p) + 1;
		while (left > 0) {
			ssize_t n = write(fd, p, left);
			if (n <= 0)
				return;
			p += n;
			left -= (size_t)n;
		}
	}
}

static struct ec_failure *ec_read_report(int fd)
{
	struct ec_buf b = { 0 };
	char chunk[4096];
	ssize_t n;
	size_t total = 0;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (total + (size_t)n + 1 > b.cap) {
			b.cap = (total + (size_t)n + 1) * 2;
			b.s = ec_grow(b.s, b.cap);
		}
		memcpy(b.s + total, chunk, (size_t)n);
		total += (size_t)n;
	}
	char *parts[9];
	size_t at = 0;
	for (int i = 0; i < 9; i++) {
		if (at >= total) {
			free(b.s);
			return NULL;
		}
		parts[i] = b.s + at;
		at += strlen(parts[i]) + 1;
	}
	struct ec_failure *f = ec_alloc(sizeof *f);
	f->kind = parts[0][0] == 'E' ? EC_ERROR : EC_FAIL;
	f->line = atoi(parts[1]);
	f->thread = ec_strdup(parts[2]);
	f->step = ec_strdup(parts[3]);
	f->expected = ec_strdup(parts[4]);
	f->observed = ec_strdup(parts[5]);
	f->detail = parts[6][0] == '1' ? ec_strdup(parts[7]) : NULL;
	f->where = ec_strdup(parts[8]);
	free(b.s);
	return f;
}

/* `fork NAME { ... }`: the block in a child process that shares every fd
 * (so every epoll instance); its failure comes back over a pipe. */
static int ec_fork(struct ec_ctx *cx, const char *name_tpl, void (*body)(struct ec_ctx *))
{
	char name[256];
	/* `fork kid$i`: stored under the name join, asleep and pidfd look up. */
	ec_resolve(cx, name_tpl, name, sizeof name);
	char *live = ec_live_threads(NULL);
	int p[2];
	if (live) {
		ec_errorf(cx, "fork needs every thread joined first (still running: %s)", live);
		free(live);
		return 1;
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		char *d = ec_errno_desc(errno);
		ec_errorf(cx, "pipe2 for fork failed: %s", d);
		free(d);
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		cx->thread = ec_strdup(name);
		cx->slot = -1;
		body(cx);
		struct ec_failure *f = G.failure;
		if (f)
			ec_send_report(p[1], f);
		_exit(f ? 1 : 0);
	}
	if (pid < 0) {
		char *n = ec_errno_name(errno);
		close(p[0]);
		close(p[1]);
		ec_errorf(cx, "fork failed: %s", n);
		free(n);
		return 1;
	}
	close(p[1]);
	struct ec_task *t = ec_task_new(name);
	t->is_fork = 1;
	t->pid = pid;
	t->report_fd = p[0];
	ec_task_insert(name, t);
	int i = atomic_fetch_add(&G.nchildren, 1);
	if (i < 256)
		G.children[i] = pid;
	return 0;
}

static struct ec_task *ec_started(struct ec_ctx *cx, const char *name_tpl)
{
	char name[256];
	ec_resolve(cx, name_tpl, name, sizeof name);
	struct ec_task *t = ec_task_named(name);
	if (!t)
		ec_errorf(cx, "thread or fork `%s` has not been started", name);
	return t;
}

static struct ec_outcome ec_stop(void)
{
	return (struct ec_outcome){ .kind = EC_STOP };
}

static struct ec_outcome ec_wait_asleep(struct ec_ctx *cx, struct ec_task *t, long long deadline)
{
	unsigned bo = 0;
	for (;;) {
		if (ec_stopped())
			return ec_stop();
		int s = ec_sleeping(t);
		if (s == EC_ASLEEP) {
			ec_lock();
			t->has_mark = 1;
			t->mark = atomic_load(&t->progress);
			ec_unlock();
			return (struct ec_outcome){ .kind = EC_RET };
		}
		if (s == EC_GONE || ec_now() >= deadline) {
			char *want = ec_fmt("thread %s asleep in the kernel", t->name), *got;
			if (s == EC_GONE) {
				got = ec_fmt("it finished instead (its last step was line %d): the call returned without blocking", atomic_load(&t->line));
			} else {
				char *span = ec_duration(ec_default_span()), *d = ec_describe_task(atomic_load(&t->tid));
				got = ec_fmt("not asleep after %s: %s", span, d);
				free(span);
				free(d);
			}
			struct ec_outcome o = ec_fail(cx, EC_FAIL, want, got, NULL);
			free(want);
			free(got);
			return o;
		}
		ec_pause(&bo);
	}
}

static struct ec_outcome ec_wait_fork_asleep(struct ec_ctx *cx, struct ec_task *t, long long deadline)
{
	unsigned bo = 0;
	for (;;) {
		char path[64], text[1024], state = 0;
		if (ec_stopped())
			return ec_stop();
		snprintf(path, sizeof path, "/proc/%d/stat", (int)t->pid);
		if (ec_read_trimmed(path, text, sizeof text) == 0 && strrchr(text, ')')) {
			char *p = strrchr(text, ')') + 1;
			while (*p == ' ')
				p++;
			state = *p;
		}
		if (state == 'S')
			return (struct ec_outcome){ .kind = EC_RET };
		if (ec_now() >= deadline) {
			char *want = ec_fmt("child %d asleep in the kernel", (int)t->pid);
			char *got = state ? ec_fmt("state Some('%c')", state) : ec_strdup("state None");
			struct ec_outcome o = ec_fail(cx, EC_FAIL, want, got, NULL);
			free(want);
			free(got);
			return o;
		}
		ec_pause(&bo);
	}
}

/* `asleep NAME...`: waits until each is asleep in the kernel. */
static struct ec_outcome ec_asleep(struct ec_ctx *cx, const char *const *names)
{
	long long deadline = ec_deadline(-1);
	for (; *names; names++) {
		struct ec_task *t = ec_started(cx, *names);
		if (!t)
			return ec_stop();
		struct ec_outcome o = t->is_fork ? ec_wait_fork_asleep(cx, t, deadline) : ec_wait_asleep(cx, t, deadline);
		if (o.kind == EC_STOP)
			return o;
	}
	return ec_value(cx, 0);
}

/* `awake NAME... window=D`: how many moved past the call `asleep` saw them
 * in, once each has moved on or stayed asleep for the window. */
static struct ec_outcome ec_awake(struct ec_ctx *cx, const char *const *names, long long window_ns)
{
	struct ec_task *ts[256];
	unsigned long long marks[256];
	int n = 0;
	for (; *names && n < 256; names++) {
		struct ec_task *t = ec_started(cx, *names);
		if (!t)
			return ec_stop();
		if (t->is_fork)
			return ec_errorf(cx, "awake counts threads; %s is a fork", *names);
		ec_lock();
		int has = t->has_mark;
		marks[n] = t->mark;
		ec_unlock();
		if (!has)
			return ec_errorf(cx, "awake %s needs an earlier `asleep %s` to know where it slept", *names, *names);
		ts[n++] = t;
	}
	long long deadline = ec_deadline(-1), quiet_since = -1;
	unsigned bo = 0;
	for (;;) {
		if (ec_stopped())
			return ec_stop();
		int woke = 0, settled = 1;
		for (int i = 0; i < n; i++) {
			int moved = atomic_load(&ts[i]->progress) > marks[i];
			woke += moved;
			if (!moved && ec_sleeping(ts[i]) != EC_ASLEEP)
				settled = 0;
		}
		long long now = ec_now();
		if (woke == n)
			return ec_value(cx, woke);
		if (settled && quiet_since >= 0 && now - quiet_since >= window_ns)
			return ec_value(cx, woke);
		if (settled && quiet_since < 0)
			quiet_since = now;
		if (!settled)
			quiet_since = -1;
		if (now >= deadline) {
			struct ec_buf b = { 0 };
			ec_put(&b, "still changing at the deadline: ");
			for (int i = 0; i < n; i++) {
				char *d = ec_describe_task(atomic_load(&ts[i]->tid));
				ec_putf(&b, "%s%s: %s", i ? "; " : "", ts[i]->name, d);
				free(d);
			}
			char *got = ec_take(&b);
			struct ec_outcome o = ec_fail(cx, EC_FAIL, "the waiters to settle (each woken or asleep)", got, NULL);
			free(got);
			return o;
		}
		ec_pause(&bo);
	}
}

/* `interrupt NAME...`: a signal whose handler does not restart calls. */
static struct ec_outcome ec_interrupt(struct ec_ctx *cx, const char *const *names)
{
	long long sent = 0;
	for (; *names; names++) {
		struct ec_task *t = ec_started(cx, *names);
		if (!t)
			return ec_stop();
		if (t->is_fork) {
			sent += kill(t->pid, EC_INTERRUPT_SIG) == 0;
		} else if (!ec_task_done(t)) {
			int tid = atomic_load(&t->tid);
			sent += tid != 0 && syscall(SYS_tgkill, getpid(), tid, EC_INTERRUPT_SIG) == 0;
		}
	}
	return ec_value(cx, sent);
}

static struct ec_outcome ec_join_fork(struct ec_ctx *cx, const char *name, struct ec_task *t, long long deadline)
{
	unsigned bo = 0;
	while (!t->reaped) {
		int st;
		pid_t r = waitpid(t->pid, &st, WNOHANG);
		if (r == 0 && ec_now() >= deadline) {
			char *want = ec_fmt("child %s to exit", name);
			struct ec_outcome o = ec_fail(cx, EC_FAIL, want, "still running at the deadline", NULL);
			free(want);
			return o;
		}
		if (r == 0) {
			ec_pause(&bo);
			continue;
		}
		if (r < 0) {
			char *n = ec_errno_name(errno);
			struct ec_outcome o = ec_errorf(cx, "waitpid for %s failed: %s", name, n);
			free(n);
			return o;
		}
		t->reaped = 1;
		t->status = st;
	}
	struct ec_failure *f = NULL;
	/* Read once and closed, so forking in a loop does not collect pipes. */
	if (t->report_fd >= 0) {
		f = ec_read_report(t->report_fd);
		close(t->report_fd);
		t->report_fd = -1;
	}
	if (f) {
		ec_record(f);
		return (struct ec_outcome){ .kind = EC_RET };
	}
	if (WIFSIGNALED(t->status)) {
		char *s = ec_signal_name(WTERMSIG(t->status));
		struct ec_outcome o = ec_errorf(cx, "child %s was killed by %s", name, s);
		free(s);
		return o;
	}
	if (WEXITSTATUS(t->status) != 0)
		return ec_errorf(cx, "child %s exited with status %d", name, WEXITSTATUS(t->status));
	return (struct ec_outcome){ .kind = EC_RET };
}

/* `join NAME... within=D`: a thread's failure is the case's failure. */
static struct ec_outcome ec_join(struct ec_ctx *cx, const char *const *names, long long within_ns)
{
	long long deadline = ec_deadline(within_ns);
	for (; *names; names++) {
		struct ec_task *t = ec_started(cx, *names);
		if (!t)
			return ec_stop();
		if (t->is_fork) {
			struct ec_outcome o = ec_join_fork(cx, *names, t, deadline);
			if (o.kind == EC_STOP)
				return o;
			continue;
		}
		if (ec_task_wait_done(t, deadline))
			continue;
		int line = atomic_load(&t->line);
		char *want = ec_fmt("thread %s to finish", t->name), *d = ec_describe_task(atomic_load(&t->tid));
		char *got = ec_fmt("still running at line %d (`%s`), %s", line, ec_line_text(line), d);
		struct ec_outcome o = ec_fail(cx, EC_FAIL, want, got, NULL);
		free(want);
		free(d);
		free(got);
		return o;
	}
	return ec_value(cx, 0);
}

/* `kill self|main|NAME SIG`: target NULL is the whole process. */
static struct ec_outcome ec_kill(struct ec_ctx *cx, const char *target, int sig)
{
	if (!target)
		return ec_ret(cx, kill(getpid(), sig));
	if (strcmp(target, "main") == 0)
		return ec_ret(cx, syscall(SYS_tgkill, getpid(), G.main_tid, sig));
	struct ec_task *t = ec_started(cx, target);
	if (!t)
		return ec_stop();
	if (t->is_fork)
		return ec_ret(cx, kill(t->pid, sig));
	long long deadline = ec_deadline(-1);
	unsigned bo = 0;
	while (atomic_load(&t->tid) == 0) {
		if (ec_now() >= deadline)
			return ec_errorf(cx, "thread %s never started", t->name);
		ec_pause(&bo);
	}
	return ec_ret(cx, syscall(SYS_tgkill, getpid(), atomic_load(&t->tid), sig));
}

/* `dice SIDES`: a uniformly random integer in 0..SIDES. */
static struct ec_outcome ec_dice(struct ec_ctx *cx, unsigned long long sides)
{
	uint64_t v;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ec_errorf(cx, "cannot open /dev/urandom: %s (os error %d)", strerror(errno), errno);
	ssize_t n = read(fd, &v, sizeof v);
	int e = errno;
	close(fd);
	if (n != (ssize_t)sizeof v)
		return ec_errorf(cx, "cannot read /dev/urandom: %s", n < 0 ? strerror(e) : "failed to fill whole buffer");
	return ec_value(cx, (long long)(v % sides));
}

static struct ec_outcome ec_yield(struct ec_ctx *cx)
{
	sched_yield();
	return ec_value(cx, 0);
}

/* `claim FD`: how many others hold FD's number. */
static struct ec_outcome ec_claim(struct ec_ctx *cx, const char *ref, int release)
{
	int fd = -1;
	unsigned before = 0;
	EC_FD_OR_STOP(cx, ref, fd);
	ec_lock();
	size_t i = 0;
	while (i < G.nclaims && G.claims[i].fd != fd)
		i++;
	if (i == G.nclaims) {
		G.claims = ec_grow(G.claims, (G.nclaims + 1) * sizeof *G.claims);
		G.claims[G.nclaims++] = (__typeof__(G.claims[0])){ fd, 0 };
	}
	before = G.claims[i].holders;
	if (release)
		G.claims[i].holders -= G.claims[i].holders > 0;
	else
		G.claims[i].holders++;
	ec_unlock();
	return ec_value(cx, release ? 0 : before);
}

