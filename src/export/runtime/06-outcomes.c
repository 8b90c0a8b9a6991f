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

