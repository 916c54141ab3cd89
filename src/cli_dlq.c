/* cli_dlq.c - s3status dlq redrive: dead letters go back to the source queue
 * (their body only, without the s3statusd.* attributes), each deleted from
 * the dead-letter queue only after its send succeeded. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define RECEIVE_WAIT_S 1
#define RECEIVE_VISIBILITY_S 300 /* longer than any run: nothing is received twice */
#define EMPTY_RECEIVES 2

struct slot {
	struct redrive *rd;
	struct sqs_message m;
	bool sent;
};

struct redrive {
	struct app *a;
	int64_t max, moved, send_failed, delete_failed;
	struct slot slots[10];
	size_t n;
	size_t outstanding;
	bool done;
	char *error; /* the first failure of the round */
};

static void set_error(struct redrive *rd, const char *what, const struct aws_response *resp)
{
	char *d;

	if (rd->error)
		return;
	d = aws_error_describe(&resp->err);
	rd->error = xasprintf("%s: %s", what, d);
	free(d);
}

static void on_receive(struct sqs_result *r, void *arg)
{
	struct redrive *rd = arg;
	const struct sqs_message *m;
	size_t i;

	rd->done = true;
	if (!r->resp->ok) {
		set_error(rd, "ReceiveMessage (dlq_url)", r->resp);
		return;
	}
	for (i = 0; i < r->nmessages && i < ARRAY_SIZE(rd->slots); i++) {
		m = &r->messages[i];
		rd->slots[i] = (struct slot){
			.rd = rd,
			.m = {.message_id = xstrdup(m->message_id),
			      .receipt_handle = xstrdup(m->receipt_handle),
			      .body = xstrndup(m->body, m->body_len), .body_len = m->body_len},
		};
	}
	rd->n = i;
}

static void on_sent(struct sqs_result *r, void *arg)
{
	struct slot *s = arg;

	s->sent = r->resp->ok;
	if (!s->sent) {
		s->rd->send_failed++;
		set_error(s->rd, "SendMessage (queue_url)", r->resp);
	}
	if (--s->rd->outstanding == 0)
		s->rd->done = true;
}

static void on_deleted(struct sqs_result *r, void *arg)
{
	struct redrive *rd = arg;
	size_t i;

	for (i = 0; i < r->nentries; i++) {
		if (r->entries[i].ok || sqs_code_is_gone(r->entries[i].code))
			continue;
		rd->delete_failed++;
		if (!rd->error)
			rd->error = xasprintf("DeleteMessageBatch (dlq_url): %s: %s",
					      r->entries[i].code, r->entries[i].message);
	}
	rd->done = true;
}

static void round_clear(struct redrive *rd)
{
	size_t i;

	for (i = 0; i < rd->n; i++)
		sqs_message_clear(&rd->slots[i].m);
	rd->n = 0;
}

/* One receive, its sends, then one delete of what was sent. Returns the
 * number of messages received, or -1 once something failed. */
