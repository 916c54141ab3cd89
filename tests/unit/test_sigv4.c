/* test_sigv4.c - SigV4 signer: the AWS test suite (all cases, final
 * Authorization), each stage against golden values derived with botocore,
 * the AWS docs' signing-key example, token, S3 vs other services, the key
 * cache and the output bounds. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sigv4.h"
#include "util.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME_MS 1440938160000LL /* 2015-08-30T12:36:00Z */
#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HOST_EX "example.amazonaws.com"
#define DATE_HDR "x-amz-date:20150830T123600Z\n"
#define SCOPE_SVC "20150830/us-east-1/service/aws4_request"
#define AUTH_SVC "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" SCOPE_SVC ", "

/* ---- a request read from the suite file ---------------------------------- */

struct suite_req {
	char *name;
	char *authorization;
	char *body;
	char *token;
	char hash[SHA256_HEX_LEN + 1];
	struct sigv4_kv q[16], h[16];
	struct sigv4_request req;
	struct sigv4_params p;
};

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* The suite's "path" is the request-line path exactly as sent ("/ሴ" is raw
 * UTF-8 on the wire), so it is signed with raw_path; x-amz-date and
 * x-amz-security-token come from the signer (the token from params). */
static void suite_load(struct json_object *r, struct suite_req *s)
{
	struct json_object *rq, *q, *h;
	const char *b;

	memset(s, 0, sizeof(*s));
	json_object_object_get_ex(r, "request", &rq);
	s->name = xstrdup(jstr(r, "name"));
	s->authorization = xstrdup(jstr(r, "authorization"));
	b = jstr(rq, "body");
	s->body = xstrdup(b ? b : "");
	sha256_hex(s->body, strlen(s->body), s->hash);
	s->req.method = jstr(rq, "method");
	s->req.path = jstr(rq, "path");
	s->req.raw_path = true;
	s->req.payload_hash = s->hash;
	json_object_object_get_ex(rq, "query", &q);
	json_object_object_foreach(q, qk, qv)
	{
		if (s->req.nquery < ARRAY_SIZE(s->q))
			s->q[s->req.nquery++] = (struct sigv4_kv){qk, json_object_get_string(qv)};
	}
	json_object_object_get_ex(rq, "headers", &h);
	json_object_object_foreach(h, hk, hv)
	{
		if (strcmp(hk, "x-amz-date") == 0)
			continue;
		if (strcmp(hk, "x-amz-security-token") == 0) {
			s->token = xstrdup(json_object_get_string(hv));
			continue;
		}
		if (s->req.nheaders < ARRAY_SIZE(s->h))
			s->h[s->req.nheaders++] = (struct sigv4_kv){hk, json_object_get_string(hv)};
	}
	s->req.query = s->q;
	s->req.headers = s->h;
	s->p = (struct sigv4_params){.access_key = "AKIDEXAMPLE", .secret_key = SECRET,
				     .session_token = s->token, .region = "us-east-1",
				     .service = "service", .time_ms = SUITE_TIME_MS};
}

static void suite_free(struct suite_req *s)
{
	free(s->name);
	free(s->authorization);
	free(s->body);
	free(s->token);
}

/* Runs the four stages by hand; returns the Authorization they produce. */
static char *stages(const struct sigv4_request *req, const struct sigv4_params *p,
		    char **canonical, char **sts)
{
	struct buf cr, st, sh;
	struct sigv4_kv extra[2];
	char amz[TIME_AMZ_LEN], date8[9], sig[SHA256_HEX_LEN + 1], *auth = NULL;
	uint8_t key[32];
	size_t n;

	buf_init(&cr, 0);
	buf_init(&st, 0);
	buf_init(&sh, 0);
	time_fmt_amz(p->time_ms, amz);
	memcpy(date8, amz, 8);
	date8[8] = '\0';
	n = sigv4_extra_headers(p, amz, extra);
	if (sigv4_canonical_request(req, p, extra, n, &cr, &sh) == 0 &&
	    sigv4_string_to_sign(p, buf_str(&cr), cr.len, &st) == 0) {
		sigv4_signing_key(p->secret_key, date8, p->region, p->service, key);
		sigv4_signature(key, buf_str(&st), st.len, sig);
		auth = xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
				 "SignedHeaders=%s, Signature=%s",
				 p->access_key, date8, p->region, p->service, buf_str(&sh), sig);
	}
	if (canonical)
		*canonical = xstrdup(buf_str(&cr));
	if (sts)
		*sts = xstrdup(buf_str(&st));
	buf_free(&cr);
	buf_free(&st);
	buf_free(&sh);
	return auth;
}

