/* pipeline_batch.c - the pipeline's SQS batches: deletes, visibility
 * releases and visibility heartbeats, collected for a few milliseconds and
 * sent ten at a time, with per-entry results fed back to each message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline_int.h"

void pl_q_push(struct msgq *q, struct msg *m)
{
	m->qnext = NULL;
	m->inq = q;
	if (q->tail)
		q->tail->qnext = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
}

static struct msg *q_pop(struct msgq *q)
{
	struct msg *m = q->head;

	if (!m)
		return NULL;
	q->head = m->qnext;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	m->qnext = NULL;
	m->inq = NULL;
	return m;
}

void pl_q_remove(struct msgq *q, struct msg *m)
{
	struct msg **pp;

	for (pp = &q->head; *pp; pp = &(*pp)->qnext) {
		if (*pp == m) {
			*pp = m->qnext;
			if (q->tail == m) {
				struct msg *t = q->head;
				while (t && t->qnext)
					t = t->qnext;
				q->tail = t;
			}
			q->n--;
			m->qnext = NULL;
			m->inq = NULL;
			return;
		}
	}
}

/* ---- heartbeats --------------------------------------------------------- */

int64_t pl_heartbeat_period_ms(const struct pipeline *p)
{
	int64_t ms = p->cfg->visibility_timeout * 1000 / 2;

	return ms < HEARTBEAT_MIN_MS ? HEARTBEAT_MIN_MS : ms;
}

/* The visibility to ask for now, never past 12 hours after the first receive. */
static int heartbeat_extension_s(const struct msg *m)
{
	int64_t vis = m->p->cfg->visibility_timeout;
	int64_t used = (clock_wall_ms() - m->first_wall_ms) / 1000;
	int64_t left = MAX_VISIBILITY_S - used;

	if (vis < 1)
		vis = 1;
	if (left < vis)
		vis = left;
	return vis < 0 ? 0 : (int)vis;
}


void pl_on_heartbeat(struct loop *l, void *arg)
{
	struct msg *m = arg;

	(void)l;
	/* The same timer paces delete retries: no heartbeat is due once stored. */
	if (m->state == MS_DELETE_RETRY) {
		pl_msg_enter(m, MS_DELETE_WAIT);
		return;
	}
	if (!msg_working(m))
		return;
	if (m->heartbeat_inflight || heartbeat_extension_s(m) <= 0)
		return;
	m->heartbeat_inflight = true;
	pl_q_push(&m->p->heartbeats, m);
	pl_schedule_flush(m->p);
}

/* ---- batches: deletes, releases, heartbeats ------------------------------ */

struct batch_ctx {
	struct pipeline *p;
	enum { B_DELETE, B_RELEASE, B_HEARTBEAT } kind;
	struct msg *m[BATCH_MAX];
	size_t n;
	/* the message id each entry carried, to find it again safely */
	char *ids[BATCH_MAX];
};

static struct msg *batch_msg(struct batch_ctx *b, size_t i)
{
	/* The message may have finished meanwhile (freed): look it up again. */
	struct msg *m = pl_msg_find(b->p, b->ids[i]);

	return m == b->m[i] ? m : NULL;
}

