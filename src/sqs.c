/* sqs.c - SQS JSON-protocol requests built with json-c and their answers
 * parsed into struct sqs_result. */
#include "sqs.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SQS_TIMEOUT_MS 15000
/* Ten messages of up to 1 MiB each, JSON-escaped, plus attributes. */
#define SQS_MAX_RECEIVE (24u * 1024 * 1024)
#define SQS_MAX_ANSWER (256u * 1024)

struct sqs {
	struct aws_client *c;
	struct aws_endpoint ep;
};

enum sqs_kind { OP_RECEIVE, OP_DELETE, OP_VISIBILITY, OP_SEND, OP_GET_URL, OP_CHECK };

struct sqs_op {
	struct sqs *s;
	enum sqs_kind kind;
	sqs_cb cb;
	void *arg;
	char *body;
	/* batch entry ids in request order */
	char **ids;
	size_t nids;
	struct aws_call *call;
};

static const char *const targets[] = {
	[OP_RECEIVE] = "AmazonSQS.ReceiveMessage",
	[OP_DELETE] = "AmazonSQS.DeleteMessageBatch",
	[OP_VISIBILITY] = "AmazonSQS.ChangeMessageVisibilityBatch",
	[OP_SEND] = "AmazonSQS.SendMessage",
	[OP_GET_URL] = "AmazonSQS.GetQueueUrl",
	[OP_CHECK] = "AmazonSQS.GetQueueAttributes",
};

struct sqs *sqs_new(struct aws_client *c, const struct aws_endpoint *ep)
{
	struct sqs *s = xcalloc(1, sizeof(*s));

	s->c = c;
	s->ep.scheme = xstrdup(ep->scheme);
	s->ep.host = xstrdup(ep->host);
	s->ep.path = xstrdup(ep->path);
	return s;
}

void sqs_free(struct sqs *s)
{
	if (!s)
		return;
	aws_endpoint_free(&s->ep);
	free(s);
}

void sqs_message_clear(struct sqs_message *m)
{
	free(m->message_id);
	free(m->receipt_handle);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

bool sqs_code_is_gone(const char *code)
{
	static const char *const gone[] = {
		"ReceiptHandleIsInvalid", "InvalidReceiptHandle", "MessageNotInflight",
		"AWS.SimpleQueueService.MessageNotInflight", "InvalidParameterValue",
	};
	size_t i;

	if (!code)
		return false;
	for (i = 0; i < ARRAY_SIZE(gone); i++)
		if (strcmp(code, gone[i]) == 0)
			return true;
	return false;
}

static void op_free(struct sqs_op *op)
{
	size_t i;

	for (i = 0; i < op->nids; i++)
		free(op->ids[i]);
	free(op->ids);
	free(op->body);
	free(op);
}

void sqs_cancel(struct sqs_op *op)
{
	if (!op)
		return;
	aws_call_cancel(op->call);
	op_free(op);
}

static void result_free(struct sqs_result *r)
{
	size_t i;

	for (i = 0; i < r->nmessages; i++)
		sqs_message_clear(&r->messages[i]);
	free(r->messages);
	for (i = 0; i < r->nentries; i++) {
		free(r->entries[i].code);
		free(r->entries[i].message);
	}
	free(r->entries);
	free(r->value);
}

static const char *jstr(struct json_object *o, const char *key, size_t *len)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static int64_t jattr_i64(struct json_object *attrs, const char *key, int64_t dflt)
{
	const char *s = jstr(attrs, key, NULL);
	int64_t v;

	return s && parse_i64(s, 0, INT64_MAX, &v) == 0 ? v : dflt;
}

static int parse_messages(struct json_object *root, struct sqs_result *r)
{
	struct json_object *arr, *m, *attrs;
	const char *id, *rh, *body;
	size_t i, n, blen;

	if (!json_object_object_get_ex(root, "Messages", &arr))
		return 0; /* empty receive */
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	if (n > 10)
		return -1;
	r->messages = xcalloc(n, sizeof(*r->messages));
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(arr, i);
		id = jstr(m, "MessageId", NULL);
		rh = jstr(m, "ReceiptHandle", NULL);
		body = jstr(m, "Body", &blen);
		if (!id || !rh || !body || !*id || !*rh)
			return -1;
		if (!json_object_object_get_ex(m, "Attributes", &attrs))
			attrs = NULL;
		r->messages[r->nmessages++] = (struct sqs_message){
			.message_id = xstrdup(id),
			.receipt_handle = xstrdup(rh),
			.body = xstrndup(body, blen),
			.body_len = blen,
			.receive_count = jattr_i64(attrs, "ApproximateReceiveCount", 1),
			.sent_ms = jattr_i64(attrs, "SentTimestamp", 0),
			.first_receive_ms = jattr_i64(attrs, "ApproximateFirstReceiveTimestamp", 0),
		};
	}
	return 0;
}

