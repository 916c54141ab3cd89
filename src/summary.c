/* summary.c - the summary.json model: the total order of status events, the
 * merge that keeps the maximum per batch and per task, and the strict,
 * bounded parser and one-line serialiser of the object. */
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

static const char *const ranked[] = {"pending", "running", "success", "failed", "completed"};

int summary_status_rank(const char *status)
{
	size_t i;

	for (i = 0; status && i < ARRAY_SIZE(ranked); i++)
		if (strcmp(status, ranked[i]) == 0)
			return (int)i + 1;
	return 0;
}

static int strcmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

int summary_event_cmp(const struct summary_event *a, const struct summary_event *b)
{
	int ra, rb, c;

	if (!a->status || !b->status)
		return (a->status != NULL) - (b->status != NULL);
	if (a->event_time_ms != b->event_time_ms)
		return a->event_time_ms < b->event_time_ms ? -1 : 1;
	ra = summary_status_rank(a->status);
	rb = summary_status_rank(b->status);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if ((c = strcmp(a->status, b->status)) != 0)
		return c;
	return strcmp_null(a->message_id, b->message_id);
}

void summary_init(struct summary *s, const char *batch_id)
{
	memset(s, 0, sizeof(*s));
	s->batch_id = xstrdup(batch_id);
}

static void state_clear(struct summary_state *st)
{
	free(st->status);
	free(st->message_id);
	memset(st, 0, sizeof(*st));
}

void summary_clear(struct summary *s)
{
	size_t i;

	for (i = 0; i < s->ntasks; i++) {
		free(s->tasks[i].task_id);
		state_clear(&s->tasks[i].st);
	}
	free(s->tasks);
	free(s->batch_id);
	state_clear(&s->batch);
	memset(s, 0, sizeof(*s));
}

/* 1..SUMMARY_MAX_ID bytes of UTF-8 without C0, DEL or C1 controls (the
 * decoder's identifier rule). */
static bool valid_text(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (!s || n == 0 || n > SUMMARY_MAX_ID || !json_utf8_valid(s, n))
		return false;
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7F || (p[i] == 0xC2 && i + 1 < n && p[i + 1] <= 0x9F))
			return false;
	return true;
}

static struct summary_event as_event(const struct summary_state *st)
{
	return (struct summary_event){.status = st->status, .event_time_ms = st->event_time_ms,
				      .message_id = st->message_id};
}

static void state_set(struct summary_state *st, const struct summary_event *e)
{
	state_clear(st);
	st->status = xstrdup(e->status);
	st->event_time_ms = e->event_time_ms;
	st->message_id = e->message_id ? xstrdup(e->message_id) : NULL;
}

/* Worst-case bytes of one task entry: every string fully escaped ('"' and
 * '\\' double; identifiers hold no control characters) plus the fixed text. */
static size_t task_cost(const char *task_id, const char *status, const char *message_id)
{
	return 2 * (strlen(task_id) + strlen(status) + (message_id ? strlen(message_id) : 4)) + 96;
}

