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

