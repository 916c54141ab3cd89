/* sqs.c - SQS JSON-protocol requests written and their answers read with the
 * strict scanner of json.c (no object tree), into struct sqs_result. */
#include "sqs.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
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

/* The members of an object that a parser reads: for each wanted name, the
 * raw bytes of its value. A repeated name counts once, with its last value
 * (as json-c had it); names compare as C strings (a key is cut at a \u0000). */
struct field {
	const char *p;
	size_t n;
	enum json_type type;
};

static void find_fields(const char *p, size_t n, const char *const *names, size_t count,
			struct field *out)
{
	struct json_iter it;
	struct json_member m;
	size_t k;

	memset(out, 0, count * sizeof(*out));
	if (json_iter_init(&it, p, n) == 0) {
		while (json_iter_next(&it, &m) == 1) {
			for (k = 0; k < count && strcmp(m.key, names[k]) != 0; k++)
				;
			if (k < count)
				out[k] = (struct field){m.value, m.value_len, m.type};
		}
	}
	json_iter_free(&it);
}

static bool is_string(const struct field *f)
{
	return f->p && f->type == JSON_STRING;
}

/* A string field unescaped into tmp (replacing it): a C string that lives
 * until tmp's next use, or NULL when the field is absent or no string. */
static const char *field_str(const struct field *f, struct buf *tmp)
{
	buf_reset(tmp);
	if (!is_string(f) || json_unescape(tmp, f->p, f->n) < 0)
		return NULL;
	return buf_str(tmp);
}

/* A string field as a new string (its length, which counts any NUL from a
 * \u0000, in *len), or NULL. Without escapes the bytes are copied as they are:
 * the document was validated. */
static char *field_dup(const struct field *f, size_t *len)
{
	struct buf b;

	if (!is_string(f))
		return NULL;
	if (!memchr(f->p, '\\', f->n)) {
		if (len)
			*len = f->n - 2;
		return xstrndup(f->p + 1, f->n - 2);
	}
	buf_init(&b, 0);
	if (json_unescape(&b, f->p, f->n) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, len);
}

static int64_t field_i64(const struct field *f, struct buf *tmp, int64_t dflt)
{
	const char *s = field_str(f, tmp);
	int64_t v;

	return s && parse_i64(s, 0, INT64_MAX, &v) == 0 ? v : dflt;
}

static int parse_message(const char *p, size_t n, struct buf *tmp, struct sqs_message *out)
{
	static const char *const names[] = {"MessageId", "ReceiptHandle", "Body", "Attributes"};
	static const char *const attr_names[] = {"ApproximateReceiveCount", "SentTimestamp",
						 "ApproximateFirstReceiveTimestamp"};
	struct field f[ARRAY_SIZE(names)], a[ARRAY_SIZE(attr_names)] = {{0}};
	struct sqs_message m = {0};

	find_fields(p, n, names, ARRAY_SIZE(names), f);
	m.message_id = field_dup(&f[0], NULL);
	m.receipt_handle = field_dup(&f[1], NULL);
	m.body = field_dup(&f[2], &m.body_len);
	if (!m.message_id || !m.receipt_handle || !m.body || !*m.message_id || !*m.receipt_handle)
		goto fail;
	if (f[3].p && f[3].type == JSON_OBJECT)
		find_fields(f[3].p, f[3].n, attr_names, ARRAY_SIZE(attr_names), a);
	m.receive_count = field_i64(&a[0], tmp, 1);
	m.sent_ms = field_i64(&a[1], tmp, 0);
	m.first_receive_ms = field_i64(&a[2], tmp, 0);
	*out = m;
	return 0;
fail:
	sqs_message_clear(&m);
	return -1;
}

