/* s3.c - S3 object calls over struct aws_call: the key goes on the wire
 * encoded once (as SigV4 signs it for S3), bodies carry a SHA-256 checksum. */
#include "s3.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xml.h"

#define S3_TIMEOUT_MS 30000
#define S3_MAX_ERROR_BODY (64u * 1024)
#define S3_MAX_LIST (8u * 1024 * 1024)

struct s3 {
	struct aws_client *c;
	struct aws_endpoint ep;
	bool path_style;
	char *sse, *sse_kms_key_id;
};

enum s3_kind { S3_PUT, S3_GET, S3_HEAD_BUCKET, S3_LIST };

struct s3_op {
	struct s3 *s;
	enum s3_kind kind;
	s3_cb cb;
	void *arg;
	struct aws_call *call;
};

struct s3 *s3_new(struct aws_client *c, const struct s3_options *opt)
{
	struct s3 *s = xcalloc(1, sizeof(*s));

	s->c = c;
	s->ep.scheme = xstrdup(opt->endpoint->scheme);
	s->ep.host = xstrdup(opt->endpoint->host);
	s->ep.path = xstrdup(opt->endpoint->path);
	s->path_style = opt->path_style;
	s->sse = opt->sse ? xstrdup(opt->sse) : NULL;
	s->sse_kms_key_id = opt->sse_kms_key_id ? xstrdup(opt->sse_kms_key_id) : NULL;
	return s;
}

void s3_free(struct s3 *s)
{
	if (!s)
		return;
	aws_endpoint_free(&s->ep);
	free(s->sse);
	free(s->sse_kms_key_id);
	free(s);
}

void s3_cancel(struct s3_op *op)
{
	if (!op)
		return;
	aws_call_cancel(op->call);
	free(op);
}

static void free_keys(char **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int s3_parse_list(const char *body, size_t len, char ***keys, size_t *nkeys, char **next_token)
{
	xmlDocPtr doc = xml_parse(body, len);
	xmlNodePtr root, c;
	char *trunc = NULL, *k;
	size_t n = 0, cap = 0;
	char **v = NULL;
	int rc = -1;

	*keys = NULL;
	*nkeys = 0;
	*next_token = NULL;
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (strcmp((const char *)root->name, "ListBucketResult") != 0)
		goto out;
	for (c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "Contents") != 0)
			continue;
		k = xml_child_text(c, "Key");
		if (!k)
			goto out;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = k;
	}
	trunc = xml_child_text(root, "IsTruncated");
	if (trunc && strcmp(trunc, "true") == 0) {
		*next_token = xml_child_text(root, "NextContinuationToken");
		if (!*next_token || !**next_token)
			goto out;
	}
	*keys = v;
	*nkeys = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	if (rc < 0) {
		free(*next_token);
		*next_token = NULL;
	}
	free_keys(v, n);
	free(trunc);
	xmlFreeDoc(doc);
	return rc;
}

static void on_done(struct aws_response *resp, void *arg)
{
	struct s3_op *op = arg;
	struct s3_result r = {0};

	r.resp = resp;
	if (resp->ok && resp->http) {
		r.etag = http_response_header(resp->http, "etag");
		r.body = resp->http->body.data ? resp->http->body.data : "";
		r.body_len = resp->http->body.len;
		if (op->kind == S3_LIST &&
		    s3_parse_list(r.body, r.body_len, &r.keys, &r.nkeys, &r.next_token) < 0) {
			resp->ok = false;
			aws_error_clear(&resp->err);
			resp->err.http_status = resp->status;
			resp->err.cls = ERR_TRANSIENT;
			resp->err.code = xstrdup("MalformedAnswer");
			resp->err.message = xstrdup("ListObjectsV2 answer did not parse");
		}
	}
	op->call = NULL;
	op->cb(&r, op->arg);
	free_keys(r.keys, r.nkeys);
	free(r.next_token);
	free(op);
}

/* Path and Host for bucket/key in the configured URL style. */
static char *object_path(const struct s3 *s, const char *bucket, const char *key, char **host)
{
	*host = NULL;
	if (s->path_style)
		return key ? xstrjoin("/", bucket, "/", key, NULL) : xstrjoin("/", bucket, NULL);
	*host = xstrjoin(bucket, ".", s->ep.host, NULL);
	return xstrjoin("/", key ? key : "", NULL);
}

