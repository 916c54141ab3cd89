/* json.c - strict RFC 8259 validation with an explicit stack (no recursion),
 * member iteration over validated objects, string unescaping and escaping. */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = {
		[JSON_NULL] = "null",     [JSON_BOOL] = "boolean", [JSON_NUMBER] = "number",
		[JSON_STRING] = "string", [JSON_ARRAY] = "array",  [JSON_OBJECT] = "object",
	};

	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "unknown";
}

/* ---- UTF-8 ------------------------------------------------------------- */

size_t json_utf8_seq(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		goto fail_at_1; /* continuation byte, C0, C1, F5..FF */
	}
	for (i = 1; i < need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			goto fail;
		lo = 0x80;
		hi = 0xBF;
	}
	return need;
fail:
	if (bad)
		*bad = i;
	return 0;
fail_at_1:
	if (bad)
		*bad = 1;
	return 0;
}

bool json_utf8_valid(const char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = json_utf8_seq((const unsigned char *)p + i, n - i, NULL);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* ---- scanning ------------------------------------------------------------ */

struct scan {
	const unsigned char *p;
	size_t n;
	size_t i;
	struct json_error err;
};

static int scan_fail(struct scan *s, enum json_status st, const char *what)
{
	s->err.status = st;
	s->err.offset = s->i;
	s->err.what = what;
	return -1;
}

static void skip_ws(struct scan *s)
{
	while (s->i < s->n && (s->p[s->i] == ' ' || s->p[s->i] == '\t' || s->p[s->i] == '\n' ||
			       s->p[s->i] == '\r'))
		s->i++;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p[0..4) (n bytes available); -1 if not. */
static long hex4(const unsigned char *p, size_t n)
{
	long v = 0;
	int i, h;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* A \u escape at p (pointing at the backslash): the code point and the
 * bytes consumed (6 or 12), or -1 for a bad escape or a lone surrogate. */
static long unicode_escape(const unsigned char *p, size_t n, size_t *used)
{
	long hi, lo;

	hi = hex4(p + 2, n - 2);
	if (hi < 0)
		return -1;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return -1; /* lone low surrogate */
	if (hi < 0xD800 || hi > 0xDBFF) {
		*used = 6;
		return hi;
	}
	if (n < 12 || p[6] != '\\' || p[7] != 'u')
		return -1; /* lone high surrogate */
	lo = hex4(p + 8, n - 8);
	if (lo < 0xDC00 || lo > 0xDFFF)
		return -1;
	*used = 12;
	return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

static int scan_string(struct scan *s)
{
	size_t k, used;
	unsigned char c;

	s->i++; /* opening quote */
	while (s->i < s->n) {
		c = s->p[s->i];
		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c >= 0x20 && c < 0x80 && c != '\\') { /* the common case */
			s->i++;
			continue;
		}
		if (c < 0x20)
			return scan_fail(s, JSON_ERR_SYNTAX, "control character in string");
		if (c == '\\') {
			if (s->i + 1 >= s->n)
				break;
			c = s->p[s->i + 1];
			if (c == 'u') {
				if (unicode_escape(s->p + s->i, s->n - s->i, &used) < 0)
					return scan_fail(s, JSON_ERR_SYNTAX,
							 "bad \\u escape or lone surrogate");
				s->i += used;
			} else if (c && strchr("\"\\/bfnrt", c)) {
				s->i += 2;
			} else {
				return scan_fail(s, JSON_ERR_SYNTAX, "bad escape in string");
			}
			continue;
		}
		k = json_utf8_seq(s->p + s->i, s->n - s->i, NULL);
		if (!k)
			return scan_fail(s, JSON_ERR_SYNTAX, "invalid UTF-8 in string");
		s->i += k;
	}
	return scan_fail(s, JSON_ERR_SYNTAX, "unterminated string");
}

static bool is_digit(const struct scan *s)
{
	return s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9';
}

static int scan_number(struct scan *s)
{
	if (s->p[s->i] == '-')
		s->i++;
	if (!is_digit(s))
		return scan_fail(s, JSON_ERR_SYNTAX, "bad number");
	if (s->p[s->i] == '0')
		s->i++;
	else
		while (is_digit(s))
			s->i++;
	if (s->i < s->n && s->p[s->i] == '.') {
		s->i++;
		if (!is_digit(s))
			return scan_fail(s, JSON_ERR_SYNTAX, "bad number fraction");
		while (is_digit(s))
			s->i++;
	}
	if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
		s->i++;
		if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
			s->i++;
		if (!is_digit(s))
			return scan_fail(s, JSON_ERR_SYNTAX, "bad number exponent");
		while (is_digit(s))
			s->i++;
	}
	return 0;
}

static int scan_literal(struct scan *s)
{
	static const char *const words[] = {"true", "false", "null"};
	size_t k, len;

	for (k = 0; k < ARRAY_SIZE(words); k++) {
		len = strlen(words[k]);
		if (s->n - s->i >= len && memcmp(s->p + s->i, words[k], len) == 0) {
			s->i += len;
			return 0;
		}
	}
	return scan_fail(s, JSON_ERR_SYNTAX, "unexpected character");
}

/* A string key, whitespace and the colon of an object member. */
static int scan_key(struct scan *s)
{
	skip_ws(s);
	if (s->i >= s->n || s->p[s->i] != '"')
		return scan_fail(s, JSON_ERR_SYNTAX, "expected a string key");
	if (scan_string(s) < 0)
		return -1;
	skip_ws(s);
	if (s->i >= s->n || s->p[s->i] != ':')
		return scan_fail(s, JSON_ERR_SYNTAX, "expected ':'");
	s->i++;
	return 0;
}

struct frame {
	bool object;
	size_t members;
};

enum json_status json_validate(const char *p, size_t n, const struct json_limits *lim,
			       struct json_error *err)
{
	struct scan s = {.p = (const unsigned char *)p, .n = n, .i = 0};
	int max_depth = lim && lim->max_depth > 0 ? lim->max_depth : JSON_DEFAULT_MAX_DEPTH;
	size_t max_members = lim && lim->max_members ? lim->max_members : SIZE_MAX;
	struct frame *stack = NULL;
	int depth = 0, cap = 0;
	struct frame *top;
	unsigned char c;

	s.err.status = JSON_OK;
	skip_ws(&s);
	if (s.i >= n) {
		scan_fail(&s, JSON_ERR_SYNTAX, "empty document");
		goto fail;
	}
value:
	skip_ws(&s);
	if (s.i >= n) {
		scan_fail(&s, JSON_ERR_SYNTAX, "unexpected end of document");
		goto fail;
	}
	c = s.p[s.i];
	if (c == '{' || c == '[') {
		if (depth >= max_depth) {
			scan_fail(&s, JSON_ERR_DEPTH, "nesting too deep");
			goto fail;
		}
		if (depth == cap) { /* grow on demand: the limit may be large */
			cap = cap ? (cap > max_depth / 2 ? max_depth : cap * 2) : 16;
			stack = xrealloc(stack, (size_t)cap * sizeof(*stack));
		}
		top = &stack[depth++];
		top->object = c == '{';
		top->members = 0;
		s.i++;
		skip_ws(&s);
		if (s.i < n && s.p[s.i] == (top->object ? '}' : ']')) {
			s.i++;
			depth--;
			goto after;
		}
		if (top->object) {
			if (scan_key(&s) < 0)
				goto fail;
			top->members = 1; /* max_members >= 1 */
		}
		goto value;
	}
	if (c == '"') {
		if (scan_string(&s) < 0)
			goto fail;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		if (scan_number(&s) < 0)
			goto fail;
	} else if (scan_literal(&s) < 0) {
		goto fail;
	}
after:
	skip_ws(&s);
	if (depth == 0) {
		if (s.i != n) {
			scan_fail(&s, JSON_ERR_SYNTAX, "trailing data after the document");
			goto fail;
		}
		free(stack);
		if (err)
			*err = s.err;
		return JSON_OK;
	}
	top = &stack[depth - 1];
	if (s.i >= n) {
		scan_fail(&s, JSON_ERR_SYNTAX, "unexpected end of document");
		goto fail;
	}
	c = s.p[s.i];
	if (c == ',') {
		s.i++;
		if (top->object) {
			if (scan_key(&s) < 0)
				goto fail;
			if (++top->members > max_members) {
				scan_fail(&s, JSON_ERR_MEMBERS, "too many object members");
				goto fail;
			}
		}
		goto value;
	}
	if (c == (top->object ? '}' : ']')) {
		s.i++;
		depth--;
		goto after;
	}
	scan_fail(&s, JSON_ERR_SYNTAX, top->object ? "expected ',' or '}'" : "expected ',' or ']'");
fail:
	free(stack);
	if (err)
		*err = s.err;
	return s.err.status;
}

/* ---- validated values ------------------------------------------------------ */

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void json_trim(const char **p, size_t *n)
{
	while (*n && ws(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && ws((*p)[*n - 1]))
		(*n)--;
}

enum json_type json_type_of(const char *p, size_t n)
{
	if (!n)
		return JSON_NULL;
	switch (p[0]) {
	case '{':
		return JSON_OBJECT;
	case '[':
		return JSON_ARRAY;
	case '"':
		return JSON_STRING;
	case 't':
	case 'f':
		return JSON_BOOL;
	case 'n':
		return JSON_NULL;
	default:
		return JSON_NUMBER;
	}
}

/* End of the string token starting at p[i] (the quote); validated input. The
 * closing quote is the first one after an even run of backslashes. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
	const char *q;
	size_t start = ++i, k;

	while (i < n && (q = memchr(p + i, '"', n - i)) != NULL) {
		i = (size_t)(q - p);
		for (k = i; k > start && p[k - 1] == '\\'; k--)
			;
		if ((i - k) % 2 == 0)
			return i + 1;
		i++;
	}
	return n;
}

/* End of the validated value starting at p[i]: strings are skipped whole and
 * brackets counted, so no stack is needed. */
static size_t skip_value(const char *p, size_t n, size_t i)
{
	size_t depth = 0;

	if (i >= n)
		return n;
	if (p[i] == '"')
		return skip_string(p, n, i);
	if (p[i] != '{' && p[i] != '[') {
		while (i < n && !ws(p[i]) && p[i] != ',' && p[i] != ']' && p[i] != '}')
			i++;
		return i;
	}
	while (i < n) {
		if (p[i] == '"') {
			i = skip_string(p, n, i);
			continue;
		}
		if (p[i] == '{' || p[i] == '[')
			depth++;
		else if ((p[i] == '}' || p[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

int json_iter_init(struct json_iter *it, const char *p, size_t n)
{
	buf_init(&it->key, 0);
	json_trim(&p, &n);
	it->p = p;
	it->n = n;
	it->i = 1;
	return n >= 2 && p[0] == '{' ? 0 : -1;
}

int json_iter_next(struct json_iter *it, struct json_member *m)
{
	const char *p = it->p;
	size_t n = it->n, i = it->i, end;

	while (i < n && (ws(p[i]) || p[i] == ','))
		i++;
	if (i >= n || p[i] != '"') {
		it->i = n;
		return 0;
	}
	end = skip_string(p, n, i);
	buf_reset(&it->key);
	if (json_unescape(&it->key, p + i, end - i) < 0)
		goto fail;
	i = end;
	while (i < n && (ws(p[i]) || p[i] == ':'))
		i++;
	end = skip_value(p, n, i);
	m->key = buf_str(&it->key);
	m->key_len = it->key.len;
	m->value = p + i;
	m->value_len = end - i;
	m->type = json_type_of(p + i, end - i);
	it->i = end;
	return 1;
fail:
	it->i = n;
	return 0;
}

void json_iter_free(struct json_iter *it)
{
	buf_free(&it->key);
}

int json_elems_init(struct json_elems *it, const char *p, size_t n)
{
	json_trim(&p, &n);
	it->p = p;
	it->n = n;
	if (n < 2 || p[0] != '[') {
		it->i = n; /* next finds nothing */
		return -1;
	}
	it->i = 1;
	return 0;
}

int json_elems_next(struct json_elems *it, const char **value, size_t *len)
{
	const char *p = it->p;
	size_t n = it->n, i = it->i, end;

	while (i < n && (ws(p[i]) || p[i] == ','))
		i++;
	if (i >= n || p[i] == ']') {
		it->i = n;
		return 0;
	}
	end = skip_value(p, n, i);
	*value = p + i;
	*len = end - i;
	it->i = end;
	return 1;
}

/* ---- strings ---------------------------------------------------------------- */

static int add_utf8(struct buf *out, long cp)
{
	char u[4];
	size_t k;

	if (cp < 0x80) {
		u[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	return buf_add(out, u, k);
}

int json_unescape(struct buf *out, const char *raw, size_t n)
{
	const unsigned char *p = (const unsigned char *)raw;
	size_t i = 1, run, used;
	long cp;
	char c;

	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return -1;
	/* At most n - 2 bytes come out; a bounded out may still take fewer. */
	(void)buf_reserve(out, n - 2);
	n--; /* closing quote */
	while (i < n) {
		for (run = i; run < n && p[run] != '\\' && p[run] != '"' && p[run] >= 0x20; run++)
			;
		if (run > i && buf_add(out, p + i, run - i) < 0)
			return -1;
		i = run;
		if (i >= n)
			break;
		if (p[i] != '\\' || i + 1 >= n)
			return -1;
		switch (p[i + 1]) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case '/': c = '/'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			cp = unicode_escape(p + i, n - i, &used);
			if (cp < 0 || add_utf8(out, cp) < 0)
				return -1;
			i += used;
			continue;
		default:
			return -1;
		}
		if (buf_addc(out, c) < 0)
			return -1;
		i += 2;
	}
	if (!out->data && buf_add(out, "", 0) < 0) /* "" still yields a C string */
		return -1;
	return 0;
}

int json_write_string(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, k, bad;
	char esc[6] = {'\\', 'u', '0', '0', 0, 0};

	/* the usual size; escapes grow it further */
	(void)buf_reserve(out, n + 2);
	if (buf_addc(out, '"') < 0)
		return -1;
	while (i < n) {
		/* copy the longest run of bytes that need no escaping at once */
		for (run = i; run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
			      p[run] != '\\';
		     run++)
			;
		if (run > i && buf_add(out, p + i, run - i) < 0)
			return -1;
		i = run;
		if (i >= n)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			if (buf_addc(out, '\\') < 0 || buf_addc(out, (char)p[i]) < 0)
				return -1;
			i++;
		} else if (p[i] < 0x20) {
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 15];
			if (buf_add(out, esc, sizeof(esc)) < 0)
				return -1;
			i++;
		} else {
			k = json_utf8_seq(p + i, n - i, &bad);
			if (k ? buf_add(out, p + i, k) < 0 : buf_add(out, "\xEF\xBF\xBD", 3) < 0)
				return -1;
			i += k ? k : bad;
		}
	}
	return buf_addc(out, '"');
}
