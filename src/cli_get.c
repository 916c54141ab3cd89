/* cli_get.c - s3status get and summary: current states from summary.json or
 * computed from the history keys, the history itself, and summary rebuilds
 * written with a conditional PUT. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "status_query.h"

#define REBUILD_ATTEMPTS 5

/* ---- shared output --------------------------------------------------------- */

static void human_state(const char *label, const struct summary_state *st)
{
	char iso[TIME_ISO_LEN];

	if (!st || !st->status) {
		printf("%-11s(no event yet)\n", label);
		return;
	}
	time_fmt_iso(st->event_time_ms, iso);
	printf("%-11s%s at %s (message %s)\n", label, st->status, iso,
	       st->message_id ? st->message_id : "?");
}

static void human_counts(const struct summary *s)
{
	struct summary_count *v;
	size_t i, n = summary_counts(s, &v);

	printf("%-11s%zu:", "tasks:", s->ntasks);
	for (i = 0; i < n; i++)
		printf("%s %s %zu", i ? "," : "", v[i].status, v[i].n);
	printf("%s\n", s->overflow ? " (overflow: some tasks are not tracked)" : "");
	free(v);
}

static void json_state(struct buf *o, const struct summary_state *st)
{
	char iso[TIME_ISO_LEN];

	buf_adds(o, "\"status\":");
	cli_json_str(o, st ? st->status : NULL);
	buf_adds(o, ",\"event_time\":");
	if (st && st->status) {
		time_fmt_iso(st->event_time_ms, iso);
		cli_json_str(o, iso);
	} else {
		buf_adds(o, "null");
	}
	buf_adds(o, ",\"message_id\":");
	cli_json_str(o, st && st->status ? st->message_id : NULL);
}

static void json_counts(struct buf *o, const struct summary *s)
{
	struct summary_count *v;
	size_t i, n = summary_counts(s, &v);

	buf_addf(o, ",\"task_count\":%zu,\"counts\":{", s->ntasks);
	for (i = 0; i < n; i++) {
		if (i)
			buf_addc(o, ',');
		cli_json_str(o, v[i].status);
		buf_addf(o, ":%zu", v[i].n);
	}
	buf_addc(o, '}');
	free(v);
}

static void print_history(struct buf *o, bool json, const struct history_event *v, size_t n)
{
	char iso[TIME_ISO_LEN];
	size_t i;

	if (json)
		buf_adds(o, ",\"history\":[");
	else
		printf("history:   %zu event%s\n", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		time_fmt_iso(v[i].event_time_ms, iso);
		if (!json) {
			printf("  %s  %-10s %s\n", iso, v[i].status, v[i].key);
			continue;
		}
		buf_adds(o, i ? ",{\"event_time\":" : "{\"event_time\":");
		cli_json_str(o, iso);
		buf_adds(o, ",\"status\":");
		cli_json_str(o, v[i].status);
		buf_adds(o, ",\"task_id\":");
		cli_json_str(o, v[i].task_id);
		buf_adds(o, ",\"message_id\":");
		cli_json_str(o, v[i].message_id);
		buf_adds(o, ",\"key\":");
		cli_json_str(o, v[i].key);
		buf_addc(o, '}');
	}
	if (json)
		buf_addc(o, ']');
}

/* ---- get ------------------------------------------------------------------- */

struct get_ctx {
	const char *batch, *task;
	bool json, want_history;
	struct summary sum;
	bool from_summary;
	struct history_event *ev;
	size_t nev;
	bool done;
	char *error;
};

static void on_answer(struct status_answer *a, void *arg)
{
	struct get_ctx *g = arg;

	g->done = true;
	if (!a->ok) {
		g->error = xstrdup(a->error);
		return;
	}
	if (a->warning)
		fprintf(stderr, "s3status: warning: %s\n", a->warning);
	g->sum = *a->summary; /* moved out, see status_query.h */
	memset(a->summary, 0, sizeof(*a->summary));
	g->from_summary = a->from_summary;
}

