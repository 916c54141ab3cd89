/* pipeline.c - each SQS message is a small state machine driven only by
 * request completions and timers; pl_msg_enter() is the one place its state
 * changes, so "delete only after the PUT succeeded" is visible here:
 *
 *   RECEIVED -> WRITING [-> SUMMARIZING] [-> ANSWERING] -> DELETE_WAIT -> DELETING -> DONE
 *   RECEIVED (get-status) -> QUERYING -> ANSWERING -> DELETE_WAIT
 *                                        DELETING failed -> DELETE_RETRY -> DELETE_WAIT
 *            \-> DEAD_LETTERING [-> ANSWERING] -> DELETE_WAIT   (can never succeed)
 *   WRITING/SUMMARIZING/ANSWERING failed -> RELEASING (visibility = backoff) -> DONE (parked)
 * (SUMMARIZING when summary is on; ANSWERING when the message has a Step
 * Functions task token: SendTaskSuccess, or SendTaskFailure after a dead letter.)
 *   any state, on stop after shutdown_timeout -> RELEASING (visibility 0)
 */
#include "pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "log.h"
#include "message.h"


static const char *const state_names[] = {
	[MS_RECEIVED] = "received",       [MS_WRITING] = "writing",
	[MS_SUMMARIZING] = "summarizing", [MS_QUERYING] = "querying",
	[MS_ANSWERING] = "answering",
	[MS_DEAD_LETTERING] = "dead-lettering", [MS_DELETE_WAIT] = "delete-wait",
	[MS_DELETING] = "deleting",       [MS_DELETE_RETRY] = "delete-retry",
	[MS_RELEASE_WAIT] = "release-wait",
	[MS_RELEASING] = "releasing",     [MS_DONE] = "done",
};

/* ---- message bookkeeping ------------------------------------------------ */

static unsigned hash_id(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % MSGMAP_BUCKETS;
}

struct msg *pl_msg_find(struct pipeline *p, const char *id)
{
	struct msg *m;

	for (m = p->map[hash_id(id)]; m; m = m->hnext)
		if (strcmp(m->sm.message_id, id) == 0)
			return m;
	return NULL;
}

static void parked_add(struct pipeline *p, const char *id, int64_t due_ms)
{
	if (p->nparked == p->parked_cap) {
		p->parked_cap = p->parked_cap ? p->parked_cap * 2 : 16;
		p->parked = xrealloc(p->parked, p->parked_cap * sizeof(*p->parked));
	}
	p->parked[p->nparked++] = (struct parked){xstrdup(id), due_ms};
}

/* Forget id (it came back), and every entry long overdue. */
static void parked_prune(struct pipeline *p, const char *id)
{
	int64_t now = loop_now(p->loop);
	size_t i = 0;

	while (i < p->nparked) {
		if ((id && strcmp(p->parked[i].message_id, id) == 0) ||
		    now > p->parked[i].due_ms + PARKED_GRACE_MS) {
			free(p->parked[i].message_id);
			p->parked[i] = p->parked[--p->nparked];
			continue;
		}
		i++;
	}
}

/* Draining is over when two receives in a row came back empty and nothing we
 * parked is still due to come back. */
static bool drained(struct pipeline *p)
{
	if (!p->o.drain || p->empty_streak < 2)
		return false;
	parked_prune(p, NULL);
	return p->nparked == 0;
}


static struct msg *msg_new(struct pipeline *p, struct sqs_message *sm)
{
	struct msg *m = xcalloc(1, sizeof(*m));
	unsigned h;

	m->p = p;
	m->sm = *sm;
	memset(sm, 0, sizeof(*sm));
	buf_init(&m->key, LAYOUT_MAX_KEY);
	buf_init(&m->body, 0);
	m->received_mono = loop_now(p->loop);
	m->first_wall_ms = m->sm.first_receive_ms ? m->sm.first_receive_ms : clock_wall_ms();
	m->heartbeat = loop_timer_new(p->loop, pl_on_heartbeat, m);
	m->next = p->msgs;
	if (p->msgs)
		p->msgs->prev = m;
	p->msgs = m;
	h = hash_id(m->sm.message_id);
	m->hnext = p->map[h];
	p->map[h] = m;
	p->inflight++;
	p->stats.inflight = p->inflight;
	return m;
}

