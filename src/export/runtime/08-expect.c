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

