/* status_query.h - the current status of a batch or of one task read back
 * from S3, asynchronously: summary.json when it has the answer, else the
 * history keys (ListObjectsV2, every page). Behind the get-status command
 * (SPEC section 5) and `s3status get`. */
#ifndef S3S_STATUS_QUERY_H
#define S3S_STATUS_QUERY_H

#include <stdbool.h>

#include "s3.h"
#include "summary.h"
#include "util.h"

/* A history listing longer than this many pages (1,000 keys each) is an error. */
#define STATUS_QUERY_MAX_PAGES 2000

struct status_query;

struct status_answer {
	bool ok;             /* false: S3 failed; error says how */
	bool found;          /* the batch (or the task) has at least one event */
	bool from_summary;   /* else computed from the history keys */
	/* Batch queries: the whole summary (parsed, or computed from every key).
	 * Task queries: the summary (when from_summary) or one with just that
	 * task. The callback may move it out (copy the struct, then memset the
	 * original to 0). */
	struct summary *summary;
	/* The asked-for state inside summary (status NULL: no batch event yet). */
	const struct summary_state *state;
	const char *warning; /* e.g. summary.json did not parse; NULL when none */
	const char *error;
	size_t keys_listed;  /* history keys read (0 when from_summary) */
};

/* Called once, from the loop, unless cancelled. */
typedef void (*status_query_cb)(struct status_answer *a, void *arg);

struct status_query_params {
	struct s3 *s3;
	const char *bucket;
	const char *prefix; /* NULL: LAYOUT_DEFAULT_PREFIX */
	const char *batch_id;
	const char *task_id; /* NULL: the batch */
};

/* NULL (and no callback) when the ids cannot form a key (empty, too long). */
struct status_query *status_query_start(const struct status_query_params *p, status_query_cb cb,
					void *arg);
void status_query_cancel(struct status_query *q); /* NULL is fine */

/* The answer as one JSON object (the SendTaskSuccess output of get-status):
 * {"batch_id":..,"task_id":..|null,"found":true|false,"status":..,"event_time":..,
 *  "message_id":..,"source":"summary"|"history"} and, for a batch,
 * "task_count":n,"counts":{...}. Replaces out; -1 when out is full. */
int status_answer_json(struct buf *out, const char *batch_id, const char *task_id,
		       const struct status_answer *a);

#endif
