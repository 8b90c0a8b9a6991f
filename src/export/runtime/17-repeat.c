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

