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

