/* creds_parse.c - parsers for credential documents: the JSON that instance
 * metadata and the ECS endpoint serve, the XML that STS answers. No I/O. */
#include "creds_parse.h"

#include <libxml/tree.h>
#include <string.h>

#include "json.h"
#include "xml.h"

void creds_add_printable(struct buf *b, const char *s, size_t n, size_t max)
{
	size_t i;

	for (i = 0; i < n && i < max; i++)
		buf_addc(b, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
	if (n > max)
		buf_adds(b, "...");
}

/* Keys and tokens: printable ASCII without spaces, within their size limit. */
static const char *bad_text(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0)
		return "is empty";
	if (n > max)
		return "is too long";
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return "holds spaces, control or non-ASCII characters";
	return NULL;
}

/* The secret strings of out, freed and wiped; out is left empty. */
static void drop(struct aws_creds *out)
{
	secret_free(out->access_key_id);
	secret_free(out->secret_access_key);
	secret_free(out->session_token);
	memset(out, 0, sizeof(*out));
}

/* Take field text s[0..n) into *dst after checking it; returns 0 or -1 (why). */
static int take(char **dst, const char *name, const char *s, size_t n, size_t max, struct buf *why)
{
	const char *bad = bad_text(s, n, max);

	if (bad) {
		buf_addf(why, "%s %s", name, bad);
		return -1;
	}
	*dst = xstrndup(s, n);
	return 0;
}

static int take_expiration(int64_t *ms, const char *name, const char *s, size_t n, struct buf *why)
{
	if (time_parse_rfc3339(s, n, ms) != 0) {
		buf_addf(why, "%s is not an RFC 3339 time ('", name);
		creds_add_printable(why, s, n, 40);
		buf_adds(why, "')");
		return -1;
	}
	return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

enum { F_ID, F_SECRET, F_TOKEN, F_EXP, F_CODE, F_MESSAGE, F_COUNT };
static const char *const json_fields[F_COUNT] = {
	"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "Code", "Message",
};

int creds_parse_json(const char *p, size_t n, struct aws_creds *out, struct buf *why)
{
	const struct json_limits lim = {.max_depth = 16, .max_members = 256};
	struct json_member found[F_COUNT] = {{0}};
	bool seen[F_COUNT] = {false};
	struct json_iter it;
	struct json_member m;
	struct buf text;
	size_t i;
	int rc = -1, more;

	memset(out, 0, sizeof(*out));
	buf_init(&text, 0);
	memset(&it, 0, sizeof(it));
	if (n > CREDS_MAX_DOC) {
		buf_addf(why, "credentials document larger than %zu bytes", CREDS_MAX_DOC);
		goto fail;
	}
	if (json_validate(p, n, &lim, NULL) != JSON_OK) {
		buf_adds(why, "credentials document is not valid JSON");
		goto fail;
	}
	json_trim(&p, &n);
	if (json_iter_init(&it, p, n) < 0) {
		buf_adds(why, "credentials document is not a JSON object");
		goto fail;
	}
	while ((more = json_iter_next(&it, &m)) == 1) {
		for (i = 0; i < F_COUNT; i++)
			if (m.key_len == strlen(json_fields[i]) &&
			    memcmp(m.key, json_fields[i], m.key_len) == 0)
				break;
		if (i == F_COUNT)
			continue;
		if (seen[i]) {
			buf_addf(why, "credentials document has %s twice", json_fields[i]);
			goto fail;
		}
		if (m.type != JSON_STRING) {
			buf_addf(why, "%s is a JSON %s, not a string", json_fields[i],
				 json_type_name(m.type));
			goto fail;
		}
		seen[i] = true;
		found[i] = m;
	}
	if (more < 0) {
		buf_adds(why, "credentials document is not valid JSON");
		goto fail;
	}
	/* The raw bytes first, so unescaping never reallocates (no stray copies). */
	buf_add(&text, p, n);
	if (seen[F_CODE]) {
		buf_reset(&text);
		json_unescape(&text, found[F_CODE].value, found[F_CODE].value_len);
		if (strcmp(buf_str(&text), "Success") != 0) {
			buf_adds(why, "the credentials endpoint answered Code '");
			creds_add_printable(why, text.data, text.len, 64);
			buf_adds(why, "'");
			if (seen[F_MESSAGE]) {
				buf_reset(&text);
				json_unescape(&text, found[F_MESSAGE].value,
					      found[F_MESSAGE].value_len);
				buf_adds(why, ": ");
				creds_add_printable(why, text.data, text.len, 200);
			}
			goto fail;
		}
	}
	for (i = F_ID; i <= F_EXP; i++)
		if (!seen[i]) {
			buf_addf(why, "credentials document has no %s", json_fields[i]);
			goto fail;
		}
	for (i = F_ID; i <= F_EXP; i++) {
		char **dst = i == F_ID	     ? &out->access_key_id
			     : i == F_SECRET ? &out->secret_access_key
					     : &out->session_token;
		int r;

		buf_reset(&text);
		if (json_unescape(&text, found[i].value, found[i].value_len) < 0) {
			buf_addf(why, "%s is not a valid JSON string", json_fields[i]);
			goto fail;
		}
		if (i == F_EXP)
			r = take_expiration(&out->expiration_ms, json_fields[i], text.data,
					    text.len, why);
		else
			r = take(dst, json_fields[i], text.data, text.len,
				 i == F_TOKEN ? CREDS_MAX_TOKEN : CREDS_MAX_KEY, why);
		if (r < 0)
			goto fail;
	}
	rc = 0;
fail:
	if (rc < 0)
		drop(out);
	json_iter_free(&it);
	if (text.data)
		secure_wipe(text.data, text.cap);
	buf_free(&text);
	return rc;
}

/* ---- STS XML ------------------------------------------------------------- */

/* The text of an element that holds only text (no child elements), appended
 * to out; -1 if it has child elements or the text exceeds max. */
static int node_text(xmlNodePtr el, struct buf *out, size_t max)
{
	xmlNodePtr c;

	buf_reset(out);
	for (c = el->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return -1;
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
			size_t len = strlen((const char *)c->content);
			if (out->len + len > max || buf_add(out, c->content, len) < 0)
				return -1;
		}
	}
	return 0;
}