/* At most SQS's ten messages; an absent list is an empty receive. */
static int parse_messages(const char *p, size_t n, struct sqs_result *r)
{
	static const char *const names[] = {"Messages"};
	struct field list;
	struct json_elems el;
	struct buf tmp;
	const char *v;
	size_t vn;
	int rc = -1;

	buf_init(&tmp, 0);
	find_fields(p, n, names, 1, &list);
	if (!list.p)
		return 0;
	if (json_elems_init(&el, list.p, list.n) < 0)
		goto out;
	r->messages = xcalloc(10, sizeof(*r->messages));
	while (json_elems_next(&el, &v, &vn) == 1) {
		if (r->nmessages == 10 || parse_message(v, vn, &tmp, &r->messages[r->nmessages]) < 0)
			goto out;
		r->nmessages++;
	}
	rc = 0;
out:
	buf_free(&tmp);
	return rc;
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

/* json-c's json_object_get_boolean: true, a non-zero number, a non-empty string. */
static bool field_truthy(const struct field *f)
{
	size_t i;

	if (!f->p)
		return false;
	if (f->type == JSON_BOOL)
		return f->p[0] == 't';
	if (f->type == JSON_STRING)
		return f->n > 2;
	for (i = 0; f->type == JSON_NUMBER && i < f->n && f->p[i] != 'e' && f->p[i] != 'E'; i++)
		if (f->p[i] >= '1' && f->p[i] <= '9')
			return true;
	return false;
}

static void entry_set(struct sqs_entry_result *e, bool ok, char *code, char *message)
{
	free(e->code);
	free(e->message);
	e->ok = ok;
	e->code = code;
	e->message = message;
}

/* One element of Successful (ok) or Failed: marks the request entries with its Id. */
static void batch_entry(const char *p, size_t n, bool ok, const struct sqs_op *op,
			struct buf *tmp, struct sqs_result *r)
{
	static const char *const names[] = {"Id", "Code", "Message", "SenderFault"};
	struct field f[ARRAY_SIZE(names)];
	char *id, *code, *message;
	size_t j;

	find_fields(p, n, names, ARRAY_SIZE(names), f);
	id = field_dup(&f[0], NULL);
	for (j = 0; id && j < op->nids; j++) {
		if (strcmp(op->ids[j], id) != 0)
			continue;
		if (ok) {
			entry_set(&r->entries[j], true, NULL, NULL);
			continue;
		}
		/* one at a time: each reuses tmp */
		code = peer_text(field_str(&f[1], tmp), 128, true);
		message = peer_text(field_str(&f[2], tmp), 256, false);
		entry_set(&r->entries[j], false, code, message);
		r->entries[j].sender_fault = field_truthy(&f[3]);
	}
	free(id);
}

static int parse_batch(const char *p, size_t n, const struct sqs_op *op, struct sqs_result *r)
{
	static const char *const names[] = {"Successful", "Failed"};
	struct field lists[ARRAY_SIZE(names)];
	struct json_elems el;
	struct buf tmp;
	const char *v;
	size_t i, vn;

	r->entries = xcalloc(op->nids ? op->nids : 1, sizeof(*r->entries));
	r->nentries = op->nids;
	/* Every entry must be accounted for: those in neither list are failures. */
	for (i = 0; i < op->nids; i++) {
		r->entries[i].code = xstrdup("MissingFromAnswer");
		r->entries[i].message = xstrdup("entry absent from the batch answer");
	}
	buf_init(&tmp, 0);
	find_fields(p, n, names, ARRAY_SIZE(names), lists);
	/* Successful first: an entry in both lists failed. */
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!lists[i].p || json_elems_init(&el, lists[i].p, lists[i].n) < 0)
			continue;
		while (json_elems_next(&el, &v, &vn) == 1)
			if (json_type_of(v, vn) == JSON_OBJECT)
				batch_entry(v, vn, i == 0, op, &tmp, r);
	}
	buf_free(&tmp);
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

/* json-c's nesting limit, which the client had before. */
#define SQS_MAX_DEPTH 32

