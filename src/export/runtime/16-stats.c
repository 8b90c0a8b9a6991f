/* ------------------------------------------------------------------ */
/* Counters, checks and statistics                                    */
/* ------------------------------------------------------------------ */

static struct ec_outcome ec_reset(struct ec_ctx *cx, const char *const *names)
{
	for (; *names; names++) {
		ec_count(*names, 0);
		ec_lock();
		for (size_t i = 0; i < G.ncounters; i++)
			if (strcmp(G.counters[i].name, *names) == 0)
				G.counters[i].value = 0;
		ec_unlock();
	}
	return ec_value(cx, 0);
}

/* `check a+b OP N`: holds is the comparison, made by the caller; the
 * counters in it are named for the failure message. */
static struct ec_outcome ec_check(struct ec_ctx *cx, int holds, const char *text, const char *const *names)
{
	if (holds)
		return ec_value(cx, 1);
	struct ec_buf b = { 0 };
	for (int i = 0; names[i]; i++)
		ec_putf(&b, "%s%s = %lld", i ? ", " : "", names[i], ec_counter(cx, names[i]));
	char *got = ec_take(&b);
	struct ec_outcome o = ec_fail(cx, EC_FAIL, text, got, NULL);
	free(got);
	return o;
}

/* The acceptance band of a uniformity check: with N counts over K cells,
 * each cell within t = sqrt(N/2 · ln(2K/α)) of N/K (Hoeffding per cell,
 * union bound over cells); and the chi-square statistic, for the record. */
static void ec_band(const long long *counts, int k, double alpha, double *lo, double *hi, double *chi2)
{
	long long total = 0;
	for (int i = 0; i < k; i++)
		total += counts[i];
	double kk = k > 0 ? k : 1, n = (double)total, mean = n / kk;
	double t = ec_sqrt(n / 2.0 * ec_ln(2.0 * kk / alpha));
	*lo = mean - t;
	*hi = mean + t;
	*chi2 = 0;
	if (mean > 0)
		for (int i = 0; i < k; i++)
			*chi2 += ((double)counts[i] - mean) * ((double)counts[i] - mean) / mean;
}

/* `check C1 C2... uniform alpha=P`: fails when a count leaves the band. */
static struct ec_outcome ec_uniform(struct ec_ctx *cx, const char *const *names, double alpha, const char *alpha_text)
{
	long long counts[64], total = 0;
	int k = 0;
	double lo, hi, chi2;
	struct ec_buf shown = { 0 };
	for (; names[k] && k < 64; k++) {
		counts[k] = ec_counter(cx, names[k]);
		total += counts[k];
		ec_putf(&shown, "%s%s=%lld", k ? " " : "", names[k], counts[k]);
	}
	ec_band(counts, k, alpha, &lo, &hi, &chi2);
	char *s = ec_take(&shown);
	int dof = k > 0 ? k - 1 : 0, ok = total > 0;
	ec_note(ec_fmt("%s within [%.1f, %.1f] (Hoeffding band, false-alarm rate %s); chi-square %.2f with %d d.o.f.", s, lo, hi, alpha_text, chi2, dof));
	for (int i = 0; i < k; i++)
		ok &= (double)counts[i] >= lo && (double)counts[i] <= hi;
	if (ok) {
		free(s);
		return ec_value(cx, 1);
	}
	char *want = ec_fmt("every count within [%.1f, %.1f] of %lld total (uniform, false-alarm rate %s)", lo, hi, total, alpha_text);
	char *detail = ec_fmt("chi-square %.2f with %d d.o.f.", chi2, dof);
	struct ec_outcome o = ec_fail(cx, EC_FAIL, want, s, detail);
	free(want);
	free(detail);
	free(s);
	return o;
}

static struct ec_outcome ec_report(struct ec_ctx *cx, const char *const *names)
{
	struct ec_buf b = { 0 };
	for (int i = 0; names[i]; i++)
		ec_putf(&b, "%s%s=%lld", i ? " " : "", names[i], ec_counter(cx, names[i]));
	ec_note(ec_take(&b));
	return ec_value(cx, 0);
}