static char *sign_auth(const struct sigv4_request *req, const struct sigv4_params *p)
{
	struct sigv4_result r;
	char *auth;

	if (sigv4_sign(req, p, NULL, &r) < 0)
		return NULL;
	auth = xstrdup(r.authorization);
	sigv4_result_free(&r);
	return auth;
}

/* ---- golden stage values (botocore 1.29, verified by the final signature
 * matching the suite or botocore's Authorization) --------------------------- */

struct golden {
	const char *name; /* suite case */
	const char *canonical;
	const char *sts;
};

static const struct golden suite_golden[] = {
	{"get-vanilla",
	 "GET\n/\n\nhost:" HOST_EX "\n" DATE_HDR "\nhost;x-amz-date\n" EMPTY_HASH,
	 "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
	 "\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"},
	{"get-header-value-trim",
	 "GET\n/\n\nhost:" HOST_EX "\nmy-header1:value1\nmy-header2:\"a b c\"\n" DATE_HDR
	 "\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_HASH,
	 "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
	 "\na726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7"},
	{"get-vanilla-query-order-key-case",
	 "GET\n/\nParam1=value1&Param2=value2\nhost:" HOST_EX "\n" DATE_HDR
	 "\nhost;x-amz-date\n" EMPTY_HASH,
	 "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
	 "\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"},
	{"post-vanilla-query-nonunreserved",
	 "POST\n/\n%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D&%40%23%24%25%5E=\nhost:" HOST_EX
	 "\n" DATE_HDR "\nhost;x-amz-date\n" EMPTY_HASH,
	 "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
	 "\n13c1a9775a543ebd153fdebba799dc0572ea298c6aac14eb1a86998b980c2a34"},
	{"post-x-www-form-urlencoded-parameters",
	 "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\nhost:" HOST_EX
	 "\n" DATE_HDR "\ncontent-type;host;x-amz-date\n"
	 "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	 "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
	 "\n2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c"},
	{"post-sts-header-before",
	 "POST\n/\n\nhost:" HOST_EX "\n" DATE_HDR
	 "x-amz-security-token:AQoDYXdzEPT//////////"
	 "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuw"
	 "thAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75Y"
	 "U9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc"
	 "8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n"
	 "\nhost;x-amz-date;x-amz-security-token\n" EMPTY_HASH,
	 "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
	 "\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6"},
	{"get-utf8",
	 "GET\n/%E1%88%B4\n\nhost:" HOST_EX "\n" DATE_HDR "\nhost;x-amz-date\n" EMPTY_HASH,
	 "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
	 "\n2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102"},
};

static const struct golden *find_golden(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(suite_golden); i++)
		if (strcmp(suite_golden[i].name, name) == 0)
			return &suite_golden[i];
	return NULL;
}

/* Every suite case: sigv4_sign() gives the file's Authorization, the stages
 * run by hand give the same, and the golden cases match stage by stage. */
static void test_suite(void)
{
	const char *dir = getenv("S3S_SHARED_DIR");
	char *path = xasprintf("%s/testdata/sigv4-suite.json", dir ? dir : "../shared");
	struct json_object *root = json_object_from_file(path), *reqs;
	struct suite_req s;
	const struct golden *g;
	char *auth, *by_hand, *cr, *sts;
	size_t i, n = 0, golden_seen = 0;

	CHECK(root != NULL);
	if (!root) {
		fprintf(stderr, "cannot read %s\n", path);
		free(path);
		return;
	}
	CHECK(json_object_object_get_ex(root, "requests", &reqs));
	n = json_object_array_length(reqs);
	CHECK_INT(n, 24);
	for (i = 0; i < n; i++) {
		suite_load(json_object_array_get_idx(reqs, i), &s);
		auth = sign_auth(&s.req, &s.p);
		by_hand = stages(&s.req, &s.p, &cr, &sts);
		CHECK_STR(auth, s.authorization);
		CHECK_STR(by_hand, s.authorization);
		if (auth && strcmp(auth, s.authorization) != 0)
			fprintf(stderr, "  suite case %s\n", s.name);
		g = find_golden(s.name);
		if (g) {
			golden_seen++;
			CHECK_STR(cr, g->canonical);
			CHECK_STR(sts, g->sts);
		}
		free(auth);
		free(by_hand);
		free(cr);
		free(sts);
		suite_free(&s);
	}
	CHECK_INT(golden_seen, ARRAY_SIZE(suite_golden));
	json_object_put(root);
	free(path);
}