/* A peer's batch-entry code or message, bounded and one printable line (it is
 * logged; a code is also compared and counted): a code keeps A-Z a-z 0-9 .
 * _ : - (others become '_', "Failed" when empty), a message printable ASCII
 * (others become '?' or spaces). */
static char *peer_text(const char *s, size_t max, bool code)
{
	size_t n = s ? strnlen(s, max) : 0, i;
	char *out;

	if (code && n == 0)
		return xstrdup("Failed");
	out = xstrndup(s ? s : "", n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		if (code && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-'))
			out[i] = '_';
		else if (!code && (c < 0x20 || c >= 0x7F))
			out[i] = c < 0x20 ? ' ' : '?';
	}
	return out;
}

static int parse_batch(struct json_object *root, struct sqs_op *op, struct sqs_result *r)
{
	struct json_object *arr, *e, *sf;
	const char *id;
	size_t i, j, n;

	r->entries = xcalloc(op->nids ? op->nids : 1, sizeof(*r->entries));
	r->nentries = op->nids;
	/* Every entry must be accounted for: those in neither list are failures. */
	for (i = 0; i < op->nids; i++) {
		r->entries[i].code = xstrdup("MissingFromAnswer");
		r->entries[i].message = xstrdup("entry absent from the batch answer");
	}
	if (json_object_object_get_ex(root, "Successful", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			id = jstr(json_object_array_get_idx(arr, i), "Id", NULL);
			for (j = 0; id && j < op->nids; j++) {
				if (strcmp(op->ids[j], id) == 0) {
					r->entries[j].ok = true;
					free(r->entries[j].code);
					free(r->entries[j].message);
					r->entries[j].code = r->entries[j].message = NULL;
				}
			}
		}
	}
	if (json_object_object_get_ex(root, "Failed", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(arr, i);
			id = jstr(e, "Id", NULL);
			for (j = 0; id && j < op->nids; j++) {
				if (strcmp(op->ids[j], id) != 0)
					continue;
				r->entries[j].ok = false;
				free(r->entries[j].code);
				free(r->entries[j].message);
				r->entries[j].code = peer_text(jstr(e, "Code", NULL), 128, true);
				r->entries[j].message = peer_text(jstr(e, "Message", NULL), 256, false);
				r->entries[j].sender_fault =
					json_object_object_get_ex(e, "SenderFault", &sf) &&
					json_object_get_boolean(sf);
			}
		}
	}
	return 0;
}

/* Every entry of a batch fails the same way when the whole call failed. */
static void fail_entries(const struct sqs_op *op, struct sqs_result *r, const char *code,
			 const char *msg)
{
	size_t i;

	if (op->kind != OP_DELETE && op->kind != OP_VISIBILITY)
		return;
	r->entries = xcalloc(op->nids ? op->nids : 1, sizeof(*r->entries));
	r->nentries = op->nids;
	for (i = 0; i < op->nids; i++) {
		r->entries[i].code = xstrdup(code ? code : "Error");
		r->entries[i].message = xstrdup(msg ? msg : "");
	}
}

static int parse_answer(struct sqs_op *op, const char *body, size_t len, struct sqs_result *r)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	struct json_object *root = NULL;
	const char *v;
	int rc = -1;

	if (!len) {
		body = "{}";
		len = 2;
	}
	if (tok && len <= INT32_MAX)
		root = json_tokener_parse_ex(tok, body, (int)len);
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_object)) {
		r->parse_error = "answer is not a JSON object";
		goto out;
	}
	switch (op->kind) {
	case OP_RECEIVE:
		if (parse_messages(root, r) < 0) {
			r->parse_error = "malformed ReceiveMessage answer";
			goto out;
		}
		break;
	case OP_DELETE:
	case OP_VISIBILITY:
		parse_batch(root, op, r);
		break;
	case OP_SEND:
	case OP_GET_URL:
		v = jstr(root, op->kind == OP_SEND ? "MessageId" : "QueueUrl", NULL);
		if (!v) {
			r->parse_error = "answer lacks the expected field";
			goto out;
		}
		r->value = xstrdup(v);
		break;
	case OP_CHECK:
		break;
	}
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

