/* summary_updater.c - keeps BATCHS/{batch}/summary.json in S3: events are
 * queued per batch, one read-merge-write cycle per batch per flush_ms,
 * guarded by If-Match/If-None-Match and retried on conflicts. */
#include "summary.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"

#define DEFAULT_MAX_CONFLICTS 10
#define CONFLICT_BASE_MS 50
#define CONFLICT_CAP_MS 2000
/* A quiet batch keeps its cached summary this long after its last cycle. */
#define IDLE_KEEP_MS 10000

struct summary_wait {
	struct summary_wait *next;
	struct summary_updater *u;
	char *task_id; /* NULL: batch event */
	char *status;
	char *message_id;
	int64_t event_time_ms;
	summary_done_cb cb; /* NULL once cancelled */
	void *arg;
};

/* IDLE: nothing scheduled. WAIT: the timer starts the next cycle (or frees a
 * quiet batch). GET/PUT: a request is out. BACKOFF: the timer re-reads after
 * a conflict. */
enum bstate { B_IDLE, B_WAIT, B_GET, B_PUT, B_BACKOFF };

struct batch {
	struct batch *next;
	struct summary_updater *u;
	char *batch_id;
	char *key;
	struct summary_wait *queued, **queued_tail; /* for the next cycle */
	struct summary_wait *cycle;                 /* in the running cycle */
	enum bstate state;
	struct loop_timer *timer;
	int64_t last_start_ms; /* loop time the last cycle began */
	bool started;
	int conflicts;
	/* What S3 holds, as far as we know: valid when have_cur; etag NULL
	 * means the object does not exist yet. */
	struct summary cur;
	bool have_cur;
	char *etag;
	struct buf body; /* the PUT body, borrowed by the request */
	struct s3_op *op;
};

struct summary_updater {
	struct loop *loop;
	struct s3 *s3;
	char *bucket;
	char *prefix;
	int64_t flush_ms;
	int max_conflicts;
	int64_t (*wall_ms)(void *ctx);
	void *wall_ctx;
	struct batch *batches;
	size_t pending;
	uint64_t rng;
	struct summary_updater_stats stats;
};

static void on_timer(struct loop *l, void *arg);

static int64_t default_wall(void *ctx)
{
	(void)ctx;
	return clock_wall_ms();
}

struct summary_updater *summary_updater_new(const struct summary_updater_options *o)
{
	struct summary_updater *u = xcalloc(1, sizeof(*u));

	u->loop = o->loop;
	u->s3 = o->s3;
	u->bucket = xstrdup(o->bucket);
	u->prefix = o->prefix ? xstrdup(o->prefix) : NULL;
	u->flush_ms = o->flush_ms > 0 ? o->flush_ms : 0;
	u->max_conflicts = o->max_conflicts > 0 ? o->max_conflicts : DEFAULT_MAX_CONFLICTS;
	u->wall_ms = o->wall_ms ? o->wall_ms : default_wall;
	u->wall_ctx = o->wall_ctx;
	/* Jitter only needs to differ between processes and runs. */
	u->rng = (uint64_t)clock_mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() ^
		 (uint64_t)(uintptr_t)u;
	if (!u->rng)
		u->rng = 1;
	return u;
}

static void free_waits(struct summary_wait *w)
{
	struct summary_wait *next;

	for (; w; w = next) {
		next = w->next;
		free(w->task_id);
		free(w->status);
		free(w->message_id);
		free(w);
	}
}

static void batch_free(struct batch *b)
{
	s3_cancel(b->op);
	loop_timer_free(b->timer);
	free_waits(b->queued);
	free_waits(b->cycle);
	summary_clear(&b->cur);
	buf_free(&b->body);
	free(b->etag);
	free(b->key);
	free(b->batch_id);
	free(b);
}

void summary_updater_free(struct summary_updater *u)
{
	struct batch *b, *next;

	if (!u)
		return;
	for (b = u->batches; b; b = next) {
		next = b->next;
		batch_free(b);
	}
	free(u->bucket);
	free(u->prefix);
	free(u);
}

size_t summary_updater_pending(const struct summary_updater *u)
{
	return u->pending;
}

const struct summary_updater_stats *summary_updater_stats(const struct summary_updater *u)
{
	return &u->stats;
}

void summary_updater_cancel(struct summary_wait *w)
{
	if (!w || !w->cb)
		return;
	w->cb = NULL;
	w->u->pending--;
}

static uint64_t next_rand(struct summary_updater *u)
{
	u->rng ^= u->rng >> 12;
	u->rng ^= u->rng << 25;
	u->rng ^= u->rng >> 27;
	return u->rng * 2685821657736338717ULL;
}