static struct s3_op *start(struct s3 *s, enum s3_kind kind, struct aws_request *ar,
			   const char *bucket, const char *key, s3_cb cb, void *arg)
{
	struct s3_op *op = xcalloc(1, sizeof(*op));
	char *host, *path = object_path(s, bucket, key, &host);

	op->s = s;
	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	ar->service = "s3";
	ar->endpoint = &s->ep;
	ar->host = host;
	ar->path = path;
	if (!ar->timeout_ms)
		ar->timeout_ms = S3_TIMEOUT_MS;
	op->call = aws_call_start(s->c, ar, on_done, op);
	free(host);
	free(path);
	return op;
}

struct s3_op *s3_put_object(struct s3 *s, const struct s3_put *p, s3_cb cb, void *arg)
{
	char hash_hex[SHA256_HEX_LEN + 1], hash_b64[45];
	struct sigv4_kv h[8];
	struct aws_request ar = {0};
	size_t n = 0;

	/* One SHA-256 serves both: S3 checks the body against x-amz-checksum-sha256
	 * and the signature covers x-amz-content-sha256. */
	uint8_t md[SHA256_LEN];
	sha256(p->body, p->len, md);
	hex_encode(md, sizeof(md), hash_hex);
	base64_encode(md, sizeof(md), hash_b64);
	h[n++] = (struct sigv4_kv){"Content-Type", p->content_type ? p->content_type
								   : "application/json"};
	h[n++] = (struct sigv4_kv){"x-amz-content-sha256", hash_hex};
	h[n++] = (struct sigv4_kv){"x-amz-checksum-sha256", hash_b64};
	if (p->if_match)
		h[n++] = (struct sigv4_kv){"If-Match", p->if_match};
	if (p->if_none_match)
		h[n++] = (struct sigv4_kv){"If-None-Match", "*"};
	if (s->sse)
		h[n++] = (struct sigv4_kv){"x-amz-server-side-encryption", s->sse};
	if (s->sse_kms_key_id)
		h[n++] = (struct sigv4_kv){"x-amz-server-side-encryption-aws-kms-key-id",
					   s->sse_kms_key_id};
	ar.method = "PUT";
	ar.headers = h;
	ar.nheaders = n;
	ar.body = p->body;
	ar.body_len = p->len;
	ar.payload_hash = hash_hex; /* hashed once above */
	ar.max_response = S3_MAX_ERROR_BODY;
	return start(s, S3_PUT, &ar, p->bucket, p->key, cb, arg);
}

static const struct sigv4_kv unsigned_get[] = {
	{"x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
};

struct s3_op *s3_get_object(struct s3 *s, const char *bucket, const char *key, size_t max,
			    s3_cb cb, void *arg)
{
	struct aws_request ar = {.method = "GET", .headers = unsigned_get, .nheaders = 1,
				 .max_response = max ? max : 16u * 1024 * 1024};

	return start(s, S3_GET, &ar, bucket, key, cb, arg);
}

struct s3_op *s3_head_bucket(struct s3 *s, const char *bucket, s3_cb cb, void *arg)
{
	struct aws_request ar = {.method = "HEAD", .headers = unsigned_get, .nheaders = 1,
				 .max_response = S3_MAX_ERROR_BODY};

	return start(s, S3_HEAD_BUCKET, &ar, bucket, NULL, cb, arg);
}

struct s3_op *s3_list_objects(struct s3 *s, const char *bucket, const char *prefix,
			      const char *continuation, s3_cb cb, void *arg)
{
	struct sigv4_kv q[3];
	struct aws_request ar = {.method = "GET", .headers = unsigned_get, .nheaders = 1,
				 .max_response = S3_MAX_LIST};
	size_t n = 0;

	q[n++] = (struct sigv4_kv){"list-type", "2"};
	q[n++] = (struct sigv4_kv){"prefix", prefix ? prefix : ""};
	if (continuation)
		q[n++] = (struct sigv4_kv){"continuation-token", continuation};
	ar.query = q;
	ar.nquery = n;
	return start(s, S3_LIST, &ar, bucket, NULL, cb, arg);
}