/* Index of task_id, or where it would go (*found false). */
static size_t task_search(const struct summary *s, const char *task_id, bool *found)
{
	size_t lo = 0, hi = s->ntasks, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(s->tasks[mid].task_id, task_id);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct summary_task *summary_find(const struct summary *s, const char *task_id)
{
	bool found;
	size_t i = task_search(s, task_id, &found);

	return found ? &s->tasks[i] : NULL;
}

static struct summary_task *task_insert(struct summary *s, size_t at, const char *task_id)
{
	if (s->ntasks == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->tasks = xrealloc(s->tasks, s->cap * sizeof(*s->tasks));
	}
	memmove(&s->tasks[at + 1], &s->tasks[at], (s->ntasks - at) * sizeof(*s->tasks));
	s->ntasks++;
	memset(&s->tasks[at], 0, sizeof(s->tasks[at]));
	s->tasks[at].task_id = xstrdup(task_id);
	return &s->tasks[at];
}

enum summary_merge summary_merge(struct summary *s, const struct summary_event *e)
{
	struct summary_state *st = &s->batch;
	struct summary_event cur;
	bool found;
	size_t at, cost = 0, old = 0;

	if (!e->status || !valid_text(e->status, strlen(e->status)) ||
	    (e->message_id && strlen(e->message_id) > SUMMARY_MAX_ID) ||
	    (e->task_id && !valid_text(e->task_id, strlen(e->task_id))))
		return SUMMARY_INVALID;
	if (e->task_id) {
		cost = task_cost(e->task_id, e->status, e->message_id);
		at = task_search(s, e->task_id, &found);
		if (!found) {
			if (s->ntasks >= SUMMARY_MAX_TASKS || s->task_bytes + cost > SUMMARY_TASK_BUDGET) {
				if (s->overflow)
					return SUMMARY_UNCHANGED;
				s->overflow = true;
				return SUMMARY_OVERFLOWED;
			}
			st = &task_insert(s, at, e->task_id)->st;
		} else {
			st = &s->tasks[at].st;
			old = task_cost(e->task_id, st->status, st->message_id);
		}
	}
	cur = as_event(st);
	if (summary_event_cmp(e, &cur) <= 0)
		return SUMMARY_UNCHANGED;
	state_set(st, e);
	s->task_bytes += cost - old;
	return SUMMARY_CHANGED;
}

size_t summary_count(const struct summary *s, const char *status)
{
	size_t i, n = 0;

	for (i = 0; i < s->ntasks; i++)
		n += strcmp(s->tasks[i].st.status, status) == 0;
	return n;
}

/* ---- serialise ------------------------------------------------------------ */

static int add_str_or_null(struct buf *out, const char *s)
{
	return s ? json_write_string(out, s, strlen(s)) : buf_adds(out, "null");
}

static int add_time(struct buf *out, int64_t ms)
{
	char iso[TIME_ISO_LEN];

	time_fmt_iso(ms, iso);
	return json_write_string(out, iso, strlen(iso));
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t summary_counts(const struct summary *s, struct summary_count **v)
{
	const char **other = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*other));
	size_t i, j, n = ARRAY_SIZE(ranked), nother = 0;
	int r;

	*v = xcalloc(ARRAY_SIZE(ranked) + s->ntasks, sizeof(**v));
	for (i = 0; i < ARRAY_SIZE(ranked); i++)
		(*v)[i].status = ranked[i];
	for (i = 0; i < s->ntasks; i++) {
		r = summary_status_rank(s->tasks[i].st.status);
		if (r)
			(*v)[r - 1].n++;
		else
			other[nother++] = s->tasks[i].st.status;
	}
	qsort(other, nother, sizeof(*other), cmp_str_ptr);
	for (i = 0; i < nother; i = j) {
		for (j = i; j < nother && strcmp(other[j], other[i]) == 0; j++)
			;
		(*v)[n++] = (struct summary_count){.status = other[i], .n = j - i};
	}
	free(other);
	return n;
}

/* "counts":{...} */
static int add_counts(struct buf *out, const struct summary *s)
{
	struct summary_count *v;
	size_t i, n = summary_counts(s, &v);
	int rc = buf_adds(out, ",\"counts\":{");

	for (i = 0; i < n; i++) {
		if (i)
			rc |= buf_addc(out, ',');
		rc |= json_write_string(out, v[i].status, strlen(v[i].status));
		rc |= buf_addf(out, ":%zu", v[i].n);
	}
	rc |= buf_addc(out, '}');
	free(v);
	return rc ? -1 : 0;
}

static int add_task(struct buf *out, const struct summary_task *t, bool first)
{
	int rc = 0;

	if (!first)
		rc |= buf_addc(out, ',');
	rc |= json_write_string(out, t->task_id, strlen(t->task_id));
	rc |= buf_adds(out, ":{\"status\":");
	rc |= add_str_or_null(out, t->st.status);
	rc |= buf_adds(out, ",\"event_time\":");
	rc |= add_time(out, t->st.event_time_ms);
	rc |= buf_adds(out, ",\"message_id\":");
	rc |= add_str_or_null(out, t->st.message_id);
	rc |= buf_addc(out, '}');
	return rc ? -1 : 0;
}