int sqs_parse_answer(const char *target, const char *body, size_t len, const char *const *ids,
		     size_t nids, struct sqs_result *r)
{
	struct sqs_op op = {.ids = (char **)ids, .nids = nids, .kind = OP_CHECK};
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < ARRAY_SIZE(targets); i++)
		if (strcmp(targets[i] + strlen("AmazonSQS."), target) == 0)
			op.kind = (enum sqs_kind)i;
	return parse_answer(&op, body, len, r);
}

void sqs_result_clear(struct sqs_result *r)
{
	result_free(r);
	memset(r, 0, sizeof(*r));
}

static void on_done(struct aws_response *resp, void *arg);

/* max_attempts 0: the retry policy's default. */
static struct sqs_op *op_start_n(struct sqs *s, enum sqs_kind kind, struct json_object *req,
				 size_t max_response, long timeout_ms, int max_attempts, sqs_cb cb,
				 void *arg);

static void on_done(struct aws_response *resp, void *arg)
{
	struct sqs_op *op = arg;
	struct sqs_result r = {0};
	const char *why;

	r.resp = resp;
	if (!resp->ok) {
		fail_entries(op, &r, resp->err.code, resp->err.message);
	} else if (parse_answer(op, resp->http ? resp->http->body.data : NULL,
				resp->http ? resp->http->body.len : 0, &r) < 0) {
		/* A 2xx we cannot read: report it as a transient service fault. */
		why = r.parse_error;
		result_free(&r);
		memset(&r, 0, sizeof(r));
		r.resp = resp;
		r.parse_error = why;
		resp->ok = false;
		aws_error_clear(&resp->err);
		resp->err.http_status = resp->status;
		resp->err.cls = ERR_TRANSIENT;
		resp->err.code = xstrdup("MalformedAnswer");
		resp->err.message = xstrdup(why);
		fail_entries(op, &r, "MalformedAnswer", why);
	}
	op->call = NULL;
	op->cb(&r, op->arg);
	result_free(&r);
	op_free(op);
}

