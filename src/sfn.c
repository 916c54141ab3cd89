/* sfn.c - Step Functions SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat:
 * limits checked or enforced before sending, request bodies written with the
 * strict JSON writer, answers classified as ok, final or failed. */
#include "sfn.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

#define SFN_TIMEOUT_MS 15000
#define SFN_MAX_ANSWER (64u * 1024)
#define TRUNCATED " ... [truncated]"

struct sfn {
	struct aws_client *c;
	struct aws_endpoint ep;
};

enum sfn_kind { OP_SUCCESS, OP_FAILURE, OP_HEARTBEAT };

static const char *const targets[] = {
	[OP_SUCCESS] = "AWSStepFunctions.SendTaskSuccess",
	[OP_FAILURE] = "AWSStepFunctions.SendTaskFailure",
	[OP_HEARTBEAT] = "AWSStepFunctions.SendTaskHeartbeat",
};

struct sfn_op {
	sfn_cb cb;
	void *arg;
	struct buf body; /* holds the task token: wiped on free */
	struct aws_call *call;
};

struct sfn *sfn_new(struct aws_client *c, const struct aws_endpoint *ep)
{
	struct sfn *s = xcalloc(1, sizeof(*s));

	s->c = c;
	s->ep.scheme = xstrdup(ep->scheme);
	s->ep.host = xstrdup(ep->host);
	s->ep.path = xstrdup(ep->path);
	return s;
}

void sfn_free(struct sfn *s)
{
	if (!s)
		return;
	aws_endpoint_free(&s->ep);
	free(s);
}

const char *sfn_outcome_name(enum sfn_outcome o)
{
	static const char *const names[] = {"ok", "final", "failed"};

	return (unsigned)o < ARRAY_SIZE(names) ? names[o] : "?";
}

const char *sfn_check_token(const char *token)
{
	size_t n = token ? strlen(token) : 0, i;

	if (n == 0)
		return "task token is empty";
	if (n > SFN_MAX_TOKEN)
		return "task token is longer than 2048 bytes";
	if (!json_utf8_valid(token, n))
		return "task token is not valid UTF-8";
	for (i = 0; i < n; i++)
		if ((unsigned char)token[i] < 0x20 || token[i] == 0x7F)
			return "task token contains a control character";
	return NULL;
}

const char *sfn_check_output(const char *output, size_t len)
{
	const struct json_limits lim = {.max_depth = JSON_DEFAULT_MAX_DEPTH};

	if (!output || len > SFN_MAX_OUTPUT)
		return "output is larger than 256 KiB";
	if (json_validate(output, len, &lim, NULL) != JSON_OK)
		return "output is not valid JSON";
	return NULL;
}

int sfn_truncate(struct buf *out, const char *s, size_t n, size_t max, const char *marker)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t mlen = marker ? strlen(marker) : 0, start = out->len, i = 0, k, bad, cut;
	struct buf clean;
	int rc = -1;

	/* Valid UTF-8 first (invalid sequences as U+FFFD), then cut on a boundary. */
	buf_init(&clean, 0);
	buf_add(&clean, "", 0);
	while (i < n) {
		k = json_utf8_seq(p + i, n - i, &bad);
		buf_add(&clean, k ? (const char *)p + i : "\xEF\xBF\xBD", k ? k : 3);
		i += k ? k : bad;
	}
	if (clean.len <= max) {
		rc = buf_add(out, clean.data, clean.len);
		goto out;
	}
	if (mlen > max)
		mlen = 0; /* no room for the marker: cut plainly */
	cut = max - mlen;
	while (cut > 0 && (clean.data[cut] & 0xC0) == 0x80)
		cut--; /* never split a character */
	if (buf_add(out, clean.data, cut) < 0 || buf_add(out, marker ? marker : "", mlen) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	buf_free(&clean);
	return rc;
}

int sfn_success_output(struct buf *out, const char *s3_key, const char *status,
		       const char *batch_id, const char *task_id)
{
	int rc = 0;

	buf_reset(out);
	rc |= buf_adds(out, "{\"s3_key\":");
	rc |= json_write_string(out, s3_key, strlen(s3_key));
	rc |= buf_adds(out, ",\"status\":");
	rc |= json_write_string(out, status, strlen(status));
	rc |= buf_adds(out, ",\"batch_id\":");
	rc |= json_write_string(out, batch_id, strlen(batch_id));
	rc |= buf_adds(out, ",\"task_id\":");
	rc |= task_id ? json_write_string(out, task_id, strlen(task_id)) : buf_adds(out, "null");
	rc |= buf_addc(out, '}');
	if (rc) {
		buf_reset(out);
		return -1;
	}
	return 0;
}

