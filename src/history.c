/* history.c - listing prefixes of a batch or task and the inverse of
 * layout_record_key: record keys parsed back into events. */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define SUMMARY_LEAF "summary.json"

/* "{prefix}/BATCHS/{batch}/", derived from the summary key so both agree on
 * prefix normalisation and encoding. */
static int batch_base(struct buf *out, const char *prefix, const char *batch_id)
{
	if (layout_summary_key(out, prefix, batch_id) < 0)
		return -1;
	out->len -= strlen(SUMMARY_LEAF);
	out->data[out->len] = '\0';
	return 0;
}

int history_prefix(struct buf *out, const char *prefix, const char *batch_id,
		   const char *task_id, enum history_scope scope)
{
	int rc = -1;

	if (!batch_id || batch_base(out, prefix, batch_id) < 0)
		goto out;
	if (scope == HISTORY_BATCH && buf_adds(out, "status/") < 0)
		goto out;
	if (scope == HISTORY_TASK &&
	    (!task_id || !*task_id || buf_adds(out, "tasks/") < 0 ||
	     layout_encode_id(out, task_id, strlen(task_id)) < 0 || buf_addc(out, '/') < 0))
		goto out;
	rc = out->len <= LAYOUT_MAX_KEY ? 0 : -1;
out:
	if (rc < 0)
		buf_reset(out);
	return rc;
}

void history_event_clear(struct history_event *e)
{
	free(e->task_id);
	free(e->status);
	free(e->message_id);
	free(e->key);
	memset(e, 0, sizeof(*e));
}

struct summary_event history_as_summary_event(const struct history_event *e)
{
	return (struct summary_event){.task_id = e->task_id, .status = e->status,
				      .event_time_ms = e->event_time_ms,
				      .message_id = e->message_id};
}

int history_parse_stamp(const char *s, size_t n, int64_t *ms)
{
	char iso[TIME_ISO_LEN];

	/* YYYYMMDDTHHMMSS.mmmZ -> YYYY-MM-DDTHH:MM:SS.mmmZ, then the RFC 3339 parser. */
	if (n != TIME_STAMP_LEN - 1 || s[8] != 'T' || s[15] != '.' || s[19] != 'Z')
		return -1;
	snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%.3sZ", s, s + 4, s + 6, s + 9,
		 s + 11, s + 13, s + 16);
	return time_parse_rfc3339(iso, strlen(iso), ms);
}

/* Decode the next '/'-terminated segment at *p into a new string; NULL when
 * there is none, it is empty or malformed. */
static char *segment(const char **p)
{
	const char *slash = strchr(*p, '/');
	struct buf b;
	char *s = NULL;

	if (!slash || slash == *p)
		return NULL;
	buf_init(&b, 0);
	if (layout_decode_id(&b, *p, (size_t)(slash - *p)) == 0 &&
	    strlen(buf_str(&b)) == b.len) /* no %00 */
		s = buf_steal(&b, NULL);
	buf_free(&b);
	*p = slash + 1;
	return s;
}

/* "{stamp}_{message_id}.json" */
static int parse_leaf(const char *leaf, struct history_event *e)
{
	size_t n = strlen(leaf), st = TIME_STAMP_LEN - 1;
	struct buf b;
	int rc = -1;

	buf_init(&b, 0);
	if (n <= st + 1 + 5 || leaf[st] != '_' || strcmp(leaf + n - 5, ".json") != 0 ||
	    strchr(leaf, '/') || history_parse_stamp(leaf, st, &e->event_time_ms) < 0 ||
	    layout_decode_id(&b, leaf + st + 1, n - st - 1 - 5) < 0 || !b.len)
		goto out;
	e->message_id = buf_steal(&b, NULL);
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

int history_parse_key(const char *prefix, const char *batch_id, const char *key,
		      struct history_event *out)
{
	struct buf base;
	const char *p;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&base, 0);
	if (batch_base(&base, prefix, batch_id) < 0 || strncmp(key, base.data, base.len) != 0)
		goto out;
	p = key + base.len;
	if (strncmp(p, "tasks/", 6) == 0) {
		p += 6;
		if (!(out->task_id = segment(&p)))
			goto out;
	} else if (strncmp(p, "status/", 7) == 0) {
		p += 7;
	} else {
		goto out;
	}
	if (!(out->status = segment(&p)) || parse_leaf(p, out) < 0)
		goto out;
	out->key = xstrdup(key);
	rc = 0;
out:
	buf_free(&base);
	if (rc < 0)
		history_event_clear(out);
	return rc;
}

static int cmp_events(const void *pa, const void *pb)
{
	const struct history_event *a = pa, *b = pb;
	struct summary_event ea = history_as_summary_event(a), eb = history_as_summary_event(b);
	int c = summary_event_cmp(&ea, &eb);

	if (c)
		return c;
	if (!a->task_id || !b->task_id)
		return (a->task_id != NULL) - (b->task_id != NULL);
	return strcmp(a->task_id, b->task_id);
}

void history_sort(struct history_event *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_events);
}
