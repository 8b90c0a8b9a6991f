/* ------------------------------------------------------------------ */
/* Counters, claims, notes                                            */
/* ------------------------------------------------------------------ */

static void ec_count(const char *name, long long delta)
{
	ec_lock();
	size_t i = 0;
	while (i < G.ncounters && strcmp(G.counters[i].name, name) != 0)
		i++;
	if (i == G.ncounters) {
		G.counters = ec_grow(G.counters, (G.ncounters + 1) * sizeof *G.counters);
		G.counters[i].name = ec_strdup(name);
		G.counters[i].value = 0;
		G.ncounters++;
	}
	G.counters[i].value += delta;
	ec_unlock();
}

static long long ec_counter(struct ec_ctx *cx, const char *name)
{
	long long v = 0;
	(void)cx;
	ec_lock();
	for (size_t i = 0; i < G.ncounters; i++)
		if (strcmp(G.counters[i].name, name) == 0)
			v = G.counters[i].value;
	ec_unlock();
	return v;
}

static void ec_note(char *line)
{
	ec_lock();
	G.notes = ec_grow(G.notes, (G.nnotes + 1) * sizeof *G.notes);
	G.notes[G.nnotes++] = line;
	ec_unlock();
}

