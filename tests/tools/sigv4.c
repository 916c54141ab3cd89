/* tools/sigv4.c - test tool: signs requests read as JSON lines on stdin and
 * prints each stage as one JSON line, for comparison with botocore.
 *
 * in:  {"method","path","query":[[k,v]...],"headers":[[k,v]...],"body",
 *       "service","region","access_key","secret_key","session_token",
 *       "time_ms","s3", "raw_path" (optional)}
 * out: {"canonical_request","string_to_sign","signature","authorization",
 *       "security_token"} or {"error": "..."} */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigv4.h"
#include "util.h"

#define MAX_LINE (4 * 1024 * 1024)

static const char *str_field(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool bool_field(struct json_object *o, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(o, name, &v) && json_object_get_boolean(v);
}

/* [[k, v], ...] into a new array of views into o; -1 on a malformed list. */
static int kv_list(struct json_object *o, const char *name, struct sigv4_kv **out, size_t *n)
{
	struct json_object *arr, *pair, *k, *v;
	size_t i, len;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, name, &arr) || json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	len = json_object_array_length(arr);
	*out = xcalloc(len ? len : 1, sizeof(**out));
	for (i = 0; i < len; i++) {
		pair = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(pair, json_type_array) ||
		    json_object_array_length(pair) != 2)
			return -1;
		k = json_object_array_get_idx(pair, 0);
		v = json_object_array_get_idx(pair, 1);
		if (!json_object_is_type(k, json_type_string) ||
		    !json_object_is_type(v, json_type_string))
			return -1;
		(*out)[i].name = json_object_get_string(k);
		(*out)[i].value = json_object_get_string(v);
	}
	*n = len;
	return 0;
}

static struct json_object *sign_one(struct json_object *in)
{
	struct json_object *res = json_object_new_object(), *t;
	struct sigv4_request req = {0};
	struct sigv4_params p = {0};
	struct sigv4_result r = {0};
	struct sigv4_kv *query = NULL, *headers = NULL, extra[2];
	struct buf creq, sts, sh;
	char body_hash[SHA256_HEX_LEN + 1], amz[TIME_AMZ_LEN], sig[SHA256_HEX_LEN + 1];
	const char *body = str_field(in, "body"), *err = "bad request";
	uint8_t key[32];
	size_t i, nextra;

	buf_init(&creq, SIGV4_MAX_CANONICAL);
	buf_init(&sts, SIGV4_MAX_CANONICAL);
	buf_init(&sh, SIGV4_MAX_CANONICAL);
	if (kv_list(in, "query", &query, &req.nquery) < 0 ||
	    kv_list(in, "headers", &headers, &req.nheaders) < 0)
		goto fail;
	req.method = str_field(in, "method");
	req.path = str_field(in, "path");
	req.query = query;
	req.headers = headers;
	req.raw_path = bool_field(in, "raw_path");
	sha256_hex(body ? body : "", body ? strlen(body) : 0, body_hash);
	req.payload_hash = body_hash;
	for (i = 0; i < req.nheaders; i++)
		if (strcasecmp(headers[i].name, "x-amz-content-sha256") == 0)
			req.payload_hash = headers[i].value;
	p.access_key = str_field(in, "access_key");
	p.secret_key = str_field(in, "secret_key");
	p.session_token = str_field(in, "session_token");
	p.region = str_field(in, "region");
	p.service = str_field(in, "service");
	p.s3_rules = bool_field(in, "s3");
	if (!json_object_object_get_ex(in, "time_ms", &t) || !p.secret_key || !p.region ||
	    !p.service)
		goto fail;
	p.time_ms = json_object_get_int64(t);

	time_fmt_amz(p.time_ms, amz);
	nextra = sigv4_extra_headers(&p, amz, extra);
	err = "canonical request";
	if (sigv4_canonical_request(&req, &p, extra, nextra, &creq, &sh) < 0)
		goto fail;
	err = "string to sign";
	if (sigv4_string_to_sign(&p, buf_str(&creq), creq.len, &sts) < 0)
		goto fail;
	amz[8] = '\0';
	sigv4_signing_key(p.secret_key, amz, p.region, p.service, key);
	sigv4_signature(key, buf_str(&sts), sts.len, sig);
	err = "sigv4_sign";
	if (sigv4_sign(&req, &p, NULL, &r) < 0)
		goto fail;
	json_object_object_add(res, "canonical_request", json_object_new_string(buf_str(&creq)));
	json_object_object_add(res, "string_to_sign", json_object_new_string(buf_str(&sts)));
	json_object_object_add(res, "signature", json_object_new_string(sig));
	json_object_object_add(res, "authorization", json_object_new_string(r.authorization));
	json_object_object_add(res, "security_token",
			       r.security_token ? json_object_new_string(r.security_token) : NULL);
	err = NULL;
fail:
	if (err)
		json_object_object_add(res, "error", json_object_new_string(err));
	sigv4_result_free(&r);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&sh);
	free(query);
	free(headers);
	return res;
}

int main(void)
{
	struct json_object *in, *out;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (n > MAX_LINE) {
			fputs("tool_sigv4: line too long\n", stderr);
			return 1;
		}
		if (n == 1 && line[0] == '\n')
			continue;
		in = json_tokener_parse(line);
		if (!in) {
			fputs("{\"error\":\"invalid JSON\"}\n", stdout);
			continue;
		}
		out = sign_one(in);
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(out);
		json_object_put(in);
	}
	free(line);
	return 0;
}