/* The current states: summary.json when it has what is asked, else the history. */
static int get_current(struct app *a, struct get_ctx *g, struct buf *err)
{
	const struct status_query_params p = {.s3 = a->s3, .bucket = a->cfg.bucket,
					      .prefix = a->cfg.prefix, .batch_id = g->batch,
					      .task_id = g->task};

	if (!status_query_start(&p, on_answer, g)) {
		buf_adds(err, "the batch or task id is too long for a key");
		return -1;
	}
	app_wait(a, &g->done);
	if (g->error) {
		buf_adds(err, g->error);
		return -1;
	}
	return 0;
}

/* The events to list: the task's, or the batch's own (not its tasks'). */
static int get_history(struct app *a, struct get_ctx *g, struct buf *err)
{
	if (cli_history_load(a, g->batch, g->task, g->task ? HISTORY_TASK : HISTORY_BATCH, &g->ev,
			     &g->nev, err) < 0)
		return -1;
	history_sort(g->ev, g->nev);
	return 0;
}

static void get_print(const struct get_ctx *g)
{
	const struct summary_task *t = g->task ? summary_find(&g->sum, g->task) : NULL;
	const struct summary_state *st = g->task ? &t->st : &g->sum.batch;
	char iso[TIME_ISO_LEN];
	struct buf o;

	buf_init(&o, 0);
	time_fmt_iso(g->sum.updated_at_ms, iso);
	if (!g->json) {
		printf("%-11s%s\n", "batch:", g->batch);
		if (g->task)
			printf("%-11s%s\n", "task:", g->task);
		human_state("status:", st);
		if (!g->task)
			human_counts(&g->sum);
		if (g->from_summary)
			printf("%-11ssummary.json (updated %s)\n", "source:", iso);
		else
			printf("%-11shistory\n", "source:");
		if (g->want_history)
			print_history(&o, false, g->ev, g->nev);
		goto out;
	}
	buf_adds(&o, "{\"batch_id\":");
	cli_json_str(&o, g->batch);
	buf_adds(&o, ",\"task_id\":");
	cli_json_str(&o, g->task);
	buf_addc(&o, ',');
	json_state(&o, st);
	buf_adds(&o, ",\"source\":");
	cli_json_str(&o, g->from_summary ? "summary" : "history");
	if (g->from_summary) {
		buf_adds(&o, ",\"updated_at\":");
		cli_json_str(&o, iso);
	}
	if (!g->task)
		json_counts(&o, &g->sum);
	if (g->want_history)
		print_history(&o, true, g->ev, g->nev);
	buf_adds(&o, "}\n");
	fwrite(o.data, 1, o.len, stdout);
out:
	buf_free(&o);
}

int cli_get(struct app *a, const struct strlist *x)
{
	struct get_ctx g = {
		.batch = config_extra(x, "batch"), .task = config_extra(x, "task"),
		.json = config_extra(x, "json") != NULL,
		.want_history = config_extra(x, "history") != NULL,
	};
	struct buf err;
	int rc = EXIT_CONFIG;

	buf_init(&err, 4096);
	if (!g.batch || !*g.batch || (g.task && !*g.task)) {
		fprintf(stderr, "s3status: get: --batch B is required (and --task T not empty)\n");
		goto out;
	}
	rc = EXIT_FAILURE_RUNTIME;
	if (get_current(a, &g, &err) < 0 || (g.want_history && get_history(a, &g, &err) < 0)) {
		fprintf(stderr, "s3status: get: %s\n", buf_str(&err));
		goto out;
	}
	if (g.task ? !summary_find(&g.sum, g.task) : !g.sum.batch.status && !g.sum.ntasks) {
		fprintf(stderr, "s3status: get: no status recorded for %s%s%sbatch %s\n",
			g.task ? "task " : "", g.task ? g.task : "", g.task ? " of " : "", g.batch);
		goto out;
	}
	get_print(&g);
	rc = 0;
out:
	summary_clear(&g.sum);
	cli_history_free(g.ev, g.nev);
	free(g.error);
	buf_free(&err);
	return rc;
}

/* ---- summary ---------------------------------------------------------------- */

static void summary_print_human(const struct summary *s)
{
	char iso[TIME_ISO_LEN];
	size_t i;

	time_fmt_iso(s->updated_at_ms, iso);
	printf("%-11s%s\n", "batch:", s->batch_id);
	human_state("status:", &s->batch);
	printf("%-11s%s\n", "updated:", iso);
	human_counts(s);
	for (i = 0; i < s->ntasks; i++) {
		time_fmt_iso(s->tasks[i].st.event_time_ms, iso);
		printf("  %-30s %-10s %s\n", s->tasks[i].task_id, s->tasks[i].st.status, iso);
	}
}

