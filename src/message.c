/* message.c - decode one SQS message body into a status command (SPEC
 * section 1): strict JSON, SNS/EventBridge envelopes, aliases, identifiers.
 *
 * Decisions where the SPEC is silent:
 * - Limits: a body over max_body, nesting deeper than max_depth and an object
 *   with more than max_fields members are all TooLarge. They are resource
 *   limits of this daemon, not defects of the JSON text (a 65-deep document
 *   is valid RFC 8259), and the validator stops at the limit so a 100,000 '['
 *   body costs 65 bytes of scanning.
 * - Duplicate keys: RFC 8259 leaves their meaning undefined and parsers
 *   disagree (first wins, last wins), so a duplicate key (after unescaping)
 *   in an envelope or in the object the command is read from is InvalidJSON
 *   "duplicate key". Objects inside payload are stored verbatim, unjudged.
 * - Envelopes are recognised only when the top-level object has no "command"
 *   member, so a command carrying extra "Type"/"Message" fields (unknown
 *   fields are ignored) is still a command. One level is unwrapped.
 * - A field that does not apply to the command (task_id for add-batch-status,
 *   status for get-status) is ignored like an unknown field; a field that
 *   applies is checked even when optional. null counts as absent.
 * - With accounts restricted, a message without account is AccountNotAllowed.
 * - account follows the identifier rules; task_token must be 1..2048 bytes
 *   of UTF-8 without control characters and is never quoted in a reason.
 * - command is matched exactly (the SPEC only makes status case-insensitive).
 * - event_time must fall within years 0000..9999 once converted to UTC,
 *   else it is InvalidField: the stamp could not show it (a leap second :60
 *   is read as :59 of the same minute, see time_parse_rfc3339).
 * - payload keeps the producer's bytes; inside an SNS notification these are
 *   the bytes of the unescaped Message, i.e. what the producer published.
 */
#include "message.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

const char *const msg_default_statuses[MSG_NDEFAULT_STATUSES] = {
	"pending", "running", "failed", "success", "completed",
};

static const char *const command_names[] = {
	[CMD_ADD_BATCH_STATUS] = "add-batch-status",
	[CMD_ADD_TASK_STATUS] = "add-task-status",
	[CMD_GET_STATUS] = "get-status",
};

const char *msg_error_code(enum msg_error e)
{
	static const char *const codes[] = {
		[MSG_OK] = "OK",
		[MSG_INVALID_JSON] = "InvalidJSON",
		[MSG_MISSING_FIELD] = "MissingField",
		[MSG_INVALID_STATUS] = "InvalidStatus",
		[MSG_UNKNOWN_COMMAND] = "UnknownCommand",
		[MSG_INVALID_FIELD] = "InvalidField",
		[MSG_ACCOUNT_NOT_ALLOWED] = "AccountNotAllowed",
		[MSG_TOO_LARGE] = "TooLarge",
	};

	return (unsigned)e < ARRAY_SIZE(codes) ? codes[e] : "Unknown";
}

const char *msg_command_name(enum msg_command c)
{
	return (unsigned)c < ARRAY_SIZE(command_names) ? command_names[c] : "unknown";
}

void status_msg_clear(struct status_msg *m)
{
	free(m->batch_id);
	free(m->task_id);
	free(m->status);
	free(m->account);
	free(m->payload);
	secret_free(m->task_token);
	memset(m, 0, sizeof(*m));
}

/* ---- decoder state ---------------------------------------------------------- */

struct member {
	char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	enum json_type type;
};

struct decoder {
	const struct msg_rules *rules;
	struct msg_limits lim;
	struct buf *reason;
	struct member *members; /* of the object being read */
	size_t nmembers;
	struct buf inner; /* the unescaped SNS Message */
	struct buf val;   /* scratch: one unescaped string value */
};

#define EXCERPT_MAX 64

static enum msg_error fail(struct decoder *d, enum msg_error e, const char *fmt, ...)
	S3S_PRINTF(3, 4);

static enum msg_error fail(struct decoder *d, enum msg_error e, const char *fmt, ...)
{
	va_list ap;

