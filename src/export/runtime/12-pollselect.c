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