/* Wipe the text of every text node under el (the document's copies of the
 * secrets) unless libxml2 interned it in the document's dictionary. */
static void wipe_text(xmlDocPtr doc, xmlNodePtr el)
{
	xmlNodePtr c;

	for (c = el ? el->children : NULL; c; c = c->next) {
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content &&
		    !(doc->dict && xmlDictOwns(doc->dict, c->content)))
			secure_wipe(c->content, strlen((const char *)c->content));
		else if (c->type == XML_ELEMENT_NODE)
			wipe_text(doc, c);
	}
}

static void sts_error(xmlNodePtr root, struct buf *text, struct buf *code, struct buf *why)
{
	xmlNodePtr err = xml_child(root, "Error");
	xmlNodePtr c = xml_child(err, "Code"), m = xml_child(err, "Message");

	if (!c || node_text(c, text, 256) < 0 || text->len == 0) {
		buf_adds(why, "STS answered an ErrorResponse without a Code");
		return;
	}
	creds_add_printable(why, text->data, text->len, 64);
	if (code) {
		buf_reset(code);
		creds_add_printable(code, text->data, text->len, 64);
	}
	if (m && node_text(m, text, 4096) == 0 && text->len) {
		buf_adds(why, ": ");
		creds_add_printable(why, text->data, text->len, 200);
	}
}

int creds_parse_sts(const char *p, size_t n, struct aws_creds *out, struct buf *code,
		    struct buf *why)
{
	static const char *const names[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
					    "Expiration"};
	xmlDocPtr doc = NULL;
	xmlNodePtr root, cr = NULL;
	struct buf text;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&text, 0);
	if (n > CREDS_MAX_DOC || !(doc = xml_parse(p, n))) {
		buf_addf(why, "STS answer is not well-formed XML of at most %zu bytes",
			 CREDS_MAX_DOC);
		goto fail;
	}
	/* Sized once so that the secrets are never reallocated. */
	buf_add(&text, p, n);
	root = xmlDocGetRootElement(doc);
	if (strcmp((const char *)root->name, "ErrorResponse") == 0) {
		sts_error(root, &text, code, why);
		goto fail;
	}
	if (strcmp((const char *)root->name, "AssumeRoleWithWebIdentityResponse") != 0) {
		buf_adds(why, "STS answer is not an AssumeRoleWithWebIdentityResponse");
		goto fail;
	}
	cr = xml_child(xml_child(root, "AssumeRoleWithWebIdentityResult"), "Credentials");
	if (!cr) {
		buf_adds(why, "STS answer has no AssumeRoleWithWebIdentityResult/Credentials");
		goto fail;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		xmlNodePtr el = xml_child(cr, names[i]);
		int r;

		if (!el) {
			buf_addf(why, "STS answer has no Credentials/%s", names[i]);
			goto fail;
		}
		if (node_text(el, &text, i == 2 ? CREDS_MAX_TOKEN : CREDS_MAX_KEY + 64) < 0) {
			buf_addf(why, "Credentials/%s is too long or not plain text", names[i]);
			goto fail;
		}
		if (i == 3)
			r = take_expiration(&out->expiration_ms, names[i], text.data, text.len,
					    why);
		else
			r = take(i == 0	  ? &out->access_key_id
				 : i == 1 ? &out->secret_access_key
					  : &out->session_token,
				 names[i], text.data, text.len,
				 i == 2 ? CREDS_MAX_TOKEN : CREDS_MAX_KEY, why);
		if (r < 0)
			goto fail;
	}
	rc = 0;
fail:
	if (rc < 0)
		drop(out);
	if (doc) {
		wipe_text(doc, cr);
		xmlFreeDoc(doc);
	}
	if (text.data)
		secure_wipe(text.data, text.cap);
	buf_free(&text);
	return rc;
}
