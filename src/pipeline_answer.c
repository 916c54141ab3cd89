/* pipeline_answer.c - what happens between a stored record and its delete:
 * the summary.json write that must include it, the Step Functions answer
 * to its task token; and get-status, answered from S3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline_int.h"

/* ---- summary.json and Step Functions answers ----------------------------- */

void pl_on_sfn_answered(struct sfn_result *r, void *arg)
{
	struct msg *m = arg;
	char *why;

	m->sfn = NULL;
	if (r->outcome == SFN_OK) {
		pl_msg_enter(m, MS_DELETE_WAIT);
		return;
	}
	why = aws_error_describe(&r->resp->err);
	if (r->outcome == SFN_FINAL || m->error_code) {
		/* The task timed out or the token is unknown (final), or this was
		 * the SendTaskFailure of a dead letter that is stored already:
		 * logged, never retried. */
		log_warn("message %s: Step Functions answer not delivered (%s); not retried",
			 m->sm.message_id, why);
		free(why);
		pl_msg_enter(m, MS_DELETE_WAIT);
		return;
	}
	pl_set_reason(m, NULL, why);
	free(why);
	pl_give_up_or_park(m, "StepFunctionsError", "Step Functions SendTaskSuccess");
}

/* Send the Step Functions answer with output, then delete. */
static void answer(struct msg *m, const char *output, size_t len)
{
	struct pipeline *p = m->p;
	const char *bad;

	if (!m->st.task_token || m->token_dead || !p->o.sfn) {
		pl_msg_enter(m, MS_DELETE_WAIT);
		return;
	}
	if ((bad = sfn_check_token(m->st.task_token)) || (bad = sfn_check_output(output, len))) {
		log_warn("message %s: cannot answer Step Functions: %s", m->sm.message_id, bad);
		pl_msg_enter(m, MS_DELETE_WAIT);
		return;
	}
	pl_msg_enter(m, MS_ANSWERING);
	m->sfn = sfn_task_success(p->o.sfn, m->st.task_token, output, len, pl_on_sfn_answered, m);
}

static void answer_stored(struct msg *m)
{
	struct buf out;

	buf_init(&out, SFN_MAX_OUTPUT);
	sfn_success_output(&out, buf_str(&m->key), m->st.status, m->st.batch_id, m->st.task_id);
	answer(m, buf_str(&out), out.len);
	buf_free(&out);
}

static void on_summary_done(void *arg, bool ok, const char *error)
{
	struct msg *m = arg;
	char *why;

	m->sw = NULL;
	if (ok) {
		answer_stored(m);
		return;
	}
	why = xasprintf("summary.json update failed: %s", error ? error : "unknown error");
	pl_set_reason(m, NULL, why);
	free(why);
	pl_give_up_or_park(m, "S3Error", "summary.json update");
}

/* The record is stored: fold it into summary.json, answer Step Functions,
 * and only then delete. */
void pl_after_stored(struct msg *m)
{
	struct pipeline *p = m->p;

	if (p->o.summary) {
		m->sw = summary_updater_add(p->o.summary, &m->st, m->sm.message_id, on_summary_done,
					    m);
		if (m->sw) {
			pl_msg_enter(m, MS_SUMMARIZING);
			return;
		}
	}
	answer_stored(m);
}

static void on_query_done(struct status_answer *a, void *arg)
{
	struct msg *m = arg;
	struct buf out;

	m->query = NULL;
	if (!a->ok) {
		pl_set_reason(m, NULL, a->error ? a->error : "status lookup failed");
		pl_give_up_or_park(m, "S3Error", "get-status lookup");
		return;
	}
	buf_init(&out, SFN_MAX_OUTPUT);
	if (status_answer_json(&out, m->st.batch_id, m->st.task_id, a) < 0) {
		buf_free(&out);
		pl_set_reason(m, "TooLarge", "the get-status answer exceeds the Step Functions output limit");
		pl_start_dead_letter(m);
		return;
	}
	answer(m, buf_str(&out), out.len);
	buf_free(&out);
}

/* get-status: read the current state from S3 and answer the task token.
 * Without a token nobody is waiting for the answer. */
void pl_start_query(struct msg *m)
{
	struct pipeline *p = m->p;
	struct status_query_params qp = {
		.s3 = p->o.s3, .bucket = p->cfg->bucket, .prefix = p->cfg->prefix,
		.batch_id = m->st.batch_id, .task_id = m->st.task_id,
	};

	if (!m->st.task_token) {
		log_info("message %s: get-status without a task token has nobody to answer; deleting",
			 m->sm.message_id);
		pl_msg_enter(m, MS_DELETE_WAIT);
		return;
	}
	pl_msg_enter(m, MS_QUERYING);
	m->query = status_query_start(&qp, on_query_done, m);
	if (!m->query) {
		pl_set_reason(m, "InvalidField", "the identifiers cannot form an S3 key");
		pl_start_dead_letter(m);
	}
}

void pl_on_sfn_heartbeat(struct sfn_result *r, void *arg)
{
	struct msg *m = arg;

	m->sfn_heartbeat = NULL;
	if (r->outcome == SFN_FINAL) {
		log_warn("message %s: Step Functions task is gone (%s); it will not be answered",
			 m->sm.message_id, r->resp->err.code ? r->resp->err.code : "?");
		m->token_dead = true;
	}
}
