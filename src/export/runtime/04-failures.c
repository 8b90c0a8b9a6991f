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