static struct sqs_op *op_start_n(struct sqs *s, enum sqs_kind kind, struct json_object *req,
				 size_t max_response, long timeout_ms, int max_attempts, sqs_cb cb,
				 void *arg)
{
	struct sqs_op *op = xcalloc(1, sizeof(*op));
	const struct sigv4_kv headers[] = {
		{"Content-Type", "application/x-amz-json-1.0"},
		{"X-Amz-Target", targets[kind]},
	};
	struct aws_request ar;

	op->s = s;
	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	op->body = xstrdup(json_object_to_json_string_ext(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(req);
	ar = (struct aws_request){
		.service = "sqs", .method = "POST", .endpoint = &s->ep, .path = "/",
		.headers = headers, .nheaders = ARRAY_SIZE(headers), .body = op->body,
		.body_len = strlen(op->body), .timeout_ms = timeout_ms,
		.max_response = max_response, .max_attempts = max_attempts,
	};
	op->call = aws_call_start(s->c, &ar, on_done, op);
	return op;
}

static struct sqs_op *op_start(struct sqs *s, enum sqs_kind kind, struct json_object *req,
			       size_t max_response, long timeout_ms, sqs_cb cb, void *arg)
{
	return op_start_n(s, kind, req, max_response, timeout_ms, 0, cb, arg);
}

static struct json_object *req_new(const char *queue_url)
{
	struct json_object *o = json_object_new_object();

	if (queue_url)
		json_object_object_add(o, "QueueUrl", json_object_new_string(queue_url));
	return o;
}

static struct json_object *str_array(const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

struct sqs_op *sqs_receive(struct sqs *s, const struct sqs_receive_params *p, sqs_cb cb,
			   void *arg)
{
	static const char *const all[] = {"All"};
	struct json_object *o = req_new(p->queue_url);

	json_object_object_add(o, "MaxNumberOfMessages", json_object_new_int(p->max_messages));
	json_object_object_add(o, "WaitTimeSeconds", json_object_new_int(p->wait_time));
	if (p->visibility_timeout >= 0)
		json_object_object_add(o, "VisibilityTimeout",
				       json_object_new_int(p->visibility_timeout));
	/* Both spellings: MessageSystemAttributeNames is current, AttributeNames older. */
	json_object_object_add(o, "MessageSystemAttributeNames", str_array(all, 1));
	json_object_object_add(o, "AttributeNames", str_array(all, 1));
	json_object_object_add(o, "MessageAttributeNames", str_array(all, 1));
	/* The long poll itself plus room for the answer. */
	/* One attempt: the pipeline backs off failed receives itself. */
	return op_start_n(s, OP_RECEIVE, o, SQS_MAX_RECEIVE, (long)p->wait_time * 1000 + 10000, 1,
			  cb, arg);
}

static struct sqs_op *batch(struct sqs *s, enum sqs_kind kind, const char *queue_url,
			    const struct sqs_batch_entry *e, size_t n, sqs_cb cb, void *arg)
{
	struct json_object *o = req_new(queue_url), *arr = json_object_new_array(), *ent;
	struct sqs_op *op;
	char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	size_t i;

	for (i = 0; i < n; i++) {
		ent = json_object_new_object();
		json_object_object_add(ent, "Id", json_object_new_string(e[i].id));
		json_object_object_add(ent, "ReceiptHandle", json_object_new_string(e[i].receipt_handle));
		if (kind == OP_VISIBILITY)
			json_object_object_add(ent, "VisibilityTimeout",
					       json_object_new_int(e[i].visibility_timeout));
		json_object_array_add(arr, ent);
		ids[i] = xstrdup(e[i].id);
	}
	json_object_object_add(o, "Entries", arr);
	op = op_start(s, kind, o, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
	op->ids = ids;
	op->nids = n;
	return op;
}

struct sqs_op *sqs_delete_batch(struct sqs *s, const char *queue_url,
				const struct sqs_batch_entry *e, size_t n, sqs_cb cb, void *arg)
{
	return batch(s, OP_DELETE, queue_url, e, n, cb, arg);
}

struct sqs_op *sqs_change_visibility_batch(struct sqs *s, const char *queue_url,
					   const struct sqs_batch_entry *e, size_t n, sqs_cb cb,
					   void *arg)
{
	return batch(s, OP_VISIBILITY, queue_url, e, n, cb, arg);
}

struct sqs_op *sqs_send(struct sqs *s, const char *queue_url, const char *body, size_t len,
			const struct sqs_attr *attrs, size_t nattrs, sqs_cb cb, void *arg)
{
	struct json_object *o = req_new(queue_url), *ma, *a;
	size_t i;

	json_object_object_add(o, "MessageBody", json_object_new_string_len(body, (int)len));
	if (nattrs) {
		ma = json_object_new_object();
		for (i = 0; i < nattrs; i++) {
			a = json_object_new_object();
			json_object_object_add(a, "DataType", json_object_new_string(attrs[i].type));
			json_object_object_add(a, "StringValue", json_object_new_string(attrs[i].value));
			json_object_object_add(ma, attrs[i].name, a);
		}
		json_object_object_add(o, "MessageAttributes", ma);
	}
	return op_start(s, OP_SEND, o, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
}

struct sqs_op *sqs_get_queue_url(struct sqs *s, const char *name, sqs_cb cb, void *arg)
{
	struct json_object *o = req_new(NULL);

	json_object_object_add(o, "QueueName", json_object_new_string(name));
	return op_start(s, OP_GET_URL, o, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
}

struct sqs_op *sqs_check_queue(struct sqs *s, const char *queue_url, sqs_cb cb, void *arg)
{
	static const char *const names[] = {"QueueArn"};
	struct json_object *o = req_new(queue_url);

	json_object_object_add(o, "AttributeNames", str_array(names, 1));
	return op_start(s, OP_CHECK, o, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
}
