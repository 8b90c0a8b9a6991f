/*
 * ---------------------------------------------------------------------
 * The runtime of a case exported by `epollcheck export-c`.
 *
 * It does what epollcheck's interpreter (src/exec/) does around the calls
 * under test: an fd table by name, the shadow of each epoll instance's
 * registrations (to name events and to know the data a registration
 * carries), counters, claims, threads and forked children, outcome
 * rendering and expectation matching, so that this program reaches the
 * verdict `epollcheck run` reaches, with the same messages. It needs libc
 * and pthreads only; epoll is called with syscall(2) in the case below.
 * ---------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

/* Constants older headers may lack. */
#ifndef EPOLLEXCLUSIVE
#define EPOLLEXCLUSIVE (1u << 28)
#endif
#ifndef EPOLLWAKEUP
#define EPOLLWAKEUP (1u << 29)
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SO_INCOMING_CPU
#define SO_INCOMING_CPU 49
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif
#ifndef EPIOCSPARAMS
#define EPIOCSPARAMS 0x40088a01UL /* _IOW(0x8A, 0x01, struct epoll_params) */
#endif
#ifndef EPIOCGPARAMS
#define EPIOCGPARAMS 0x80088a02UL /* _IOR(0x8A, 0x02, struct epoll_params) */
#endif
#if !defined(SYS_epoll_wait) || !defined(SYS_poll) || !defined(SYS_select)
#error "this export uses the x86 system call table (epoll_wait, poll, select); build it on x86-64 or i386"
#endif
#ifndef SYS_epoll_create
#define SYS_epoll_create (-1L) /* no such call on this ABI: ENOSYS */
#endif

/* struct epoll_params of ioctl_eventpoll(2) (Linux 6.9). */
struct ec_epoll_params {
	uint32_t busy_poll_usecs;
	uint16_t busy_poll_budget;
	uint8_t prefer_busy_poll;
	uint8_t pad;
};

/* An address in the kernel half: access_ok() refuses it. */
#define EC_KERNEL_ADDR ((void *)0xffffffff80000000UL)
/* The signal `interrupt` sends; its handler does not restart calls. */
#define EC_INTERRUPT_SIG 40
/* The kernel's sigset for one signal. */
#define EC_SIG(s) (1ULL << ((s) - 1))

enum ec_kind { EC_OTHER, EC_EPOLL, EC_PIPE, EC_SOCKET, EC_LISTENING, EC_EVENTFD, EC_TIMERFD, EC_SIGNALFD, EC_INOTIFY, EC_FILE, EC_DIR };
enum ec_outcome_kind { EC_RET, EC_ERRNO, EC_EVENTS, EC_READY, EC_FIELDS, EC_STOP };
enum ec_fail_kind { EC_FAIL = 1, EC_ERROR = 2 };
enum ec_cmp { EC_EQ, EC_NE, EC_LT, EC_LE, EC_GT, EC_GE };
enum ec_sigdisp { EC_SIG_HANDLER, EC_SIG_RESTART, EC_SIG_IGNORE, EC_SIG_DEFAULT };
enum ec_source { EC_SRC_PIPE, EC_SRC_FIFO, EC_SRC_STREAM, EC_SRC_DGRAM, EC_SRC_SEQPACKET, EC_SRC_TCP, EC_SRC_TCP6, EC_SRC_UDP, EC_SRC_EVENTFD, EC_SRC_PTY };
enum ec_sockopt { EC_SO_REUSEPORT, EC_SO_REUSEADDR, EC_SO_RCVBUF, EC_SO_SNDBUF, EC_SO_LINGER, EC_SO_OOBINLINE, EC_SO_INCOMING_CPU, EC_SO_REUSEPORT_CBPF, EC_SO_DETACH_BPF };

/* One event of a wait (mask, data), or one ready fd of poll/select (mask, fd). */
struct ec_event {
	uint32_t mask;
	uint64_t data;
};

/* What a step returned. */
struct ec_outcome {
	int kind;
	long long ret; /* the value; the errno; the number of events */
	int ep;        /* the epoll fd waited on */
	int n;         /* entries in ev */
	struct ec_event *ev;
	int nfields;
	const char *fkey[4];
	long long fval[4];
};

/* The case: filled in by the generated part. */
struct ec_line {
	int line;
	const char *text;
};
struct ec_variant {
	const char *axis, *label, *value;
};
struct ec_xfail {
	unsigned from[3], to[3];
	int has_from, has_to;
	const char *xfail_reason, *xpass_reason;
};
struct ec_ctx;
struct ec_case {
	const char *path;
	long long timeout_ns;
	const struct ec_line *lines;
	const struct ec_variant *variant;
	const char *const *requires;
	const struct ec_xfail *xfail;
	const char *const *hints;
	int uses_ip; /* makes IP sockets: as root, it gets a network namespace of its own */
	const char *serial; /* `serial: KEY`, with non-alphanumerics as _ */
	void (*body)(struct ec_ctx *);
};

#define EC_MAX_NEST 64
/* Threads a case may have alive at once. */
#define EC_MAX_THREADS 512

struct ec_task;

/* Per-thread interpreter state. */
struct ec_ctx {
	char *thread;
	struct ec_task *task;
	struct {
		const char *name;
		unsigned long long value;
	} vars[EC_MAX_NEST];
	int nvars;
	struct {
		unsigned long long i;
		long long total; /* -1: a time budget */
	} iters[EC_MAX_NEST];
	int niters;
	struct {
		char *name;
		int fd;
	} *aliases;
	int naliases;
	int slot;
	int line;
	long long t_start, last_elapsed;
	struct ec_event *evbuf;
	size_t evcap;
};

struct ec_failure {
	int kind, line;
	char *step, *thread, *where, *expected, *observed, *detail;
};

/* ------------------------------------------------------------------ */
/* Small utilities                                                    */
/* ------------------------------------------------------------------ */

static void *ec_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fputs("epollcheck runtime: out of memory\n", stderr);
		_exit(2);
	}
	return p;
}

static void *ec_grow(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("epollcheck runtime: out of memory\n", stderr);
		_exit(2);
	}
	return q;
}

static char *ec_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ec_alloc(n);
	memcpy(d, s, n);
	return d;
}

/* Copies a string, truncated to the destination. */
static void ec_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; i + 1 < cap && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

/* printf into a new string. */
static char *ec_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *ec_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = ec_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* A growable string. */
struct ec_buf {
	char *s;
	size_t len, cap;
};

