/* test_json.c - the strict JSON scanner: RFC 8259 acceptance and rejection,
 * UTF-8 and surrogate rules, limits, member iteration, (un)escaping. */
#include "json.h"

#include "check.h"

#define S(lit) lit, sizeof(lit) - 1

struct vcase {
	const char *doc;
	size_t len; /* 0: strlen */
	enum json_status want;
};

static void test_validate_table(void)
{
	static const struct vcase cases[] = {
		/* accepted */
		{"{}", 0, JSON_OK},
		{"[]", 0, JSON_OK},
		{" \t\r\n{ } \n", 0, JSON_OK},
		{"0", 0, JSON_OK},
		{"-0", 0, JSON_OK},
		{"1e400", 0, JSON_OK},
		{"123456789012345678901234567890", 0, JSON_OK},
		{"-12.5E+3", 0, JSON_OK},
		{"0.0e-0", 0, JSON_OK},
		{"true", 0, JSON_OK},
		{"false", 0, JSON_OK},
		{"null", 0, JSON_OK},
		{"\"\"", 0, JSON_OK},
		{"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0, JSON_OK},
		{"\"\\u0000\"", 0, JSON_OK},
		{"\"\\uD83D\\uDE00\"", 0, JSON_OK},   /* surrogate pair */
		{"\"\\ud83d\\ude00\"", 0, JSON_OK},   /* lower-case hex */
		{"\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"", 0, JSON_OK},
		{"\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\"", 0, JSON_OK}, /* U+FFFF, U+10FFFF */
		{"\"\x7F\"", 0, JSON_OK},                       /* DEL is not a JSON control */
		{"{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", 0, JSON_OK},
		{"[1 , 2 ,3]", 0, JSON_OK},
		{"{\"a\":1,\"a\":2}", 0, JSON_OK}, /* duplicates are the decoder's business */
		/* rejected */
		{"", 0, JSON_ERR_SYNTAX},
		{"   ", 0, JSON_ERR_SYNTAX},
		{"{", 0, JSON_ERR_SYNTAX},
		{"}", 0, JSON_ERR_SYNTAX},
		{"[1,]", 0, JSON_ERR_SYNTAX},
		{"[,1]", 0, JSON_ERR_SYNTAX},
		{"{\"a\":1,}", 0, JSON_ERR_SYNTAX},
		{"{\"a\" 1}", 0, JSON_ERR_SYNTAX},
		{"{a:1}", 0, JSON_ERR_SYNTAX},
		{"{1:1}", 0, JSON_ERR_SYNTAX},
		{"{\"a\":}", 0, JSON_ERR_SYNTAX},
		{"['a']", 0, JSON_ERR_SYNTAX},
		{"{} {}", 0, JSON_ERR_SYNTAX},
		{"{}x", 0, JSON_ERR_SYNTAX},
		{"1 2", 0, JSON_ERR_SYNTAX},
		{"01", 0, JSON_ERR_SYNTAX},
		{"-", 0, JSON_ERR_SYNTAX},
		{"+1", 0, JSON_ERR_SYNTAX},
		{"1.", 0, JSON_ERR_SYNTAX},
		{".5", 0, JSON_ERR_SYNTAX},
		{"1e", 0, JSON_ERR_SYNTAX},
		{"1e+", 0, JSON_ERR_SYNTAX},
		{"0x10", 0, JSON_ERR_SYNTAX},
		{"NaN", 0, JSON_ERR_SYNTAX},
		{"Infinity", 0, JSON_ERR_SYNTAX},
		{"tru", 0, JSON_ERR_SYNTAX},
		{"nul", 0, JSON_ERR_SYNTAX},
		{"True", 0, JSON_ERR_SYNTAX},
		{"\"abc", 0, JSON_ERR_SYNTAX},
		{"\"\\\"", 0, JSON_ERR_SYNTAX},
		{"\"\\x\"", 0, JSON_ERR_SYNTAX},
		{"\"\\u12\"", 0, JSON_ERR_SYNTAX},
		{"\"\\u12G4\"", 0, JSON_ERR_SYNTAX},
		{"\"\\ud800\"", 0, JSON_ERR_SYNTAX},        /* lone high surrogate */
		{"\"\\udc00\"", 0, JSON_ERR_SYNTAX},        /* lone low surrogate */
		{"\"\\ud800\\u0041\"", 0, JSON_ERR_SYNTAX}, /* high + non-low */
		{"\"\\ud800\\ud800\"", 0, JSON_ERR_SYNTAX},
		{"\"\\ude00\\ud83d\"", 0, JSON_ERR_SYNTAX}, /* reversed pair */
		{"\"\\ud800x\"", 0, JSON_ERR_SYNTAX},
		{"\"a\tb\"", 0, JSON_ERR_SYNTAX},            /* raw control in string */
		{"\"a\nb\"", 0, JSON_ERR_SYNTAX},
		{"\"a\x1f\"", 0, JSON_ERR_SYNTAX},
		{"\"\0\"", 3, JSON_ERR_SYNTAX},              /* raw NUL */
		{"\"\xC0\xAF\"", 0, JSON_ERR_SYNTAX},        /* overlong '/' */
		{"\"\xC1\xBF\"", 0, JSON_ERR_SYNTAX},        /* overlong */
		{"\"\xE0\x80\xAF\"", 0, JSON_ERR_SYNTAX},    /* overlong 3-byte */
		{"\"\xF0\x80\x80\xAF\"", 0, JSON_ERR_SYNTAX},/* overlong 4-byte */
		{"\"\xED\xA0\x80\"", 0, JSON_ERR_SYNTAX},    /* UTF-8 encoded surrogate D800 */
		{"\"\xED\xBF\xBF\"", 0, JSON_ERR_SYNTAX},    /* UTF-8 encoded surrogate DFFF */
		{"\"\xF4\x90\x80\x80\"", 0, JSON_ERR_SYNTAX},/* above U+10FFFF */
		{"\"\xF5\x80\x80\x80\"", 0, JSON_ERR_SYNTAX},
		{"\"\xFF\"", 0, JSON_ERR_SYNTAX},
		{"\"\x80\"", 0, JSON_ERR_SYNTAX},            /* lone continuation */
		{"\"\xC3\"", 0, JSON_ERR_SYNTAX},            /* truncated */
		{"\"\xE2\x82\"", 0, JSON_ERR_SYNTAX},
		{"\xEF\xBB\xBF{}", 0, JSON_ERR_SYNTAX},      /* BOM */
		{"{}\0", 3, JSON_ERR_SYNTAX},                /* NUL after the document */
		{"[1]\x0c", 0, JSON_ERR_SYNTAX},             /* form feed is not JSON whitespace */
		{"\xC2\xA0[1]", 0, JSON_ERR_SYNTAX},         /* nor is NBSP */
	};
	size_t i;
	struct json_error err;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].doc);
		enum json_status st = json_validate(cases[i].doc, len, NULL, &err);

		if (st != cases[i].want)
			fprintf(stderr, "case %zu: %s\n", i, cases[i].doc);
		CHECK_INT(st, cases[i].want);
		CHECK_INT(err.status, st);
		if (st != JSON_OK)
			CHECK(err.what != NULL && err.offset <= len);
	}
}