/* The AWS docs' example (IAM ListUsers): every stage. */
static void test_docs_example(void)
{
	static const struct sigv4_kv q[] = {{"Version", "2010-05-08"}, {"Action", "ListUsers"}};
	static const struct sigv4_kv h[] = {
		{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
		{"Host", "iam.amazonaws.com"}};
	struct sigv4_request req = {.method = "GET", .path = "/", .query = q, .nquery = 2,
				    .headers = h, .nheaders = 2, .payload_hash = EMPTY_HASH};
	struct sigv4_params p = {.access_key = "AKIDEXAMPLE", .secret_key = SECRET,
				 .region = "us-east-1", .service = "iam",
				 .time_ms = SUITE_TIME_MS + 999};
	uint8_t key[32];
	char hex[SHA256_HEX_LEN + 1], *cr, *sts, *auth, *signed_auth;

	sigv4_signing_key(SECRET, "20150830", "us-east-1", "iam", key);
	hex_encode(key, sizeof(key), hex);
	CHECK_STR(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");

	auth = stages(&req, &p, &cr, &sts);
	CHECK_STR(cr, "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
		      "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
		      "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
		      "content-type;host;x-amz-date\n" EMPTY_HASH);
	CHECK_STR(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
		       "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	sigv4_signature(key, sts, strlen(sts), hex);
	CHECK_STR(hex, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
	signed_auth = sign_auth(&req, &p);
	CHECK_STR(signed_auth, auth);
	CHECK_STR(signed_auth,
		  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
		  "SignedHeaders=content-type;host;x-amz-date, "
		  "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
	free(cr);
	free(sts);
	free(auth);
	free(signed_auth);
}

/* The path "/ሴ" given decoded goes on the wire as "/%E1%88%B4"; outside S3
 * that is encoded once more (botocore with that URL). */
static void test_decoded_utf8_path(void)
{
	static const struct sigv4_kv h[] = {{"host", HOST_EX}};
	struct sigv4_request req = {.method = "GET", .path = "/ሴ", .headers = h, .nheaders = 1};
	struct sigv4_params p = {.access_key = "AKIDEXAMPLE", .secret_key = SECRET,
				 .region = "us-east-1", .service = "service",
				 .time_ms = SUITE_TIME_MS};
	char *cr, *sts, *auth = stages(&req, &p, &cr, &sts), *signed_auth = sign_auth(&req, &p);

	CHECK_STR(cr, "GET\n/%25E1%2588%25B4\n\nhost:" HOST_EX "\n" DATE_HDR
		      "\nhost;x-amz-date\n" EMPTY_HASH);
	CHECK_STR(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
		       "\n05a9d6899022a3640ab14690cea6ff574ab4eef0d900ff180107a5fc5b93e126");
	CHECK_STR(signed_auth, AUTH_SVC "SignedHeaders=host;x-amz-date, "
					"Signature=697b34846207a3f72246f99d74ae1ee4fe54f44bb06730c58a0d339eb079596d");
	CHECK_STR(auth, signed_auth);
	free(cr);
	free(sts);
	free(auth);
	free(signed_auth);
}

/* One key, S3 rules vs other services: S3 signs the wire path as is ("..",
 * "//", "." kept), others normalise and encode twice. */
#define ODD_PATH "/my-bucket/a/../b//c d+e=f%g~h/./ሴ/"
#define S3_ODD_SIG "7335b48c33e536c06b14abb78d2b9141560e31dddaacf65b8e9f7eb93d19d20f"
#define S3_CR_HEAD "GET\n/my-bucket/a/../b//c%20d%2Be%3Df%25g~h/./%E1%88%B4/\n\nhost:" HOST_EX \
		   "\nx-amz-content-sha256:" EMPTY_HASH "\n" DATE_HDR
static void test_s3_vs_service(void)
{
	static const struct sigv4_kv h[] = {{"host", HOST_EX}, {"x-amz-content-sha256", EMPTY_HASH}};
	struct sigv4_request req = {.method = "GET", .path = ODD_PATH, .headers = h,
				    .nheaders = 2, .payload_hash = EMPTY_HASH};
	struct sigv4_params p = {.access_key = "AKIDEXAMPLE", .secret_key = SECRET,
				 .region = "us-east-1", .service = "s3", .s3_rules = true,
				 .time_ms = SUITE_TIME_MS};
	struct buf wire;
	char *cr, *sts, *auth, *signed_auth, *raw_auth;

	auth = stages(&req, &p, &cr, &sts);
	signed_auth = sign_auth(&req, &p);
	CHECK_STR(cr, S3_CR_HEAD "\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY_HASH);
	CHECK_STR(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/s3/aws4_request\n"
		       "9811dca202fd9e34733eddcdf18b3081023a626e9622d753c8b2897479850eed");
	CHECK_STR(signed_auth,
		  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
		  "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
		  "Signature=" S3_ODD_SIG);
	CHECK_STR(auth, signed_auth);

	/* The same request with its wire path and raw_path signs identically. */
	buf_init(&wire, 0);
	CHECK_INT(sigv4_uri_encode(&wire, ODD_PATH, strlen(ODD_PATH), true), 0);
	CHECK_STR(buf_str(&wire), "/my-bucket/a/../b//c%20d%2Be%3Df%25g~h/./%E1%88%B4/");
	req.path = buf_str(&wire);
	req.raw_path = true;
	raw_auth = sign_auth(&req, &p);
	CHECK_STR(raw_auth, signed_auth);
	free(cr);
	free(sts);
	free(auth);
	free(signed_auth);
	free(raw_auth);

	/* Not S3: "a/.." and "." gone, "//" collapsed, encoded twice. */
	p.service = "service";
	p.s3_rules = false;
	auth = stages(&req, &p, &cr, &sts);
	signed_auth = sign_auth(&req, &p);
	req.path = ODD_PATH;
	req.raw_path = false;
	raw_auth = sign_auth(&req, &p);
	CHECK_STR(cr, "GET\n/my-bucket/b/c%2520d%252Be%253Df%2525g~h/%25E1%2588%25B4/\n\nhost:" HOST_EX
		      "\nx-amz-content-sha256:" EMPTY_HASH "\n" DATE_HDR
		      "\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY_HASH);
	CHECK_STR(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n" SCOPE_SVC
		       "\n474199f543bbd75efdf0c64de9d55f734635a2396278b59620026ed529e35961");
	CHECK_STR(signed_auth, AUTH_SVC "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
					"Signature=33c5b1dc002949528f61d814286c0d2fea488e24dc6fff7fc556fdeadc70e38d");
	CHECK_STR(auth, signed_auth);
	CHECK_STR(raw_auth, signed_auth);
	free(cr);
	free(sts);
	free(auth);
	free(signed_auth);
	free(raw_auth);
	buf_free(&wire);
}

/* Canonical URI (second line) for a path under non-S3 rules, decoded form.
 * Expected values from botocore (remove_dot_segments, then quote). */
static void test_normalisation(void)
{
	static const struct {
		const char *path, *uri;
	} cases[] = {
		{"", "/"},
		{"/", "/"},
		{"//", "/"},
		{"/./", "/"},
		{"/example/..", "/"},
		{"/example1/example2/../..", "/"},
		{"/./example", "/example"},
		{"//example//", "/example/"},
		{"/example space/", "/example%2520space/"},
		{"/a/b/.", "/a/b"},
		{"/a/b/..", "/a"},
		{"/a/b/../", "/a/"},
		{"/../../a", "/a"},
		{"/a/%2e%2e/b", "/a/%25252e%25252e/b"},
		{"/a/.../b", "/a/.../b"},
		{"/~user/x+y=z", "/~user/x%252By%253Dz"},
	};
	static const struct sigv4_kv h[] = {{"host", HOST_EX}};
	struct sigv4_request req = {.method = "GET", .headers = h, .nheaders = 1};
	struct sigv4_params p = {.region = "us-east-1", .service = "service"};
	struct buf cr, sh;
	const char *uri, *nl;
	size_t i;

	buf_init(&cr, 0);
	buf_init(&sh, 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_reset(&cr);
		buf_reset(&sh);
		req.path = cases[i].path;
		CHECK_INT(sigv4_canonical_request(&req, &p, NULL, 0, &cr, &sh), 0);
		uri = strchr(buf_str(&cr), '\n');
		uri = uri ? uri + 1 : "";
		nl = strchr(uri, '\n');
		CHECK_INT(nl ? (size_t)(nl - uri) : 0, strlen(cases[i].uri));
		if (!nl || strncmp(uri, cases[i].uri, (size_t)(nl - uri)) != 0)
			fprintf(stderr, "  path \"%s\": got \"%.*s\", expected \"%s\"\n",
				cases[i].path, nl ? (int)(nl - uri) : 0, uri, cases[i].uri);
		CHECK(nl && strncmp(uri, cases[i].uri, (size_t)(nl - uri)) == 0);
	}
	buf_free(&cr);
	buf_free(&sh);
}

static void test_uri_encode(void)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(sigv4_uri_encode(&b, "a b+c=d%e~f/g/ü", strlen("a b+c=d%e~f/g/ü"), true), 0);
	CHECK_STR(buf_str(&b), "a%20b%2Bc%3Dd%25e~f/g/%C3%BC");
	buf_reset(&b);
	CHECK_INT(sigv4_uri_encode(&b, "-._~AZaz09/*", 12, false), 0);
	CHECK_STR(buf_str(&b), "-._~AZaz09%2F%2A");
	buf_free(&b);
	buf_init(&b, 5);
	CHECK_INT(sigv4_uri_encode(&b, "ab", 2, false), 0);
	CHECK_INT(sigv4_uri_encode(&b, " ", 1, false), 0);
	CHECK_INT(sigv4_uri_encode(&b, " ", 1, false), -1); /* 2 + 3 + 3 > 5 */
	CHECK_STR(buf_str(&b), "ab%20");
	buf_free(&b);
}

/* Token present: x-amz-security-token signed and returned; "" or NULL: absent. */
static void test_session_token(void)
{
	static const struct sigv4_kv h[] = {{"Host", HOST_EX},
					    {"x-amz-content-sha256", EMPTY_HASH}};
	struct sigv4_request req = {.method = "GET", .path = ODD_PATH, .headers = h,
				    .nheaders = 2, .payload_hash = EMPTY_HASH};
	struct sigv4_params p = {.access_key = "AKIDEXAMPLE", .secret_key = SECRET,
				 .session_token = "FQoGZXIvYXdzE//token+/=", .region = "us-east-1",
				 .service = "s3", .s3_rules = true, .time_ms = SUITE_TIME_MS};
	struct sigv4_result r;
	char *cr, *sts, *auth;

	auth = stages(&req, &p, &cr, &sts);
	CHECK_STR(cr, S3_CR_HEAD "x-amz-security-token:FQoGZXIvYXdzE//token+/=\n"
				 "\nhost;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" EMPTY_HASH);
	CHECK_STR(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/s3/aws4_request\n"
		       "cc81052b2e8350768ad0f6f75661b1b4e5484ceb961adfa8ef1c45f6d43842f8");
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), 0);
	CHECK_STR(r.authorization,
		  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
		  "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
		  "Signature=06bb3c394da90cea5eedd3d423435578774e4d4daba457afc8e1999805739da2");
	CHECK_STR(r.authorization, auth);
	CHECK_STR(r.security_token, p.session_token);
	CHECK_STR(r.amz_date, "20150830T123600Z");
	sigv4_result_free(&r);
	sigv4_result_free(&r); /* twice is fine */
	free(cr);
	free(sts);
	free(auth);

	/* "" and NULL: no token header at all, same signature as without one. */
	p.session_token = "";
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), 0);
	CHECK(r.security_token == NULL);
	CHECK(strstr(r.authorization, "x-amz-security-token") == NULL);
	CHECK(strstr(r.authorization, "Signature=" S3_ODD_SIG) != NULL);
	sigv4_result_free(&r);
	p.session_token = NULL;
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), 0);
	CHECK(r.security_token == NULL);
	CHECK(strstr(r.authorization, "Signature=" S3_ODD_SIG) != NULL);
	sigv4_result_free(&r);
}

