/* cli_s3.c - the CLI's blocking S3 helpers: one call at a time on the
 * event loop (app_wait), paginated listings, history and summary loading. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "layout.h"

/* Listings larger than this are refused rather than exhausting memory. */
#define CLI_MAX_KEYS 5000000

struct s3_wait {
	bool done, ok, missing, conflict;
	char *error;
	struct cli_object obj;
	struct strlist *keys;
	char *next;
};

static bool is_missing(const struct aws_response *resp)
{
	const char *code = resp->err.code ? resp->err.code : "";

	return strcmp(code, "NoSuchKey") == 0 ||
	       (resp->status == 404 && strcmp(code, "NoSuchBucket") != 0);
}

static void on_s3(struct s3_result *r, void *arg)
{
	struct s3_wait *w = arg;
	const char *code = r->resp->err.code ? r->resp->err.code : "";
	size_t i;

	w->done = true;
	w->ok = r->resp->ok;
	if (!w->ok) {
		w->missing = is_missing(r->resp);
		w->conflict = r->resp->status == 412 || r->resp->status == 409 ||
			      strcmp(code, "PreconditionFailed") == 0 ||
			      strcmp(code, "ConditionalRequestConflict") == 0;
		w->error = aws_error_describe(&r->resp->err);
		return;
	}
	w->obj.etag = r->etag ? xstrdup(r->etag) : NULL;
	if (r->body) {
		w->obj.body = xstrndup(r->body, r->body_len);
		w->obj.len = r->body_len;
	}
	for (i = 0; w->keys && i < r->nkeys; i++)
		strlist_add(w->keys, r->keys[i]);
	w->next = r->next_token ? xstrdup(r->next_token) : NULL;
}

static void wait_clear(struct s3_wait *w)
{
	free(w->error);
	free(w->next);
	cli_object_clear(&w->obj);
	memset(w, 0, sizeof(*w));
}

void cli_object_clear(struct cli_object *o)
{
	free(o->body);
	free(o->etag);
	memset(o, 0, sizeof(*o));
}

int cli_s3_get(struct app *a, const char *key, size_t max, struct cli_object *out,
	       struct buf *err)
{
	struct s3_wait w = {0};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	s3_get_object(a->s3, a->cfg.bucket, key, max, on_s3, &w);
	app_wait(a, &w.done);
	if (w.ok) {
		*out = w.obj;
		memset(&w.obj, 0, sizeof(w.obj));
		rc = 0;
	} else if (w.missing) {
		rc = 1;
	} else {
		buf_addf(err, "GetObject %s: %s", key, w.error);
	}
	wait_clear(&w);
	return rc;
}

int cli_s3_put(struct app *a, const char *key, const char *body, size_t len,
	       const char *if_match, bool if_none_match, char **etag, struct buf *err)
{
	struct s3_put p = {.bucket = a->cfg.bucket, .key = key, .body = body, .len = len,
			   .if_match = if_match, .if_none_match = if_none_match};
	struct s3_wait w = {0};
	int rc = -1;

	s3_put_object(a->s3, &p, on_s3, &w);
	app_wait(a, &w.done);
	if (w.ok) {
		if (etag)
			*etag = w.obj.etag ? xstrdup(w.obj.etag) : NULL;
		rc = 0;
	} else if (w.conflict || ((if_match || if_none_match) && w.missing)) {
		rc = 1;
	} else {
		buf_addf(err, "PutObject %s: %s", key, w.error);
	}
	wait_clear(&w);
	return rc;
}

int cli_s3_list(struct app *a, const char *prefix, struct strlist *keys, struct buf *err)
{
	struct s3_wait w = {0};
	char *token = NULL;
	int rc = -1;

	do {
		wait_clear(&w);
		w.keys = keys;
		s3_list_objects(a->s3, a->cfg.bucket, prefix, token, on_s3, &w);
		app_wait(a, &w.done);
		if (!w.ok) {
			buf_addf(err, "ListObjectsV2 %s: %s", prefix, w.error);
			goto out;
		}
		if (w.next && token && strcmp(w.next, token) == 0) {
			buf_addf(err, "ListObjectsV2 %s: the continuation token does not advance",
				 prefix);
			goto out;
		}
		if (keys->n > CLI_MAX_KEYS) {
			buf_addf(err, "ListObjectsV2 %s: more than %d keys", prefix, CLI_MAX_KEYS);
			goto out;
		}
		free(token);
		token = w.next;
		w.next = NULL;
	} while (token);
	rc = 0;
out:
	free(token);
	wait_clear(&w);
	return rc;
}

void cli_history_free(struct history_event *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		history_event_clear(&v[i]);
	free(v);
}

int cli_history_load(struct app *a, const char *batch_id, const char *task_id,
		     enum history_scope scope, struct history_event **v, size_t *n,
		     struct buf *err)
{
	struct strlist keys = {0};
	struct buf prefix;
	size_t i;
	int rc = -1;

	*v = NULL;
	*n = 0;
	buf_init(&prefix, 0);
	if (history_prefix(&prefix, a->cfg.prefix, batch_id, task_id, scope) < 0) {
		buf_adds(err, "the batch or task id is empty or too long for a key");
		goto out;
	}
	if (cli_s3_list(a, buf_str(&prefix), &keys, err) < 0)
		goto out;
	*v = xcalloc(keys.n ? keys.n : 1, sizeof(**v));
	for (i = 0; i < keys.n; i++)
		if (history_parse_key(a->cfg.prefix, batch_id, keys.v[i], &(*v)[*n]) == 0)
			(*n)++;
	rc = 0;
out:
	strlist_free(&keys);
	buf_free(&prefix);
	return rc;
}

int cli_summary_load(struct app *a, const char *batch_id, struct summary *s, char **etag,
		     struct buf *err)
{
	struct cli_object o;
	struct buf key;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (etag)
		*etag = NULL;
	buf_init(&key, 0);
	if (layout_summary_key(&key, a->cfg.prefix, batch_id) < 0) {
		buf_adds(err, "the batch id is too long for a key");
		goto out;
	}
	rc = cli_s3_get(a, buf_str(&key), SUMMARY_MAX_BYTES, &o, err);
	if (rc != 0)
		goto out;
	if (summary_parse(s, batch_id, o.body ? o.body : "", o.len, err) < 0)
		rc = 2;
	if (etag) {
		*etag = o.etag;
		o.etag = NULL;
	}
	cli_object_clear(&o);
out:
	buf_free(&key);
	return rc;
}

void cli_json_str(struct buf *out, const char *s)
{
	if (s)
		json_write_string(out, s, strlen(s));
	else
		buf_adds(out, "null");
}
