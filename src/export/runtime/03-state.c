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