static void test_error_offsets(void)
{
	struct json_error err;

	CHECK_INT(json_validate(S("{\"a\":\"\\ud800\"}"), NULL, &err), JSON_ERR_SYNTAX);
	CHECK_INT(err.offset, 6);
	CHECK_STR(err.what, "bad \\u escape or lone surrogate");
	CHECK_INT(json_validate(S("[1,2] x"), NULL, &err), JSON_ERR_SYNTAX);
	CHECK_INT(err.offset, 6);
	CHECK_STR(err.what, "trailing data after the document");
	CHECK_INT(json_validate(S("\"ab\xff\""), NULL, &err), JSON_ERR_SYNTAX);
	CHECK_INT(err.offset, 3);
	CHECK_STR(err.what, "invalid UTF-8 in string");
}

/* open n times, then mid, then close n times (close NULL: unterminated) */
static char *nest(const char *open, size_t n, const char *mid, const char *close)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = close ? strlen(close) : 0, i;
	char *s = xmalloc(n * (lo + lc) + lm + 1), *p = s;

	for (i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm);
	p += lm;
	for (i = 0; i < n && close; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static void test_depth(void)
{
	struct json_limits lim = {.max_depth = 64};
	struct json_error err;
	char *s;
	int64_t t0;

	s = nest("[", 64, "", "]");
	CHECK_INT(json_validate(s, strlen(s), &lim, NULL), JSON_OK);
	free(s);
	s = nest("[", 65, "", "]");
	CHECK_INT(json_validate(s, strlen(s), &lim, &err), JSON_ERR_DEPTH);
	CHECK_INT(err.offset, 64);
	free(s);
	s = nest("{\"a\":", 64, "1", "}");
	CHECK_INT(json_validate(s, strlen(s), &lim, NULL), JSON_OK);
	free(s);
	s = nest("{\"a\":", 65, "1", "}");
	CHECK_INT(json_validate(s, strlen(s), &lim, NULL), JSON_ERR_DEPTH);
	free(s);
	/* default limit is 64 */
	s = nest("[", 65, "", "]");
	CHECK_INT(json_validate(s, strlen(s), NULL, NULL), JSON_ERR_DEPTH);
	free(s);
	/* a large configured limit grows the stack on demand */
	lim.max_depth = 5000;
	s = nest("[", 5000, "", "]");
	CHECK_INT(json_validate(s, strlen(s), &lim, NULL), JSON_OK);
	free(s);
	/* nesting bomb: rejected at once, no recursion */
	lim.max_depth = 64;
	s = nest("[", 100000, "", NULL);
	t0 = clock_mono_ms();
	CHECK_INT(json_validate(s, strlen(s), &lim, &err), JSON_ERR_DEPTH);
	CHECK(clock_mono_ms() - t0 < 1000);
	free(s);
	/* even a huge depth limit does not recurse: unterminated is a syntax error */
	lim.max_depth = 1000000;
	s = nest("[", 100000, "", NULL);
	CHECK_INT(json_validate(s, strlen(s), &lim, &err), JSON_ERR_SYNTAX);
	CHECK_STR(err.what, "unexpected end of document");
	free(s);
}

static void test_members(void)
{
	struct json_limits lim = {.max_members = 3};
	struct json_error err;

	CHECK_INT(json_validate(S("{\"a\":1,\"b\":2,\"c\":3}"), &lim, NULL), JSON_OK);
	CHECK_INT(json_validate(S("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}"), &lim, &err), JSON_ERR_MEMBERS);
	CHECK_INT(json_validate(S("{\"x\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4}}"), &lim, NULL),
		  JSON_ERR_MEMBERS);
	/* arrays are not limited by max_members */
	CHECK_INT(json_validate(S("[1,2,3,4,5,6]"), &lim, NULL), JSON_OK);
	/* counts restart in each object */
	CHECK_INT(json_validate(S("[{\"a\":1,\"b\":2,\"c\":3},{\"a\":1,\"b\":2,\"c\":3}]"), &lim, NULL),
		  JSON_OK);
	lim.max_members = 1;
	CHECK_INT(json_validate(S("{\"a\":{}}"), &lim, NULL), JSON_OK);
	CHECK_INT(json_validate(S("{\"a\":{},\"b\":1}"), &lim, NULL), JSON_ERR_MEMBERS);
}

static void test_iter(void)
{
	const char *doc = " {\"a\" : 1e400 , \"b\\u00e9\":{\"x\":[1,\"]\"]},\"c\":\"q\\\"}\",\"\":null,"
			  "\"d\":[],\"e\":true} ";
	static const struct {
		const char *key;
		const char *value;
		enum json_type type;
	} want[] = {
		{"a", "1e400", JSON_NUMBER},
		{"b\xC3\xA9", "{\"x\":[1,\"]\"]}", JSON_OBJECT},
		{"c", "\"q\\\"}\"", JSON_STRING},
		{"", "null", JSON_NULL},
		{"d", "[]", JSON_ARRAY},
		{"e", "true", JSON_BOOL},
	};
	struct json_iter it;
	struct json_member m;
	size_t i = 0;

	CHECK_INT(json_validate(doc, strlen(doc), NULL, NULL), JSON_OK);
	CHECK_INT(json_iter_init(&it, doc, strlen(doc)), 0);
	while (json_iter_next(&it, &m) == 1) {
		CHECK(i < ARRAY_SIZE(want));
		if (i >= ARRAY_SIZE(want))
			break;
		CHECK_INT(m.key_len, strlen(want[i].key));
		CHECK_STR(m.key, want[i].key);
		CHECK_INT(m.value_len, strlen(want[i].value));
		CHECK(strncmp(m.value, want[i].value, m.value_len) == 0);
		CHECK_INT(m.type, want[i].type);
		i++;
	}
	CHECK_INT(i, ARRAY_SIZE(want));
	CHECK_INT(json_iter_next(&it, &m), 0);
	json_iter_free(&it);

	CHECK_INT(json_iter_init(&it, S("{}")), 0);
	CHECK_INT(json_iter_next(&it, &m), 0);
	json_iter_free(&it);
	CHECK_INT(json_iter_init(&it, S("[1]")), -1);
	json_iter_free(&it);
	CHECK_INT(json_iter_init(&it, S("\"{}\"")), -1);
	json_iter_free(&it);

	/* a key with \u0000 keeps its length */
	CHECK_INT(json_iter_init(&it, S("{\"a\\u0000b\":1}")), 0);
	CHECK_INT(json_iter_next(&it, &m), 1);
	CHECK_INT(m.key_len, 3);
	CHECK(memcmp(m.key, "a\0b", 3) == 0);
	json_iter_free(&it);
}

static void test_elems(void)
{
	const char *doc = " [ 1 , \"],\\\"\" ,{\"a\":[2,3]}, [] ,null,-0.5e1 ] ";
	static const char *const want[] = {"1", "\"],\\\"\"", "{\"a\":[2,3]}", "[]", "null", "-0.5e1"};
	struct json_elems el;
	const char *v;
	size_t i = 0, n;

	CHECK_INT(json_validate(doc, strlen(doc), NULL, NULL), JSON_OK);
	CHECK_INT(json_elems_init(&el, doc, strlen(doc)), 0);
	while (json_elems_next(&el, &v, &n) == 1) {
		CHECK(i < ARRAY_SIZE(want));
		if (i >= ARRAY_SIZE(want))
			break;
		CHECK(n == strlen(want[i]) && memcmp(v, want[i], n) == 0);
		i++;
	}
	CHECK_INT(i, ARRAY_SIZE(want));
	CHECK_INT(json_elems_next(&el, &v, &n), 0);

	CHECK_INT(json_elems_init(&el, S("[]")), 0);
	CHECK_INT(json_elems_next(&el, &v, &n), 0);
	CHECK_INT(json_elems_init(&el, S(" [ ] ")), 0);
	CHECK_INT(json_elems_next(&el, &v, &n), 0);
	/* not an array: nothing to iterate either */
	CHECK_INT(json_elems_init(&el, S("{\"a\":1}")), -1);
	CHECK_INT(json_elems_next(&el, &v, &n), 0);
	CHECK_INT(json_elems_init(&el, S("")), -1);
	CHECK_INT(json_elems_next(&el, &v, &n), 0);
}

static void test_trim_type(void)
{
	const char *p = " \n[1] \t";
	size_t n = strlen(p);

	json_trim(&p, &n);
	CHECK_INT(n, 3);
	CHECK(strncmp(p, "[1]", 3) == 0);
	CHECK_INT(json_type_of(S("-1")), JSON_NUMBER);
	CHECK_INT(json_type_of(S("false")), JSON_BOOL);
	CHECK_STR(json_type_name(JSON_OBJECT), "object");
	CHECK_STR(json_type_name(JSON_BOOL), "boolean");
}

static void test_unescape(void)
{
	static const struct {
		const char *raw;
		const char *want;
		size_t want_len;
		int rc;
	} cases[] = {
		{"\"\"", "", 0, 0},
		{"\"abc\"", "abc", 3, 0},
		{"\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7, 0},
		{"\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5, 0},
		{"\"\\u0041\\u00e9\\u20AC\"", "A\xC3\xA9\xE2\x82\xAC", 6, 0},
		{"\"\\ud83d\\ude00\"", "\xF0\x9F\x98\x80", 4, 0},
		{"\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF", 4, 0},
		{"\"\\u0000x\"", "\0x", 2, 0},
		{"\"\xC3\xA9\"", "\xC3\xA9", 2, 0},
		{"\"\\ud800\"", NULL, 0, -1},
		{"\"\\udc00\"", NULL, 0, -1},
		{"\"\\q\"", NULL, 0, -1},
		{"\"abc", NULL, 0, -1},
		{"abc\"", NULL, 0, -1},
		{"\"", NULL, 0, -1},
		{"\"a\"b\"", NULL, 0, -1},
		{"\"a\nb\"", NULL, 0, -1},
		{"\"\\\"", NULL, 0, -1},
	};
	size_t i;
	struct buf b;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc;

		buf_init(&b, 0);
		rc = json_unescape(&b, cases[i].raw, strlen(cases[i].raw));
		CHECK_INT(rc, cases[i].rc);
		if (rc == 0) {
			CHECK_INT(b.len, cases[i].want_len);
			CHECK(b.data && memcmp(b.data, cases[i].want, b.len) == 0);
		}
		buf_free(&b);
	}
	/* output limit */
	buf_init(&b, 3);
	CHECK_INT(json_unescape(&b, S("\"abcd\"")), -1);
	buf_free(&b);
}

static void test_write_string(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{"", 0, "\"\""},
		{"plain", 5, "\"plain\""},
		{"a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\""},
		{"\n\r\t\b\f", 5, "\"\\u000a\\u000d\\u0009\\u0008\\u000c\""},
		{"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""},
		{"a\0b", 3, "\"a\\u0000b\""},
		{"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9, "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""},
		/* invalid UTF-8 becomes U+FFFD, one per maximal subpart */
		{"a\xFF" "b", 3, "\"a\xEF\xBF\xBD" "b\""},
		{"\xE2\x82" "x", 3, "\"\xEF\xBF\xBD" "x\""},
		{"\xC0\xAF", 2, "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
		{"\xED\xA0\x80", 3, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
		{"\xF0\x9F\x98", 3, "\"\xEF\xBF\xBD\""},
		{"\xC3", 1, "\"\xEF\xBF\xBD\""},
	};
	size_t i;
	struct buf b;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_init(&b, 0);
		CHECK_INT(json_write_string(&b, cases[i].in, cases[i].len), 0);
		CHECK_STR(buf_str(&b), cases[i].want);
		/* the output is always a valid JSON document */
		CHECK_INT(json_validate(b.data, b.len, NULL, NULL), JSON_OK);
		buf_free(&b);
	}
	buf_init(&b, 4);
	CHECK_INT(json_write_string(&b, S("abcdef")), -1);
	buf_free(&b);
}

/* write_string then unescape is the identity on valid UTF-8 */
static void test_round_trip(void)
{
	char all[256 + 16];
	struct buf w, u;
	size_t i, n = 0;

	for (i = 0; i < 128; i++)
		all[n++] = (char)i;
	memcpy(all + n, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xC2\x85", 11);
	n += 11;
	buf_init(&w, 0);
	buf_init(&u, 0);
	CHECK_INT(json_write_string(&w, all, n), 0);
	CHECK_INT(json_validate(w.data, w.len, NULL, NULL), JSON_OK);
	CHECK_INT(json_unescape(&u, w.data, w.len), 0);
	CHECK_INT(u.len, n);
	CHECK(memcmp(u.data, all, n) == 0);
	buf_free(&w);
	buf_free(&u);
}

static void test_utf8(void)
{
	size_t bad = 0;

	CHECK(json_utf8_valid(S("")));
	CHECK(json_utf8_valid(S("a\0b")));
	CHECK(json_utf8_valid(S("\xF4\x8F\xBF\xBF")));
	CHECK(!json_utf8_valid(S("\xF4\x90\x80\x80")));
	CHECK(!json_utf8_valid(S("\xED\xA0\x80")));
	CHECK(!json_utf8_valid(S("\xC1\x81")));
	CHECK(!json_utf8_valid(S("abc\xE2\x82")));
	CHECK_INT(json_utf8_seq((const unsigned char *)"\xE2\x82\xAC", 3, &bad), 3);
	CHECK_INT(json_utf8_seq((const unsigned char *)"\xE2\x82x", 3, &bad), 0);
	CHECK_INT(bad, 2);
	CHECK_INT(json_utf8_seq((const unsigned char *)"\x80", 1, &bad), 0);
	CHECK_INT(bad, 1);
	CHECK_INT(json_utf8_seq((const unsigned char *)"\xF0\x9F", 2, &bad), 0);
	CHECK_INT(bad, 2);
}

int main(void)
{
	test_validate_table();
	test_error_offsets();
	test_depth();
	test_members();
	test_iter();
	test_elems();
	test_trim_type();
	test_unescape();
	test_write_string();
	test_round_trip();
	test_utf8();
	return check_done("test_json");
}
