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

