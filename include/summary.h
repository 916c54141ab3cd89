/* summary.h - BATCHS/{batch}/summary.json (SPEC section 2): a pure model
 * (merge, parse, serialise; src/summary.c) and the asynchronous updater that
 * keeps the object in S3 with conditional writes (src/summary_updater.c).
 *
 * The object is one line of JSON and a newline, members in this order:
 *
 *   {"version":1,"batch_id":"nightly-2026-12-03",
 *    "status":"running","event_time":"2026-12-03T01:00:00.000Z","message_id":"9f1c...",
 *    "updated_at":"2026-12-03T01:05:00.412Z","task_count":3,
 *    "counts":{"pending":0,"running":1,"success":1,"failed":1,"completed":0},
 *    "overflow":false,
 *    "tasks":{"extract":{"status":"success","event_time":"2026-12-03T01:02:00.000Z","message_id":"..."},
 *             "load/warehouse":{"status":"failed","event_time":"...","message_id":"..."},
 *             "transform":{"status":"running","event_time":"...","message_id":"..."}}}
 *
 * - status, event_time, message_id: the batch's current state (null, null,
 *   null until a batch event was seen). event_time has millisecond precision
 *   in UTC, exactly as in the history records.
 * - tasks: every task seen, keyed by task_id (raw, not %XX-encoded), in
 *   byte order of the id; each with its current state.
 * - counts: tasks by current status; the five default statuses always (in
 *   rank order), then other statuses (config `statuses`) that some task has,
 *   by name. task_count is the number of entries in tasks.
 * - overflow: true once a task could not be tracked because tasks already
 *   held SUMMARY_MAX_TASKS entries or the object would grow past
 *   SUMMARY_TASK_BUDGET bytes (counts then cover the tracked tasks only).
 * - updated_at: when this version was written.
 * counts and task_count are derived and ignored when parsing.
 *
 * The current state of the batch and of each task is the maximum of its
 * events in one total order: later event_time wins; on equal times the
 * higher status rank (pending < running < success < failed < completed;
 * other statuses rank below pending, by name); then the larger message_id
 * (byte order). Merging is therefore idempotent, commutative and
 * associative: any order, any repetition and any split of the events over
 * writers gives the same object (except updated_at). */
#ifndef S3S_SUMMARY_H
#define S3S_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "message.h"
#include "s3.h"
#include "util.h"

#define SUMMARY_VERSION 1
#define SUMMARY_MAX_TASKS 100000
#define SUMMARY_MAX_BYTES (32u * 1024 * 1024) /* a summary.json larger than this is refused */
/* New tasks stop being tracked when the tasks' worst-case serialised size
 * would pass this; the rest of SUMMARY_MAX_BYTES is headroom for the other
 * members and for tracked tasks whose status or message id grows. */
#define SUMMARY_TASK_BUDGET (SUMMARY_MAX_BYTES - 2u * 1024 * 1024)
#define SUMMARY_MAX_ID 256                    /* task_id, message_id, status bytes */

/* One state: status NULL means "no event yet" (batch only). */
struct summary_state {
	char *status;
	int64_t event_time_ms;
	char *message_id;
};

struct summary_task {
	char *task_id;
	struct summary_state st;
};

struct summary {
	char *batch_id;
	struct summary_state batch;
	struct summary_task *tasks; /* sorted by task_id (strcmp) */
	size_t ntasks, cap;
	bool overflow;
	int64_t updated_at_ms;
	size_t task_bytes; /* worst-case serialised size of tasks (see SUMMARY_TASK_BUDGET) */
};

/* One event to merge; all strings borrowed. task_id NULL: a batch event. */
struct summary_event {
	const char *task_id;
	const char *status;
	int64_t event_time_ms;
	const char *message_id;
};

void summary_init(struct summary *s, const char *batch_id);
void summary_clear(struct summary *s); /* frees everything; s is then empty */

/* 1 pending, 2 running, 3 success, 4 failed, 5 completed, 0 anything else. */
int summary_status_rank(const char *status);
/* The total order of events: < 0, 0 or > 0 as a is before, equal to or
 * after b. A state without status is before every event. */
int summary_event_cmp(const struct summary_event *a, const struct summary_event *b);