static void ec_put(struct ec_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = ec_grow(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static void ec_putf(struct ec_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ec_putf(struct ec_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	ec_put(b, tmp);
}

static char *ec_take(struct ec_buf *b)
{
	if (!b->s)
		return ec_strdup("");
	return b->s;
}

static long long ec_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ec_sleep_ns(long long ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int ec_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

/* Rust's `{:?}` of a Duration: 20ms, 1.5s, 250µs, 12ns. */
static char *ec_duration(long long ns)
{
	unsigned long long secs = (unsigned long long)ns / 1000000000ULL, nanos = (unsigned long long)ns % 1000000000ULL;
	unsigned long long whole, frac, div;
	const char *unit;
	if (secs > 0) {
		whole = secs, frac = nanos, div = 100000000ULL, unit = "s";
	} else if (nanos >= 1000000ULL) {
		whole = nanos / 1000000ULL, frac = nanos % 1000000ULL, div = 100000ULL, unit = "ms";
	} else if (nanos >= 1000ULL) {
		whole = nanos / 1000ULL, frac = nanos % 1000ULL, div = 100ULL, unit = "\xc2\xb5s";
	} else {
		whole = nanos, frac = 0, div = 1, unit = "ns";
	}
	char digits[16];
	int n = 0;
	while (frac > 0 && div > 0 && n < 15) {
		digits[n++] = (char)('0' + frac / div);
		frac %= div;
		div /= 10;
	}
	digits[n] = 0;
	return n ? ec_fmt("%llu.%s%s", whole, digits, unit) : ec_fmt("%llu%s", whole, unit);
}

/* Backoff for polling loops: yield first, then short naps, so that the
 * observed thread gets to run even on one CPU. */
static void ec_pause(unsigned *count)
{
	*count += 1;
	if (*count < 20) {
		sched_yield();
	} else {
		unsigned long long us = (unsigned long long)*count * 10;
		ec_sleep_ns((long long)(us < 1000 ? us : 1000) * 1000);
	}
}

/* Natural logarithm and square root without libm (the uniformity check). */
static double ec_ln(double x)
{
	union {
		double d;
		uint64_t u;
	} v = { x };
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	double m = v.d;
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
	for (int k = 1; k < 80; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2 * sum + e * 0.69314718055994530942;
}

static double ec_sqrt(double x)
{
	if (!(x > 0))
		return 0; /* the band's argument is never negative */
	union {
		double d;
		uint64_t u;
	} v = { x };
	v.u = (v.u >> 1) + (0x3ffULL << 51); /* halve the exponent: a close start */
	double y = v.d;
	for (int i = 0; i < 100; i++) {
		double ny = 0.5 * (y + x / y);
		if (ny == y)
			break;
		y = ny;
	}
	return y;
}

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

/* ------------------------------------------------------------------ */
/* State shared by the case's threads                                 */
/* ------------------------------------------------------------------ */

struct ec_entry {
	char *name;
	int fd, kind, live;
};

struct ec_reg {
	int ep, fd;
	uint64_t data;
};

struct ec_task {
	char *name;
	int is_fork;
	atomic_int tid;
	atomic_ullong progress;
	atomic_llong syscall;
	atomic_int line;
	int has_mark; /* under G.mu */
	unsigned long long mark;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	pid_t pid;
	int report_fd, reaped, status;
};

#define EC_MAX_SLOTS 1024
#define EC_MAX_JOURNAL 32

/* The sysctls a case wrote, with their old values: shared with forked
 * children, restored when the case ends however it ends. */
struct ec_journal {
	atomic_int n;
	struct {
		char path[256];
		char value[256];
	} e[EC_MAX_JOURNAL];
};

static struct {
	const struct ec_case *c;
	pthread_mutex_t mu;
	struct ec_entry *fds;
	size_t nfds;
	struct ec_reg *regs;
	size_t nregs;
	struct {
		char *name;
		long long value;
	} *counters;
	size_t ncounters;
	struct {
		int fd;
		unsigned holders;
	} *claims;
	size_t nclaims;
	struct {
		char *name;
		struct ec_task *task;
	} *tasks;
	size_t ntasks;
	char **notes;
	size_t nnotes;
	struct ec_failure *failure;
	atomic_int stop;
	int have_kernel;
	unsigned kernel[3];
	char tempdir[256];
	int main_tid;
	atomic_int next_slot;
	struct {
		atomic_int line;
		char who[64];
	} slots[EC_MAX_SLOTS];
	pid_t children[256];
	atomic_int nchildren;
	struct ec_journal *journal;
	const char *timeout_text;
	atomic_uint handled[65];
	int own_netns;
	double scale;
} G = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void ec_lock(void)
{
	pthread_mutex_lock(&G.mu);
}

static void ec_unlock(void)
{
	pthread_mutex_unlock(&G.mu);
}

static int ec_stopped(void)
{
	return atomic_load(&G.stop);
}

/* The source text of a step, for messages. */
static const char *ec_line_text(int line)
{
	for (const struct ec_line *l = G.c->lines; l->text; l++)
		if (l->line == line)
			return l->text;
	return "";
}

/* ------------------------------------------------------------------ */
/* Failures                                                           */
/* ------------------------------------------------------------------ */

static struct ec_failure *ec_make_failure(struct ec_ctx *cx, int kind, const char *expected, const char *observed, const char *detail)
{
	struct ec_failure *f = ec_alloc(sizeof *f);
	struct ec_buf where = { 0 };
	f->kind = kind;
	f->line = cx->line;
	f->step = ec_strdup(ec_line_text(cx->line));
	f->thread = ec_strdup(cx->thread);
	for (int i = 0; i < cx->niters; i++) {
		if (cx->iters[i].total >= 0)
			ec_putf(&where, ", iteration %llu of %lld", cx->iters[i].i + 1, cx->iters[i].total);
		else
			ec_putf(&where, ", iteration %llu", cx->iters[i].i + 1);
	}
	f->where = ec_take(&where);
	f->expected = ec_strdup(expected);
	f->observed = ec_strdup(observed);
	f->detail = detail ? ec_strdup(detail) : NULL;
	return f;
}

/* Records a failure; the first one wins and stops every thread. */
static void ec_record(struct ec_failure *f)
{
	ec_lock();
	if (!G.failure)
		G.failure = f;
	ec_unlock();
	atomic_store(&G.stop, 1);
}

/* Fails the current step; the outcome EC_STOP makes the caller return. */
static struct ec_outcome ec_fail(struct ec_ctx *cx, int kind, const char *expected, const char *observed, const char *detail)
{
	ec_record(ec_make_failure(cx, kind, expected, observed, detail));
	return (struct ec_outcome){ .kind = EC_STOP };
}

/* An ERROR: the case could not do what it asked for. */
static struct ec_outcome ec_error(struct ec_ctx *cx, const char *what)
{
	return ec_fail(cx, EC_ERROR, "the step to run", what, NULL);
}

static struct ec_outcome ec_errorf(struct ec_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct ec_outcome ec_errorf(struct ec_ctx *cx, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return ec_error(cx, tmp);
}

/* A fixture that could not be made: `pipe2 failed: EMFILE: ...`. */
static struct ec_outcome ec_fixture_error(struct ec_ctx *cx, const char *what, int e)
{
	char *d = ec_errno_desc(e);
	struct ec_outcome o = ec_errorf(cx, "%s failed: %s", what, d);
	free(d);
	return o;
}

/* The report of a failure, as epollcheck prints it. */
static void ec_print_failure(FILE *out, const struct ec_failure *f)
{
	fprintf(out, "%s:%d: %s\n", G.c->path, f->line, f->step);
	fprintf(out, "    expected: %s\n", f->expected);
	fprintf(out, "    observed: %s\n", f->observed);
	if (f->detail) {
		const char *d = f->detail;
		while (*d) {
			size_t n = strcspn(d, "\n");
			fprintf(out, "    %.*s\n", (int)n, d);
			d += n + (d[n] == '\n');
		}
	}
	if (strcmp(f->thread, "main") != 0 || f->where[0])
		fprintf(out, "    where: thread %s%s\n", f->thread, f->where);
}

/* ------------------------------------------------------------------ */
/* Steps, names and fds                                               */
/* ------------------------------------------------------------------ */

/* Marks the start of a step; nonzero when the case is stopping. */
static int ec_step(struct ec_ctx *cx, int line)
{
	if (ec_stopped())
		return 1;
	cx->line = line;
	if (cx->slot >= 0)
		atomic_store(&G.slots[cx->slot].line, line);
	if (cx->task)
		atomic_store(&cx->task->line, line);
	cx->t_start = ec_now();
	return 0;
}

/* The start of a thread, fork or repeat block. */
static int ec_block(struct ec_ctx *cx, int line)
{
	if (ec_stopped())
		return 1;
	cx->line = line;
	return 0;
}

/* The step's action has returned: `took` measures up to here. */
static void ec_done(struct ec_ctx *cx)
{
	cx->last_elapsed = ec_now() - cx->t_start;
}

/* `p$i.r` with the current loop values (longest variable names first). */
static void ec_resolve(struct ec_ctx *cx, const char *tpl, char *out, size_t cap)
{
	ec_copy(out, cap, tpl);
	if (!strchr(tpl, '$'))
		return;
	int order[EC_MAX_NEST], n = cx->nvars;
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 1; i < n; i++) /* a stable sort by length, longest first */
		for (int j = i; j > 0 && strlen(cx->vars[order[j]].name) > strlen(cx->vars[order[j - 1]].name); j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int k = 0; k < n; k++) {
		char key[80], val[32], tmp[512];
		snprintf(key, sizeof key, "$%s", cx->vars[order[k]].name);
		snprintf(val, sizeof val, "%llu", cx->vars[order[k]].value);
		struct ec_buf b = { 0 };
		const char *p = out, *hit;
		while ((hit = strstr(p, key))) {
			snprintf(tmp, sizeof tmp, "%.*s", (int)(hit - p), p);
			ec_put(&b, tmp);
			ec_put(&b, val);
			p = hit + strlen(key);
		}
		ec_put(&b, p);
		ec_copy(out, cap, b.s);
		free(b.s);
	}
}

static int ec_is_raw(const char *ref)
{
	return (ref[0] >= '0' && ref[0] <= '9') || ref[0] == '-';
}

/* Under G.mu: the table entry of a live or closed name. */
static struct ec_entry *ec_find_name(const char *name, int live_only)
{
	for (size_t i = 0; i < G.nfds; i++)
		if (strcmp(G.fds[i].name, name) == 0 && (G.fds[i].live || !live_only))
			return &G.fds[i];
	return NULL;
}

static int ec_kind_of_fd(int fd)
{
	for (size_t i = 0; i < G.nfds; i++)
		if (G.fds[i].live && G.fds[i].fd == fd)
			return G.fds[i].kind;
	return EC_OTHER;
}

/* Binds a name to a new fd. */
static void ec_insert(const char *name, int fd, int kind)
{
	ec_lock();
	struct ec_entry *e = ec_find_name(name, 0);
	if (!e) {
		G.fds = ec_grow(G.fds, (G.nfds + 1) * sizeof *G.fds);
		e = &G.fds[G.nfds++];
		e->name = ec_strdup(name);
	}
	e->fd = fd;
	e->kind = kind;
	e->live = 1;
	ec_unlock();
}

static int ec_alias(struct ec_ctx *cx, const char *name, int *fd)
{
	for (int i = 0; i < cx->naliases; i++)
		if (strcmp(cx->aliases[i].name, name) == 0) {
			*fd = cx->aliases[i].fd;
			return 1;
		}
	return 0;
}

/* The fd a reference stands for (a closed name gives the number it had);
 * nonzero, with the case failed, when there is no such name. */
static int ec_fd(struct ec_ctx *cx, const char *ref, int *fd)
{
	char name[256];
	if (ec_is_raw(ref)) {
		*fd = (int)strtoll(ref, NULL, 10);
		return 0;
	}
	ec_resolve(cx, ref, name, sizeof name);
	if (ec_alias(cx, name, fd))
		return 0;
	ec_lock();
	struct ec_entry *e = ec_find_name(name, 0);
	if (e)
		*fd = e->fd;
	ec_unlock();
	if (e)
		return 0;
	ec_errorf(cx, "no fd named `%s` exists at this point", name);
	return 1;
}

/* The fd and kind of a reference: a live name's entry, or the kind of
 * whatever live name has that number. */
static int ec_entry(struct ec_ctx *cx, const char *ref, int *fd, int *kind)
{
	char name[256];
	if (ec_fd(cx, ref, fd))
		return 1;
	ec_lock();
	struct ec_entry *e = NULL;
	if (!ec_is_raw(ref)) {
		int aliased;
		ec_resolve(cx, ref, name, sizeof name);
		/* An `as` alias shadows a table name, as it does in ec_fd. */
		if (!ec_alias(cx, name, &aliased))
			e = ec_find_name(name, 1);
	}
	if (e) {
		*fd = e->fd;
		*kind = e->kind;
	} else {
		*kind = ec_kind_of_fd(*fd);
	}
	ec_unlock();
	return 0;
}

/* The innermost value of a loop variable. */
static unsigned long long ec_var(struct ec_ctx *cx, const char *name)
{
	for (int i = cx->nvars - 1; i >= 0; i--)
		if (strcmp(cx->vars[i].name, name) == 0)
			return cx->vars[i].value;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                           */
/* ------------------------------------------------------------------ */

static struct ec_outcome ec_value(struct ec_ctx *cx, long long v)
{
	ec_done(cx);
	return (struct ec_outcome){ .kind = EC_RET, .ret = v };
}

static struct ec_outcome ec_errno_outcome(struct ec_ctx *cx, int e)
{
	ec_done(cx);
	return (struct ec_outcome){ .kind = EC_ERRNO, .ret = e };
}

/* A raw call's result: its value, or the errno it failed with. */
static struct ec_outcome ec_ret(struct ec_ctx *cx, long r)
{
	int e = errno;
	return r == -1 ? ec_errno_outcome(cx, e) : ec_value(cx, r);
}

/* A call that made an fd: binds the name to it. */
static struct ec_outcome ec_made(struct ec_ctx *cx, const char *name, int kind, long r)
{
	int e = errno;
	char res[256];
	if (r == -1)
		return ec_errno_outcome(cx, e);
	ec_resolve(cx, name, res, sizeof res);
	ec_insert(res, (int)r, kind);
	return ec_value(cx, r);
}

static struct ec_event *ec_events_room(struct ec_ctx *cx, size_t n)
{
	if (n > cx->evcap) {
		cx->evcap = n;
		cx->evbuf = ec_grow(cx->evbuf, n * sizeof *cx->evbuf);
	}
	return cx->evbuf;
}

/* A wait's result: the first `copied` entries of evs (at most maxevents). */
static struct ec_outcome ec_waited(struct ec_ctx *cx, long n, int ep, const struct epoll_event *evs, long copied)
{
	int e = errno;
	if (n == -1)
		return ec_errno_outcome(cx, e);
	ec_done(cx);
	long count = evs ? (n < 0 ? 0 : n) : 0;
	if (count > copied)
		count = copied;
	struct ec_outcome o = { .kind = EC_EVENTS, .ret = n, .ep = ep, .n = (int)count };
	o.ev = ec_events_room(cx, (size_t)count);
	for (long i = 0; i < count; i++) {
		o.ev[i].mask = evs[i].events;
		o.ev[i].data = evs[i].data.u64;
	}
	return o;
}

/* An events array for a huge maxevents: address space reserved without
 * backing, so only the entries the kernel writes cost memory. */
static struct epoll_event *ec_event_buffer(struct ec_ctx *cx, long n)
{
	void *p = mmap(NULL, (size_t)n * sizeof(struct epoll_event), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p != MAP_FAILED)
		return p;
	char *d = ec_errno_desc(errno);
	ec_errorf(cx, "cannot allocate %ld events: %s", n, d);
	free(d);
	return NULL;
}

static void ec_free_event_buffer(struct epoll_event *evs, long n)
{
	munmap(evs, (size_t)n * sizeof *evs);
}

/* A page the kernel can read but not write: the events array of a wait
 * that faults only when an event is copied. */
static void *ec_readonly_page(struct ec_ctx *cx)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		return p;
	char *d = ec_errno_desc(errno);
	ec_errorf(cx, "cannot map a read-only page: %s", d);
	free(d);
	return NULL;
}

/* epoll_ctl's result: a success updates the shadow of the registrations. */
static struct ec_outcome ec_ctl_done(struct ec_ctx *cx, long r, int ep, int op, int fd, uint64_t data)
{
	struct ec_outcome o = ec_ret(cx, r);
	if (r == -1 || (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL))
		return o;
	ec_lock();
	size_t i = 0;
	while (i < G.nregs && !(G.regs[i].ep == ep && G.regs[i].fd == fd))
		i++;
	if (op == EPOLL_CTL_DEL) {
		if (i < G.nregs)
			G.regs[i] = G.regs[--G.nregs];
	} else {
		if (i == G.nregs) {
			G.regs = ec_grow(G.regs, (G.nregs + 1) * sizeof *G.regs);
			G.nregs++;
		}
		G.regs[i] = (struct ec_reg){ ep, fd, data };
	}
	ec_unlock();
	return o;
}

/* EPIOCGPARAMS: the fields of struct epoll_params. */
static struct ec_outcome ec_params(struct ec_ctx *cx, long r, const struct ec_epoll_params *p)
{
	int e = errno;
	if (r == -1)
		return ec_errno_outcome(cx, e);
	ec_done(cx);
	return (struct ec_outcome){
		.kind = EC_FIELDS,
		.nfields = 4,
		.fkey = { "usecs", "budget", "prefer", "pad" },
		.fval = { p->busy_poll_usecs, p->busy_poll_budget, p->prefer_busy_poll, p->pad },
	};
}

/* The number a `-> counter` capture adds. */
static long long ec_outcome_value(const struct ec_outcome *o)
{
	switch (o->kind) {
	case EC_RET:
	case EC_EVENTS:
	case EC_READY:
		return o->ret;
	default:
		return 0;
	}
}

/* Under G.mu: names bound to a number, sorted; the first labels it. */
static const char *ec_label_of(int fd)
{
	const char *best = NULL;
	for (size_t i = 0; i < G.nfds; i++)
		if (G.fds[i].live && G.fds[i].fd == fd && (!best || strcmp(G.fds[i].name, best) < 0))
			best = G.fds[i].name;
	return best;
}

static void ec_put_label(struct ec_buf *b, int fd)
{
	const char *l = ec_label_of(fd);
	if (l)
		ec_put(b, l);
	else
		ec_putf(b, "fd %d", fd);
}

/* Under G.mu: the fd whose registration in ep carries this data. */
static int ec_owner(int ep, uint64_t data, int *fd)
{
	int found = 0;
	for (size_t i = 0; i < G.nregs; i++)
		if (G.regs[i].ep == ep && G.regs[i].data == data && (!found || G.regs[i].fd < *fd)) {
			*fd = G.regs[i].fd;
			found = 1;
		}
	return found;
}

/* `p.r EPOLLIN`, `p.r EPOLLIN data=7`, or `EPOLLIN data=0x7`. */
static void ec_put_event(struct ec_buf *b, int ep, uint32_t mask, uint64_t data)
{
	int fd = -1;
	int known = ec_owner(ep, data, &fd);
	if (!known && data <= 0x7fffffff && ec_label_of((int)data)) {
		fd = (int)data;
		known = 1;
	}
	if (!known) {
		ec_put_mask(b, 0, mask);
		ec_putf(b, " data=0x%llx", (unsigned long long)data);
		return;
	}
	ec_put_label(b, fd);
	ec_put(b, " ");
	ec_put_mask(b, 0, mask);
	if (data != (uint64_t)(int64_t)fd)
		ec_putf(b, " data=%llu", (unsigned long long)data);
}

static void ec_put_field(struct ec_buf *b, const char *k, long long v)
{
	if (strcmp(k, "events") == 0) {
		ec_putf(b, "events=0x%llx (", (unsigned long long)v);
		ec_put_mask(b, 0, (uint32_t)v);
		ec_put(b, ")");
	} else if (strcmp(k, "data") == 0) {
		ec_putf(b, "data=0x%llx", (unsigned long long)v);
	} else {
		ec_putf(b, "%s=%lld", k, v);
	}
}

/* How an outcome is shown: `1 event: p.r EPOLLIN|EPOLLHUP`, `EINVAL`. */
static char *ec_render(const struct ec_outcome *o)
{
	struct ec_buf b = { 0 };
	ec_lock();
	switch (o->kind) {
	case EC_RET:
		ec_putf(&b, "%lld", o->ret);
		break;
	case EC_ERRNO: {
		char *n = ec_errno_name((int)o->ret);
		ec_put(&b, n);
		free(n);
		break;
	}
	case EC_EVENTS:
	case EC_READY:
		if (o->ret == 0) {
			ec_put(&b, "none");
			break;
		}
		if (o->kind == EC_EVENTS)
			ec_putf(&b, "%lld %s: ", o->ret, o->ret == 1 ? "event" : "events");
		else
			ec_putf(&b, "%lld ready: ", o->ret);
		for (int i = 0; i < o->n; i++) {
			ec_put(&b, i ? ", " : "");
			if (o->kind == EC_EVENTS) {
				ec_put_event(&b, o->ep, o->ev[i].mask, o->ev[i].data);
			} else {
				ec_put_label(&b, (int)o->ev[i].data);
				ec_put(&b, " ");
				ec_put_mask(&b, 1, o->ev[i].mask);
			}
		}
		break;
	case EC_FIELDS:
		for (int i = 0; i < o->nfields; i++) {
			ec_put(&b, i ? " " : "");
			ec_put_field(&b, o->fkey[i], o->fval[i]);
		}
		break;
	}
	ec_unlock();
	return ec_take(&b);
}

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

/* ------------------------------------------------------------------ */
/* Expectations: what a step must return                              */
/* ------------------------------------------------------------------ */

/*
 * An expectation is the text after `=>`, with flags and errnos by name:
 *   p.r EPOLLIN data=7, p.w ~EPOLLOUT or EINTR if kernel>=6.9.0 @late
 * Alternatives are tried in order; `if` guards (kernel versions, probes as
 * in `requires`, `axis=label` variants, joined by &&) decide which apply;
 * `@name` counts, in counter `name`, how often an alternative matched.
 */
enum { EC_P_OK, EC_P_ANY, EC_P_NONE, EC_P_ERRNO, EC_P_INT, EC_P_COUNT, EC_P_EVENTS, EC_P_FIELDS };

struct ec_evpat {
	char *fd;
	uint32_t mask;
	int at_least, has_data, poll;
	uint64_t data;
};

struct ec_alt {
	int kind;
	long long n;
	struct ec_evpat *ev;
	int nev;
	char **fkey;
	long long *fval;
	int nfields;
	char **guard;
	int nguard;
	char **labels;
	int nlabels;
};

struct ec_expect {
	struct ec_alt *alts;
	int nalts;
};

static void ec_bad_expect(const char *text)
{
	fprintf(stderr, "epollcheck runtime: cannot read the expectation `%s`\n", text);
	_exit(2);
}

/* Splits on spaces; a comma is a word of its own. */
static char **ec_words(const char *text, int *n)
{
	char **w = NULL;
	*n = 0;
	for (const char *p = text; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t len = *p == ',' ? 1 : strcspn(p, " ,");
		w = ec_grow(w, (size_t)(*n + 1) * sizeof *w);
		w[*n] = ec_alloc(len + 1);
		memcpy(w[*n], p, len);
		(*n)++;
		p += len;
	}
	return w;
}

static void ec_parse_events(struct ec_alt *a, char **w, int n, const char *text)
{
	a->kind = EC_P_EVENTS;
	for (int i = 0; i < n;) {
		struct ec_evpat e = { 0 };
		if (i + 1 >= n)
			ec_bad_expect(text);
		e.fd = w[i];
		const char *m = w[i + 1];
		e.at_least = m[0] == '~';
		long long mask = ec_parse_mask(m + e.at_least, &e.poll);
		if (mask < 0)
			ec_bad_expect(text);
		e.mask = (uint32_t)mask;
		i += 2;
		if (i < n && strncmp(w[i], "data=", 5) == 0) {
			e.has_data = 1;
			e.data = strtoull(w[i] + 5, NULL, 0);
			i++;
		}
		if (i < n && strcmp(w[i], ",") != 0)
			ec_bad_expect(text);
		i += i < n;
		a->ev = ec_grow(a->ev, (size_t)(a->nev + 1) * sizeof *a->ev);
		a->ev[a->nev++] = e;
	}
}

static void ec_parse_pattern(struct ec_alt *a, char **w, int n, const char *text)
{
	char *end;
	if (n == 0)
		ec_bad_expect(text);
	if (n == 1 && (strcmp(w[0], "ok") == 0 || strcmp(w[0], "any") == 0 || strcmp(w[0], "none") == 0)) {
		a->kind = w[0][0] == 'o' ? EC_P_OK : w[0][0] == 'a' ? EC_P_ANY : EC_P_NONE;
		return;
	}
	if (n == 1 && ec_errno_value(w[0]) >= 0) {
		a->kind = EC_P_ERRNO;
		a->n = ec_errno_value(w[0]);
		return;
	}
	long long v = strtoll(w[0], &end, 10);
	if (end != w[0] && !*end) {
		if (n == 1) {
			a->kind = EC_P_INT;
		} else if (n == 2 && (strcmp(w[1], "events") == 0 || strcmp(w[1], "event") == 0)) {
			a->kind = EC_P_COUNT;
		} else {
			ec_bad_expect(text);
		}
		a->n = v;
		return;
	}
	if (strchr(w[0], '=')) {
		a->kind = EC_P_FIELDS;
		a->fkey = ec_alloc((size_t)n * sizeof *a->fkey);
		a->fval = ec_alloc((size_t)n * sizeof *a->fval);
		for (int i = 0; i < n; i++) {
			char *eq = strchr(w[i], '=');
			if (!eq)
				ec_bad_expect(text);
			*eq = 0;
			a->fkey[i] = w[i];
			a->fval[i] = strtoll(eq + 1, NULL, 0);
		}
		a->nfields = n;
		return;
	}
	ec_parse_events(a, w, n, text);
}

static void ec_parse_alt(struct ec_alt *a, char **w, int n, const char *text)
{
	int end = 0;
	while (end < n && strcmp(w[end], "if") != 0 && w[end][0] != '@')
		end++;
	ec_parse_pattern(a, w, end, text);
	for (int i = end; i < n;) {
		if (w[i][0] == '@') {
			a->labels = ec_grow(a->labels, (size_t)(a->nlabels + 1) * sizeof *a->labels);
			a->labels[a->nlabels++] = w[i] + 1;
			i++;
			continue;
		}
		struct ec_buf g = { 0 };
		for (i++; i < n && w[i][0] != '@'; i++)
			ec_put(&g, w[i]);
		for (char *p = ec_take(&g); p;) {
			char *amp = strstr(p, "&&");
			if (amp)
				*amp = 0;
			a->guard = ec_grow(a->guard, (size_t)(a->nguard + 1) * sizeof *a->guard);
			a->guard[a->nguard++] = p;
			p = amp ? amp + 2 : NULL;
		}
	}
}

static struct ec_expect *ec_parse_expect(const char *text)
{
	int n;
	char **w = ec_words(text, &n);
	struct ec_expect *e = ec_alloc(sizeof *e);
	for (int start = 0, i = 0; i <= n; i++) {
		if (i < n && strcmp(w[i], "or") != 0)
			continue;
		e->alts = ec_grow(e->alts, (size_t)(e->nalts + 1) * sizeof *e->alts);
		memset(&e->alts[e->nalts], 0, sizeof e->alts[0]);
		ec_parse_alt(&e->alts[e->nalts++], w + start, i - start, text);
		start = i + 1;
	}
	return e;
}

static int ec_alt_applies(const struct ec_alt *a)
{
	for (int i = 0; i < a->nguard; i++)
		if (!ec_guard_holds(a->guard[i]))
			return 0;
	return 1;
}

/* Resolves an fd named in a pattern without failing the case: a name that
 * does not exist matches nothing. */
static int ec_lookup(struct ec_ctx *cx, const char *ref, int *fd)
{
	char name[256];
	if (ec_is_raw(ref)) {
		*fd = (int)strtoll(ref, NULL, 10);
		return 1;
	}
	ec_resolve(cx, ref, name, sizeof name);
	if (ec_alias(cx, name, fd))
		return 1;
	ec_lock();
	struct ec_entry *e = ec_find_name(name, 0);
	if (e)
		*fd = e->fd;
	ec_unlock();
	return e != NULL;
}

static int ec_mask_ok(const struct ec_evpat *p, uint32_t mask)
{
	return p->at_least ? (mask & p->mask) == p->mask : mask == p->mask;
}

/* Whether pattern entry p fits outcome entry i. */
static int ec_fits(struct ec_ctx *cx, const struct ec_outcome *o, const struct ec_evpat *p, int i)
{
	int fd = -1;
	if (!ec_lookup(cx, p->fd, &fd) || !ec_mask_ok(p, o->ev[i].mask))
		return 0;
	if (o->kind == EC_READY)
		return (uint64_t)(int64_t)fd == o->ev[i].data;
	uint64_t want = (uint64_t)(int64_t)fd;
	if (p->has_data) {
		want = p->data;
	} else {
		ec_lock();
		for (size_t r = 0; r < G.nregs; r++)
			if (G.regs[r].ep == o->ep && G.regs[r].fd == fd)
				want = G.regs[r].data;
		ec_unlock();
	}
	return want == o->ev[i].data;
}

/* A one-to-one assignment of outcome entries to patterns (backtracking). */
static int ec_assign(struct ec_ctx *cx, const struct ec_outcome *o, const struct ec_alt *a, int k, char *used)
{
	if (k == a->nev)
		return 1;
	for (int i = 0; i < o->n; i++) {
		if (used[i] || !ec_fits(cx, o, &a->ev[k], i))
			continue;
		used[i] = 1;
		if (ec_assign(cx, o, a, k + 1, used))
			return 1;
		used[i] = 0;
	}
	return 0;
}

static int ec_matches(struct ec_ctx *cx, const struct ec_alt *a, const struct ec_outcome *o)
{
	int waits = o->kind == EC_EVENTS || o->kind == EC_READY;
	switch (a->kind) {
	case EC_P_ANY:
		return 1;
	case EC_P_OK:
		return o->kind != EC_ERRNO;
	case EC_P_ERRNO:
		return o->kind == EC_ERRNO && o->ret == a->n;
	case EC_P_NONE:
		return waits && o->ret == 0;
	case EC_P_INT:
		return o->kind != EC_ERRNO && o->kind != EC_FIELDS && ec_outcome_value(o) == a->n;
	case EC_P_COUNT:
		return waits && o->ret == a->n;
	case EC_P_EVENTS: {
		if (!waits || o->ret != a->nev || o->n != a->nev)
			return 0;
		char used[o->n + 1];
		memset(used, 0, sizeof used);
		return ec_assign(cx, o, a, 0, used);
	}
	case EC_P_FIELDS:
		if (o->kind != EC_FIELDS)
			return 0;
		for (int i = 0; i < a->nfields; i++) {
			int found = 0;
			for (int j = 0; j < o->nfields; j++)
				found |= strcmp(o->fkey[j], a->fkey[i]) == 0 && o->fval[j] == a->fval[i];
			if (!found)
				return 0;
		}
		return 1;
	}
	return 0;
}

/* How the case wrote an alternative, flags spelt out in full. */
static void ec_put_pattern(struct ec_buf *b, const struct ec_alt *a)
{
	switch (a->kind) {
	case EC_P_OK:
		ec_put(b, "success");
		break;
	case EC_P_ANY:
		ec_put(b, "anything");
		break;
	case EC_P_NONE:
		ec_put(b, "none");
		break;
	case EC_P_ERRNO: {
		char *n = ec_errno_name((int)a->n);
		ec_put(b, n);
		free(n);
		break;
	}
	case EC_P_INT:
		ec_putf(b, "%lld", a->n);
		break;
	case EC_P_COUNT:
		ec_putf(b, "%lld %s", a->n, a->n == 1 ? "event" : "events");
		break;
	case EC_P_EVENTS:
		for (int i = 0; i < a->nev; i++) {
			ec_putf(b, "%s%s %s", i ? ", " : "", a->ev[i].fd, a->ev[i].at_least ? "at least " : "");
			ec_put_mask(b, a->ev[i].poll, a->ev[i].mask);
			if (a->ev[i].has_data)
				ec_putf(b, " data=%llu", (unsigned long long)a->ev[i].data);
		}
		break;
	case EC_P_FIELDS:
		for (int i = 0; i < a->nfields; i++) {
			ec_put(b, i ? " " : "");
			ec_put_field(b, a->fkey[i], a->fval[i]);
		}
		break;
	}
}

static void ec_count(const char *name, long long delta);

/* Compares the outcome with the expectation (parsed once per call site);
 * counts the matched alternative's labels. Nonzero when the step failed. */
static int ec_judge(struct ec_ctx *cx, const struct ec_outcome *o, struct ec_expect *_Atomic *cache, const char *text)
{
	struct ec_expect *e = atomic_load(cache);
	if (!e) {
		struct ec_expect *fresh = ec_parse_expect(text), *none = NULL;
		e = atomic_compare_exchange_strong(cache, &none, fresh) ? fresh : none;
	}
	int active[e->nalts + 1], nactive = 0;
	for (int i = 0; i < e->nalts; i++)
		if (ec_alt_applies(&e->alts[i]))
			active[nactive++] = i;
	for (int k = 0; k < nactive; k++) {
		const struct ec_alt *a = &e->alts[active[k]];
		if (ec_matches(cx, a, o)) {
			for (int l = 0; l < a->nlabels; l++)
				ec_count(a->labels[l], 1);
			return 0;
		}
	}
	struct ec_buf want = { 0 };
	for (int k = 0; k < nactive; k++) {
		ec_put(&want, k ? " or " : "");
		ec_put_pattern(&want, &e->alts[active[k]]);
	}
	if (nactive == 0)
		ec_put(&want, "(no alternative applies to this kernel)");
	else if (nactive < e->nalts)
		ec_put(&want, " (the alternatives for this kernel)");
	char *got = ec_render(o), *w = ec_take(&want);
	ec_fail(cx, EC_FAIL, w, got, NULL);
	free(got);
	free(w);
	return 1;
}

/* A step without `=>` must succeed: a failed call under test is a FAIL,
 * a failed fixture an ERROR. */
static int ec_judge_success(struct ec_ctx *cx, const struct ec_outcome *o, int kind)
{
	if (o->kind != EC_ERRNO)
		return 0;
	char *got = ec_render(o);
	ec_fail(cx, kind, "success", got, NULL);
	free(got);
	return 1;
}

/* `-> counter`: adds the step's numeric result. */
static void ec_capture(struct ec_ctx *cx, const struct ec_outcome *o, const char *name)
{
	(void)cx;
	ec_count(name, ec_outcome_value(o));
}

/* `as NAME`: NAME is, in this thread, the fd whose registration carries
 * the first event's data. */
static void ec_bind_first(struct ec_ctx *cx, const struct ec_outcome *o, const char *name)
{
	int fd = -1;
	if (o->kind != EC_EVENTS || o->n == 0)
		return;
	ec_lock();
	if (!ec_owner(o->ep, o->ev[0].data, &fd))
		fd = (int)o->ev[0].data;
	ec_unlock();
	for (int i = 0; i < cx->naliases; i++)
		if (strcmp(cx->aliases[i].name, name) == 0) {
			cx->aliases[i].fd = fd;
			return;
		}
	cx->aliases = ec_grow(cx->aliases, (size_t)(cx->naliases + 1) * sizeof *cx->aliases);
	cx->aliases[cx->naliases].name = ec_strdup(name);
	cx->aliases[cx->naliases++].fd = fd;
}

/* ------------------------------------------------------------------ */
/* Counters, claims, notes                                            */
/* ------------------------------------------------------------------ */

static void ec_count(const char *name, long long delta)
{
	ec_lock();
	size_t i = 0;
	while (i < G.ncounters && strcmp(G.counters[i].name, name) != 0)
		i++;
	if (i == G.ncounters) {
		G.counters = ec_grow(G.counters, (G.ncounters + 1) * sizeof *G.counters);
		G.counters[i].name = ec_strdup(name);
		G.counters[i].value = 0;
		G.ncounters++;
	}
	G.counters[i].value += delta;
	ec_unlock();
}

static long long ec_counter(struct ec_ctx *cx, const char *name)
{
	long long v = 0;
	(void)cx;
	ec_lock();
	for (size_t i = 0; i < G.ncounters; i++)
		if (strcmp(G.counters[i].name, name) == 0)
			v = G.counters[i].value;
	ec_unlock();
	return v;
}

static void ec_note(char *line)
{
	ec_lock();
	G.notes = ec_grow(G.notes, (G.nnotes + 1) * sizeof *G.notes);
	G.notes[G.nnotes++] = line;
	ec_unlock();
}

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

/* ------------------------------------------------------------------ */
/* poll and select, for comparison                                    */
/* ------------------------------------------------------------------ */

/* poll: the outcome lists the fds with revents. */
static struct ec_outcome ec_poll(struct ec_ctx *cx, const char *const *refs, const short *events, int n, int timeout)
{
	struct pollfd pfds[n + 1];
	for (int i = 0; i < n; i++) {
		EC_FD_OR_STOP(cx, refs[i], pfds[i].fd);
		pfds[i].events = events[i];
		pfds[i].revents = 0;
	}
	ec_enter(cx, SYS_poll);
	/* The raw call, as the interpreter makes it. */
	long r = syscall(SYS_poll, pfds, (unsigned long)n, timeout);
	int e = errno;
	ec_left(cx);
	if (r == -1)
		return ec_errno_outcome(cx, e);
	ec_done(cx);
	struct ec_outcome o = { .kind = EC_READY, .ret = r };
	o.ev = ec_events_room(cx, (size_t)n);
	for (int i = 0; i < n; i++)
		if (pfds[i].revents)
			o.ev[o.n++] = (struct ec_event){ (uint16_t)pfds[i].revents, (uint64_t)(int64_t)pfds[i].fd };
	return o;
}

/* select: readable shows as IN, writable as OUT, exceptional as PRI; the
 * outcome counts ready fds, as poll does. timeout_ms < 0 is NULL. */
static struct ec_outcome ec_select(struct ec_ctx *cx, const char *const *r, int nr, const char *const *w, int nw, const char *const *x, int nx, long long timeout_ms)
{
	int all[nr + nw + nx + 1], n = 0, maxfd = -1;
	fd_set sets[3];
	const char *const *lists[3] = { r, w, x };
	int counts[3] = { nr, nw, nx };
	for (int s = 0; s < 3; s++)
		for (int i = 0; i < counts[s]; i++) {
			EC_FD_OR_STOP(cx, lists[s][i], all[n]);
			n++;
		}
	for (int i = 0; i < n; i++)
		if (all[i] < 0 || all[i] >= FD_SETSIZE)
			return ec_errorf(cx, "select cannot watch fds outside 0..%d (FD_SETSIZE)", FD_SETSIZE);
	for (int s = 0, k = 0; s < 3; s++) {
		FD_ZERO(&sets[s]);
		for (int i = 0; i < counts[s]; i++, k++) {
			FD_SET(all[k], &sets[s]);
			maxfd = all[k] > maxfd ? all[k] : maxfd;
		}
	}
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	ec_enter(cx, SYS_select);
	/* The raw call: glibc's select() is pselect6, which `asleep` would not see. */
	long ret = syscall(SYS_select, maxfd + 1, &sets[0], &sets[1], &sets[2], timeout_ms < 0 ? NULL : &tv);
	int e = errno;
	ec_left(cx);
	if (ret == -1)
		return ec_errno_outcome(cx, e);
	ec_done(cx);
	struct ec_outcome o = { .kind = EC_READY };
	o.ev = ec_events_room(cx, (size_t)n + 1);
	for (int fd = 0; fd <= maxfd; fd++) {
		int listed = 0;
		for (int i = 0; i < n; i++)
			listed |= all[i] == fd;
		uint32_t m = (FD_ISSET(fd, &sets[0]) ? POLLIN : 0) | (FD_ISSET(fd, &sets[1]) ? POLLOUT : 0) | (FD_ISSET(fd, &sets[2]) ? POLLPRI : 0);
		if (listed && m)
			o.ev[o.n++] = (struct ec_event){ m, (uint64_t)fd };
	}
	o.ret = o.n;
	return o;
}

/* ------------------------------------------------------------------ */
/* Signals                                                            */
/* ------------------------------------------------------------------ */

static void ec_counting_handler(int sig)
{
	if (sig > 0 && sig <= 64)
		atomic_fetch_add_explicit(&G.handled[sig], 1, memory_order_relaxed);
}

/* `handler` counts its runs without SA_RESTART; `restart` with it. */
static long ec_set_disposition(int sig, int disp)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = disp == EC_SIG_IGNORE ? SIG_IGN : disp == EC_SIG_DEFAULT ? SIG_DFL : ec_counting_handler;
	sa.sa_flags = disp == EC_SIG_RESTART ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static struct ec_outcome ec_sigaction(struct ec_ctx *cx, int sig, int disp)
{
	return ec_ret(cx, ec_set_disposition(sig, disp));
}

/* This thread's mask, with the kernel's 64-bit sigset. */
static struct ec_outcome ec_sigmask(struct ec_ctx *cx, int how, uint64_t set)
{
	uint64_t old;
	return ec_ret(cx, syscall(SYS_rt_sigprocmask, how, &set, &old, 8));
}

static struct ec_outcome ec_handled(struct ec_ctx *cx, int sig)
{
	return ec_value(cx, atomic_load(&G.handled[sig]));
}

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

/* ------------------------------------------------------------------ */
/* Counters, checks and statistics                                    */
/* ------------------------------------------------------------------ */

static struct ec_outcome ec_reset(struct ec_ctx *cx, const char *const *names)
{
	for (; *names; names++) {
		ec_count(*names, 0);
		ec_lock();
		for (size_t i = 0; i < G.ncounters; i++)
			if (strcmp(G.counters[i].name, *names) == 0)
				G.counters[i].value = 0;
		ec_unlock();
	}
	return ec_value(cx, 0);
}

/* `check a+b OP N`: holds is the comparison, made by the caller; the
 * counters in it are named for the failure message. */
static struct ec_outcome ec_check(struct ec_ctx *cx, int holds, const char *text, const char *const *names)
{
	if (holds)
		return ec_value(cx, 1);
	struct ec_buf b = { 0 };
	for (int i = 0; names[i]; i++)
		ec_putf(&b, "%s%s = %lld", i ? ", " : "", names[i], ec_counter(cx, names[i]));
	char *got = ec_take(&b);
	struct ec_outcome o = ec_fail(cx, EC_FAIL, text, got, NULL);
	free(got);
	return o;
}

/* The acceptance band of a uniformity check: with N counts over K cells,
 * each cell within t = sqrt(N/2 · ln(2K/α)) of N/K (Hoeffding per cell,
 * union bound over cells); and the chi-square statistic, for the record. */
static void ec_band(const long long *counts, int k, double alpha, double *lo, double *hi, double *chi2)
{
	long long total = 0;
	for (int i = 0; i < k; i++)
		total += counts[i];
	double kk = k > 0 ? k : 1, n = (double)total, mean = n / kk;
	double t = ec_sqrt(n / 2.0 * ec_ln(2.0 * kk / alpha));
	*lo = mean - t;
	*hi = mean + t;
	*chi2 = 0;
	if (mean > 0)
		for (int i = 0; i < k; i++)
			*chi2 += ((double)counts[i] - mean) * ((double)counts[i] - mean) / mean;
}

/* `check C1 C2... uniform alpha=P`: fails when a count leaves the band. */
static struct ec_outcome ec_uniform(struct ec_ctx *cx, const char *const *names, double alpha, const char *alpha_text)
{
	long long counts[64], total = 0;
	int k = 0;
	double lo, hi, chi2;
	struct ec_buf shown = { 0 };
	for (; names[k] && k < 64; k++) {
		counts[k] = ec_counter(cx, names[k]);
		total += counts[k];
		ec_putf(&shown, "%s%s=%lld", k ? " " : "", names[k], counts[k]);
	}
	ec_band(counts, k, alpha, &lo, &hi, &chi2);
	char *s = ec_take(&shown);
	int dof = k > 0 ? k - 1 : 0, ok = total > 0;
	ec_note(ec_fmt("%s within [%.1f, %.1f] (Hoeffding band, false-alarm rate %s); chi-square %.2f with %d d.o.f.", s, lo, hi, alpha_text, chi2, dof));
	for (int i = 0; i < k; i++)
		ok &= (double)counts[i] >= lo && (double)counts[i] <= hi;
	if (ok) {
		free(s);
		return ec_value(cx, 1);
	}
	char *want = ec_fmt("every count within [%.1f, %.1f] of %lld total (uniform, false-alarm rate %s)", lo, hi, total, alpha_text);
	char *detail = ec_fmt("chi-square %.2f with %d d.o.f.", chi2, dof);
	struct ec_outcome o = ec_fail(cx, EC_FAIL, want, s, detail);
	free(want);
	free(detail);
	free(s);
	return o;
}

static struct ec_outcome ec_report(struct ec_ctx *cx, const char *const *names)
{
	struct ec_buf b = { 0 };
	for (int i = 0; names[i]; i++)
		ec_putf(&b, "%s%s=%lld", i ? " " : "", names[i], ec_counter(cx, names[i]));
	ec_note(ec_take(&b));
	return ec_value(cx, 0);
}

/* ------------------------------------------------------------------ */
/* repeat                                                             */
/* ------------------------------------------------------------------ */

struct ec_loop {
	unsigned long long i;
	long long total;     /* -1: a time budget */
	long long cap;       /* -1: none */
	long long budget_ns; /* -1: none */
	long long start;
	const char *var;
	int stop;
	int line; /* the repeat's, where a failure after the loop points */
};

/* `repeat N [as VAR]` */
static struct ec_loop ec_times(struct ec_ctx *cx, unsigned long long n, const char *var)
{
	return (struct ec_loop){ .total = (long long)n, .cap = (long long)n, .budget_ns = -1, .start = ec_now(), .var = var, .line = cx->line };
}

/* `repeat for DURATION [max N] [as VAR]` */
static struct ec_loop ec_for(struct ec_ctx *cx, long long budget_ns, long long max, const char *var)
{
	return (struct ec_loop){ .total = -1, .cap = max, .budget_ns = budget_ns, .start = ec_now(), .var = var, .line = cx->line };
}

/* Starts the next iteration, if the count, budget and `until` allow one. */
static int ec_next(struct ec_ctx *cx, struct ec_loop *l)
{
	if (l->stop || (l->cap >= 0 && l->i >= (unsigned long long)l->cap))
		return 0;
	if (l->budget_ns >= 0 && ec_now() - l->start >= l->budget_ns)
		return 0;
	if (cx->nvars >= EC_MAX_NEST || cx->niters >= EC_MAX_NEST) {
		ec_error(cx, "repeat blocks nest too deep");
		return 0;
	}
	if (l->var) {
		cx->vars[cx->nvars].name = l->var;
		cx->vars[cx->nvars++].value = l->i;
	}
	cx->iters[cx->niters].i = l->i;
	cx->iters[cx->niters++].total = l->total;
	return 1;
}

/* Ends an iteration; `until` (evaluated after the body) stops the loop. */
static void ec_again(struct ec_ctx *cx, struct ec_loop *l, int until)
{
	cx->niters--;
	if (l->var)
		cx->nvars--;
	cx->line = l->line;
	if (until)
		l->stop = 1;
	else
		l->i++;
}

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