/* Header rules: case folded, values trimmed, duplicates joined in order,
 * sorted; a caller's x-amz-date/token/authorization are replaced or ignored. */
static void test_headers(void)
{
	static const struct sigv4_kv h[] = {
		{"X-B", "  two   words\there  "}, {"Host", HOST_EX}, {"x-a", "1"},
		{"X-A", "\t2 "},		      {"X-Amz-Date", "19990101T000000Z"},
		{"Authorization", "stale"},	      {"x-empty", "   "}};
	static const struct sigv4_kv q[] = {{"b", ""}, {"a", "2"}, {"a", "10"}, {"A", "x y"}};
	struct sigv4_request req = {.method = "PUT", .path = "/", .headers = h,
				    .nheaders = ARRAY_SIZE(h), .query = q, .nquery = 4};
	struct sigv4_params p = {.region = "us-east-1", .service = "service",
				 .time_ms = SUITE_TIME_MS};
	struct sigv4_kv extra[2];
	struct buf cr, sh;

	buf_init(&cr, 0);
	buf_init(&sh, 0);
	CHECK_INT(sigv4_extra_headers(&p, "20150830T123600Z", extra), 1);
	CHECK_INT(sigv4_canonical_request(&req, &p, extra, 1, &cr, &sh), 0);
	CHECK_STR(buf_str(&cr), "PUT\n/\nA=x%20y&a=10&a=2&b=\nhost:" HOST_EX "\nx-a:1,2\n"
				"x-amz-date:20150830T123600Z\nx-b:two words here\nx-empty:\n\n"
				"host;x-a;x-amz-date;x-b;x-empty\n" EMPTY_HASH);
	CHECK_STR(buf_str(&sh), "host;x-a;x-amz-date;x-b;x-empty");
	buf_free(&cr);
	buf_free(&sh);
}