static void on_batch_done(struct sqs_result *r, void *arg)
{
	struct batch_ctx *b = arg;
	struct pipeline *p = b->p;
	size_t i;

	p->batches_inflight--;
	for (i = 0; i < b->n; i++) {
		struct msg *m = batch_msg(b, i);
		const struct sqs_entry_result *e = i < r->nentries ? &r->entries[i] : NULL;
		bool ok = e && e->ok;
		bool gone = e && !e->ok && sqs_code_is_gone(e->code);

		free(b->ids[i]);
		if (!m)
			continue;
		switch (b->kind) {
		case B_DELETE:
			if (ok || gone) {
				if (gone)
					log_info("message %s: delete answered %s; the message is already gone or was received again",
						 m->sm.message_id, e->code);
				p->stats.deleted++;
				metrics_histogram_observe_ms(&p->stats.receive_to_delete,
							     loop_now(p->loop) - m->received_mono);
				pl_msg_enter(m, MS_DONE);
			} else if (++m->delete_tries >= DELETE_MAX_TRIES) {
				/* Stored already: if it reappears it is stored again
				 * under the same key with the same content. */
				log_warn("message %s: delete failed %d times (%s); it will be redelivered and rewritten",
					 m->sm.message_id, m->delete_tries, e ? e->code : "?");
				pl_msg_enter(m, MS_DONE);
			} else {
				int64_t delay = retry_backoff_ms(p->o.retry, m->delete_tries);

				log_info("message %s: delete failed (%s), retrying in %lld ms",
					 m->sm.message_id, e ? e->code : "?", (long long)delay);
				pl_msg_enter(m, MS_DELETE_RETRY);
				loop_timer_arm(m->heartbeat, delay);
			}
			break;
		case B_RELEASE:
			if (!ok && !gone)
				log_warn("message %s: could not change its visibility (%s); it reappears after its timeout",
					 m->sm.message_id, e ? e->code : "?");
			p->stats.released++;
			pl_msg_enter(m, MS_DONE);
			break;
		case B_HEARTBEAT:
			m->heartbeat_inflight = false;
			if (!ok && !gone)
				log_warn("message %s: visibility heartbeat failed (%s)", m->sm.message_id,
					 e ? e->code : "?");
			if (msg_working(m))
				loop_timer_arm(m->heartbeat, pl_heartbeat_period_ms(p));
			break;
		}
	}
	free(b);
	pl_check_finished(p);
	pl_poll_more(p);
}

static void send_batch(struct pipeline *p, struct msgq *q, int kind)
{
	struct sqs_batch_entry e[BATCH_MAX];
	struct batch_ctx *b;
	struct msg *m;

	while (q->n > 0) {
		b = xcalloc(1, sizeof(*b));
		b->p = p;
		b->kind = kind;
		while (b->n < BATCH_MAX && (m = q_pop(q)) != NULL) {
			/* Entry ids are unique per request even when one message
			 * was received twice: they come from a counter. */
			snprintf(m->batch_id, sizeof(m->batch_id), "e%llu",
				 (unsigned long long)++p->batch_seq);
			e[b->n] = (struct sqs_batch_entry){
				.id = m->batch_id,
				.receipt_handle = m->sm.receipt_handle,
				.visibility_timeout = kind == B_RELEASE ? m->release_visibility
						      : heartbeat_extension_s(m),
			};
			b->m[b->n] = m;
			b->ids[b->n] = xstrdup(m->sm.message_id);
			if (kind == B_DELETE)
				pl_msg_enter(m, MS_DELETING);
			else if (kind == B_RELEASE)
				pl_msg_enter(m, MS_RELEASING);
			b->n++;
		}
		p->batches_inflight++;
		if (kind == B_DELETE)
			sqs_delete_batch(p->o.sqs, p->o.queue_url, e, b->n, on_batch_done, b);
		else
			sqs_change_visibility_batch(p->o.sqs, p->o.queue_url, e, b->n,
						    on_batch_done, b);
	}
}

void pl_flush_batches(struct pipeline *p)
{
	send_batch(p, &p->deletes, B_DELETE);
	send_batch(p, &p->releases, B_RELEASE);
	send_batch(p, &p->heartbeats, B_HEARTBEAT);
}

void pl_on_flush(struct loop *l, void *arg)
{
	(void)l;
	pl_flush_batches(arg);
}

void pl_schedule_flush(struct pipeline *p)
{
	if (p->deletes.n >= BATCH_MAX || p->releases.n >= BATCH_MAX ||
	    p->heartbeats.n >= BATCH_MAX || p->stopping) {
		loop_timer_arm(p->flush_timer, 0);
		return;
	}
	if (!loop_timer_armed(p->flush_timer))
		loop_timer_arm(p->flush_timer, DELETE_LINGER_MS);
}
