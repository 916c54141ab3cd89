/* layout.c - S3 keys and object bodies of SPEC section 2: reversible %XX
 * identifier segments, sortable stamps, one-line JSON records and dead letters. */
#include "layout.h"

#include <string.h>

#include "json.h"

static bool id_safe(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int layout_encode_id(struct buf *out, const char *id, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)id;
	bool dots = (len == 1 && id[0] == '.') || (len == 2 && id[0] == '.' && id[1] == '.');
	size_t start = out->len, i, run;
	char esc[3] = {'%', 0, 0};

	for (i = 0; i < len; i++) {
		/* safe bytes are appended a run at a time */
		for (run = i; run < len && !dots && id_safe(p[run]); run++)
			;
		if (run > i && buf_add(out, id + i, run - i) < 0)
			goto fail;
		i = run;
		if (i >= len)
			break;
		esc[1] = hex[p[i] >> 4];
		esc[2] = hex[p[i] & 15];
		if (buf_add(out, esc, sizeof(esc)) < 0)
			goto fail;
	}
	if (!out->data && buf_add(out, "", 0) < 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return -1;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int layout_decode_id(struct buf *out, const char *seg, size_t len)
{
	size_t start = out->len, i;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (seg[i] != '%') {
			if (buf_addc(out, seg[i]) < 0)
				goto fail;
			continue;
		}
		if (i + 2 >= len)
			goto fail;
		hi = hexdigit(seg[i + 1]);
		lo = hexdigit(seg[i + 2]);
		if (hi < 0 || lo < 0 || buf_addc(out, (char)(hi * 16 + lo)) < 0)
			goto fail;
		i += 2;
	}
	if (!out->data && buf_add(out, "", 0) < 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return -1;
}

/* ---- keys ------------------------------------------------------------------ */

/* Reset out to "{prefix}/" (nothing for an empty prefix). */
static int key_start(struct buf *out, const char *prefix)
{
	size_t n;

	buf_reset(out);
	if (!prefix)
		prefix = LAYOUT_DEFAULT_PREFIX;
	while (*prefix == '/')
		prefix++;
	n = strlen(prefix);
	while (n && prefix[n - 1] == '/')
		n--;
	if (n && (buf_add(out, prefix, n) < 0 || buf_addc(out, '/') < 0))
		return -1;
	return 0;
}

static int add_id(struct buf *out, const char *id)
{
	if (!id || !*id)
		return -1; /* an empty segment would merge folders */
	return layout_encode_id(out, id, strlen(id));
}

/* "{stamp}_{message_id}.json" */
static int add_leaf(struct buf *out, int64_t ms, const char *message_id)
{
	char stamp[TIME_STAMP_LEN];

	time_fmt_stamp(ms, stamp);
	if (buf_adds(out, stamp) < 0 || buf_addc(out, '_') < 0 || add_id(out, message_id) < 0 ||
	    buf_adds(out, ".json") < 0)
		return -1;
	return 0;
}

static int key_finish(struct buf *out, int rc)
{
	if (rc == 0 && out->len <= LAYOUT_MAX_KEY)
		return 0;
	buf_reset(out);
	return -1;
}

int layout_record_key(struct buf *out, const char *prefix, const struct status_msg *m,
		      const char *message_id)
{
	int rc = -1;

	if (key_start(out, prefix) < 0 || m->command == CMD_GET_STATUS || !m->status)
		goto out;
	if (buf_adds(out, "BATCHS/") < 0 || add_id(out, m->batch_id) < 0)
		goto out;
	if (m->command == CMD_ADD_TASK_STATUS) {
		if (buf_adds(out, "/tasks/") < 0 || add_id(out, m->task_id) < 0 ||
		    buf_addc(out, '/') < 0)
			goto out;
	} else if (buf_adds(out, "/status/") < 0) {
		goto out;
	}
	if (add_id(out, m->status) < 0 || buf_addc(out, '/') < 0 ||
	    add_leaf(out, m->event_time_ms, message_id) < 0)
		goto out;
	rc = 0;
out:
	return key_finish(out, rc);
}

int layout_dead_letter_key(struct buf *out, const char *prefix, int64_t time_ms,
			   const char *message_id)
{
	char stamp[TIME_STAMP_LEN];
	int rc = -1;

	/* the stamp starts with YYYYMMDD: the folders agree with it by construction */
	time_fmt_stamp(time_ms, stamp);
	if (key_start(out, prefix) < 0 ||
	    buf_addf(out, "DEAD_LETTER/%.4s/%.2s/%.2s/", stamp, stamp + 4, stamp + 6) < 0 ||
	    add_leaf(out, time_ms, message_id) < 0)
		goto out;
	rc = 0;
out:
	return key_finish(out, rc);
}

int layout_summary_key(struct buf *out, const char *prefix, const char *batch_id)
{
	int rc = -1;

	if (key_start(out, prefix) < 0 || buf_adds(out, "BATCHS/") < 0 ||
	    add_id(out, batch_id) < 0 || buf_adds(out, "/summary.json") < 0)
		goto out;
	rc = 0;
out:
	return key_finish(out, rc);
}

/* ---- bodies ---------------------------------------------------------------- */

static int add_str_or_null(struct buf *out, const char *s)
{
	return s ? json_write_string(out, s, strlen(s)) : buf_adds(out, "null");
}

static int add_time(struct buf *out, int64_t ms)
{
	char iso[TIME_ISO_LEN];

	time_fmt_iso(ms, iso);
	return json_write_string(out, iso, strlen(iso));
}

/* Valid JSON bytes with CR and LF (whitespace between tokens, never inside
 * a string) turned into spaces so the object stays on one line. */
static int add_json_one_line(struct buf *out, const char *p, size_t n)
{
	size_t start = out->len, i;

	if (buf_add(out, p, n) < 0)
		return -1;
	for (i = start; i < out->len; i++)
		if (out->data[i] == '\n' || out->data[i] == '\r')
			out->data[i] = ' ';
	return 0;
}

static int add_payload(struct buf *out, const struct status_msg *m)
{
	if (!m->payload)
		return buf_adds(out, "null");
	return add_json_one_line(out, m->payload, m->payload_len);
}

int layout_record_body(struct buf *out, const struct status_msg *m,
		       const struct record_meta *meta, bool payload_only)
{
	buf_reset(out);
	if (m->command == CMD_GET_STATUS)
		goto fail;
	if (payload_only) {
		if (add_payload(out, m) < 0)
			goto fail;
		goto end;
	}
	if (buf_adds(out, "{\"account\":") < 0 || add_str_or_null(out, m->account) < 0 ||
	    buf_adds(out, ",\"batch_id\":") < 0 || add_str_or_null(out, m->batch_id) < 0 ||
	    buf_adds(out, ",\"task_id\":") < 0 ||
	    add_str_or_null(out, m->command == CMD_ADD_TASK_STATUS ? m->task_id : NULL) < 0 ||
	    buf_adds(out, ",\"status\":") < 0 || add_str_or_null(out, m->status) < 0 ||
	    buf_adds(out, ",\"event_time\":") < 0 || add_time(out, m->event_time_ms) < 0 ||
	    buf_adds(out, ",\"recorded_at\":") < 0 || add_time(out, meta->recorded_at_ms) < 0 ||
	    buf_adds(out, ",\"message_id\":") < 0 || add_str_or_null(out, meta->message_id) < 0 ||
	    buf_adds(out, ",\"receive_count\":") < 0 || buf_add_i64(out, meta->receive_count) < 0 ||
	    buf_adds(out, ",\"queue\":") < 0 || add_str_or_null(out, meta->queue) < 0 ||
	    buf_adds(out, ",\"payload\":") < 0 || add_payload(out, m) < 0 || buf_addc(out, '}') < 0)
		goto fail;
end:
	if (buf_addc(out, '\n') < 0)
		goto fail;
	return 0;
fail:
	buf_reset(out);
	return -1;
}

int layout_dead_letter_body(struct buf *out, const char *body, size_t len,
			    const char *error_code, const char *reason,
			    const struct record_meta *meta)
{
	const struct json_limits lim = {.max_depth = JSON_DEFAULT_MAX_DEPTH};
	const char *doc = body ? body : "";
	size_t doclen = body ? len : 0;
	bool json = json_validate(doc, doclen, &lim, NULL) == JSON_OK;

	buf_reset(out);
	if (buf_adds(out, "{\"error\":") < 0 || add_str_or_null(out, error_code) < 0 ||
	    buf_adds(out, ",\"reason\":") < 0 || add_str_or_null(out, reason) < 0 ||
	    buf_adds(out, ",\"message_id\":") < 0 || add_str_or_null(out, meta->message_id) < 0 ||
	    buf_adds(out, ",\"receive_count\":") < 0 || buf_add_i64(out, meta->receive_count) < 0 ||
	    buf_adds(out, ",\"queue\":") < 0 || add_str_or_null(out, meta->queue) < 0 ||
	    buf_adds(out, ",\"dead_lettered_at\":") < 0 || add_time(out, meta->recorded_at_ms) < 0)
		goto fail;
	if (json) {
		json_trim(&doc, &doclen);
		if (buf_adds(out, ",\"body\":") < 0 || add_json_one_line(out, doc, doclen) < 0)
			goto fail;
	} else if (buf_adds(out, ",\"body_text\":") < 0 || json_write_string(out, doc, doclen) < 0) {
		goto fail;
	}
	if (buf_adds(out, "}\n") < 0)
		goto fail;
	return 0;
fail:
	buf_reset(out);
	return -1;
}