/* Full jitter: uniform in [0, min(cap, base * 2^(n-1))]. */
static int64_t conflict_backoff(struct summary_updater *u, int n)
{
	int64_t ceil = CONFLICT_BASE_MS << (n > 6 ? 6 : n - 1);

	if (ceil > CONFLICT_CAP_MS)
		ceil = CONFLICT_CAP_MS;
	return (int64_t)(next_rand(u) % (uint64_t)(ceil + 1));
}

static struct batch *batch_get(struct summary_updater *u, const char *batch_id)
{
	struct batch *b;
	struct buf key;

	for (b = u->batches; b; b = b->next)
		if (strcmp(b->batch_id, batch_id) == 0)
			return b;
	buf_init(&key, 0);
	if (layout_summary_key(&key, u->prefix, batch_id) < 0) {
		buf_free(&key);
		return NULL;
	}
	b = xcalloc(1, sizeof(*b));
	b->u = u;
	b->batch_id = xstrdup(batch_id);
	b->key = buf_steal(&key, NULL);
	b->queued_tail = &b->queued;
	b->timer = loop_timer_new(u->loop, on_timer, b);
	buf_init(&b->body, SUMMARY_MAX_BYTES);
	b->next = u->batches;
	u->batches = b;
	return b;
}

static void batch_unlink(struct batch *b)
{
	struct batch **pp;

	for (pp = &b->u->batches; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			return;
		}
	}
}

static void drop_cache(struct batch *b)
{
	summary_clear(&b->cur);
	b->have_cur = false;
	free(b->etag);
	b->etag = NULL;
}

/* Arm the timer for the next cycle: flush_ms after the last one began. */
static void schedule(struct batch *b)
{
	int64_t delay = 0;

	if (b->started)
		delay = b->last_start_ms + b->u->flush_ms - loop_now(b->u->loop);
	b->state = B_WAIT;
	loop_timer_arm(b->timer, delay);
}

/* Report the cycle's events, then schedule what came meanwhile. */
static void complete_cycle(struct batch *b, bool ok, const char *error)
{
	struct summary_updater *u = b->u;
	struct summary_wait *list = b->cycle, *w;
	summary_done_cb cb;

	b->cycle = NULL;
	b->state = B_IDLE;
	if (!ok)
		u->stats.failures++;
	log_debug("summary: batch cycle done for %s: %s", b->key, ok ? "ok" : error);
	for (w = list; w; w = w->next) {
		if (!(cb = w->cb))
			continue;
		w->cb = NULL;
		u->pending--;
		if (ok)
			u->stats.events++;
		cb(w->arg, ok, ok ? NULL : error);
	}
	free_waits(list);
	if (b->state == B_IDLE)
		schedule(b);
}

static void fail_cycle(struct batch *b, const char *why)
{
	drop_cache(b);
	complete_cycle(b, false, why);
}

static void on_put(struct s3_result *r, void *arg);

/* Merge the cycle's events into the cache and write it if anything changed. */
static void merge_and_put(struct batch *b)
{
	struct s3_put put;
	struct summary_wait *w;
	struct summary_event e;
	bool changed = false;

	for (w = b->cycle; w; w = w->next) {
		e = (struct summary_event){.task_id = w->task_id, .status = w->status,
					   .event_time_ms = w->event_time_ms,
					   .message_id = w->message_id};
		switch (summary_merge(&b->cur, &e)) {
		case SUMMARY_OVERFLOWED:
			log_warn("summary: %s holds %d tasks; further tasks are not tracked", b->key,
				 SUMMARY_MAX_TASKS);
			changed = true;
			break;
		case SUMMARY_CHANGED:
			changed = true;
			break;
		default:
			break;
		}
	}
	if (!changed && b->etag) {
		complete_cycle(b, true, NULL); /* already included by some writer */
		return;
	}
	b->cur.updated_at_ms = b->u->wall_ms(b->u->wall_ctx);
	if (summary_serialise(&b->cur, &b->body) < 0) {
		fail_cycle(b, "summary.json would exceed its size limit");
		return;
	}
	put = (struct s3_put){.bucket = b->u->bucket, .key = b->key, .body = b->body.data,
			      .len = b->body.len, .if_match = b->etag, .if_none_match = !b->etag};
	b->state = B_PUT;
	b->op = s3_put_object(b->u->s3, &put, on_put, b);
}

static bool is_conflict(const struct aws_response *resp)
{
	const char *code = resp->err.code ? resp->err.code : "";

	/* 404: the object was deleted under an If-Match. */
	if (strcmp(code, "NoSuchBucket") == 0)
		return false;
	return resp->status == 412 || resp->status == 409 || resp->status == 404 ||
	       strcmp(code, "PreconditionFailed") == 0 ||
	       strcmp(code, "ConditionalRequestConflict") == 0;
}

