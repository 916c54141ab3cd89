/* status_query.c - current status from S3: GetObject summary.json, and
 * when it is absent, unreadable or lacks the task, a paginated listing of
 * the history keys merged into a summary page by page (no key is kept). */
#include "status_query.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "json.h"
#include "layout.h"

struct status_query {
	struct s3 *s3;
	char *bucket, *prefix, *batch_id, *task_id;
	char *summary_key, *list_prefix;
	status_query_cb cb;
	void *arg;
	struct s3_op *op;
	struct summary sum;
	struct buf warning;
	size_t pages, keys;
};

static void query_free(struct status_query *q)
{
	s3_cancel(q->op);
	summary_clear(&q->sum);
	buf_free(&q->warning);
	free(q->bucket);
	free(q->prefix);
	free(q->batch_id);
	free(q->task_id);
	free(q->summary_key);
	free(q->list_prefix);
	free(q);
}

void status_query_cancel(struct status_query *q)
{
	if (q)
		query_free(q);
}

/* Deliver the answer (error NULL: a result) and free the query. */
static void finish(struct status_query *q, bool from_summary, const char *error)
{
	const struct summary_task *t = q->task_id ? summary_find(&q->sum, q->task_id) : NULL;
	struct status_answer a = {
		.ok = error == NULL,
		.from_summary = from_summary,
		.summary = &q->sum,
		.state = q->task_id ? (t ? &t->st : NULL) : &q->sum.batch,
		.warning = q->warning.len ? buf_str(&q->warning) : NULL,
		.error = error,
		.keys_listed = q->keys,
	};

	a.found = a.ok && (q->task_id ? t != NULL : q->sum.batch.status || q->sum.ntasks);
	q->op = NULL;
	q->cb(&a, q->arg);
	query_free(q);
}

static void fail(struct status_query *q, const char *what, const struct aws_response *resp)
{
	char *d = aws_error_describe(&resp->err);
	char *msg = xasprintf("%s: %s", what, d);

	finish(q, false, msg);
	free(msg);
	free(d);
}

static void on_list(struct s3_result *r, void *arg);

static void list_page(struct status_query *q, const char *token)
{
	q->pages++;
	q->op = s3_list_objects(q->s3, q->bucket, q->list_prefix, token, on_list, q);
}

static void on_list(struct s3_result *r, void *arg)
{
	struct status_query *q = arg;
	struct history_event e;
	struct summary_event se;
	size_t i;

	q->op = NULL;
	if (!r->resp->ok) {
		fail(q, "ListObjectsV2", r->resp);
		return;
	}
	for (i = 0; i < r->nkeys; i++) {
		if (history_parse_key(q->prefix, q->batch_id, r->keys[i], &e) < 0)
			continue;
		q->keys++;
		se = history_as_summary_event(&e);
		summary_merge(&q->sum, &se);
		history_event_clear(&e);
	}
	if (!r->next_token) {
		finish(q, false, NULL);
		return;
	}
	if (q->pages >= STATUS_QUERY_MAX_PAGES) {
		finish(q, false, "the history has too many objects to read");
		return;
	}
	list_page(q, r->next_token);
}

static void on_get(struct s3_result *r, void *arg)
{
	struct status_query *q = arg;
	const char *code = r->resp->err.code ? r->resp->err.code : "";
	struct buf err;

	q->op = NULL;
	buf_init(&err, 512);
	if (r->resp->ok) {
		if (summary_parse(&q->sum, q->batch_id, r->body, r->body_len, &err) == 0 &&
		    (!q->task_id || summary_find(&q->sum, q->task_id))) {
			finish(q, true, NULL);
			goto out;
		}
		if (err.len)
			buf_addf(&q->warning, "%s; using the history", buf_str(&err));
		summary_clear(&q->sum);
	} else if (strcmp(code, "NoSuchKey") != 0 &&
		   (r->resp->status != 404 || strcmp(code, "NoSuchBucket") == 0)) {
		fail(q, "GetObject summary.json", r->resp);
		goto out;
	}
	summary_init(&q->sum, q->batch_id);
	list_page(q, NULL);
out:
	buf_free(&err);
}

struct status_query *status_query_start(const struct status_query_params *p, status_query_cb cb,
					void *arg)
{
	struct status_query *q = xcalloc(1, sizeof(*q));
	struct buf key, pre;

	buf_init(&key, 0);
	buf_init(&pre, 0);
	buf_init(&q->warning, 1024);
	if (layout_summary_key(&key, p->prefix, p->batch_id) < 0 ||
	    history_prefix(&pre, p->prefix, p->batch_id, p->task_id,
			   p->task_id ? HISTORY_TASK : HISTORY_ALL) < 0) {
		buf_free(&key);
		buf_free(&pre);
		query_free(q);
		return NULL;
	}
	q->s3 = p->s3;
	q->bucket = xstrdup(p->bucket);
	q->prefix = p->prefix ? xstrdup(p->prefix) : NULL;
	q->batch_id = xstrdup(p->batch_id);
	q->task_id = p->task_id ? xstrdup(p->task_id) : NULL;
	q->summary_key = buf_steal(&key, NULL);
	q->list_prefix = buf_steal(&pre, NULL);
	q->cb = cb;
	q->arg = arg;
	q->op = s3_get_object(q->s3, q->bucket, q->summary_key, SUMMARY_MAX_BYTES, on_get, q);
	return q;
}

int status_answer_json(struct buf *out, const char *batch_id, const char *task_id,
		       const struct status_answer *a)
{
	const struct summary_state *st = a->found ? a->state : NULL;
	struct summary_count *v = NULL;
	char iso[TIME_ISO_LEN];
	size_t i, n;
	int rc = 0;

	buf_reset(out);
	rc |= buf_adds(out, "{\"batch_id\":");
	rc |= json_write_string(out, batch_id, strlen(batch_id));
	rc |= buf_adds(out, ",\"task_id\":");
	rc |= task_id ? json_write_string(out, task_id, strlen(task_id)) : buf_adds(out, "null");
	rc |= buf_addf(out, ",\"found\":%s,\"status\":", a->found ? "true" : "false");
	rc |= st && st->status ? json_write_string(out, st->status, strlen(st->status))
			       : buf_adds(out, "null");
	rc |= buf_adds(out, ",\"event_time\":");
	if (st && st->status) {
		time_fmt_iso(st->event_time_ms, iso);
		rc |= json_write_string(out, iso, strlen(iso));
	} else {
		rc |= buf_adds(out, "null");
	}
	rc |= buf_adds(out, ",\"message_id\":");
	rc |= st && st->status && st->message_id
		      ? json_write_string(out, st->message_id, strlen(st->message_id))
		      : buf_adds(out, "null");
	rc |= buf_addf(out, ",\"source\":\"%s\"", a->from_summary ? "summary" : "history");
	if (!task_id && a->summary) {
		n = summary_counts(a->summary, &v);
		rc |= buf_addf(out, ",\"task_count\":%zu,\"counts\":{", a->summary->ntasks);
		for (i = 0; i < n; i++) {
			rc |= buf_adds(out, i ? "," : "");
			rc |= json_write_string(out, v[i].status, strlen(v[i].status));
			rc |= buf_addf(out, ":%zu", v[i].n);
		}
		rc |= buf_addc(out, '}');
		free(v);
	}
	rc |= buf_addc(out, '}');
	if (rc) {
		buf_reset(out);
		return -1;
	}
	return 0;
}