static void msg_free(struct msg *m)
{
	struct pipeline *p = m->p;
	struct msg **pp;


	if (m->prev)
		m->prev->next = m->next;
	else
		p->msgs = m->next;
	if (m->next)
		m->next->prev = m->prev;
	if (m->inq)
		pl_q_remove(m->inq, m);
	for (pp = &p->map[hash_id(m->sm.message_id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == m) {
			*pp = m->hnext;
			break;
		}
	}
	s3_cancel(m->put);
	sqs_cancel(m->send);
	summary_updater_cancel(m->sw);
	status_query_cancel(m->query);
	sfn_cancel(m->sfn);
	sfn_cancel(m->sfn_heartbeat);
	loop_timer_free(m->heartbeat);
	sqs_message_clear(&m->sm);
	status_msg_clear(&m->st);
	buf_free(&m->key);
	buf_free(&m->body);
	free(m->error_code);
	free(m->reason);
	free(m);
	p->inflight--;
	p->stats.inflight = p->inflight;
}

/* dst becomes an exact-size copy of src (which is left empty for reuse): a
 * buffer grown by doubling holds up to twice its bytes, for as long as the
 * message is in flight. */
static void buf_take_exact(struct buf *dst, struct buf *src)
{
	buf_free(dst);
	dst->data = xmalloc(src->len + 1);
	memcpy(dst->data, src->data, src->len);
	dst->data[src->len] = '\0';
	dst->len = src->len;
	dst->cap = src->len + 1;
	if (src->cap > SCRATCH_KEEP)
		buf_free(src); /* a rare large record does not stay allocated */
	else
		buf_reset(src);
}

/* The record is built: what it was built from is needed again only for a
 * dead letter, and that needs the original body alone. The payload (up to
 * the body's size) and the account are in the record; the body is kept only
 * while a failed write could still dead-letter the message (its receive
 * count has reached max_receives). A copy received again brings its body
 * back (handle_message). */
static void drop_decoded(struct msg *m)
{
	free(m->st.payload);
	m->st.payload = NULL;
	m->st.payload_len = 0;
	free(m->st.account);
	m->st.account = NULL;
	if (m->sm.receive_count < m->p->cfg->max_receives) {
		free(m->sm.body);
		m->sm.body = NULL;
		m->sm.body_len = 0;
	}
}

void pl_set_reason(struct msg *m, const char *code, const char *reason)
{
	struct pipeline_stats *st = &m->p->stats;

	if (code) {
		free(m->error_code);
		m->error_code = xstrdup(code);
	}
	free(m->reason);
	m->reason = xstrdup(reason);
	snprintf(st->last_error, sizeof(st->last_error), "%s", reason);
}

/* ---- writing ------------------------------------------------------------ */


/* Park a message whose write failed: hide it for a backoff that grows with
 * its receive count, so S3 is not hammered and the next try is a fresh
 * receive (which counts toward max_receives). */
void pl_park(struct msg *m)
{
	struct pipeline *p = m->p;
	int64_t ceil = retry_ceiling_ms(p->o.retry, PARK_BASE_MS, (int)m->sm.receive_count);
	int64_t delay = (int64_t)(retry_rand01(p->o.retry) * (double)ceil);

	m->release_visibility = (int)((delay + 999) / 1000);
	if (m->release_visibility < 1)
		m->release_visibility = 1;
	p->stats.parked++;
	parked_add(p, m->sm.message_id,
		   loop_now(p->loop) + (int64_t)m->release_visibility * 1000);
	log_warn("message %s: %s; parked for %d s (receive %lld of %lld)", m->sm.message_id,
		 m->reason, m->release_visibility, (long long)m->sm.receive_count,
		 (long long)p->cfg->max_receives);
	pl_msg_enter(m, MS_RELEASE_WAIT);
}

/* A step after the decode failed (PUT, summary, Step Functions, query): the
 * message goes to the dead letters once it has been received max_receives
 * times, else it is parked for another try. */
void pl_give_up_or_park(struct msg *m, const char *code, const char *what)
{
	struct pipeline *p = m->p;
	struct buf reason;

	if (m->sm.receive_count < p->cfg->max_receives) {
		pl_park(m);
		return;
	}
	buf_init(&reason, 1024);
	buf_addf(&reason, "%s failed on receive %lld of %lld: %s", what,
		 (long long)m->sm.receive_count, (long long)p->cfg->max_receives, m->reason);
	pl_set_reason(m, code, buf_str(&reason));
	buf_free(&reason);
	pl_start_dead_letter(m);
}


static void on_put_done(struct s3_result *r, void *arg)
{
	struct msg *m = arg;
	struct pipeline *p = m->p;
	char *why;

	m->put = NULL;
	if (r->resp->ok) {
		p->stats.stored++;
		log_debug("message %s: stored %s", m->sm.message_id, buf_str(&m->key));
		buf_free(&m->body); /* stored: the record is not sent again */
		pl_after_stored(m);
		return;
	}
	p->stats.put_failures++;
	why = aws_error_describe(&r->resp->err);
	pl_set_reason(m, NULL, why);
	free(why);
	if (r->resp->err.cls == ERR_FATAL)
		log_err("message %s: S3 PutObject to s3://%s/%s refused: %s", m->sm.message_id,
			p->cfg->bucket, buf_str(&m->key), m->reason);
	if (m->sm.receive_count < p->cfg->max_receives)
		metrics_labeled_inc(&p->stats.retries_by_code, r->resp->err.code);
	pl_give_up_or_park(m, "S3Error", "S3 PutObject");
}

static void start_put(struct msg *m)
{
	struct pipeline *p = m->p;
	struct s3_put put = {
		.bucket = p->cfg->bucket,
		.key = buf_str(&m->key),
		.body = m->body.data,
		.len = m->body.len,
	};

	pl_msg_enter(m, MS_WRITING);
	m->put = s3_put_object(p->o.s3, &put, on_put_done, m);
}

/* ---- dead letters ------------------------------------------------------- */

static void dead_letter_done(struct msg *m, bool ok, const char *err)
{
	struct pipeline *p = m->p;

	if (ok) {
		p->stats.dead_lettered++;
		metrics_labeled_inc(&p->stats.dead_lettered_by_reason, m->error_code);
		log_warn("message %s: dead-lettered: %s: %s", m->sm.message_id, m->error_code,
			 m->reason);
		if (m->st.task_token && !m->token_dead && p->o.sfn &&
		    !sfn_check_token(m->st.task_token)) {
			/* The waiting state machine learns why; the outcome of this
			 * call does not hold the message back (its dead letter is
			 * stored). */
			pl_msg_enter(m, MS_ANSWERING);
			m->sfn = sfn_task_failure(p->o.sfn, m->st.task_token, m->error_code,
						  m->reason, pl_on_sfn_answered, m);
			if (m->sfn)
				return;
		}
		pl_msg_enter(m, MS_DELETE_WAIT);
		return;
	}
	/* The dead letter could not be stored: keep the message in the queue. */
	log_err("message %s: could not store its dead letter (%s); keeping it in the queue",
		m->sm.message_id, err);
	free(m->reason);
	m->reason = xasprintf("dead letter not stored: %s", err);
	pl_park(m);
}

static void on_dl_put(struct s3_result *r, void *arg)
{
	struct msg *m = arg;
	char *why = r->resp->ok ? NULL : aws_error_describe(&r->resp->err);

	m->put = NULL;
	dead_letter_done(m, r->resp->ok, why);
	free(why);
}

/* The dead letter as an object under {prefix}/DEAD_LETTER/: the original
 * body with the reason. */
static void dead_letter_to_s3(struct msg *m)
{
	struct pipeline *p = m->p;
	struct record_meta meta = {
		.message_id = m->sm.message_id,
		.receive_count = m->sm.receive_count,
		.queue = p->o.queue_url,
		.recorded_at_ms = clock_wall_ms(),
	};
	struct s3_put put = {.bucket = p->cfg->bucket};

	buf_reset(&m->key);
	buf_reset(&m->body);
	if (layout_dead_letter_key(&m->key, p->cfg->prefix, meta.recorded_at_ms,
				   m->sm.message_id) < 0 ||
	    layout_dead_letter_body(&m->body, m->sm.body, m->sm.body_len, m->error_code,
				    m->reason, &meta) < 0) {
		dead_letter_done(m, false, "dead letter too large to build");
		return;
	}
	put.key = buf_str(&m->key);
	put.body = m->body.data;
	put.len = m->body.len;
	m->put = s3_put_object(p->o.s3, &put, on_dl_put, m);
}

static void on_dlq_sent(struct sqs_result *r, void *arg)
{
	struct msg *m = arg;
	char *why;

	m->send = NULL;
	if (r->resp->ok) {
		dead_letter_done(m, true, NULL);
		return;
	}
	why = aws_error_describe(&r->resp->err);
	if (r->resp->err.cls == ERR_FATAL) {
		/* The DLQ refuses this message for good (a body near the SQS size
		 * limit no longer fits with our attributes, say): keep it in S3
		 * instead of retrying for ever. */
		log_warn("message %s: the dead-letter queue refused it (%s); writing the dead letter to S3",
			 m->sm.message_id, why);
		free(why);
		dead_letter_to_s3(m);
		return;
	}
	dead_letter_done(m, false, why);
	free(why);
}

void pl_start_dead_letter(struct msg *m)
{
	struct pipeline *p = m->p;
	char count[24];

	pl_msg_enter(m, MS_DEAD_LETTERING);
	snprintf(count, sizeof(count), "%lld", (long long)m->sm.receive_count);
	if (p->o.dlq_url) {
		const struct sqs_attr attrs[] = {
			{"s3statusd.error", "String", m->error_code},
			{"s3statusd.reason", "String", m->reason},
			{"s3statusd.source_message_id", "String", m->sm.message_id},
			{"s3statusd.receive_count", "Number", count},
		};

		m->send = sqs_send(p->o.sqs, p->o.dlq_url, m->sm.body, m->sm.body_len, attrs,
				   ARRAY_SIZE(attrs), on_dlq_sent, m);
		return;
	}
	dead_letter_to_s3(m);
}

/* ---- receiving ---------------------------------------------------------- */

static void handle_message(struct pipeline *p, struct sqs_message *sm)
{
	struct msg *m = pl_msg_find(p, sm->message_id);
	struct buf reason;
	enum msg_error e;
	struct record_meta meta;

	p->stats.received++;
	if (p->nparked)
		parked_prune(p, sm->message_id);
	if (m) {
		/* Received again while we hold it (visibility ran out, or the
		 * answer carried it twice): keep one copy, with the newest
		 * receipt handle and receive count. */
		log_info("message %s: received again while in flight; using the newest receipt handle",
			 sm->message_id);
		free(m->sm.receipt_handle);
		m->sm.receipt_handle = sm->receipt_handle;
		sm->receipt_handle = NULL;
		if (!m->sm.body) {
			/* dropped once the record was built; a dead letter may
			 * now need it (the receive count may have grown) */
			m->sm.body = sm->body;
			m->sm.body_len = sm->body_len;
			sm->body = NULL;
		}
		if (sm->receive_count > m->sm.receive_count)
			m->sm.receive_count = sm->receive_count;
		sqs_message_clear(sm);
		return;
	}
	m = msg_new(p, sm);
	loop_timer_arm(m->heartbeat, pl_heartbeat_period_ms(p));
	buf_init(&reason, 512);
	e = msg_decode(m->sm.body, m->sm.body_len, m->sm.sent_ms, &p->rules, &m->st, &reason);
	if (e != MSG_OK) {
		pl_set_reason(m, msg_error_code(e), buf_str(&reason));
		buf_free(&reason);
		pl_start_dead_letter(m);
		return;
	}
	buf_free(&reason);
	if (m->st.task_token && m->sm.receive_count > 1 && p->o.sfn &&
	    !sfn_check_token(m->st.task_token))
		/* A retry: tell the waiting state machine we are still on it. */
		m->sfn_heartbeat = sfn_task_heartbeat(p->o.sfn, m->st.task_token, pl_on_sfn_heartbeat, m);
	if (m->st.command == CMD_GET_STATUS) {
		pl_start_query(m);
		return;
	}
	meta = (struct record_meta){
		.message_id = m->sm.message_id,
		.receive_count = m->sm.receive_count,
		.queue = p->o.queue_url,
		.recorded_at_ms = clock_wall_ms(),
	};
	if (layout_record_key(&p->scratch, p->cfg->prefix, &m->st, m->sm.message_id) < 0) {
		pl_set_reason(m, "InvalidField", "the object key would exceed 1024 bytes");
		pl_start_dead_letter(m);
		return;
	}
	buf_take_exact(&m->key, &p->scratch);
	if (layout_record_body(&p->scratch, &m->st, &meta,
			       p->cfg->record_format == RECORD_FORMAT_PAYLOAD) < 0) {
		pl_set_reason(m, "TooLarge", "the record is too large");
		pl_start_dead_letter(m);
		return;
	}
	buf_take_exact(&m->body, &p->scratch);
	drop_decoded(m);
	start_put(m);
}

static void start_poll(struct poller *pl);

static void on_receive_backoff(struct loop *l, void *arg)
{
	struct poller *pl = arg;

	(void)l;
	start_poll(pl);
}

static void on_received(struct sqs_result *r, void *arg)
{
	struct poller *pl = arg;
	struct pipeline *p = pl->p;
	size_t i;

	pl->op = NULL;
	pl->reserved = 0;
	if (!r->resp->ok) {
		char *why = aws_error_describe(&r->resp->err);
		int64_t ceil = retry_ceiling_ms(p->o.retry, RECEIVE_BACKOFF_BASE_MS,
						++p->receive_failures);
		/* Full jitter, but never less than a quarter of the ceiling. */
		int64_t delay = ceil / 4 + (int64_t)(retry_rand01(p->o.retry) *
						     (double)(ceil - ceil / 4));

		p->stats.receive_errors++;
		metrics_labeled_inc(&p->stats.retries_by_code, r->resp->err.code);
		snprintf(p->stats.last_error, sizeof(p->stats.last_error), "receive: %s", why);
		log_warn("receive from %s failed: %s; next try in %lld ms", p->o.queue_url, why,
			 (long long)delay);
		free(why);
		if (!p->stopping)
			loop_timer_arm(pl->backoff, delay);
		pl_check_finished(p);
		return;
	}
	p->receive_failures = 0;
	if (r->nmessages == 0)
		p->empty_streak++;
	else
		p->empty_streak = 0;
	for (i = 0; i < r->nmessages; i++)
		handle_message(p, &r->messages[i]);
	pl_check_finished(p);
	pl_poll_more(p);
}

static unsigned reserved_total(const struct pipeline *p)
{
	unsigned i, n = 0;

	for (i = 0; i < p->npollers; i++)
		n += (unsigned)p->pollers[i].reserved;
	return n;
}

static void start_poll(struct poller *pl)
{
	struct pipeline *p = pl->p;
	unsigned cap = (unsigned)p->cfg->max_inflight;
	/* A message holds its slot until deleted: memory stays bounded by
	 * max_inflight whatever the delete latency. */
	unsigned used = p->inflight + reserved_total(p);
	unsigned full = cap < BATCH_MAX ? cap : BATCH_MAX;
	struct sqs_receive_params rp;
	int want;

	/* Receive only when a whole batch fits: asking for one or two messages
	 * costs as much as asking for ten. */
	if (p->stopping || p->finished || pl->op || loop_timer_armed(pl->backoff) ||
	    used >= cap || cap - used < full)
		return;
	if (drained(p))
		return;
	want = (int)full;
	rp = (struct sqs_receive_params){
		.queue_url = p->o.queue_url,
		.max_messages = want,
		/* Draining wants to notice an empty queue quickly. */
		.wait_time = p->o.drain && p->cfg->wait_time > 1 ? 1 : (int)p->cfg->wait_time,
		.visibility_timeout = (int)p->cfg->visibility_timeout,
	};
	pl->reserved = want;
	pl->op = sqs_receive(p->o.sqs, &rp, on_received, pl);
}

void pl_poll_more(struct pipeline *p)
{
	unsigned i;

	for (i = 0; i < p->npollers; i++)
		start_poll(&p->pollers[i]);
}

/* ---- the state machine -------------------------------------------------- */

void pl_msg_enter(struct msg *m, enum msg_state s)
{
	struct pipeline *p = m->p;

	log_debug("message %s: %s -> %s", m->sm.message_id, state_names[m->state], state_names[s]);
	m->state = s;
	if ((s == MS_DELETE_WAIT || s == MS_RELEASE_WAIT) && m->inq == &p->heartbeats) {
		pl_q_remove(&p->heartbeats, m);
		m->heartbeat_inflight = false;
	}
	switch (s) {
	case MS_DELETE_WAIT:
		/* Stored (or dead-lettered): no more heartbeats, delete next. */
		loop_timer_cancel(m->heartbeat);
		pl_q_push(&p->deletes, m);
		pl_schedule_flush(p);
		break;
	case MS_RELEASE_WAIT:
		loop_timer_cancel(m->heartbeat);
		pl_q_push(&p->releases, m);
		pl_schedule_flush(p);
		break;
	case MS_DONE:
		msg_free(m);
		pl_check_finished(p);
		pl_poll_more(p);
		break;
	default:
		break;
	}
}

static bool idle(const struct pipeline *p)
{
	unsigned i;

	if (p->inflight || p->batches_inflight)
		return false;
	for (i = 0; i < p->npollers; i++)
		if (p->pollers[i].op)
			return false;
	return true;
}

static void finish(struct pipeline *p)
{
	unsigned i;

	if (p->finished)
		return;
	p->finished = true;
	for (i = 0; i < p->npollers; i++)
		loop_timer_cancel(p->pollers[i].backoff);
	loop_timer_cancel(p->shutdown_timer);
	if (p->o.on_finished)
		p->o.on_finished(p->o.arg);
}

void pl_check_finished(struct pipeline *p)
{
	if (p->finished || !p->started)
		return;
	if (p->stopping && idle(p))
		finish(p);
	else if (idle(p) && drained(p))
		finish(p);
}

/* shutdown_timeout ran out: whatever is still being written goes back to
 * the queue at once (visibility 0) for another consumer or the next start. */
static void on_shutdown_timeout(struct loop *l, void *arg)
{
	struct pipeline *p = arg;
	struct msg *m, *next;
	unsigned n = 0;

	(void)l;
	p->shutdown_expired = true;
	for (m = p->msgs; m; m = next) {
		next = m->next;
		if (!msg_working(m))
			continue;
		s3_cancel(m->put);
		m->put = NULL;
		sqs_cancel(m->send);
		m->send = NULL;
		summary_updater_cancel(m->sw);
		m->sw = NULL;
		status_query_cancel(m->query);
		m->query = NULL;
		sfn_cancel(m->sfn);
		m->sfn = NULL;
		m->release_visibility = 0;
		pl_msg_enter(m, MS_RELEASE_WAIT);
		n++;
	}
	log_notice("shutdown timeout: returning %u unfinished messages to the queue", n);
	pl_flush_batches(p);
	pl_check_finished(p);
}

/* ---- public API ----------------------------------------------------------- */

struct pipeline *pipeline_new(const struct pipeline_options *opt)
{
	struct pipeline *p = xcalloc(1, sizeof(*p));
	unsigned i;

	p->o = *opt;
	p->cfg = opt->cfg;
	p->loop = opt->loop;
	p->flush_timer = loop_timer_new(p->loop, pl_on_flush, p);
	p->shutdown_timer = loop_timer_new(p->loop, on_shutdown_timeout, p);
	buf_init(&p->scratch, 0);
	p->npollers = (unsigned)p->cfg->pollers;
	p->pollers = xcalloc(p->npollers, sizeof(*p->pollers));
	for (i = 0; i < p->npollers; i++) {
		p->pollers[i].p = p;
		p->pollers[i].backoff = loop_timer_new(p->loop, on_receive_backoff, &p->pollers[i]);
	}
	p->rules = (struct msg_rules){
		.statuses = (const char *const *)p->cfg->statuses.v,
		.nstatuses = p->cfg->statuses.n,
		.accounts = (const char *const *)p->cfg->accounts.v,
		.naccounts = p->cfg->accounts.n,
	};
	return p;
}

void pipeline_free(struct pipeline *p)
{
	unsigned i;

	if (!p)
		return;
	while (p->msgs)
		msg_free(p->msgs);
	for (i = 0; i < p->npollers; i++) {
		sqs_cancel(p->pollers[i].op);
		loop_timer_free(p->pollers[i].backoff);
	}
	free(p->pollers);
	while (p->nparked)
		free(p->parked[--p->nparked].message_id);
	free(p->parked);
	loop_timer_free(p->flush_timer);
	loop_timer_free(p->shutdown_timer);
	buf_free(&p->scratch);
	free(p);
}

void pipeline_start(struct pipeline *p)
{
	p->started = true;
	pl_poll_more(p);
}

void pipeline_stop(struct pipeline *p)
{
	unsigned i;

	if (p->stopping)
		return;
	p->stopping = true;
	log_notice("stopping: no new receives; %u messages in flight get up to %lld s",
		   p->inflight, (long long)p->cfg->shutdown_timeout);
	/* Abort the long polls now. A message SQS handed out in that instant
	 * stays invisible until its timeout and is then redelivered. */
	for (i = 0; i < p->npollers; i++) {
		sqs_cancel(p->pollers[i].op);
		p->pollers[i].op = NULL;
		p->pollers[i].reserved = 0;
		loop_timer_cancel(p->pollers[i].backoff);
	}
	pl_flush_batches(p);
	if (p->o.summary)
		summary_updater_flush(p->o.summary);
	loop_timer_arm(p->shutdown_timer, p->cfg->shutdown_timeout * 1000);
	pl_check_finished(p);
}

const struct pipeline_stats *pipeline_stats(const struct pipeline *p)
{
	return &p->stats;
}