enum summary_merge {
	SUMMARY_UNCHANGED, /* the event was already included or is older */
	SUMMARY_CHANGED,
	SUMMARY_OVERFLOWED, /* a new task beyond the limits set overflow (it was false);
			       later ones are SUMMARY_UNCHANGED */
	SUMMARY_INVALID,    /* empty or overlong status/message_id/task_id: ignored */
};
enum summary_merge summary_merge(struct summary *s, const struct summary_event *e);

/* The task's entry, or NULL. */
const struct summary_task *summary_find(const struct summary *s, const char *task_id);

/* Count of tasks in status (an exact match). */
size_t summary_count(const struct summary *s, const char *status);

/* Tasks by current status in the order of the counts member (the five
 * ranked statuses always, then others by name). Returns the number of
 * entries; *v is allocated (free it), its statuses are borrowed from s. */
struct summary_count {
	const char *status;
	size_t n;
};
size_t summary_counts(const struct summary *s, struct summary_count **v);

/* Parse a summary.json for batch_id (strict JSON, at most SUMMARY_MAX_BYTES,
 * a batch_id that differs or a version other than SUMMARY_VERSION is an
 * error, unknown members are ignored). Returns 0, or -1 with one line in
 * err and s empty. s need not be initialised; summary_clear it afterwards. */
int summary_parse(struct summary *s, const char *batch_id, const char *p, size_t n,
		  struct buf *err);

/* Replace out with the JSON line and "\n". -1 when out's maximum is hit. */
int summary_serialise(const struct summary *s, struct buf *out);

/* ---- the updater ---------------------------------------------------------
 *
 * summary_updater_add() queues one event for its batch. Events of a batch are
 * coalesced: at most one write cycle per batch per flush_ms (the first one
 * after a quiet period starts at once). A cycle takes every queued event of
 * the batch, reads summary.json (GetObject; 404: a new one), merges them and
 * writes it back with If-Match: <ETag> (If-None-Match: * when it did not
 * exist). 412 PreconditionFailed and 409 ConditionalRequestConflict (another
 * writer won) re-read and retry after a jittered backoff, up to
 * max_conflicts times. The updater remembers the object it last wrote, so a
 * quiet batch costs one PUT per cycle, not a GET and a PUT.
 *
 * Each event's callback runs once: ok after a write that includes it
 * succeeded (or the object already included it), not ok when its cycle
 * failed (an S3 error after the common retries, a summary.json that does not
 * parse, too many conflicts); the caller then keeps the message (park it).
 * Callbacks may call summary_updater_add and summary_updater_cancel, never
 * summary_updater_free. */

struct summary_updater;
struct summary_wait;

struct summary_updater_options {
	struct loop *loop;
	struct s3 *s3;
	const char *bucket;
	const char *prefix; /* NULL: LAYOUT_DEFAULT_PREFIX */
	int64_t flush_ms;   /* config summary_flush_ms */
	int max_conflicts;  /* 0: 10 */
	/* Wall clock for updated_at; NULL: clock_wall_ms. */
	int64_t (*wall_ms)(void *ctx);
	void *wall_ctx;
};

struct summary_updater_stats {
	uint64_t writes;    /* successful PUTs */
	uint64_t reads;     /* GETs */
	uint64_t conflicts; /* 412/409 answers */
	uint64_t failures;  /* cycles that failed their events */
	uint64_t events;    /* events confirmed ok */
};

/* error: one line, valid only during the call; NULL when ok. */
typedef void (*summary_done_cb)(void *arg, bool ok, const char *error);

struct summary_updater *summary_updater_new(const struct summary_updater_options *o);
/* Cancels every cycle and drops every queued event without callbacks. NULL is fine. */
void summary_updater_free(struct summary_updater *u);

/* Queue the event of an add-batch-status/add-task-status message (m->status,
 * m->event_time_ms, message_id). Returns a handle valid until the callback
 * ran or the handle was cancelled; NULL (and no callback) for get-status or
 * when the key of the summary would be too long. */
struct summary_wait *summary_updater_add(struct summary_updater *u, const struct status_msg *m,
					 const char *message_id, summary_done_cb cb, void *arg);
/* The callback will not run. The event may still be written (harmless: its
 * record exists). NULL is fine. */
void summary_updater_cancel(struct summary_wait *w);
/* Start every waiting batch's cycle now, ignoring flush_ms (graceful stop, --drain). */
void summary_updater_flush(struct summary_updater *u);
/* Events queued or in a cycle whose callback has not run yet. */
size_t summary_updater_pending(const struct summary_updater *u);
const struct summary_updater_stats *summary_updater_stats(const struct summary_updater *u);

#endif