static int redrive_round(struct redrive *rd)
{
	struct app *a = rd->a;
	struct sqs_receive_params rp = {
		.queue_url = a->dlq_url, .wait_time = RECEIVE_WAIT_S,
		.visibility_timeout = RECEIVE_VISIBILITY_S,
	};
	static const char *const ids[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
	struct sqs_batch_entry del[ARRAY_SIZE(rd->slots)];
	size_t i, ndel = 0;
	int64_t left = rd->max - rd->moved;

	rp.max_messages = left < 10 ? (int)left : 10;
	rd->done = false;
	sqs_receive(a->sqs, &rp, on_receive, rd);
	app_wait(a, &rd->done);
	if (rd->error || rd->n == 0)
		goto out;
	rd->done = false;
	rd->outstanding = rd->n;
	for (i = 0; i < rd->n; i++)
		sqs_send(a->sqs, a->queue_url, rd->slots[i].m.body, rd->slots[i].m.body_len, NULL, 0,
			 on_sent, &rd->slots[i]);
	app_wait(a, &rd->done);
	for (i = 0; i < rd->n; i++) {
		if (!rd->slots[i].sent)
			continue; /* stays in the DLQ, visible again after the timeout */
		del[ndel] = (struct sqs_batch_entry){.id = ids[i],
						     .receipt_handle = rd->slots[i].m.receipt_handle};
		ndel++;
	}
	rd->moved += (int64_t)ndel;
	if (ndel) {
		rd->done = false;
		sqs_delete_batch(a->sqs, a->dlq_url, del, ndel, on_deleted, rd);
		app_wait(a, &rd->done);
	}
out:
	i = rd->n;
	round_clear(rd);
	return rd->error ? -1 : (int)i;
}

/* Without dlq_url dead letters are S3 objects: count them. */
static int s3_dead_letters(struct app *a, bool json)
{
	struct strlist keys = {0};
	struct buf prefix, err;
	char *cut;
	int rc = EXIT_FAILURE_RUNTIME;

	buf_init(&prefix, 0);
	buf_init(&err, 4096);
	layout_dead_letter_key(&prefix, a->cfg.prefix, 0, "x");
	cut = strstr(prefix.data, "DEAD_LETTER/");
	prefix.len = (size_t)(cut - prefix.data) + strlen("DEAD_LETTER/");
	prefix.data[prefix.len] = '\0';
	if (cli_s3_list(a, buf_str(&prefix), &keys, &err) < 0) {
		fprintf(stderr, "s3status: dlq: %s\n", buf_str(&err));
		goto out;
	}
	if (json)
		printf("{\"dlq_url\":null,\"s3_dead_letters\":%zu,\"moved\":0}\n", keys.n);
	else
		printf("no dlq_url: %zu dead letter%s in s3://%s/%s\n", keys.n, keys.n == 1 ? "" : "s",
		       a->cfg.bucket, buf_str(&prefix));
	if (keys.n) {
		fprintf(stderr, "s3status: dlq redrive: dead letters stored in S3 are not redriven "
				"(each object holds the original message in \"body\" or \"body_text\")\n");
		goto out;
	}
	rc = 0;
out:
	strlist_free(&keys);
	buf_free(&prefix);
	buf_free(&err);
	return rc;
}

int cli_dlq(struct app *a, const struct strlist *pos, const struct strlist *x)
{
	const char *max = config_extra(x, "max");
	bool json = config_extra(x, "json") != NULL;
	struct redrive rd = {.a = a, .max = INT64_MAX};
	struct buf o;
	int empty = 0, got, rc = EXIT_CONFIG;

	if (pos->n != 2 || strcmp(pos->v[1], "redrive") != 0) {
		fprintf(stderr, "s3status: dlq: usage: s3status dlq redrive [--max N] [--json]\n");
		goto out;
	}
	if (max && parse_i64(max, 1, 1000000000, &rd.max) < 0) {
		fprintf(stderr, "s3status: dlq: --max must be an integer from 1 to 1000000000\n");
		goto out;
	}
	if ((rc = app_resolve_queues(a)) != 0)
		goto out;
	if (!a->dlq_url) {
		rc = s3_dead_letters(a, json);
		goto out;
	}
	while (rd.moved < rd.max && empty < EMPTY_RECEIVES) {
		got = redrive_round(&rd);
		if (got < 0)
			break;
		empty = got == 0 ? empty + 1 : 0;
	}
	if (json) {
		buf_init(&o, 0);
		buf_adds(&o, "{\"dlq_url\":");
		cli_json_str(&o, a->dlq_url);
		buf_adds(&o, ",\"queue_url\":");
		cli_json_str(&o, a->queue_url);
		buf_addf(&o, ",\"moved\":%lld,\"failed\":%lld}\n", (long long)rd.moved,
			 (long long)(rd.send_failed + rd.delete_failed));
		fwrite(o.data, 1, o.len, stdout);
		buf_free(&o);
	} else {
		printf("moved %lld message%s from %s to %s\n", (long long)rd.moved,
		       rd.moved == 1 ? "" : "s", a->dlq_url, a->queue_url);
	}
	rc = 0;
	if (rd.error) {
		fprintf(stderr, "s3status: dlq redrive: %s\n", rd.error);
		rc = EXIT_FAILURE_RUNTIME;
	}
out:
	free(rd.error);
	return rc;
}
