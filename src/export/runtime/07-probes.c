/* ------------------------------------------------------------------ */
/* The kernel and what it can do (src/probe.rs)                       */
/* ------------------------------------------------------------------ */

/* The leading `5.10.56` of a release string. */
static int ec_parse_release(const char *p, unsigned v[3])
{
	unsigned nums[3] = { 0, 0, 0 };
	int count = 0;
	for (int part = 0; part < 3; part++) {
		size_t n = strcspn(p, ".-+~_"), d = 0;
		unsigned long long val = 0;
		while (d < n && p[d] >= '0' && p[d] <= '9') {
			val = val * 10 + (unsigned)(p[d++] - '0');
			if (val > 0xffffffffULL)
				return 0;
		}
		if (d == 0)
			break;
		nums[count++] = (unsigned)val;
		if (d != n || !p[n])
			break;
		p += n + 1;
	}
	if (count < 2)
		return 0;
	memcpy(v, nums, sizeof nums);
	return 1;
}

static int ec_version_cmp(const unsigned a[3], const unsigned b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

static const char *ec_release(void)
{
	static struct utsname u;
	const char *fake = getenv("EPOLLCHECK_FAKE_RELEASE");
	if (fake)
		return fake;
	if (!u.release[0] && uname(&u) != 0)
		return "";
	return u.release;
}

/* The kernel's real version: distribution kernels say the upstream one in
 * `uname -v` (`Debian 5.10.262-1`), which wins when major.minor agree. */
static int ec_kernel_version(unsigned v[3])
{
	struct utsname u;
	unsigned r[3], d[3];
	int have_r = ec_parse_release(ec_release(), r), have_d = 0;
	if (uname(&u) == 0) {
		const char *dists[] = { "Debian ", "Ubuntu " };
		for (int i = 0; i < 2 && !have_d; i++) {
			const char *at = strstr(u.version, dists[i]);
			if (at)
				have_d = ec_parse_release(at + strlen(dists[i]), d);
		}
	}
	if (have_r && have_d && r[0] == d[0] && r[1] == d[1] && d[2] >= r[2]) {
		memcpy(v, d, sizeof d);
		return 1;
	}
	if (have_r)
		memcpy(v, r, sizeof r);
	return have_r;
}

/* CPUs this process may run on: its affinity, capped by a cgroup quota. */
static long ec_cpus(void)
{
	cpu_set_t set;
	long count = 1, quota = -1;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		count = CPU_COUNT(&set);
	else
		count = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		char path[512], file[700], *nl = strchr(line, '\n');
		int v2 = strncmp(line, "0::", 3) == 0;
		char *at = strstr(line, ":cpu:");
		if (nl)
			*nl = 0;
		if (!v2 && !at) {
			at = strstr(line, ":cpu,cpuacct:");
			if (!at)
				continue;
			ec_copy(path, sizeof path, at + 13);
		} else {
			ec_copy(path, sizeof path, v2 ? line + 3 : at + 5);
		}
		for (;;) {
			long long q = -1, per = -1;
			FILE *g;
			if (v2) {
				snprintf(file, sizeof file, "/sys/fs/cgroup%s/cpu.max", path);
				if ((g = fopen(file, "r"))) {
					char qs[32];
					if (fscanf(g, "%31s %lld", qs, &per) == 2 && strcmp(qs, "max") != 0)
						q = atoll(qs);
					fclose(g);
				}
			} else {
				snprintf(file, sizeof file, "/sys/fs/cgroup/cpu%s/cpu.cfs_quota_us", path);
				if ((g = fopen(file, "r"))) {
					if (fscanf(g, "%lld", &q) != 1)
						q = -1;
					fclose(g);
				}
				snprintf(file, sizeof file, "/sys/fs/cgroup/cpu%s/cpu.cfs_period_us", path);
				if ((g = fopen(file, "r"))) {
					if (fscanf(g, "%lld", &per) != 1)
						per = -1;
					fclose(g);
				}
			}
			if (q > 0 && per > 0 && (quota < 0 || q / per < quota))
				quota = q / per;
			char *slash = strrchr(path, '/');
			if (!slash || (slash == path && !path[1]))
				break;
			if (slash == path)
				path[1] = 0;
			else
				*slash = 0;
		}
	}
	if (f)
		fclose(f);
	if (quota >= 0 && (quota < 1 ? 1 : quota) < count)
		count = quota < 1 ? 1 : quota;
	return count;
}