/* One rebuild attempt: 0 written, 1 lost a race (retry), -1 error. */
static int rebuild_once(struct app *a, const char *batch, const char *key, struct summary *s,
			size_t *nobjects, struct buf *body, struct buf *err)
{
	struct history_event *ev = NULL;
	struct summary_event e;
	struct cli_object cur;
	size_t i, nev = 0;
	int rc = -1, r;

	/* The ETag first: a write that lands after it makes our PUT fail. */
	r = cli_s3_get(a, key, SUMMARY_MAX_BYTES, &cur, err);
	if (r < 0 || cli_history_load(a, batch, NULL, HISTORY_ALL, &ev, &nev, err) < 0)
		goto out;
	if (nev == 0) {
		buf_addf(err, "no history objects for batch %s", batch);
		goto out;
	}
	summary_init(s, batch);
	for (i = 0; i < nev; i++) {
		e = history_as_summary_event(&ev[i]);
		summary_merge(s, &e);
	}
	s->updated_at_ms = clock_wall_ms();
	if (summary_serialise(s, body) < 0) {
		buf_adds(err, "the summary would exceed its size limit");
		goto out;
	}
	*nobjects = nev;
	rc = cli_s3_put(a, key, body->data, body->len, r == 0 ? cur.etag : NULL, r == 1, NULL, err);
out:
	cli_history_free(ev, nev);
	cli_object_clear(&cur);
	return rc;
}

static int summary_rebuild(struct app *a, const char *batch, bool json, struct buf *err)
{
	struct summary s = {0};
	struct buf key, body;
	size_t nobjects = 0;
	int i, r = 1;

	buf_init(&key, 0);
	buf_init(&body, SUMMARY_MAX_BYTES);
	if (layout_summary_key(&key, a->cfg.prefix, batch) < 0) {
		buf_adds(err, "the batch id is too long for a key");
		r = -1;
	}
	for (i = 0; i < REBUILD_ATTEMPTS && r == 1; i++) {
		summary_clear(&s);
		r = rebuild_once(a, batch, buf_str(&key), &s, &nobjects, &body, err);
	}
	if (r == 1)
		buf_adds(err, "summary.json kept changing under the rebuild; try again");
	if (r == 0 && json)
		fwrite(body.data, 1, body.len, stdout);
	else if (r == 0) {
		printf("rebuilt s3://%s/%s from %zu history objects\n", a->cfg.bucket,
		       buf_str(&key), nobjects);
		summary_print_human(&s);
	}
	summary_clear(&s);
	buf_free(&key);
	buf_free(&body);
	return r == 0 ? 0 : -1;
}

int cli_summary(struct app *a, const struct strlist *x)
{
	const char *batch = config_extra(x, "batch");
	bool json = config_extra(x, "json") != NULL;
	struct summary s = {0};
	struct buf err, out;
	int rc = EXIT_CONFIG, r;

	buf_init(&err, 4096);
	buf_init(&out, SUMMARY_MAX_BYTES);
	if (!batch || !*batch) {
		buf_adds(&err, "--batch B is required");
		goto out;
	}
	rc = EXIT_FAILURE_RUNTIME;
	if (config_extra(x, "rebuild")) {
		if (summary_rebuild(a, batch, json, &err) == 0)
			rc = 0;
		goto out;
	}
	r = cli_summary_load(a, batch, &s, NULL, &err);
	if (r == 1)
		buf_addf(&err, "no summary.json for batch %s (--rebuild creates it)", batch);
	if (r == 2)
		buf_adds(&err, " (--rebuild replaces it)");
	if (r != 0)
		goto out;
	if (json && summary_serialise(&s, &out) == 0)
		fwrite(out.data, 1, out.len, stdout);
	else if (!json)
		summary_print_human(&s);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "s3status: summary: %s\n", buf_str(&err));
	summary_clear(&s);
	buf_free(&err);
	buf_free(&out);
	return rc;
}