int summary_serialise(const struct summary *s, struct buf *out)
{
	size_t i;
	int rc = 0;

	buf_reset(out);
	rc |= buf_addf(out, "{\"version\":%d,\"batch_id\":", SUMMARY_VERSION);
	rc |= add_str_or_null(out, s->batch_id);
	rc |= buf_adds(out, ",\"status\":");
	rc |= add_str_or_null(out, s->batch.status);
	rc |= buf_adds(out, ",\"event_time\":");
	rc |= s->batch.status ? add_time(out, s->batch.event_time_ms) : buf_adds(out, "null");
	rc |= buf_adds(out, ",\"message_id\":");
	rc |= add_str_or_null(out, s->batch.status ? s->batch.message_id : NULL);
	rc |= buf_adds(out, ",\"updated_at\":");
	rc |= add_time(out, s->updated_at_ms);
	rc |= buf_addf(out, ",\"task_count\":%zu", s->ntasks);
	rc |= add_counts(out, s);
	rc |= buf_addf(out, ",\"overflow\":%s,\"tasks\":{", s->overflow ? "true" : "false");
	for (i = 0; i < s->ntasks && rc == 0; i++)
		rc |= add_task(out, &s->tasks[i], i == 0);
	rc |= buf_adds(out, "}}\n");
	if (rc) {
		buf_reset(out);
		return -1;
	}
	return 0;
}

/* ---- parse ---------------------------------------------------------------- */

struct parser {
	struct summary *s;
	struct buf *err;
	struct buf tmp; /* one unescaped string */
	bool batch_time; /* event_time was not null */
};