static int ec_unmet(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ec_unmet(char **why, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	*why = ec_strdup(tmp);
	return -1;
}

/* Calls the syscall with arguments that cannot do anything: ENOSYS means
 * the kernel does not have it. */
static int ec_probe_syscall(const char *name, char **why)
{
	long r;
	if (strcmp(name, "epoll_create") == 0)
		r = syscall(SYS_epoll_create, 0);
	else if (strcmp(name, "epoll_create1") == 0)
		r = syscall(SYS_epoll_create1, -1);
	else if (strcmp(name, "epoll_ctl") == 0)
		r = syscall(SYS_epoll_ctl, -1, 1, -1, NULL);
	else if (strcmp(name, "epoll_wait") == 0)
		r = syscall(SYS_epoll_wait, -1, NULL, 1, 0);
	else if (strcmp(name, "epoll_pwait") == 0)
		r = syscall(SYS_epoll_pwait, -1, NULL, 1, 0, NULL, 8);
	else if (strcmp(name, "epoll_pwait2") == 0)
		r = syscall(SYS_epoll_pwait2, -1, NULL, 1, NULL, NULL, 8);
	else if (strcmp(name, "pidfd_open") == 0)
		r = syscall(SYS_pidfd_open, -1, 0);
	else if (strcmp(name, "memfd_create") == 0)
		r = syscall(SYS_memfd_create, NULL, ~0u);
	else if (strcmp(name, "kcmp") == 0)
		r = syscall(SYS_kcmp, 0, 0, -1, 0, 0);
	else
		return ec_unmet(why, "no probe for syscall %s", name);
	if (r == -1 && errno == ENOSYS)
		return ec_unmet(why, "syscall %s missing (ENOSYS)", name);
	return 0;
}

/* A fresh epoll fd and eventfd for a probe. */
static int ec_probe_fds(int *ep, int *ev, char **why)
{
	*ep = (int)syscall(SYS_epoll_create1, 0);
	if (*ep < 0) {
		char *n = ec_errno_name(errno);
		ec_unmet(why, "epoll_create1 failed: %s", n);
		free(n);
		return -1;
	}
	*ev = eventfd(0, 0);
	if (*ev < 0) {
		char *d = ec_errno_desc(errno);
		close(*ep);
		ec_unmet(why, "eventfd failed: %s", d);
		free(d);
		return -1;
	}
	return 0;
}

static int ec_probe_flag(uint32_t bits, char **why)
{
	int ep = -1, ev = -1, r = 0;
	char *name = ec_mask_name(0, bits);
	if (ec_probe_fds(&ep, &ev, why) == 0) {
		struct epoll_event add = { .events = bits | EPOLLIN };
		if (syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, ev, &add) == -1) {
			char *e = ec_errno_name(errno);
			r = ec_unmet(why, "flag %s rejected by EPOLL_CTL_ADD (%s)", name, e);
			free(e);
		} else if ((bits & EPOLLEXCLUSIVE) && !(syscall(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, ev, &add) == -1 && errno == EINVAL)) {
			/* Before 4.5 any unknown bit is accepted; MOD of an exclusive
			 * item is EINVAL only where the kernel knows the flag. */
			r = ec_unmet(why, "flag %s is not known to this kernel (EPOLL_CTL_MOD of an exclusive item was not EINVAL)", name);
		}
		close(ev);
		close(ep);
	} else {
		r = -1;
	}
	free(name);
	return r;
}

static int ec_probe_ioctl(const char *name, char **why)
{
	int ep = -1, ev = -1, r = 0;
	if (ec_probe_fds(&ep, &ev, why) != 0)
		return -1;
	struct ec_epoll_params p = { 0 };
	if (syscall(SYS_ioctl, ep, EPIOCGPARAMS, &p) == -1) {
		int e = errno;
		if (e == ENOTTY)
			r = ec_unmet(why, "ioctl %s missing (ENOTTY; added in Linux 6.9)", name);
		else if (e == EOPNOTSUPP)
			r = ec_unmet(why, "ioctl %s unsupported (EOPNOTSUPP: kernel built without CONFIG_NET_RX_BUSY_POLL)", name);
		else {
			char *n = ec_errno_name(e);
			r = ec_unmet(why, "ioctl %s failed with %s", name, n);
			free(n);
		}
	}
	close(ev);
	close(ep);
	return r;
}