static int parse_answer(struct sqs_op *op, const char *body, size_t len, struct sqs_result *r)
{
	static const char *const value_names[] = {"MessageId", "QueueUrl"};
	const struct json_limits lim = {.max_depth = SQS_MAX_DEPTH};
	struct field f;

	if (!len || !body) {
		body = "{}";
		len = 2;
	}
	if (json_validate(body, len, &lim, NULL) != JSON_OK) {
		r->parse_error = "answer is not a JSON object";
		return -1;
	}
	json_trim(&body, &len);
	if (json_type_of(body, len) != JSON_OBJECT) {
		r->parse_error = "answer is not a JSON object";
		return -1;
	}
	switch (op->kind) {
	case OP_RECEIVE:
		if (parse_messages(body, len, r) < 0) {
			r->parse_error = "malformed ReceiveMessage answer";
			return -1;
		}
		break;
	case OP_DELETE:
	case OP_VISIBILITY:
		parse_batch(body, len, op, r);
		break;
	case OP_SEND:
	case OP_GET_URL:
		find_fields(body, len, &value_names[op->kind == OP_SEND ? 0 : 1], 1, &f);
		r->value = field_dup(&f, NULL);
		if (!r->value) {
			r->parse_error = "answer lacks the expected field";
			return -1;
		}
		break;
	case OP_CHECK:
		break;
	}
	return 0;
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

/* ---- requests ------------------------------------------------------------ */

/* Request bodies are written with json.c into a buffer without a maximum, so
 * no append can fail (allocation failure aborts); members keep the order
 * json-c gave them. */
static void req_begin(struct buf *b, const char *queue_url)
{
	buf_init(b, 0);
	buf_reserve(b, 256);
	buf_addc(b, '{');
	if (queue_url) {
		buf_adds(b, "\"QueueUrl\":");
		json_write_string(b, queue_url, strlen(queue_url));
	}
}

/* ,"name": (no comma for the object's first member); name needs no escaping. */
static void req_key(struct buf *b, const char *name)
{
	char last = b->len ? b->data[b->len - 1] : '{';

	if (last != '{')
		buf_addc(b, ',');
	buf_addc(b, '"');
	buf_adds(b, name);
	buf_adds(b, "\":");
}

static void req_str(struct buf *b, const char *name, const char *value)
{
	req_key(b, name);
	json_write_string(b, value, strlen(value));
}

static void req_int(struct buf *b, const char *name, int value)
{
	req_key(b, name);
	buf_add_i64(b, value);
}

/* max_attempts 0: the retry policy's default. Takes the request body. */
static struct sqs_op *op_start_n(struct sqs *s, enum sqs_kind kind, struct buf *req,
				 size_t max_response, long timeout_ms, int max_attempts, sqs_cb cb,
				 void *arg)
{
	struct sqs_op *op = xcalloc(1, sizeof(*op));
	const struct sigv4_kv headers[] = {
		{"Content-Type", "application/x-amz-json-1.0"},
		{"X-Amz-Target", targets[kind]},
	};
	struct aws_request ar;
	size_t len;

	op->s = s;
	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	buf_addc(req, '}');
	op->body = buf_steal(req, &len);
	ar = (struct aws_request){
		.service = "sqs", .method = "POST", .endpoint = &s->ep, .path = "/",
		.headers = headers, .nheaders = ARRAY_SIZE(headers), .body = op->body,
		.body_len = len, .timeout_ms = timeout_ms,
		.max_response = max_response, .max_attempts = max_attempts,
	};
	op->call = aws_call_start(s->c, &ar, on_done, op);
	return op;
}

static struct sqs_op *op_start(struct sqs *s, enum sqs_kind kind, struct buf *req,
			       size_t max_response, long timeout_ms, sqs_cb cb, void *arg)
{
	return op_start_n(s, kind, req, max_response, timeout_ms, 0, cb, arg);
}

struct sqs_op *sqs_receive(struct sqs *s, const struct sqs_receive_params *p, sqs_cb cb,
			   void *arg)
{
	struct buf b;

	req_begin(&b, p->queue_url);
	req_int(&b, "MaxNumberOfMessages", p->max_messages);
	req_int(&b, "WaitTimeSeconds", p->wait_time);
	if (p->visibility_timeout >= 0)
		req_int(&b, "VisibilityTimeout", p->visibility_timeout);
	/* Both spellings: MessageSystemAttributeNames is current, AttributeNames older. */
	req_key(&b, "MessageSystemAttributeNames");
	buf_adds(&b, "[\"All\"],\"AttributeNames\":[\"All\"],\"MessageAttributeNames\":[\"All\"]");
	/* The long poll itself plus room for the answer. */
	/* One attempt: the pipeline backs off failed receives itself. */
	return op_start_n(s, OP_RECEIVE, &b, SQS_MAX_RECEIVE, (long)p->wait_time * 1000 + 10000, 1,
			  cb, arg);
}

static struct sqs_op *batch(struct sqs *s, enum sqs_kind kind, const char *queue_url,
			    const struct sqs_batch_entry *e, size_t n, sqs_cb cb, void *arg)
{
	struct buf b;
	struct sqs_op *op;
	char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	size_t i;

	req_begin(&b, queue_url);
	req_key(&b, "Entries");
	buf_addc(&b, '[');
	for (i = 0; i < n; i++) {
		buf_adds(&b, i ? ",{" : "{");
		req_str(&b, "Id", e[i].id);
		req_str(&b, "ReceiptHandle", e[i].receipt_handle);
		if (kind == OP_VISIBILITY)
			req_int(&b, "VisibilityTimeout", e[i].visibility_timeout);
		buf_addc(&b, '}');
		ids[i] = xstrdup(e[i].id);
	}
	buf_addc(&b, ']');
	op = op_start(s, kind, &b, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
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
	struct buf b;
	size_t i;

	req_begin(&b, queue_url);
	req_key(&b, "MessageBody");
	json_write_string(&b, body, len);
	if (nattrs) {
		req_key(&b, "MessageAttributes");
		buf_addc(&b, '{');
		for (i = 0; i < nattrs; i++) {
			if (i)
				buf_addc(&b, ',');
			json_write_string(&b, attrs[i].name, strlen(attrs[i].name));
			buf_adds(&b, ":{");
			req_str(&b, "DataType", attrs[i].type);
			req_str(&b, "StringValue", attrs[i].value);
			buf_addc(&b, '}');
		}
		buf_addc(&b, '}');
	}
	return op_start(s, OP_SEND, &b, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
}

struct sqs_op *sqs_get_queue_url(struct sqs *s, const char *name, sqs_cb cb, void *arg)
{
	struct buf b;

	req_begin(&b, NULL);
	req_str(&b, "QueueName", name);
	return op_start(s, OP_GET_URL, &b, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
}

struct sqs_op *sqs_check_queue(struct sqs *s, const char *queue_url, sqs_cb cb, void *arg)
{
	struct buf b;

	req_begin(&b, queue_url);
	req_key(&b, "AttributeNames");
	buf_adds(&b, "[\"QueueArn\"]");
	return op_start(s, OP_CHECK, &b, SQS_MAX_ANSWER, SQS_TIMEOUT_MS, cb, arg);
}