/* Invalid or oversized requests fail with -1 and leave nothing to free. */
static void test_errors_and_bounds(void)
{
	static const struct sigv4_kv nohost[] = {{"x-a", "1"}};
	static const struct sigv4_kv badname[] = {{"host", HOST_EX}, {"bad name", "1"}};
	static const struct sigv4_kv good[] = {{"host", HOST_EX}};
	struct sigv4_request req = {.method = "GET", .path = "/", .headers = nohost, .nheaders = 1};
	struct sigv4_params p = {.access_key = "AKIDEXAMPLE", .secret_key = SECRET,
				 .region = "us-east-1", .service = "service",
				 .time_ms = SUITE_TIME_MS};
	struct sigv4_result r;
	struct sigv4_kv big = {"q", NULL};
	struct buf cr, sh;
	char *v;

	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), -1);
	CHECK(r.authorization == NULL);
	req.headers = badname;
	req.nheaders = 2;
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), -1);
	req.headers = good;
	req.nheaders = 1;
	req.path = "relative/path";
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), -1);
	req.path = "/";
	p.region = "us-east-1/evil";
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), -1);
	p.region = "us-east-1";
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), 0);
	sigv4_result_free(&r);

	/* A query value whose encoding passes SIGV4_MAX_CANONICAL. */
	v = xmalloc(SIGV4_MAX_CANONICAL / 2);
	memset(v, ' ', SIGV4_MAX_CANONICAL / 2 - 1);
	v[SIGV4_MAX_CANONICAL / 2 - 1] = '\0';
	big.value = v;
	req.query = &big;
	req.nquery = 1;
	CHECK_INT(sigv4_sign(&req, &p, NULL, &r), -1);
	CHECK(r.authorization == NULL);
	sigv4_result_free(&r);

	/* Every stage honours the caller's maximum. */
	req.query = NULL;
	req.nquery = 0;
	buf_init(&cr, 40);
	buf_init(&sh, 0);
	CHECK_INT(sigv4_canonical_request(&req, &p, NULL, 0, &cr, &sh), -1);
	buf_free(&cr);
	buf_init(&cr, 0);
	CHECK_INT(sigv4_canonical_request(&req, &p, NULL, 0, &cr, &sh), 0);
	buf_free(&sh);
	buf_init(&sh, 100);
	CHECK_INT(sigv4_string_to_sign(&p, buf_str(&cr), cr.len, &sh), -1);
	buf_free(&sh);
	buf_init(&sh, 200);
	CHECK_INT(sigv4_string_to_sign(&p, buf_str(&cr), cr.len, &sh), 0);
	buf_free(&cr);
	buf_free(&sh);
	free(v);
}