static void on_put(struct s3_result *r, void *arg)
{
	struct batch *b = arg;
	char *why;

	b->op = NULL;
	if (r->resp->ok) {
		b->u->stats.writes++;
		free(b->etag);
		b->etag = r->etag ? xstrdup(r->etag) : NULL;
		b->have_cur = b->etag != NULL; /* without an ETag, read it next time */
		if (!b->have_cur)
			summary_clear(&b->cur);
		complete_cycle(b, true, NULL);
		return;
	}
	drop_cache(b);
	if (is_conflict(r->resp)) {
		b->u->stats.conflicts++;
		if (++b->conflicts > b->u->max_conflicts) {
			fail_cycle(b, "summary.json: too many conflicting writers, giving up for now");
			return;
		}
		b->state = B_BACKOFF;
		loop_timer_arm(b->timer, conflict_backoff(b->u, b->conflicts));
		return;
	}
	why = aws_error_describe(&r->resp->err);
	fail_cycle(b, why);
	free(why);
}

static void on_get(struct s3_result *r, void *arg)
{
	struct batch *b = arg;
	const char *code = r->resp->err.code ? r->resp->err.code : "";
	struct buf err;
	char *why;

	b->op = NULL;
	buf_init(&err, 512);
	drop_cache(b);
	if (r->resp->ok) {
		if (!r->etag) {
			fail_cycle(b, "summary.json: GetObject answered without an ETag");
			goto out;
		}
		if (summary_parse(&b->cur, b->batch_id, r->body, r->body_len, &err) < 0) {
			buf_adds(&err, " (s3status summary --rebuild replaces it)");
			fail_cycle(b, buf_str(&err));
			goto out;
		}
		b->etag = xstrdup(r->etag);
	} else if (strcmp(code, "NoSuchKey") == 0 ||
		   (r->resp->status == 404 && strcmp(code, "NoSuchBucket") != 0)) {
		summary_init(&b->cur, b->batch_id);
	} else {
		why = aws_error_describe(&r->resp->err);
		fail_cycle(b, why);
		free(why);
		goto out;
	}
	b->have_cur = true;
	merge_and_put(b);
out:
	buf_free(&err);
}

static void read_summary(struct batch *b)
{
	b->state = B_GET;
	b->u->stats.reads++;
	b->op = s3_get_object(b->u->s3, b->u->bucket, b->key, SUMMARY_MAX_BYTES, on_get, b);
}

static void start_cycle(struct batch *b)
{
	b->cycle = b->queued;
	b->queued = NULL;
	b->queued_tail = &b->queued;
	b->last_start_ms = loop_now(b->u->loop);
	b->started = true;
	b->conflicts = 0;
	if (b->have_cur)
		merge_and_put(b);
	else
		read_summary(b);
}

static void on_timer(struct loop *l, void *arg)
{
	struct batch *b = arg;
	int64_t quiet;

	if (b->state == B_BACKOFF) {
		read_summary(b);
		return;
	}
	if (b->queued) {
		start_cycle(b);
		return;
	}
	/* Nothing queued: keep the cache a little, then forget the batch. */
	quiet = loop_now(l) - b->last_start_ms;
	if (quiet < b->u->flush_ms + IDLE_KEEP_MS) {
		loop_timer_arm(b->timer, b->u->flush_ms + IDLE_KEEP_MS - quiet);
		return;
	}
	batch_unlink(b);
	batch_free(b);
}

struct summary_wait *summary_updater_add(struct summary_updater *u, const struct status_msg *m,
					 const char *message_id, summary_done_cb cb, void *arg)
{
	struct summary_wait *w;
	struct batch *b;

	if (m->command == CMD_GET_STATUS || !m->status || !(b = batch_get(u, m->batch_id)))
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->u = u;
	w->task_id = m->command == CMD_ADD_TASK_STATUS && m->task_id ? xstrdup(m->task_id) : NULL;
	w->status = xstrdup(m->status);
	w->message_id = message_id ? xstrdup(message_id) : NULL;
	w->event_time_ms = m->event_time_ms;
	w->cb = cb;
	w->arg = arg;
	*b->queued_tail = w;
	b->queued_tail = &w->next;
	u->pending++;
	/* The first queued event of a quiet batch (IDLE, or WAIT only to
	 * expire) schedules the next cycle. */
	if (b->state == B_IDLE || (b->state == B_WAIT && b->queued == w))
		schedule(b);
	return w;
}

void summary_updater_flush(struct summary_updater *u)
{
	struct batch *b;

	for (b = u->batches; b; b = b->next) {
		if (b->state == B_WAIT && b->queued)
			loop_timer_arm(b->timer, 0); /* from the loop: no callback in here */
	}
}