static int ec_probe_cap(const char *name, char **why)
{
	static const struct {
		const char *name;
		int bit;
	} caps[] = { { "NET_ADMIN", 12 }, { "SYS_ADMIN", 21 }, { "SYS_RESOURCE", 24 }, { "BLOCK_SUSPEND", 36 } };
	int bit = -1;
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
		if (strcmp(caps[i].name, name) == 0)
			bit = caps[i].bit;
	if (bit < 0)
		return ec_unmet(why, "unknown capability %s", name);
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;
	int found = 0;
	if (!f)
		return ec_unmet(why, "cannot read /proc/self/status: %s (os error %d)", strerror(errno), errno);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "CapEff:", 7) == 0 && sscanf(line + 7, "%llx", &eff) == 1)
			found = 1;
	fclose(f);
	if (!found)
		return ec_unmet(why, "no CapEff line in /proc/self/status");
	return (eff >> bit) & 1 ? 0 : ec_unmet(why, "needs CAP_%s", name);
}

static int ec_probe_ipv6(char **why)
{
	int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 128) != 0) {
		int e = errno;
		if (s >= 0)
			close(s);
		return ec_unmet(why, "IPv6 loopback unavailable: %s (os error %d)", strerror(e), e);
	}
	close(s);
	return 0;
}

/* The kernel's config: EPOLLCHECK_KCONFIG, /proc/config.gz, /boot/config-RELEASE
 * or /lib/modules/RELEASE/config. */
static char *ec_read_all(FILE *f)
{
	struct ec_buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
		chunk[n] = 0;
		ec_put(&b, chunk);
	}
	return b.s;
}

static char *ec_kernel_config(void)
{
	const char *env = getenv("EPOLLCHECK_KCONFIG");
	char path[512];
	FILE *f;
	if (env) {
		if (!(f = fopen(env, "r")))
			return NULL;
		char *t = ec_read_all(f);
		fclose(f);
		return t ? t : ec_strdup("");
	}
	if ((f = fopen("/proc/config.gz", "r"))) {
		fclose(f);
		FILE *z = popen("zcat /proc/config.gz 2>/dev/null", "r");
		if (z) {
			char *t = ec_read_all(z);
			if (pclose(z) == 0 && t)
				return t;
			free(t);
		}
	}
	const char *fmts[] = { "/boot/config-%s", "/lib/modules/%s/config" };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, fmts[i], ec_release());
		if ((f = fopen(path, "r"))) {
			char *t = ec_read_all(f);
			fclose(f);
			return t ? t : ec_strdup("");
		}
	}
	return NULL;
}

static int ec_probe_config(const char *name, char **why)
{
	char *text = ec_kernel_config(), y[160], m[160];
	if (!text)
		return ec_unmet(why, "kernel config unavailable (no /proc/config.gz or /boot/config-%s; set EPOLLCHECK_KCONFIG) to check CONFIG_%s", ec_release(), name);
	snprintf(y, sizeof y, "CONFIG_%s=y", name);
	snprintf(m, sizeof m, "CONFIG_%s=m", name);
	int found = 0;
	for (char *line = text; *line && !found;) {
		size_t n = strcspn(line, "\n");
		found = (n == strlen(y) && strncmp(line, y, n) == 0) || (n == strlen(m) && strncmp(line, m, n) == 0);
		line += n + (line[n] == '\n');
	}
	free(text);
	return found ? 0 : ec_unmet(why, "kernel built without CONFIG_%s", name);
}

