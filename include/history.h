/* history.h - reading the history back (SPEC section 2): the listing
 * prefixes of a batch or a task and record keys parsed into events. A key
 * carries the whole event (status, time to the millisecond, message id), so
 * current states can be computed from a listing without reading bodies. */
#ifndef S3S_HISTORY_H
#define S3S_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "summary.h"
#include "util.h"

enum history_scope {
	HISTORY_ALL,   /* {prefix}/BATCHS/{batch}/: batch and task events, summary.json */
	HISTORY_BATCH, /* {prefix}/BATCHS/{batch}/status/: batch events */
	HISTORY_TASK,  /* {prefix}/BATCHS/{batch}/tasks/{task}/: one task's events */
};

/* Replace out with the listing prefix (with its trailing '/'); prefix NULL
 * means LAYOUT_DEFAULT_PREFIX, task_id is used for HISTORY_TASK only.
 * -1 when an id is empty or the prefix would exceed LAYOUT_MAX_KEY. */
int history_prefix(struct buf *out, const char *prefix, const char *batch_id,
		   const char *task_id, enum history_scope scope);

struct history_event {
	char *task_id; /* NULL for a batch event */
	char *status;
	int64_t event_time_ms;
	char *message_id;
	char *key;
};
void history_event_clear(struct history_event *e);
/* The event as a summary_event (strings borrowed from e). */
struct summary_event history_as_summary_event(const struct history_event *e);

/* Parse key, one of
 *   {prefix}/BATCHS/{batch}/status/{status}/{stamp}_{message_id}.json
 *   {prefix}/BATCHS/{batch}/tasks/{task}/{status}/{stamp}_{message_id}.json
 * for this prefix and batch (ids %XX-decoded). 0 with out filled, -1 for any
 * other key (summary.json, foreign objects), out then empty. */
int history_parse_key(const char *prefix, const char *batch_id, const char *key,
		      struct history_event *out);

/* "20261203T100000.123Z" (exactly TIME_STAMP_LEN - 1 bytes) to Unix ms. */
int history_parse_stamp(const char *s, size_t n, int64_t *ms);

/* Sort events chronologically (summary_event_cmp order; batch and task
 * events interleaved, ties by task id). */
void history_sort(struct history_event *v, size_t n);

#endif