	if (!d->reason)
		return e;
	buf_reset(d->reason);
	va_start(ap, fmt);
	buf_vaddf(d->reason, fmt, ap);
	va_end(ap);
	return e;
}

/* Append a short quoted excerpt of s to the reason: JSON-escaped, so it is
 * always one line, and cut at a UTF-8 boundary after EXCERPT_MAX bytes. */
static void quote(struct decoder *d, const char *s, size_t n)
{
	size_t cut = n;

	if (!d->reason)
		return;
	if (cut > EXCERPT_MAX) {
		cut = EXCERPT_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	json_write_string(d->reason, s, cut);
	if (cut < n)
		buf_adds(d->reason, "...");
}

static void free_members(struct decoder *d)
{
	size_t i;

	for (i = 0; i < d->nmembers; i++)
		free(d->members[i].key);
	free(d->members);
	d->members = NULL;
	d->nmembers = 0;
}

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* Validate a document against the limits; "what" names it in the reason. */
static enum msg_error check_doc(struct decoder *d, const char *p, size_t n, const char *what)
{
	struct json_limits jl = {.max_depth = d->lim.max_depth, .max_members = d->lim.max_fields};
	struct json_error err;

	switch (json_validate(p, n, &jl, &err)) {
	case JSON_OK:
		return MSG_OK;
	case JSON_ERR_DEPTH:
		return fail(d, MSG_TOO_LARGE, "%s nests JSON deeper than %d levels (byte %zu)", what,
			    d->lim.max_depth, err.offset);
	case JSON_ERR_MEMBERS:
		return fail(d, MSG_TOO_LARGE, "%s has a JSON object with more than %zu fields (byte %zu)",
			    what, d->lim.max_fields, err.offset);
	default:
		return fail(d, MSG_INVALID_JSON, "%s is not valid JSON: %s at byte %zu", what, err.what,
			    err.offset);
	}
}

/* Load the members of the validated object p[0..n) and refuse duplicates. */
static enum msg_error load_members(struct decoder *d, const char *p, size_t n, const char *what)
{
	struct json_iter it;
	struct json_member jm;
	struct member **sorted = NULL;
	enum msg_error rc = MSG_OK;
	size_t cap = 0, i;

	free_members(d);
	if (json_iter_init(&it, p, n) < 0) {
		rc = fail(d, MSG_INVALID_JSON, "%s is not a JSON object (got %s)", what,
			  json_type_name(json_type_of(it.p, it.n)));
		goto out;
	}
	while (json_iter_next(&it, &jm) == 1) {
		if (d->nmembers == cap) {
			cap = cap ? cap * 2 : 16;
			d->members = xrealloc(d->members, cap * sizeof(*d->members));
		}
		d->members[d->nmembers++] = (struct member){
			.key = xstrndup(jm.key, jm.key_len),
			.key_len = jm.key_len,
			.value = jm.value,
			.value_len = jm.value_len,
			.type = jm.type,
		};
	}
	sorted = xcalloc(d->nmembers, sizeof(*sorted));
	for (i = 0; i < d->nmembers; i++)
		sorted[i] = &d->members[i];
	qsort(sorted, d->nmembers, sizeof(*sorted), cmp_member);
	for (i = 1; i < d->nmembers; i++) {
		if (cmp_member(&sorted[i - 1], &sorted[i]) == 0) {
			rc = fail(d, MSG_INVALID_JSON, "%s has a duplicate key ", what);
			quote(d, sorted[i]->key, sorted[i]->key_len);
			goto out;
		}
	}
out:
	free(sorted);
	json_iter_free(&it);
	return rc;
}

static const struct member *find(const struct decoder *d, const char *name)
{
	size_t len = strlen(name), i;

	for (i = 0; i < d->nmembers; i++)
		if (d->members[i].key_len == len && memcmp(d->members[i].key, name, len) == 0)
			return &d->members[i];
	return NULL;
}

/* Member name as a non-null value, else NULL. */
static const struct member *find_value(const struct decoder *d, const char *name)
{
	const struct member *m = name ? find(d, name) : NULL;

	return m && m->type != JSON_NULL ? m : NULL;
}

static bool string_is(const struct member *m, const char *s)
{
	struct buf b;
	bool eq;

	if (!m || m->type != JSON_STRING)
		return false;
	buf_init(&b, 0);
	eq = json_unescape(&b, m->value, m->value_len) == 0 && strlen(s) == b.len &&
	     memcmp(b.data, s, b.len) == 0;
	buf_free(&b);
	return eq;
}

/* Replace the members by those of the command inside an SNS notification
 * or an EventBridge event. Only when the top level has no "command". */
static enum msg_error unwrap(struct decoder *d)
{
	const struct member *msg, *detail;
	enum msg_error rc;

	if (find(d, "command"))
		return MSG_OK;
	msg = find(d, "Message");
	if (msg && string_is(find(d, "Type"), "Notification")) {
		if (msg->type != JSON_STRING)
			return fail(d, MSG_INVALID_FIELD,
				    "SNS notification field Message must be a string, not %s",
				    json_type_name(msg->type));
		if (json_unescape(&d->inner, msg->value, msg->value_len) < 0)
			return fail(d, MSG_INVALID_JSON, "SNS notification field Message is malformed");
		rc = check_doc(d, buf_str(&d->inner), d->inner.len, "SNS Message");
		if (rc == MSG_OK)
			rc = load_members(d, buf_str(&d->inner), d->inner.len, "SNS Message");
		return rc;
	}
	detail = find(d, "detail");
	if (detail && find(d, "detail-type") && find(d, "source")) {
		if (detail->type != JSON_OBJECT)
			return fail(d, MSG_INVALID_FIELD,
				    "EventBridge field detail must be an object, not %s",
				    json_type_name(detail->type));
		return load_members(d, detail->value, detail->value_len, "EventBridge detail");
	}
	return MSG_OK;
}

/* The string field name (or its alias) unescaped into *out (NULL when
 * absent or null). Both present must agree. */
static enum msg_error get_string(struct decoder *d, const char *name, const char *alias,
				 char **out, size_t *len)
{
	const struct member *a = find_value(d, name), *b = find_value(d, alias);
	struct buf other;
	enum msg_error rc = MSG_OK;

	*out = NULL;
	*len = 0;
	buf_init(&other, 0);
	if (!a) {
		a = b;
		b = NULL;
	}
	if (!a)
		goto out;
	if (a->type != JSON_STRING || (b && b->type != JSON_STRING)) {
		a = a->type != JSON_STRING ? a : b;
		rc = fail(d, MSG_INVALID_FIELD, "field %s must be a string, not %s", a->key,
			  json_type_name(a->type));
		goto out;
	}
	buf_reset(&d->val);
	if (json_unescape(&d->val, a->value, a->value_len) < 0 ||
	    (b && json_unescape(&other, b->value, b->value_len) < 0)) {
		rc = fail(d, MSG_INVALID_FIELD, "field %s is malformed", a->key);
		goto out;
	}
	if (b && (other.len != d->val.len || memcmp(buf_str(&other), buf_str(&d->val), other.len))) {
		rc = fail(d, MSG_INVALID_FIELD, "fields %s and %s have different values", name, alias);
		goto out;
	}
	*len = d->val.len;
	*out = xstrndup(buf_str(&d->val), d->val.len);
out:
	secure_wipe(other.data, other.len); /* it may have been a task token */
	buf_free(&other);
	return rc;
}

/* 1..max bytes of UTF-8 without C0, DEL or C1 control characters. */
static enum msg_error check_text(struct decoder *d, const char *field, const char *s, size_t n,
				 size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (n == 0 || n > max)
		return fail(d, MSG_INVALID_FIELD, "field %s must be 1..%zu bytes, not %zu", field, max,
			    n);
	if (!json_utf8_valid(s, n))
		return fail(d, MSG_INVALID_FIELD, "field %s is not valid UTF-8", field);
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7F || (p[i] == 0xC2 && i + 1 < n && p[i + 1] <= 0x9F))
			return fail(d, MSG_INVALID_FIELD,
				    "field %s contains a control character at byte %zu", field, i);
	return MSG_OK;
}

