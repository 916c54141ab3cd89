/* test_creds_parse.c - the credential document parsers: the instance metadata
 * / container JSON and the STS AssumeRoleWithWebIdentity XML, valid answers,
 * missing and mistyped fields, bad Expiration, error answers, hostile and huge
 * bodies; no error line ever quotes a secret. Also the refresh schedule. */
#include "creds_parse.h"

#include "check.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
#define TOKEN  "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDTOKEN=="

static void check_no_secret(const char *line, int at)
{
	check_count++;
	if (strstr(line, "wJalrXUtnFEMI") || strstr(line, "IQoJb3JpZ2luX2Vj") ||
	    strstr(line, "SECRETVALUE")) {
		check_failures++;
		fprintf(stderr, "line %d: error line holds a secret: %s\n", at, line);
	}
}

static void test_json(void)
{
	static const struct {
		const char *doc;
		const char *err; /* NULL: valid */
	} rows[] = {
	    {"{\"Code\":\"Success\",\"LastUpdated\":\"2026-12-03T09:00:00Z\",\"Type\":\"AWS-HMAC\","
	     "\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" TOKEN
	     "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     NULL},
	    /* ECS shape: no Code, RoleArn extra, whitespace, escapes */
	    {" {\n \"RoleArn\": \"arn:aws:iam::1:role/x\", \"AccessKeyId\": "
	     "\"ASIA\\u0045XAMPLE\",\n"
	     " \"SecretAccessKey\": \"" SECRET "\", \"Token\": \"" TOKEN "\",\n"
	     " \"Expiration\": \"2026-12-03T12:00:00+02:00\" }\n",
	     NULL},
	    {"{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"" TOKEN "\"}",
	     "credentials document has no Expiration"},
	    {"{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "credentials document has no Token"},
	    {"{\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" TOKEN
	     "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "credentials document has no AccessKeyId"},
	    {"{\"AccessKeyId\":\"ASIAEXAMPLE\",\"Token\":\"" TOKEN
	     "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "credentials document has no SecretAccessKey"},
	    {"{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"tomorrow\"}",
	     "Expiration is not an RFC 3339 time ('tomorrow')"},
	    {"{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"2026-02-30T10:00:00Z\"}",
	     "Expiration is not an RFC 3339 time ('2026-02-30T10:00:00Z')"},
	    {"{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"" TOKEN "\",\"Expiration\":1796292000}",
	     "Expiration is a JSON number, not a string"},
	    {"{\"AccessKeyId\":\"ASIA EXAMPLE\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "AccessKeyId holds spaces, control or non-ASCII characters"},
	    {"{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"SECRETVALUE\\n\",\"Token\":"
	     "\"" TOKEN "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "SecretAccessKey holds spaces, control or non-ASCII characters"},
	    {"{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" TOKEN
	     "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "AccessKeyId is empty"},
	    {"{\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "credentials document has AccessKeyId twice"},
	    {"{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"EC2 cannot assume the "
	     "role\\u0007x\",\"LastUpdated\":\"2026-12-03T09:00:00Z\"}",
	     "the credentials endpoint answered Code 'AssumeRoleUnauthorizedAccess': EC2 cannot "
	     "assume the role?x"},
	    {"{\"Code\":\"Failure\",\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"2026-12-03T10:00:00Z\"}",
	     "the credentials endpoint answered Code 'Failure'"},
	    {"[1,2]", "credentials document is not a JSON object"},
	    {"\"AccessKeyId\"", "credentials document is not a JSON object"},
	    {"", "credentials document is not valid JSON"},
	    {"{\"AccessKeyId\":\"ASIA", "credentials document is not valid JSON"},
	    {"{\"AccessKeyId\":\"\xff\"}", "credentials document is not valid JSON"},
	    {"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
	     "credentials document is not valid JSON"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct aws_creds c = {0};
		struct buf why;
		int rc;

		buf_init(&why, 0);
		rc = creds_parse_json(rows[i].doc, strlen(rows[i].doc), &c, &why);
		if (!rows[i].err) {
			CHECK_INT(rc, 0);
			CHECK_STR(c.access_key_id, "ASIAEXAMPLE");
			CHECK_STR(c.secret_access_key, SECRET);
			CHECK_STR(c.session_token, TOKEN);
			CHECK_INT(c.expiration_ms, 1796292000000LL);
			CHECK(c.source == NULL);
		} else {
			CHECK_INT(rc, -1);
			CHECK_STR(buf_str(&why), rows[i].err);
			CHECK(c.access_key_id == NULL && c.secret_access_key == NULL &&
			      c.session_token == NULL && c.expiration_ms == 0);
			check_no_secret(buf_str(&why), (int)i);
		}
		aws_creds_clear(&c);
		buf_free(&why);
	}
}

/* Bodies larger than the cap, long tokens, and many members. */
static void test_json_sizes(void)
{
	struct aws_creds c = {0};
	struct buf doc, why;
	size_t i;

	buf_init(&doc, 0);
	buf_init(&why, 0);
	buf_adds(&doc, "{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET
		       "\",\"Expiration\":\"2026-12-03T10:00:00Z\",\"Token\":\"");
	for (i = 0; i < CREDS_MAX_TOKEN; i++)
		buf_addc(&doc, 'T');
	buf_adds(&doc, "\"}");
	CHECK_INT(creds_parse_json(doc.data, doc.len, &c, &why), 0); /* at the limit */
	CHECK_INT(strlen(c.session_token), CREDS_MAX_TOKEN);
	aws_creds_clear(&c);
	doc.len -= 2;
	buf_adds(&doc, "T\"}");
	CHECK_INT(creds_parse_json(doc.data, doc.len, &c, &why), -1);
	CHECK_STR(buf_str(&why), "Token is too long");

	buf_reset(&doc);
	buf_reset(&why);
	buf_adds(&doc, "{\"pad\":\"");
	while (doc.len < CREDS_MAX_DOC)
		buf_adds(&doc, "xxxxxxxxxxxxxxxx");
	buf_adds(&doc, "\"}");
	CHECK_INT(creds_parse_json(doc.data, doc.len, &c, &why), -1);
	CHECK_STR(buf_str(&why), "credentials document larger than 65536 bytes");

	buf_reset(&doc);
	buf_reset(&why);
	buf_addc(&doc, '{');
	for (i = 0; i < 300; i++)
		buf_addf(&doc, "%s\"k%zu\":1", i ? "," : "", i);
	buf_addc(&doc, '}');
	CHECK_INT(creds_parse_json(doc.data, doc.len, &c, &why), -1);
	CHECK_STR(buf_str(&why), "credentials document is not valid JSON");
	buf_free(&doc);
	buf_free(&why);
}

#define STS_OK_HEAD                                                                                \
	"<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"  \
	"<AssumeRoleWithWebIdentityResult>"                                                        \
	"<SubjectFromWebIdentityToken>system:serviceaccount:x</SubjectFromWebIdentityToken>"       \
	"<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn><AssumedRoleId>AROA:s"         \
	"</AssumedRoleId></AssumedRoleUser>"
#define STS_OK_TAIL                                                                                \
	"<Provider>www.amazon.com</Provider></AssumeRoleWithWebIdentityResult>"                    \
	"<ResponseMetadata><RequestId>ad4156e9</RequestId></ResponseMetadata>"                     \
	"</AssumeRoleWithWebIdentityResponse>"
#define STS_CREDS(extra)                                                                           \
	"<Credentials>\n  <SessionToken>" TOKEN "</SessionToken>\n  <SecretAccessKey>" SECRET      \
	"</SecretAccessKey>\n  <Expiration>2026-12-03T10:00:00Z</Expiration>\n  "                  \
	"<AccessKeyId>ASIAEXAMPLE</AccessKeyId>" extra "</Credentials>"

static void test_sts(void)
{
	static const struct {
		const char *doc;
		const char *err, *code;
	} rows[] = {
	    {STS_OK_HEAD STS_CREDS("") STS_OK_TAIL, NULL, NULL},
	    /* no namespace, an entity and a character reference in the text */
	    {"<?xml version=\"1.0\"?><AssumeRoleWithWebIdentityResponse>"
	     "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA&#69;XAMPLE"
	     "</AccessKeyId><SecretAccessKey>" SECRET "</SecretAccessKey><SessionToken>" TOKEN
	     "</SessionToken><Expiration>2026-12-03T10:00:00.000Z</Expiration></Credentials>"
	     "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
	     NULL, NULL},
	    {"<ErrorResponse "
	     "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender"
	     "</Type><Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key "
	     "from your identity "
	     "provider</Message></Error><RequestId>x</RequestId></ErrorResponse>",
	     "InvalidIdentityToken: Couldn't retrieve verification key from your identity provider",
	     "InvalidIdentityToken"},
	    {"<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>",
	     "AccessDenied", "AccessDenied"},
	    {"<ErrorResponse><Error><Message>x</Message></Error></ErrorResponse>",
	     "STS answered an ErrorResponse without a Code", NULL},
	    {STS_OK_HEAD
	     "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>" SECRET
	     "</SecretAccessKey><Expiration>2026-12-03T10:00:00Z</Expiration></"
	     "Credentials>" STS_OK_TAIL,
	     "STS answer has no Credentials/SessionToken", NULL},
	    {STS_OK_HEAD STS_OK_TAIL,
	     "STS answer has no AssumeRoleWithWebIdentityResult/Credentials", NULL},
	    {"<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>",
	     "STS answer is not an AssumeRoleWithWebIdentityResponse", NULL},
	    {STS_OK_HEAD
	     "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>" SECRET
	     "</SecretAccessKey><SessionToken>" TOKEN "</SessionToken><Expiration>soon"
	     "</Expiration></Credentials>" STS_OK_TAIL,
	     "Expiration is not an RFC 3339 time ('soon')", NULL},
	    {STS_OK_HEAD
	     "<Credentials><AccessKeyId><b>ASIA</b></AccessKeyId><SecretAccessKey>" SECRET
	     "</SecretAccessKey><SessionToken>" TOKEN "</SessionToken><Expiration>"
	     "2026-12-03T10:00:00Z</Expiration></Credentials>" STS_OK_TAIL,
	     "Credentials/AccessKeyId is too long or not plain text", NULL},
	    {STS_OK_HEAD
	     "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>SECRETVALUE x"
	     "</SecretAccessKey><SessionToken>" TOKEN "</SessionToken><Expiration>"
	     "2026-12-03T10:00:00Z</Expiration></Credentials>" STS_OK_TAIL,
	     "SecretAccessKey holds spaces, control or non-ASCII characters", NULL},
	    /* a DTD (entity expansion attacks) is refused outright */
	    {"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">]>"
	     "<AssumeRoleWithWebIdentityResponse>&a;</AssumeRoleWithWebIdentityResponse>",
	     "STS answer is not well-formed XML of at most 65536 bytes", NULL},
	    {"not xml", "STS answer is not well-formed XML of at most 65536 bytes", NULL},
	    {"", "STS answer is not well-formed XML of at most 65536 bytes", NULL},
	    {"<AssumeRoleWithWebIdentityResponse>",
	     "STS answer is not well-formed XML of at most "
	     "65536 bytes",
	     NULL},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct aws_creds c = {0};
		struct buf why, code;
		int rc;

		buf_init(&why, 0);
		buf_init(&code, 0);
		rc = creds_parse_sts(rows[i].doc, strlen(rows[i].doc), &c, &code, &why);
		if (!rows[i].err) {
			CHECK_INT(rc, 0);
			CHECK_STR(c.access_key_id, "ASIAEXAMPLE");
			CHECK_STR(c.secret_access_key, SECRET);
			CHECK_STR(c.session_token, TOKEN);
			CHECK_INT(c.expiration_ms, 1796292000000LL);
		} else {
			CHECK_INT(rc, -1);
			CHECK_STR(buf_str(&why), rows[i].err);
			CHECK_STR(buf_str(&code), rows[i].code ? rows[i].code : "");
			CHECK(c.access_key_id == NULL && c.session_token == NULL);
			check_no_secret(buf_str(&why), (int)i);
		}
		aws_creds_clear(&c);
		buf_free(&why);
		buf_free(&code);
	}
	/* code may be NULL; a huge body is refused before parsing */
	{
		struct aws_creds c = {0};
		struct buf why, big;

		buf_init(&why, 0);
		buf_init(&big, 0);
		buf_adds(&big, "<ErrorResponse><Error><Code>X</Code><Message>");
		while (big.len <= CREDS_MAX_DOC)
			buf_adds(&big, "mmmmmmmmmmmmmmmm");
		buf_adds(&big, "</Message></Error></ErrorResponse>");
		CHECK_INT(creds_parse_sts(big.data, big.len, &c, NULL, &why), -1);
		CHECK_STR(buf_str(&why),
			  "STS answer is not well-formed XML of at most 65536 bytes");
		buf_reset(&why);
		CHECK_INT(creds_parse_sts(rows[2].doc, strlen(rows[2].doc), &c, NULL, &why), -1);
		CHECK(strncmp(buf_str(&why), "InvalidIdentityToken: ", 22) == 0);
		buf_free(&why);
		buf_free(&big);
	}
}

static void test_printable(void)
{
	struct buf b;

	buf_init(&b, 0);
	creds_add_printable(&b, "ok\x01\xff", 4, 10);
	CHECK_STR(buf_str(&b), "ok??");
	buf_reset(&b);
	creds_add_printable(&b, "abcdef", 6, 3);
	CHECK_STR(buf_str(&b), "abc...");
	buf_free(&b);
}

static void test_refresh_delay(void)
{
	static const struct {
		int64_t remaining;
		uint64_t rnd;
		int64_t expect;
	} rows[] = {
	    {6 * 3600 * 1000LL, 0, 6 * 3600 * 1000LL - 300000},	    /* 5 min before */
	    {6 * 3600 * 1000LL, 59999, 6 * 3600 * 1000LL - 359999}, /* up to 6 min before */
	    {6 * 3600 * 1000LL, 60000, 6 * 3600 * 1000LL - 300000}, /* jitter wraps */
	    {600000, 0, 300000},				    /* 10 min: 5 min before */
	    {599999, 0, 299999},				    /* shorter: half */
	    {30000, 0, 15000},
	    {30000, 3000, 15000 - 3000}, /* jitter up to a tenth */
	    {30000, 3001, 15000},
	    {1500, 0, 1000}, /* never sooner than 1 s */
	    {0, 0, 60000},   /* expired: about a minute */
	    {-5000, 14999, 74999},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++)
		CHECK_INT(creds_refresh_delay_ms(rows[i].remaining, rows[i].rnd), rows[i].expect);
}

int main(void)
{
	test_json();
	test_json_sizes();
	test_sts();
	test_printable();
	test_refresh_delay();
	return check_done("test_creds_parse");
}
