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