/* A required or optional identifier field. */
static enum msg_error get_ident(struct decoder *d, const char *name, const char *alias,
				bool required, const char *why, char **out)
{
	size_t len;
	enum msg_error rc = get_string(d, name, alias, out, &len);

	if (rc == MSG_OK && !*out && required)
		rc = fail(d, MSG_MISSING_FIELD, "missing field %s%s", name, why);
	if (rc == MSG_OK && *out)
		rc = check_text(d, name, *out, len, MSG_MAX_ID);
	return rc;
}

static enum msg_error get_command(struct decoder *d, struct status_msg *m)
{
	char *s;
	size_t len, i;
	enum msg_error rc = get_string(d, "command", NULL, &s, &len);

	if (rc != MSG_OK)
		return rc;
	if (!s)
		return fail(d, MSG_MISSING_FIELD, "missing field command");
	for (i = 0; i < ARRAY_SIZE(command_names); i++) {
		if (strlen(command_names[i]) == len && memcmp(s, command_names[i], len) == 0) {
			m->command = (enum msg_command)i;
			goto out;
		}
	}
	rc = fail(d, MSG_UNKNOWN_COMMAND, "field command has an unknown value ");
	quote(d, s, len);
out:
	free(s);
	return rc;
}

static bool ascii_ieq(const char *a, size_t n, const char *b)
{
	size_t i;

	if (strlen(b) != n)
		return false;
	for (i = 0; i < n; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static enum msg_error get_status(struct decoder *d, struct status_msg *m)
{
	const char *const *list = d->rules->statuses;
	size_t n = d->rules->nstatuses, len, i;
	enum msg_error rc = get_string(d, "status", NULL, &m->status, &len);

	if (rc != MSG_OK)
		return rc;
	if (!m->status)
		return fail(d, MSG_MISSING_FIELD, "missing field status (required for %s)",
			    msg_command_name(m->command));
	if (!list || !n) {
		list = msg_default_statuses;
		n = MSG_NDEFAULT_STATUSES;
	}
	for (i = 0; i < len; i++)
		if (m->status[i] >= 'A' && m->status[i] <= 'Z')
			m->status[i] = (char)(m->status[i] - 'A' + 'a');
	for (i = 0; i < n; i++)
		if (list[i] && ascii_ieq(m->status, len, list[i]))
			return MSG_OK;
	rc = fail(d, MSG_INVALID_STATUS, "field status has a value that is not allowed: ");
	quote(d, m->status, len);
	return rc;
}

static enum msg_error get_account(struct decoder *d, struct status_msg *m)
{
	size_t i, len;
	enum msg_error rc = get_ident(d, "account", NULL, false, "", &m->account);

	if (rc != MSG_OK || !d->rules->naccounts)
		return rc;
	if (!m->account)
		return fail(d, MSG_ACCOUNT_NOT_ALLOWED,
			    "missing field account (allowed accounts are restricted)");
	len = strlen(m->account);
	for (i = 0; i < d->rules->naccounts; i++)
		if (d->rules->accounts[i] && strcmp(d->rules->accounts[i], m->account) == 0)
			return MSG_OK;
	rc = fail(d, MSG_ACCOUNT_NOT_ALLOWED, "field account has a value that is not allowed: ");
	quote(d, m->account, len);
	return rc;
}

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in Unix ms. */
#define EVENT_TIME_MIN_MS (-62167219200000LL)
#define EVENT_TIME_MAX_MS 253402300799999LL

static enum msg_error get_event_time(struct decoder *d, struct status_msg *m)
{
	char *s;
	size_t len;
	enum msg_error rc = get_string(d, "event_time", NULL, &s, &len);

	if (rc != MSG_OK || !s)
		return rc;
	if (time_parse_rfc3339(s, len, &m->event_time_ms) < 0) {
		rc = fail(d, MSG_INVALID_FIELD, "field event_time is not an RFC 3339 date-time: ");
		quote(d, s, len);
	} else if (m->event_time_ms < EVENT_TIME_MIN_MS || m->event_time_ms > EVENT_TIME_MAX_MS) {
		/* keys and records show four-digit UTC years: an offset that moves
		 * 0000-01-01 or 9999-12-31 outside them cannot be written as sent */
		rc = fail(d, MSG_INVALID_FIELD, "field event_time is outside years 0000..9999 in UTC: ");
		quote(d, s, len);
	} else {
		m->event_time_given = true;
	}
	free(s);
	return rc;
}

static enum msg_error get_task_token(struct decoder *d, struct status_msg *m)
{
	size_t len;
	enum msg_error rc = get_string(d, "task_token", "TaskToken", &m->task_token, &len);

	if (rc == MSG_OK && m->task_token)
		rc = check_text(d, "task_token", m->task_token, len, MSG_MAX_TOKEN);
	if (rc != MSG_OK) {
		secret_free(m->task_token);
		m->task_token = NULL;
	}
	secure_wipe(d->val.data, d->val.len);
	return rc;
}

static enum msg_error get_payload(struct decoder *d, struct status_msg *m)
{
	const struct member *p = find_value(d, "payload");

	if (p) {
		m->payload = xstrndup(p->value, p->value_len);
		m->payload_len = p->value_len;
	}
	return MSG_OK;
}

static enum msg_error decode_fields(struct decoder *d, struct status_msg *m)
{
	enum msg_error rc;

	/* The task token first: a message rejected for another field can still
	 * have its waiting state machine told why (SendTaskFailure). */
	if ((rc = get_task_token(d, m)) != MSG_OK)
		return rc;
	if ((rc = get_command(d, m)) != MSG_OK)
		return rc;
	if ((rc = get_ident(d, "batch_id", "batch-id", true, "", &m->batch_id)) != MSG_OK)
		return rc;
	if (m->command != CMD_ADD_BATCH_STATUS &&
	    (rc = get_ident(d, "task_id", "task-id", m->command == CMD_ADD_TASK_STATUS,
			    " (required for add-task-status)", &m->task_id)) != MSG_OK)
		return rc;
	if (m->command != CMD_GET_STATUS && (rc = get_status(d, m)) != MSG_OK)
		return rc;
	if ((rc = get_account(d, m)) != MSG_OK)
		return rc;
	if ((rc = get_event_time(d, m)) != MSG_OK)
		return rc;
	return get_payload(d, m);
}

enum msg_error msg_decode(const char *body, size_t len, int64_t sent_ms,
			  const struct msg_rules *rules, struct status_msg *out, struct buf *reason)
{
	static const struct msg_rules no_rules;
	struct decoder d = {.rules = rules ? rules : &no_rules, .reason = reason};
	struct status_msg m = {.event_time_ms = sent_ms};
	enum msg_error rc;

	memset(out, 0, sizeof(*out));
	if (reason)
		buf_reset(reason);
	buf_init(&d.inner, 0);
	buf_init(&d.val, 0);
	d.lim = d.rules->limits;
	if (!d.lim.max_body)
		d.lim.max_body = MSG_DEFAULT_MAX_BODY;
	if (d.lim.max_depth <= 0)
		d.lim.max_depth = MSG_DEFAULT_MAX_DEPTH;
	if (!d.lim.max_fields)
		d.lim.max_fields = MSG_DEFAULT_MAX_FIELDS;

	if (len > d.lim.max_body) {
		rc = fail(&d, MSG_TOO_LARGE, "body is %zu bytes, over the limit of %zu", len,
			  d.lim.max_body);
		goto fail;
	}
	if (!body)
		body = "";
	if ((rc = check_doc(&d, body, len, "body")) != MSG_OK)
		goto fail;
	if ((rc = load_members(&d, body, len, "body")) != MSG_OK)
		goto fail;
	if ((rc = unwrap(&d)) != MSG_OK)
		goto fail;
	if ((rc = decode_fields(&d, &m)) != MSG_OK)
		goto fail;
	*out = m;
	goto done;
fail:
	/* Keep a valid task token, and nothing else, for SendTaskFailure. */
	out->task_token = m.task_token;
	m.task_token = NULL;
	status_msg_clear(&m);
done:
	free_members(&d);
	buf_free(&d.inner);
	secure_wipe(d.val.data, d.val.len);
	buf_free(&d.val);
	return rc;
}