static int perr(struct parser *p, const char *what, const char *detail)
{
	buf_reset(p->err);
	buf_addf(p->err, "summary.json: %s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return -1;
}

/* Unescape a string member into a new string; NULL for JSON null when
 * allow_null. Returns 0/-1. */
static int get_text(struct parser *p, const struct json_member *m, bool allow_null, char **out)
{
	*out = NULL;
	if (m->type == JSON_NULL && allow_null)
		return 0;
	buf_reset(&p->tmp);
	if (m->type != JSON_STRING || json_unescape(&p->tmp, m->value, m->value_len) < 0 ||
	    !valid_text(buf_str(&p->tmp), p->tmp.len))
		return perr(p, "bad value for", m->key);
	*out = xstrndup(buf_str(&p->tmp), p->tmp.len);
	return 0;
}

static int get_time(struct parser *p, const struct json_member *m, int64_t *ms)
{
	char *t = NULL;
	int rc = get_text(p, m, false, &t);

	if (rc == 0 && time_parse_rfc3339(t, strlen(t), ms) < 0)
		rc = perr(p, "not an RFC 3339 time", m->key);
	free(t);
	return rc;
}

/* One member of "tasks": "id":{"status":..,"event_time":..,"message_id":..}. */
static int parse_task(struct parser *p, const struct json_member *tm, const char *task_id)
{
	struct summary_state st = {0};
	struct json_iter it;
	struct json_member m;
	bool have_time = false, found;
	struct summary_task *t;
	size_t at;
	int rc = -1;

	if (json_iter_init(&it, tm->value, tm->value_len) < 0) {
		perr(p, "a task is not an object", NULL);
		goto out;
	}
	while (json_iter_next(&it, &m) == 1) {
		if (strcmp(m.key, "status") == 0 && !st.status) {
			if (get_text(p, &m, false, &st.status) < 0)
				goto out;
		} else if (strcmp(m.key, "event_time") == 0 && !have_time) {
			if (get_time(p, &m, &st.event_time_ms) < 0)
				goto out;
			have_time = true;
		} else if (strcmp(m.key, "message_id") == 0 && !st.message_id) {
			if (get_text(p, &m, true, &st.message_id) < 0)
				goto out;
		}
	}
	if (!st.status || !have_time) {
		perr(p, "a task lacks status or event_time", NULL);
		goto out;
	}
	/* Written in order: appending is the common case. */
	if (p->s->ntasks && strcmp(p->s->tasks[p->s->ntasks - 1].task_id, task_id) < 0) {
		at = p->s->ntasks;
		found = false;
	} else {
		at = task_search(p->s, task_id, &found);
	}
	if (found) {
		perr(p, "duplicate task", NULL);
		goto out;
	}
	t = task_insert(p->s, at, task_id);
	p->s->task_bytes += task_cost(task_id, st.status, st.message_id);
	t->st = st;
	memset(&st, 0, sizeof(st));
	rc = 0;
out:
	state_clear(&st);
	json_iter_free(&it);
	return rc;
}

static int parse_tasks(struct parser *p, const struct json_member *tasks)
{
	struct json_iter it;
	struct json_member m;
	char *id = NULL;
	int rc = -1;

	if (json_iter_init(&it, tasks->value, tasks->value_len) < 0) {
		perr(p, "tasks is not an object", NULL);
		goto out;
	}
	while (json_iter_next(&it, &m) == 1) {
		if (!valid_text(m.key, m.key_len)) {
			perr(p, "bad task id", NULL);
			goto out;
		}
		id = xstrndup(m.key, m.key_len);
		if (parse_task(p, &m, id) < 0)
			goto out;
		free(id);
		id = NULL;
	}
	rc = 0;
out:
	free(id);
	json_iter_free(&it);
	return rc;
}

/* The top-level members; each known one at most once. */
static int parse_member(struct parser *p, const struct json_member *m, unsigned *seen,
			const char *batch_id)
{
	static const char *const known[] = {"version", "batch_id", "status", "event_time",
					    "message_id", "updated_at", "overflow", "tasks"};
	char *v = NULL;
	size_t k;
	int rc = 0;

	for (k = 0; k < ARRAY_SIZE(known) && strcmp(m->key, known[k]) != 0; k++)
		;
	if (k == ARRAY_SIZE(known))
		return 0; /* counts, task_count (derived) and anything newer */
	if (*seen & (1u << k))
		return perr(p, "duplicate member", m->key);
	*seen |= 1u << k;
	switch (k) {
	case 0:
		if (m->value_len != 1 || m->value[0] != '0' + SUMMARY_VERSION)
			rc = perr(p, "unsupported version", NULL);
		break;
	case 1:
		if ((rc = get_text(p, m, false, &v)) == 0 && strcmp(v, batch_id) != 0)
			rc = perr(p, "batch_id does not match the key", NULL);
		break;
	case 2:
		rc = get_text(p, m, true, &p->s->batch.status);
		break;
	case 3:
		p->batch_time = m->type != JSON_NULL;
		if (p->batch_time)
			rc = get_time(p, m, &p->s->batch.event_time_ms);
		break;
	case 4:
		rc = get_text(p, m, true, &p->s->batch.message_id);
		break;
	case 5:
		rc = get_time(p, m, &p->s->updated_at_ms);
		break;
	case 6:
		if (m->type != JSON_BOOL)
			rc = perr(p, "overflow is not a boolean", NULL);
		p->s->overflow = m->value[0] == 't';
		break;
	default:
		rc = parse_tasks(p, m);
		break;
	}
	free(v);
	return rc;
}

int summary_parse(struct summary *s, const char *batch_id, const char *text, size_t n,
		  struct buf *err)
{
	const struct json_limits lim = {.max_depth = 4, .max_members = SUMMARY_MAX_TASKS};
	struct parser p = {.s = s, .err = err};
	struct json_error je;
	struct json_iter it;
	struct json_member m;
	unsigned seen = 0;
	int rc = -1;

	summary_init(s, batch_id);
	buf_init(&p.tmp, SUMMARY_MAX_ID + 1);
	json_iter_init(&it, "", 0);
	if (n > SUMMARY_MAX_BYTES) {
		perr(&p, "larger than the limit", NULL);
		goto out;
	}
	if (json_validate(text, n, &lim, &je) != JSON_OK) {
		perr(&p, "not valid JSON", je.what);
		goto out;
	}
	json_iter_free(&it);
	if (json_iter_init(&it, text, n) < 0) {
		perr(&p, "not a JSON object", NULL);
		goto out;
	}
	while (json_iter_next(&it, &m) == 1)
		if (parse_member(&p, &m, &seen, batch_id) < 0)
			goto out;
	if (!(seen & 1u) || !(seen & 2u)) {
		perr(&p, "version or batch_id missing", NULL);
		goto out;
	}
	if ((s->batch.status != NULL) != p.batch_time) {
		perr(&p, "status and event_time must be both null or both set", NULL);
		goto out;
	}
	if (!s->batch.status && s->batch.message_id) {
		free(s->batch.message_id);
		s->batch.message_id = NULL;
	}
	rc = 0;
out:
	json_iter_free(&it);
	buf_free(&p.tmp);
	if (rc < 0)
		summary_clear(s);
	return rc;
}