static void op_free(struct sfn_op *op)
{
	if (op->body.data)
		secure_wipe(op->body.data, op->body.len);
	buf_free(&op->body);
	free(op);
}

void sfn_cancel(struct sfn_op *op)
{
	if (!op)
		return;
	aws_call_cancel(op->call);
	op_free(op);
}

static bool is_final(const char *code)
{
	static const char *const final[] = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"};
	size_t i;

	for (i = 0; code && i < ARRAY_SIZE(final); i++)
		if (strcmp(code, final[i]) == 0)
			return true;
	return false;
}

static void on_done(struct aws_response *resp, void *arg)
{
	struct sfn_op *op = arg;
	struct sfn_result r = {.outcome = SFN_OK, .resp = resp};

	if (!resp->ok) {
		r.outcome = is_final(resp->err.code) ? SFN_FINAL : SFN_FAILED;
		r.retryable = r.outcome == SFN_FAILED &&
			      (resp->err.cls == ERR_THROTTLE || resp->err.cls == ERR_TRANSIENT);
	}
	op->call = NULL;
	op->cb(&r, op->arg);
	op_free(op);
}

/* op->body holds the request; send it. */
static struct sfn_op *start(struct sfn *s, enum sfn_kind kind, struct sfn_op *op)
{
	const struct sigv4_kv headers[] = {
		{"Content-Type", "application/x-amz-json-1.0"},
		{"X-Amz-Target", targets[kind]},
	};
	struct aws_request ar = {
		.service = "states", .method = "POST", .endpoint = &s->ep, .path = "/",
		.headers = headers, .nheaders = ARRAY_SIZE(headers), .body = op->body.data,
		.body_len = op->body.len, .timeout_ms = SFN_TIMEOUT_MS,
		.max_response = SFN_MAX_ANSWER,
	};

	op->call = aws_call_start(s->c, &ar, on_done, op);
	return op;
}

/* A new op whose body starts {"taskToken":"..."; NULL for a bad token. */
static struct sfn_op *op_new(const char *token, sfn_cb cb, void *arg)
{
	struct sfn_op *op;

	if (sfn_check_token(token))
		return NULL;
	op = xcalloc(1, sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	buf_init_secret(&op->body, 0); /* it holds the task token */
	buf_adds(&op->body, "{\"taskToken\":");
	json_write_string(&op->body, token, strlen(token));
	return op;
}

struct sfn_op *sfn_task_success(struct sfn *s, const char *token, const char *output,
				size_t output_len, sfn_cb cb, void *arg)
{
	struct sfn_op *op;

	if (sfn_check_output(output, output_len) || !(op = op_new(token, cb, arg)))
		return NULL;
	buf_adds(&op->body, ",\"output\":");
	json_write_string(&op->body, output, output_len);
	buf_addc(&op->body, '}');
	return start(s, OP_SUCCESS, op);
}

struct sfn_op *sfn_task_failure(struct sfn *s, const char *token, const char *error,
				const char *cause, sfn_cb cb, void *arg)
{
	struct sfn_op *op = op_new(token, cb, arg);
	struct buf t;

	if (!op)
		return NULL;
	buf_init(&t, 0);
	if (error) {
		sfn_truncate(&t, error, strlen(error), SFN_MAX_ERROR, NULL);
		buf_adds(&op->body, ",\"error\":");
		json_write_string(&op->body, buf_str(&t), t.len);
	}
	if (cause) {
		buf_reset(&t);
		sfn_truncate(&t, cause, strlen(cause), SFN_MAX_CAUSE, TRUNCATED);
		buf_adds(&op->body, ",\"cause\":");
		json_write_string(&op->body, buf_str(&t), t.len);
	}
	buf_free(&t);
	buf_addc(&op->body, '}');
	return start(s, OP_FAILURE, op);
}

struct sfn_op *sfn_task_heartbeat(struct sfn *s, const char *token, sfn_cb cb, void *arg)
{
	struct sfn_op *op = op_new(token, cb, arg);

	if (!op)
		return NULL;
	buf_addc(&op->body, '}');
	return start(s, OP_HEARTBEAT, op);
}