static bool contains(const void *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* The cache computes once per date/region/service/secret and keeps no secret. */
static void test_key_cache(void)
{
	static const struct sigv4_kv h[] = {{"host", HOST_EX}};
	struct sigv4_request req = {.method = "GET", .path = "/", .headers = h, .nheaders = 1};
	struct sigv4_params p = {.access_key = "AKIDEXAMPLE", .secret_key = SECRET,
				 .region = "us-east-1", .service = "service",
				 .time_ms = SUITE_TIME_MS};
	struct sigv4_key_cache c;
	struct sigv4_result r1, r2;
	uint8_t k1[32], k2[32], want[32], zero[sizeof(c)];
	char *uncached;

	memset(&c, 0, sizeof(c));
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150830", "us-east-1", "iam", k1), 0);
	sigv4_signing_key(SECRET, "20150830", "us-east-1", "iam", want);
	CHECK(memcmp(k1, want, 32) == 0);
	CHECK(c.valid);
	CHECK(!contains(&c, sizeof(c), SECRET));
	CHECK(!contains(&c, sizeof(c), "wJalrXUtnFEMI"));
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150830", "us-east-1", "iam", k2), 1);
	CHECK(memcmp(k2, want, 32) == 0);
	/* A new day, region, service or secret recomputes. */
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150831", "us-east-1", "iam", k2), 0);
	CHECK(memcmp(k2, k1, 32) != 0);
	sigv4_signing_key(SECRET, "20150831", "us-east-1", "iam", want);
	CHECK(memcmp(k2, want, 32) == 0);
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150831", "us-east-1", "iam", k2), 1);
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150831", "eu-west-1", "iam", k2), 0);
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150831", "eu-west-1", "sqs", k2), 0);
	CHECK_INT(sigv4_key_cache_get(&c, "other", "20150831", "eu-west-1", "sqs", k2), 0);
	CHECK_INT(sigv4_key_cache_get(&c, "other", "20150831", "eu-west-1", "sqs", k1), 1);
	CHECK(memcmp(k1, k2, 32) == 0);
	sigv4_key_cache_wipe(&c);
	memset(zero, 0, sizeof(zero));
	CHECK(!c.valid);
	CHECK(memcmp(&c, zero, sizeof(c)) == 0);
	sigv4_key_cache_wipe(NULL);

	/* Through sigv4_sign(): same Authorization as without a cache, a hit
	 * later the same day, recomputed after midnight UTC. */
	CHECK_INT(sigv4_sign(&req, &p, &c, &r1), 0);
	CHECK_STR(r1.authorization, AUTH_SVC "SignedHeaders=host;x-amz-date, "
					     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	CHECK_STR(c.date8, "20150830");
	p.time_ms = SUITE_TIME_MS + 11 * 3600 * 1000LL; /* 23:36 the same day */
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150830", "us-east-1", "service", k1), 1);
	CHECK_INT(sigv4_sign(&req, &p, &c, &r2), 0);
	uncached = sign_auth(&req, &p);
	CHECK_STR(r2.authorization, uncached);
	sigv4_result_free(&r2);
	free(uncached);
	p.time_ms = SUITE_TIME_MS + 12 * 3600 * 1000LL; /* 00:36 the next day */
	CHECK_INT(sigv4_sign(&req, &p, &c, &r2), 0);
	CHECK_STR(c.date8, "20150831");
	uncached = sign_auth(&req, &p);
	CHECK_STR(r2.authorization, uncached);
	CHECK(strstr(r2.authorization, "Credential=AKIDEXAMPLE/20150831/") != NULL);
	CHECK_INT(sigv4_key_cache_get(&c, SECRET, "20150831", "us-east-1", "service", k1), 1);
	sigv4_result_free(&r1);
	sigv4_result_free(&r2);
	free(uncached);
	sigv4_key_cache_wipe(&c);
}

int main(void)
{
	test_suite();
	test_docs_example();
	test_decoded_utf8_path();
	test_s3_vs_service();
	test_normalisation();
	test_uri_encode();
	test_session_token();
	test_headers();
	test_errors_and_bounds();
	test_key_cache();
	return check_done("test_sigv4");
}