/* `Ok` (0) when the machine has the feature, else -1 and why not. */
static int ec_probe(const char *word, char **why)
{
	const char *v = strchr(word, '=');
	*why = NULL;
	if (strcmp(word, "root") == 0)
		return geteuid() == 0 ? 0 : ec_unmet(why, "needs root (running as uid %u)", (unsigned)geteuid());
	if (strcmp(word, "ipv6") == 0)
		return ec_probe_ipv6(why);
	if (strcmp(word, "disruptive") == 0) {
		const char *d = getenv("EPOLLCHECK_DISRUPTIVE");
		return d && strcmp(d, "1") == 0 ? 0 : ec_unmet(why, "changes machine-wide state; runs only with EPOLLCHECK_DISRUPTIVE=1 (throwaway machines: the VM matrix, CI)");
	}
	if (strncmp(word, "cpus>=", 6) == 0) {
		long want = atol(word + 6), have = ec_cpus();
		return have >= want ? 0 : ec_unmet(why, "needs %ld CPUs (%ld available)", want, have);
	}
	if (strncmp(word, "nofile>=", 8) == 0) {
		struct rlimit rl = { 0, 0 };
		unsigned long long want = strtoull(word + 8, NULL, 10), usable;
		getrlimit(RLIMIT_NOFILE, &rl);
		usable = rl.rlim_max < 8192 ? rl.rlim_max : 8192; /* case processes cap it at 8192 */
		return usable >= want ? 0 : ec_unmet(why, "needs %llu open files (the hard RLIMIT_NOFILE allows %llu)", want, usable);
	}
	if (!v)
		return ec_unmet(why, "unknown requirement `%s`", word);
	v++;
	if (strncmp(word, "syscall=", 8) == 0)
		return ec_probe_syscall(v, why);
	if (strncmp(word, "flag=", 5) == 0)
		return ec_probe_flag((uint32_t)ec_parse_mask(v, NULL), why);
	if (strncmp(word, "ioctl=", 6) == 0)
		return ec_probe_ioctl(v, why);
	if (strncmp(word, "cap=", 4) == 0)
		return ec_probe_cap(v, why);
	if (strncmp(word, "path=", 5) == 0) {
		struct stat st;
		return stat(v, &st) == 0 ? 0 : ec_unmet(why, "%s does not exist", v);
	}
	if (strncmp(word, "config=", 7) == 0)
		return ec_probe_config(v, why);
	return ec_unmet(why, "unknown requirement `%s`", word);
}

/* Probes named in `if` guards, cached for the process as epollcheck does. */
static int ec_probe_cached(const char *word)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static struct {
		char *word;
		int ok;
	} cache[64];
	static int n;
	int ok = -1;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < n; i++)
		if (strcmp(cache[i].word, word) == 0)
			ok = cache[i].ok;
	pthread_mutex_unlock(&mu);
	if (ok >= 0)
		return ok;
	char *why;
	ok = ec_probe(word, &why) == 0;
	free(why);
	pthread_mutex_lock(&mu);
	if (n < 64)
		cache[n++] = (__typeof__(cache[0])){ ec_strdup(word), ok };
	pthread_mutex_unlock(&mu);
	return ok;
}

static int ec_is_probe_word(const char *w)
{
	static const char *keys[] = { "syscall=", "flag=", "ioctl=", "cap=", "path=", "config=", "nofile>=", "cpus>=" };
	if (strcmp(w, "root") == 0 || strcmp(w, "ipv6") == 0 || strcmp(w, "disruptive") == 0)
		return 1;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strncmp(w, keys[i], strlen(keys[i])) == 0)
			return 1;
	return 0;
}

static int ec_cmp_holds(int op, int c)
{
	switch (op) {
	case EC_EQ:
		return c == 0;
	case EC_NE:
		return c != 0;
	case EC_LT:
		return c < 0;
	case EC_LE:
		return c <= 0;
	case EC_GT:
		return c > 0;
	default:
		return c >= 0;
	}
}

/* `>=` and friends at the start of s: the operator and its length. */
static int ec_parse_cmp(const char *s, int *len)
{
	static const struct {
		const char *text;
		int op;
	} ops[] = { { ">=", EC_GE }, { "<=", EC_LE }, { "==", EC_EQ }, { "!=", EC_NE }, { ">", EC_GT }, { "<", EC_LT } };
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strncmp(s, ops[i].text, strlen(ops[i].text)) == 0) {
			*len = (int)strlen(ops[i].text);
			return ops[i].op;
		}
	return -1;
}

/* One guard word: kernel>=6.9.0, syscall=NAME, !root, mode=et. */
static int ec_guard_holds(const char *g)
{
	if (strncmp(g, "kernel", 6) == 0) {
		int len = 0, op = ec_parse_cmp(g + 6, &len);
		unsigned want[3] = { 0, 0, 0 };
		if (sscanf(g + 6 + len, "%u.%u.%u", &want[0], &want[1], &want[2]) < 2)
			return 0;
		return G.have_kernel && ec_cmp_holds(op, ec_version_cmp(G.kernel, want));
	}
	int negate = g[0] == '!';
	const char *w = g + negate;
	if (ec_is_probe_word(w))
		return ec_probe_cached(w) != negate;
	const char *eq = strchr(w, '=');
	int hit = 0;
	for (const struct ec_variant *v = G.c->variant; eq && v->axis; v++)
		if (strlen(v->axis) == (size_t)(eq - w) && strncmp(v->axis, w, (size_t)(eq - w)) == 0 && strcmp(v->label, eq + 1) == 0)
			hit = 1;
	return hit != negate;
}

